// SPDX-License-Identifier: MIT
// What the team gateway adds to a request with a key: identifying it (a SHA-256 and one
// comparison per configured key), the model globs, and the memory store's admit + settle.
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "llmrouter/config.h"
#include "llmrouter/gateway.h"

namespace llmrouter {
namespace {

Config config_with_keys(int n) {
  std::string text = R"(
[[providers]]
name = "p"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
)";
  for (int i = 0; i < n; ++i) {
    text += fmt::format(
        "[[keys]]\nname = \"k{}\"\nkey_env = \"K{}\"\nmodels = [\"gpt-*\", \"claude-*\"]\nrpm = "
        "1000000\n"
        "tpm = 1000000000\nbudget_usd = 1000000.0\n",
        i, i);
  }
  return *load_config_string(text, "bench.toml");
}

void BM_Gateway_Identify(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Config c = config_with_keys(n);
  auto table = KeyTable::build(
      c, [](const std::string& name) { return std::optional<std::string>("key-" + name); });
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"content-type", "application/json"},
      {"authorization", fmt::format("Bearer key-K{}", n - 1)}};
  for (auto _ : state) {
    Caller who = table->identify(headers);
    benchmark::DoNotOptimize(who);
  }
}
BENCHMARK(BM_Gateway_Identify)->Arg(1)->Arg(10)->Arg(100);

void BM_Gateway_ModelGlobs(benchmark::State& state) {
  const Config c = config_with_keys(1);
  for (auto _ : state)
    benchmark::DoNotOptimize(key_allows_model(c.keys[0], "claude-3-5-sonnet-latest"));
}
BENCHMARK(BM_Gateway_ModelGlobs);

// One key's admit and settle, all limits set, in one thread.
void BM_Gateway_MemoryAdmitSettle(benchmark::State& state) {
  auto store = make_memory_limit_store();
  KeyLimits limits{1'000'000'000, 1'000'000'000'000, 1e9, BudgetPeriod::Month};
  int64_t now = unix_now_ms();
  for (auto _ : state) {
    int64_t slot = 0;
    store->admit(AdmitQuery{"k", limits, 100, now}, [&](Result<Admission> r) { slot = r->slot; });
    store->settle(Settlement{"k", limits, slot, 100, 150, 0.001, now});
    now += 3;  // ~330 requests a second: every window slot in use
  }
}
BENCHMARK(BM_Gateway_MemoryAdmitSettle);

}  // namespace
}  // namespace llmrouter
