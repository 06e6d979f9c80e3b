// SPDX-License-Identifier: MIT
// `throughput`: the pool's providers with a `throughput_tokens_per_sec`, highest first,
// leaving out those below `min_tokens_per_sec`.
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
  std::optional<double> key(const ProviderConfig& p) const override {
    const auto& rate = p.throughput_tokens_per_sec;
    if (!rate || (min_rate_ && *rate < *min_rate_)) return std::nullopt;
    return -*rate;  // highest first
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
