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

/// A rule that orders its pool by a key, lowest first (ties keep pool order); a provider
/// without a key is left out.
class RankedRule : public Rule {
 public:
  explicit RankedRule(Pool pool) : pool_(std::move(pool)) {}
  void candidates(const RouteQuery& query, const RouteScope& scope,
                  std::vector<RouteCandidate>& out) const final;

 protected:
  virtual std::optional<double> key(const ProviderConfig& p) const = 0;

 private:
  Pool pool_;
};

}  // namespace llmrouter::detail
