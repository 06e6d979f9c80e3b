// SPDX-License-Identifier: MIT
// Flow semantics per stage, plugin resolution and merging, forced providers.
#include "llmrouter/pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/config_helpers.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;

constexpr std::string_view kBase =
    "[[providers]]\nname = \"local\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
    "[[routers]]\ntype = \"fallback\"\n";

// A plugin whose every hook records its call, returns the flow its settings name for that
// hook ({"pre_request": "stop"}), and writes the settings it saw into the request's user.
class Recorder final : public Plugin {
 public:
  explicit Recorder(std::string id, std::vector<std::string>* log) : id_(std::move(id)), log_(log) {}

  static Flow flow_for(const Value& settings, const char* hook) {
    const Value* v = settings.find(hook);
    if (!v || !v->is_string()) return Flow::Continue;
    if (v->as_string() == "stop") return Flow::Stop;
    if (v->as_string() == "modified") return Flow::Modified;
    return Flow::Continue;
  }
  Result<Flow> on_start(CanonicalRequest& req, RequestState& st, const Value& s) const override {
    log_->push_back(id_ + ".on_start");
    if (flow_for(s, "on_start") == Flow::Stop) st.response = Response{};
    req.user = s.to_json();
    return flow_for(s, "on_start");
  }
  Result<Flow> pre_request(CanonicalRequest& req, RequestState& st, const Value& s) const override {
    log_->push_back(id_ + ".pre_request(tags=" + std::to_string(req.tags.size()) + ")");
    if (const Value* f = s.find("fail"); f && f->is_bool() && f->as_bool()) return fail(Errc::Internal, "boom");
    if (flow_for(s, "pre_request") == Flow::Stop) st.response = Response{};
    return flow_for(s, "pre_request");
  }
  Result<Flow> post_response(const CanonicalRequest&, Response&, RequestState&, const Value& s) const override {
    log_->push_back(id_ + ".post_response");
    if (const Value* f = s.find("fail_late"); f && f->is_bool() && f->as_bool()) return fail(Errc::Internal, "late");
    return flow_for(s, "post_response");
  }
  Result<Flow> on_end(const CanonicalRequest&, Response&, RequestState&, const Value& s) const override {
    log_->push_back(id_ + ".on_end");
    return flow_for(s, "on_end");
  }

 private:
  std::string id_;
  std::vector<std::string>* log_;
};

struct Fixture {
  explicit Fixture(std::string_view extra) {
    Registries regs = Registries::with_builtins();
    for (const char* id : {"one", "two"}) {
      EXPECT_TRUE(regs.add_plugin(id, [this, id](const ComponentConfig&, const Config&) -> Result<std::unique_ptr<Plugin>> {
        return std::unique_ptr<Plugin>(std::make_unique<Recorder>(id, &calls));
      }));
    }
    EXPECT_TRUE(regs.add_response_classifier("always", [](const ComponentConfig&, const Config&)
                                                            -> Result<std::unique_ptr<ResponseClassifier>> {
      struct Always final : ResponseClassifier {
        void classify(const CanonicalRequest&, const Response&, std::vector<std::string>& tags) const override {
          tags.push_back("seen");
        }
      };
      return std::unique_ptr<ResponseClassifier>(std::make_unique<Always>());
    }));
    config = testing::config_from(std::string(kBase) + std::string(extra));
    auto p = Pipeline::build(config, regs);
    EXPECT_TRUE(p) << p.error().message;
    if (p) pipeline = *p;
  }
  Result<PreparedRequest> route(std::string_view plugins_json = "[]") {
    return pipeline->route(WireFormat::OpenAI, std::string(R"({"model":"m","messages":[{"role":"user","content":"x"}],"plugins":)") +
                                                   std::string(plugins_json) + "}");
  }
  std::vector<std::string> calls;
  Config config;
  std::shared_ptr<const Pipeline> pipeline;
};

TEST(PipelineTest, StagesRunInOrderForEnabledPlugins) {
  Fixture f("[plugins.two]\nenabled = true\n[plugins.one]\nenabled = true\n[response_classifiers.always]\nenabled = true\n");
  auto r = f.route();
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->decision);
  Response resp;
  f.pipeline->finish(*r, resp);
  // Registry order (one before two), not config order.
  EXPECT_THAT(f.calls, ElementsAre("one.on_start", "two.on_start", "one.pre_request(tags=0)", "two.pre_request(tags=0)",
                                   "one.post_response", "two.post_response", "one.on_end", "two.on_end"));
  EXPECT_THAT(resp.tags, ElementsAre("seen"));
  EXPECT_FALSE(r->modified);
}

