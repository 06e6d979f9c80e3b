// SPDX-License-Identifier: MIT
#pragma once
// The server's Prometheus metrics (GET /metrics), on prometheus-cpp's core registry and text
// serialiser. One `record` per request, from the Outcome the pipeline returns; gauges and
// the counters owned by other parts (dropped dashboard events, log write errors) are read at
// scrape time.

#include <cstdint>
#include <memory>
#include <string>

#include "llmrouter/pipeline.h"
#include "llmrouter/request.h"

namespace llmrouter::server {

/// Figures owned elsewhere, read when scraped.
struct ScrapeInputs {
  uint64_t in_flight = 0;
  uint64_t dashboard_events_dropped = 0;  // since start
  uint64_t log_write_errors = 0;          // since start
  uint64_t log_lines_written = 0;         // since start
  uint64_t log_dropped = 0;               // since start: lines the log's full queue dropped
  uint64_t connections_open = 0;
  uint64_t connections_refused = 0;       // since start: past [server] max_connections
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
  /// The text exposition format (version 0.0.4). Thread-safe.
  std::string scrape(const ScrapeInputs& inputs);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrouter::server
