// SPDX-License-Identifier: MIT
// The Responses API as a provider format: request encoding from every client format,
// response decoding, and the event stream decoder.
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "formats/common.h"
#include "llmrouter/formats.h"
#include "support/event_dump.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string encode(WireFormat client, std::string_view body) {
  Result<CanonicalRequest> req = decode_request(client, body);
  EXPECT_TRUE(req) << req.error().message;
  if (!req) return {};
  Result<std::string> out = encode_request(WireFormat::Responses, *req);
  EXPECT_TRUE(out) << out.error().message;
  return out ? *out : std::string();
}

TEST(ResponsesProviderRequestTest, FromAChatRequest) {
  const std::string out = encode(WireFormat::OpenAI, R"({
    "model": "gpt-5", "max_completion_tokens": 300, "temperature": 0.5, "top_p": 0.9,
    "reasoning_effort": "low", "user": "u1", "prompt_cache_key": "k1", "metadata": {"team": "a"},
    "parallel_tool_calls": false, "stream": true, "seed": 7, "stop": ["END"],
    "tool_choice": {"type": "function", "function": {"name": "get_time"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "t", "strict": true,
      "schema": {"type": "object", "properties": {"t": {"type": "string"}}}}},
    "tools": [{"type": "function", "function": {"name": "get_time", "description": "Time",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Time in Paris?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO", "detail": "low"}}]},
      {"role": "assistant", "content": "Checking.", "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "get_time", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "14:05"},
      {"role": "system", "content": "Answer in French."}]})");
  EXPECT_EQ(
      out,
      R"({"model":"gpt-5","instructions":"Be brief.","input":[)"
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"Time in Paris?"},)"
      R"({"type":"input_image","image_url":"data:image/png;base64,iVBO","detail":"low"}]},)"
      R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Checking."}]},)"
      R"({"type":"function_call","call_id":"call_1","name":"get_time","arguments":"{\"city\":\"Paris\"}"},)"
      R"({"type":"function_call_output","call_id":"call_1","output":"14:05"},)"
      R"({"type":"message","role":"developer","content":[{"type":"input_text","text":"Answer in French."}]}],)"
      R"("tools":[{"type":"function","name":"get_time","description":"Time",)"
      R"("parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":false}],)"
      R"("tool_choice":{"type":"function","name":"get_time"},"parallel_tool_calls":false,)"
      R"("max_output_tokens":300,"temperature":0.5,"top_p":0.9,"reasoning":{"effort":"low"},)"
      R"("text":{"format":{"type":"json_schema","name":"t","schema":{"type":"object","properties":{"t":{"type":"string"}}},"strict":true}},)"
      R"("metadata":{"team":"a"},"user":"u1","prompt_cache_key":"k1","stream":true})");
}

TEST(ResponsesProviderRequestTest, FromAMessagesRequest) {
  const std::string out = encode(WireFormat::Anthropic, R"({
    "model": "claude", "max_tokens": 1024, "system": [{"type": "text", "text": "You help."}],
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "tool_choice": {"type": "any"},
    "tools": [{"name": "read", "input_schema": {"type": "object"}},
              {"type": "web_search_20250305", "name": "web_search"}],
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "Read it"},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}, "title": "spec.pdf"}]},
      {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {"path": "a"}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true, "content": "no such file"},
        {"type": "text", "text": "Try again"}]}]})");
  EXPECT_EQ(
      out,
      R"({"model":"claude","instructions":"You help.","input":[)"
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"Read it"},)"
      R"({"type":"input_file","file_data":"data:application/pdf;base64,JVBE","filename":"spec.pdf"}]},)"
      R"({"type":"function_call","call_id":"toolu_1","name":"read","arguments":"{\"path\":\"a\"}"},)"
      R"({"type":"function_call_output","call_id":"toolu_1","output":"Error: no such file"},)"
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"Try again"}]}],)"
      R"("tools":[{"type":"function","name":"read","parameters":{"type":"object"},"strict":false}],)"
      R"("tool_choice":"required","max_output_tokens":1024,"stream":false})");
}

