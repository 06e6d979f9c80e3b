#!/bin/sh
# Runs a command against a fresh llmrouter-mock: starts the mock on an ephemeral 127.0.0.1
# port, runs COMMAND ARGS... MOCK_URL (the mock's base URL appended), stops the mock, and
# exits with the command's status. Every wait is bounded.
#   sh with_mock.sh path/to/llmrouter-mock COMMAND [ARGS...]
set -u
mock=$1
shift
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

"$mock" --host 127.0.0.1 --port 0 >"$dir/out" 2>"$dir/err" &
pid=$!
i=0
while [ "$i" -lt 100 ] && ! grep -q . "$dir/out"; do
  kill -0 "$pid" 2>/dev/null || { echo "llmrouter-mock exited: $(cat "$dir/err")" >&2; exit 1; }
  sleep 0.1
  i=$((i + 1))
done
line=$(head -n 1 "$dir/out")
case "$line" in
  "llmrouter-mock listening on http://"*) ;;
  *) echo "llmrouter-mock did not start: '$line'" >&2; exit 1 ;;
esac
"$@" "${line#llmrouter-mock listening on }"
