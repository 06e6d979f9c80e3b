// SPDX-License-Identifier: MIT
// Config loading cost: start-up only, but --check and the C ABI's from_toml run it too.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "llmrouter/config.h"

namespace {

std::string read_example() {
  std::ifstream in(LLMROUTER_SOURCE_DIR "/config.example.toml");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void BM_Config_LoadExample(benchmark::State& state) {
  const std::string text = read_example();
  llmrouter::LoadOptions options;
  options.getenv = [](const std::string&) { return std::optional<std::string>(); };
  options.log_warnings = false;
  for (auto _ : state) {
    auto c = llmrouter::load_config_string(text, "config.example.toml", options);
    if (!c) state.SkipWithError(c.error().message.c_str());
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Config_LoadExample);

}  // namespace
