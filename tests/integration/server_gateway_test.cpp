// SPDX-License-Identifier: MIT
// The team gateway as a client of llmrouter-server sees it, on the memory backend: keys
// (from the environment and by digest), the operator key, model access (403), request and
// token rates and budgets (429), GET /v1/usage, and the key's name in the log and /metrics.
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "llmrouter/gateway.h"
#include "server.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ServerGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_path_ = std::filesystem::temp_directory_path() /
                fmt::format("llmrouter-gateway-{}.jsonl", ::getpid());
    std::filesystem::remove(log_path_);
    server::ServerOptions options;
    options.getenv = [](const std::string& name) -> std::optional<std::string> {
      if (name == "OPERATOR_KEY") return "op-key";
      if (name == "ALICE_KEY") return "alice-key";
      if (name == "CAROL_KEY") return "carol-key";
      return std::nullopt;
    };
    router_ = std::make_unique<testing::RunningServer>(
        testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
api_key_env = "OPERATOR_KEY"
[logging]
enabled = true
path = "{log}"
[[providers]]
name = "oai"
format = "openai"
base_url = "{cloud}/v1"
cost_per_1m_tokens = 1000.0
[[providers]]
name = "claude"
format = "anthropic"
base_url = "{cloud}"
[[routers]]
type = "prefix"
model_prefix = "claude"
provider = "claude"
[[routers]]
type = "prefix"
model_prefix = "gpt"
provider = "oai"
[[routers]]
type = "prefix"
model_prefix = "fast"
provider = "claude"
rewrite_model = "claude-3-haiku"
[[routers]]
type = "prefix"
model_prefix = "cheap"
provider = "oai"
rewrite_model = "gpt-4o-mini"
[[keys]]
name = "alice"
key_env = "ALICE_KEY"
models = ["gpt-*"]
rpm = 2
[[keys]]
name = "bob"
key_sha256 = "{bob}"
budget_usd = 1.0
budget_period = "day"
[[keys]]
name = "carol"
key_env = "CAROL_KEY"
tpm = 2000
[[keys]]
name = "dave"
key_env = "DAVE_KEY"
)",
                                         fmt::arg("log", log_path_.string()),
                                         fmt::arg("cloud", cloud_.base_url()),
                                         fmt::arg("bob", sha256_hex("bob-key")))),
        std::move(options));
  }
  void TearDown() override {
    router_.reset();
    std::filesystem::remove(log_path_);
  }

  httplib::Result post(std::string_view path, const std::string& body, const std::string& key,
                       bool x_api_key = false) {
    auto cli = router_->client();
    httplib::Headers h;
    if (!key.empty())
      h.emplace(x_api_key ? "x-api-key" : "Authorization", x_api_key ? key : "Bearer " + key);
    if (path == "/v1/messages") h.emplace("anthropic-version", "2023-06-01");
    return cli.Post(std::string(path), h, body, "application/json");
  }
  httplib::Result chat(const std::string& key, std::string_view model = "gpt-4o") {
    return post(
        "/v1/chat/completions",
        fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"hi"}}]}})", model),
        key);
  }
  httplib::Result get(const std::string& path, const std::string& key) {
    auto cli = router_->client();
    httplib::Headers h;
    if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
    return cli.Get(path, h);
  }
  std::string log_text() {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  testing::MockUpstream cloud_;
  std::filesystem::path log_path_;
  std::unique_ptr<testing::RunningServer> router_;
};

TEST_F(ServerGatewayTest, RequestsWithoutAKnownKeyGet401InTheirFormat) {
  auto none = chat("");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_THAT(none->body, HasSubstr(R"("type":"authentication_error")"));
  auto wrong =
      post("/v1/messages",
           R"({"model":"claude-3","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})",
           "nope", true);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_THAT(wrong->body, HasSubstr(R"({"type":"error","error":{"type":"authentication_error")"));
  // dave's variable is unset: his entry cannot be used, not even with an empty key.
  auto dave = post("/v1/chat/completions",
                   R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})", "", true);
  ASSERT_TRUE(dave);
  EXPECT_EQ(dave->status, 401);
  // Read endpoints want a key too.
  auto models = get("/v1/models", "");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 401);
  auto carol_models = get("/v1/models", "carol-key");
  ASSERT_TRUE(carol_models);
  EXPECT_EQ(carol_models->status, 200);
  EXPECT_THAT(carol_models->body, HasSubstr(R"("id":"claude-3-haiku")"));
  EXPECT_THAT(carol_models->body, HasSubstr(R"("id":"gpt-4o-mini")"));
  // A key with models globs sees those it may use.
  auto alice_models = get("/v1/models", "alice-key");
  ASSERT_TRUE(alice_models);
  EXPECT_EQ(alice_models->status, 200);
  EXPECT_THAT(alice_models->body, Not(HasSubstr("claude")));
  EXPECT_THAT(alice_models->body, HasSubstr(R"("id":"gpt-4o-mini")"));
  EXPECT_EQ(cloud_.requests(), 0) << "nothing unauthenticated reached a provider";
}

