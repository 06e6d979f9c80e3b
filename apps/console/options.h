// SPDX-License-Identifier: MIT
#pragma once
// The command line both console apps share:
//   llmrouter-tui   [BASE_URL] [--api-key-env VAR] [--model NAME]
//   llmrouter-watch [BASE_URL] [--api-key-env VAR] [--json]

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/result.h"

namespace llmrouter::console {

constexpr const char* kDefaultBaseUrl = "http://localhost:8090";

struct ConsoleArgs {
  std::string base_url = kDefaultBaseUrl;
  /// The variable holding the router's API key (`--api-key-env VAR`).
  std::optional<std::string> api_key_env;
  /// watch: print the raw events as JSON lines.
  bool json = false;
  /// tui: the chat's model.
  std::string model;
  bool help = false;
  bool version = false;
};

/// Which options the program takes besides BASE_URL and --api-key-env.
struct ArgSpec {
  bool json = false;
  bool model = false;
};

/// Parses argv[1..]. Errors (Errc::InvalidArgument): an unknown option, a missing value,
/// a second positional argument, a BASE_URL that is not http(s). A BASE_URL without a
/// scheme gets "http://"; trailing slashes are removed.
[[nodiscard]] Result<ConsoleArgs> parse_args(const std::vector<std::string_view>& args, ArgSpec spec);

/// The API key named by `args.api_key_env`, read with `getenv`; none without the option.
/// Errors (Errc::InvalidArgument): the variable is unset or empty.
[[nodiscard]] Result<std::optional<std::string>> read_api_key(
    const ConsoleArgs& args, const std::function<std::optional<std::string>(const std::string&)>& getenv);

}  // namespace llmrouter::console
