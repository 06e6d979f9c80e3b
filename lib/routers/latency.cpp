// SPDX-License-Identifier: MIT
// `latency`: the pool's providers, fastest first by live time to first byte (`measure =
// "ttft"`, the default) or total latency (`"total"`). Until a provider has `[routing]
// min_samples` samples its `latency_ms` stands in; a provider with neither is explored.
// `max_latency_ms` leaves out those above it.
#include <limits>

#include "routers/builtin.h"
#include "routers/pool.h"

namespace llmrouter::detail {
namespace {

class LatencyRule final : public RankedRule {
 public:
  LatencyRule(Pool pool, Measure measure, std::optional<double> max_ms)
      : RankedRule(std::move(pool)), measure_(measure), max_ms_(max_ms) {}

 protected:
  std::optional<Rank> rank(const ProviderConfig& p, std::string_view model, const RouteScope& scope,
                           std::string* why) const override {
    return live_rank(p, model, scope, measure_, p.latency_ms, max_ms_, "max_latency_ms", why);
  }

 private:
  Measure measure_;
  std::optional<double> max_ms_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_latency_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  Pool pool = read_pool(r, config);
  auto max_ms = r.number("max_latency_ms", 0.0, std::numeric_limits<double>::max());
  Measure measure = Measure::Ttft;
  if (auto m = r.string("measure")) {
    if (*m == "total") {
      measure = Measure::Total;
    } else if (*m != "ttft") {
      r.error(r.value("measure")->loc, r.key_path("measure"),
              "expected \"ttft\" (time to first byte, the default) or \"total\" (time to the last "
              "byte), got '" +
                  *m + "'");
    }
  }
  if (auto done =
          r.finish({"providers", "max_latency_ms", "measure", "rewrite_model"}, "a 'latency' rule");
      !done) {
    return fail(done.error());
  }
  return std::unique_ptr<Rule>(std::make_unique<LatencyRule>(std::move(pool), measure, max_ms));
}

}  // namespace llmrouter::detail
