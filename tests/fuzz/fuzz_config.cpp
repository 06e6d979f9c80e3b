// SPDX-License-Identifier: MIT
// TOML configuration text: loading never crashes and every error names the source.
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "llmrouter/config.h"

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
  return 0;
}
