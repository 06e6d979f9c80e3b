// SPDX-License-Identifier: MIT
// Structured outputs checked against the client's JSON schema: the validator and its
// cache, and the pipeline's tag and failover for replies that do not match.
#include "core/json_schema.h"

#include <map>
#include <mutex>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/log.h"
#include "llmrouter/pipeline.h"
#include "support/config_helpers.h"
#include "support/fakes.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::ScriptedProvider;

// What the OpenAI and Anthropic Python SDKs send for a Pydantic model with a nested list
// of models (`$defs` + `$ref`), an Optional field (anyOf with null) and a Literal (enum).
constexpr std::string_view kPydanticSchema = R"({
  "$defs": {
    "Item": {
      "properties": {
        "name": {"title": "Name", "type": "string"},
        "price": {"title": "Price", "type": "number"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Note"},
        "size": {"enum": ["S", "M", "L"], "title": "Size", "type": "string"},
        "tags": {"items": {"$ref": "#/$defs/Tag"}, "title": "Tags", "type": "array"}
      },
      "required": ["name", "price", "note", "size", "tags"],
      "title": "Item", "type": "object", "additionalProperties": false
    },
    "Tag": {
      "properties": {"label": {"type": "string"}},
      "required": ["label"], "title": "Tag", "type": "object", "additionalProperties": false
    }
  },
  "properties": {"items": {"items": {"$ref": "#/$defs/Item"}, "title": "Items", "type": "array"}},
  "required": ["items"], "title": "Order", "type": "object", "additionalProperties": false
})";

// What zod-to-json-schema (the OpenAI Node SDK's zodResponseFormat) writes: draft-07
// `definitions`, a nullable field as anyOf with null.
constexpr std::string_view kZodSchema = R"({
  "type": "object",
  "properties": {
    "steps": {"type": "array", "items": {"$ref": "#/definitions/Step"}},
    "final_answer": {"anyOf": [{"type": "string"}, {"type": "null"}]}
  },
  "required": ["steps", "final_answer"],
  "additionalProperties": false,
  "definitions": {
    "Step": {
      "type": "object",
      "properties": {"explanation": {"type": "string"}, "output": {"type": "number"}},
      "required": ["explanation", "output"],
      "additionalProperties": false
    }
  },
  "$schema": "http://json-schema.org/draft-07/schema#"
})";

constexpr std::string_view kOrder =
    R"({"items": [{"name": "tea", "price": 3.5, "note": null, "size": "M", "tags": [{"label": "hot"}]}]})";

