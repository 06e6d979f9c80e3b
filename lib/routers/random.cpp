// SPDX-License-Identifier: MIT
// `random`: one provider of the pool (or one of `candidates`, by `weight`) drawn at random
// among those that qualify; the others follow in config order as fallbacks.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "routers/builtin.h"
#include "routers/pool.h"

namespace llmrouter::detail {
namespace {

struct Weighted {
  std::string provider;
  std::string model;  // empty: the pool's model for the query
  double weight = 1.0;
};

class RandomRule final : public Rule {
 public:
  RandomRule(Pool pool, std::vector<Weighted> candidates)
      : pool_(std::move(pool)), candidates_(std::move(candidates)) {
    if (candidates_.empty()) {
      for (const ProviderConfig& p : pool_.providers) candidates_.push_back({p.name, {}, 1.0});
    }
  }

  void candidates(const RouteQuery& q, const RouteScope& scope,
                  std::vector<RouteCandidate>& out) const override {
    const std::string_view pool_model = pool_.model_for(q);
    auto model_of = [&](const Weighted& c) {
      return c.model.empty() ? pool_model : std::string_view(c.model);
    };
    // Only qualifying candidates take part in the draw; the others follow in config order.
    std::vector<double> weights;
    double total = 0;
    for (const Weighted& c : candidates_) {
      weights.push_back(scope.qualifies(c.provider, model_of(c)) ? c.weight : 0.0);
      total += weights.back();
    }
    if (total <= 0) {
      // None qualifies now (ejected, at capacity): draw among those that could serve it, so
      // the router can tell why they are passed over (and wait for room, or send anyway).
      total = 0;
      for (std::size_t i = 0; i < candidates_.size(); ++i) {
        weights[i] = scope.can_serve(candidates_[i].provider, model_of(candidates_[i]))
                         ? candidates_[i].weight
                         : 0.0;
        total += weights[i];
      }
      if (total <= 0) return;
    }
    double x = std::clamp(q.random, 0.0, std::nextafter(1.0, 0.0)) * total;
    std::size_t pick = 0;
    for (; pick + 1 < candidates_.size(); ++pick) {
      if (weights[pick] > 0 && x < weights[pick]) break;
      x -= weights[pick];
    }
    while (weights[pick] <= 0) --pick;  // rounding: land on a qualifying one
    auto add = [&](const Weighted& c) { out.push_back({c.provider, std::string(model_of(c))}); };
    add(candidates_[pick]);
    for (std::size_t i = 0; i < candidates_.size(); ++i) {
      if (i != pick) add(candidates_[i]);
    }
  }
  void known_models(const ModelCatalog*, std::vector<RouteCandidate>& out) const override {
    for (const Weighted& c : candidates_) {
      if (!c.model.empty()) out.push_back({c.provider, c.model});
    }
  }

 private:
  Pool pool_;
  std::vector<Weighted> candidates_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_random_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  Pool pool = read_pool(r, config);
  std::vector<Weighted> weighted;
  if (const Value* list = r.value("candidates")) {
    const std::string path = r.key_path("candidates");
    if (!list->is_array()) {
      r.error(list->loc, path,
              fmt::format("expected an array of {{ provider, model }} tables, found {}",
                          SettingsReader::kind_phrase(*list)));
    } else {
      if (list->as_array().empty()) r.error(list->loc, path, "must list at least one candidate");
      for (const char* key : {"providers", "rewrite_model"}) {
        if (const Value* other = rule.settings.find(key)) {
          r.error(
              other->loc, r.key_path(key),
              "cannot be combined with candidates (each candidate names its provider and model)");
        }
      }
      for (std::size_t i = 0; i < list->as_array().size(); ++i) {
        const Value& e = list->as_array()[i];
        const std::string epath = fmt::format("{}[{}]", path, i);
        if (!e.is_object()) {
          r.error(e.loc, epath,
                  fmt::format("expected a {{ provider, model }} table, found {}",
                              SettingsReader::kind_phrase(e)));
          continue;
        }
        SettingsReader cr = r.nested(e, epath, e.loc);
        Weighted w;
        w.provider = cr.provider("provider", true).value_or("");
        w.model = cr.string("model", true).value_or("");
        w.weight = cr.number("weight", std::numeric_limits<double>::min(),
                             std::numeric_limits<double>::max())
                       .value_or(1.0);
        (void)cr.finish({"provider", "model", "weight"}, "a candidate");
        weighted.push_back(std::move(w));
      }
    }
  }
  if (auto done = r.finish({"providers", "rewrite_model", "candidates"}, "a 'random' rule");
      !done) {
    return fail(done.error());
  }
  return std::unique_ptr<Rule>(std::make_unique<RandomRule>(std::move(pool), std::move(weighted)));
}

}  // namespace llmrouter::detail
