// SPDX-License-Identifier: MIT
// Structured outputs through the Engine: a same-format reply relayed from the mock upstream
// that does not match the client's schema is refused, and the client gets only the
// fallback's reply.
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "llmrouter/engine.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"

namespace llmrouter {
namespace {

constexpr std::string_view kSchema =
    R"({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
        "additionalProperties": false})";

std::string body() {
  return fmt::format(R"({{"model": "m", "messages": [{{"role": "user", "content": "a city"}}],
      "response_format": {{"type": "json_schema", "json_schema": {{"name": "city", "schema": {}}}}}}})",
                     kSchema);
}

// "mock": the mock upstream in the client's format (pass-through; its reply is prose);
// "local": an in-process provider answering `text`.
Result<std::unique_ptr<Engine>> engine(const testing::MockUpstream& mock, std::string text,
                                       bool enforce) {
  EngineOptions o;
  o.getenv = [](const std::string&) { return std::optional<std::string>(); };
  o.loops = 2;
  auto local = std::make_shared<testing::ScriptedProvider>(
      "local", testing::ScriptedProvider::answers(std::move(text)));
  (void)o.registries.add_provider("local", [local](const ProviderConfig&, const ProviderContext&) {
    return Result<std::shared_ptr<const Provider>>(local);
  });
  return Engine::create(testing::config_from(fmt::format(R"(
[routing]
enforce_json_schema = {}
[[providers]]
name = "mock"
format = "openai"
base_url = "{}/v1"
[[providers]]
name = "local"
kind = "local"
format = "openai"
[[routers]]
type = "fallback"
providers = ["mock", "local"]
)",
                                                         enforce, mock.base_url())),
                        std::move(o));
}

Outcome complete(const Engine& e, std::string& out) {
  return e.complete(
      WireFormat::OpenAI, body(), {},
      [&](std::string_view b) {
        out += b;
        return true;
      },
      CancelFlag{false});
}

TEST(SchemaEngineTest, ARefusedPassThroughReplyNeverReachesTheClient) {
  testing::MockUpstream mock;
  auto e = engine(mock, R"({"city": "Paris"})", true);
  ASSERT_TRUE(e) << e.error().message;
  std::string out;
  Outcome o = complete(**e, out);
  ASSERT_FALSE(o.error) << o.error->message;
  ASSERT_EQ(o.attempts.size(), 2u);
  EXPECT_EQ(o.attempts[0].provider, "mock");
  EXPECT_EQ(o.attempts[0].error.rfind("reply does not match the schema: not JSON", 0), 0u)
      << o.attempts[0].error;
  EXPECT_EQ(o.attempts[1].provider, "local");
  EXPECT_TRUE(o.response->tags.empty());
  // One chat.completion, the fallback's, encoded: none of the mock's relayed bytes.
  EXPECT_NE(out.find(R"(\"city\": \"Paris\")"), std::string::npos) << out;
  EXPECT_EQ(out.find("Checking both cities"), std::string::npos) << out;
  EXPECT_EQ(out.find("chatcmpl-xyz789"), std::string::npos) << out;
  ASSERT_NE(out.find("\"choices\""), std::string::npos);
  EXPECT_EQ(out.find("\"choices\""), out.rfind("\"choices\""));
}

TEST(SchemaEngineTest, NotEnforcedThePassThroughReplyIsDeliveredTagged) {
  testing::MockUpstream mock;
  auto e = engine(mock, R"({"city": "Paris"})", false);
  ASSERT_TRUE(e) << e.error().message;
  std::string out;
  Outcome o = complete(**e, out);
  ASSERT_FALSE(o.error) << o.error->message;
  ASSERT_EQ(o.attempts.size(), 1u);
  EXPECT_TRUE(o.passthrough);
  EXPECT_EQ(o.response->tags, std::vector<std::string>{"schema-invalid"});
  EXPECT_NE(out.find("Checking both cities"), std::string::npos) << out;
}

}  // namespace
}  // namespace llmrouter
