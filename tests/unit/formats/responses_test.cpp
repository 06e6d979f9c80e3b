// SPDX-License-Identifier: MIT
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/formats.h"
#include "support/decode_error.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;

TEST(ResponsesRequestTest, PreviousResponseIdAndStoreAreRead) {
  Result<CanonicalRequest> r =
      decode_request(WireFormat::Responses,
                     R"({"model":"m","input":"hi","previous_response_id":"resp_1","store":false})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->previous_response_id, "resp_1");
  EXPECT_EQ(r->store, false);
  ASSERT_EQ(r->messages.size(), 1u);

  Result<CanonicalRequest> plain =
      decode_request(WireFormat::Responses,
                     R"({"model":"m","input":"hi","previous_response_id":null,"store":null})");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_TRUE(plain->previous_response_id.empty());
  EXPECT_FALSE(plain->store);

  Result<CanonicalRequest> bad =
      decode_request(WireFormat::Responses, R"({"model":"m","input":"hi","store":"no"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status(), 400);
  EXPECT_THAT(bad.error().message, HasSubstr("store"));
}

TEST(ResponsesRequestTest, ConversationIsAClearError) {
  Result<CanonicalRequest> r = decode_request(
      WireFormat::Responses, R"({"model":"m","input":"hi","conversation":"conv_1"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status(), 400);
  EXPECT_EQ(r.error().message,
            "conversation: is not supported: continue a conversation with previous_response_id, or "
            "send the "
            "whole conversation in input");
}

TEST(ResponsesRequestTest, StringInputAndInstructions) {
  Result<CanonicalRequest> r = decode_request(WireFormat::Responses,
                                              R"({"model":"m","instructions":"be brief","input":"hi","max_output_tokens":50})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(system_text(*r), "be brief");
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_EQ(text_of(r->messages[0]), "hi");
  EXPECT_EQ(r->max_tokens, 50u);
}

TEST(ResponsesRequestTest, ParallelCallsMergeIntoOneAssistantTurn) {
  Result<CanonicalRequest> r = decode_request(WireFormat::Responses, R"({"model":"m","input":[
    {"role":"user","content":"go"},
    {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
    {"type":"function_call","call_id":"c2","name":"f","arguments":"{}"},
    {"type":"function_call_output","call_id":"c1","output":"a"},
    {"type":"function_call_output","call_id":"c2","output":"b"}],
    "tools":[{"type":"function","name":"f","parameters":{"type":"object"}}]})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->messages.size(), 3u);
  EXPECT_EQ(r->messages[1].role, Role::Assistant);
  EXPECT_EQ(r->messages[1].content.size(), 2u);
  EXPECT_EQ(r->messages[2].role, Role::Tool);
  EXPECT_EQ(r->messages[2].content.size(), 2u);
  Result<std::string> oai = encode_request(WireFormat::OpenAI, *r);
  ASSERT_TRUE(oai);
  EXPECT_THAT(*oai, HasSubstr(R"("tool_calls":[{"id":"c1")"));
  EXPECT_THAT(*oai, HasSubstr(R"({"role":"tool","tool_call_id":"c1","content":"a"},{"role":"tool","tool_call_id":"c2","content":"b"})"));
}

TEST(ResponsesRequestTest, ErrorsNameTheJsonPath) {
  Result<CanonicalRequest> r = decode_request(WireFormat::Responses,
                                              R"({"model":"m","input":[{"type":"function_call","name":"f"}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "input[0].call_id: is required");
  r = decode_request(WireFormat::Responses, R"({"model":"m","input":[{"type":"item_reference","id":"x"}]})");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("input[0].type: item_reference is not supported"));
}

// Client input is read strictly, as in Chat: a wrongly typed field is a 400 naming its
// path, never silently ignored.
std::string decode_error(std::string_view body) {
  return testing::decode_error(WireFormat::Responses, body);
}

TEST(ResponsesRequestTest, WronglyTypedFieldsNameTheirPath) {
  EXPECT_EQ(decode_error(R"({"model":"m","input":[{"role":"user","content":[
              {"type":"input_file","file_id":5}]}]})"),
            "input[0].content[0].file_id: expected a string, found number");
  EXPECT_EQ(decode_error(R"({"model":"m","input":[{"role":"user","content":[
              {"type":"input_file","filename":["a"],"file_id":"f"}]}]})"),
            "input[0].content[0].filename: expected a string, found array");
  EXPECT_EQ(decode_error(R"({"model":"m","input":[{"role":"user","content":[
              {"type":"input_image","file_id":true}]}]})"),
            "input[0].content[0].file_id: expected a string, found boolean");
  EXPECT_EQ(decode_error(R"({"model":"m","input":[{"role":"user","content":[
              {"type":"input_image","image_url":"https://x/y.png","detail":1}]}]})"),
            "input[0].content[0].detail: expected a string, found number");
  EXPECT_EQ(decode_error(R"({"model":"m","input":[{"type":7,"role":"user","content":"x"}]})"),
            "input[0].type: expected a string, found number");
  EXPECT_EQ(decode_error(R"({"model":"m","input":[{"type":"function_call","call_id":"c","name":"f",
              "arguments":{}}]})"),
            "input[0].arguments: expected a string, found object");
  EXPECT_EQ(decode_error(R"({"model":"m","input":[{"type":"reasoning","summary":"s"}]})"),
            "input[0].summary: expected an array, found string");
  EXPECT_EQ(decode_error(R"({"model":"m","input":[{"type":"reasoning","summary":[{"text":2}]}]})"),
            "input[0].summary[0].text: expected a string, found number");
  EXPECT_EQ(decode_error(R"({"model":"m","input":"x","tools":[{"type":"web_search","name":3}]})"),
            "tools[0].name: expected a string, found number");
  EXPECT_EQ(decode_error(R"({"model":"m","input":"x","tool_choice":{"type":1}})"),
            "tool_choice.type: expected a string, found number");
  EXPECT_EQ(decode_error(R"({"model":"m","input":"x","text":{"format":{"type":"json_schema",
              "name":1,"schema":{}}}})"),
            "text.format.name: expected a string, found number");
  EXPECT_EQ(decode_error(R"({"model":"m","input":"x","reasoning":{"effort":1}})"),
            "reasoning.effort: expected a string, found number");
}