TEST_F(ServerGatewayTest, AKeyUsesOnlyItsModels) {
  auto ok = chat("alice-key", "gpt-4o-mini");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto denied = post(
      "/v1/messages",
      R"({"model":"claude-3-haiku","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})",
      "alice-key", true);
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_THAT(denied->body, HasSubstr(R"("type":"permission_error")"));
  EXPECT_THAT(denied->body, HasSubstr("the key 'alice' may not use the model 'claude-3-haiku'"));
  // The operator key may use every model, without limits.
  auto op = post(
      "/v1/messages",
      R"({"model":"claude-3-haiku","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})",
      "op-key", true);
  ASSERT_TRUE(op);
  EXPECT_EQ(op->status, 200) << op->body;
}

TEST_F(ServerGatewayTest, RequestsPerMinute) {
  ASSERT_EQ(chat("alice-key")->status, 200);
  ASSERT_EQ(chat("alice-key")->status, 200);
  auto over = chat("alice-key");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 429);
  EXPECT_THAT(over->body, HasSubstr("the key 'alice' is over its limit of 2 requests per minute"));
  EXPECT_THAT(over->body, HasSubstr(R"("code":"rate_limit_exceeded")"));
  const int retry = std::stoi(over->get_header_value("Retry-After", 0));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 61);
  // Other keys are not affected.
  EXPECT_EQ(chat("carol-key")->status, 200);

  auto usage = get("/v1/usage", "alice-key");
  ASSERT_TRUE(usage);
  ASSERT_EQ(usage->status, 200) << usage->body;
  EXPECT_THAT(usage->body, HasSubstr(R"("object":"key_usage","key":"alice")"));
  EXPECT_THAT(usage->body,
              HasSubstr(R"("requests":2,"tokens":1706)"));  // the refused one is not counted
  EXPECT_THAT(usage->body,
              HasSubstr(R"("limits":{"rpm":2,"tpm":null,"budget_usd":null,"models":["gpt-*"]})"));
  EXPECT_THAT(usage->body, HasSubstr(R"("window":{"seconds":60,"requests":2,"tokens":1706})"));
}

TEST_F(ServerGatewayTest, TokensPerMinuteCountTheRealUsage) {
  // Each request is estimated at 2 input tokens and really uses 853 (the mock's 812 in, 41
  // out): the fourth would bring the window past 2000.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(chat("carol-key")->status, 200) << i;
  auto over = chat("carol-key");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 429);
  EXPECT_THAT(over->body, HasSubstr("over its limit of 2000 tokens per minute"));
  EXPECT_FALSE(over->get_header_value("Retry-After").empty());
}

TEST_F(ServerGatewayTest, ABudgetRefusesOnceSpent) {
  // $0.853 a request (853 tokens at $1000 per million): the third finds $1.706 spent of $1.
  ASSERT_EQ(chat("bob-key")->status, 200);
  ASSERT_EQ(chat("bob-key")->status, 200);
  auto over = chat("bob-key");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 429);
  EXPECT_THAT(over->body, HasSubstr(R"("type":"insufficient_quota")"));
  EXPECT_THAT(over->body,
              HasSubstr("the key 'bob' has used its budget of $1.00 for the day (spent $1.7060)"));
  EXPECT_THAT(over->body, HasSubstr("T00:00:00Z"));
  auto usage = get("/v1/usage", "bob-key");
  ASSERT_TRUE(usage);
  EXPECT_THAT(usage->body, HasSubstr(R"("spend_usd":1.706)"));
  EXPECT_THAT(usage->body, HasSubstr(R"("budget_remaining_usd":0)"));
  EXPECT_THAT(usage->body, HasSubstr(R"("period":{"type":"day")"));
}

TEST_F(ServerGatewayTest, TheOperatorSeesEveryKeyAndTheMetrics) {
  ASSERT_EQ(chat("alice-key")->status, 200);
  ASSERT_EQ(chat("alice-key", "claude-3")->status, 403);
  auto all = get("/v1/usage", "op-key");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->status, 200) << all->body;
  EXPECT_THAT(all->body,
              HasSubstr(R"({"object":"list","data":[{"object":"key_usage","key":"alice")"));
  for (const char* name : {"\"bob\"", "\"carol\"", "\"dave\""})
    EXPECT_THAT(all->body, HasSubstr(name));
  EXPECT_EQ(get("/v1/usage", "")->status, 401);

  // /metrics is the operator's.
  auto team = get("/metrics", "alice-key");
  ASSERT_TRUE(team);
  EXPECT_EQ(team->status, 403);
  EXPECT_THAT(team->body, HasSubstr("the key 'alice' is a team key"));
  auto metrics = get("/metrics", "op-key");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  EXPECT_THAT(
      metrics->body,
      HasSubstr(R"(llmrouter_key_requests_total{key="alice",outcome="ok",status="200"} 1)"));
  EXPECT_THAT(
      metrics->body,
      HasSubstr(
          R"(llmrouter_key_requests_total{key="alice",outcome="client_error",status="403"} 1)"));
  EXPECT_THAT(metrics->body,
              HasSubstr(R"(llmrouter_key_tokens_total{key="alice",kind="output"} 41)"));
  EXPECT_THAT(metrics->body, HasSubstr("llmrouter_state_up 1"));

  // The log names the key, never the key itself.
  ASSERT_TRUE(
      testing::wait_until([&] { return log_text().find("\"key\":\"alice\"") != std::string::npos; },
                          std::chrono::seconds(10)));
  EXPECT_THAT(log_text(), Not(HasSubstr("alice-key")));
}

}  // namespace
}  // namespace llmrouter