// The reasoning item is not sent on: without its id and encrypted content OpenAI refuses it.
TEST(ResponsesProviderRequestTest, FromAResponsesRequestBuiltInItemsTravelAsTheyWere) {
  const std::string out = encode(WireFormat::Responses, R"({
    "model": "gpt-5-codex", "instructions": "Code.", "store": false,
    "reasoning": {"effort": "high"}, "text": {"format": {"type": "json_object"}},
    "tools": [{"type": "function", "name": "shell", "strict": true, "parameters": {"type": "object"}},
              {"type": "web_search"}],
    "input": [
      {"role": "user", "content": [{"type": "input_text", "text": "go"},
        {"type": "input_file", "file_id": "file_1"}, {"type": "input_image", "image_url": "https://x/y.png"}]},
      {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "plan"}]},
      {"type": "local_shell_call", "id": "lsh_1", "call_id": "c0", "status": "completed",
       "action": {"type": "exec", "command": ["ls"]}},
      {"type": "local_shell_call_output", "id": "lsh_1", "call_id": "c0", "output": "a b"},
      {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{\"cmd\":\"ls\"}"},
      {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "a"},
        {"type": "input_image", "image_url": "data:image/png;base64,AA"}]}]})");
  EXPECT_EQ(
      out,
      R"({"model":"gpt-5-codex","store":false,"instructions":"Code.","input":[)"
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"go"},)"
      R"({"type":"input_file","file_id":"file_1"},{"type":"input_image","image_url":"https://x/y.png","detail":"auto"}]},)"
      R"({"type":"local_shell_call","id":"lsh_1","call_id":"c0","status":"completed","action":{"type":"exec","command":["ls"]}},)"
      R"({"type":"local_shell_call_output","id":"lsh_1","call_id":"c0","output":"a b"},)"
      R"({"type":"function_call","call_id":"c1","name":"shell","arguments":"{\"cmd\":\"ls\"}"},)"
      R"({"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"a"},)"
      R"({"type":"input_image","image_url":"data:image/png;base64,AA","detail":"auto"}]}],)"
      R"("tools":[{"type":"function","name":"shell","parameters":{"type":"object"},"strict":true},{"type":"web_search"}],)"
      R"("reasoning":{"effort":"high"},"text":{"format":{"type":"json_object"}},"stream":false})");
}

TEST(ResponsesProviderRequestTest, AConversationTheRouterDoesNotHoldGoesToTheProvider) {
  // previous_response_id still set: the router did not hold it, the provider may.
  const std::string out = encode(
      WireFormat::Responses,
      R"({"model":"m","previous_response_id":"resp_abc","store":false,"input":"and then?"})");
  EXPECT_THAT(out, HasSubstr(R"("model":"m","previous_response_id":"resp_abc","store":false,)"));
  const std::string plain = encode(WireFormat::Responses, R"({"model":"m","input":"hi"})");
  EXPECT_THAT(plain, Not(HasSubstr("previous_response_id")));
  EXPECT_THAT(plain, Not(HasSubstr("\"store\"")));
}

TEST(ResponsesProviderRequestTest, OtherFormatsBuiltInToolsAreDropped) {
  const std::string out =
      encode(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"hi"}],
    "tools":[{"type":"web_search_preview"}]})");
  EXPECT_THAT(out, Not(HasSubstr("tools")));
  EXPECT_THAT(out, Not(HasSubstr("web_search")));
}

// ---- Responses

Result<Response> decode(std::string_view body) {
  return decode_response(WireFormat::Responses, body);
}

