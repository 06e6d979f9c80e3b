#!/usr/bin/env bash
# A server binary as a user runs it: start on --port 0, send one chat request for MODEL,
# expect EXPECTED in the reply, stop it with SIGTERM. Bounded throughout.
#   server_chat_test.sh SERVER CONFIG MODEL EXPECTED
set -euo pipefail
server=$1 config=$2 model=$3 expected=$4
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
body=$(curl -sS --max-time 10 -H 'content-type: application/json' \
  -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}" \
  "$url/v1/chat/completions")
[[ "$body" == *"$expected"* ]] || { echo "the reply lacks '$expected': $body"; cat "$out"; exit 1; }
kill -TERM "$pid"
wait "$pid" || true
echo "ok: $body"
