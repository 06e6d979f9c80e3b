#!/bin/sh
# Starts llmrouter-mock on an ephemeral 127.0.0.1 port, checks its one stdout line, makes
# Ollama discovery requests (/api/tags, /api/ps) and a chat request with curl, then stops
# it with SIGTERM and expects exit status 0. Every wait is bounded. Exit 77 (skipped) when curl is missing.
#   sh mock_cli_test.sh path/to/llmrouter-mock
set -u
mock=$1
command -v curl >/dev/null 2>&1 || { echo "curl not found: skipped"; exit 77; }

dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- stdout:"; cat "$dir/out"
  echo "--- stderr:"; cat "$dir/err"
  exit 1
}

"$mock" --host 127.0.0.1 --port 0 >"$dir/out" 2>"$dir/err" &
pid=$!

i=0
while [ "$i" -lt 100 ] && ! grep -q . "$dir/out"; do
  kill -0 "$pid" 2>/dev/null || fail "llmrouter-mock exited before listening"
  sleep 0.1
  i=$((i + 1))
done
line=$(head -n 1 "$dir/out")
case "$line" in
  "llmrouter-mock listening on http://127.0.0.1:"[0-9]*) ;;
  *) fail "unexpected first line: '$line'" ;;
esac
[ "$(wc -l <"$dir/out")" -eq 1 ] || fail "expected exactly one line on stdout"
url=${line#llmrouter-mock listening on }

tags=$(curl -sS --max-time 10 "$url/api/tags") || fail "GET /api/tags failed"
case "$tags" in
  *'"models":[{"name":"qwen2.5vl:7b"'*) ;;
  *) fail "unexpected /api/tags reply: $tags" ;;
esac
ps=$(curl -sS --max-time 10 "$url/api/ps") || fail "GET /api/ps failed"
case "$ps" in
  *'"models":[{"name":"qwen2.5vl:7b"'*) ;;
  *) fail "unexpected /api/ps reply: $ps" ;;
esac
case "$ps" in
  *gemma2*) fail "/api/ps lists more than the first model by default: $ps" ;;
esac
reply=$(curl -sS --max-time 10 -H 'content-type: application/json' \
  -d '{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}]}' \
  "$url/v1/chat/completions") || fail "POST /v1/chat/completions failed"
case "$reply" in
  *'Checking both cities.'*) ;;
  *) fail "unexpected chat reply: $reply" ;;
esac

kill -TERM "$pid"
# A watchdog bounds the wait: a mock still running after 10 s is killed (status 137).
( sleep 10; kill -KILL "$pid" ) </dev/null >/dev/null 2>&1 &
watchdog=$!
wait "$pid"
status=$?
pid=
kill "$watchdog" 2>/dev/null
[ "$status" -eq 0 ] || fail "exit status $status after SIGTERM, expected 0"
echo "ok: $url"
