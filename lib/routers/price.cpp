// SPDX-License-Identifier: MIT
// `price`: the pool's providers, cheapest first (`cost_per_1m_tokens`), leaving out those
// above `max_cost_per_1m_tokens`.
#include <limits>

#include <fmt/format.h>

#include "routers/builtin.h"
#include "routers/pool.h"

namespace llmrouter::detail {
namespace {

class PriceRule final : public RankedRule {
 public:
  PriceRule(Pool pool, std::optional<double> max_cost)
      : RankedRule(std::move(pool)), max_cost_(max_cost) {}

 protected:
  std::optional<Rank> rank(const ProviderConfig& p, std::string_view, const RouteScope&,
                           std::string* why) const override {
    if (max_cost_ && p.cost_per_1m_tokens > *max_cost_) {
      if (why)
        *why = fmt::format("cost {} per 1M tokens above max_cost_per_1m_tokens {}",
                           p.cost_per_1m_tokens, *max_cost_);
      return std::nullopt;
    }
    if (why) *why = fmt::format("cost {} per 1M tokens", p.cost_per_1m_tokens);
    return Rank{p.cost_per_1m_tokens};
  }

 private:
  std::optional<double> max_cost_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_price_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  Pool pool = read_pool(r, config);
  auto max_cost = r.number("max_cost_per_1m_tokens", 0.0, std::numeric_limits<double>::max());
  if (auto done =
          r.finish({"providers", "max_cost_per_1m_tokens", "rewrite_model"}, "a 'price' rule");
      !done) {
    return fail(done.error());
  }
  return std::unique_ptr<Rule>(std::make_unique<PriceRule>(std::move(pool), max_cost));
}

}  // namespace llmrouter::detail
