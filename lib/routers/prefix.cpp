// SPDX-License-Identifier: MIT
// `prefix`: a requested model starting with `model_prefix` goes to `provider` (as
// `rewrite_model` when set).
#include "llmrouter/settings.h"
#include "routers/builtin.h"

namespace llmrouter::detail {
namespace {

class PrefixRule final : public Rule {
 public:
  PrefixRule(std::string prefix, std::string provider, std::optional<std::string> rewrite)
      : prefix_(std::move(prefix)), provider_(std::move(provider)), rewrite_(std::move(rewrite)) {}

  void candidates(const RouteQuery& q, const RouteScope&,
                  std::vector<RouteCandidate>& out) const override {
    if (q.model.starts_with(prefix_)) out.push_back({provider_, rewrite_ ? *rewrite_ : q.model});
  }
  std::string describe() const override { return "prefix=" + prefix_; }
  void known_models(const ModelCatalog*, std::vector<RouteCandidate>& out) const override {
    if (rewrite_) out.push_back({provider_, *rewrite_});
  }

 private:
  std::string prefix_;
  std::string provider_;
  std::optional<std::string> rewrite_;
};

}  // namespace

Result<std::unique_ptr<Rule>> make_prefix_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  auto prefix = r.string("model_prefix", true);
  auto provider = r.provider("provider", true);
  auto rewrite = r.string("rewrite_model");
  if (auto done = r.finish({"model_prefix", "provider", "rewrite_model"}, "a 'prefix' rule");
      !done) {
    return fail(done.error());
  }
  return std::unique_ptr<Rule>(
      std::make_unique<PrefixRule>(*prefix, *provider, std::move(rewrite)));
}

}  // namespace llmrouter::detail
