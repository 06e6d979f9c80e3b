// SPDX-License-Identifier: MIT
#pragma once
// The live pipeline as state, apart from any drawing: requests in flight, the latest
// completed ones, running statistics, providers ejected and restored, and the feed's
// connection. Single-threaded: the apps
// apply events on their UI thread. Times are wall-clock milliseconds since the epoch,
// passed in by the caller (so tests control them).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "feed_client.h"
#include "router_events.h"

namespace llmrouter::console {

/// A request between its `start` and its `complete`.
struct PendingRequest {
  uint64_t id = 0;
  /// Server time of the start event.
  int64_t ts_ms = 0;
  /// Local time the start event arrived (elapsed time is measured from it).
  int64_t received_ms = 0;
  std::string model;
  std::vector<std::string> tags;
  bool classified = false;
  /// Set once routed.
  std::string provider;
  std::string routed_model;
  std::string reason;
};

struct ProviderStats {
  std::string name;
  uint64_t requests = 0;
  uint64_t errors = 0;
  /// Completion time (server clock) of the last success; 0: never.
  int64_t last_success_ms = 0;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  double cost_usd = 0;
};

struct TagStats {
  std::string tag;
  /// A response classifier's tag (shown as <tag>) rather than a request tag ([tag]).
  bool response = false;
  uint64_t count = 0;
};

/// Running totals over every completion seen.
class Stats {
 public:
  /// Latency percentiles are taken over this many latest completions.
  static constexpr std::size_t kLatencyWindow = 10'000;

  void add(const CompleteEvent& e);

  uint64_t requests() const { return requests_; }
  uint64_t errors() const { return errors_; }
  /// Mean duration_ms over every completion (0 when none).
  int64_t average_ms() const;
  /// 95th percentile (nearest rank) of duration_ms over the latency window (0 when none).
  int64_t p95_ms() const;
  uint64_t input_tokens() const { return input_tokens_; }
  uint64_t output_tokens() const { return output_tokens_; }
  double cost_usd() const { return cost_usd_; }
  /// By request count, most first, then by name.
  std::vector<ProviderStats> providers() const;
  /// By count, most first, then request tags before response tags, then by name.
  std::vector<TagStats> tags() const;

 private:
  uint64_t requests_ = 0;
  uint64_t errors_ = 0;
  int64_t total_ms_ = 0;
  uint64_t input_tokens_ = 0;
  uint64_t output_tokens_ = 0;
  double cost_usd_ = 0;
  std::deque<int64_t> latencies_;
  std::vector<ProviderStats> providers_;
  std::vector<TagStats> tags_;
};

class FeedModel {
 public:
  /// Completed requests kept for display.
  static constexpr std::size_t kMaxCompleted = 200;
  /// Health events kept for display.
  static constexpr std::size_t kMaxHealth = 20;

  /// Applies one event received at local time `now_ms`.
  void apply(const RouterEvent& event, int64_t now_ms);
  /// An event that did not parse: counted, and its error kept for display.
  void note_unparsed(std::string error);
  /// The feed's connection changed. Going live again after a break drops the in-flight
  /// entries: their `complete` events may have been missed.
  void set_connection(const FeedState& state, int64_t now_ms);

  /// In-flight requests, newest first.
  const std::deque<PendingRequest>& pending() const { return pending_; }
  /// Completed requests, newest first (at most kMaxCompleted).
  const std::deque<CompleteEvent>& completed() const { return completed_; }
  const Stats& stats() const { return stats_; }
  /// Providers ejected or restored, newest first (at most kMaxHealth).
  const std::deque<HealthEvent>& health() const { return health_; }
  /// Health events seen since the TUI started, by kind.
  uint64_t ejections() const { return ejections_; }
  uint64_t restorations() const { return restorations_; }
  const FeedState& connection() const { return connection_; }
  /// When the connection state was set (local time).
  int64_t connection_since_ms() const { return connection_since_ms_; }
  /// Events applied so far.
  uint64_t events() const { return events_; }
  uint64_t unparsed() const { return unparsed_; }
  const std::string& last_parse_error() const { return last_parse_error_; }

  /// How many completed entries are scrolled past (0: the newest is on top). A new
  /// completion while scrolled keeps the same entries in view.
  std::size_t scroll() const { return scroll_; }
  /// Moves the view `delta` entries toward older ones (negative: toward the newest).
  void scroll_by(long delta);
  void scroll_to_newest() { scroll_ = 0; }
  void scroll_to_oldest();

 private:
  PendingRequest* find_pending(uint64_t id);

  std::deque<PendingRequest> pending_;
  std::deque<CompleteEvent> completed_;
  std::deque<HealthEvent> health_;
  uint64_t ejections_ = 0;
  uint64_t restorations_ = 0;
  Stats stats_;
  FeedState connection_;
  int64_t connection_since_ms_ = 0;
  uint64_t events_ = 0;
  uint64_t unparsed_ = 0;
  std::string last_parse_error_;
  std::size_t scroll_ = 0;
};

}  // namespace llmrouter::console