// Log lines while it lives.
class LogCapture {
 public:
  LogCapture() {
    set_log_sink([this](LogLevel, std::string_view m) {
      std::lock_guard lock(mu_);
      lines_.emplace_back(m);
    });
  }
  ~LogCapture() { set_log_sink(nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::size_t count(std::string_view needle) const {
    std::lock_guard lock(mu_);
    return static_cast<std::size_t>(
        std::count_if(lines_.begin(), lines_.end(),
                      [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

std::optional<std::string> check(std::string_view schema, std::string_view text) {
  detail::JsonSchemaCache cache;
  return cache.violation(schema, text);
}

TEST(JsonSchemaTest, PydanticShapesWithDefsRefsAnyOfAndEnum) {
  EXPECT_EQ(check(kPydanticSchema, kOrder), std::nullopt);
  EXPECT_EQ(check(kPydanticSchema, R"({"items": []})"), std::nullopt);
  // Each violation is found through the `$ref`s, with its place and keyword.
  EXPECT_EQ(
      check(
          kPydanticSchema,
          R"({"items": [{"name": "tea", "price": "3.5", "note": null, "size": "M", "tags": []}]})"),
      "/items/0/price: type");
  EXPECT_EQ(
      check(kPydanticSchema,
            R"({"items": [{"name": "tea", "price": 3.5, "note": 7, "size": "M", "tags": []}]})"),
      "/items/0/note: anyOf");
  EXPECT_EQ(
      check(kPydanticSchema,
            R"({"items": [{"name": "tea", "price": 3.5, "note": "x", "size": "XL", "tags": []}]})"),
      "/items/0/size: enum");
  EXPECT_EQ(check(kPydanticSchema,
                  R"({"items": [{"name": "tea", "price": 3.5, "note": null, "size": "S"}]})"),
            "/items/0: required");
  EXPECT_EQ(
      check(kPydanticSchema,
            R"({"items": [{"name": "tea", "price": 1, "note": null, "size": "S", "tags": [{}]}]})"),
      "/items/0/tags/0: required");
  EXPECT_EQ(check(kPydanticSchema, R"({"items": [], "total": 3})"), "/total: additionalProperties");
  EXPECT_EQ(check(kPydanticSchema, R"([1, 2])"), "(root): type");
}

TEST(JsonSchemaTest, ZodShapesWithDefinitions) {
  EXPECT_EQ(
      check(kZodSchema, R"({"steps": [{"explanation": "add", "output": 4}], "final_answer": "4"})"),
      std::nullopt);
  EXPECT_EQ(check(kZodSchema,
                  R"({"steps": [{"explanation": "add", "output": 4}], "final_answer": null})"),
            std::nullopt);
  EXPECT_EQ(check(kZodSchema, R"({"steps": [{"explanation": "add"}], "final_answer": null})"),
            "/steps/0: required");
  EXPECT_EQ(check(kZodSchema, R"({"steps": []})"), "(root): required");
}

TEST(JsonSchemaTest, ARefToTheWholeSchemaValidatesRecursively) {
  constexpr std::string_view tree =
      R"({"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}},
          "additionalProperties": false})";
  EXPECT_EQ(check(tree, R"({"kids": [{"kids": []}, {}]})"), std::nullopt);
  EXPECT_EQ(check(tree, R"({"kids": [{"kids": [{"x": 1}]}]})"),
            "/kids/0/kids/0/x: additionalProperties");
}

TEST(JsonSchemaTest, TextThatIsNotJsonDoesNotMatch) {
  EXPECT_EQ(check(kPydanticSchema, "```json\n{\"items\": []}\n```"),
            "not JSON (Invalid value. at offset 0)");
  EXPECT_THAT(check(kPydanticSchema, R"({"items": []} and more)").value_or(""),
              HasSubstr("not JSON"));
  EXPECT_THAT(check(kPydanticSchema, "").value_or(""), HasSubstr("not JSON"));
  // Nesting is bounded (the validator's work per value grows with its depth).
  EXPECT_EQ(check(R"({"type": "array"})", std::string(128, '[') + std::string(128, ']')),
            std::nullopt);
  EXPECT_EQ(check(R"({"type": "array"})", std::string(100'000, '[') + std::string(100'000, ']')),
            "nested deeper than 128 levels");
  EXPECT_EQ(check(R"({"type": "array"})", std::string(129, '[')), "nested deeper than 128 levels");
}

TEST(JsonSchemaTest, UnusableSchemasAreLoggedOnceAndNotEnforced) {
  LogCapture logs;
  detail::JsonSchemaCache cache;
  EXPECT_EQ(cache.violation("[1]", "{}"), std::nullopt);
  EXPECT_EQ(cache.violation("[1]", "{}"), std::nullopt);
  EXPECT_EQ(logs.count("JSON schema [1] is not an object"), 1u);
  EXPECT_EQ(cache.violation("{nope", "{}"), std::nullopt);
  EXPECT_EQ(logs.count("is not JSON"), 1u);
  // Schemas RapidJSON would recurse on without end, or validate at a cost that doubles
  // with each level of the reply: not used, and no crash.
  const std::string_view intricate[] = {
      R"({"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"})",
      R"({"$defs": {"A": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}}, "$ref": "#/$defs/A"})",
      R"({"$defs": {"A": {"anyOf": [{"type": "object", "properties": {"x": {"$ref": "#/$defs/A"}}},
                                    {"type": "object", "properties": {"x": {"$ref": "#/$defs/A"}}}]}},
          "$ref": "#/$defs/A"})"};
  std::string nested_x;
  for (int i = 0; i < 100; ++i) nested_x += R"({"x": )";
  nested_x.append("1").append(100, '}');
  for (const std::string_view schema : intricate) {
    EXPECT_EQ(cache.violation(schema, "1"), std::nullopt);
    EXPECT_EQ(cache.violation(schema, nested_x), std::nullopt);
  }
  EXPECT_EQ(logs.count("is too intricate to validate"), 3u);
  std::string deep = R"({"type": "object", "properties": {"a": )";
  for (int i = 0; i < 200; ++i) deep += R"({"items": )";
  deep += "{}" + std::string(200, '}') + "}}";
  EXPECT_EQ(cache.violation(deep, "5"), std::nullopt);
  EXPECT_EQ(logs.count("nested deeper than 128 levels"), 1u);
}

