// SPDX-License-Identifier: MIT
#pragma once
// The exporter behind Telemetry: a bounded span queue that request threads append to, the
// cumulative metrics, and one thread that posts batches to the collector over the
// library's Transport. Internal.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "telemetry/span.h"

namespace llmrouter::detail::telemetry {

class Exporter {
 public:
  Exporter(TelemetryConfig config, std::shared_ptr<Transport> transport, TelemetryOptions options);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  const TelemetryConfig& config() const noexcept { return config_; }

  /// Queues one request's finished spans. Never waits on the network: takes a lock for as
  /// long as a few deque insertions; spans beyond `max_queued_spans` are dropped (the newest,
  /// so a trace already queued stays whole) and counted.
  void submit(std::vector<SpanRecord>&& spans);
  /// Adds one request to the metrics.
  void record(const RequestPoint& point);

  bool flush(std::chrono::milliseconds timeout);
  void shutdown();
  TelemetryStats stats() const;

 private:
  void run();
  // Posts `body` to `url` and waits for the answer (bounded). True on a 2xx.
  bool post(const std::string& url, std::string body, std::chrono::milliseconds timeout);
  void export_metrics(std::chrono::milliseconds timeout);

  const TelemetryConfig config_;
  const std::shared_ptr<Transport> transport_;
  const TelemetryOptions options_;
  const Resource resource_;
  const std::string traces_url_;
  const std::string metrics_url_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the export thread
  std::condition_variable idle_cv_;  // wakes flush() callers
  std::deque<SpanRecord> queue_;     // guarded by mu_
  uint64_t flush_requests_ = 0;      // guarded by mu_
  uint64_t flushes_done_ = 0;        // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  bool stopped_ = false;             // guarded by mu_
  std::chrono::steady_clock::time_point stop_deadline_;  // guarded by mu_
  TelemetryStats stats_;             // guarded by mu_

  std::mutex metrics_mu_;
  MetricsAggregate metrics_;  // guarded by metrics_mu_
  bool metrics_dirty_ = false;  // guarded by metrics_mu_

  bool failing_ = false;  // the last export failed; export thread only

  std::mutex shutdown_mu_;  // serialises shutdown()
  std::thread thread_;
};

}  // namespace llmrouter::detail::telemetry
