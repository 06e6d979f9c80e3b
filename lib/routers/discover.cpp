// SPDX-License-Identifier: MIT
// `discover`: a requested model that discovery found on `provider` goes there.
#include "llmrouter/settings.h"
#include "routers/builtin.h"

namespace llmrouter::detail {
namespace {

class DiscoverRule final : public Rule {
 public:
  explicit DiscoverRule(std::string provider) : provider_(std::move(provider)) {}

  void candidates(const RouteQuery& q, const RouteScope& scope,
                  std::vector<RouteCandidate>& out) const override {
    if (scope.catalog() && scope.catalog()->has_model(provider_, q.model))
      out.push_back({provider_, q.model});
  }
  void known_models(const ModelCatalog* catalog, std::vector<RouteCandidate>& out) const override {
    if (!catalog) return;
    for (ModelCatalog::Model& m : catalog->models(provider_))
      out.push_back({provider_, std::move(m.name)});
  }

 private:
  std::string provider_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_discover_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  auto provider = r.provider("provider", true);
  if (auto done = r.finish({"provider"}, "a 'discover' rule"); !done) return fail(done.error());
  return std::unique_ptr<Rule>(std::make_unique<DiscoverRule>(*provider));
}

}  // namespace llmrouter::detail
