// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "llmrouter/formats.h"

namespace llmrouter {
namespace {

std::string pass(std::string_view body, std::string_view model = {}) {
  Result<std::string> r = passthrough_request(body, model);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : std::string();
}

TEST(PassthroughTest, KeepsEveryByteWhenNothingChanges) {
  const std::string body =
      "{ \"model\" : \"gpt-4o\",\n  \"future_field\": {\"x\": [1.50, 2e3]}, \"messages\": [] }";
  EXPECT_EQ(pass(body), body);
}

TEST(PassthroughTest, ReplacesOnlyTheModel) {
  EXPECT_EQ(pass(R"({"model": "local/llama", "temperature": 0.70, "x": "model"})", "llama3.2-3b"),
            R"({"model": "llama3.2-3b", "temperature": 0.70, "x": "model"})");
}

TEST(PassthroughTest, RemovesPluginsWherever) {
  EXPECT_EQ(pass(R"({"plugins":[{"id":"a"}],"model":"m"})"), R"({"model":"m"})");
  EXPECT_EQ(pass(R"({"model":"m","plugins":[{"id":"a","s":"}]"}],"stream":true})"),
            R"({"model":"m","stream":true})");
  EXPECT_EQ(pass(R"({"model":"m", "stream":true, "plugins":[]})"), R"({"model":"m", "stream":true})");
  EXPECT_EQ(pass(R"({"model":"m","plugins":[]})", "n"), R"({"model":"n"})");
  EXPECT_EQ(pass(R"({"plugins":[]})"), R"({})");
}

TEST(PassthroughTest, AKeyTwiceIsRefusedWhateverItsEscapes) {
  // A reader that takes the last "model" would send the second one, not the routed model.
  for (std::string_view body : {R"({"model":"a","mod\u0065l":"big"})", R"({"model":"a","model":"big"})",
                                R"({"m\u006fdel":"a","model":"big"})", R"({"x":1,"stream":true,"x":2})"}) {
    Result<std::string> r = passthrough_request(body, "n");
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().status(), 400);
    EXPECT_NE(r.error().message.find("more than once"), std::string::npos);
    for (WireFormat client : {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Responses}) {
      auto decoded = decode_request(client, body);  // refused before routing too
      ASSERT_FALSE(decoded) << body;
      EXPECT_EQ(decoded.error().status(), 400);
      EXPECT_NE(decoded.error().message.find("more than once"), std::string::npos) << body;
    }
  }
  // Many keys (the decoder sorts them rather than comparing pairwise): still found.
  std::string many = R"({"model":"a","messages":[{"role":"user","content":"hi"}])";
  for (int i = 0; i < 40; ++i) many += ",\"x" + std::to_string(i) + "\":1";
  EXPECT_TRUE(decode_request(WireFormat::OpenAI, many + "}"));
  auto twice = decode_request(WireFormat::OpenAI, many + R"(,"x7":2})");
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("'x7' more than once"), std::string::npos)
      << twice.error().message;
  // An escaped key that is the only "model" is the model, and is replaced.
  EXPECT_EQ(pass(R"({"mod\u0065l":"a","messages":[]})", "n"), R"({"mod\u0065l":"n","messages":[]})");
  // Escapes that decode to different keys are different keys.
  EXPECT_EQ(pass(R"({"a\"b":1,"a\\b":2,"model":"m"})"), R"({"a\"b":1,"a\\b":2,"model":"m"})");
}

TEST(PassthroughTest, KeysThatLookAlikeAreUntouched) {
  const std::string body = R"({"metadata":{"model":"x","plugins":1},"model":"m"})";
  EXPECT_EQ(pass(body, "n"), R"({"metadata":{"model":"x","plugins":1},"model":"n"})");
}

TEST(PassthroughTest, EscapesTheNewModel) {
  EXPECT_EQ(pass(R"({"model":"m"})", "a\"b"), R"({"model":"a\"b"})");
}

TEST(PassthroughTest, RejectsNonObjects) {
  EXPECT_FALSE(passthrough_request("[1,2]", ""));
  EXPECT_FALSE(passthrough_request("{\"a\":", ""));
}

}  // namespace
}  // namespace llmrouter
