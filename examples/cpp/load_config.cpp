// SPDX-License-Identifier: MIT
// Embedding llmrouter: load and inspect a configuration from C++.
//   example_load_config path/to/config.toml
#include <cstdio>

#include "llmrouter/llmrouter.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CONFIG\n", argv[0]);
    return 64;
  }
  llmrouter::Result<llmrouter::Config> config = llmrouter::load_config_file(argv[1]);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  std::size_t available = 0;
  for (const auto& p : config->providers) available += p.available ? 1 : 0;
  std::printf("%zu providers, %zu available, %zu rules\n", config->providers.size(), available,
              config->routers.size());
  for (const auto& p : config->providers) {
    std::printf("  %s (%s) %s\n", p.name.c_str(),
                std::string(llmrouter::wire_format_name(p.format)).c_str(), p.base_url.c_str());
  }
  return 0;
}
