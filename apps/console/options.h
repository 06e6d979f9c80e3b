// SPDX-License-Identifier: MIT
#pragma once
// The command line both console apps share:
//   llmrouter-tui   [BASE_URL] [--api-key-env VAR] [--model NAME]
//   llmrouter-watch [BASE_URL] [--api-key-env VAR] [--json]

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
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

/// The environment variable `name`, when set.
std::optional<std::string> getenv_string(const std::string& name);

/// What a console program goes on with once its command line is read.
struct StartUp {
  ConsoleArgs args;
  /// The router's API key, when --api-key-env named one.
  std::optional<std::string> api_key;
};

/// Reads the command line of `program` (`argc`/`argv` as main got them). For --help and
/// --version it prints `usage` or the version to stdout and returns 0; for a mistake (a
/// bad option, an unset --api-key-env variable) it prints the reason, and `usage` after
/// a bad option, to stderr and returns 64 (EX_USAGE). Otherwise the arguments and the key.
std::variant<int, StartUp> start_up(std::string_view program, int argc, char** argv, ArgSpec spec,
                                    const char* usage);

}  // namespace llmrouter::console
