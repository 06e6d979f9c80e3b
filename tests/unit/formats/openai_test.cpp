// SPDX-License-Identifier: MIT
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/formats.h"
#include "support/decode_error.h"
#include "support/event_dump.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;

std::string decode_error(std::string_view body) {
  return testing::decode_error(WireFormat::OpenAI, body);
}

TEST(OpenAIRequestTest, ErrorsNameTheJsonPath) {
  EXPECT_THAT(decode_error("{"), HasSubstr("invalid JSON"));
  EXPECT_EQ(decode_error("[]"), "expected an object, found array");
  EXPECT_EQ(decode_error(R"({"messages":[]})"), "model: is required");
  EXPECT_EQ(decode_error(R"({"model":"m"})"), "messages: is required");
  EXPECT_EQ(decode_error(R"({"model":1,"messages":[]})"), "model: expected a string, found number");
  EXPECT_EQ(decode_error(R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":1}]}]})"),
            "messages[0].content[0].text: expected a string, found number");
  EXPECT_EQ(decode_error(R"({"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]})"),
            "messages[0].content[0].type: unsupported content part type 'video'");
  EXPECT_EQ(decode_error(R"({"model":"m","messages":[{"role":"robot","content":"x"}]})"),
            "messages[0].role: unknown role 'robot'; expected system, developer, user, assistant or tool");
  EXPECT_EQ(decode_error(R"({"model":"m","messages":[{"role":"tool","content":"x"}]})"),
            "messages[0].tool_call_id: is required");
  EXPECT_EQ(decode_error(R"({"model":"m","n":2,"messages":[{"role":"user","content":"x"}]})"),
            "n: only n = 1 is supported");
  EXPECT_EQ(decode_error(R"({"model":"m","max_tokens":-1,"messages":[{"role":"user","content":"x"}]})"),
            "max_tokens: must be between 0 and 4294967295, got -1");
  EXPECT_EQ(decode_error(R"({"model":"m","max_tokens":1e400,"messages":[]})").substr(0, 12), "invalid JSON");
  EXPECT_EQ(decode_error(R"({"model":"m","messages":[],"response_format":{"type":"xml"}})"),
            "response_format.type: unknown response format 'xml'; expected text, json_object or json_schema");
  EXPECT_EQ(decode_error(R"({"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{"name":"nope"}}})"),
            "tool_choice: names tool 'nope', which is not defined in tools");
}

TEST(OpenAIRequestTest, InvalidUtf8IsRejected) {
  EXPECT_THAT(decode_error("{\"model\":\"m\xff\",\"messages\":[]}"), HasSubstr("invalid JSON"));
}

TEST(OpenAIRequestTest, NullsMeanAbsent) {
  Result<CanonicalRequest> r = decode_request(
      WireFormat::OpenAI,
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":null,"tools":null,"temperature":null})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->max_tokens);
  EXPECT_TRUE(r->tools.empty());
}

TEST(OpenAIRequestTest, JsonObjectAndTextFormatsAreAccepted) {
  for (const char* type : {"json_object", "text"}) {
    Result<CanonicalRequest> r = decode_request(
        WireFormat::OpenAI, std::string(R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":")") + type + "\"}}");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->response_format);
  }
}

