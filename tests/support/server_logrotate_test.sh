#!/usr/bin/env bash
# Log rotation as logrotate does it: llmrouter-server writes its JSONL log (a new file has
# mode 0600), the file is renamed, SIGHUP is sent, and the next request's line goes to a
# fresh file at the configured path while the renamed one keeps the earlier line. Bounded
# throughout; the provider points at a closed port, so each request is a logged 502.
set -euo pipefail
server=$1
dir=$(mktemp -d)
trap 'kill -9 "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat >"$dir/config.toml" <<TOML
[server]
host = "127.0.0.1"
port = 0
[logging]
enabled = true
path = "$dir/requests.jsonl"
[[providers]]
name = "closed"
format = "openai"
base_url = "http://127.0.0.1:9/v1"
connect_timeout_ms = 1000
[[routers]]
type = "fallback"
providers = ["closed"]
TOML
"$server" "$dir/config.toml" >"$dir/out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q 'listening on http://' "$dir/out" && break
  sleep 0.05
done
url=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$dir/out" | head -1 | sed 's/^listening on //')
[[ -n "$url" ]] || { echo "no 'listening on' line:"; cat "$dir/out"; exit 1; }
chat() {
  curl -sS --max-time 10 -o /dev/null -H 'content-type: application/json' \
    -d "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" "$url/v1/chat/completions"
}
# Waits until file $1 has $2 lines.
wait_lines() {
  for _ in $(seq 1 100); do
    [[ -f "$1" && $(wc -l <"$1") -ge $2 ]] && return 0
    sleep 0.05
  done
  echo "$1 did not get $2 line(s)"; ls -l "$dir"; cat "$dir/out"; exit 1
}
chat before-rotation
wait_lines "$dir/requests.jsonl" 1
mode=$(stat -c %a "$dir/requests.jsonl")
[[ "$mode" == 600 ]] || { echo "the log was created with mode $mode, not 600"; exit 1; }
mv "$dir/requests.jsonl" "$dir/requests.jsonl.1"
kill -HUP "$pid"
sleep 0.5  # the writer reopens before its next line (it looks at least every 200 ms)
kill -0 "$pid" || { echo "SIGHUP stopped the server"; cat "$dir/out"; exit 1; }
chat after-rotation
wait_lines "$dir/requests.jsonl" 1
grep -q '"before-rotation"' "$dir/requests.jsonl.1" || { echo "the rotated file lost its line"; exit 1; }
grep -q '"after-rotation"' "$dir/requests.jsonl" || { echo "the new line is not in the fresh file"; exit 1; }
! grep -q '"after-rotation"' "$dir/requests.jsonl.1" || { echo "the new line went to the rotated file"; exit 1; }
kill -TERM "$pid"
wait "$pid" || true
echo "ok: SIGHUP reopened the request log after a rename"
