// SPDX-License-Identifier: MIT
// The providers' live figures as llmrouter-server reports them, through real HTTP in front
// of the mock upstream: GET /v1/providers, and the llmrouter_provider_* families of
// /metrics (gauges read at scrape time, ejections and restorations counted from the
// `health` events).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>

#include "support/config_helpers.h"
#include "support/mock_upstream.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One OpenAI provider "up" at the mock behind a fallback rule; `routing` is the [routing]
// table's body.
Config config_for(const testing::MockUpstream& mock, std::string_view routing = {}) {
  return testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
[routing]
{}
[[providers]]
name = "up"
format = "openai"
base_url = "{}/v1"
first_byte_timeout_ms = 60000
[[routers]]
type = "fallback"
providers = ["up"]
)",
                                          routing, mock.base_url()));
}

std::string chat_body(std::string_view model, bool stream) {
  return fmt::format(
      R"({{"model":"{}","stream":{},"messages":[{{"role":"user","content":"hi"}}]}})", model,
      stream);
}

// The value of the series named exactly `series` (name and labels), if present.
std::optional<double> value_of(const std::string& metrics, const std::string& series) {
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

std::string scrape(httplib::Client& cli) {
  auto res = cli.Get("/metrics");
  EXPECT_TRUE(res);
  if (!res) return {};
  EXPECT_EQ(res->status, 200);
  return res->body;
}

TEST(ProviderFiguresTest, ProvidersAnswersWithEachProvidersStateAndFigures) {
  testing::MockUpstream mock;
  testing::RunningServer router(config_for(mock));
  auto cli = router.client();
  for (bool stream : {false, true, false}) {
    auto r = cli.Post("/v1/chat/completions", chat_body("m", stream), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  auto res = cli.Get("/v1/providers");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_FALSE(parser.parse(res->body).get(root)) << res->body;
  EXPECT_EQ(std::string_view(root["object"].get_string().value_unsafe()), "list");
  simdjson::dom::array data;
  ASSERT_FALSE(root["data"].get(data));
  ASSERT_EQ(data.size(), 1u);
  simdjson::dom::element up = data.at(0).value_unsafe();
  EXPECT_EQ(std::string_view(up["name"].get_string().value_unsafe()), "up");
  EXPECT_EQ(std::string_view(up["format"].get_string().value_unsafe()), "openai");
  EXPECT_EQ(std::string_view(up["state"].get_string().value_unsafe()), "ok");
  EXPECT_EQ(up["in_flight"].get_uint64().value_unsafe(), 0u);  // all three are over
  EXPECT_EQ(up["attempts"].get_uint64().value_unsafe(), 3u);
  EXPECT_EQ(up["failures"].get_uint64().value_unsafe(), 0u);
  EXPECT_EQ(up["consecutive_failures"].get_uint64().value_unsafe(), 0u);
  EXPECT_EQ(up["error_rate"].get_double().value_unsafe(), 0.0);
  for (const char* figure : {"ttft_ms", "total_ms"}) {
    simdjson::dom::object f;
    ASSERT_FALSE(up[figure].get(f)) << figure << " is not an object: " << res->body;
    EXPECT_EQ(f["samples"].get_uint64().value_unsafe(), 3u) << figure;
    const double p50 = f["p50"].get_double().value_unsafe();
    const double p95 = f["p95"].get_double().value_unsafe();
    EXPECT_GE(p50, 0.0) << figure;
    EXPECT_LE(p50, p95) << figure;
    EXPECT_LT(p95, 60'000.0) << figure;
  }
  simdjson::dom::array models;
  ASSERT_FALSE(up["models"].get(models));
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(std::string_view(models.at(0)["model"].get_string().value_unsafe()), "m");
  EXPECT_EQ(models.at(0)["attempts"].get_uint64().value_unsafe(), 3u);
  EXPECT_THAT(res->body, Not(HasSubstr("loaded_models")));  // Ollama providers only
}

TEST(ProviderFiguresTest, MetricsCarryEachProvidersLiveFiguresAndPassPromtool) {
  testing::MockUpstream mock;
  testing::RunningServer router(config_for(mock));
  auto cli = router.client();
  std::string m = scrape(cli);
  // Before any request: the state and zeroed counters, but no timing without samples.
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_state{provider="up",state="ok"})"), 1.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_ejections_total{provider="up"})"), 0.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_time_to_first_token_p50_seconds{provider="up"})"),
            std::nullopt);

  for (bool stream : {false, true, true}) {
    auto r = cli.Post("/v1/chat/completions", chat_body("m", stream), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  m = scrape(cli);
  for (const char* state : {"ejected", "probing", "at_capacity", "unavailable"}) {
    EXPECT_EQ(
        value_of(m, fmt::format(R"(llmrouter_provider_state{{provider="up",state="{}"}})", state)),
        0.0)
        << state;
  }
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_state{provider="up",state="ok"})"), 1.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_in_flight_requests{provider="up"})"), 0.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_error_ratio{provider="up"})"), 0.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_ejections_total{provider="up"})"), 0.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_restorations_total{provider="up"})"), 0.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_max_concurrency{provider="up"})"),
            std::nullopt);  // unlimited
  for (const char* timing : {"time_to_first_token", "attempt_duration"}) {
    const auto p50 =
        value_of(m, fmt::format(R"(llmrouter_provider_{}_p50_seconds{{provider="up"}})", timing));
    const auto p95 =
        value_of(m, fmt::format(R"(llmrouter_provider_{}_p95_seconds{{provider="up"}})", timing));
    const auto mean =
        value_of(m, fmt::format(R"(llmrouter_provider_{}_mean_seconds{{provider="up"}})", timing));
    ASSERT_TRUE(p50 && p95 && mean) << timing << "\n" << m;
    EXPECT_GE(*p50, 0.0) << timing;
    EXPECT_LE(*p50, *p95) << timing;
    EXPECT_LT(*p95, 60.0) << timing << ": seconds, not milliseconds";
    EXPECT_GE(*mean, 0.0) << timing;
  }
  const auto tps = value_of(m, R"(llmrouter_provider_output_tokens_per_second{provider="up"})");
  ASSERT_TRUE(tps) << m;
  EXPECT_GT(*tps, 0.0);

  ASSERT_EQ(std::system("command -v promtool >/dev/null 2>&1"), 0)
      << "promtool is missing: ./scripts/install-deps installs it";
  const auto path = std::filesystem::temp_directory_path() /
                    fmt::format("llmrouter-provider-metrics-{}.txt", ::getpid());
  std::ofstream(path) << m;
  const int rc = std::system(
      fmt::format("promtool check metrics < {} > {}.out 2>&1", path.string(), path.string())
          .c_str());
  std::ifstream out(path.string() + ".out");
  std::ostringstream lint;
  lint << out.rdbuf();
  EXPECT_EQ(rc, 0) << lint.str();
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + ".out");
}

