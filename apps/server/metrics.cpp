// SPDX-License-Identifier: MIT
#include "metrics.h"

#include <array>
#include <mutex>
#include <optional>
#include <unordered_set>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace llmrouter::server {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// Seconds, from 5 ms (a cached or local reply) to 5 minutes (a long agent turn).
Histogram::BucketBoundaries latency_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

// The states a provider can be in (GET /v1/providers' `state`): one series each.
constexpr std::array<std::string_view, 5> kProviderStates = {"ok", "ejected", "probing",
                                                             "at_capacity", "unavailable"};

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Gauge;
  return f;
}

void add_gauge(prometheus::MetricFamily& f, std::vector<prometheus::ClientMetric::Label> labels,
               double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

// The live figures of every provider, as of now: built fresh at each scrape, so a provider
// removed by a reload leaves no stale series behind. A figure without samples yet has no
// series (rather than a made-up 0).
std::vector<prometheus::MetricFamily> provider_families(
    const std::vector<ProviderScrape>& providers) {
  auto state = gauge_family("llmrouter_provider_state",
                            "1 for the provider's current state (ok, ejected, probing, "
                            "at_capacity, unavailable), 0 for the others");
  auto in_flight = gauge_family("llmrouter_provider_in_flight_requests",
                                "Attempts in flight to the provider now");
  auto max_concurrency = gauge_family("llmrouter_provider_max_concurrency",
                                      "The provider's max_concurrency (no series when unlimited)");
  // A timing as three gauges (p50, p95, mean) rather than a summary: the quantiles are over a
  // sliding window and there is no cumulative sum, and a `quantile` label belongs to summaries.
  struct Timing {
    prometheus::MetricFamily p50, p95, mean;
  };
  auto timing_families = [](const std::string& base, const std::string& what) {
    return Timing{gauge_family(base + "_p50_seconds", what + ": median over the last 128"),
                  gauge_family(base + "_p95_seconds", what + ": 95th percentile over the last 128"),
                  gauge_family(base + "_mean_seconds", what + ": exponentially weighted mean")};
  };
  Timing ttft = timing_families("llmrouter_provider_time_to_first_token",
                                "Time to the first byte of the provider's successful attempts");
  Timing total = timing_families("llmrouter_provider_attempt_duration",
                                 "Time to the end of the provider's successful attempts");
  auto tps =
      gauge_family("llmrouter_provider_output_tokens_per_second",
                   "Output tokens per second of successful attempts: exponentially weighted mean");
  auto error_ratio = gauge_family("llmrouter_provider_error_ratio",
                                  "Share of attempts that failed (connection errors, timeouts, "
                                  "429, 5xx): exponentially weighted, 0 to 1");
  for (const ProviderScrape& p : providers) {
    const std::string& name = p.live.name;
    for (std::string_view s : kProviderStates) {
      add_gauge(state, {{"provider", name}, {"state", std::string(s)}}, s == p.state ? 1 : 0);
    }
    const FiguresSnapshot& f = p.live.figures;
    add_gauge(in_flight, {{"provider", name}}, static_cast<double>(f.in_flight));
    if (p.live.max_concurrency > 0)
      add_gauge(max_concurrency, {{"provider", name}}, p.live.max_concurrency);
    auto timing = [&](Timing& t, const std::optional<FigureSummary>& ms) {
      if (!ms || ms->samples == 0) return;
      add_gauge(t.p50, {{"provider", name}}, ms->p50 / 1000.0);
      add_gauge(t.p95, {{"provider", name}}, ms->p95 / 1000.0);
      add_gauge(t.mean, {{"provider", name}}, ms->mean / 1000.0);
    };
    timing(ttft, f.ttft_ms);
    timing(total, f.total_ms);
    if (f.tokens_per_s && f.tokens_per_s->samples > 0)
      add_gauge(tps, {{"provider", name}}, f.tokens_per_s->mean);
    if (f.attempts > 0) add_gauge(error_ratio, {{"provider", name}}, f.error_rate);
  }
  std::vector<prometheus::MetricFamily> out;
  for (auto* f : {&state, &in_flight, &max_concurrency, &ttft.p50, &ttft.p95, &ttft.mean,
                  &total.p50, &total.p95, &total.mean, &tps, &error_ratio}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

std::string outcome_of(const Outcome& o) {
  if (!o.error) return "ok";
  if (o.error->code == Errc::Cancelled) return "cancelled";
  return o.error->status() < 500 ? "client_error" : "error";
}

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  Family<Counter>& requests = prometheus::BuildCounter()
                                  .Name("llmrouter_requests_total")
                                  .Help("Requests handled, by client format, provider, model, outcome and HTTP status")
                                  .Register(*registry);
  Family<Histogram>& duration = prometheus::BuildHistogram()
                                    .Name("llmrouter_request_duration_seconds")
                                    .Help("Time from the request's arrival to its last byte, by client format and provider")
                                    .Register(*registry);
  Family<Histogram>& ttft = prometheus::BuildHistogram()
                                .Name("llmrouter_time_to_first_token_seconds")
                                .Help("Streamed requests: time to the first byte of the reply, by provider")
                                .Register(*registry);
  Family<Counter>& tokens = prometheus::BuildCounter()
                                .Name("llmrouter_tokens_total")
                                .Help("Tokens reported by providers, by provider, model and kind (input, output, cache_read, cache_creation)")
                                .Register(*registry);
  Family<Counter>& cost = prometheus::BuildCounter()
                              .Name("llmrouter_cost_usd_total")
                              .Help("Cost in US dollars, priced with the provider's cost_per_1m_tokens")
                              .Register(*registry);
  Family<Counter>& failovers = prometheus::BuildCounter()
                                   .Name("llmrouter_failover_attempts_total")
                                   .Help("Attempts that failed before any byte and moved on to the next provider, by the provider that failed")
                                   .Register(*registry);
  Family<Counter>& upstream_errors = prometheus::BuildCounter()
                                         .Name("llmrouter_upstream_errors_total")
                                         .Help("Failed attempts by provider and the HTTP status they map to")
                                         .Register(*registry);
  Family<Gauge>& in_flight = prometheus::BuildGauge()
                                 .Name("llmrouter_in_flight_requests")
                                 .Help("Requests being handled now")
                                 .Register(*registry);
  Family<Gauge>& connections = prometheus::BuildGauge()
                                   .Name("llmrouter_client_connections")
                                   .Help("Client connections open now")
                                   .Register(*registry);
  Family<Counter>& refused = prometheus::BuildCounter()
                                 .Name("llmrouter_client_connections_refused_total")
                                 .Help("Client connections answered 503 at once because [server] max_connections were open")
                                 .Register(*registry);
  Family<Counter>& dropped = prometheus::BuildCounter()
                                 .Name("llmrouter_dashboard_events_dropped_total")
                                 .Help("Live events a slow dashboard subscriber did not receive")
                                 .Register(*registry);
  Family<Counter>& log_errors = prometheus::BuildCounter()
                                    .Name("llmrouter_log_write_errors_total")
                                    .Help("JSONL request log lines that could not be written")
                                    .Register(*registry);
  Family<Counter>& log_dropped = prometheus::BuildCounter()
                                     .Name("llmrouter_log_dropped_total")
                                     .Help("JSONL request log lines dropped because the disk fell too far behind (the file marks each gap)")
                                     .Register(*registry);
  Family<Counter>& log_lines = prometheus::BuildCounter()
                                   .Name("llmrouter_log_lines_total")
                                   .Help("JSONL request log lines written")
                                   .Register(*registry);

  Family<Counter>& ejections = prometheus::BuildCounter()
                                   .Name("llmrouter_provider_ejections_total")
                                   .Help(
                                       "Times the provider was ejected after failures (each "
                                       "`health` event with state ejected)")
                                   .Register(*registry);
  Family<Counter>& restorations = prometheus::BuildCounter()
                                      .Name("llmrouter_provider_restorations_total")
                                      .Help(
                                          "Times an ejected provider was restored by a successful "
                                          "probe (each `health` event with state restored)")
                                      .Register(*registry);
  Family<Counter>& reloads =
      prometheus::BuildCounter()
          .Name("llmrouter_config_reloads_total")
          .Help(
              "Configuration reloads (SIGHUP, POST /admin/reload), by outcome: ok (applied) or "
              "invalid (refused, the running configuration unchanged)")
          .Register(*registry);

  // The team gateway: requests, tokens and spend per key name (names come from the
  // configuration, so the series are bounded), and the limit store's health.
  Family<Counter>& key_requests =
      prometheus::BuildCounter()
          .Name("llmrouter_key_requests_total")
          .Help("Requests by team key ([[keys]] name), outcome and HTTP status")
          .Register(*registry);
  Family<Counter>& key_tokens =
      prometheus::BuildCounter()
          .Name("llmrouter_key_tokens_total")
          .Help("Tokens reported by providers, by team key and kind (input, output)")
          .Register(*registry);
  Family<Counter>& key_cost = prometheus::BuildCounter()
                                  .Name("llmrouter_key_cost_usd_total")
                                  .Help("Spend in US dollars by team key (the log's cost_usd)")
                                  .Register(*registry);
  Family<Counter>& state_errors =
      prometheus::BuildCounter()
          .Name("llmrouter_state_errors_total")
          .Help("Calls to the shared state backend ([state]) that failed: unreachable or timed out")
          .Register(*registry);
  Family<Gauge>& state_up =
      prometheus::BuildGauge()
          .Name("llmrouter_state_up")
          .Help("1 when the shared state backend ([state]) is reachable, 0 during an outage")
          .Register(*registry);

  // Counters mirrored from totals kept elsewhere: the last totals seen.
  std::mutex mirror_mu;
  uint64_t dropped_seen = 0;     // guarded by mirror_mu
  uint64_t log_errors_seen = 0;  // guarded by mirror_mu
  uint64_t log_lines_seen = 0;   // guarded by mirror_mu
  uint64_t log_dropped_seen = 0; // guarded by mirror_mu
  uint64_t refused_seen = 0;     // guarded by mirror_mu
  uint64_t state_errors_seen = 0;  // guarded by mirror_mu
  // The model label's values: a client chooses the model, so their number is capped.
  std::mutex models_mu;
  std::unordered_set<std::string> models;  // guarded by models_mu
  std::size_t max_models = 100;            // guarded by models_mu

  std::string model_label(std::string model) {
    std::lock_guard lock(models_mu);
    if (models.contains(model)) return model;
    if (models.size() >= max_models) return "other";
    models.insert(model);
    return model;
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  // Both series from the start, so that the first reload of either kind shows in rate().
  impl_->reloads.Add({{"outcome", "ok"}});
  impl_->reloads.Add({{"outcome", "invalid"}});
}

void Metrics::limit_models(std::size_t n) {
  std::lock_guard lock(impl_->models_mu);
  impl_->max_models = n;
}
Metrics::~Metrics() = default;

void Metrics::record(WireFormat client, const Outcome& o) {
  Impl& m = *impl_;
  const std::string format(wire_format_name(client));
  std::string provider = "none";
  std::string model = "none";
  if (!o.attempts.empty()) {
    provider = o.attempts.back().provider;
    model = m.model_label(o.attempts.back().model);
  } else if (o.prepared && !o.prepared->decision && o.prepared->state.response) {
    provider = "plugin";
  }
  const int status = o.error ? o.error->status() : 200;
  m.requests.Add({{"client_format", format}, {"provider", provider}, {"model", model}, {"outcome", outcome_of(o)},
                  {"status", std::to_string(status)}})
      .Increment();
  m.duration.Add({{"client_format", format}, {"provider", provider}}, latency_buckets())
      .Observe(static_cast<double>(o.duration_ms) / 1000.0);
  if (o.ttft_ms && o.prepared && o.prepared->request.stream) {
    m.ttft.Add({{"provider", provider}}, latency_buckets()).Observe(static_cast<double>(*o.ttft_ms) / 1000.0);
  }
  for (std::size_t i = 0; i < o.attempts.size(); ++i) {
    const Attempt& a = o.attempts[i];
    if (a.error.empty()) continue;
    m.upstream_errors.Add({{"provider", a.provider}, {"status", std::to_string(a.status)}}).Increment();
    if (i + 1 < o.attempts.size()) m.failovers.Add({{"provider", a.provider}}).Increment();
  }
  if (o.response) {
    const Usage& u = o.response->usage;
    auto add = [&](const char* kind, uint64_t n) {
      if (n > 0) m.tokens.Add({{"provider", provider}, {"model", model}, {"kind", kind}}).Increment(static_cast<double>(n));
    };
    add("input", u.input_tokens);
    add("output", u.output_tokens);
    add("cache_read", u.cache_read_input_tokens);
    add("cache_creation", u.cache_creation_input_tokens);
    if (o.cost_usd > 0) m.cost.Add({{"provider", provider}, {"model", model}}).Increment(o.cost_usd);
  }
  if (!o.key.empty()) {
    m.key_requests
        .Add({{"key", o.key}, {"outcome", outcome_of(o)}, {"status", std::to_string(status)}})
        .Increment();
    if (o.response) {
      const Usage& u = o.response->usage;
      if (u.input_tokens > 0)
        m.key_tokens.Add({{"key", o.key}, {"kind", "input"}})
            .Increment(static_cast<double>(u.input_tokens));
      if (u.output_tokens > 0)
        m.key_tokens.Add({{"key", o.key}, {"kind", "output"}})
            .Increment(static_cast<double>(u.output_tokens));
    }
    if (o.cost_usd > 0) m.key_cost.Add({{"key", o.key}}).Increment(o.cost_usd);
  }
}

void Metrics::health(std::string_view provider, bool ejected) {
  Family<Counter>& family = ejected ? impl_->ejections : impl_->restorations;
  family.Add({{"provider", std::string(provider)}}).Increment();
}

void Metrics::reload(bool ok) {
  impl_->reloads.Add({{"outcome", ok ? "ok" : "invalid"}}).Increment();
}

std::string Metrics::scrape(const ScrapeInputs& in) {
  Impl& m = *impl_;
  m.in_flight.Add({}).Set(static_cast<double>(in.in_flight));
  m.connections.Add({}).Set(static_cast<double>(in.connections_open));
  {
    std::lock_guard lock(m.mirror_mu);
    auto mirror = [](Family<Counter>& family, uint64_t total, uint64_t& seen) {
      Counter& c = family.Add({});
      if (total > seen) c.Increment(static_cast<double>(total - seen));
      seen = std::max(seen, total);
    };
    mirror(m.dropped, in.dashboard_events_dropped, m.dropped_seen);
    mirror(m.log_errors, in.log_write_errors, m.log_errors_seen);
    mirror(m.log_lines, in.log_lines_written, m.log_lines_seen);
    mirror(m.log_dropped, in.log_dropped, m.log_dropped_seen);
    mirror(m.refused, in.connections_refused, m.refused_seen);
    mirror(m.state_errors, in.state_errors, m.state_errors_seen);
  }
  m.state_up.Add({}).Set(in.state_up ? 1.0 : 0.0);
  for (const ProviderScrape& p : in.providers) {  // 0 from the start, so rate() sees the first one
    m.ejections.Add({{"provider", p.live.name}});
    m.restorations.Add({{"provider", p.live.name}});
  }
  std::vector<prometheus::MetricFamily> families = m.registry->Collect();
  for (prometheus::MetricFamily& f : provider_families(in.providers))
    families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace llmrouter::server
