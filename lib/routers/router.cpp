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

const ModelCatalog::Loaded* ModelCatalog::find_loaded(std::string_view provider) const {
  for (const Loaded& l : loaded_) {
    if (l.provider == provider) return &l;
  }
  return nullptr;
}

void ModelCatalog::set_loaded(const std::string& provider, std::vector<std::string> models) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  for (Loaded& l : loaded_) {
    if (l.provider == provider) {
      l.models = std::move(models);
      l.at = now;
      return;
    }
  }
  loaded_.push_back(Loaded{provider, std::move(models), now});
}

bool ModelCatalog::is_loaded(std::string_view provider, std::string_view model) const {
  std::lock_guard lock(mu_);
  const Loaded* l = find_loaded(provider);
  return l && std::any_of(l->models.begin(), l->models.end(),
                          [&](const std::string& m) { return names_model(m, model); });
}

std::vector<std::string> ModelCatalog::loaded(std::string_view provider) const {
  std::lock_guard lock(mu_);
  const Loaded* l = find_loaded(provider);
  return l ? l->models : std::vector<std::string>();
}

bool ModelCatalog::loaded_known(std::string_view provider) const {
  std::lock_guard lock(mu_);
  return find_loaded(provider) != nullptr;
}

std::optional<std::chrono::steady_clock::time_point> ModelCatalog::loaded_at(
    std::string_view provider) const {
  std::lock_guard lock(mu_);
  const Loaded* l = find_loaded(provider);
  return l ? std::optional(l->at) : std::nullopt;
}

// ---- Router

Router::Router(const Config& config, const ModelCatalog* catalog,
               std::vector<std::shared_ptr<const Rule>> rules, LiveStats* live)
    : rules_(std::move(rules)),
      providers_(config.providers),
      max_attempts_(config.routing.max_attempts),
      affinity_(config.routing.affinity == Affinity::Session && live != nullptr),
      catalog_(catalog),
      live_(live) {
  for (const RuleConfig& r : config.routers) types_.push_back(r.type);
  types_.resize(rules_.size());
  // What a reason line says of each rule, made once: routing runs for every request.
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const std::string own = rules_[i] ? rules_[i]->describe() : std::string();
    labels_.push_back("rule " + std::to_string(i) + " (" + (own.empty() ? types_[i] : own) + ")");
  }
  if (live_) {
    for (const ProviderConfig& p : providers_) live_slots_.push_back(&live_->slot(p.name));
  }
}

int Router::provider_index(std::string_view provider) const noexcept {
  for (std::size_t i = 0; i < providers_.size(); ++i) {
    if (providers_[i].name == provider) return static_cast<int>(i);
  }
  return -1;
}

ProviderLive* Router::live_slot(std::string_view provider) const noexcept {
  if (live_slots_.empty()) return nullptr;
  const int i = provider_index(provider);
  return i < 0 ? nullptr : live_slots_[static_cast<std::size_t>(i)];
}

bool RouteScope::qualifies(std::string_view provider, std::string_view model) const {
  return router_->qualifies(provider, model, *query_, nullptr, ignore_health_);
}

bool RouteScope::can_serve(std::string_view provider, std::string_view model) const {
  return router_->qualifies(provider, model, *query_, nullptr, true, true);
}

const ProviderLive* RouteScope::live(std::string_view provider) const {
  return router_->live_slot(provider);
}

uint32_t RouteScope::min_samples() const noexcept {
  return router_->live_ ? router_->live_->min_samples() : 5;
}

bool RouteScope::loaded(std::string_view provider, std::string_view model) const {
  return catalog_ && catalog_->is_loaded(provider, model);
}

uint32_t RouteScope::in_flight(std::string_view provider) const {
  const ProviderLive* l = live(provider);
  return l ? l->in_flight() : 0;
}

void RouteScope::pass_over(std::string_view provider, std::string_view model,
                           std::string why) const {
  if (!notes_) return;
  notes_->push_back(ConsideredCandidate{
      std::string(provider), std::string(model), rule_index_, {}, std::move(why)});
}

bool Router::qualifies(std::string_view provider, std::string_view model, const RouteQuery& q,
                       std::string* why, bool ignore_health, bool ignore_capacity) const {
  const int index = provider_index(provider);
  if (index < 0) {
    if (why) *why = "no such provider";
    return false;
  }
  const ProviderConfig& p = providers_[static_cast<std::size_t>(index)];
  if (!p.available) {
    if (why) *why = "unavailable: " + p.unavailable_reason;
    return false;
  }
  if (!live_slots_.empty()) {
    const ProviderLive& l = *live_slots_[static_cast<std::size_t>(index)];
    if (!ignore_health && !l.routable()) {
      if (why)
        *why = l.health(std::chrono::steady_clock::now()) == Health::Ejected
                   ? "ejected"
                   : "ejected; a probe is in flight";
      return false;
    }
    if (!ignore_capacity && l.at_capacity()) {
      if (why)
        *why = fmt::format("at capacity ({} in flight, max_concurrency {})", l.in_flight(),
                           l.max_concurrency());
      return false;
    }
  }
  if (q.needs.empty()) return true;
  bool ok = true;
  if (p.capabilities_declared) {
    ok = p.capabilities.contains_all(q.needs);
  } else if (catalog_) {
    if (auto caps = catalog_->capabilities(provider, model)) ok = caps->contains_all(q.needs);
  }
  if (!ok && why)
    *why = fmt::format("lacks a capability the request needs ({})", q.needs.to_string());
  return ok;  // unknown capabilities: assume the model can
}

