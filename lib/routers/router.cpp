// SPDX-License-Identifier: MIT
// The model catalog and the chain walk: each rule (one file per type in lib/routers/) proposes
// candidates in its order, the router keeps those that qualify. Differences from the original
// router, on purpose: unavailable providers are filtered out for every rule; a capability mismatch
// moves on to the rule's next qualifying candidate instead of skipping the rule.
#include "llmrouter/router.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace llmrouter {

// ---- ModelCatalog

namespace {
// Whether a client's `asked` names the discovered model `listed`. As in Ollama, a name
// without a tag means the `latest` tag: "gemma3" is "gemma3:latest".
bool names_model(std::string_view listed, std::string_view asked) {
  if (listed == asked) return true;
  constexpr std::string_view kLatest = ":latest";
  return asked.find(':') == std::string_view::npos && listed.size() == asked.size() + kLatest.size() &&
         listed.starts_with(asked) && listed.ends_with(kLatest);
}
}  // namespace

void ModelCatalog::set_models(const std::string& provider, std::vector<Model> models) {
  std::lock_guard lock(mu_);
  for (auto& [name, list] : providers_) {
    if (name == provider) {
      list = std::move(models);
      return;
    }
  }
  providers_.emplace_back(provider, std::move(models));
}

std::vector<ModelCatalog::Model> ModelCatalog::models(std::string_view provider) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, list] : providers_) {
    if (name == provider) return list;
  }
  return {};
}

bool ModelCatalog::has_model(std::string_view provider, std::string_view model) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, list] : providers_) {
    if (name != provider) continue;
    return std::any_of(list.begin(), list.end(), [&](const Model& m) { return names_model(m.name, model); });
  }
  return false;
}

std::optional<CapabilitySet> ModelCatalog::capabilities(std::string_view provider, std::string_view model) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, list] : providers_) {
    if (name != provider) continue;
    for (const Model& m : list) {
      if (names_model(m.name, model) && m.capabilities_known) return m.capabilities;
    }
  }
  return std::nullopt;
}

std::optional<ModelCatalog::Model> ModelCatalog::model(std::string_view provider, std::string_view model) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, list] : providers_) {
    if (name != provider) continue;
    for (const Model& m : list) {
      if (names_model(m.name, model)) return m;
    }
  }
  return std::nullopt;
}

// ---- Router

Router::Router(const Config& config, const ModelCatalog* catalog,
               std::vector<std::shared_ptr<const Rule>> rules)
    : rules_(std::move(rules)),
      providers_(config.providers),
      max_attempts_(config.routing.max_attempts),
      catalog_(catalog) {
  for (const RuleConfig& r : config.routers) types_.push_back(r.type);
  types_.resize(rules_.size());
  // What a reason line says of each rule, made once: routing runs for every request.
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const std::string own = rules_[i] ? rules_[i]->describe() : std::string();
    labels_.push_back("rule " + std::to_string(i) + " (" + (own.empty() ? types_[i] : own) + ")");
  }
}

bool RouteScope::qualifies(std::string_view provider, std::string_view model) const {
  return router_->qualifies(provider, model, *query_);
}

bool Router::qualifies(std::string_view provider, std::string_view model,
                       const RouteQuery& q) const {
  const auto p = std::find_if(providers_.begin(), providers_.end(),
                              [&](const ProviderConfig& x) { return x.name == provider; });
  if (p == providers_.end() || !p->available) return false;
  if (q.needs.empty()) return true;
  if (p->capabilities_declared) return p->capabilities.contains_all(q.needs);
  if (catalog_) {
    if (auto caps = catalog_->capabilities(provider, model)) return caps->contains_all(q.needs);
  }
  return true;  // unknown capabilities: assume the model can
}

Result<RouteDecision> Router::route(const RouteQuery& q) const {
  std::optional<RouteDecision> decision;
  bool filtered = false;
  std::vector<RouteCandidate> candidates;
  const RouteScope scope(*this, q, catalog_);
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (!rules_[i]) continue;
    candidates.clear();
    rules_[i]->candidates(q, scope, candidates);
    for (RouteCandidate& c : candidates) {
      if (!qualifies(c.provider, c.model, q)) {
        filtered = true;
        continue;
      }
      if (!decision) {
        decision.emplace();
        decision->reason = std::string(labels_[i])
                               .append(": provider ")
                               .append(c.provider)
                               .append(", model ")
                               .append(c.model);
        decision->target =
            RouteTarget{std::move(c.provider), std::move(c.model), static_cast<int>(i), types_[i]};
        if (max_attempts_ <= 1) return std::move(*decision);
        continue;
      }
      auto same = [&](const RouteTarget& x) { return x.provider == c.provider && x.model == c.model; };
      if (same(decision->target) ||
          std::any_of(decision->fallbacks.begin(), decision->fallbacks.end(), same)) {
        continue;
      }
      decision->fallbacks.push_back(
          RouteTarget{std::move(c.provider), std::move(c.model), static_cast<int>(i), types_[i]});
      if (decision->fallbacks.size() + 1 >= max_attempts_) return std::move(*decision);
    }
  }
  if (decision) return std::move(*decision);
  std::string why = filtered ? "no available provider can serve it" : "no rule matches it";
  if (filtered && !q.needs.empty()) why += fmt::format(" (it needs: {})", q.needs.to_string());
  return fail(Errc::NoRoute, fmt::format("no route for model '{}': {}", q.model, why));
}

std::vector<RouteTarget> Router::known_models() const {
  std::vector<RouteTarget> out;
  std::vector<RouteCandidate> models;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (!rules_[i]) continue;
    models.clear();
    rules_[i]->known_models(catalog_, models);
    for (RouteCandidate& m : models) {
      RouteTarget t{std::move(m.provider), std::move(m.model), static_cast<int>(i), types_[i]};
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace llmrouter