TEST(OpenAIRequestTest, MaxCompletionTokensSpellingIsKept) {
  Result<CanonicalRequest> r = decode_request(
      WireFormat::OpenAI, R"({"model":"o3","messages":[{"role":"user","content":"x"}],"max_completion_tokens":100})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->max_tokens, 100u);
  Result<std::string> out = encode_request(WireFormat::OpenAI, *r);
  ASSERT_TRUE(out);
  EXPECT_THAT(*out, HasSubstr(R"("max_completion_tokens":100)"));
}

TEST(OpenAIRequestTest, MalformedToolArgumentsSurviveAsText) {
  Result<CanonicalRequest> r = decode_request(WireFormat::OpenAI, R"({"model":"m","messages":[
    {"role":"user","content":"x"},
    {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\": tru"}}]},
    {"role":"tool","tool_call_id":"c1","content":"ok"}],
    "tools":[{"type":"function","function":{"name":"f"}}]})");
  ASSERT_TRUE(r) << r.error().message;
  // Back to OpenAI: the arguments are the model's text, unchanged.
  Result<std::string> openai = encode_request(WireFormat::OpenAI, *r);
  ASSERT_TRUE(openai);
  EXPECT_THAT(*openai, HasSubstr(R"("arguments":"{\"a\": tru")"));
  // To Anthropic, where input must be an object: {}.
  Result<std::string> anthropic = encode_request(WireFormat::Anthropic, *r);
  ASSERT_TRUE(anthropic);
  EXPECT_THAT(*anthropic, HasSubstr(R"("input":{})"));
}

std::vector<StreamEvent> decode_stream(std::string_view body, Result<void>* finish = nullptr) {
  auto d = make_stream_decoder(WireFormat::OpenAI);
  std::vector<StreamEvent> events;
  Result<void> r = d->feed(body, events);
  EXPECT_TRUE(r) << r.error().message;
  Result<void> f = d->finish(events);
  if (finish) *finish = f;
  return events;
}

TEST(OpenAIStreamTest, TruncatedStreamIsAnError) {
  Result<void> finish;
  decode_stream("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n", &finish);
  ASSERT_FALSE(finish);
  EXPECT_EQ(finish.error().message, "openai stream: stream ended before the reply was complete");
}

TEST(OpenAIStreamTest, InBandErrorBecomesAStreamError) {
  auto events = decode_stream("data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n");
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(std::holds_alternative<StreamError>(events.back()));
  EXPECT_EQ(std::get<StreamError>(events.back()).error.message, "overloaded");
}

TEST(OpenAIStreamTest, GarbageMidStreamIsAnError) {
  auto d = make_stream_decoder(WireFormat::OpenAI);
  std::vector<StreamEvent> events;
  Result<void> r = d->feed("data: {\"choices\":[]}\n\ndata: {not json\n\n", events);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Upstream);
  EXPECT_THAT(r.error().message, HasSubstr("openai response: invalid JSON"));
}

TEST(OpenAIStreamTest, ToolCallsWithStopFinishReasonAreReportedAsToolUse) {
  auto events = decode_stream(
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
      "data: [DONE]\n\n");
  ASSERT_TRUE(std::holds_alternative<Done>(events.back()));
  EXPECT_EQ(std::get<Done>(events.back()).stop_reason, StopReason::ToolUse);
}

TEST(OpenAIStreamEncoderTest, OneIdAndCreatedAcrossChunksRoleFirstDoneLast) {
  auto enc = make_stream_encoder(WireFormat::OpenAI, {});
  std::string out;
  enc->encode(MessageStart{"chatcmpl-1", "m", 1700000000, {}}, out);
  enc->encode(TextDelta{0, "Hi"}, out);
  enc->encode(BlockStop{0}, out);
  enc->encode(Done{}, out);
  EXPECT_EQ(out,
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\","
            "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\","
            "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\","
            "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
            "data: [DONE]\n\n");
  std::string after;
  enc->encode(TextDelta{0, "late"}, after);
  EXPECT_EQ(after, "");
}

TEST(OpenAIStreamEncoderTest, ErrorAfterStartIsSentInBand) {
  auto enc = make_stream_encoder(WireFormat::OpenAI, {});
  std::string out;
  enc->encode(TextDelta{0, "par"}, out);
  out.clear();
  enc->encode(StreamError{Error{Errc::Timeout, "upstream idle for 120 s", 0, "local"}}, out);
  EXPECT_EQ(out,
            "data: {\"error\":{\"message\":\"upstream idle for 120 s\",\"type\":\"timeout_error\",\"param\":null,\"code\":null}}\n\n");
}

TEST(OpenAIErrorTest, Envelope) {
  EXPECT_EQ(encode_error(WireFormat::OpenAI, Error{Errc::NoRoute, "no route for model 'x'", 0, ""}),
            R"({"error":{"message":"no route for model 'x'","type":"invalid_request_error","param":null,"code":null}})");
  EXPECT_EQ(encode_error(WireFormat::OpenAI, Error{Errc::Upstream, "slow down", 429, "openai"}),
            R"({"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}})");
}

}  // namespace
}  // namespace llmrouter
