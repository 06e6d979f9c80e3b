// SPDX-License-Identifier: MIT
// The endpoints beside the conversation APIs: /v1/embeddings and /v1/completions.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/formats.h"
#include "support/base64_floats.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The float32 values of a base64 string (little-endian), as the OpenAI SDKs decode it.
using testing::decode_base64_floats;

std::string between(const std::string& s, std::string_view open, std::string_view close) {
  const std::size_t a = s.find(open);
  if (a == std::string::npos) return {};
  const std::size_t b = s.find(close, a + open.size());
  return s.substr(a + open.size(),
                  b == std::string::npos ? std::string::npos : b - a - open.size());
}

TEST(EndpointRequestTest, EmbeddingsDecodeWhatRoutingAndTranslationNeed) {
  auto r = decode_endpoint_request(
      Endpoint::Embeddings,
      R"({"model":"nomic","input":["a","bc"],"encoding_format":"base64","dimensions":8,"user":"u1"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->endpoint, Endpoint::Embeddings);
  EXPECT_EQ(r->model, "nomic");
  EXPECT_EQ(r->encoding_format, "base64");
  EXPECT_EQ(r->user, "u1");
  EXPECT_TRUE(needed_capabilities(*r).contains(Capability::Embedding));

  for (const char* input : {R"("one")", "[1,2,3]", "[[1,2],[3]]"}) {
    auto ok = decode_endpoint_request(Endpoint::Embeddings,
                                      std::string(R"({"model":"m","input":)") + input + "}");
    EXPECT_TRUE(ok) << input << ": " << ok.error().message;
  }
}

TEST(EndpointRequestTest, BadEmbeddingsRequestsAreClear400s) {
  struct Case {
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {R"({"input":"x"})", "model"},
      {R"({"model":"m"})", "input"},
      {R"({"model":"m","input":[]})", "input: must not be empty"},
      {R"({"model":"m","input":[["a"]]})", "input[0][0]"},
      {R"({"model":"m","input":{"a":1}})", "input"},
      {R"({"model":"m","input":"x","encoding_format":"int8"})", "'float' or 'base64'"},
      {R"({"model":"m","input":"x","dimensions":0})", "dimensions"},
      {R"({"model":"m","model":"n","input":"x"})", "model"},
      {"[1]", ""},
  };
  for (const Case& c : cases) {
    auto r = decode_endpoint_request(Endpoint::Embeddings, c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().status(), 400) << c.body;
    EXPECT_THAT(r.error().message, HasSubstr(c.message)) << c.body;
  }
}

TEST(EndpointRequestTest, CompletionsNeedAPromptAndReadStreaming) {
  auto r = decode_endpoint_request(
      Endpoint::Completions,
      R"({"model":"m","prompt":"Say","stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->endpoint, Endpoint::Completions);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->stream_include_usage);
  EXPECT_FALSE(needed_capabilities(*r).contains(Capability::Embedding));
  auto missing = decode_endpoint_request(Endpoint::Completions, R"({"model":"m"})");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("prompt"));
  EXPECT_FALSE(decode_endpoint_request(Endpoint::Completions,
                                       R"({"model":"m","prompt":"x","stream":"yes"})"));
}

TEST(EndpointEncodeTest, OpenAIProvidersGetTheClientsBodyRetargeted) {
  const std::string body =
      R"({"model":"alias","input":"hi","encoding_format":"base64","extra":{"k":[1]},"plugins":[]})";
  auto req = decode_endpoint_request(Endpoint::Embeddings, body);
  ASSERT_TRUE(req);
  req->model = "text-embedding-3-small";
  auto out = encode_endpoint_request(WireFormat::OpenAI, *req, body);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(
      *out,
      R"({"model":"text-embedding-3-small","input":"hi","encoding_format":"base64","extra":{"k":[1]}})");
}