TEST(ResponsesProviderResponseTest, OutputItemsAndUsage) {
  Result<Response> r =
      decode(R"({"id":"resp_1","object":"response","created_at":1700000001,"status":"completed",
    "model":"gpt-5","output":[
      {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"a"},{"type":"summary_text","text":"b"}]},
      {"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"x"}},
      {"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"hello","annotations":[]}]},
      {"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}],
    "usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":40},"output_tokens":20,
             "output_tokens_details":{"reasoning_tokens":8},"total_tokens":120}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->id, "resp_1");
  EXPECT_EQ(r->model, "gpt-5");
  EXPECT_EQ(r->created, 1700000001);
  ASSERT_EQ(r->content.size(), 4u);
  EXPECT_EQ(std::get<ThinkingBlock>(r->content[0]).thinking, "a\n\nb");
  EXPECT_EQ(std::get<OpaqueBlock>(r->content[1]).origin, WireFormat::Responses);
  EXPECT_THAT(std::get<OpaqueBlock>(r->content[1]).json.text,
              HasSubstr(R"("type":"web_search_call")"));
  EXPECT_EQ(std::get<TextBlock>(r->content[2]).text, "hello");
  const auto& call = std::get<ToolUseBlock>(r->content[3]);
  EXPECT_EQ(call.id, "call_1");
  EXPECT_EQ(call.name, "f");
  EXPECT_EQ(call.input.text, R"({"a":1})");
  EXPECT_EQ(r->stop_reason, StopReason::ToolUse);
  EXPECT_EQ(r->usage, (Usage{100, 20, 40, 0, 8}));
}

