// SPDX-License-Identifier: MIT
// TOML configuration text: loading never crashes and every error names the source; a
// loaded [[keys]] table resolves into a key table that finds each digest-given key.
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "llmrouter/config.h"
#include "llmrouter/gateway.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace llmrouter;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadOptions options;
  options.getenv = [](const std::string&) { return std::optional<std::string>(); };
  options.log_warnings = false;
  Result<Config> c = load_config_string(text, "fuzz.toml", options);
  if (!c && c.error().message.rfind("fuzz.toml", 0) != 0) {
    fuzz::invariant_failed("config error without its source name", c.error().message);
  }
  if (c) {
    auto table = KeyTable::build(
        *c, [](const std::string& name) { return std::optional<std::string>(name); });
    if (table->enabled() != !c->keys.empty())
      fuzz::invariant_failed("key table", "enabled() disagrees with [[keys]]");
    for (const KeyConfig& k : c->keys) {
      // key_env keys are their variable's name here: each must identify its own entry.
      if (k.key_env && k.key_env != c->server.api_key_env) {
        const Caller who = table->identify(*k.key_env);
        const bool ok = who.kind == Caller::Kind::Key && who.key &&
                        (who.key->name == k.name || who.key->key_env == k.key_env);
        if (!ok) fuzz::invariant_failed("key table", "a key_env key does not identify its entry");
      }
      (void)key_allows_model(k, "model");
    }
  }
  return 0;
}
