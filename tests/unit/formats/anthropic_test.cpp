// SPDX-License-Identifier: MIT
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/formats.h"
#include "support/decode_error.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string decode_error(std::string_view body) {
  return testing::decode_error(WireFormat::Anthropic, body);
}

CanonicalRequest decode(std::string_view body) {
  Result<CanonicalRequest> r = decode_request(WireFormat::Anthropic, body);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : CanonicalRequest{};
}

TEST(AnthropicRequestTest, ErrorsNameTheJsonPath) {
  EXPECT_EQ(decode_error(R"({"model":"c","messages":[]})"), "max_tokens: is required");
  EXPECT_EQ(decode_error(R"({"model":"c","max_tokens":0,"messages":[]})"),
            "max_tokens: must be between 1 and 4294967295, got 0");
  EXPECT_EQ(decode_error(R"({"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64"}}]}]})"),
            "messages[0].content[0].source.data: is required");
  EXPECT_EQ(decode_error(R"({"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"text":"x"}]}]})"),
            "messages[0].content[0].type: is required");
  EXPECT_EQ(decode_error(R"({"model":"c","max_tokens":5,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"sometimes"}})"),
            "thinking.type: unknown thinking type 'sometimes'; expected enabled, disabled or adaptive");
  EXPECT_EQ(decode_error(R"({"model":"c","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"t"}]}]})"),
            "messages[0].content[0]: tool_result blocks belong in user messages");
  EXPECT_EQ(decode_error(R"({"model":"c","max_tokens":5,"system":[{"type":"image"}],"messages":[]})"),
            "system[0].type: system blocks must be text");
}

TEST(AnthropicRequestTest, UserTurnWithResultsSplitsIntoToolThenUser) {
  CanonicalRequest r = decode(R"({"model":"c","max_tokens":5,"messages":[
    {"role":"user","content":"hi"},
    {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r"},{"type":"text","text":"and?"}]}],
    "tools":[{"name":"f","input_schema":{"type":"object"}}]})");
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[2].role, Role::Tool);
  EXPECT_EQ(r.messages[3].role, Role::User);
  // Back to Anthropic: one user turn, results first.
  Result<std::string> out = encode_request(WireFormat::Anthropic, r);
  ASSERT_TRUE(out);
  EXPECT_THAT(*out, HasSubstr(R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r"},{"type":"text","text":"and?"}]})"));
  // To OpenAI: the tool message right after the assistant turn, then the user text.
  Result<std::string> oai = encode_request(WireFormat::OpenAI, r);
  ASSERT_TRUE(oai);
  EXPECT_THAT(*oai, HasSubstr(R"({"role":"tool","tool_call_id":"t1","content":"r"},{"role":"user","content":"and?"})"));
}

TEST(AnthropicRequestTest, UnknownBlocksAndServerToolsAreKeptForAnthropic) {
  CanonicalRequest r = decode(R"({"model":"c","max_tokens":5,"messages":[
    {"role":"user","content":"search"},
    {"role":"assistant","content":[{"type":"server_tool_use","id":"srv_1","name":"web_search","input":{"query":"x"}},
                                   {"type":"web_search_tool_result","tool_use_id":"srv_1","content":[]}]}],
    "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}]})");
  Result<std::string> out = encode_request(WireFormat::Anthropic, r);
  ASSERT_TRUE(out);
  EXPECT_THAT(*out, HasSubstr(R"({"type":"server_tool_use","id":"srv_1","name":"web_search","input":{"query":"x"}})"));
  EXPECT_THAT(*out, HasSubstr(R"("tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}])"));
  // Other formats cannot express them: dropped, the rest kept.
  Result<std::string> oai = encode_request(WireFormat::OpenAI, r);
  ASSERT_TRUE(oai);
  EXPECT_THAT(*oai, Not(HasSubstr("web_search")));
}

TEST(AnthropicRequestTest, UnsignedThinkingIsNotSentToAnthropic) {
  Result<CanonicalRequest> r = decode_request(WireFormat::OpenAI, R"({"model":"m","messages":[
    {"role":"user","content":"x"},{"role":"assistant","reasoning_content":"hmm","content":"y"},{"role":"user","content":"z"}]})");
  ASSERT_TRUE(r);
  Result<std::string> out = encode_request(WireFormat::Anthropic, *r);
  ASSERT_TRUE(out);
  EXPECT_THAT(*out, Not(HasSubstr("hmm")));
  EXPECT_THAT(*out, HasSubstr(R"({"role":"assistant","content":[{"type":"text","text":"y"}]})"));
  EXPECT_THAT(*out, HasSubstr(R"("max_tokens":8192)"));
}

