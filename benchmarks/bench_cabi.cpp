// SPDX-License-Identifier: MIT
// The C ABI's routing dry run: llmrouter_route on a 1 KB request, from one and from two
// threads sharing one router handle (the contract says a handle serves many threads).
// Compare with BM_Pipeline_Route1KB: the difference is the ABI's own cost (the route JSON,
// its malloc'd copy, argument checks).
#include <benchmark/benchmark.h>

#include <string>

#include "llmrouter.h"

namespace {

constexpr const char* kConfig = R"(
[[providers]]
name = "local"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
[[providers]]
name = "cloud"
format = "anthropic"
base_url = "http://127.0.0.1:2"
cost_per_1m_tokens = 3
quality = 90
[[routers]]
type = "prefix"
model_prefix = "local/"
provider = "local"
[[routers]]
type = "tag"
tag = "code"
provider = "local"
[[routers]]
type = "fallback"
quality_bias = 0.7
[classifiers.keyword]
enabled = true
[classifiers.keyword.tags]
code = ["def ", "class ", "function"]
review = ["review", "audit"]
)";

const std::string kChat1KB =
    R"({"model":"gpt-4.1","messages":[{"role":"system","content":"You are a helpful coding assistant. Answer briefly and precisely, with code when useful."},)"
    R"({"role":"user","content":"What does the function parse_header in src/http.cpp do, and is it safe against truncated input? Here it is: int parse_header(const char* p, size_t n) { if (n < 4) return -1; return p[0]; }"},)"
    R"({"role":"assistant","content":"It returns the first byte when at least four bytes are present, and -1 otherwise. It does not read past n, so truncated input is handled."},)"
    R"({"role":"user","content":"Thanks. Could you also check how the caller handles the -1 result, and suggest a unit test that covers the truncated case? The caller is in src/server.cpp."}],)"
    R"("temperature":0.2,"max_tokens":1024,"stream":true})";

llmrouter_router* shared_router() {
  static llmrouter_router* router = [] {
    llmrouter_router* r = nullptr;
    const std::string toml = kConfig;
    llmrouter_router_new_from_toml(toml.data(), toml.size(), &r, nullptr);
    return r;  // lives until exit: threads of every run share it
  }();
  return router;
}

void BM_CAbi_Route_1KB(benchmark::State& state) {
  llmrouter_router* r = shared_router();
  if (!r) {
    state.SkipWithError("cannot create the router");
    return;
  }
  for (auto _ : state) {
    char* json = nullptr;
    size_t len = 0;
    const llmrouter_status s =
        llmrouter_route(r, LLMROUTER_FORMAT_OPENAI, kChat1KB.data(), kChat1KB.size(), &json, &len, nullptr);
    if (s != LLMROUTER_OK) {
      state.SkipWithError(llmrouter_status_string(s));
      break;
    }
    benchmark::DoNotOptimize(json);
    llmrouter_free(json);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kChat1KB.size()));
}
BENCHMARK(BM_CAbi_Route_1KB)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
