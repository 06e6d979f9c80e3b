// SPDX-License-Identifier: MIT
// The eight rule types and the chain walk. Differences from the original router, on
// purpose: candidates keep config order (never hash order); unavailable providers are
// filtered out by every rule; a capability mismatch moves on to the rule's next qualifying
// candidate instead of skipping the rule; random picks only among qualifying candidates.
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

Router::Router(const Config& config, const ModelCatalog* catalog, std::vector<std::shared_ptr<const Rule>> custom)
    : rules_(config.routers),
      providers_(config.providers),
      max_attempts_(config.routing.max_attempts),
      catalog_(catalog),
      custom_(std::move(custom)) {
  custom_.resize(rules_.size());
}

bool Router::qualifies(const Candidate& c, const RouteQuery& q) const {
  const auto p = std::find_if(providers_.begin(), providers_.end(),
                              [&](const ProviderConfig& x) { return x.name == c.provider; });
  if (p == providers_.end() || !p->available) return false;
  if (q.needs.empty()) return true;
  if (p->capabilities_declared) return p->capabilities.contains_all(q.needs);
  if (catalog_) {
    if (auto caps = catalog_->capabilities(c.provider, c.model)) return caps->contains_all(q.needs);
  }
  return true;  // unknown capabilities: assume the model can
}

void Router::candidates_of(std::size_t index, const RouteQuery& q, std::vector<Candidate>& out,
                           std::vector<RouteCandidate>& owned) const {
  const RuleConfig& r = rules_[index];
  const std::string_view model = r.rewrite_model ? std::string_view(*r.rewrite_model) : std::string_view(q.model);
  out.clear();
  // Calls f on the rule's providers: its `providers` list in its order, else all of them.
  auto for_pool = [&](auto f) {
    if (r.providers.empty()) {
      for (const ProviderConfig& p : providers_) f(p);
      return;
    }
    for (const std::string& name : r.providers) {
      for (const ProviderConfig& p : providers_) {
        if (p.name == name) f(p);
      }
    }
  };
  // The pool's providers with a key, by increasing key (ties keep pool order).
  auto ranked = [&](auto key) {
    std::vector<std::pair<double, const ProviderConfig*>> scored;
    for_pool([&](const ProviderConfig& p) {
      if (const std::optional<double> k = key(p)) scored.emplace_back(*k, &p);
    });
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [k, p] : scored) out.push_back({p->name, model});
  };
  switch (r.type) {
    case RuleType::Prefix:
      if (q.model.compare(0, r.model_prefix.size(), r.model_prefix) == 0) out.push_back({r.provider, model});
      break;
    case RuleType::Tag:
      if (std::find(q.tags.begin(), q.tags.end(), r.tag) != q.tags.end()) out.push_back({r.provider, model});
      break;
    case RuleType::Discover:
      if (catalog_ && catalog_->has_model(r.provider, q.model)) out.push_back({r.provider, q.model});
      break;
    case RuleType::Price:
      ranked([&](const ProviderConfig& p) -> std::optional<double> {
        if (r.max_cost_per_1m_tokens && p.cost_per_1m_tokens > *r.max_cost_per_1m_tokens) return std::nullopt;
        return p.cost_per_1m_tokens;
      });
      break;
    case RuleType::Latency:
      ranked([&](const ProviderConfig& p) -> std::optional<double> {
        if (!p.latency_ms || (r.max_latency_ms && *p.latency_ms > *r.max_latency_ms)) return std::nullopt;
        return *p.latency_ms;
      });
      break;
    case RuleType::Throughput:
      ranked([&](const ProviderConfig& p) -> std::optional<double> {
        if (!p.throughput_tokens_per_sec ||
            (r.min_tokens_per_sec && *p.throughput_tokens_per_sec < *r.min_tokens_per_sec)) {
          return std::nullopt;
        }
        return -*p.throughput_tokens_per_sec;  // highest first
      });
      break;
    case RuleType::Fallback:
      ranked([&](const ProviderConfig& p) -> std::optional<double> {
        return -(r.quality_bias * p.quality - (1.0 - r.quality_bias) * p.cost_per_1m_tokens);
      });
      break;
    case RuleType::Custom:
      if (const Rule* rule = custom_[index].get()) {
        owned.clear();
        rule->candidates(q, owned);
        for (const RouteCandidate& c : owned) out.push_back({c.provider, c.model});
      }
      break;
    case RuleType::Random: {
      // Only qualifying candidates take part in the draw; the others follow in config order.
      std::vector<Candidate> all;
      std::vector<double> weights;
      if (!r.candidates.empty()) {
        for (const RandomCandidate& c : r.candidates) {
          all.push_back({c.provider, c.model});
          weights.push_back(c.weight);
        }
      } else {
        for_pool([&](const ProviderConfig& p) {
          all.push_back({p.name, model});
          weights.push_back(1.0);
        });
      }
      double total = 0;
      for (std::size_t i = 0; i < all.size(); ++i) {
        if (!qualifies(all[i], q)) weights[i] = 0;
        total += weights[i];
      }
      if (total <= 0) break;
      double x = std::clamp(q.random, 0.0, std::nextafter(1.0, 0.0)) * total;
      std::size_t pick = 0;
      for (; pick + 1 < all.size(); ++pick) {
        if (weights[pick] > 0 && x < weights[pick]) break;
        x -= weights[pick];
      }
      while (weights[pick] <= 0) --pick;  // rounding: land on a qualifying one
      out.push_back(all[pick]);
      for (std::size_t i = 0; i < all.size(); ++i) {
        if (i != pick) out.push_back(all[i]);
      }
      break;
    }
  }
}

