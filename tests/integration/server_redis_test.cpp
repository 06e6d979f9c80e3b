// SPDX-License-Identifier: MIT
// Two llmrouter-server instances sharing a real redis-server (started here on a free
// loopback port): one key's rpm is enforced for both together, a budget spent through one
// is refused by the other, and while Redis is down or frozen each follows its on_error,
// without hanging, and recovers when Redis is back. A Responses conversation started
// through one continues through the other.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "server.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"
#include "support/redis_server.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;

class ServerRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<testing::RedisServer>();
    if (!redis_->running()) GTEST_SKIP() << "no redis-server to test with: " << redis_->error();
    prefix_ = fmt::format("test{}:", ::getpid());
  }

  // An instance on the shared Redis, with `on_error`.
  std::unique_ptr<testing::RunningServer> instance(std::string_view on_error = "allow") {
    server::ServerOptions options;
    options.getenv = [](const std::string& name) -> std::optional<std::string> {
      if (name == "ALICE_KEY") return "alice-key";
      if (name == "BOB_KEY") return "bob-key";
      if (name == "CAROL_KEY") return "carol-key";
      if (name == "OPERATOR_KEY") return "op-key";
      return std::nullopt;
    };
    return std::make_unique<testing::RunningServer>(
        testing::config_from(
            fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
api_key_env = "OPERATOR_KEY"
[state]
backend = "redis"
redis_url = "{redis}"
key_prefix = "{prefix}"
on_error = "{on_error}"
redis_timeout_ms = 200
[[providers]]
name = "oai"
format = "openai"
base_url = "{cloud}/v1"
cost_per_1m_tokens = 1000.0
[[routers]]
type = "prefix"
model_prefix = "gpt"
provider = "oai"
[[keys]]
name = "alice"
key_env = "ALICE_KEY"
rpm = 5
[[keys]]
name = "bob"
key_env = "BOB_KEY"
budget_usd = 1.0
budget_period = "day"
[[keys]]
name = "carol"
key_env = "CAROL_KEY"
rpm = 1000
)",
                        fmt::arg("redis", redis_->url()), fmt::arg("prefix", prefix_),
                        fmt::arg("on_error", on_error), fmt::arg("cloud", cloud_.base_url()))),
        std::move(options));
  }

  static int chat(testing::RunningServer& s, const std::string& key, std::string* body = nullptr) {
    auto cli = s.client();
    auto r = cli.Post("/v1/chat/completions", {{"Authorization", "Bearer " + key}},
                      R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})",
                      "application/json");
    if (!r) return -1;
    if (body) *body = r->body;
    return r->status;
  }

  testing::MockUpstream cloud_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::string prefix_;
};

