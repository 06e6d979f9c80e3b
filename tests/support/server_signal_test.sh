#!/usr/bin/env bash
# llmrouter-server as a user runs it: start on --port 0, read the announced address, ask
# /health, send SIGTERM, expect a clean exit 0 within a few seconds. Bounded throughout.
# With MODEL and EXPECTED, a chat request for MODEL must also answer with EXPECTED in it.
#   server_signal_test.sh SERVER CONFIG [MODEL EXPECTED]
set -euo pipefail
server=$1
config=$2
model=${3:-}
expected=${4:-}
out=$(mktemp)
trap 'kill -9 "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
"$server" "$config" --port 0 >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q 'listening on http://' "$out" && break
  sleep 0.05
done
url=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$out" | head -1 | sed 's/^listening on //')
[[ -n "$url" ]] || { echo "no 'listening on' line:"; cat "$out"; exit 1; }
body=$(curl -sS --max-time 5 "$url/health")
[[ "$body" == "ok" ]] || { echo "GET /health answered '$body'"; exit 1; }
if [[ -n "$model" ]]; then
  body=$(curl -sS --max-time 10 -H 'content-type: application/json' \
    -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}" \
    "$url/v1/chat/completions")
  [[ "$body" == *"$expected"* ]] || { echo "the reply lacks '$expected': $body"; cat "$out"; exit 1; }
fi
kill -TERM "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if kill -0 "$pid" 2>/dev/null; then echo "still running 5 s after SIGTERM"; exit 1; fi
wait "$pid" && status=0 || status=$?
[[ $status -eq 0 ]] || { echo "exit status $status after SIGTERM"; cat "$out"; exit 1; }
echo "ok: $url served /health and stopped on SIGTERM"