TEST(AnthropicRequestTest, DisableParallelToolUse) {
  CanonicalRequest r = decode(R"({"model":"c","max_tokens":5,"messages":[{"role":"user","content":"x"}],
    "tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"any","disable_parallel_tool_use":true}})");
  EXPECT_EQ(r.parallel_tool_calls, false);
  ASSERT_TRUE(r.tool_choice);
  EXPECT_EQ(r.tool_choice->mode, ToolChoice::Mode::Required);
  Result<std::string> oai = encode_request(WireFormat::OpenAI, r);
  ASSERT_TRUE(oai);
  EXPECT_THAT(*oai, HasSubstr(R"("tool_choice":"required","parallel_tool_calls":false)"));
}

TEST(AnthropicStreamTest, ErrorEventAndTruncation) {
  auto d = make_stream_decoder(WireFormat::Anthropic);
  std::vector<StreamEvent> events;
  ASSERT_TRUE(d->feed("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", events));
  ASSERT_EQ(events.size(), 1u);
  const auto& err = std::get<StreamError>(events[0]).error;
  EXPECT_EQ(err.message, "Overloaded");
  EXPECT_EQ(err.status(), 529);

  auto t = make_stream_decoder(WireFormat::Anthropic);
  events.clear();
  ASSERT_TRUE(t->feed("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n", events));
  Result<void> f = t->finish(events);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "anthropic stream: stream ended before the reply was complete");
}

TEST(AnthropicStreamEncoderTest, InterleavedToolCallsAreSerialized) {
  auto enc = make_stream_encoder(WireFormat::Anthropic, {});
  std::string out;
  enc->encode(MessageStart{"msg_1", "m", 0, {}}, out);
  enc->encode(ToolCallStart{0, "a", "f"}, out);
  enc->encode(ToolCallStart{1, "b", "g"}, out);
  enc->encode(ToolCallDelta{1, "{\"y\":2}"}, out);
  enc->encode(ToolCallDelta{0, "{\"x\":1}"}, out);
  enc->encode(BlockStop{0}, out);
  enc->encode(BlockStop{1}, out);
  enc->encode(Done{StopReason::ToolUse, ""}, out);
  // Block 0 is complete on the wire before block 1 starts.
  const std::size_t start0 = out.find(R"("index":0,"content_block":{"type":"tool_use","id":"a")");
  const std::size_t delta0 = out.find(R"({\"x\":1})");
  const std::size_t stop0 = out.find(R"({"type":"content_block_stop","index":0})");
  const std::size_t start1 = out.find(R"("index":1,"content_block":{"type":"tool_use","id":"b")");
  const std::size_t delta1 = out.find(R"({\"y\":2})");
  ASSERT_NE(start1, std::string::npos);
  EXPECT_LT(start0, delta0);
  EXPECT_LT(delta0, stop0);
  EXPECT_LT(stop0, start1);
  EXPECT_LT(start1, delta1);
  EXPECT_THAT(out, HasSubstr("event: message_stop"));
}

TEST(AnthropicErrorTest, Envelope) {
  EXPECT_EQ(encode_error(WireFormat::Anthropic, Error{Errc::InvalidRequest, "messages: is required", 0, ""}),
            R"({"type":"error","error":{"type":"invalid_request_error","message":"messages: is required"}})");
  EXPECT_EQ(encode_error(WireFormat::Anthropic, Error{Errc::InvalidRequest, "too big", 413, ""}),
            R"({"type":"error","error":{"type":"request_too_large","message":"too big"}})");
}

}  // namespace
}  // namespace llmrouter

namespace llmrouter {
namespace {

TEST(AnthropicStreamTest, EmptyTextBlockLeavesNoTrace) {
  auto d = make_stream_decoder(WireFormat::Anthropic);
  std::vector<StreamEvent> events;
  // Deliver the block's start and stop in separate chunks: the decoder must remember across
  // feeds which blocks it has emitted.
  ASSERT_TRUE(d->feed("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"
                      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
                      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
                      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n",
                      events));
  events.clear();
  ASSERT_TRUE(d->feed("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
                      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
                      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
                      events));
  ASSERT_TRUE(d->finish(events));
  ASSERT_EQ(events.size(), 3u);  // stop[1], usage, done
  EXPECT_EQ(std::get<BlockStop>(events[0]).index, 1u);
}

}  // namespace
}  // namespace llmrouter
