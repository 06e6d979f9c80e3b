// SPDX-License-Identifier: MIT
#pragma once
/// @file live.h
/// Live provider figures: what the router measures of each provider and each (provider,
/// model) it sends to, and what it concludes from them.
///
/// - Figures: time to first byte, total latency and output tokens per second of successful
///   attempts, and the error rate of all attempts, each as an exponentially weighted mean
///   (`[routing] stats_half_life_s`) and, for the three timings, p50/p95 over the last 128
///   samples; requests in flight.
/// - Health: `[routing] eject_after_failures` consecutive failures eject a provider for
///   `eject_seconds` (doubling on each further ejection, up to 10 minutes); after that one
///   request probes it, and its success restores it.
/// - Capacity: a provider at its `max_concurrency` takes no further request.
/// - Sessions: where each session key was last routed (`[routing] affinity`).
///
/// Attempts report here as they begin and end (on the thread that runs them: a transport
/// loop for the engine's requests); routing reads the figures with atomic loads only, so
/// taking a routing decision never waits for a lock. One LiveStats lives as long as the
/// engine: a reloaded pipeline keeps the figures of the one it replaces.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "llmrouter/config.h"

namespace llmrouter {

/// What a live figure measures.
enum class Measure {
  /// Time to the first byte of the reply, in ms.
  Ttft,
  /// Time to the end of the reply, in ms.
  Total,
  /// Output tokens per second after the first byte (the whole exchange for a reply that
  /// was not streamed).
  TokensPerSecond,
};

/// "ttft", "total", "tokens_per_s".
std::string_view measure_name(Measure m) noexcept;

/// One figure as reported (GET /v1/providers, /metrics).
struct FigureSummary {
  /// The exponentially weighted mean.
  double mean = 0;
  /// Over the last 128 samples.
  double p50 = 0;
  double p95 = 0;
  uint64_t samples = 0;
};

/// The figures of a provider, or of one of its models.
struct FiguresSnapshot {
  /// Empty for the provider's own (all its models).
  std::string model;
  uint64_t attempts = 0;
  uint64_t failures = 0;
  uint64_t in_flight = 0;
  /// Weighted share of attempts that failed for the provider's reasons (connection errors,
  /// timeouts, 5xx, a 429 with retry-after, an overload reported in-band).
  double error_rate = 0;
  std::optional<FigureSummary> ttft_ms;
  std::optional<FigureSummary> total_ms;
  std::optional<FigureSummary> tokens_per_s;
};

/// A provider's health.
enum class Health {
  Ok,
  /// Passed over until `ProviderSnapshot::ejected_until`.
  Ejected,
  /// The ejection is over: the next request that can go there probes it.
  Probing,
};

/// "ok", "ejected", "probing".
std::string_view health_name(Health h) noexcept;

/// Everything known of one provider at a moment.
struct ProviderSnapshot {
  std::string name;
  Health health = Health::Ok;
  /// When an ejection ends (system clock); set while ejected.
  std::optional<std::chrono::system_clock::time_point> ejected_until;
  uint32_t consecutive_failures = 0;
  /// Ejections since the provider was last healthy (each doubles the next one's length).
  uint32_t ejections = 0;
  uint32_t max_concurrency = 0;
  bool at_capacity = false;
  FiguresSnapshot figures;
  /// Per model, in the order they were first used.
  std::vector<FiguresSnapshot> models;
};

/// How an attempt ended, for the figures.
struct AttemptReport {
  bool ok = false;
  /// A failure of the provider's (connection error, timeout, 5xx, a 429 with retry-after):
  /// counts toward ejection. A client's 4xx or a cancellation is neither success nor this.
  bool provider_failure = false;
  /// A 429's retry-after: the provider is ejected for that long.
  std::optional<std::chrono::milliseconds> retry_after;
  /// Set when the attempt delivered at least one event.
  std::optional<double> ttft_ms;
  double total_ms = 0;
  uint64_t output_tokens = 0;
  /// True when the reply was streamed (tokens/s is then counted after the first byte).
  bool streamed = false;
};

/// A provider's health changed: published as a `health` event and logged.
struct HealthChange {
  std::string provider;
  /// Ejected (with `duration`) or restored (Ok).
  Health health = Health::Ok;
  std::chrono::milliseconds duration{0};
  uint32_t consecutive_failures = 0;
  /// What the last attempt's error said, for an ejection.
  std::string reason;
};

class LiveStats;
struct AttemptLease;

/// One provider's live state. Reads are lock-free; created by LiveStats::slot and kept as
/// long as the LiveStats.
class ProviderLive {
 public:
  const std::string& name() const noexcept { return name_; }
  /// Requests in flight to the provider (all its models).
  uint32_t in_flight() const noexcept { return all_.in_flight.load(std::memory_order_relaxed); }
  uint32_t max_concurrency() const noexcept {
    return max_concurrency_.load(std::memory_order_relaxed);
  }
  /// At its max_concurrency.
  bool at_capacity() const noexcept {
    const uint32_t cap = max_concurrency();
    return cap != 0 && in_flight() >= cap;
  }
  /// Whether routing may choose it now: not ejected, and not probing with the probe taken.
  bool routable() const noexcept;
  Health health(std::chrono::steady_clock::time_point now) const noexcept;
  /// What is left of an ejection (0 when not ejected).
  std::chrono::milliseconds ejection_left() const noexcept;
  /// The weighted mean of `m` for `model` once it has `min_samples` samples, else the
  /// provider's once it has, else nullopt. `samples` gets the count behind the answer (or
  /// the larger of the two counts when there is none).
  std::optional<double> figure(std::string_view model, Measure m, uint32_t min_samples,
                               uint64_t* samples = nullptr) const noexcept;

