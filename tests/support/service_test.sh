#!/usr/bin/env bash
# scripts/install-service --print: the unit it would install, system-wide and per user.
set -euo pipefail
script=$1
server=$2
fail() { echo "FAIL: $*"; exit 1; }
out=$("$script" --print --binary "$server")
grep -qxF "ExecStart=$(readlink -f "$server") /etc/llmrouter/config.toml" <<<"$out" || fail "system ExecStart: $out"
grep -qxF "EnvironmentFile=-/etc/llmrouter/env" <<<"$out" || fail "system EnvironmentFile"
grep -qxF 'ExecReload=/bin/kill -HUP $MAINPID' <<<"$out" || fail "system ExecReload: $out"
grep -qxF "DynamicUser=yes" <<<"$out" || fail "system unit runs as a dynamic user"
grep -qxF "LimitNOFILE=65536" <<<"$out" || fail "system LimitNOFILE"
grep -qxF "WantedBy=multi-user.target" <<<"$out" || fail "system WantedBy"
out=$(HOME=/home/someone XDG_CONFIG_HOME= XDG_STATE_HOME= "$script" --print --user --binary "$server")
grep -qxF "ExecStart=$(readlink -f "$server") /home/someone/.config/llmrouter/config.toml" <<<"$out" || fail "user ExecStart: $out"
grep -qxF "WorkingDirectory=/home/someone/.local/state/llmrouter" <<<"$out" || fail "user WorkingDirectory"
grep -qxF "WantedBy=default.target" <<<"$out" || fail "user WantedBy"
grep -qxF "LimitNOFILE=65536" <<<"$out" || fail "user LimitNOFILE"
grep -q "DynamicUser" <<<"$out" && fail "a user unit has no DynamicUser"
if "$script" --bogus >/dev/null 2>&1; then fail "unknown arguments are refused"; fi
echo ok
