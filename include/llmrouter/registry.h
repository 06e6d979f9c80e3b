// SPDX-License-Identifier: MIT
#pragma once
/// @file registry.h
/// Registries map the names used in config (`[classifiers.keyword]`, `[plugins.web]`,
/// `[[routers]] type = "price"`) to factories. The built-ins are registered exactly as an
/// embedding program registers its own. Start from `Registries::with_builtins()`, add your own,
/// then build a Pipeline:
///
///     auto regs = llmrouter::Registries::with_builtins();
///     regs.add_classifier("language", [](const ComponentConfig& c, const Config&) ->
///     Result<std::unique_ptr<Classifier>> {
///       return std::make_unique<MyLanguageClassifier>(c.settings);
///     });
///     auto pipeline = llmrouter::Pipeline::build(config, regs);
///
/// Not thread-safe while being filled; read-only (and so thread-safe) once a pipeline is built.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmrouter/classifier.h"
#include "llmrouter/config.h"
#include "llmrouter/plugin.h"
#include "llmrouter/provider.h"
#include "llmrouter/result.h"
#include "llmrouter/router.h"
#include "llmrouter/transport.h"

namespace llmrouter {

/// Builds a component from its config table; errors should name `config.id` and the key.
using ClassifierFactory =
    std::function<Result<std::unique_ptr<Classifier>>(const ComponentConfig&, const Config&)>;
using ResponseClassifierFactory =
    std::function<Result<std::unique_ptr<ResponseClassifier>>(const ComponentConfig&, const Config&)>;
using PluginFactory = std::function<Result<std::unique_ptr<Plugin>>(const ComponentConfig&, const Config&)>;
/// Builds a rule from its `[[routers]]` table, checking `rule.settings` (SettingsReader in
/// settings.h reports each problem with file, line, column and key).
using RuleFactory = std::function<Result<std::unique_ptr<Rule>>(const RuleConfig&, const Config&)>;

/// What a provider factory is given besides its `[[providers]]` table.
struct ProviderContext {
  /// The engine's transport: its event loops and connection pools.
  std::shared_ptr<Transport> transport;
  /// Reads environment variables (API keys, on every request); never empty.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  /// `[server] max_upstream_reply_bytes`.
  uint64_t max_reply_bytes = 64ull << 20;
};
/// Builds the provider of a `[[providers]]` table whose `kind` names the factory.
using ProviderFactory = std::function<Result<std::shared_ptr<const Provider>>(
    const ProviderConfig&, const ProviderContext&)>;

class Registries {
 public:
  /// The built-ins: rule types `prefix`, `tag`, `discover`, `price`, `latency`,
  /// `throughput`, `fallback`, `random`; classifier `keyword`; response classifier
  /// `refusal`; plugins `response-healing`, `pareto-router`, `web`, `pdf` (in that order);
  /// provider kind `http` (the HTTP provider for every `format`).
  static Registries with_builtins();

  /// Adds a factory. Errors (Errc::InvalidArgument): an empty name or one already taken.
  [[nodiscard]] Result<void> add_classifier(std::string name, ClassifierFactory factory);
  [[nodiscard]] Result<void> add_response_classifier(std::string name, ResponseClassifierFactory factory);
  [[nodiscard]] Result<void> add_plugin(std::string name, PluginFactory factory);
  /// A rule type for `[[routers]]`. `keys`: the keys its table takes besides `type`, for
  /// documentation (config_schema_keys() lists the fixed schema only).
  [[nodiscard]] Result<void> add_rule(std::string name, RuleFactory factory,
                                      std::vector<std::string> keys = {});

  /// A provider kind: `[[providers]] kind = "<name>"` tables are served by what `factory`
  /// builds (an in-process model, a test double, a protocol of your own).
  [[nodiscard]] Result<void> add_provider(std::string name, ProviderFactory factory);

  const ClassifierFactory* classifier(std::string_view name) const;
  const ResponseClassifierFactory* response_classifier(std::string_view name) const;
  const PluginFactory* plugin(std::string_view name) const;
  const RuleFactory* rule(std::string_view name) const;
  const ProviderFactory* provider(std::string_view name) const;

  /// Registered names, in registration order (the order config-enabled plugins run in).
  std::vector<std::string_view> classifier_names() const;
  std::vector<std::string_view> response_classifier_names() const;
  std::vector<std::string_view> plugin_names() const;
  std::vector<std::string_view> provider_names() const;
  /// Rule types, in registration order.
  std::vector<std::string_view> rule_names() const;
  /// The keys given to add_rule for rule type `name` (empty when unknown).
  std::vector<std::string> rule_keys(std::string_view name) const;

  /// The rules of `config.routers`, each built by its type's factory. Errors (Errc::Config):
  /// every unknown type (naming the registered ones) and every factory's error, one line
  /// each.
  [[nodiscard]] Result<std::vector<std::shared_ptr<const Rule>>> make_rules(
      const Config& config) const;

 private:
  std::vector<std::pair<std::string, ClassifierFactory>> classifiers_;
  std::vector<std::pair<std::string, ResponseClassifierFactory>> response_classifiers_;
  std::vector<std::pair<std::string, PluginFactory>> plugins_;
  std::vector<std::pair<std::string, RuleFactory>> rules_;
  std::vector<std::pair<std::string, ProviderFactory>> providers_;
  std::vector<std::pair<std::string, std::vector<std::string>>> rule_keys_;
};

}  // namespace llmrouter
