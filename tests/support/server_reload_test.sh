#!/usr/bin/env bash
# SIGHUP reloads llmrouter-server's configuration file: a new provider list is served after
# it, the --port given on the command line still wins over the file (so no restart is
# reported for it), and an invalid file is refused with its errors (FILE:LINE:COL) while the
# running configuration keeps serving. Bounded throughout; the providers point at a closed
# port, since only the configuration is looked at.
set -euo pipefail
server=$1
dir=$(mktemp -d)
trap 'kill -9 "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
write_config() {
  cat >"$dir/config.toml" <<TOML
[server]
host = "127.0.0.1"
port = 9
[[providers]]
name = "$1"
format = "openai"
base_url = "http://127.0.0.1:9/v1"
[[routers]]
type = "fallback"
providers = ["$1"]
TOML
}
write_config first
"$server" "$dir/config.toml" --port 0 >"$dir/out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q 'listening on http://' "$dir/out" && break
  sleep 0.05
done
url=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$dir/out" | head -1 | sed 's/^listening on //')
[[ -n "$url" ]] || { echo "no 'listening on' line:"; cat "$dir/out"; exit 1; }
providers() { curl -sS --max-time 5 "$url/v1/providers"; }
# Waits until the output has a line matching $1.
wait_output() {
  for _ in $(seq 1 100); do
    grep -q "$1" "$dir/out" && return 0
    sleep 0.05
  done
  echo "no output line matching '$1':"; cat "$dir/out"; exit 1
}
[[ $(providers) == *'"first"'* ]] || { echo "not serving the first configuration: $(providers)"; exit 1; }

write_config second
kill -HUP "$pid"
wait_output 'reloaded .*config.toml'
[[ $(providers) == *'"second"'* ]] || { echo "SIGHUP did not apply the new file: $(providers)"; cat "$dir/out"; exit 1; }
! grep -q 'take effect at the next start' "$dir/out" || { echo "--port was not applied again:"; cat "$dir/out"; exit 1; }

sed -i 's/^port = 9$/port = 9\nhots = "x"/' "$dir/config.toml"
kill -HUP "$pid"
wait_output 'refused'
grep -q "config.toml:4:1: server.hots: unknown key" "$dir/out" || { echo "the error is not reported:"; cat "$dir/out"; exit 1; }
kill -0 "$pid" || { echo "an invalid file stopped the server"; cat "$dir/out"; exit 1; }
[[ $(providers) == *'"second"'* ]] || { echo "the running configuration changed: $(providers)"; exit 1; }

kill -TERM "$pid"
wait "$pid" || true
echo "ok: SIGHUP reloaded the configuration and refused an invalid one"