TEST(PipelineTest, StopInOnStartSkipsClassifiersPreRequestAndRouting) {
  Fixture f("[plugins.one]\nenabled = true\non_start = \"stop\"\n[plugins.two]\nenabled = true\n");
  auto r = f.route();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->decision);
  EXPECT_TRUE(r->state.response);
  EXPECT_THAT(r->state.active_plugins, ElementsAre("one"));
  Response resp;
  f.pipeline->finish(*r, resp);
  EXPECT_THAT(f.calls, ElementsAre("one.on_start", "one.post_response", "two.post_response", "one.on_end", "two.on_end"));
}

TEST(PipelineTest, StopInPreRequestSkipsRouting) {
  Fixture f("[plugins.one]\nenabled = true\npre_request = \"stop\"\n[plugins.two]\nenabled = true\n");
  auto r = f.route();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->decision);
  EXPECT_THAT(f.calls, ElementsAre("one.on_start", "two.on_start", "one.pre_request(tags=0)"));
}

TEST(PipelineTest, StopInPostResponseSkipsResponseClassifiersAndOnEnd) {
  Fixture f("[plugins.one]\nenabled = true\npost_response = \"stop\"\n[plugins.two]\nenabled = true\n"
            "[response_classifiers.always]\nenabled = true\n");
  auto r = f.route();
  ASSERT_TRUE(r);
  Response resp;
  f.pipeline->finish(*r, resp);
  EXPECT_TRUE(resp.tags.empty());
  EXPECT_EQ(f.calls.back(), "one.post_response");
}

TEST(PipelineTest, ModifiedIsRecordedAndMarksTheRequestModified) {
  Fixture f("[plugins.one]\nenabled = true\non_start = \"modified\"\non_end = \"modified\"\n");
  auto r = f.route();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->modified);
  Response resp;
  f.pipeline->finish(*r, resp);
  EXPECT_THAT(r->state.active_plugins, ElementsAre("one", "one"));
}

TEST(PipelineTest, PreRequestErrorFailsTheRequestNamingThePlugin) {
  Fixture f("[plugins.one]\nenabled = true\nfail = true\n");
  auto r = f.route();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "plugin 'one' failed: boom");
  EXPECT_EQ(r.error().status(), 500);
}

TEST(PipelineTest, LateErrorsAreLoggedNotFatal) {
  Fixture f("[plugins.one]\nenabled = true\nfail_late = true\n[plugins.two]\nenabled = true\n");
  auto r = f.route();
  ASSERT_TRUE(r);
  Response resp;
  f.pipeline->finish(*r, resp);
  EXPECT_THAT(f.calls, ::testing::Contains("two.post_response"));
}

TEST(PipelineTest, RequestPluginsMergeOverConfigSettings) {
  Fixture f("[plugins.one]\nenabled = true\nlevel = 1\nkeep = \"config\"\n[plugins.two]\nlevel = 5\n");
  // one: enabled in config, request overrides `level`; two: disabled in config but asked for,
  // gets its config settings merged; unknown ids are reported; duplicates ignored.
  auto r = f.route(R"([{"id":"two","extra":true},{"id":"one","level":2},{"id":"nope"},{"id":"two","level":9}])");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->plugins.size(), 2u);
  EXPECT_EQ(r->plugins[0].id, "one");
  EXPECT_EQ(r->plugins[0].settings.to_json(), R"({"level":2,"keep":"config"})");
  EXPECT_EQ(r->plugins[1].id, "two");
  EXPECT_EQ(r->plugins[1].settings.to_json(), R"({"level":5,"extra":true})");
  EXPECT_THAT(r->unknown_plugins, ElementsAre("nope"));
}

TEST(PipelineTest, ForcedProviderMustExistAndBeAvailable) {
  Registries regs = Registries::with_builtins();
  ASSERT_TRUE(regs.add_plugin("force", [](const ComponentConfig&, const Config&) -> Result<std::unique_ptr<Plugin>> {
    struct Force final : Plugin {
      Result<Flow> pre_request(CanonicalRequest& req, RequestState&, const Value& s) const override {
        req.forced_provider = s.find("to")->as_string();
        return Flow::Modified;
      }
    };
    return std::unique_ptr<Plugin>(std::make_unique<Force>());
  }));
  Config c = testing::config_from(std::string(kBase) + "[plugins.force]\nenabled = true\nto = \"ghost\"\n");
  auto p = Pipeline::build(c, regs);
  ASSERT_TRUE(p);
  auto r = (*p)->route(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::NoRoute);
  EXPECT_EQ(r.error().message, "provider 'ghost' chosen by a plugin is not configured");
}

