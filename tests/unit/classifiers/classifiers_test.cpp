// SPDX-License-Identifier: MIT
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/pipeline.h"
#include "support/config_helpers.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kProvider =
    "[[providers]]\nname = \"local\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
    "[[routers]]\ntype = \"fallback\"\n";

std::shared_ptr<const Pipeline> pipeline(std::string_view extra) {
  Config c = testing::config_from(std::string(kProvider) + std::string(extra));
  auto p = Pipeline::build(c, Registries::with_builtins());
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : nullptr;
}

std::vector<std::string> tags_of(const Pipeline& p, std::string_view body) {
  auto r = p.route(WireFormat::Anthropic, body);
  EXPECT_TRUE(r) << r.error().message;
  return r ? r->request.tags : std::vector<std::string>{};
}

constexpr std::string_view kKeyword =
    "[classifiers.keyword]\nenabled = true\n[classifiers.keyword.tags]\n"
    "code = [\"def \", \"class \", \"stack trace\"]\nsql = [\"select \"]\nvision = [\"screenshot\"]\n";

TEST(KeywordClassifierTest, TagsInConfigOrderFromSystemMessagesAndToolResults) {
  auto p = pipeline(kKeyword);
  ASSERT_TRUE(p);
  // Tool-result text counts; tool inputs do not.
  EXPECT_THAT(tags_of(*p, R"({"model":"m","max_tokens":5,"system":"Write SQL: SELECT * FROM t","messages":[
      {"role":"user","content":"hi"},
      {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"q":"def x"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"Stack Trace follows"}]}],
      "tools":[{"name":"f","input_schema":{"type":"object"}}]})"),
              ElementsAre("code", "sql", "tools"));
}

TEST(KeywordClassifierTest, MatchesDoNotSpanMessages) {
  auto p = pipeline(kKeyword);
  ASSERT_TRUE(p);
  EXPECT_TRUE(tags_of(*p, R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"stack"},
      {"role":"assistant","content":"trace"},{"role":"user","content":"ok"}]})").empty());
}

TEST(KeywordClassifierTest, StructuralVisionTagComesFromImages) {
  auto p = pipeline(kKeyword);
  ASSERT_TRUE(p);
  EXPECT_THAT(tags_of(*p, R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
      {"type":"text","text":"what is this screenshot"},
      {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]})"),
              ElementsAre("vision"));  // once, though both the keyword and the image say so
}

TEST(KeywordClassifierTest, BadSettingsAreConfigErrors) {
  Config c = testing::config_from(std::string(kProvider) +
                                  "[classifiers.keyword]\nenabled = true\n[classifiers.keyword.tags]\ncode = [\"def\", \"\"]\n");
  auto p = Pipeline::build(c, Registries::with_builtins());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message,
            "test.toml:10:16: classifiers.keyword.tags.code[1]: an empty keyword would match every request");
}

TEST(PipelineBuildTest, UnknownComponentIdsAreConfigErrors) {
  Config c = testing::config_from(std::string(kProvider) + "[classifiers.keywords]\nenabled = true\n");
  auto p = Pipeline::build(c, Registries::with_builtins());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "test.toml:7:1: classifiers.keywords: unknown classifier; did you mean 'keyword'?");
  Config c2 = testing::config_from(std::string(kProvider) + "[plugins.healing]\nenabled = true\n");
  auto p2 = Pipeline::build(c2, Registries::with_builtins());
  ASSERT_FALSE(p2);
  EXPECT_THAT(p2.error().message, HasSubstr("plugins.healing: unknown plugin; registered: response-healing, pareto-router, web, pdf"));
}

Response reply(std::string text) {
  Response r;
  r.content.push_back(TextBlock{std::move(text), std::nullopt, {}});
  return r;
}

TEST(RefusalClassifierTest, DefaultPhrasesAndTypographicApostrophes) {
  auto p = pipeline("[response_classifiers.refusal]\nenabled = true\n");
  ASSERT_TRUE(p);
  auto prepared = p->route(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(prepared);
  for (const char* text : {"Sorry, I can't help with that.", "Sorry, I can\xE2\x80\x99t help with that.",
                           "AS AN AI LANGUAGE MODEL, no."}) {
    Response r = reply(text);
    p->finish(*prepared, r);
    EXPECT_THAT(r.tags, ElementsAre("refusal")) << text;
  }
  Response ok = reply("Here you go.");
  p->finish(*prepared, ok);
  EXPECT_TRUE(ok.tags.empty());
}

TEST(RefusalClassifierTest, ConfiguredPhrasesReplaceDefaults) {
  auto p = pipeline("[response_classifiers.refusal]\nenabled = true\nphrases = [\"Nope\"]\n");
  ASSERT_TRUE(p);
  auto prepared = p->route(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(prepared);
  Response a = reply("nope.");
  p->finish(*prepared, a);
  EXPECT_THAT(a.tags, ElementsAre("refusal"));
  Response b = reply("I cannot help with that");
  p->finish(*prepared, b);
  EXPECT_TRUE(b.tags.empty());
}

}  // namespace
}  // namespace llmrouter
