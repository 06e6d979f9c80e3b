// SPDX-License-Identifier: MIT
// `fallback`: every provider of the pool, best score first, where score =
// quality_bias * quality - (1 - quality_bias) * cost_per_1m_tokens.
#include <fmt/format.h>

#include "routers/builtin.h"
#include "routers/pool.h"

namespace llmrouter::detail {
namespace {

class FallbackRule final : public RankedRule {
 public:
  FallbackRule(Pool pool, double bias) : RankedRule(std::move(pool)), bias_(bias) {}

 protected:
  std::optional<Rank> rank(const ProviderConfig& p, std::string_view, const RouteScope&,
                           std::string* why) const override {
    const double score = bias_ * p.quality - (1.0 - bias_) * p.cost_per_1m_tokens;
    if (why)
      *why =
          fmt::format("score {:.2f} (quality {}, cost {})", score, p.quality, p.cost_per_1m_tokens);
    return Rank{-score};
  }

 private:
  double bias_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_fallback_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  Pool pool = read_pool(r, config);
  const double bias = r.number("quality_bias", 0.0, 1.0).value_or(0.5);
  if (auto done = r.finish({"providers", "quality_bias", "rewrite_model"}, "a 'fallback' rule");
      !done) {
    return fail(done.error());
  }
  return std::unique_ptr<Rule>(std::make_unique<FallbackRule>(std::move(pool), bias));
}

}  // namespace llmrouter::detail
