// SPDX-License-Identifier: MIT
// Loopback cost of the transport and HTTP provider against the local mock upstream:
// requests per second and CPU per request, non-streamed and streamed (the recorded
// Anthropic transcript). All traffic stays on 127.0.0.1.
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include "llmrouter/http_provider.h"
#include "support/mock_upstream.h"

namespace {

using namespace llmrouter;

class Discard final : public EventSink {
 public:
  bool on_event(const StreamEvent&) override {
    ++events;
    return true;
  }
  int64_t events = 0;
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void run(benchmark::State& state, WireFormat format, bool stream) {
  testing::MockUpstream mock;
  auto transport = std::shared_ptr<Transport>(make_curl_transport());
  ProviderConfig config;
  config.name = "mock";
  config.format = format;
  config.base_url = mock.base_url() + (format == WireFormat::OpenAI ? "/v1" : "");
  auto provider = make_http_provider(config, transport);
  CanonicalRequest req;
  req.model = "bulk";  // the mock writes its stream in 4 KB pieces rather than 7-byte ones
  req.stream = stream;
  req.max_tokens = 100;
  req.messages.push_back(Message{Role::User, {TextBlock{"hi", std::nullopt, {}}}, {}});
  CancelFlag cancel{false};
  Discard sink;
  const double cpu0 = cpu_seconds();
  for (auto _ : state) {
    if (!provider->send(req, sink, cancel)) state.SkipWithError("request failed");
  }
  // The process's CPU includes the mock server's share; it is an upper bound for ours.
  state.counters["cpu_us_per_request"] =
      benchmark::Counter((cpu_seconds() - cpu0) * 1e6 / static_cast<double>(state.iterations()));
  state.counters["requests_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["events_per_request"] = benchmark::Counter(static_cast<double>(sink.events) / static_cast<double>(state.iterations()));
  state.counters["connections"] = benchmark::Counter(static_cast<double>(transport->connections_opened()));
}

void BM_Transport_OpenAINonStreamed(benchmark::State& state) {
  run(state, WireFormat::OpenAI, false);
}
void BM_Transport_AnthropicStreamed(benchmark::State& state) {
  run(state, WireFormat::Anthropic, true);
}
BENCHMARK(BM_Transport_OpenAINonStreamed)->UseRealTime();
BENCHMARK(BM_Transport_AnthropicStreamed)->UseRealTime();

}  // namespace