TEST(EndpointEncodeTest, OllamaGetsItsEmbedBodyAndTextOnly) {
  const std::string body =
      R"({"model":"alias","input":["a","b"],"dimensions":2,"encoding_format":"base64"})";
  auto req = decode_endpoint_request(Endpoint::Embeddings, body);
  ASSERT_TRUE(req);
  req->model = "nomic-embed-text";
  auto out = encode_endpoint_request(WireFormat::Ollama, *req, body);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, R"({"model":"nomic-embed-text","input":["a","b"],"dimensions":2})");

  const std::string tokens = R"({"model":"m","input":[1,2,3]})";
  auto treq = decode_endpoint_request(Endpoint::Embeddings, tokens);
  ASSERT_TRUE(treq);
  auto refused = encode_endpoint_request(WireFormat::Ollama, *treq, tokens);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status(), 400);
  EXPECT_THAT(refused.error().message, HasSubstr("text only"));
}

TEST(EndpointEncodeTest, FormatsWithoutTheEndpointAreA400ThatSaysSo) {
  const std::string body = R"({"model":"m","prompt":"x"})";
  auto req = decode_endpoint_request(Endpoint::Completions, body);
  ASSERT_TRUE(req);
  for (WireFormat f : {WireFormat::Anthropic, WireFormat::Ollama, WireFormat::Responses}) {
    auto out = encode_endpoint_request(f, *req, body);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().status(), 400);
    EXPECT_THAT(out.error().message,
                HasSubstr("/v1/completions is served by openai providers only"));
    EXPECT_THAT(out.error().message, HasSubstr(std::string(wire_format_name(f))));
  }
  const std::string eb = R"({"model":"m","input":"x"})";
  auto ereq = decode_endpoint_request(Endpoint::Embeddings, eb);
  ASSERT_TRUE(ereq);
  auto out = encode_endpoint_request(WireFormat::Anthropic, *ereq, eb);
  ASSERT_FALSE(out);
  EXPECT_THAT(out.error().message,
              HasSubstr("/v1/embeddings is served by openai and ollama providers only"));
}

TEST(EndpointReplyTest, OllamaVectorsBecomeOpenAIsListWithUsage) {
  CanonicalRequest req;
  req.endpoint = Endpoint::Embeddings;
  req.model = "nomic-embed-text";
  auto reply = decode_endpoint_reply(
      WireFormat::Ollama, req,
      R"({"model":"nomic-embed-text","embeddings":[[0.5,-0.25,1e-3],[2,0,-1]],"total_duration":1,"prompt_eval_count":7})");
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(
      reply->body,
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25,0.001]},)"
      R"({"object":"embedding","index":1,"embedding":[2,0,-1]}],"model":"nomic-embed-text",)"
      R"("usage":{"prompt_tokens":7,"total_tokens":7}})");
  EXPECT_EQ(reply->response.usage.input_tokens, 7u);
  EXPECT_EQ(reply->response.model, "nomic-embed-text");
  EXPECT_TRUE(reply->response.content.empty());
}

TEST(EndpointReplyTest, OllamaVectorsAreBase64Float32WhenAsked) {
  CanonicalRequest req;
  req.endpoint = Endpoint::Embeddings;
  req.encoding_format = "base64";
  // 1, 2 and 3 values: every base64 padding case.
  auto reply = decode_endpoint_reply(
      WireFormat::Ollama, req, R"({"model":"m","embeddings":[[0.5],[-1.25,3],[0.1,2,-0.75]]})");
  ASSERT_TRUE(reply) << reply.error().message;
  const std::vector<std::vector<float>> want = {{0.5f}, {-1.25f, 3.0f}, {0.1f, 2.0f, -0.75f}};
  std::string rest = reply->body;
  for (const auto& w : want) {
    const std::string b64 = between(rest, R"("embedding":")", "\"");
    ASSERT_FALSE(b64.empty()) << reply->body;
    EXPECT_EQ(decode_base64_floats(b64), w) << b64;
    rest = rest.substr(rest.find(b64) + b64.size());
  }
  EXPECT_THAT(reply->body, Not(HasSubstr("[0.5]")));
}

