// SPDX-License-Identifier: MIT
// Per-request helpers on the canonical model, run for every request before routing.
#include <benchmark/benchmark.h>

#include "llmrouter/request.h"
#include "llmrouter/response.h"

namespace {

using namespace llmrouter;

// A coding-agent-like conversation with `turns` user/assistant/tool rounds.
CanonicalRequest agent_request(int turns) {
  CanonicalRequest r;
  r.model = "model";
  r.system.push_back(TextBlock{std::string(4000, 's'), std::nullopt, {}});
  for (int i = 0; i < turns; ++i) {
    const std::string id = "call_" + std::to_string(i);
    r.messages.push_back({Role::User, {TextBlock{std::string(500, 'u'), std::nullopt, {}}}, {}});
    r.messages.push_back({Role::Assistant, {ToolUseBlock{id, "read_file", RawJson{R"({"path":"a.cpp"})"}, std::nullopt}}, {}});
    ToolResultBlock res;
    res.tool_use_id = id;
    res.content.emplace_back(TextBlock{std::string(2000, 'r'), std::nullopt, {}});
    r.messages.push_back({Role::Tool, {res}, {}});
  }
  Tool t;
  t.name = "read_file";
  t.input_schema.text = R"({"type":"object"})";
  r.tools.push_back(t);
  return r;
}

void BM_Request_Validate(benchmark::State& state) {
  const CanonicalRequest r = agent_request(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(validate(r));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(r.messages.size()));
}
BENCHMARK(BM_Request_Validate)->Arg(1)->Arg(40);

void BM_Request_NeededCapabilities(benchmark::State& state) {
  const CanonicalRequest r = agent_request(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(needed_capabilities(r));
}
BENCHMARK(BM_Request_NeededCapabilities)->Arg(1)->Arg(40);

void BM_ResponseAssembler_TextStream(benchmark::State& state) {
  const int chunks = static_cast<int>(state.range(0));
  for (auto _ : state) {
    ResponseAssembler a;
    (void)a.add(MessageStart{"id", "m", 0, {}});
    for (int i = 0; i < chunks; ++i) (void)a.add(TextDelta{0, "token "});
    (void)a.add(Done{});
    benchmark::DoNotOptimize(a.finish());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * chunks);
}
BENCHMARK(BM_ResponseAssembler_TextStream)->Arg(20)->Arg(1000);

}  // namespace
