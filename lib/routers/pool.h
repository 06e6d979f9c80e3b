// SPDX-License-Identifier: MIT
#pragma once
// What the rules over a pool of providers share (price, latency, throughput, fallback,
// random): the `providers` and `rewrite_model` keys, and ranking by a key. Internal.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/router.h"
#include "llmrouter/settings.h"

namespace llmrouter::detail {

/// A rule's providers (its `providers` list in its order, else every provider in config
/// order) and the model it sends instead of the requested one.
struct Pool {
  std::vector<ProviderConfig> providers;
  std::optional<std::string> rewrite_model;

  std::string_view model_for(const RouteQuery& q) const {
    return rewrite_model ? std::string_view(*rewrite_model) : std::string_view(q.model);
  }
};

/// Reads `providers` and `rewrite_model`.
Pool read_pool(SettingsReader& r, const Config& config);

/// Where a ranked rule places one provider of its pool.
struct Rank {
  /// Lowest first.
  double key = 0;
  /// No figure yet: the provider is explored. While its samples plus its requests in flight
  /// are fewer than `[routing] min_samples` it goes before the ranked ones (the least
  /// measured first), so it gets measured; after that, behind them.
  bool explore = false;
  uint64_t samples = 0;
};

/// A rule that orders its pool by a key, lowest first. Equal keys: a provider with the model
/// loaded first (Ollama's /api/ps), then the one with fewer requests in flight, then pool
/// order.
class RankedRule : public Rule {
 public:
  explicit RankedRule(Pool pool) : pool_(std::move(pool)) {}
  void candidates(const RouteQuery& query, const RouteScope& scope,
                  std::vector<RouteCandidate>& out) const final;

 protected:
  /// Places `p` for `model`, or leaves it out (nullopt). `why` is non-null only when the
  /// scope is explaining: what the key is ("ttft 85 ms, live over 12 samples"), or why the
  /// provider is left out.
  virtual std::optional<Rank> rank(const ProviderConfig& p, std::string_view model,
                                   const RouteScope& scope, std::string* why) const = 0;

 private:
  Pool pool_;
};

/// The rank of a provider by a live figure: its live value once measured enough, else
/// `prior`, else exploration. `limit` leaves out a provider whose figure is above it
/// (below, for TokensPerSecond, which ranks highest first). `unit` and `limit_key` name
/// them for explanations.
std::optional<Rank> live_rank(const ProviderConfig& p, std::string_view model,
                              const RouteScope& scope, Measure measure, std::optional<double> prior,
                              std::optional<double> limit, std::string_view limit_key,
                              std::string* why);

}  // namespace llmrouter::detail
