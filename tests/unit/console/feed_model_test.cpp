// SPDX-License-Identifier: MIT
#include "feed_model.h"

#include <gtest/gtest.h>

#include "recorded.h"

namespace llmrouter::console {
namespace {

CompleteEvent completion(uint64_t id, std::string provider, int64_t duration_ms, bool error = false) {
  CompleteEvent e;
  e.id = id;
  e.ts_ms = 1000 * static_cast<int64_t>(id);
  e.provider = std::move(provider);
  e.duration_ms = duration_ms;
  if (error) e.error = "boom";
  return e;
}

TEST(FeedModelTest, ARecordedSequenceEndsWithEveryRequestCompleted) {
  FeedModel m;
  for (const RouterEvent& e : testing::recorded_events("feed_sequence.sse")) m.apply(e, 0);
  EXPECT_TRUE(m.pending().empty());
  ASSERT_EQ(m.completed().size(), 5u);
  EXPECT_EQ(m.completed().front().provider, "mock-ollama");  // newest first
  EXPECT_EQ(m.completed().back().prompt(), "hello there");
  const Stats& s = m.stats();
  EXPECT_EQ(s.requests(), 5u);
  EXPECT_EQ(s.errors(), 1u);
  EXPECT_EQ(s.input_tokens(), 812u + 812u + 4025u + 0u + 26u);
  const auto providers = s.providers();
  ASSERT_EQ(providers.size(), 3u);
  EXPECT_EQ(providers[0].name, "mock-openai");
  EXPECT_EQ(providers[0].requests, 3u);
  EXPECT_EQ(providers[0].errors, 1u);
  EXPECT_GT(providers[0].last_success_ms, 0);
  const auto tags = s.tags();
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0].tag, "code");
  EXPECT_FALSE(tags[0].response);
  EXPECT_EQ(m.events(), 20u);
}

TEST(FeedModelTest, InterleavedRequestsAreTrackedByIdUntilTheyComplete) {
  FeedModel m;
  const auto events = testing::recorded_events("feed_interleaved.sse", 3);
  ASSERT_EQ(events.size(), 12u);
  for (std::size_t i = 0; i < 6; ++i) m.apply(events[i], 100);  // two starts, both routed
  ASSERT_EQ(m.pending().size(), 2u);
  EXPECT_EQ(m.pending()[0].model, "gpt-4o");  // newest first
  EXPECT_EQ(m.pending()[1].model, "latency-400");
  EXPECT_EQ(m.pending()[1].provider, "mock-openai");
  EXPECT_EQ(m.pending()[1].received_ms, 100);
  m.apply(events[6], 200);  // the slow one completes first
  ASSERT_EQ(m.pending().size(), 1u);
  EXPECT_EQ(m.pending()[0].model, "gpt-4o");
  for (std::size_t i = 7; i < events.size(); ++i) m.apply(events[i], 300);
  EXPECT_TRUE(m.pending().empty());
  ASSERT_EQ(m.completed().size(), 3u);
  EXPECT_EQ(m.completed()[2].system, "be brief");
  EXPECT_EQ(m.completed()[0].response->content, "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST(FeedModelTest, LatencyAverageAndP95) {
  Stats s;
  for (int i = 1; i <= 100; ++i) s.add(completion(static_cast<uint64_t>(i), "p", i * 10));
  EXPECT_EQ(s.average_ms(), 505);
  EXPECT_EQ(s.p95_ms(), 950);
  Stats one;
  one.add(completion(1, "p", 42));
  EXPECT_EQ(one.p95_ms(), 42);
  EXPECT_EQ(Stats().p95_ms(), 0);
  EXPECT_EQ(Stats().average_ms(), 0);
}

TEST(FeedModelTest, ProvidersSortByCountAndRememberTheLastSuccess) {
  Stats s;
  s.add(completion(1, "b", 5));
  s.add(completion(2, "a", 5));
  s.add(completion(3, "a", 5, true));
  s.add(completion(4, "", 5, true));
  const auto p = s.providers();
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].name, "a");
  EXPECT_EQ(p[0].requests, 2u);
  EXPECT_EQ(p[0].errors, 1u);
  EXPECT_EQ(p[0].last_success_ms, 2000);  // the failure at 3000 does not count
  EXPECT_EQ(p[1].name, "(none)");
  EXPECT_EQ(p[1].last_success_ms, 0);
  EXPECT_EQ(p[2].name, "b");
}

TEST(FeedModelTest, RequestAndResponseTagsAreCountedApart) {
  Stats s;
  CompleteEvent e = completion(1, "p", 1);
  e.tags = {"code", "vision"};
  e.response = ResponseInfo{};
  e.response->tags = {"refusal"};
  s.add(e);
  e.tags = {"code"};
  e.response->tags = {"code"};
  s.add(e);
  const auto t = s.tags();
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].tag, "code");
  EXPECT_EQ(t[0].count, 2u);
  EXPECT_FALSE(t[0].response);
  EXPECT_EQ(t[1].tag, "vision");  // equal counts: request tags first
  EXPECT_FALSE(t[1].response);
  EXPECT_EQ(t[2].tag, "code");
  EXPECT_TRUE(t[2].response);
  EXPECT_EQ(t[3].tag, "refusal");
}

TEST(FeedModelTest, KeepsTheLatest200AndScrollStaysOnTheSameEntry) {
  FeedModel m;
  for (uint64_t i = 1; i <= 10; ++i) m.apply(completion(i, "p", 1), 0);
  m.scroll_by(3);
  EXPECT_EQ(m.scroll(), 3u);
  EXPECT_EQ(m.completed()[m.scroll()].id, 7u);
  m.apply(completion(11, "p", 1), 0);
  EXPECT_EQ(m.completed()[m.scroll()].id, 7u);  // a new arrival does not move the view
  m.scroll_by(-100);
  EXPECT_EQ(m.scroll(), 0u);
  m.scroll_by(1000);
  EXPECT_EQ(m.scroll(), 10u);  // the oldest entry stays visible
  for (uint64_t i = 12; i <= 300; ++i) m.apply(completion(i, "p", 1), 0);
  EXPECT_EQ(m.completed().size(), FeedModel::kMaxCompleted);
  EXPECT_EQ(m.completed().front().id, 300u);
  EXPECT_EQ(m.stats().requests(), 300u);
}

TEST(FeedModelTest, EventsForUnknownRequestsAreHarmless) {
  FeedModel m;
  m.apply(RoutedEvent{42, 0, "p", "m", "r"}, 0);
  m.apply(ClassifiedEvent{42, 0, {"x"}}, 0);
  EXPECT_TRUE(m.pending().empty());
  m.apply(completion(42, "p", 1), 0);  // a completion whose start was missed still counts
  EXPECT_EQ(m.stats().requests(), 1u);
}

TEST(FeedModelTest, GoingLiveAgainDropsRequestsWhoseEndWasMissed) {
  FeedModel m;
  FeedState live;
  live.phase = FeedPhase::Live;
  live.was_live = true;
  m.set_connection(live, 0);
  m.apply(StartEvent{1, 0, "m", 1}, 0);
  FeedState gone;
  gone.phase = FeedPhase::Disconnected;
  gone.was_live = true;
  m.set_connection(gone, 10);
  EXPECT_EQ(m.pending().size(), 1u);  // still shown while away
  m.set_connection(live, 20);
  EXPECT_TRUE(m.pending().empty());
  EXPECT_EQ(m.connection_since_ms(), 20);
}

}  // namespace
}  // namespace llmrouter::console
