// SPDX-License-Identifier: MIT
#pragma once
/// @file registry.h
/// Registries map the names used in config (`[classifiers.keyword]`, `[plugins.web]`) to
/// factories. Start from `Registries::with_builtins()`, add your own, then build a Pipeline:
///
///     auto regs = llmrouter::Registries::with_builtins();
///     regs.add_classifier("language", [](const ComponentConfig& c, const Config&) -> Result<std::unique_ptr<Classifier>> {
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
#include "llmrouter/result.h"
#include "llmrouter/router.h"

namespace llmrouter {

/// Builds a component from its config table; errors should name `config.id` and the key.
using ClassifierFactory =
    std::function<Result<std::unique_ptr<Classifier>>(const ComponentConfig&, const Config&)>;
using ResponseClassifierFactory =
    std::function<Result<std::unique_ptr<ResponseClassifier>>(const ComponentConfig&, const Config&)>;
using PluginFactory = std::function<Result<std::unique_ptr<Plugin>>(const ComponentConfig&, const Config&)>;
/// Builds a custom rule from its `[[routers]]` table (`rule.settings`).
using RuleFactory = std::function<Result<std::unique_ptr<Rule>>(const RuleConfig&, const Config&)>;

class Registries {
 public:
  /// The built-ins: classifier `keyword`; response classifier `refusal`; plugins
  /// `response-healing`, `pareto-router`, `web`, `pdf` (in that order).
  static Registries with_builtins();

  /// Adds a factory. Errors (Errc::InvalidArgument): an empty name or one already taken.
  [[nodiscard]] Result<void> add_classifier(std::string name, ClassifierFactory factory);
  [[nodiscard]] Result<void> add_response_classifier(std::string name, ResponseClassifierFactory factory);
  [[nodiscard]] Result<void> add_plugin(std::string name, PluginFactory factory);
  /// A rule type for `[[routers]]`; load the config with `LoadOptions::rule_types =
  /// registries.rule_names()` so the loader accepts it. Names of built-in types are taken.
  [[nodiscard]] Result<void> add_rule(std::string name, RuleFactory factory);

  const ClassifierFactory* classifier(std::string_view name) const;
  const ResponseClassifierFactory* response_classifier(std::string_view name) const;
  const PluginFactory* plugin(std::string_view name) const;
  const RuleFactory* rule(std::string_view name) const;

  /// Registered names, in registration order (the order config-enabled plugins run in).
  std::vector<std::string_view> classifier_names() const;
  std::vector<std::string_view> response_classifier_names() const;
  std::vector<std::string_view> plugin_names() const;
  /// Custom rule types, as strings ready for LoadOptions::rule_types.
  std::vector<std::string> rule_names() const;

 private:
  std::vector<std::pair<std::string, ClassifierFactory>> classifiers_;
  std::vector<std::pair<std::string, ResponseClassifierFactory>> response_classifiers_;
  std::vector<std::pair<std::string, PluginFactory>> plugins_;
  std::vector<std::pair<std::string, RuleFactory>> rules_;
};

}  // namespace llmrouter
