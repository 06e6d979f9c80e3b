// SPDX-License-Identifier: MIT
#include "llmrouter/registry.h"

#include <fmt/format.h>

namespace llmrouter {
namespace {

template <class F>
Result<void> add(std::vector<std::pair<std::string, F>>& list, std::string name, F factory, std::string_view kind) {
  if (name.empty()) return fail(Errc::InvalidArgument, fmt::format("a {} needs a name", kind));
  if (!factory) return fail(Errc::InvalidArgument, fmt::format("{} '{}': empty factory", kind, name));
  for (const auto& [n, f] : list) {
    if (n == name) return fail(Errc::InvalidArgument, fmt::format("{} '{}' is already registered", kind, name));
  }
  list.emplace_back(std::move(name), std::move(factory));
  return {};
}

template <class F>
const F* find(const std::vector<std::pair<std::string, F>>& list, std::string_view name) {
  for (const auto& [n, f] : list) {
    if (n == name) return &f;
  }
  return nullptr;
}

template <class F>
std::vector<std::string_view> names(const std::vector<std::pair<std::string, F>>& list) {
  std::vector<std::string_view> out;
  for (const auto& [n, f] : list) out.push_back(n);
  return out;
}

}  // namespace

Result<void> Registries::add_classifier(std::string name, ClassifierFactory factory) {
  return add(classifiers_, std::move(name), std::move(factory), "classifier");
}
Result<void> Registries::add_response_classifier(std::string name, ResponseClassifierFactory factory) {
  return add(response_classifiers_, std::move(name), std::move(factory), "response classifier");
}
Result<void> Registries::add_plugin(std::string name, PluginFactory factory) {
  return add(plugins_, std::move(name), std::move(factory), "plugin");
}

Result<void> Registries::add_rule(std::string name, RuleFactory factory) {
  for (RuleType t : {RuleType::Prefix, RuleType::Tag, RuleType::Discover, RuleType::Price, RuleType::Latency,
                     RuleType::Throughput, RuleType::Fallback, RuleType::Random}) {
    if (rule_type_name(t) == name) {
      return fail(Errc::InvalidArgument, fmt::format("rule '{}' is a built-in rule type", name));
    }
  }
  return add(rules_, std::move(name), std::move(factory), "rule");
}

const RuleFactory* Registries::rule(std::string_view name) const { return find(rules_, name); }

std::vector<std::string> Registries::rule_names() const {
  std::vector<std::string> out;
  for (const auto& [n, f] : rules_) out.push_back(n);
  return out;
}

const ClassifierFactory* Registries::classifier(std::string_view name) const { return find(classifiers_, name); }
const ResponseClassifierFactory* Registries::response_classifier(std::string_view name) const {
  return find(response_classifiers_, name);
}
const PluginFactory* Registries::plugin(std::string_view name) const { return find(plugins_, name); }

std::vector<std::string_view> Registries::classifier_names() const { return names(classifiers_); }
std::vector<std::string_view> Registries::response_classifier_names() const { return names(response_classifiers_); }
std::vector<std::string_view> Registries::plugin_names() const { return names(plugins_); }

}  // namespace llmrouter