TEST_F(ServerRedisTest, TwoInstancesShareOneKeysRpm) {
  auto a = instance();
  auto b = instance();
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back([&, i] {
      const int status = chat(i % 2 ? *a : *b, "alice-key");
      (status == 200 ? ok : status == 429 ? limited : other).fetch_add(1);
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(limited.load(), 7);
  EXPECT_EQ(other.load(), 0);
  // Both report the same figures.
  for (auto* s : {a.get(), b.get()}) {
    auto cli = s->client();
    auto u = cli.Get("/v1/usage", {{"Authorization", "Bearer alice-key"}});
    ASSERT_TRUE(u);
    EXPECT_THAT(u->body, HasSubstr(R"("window":{"seconds":60,"requests":5,)"));
  }
}

TEST_F(ServerRedisTest, ABudgetSpentThroughOneIsRefusedByTheOther) {
  auto a = instance();
  auto b = instance();
  // $0.853 a request: two through a spend $1.706 of bob's $1.
  ASSERT_EQ(chat(*a, "bob-key"), 200);
  ASSERT_EQ(chat(*a, "bob-key"), 200);
  std::string body;
  EXPECT_EQ(chat(*b, "bob-key", &body), 429);
  EXPECT_THAT(body, HasSubstr("insufficient_quota"));
  EXPECT_THAT(body, HasSubstr("(spent $1.7060)"));
}

TEST_F(ServerRedisTest, AnOutageFollowsOnErrorAndEnds) {
  auto allow = instance("allow");
  auto deny = instance("deny");
  ASSERT_EQ(chat(*allow, "carol-key"), 200);
  ASSERT_EQ(chat(*deny, "carol-key"), 200);

  redis_->stop();
  EXPECT_EQ(chat(*allow, "carol-key"), 200);  // served, uncounted
  std::string body;
  EXPECT_EQ(chat(*deny, "carol-key", &body), 503);
  EXPECT_THAT(body, HasSubstr("shared state cannot be reached"));
  {
    auto cli = deny->client();
    auto m = cli.Get("/metrics", {{"Authorization", "Bearer op-key"}});
    ASSERT_TRUE(m);
    EXPECT_THAT(m->body, HasSubstr("llmrouter_state_up 0"));
    EXPECT_THAT(m->body, ::testing::Not(HasSubstr("llmrouter_state_errors_total 0\n")));
  }

  // Frozen (accepting nothing, answering nothing): each call ends at the timeout.
  ASSERT_TRUE(redis_->start());
  ASSERT_TRUE(testing::wait_until([&] { return chat(*deny, "carol-key") == 200; },
                                  std::chrono::seconds(20)));
  redis_->pause();
  EXPECT_EQ(chat(*deny, "carol-key"), 503);
  EXPECT_EQ(chat(*allow, "carol-key"), 200);
  redis_->resume();
  EXPECT_TRUE(testing::wait_until([&] { return chat(*deny, "carol-key") == 200; },
                                  std::chrono::seconds(20)));
}

// ---- Responses conversations (`previous_response_id`) shared through Redis

class ServerRedisConversationTest : public ServerRedisTest {
 protected:
  // An instance on the shared Redis whose "claude" models go to `upstream` (Anthropic: the
  // router keeps the conversation).
  std::unique_ptr<testing::RunningServer> instance_to(const testing::MockUpstream& upstream) {
    return std::make_unique<testing::RunningServer>(testing::config_from(fmt::format(
        R"(
[server]
host = "127.0.0.1"
port = 0
[state]
backend = "redis"
redis_url = "{redis}"
key_prefix = "{prefix}"
redis_timeout_ms = 200
[[providers]]
name = "claude"
format = "anthropic"
base_url = "{upstream}"
[[routers]]
type = "prefix"
model_prefix = "claude"
provider = "claude"
)",
        fmt::arg("redis", redis_->url()), fmt::arg("prefix", prefix_),
        fmt::arg("upstream", upstream.base_url()))));
  }

  static int respond(testing::RunningServer& s, const std::string& body, std::string* reply) {
    auto cli = s.client();
    auto r = cli.Post("/v1/responses", body, "application/json");
    if (!r) return -1;
    if (reply) *reply = r->body;
    return r->status;
  }

  // The "id" of a Responses reply ("resp_...").
  static std::string response_id(const std::string& reply) {
    const std::string_view marker = R"("id":"resp_)";
    const auto at = reply.find(marker);
    if (at == std::string::npos) return {};
    const auto start = at + 6;
    return reply.substr(start, reply.find('"', start) - start);
  }

  static std::string second_turn(const std::string& id) {
    return fmt::format(
        R"({{"model":"claude-sonnet","previous_response_id":"{}","input":[)"
        R"({{"type":"function_call_output","call_id":"toolu_01P","output":"10:00 in Paris"}},)"
        R"({{"type":"function_call_output","call_id":"toolu_01T","output":"17:00 in Tokyo"}}]}})",
        id);
  }

  static constexpr const char* kFirstTurn =
      R"({"model":"claude-sonnet","instructions":"Be brief.","input":"What time is it in Paris and Tokyo?"})";

  testing::MockUpstream upstream_a_;
  testing::MockUpstream upstream_b_;
};