TEST(PipelineTest, RouteIsADryRun) {
  Fixture f("");
  auto r = f.pipeline->route(WireFormat::Anthropic, R"({"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->decision->target.provider, "local");
  EXPECT_EQ(r->decision->reason, "rule 0 (fallback): provider local, model claude");
  EXPECT_EQ(r->state.requested_model, "claude");
  auto bad = f.pipeline->route(WireFormat::Anthropic, R"({"model":"claude"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::InvalidRequest);
}

TEST(RegistriesTest, NamesAreUnique) {
  Registries regs = Registries::with_builtins();
  auto again = regs.add_classifier("keyword", [](const ComponentConfig&, const Config&) -> Result<std::unique_ptr<Classifier>> {
    return fail(Errc::Internal, "unused");
  });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "classifier 'keyword' is already registered");
  EXPECT_THAT(regs.plugin_names(), ElementsAre("response-healing", "pareto-router", "web", "pdf"));
}

}  // namespace
}  // namespace llmrouter

namespace llmrouter {
namespace {

// A custom rule: long prompts go to the provider named in its settings.
class LongPrompts final : public Rule {
 public:
  LongPrompts(std::string provider, double min_chars) : provider_(std::move(provider)), min_(min_chars) {}
  void candidates(const RouteQuery& q, const RouteScope&,
                  std::vector<RouteCandidate>& out) const override {
    if (q.tags.empty() && static_cast<double>(q.model.size()) >= min_) out.push_back({provider_, q.model});
  }

 private:
  std::string provider_;
  double min_;
};

Registries with_long_prompts() {
  Registries regs = Registries::with_builtins();
  EXPECT_TRUE(regs.add_rule("long-model-names", [](const RuleConfig& r, const Config& c) -> Result<std::unique_ptr<Rule>> {
    const Value* to = r.settings.find("provider");
    if (!to || !to->is_string()) return fail(config_error(c, r.loc, "routers[].provider", "expected a provider name"));
    const Value* min = r.settings.find("min_chars");
    return std::unique_ptr<Rule>(std::make_unique<LongPrompts>(to->as_string(), min && min->is_number() ? min->as_double() : 10));
  }));
  return regs;
}

constexpr std::string_view kCustomRules = R"(
[[providers]]
name = "small"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
[[providers]]
name = "big"
format = "openai"
base_url = "http://127.0.0.1:2/v1"
[[routers]]
type = "long-model-names"
provider = "big"
min_chars = 8
[[routers]]
type = "fallback"
providers = ["small"]
)";

TEST(CustomRuleTest, RegisteredRuleTypesRouteLikeBuiltIns) {
  Registries regs = with_long_prompts();
  auto config = load_config_string(kCustomRules, "test.toml", testing::fake_env());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->routers[0].type, "long-model-names");
  auto p = Pipeline::build(*config, regs);
  ASSERT_TRUE(p) << p.error().message;
  auto long_name = (*p)->route(WireFormat::OpenAI, R"({"model":"very-long-name","messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(long_name);
  EXPECT_EQ(long_name->decision->reason, "rule 0 (long-model-names): provider big, model very-long-name");
  EXPECT_EQ(long_name->decision->fallbacks.at(0).provider, "small");
  auto short_name = (*p)->route(WireFormat::OpenAI, R"({"model":"tiny","messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(short_name);
  EXPECT_EQ(short_name->decision->target.provider, "small");
}

TEST(CustomRuleTest, UnregisteredTypesAreConfigErrors) {
  auto config = load_config_string(kCustomRules, "test.toml", testing::fake_env());
  ASSERT_TRUE(config) << config.error().message;
  auto p = Pipeline::build(*config, Registries::with_builtins());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message,
            "test.toml:11:8: routers[0].type: unknown rule type 'long-model-names'; expected one "
            "of prefix, tag, "
            "discover, price, latency, throughput, fallback, random");
  Registries regs = Registries::with_builtins();
  EXPECT_FALSE(regs.add_rule("price", [](const RuleConfig&, const Config&) -> Result<std::unique_ptr<Rule>> {
    return fail(Errc::Internal, "unused");
  }));
}

}  // namespace
}  // namespace llmrouter
