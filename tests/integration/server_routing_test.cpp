// SPDX-License-Identifier: MIT
// Adaptive routing as a client of llmrouter-server sees it: GET /v1/providers, the
// explained POST /v1/route, and the 429 of a full chain in each client's format.
#include <chrono>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>

#include "server.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;

Config two_providers(const testing::MockUpstream& fast, const testing::MockUpstream& ollama,
                     std::string_view routing) {
  return testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
[routing]
{}
[[providers]]
name = "fast"
format = "openai"
base_url = "{}/v1"
max_concurrency = 1
[[providers]]
name = "node"
format = "ollama"
base_url = "{}"
latency_ms = 5000
[[routers]]
type = "latency"
)",
                                          routing, fast.base_url(), ollama.base_url()));
}

std::string chat(std::string_view model) {
  return fmt::format(
      R"({{"model":"{}","max_tokens":20,"messages":[{{"role":"user","content":"hi"}}]}})", model);
}

TEST(ServerRoutingTest, ProvidersShowStateFiguresAndLoadedModels) {
  testing::MockUpstream fast;
  testing::MockUpstream::Options node_options;
  node_options.loaded = std::vector<std::string>{"gemma2:2b"};
  testing::MockUpstream node(node_options);
  testing::RunningServer router(two_providers(fast, node, "min_samples = 2"));
  auto cli = router.client();
  for (int i = 0; i < 3; ++i) {
    auto r = cli.Post("/v1/chat/completions", chat("m"), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  auto r = cli.Get("/v1/providers");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(r->body);
  simdjson::dom::array data = doc["data"].get_array();
  ASSERT_EQ(data.size(), 2u);
  simdjson::dom::element first = data.at(0);
  EXPECT_EQ(std::string_view(first["name"].get_string()), "fast");
  EXPECT_EQ(std::string_view(first["state"].get_string()), "ok");
  EXPECT_EQ(uint64_t(first["in_flight"].get_uint64()), 0u);
  EXPECT_EQ(uint64_t(first["max_concurrency"].get_uint64()), 1u);
  EXPECT_EQ(uint64_t(first["ttft_ms"]["samples"].get_uint64()),
            3u);  // `fast` (explored, then ranked) took all three
  EXPECT_GT(double(first["ttft_ms"]["p95"].get_double()), 0.0);
  EXPECT_EQ(std::string_view(first["models"].at(0)["model"].get_string()), "m");
  EXPECT_TRUE(first["loaded_models"].error() == simdjson::NO_SUCH_FIELD);  // openai: not applicable
  simdjson::dom::element second = data.at(1);
  EXPECT_EQ(std::string_view(second["name"].get_string()), "node");
  EXPECT_TRUE(second["ttft_ms"].is_null());
  EXPECT_EQ(std::string_view(second["loaded_models"].at(0).get_string()), "gemma2:2b");
}

TEST(ServerRoutingTest, RouteExplainsEachCandidate) {
  testing::MockUpstream fast;
  testing::MockUpstream node;
  testing::RunningServer router(two_providers(fast, node, "min_samples = 5"));
  auto cli = router.client();
  auto r = cli.Post("/v1/route", chat("m"), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_THAT(
      r->body,
      HasSubstr(
          R"json("candidates":[{"provider":"fast","model":"m","rule":0,"ranked_by":"ttft not known yet: explored (0 of 5 samples)","kept":true},{"provider":"node","model":"m","rule":0,"ranked_by":"ttft 5000 ms (prior, 0 of 5 samples)","kept":true}])json"));
}

TEST(ServerRoutingTest, AFullChainIs429WithRetryAfterInTheClientsFormat) {
  testing::MockUpstream fast;
  testing::MockUpstream node;
  testing::RunningServer router(testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
[[providers]]
name = "fast"
format = "openai"
base_url = "{}/v1"
max_concurrency = 1
[[routers]]
type = "fallback"
)",
                                                                 fast.base_url())));
  std::thread busy([&] {
    auto c = router.client();
    (void)c.Post("/v1/chat/completions", chat("latency-1500"), "application/json");
  });
  ASSERT_TRUE(testing::wait_until(
      [&] { return router.server().pipeline().live()->snapshot().at(0).figures.in_flight == 1; }));
  auto cli = router.client();
  auto openai = cli.Post("/v1/chat/completions", chat("m"), "application/json");
  ASSERT_TRUE(openai);
  EXPECT_EQ(openai->status, 429);
  EXPECT_EQ(openai->get_header_value("Retry-After"), "1");
  EXPECT_THAT(openai->body, HasSubstr(R"("type":"rate_limit_error")"));
  EXPECT_THAT(openai->body, HasSubstr("max_concurrency"));
  auto anthropic = cli.Post("/v1/messages", chat("m"), "application/json");
  ASSERT_TRUE(anthropic);
  EXPECT_EQ(anthropic->status, 429);
  EXPECT_THAT(anthropic->body, HasSubstr(R"({"type":"error","error":{"type":"rate_limit_error")"));
  busy.join();
}

}  // namespace
}  // namespace llmrouter
