// SPDX-License-Identifier: MIT
// Adaptive routing end to end, through the Engine against mock upstreams: the latency rule
// converges on the faster provider, a failing provider is ejected, probed and restored, a
// capped provider sends the excess on or makes it wait, sessions stay put while their
// provider is healthy, and a model goes to the Ollama node that has it loaded.
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "llmrouter/engine.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"

namespace llmrouter {
namespace {

using namespace std::chrono_literals;
using testing::MockUpstream;

EngineOptions quiet() {
  EngineOptions o;
  o.getenv = [](const std::string&) { return std::optional<std::string>(); };
  o.loops = 2;
  return o;
}

std::string chat_body(std::string_view model, bool stream = false) {
  return fmt::format(
      R"({{"model":"{}","stream":{},"messages":[{{"role":"user","content":"hi"}}]}})", model,
      stream ? "true" : "false");
}

std::unique_ptr<Engine> engine_for(const std::string& toml) {
  auto engine = Engine::create(testing::config_from(toml), quiet());
  EXPECT_TRUE(engine) << (engine ? "" : engine.error().message);
  return engine ? std::move(*engine) : nullptr;
}

// Sends one request and returns the outcome.
Outcome send(const Engine& engine, std::string_view body, const Headers& headers = {},
             WireFormat format = WireFormat::OpenAI) {
  CancelFlag cancel{false};
  return engine.complete(
      format, body, headers, [](std::string_view) { return true; }, cancel);
}

std::string served_by(const Outcome& o) {
  return o.error || o.attempts.empty() ? "error" : o.attempts.back().provider;
}

const ProviderSnapshot* find(const std::vector<ProviderSnapshot>& all, std::string_view name) {
  for (const ProviderSnapshot& p : all) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Health health_of(const Engine& engine, std::string_view provider) {
  const auto all = engine.current()->pipeline().live()->snapshot();
  const ProviderSnapshot* p = find(all, provider);
  return p ? p->health : Health::Ok;
}

std::string provider(std::string_view name, const MockUpstream& mock, std::string_view extra = "") {
  return fmt::format(
      "[[providers]]\nname = \"{}\"\nformat = \"openai\"\nbase_url = \"{}/v1\"\n{}\n", name,
      mock.base_url(), extra);
}

TEST(AdaptiveRoutingTest, TheLatencyRuleExploresThenConvergesOnTheFasterProvider) {
  MockUpstream::Options slow_options;
  slow_options.chat_delay = 150ms;
  MockUpstream slow(slow_options);
  MockUpstream fast;
  // Neither has a configured latency_ms: both are explored, then ranked by what was measured.
  auto engine = engine_for("[routing]\nmin_samples = 3\n" + provider("slow", slow) +
                           provider("fast", fast) + "[[routers]]\ntype = \"latency\"\n");
  ASSERT_TRUE(engine);
  std::vector<std::string> order;
  for (int i = 0; i < 12; ++i) order.push_back(served_by(send(*engine, chat_body("m"))));
  // Exploration: each gets min_samples requests, the less measured first.
  EXPECT_EQ(std::count(order.begin(), order.begin() + 6, "slow"), 3)
      << fmt::format("{}", fmt::join(order, " "));
  EXPECT_EQ(std::count(order.begin(), order.begin() + 6, "fast"), 3);
  for (std::size_t i = 6; i < order.size(); ++i) EXPECT_EQ(order[i], "fast") << i;
  // The dry run says what each was ranked by.
  auto explained = engine->current()->pipeline().explain(WireFormat::OpenAI, chat_body("m"));
  ASSERT_TRUE(explained);
  ASSERT_EQ(explained->decision->considered.size(), 2u);
  EXPECT_EQ(explained->decision->considered[0].provider, "fast");
  EXPECT_NE(explained->decision->considered[0].ranked_by.find("live over"), std::string::npos)
      << explained->decision->considered[0].ranked_by;
  const auto all = engine->current()->pipeline().live()->snapshot();
  ASSERT_TRUE(find(all, "slow")->figures.ttft_ms);
  EXPECT_GT(find(all, "slow")->figures.ttft_ms->mean,
            find(all, "fast")->figures.ttft_ms->mean + 100);
}

TEST(AdaptiveRoutingTest, AFailingProviderIsEjectedProbedAndRestored) {
  MockUpstream flaky;
  MockUpstream steady;
  auto engine = engine_for(
      "[routing]\neject_after_failures = 2\neject_seconds = 0.3\nmax_attempts = 2\n" +
      provider("flaky", flaky, "quality = 90") + provider("steady", steady, "quality = 10") +
      "[[routers]]\ntype = \"fallback\"\nquality_bias = 1.0\n");
  ASSERT_TRUE(engine);
  auto health = engine->events()->subscribe(64, 1 << 20, EventType::Health);
  flaky.set_chat_status(500);
  for (int i = 0; i < 2; ++i) {
    const Outcome o = send(*engine, chat_body("m"));
    ASSERT_EQ(o.attempts.size(), 2u);  // flaky failed, steady answered
    EXPECT_EQ(served_by(o), "steady");
  }
  EXPECT_EQ(health_of(*engine, "flaky"), Health::Ejected);
  std::string ev;
  ASSERT_TRUE(health->next(ev, 5s));
  EXPECT_NE(ev.find(R"("provider":"flaky","state":"ejected","duration_ms":300,"failures":2)"),
            std::string::npos)
      << ev;
  // While ejected, rules pass over it: one attempt, straight to steady.
  const Outcome passed = send(*engine, chat_body("m"));
  ASSERT_EQ(passed.attempts.size(), 1u);
  EXPECT_EQ(served_by(passed), "steady");
  const int flaky_before = flaky.requests("/v1/chat/completions");
  // A failed probe ejects it again, for twice as long.
  ASSERT_TRUE(testing::wait_until([&] { return health_of(*engine, "flaky") == Health::Probing; }));
  EXPECT_EQ(served_by(send(*engine, chat_body("m"))), "steady");
  EXPECT_EQ(flaky.requests("/v1/chat/completions"), flaky_before + 1);
  ASSERT_TRUE(health->next(ev, 5s));
  EXPECT_NE(ev.find(R"("state":"ejected","duration_ms":600)"), std::string::npos) << ev;
  // It recovers; after the ejection one request probes it and restores it.
  flaky.set_chat_status(0);
  ASSERT_TRUE(testing::wait_until([&] { return health_of(*engine, "flaky") == Health::Probing; }));
  EXPECT_EQ(served_by(send(*engine, chat_body("m"))), "flaky");
  ASSERT_TRUE(health->next(ev, 5s));
  EXPECT_NE(ev.find(R"("provider":"flaky","state":"restored")"), std::string::npos) << ev;
  EXPECT_EQ(health_of(*engine, "flaky"), Health::Ok);
  EXPECT_EQ(served_by(send(*engine, chat_body("m"))), "flaky");
}

TEST(AdaptiveRoutingTest, WhenEveryCandidateIsEjectedTheRequestIsSentAnyway) {
  MockUpstream only;
  auto engine = engine_for("[routing]\neject_after_failures = 1\neject_seconds = 60\n" +
                           provider("only", only) + "[[routers]]\ntype = \"fallback\"\n");
  ASSERT_TRUE(engine);
  only.set_chat_status(500);
  EXPECT_EQ(send(*engine, chat_body("m")).error->upstream_status, 500);
  EXPECT_EQ(health_of(*engine, "only"), Health::Ejected);
  only.set_chat_status(0);
  const Outcome o = send(*engine, chat_body("m"));
  EXPECT_EQ(served_by(o), "only");  // and its success restores it
  EXPECT_EQ(health_of(*engine, "only"), Health::Ok);
}

TEST(AdaptiveRoutingTest, ACappedProviderSendsTheExcessToTheNextCandidate) {
  MockUpstream small;
  MockUpstream big;
  auto engine = engine_for(provider("small", small, "quality = 90\nmax_concurrency = 1") +
                           provider("big", big, "quality = 10") +
                           "[[routers]]\ntype = \"fallback\"\nquality_bias = 1.0\n");
  ASSERT_TRUE(engine);
  auto first = engine->pull(WireFormat::OpenAI, chat_body("latency-800"));
  ASSERT_TRUE(testing::wait_until([&] { return first->target().provider == "small"; }));
  const Outcome second = send(*engine, chat_body("m"));
  EXPECT_EQ(served_by(second), "big");
  ASSERT_EQ(second.attempts.size(), 1u);
  std::string chunk;
  while (first->next(chunk, 10s) != ReplyStream::Status::End) {
  }
  EXPECT_FALSE(first->error());
  EXPECT_EQ(served_by(send(*engine, chat_body("m"))), "small");  // room again
}

TEST(AdaptiveRoutingTest, WithNoRoomARequestWaitsThenGets429WithRetryAfter) {
  MockUpstream mock;
  auto engine = engine_for("[routing]\nqueue_timeout_ms = 200\n" +
                           provider("one", mock, "max_concurrency = 1") +
                           "[[routers]]\ntype = \"fallback\"\n");
  ASSERT_TRUE(engine);
  auto busy = engine->pull(WireFormat::OpenAI, chat_body("latency-2000"));
  ASSERT_TRUE(testing::wait_until([&] { return busy->target().provider == "one"; }));
  const auto start = std::chrono::steady_clock::now();
  const Outcome refused = send(*engine, chat_body("m"));
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code, Errc::Overloaded);
  EXPECT_EQ(refused.error->status(), 429);
  EXPECT_EQ(refused.error->retry_after, "1");
  EXPECT_NE(refused.error->message.find("max_concurrency"), std::string::npos)
      << refused.error->message;
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            190ms);  // it waited its queue_timeout_ms first
  busy->cancel();
}

TEST(AdaptiveRoutingTest, AWaitingRequestGoesOnceThereIsRoom) {
  MockUpstream mock;
  auto engine = engine_for("[routing]\nqueue_timeout_ms = 10000\n" +
                           provider("one", mock, "max_concurrency = 1") +
                           "[[routers]]\ntype = \"fallback\"\n");
  ASSERT_TRUE(engine);
  auto busy = engine->pull(WireFormat::OpenAI, chat_body("latency-300"));
  ASSERT_TRUE(testing::wait_until([&] { return busy->target().provider == "one"; }));
  const Outcome waited = send(*engine, chat_body("m"));
  EXPECT_FALSE(waited.error) << waited.error->message;
  EXPECT_EQ(served_by(waited), "one");
  std::string chunk;
  while (busy->next(chunk, 10s) != ReplyStream::Status::End) {
  }
  EXPECT_FALSE(busy->error());
}

TEST(AdaptiveRoutingTest, ASessionStaysOnItsProviderWhileHealthyAndMovesWhenEjected) {
  MockUpstream a;
  MockUpstream b;
  auto engine = engine_for(
      "[routing]\naffinity = \"session\"\neject_after_failures = 1\neject_seconds = 60\n" +
      provider("a", a) + provider("b", b) + "[[routers]]\ntype = \"random\"\n");
  ASSERT_TRUE(engine);
  // Without a session the random rule spreads requests over both.
  std::set<std::string> spread;
  for (int i = 0; i < 20; ++i) spread.insert(served_by(send(*engine, chat_body("m"))));
  EXPECT_EQ(spread.size(), 2u);
  const Headers session{{"x-session-id", "conversation-1"}};
  const std::string first = served_by(send(*engine, chat_body("m"), session));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(served_by(send(*engine, chat_body("m"), session)), first);
  // Claude Code's session: Anthropic metadata.user_id.
  const std::string claude =
      R"({"model":"m","max_tokens":10,"metadata":{"user_id":"user_abc_session_42"},"messages":[{"role":"user","content":"hi"}]})";
  const std::string claude_first = served_by(send(*engine, claude, {}, WireFormat::Anthropic));
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(served_by(send(*engine, claude, {}, WireFormat::Anthropic)), claude_first);
  // Its provider fails: the session moves to the other one and stays there.
  MockUpstream& failing = first == "a" ? a : b;
  const std::string other = first == "a" ? "b" : "a";
  failing.set_chat_status(500);
  EXPECT_EQ(served_by(send(*engine, chat_body("m"), session)), other);  // failed over
  failing.set_chat_status(0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(served_by(send(*engine, chat_body("m"), session)), other);
}

TEST(AdaptiveRoutingTest, AModelGoesToTheOllamaNodeThatHasItLoaded) {
  MockUpstream::Options a_options;
  a_options.loaded = std::vector<std::string>{"gemma2:2b"};
  MockUpstream node_a(a_options);
  MockUpstream::Options b_options;
  b_options.loaded = std::vector<std::string>{"qwen2.5vl:7b"};
  MockUpstream node_b(b_options);
  auto engine = engine_for(fmt::format(R"(
[[providers]]
name = "node-a"
format = "ollama"
base_url = "{}"
[[providers]]
name = "node-b"
format = "ollama"
base_url = "{}"
[[routers]]
type = "discover"
providers = ["node-a", "node-b"]
)",
                                       node_a.base_url(), node_b.base_url()));
  ASSERT_TRUE(engine);
  // Both nodes have both models; each is loaded on one.
  EXPECT_EQ(served_by(send(*engine, chat_body("gemma2:2b"))), "node-a");
  EXPECT_EQ(served_by(send(*engine, chat_body("qwen2.5vl:7b"))), "node-b");
  auto explained =
      engine->current()->pipeline().explain(WireFormat::OpenAI, chat_body("qwen2.5vl:7b"));
  ASSERT_TRUE(explained);
  ASSERT_EQ(explained->decision->considered.size(), 2u);
  EXPECT_EQ(explained->decision->considered[0].ranked_by, "loaded, 0 in flight");
  EXPECT_EQ(explained->decision->considered[1].ranked_by, "not loaded, 0 in flight");
}

}  // namespace
}  // namespace llmrouter

namespace llmrouter {
namespace {

TEST(AdaptiveRoutingTest, AReplyTooLargeForTheRouterDoesNotEjectItsProvider) {
  MockUpstream mock;
  auto engine =
      engine_for("[server]\nmax_upstream_reply_bytes = 64\n[routing]\neject_after_failures = 1\n" +
                 provider("one", mock) + "[[routers]]\ntype = \"fallback\"\n");
  ASSERT_TRUE(engine);
  for (int i = 0; i < 3; ++i) {
    const Outcome o = send(*engine, chat_body("m"));
    ASSERT_TRUE(o.error);
    EXPECT_NE(o.error->message.find("max_upstream_reply_bytes"), std::string::npos)
        << o.error->message;
  }
  // The request's size is the client's doing, not the provider's failure.
  EXPECT_EQ(health_of(*engine, "one"), Health::Ok);
  mock.set_chat_status(503);
  (void)send(*engine, chat_body("m"));
  EXPECT_EQ(health_of(*engine, "one"), Health::Ejected);  // a 5xx is
}

}  // namespace
}  // namespace llmrouter