TEST(JsonSchemaTest, TheCacheKeepsTheMostRecentlyUsedSchemasUpToItsCapacity) {
  LogCapture logs;  // an unusable schema logs each time it is compiled: that shows evictions
  detail::JsonSchemaCache cache(2);
  const auto schema = [](int n) { return fmt::format(R"({{"maxProperties": {}}})", n); };
  EXPECT_EQ(cache.violation("[]", "{}"), std::nullopt);
  EXPECT_EQ(logs.count("JSON schema [] is not an object"), 1u);
  EXPECT_EQ(cache.violation(schema(1), R"({"a": 1, "b": 2})"), "(root): maxProperties");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.violation("[]", "{}"), std::nullopt);  // used: the most recent again
  EXPECT_EQ(cache.violation(schema(2), R"({"a": 1, "b": 2})"), std::nullopt);  // evicts schema(1)
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.violation("[]", "{}"), std::nullopt);
  EXPECT_EQ(logs.count("JSON schema [] is not an object"), 1u);  // still cached
  for (int n = 3; n < 300; ++n) EXPECT_EQ(cache.violation(schema(n), "{}"), std::nullopt);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.violation("[]", "{}"), std::nullopt);  // evicted meanwhile: compiled again
  EXPECT_EQ(logs.count("JSON schema [] is not an object"), 2u);
}

// ---- the pipeline: tag and failover

class Collector final : public AsyncRequestObserver {
 public:
  bool on_event(const StreamEvent&) override { return true; }
  bool on_raw(std::string_view bytes) override {
    raw += bytes;
    return true;
  }
  void on_complete(Outcome o) override { outcome = std::move(o); }
  std::string raw;
  std::optional<Outcome> outcome;
};

constexpr std::string_view kConfig = R"(
[[providers]]
name = "first"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
cost_per_1m_tokens = 1.0
[[providers]]
name = "second"
format = "openai"
base_url = "http://127.0.0.1:2/v1"
cost_per_1m_tokens = 2.0
[[providers]]
name = "third"
format = "openai"
base_url = "http://127.0.0.1:3/v1"
cost_per_1m_tokens = 3.0
[[routers]]
type = "price"
)";

struct Fixture {
  explicit Fixture(std::map<std::string, ScriptedProvider::Reply> scripts,
                   std::string_view extra = {}) {
    config = testing::config_from(std::string(extra) + std::string(kConfig));
    auto p = Pipeline::build(config, Registries::with_builtins());
    EXPECT_TRUE(p) << p.error().message;
    pipeline = *p;
    for (auto& [name, script] : scripts) {
      script.raw = name + " raw bytes";  // relayed when the call is a pass-through
      providers.emplace(name, std::make_unique<ScriptedProvider>(name, script));
    }
    sub = pipeline->events()->subscribe(64);
  }
  ProviderLookup lookup() {
    return [this](std::string_view name) -> const Provider* {
      auto it = providers.find(std::string(name));
      return it == providers.end() ? nullptr : it->second.get();
    };
  }
  Outcome handle(std::string_view body, WireFormat format = WireFormat::OpenAI) {
    return pipeline->handle(format, body, {}, lookup(), client, CancelFlag{false});
  }
  // The same request through Call::run_async (ScriptedProvider answers inline).
  Outcome handle_async(std::string_view body) {
    auto observer = std::make_shared<Collector>();
    auto call = std::shared_ptr<Call>(pipeline->start(WireFormat::OpenAI, body).release());
    Call::run_async(call, lookup(), observer);
    EXPECT_TRUE(observer->outcome);
    return observer->outcome ? std::move(*observer->outcome) : Outcome{};
  }
  std::string complete_event() {
    std::string e;
    std::string last;
    while (sub->next(e, std::chrono::milliseconds(0))) {
      if (e.find(R"("type":"complete")") != std::string::npos) last = e;
    }
    return last;
  }
  Config config;
  std::shared_ptr<const Pipeline> pipeline;
  std::map<std::string, std::unique_ptr<ScriptedProvider>> providers;
  std::unique_ptr<Subscription> sub;
  Collector client;
};

std::string body(std::string_view extra = {}) {
  return fmt::format(
      R"({{"model": "m", "messages": [{{"role": "user", "content": "order"}}]{},
          "response_format": {{"type": "json_schema", "json_schema": {{"name": "order", "schema": {}}}}}}})",
      extra, kPydanticSchema);
}

constexpr std::string_view kBadOrder =
    R"({"items": [{"name": "tea", "price": "cheap", "note": null, "size": "M", "tags": []}]})";
constexpr std::string_view kEnforce = "[routing]\nenforce_json_schema = true\n";

const std::vector<std::string>& tags_of(const Outcome& o) {
  static const std::vector<std::string> none;
  return o.response ? o.response->tags : none;
}

