// SPDX-License-Identifier: MIT
// /v1/embeddings and /v1/completions as a client of llmrouter-server sees them: routed by
// the rules, sent to OpenAI- and Ollama-format mocks, answered in OpenAI's shape with the
// X-Router-* headers, and logged.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>

#include "server.h"
#include "support/base64_floats.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using testing::decode_base64_floats;

std::vector<testing::MockModel> models_with_an_embedder() {
  std::vector<testing::MockModel> models = testing::default_mock_models();
  testing::MockModel embed;
  embed.name = "nomic-embed-text";
  embed.capabilities = {"embedding"};
  embed.family = "nomic-bert";
  models.push_back(embed);
  return models;
}

class ServerEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MockUpstream::Options o;
    o.models = models_with_an_embedder();
    node_ = std::make_unique<testing::MockUpstream>(o);
    log_path_ = std::filesystem::temp_directory_path() /
                fmt::format("llmrouter-endpoints-{}.jsonl", ::getpid());
    std::filesystem::remove(log_path_);
    router_ = std::make_unique<testing::RunningServer>(testing::config_from(
        fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
[logging]
enabled = true
path = "{log}"
[[providers]]
name = "oai"
format = "openai"
base_url = "{cloud}/v1"
[[providers]]
name = "chat-only"
format = "openai"
base_url = "{cloud}/v1"
capabilities = ["completion"]
[[providers]]
name = "claude"
format = "anthropic"
base_url = "{cloud}"
[[providers]]
name = "local"
format = "ollama"
base_url = "{node}"
[[routers]]
type = "prefix"
model_prefix = "claude"
provider = "claude"
[[routers]]
type = "prefix"
model_prefix = "embed-alias"
provider = "local"
rewrite_model = "nomic-embed-text"
[[routers]]
type = "prefix"
model_prefix = "emb-"
provider = "chat-only"
[[routers]]
type = "prefix"
model_prefix = "emb-"
provider = "oai"
[[routers]]
type = "prefix"
model_prefix = "mixed-"
provider = "claude"
[[routers]]
type = "prefix"
model_prefix = "mixed-"
provider = "oai"
[[routers]]
type = "prefix"
model_prefix = "gpt"
provider = "oai"
[[routers]]
type = "prefix"
model_prefix = "text-embedding"
provider = "oai"
[[routers]]
type = "discover"
provider = "local"
)",
                    fmt::arg("log", log_path_.string()), fmt::arg("cloud", cloud_.base_url()),
                    fmt::arg("node", node_->base_url()))));
    // Discovery runs at start-up: wait until the embedder is known.
    auto cli = router_->client();
    ASSERT_TRUE(testing::wait_until(
        [&] {
          auto r = cli.Get("/v1/models");
          return r && r->body.find("nomic-embed-text") != std::string::npos;
        },
        std::chrono::seconds(10)));
  }
  void TearDown() override {
    router_.reset();
    std::filesystem::remove(log_path_);
  }

  httplib::Result post(std::string_view path, const std::string& body) {
    auto cli = router_->client();
    return cli.Post(std::string(path), body, "application/json");
  }

  // The log lines written so far (the log is written behind the requests).
  std::string log_text() {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  testing::MockUpstream cloud_;
  std::unique_ptr<testing::MockUpstream> node_;
  std::filesystem::path log_path_;
  std::unique_ptr<testing::RunningServer> router_;
};