  ProviderLive(const ProviderLive&) = delete;
  ProviderLive& operator=(const ProviderLive&) = delete;

 private:
  friend class LiveStats;
  friend struct AttemptLease;
  explicit ProviderLive(std::string name) : name_(std::move(name)) {}

  // A time-decayed weighted mean: sum and weight both decay by half every half-life.
  struct Ewma {
    double sum = 0;
    double weight = 0;
    std::chrono::steady_clock::time_point at{};
    double add(double x, std::chrono::steady_clock::time_point now, double half_life_ms);
  };
  // The last kWindow samples of one figure.
  struct Window {
    static constexpr std::size_t kWindow = 128;
    std::vector<float> values;  // grows to kWindow, then wraps
    std::size_t next = 0;
    void add(double x);
    FigureSummary summary(double mean, uint64_t samples) const;
  };
  // The figures of the provider or of one model: atomics for routing, the rest under mu_.
  struct Figures {
    std::array<std::atomic<double>, 3> mean{};  // by Measure
    std::array<std::atomic<uint64_t>, 3> samples{};
    std::atomic<uint32_t> in_flight{0};
    std::atomic<double> error_rate{0};
    // Guarded by ProviderLive::mu_.
    std::array<Ewma, 3> ewma;
    std::array<Window, 3> window;
    Ewma errors;
    uint64_t attempts = 0;
    uint64_t failures = 0;
    void record(const AttemptReport& r, std::chrono::steady_clock::time_point now,
                double half_life_ms);
    FiguresSnapshot snapshot(std::string model) const;
  };
  // A model's figures; `name` is written once, before the entry is published.
  struct ModelEntry {
    std::string name;
    Figures figures;
  };
  static constexpr std::size_t kMaxModels = 64;

  // The model's entry, or null (lock-free).
  const Figures* model_figures(std::string_view model) const noexcept;
  // The model's entry, created when missing (under mu_); null when the table is full.
  Figures* model_entry(std::string_view model);