TEST(SchemaDispatchTest, AConformingReplyIsDeliveredAsIs) {
  Fixture f({{"first", ScriptedProvider::answers(std::string(kOrder))}}, kEnforce);
  Outcome o = f.handle(body());
  ASSERT_FALSE(o.error) << o.error->message;
  EXPECT_EQ(text_of(*o.response), kOrder);
  EXPECT_THAT(tags_of(o), IsEmpty());
  ASSERT_EQ(o.attempts.size(), 1u);
  EXPECT_TRUE(o.attempts[0].error.empty());
  EXPECT_TRUE(o.passthrough);  // the provider's own bytes go to the client
  EXPECT_FALSE(o.prepared->response_modified);
  EXPECT_EQ(f.client.raw, "first raw bytes");
}

TEST(SchemaDispatchTest, AReplyResponseHealingRepairsIsCheckedAfterTheRepair) {
  const std::string fenced = "```json\n" + std::string(kOrder) + "\n```";
  Fixture f(
      {{"first", ScriptedProvider::answers(fenced)}, {"second", ScriptedProvider::answers("{}")}},
      std::string(kEnforce) + "[plugins.response-healing]\nenabled = true\n");
  Outcome o = f.handle(body());
  ASSERT_FALSE(o.error) << o.error->message;
  EXPECT_EQ(text_of(*o.response), kOrder);
  EXPECT_THAT(tags_of(o), IsEmpty());
  EXPECT_EQ(o.attempts.size(), 1u);
  EXPECT_EQ(f.providers["second"]->calls(), 0);
  EXPECT_THAT(o.prepared->state.active_plugins, ElementsAre("response-healing"));

  // Without the repair the fenced text is no JSON at all.
  Fixture g({{"first", ScriptedProvider::answers(fenced)}});
  Outcome unhealed = g.handle(body());
  ASSERT_FALSE(unhealed.error) << unhealed.error->message;
  EXPECT_THAT(tags_of(unhealed), ElementsAre("schema-invalid"));
}

TEST(SchemaDispatchTest, NotEnforcedAReplyThatDoesNotMatchIsDeliveredTagged) {
  Fixture f({{"first", ScriptedProvider::answers(std::string(kBadOrder))},
             {"second", ScriptedProvider::answers()}});
  Outcome o = f.handle(body());
  ASSERT_FALSE(o.error) << o.error->message;
  EXPECT_EQ(text_of(*o.response), kBadOrder);
  EXPECT_THAT(tags_of(o), ElementsAre("schema-invalid"));
  ASSERT_EQ(o.attempts.size(), 1u);
  EXPECT_TRUE(o.attempts[0].error.empty());
  EXPECT_EQ(f.providers["second"]->calls(), 0);
  EXPECT_THAT(f.complete_event(), HasSubstr(R"("tags":["schema-invalid"]})"));
}

TEST(SchemaDispatchTest, EnforcedAReplyThatDoesNotMatchFailsOverToTheNextTarget) {
  for (const bool async : {false, true}) {
    SCOPED_TRACE(async ? "run_async" : "run");
    Fixture f({{"first", ScriptedProvider::answers(std::string(kBadOrder))},
               {"second", ScriptedProvider::answers(std::string(kOrder))}},
              kEnforce);
    Outcome o = async ? f.handle_async(body()) : f.handle(body());
    ASSERT_FALSE(o.error) << o.error->message;
    EXPECT_EQ(text_of(*o.response), kOrder);
    EXPECT_EQ(o.response->id, "id-second");
    EXPECT_THAT(tags_of(o), IsEmpty());
    ASSERT_EQ(o.attempts.size(), 2u);
    EXPECT_EQ(o.attempts[0].provider, "first");
    EXPECT_EQ(o.attempts[0].error, "reply does not match the schema: /items/0/price: type");
    EXPECT_EQ(o.attempts[1].provider, "second");
    EXPECT_TRUE(o.attempts[1].error.empty());
    EXPECT_DOUBLE_EQ(o.cost_usd, 15.0 / 1e6 * 2.0);
    // Both attempts were pass-throughs: the client must get the reply encoded from the
    // second, never the bytes relayed from the first.
    EXPECT_TRUE(o.prepared->response_modified);
    const std::string event = f.complete_event();
    EXPECT_THAT(event, HasSubstr("reply does not match the schema: /items/0/price: type"));
    EXPECT_THAT(event, HasSubstr(R"("tags":[]})"));
    // A schema violation is not the provider's failure.
    for (const ProviderSnapshot& p : f.pipeline->live()->snapshot()) {
      EXPECT_EQ(p.consecutive_failures, 0u) << p.name;
    }
  }
}