TEST(EndpointReplyTest, BrokenProviderRepliesAreUpstreamErrors) {
  CanonicalRequest req;
  req.endpoint = Endpoint::Embeddings;
  for (const char* body :
       {"", "{", R"({"embeddings":"x"})", R"({"embeddings":[["a"]]})", R"({"model":"m"})"}) {
    auto r = decode_endpoint_reply(WireFormat::Ollama, req, body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, Errc::Upstream) << body;
  }
  auto openai = decode_endpoint_reply(WireFormat::OpenAI, req, R"({"object":"list"})");
  ASSERT_FALSE(openai);
  EXPECT_THAT(openai.error().message, HasSubstr("data"));
}

TEST(EndpointReplyTest, OpenAIRepliesPassAsTheyCameAndAreReadForTheLog) {
  CanonicalRequest req;
  req.endpoint = Endpoint::Embeddings;
  const std::string body =
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAAPw=="}],"model":"e3","usage":{"prompt_tokens":3,"total_tokens":3}})";
  auto reply = decode_endpoint_reply(WireFormat::OpenAI, req, body);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->body, body);
  EXPECT_EQ(reply->response.usage.input_tokens, 3u);

  req.endpoint = Endpoint::Completions;
  const std::string completion =
      R"({"id":"cmpl-1","object":"text_completion","model":"m","choices":[{"text":" hi","index":0,"finish_reason":"length"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}})";
  auto c = decode_endpoint_reply(WireFormat::OpenAI, req, completion);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->body, completion);
  EXPECT_EQ(c->response.id, "cmpl-1");
  EXPECT_EQ(c->response.stop_reason, StopReason::MaxTokens);
  EXPECT_EQ(c->response.usage.output_tokens, 1u);
  ASSERT_EQ(c->response.content.size(), 1u);
  EXPECT_EQ(std::get<TextBlock>(c->response.content[0]).text, " hi");
}

TEST(CompletionsStreamTest, ChunksBecomeTextUsageAndDoneWhateverTheBoundaries) {
  const std::string stream =
      "data: "
      "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"m\",\"choices\":[{\"text\":\" "
      "mock\",\"index\":0,\"finish_reason\":null}]}\n\n"
      "data: "
      "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"m\",\"choices\":[{\"text\":\" "
      "completion\",\"index\":0,\"finish_reason\":\"stop\"}]}\n\n"
      "data: "
      "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"m\",\"choices\":[],\"usage\":{"
      "\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n"
      "data: [DONE]\n\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, stream.size()}) {
    auto d = make_completions_stream_decoder();
    std::vector<StreamEvent> events;
    for (std::size_t i = 0; i < stream.size(); i += step) {
      ASSERT_TRUE(d->feed(std::string_view(stream).substr(i, step), events));
    }
    ASSERT_TRUE(d->finish(events));
    ResponseAssembler a;
    for (const StreamEvent& e : events) ASSERT_TRUE(a.add(e));
    auto r = a.finish();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->id, "cmpl-1");
    ASSERT_EQ(r->content.size(), 1u);
    EXPECT_EQ(std::get<TextBlock>(r->content[0]).text, " mock completion");
    EXPECT_EQ(r->usage.output_tokens, 2u);
    EXPECT_EQ(r->stop_reason, StopReason::EndTurn);
  }
}

TEST(CompletionsStreamTest, ACutStreamAndAnErrorEventFail) {
  auto cut = make_completions_stream_decoder();
  std::vector<StreamEvent> events;
  ASSERT_TRUE(cut->feed(
      "data: {\"choices\":[{\"text\":\"a\",\"index\":0,\"finish_reason\":null}]}\n\n", events));
  auto end = cut->finish(events);
  ASSERT_FALSE(end);
  EXPECT_THAT(end.error().message, HasSubstr("ended before the reply was complete"));

  auto err = make_completions_stream_decoder();
  events.clear();
  ASSERT_TRUE(err->feed("data: {\"error\":{\"message\":\"overloaded\"}}\n\n", events));
  ASSERT_FALSE(events.empty());
  const auto* e = std::get_if<StreamError>(&events.back());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->error.message, "overloaded");

  auto garbage = make_completions_stream_decoder();
  events.clear();
  EXPECT_FALSE(garbage->feed("data: {nope\n\n", events));
}

}  // namespace
}  // namespace llmrouter
