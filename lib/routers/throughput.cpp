// SPDX-License-Identifier: MIT
// `throughput`: the pool's providers, highest live output tokens per second first. Until a
// provider has `[routing] min_samples` samples its `throughput_tokens_per_sec` stands in; a
// provider with neither is explored. `min_tokens_per_sec` leaves out those below it.
#include <limits>

#include "routers/builtin.h"
#include "routers/pool.h"

namespace llmrouter::detail {
namespace {

class ThroughputRule final : public RankedRule {
 public:
  ThroughputRule(Pool pool, std::optional<double> min_rate)
      : RankedRule(std::move(pool)), min_rate_(min_rate) {}

 protected:
  std::optional<Rank> rank(const ProviderConfig& p, std::string_view model, const RouteScope& scope,
                           std::string* why) const override {
    return live_rank(p, model, scope, Measure::TokensPerSecond, p.throughput_tokens_per_sec,
                     min_rate_, "min_tokens_per_sec", why);
  }

 private:
  std::optional<double> min_rate_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_throughput_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  Pool pool = read_pool(r, config);
  auto min_rate = r.number("min_tokens_per_sec", 0.0, std::numeric_limits<double>::max());
  if (auto done =
          r.finish({"providers", "min_tokens_per_sec", "rewrite_model"}, "a 'throughput' rule");
      !done) {
    return fail(done.error());
  }
  return std::unique_ptr<Rule>(std::make_unique<ThroughputRule>(std::move(pool), min_rate));
}

}  // namespace llmrouter::detail
