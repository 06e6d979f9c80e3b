#!/usr/bin/env bash
# scripts/launch-coding-agent with stand-in agents on PATH that print what they were given.
set -euo pipefail
script=$1
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
for a in claude codex copilot; do
  cat > "$bin/$a" <<'STUB'
#!/usr/bin/env bash
echo "args: $*"
env | grep -E '^(ANTHROPIC_|COPILOT_|LLMROUTER_)' | sort
STUB
  chmod +x "$bin/$a"
done
fail() { echo "FAIL: $*"; exit 1; }
expect() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }

out=$(PATH="$bin:$PATH" LLMROUTER_API_KEY=k1 ANTHROPIC_API_KEY=vendor "$script" claude 127.0.0.1:9000 -- --print hi)
expect "$out" "ANTHROPIC_BASE_URL=http://127.0.0.1:9000"
expect "$out" "ANTHROPIC_AUTH_TOKEN=k1"
expect "$out" "args: --print hi"
grep -q '^ANTHROPIC_API_KEY=' <<<"$out" && fail "the vendor key must not reach the agent"

out=$(PATH="$bin:$PATH" LLMROUTER_MODEL=gpt-5 "$script" codex -- exec hello)
expect "$out" 'model_providers.llmrouter.base_url="http://127.0.0.1:8090/v1"'
expect "$out" 'model_providers.llmrouter.wire_api="responses"'
expect "$out" 'model="gpt-5"'
expect "$out" "args: -c model_provider=\"llmrouter\""
expect "$out" "exec hello"
expect "$out" "LLMROUTER_API_KEY=llmrouter"

out=$(PATH="$bin:$PATH" "$script" copilot localhost:8123)
expect "$out" "COPILOT_PROVIDER_BASE_URL=http://localhost:8123/v1"
expect "$out" "COPILOT_PROVIDER_TYPE=openai"
expect "$out" "COPILOT_PROVIDER_API_KEY=llmrouter"

if "$script" nano >/dev/null 2>&1; then fail "an unknown agent must be refused"; fi
if PATH="$bin:$PATH" "$script" claude not-an-address >/dev/null 2>&1; then fail "a bad address must be refused"; fi
echo "ok"
