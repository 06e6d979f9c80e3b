// SPDX-License-Identifier: MIT
#pragma once
// The server's Prometheus metrics (GET /metrics), on prometheus-cpp's core registry and text
// serialiser. One `record` per request, from the Outcome the pipeline returns; one `health`
// per `health` event (a provider ejected or restored); one `reload` per configuration
// reload; gauges, the providers' live figures
// and the counters owned by other parts (dropped dashboard events, log write errors) are
// read at scrape time.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/live.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/request.h"

namespace llmrouter::server {

/// One configured provider as GET /v1/providers reports it.
struct ProviderScrape {
  /// "ok", "ejected", "probing", "at_capacity" or "unavailable" (provider_state).
  std::string_view state;
  ProviderSnapshot live;
};

/// Figures owned elsewhere, read when scraped.
struct ScrapeInputs {
  uint64_t in_flight = 0;
  uint64_t dashboard_events_dropped = 0;  // since start
  uint64_t log_write_errors = 0;          // since start
  uint64_t log_lines_written = 0;         // since start
  uint64_t log_dropped = 0;               // since start: lines the log's full queue dropped
  uint64_t connections_open = 0;
  uint64_t connections_refused = 0;       // since start: past [server] max_connections
  uint64_t state_errors = 0;              // since start: LimitStore::errors()
  bool state_up = true;                   // LimitStore::healthy()
  /// Every configured provider, in config order (the live figures' gauges).
  std::vector<ProviderScrape> providers;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// At most `n` distinct `model` label values; requests for further models count as
  /// `other` ([server] metrics_max_models).
  void limit_models(std::size_t n);
  /// Counts one finished request. Thread-safe.
  void record(WireFormat client, const Outcome& outcome);
  /// Counts one change of a provider's health: ejected, or restored. Thread-safe.
  void health(std::string_view provider, bool ejected);
  /// Counts one configuration reload: applied (`ok`), or refused as invalid. Thread-safe.
  void reload(bool ok);
  /// The text exposition format (version 0.0.4). Thread-safe.
  std::string scrape(const ScrapeInputs& inputs);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrouter::server
