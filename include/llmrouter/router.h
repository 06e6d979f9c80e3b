// SPDX-License-Identifier: MIT
#pragma once
/// @file router.h
/// Routing: rules turn a request's model, tags and needs into candidate (provider, model)
/// pairs; the first rule with a qualifying candidate wins, and the candidates after it (the
/// rest of that rule's, then the following rules') are the fallbacks used for failover.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/capabilities.h"
#include "llmrouter/config.h"

namespace llmrouter {

/// What the router knows about the models of each provider beyond the config: models found
/// by discovery (Ollama's /api/tags) and their capabilities. Thread-safe; updated by
/// discovery, read by routing.
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

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::vector<Model>>> providers_;  // guarded by mu_
};

/// The input of routing.
struct RouteQuery {
  std::string model;
  std::vector<std::string> tags;
  /// Derived from the request's structure (needed_capabilities()).
  CapabilitySet needs;
  /// A value in [0, 1) for the random rule (from the request context, so tests can fix it).
  double random = 0.0;
};

/// One place a request may go.
struct RouteTarget {
  std::string provider;
  std::string model;
  /// Index of the rule that produced it (-1: forced by a plugin).
  int rule_index = -1;
  RuleType rule_type = RuleType::Prefix;
  friend bool operator==(const RouteTarget&, const RouteTarget&) = default;
};

/// A (provider, model) a rule proposes.
struct RouteCandidate {
  std::string provider;
  std::string model;
};

/// A rule type of the embedding program's (`[[routers]] type = "<name>"`, registered with
/// Registries::add_rule). Built once per table; const and thread-safe.
class Rule {
 public:
  virtual ~Rule() = default;
  /// Appends the candidates for `query`, best first (none: the rule does not match). The
  /// router drops unavailable providers and models lacking a needed capability.
  virtual void candidates(const RouteQuery& query, std::vector<RouteCandidate>& out) const = 0;
};

/// The routing decision: where the request goes first, and where next if that fails.
struct RouteDecision {
  RouteTarget target;
  /// Next distinct targets, in order (at most max_attempts - 1).
  std::vector<RouteTarget> fallbacks;
  /// One line for people: "rule 2 (tag=code): provider ollama, model deepseek-r1".
  std::string reason;
};

/// The rule chain of a config, with the provider facts it needs. Immutable; thread-safe.
class Router {
 public:
  /// Builds the chain from `config` (already validated). `catalog` may be null (no
  /// discovery); it must outlive the router. `custom[i]` implements `config.routers[i]` when
  /// that rule's type is RuleType::Custom (null otherwise; the vector may be shorter).
  Router(const Config& config, const ModelCatalog* catalog,
         std::vector<std::shared_ptr<const Rule>> custom = {});

  /// The decision for `query`, or Errc::NoRoute naming the model (HTTP 400).
  [[nodiscard]] Result<RouteDecision> route(const RouteQuery& query) const;

  /// Every (provider, model) a client may name: prefix and tag rewrites, random candidates,
  /// discovered models. For /v1/models.
  std::vector<RouteTarget> known_models() const;

 private:
  // A candidate as views into the config, the query or `owned` (custom rules' strings):
  // routing copies only the few it keeps into RouteTargets.
  struct Candidate {
    std::string_view provider;
    std::string_view model;
  };
  // Replaces `out` with the candidates of rule `rule`, best first. `owned` holds what a
  // custom rule proposed; the views in `out` point into it until the next call.
  void candidates_of(std::size_t rule, const RouteQuery& q, std::vector<Candidate>& out,
                     std::vector<RouteCandidate>& owned) const;
  bool qualifies(const Candidate& c, const RouteQuery& q) const;
  std::string describe(std::size_t rule) const;

  std::vector<RuleConfig> rules_;
  std::vector<ProviderConfig> providers_;
  uint32_t max_attempts_ = 3;
  const ModelCatalog* catalog_ = nullptr;
  std::vector<std::shared_ptr<const Rule>> custom_;
};

}  // namespace llmrouter
