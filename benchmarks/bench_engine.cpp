// SPDX-License-Identifier: MIT
// A request submitted to the Engine until its reply is complete: against an in-process
// provider (the engine's own cost: decode, stages, routing, events, encoding) and against
// the local mock upstream over the transport (all traffic on 127.0.0.1). Counters: CPU and
// context switches per request, for the whole process (the mock's share included, so they
// are upper bounds for the engine's).
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <stdexcept>

#include <fmt/format.h>

#include "llmrouter/engine.h"
#include "support/mock_upstream.h"

namespace {

using namespace llmrouter;

struct ProcessUsage {
  double cpu_s;
  long switches;
};

ProcessUsage usage_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return ProcessUsage{static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                   static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6,
               u.ru_nvcsw + u.ru_nivcsw};
}

class Instant final : public Provider {
 public:
  std::string_view name() const override { return "local"; }
  Result<void> send(const CanonicalRequest& req, const SendOptions&, EventSink& sink, const CancelFlag&) const override {
    sink.on_event(MessageStart{"id-1", req.model, 0, Usage{12, 0, 0, 0, 0}});
    sink.on_event(TextDelta{0, "The capital of France is Paris."});
    sink.on_event(BlockStop{0});
    sink.on_event(UsageUpdate{Usage{0, 8, 0, 0, 0}});
    sink.on_event(Done{});
    return {};
  }
};

Config config_for(std::string_view format, const std::string& base_url) {
  auto c = load_config_string(fmt::format(R"(
[[providers]]
name = "local"
format = "{}"
base_url = "{}"
[[routers]]
type = "fallback"
providers = ["local"]
)",
                                          format, base_url));
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

void run(benchmark::State& state, Engine& engine, std::string_view body) {
  const CancelFlag cancel{false};
  std::size_t bytes = 0;
  auto write = [&](std::string_view b) {
    bytes += b.size();
    return true;
  };
  const ProcessUsage u0 = usage_now();
  for (auto _ : state) {
    Outcome o = engine.complete(WireFormat::OpenAI, body, {}, write, cancel);
    if (o.error) state.SkipWithError(o.error->message.c_str());
  }
  const ProcessUsage u1 = usage_now();
  const auto n = static_cast<double>(state.iterations());
  state.counters["cpu_us_per_request"] = benchmark::Counter((u1.cpu_s - u0.cpu_s) * 1e6 / n);
  state.counters["switches_per_request"] = benchmark::Counter(static_cast<double>(u1.switches - u0.switches) / n);
  state.counters["requests_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  benchmark::DoNotOptimize(bytes);
}

constexpr std::string_view kChat =
    R"({"model":"bulk","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of France?"}]})";
constexpr std::string_view kChatStream =
    R"({"model":"bulk","stream":true,"messages":[{"role":"user","content":"What is the capital of France?"}]})";

void BM_Engine_InProcessProvider(benchmark::State& state) {
  EngineOptions o;
  o.providers.emplace("local", std::make_shared<Instant>());
  o.loops = 1;
  auto engine = Engine::create(config_for("openai", "http://127.0.0.1:1/v1"), std::move(o));
  if (!engine) return state.SkipWithError(engine.error().message.c_str());
  run(state, **engine, state.range(0) ? kChatStream : kChat);
}

void BM_Engine_MockUpstream(benchmark::State& state) {
  testing::MockUpstream mock;
  EngineOptions o;
  o.loops = 1;
  // Anthropic upstream: the reply is translated, not passed through.
  auto engine = Engine::create(config_for("anthropic", mock.base_url()), std::move(o));
  if (!engine) return state.SkipWithError(engine.error().message.c_str());
  run(state, **engine, state.range(0) ? kChatStream : kChat);
}

BENCHMARK(BM_Engine_InProcessProvider)->Arg(0)->Arg(1)->ArgName("stream");
BENCHMARK(BM_Engine_MockUpstream)->Arg(0)->Arg(1)->ArgName("stream")->UseRealTime();

}  // namespace