Result<RouteDecision> Router::route(const RouteQuery& q) const {
  bool ejected_seen = false;
  auto d = route_pass(q, false, ejected_seen);
  if (d || !ejected_seen || d.error().code != Errc::Overloaded || d.error().http_status != 503)
    return d;
  // Every candidate is ejected: rather than refuse, send to them anyway.
  auto anyway = route_pass(q, true, ejected_seen);
  if (anyway) {
    anyway->despite_ejection = true;
    anyway->reason += " (every candidate is ejected after failures: tried anyway)";
  }
  return anyway;
}

Result<RouteDecision> Router::route_pass(const RouteQuery& q, bool ignore_health,
                                         bool& ejected_seen) const {
  std::optional<RouteDecision> decision;
  bool filtered = false;
  bool full = false;  // a candidate was passed over for being at capacity
  std::optional<std::chrono::milliseconds> ejected;  // ... for being ejected: the shortest wait
  // Kept per thread between calls (routing runs for every request): no allocation once warm.
  thread_local std::vector<RouteCandidate> candidates;
  std::vector<ConsideredCandidate> notes;
  RouteScope scope(*this, q, catalog_, q.explain ? &notes : nullptr);
  scope.ignore_health_ = ignore_health;
  const bool sticky = affinity_ && !q.session.empty();
  std::optional<std::pair<std::string, std::string>> remembered;
  if (sticky) remembered = live_->session(q.session);
  std::string why;
  auto finish = [&]() -> RouteDecision {
    RouteDecision d = std::move(*decision);
    if (sticky && !q.dry_run) live_->remember(q.session, d.target.provider, d.target.model);
    d.considered = std::move(notes);
    return d;
  };
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (!rules_[i]) continue;
    candidates.clear();
    scope.rule_index_ = static_cast<int>(i);
    rules_[i]->candidates(q, scope, candidates);
    // Session affinity: among the winning rule's candidates, the session's own goes first
    // while it qualifies.
    bool kept = false;
    if (!decision && remembered) {
      for (std::size_t j = 0; j < candidates.size(); ++j) {
        if (candidates[j].provider == remembered->first &&
            candidates[j].model == remembered->second &&
            qualifies(candidates[j].provider, candidates[j].model, q, nullptr, ignore_health)) {
          std::rotate(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(j),
                      candidates.begin() + static_cast<std::ptrdiff_t>(j) + 1);
          kept = true;
          break;
        }
      }
    }
    for (RouteCandidate& c : candidates) {
      why.clear();
      const bool ok = qualifies(c.provider, c.model, q, &why, ignore_health);
      if (q.explain) {
        notes.push_back(ConsideredCandidate{c.provider, c.model, static_cast<int>(i), c.ranked_by,
                                            ok ? std::string() : why});
      }
      if (!ok) {
        filtered = true;
        if (why.starts_with("at capacity")) full = true;
        if (why.starts_with("ejected")) {
          const ProviderLive* l = scope.live(c.provider);
          const auto left = l ? l->ejection_left() : std::chrono::milliseconds(0);
          ejected = ejected ? std::min(*ejected, left) : left;
          ejected_seen = true;
        }
        continue;
      }
      if (!decision) {
        decision.emplace();
        std::string& reason = decision->reason;
        reason.reserve(labels_[i].size() + c.provider.size() + c.model.size() + 40);
        reason.append(labels_[i])
            .append(": provider ")
            .append(c.provider)
            .append(", model ")
            .append(c.model);
        if (kept) decision->reason.append(" (session affinity)");
        decision->by_session = kept;
        decision->target =
            RouteTarget{std::move(c.provider), std::move(c.model), static_cast<int>(i), types_[i]};
        if (max_attempts_ <= 1) return finish();
        continue;
      }
      auto same = [&](const RouteTarget& x) { return x.provider == c.provider && x.model == c.model; };
      if (same(decision->target) ||
          std::any_of(decision->fallbacks.begin(), decision->fallbacks.end(), same)) {
        continue;
      }
      decision->fallbacks.push_back(
          RouteTarget{std::move(c.provider), std::move(c.model), static_cast<int>(i), types_[i]});
      if (decision->fallbacks.size() + 1 >= max_attempts_) return finish();
    }
  }
  if (decision) return finish();
  std::string message;
  if (full) {
    message = fmt::format(
        "no room for model '{}': every provider that could serve it is at its max_concurrency",
        q.model);
    Error e{Errc::Overloaded, std::move(message), 429, {}};
    e.retry_after = "1";
    return fail(std::move(e));
  }
  if (ejected) {
    Error e{Errc::Overloaded,
            fmt::format("no route for model '{}': every provider that could serve it is ejected "
                        "after repeated failures "
                        "(GET /v1/providers shows them)",
                        q.model),
            503,
            {}};
    e.retry_after = std::to_string(std::max<int64_t>(1, (ejected->count() + 999) / 1000));
    return fail(std::move(e));
  }
  std::string reason = filtered ? "no available provider can serve it" : "no rule matches it";
  if (filtered && !q.needs.empty()) reason += fmt::format(" (it needs: {})", q.needs.to_string());
  return fail(Errc::NoRoute, fmt::format("no route for model '{}': {}", q.model, reason));
}

std::vector<RouteTarget> Router::known_models() const {
  std::vector<RouteTarget> out;
  std::vector<RouteCandidate> models;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (!rules_[i]) continue;
    models.clear();
    rules_[i]->known_models(catalog_, models);
    for (RouteCandidate& m : models) {
      // One entry per (provider, model): the first rule that names it.
      const bool listed = std::any_of(out.begin(), out.end(), [&](const RouteTarget& o) {
        return o.provider == m.provider && o.model == m.model;
      });
      if (!listed)
        out.push_back(
            RouteTarget{std::move(m.provider), std::move(m.model), static_cast<int>(i), types_[i]});
    }
  }
  return out;
}

}  // namespace llmrouter
