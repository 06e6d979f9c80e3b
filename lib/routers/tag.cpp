// SPDX-License-Identifier: MIT
// `tag`: a request a classifier tagged with `tag` goes to `provider` (as `rewrite_model`
// when set).
#include <algorithm>

#include "llmrouter/settings.h"
#include "routers/builtin.h"

namespace llmrouter::detail {
namespace {

class TagRule final : public Rule {
 public:
  TagRule(std::string tag, std::string provider, std::optional<std::string> rewrite)
      : tag_(std::move(tag)), provider_(std::move(provider)), rewrite_(std::move(rewrite)) {}

  void candidates(const RouteQuery& q, const RouteScope&,
                  std::vector<RouteCandidate>& out) const override {
    if (std::find(q.tags.begin(), q.tags.end(), tag_) != q.tags.end()) {
      out.push_back({provider_, rewrite_ ? *rewrite_ : q.model});
    }
  }
  std::string describe() const override { return "tag=" + tag_; }
  void known_models(const ModelCatalog*, std::vector<RouteCandidate>& out) const override {
    if (rewrite_) out.push_back({provider_, *rewrite_});
  }

 private:
  std::string tag_;
  std::string provider_;
  std::optional<std::string> rewrite_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_tag_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  auto tag = r.string("tag", true);
  auto provider = r.provider("provider", true);
  auto rewrite = r.string("rewrite_model");
  if (auto done = r.finish({"tag", "provider", "rewrite_model"}, "a 'tag' rule"); !done)
    return fail(done.error());
  return std::unique_ptr<Rule>(std::make_unique<TagRule>(*tag, *provider, std::move(rewrite)));
}

}  // namespace llmrouter::detail
