// SPDX-License-Identifier: MIT
#pragma once
/// @file router.h
/// Routing: rules turn a request's model, tags and needs into candidate (provider, model)
/// pairs; the first rule with a qualifying candidate wins, and the candidates after it (the
/// rest of that rule's, then the following rules') are the fallbacks used for failover.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/capabilities.h"
#include "llmrouter/config.h"
#include "llmrouter/live.h"

namespace llmrouter {

/// What the router knows about the models of each provider beyond the config: models found
/// by discovery (Ollama's /api/tags), their capabilities, and which are loaded in memory
/// right now (Ollama's /api/ps). Thread-safe; updated by discovery, read by routing.
class ModelCatalog {
 public:
  struct Model {
    std::string name;
    CapabilitySet capabilities;
    /// False when the provider did not say (then routing assumes the model can).
    bool capabilities_known = false;
    /// The model's context window in tokens (Ollama's `<arch>.context_length`); 0: unknown.
    uint64_t context_length = 0;
  };

  /// Replaces the discovered models of `provider`.
  void set_models(const std::string& provider, std::vector<Model> models);
  /// The discovered models of `provider` (empty when discovery has not run or failed).
  std::vector<Model> models(std::string_view provider) const;
  /// True when discovery found `model` on `provider`: the exact name, or a name without a
  /// tag for its `:latest` (as Ollama reads it). The lookups below match the same way.
  bool has_model(std::string_view provider, std::string_view model) const;
  /// What `model` on `provider` can do, when discovery learnt it.
  std::optional<CapabilitySet> capabilities(std::string_view provider, std::string_view model) const;
  /// Everything discovery learnt about `model` on `provider`, when it found it.
  std::optional<Model> model(std::string_view provider, std::string_view model) const;

  /// Replaces the models `provider` has loaded in memory (as `/api/ps` lists them) and
  /// records when, which makes loaded_known() true for it.
  void set_loaded(const std::string& provider, std::vector<std::string> models);
  /// True when `model` is among the loaded models of `provider`, named as has_model() names
  /// them ("gemma3" is "gemma3:latest"). Cheap enough for the request path: no allocation.
  bool is_loaded(std::string_view provider, std::string_view model) const;
  /// The loaded models of `provider` (empty when none are, or when it is not known).
  std::vector<std::string> loaded(std::string_view provider) const;
  /// True once the loaded models of `provider` have been set at least once (its `/api/ps`
  /// answered): an empty loaded() then means that nothing is loaded, not that it is unknown.
  bool loaded_known(std::string_view provider) const;
  /// When the loaded models of `provider` were last set (nullopt: never).
  std::optional<std::chrono::steady_clock::time_point> loaded_at(std::string_view provider) const;

 private:
  struct Loaded {
    std::string provider;
    std::vector<std::string> models;
    std::chrono::steady_clock::time_point at;
  };
  const Loaded* find_loaded(std::string_view provider) const;  // mu_ held

  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::vector<Model>>> providers_;  // guarded by mu_
  std::vector<Loaded> loaded_;                                         // guarded by mu_
};

/// The input of routing.
struct RouteQuery {
  std::string model;
  std::vector<std::string> tags;
  /// Derived from the request's structure (needed_capabilities()).
  CapabilitySet needs;
  /// A value in [0, 1) for the random rule (from the request context, so tests can fix it).
  double random = 0.0;
  /// The request's session key (session_key()); empty: none.
  std::string session = {};
  /// Record in RouteDecision::considered what each candidate was ranked by and why any was
  /// passed over (POST /v1/route).
  bool explain = false;
  /// A decision that will not be sent (a dry run): the session's target is not remembered.
  bool dry_run = false;
};

/// One place a request may go.
struct RouteTarget {
  std::string provider;
  std::string model;
  /// Index of the rule that produced it (-1: forced by a plugin).
  int rule_index = -1;
  /// That rule's type ("prefix", "price", ...); empty when forced by a plugin.
  std::string rule_type;
  friend bool operator==(const RouteTarget&, const RouteTarget&) = default;
};

/// A (provider, model) a rule proposes.
struct RouteCandidate {
  std::string provider;
  std::string model;
  /// What the rule ranked it by ("ttft 85 ms, live over 12 samples"); filled only when
  /// RouteScope::explaining().
  std::string ranked_by = {};
};

/// A candidate as POST /v1/route shows it.
struct ConsideredCandidate {
  std::string provider;
  std::string model;
  int rule_index = -1;
  /// What its rule ranked it by (empty: the rule's own order).
  std::string ranked_by;
  /// Why it was passed over ("ejected until ...", "at capacity (4 in flight)", "above
  /// max_latency_ms 500"); empty when it was kept (as the target or a fallback).
  std::string passed_over;
};

class Router;

/// What a rule may consult while it proposes candidates for one query.
class RouteScope {
 public:
  /// True when (provider, model) can take the query now: the provider exists and is
  /// available, is not ejected or at its max_concurrency, and the model has the
  /// capabilities the query needs as far as known.
  bool qualifies(std::string_view provider, std::string_view model) const;
  /// `qualifies` without the live state (ejection, capacity): whether it could serve the
  /// query at all.
  bool can_serve(std::string_view provider, std::string_view model) const;
  /// The models discovery found, or null (no discovery).
  const ModelCatalog* catalog() const noexcept { return catalog_; }
  /// The live figures of `provider`, or null (none kept, or no such provider).
  const ProviderLive* live(std::string_view provider) const;
  /// `[routing] min_samples`: samples before a live figure replaces a prior.
  uint32_t min_samples() const noexcept;
  /// Whether discovery saw `model` loaded on `provider` (Ollama's /api/ps).
  bool loaded(std::string_view provider, std::string_view model) const;
  /// Requests in flight to `provider` (0 when no figures are kept).
  uint32_t in_flight(std::string_view provider) const;
  /// True when the query asked for an explanation: rules then fill
  /// RouteCandidate::ranked_by and report what they leave out through pass_over.
  bool explaining() const noexcept { return notes_ != nullptr; }
  /// A candidate the rule leaves out, and why (recorded only when explaining).
  void pass_over(std::string_view provider, std::string_view model, std::string why) const;