std::string Router::describe(std::size_t index) const {
  const RuleConfig& r = rules_[index];
  // Built by appending: this runs for every routed request.
  std::string out = "rule " + std::to_string(index) + " (";
  switch (r.type) {
    case RuleType::Prefix: out.append("prefix=").append(r.model_prefix); break;
    case RuleType::Tag: out.append("tag=").append(r.tag); break;
    case RuleType::Custom: out.append(r.custom_type); break;
    default: out.append(rule_type_name(r.type)); break;
  }
  out += ')';
  return out;
}

Result<RouteDecision> Router::route(const RouteQuery& q) const {
  std::optional<RouteDecision> decision;
  bool filtered = false;
  std::vector<Candidate> candidates;
  std::vector<RouteCandidate> owned;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    candidates_of(i, q, candidates, owned);
    for (const Candidate& c : candidates) {
      if (!qualifies(c, q)) {
        filtered = true;
        continue;
      }
      if (!decision) {
        decision.emplace();
        decision->target = RouteTarget{std::string(c.provider), std::string(c.model), static_cast<int>(i), rules_[i].type};
        decision->reason = describe(i).append(": provider ").append(c.provider).append(", model ").append(c.model);
        if (max_attempts_ <= 1) return std::move(*decision);
        continue;
      }
      auto same = [&](const RouteTarget& x) { return x.provider == c.provider && x.model == c.model; };
      if (same(decision->target) ||
          std::any_of(decision->fallbacks.begin(), decision->fallbacks.end(), same)) {
        continue;
      }
      decision->fallbacks.push_back(
          RouteTarget{std::string(c.provider), std::string(c.model), static_cast<int>(i), rules_[i].type});
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
  auto add = [&](RouteTarget t) {
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  };
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const RuleConfig& r = rules_[i];
    const int index = static_cast<int>(i);
    if (r.rewrite_model && !r.provider.empty()) add({r.provider, *r.rewrite_model, index, r.type});
    for (const RandomCandidate& c : r.candidates) add({c.provider, c.model, index, r.type});
    if (r.type == RuleType::Discover && catalog_) {
      for (const ModelCatalog::Model& m : catalog_->models(r.provider)) add({r.provider, m.name, index, r.type});
    }
  }
  return out;
}

}  // namespace llmrouter
