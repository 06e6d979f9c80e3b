// SPDX-License-Identifier: MIT
// `discover`: a requested model that discovery found on `provider` goes there. With
// `providers` (several Ollama nodes), every node that has the model is a candidate: those
// with it loaded now first (Ollama's /api/ps), then the one with fewer requests in flight,
// then config order — so a model served by several nodes is spread over them.
#include <algorithm>

#include "routers/builtin.h"
#include "routers/pool.h"

namespace llmrouter::detail {
namespace {

class DiscoverRule final : public Rule {
 public:
  explicit DiscoverRule(std::vector<std::string> providers) : providers_(std::move(providers)) {}

  void candidates(const RouteQuery& q, const RouteScope& scope,
                  std::vector<RouteCandidate>& out) const override {
    if (!scope.catalog()) return;
    if (providers_.size() == 1) {
      if (scope.catalog()->has_model(providers_[0], q.model))
        out.push_back({providers_[0], q.model});
      return;
    }
    struct Node {
      const std::string* provider;
      bool loaded;
      uint32_t in_flight;
    };
    std::vector<Node> nodes;
    for (const std::string& p : providers_) {
      if (scope.catalog()->has_model(p, q.model))
        nodes.push_back({&p, scope.loaded(p, q.model), scope.in_flight(p)});
    }
    std::stable_sort(nodes.begin(), nodes.end(), [](const Node& a, const Node& b) {
      if (a.loaded != b.loaded) return a.loaded;
      return a.in_flight < b.in_flight;
    });
    for (const Node& n : nodes) {
      RouteCandidate c{*n.provider, q.model};
      if (scope.explaining()) {
        c.ranked_by = std::string(n.loaded ? "loaded" : "not loaded") + ", " +
                      std::to_string(n.in_flight) + " in flight";
      }
      out.push_back(std::move(c));
    }
  }
  void known_models(const ModelCatalog* catalog, std::vector<RouteCandidate>& out) const override {
    if (!catalog) return;
    for (const std::string& p : providers_) {
      for (ModelCatalog::Model& m : catalog->models(p)) out.push_back({p, std::move(m.name)});
    }
  }

 private:
  std::vector<std::string> providers_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_discover_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  auto one = r.provider("provider");
  auto several = r.providers("providers");
  std::vector<std::string> providers;
  if (one && several) {
    r.error(rule.loc, r.key_path("providers"), "give either 'provider' or 'providers', not both");
  } else if (one) {
    providers.push_back(*one);
  } else if (several && several->empty()) {
    r.error(r.value("providers")->loc, r.key_path("providers"), "lists no provider");
  } else if (several) {
    providers = std::move(*several);
  } else if (!r.value("provider") && !r.value("providers")) {
    r.error(rule.loc, r.key_path("provider"),
            "required: the Ollama provider ('provider') or providers ('providers') whose "
            "discovered models this rule "
            "routes to");
  }
  if (auto done = r.finish({"provider", "providers"}, "a 'discover' rule"); !done)
    return fail(done.error());
  if (providers.empty())
    return fail(Errc::Internal, "a 'discover' rule without providers");  // reported above
  return std::unique_ptr<Rule>(std::make_unique<DiscoverRule>(std::move(providers)));
}

}  // namespace llmrouter::detail
