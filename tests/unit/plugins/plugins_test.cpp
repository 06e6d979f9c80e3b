// SPDX-License-Identifier: MIT
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/pipeline.h"
#include "plugins/builtin.h"
#include "support/config_helpers.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- response-healing

TEST(HealJsonTest, RepairsWhatTheOriginalRepaired) {
  using detail::heal_json;
  EXPECT_EQ(heal_json(R"({"a":1})"), R"({"a":1})");
  EXPECT_EQ(heal_json("```json\n{\"a\": [1, 2,]}\n```"), R"({"a": [1, 2]})");
  EXPECT_EQ(heal_json("Here you go: {\"a\": 1} Hope this helps!"), R"({"a": 1})");
  EXPECT_EQ(heal_json(R"({"a": {"b": [1, 2)"), R"({"a": {"b": [1, 2]}})");
  EXPECT_EQ(heal_json(R"({"text": "unterminated)"), R"({"text": "unterminated"})");
  EXPECT_EQ(heal_json("no json here"), std::nullopt);
}

TEST(HealJsonTest, TrailingCommaRemovalRespectsStrings) {
  EXPECT_EQ(detail::heal_json(R"({"s": "a,}", "t": 1,})"), R"({"s": "a,}", "t": 1})");
}

TEST(HealJsonTest, TruncatedNestedInputKeepsItsTail) {
  // The original cropped at the last closer and lost "c".
  EXPECT_EQ(detail::heal_json(R"({"a": {"b": 1}, "c": [1, 2)"), R"({"a": {"b": 1}, "c": [1, 2]})");
}

TEST(HealJsonTest, DanglingMemberIsDropped) {
  EXPECT_EQ(detail::heal_json(R"({"a": 1, "b":)"), R"({"a": 1})");
  EXPECT_EQ(detail::heal_json(R"([{"a": 1}, {"b)"), R"([{"a": 1}])");
}

constexpr std::string_view kBase =
    "[[providers]]\nname = \"local\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
    "[[providers]]\nname = \"cloud\"\nformat = \"openai\"\nbase_url = \"https://h/v1\"\napi_key_env = \"CLOUD_KEY\"\n"
    "[[routers]]\ntype = \"fallback\"\n";

std::shared_ptr<const Pipeline> pipeline(std::string_view extra) {
  Config c = testing::config_from(std::string(kBase) + std::string(extra));
  auto p = Pipeline::build(c, Registries::with_builtins());
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : nullptr;
}

Response reply(std::string text) {
  Response r;
  r.content.push_back(TextBlock{std::move(text), std::nullopt, {}});
  return r;
}

std::string healed(const Pipeline& p, std::string_view request, std::string text) {
  auto prepared = p.route(WireFormat::OpenAI, request);
  EXPECT_TRUE(prepared) << prepared.error().message;
  Response r = reply(std::move(text));
  p.finish(*prepared, r);
  return text_of(r);
}

TEST(ResponseHealingTest, HealsOnlyRepliesMeantToBeJson) {
  auto p = pipeline("[plugins.response-healing]\nenabled = true\n");
  ASSERT_TRUE(p);
  const std::string plain = R"({"model":"m","messages":[{"role":"user","content":"x"}]})";
  const std::string json_mode =
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})";
  // Prose with a JSON fragment is left alone (the original replaced it by the fragment).
  EXPECT_EQ(healed(*p, plain, "The answer is [1, 2, 3]."), "The answer is [1, 2, 3].");
  // A reply that starts as JSON is healed.
  EXPECT_EQ(healed(*p, plain, "{\"a\": [1,]"), "{\"a\": [1]}");
  EXPECT_EQ(healed(*p, plain, "```json\n{\"a\": 1,}\n```"), "{\"a\": 1}");
  // With JSON mode, prose around the value is cut away.
  EXPECT_EQ(healed(*p, json_mode, "Sure! {\"a\": 1}"), "{\"a\": 1}");
}

TEST(ResponseHealingTest, RecordsItselfWhenItChangesTheReply) {
  auto p = pipeline("[plugins.response-healing]\nenabled = true\n");
  ASSERT_TRUE(p);
  auto prepared = p->route(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(prepared);
  Response r = reply("[1, 2,");
  p->finish(*prepared, r);
  EXPECT_EQ(text_of(r), "[1, 2]");
  EXPECT_THAT(prepared->state.active_plugins, ElementsAre("response-healing"));
}

// ---- pareto-router

constexpr std::string_view kPareto =
    "[plugins.pareto-router]\nenabled = true\ndefault_tier = \"high\"\n"
    "[plugins.pareto-router.tiers]\nlow = [\"local\"]\nhigh = [\"cloud\", \"local\"]\n";

TEST(ParetoRouterTest, FirstAvailableProviderOfTheTier) {
  auto p = pipeline(kPareto);
  ASSERT_TRUE(p);
  auto r = p->route(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->decision);
  EXPECT_EQ(r->decision->target.provider, "local");  // cloud has no key
  EXPECT_EQ(r->decision->target.rule_index, -1);
  EXPECT_EQ(r->decision->reason, "forced by plugin pareto-router: provider local, model m");
  EXPECT_THAT(r->state.active_plugins, ElementsAre("pareto-router"));
  EXPECT_TRUE(r->modified);
}

TEST(ParetoRouterTest, RequestChoosesTheTier) {
  auto p = pipeline(kPareto);
  ASSERT_TRUE(p);
  auto r = p->route(WireFormat::OpenAI,
                    R"({"model":"m","messages":[{"role":"user","content":"x"}],"plugins":[{"id":"pareto-router","tier":"mid"}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "plugin 'pareto-router' failed: pareto-router: unknown tier 'mid' (configured tiers: low, high)");
  EXPECT_EQ(r.error().status(), 400);
}

TEST(ParetoRouterTest, NoAvailableProviderInTier) {
  auto p = pipeline(
      "[plugins.pareto-router]\nenabled = true\ntier = \"cloudy\"\n[plugins.pareto-router.tiers]\ncloudy = [\"cloud\"]\n");
  ASSERT_TRUE(p);
  auto r = p->route(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "plugin 'pareto-router' failed: pareto-router: no available provider in tier 'cloudy': cloud ($CLOUD_KEY is not set)");
}

TEST(StubPluginsTest, WebAndPdfSayTheyAreNotImplemented) {
  auto p = pipeline("");
  ASSERT_TRUE(p);
  auto r = p->route(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"x"}],"plugins":[{"id":"web"}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "plugin 'web' failed: plugin 'web' (web search) is not implemented yet");
  EXPECT_EQ(r.error().status(), 501);
}

}  // namespace
}  // namespace llmrouter
