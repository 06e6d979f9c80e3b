// SPDX-License-Identifier: MIT
#include "options.h"

namespace llmrouter::console {

Result<ConsoleArgs> parse_args(const std::vector<std::string_view>& args, ArgSpec spec) {
  ConsoleArgs out;
  bool have_url = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&](std::string_view flag) -> Result<std::string> {
      if (i + 1 >= args.size() || args[i + 1].empty()) {
        return fail(Errc::InvalidArgument, std::string(flag) + " needs a value");
      }
      return std::string(args[++i]);
    };
    if (a == "-h" || a == "--help") {
      out.help = true;
    } else if (a == "--version") {
      out.version = true;
    } else if (a == "--api-key-env") {
      auto v = value(a);
      if (!v) return fail(v.error());
      out.api_key_env = *v;
    } else if (spec.json && a == "--json") {
      out.json = true;
    } else if (spec.model && a == "--model") {
      auto v = value(a);
      if (!v) return fail(v.error());
      out.model = *v;
    } else if (!a.empty() && a[0] == '-') {
      return fail(Errc::InvalidArgument, "unknown option '" + std::string(a) + "'");
    } else if (have_url) {
      return fail(Errc::InvalidArgument, "unexpected argument '" + std::string(a) + "'");
    } else {
      have_url = true;
      std::string url(a);
      if (url.find("://") == std::string::npos) url = "http://" + url;
      if (!url.starts_with("http://") && !url.starts_with("https://")) {
        return fail(Errc::InvalidArgument, "BASE_URL must be an http:// or https:// URL, got '" + std::string(a) + "'");
      }
      while (url.size() > 1 && url.back() == '/') url.pop_back();
      out.base_url = std::move(url);
    }
  }
  return out;
}

Result<std::optional<std::string>> read_api_key(
    const ConsoleArgs& args, const std::function<std::optional<std::string>(const std::string&)>& getenv) {
  if (!args.api_key_env) return std::optional<std::string>();
  auto v = getenv(*args.api_key_env);
  if (!v || v->empty()) {
    return fail(Errc::InvalidArgument, "--api-key-env: the environment variable " + *args.api_key_env +
                                           " is not set (or empty)");
  }
  return std::optional<std::string>(std::move(*v));
}

}  // namespace llmrouter::console
