// SPDX-License-Identifier: MIT
#include "llmrouter/registry.h"

#include <fmt/format.h>

#include "util/strings.h"

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

Result<void> Registries::add_rule(std::string name, RuleFactory factory,
                                  std::vector<std::string> keys) {
  rule_keys_.emplace_back(name, std::move(keys));
  if (auto added = add(rules_, std::move(name), std::move(factory), "rule type"); !added) {
    rule_keys_.pop_back();
    return added;
  }
  return {};
}

const RuleFactory* Registries::rule(std::string_view name) const { return find(rules_, name); }

Result<void> Registries::add_provider(std::string name, ProviderFactory factory) {
  return add(providers_, std::move(name), std::move(factory), "provider kind");
}
const ProviderFactory* Registries::provider(std::string_view name) const {
  return find(providers_, name);
}
std::vector<std::string_view> Registries::provider_names() const {
  return names(providers_);
}

std::vector<std::string_view> Registries::rule_names() const {
  return names(rules_);
}

std::vector<std::string> Registries::rule_keys(std::string_view name) const {
  for (const auto& [n, keys] : rule_keys_) {
    if (n == name) return keys;
  }
  return {};
}

Result<std::vector<std::shared_ptr<const Rule>>> Registries::make_rules(
    const Config& config) const {
  std::vector<std::shared_ptr<const Rule>> rules;
  std::string errors;
  auto report = [&](const std::string& message) {
    if (!errors.empty()) errors += '\n';
    errors += message;
  };
  for (const RuleConfig& r : config.routers) {
    const RuleFactory* f = rule(r.type);
    if (!f) {
      const std::vector<std::string_view> known = rule_names();
      report(
          config_error(config, r.type_loc, r.path + ".type",
                       fmt::format("unknown rule type '{}'; expected one of {}{}", r.type,
                                   detail::join(known, ", "), detail::did_you_mean(r.type, known)))
              .message);
      continue;
    }
    auto made = (*f)(r, config);
    if (!made) {
      report(made.error().message);
      continue;
    }
    rules.push_back(std::move(*made));
  }
  if (!errors.empty()) return fail(Errc::Config, std::move(errors));
  return rules;
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
