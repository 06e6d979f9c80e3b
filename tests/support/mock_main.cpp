// SPDX-License-Identifier: MIT
// llmrouter-mock: the tests' mock upstream as a process, for trying the router, clients and
// scripts without a real provider. Its behaviours are listed in mock_upstream.h.
//
//   llmrouter-mock [--host 127.0.0.1] [--port P] [--loaded NAMES]
//
// Port 0, the default, is any free port. --loaded names the Ollama models /api/ps lists as
// loaded in memory, comma-separated ("" for none; default: the first of /api/tags).
//
// Prints exactly one line, "llmrouter-mock listening on http://HOST:PORT", then serves
// until SIGINT or SIGTERM and exits 0.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "support/mock_upstream.h"

namespace {

constexpr const char* kUsage =
    "usage: llmrouter-mock [--host HOST] [--port PORT] [--loaded NAMES]\n"
    "  --host HOST     address to listen on (default 127.0.0.1)\n"
    "  --port PORT     port to listen on, 0-65535 (default 0: any free port)\n"
    "  --loaded NAMES  Ollama models that GET /api/ps lists as loaded in memory, comma-separated,\n"
    "                  among those GET /api/tags lists (qwen2.5vl:7b, gemma2:2b); \"\" for none\n"
    "                  (default: qwen2.5vl:7b, the first)\n";

// "a, b" -> {"a", "b"}; empty names are dropped ("" is none).
std::vector<std::string> split_names(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!name.empty()) out.emplace_back(name);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "llmrouter-mock: %s\n%s", message.c_str(), kUsage);
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  llmrouter::testing::MockUpstream::Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg != "--host" && arg != "--port" && arg != "--loaded") {
      return usage_error(std::string("unknown option '").append(arg) + "'");
    }
    if (i + 1 >= argc) return usage_error(std::string(arg) + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--host") {
      if (value.empty()) return usage_error("--host needs a value");
      options.host = value;
    } else if (arg == "--loaded") {
      options.loaded = split_names(value);
    } else {
      char* end = nullptr;
      const long port = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || port < 0 || port > 65535) {
        return usage_error("--port must be an integer from 0 to 65535, got '" + value + "'");
      }
      options.port = static_cast<int>(port);
    }
  }

  // Block the stop signals in every thread (the server's threads inherit this mask); the
  // main thread then waits for one with sigwait.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  try {
    llmrouter::testing::MockUpstream mock(options);
    std::printf("llmrouter-mock listening on %s\n", mock.base_url().c_str());
    std::fflush(stdout);
    int signal_number = 0;
    sigwait(&stop, &signal_number);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmrouter-mock: %s\n", e.what());
    return 1;
  }
  return 0;
}