TEST(ResponsesProviderResponseTest, IncompleteAndRefusal) {
  Result<Response> r =
      decode(R"({"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},
    "output":[{"type":"message","content":[{"type":"output_text","text":"cut"}]}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->stop_reason, StopReason::MaxTokens);
  r = decode(
      R"({"id":"r","status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stop_reason, StopReason::ContentFilter);
  r = decode(
      R"({"id":"r","status":"completed","output":[{"type":"message","content":[{"type":"refusal","refusal":"I can't help with that."}]}]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stop_reason, StopReason::Refusal);
  EXPECT_EQ(text_of(*r), "I can't help with that.");
}

TEST(ResponsesProviderResponseTest, FailedIsAnUpstreamError) {
  Result<Response> r = decode(
      R"({"id":"r","status":"failed","error":{"code":"server_error","message":"The model failed"},"output":[]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Upstream);
  EXPECT_EQ(r.error().status(), 502);
  EXPECT_EQ(r.error().message, "responses response: server_error: The model failed");
  r = decode(R"({"status":"failed","error":{"code":"rate_limit_exceeded","message":"slow down"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status(), 429);
  r = decode(R"({"id":"r","status":"in_progress","output":[]})");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("'in_progress', not complete"));
  r = decode(R"({"id":"r","status":"completed"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "responses response: output: is required");
  r = decode(R"({"id":"r","status":"completed","output":[{"type":"function_call","name":"f"}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "responses response: output[0].call_id: is required");
  r = decode("not json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Upstream);
}

// ---- Streams

struct Decoded {
  std::vector<StreamEvent> events;
  Result<void> end;
};

// Feeds `body` in pieces of `piece` bytes (0: whole), then finishes.
Decoded decode_stream(std::string_view body, std::size_t piece = 0) {
  Decoded d{{}, {}};
  auto decoder = make_stream_decoder(WireFormat::Responses);
  const std::size_t n = piece ? piece : body.size();
  for (std::size_t pos = 0; pos < body.size(); pos += n) {
    if (auto r = decoder->feed(body.substr(pos, n), d.events); !r) {
      d.end = r;
      return d;
    }
  }
  d.end = decoder->finish(d.events);
  return d;
}

std::string ev(std::string_view type, std::string_view fields) {
  std::string out = "event: ";
  out.append(type).append("\ndata: {\"type\":\"").append(type).append("\"");
  if (!fields.empty()) out.append(",").append(fields);
  return out + "}\n\n";
}

const std::string kCreated = ev(
    "response.created",
    R"("response":{"id":"resp_1","model":"gpt-5","created_at":1700000000,"status":"in_progress","output":[]})");

std::string read_fixture(const std::string& name) {
  std::ifstream in(LLMROUTER_SOURCE_DIR "/tests/data/formats/upstream/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ResponsesProviderStreamTest, ByteByByteEqualsWhole) {
  const std::string body = read_fixture("responses_stream.sse");
  ASSERT_FALSE(body.empty());
  detail::set_deterministic_ids_for_testing(true);
  Decoded whole = decode_stream(body);
  Decoded bytes = decode_stream(body, 1);
  detail::set_deterministic_ids_for_testing(false);
  ASSERT_TRUE(whole.end) << whole.end.error().message;
  ASSERT_TRUE(bytes.end) << bytes.end.error().message;
  EXPECT_EQ(testing::dump(bytes.events), testing::dump(whole.events));
  // Every event of the recorded stream that carries content shows.
  const std::string dump = testing::dump(whole.events);
  EXPECT_THAT(dump, HasSubstr("thinking[0] \"**Checking times**\\n\\n\""));
  EXPECT_THAT(dump, HasSubstr("thinking[0] \"\\n\\nI will call get_time twice.\""));
  EXPECT_THAT(dump, HasSubstr("tool_delta[2] \"{\\\"city\\\":\""));
  EXPECT_THAT(dump, HasSubstr("usage in=812 out=141 cache_read=512 cache_write=0 reasoning=64"));
  EXPECT_THAT(dump, HasSubstr("done tool_use"));
}

TEST(ResponsesProviderStreamTest, TextAndUsage) {
  const std::string body =
      kCreated +
      ev("response.in_progress", R"("response":{"id":"resp_1","status":"in_progress"})") +
      ev("response.output_item.added",
         R"("output_index":0,"item":{"type":"message","id":"m1","content":[]})") +
      ev("response.content_part.added",
         R"("output_index":0,"content_index":0,"part":{"type":"output_text","text":""})") +
      ev("response.output_text.delta", R"("output_index":0,"content_index":0,"delta":"Hel")") +
      ev("response.output_text.delta", R"("output_index":0,"content_index":0,"delta":"lo")") +
      ev("response.some_future_event", R"("output_index":0,"x":1)") +
      ev("response.output_text.done", R"("output_index":0,"content_index":0,"text":"Hello")") +
      ev("response.content_part.done",
         R"("output_index":0,"content_index":0,"part":{"type":"output_text","text":"Hello"})") +
      ev("response.output_item.done",
         R"("output_index":0,"item":{"type":"message","id":"m1","content":[{"type":"output_text","text":"Hello"}]})") +
      ev("response.completed",
         R"("response":{"id":"resp_1","status":"completed","usage":{"input_tokens":5,"output_tokens":2}})");
  Decoded d = decode_stream(body);
  ASSERT_TRUE(d.end) << d.end.error().message;
  EXPECT_EQ(testing::dump(d.events),
            "message_start id=resp_1 model=gpt-5 created=1700000000 in=0 out=0 cache_read=0 "
            "cache_write=0 reasoning=0\n"
            "text[0] \"Hel\"\n"
            "text[0] \"lo\"\n"
            "stop[0]\n"
            "usage in=5 out=2 cache_read=0 cache_write=0 reasoning=0\n"
            "done end_turn \"\"\n");
}

TEST(ResponsesProviderStreamTest, FunctionCallArgumentsAndReasoningText) {
  const std::string body =
      kCreated +
      ev("response.output_item.added",
         R"("output_index":0,"item":{"type":"reasoning","id":"rs","summary":[]})") +
      ev("response.reasoning_text.delta", R"("output_index":0,"content_index":0,"delta":"think")") +
      ev("response.reasoning_text.done", R"("output_index":0,"content_index":0,"text":"think")") +
      ev("response.output_item.done",
         R"("output_index":0,"item":{"type":"reasoning","id":"rs","summary":[]})") +
      ev("response.output_item.added",
         R"("output_index":1,"item":{"type":"function_call","id":"fc","call_id":"call_9","name":"f","arguments":""})") +
      ev("response.function_call_arguments.delta",
         R"("output_index":1,"item_id":"fc","delta":"{\"a\":")") +
      ev("response.function_call_arguments.delta",
         R"("output_index":1,"item_id":"fc","delta":"1}")") +
      ev("response.function_call_arguments.done",
         R"("output_index":1,"item_id":"fc","arguments":"{\"a\":1}")") +
      ev("response.output_item.done",
         R"("output_index":1,"item":{"type":"function_call","id":"fc","call_id":"call_9","name":"f","arguments":"{\"a\":1}"})") +
      ev("response.completed", R"("response":{"status":"completed"})");
  Decoded d = decode_stream(body);
  ASSERT_TRUE(d.end) << d.end.error().message;
  EXPECT_EQ(testing::dump(d.events),
            "message_start id=resp_1 model=gpt-5 created=1700000000 in=0 out=0 cache_read=0 "
            "cache_write=0 reasoning=0\n"
            "thinking[0] \"think\"\n"
            "stop[0]\n"
            "tool_start[1] id=call_9 name=f\n"
            "tool_delta[1] \"{\\\"a\\\":\"\n"
            "tool_delta[1] \"1}\"\n"
            "stop[1]\n"
            "done tool_use \"\"\n");
}

TEST(ResponsesProviderStreamTest, ArgumentsOnlyInDoneAndItemsOnlyWhole) {
  // A server that sends the arguments only in .done, and an item only in output_item.done.
  const std::string body =
      kCreated +
      ev("response.output_item.added",
         R"("output_index":0,"item":{"type":"function_call","call_id":"c","name":"f"})") +
      ev("response.function_call_arguments.done", R"("output_index":0,"arguments":"{}")") +
      ev("response.output_item.done",
         R"("output_index":0,"item":{"type":"function_call","call_id":"c","name":"f","arguments":"{}"})") +
      ev("response.output_item.done",
         R"("output_index":1,"item":{"type":"message","content":[{"type":"output_text","text":"whole"}]})") +
      ev("response.completed", R"("response":{"status":"completed"})");
  Decoded d = decode_stream(body);
  ASSERT_TRUE(d.end) << d.end.error().message;
  EXPECT_EQ(testing::dump(d.events),
            "message_start id=resp_1 model=gpt-5 created=1700000000 in=0 out=0 cache_read=0 "
            "cache_write=0 reasoning=0\n"
            "tool_start[0] id=c name=f\n"
            "tool_delta[0] \"{}\"\n"
            "stop[0]\n"
            "text[1] \"whole\"\n"
            "stop[1]\n"
            "done tool_use \"\"\n");
}

TEST(ResponsesProviderStreamTest, OutputOnlyInTheFinalEvent) {
  // A server that streams nothing but the final response: its output is the reply. Items
  // that were streamed are not repeated.
  const std::string body =
      kCreated +
      ev("response.output_text.delta", R"("output_index":0,"content_index":0,"delta":"a")") +
      ev("response.completed",
         R"("response":{"status":"completed","output":[)"
         R"({"type":"message","content":[{"type":"output_text","text":"a"}]},)"
         R"({"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]})");
  Decoded d = decode_stream(body);
  ASSERT_TRUE(d.end) << d.end.error().message;
  EXPECT_EQ(testing::dump(d.events),
            "message_start id=resp_1 model=gpt-5 created=1700000000 in=0 out=0 cache_read=0 "
            "cache_write=0 reasoning=0\n"
            "text[0] \"a\"\n"
            "tool_start[1] id=c name=f\n"
            "tool_delta[1] \"{}\"\n"
            "stop[0]\n"
            "stop[1]\n"
            "done tool_use \"\"\n");
}

TEST(ResponsesProviderStreamTest, Refusal) {
  const std::string body =
      kCreated +
      ev("response.output_item.added",
         R"("output_index":0,"item":{"type":"message","content":[]})") +
      ev("response.content_part.added",
         R"("output_index":0,"content_index":0,"part":{"type":"refusal","refusal":""})") +
      ev("response.refusal.delta", R"("output_index":0,"content_index":0,"delta":"I can't")") +
      ev("response.refusal.done", R"("output_index":0,"content_index":0,"refusal":"I can't")") +
      ev("response.content_part.done",
         R"("output_index":0,"content_index":0,"part":{"type":"refusal","refusal":"I can't"})") +
      ev("response.output_item.done",
         R"("output_index":0,"item":{"type":"message","content":[{"type":"refusal","refusal":"I can't"}]})") +
      ev("response.completed", R"("response":{"status":"completed"})");
  Decoded d = decode_stream(body);
  ASSERT_TRUE(d.end) << d.end.error().message;
  EXPECT_EQ(testing::dump(d.events),
            "message_start id=resp_1 model=gpt-5 created=1700000000 in=0 out=0 cache_read=0 "
            "cache_write=0 reasoning=0\n"
            "text[0] \"I can't\"\n"
            "stop[0]\n"
            "done refusal \"\"\n");
}

TEST(ResponsesProviderStreamTest, Incomplete) {
  const std::string body =
      kCreated +
      ev("response.output_text.delta", R"("output_index":0,"content_index":0,"delta":"abc")") +
      ev("response.incomplete",
         R"("response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":3,"output_tokens":9}})");
  Decoded d = decode_stream(body);
  ASSERT_TRUE(d.end) << d.end.error().message;
  EXPECT_EQ(testing::dump(d.events),
            "message_start id=resp_1 model=gpt-5 created=1700000000 in=0 out=0 cache_read=0 "
            "cache_write=0 reasoning=0\n"
            "text[0] \"abc\"\n"
            "stop[0]\n"
            "usage in=3 out=9 cache_read=0 cache_write=0 reasoning=0\n"
            "done max_tokens \"\"\n");
  d = decode_stream(
      kCreated +
      ev("response.incomplete",
         R"("response":{"status":"incomplete","incomplete_details":{"reason":"content_filter"}})"));
  ASSERT_TRUE(d.end);
  EXPECT_EQ(testing::dump(d.events.back()), "done content_filter \"\"");
}

TEST(ResponsesProviderStreamTest, FailedAndErrorEventsEndTheStream) {
  Decoded d = decode_stream(
      kCreated +
      ev("response.output_text.delta", R"("output_index":0,"content_index":0,"delta":"a")") +
      ev("response.failed",
         R"("response":{"status":"failed","error":{"code":"server_error","message":"boom"}})") +
      ev("response.output_text.delta", R"("output_index":0,"content_index":0,"delta":"ignored")"));
  ASSERT_TRUE(d.end) << d.end.error().message;
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(testing::dump(d.events[2]), "error upstream \"server_error: boom\"");

  d = decode_stream(
      kCreated +
      ev("error", R"("code":"rate_limit_exceeded","message":"Rate limit reached","param":null)"));
  ASSERT_TRUE(d.end);
  ASSERT_EQ(d.events.size(), 2u);
  const Error& e = std::get<StreamError>(d.events[1]).error;
  EXPECT_EQ(e.message, "rate_limit_exceeded: Rate limit reached");
  EXPECT_EQ(e.status(), 429);
}

TEST(ResponsesProviderStreamTest, AStreamCutShortIsAnError) {
  Decoded d = decode_stream(kCreated + ev("response.output_text.delta",
                                          R"("output_index":0,"content_index":0,"delta":"a")"));
  ASSERT_FALSE(d.end);
  EXPECT_EQ(d.end.error().message, "responses stream: stream ended before the reply was complete");
  EXPECT_EQ(d.end.error().code, Errc::Upstream);
  // Cut inside the final event.
  const std::string completed = ev("response.completed", R"("response":{"status":"completed"})");
  d = decode_stream(kCreated + completed.substr(0, completed.size() - 3));
  ASSERT_FALSE(d.end);
}

TEST(ResponsesProviderStreamTest, MalformedEventsAreErrors) {
  Decoded d = decode_stream(kCreated + "data: {broken\n\n");
  ASSERT_FALSE(d.end);
  EXPECT_THAT(d.end.error().message, HasSubstr("responses response: invalid JSON"));
  d = decode_stream(
      kCreated + ev("response.function_call_arguments.delta", R"("output_index":4,"delta":"{}")"));
  ASSERT_FALSE(d.end);
  EXPECT_THAT(d.end.error().message, HasSubstr("before its function call"));
  d = decode_stream(
      kCreated +
      ev("response.output_item.added", R"("output_index":0,"item":{"type":"reasoning"})") +
      ev("response.reasoning_summary_text.delta", R"("output_index":0,"delta":"a")") +
      ev("response.output_text.delta", R"("output_index":0,"content_index":-2,"delta":"b")"));
  ASSERT_FALSE(d.end);
  EXPECT_EQ(d.end.error().message,
            "responses stream: response.output_text.delta with a negative content_index");
}

}  // namespace
}  // namespace llmrouter
