// SPDX-License-Identifier: MIT
// The providers' live state in the TUI: GET /v1/providers parsed into rows, polled by the
// ProvidersClient, and drawn in the stats pane with the latest health events.
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "providers_client.h"
#include "providers_model.h"
#include "render.h"
#include "support/fakes.h"
#include "text.h"

namespace llmrouter::console {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// As llmrouter-server answers (lib/core/host_json.cpp): one provider with figures, one
// ejected before any sample, one Ollama provider.
constexpr const char* kBody = R"({"object":"list","data":[
 {"name":"openai","format":"openai","state":"ok","max_concurrency":4,"consecutive_failures":0,"ejections":0,
  "in_flight":1,"attempts":20,"failures":1,"error_rate":0.05,
  "ttft_ms":{"mean":130.5,"p50":120,"p95":450,"samples":20},
  "total_ms":{"mean":1500,"p50":1200,"p95":3400,"samples":20},
  "tokens_per_s":{"mean":38.2,"p50":37,"p95":60,"samples":20},
  "models":[{"model":"gpt-4o","in_flight":1,"attempts":20,"failures":1,"error_rate":0.05,"ttft_ms":null,"total_ms":null,"tokens_per_s":null}]},
 {"name":"claude","format":"anthropic","state":"ejected","ejected_until":"2025-01-01T00:00:30Z","max_concurrency":0,
  "consecutive_failures":5,"ejections":1,"in_flight":0,"attempts":5,"failures":5,"error_rate":1,
  "ttft_ms":null,"total_ms":null,"tokens_per_s":null,"models":[]},
 {"name":"local","format":"ollama","state":"ok","max_concurrency":0,"consecutive_failures":0,"ejections":0,
  "in_flight":0,"attempts":0,"failures":0,"error_rate":0,"ttft_ms":null,"total_ms":null,"tokens_per_s":null,
  "models":[],"loaded_models":["llama3.1:8b"],"future_member":{"x":1}}
]})";

std::string text(const std::vector<Line>& lines) {
  std::string out;
  for (const Line& l : lines) out += l.text() + "\n";
  return out;
}

TEST(ProvidersModelTest, ParsesEveryProviderAndItsFigures) {
  auto rows = parse_providers(kBody);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  const ProviderRow& a = (*rows)[0];
  EXPECT_EQ(a.name, "openai");
  EXPECT_EQ(a.state, "ok");
  EXPECT_EQ(a.in_flight, 1u);
  EXPECT_EQ(a.max_concurrency, 4u);
  EXPECT_EQ(a.attempts, 20u);
  EXPECT_EQ(a.failures, 1u);
  EXPECT_DOUBLE_EQ(a.error_rate, 0.05);
  ASSERT_TRUE(a.ttft_ms);
  EXPECT_DOUBLE_EQ(a.ttft_ms->p50, 120);
  EXPECT_DOUBLE_EQ(a.ttft_ms->p95, 450);
  EXPECT_EQ(a.ttft_ms->samples, 20u);
  ASSERT_TRUE(a.tokens_per_s);
  EXPECT_DOUBLE_EQ(a.tokens_per_s->mean, 38.2);
  const ProviderRow& b = (*rows)[1];
  EXPECT_EQ(b.state, "ejected");
  EXPECT_EQ(b.ejected_until, "2025-01-01T00:00:30Z");
  EXPECT_FALSE(b.ttft_ms);
  EXPECT_FALSE(b.tokens_per_s);
  EXPECT_EQ((*rows)[2].name, "local");
}

TEST(ProvidersModelTest, RejectsWhatIsNotAProvidersList) {
  EXPECT_FALSE(parse_providers("{nope"));
  auto no_data = parse_providers(R"({"object":"list"})");
  ASSERT_FALSE(no_data);
  EXPECT_THAT(no_data.error().message, HasSubstr("data"));
  auto wrong = parse_providers(R"({"data":[{"name":"a","in_flight":"two"}]})");
  ASSERT_FALSE(wrong);
  EXPECT_THAT(wrong.error().message, HasSubstr("data[0].in_flight"));
}