TEST_F(ServerEndpointsTest, EmbeddingsGoToAnOpenAIProviderAsTheyCame) {
  auto r = post("/v1/embeddings",
                R"({"model":"text-embedding-3-small","input":["hello","hi"],"user":"u"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("X-Router-Provider"), "oai");
  EXPECT_EQ(r->get_header_value("X-Router-Model"), "text-embedding-3-small");
  EXPECT_EQ(r->get_header_value("X-Router-Input-Tokens"), "1");
  EXPECT_FALSE(r->get_header_value("X-Router-Request-Id").empty());
  EXPECT_THAT(
      r->body,
      HasSubstr(R"("data":[{"object":"embedding","index":0,"embedding":[5,0.25,-0.5,0.75]})"));
  EXPECT_THAT(r->body, HasSubstr(R"({"object":"embedding","index":1,"embedding":[2,0.5,-1,1.5]})"));
  EXPECT_EQ(cloud_.last_body("/v1/embeddings"),
            R"({"model":"text-embedding-3-small","input":["hello","hi"],"user":"u"})");
}

TEST_F(ServerEndpointsTest, EmbeddingsGoToOllamaTranslatedAndBase64WhenAsked) {
  auto r =
      post("/v1/embeddings",
           R"({"model":"embed-alias","input":"hello","encoding_format":"base64","dimensions":3})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("X-Router-Provider"), "local");
  EXPECT_EQ(r->get_header_value("X-Router-Model"), "nomic-embed-text");
  EXPECT_EQ(node_->last_body("/api/embed"),
            R"({"model":"nomic-embed-text","input":"hello","dimensions":3})");
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(r->body);
  std::string_view b64 = doc["data"].at(0)["embedding"].get_string();
  EXPECT_EQ(decode_base64_floats(b64), (std::vector<float>{5.0f, 0.25f, -0.5f}));
  EXPECT_EQ(std::string_view(doc["object"].get_string()), "list");
  EXPECT_EQ(std::string_view(doc["model"].get_string()), "nomic-embed-text");
  EXPECT_EQ(uint64_t(doc["usage"]["prompt_tokens"].get_uint64()), 1u);

  // Floats by default; a discovered embedding model is routed by the discover rule.
  auto f = post("/v1/embeddings", R"({"model":"nomic-embed-text","input":["abc","abcd"]})");
  ASSERT_TRUE(f);
  ASSERT_EQ(f->status, 200) << f->body;
  EXPECT_EQ(f->get_header_value("X-Router-Provider"), "local");
  EXPECT_THAT(f->body, HasSubstr(R"("embedding":[3,0.25,-0.5,0.75])"));
  EXPECT_THAT(f->body, HasSubstr(R"("embedding":[4,0.5,-1,1.5])"));
}

TEST_F(ServerEndpointsTest, EmbeddingsSkipProvidersWithoutTheCapability) {
  // The first "emb-" rule's provider declares no `embedding`: the next rule serves it.
  auto r = post("/v1/embeddings", R"({"model":"emb-small","input":"x"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("X-Router-Provider"), "oai");
  // A chat request on the same model takes the first rule.
  auto chat = post("/v1/chat/completions",
                   R"({"model":"emb-small","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->get_header_value("X-Router-Provider"), "chat-only");
}

TEST_F(ServerEndpointsTest, ATargetWhoseFormatLacksTheEndpointIsSkipped) {
  auto r = post("/v1/embeddings", R"({"model":"mixed-e","input":"x"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("X-Router-Provider"), "oai");
  EXPECT_EQ(cloud_.requests("/v1/messages"), 0);
}

TEST_F(ServerEndpointsTest, EndpointsAFormatLacksAreClear400s) {
  auto r = post("/v1/embeddings", R"({"model":"claude-embed","input":"x"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(
      r->body,
      HasSubstr("provider 'claude': /v1/embeddings is served by openai and ollama providers only"));
  EXPECT_THAT(r->body, HasSubstr(R"("type":"invalid_request_error")"));

  auto c = post("/v1/completions", R"({"model":"gemma2:2b","prompt":"Say hi"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, 400);
  EXPECT_THAT(
      c->body,
      HasSubstr("/v1/completions is served by openai providers only; this one speaks ollama"));
  EXPECT_EQ(node_->requests("/v1/completions"), 0);

  auto tokens = post("/v1/embeddings", R"({"model":"embed-alias","input":[1,2,3]})");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->status, 400);
  EXPECT_THAT(tokens->body, HasSubstr("text only"));

  auto bad = post("/v1/embeddings", R"({"model":"x","input":"a","encoding_format":"int8"})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, HasSubstr("encoding_format"));
  EXPECT_THAT(bad->body, HasSubstr(R"({"error":{)"));
}

TEST_F(ServerEndpointsTest, CompletionsPassThroughWholeAndStreamed) {
  auto r = post("/v1/completions",
                R"({"model":"gpt-3.5-turbo-instruct","prompt":"Say","max_tokens":5})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("X-Router-Provider"), "oai");
  EXPECT_EQ(r->get_header_value("X-Router-Output-Tokens"), "2");
  EXPECT_THAT(r->body, HasSubstr(R"("object":"text_completion")"));
  EXPECT_THAT(r->body, HasSubstr(R"("text":" mock completion")"));
  EXPECT_EQ(cloud_.last_body("/v1/completions"),
            R"({"model":"gpt-3.5-turbo-instruct","prompt":"Say","max_tokens":5})");

  auto s = post(
      "/v1/completions",
      R"({"model":"gpt-3.5-turbo-instruct","prompt":"Say","stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->status, 200) << s->body;
  EXPECT_EQ(s->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_THAT(s->body, HasSubstr(R"("text":" mock")"));
  EXPECT_THAT(s->body, HasSubstr(R"("completion_tokens":2)"));
  EXPECT_THAT(s->body, HasSubstr("data: [DONE]"));
  EXPECT_THAT(s->body, Not(HasSubstr("chat.completion.chunk")));
}

TEST_F(ServerEndpointsTest, EachRequestIsOneLogLineThatNamesItsEndpoint) {
  ASSERT_EQ(post("/v1/embeddings", R"({"model":"embed-alias","input":"hello"})")->status, 200);
  ASSERT_EQ(post("/v1/completions", R"({"model":"gpt-x","prompt":"Say"})")->status, 200);
  ASSERT_TRUE(testing::wait_until(
      [&] {
        const std::string log = log_text();
        return log.find(R"("endpoint":"embeddings")") != std::string::npos &&
               log.find(R"("endpoint":"completions")") != std::string::npos;
      },
      std::chrono::seconds(10)))
      << log_text();
  const std::string log = log_text();
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
  EXPECT_THAT(
      log,
      HasSubstr(
          R"("provider":"local","requested_model":"embed-alias","sent_model":"nomic-embed-text")"));
}

TEST_F(ServerEndpointsTest, ModelsListEmbeddingModelsFromDiscoveryAndRewrites) {
  auto cli = router_->client();
  auto r = cli.Get("/v1/models");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(r->body);
  int embedder = 0;
  for (simdjson::dom::element m : doc["data"].get_array()) {
    if (std::string_view(m["id"].get_string()) == "nomic-embed-text") {
      ++embedder;
      EXPECT_EQ(std::string_view(m["owned_by"].get_string()), "local");
    }
  }
  EXPECT_EQ(embedder, 1) << r->body;  // the rewrite target and the discovered model: one entry
}

}  // namespace
}  // namespace llmrouter
