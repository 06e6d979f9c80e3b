// SPDX-License-Identifier: MIT
#include "options.h"

#include <cstdio>
#include <cstdlib>

#include "llmrouter/version.h"

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

std::optional<std::string> getenv_string(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::variant<int, StartUp> start_up(std::string_view program, int argc, char** argv, ArgSpec spec,
                                    const char* usage) {
  const std::string name(program);
  const std::vector<std::string_view> raw(argv + 1, argv + argc);
  auto args = parse_args(raw, spec);
  if (!args) {
    std::fprintf(stderr, "%s: %s\n%s", name.c_str(), args.error().message.c_str(), usage);
    return 64;
  }
  if (args->help) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (args->version) {
    std::printf("%s %s\n", name.c_str(), std::string(llmrouter::version()).c_str());
    return 0;
  }
  auto key = read_api_key(*args, getenv_string);
  if (!key) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), key.error().message.c_str());
    return 64;
  }
  return StartUp{std::move(*args), std::move(*key)};
}

}  // namespace llmrouter::console
