// SPDX-License-Identifier: MIT
// A request submitted to the Engine until its reply is complete: against an in-process
// provider (the engine's own cost: decode, stages, routing, events, encoding) and against
// the local mock upstream over the transport (all traffic on 127.0.0.1). Counters: CPU and
// context switches per request, for the whole process (the mock's share included, so they
// are upper bounds for the engine's).
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <condition_variable>
#include <mutex>
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
  (void)o.registries.add_provider("instant", [](const ProviderConfig&, const ProviderContext&) {
    return Result<std::shared_ptr<const Provider>>(std::make_shared<Instant>());
  });
  o.loops = 1;
  Config config = config_for("openai", "http://127.0.0.1:1/v1");
  config.providers[0].kind = "instant";
  auto engine = Engine::create(std::move(config), std::move(o));
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

// A host on the engine's loop: each request is submitted from the previous one's on_end,
// which runs on the loop thread, so a request's whole life (stages, transfer, reply,
// response side) stays on that thread. One iteration is a chain of 100 requests.
class Chain final : public RequestCallbacks, public std::enable_shared_from_this<Chain> {
 public:
  Chain(const Engine& engine, std::string_view body) : engine_(engine), body_(body) {}
  void run(int n) {
    std::unique_lock lock(mu_);
    left_ = n;
    done_ = false;
    lock.unlock();
    next();
    lock.lock();
    cv_.wait(lock, [&] { return done_; });
  }
  bool on_bytes(std::string_view b) override {
    bytes_ += b.size();
    return true;
  }
  void on_end(Outcome o) override {
    if (o.error) failed_ = true;
    std::unique_lock lock(mu_);
    if (--left_ > 0) {
      lock.unlock();
      next();
      return;
    }
    done_ = true;
    cv_.notify_all();
  }
  bool failed_ = false;

 private:
  void next() { engine_.submit(WireFormat::OpenAI, std::string(body_), {}, shared_from_this()); }
  const Engine& engine_;
  std::string_view body_;
  std::mutex mu_;
  std::condition_variable cv_;
  int left_ = 0;
  bool done_ = false;
  std::size_t bytes_ = 0;
};

void BM_Engine_HostOnLoop(benchmark::State& state) {
  testing::MockUpstream mock;
  EngineOptions o;
  o.loops = 1;
  auto engine = Engine::create(config_for("anthropic", mock.base_url()), std::move(o));
  if (!engine) return state.SkipWithError(engine.error().message.c_str());
  auto chain = std::make_shared<Chain>(**engine, state.range(0) ? kChatStream : kChat);
  constexpr int kPerIteration = 100;
  const ProcessUsage u0 = usage_now();
  for (auto _ : state) {
    chain->run(kPerIteration);
    if (chain->failed_) state.SkipWithError("a request failed");
  }
  const ProcessUsage u1 = usage_now();
  const auto n = static_cast<double>(state.iterations()) * kPerIteration;
  state.counters["cpu_us_per_request"] = benchmark::Counter((u1.cpu_s - u0.cpu_s) * 1e6 / n);
  state.counters["switches_per_request"] = benchmark::Counter(static_cast<double>(u1.switches - u0.switches) / n);
  state.counters["requests_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Engine_InProcessProvider)->Arg(0)->Arg(1)->ArgName("stream");
BENCHMARK(BM_Engine_MockUpstream)->Arg(0)->Arg(1)->ArgName("stream")->UseRealTime();
BENCHMARK(BM_Engine_HostOnLoop)->Arg(0)->Arg(1)->ArgName("stream")->UseRealTime();

}  // namespace
