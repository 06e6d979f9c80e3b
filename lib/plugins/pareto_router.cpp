// SPDX-License-Identifier: MIT
// `pareto-router`: sends a request to the first available provider of a tier. The tier
// comes from the request's plugin settings (`tier`), else `default_tier`, else "medium".
// Tier lists are checked against the providers when the pipeline is built.
#include <algorithm>

#include <fmt/format.h>

#include "llmrouter/settings.h"
#include "plugins/builtin.h"
#include "util/strings.h"

namespace llmrouter::detail {
namespace {

class ParetoRouter final : public Plugin {
 public:
  Result<Flow> pre_request(CanonicalRequest& req, RequestState& state, const Value& settings) const override {
    std::string tier = "medium";
    for (const char* key : {"default_tier", "tier"}) {  // a request's `tier` wins
      if (const Value* v = settings.find(key); v && v->is_string()) tier = v->as_string();
    }
    const Value* tiers = settings.find("tiers");
    if (!tiers || !tiers->is_object() || tiers->as_object().empty()) {
      return fail(Errc::InvalidRequest, "pareto-router: no tiers configured (add [plugins.pareto-router.tiers])");
    }
    const Value* list = tiers->find(tier);
    if (!list || !list->is_array()) {
      std::string names;
      for (const auto& [name, v] : tiers->as_object()) names += (names.empty() ? "" : ", ") + name;
      return fail(Errc::InvalidRequest, fmt::format("pareto-router: unknown tier '{}' (configured tiers: {})", tier, names));
    }
    std::string skipped;
    for (const Value& name : list->as_array()) {
      if (!name.is_string()) continue;
      const ProviderConfig* p = state.config ? state.config->find_provider(name.as_string()) : nullptr;
      if (p && p->available) {
        req.forced_provider = p->name;
        return Flow::Modified;
      }
      skipped += fmt::format("{}{} ({})", skipped.empty() ? "" : ", ", name.as_string(),
                             p ? p->unavailable_reason : "unknown provider");
    }
    return fail(Errc::NoRoute, fmt::format("pareto-router: no available provider in tier '{}': {}", tier, skipped));
  }
};

// Plugins whose feature does not exist yet: asking for them is an error that says so.
class NotImplemented final : public Plugin {
 public:
  NotImplemented(std::string id, std::string what) : id_(std::move(id)), what_(std::move(what)) {}
  Result<Flow> pre_request(CanonicalRequest&, RequestState&, const Value&) const override {
    return fail(Errc::InvalidRequest, fmt::format("plugin '{}' ({}) is not implemented yet", id_, what_), 501);
  }

 private:
  std::string id_;
  std::string what_;
};

}  // namespace

// The tiers name providers: a typo is a configuration error rather than a failed request.
Result<std::unique_ptr<Plugin>> make_pareto_router(const ComponentConfig& c, const Config& config) {
  SettingsReader r(config, c.settings, "plugins." + c.id, c.loc);
  std::vector<std::string_view> tier_names;
  const Value* tiers = r.value("tiers");
  if (tiers) {
    if (!tiers->is_object()) {
      r.error(tiers->loc, r.key_path("tiers"),
              fmt::format("expected a table of tier = [providers...], found {}",
                          SettingsReader::kind_phrase(*tiers)));
    } else {
      for (const auto& [name, list] : tiers->as_object()) {
        tier_names.push_back(name);
        const std::string tpath = r.key_path("tiers") + "." + name;
        if (!list.is_array()) {
          r.error(list.loc, tpath,
                  fmt::format("expected an array of provider names, found {}",
                              SettingsReader::kind_phrase(list)));
          continue;
        }
        if (list.as_array().empty()) r.error(list.loc, tpath, "a tier needs at least one provider");
        for (std::size_t i = 0; i < list.as_array().size(); ++i) {
          const Value& e = list.as_array()[i];
          const std::string epath = fmt::format("{}[{}]", tpath, i);
          if (!e.is_string()) {
            r.error(
                e.loc, epath,
                fmt::format("expected a provider name, found {}", SettingsReader::kind_phrase(e)));
          } else {
            r.check_provider(e.as_string(), e.loc, epath);
          }
        }
      }
    }
  }
  for (const char* key : {"tier", "default_tier"}) {
    const Value* t = r.value(key);
    if (!t || !tiers || !tiers->is_object()) continue;
    if (!t->is_string()) {
      r.error(t->loc, r.key_path(key),
              fmt::format("expected a tier name, found {}", SettingsReader::kind_phrase(*t)));
    } else if (std::find(tier_names.begin(), tier_names.end(), t->as_string()) ==
               tier_names.end()) {
      r.error(t->loc, r.key_path(key),
              fmt::format("no tier named '{}'; configured tiers: {}{}", t->as_string(),
                          join(tier_names, ", "), did_you_mean(t->as_string(), tier_names)));
    }
  }
  if (auto checked = r.result(); !checked) return fail(checked.error());
  return std::unique_ptr<Plugin>(std::make_unique<ParetoRouter>());
}

Result<std::unique_ptr<Plugin>> make_web_plugin(const ComponentConfig& c, const Config&) {
  return std::unique_ptr<Plugin>(std::make_unique<NotImplemented>(c.id, "web search"));
}

Result<std::unique_ptr<Plugin>> make_pdf_plugin(const ComponentConfig& c, const Config&) {
  return std::unique_ptr<Plugin>(std::make_unique<NotImplemented>(c.id, "PDF input extraction"));
}

}  // namespace llmrouter::detail
