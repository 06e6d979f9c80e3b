// SPDX-License-Identifier: MIT
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/formats.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(OllamaRequestTest, ToolResultsNameTheirToolAndImagesAreBase64) {
  Result<CanonicalRequest> r = decode_request(WireFormat::OpenAI, R"({"model":"qwen3","messages":[
    {"role":"user","content":[{"type":"text","text":"look"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]},
    {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_time","arguments":"{\"city\":\"Paris\"}"}}]},
    {"role":"tool","tool_call_id":"c1","content":"14:05"}],
    "tools":[{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}],
    "max_tokens":100,"temperature":0.2,"response_format":{"type":"json_object"}})");
  ASSERT_TRUE(r) << r.error().message;
  Result<std::string> out = encode_request(WireFormat::Ollama, *r);
  ASSERT_TRUE(out);
  EXPECT_THAT(*out, HasSubstr(R"({"role":"user","content":"look","images":["AAAA"]})"));
  EXPECT_THAT(*out, Not(HasSubstr("example.com")));
  EXPECT_THAT(*out, HasSubstr(R"("tool_calls":[{"id":"c1","type":"function","function":{"name":"get_time","arguments":{"city":"Paris"}}}])"));
  EXPECT_THAT(*out, HasSubstr(R"({"role":"tool","content":"14:05","tool_name":"get_time","tool_call_id":"c1"})"));
  EXPECT_THAT(*out, HasSubstr(R"("format":"json","options":{"temperature":0.2,"num_predict":100})"));
}

TEST(OllamaResponseTest, ToolCallIdsAreUnique) {
  const std::string body =
      R"({"model":"q","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{}}},{"function":{"name":"f","arguments":{}}}]},"done":true,"done_reason":"stop"})";
  Result<Response> a = decode_response(WireFormat::Ollama, body);
  Result<Response> b = decode_response(WireFormat::Ollama, body);
  ASSERT_TRUE(a && b);
  auto ca = tool_calls(*a);
  auto cb = tool_calls(*b);
  ASSERT_EQ(ca.size(), 2u);
  EXPECT_NE(ca[0]->id, ca[1]->id);
  EXPECT_NE(ca[0]->id, cb[0]->id);
  EXPECT_EQ(a->stop_reason, StopReason::ToolUse);
}

TEST(OllamaStreamTest, ErrorLineAndMissingDone) {
  auto d = make_stream_decoder(WireFormat::Ollama);
  std::vector<StreamEvent> events;
  ASSERT_TRUE(d->feed("{\"model\":\"q\",\"message\":{\"content\":\"a\"},\"done\":false}\n{\"error\":\"model crashed\"}\n", events));
  ASSERT_TRUE(std::holds_alternative<StreamError>(events.back()));
  EXPECT_EQ(std::get<StreamError>(events.back()).error.message, "model crashed");

  auto t = make_stream_decoder(WireFormat::Ollama);
  events.clear();
  ASSERT_TRUE(t->feed("{\"model\":\"q\",\"message\":{\"content\":\"a\"},\"done\":false}\n", events));
  Result<void> f = t->finish(events);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "ollama stream: stream ended before the reply was complete");
}

TEST(OllamaStreamTest, LengthIsMaxTokens) {
  auto d = make_stream_decoder(WireFormat::Ollama);
  std::vector<StreamEvent> events;
  ASSERT_TRUE(d->feed("{\"model\":\"q\",\"message\":{\"content\":\"a\"},\"done\":true,\"done_reason\":\"length\",\"prompt_eval_count\":3,\"eval_count\":9}\n", events));
  ASSERT_TRUE(d->finish(events));
  EXPECT_EQ(std::get<Done>(events.back()).stop_reason, StopReason::MaxTokens);
  EXPECT_EQ(std::get<UsageUpdate>(events[events.size() - 2]).usage.output_tokens, 9u);
}

}  // namespace
}  // namespace llmrouter