 private:
  friend class Router;
  RouteScope(const Router& router, const RouteQuery& query, const ModelCatalog* catalog,
             std::vector<ConsideredCandidate>* notes)
      : router_(&router), query_(&query), catalog_(catalog), notes_(notes) {}
  const Router* router_;
  const RouteQuery* query_;
  const ModelCatalog* catalog_;
  std::vector<ConsideredCandidate>* notes_;
  int rule_index_ = -1;
  bool ignore_health_ = false;  // every candidate was ejected: this pass does not look
};

/// A `[[routers]]` rule, built once per table by the factory registered for its type
/// (Registries::add_rule; the built-in types are registered the same way). Const and
/// thread-safe.
class Rule {
 public:
  virtual ~Rule() = default;
  /// Appends the candidates for `query`, best first (none: the rule does not match). The
  /// router then drops the candidates that do not qualify (RouteScope::qualifies).
  virtual void candidates(const RouteQuery& query, const RouteScope& scope,
                          std::vector<RouteCandidate>& out) const = 0;
  /// What a routing reason says of the rule ("prefix=claude"); empty: its type.
  virtual std::string describe() const { return {}; }
  /// The (provider, model) pairs a client may name through this rule, for /v1/models:
  /// rewrite targets, explicit candidates, discovered models. `catalog` may be null.
  virtual void known_models(const ModelCatalog* catalog, std::vector<RouteCandidate>& out) const {
    (void)catalog;
    (void)out;
  }
};

/// The routing decision: where the request goes first, and where next if that fails.
struct RouteDecision {
  RouteTarget target;
  /// Next distinct targets, in order (at most max_attempts - 1).
  std::vector<RouteTarget> fallbacks;
  /// One line for people: "rule 2 (tag=code): provider ollama, model deepseek-r1".
  std::string reason;
  /// True when session affinity chose the target among its rule's candidates.
  bool by_session = false;
  /// True when every candidate was ejected, so the request goes to them anyway: ejection
  /// steers traffic to a healthy alternative, it does not refuse service when there is none.
  bool despite_ejection = false;
  /// Every candidate looked at, in order (only when RouteQuery::explain).
  std::vector<ConsideredCandidate> considered;
};

/// The rule chain of a config, with the provider facts it needs. Immutable; thread-safe.
class Router {
 public:
  /// The chain of `config.routers`: `rules[i]` is the rule built from `config.routers[i]`
  /// (Registries::make_rules). `catalog` may be null (no discovery); `live` may be null (no
  /// live figures, health, capacity or session affinity); both must outlive the router.
  Router(const Config& config, const ModelCatalog* catalog,
         std::vector<std::shared_ptr<const Rule>> rules, LiveStats* live = nullptr);

  /// The decision for `query`, or Errc::NoRoute naming the model (HTTP 400).
  [[nodiscard]] Result<RouteDecision> route(const RouteQuery& query) const;

  /// Every (provider, model) a client may name: prefix and tag rewrites, random candidates,
  /// discovered models. For /v1/models.
  std::vector<RouteTarget> known_models() const;

  /// The live figures of a configured provider, or null (no such provider, or the router
  /// keeps none).
  ProviderLive* live_slot(std::string_view provider) const noexcept;

 private:
  friend class RouteScope;
  // The provider's index in providers_, or -1.
  int provider_index(std::string_view provider) const noexcept;
  // Whether (provider, model) can take `q` now; `why` (when non-null) gets why not.
  bool qualifies(std::string_view provider, std::string_view model, const RouteQuery& q,
                 std::string* why = nullptr, bool ignore_health = false,
                 bool ignore_capacity = false) const;
  Result<RouteDecision> route_pass(const RouteQuery& q, bool ignore_health,
                                   bool& ejected_seen) const;

  std::vector<std::string> types_;   // per rule
  std::vector<std::string> labels_;  // per rule: "rule 2 (tag=code)"
  std::vector<std::shared_ptr<const Rule>> rules_;
  std::vector<ProviderConfig> providers_;
  std::vector<ProviderLive*> live_slots_;  // per provider; empty without live figures
  uint32_t max_attempts_ = 3;
  bool affinity_ = false;
  const ModelCatalog* catalog_ = nullptr;
  LiveStats* live_ = nullptr;
};

}  // namespace llmrouter