  std::string name_;
  Figures all_;
  std::array<ModelEntry, kMaxModels> models_;
  std::atomic<uint32_t> model_count_{0};
  std::atomic<uint32_t> max_concurrency_{0};
  // Steady-clock nanoseconds at which an ejection ends; 0: not ejected.
  std::atomic<int64_t> ejected_until_ns_{0};
  // A probe request is in flight (the ejection is over, the provider is not restored yet).
  std::atomic<bool> probe_taken_{false};
  std::atomic<uint32_t> consecutive_failures_{0};
  mutable std::mutex mu_;
  uint32_t ejections_ = 0;  // guarded by mu_
};

/// What a request holds while an attempt runs (LiveStats::begin / end).
struct AttemptLease {
  ProviderLive* provider = nullptr;
  ProviderLive::Figures* model = nullptr;
  /// This attempt is the probe of an ejected provider.
  bool probe = false;
};

/// Why LiveStats::begin refused an attempt.
enum class NoRoom {
  /// The provider is at its max_concurrency.
  AtCapacity,
  /// The provider is ejected, or another request is probing it.
  Ejected,
};

/// The live figures, health, capacity and sessions of every provider. Thread-safe.
class LiveStats {
 public:
  explicit LiveStats(const RoutingConfig& routing = {});
  /// Fires the requests still waiting for room (as timed out) and stops the timer thread.
  ~LiveStats();
  LiveStats(const LiveStats&) = delete;
  LiveStats& operator=(const LiveStats&) = delete;

  /// Applies a configuration: `[routing]` and each provider's max_concurrency (a reload
  /// keeps the figures). Creates the providers' slots.
  void configure(const Config& config);
  /// The slot of `provider`, created on first use; its address never changes.
  ProviderLive& slot(std::string_view provider);
  /// The slot of `provider`, or null.
  const ProviderLive* find(std::string_view provider) const;
  uint32_t min_samples() const noexcept { return min_samples_.load(std::memory_order_relaxed); }

  /// An attempt to `provider` for `model` starts: counts it in flight, or refuses it when the
  /// provider is at capacity or ejected (an attempt after the ejection's end is the probe;
  /// only one is let through). With `despite_ejection` (every candidate was ejected, or this
  /// is the request's last target) the ejection does not refuse it. Fills `lease` when it
  /// starts.
  std::optional<NoRoom> begin(ProviderLive& provider, std::string_view model, AttemptLease& lease,
                              bool despite_ejection = false);
  /// The attempt ended: updates the figures and the provider's health, and frees its place
  /// (waking requests that wait for room). Returns the health change it caused, if any.
  std::optional<HealthChange> end(const AttemptLease& lease, const AttemptReport& report);

  /// Every provider's state, in the order their slots were made.
  std::vector<ProviderSnapshot> snapshot() const;

  /// Session affinity: where `session` was last routed, when remembered and not expired.
  std::optional<std::pair<std::string, std::string>> session(std::string_view session) const;
  /// Remembers (or refreshes) where `session` went.
  void remember(std::string_view session, std::string_view provider, std::string_view model);

  /// Waits for room: `wake(false)` runs (on the stats' timer thread) after any attempt
  /// frees its place, or `wake(true)` at `deadline`, whichever comes first; once.
  void wait_for_room(std::chrono::steady_clock::time_point deadline,
                     std::function<void(bool timed_out)> wake);
  /// Fires every waiting request now (as timed out) and stops taking new ones (they fire at
  /// once). For a host's shutdown.
  void shutdown();

 private:
  // The requests waiting for room, shared with the timer thread, which touches nothing
  // else: a wake-up may drop the last reference to this LiveStats.
  struct Waiting;
  static void timer_loop(const std::shared_ptr<Waiting>& w);

  std::atomic<double> half_life_ms_{60'000};
  std::atomic<uint32_t> min_samples_{5};
  std::atomic<uint32_t> eject_after_{5};
  std::atomic<int64_t> eject_ms_{30'000};
  std::atomic<int64_t> affinity_ttl_ms_{600'000};

  mutable std::mutex slots_mu_;
  std::vector<std::unique_ptr<ProviderLive>> slots_;  // guarded by slots_mu_ (append only)

  mutable std::mutex sessions_mu_;
  struct SessionEntry {
    std::string provider;
    std::string model;
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, SessionEntry> sessions_;  // guarded by sessions_mu_

  std::shared_ptr<Waiting> wait_;
  std::thread timer_;  // started by the first wait_for_room (under Waiting::mu)
};

}  // namespace llmrouter