TEST(ResponsesRequestTest, AbsentAndNullOptionalFieldsAreFine) {
  Result<CanonicalRequest> r = decode_request(WireFormat::Responses, R"({"model":"m","input":[
    {"role":"user","content":[{"type":"input_file","file_id":null,"filename":null,
      "file_data":"data:application/pdf;base64,QQ=="}]},
    {"type":"reasoning","summary":[{"type":"summary_text","text":"t"}]}],
    "reasoning":{"effort":null}})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->messages.size(), 2u);
  const auto* doc = std::get_if<DocumentBlock>(&r->messages[0].content[0]);
  ASSERT_NE(doc, nullptr);
  EXPECT_EQ(doc->source, SourceKind::Base64);
  EXPECT_EQ(r->reasoning_effort, "");
}

TEST(ResponsesStreamEncoderTest, FullEventSequence) {
  auto enc = make_stream_encoder(WireFormat::Responses, {});
  std::string out;
  enc->encode(MessageStart{"x", "m", 0, {}}, out);
  enc->encode(TextDelta{0, "Hi"}, out);
  enc->encode(BlockStop{0}, out);
  enc->encode(ToolCallStart{1, "call_1", "f"}, out);
  enc->encode(ToolCallDelta{1, "{}"}, out);
  enc->encode(BlockStop{1}, out);
  enc->encode(Done{StopReason::ToolUse, ""}, out);
  std::vector<std::string> types;
  for (std::size_t pos = out.find("event: "); pos != std::string::npos; pos = out.find("event: ", pos + 1)) {
    types.push_back(out.substr(pos + 7, out.find('\n', pos) - pos - 7));
  }
  EXPECT_EQ(types, (std::vector<std::string>{
                       "response.created", "response.in_progress", "response.output_item.added",
                       "response.content_part.added", "response.output_text.delta",
                       "response.output_text.done", "response.content_part.done",
                       "response.output_item.done", "response.output_item.added",
                       "response.function_call_arguments.delta",
                       "response.function_call_arguments.done", "response.output_item.done",
                       "response.completed"}));
  // The final output array carries both items, complete.
  const std::string completed = out.substr(out.rfind("event: response.completed"));
  EXPECT_THAT(completed, HasSubstr(R"("content":[{"type":"output_text","text":"Hi","annotations":[],"logprobs":[]}])"));
  EXPECT_THAT(completed, HasSubstr(R"("type":"function_call","status":"completed","call_id":"call_1","name":"f","arguments":"{}")"));
}

TEST(ResponsesStreamEncoderTest, FailureIsResponseFailed) {
  auto enc = make_stream_encoder(WireFormat::Responses, {});
  std::string out;
  enc->encode(TextDelta{0, "x"}, out);
  out.clear();
  enc->encode(StreamError{Error{Errc::Upstream, "boom", 0, ""}}, out);
  EXPECT_THAT(out, HasSubstr("event: response.failed\n"));
  EXPECT_THAT(out, HasSubstr(R"("status":"failed","error":{"code":"server_error","message":"boom"})"));
}

TEST(ResponsesResponseTest, MaxTokensIsIncomplete) {
  Response resp;
  resp.id = "resp_1";
  resp.content.push_back(TextBlock{"partial", std::nullopt, {}});
  resp.stop_reason = StopReason::MaxTokens;
  const std::string out = encode_response(WireFormat::Responses, resp);
  EXPECT_THAT(out, HasSubstr(R"("status":"incomplete")"));
  EXPECT_THAT(out, HasSubstr(R"("incomplete_details":{"reason":"max_output_tokens"})"));
}

}  // namespace
}  // namespace llmrouter