TEST(SchemaDispatchTest, EnforcedWithNoFallbackLeftTheLastReplyIsDeliveredTagged) {
  Fixture f({{"first", ScriptedProvider::answers("not json")},
             {"second", ScriptedProvider::answers(std::string(kBadOrder))},
             {"third", ScriptedProvider::answers(R"({"items": [], "x": 1})")}},
            kEnforce);
  Outcome o = f.handle(body());
  ASSERT_FALSE(o.error) << o.error->message;
  EXPECT_EQ(o.response->id, "id-third");
  EXPECT_THAT(tags_of(o), ElementsAre("schema-invalid"));
  ASSERT_EQ(o.attempts.size(), 3u);
  EXPECT_THAT(o.attempts[0].error, HasSubstr("reply does not match the schema: not JSON"));
  EXPECT_EQ(o.attempts[1].error, "reply does not match the schema: /items/0/price: type");
  EXPECT_TRUE(o.attempts[2].error.empty());

  // max_attempts = 1 leaves no fallback at all.
  Fixture g({{"first", ScriptedProvider::answers(std::string(kBadOrder))},
             {"second", ScriptedProvider::answers(std::string(kOrder))}},
            "[routing]\nenforce_json_schema = true\nmax_attempts = 1\n");
  Outcome one = g.handle(body());
  ASSERT_FALSE(one.error) << one.error->message;
  EXPECT_THAT(tags_of(one), ElementsAre("schema-invalid"));
  EXPECT_EQ(one.attempts.size(), 1u);
  EXPECT_EQ(g.providers["second"]->calls(), 0);
}

TEST(SchemaDispatchTest, AFallbackThatFailsEndsTheRequestWithItsError) {
  Fixture f({{"first", ScriptedProvider::answers(std::string(kBadOrder))},
             {"second", ScriptedProvider::fails(Errc::Upstream, "bad request", 400)}},
            kEnforce);
  Outcome o = f.handle(body());
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->message, "bad request");
  ASSERT_EQ(o.attempts.size(), 2u);
  EXPECT_THAT(o.attempts[0].error, HasSubstr("does not match the schema"));
}

TEST(SchemaDispatchTest, StreamsAndJsonObjectRequestsAreNotChecked) {
  Fixture f({{"first", ScriptedProvider::answers(std::string(kBadOrder))},
             {"second", ScriptedProvider::answers()}},
            kEnforce);
  Outcome streamed = f.handle(body(R"(, "stream": true)"));
  ASSERT_FALSE(streamed.error) << streamed.error->message;
  EXPECT_THAT(tags_of(streamed), IsEmpty());
  EXPECT_EQ(streamed.attempts.size(), 1u);

  Outcome object = f.handle(
      R"({"model": "m", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}})");
  ASSERT_FALSE(object.error) << object.error->message;
  EXPECT_THAT(tags_of(object), IsEmpty());
  EXPECT_EQ(object.attempts.size(), 1u);
  EXPECT_EQ(f.providers["second"]->calls(), 0);
}

TEST(SchemaDispatchTest, AnthropicAndResponsesSchemasAreCheckedToo) {
  Fixture f({{"first", ScriptedProvider::answers(std::string(kBadOrder))},
             {"second", ScriptedProvider::answers(std::string(kOrder))}},
            kEnforce);
  Outcome anthropic = f.handle(
      fmt::format(
          R"({{"model": "m", "max_tokens": 100, "messages": [{{"role": "user", "content": "order"}}],
                      "output_config": {{"format": {{"type": "json_schema", "schema": {}}}}}}})",
          kPydanticSchema),
      WireFormat::Anthropic);
  ASSERT_FALSE(anthropic.error) << anthropic.error->message;
  EXPECT_EQ(anthropic.response->id, "id-second");
  EXPECT_EQ(anthropic.attempts.size(), 2u);

  Fixture g({{"first", ScriptedProvider::answers(std::string(kBadOrder))}});
  Outcome responses = g.handle(fmt::format(R"({{"model": "m", "input": "order",
                      "text": {{"format": {{"type": "json_schema", "name": "order", "schema": {}}}}}}})",
                                           kPydanticSchema),
                               WireFormat::Responses);
  ASSERT_FALSE(responses.error) << responses.error->message;
  EXPECT_THAT(tags_of(responses), ElementsAre("schema-invalid"));
}

}  // namespace
}  // namespace llmrouter
