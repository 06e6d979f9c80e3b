// SPDX-License-Identifier: MIT
// LiveStats: the estimators (weighted means, window percentiles), ejection and probing,
// capacity, sessions, and waiting for room.
#include "llmrouter/live.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "support/fakes.h"

namespace llmrouter {
namespace {

using namespace std::chrono_literals;

RoutingConfig routing(uint32_t eject_after = 3, std::chrono::milliseconds eject = 200ms) {
  RoutingConfig r;
  r.min_samples = 2;
  r.eject_after_failures = eject_after;
  r.eject_duration = eject;
  r.stats_half_life = 60'000ms;
  return r;
}

AttemptReport ok(double ttft, double total, uint64_t tokens = 0) {
  AttemptReport r;
  r.ok = true;
  r.ttft_ms = ttft;
  r.total_ms = total;
  r.output_tokens = tokens;
  r.streamed = true;
  return r;
}

AttemptReport failed() {
  AttemptReport r;
  r.provider_failure = true;
  r.total_ms = 1;
  return r;
}

// Runs one attempt of `model` on `p` that ends with `report`; the health change it caused.
std::optional<HealthChange> attempt(LiveStats& s, ProviderLive& p, const AttemptReport& report,
                                    std::string_view model = "m") {
  AttemptLease lease;
  EXPECT_FALSE(s.begin(p, model, lease).has_value());
  return s.end(lease, report);
}

TEST(LiveStatsTest, FiguresNeedMinSamplesThenAreTheWeightedMean) {
  LiveStats s(routing());
  ProviderLive& p = s.slot("a");
  EXPECT_FALSE(p.figure("m", Measure::Ttft, 2).has_value());
  attempt(s, p, ok(100, 1000, 90));
  uint64_t n = 0;
  EXPECT_FALSE(p.figure("m", Measure::Ttft, 2, &n).has_value());
  EXPECT_EQ(n, 1u);
  attempt(s, p, ok(300, 2000, 90));
  // Two samples moments apart weigh (almost) the same.
  EXPECT_NEAR(*p.figure("m", Measure::Ttft, 2), 200.0, 1.0);
  EXPECT_NEAR(*p.figure("m", Measure::Total, 2), 1500.0, 10.0);
  // Tokens/s counts after the first byte: 90 tokens in 900 ms, then in 1700 ms.
  EXPECT_NEAR(*p.figure("m", Measure::TokensPerSecond, 2), (100.0 + 90.0 / 1.7) / 2, 1.0);
}

TEST(LiveStatsTest, OlderSamplesWeighLessByTheHalfLife) {
  RoutingConfig r = routing();
  r.stats_half_life = 20ms;
  LiveStats s(r);
  ProviderLive& p = s.slot("a");
  attempt(s, p, ok(1000, 1000));
  std::this_thread::sleep_for(200ms);  // ten half-lives: the old sample weighs ~1/1000
  attempt(s, p, ok(100, 100));
  EXPECT_LT(*p.figure("m", Measure::Ttft, 2), 110.0);
}

TEST(LiveStatsTest, AModelWithFewSamplesUsesItsProvidersFigure) {
  LiveStats s(routing());
  ProviderLive& p = s.slot("a");
  attempt(s, p, ok(100, 100), "big");
  attempt(s, p, ok(100, 100), "big");
  attempt(s, p, ok(10, 10), "small");
  // "small" has one sample: the provider's mean over all three stands in.
  EXPECT_NEAR(*p.figure("small", Measure::Ttft, 2), 70.0, 1.0);
  attempt(s, p, ok(10, 10), "small");
  EXPECT_NEAR(*p.figure("small", Measure::Ttft, 2), 10.0, 0.1);
  EXPECT_NEAR(*p.figure("big", Measure::Ttft, 2), 100.0, 0.1);
}

TEST(LiveStatsTest, SnapshotHasPercentilesPerProviderAndModel) {
  LiveStats s(routing());
  ProviderLive& p = s.slot("a");
  for (int i = 1; i <= 100; ++i) attempt(s, p, ok(i, 2.0 * i));
  attempt(s, p, failed());
  const auto snap = s.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  const FiguresSnapshot& f = snap[0].figures;
  EXPECT_EQ(f.attempts, 101u);
  EXPECT_EQ(f.failures, 1u);
  EXPECT_EQ(f.in_flight, 0u);
  ASSERT_TRUE(f.ttft_ms.has_value());
  EXPECT_EQ(f.ttft_ms->samples, 100u);
  EXPECT_NEAR(f.ttft_ms->p50, 50.0, 1.0);
  EXPECT_NEAR(f.ttft_ms->p95, 95.0, 1.0);
  EXPECT_NEAR(f.total_ms->p95, 190.0, 2.0);
  EXPECT_GT(f.error_rate, 0.0);
  EXPECT_LT(f.error_rate, 0.05);
  ASSERT_EQ(snap[0].models.size(), 1u);
  EXPECT_EQ(snap[0].models[0].model, "m");
  EXPECT_EQ(snap[0].models[0].ttft_ms->samples, 100u);
}

TEST(LiveStatsTest, ConsecutiveFailuresEjectThenOneProbeRestores) {
  LiveStats s(routing(3, 100ms));
  ProviderLive& p = s.slot("a");
  EXPECT_FALSE(attempt(s, p, failed()));
  EXPECT_FALSE(attempt(s, p, ok(1, 1)));  // a success resets the count
  EXPECT_FALSE(attempt(s, p, failed()));
  EXPECT_FALSE(attempt(s, p, failed()));
  auto change = attempt(s, p, failed());
  ASSERT_TRUE(change);
  EXPECT_EQ(change->health, Health::Ejected);
  EXPECT_EQ(change->duration, 100ms);
  EXPECT_EQ(change->consecutive_failures, 3u);
  EXPECT_FALSE(p.routable());
  AttemptLease lease;
  EXPECT_EQ(s.begin(p, "m", lease), NoRoom::Ejected);
  ASSERT_TRUE(testing::wait_until([&] { return p.routable(); }));
  EXPECT_EQ(p.health(std::chrono::steady_clock::now()), Health::Probing);
  // One probe at a time.
  AttemptLease probe;
  ASSERT_FALSE(s.begin(p, "m", probe).has_value());
  EXPECT_TRUE(probe.probe);
  EXPECT_FALSE(p.routable());
  AttemptLease second;
  EXPECT_EQ(s.begin(p, "m", second), NoRoom::Ejected);
  change = s.end(probe, ok(1, 1));
  ASSERT_TRUE(change);
  EXPECT_EQ(change->health, Health::Ok);
  EXPECT_TRUE(p.routable());
  EXPECT_EQ(p.health(std::chrono::steady_clock::now()), Health::Ok);
}

TEST(LiveStatsTest, AFailedProbeEjectsForTwiceAsLong) {
  LiveStats s(routing(1, 50ms));
  ProviderLive& p = s.slot("a");
  EXPECT_EQ(attempt(s, p, failed())->duration, 50ms);
  ASSERT_TRUE(testing::wait_until([&] { return p.routable(); }));
  EXPECT_EQ(attempt(s, p, failed())->duration, 100ms);
  ASSERT_TRUE(testing::wait_until([&] { return p.routable(); }));
  EXPECT_EQ(attempt(s, p, failed())->duration, 200ms);
}

TEST(LiveStatsTest, ARetryAfterEjectsForThatLongAndClientErrorsDoNotCount) {
  LiveStats s(routing(5));
  ProviderLive& p = s.slot("a");
  AttemptReport client_error;  // a 400: neither success nor a failure of the provider's
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(attempt(s, p, client_error));
  EXPECT_TRUE(p.routable());
  AttemptReport limited = failed();
  limited.retry_after = 7s;
  auto change = attempt(s, p, limited);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->duration, 7s);
  EXPECT_GT(p.ejection_left(), 6s);
}

TEST(LiveStatsTest, ZeroNeverEjects) {
  LiveStats s(routing(0));
  ProviderLive& p = s.slot("a");
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(attempt(s, p, failed()));
  EXPECT_TRUE(p.routable());
}

TEST(LiveStatsTest, AProviderAtItsCapTakesNoMore) {
  Config config;
  config.providers.push_back(ProviderConfig{});
  config.providers.back().name = "a";
  config.providers.back().max_concurrency = 2;
  LiveStats s;
  s.configure(config);
  ProviderLive& p = s.slot("a");
  AttemptLease one, two, three;
  EXPECT_FALSE(s.begin(p, "m", one).has_value());
  EXPECT_FALSE(p.at_capacity());
  EXPECT_FALSE(s.begin(p, "m", two).has_value());
  EXPECT_TRUE(p.at_capacity());
  EXPECT_EQ(s.begin(p, "m", three), NoRoom::AtCapacity);
  EXPECT_EQ(p.in_flight(), 2u);
  s.end(one, ok(1, 1));
  EXPECT_FALSE(p.at_capacity());
  EXPECT_FALSE(s.begin(p, "m", three).has_value());
  s.end(two, ok(1, 1));
  s.end(three, ok(1, 1));
  EXPECT_EQ(p.in_flight(), 0u);
}

TEST(LiveStatsTest, SessionsAreRememberedUntilTheirTtl) {
  RoutingConfig r = routing();
  r.affinity_ttl = 50ms;
  LiveStats s(r);
  EXPECT_FALSE(s.session("s1"));
  s.remember("s1", "a", "m");
  ASSERT_TRUE(s.session("s1"));
  EXPECT_EQ(s.session("s1")->first, "a");
  s.remember("s1", "b", "n");  // the session moved
  EXPECT_EQ(*s.session("s1"), std::make_pair(std::string("b"), std::string("n")));
  EXPECT_TRUE(testing::wait_until([&] { return !s.session("s1"); }));
}

TEST(LiveStatsTest, AWaitingRequestWakesWhenAPlaceFreesOrAtItsDeadline) {
  LiveStats s;
  ProviderLive& p = s.slot("a");
  AttemptLease lease;
  ASSERT_FALSE(s.begin(p, "m", lease).has_value());
  std::atomic<int> woke{-1};
  s.wait_for_room(std::chrono::steady_clock::now() + 30s,
                  [&](bool timed_out) { woke = timed_out ? 1 : 0; });
  s.end(lease, ok(1, 1));
  ASSERT_TRUE(testing::wait_until([&] { return woke.load() != -1; }));
  EXPECT_EQ(woke.load(), 0);
  std::atomic<int> late{-1};
  s.wait_for_room(std::chrono::steady_clock::now() + 30ms,
                  [&](bool timed_out) { late = timed_out ? 1 : 0; });
  // Nothing frees a place: the periodic re-check may wake it first, never past its deadline.
  ASSERT_TRUE(testing::wait_until([&] { return late.load() != -1; }));
  std::atomic<int> gone{-1};
  s.wait_for_room(std::chrono::steady_clock::now() + 30s,
                  [&](bool timed_out) { gone = timed_out ? 1 : 0; });
  s.shutdown();
  ASSERT_TRUE(testing::wait_until([&] { return gone.load() != -1; }));
  EXPECT_EQ(gone.load(), 1);
}

}  // namespace
}  // namespace llmrouter