TEST(ProviderFiguresTest, EjectionsAndRestorationsAreCounted) {
  testing::MockUpstream mock;
  testing::RunningServer router(
      config_for(mock, "eject_after_failures = 2\neject_seconds = 0.2\nmax_attempts = 1"));
  auto cli = router.client();
  for (int i = 0; i < 2; ++i) {
    auto r = cli.Post("/v1/chat/completions", chat_body("status-500", false), "application/json");
    ASSERT_TRUE(r);
    EXPECT_GE(r->status, 500);
  }
  // The counter thread takes the event off the bus: wait for it.
  auto wait_for = [&](const char* series, double at_least) {
    std::string m;
    for (int i = 0; i < 200; ++i) {
      m = scrape(cli);
      if (value_of(m, series).value_or(0) >= at_least) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return m;
  };
  std::string m = wait_for(R"(llmrouter_provider_ejections_total{provider="up"})", 1);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_ejections_total{provider="up"})"), 1.0) << m;
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_restorations_total{provider="up"})"), 0.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_state{provider="up",state="ejected"})"), 1.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_state{provider="up",state="ok"})"), 0.0);
  EXPECT_GT(value_of(m, R"(llmrouter_provider_error_ratio{provider="up"})").value_or(0), 0.0);

  // After the ejection, a successful request probes the provider and restores it.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto ok = cli.Post("/v1/chat/completions", chat_body("m", false), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  m = wait_for(R"(llmrouter_provider_restorations_total{provider="up"})", 1);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_restorations_total{provider="up"})"), 1.0) << m;
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_ejections_total{provider="up"})"), 1.0);
  EXPECT_EQ(value_of(m, R"(llmrouter_provider_state{provider="up",state="ok"})"), 1.0);
}

}  // namespace
}  // namespace llmrouter