TEST(ProvidersModelTest, AFailedReadKeepsTheRowsAndShowsTheError) {
  ProvidersModel m;
  EXPECT_EQ(m.updated_ms(), 0);
  m.update(*parse_providers(kBody), 1000);
  EXPECT_EQ(m.rows().size(), 3u);
  m.set_error("HTTP 401: invalid or missing API key", 3000);
  EXPECT_EQ(m.rows().size(), 3u);
  EXPECT_EQ(m.updated_ms(), 1000);
  EXPECT_EQ(m.error(), "HTTP 401: invalid or missing API key");
  m.update({}, 5000);
  EXPECT_TRUE(m.error().empty());
  EXPECT_TRUE(m.rows().empty());
}

class ProvidersRenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

TEST_F(ProvidersRenderTest, EachProviderShowsStateInFlightTtftTokensAndErrors) {
  ProvidersModel m;
  EXPECT_EQ(text(providers_lines(m, 0, 80)), "live providers\n  reading /v1/providers…\n");
  m.update(*parse_providers(kBody), 10'000);
  const std::string t = text(providers_lines(m, 12'000, 80));
  EXPECT_EQ(t,
            "live providers  2s ago\n"
            "  openai  ok  1/4 in flight\n"
            "    ttft 120ms/450ms · 38 tok/s · 5% err\n"
            "  claude  ejected  0 in flight\n"
            "    ttft – · – tok/s · 100% err\n"
            "  local  ok  0 in flight\n");  // not tried yet: no figures line
  // Styles: the state says how the provider is doing.
  const std::vector<Line> lines = providers_lines(m, 12'000, 80);
  EXPECT_EQ(lines[1].spans[3].text, "ok");
  EXPECT_EQ(lines[1].spans[3].style, Style::Ok);
  EXPECT_EQ(lines[3].spans[3].text, "ejected");
  EXPECT_EQ(lines[3].spans[3].style, Style::Error);
  // Cut to the pane's width.
  for (const Line& l : providers_lines(m, 12'000, 20))
    EXPECT_LE(display_width(l.text()), 20) << l.text();

  m.set_error("HTTP 401: invalid or missing API key", 13'000);
  EXPECT_THAT(text(providers_lines(m, 14'000, 80)),
              HasSubstr("live providers  HTTP 401: invalid or missing API key\n  openai  ok"));
}

TEST_F(ProvidersRenderTest, HealthEventsAreParsedCountedAndShown) {
  auto ejected = parse_event(
      R"({"type":"health","ts_ms":45296000,"provider":"claude","state":"ejected","duration_ms":30000,"failures":5,"reason":"HTTP 503: overloaded"})");
  ASSERT_TRUE(ejected) << ejected.error().message;
  EXPECT_EQ(event_type(*ejected), "health");
  EXPECT_EQ(event_id(*ejected), 0u);
  const auto& h = std::get<HealthEvent>(*ejected);
  EXPECT_EQ(h.provider, "claude");
  EXPECT_TRUE(h.ejected());
  EXPECT_EQ(h.duration_ms, 30000);
  EXPECT_EQ(h.failures, 5u);
  EXPECT_EQ(health_line(h).text(),
            "12:34:56  claude  ejected for 30s · 5 failures · HTTP 503: overloaded");
  auto restored = parse_event(
      R"({"type":"health","ts_ms":45326000,"provider":"claude","state":"restored","duration_ms":0,"failures":0})");
  ASSERT_TRUE(restored);
  EXPECT_EQ(health_line(std::get<HealthEvent>(*restored)).text(), "12:35:26  claude  restored");

  FeedModel feed;
  EXPECT_TRUE(health_lines(feed, 80).empty());
  feed.apply(*ejected, 1);
  feed.apply(*restored, 2);
  EXPECT_EQ(feed.ejections(), 1u);
  EXPECT_EQ(feed.restorations(), 1u);
  EXPECT_EQ(feed.unparsed(), 0u);
  EXPECT_TRUE(feed.pending().empty());
  EXPECT_TRUE(feed.completed().empty());  // not a request
  EXPECT_EQ(text(health_lines(feed, 80)),
            "health  1 ejected · 1 restored\n"
            "  12:35:26  claude  restored\n"
            "  12:34:56  claude  ejected for 30s · 5 failures · HTTP 503: overloaded\n");
  for (int i = 0; i < 30; ++i) feed.apply(*ejected, 3);
  EXPECT_EQ(feed.health().size(), FeedModel::kMaxHealth);
  EXPECT_EQ(health_lines(feed, 80, 5).size(), 6u);  // the title and the latest five
}

TEST_F(ProvidersRenderTest, TheStatsPaneShowsTheTotalsThenTheProvidersThenTheHealth) {
  TuiModel model;
  model.providers.update(*parse_providers(kBody), 10'000);
  model.feed.apply(
      *parse_event(
          R"({"type":"health","ts_ms":45296000,"provider":"claude","state":"ejected","duration_ms":30000,"failures":5})"),
      10'000);
  const Frame f = render(model, 40, 150, 11'000);
  ASSERT_EQ(f.boxes.size(), 4u);
  const std::string stats = text(f.boxes[1].lines);
  const auto totals = stats.find("0 requests");
  const auto live = stats.find("live providers  1s ago");
  const auto openai = stats.find("openai  ok  1/4 in flight");
  const auto health = stats.find("health  1 ejected · 0 restored");
  ASSERT_NE(totals, std::string::npos) << stats;
  ASSERT_NE(live, std::string::npos) << stats;
  ASSERT_NE(openai, std::string::npos) << stats;
  ASSERT_NE(health, std::string::npos) << stats;
  EXPECT_LT(totals, live);
  EXPECT_LT(live, openai);
  EXPECT_LT(openai, health);
  EXPECT_THAT(stats, HasSubstr("claude  ejected for 30s · 5 failures"));
}

// ---- the client

class Updates {
 public:
  void push(ProvidersUpdate u) {
    std::lock_guard<std::mutex> lock(mu_);
    updates_.push_back(std::move(u));
    cv_.notify_all();
  }
  // Waits for the n-th update (1-based).
  ProvidersUpdate get(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, 5s, [&] { return updates_.size() >= n; })) << "update " << n;
    return updates_.size() >= n ? updates_[n - 1] : ProvidersUpdate{};
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return updates_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ProvidersUpdate> updates_;
};

ProvidersOptions options() {
  ProvidersOptions o;
  o.base_url = "http://router:8090/";
  o.api_key = "sekret";
  o.interval = 20ms;
  return o;
}

TEST(ProvidersClientTest, PollsWithTheKeyAndDeliversRowsThenErrors) {
  testing::FakeTransport t;
  Updates updates;
  ProvidersClient client(t, options(), [&](ProvidersUpdate u) { updates.push(std::move(u)); });
  client.start();
  ASSERT_TRUE(t.wait_started(1));
  const HttpRequest req = t.request(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.url, "http://router:8090/v1/providers");
  bool has_key = false;
  for (const auto& [k, v] : req.headers) has_key |= k == "Authorization" && v == "Bearer sekret";
  EXPECT_TRUE(has_key);
  t.headers(0, 200, {{"content-type", "application/json"}});
  t.data(0, std::string(kBody).substr(0, 100));
  t.data(0, std::string(kBody).substr(100));
  t.end(0);
  const ProvidersUpdate first = updates.get(1);
  EXPECT_FALSE(first.error);
  EXPECT_EQ(first.rows.size(), 3u);

  // The next poll follows the interval; a refusal is reported as the router said it.
  ASSERT_TRUE(t.wait_started(2));
  t.headers(1, 401, {{"content-type", "application/json"}});
  t.data(1, R"({"error":{"message":"invalid or missing API key"}})");
  t.end(1);
  const ProvidersUpdate second = updates.get(2);
  ASSERT_TRUE(second.error);
  EXPECT_EQ(*second.error, "HTTP 401: invalid or missing API key");

  // So is an answer that is no providers list.
  ASSERT_TRUE(t.wait_started(3));
  t.headers(2, 200, {});
  t.data(2, "<html>");
  t.end(2);
  const ProvidersUpdate third = updates.get(3);
  ASSERT_TRUE(third.error);
  EXPECT_THAT(*third.error, HasSubstr("/v1/providers"));
}

TEST(ProvidersClientTest, StopCancelsThePollInFlightAndReportsNothingAfter) {
  testing::FakeTransport t;
  Updates updates;
  ProvidersClient client(t, options(), [&](ProvidersUpdate u) { updates.push(std::move(u)); });
  client.start();
  ASSERT_TRUE(t.wait_started(1));
  client.stop();
  EXPECT_EQ(t.cancels(), 1);
  EXPECT_EQ(updates.count(), 0u);
  client.stop();  // idempotent
}

}  // namespace
}  // namespace llmrouter::console