TEST_F(ServerRedisConversationTest, AConversationStartedThroughOneContinuesThroughTheOther) {
  auto a = instance_to(upstream_a_);
  auto b = instance_to(upstream_b_);
  std::string reply;
  ASSERT_EQ(respond(*a, kFirstTurn, &reply), 200) << reply;
  const std::string id = response_id(reply);
  ASSERT_FALSE(id.empty()) << reply;

  // The conversation is sent to Redis as the reply goes out: B may look just before it lands.
  int status = 0;
  ASSERT_TRUE(testing::wait_until(
      [&] {
        status = respond(*b, second_turn(id), &reply);
        return status != 404;
      },
      std::chrono::seconds(5)));
  ASSERT_EQ(status, 200) << reply;
  EXPECT_EQ(upstream_a_.requests("/v1/messages"), 1);
  ASSERT_EQ(upstream_b_.requests("/v1/messages"), 1);
  // B's provider got the whole conversation: A's question and its reply (text and both
  // tool calls with their inputs), then the results, in Anthropic's format.
  const std::string sent = upstream_b_.last_body("/v1/messages");
  EXPECT_THAT(sent, HasSubstr("What time is it in Paris and Tokyo?"));
  EXPECT_THAT(sent, HasSubstr("Checking both cities."));
  EXPECT_THAT(sent, HasSubstr(R"("type":"tool_use","id":"toolu_01P","name":"get_time")"));
  EXPECT_THAT(sent, HasSubstr(R"("id":"toolu_01T")"));
  EXPECT_THAT(sent, HasSubstr(R"("city":"Tokyo")"));
  EXPECT_THAT(sent, HasSubstr(R"("tool_use_id":"toolu_01P")"));
  EXPECT_THAT(sent, HasSubstr("17:00 in Tokyo"));
  EXPECT_LT(sent.find("What time is it"), sent.find("Checking both cities."));
  EXPECT_LT(sent.find("Checking both cities."), sent.find("10:00 in Paris"));

  // B's reply continues the chain in turn: A picks it up (the third turn has all of it).
  const std::string id2 = response_id(reply);
  ASSERT_FALSE(id2.empty()) << reply;
  ASSERT_TRUE(testing::wait_until(
      [&] {
        status = respond(*a,
                         fmt::format(R"({{"model":"claude-sonnet","previous_response_id":"{}",)"
                                     R"("input":"thanks"}})",
                                     id2),
                         &reply);
        return status != 404;
      },
      std::chrono::seconds(5)));
  ASSERT_EQ(status, 200) << reply;
  const std::string third = upstream_a_.last_body("/v1/messages");
  EXPECT_THAT(third, HasSubstr("What time is it in Paris and Tokyo?"));
  EXPECT_THAT(third, HasSubstr("17:00 in Tokyo"));
  EXPECT_THAT(third, HasSubstr("thanks"));
}

TEST_F(ServerRedisConversationTest, AnUnknownIdIsStillNotFound) {
  auto b = instance_to(upstream_b_);
  std::string reply;
  EXPECT_EQ(respond(*b, second_turn("resp_neverissuedbyanyinstance0000"), &reply), 404);
  EXPECT_THAT(reply, HasSubstr("previous_response_not_found"));
  EXPECT_EQ(upstream_b_.requests("/v1/messages"), 0);
}

TEST_F(ServerRedisConversationTest, WithRedisDownAConversationElsewhereIsUnavailableNotUnknown) {
  auto a = instance_to(upstream_a_);
  auto b = instance_to(upstream_b_);
  std::string reply;
  ASSERT_EQ(respond(*a, kFirstTurn, &reply), 200) << reply;
  const std::string id = response_id(reply);
  ASSERT_FALSE(id.empty()) << reply;

  redis_->stop();
  EXPECT_EQ(respond(*b, second_turn(id), &reply), 503);
  EXPECT_THAT(reply, HasSubstr("the conversation store cannot be reached"));
  EXPECT_EQ(upstream_b_.requests("/v1/messages"), 0);
  // A still holds it itself.
  EXPECT_EQ(respond(*a, second_turn(id), &reply), 200) << reply;
  EXPECT_THAT(upstream_a_.last_body("/v1/messages"), HasSubstr("Checking both cities."));
}

}  // namespace
}  // namespace llmrouter
