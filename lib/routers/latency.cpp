// SPDX-License-Identifier: MIT
// `latency`: the pool's providers with a `latency_ms`, fastest first, leaving out those
// above `max_latency_ms`.
#include <limits>

#include "routers/builtin.h"
#include "routers/pool.h"

namespace llmrouter::detail {
namespace {

class LatencyRule final : public RankedRule {
 public:
  LatencyRule(Pool pool, std::optional<double> max_ms)
      : RankedRule(std::move(pool)), max_ms_(max_ms) {}

 protected:
  std::optional<double> key(const ProviderConfig& p) const override {
    if (!p.latency_ms || (max_ms_ && *p.latency_ms > *max_ms_)) return std::nullopt;
    return *p.latency_ms;
  }

 private:
  std::optional<double> max_ms_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_latency_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  Pool pool = read_pool(r, config);
  auto max_ms = r.number("max_latency_ms", 0.0, std::numeric_limits<double>::max());
  if (auto done = r.finish({"providers", "max_latency_ms", "rewrite_model"}, "a 'latency' rule");
      !done) {
    return fail(done.error());
  }
  return std::unique_ptr<Rule>(std::make_unique<LatencyRule>(std::move(pool), max_ms));
}

}  // namespace llmrouter::detail
