// SPDX-License-Identifier: MIT
// The Redis LimitStore against a real redis-server: gateway.h's semantics at fixed times,
// step by step beside the memory store (the two must agree exactly); two stores on two
// transports sharing one key; an outage (stopped, frozen) and the recovery; AUTH and SELECT.
#include <atomic>
#include <chrono>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "llmrouter/config.h"
#include "llmrouter/gateway.h"
#include "llmrouter/log.h"
#include "llmrouter/transport.h"
#include "support/fakes.h"
#include "support/redis_server.h"

namespace llmrouter {
namespace {

using testing::RedisServer;
using testing::wait_until;

// 2026-12-03 12:00:00 UTC.
constexpr int64_t kT0 = 1'796'299'200'000;
constexpr int64_t kS0 = kT0 / 1000;
constexpr int64_t kSecond = 1000;
constexpr auto kWait = std::chrono::seconds(10);  // bounds every wait for a callback

Result<Admission> admit(LimitStore& store, const AdmitQuery& q) {
  auto p = std::make_shared<std::promise<Result<Admission>>>();
  auto f = p->get_future();
  store.admit(q, [p](Result<Admission> r) { p->set_value(std::move(r)); });
  if (f.wait_for(kWait) != std::future_status::ready)
    return fail(Errc::Internal, "admit never called back");
  return f.get();
}

Result<KeyUsage> usage(LimitStore& store, const std::string& key, const KeyLimits& limits,
                       int64_t now_ms) {
  auto p = std::make_shared<std::promise<Result<KeyUsage>>>();
  auto f = p->get_future();
  store.usage(key, limits, now_ms, [p](Result<KeyUsage> r) { p->set_value(std::move(r)); });
  if (f.wait_for(kWait) != std::future_status::ready)
    return fail(Errc::Internal, "usage never called back");
  return f.get();
}

AdmitQuery query(const std::string& key, const KeyLimits& limits, uint64_t tokens, int64_t now_ms) {
  AdmitQuery q;
  q.key = key;
  q.limits = limits;
  q.tokens = tokens;
  q.now_ms = now_ms;
  return q;
}

Settlement settlement(const std::string& key, const KeyLimits& limits, int64_t slot,
                      uint64_t estimated, uint64_t tokens, double cost, int64_t now_ms) {
  Settlement s;
  s.key = key;
  s.limits = limits;
  s.slot = slot;
  s.estimated_tokens = estimated;
  s.tokens = tokens;
  s.cost_usd = cost;
  s.now_ms = now_ms;
  return s;
}

void expect_same(const Admission& redis, const Admission& memory) {
  EXPECT_EQ(redis.verdict, memory.verdict);
  EXPECT_EQ(redis.retry_after_s, memory.retry_after_s);
  EXPECT_EQ(redis.slot, memory.slot);
  EXPECT_EQ(redis.window_requests, memory.window_requests);
  EXPECT_EQ(redis.window_tokens, memory.window_tokens);
  EXPECT_DOUBLE_EQ(redis.spent_usd, memory.spent_usd);
  EXPECT_EQ(redis.period_end_s, memory.period_end_s);
}

void expect_same(const KeyUsage& redis, const KeyUsage& memory) {
  EXPECT_EQ(redis.period.id, memory.period.id);
  EXPECT_EQ(redis.period.start_s, memory.period.start_s);
  EXPECT_EQ(redis.period.end_s, memory.period.end_s);
  EXPECT_EQ(redis.requests, memory.requests);
  EXPECT_EQ(redis.tokens, memory.tokens);
  EXPECT_DOUBLE_EQ(redis.spent_usd, memory.spent_usd);
  EXPECT_EQ(redis.window_requests, memory.window_requests);
  EXPECT_EQ(redis.window_tokens, memory.window_tokens);
}

// Collects log messages while it lives.
class LogCapture {
 public:
  LogCapture() : level_(log_level()) {
    set_log_level(LogLevel::Info);
    set_log_sink([this](LogLevel level, std::string_view message) {
      std::lock_guard lock(mu_);
      lines_.emplace_back(level, std::string(message));
    });
  }
  ~LogCapture() {
    set_log_sink({});
    set_log_level(level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  int count(LogLevel level, std::string_view part) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [l, m] : lines_) n += l == level && m.find(part) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  LogLevel level_;
  mutable std::mutex mu_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

class RedisLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override { start_server({}); }

  void start_server(RedisServer::Options options) {
    server_ = std::make_unique<RedisServer>(std::move(options));
    if (!server_->running()) GTEST_SKIP() << "no Redis to test against: " << server_->error();
  }

  StateConfig state() const {
    StateConfig s;
    s.backend = StateBackend::Redis;
    s.redis_url = server_->url();
    s.key_prefix = "test:";
    s.redis_timeout = std::chrono::milliseconds(500);
    return s;
  }

  std::shared_ptr<LimitStore> store(const StateConfig& s,
                                    std::shared_ptr<Transport> transport = nullptr,
                                    const KeyEnvReader& getenv = {}) {
    if (!transport) transport = transport_;
    auto r = make_redis_limit_store(s, getenv, transport);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : nullptr;
  }

  // Admits `q` through both stores; expects the same answer and returns Redis's.
  Admission both(const AdmitQuery& q) {
    auto r = admit(*redis_, q);
    auto m = admit(*memory_, q);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    if (!r || !m) return {};
    expect_same(*r, *m);
    return *r;
  }
  void settle_both(const Settlement& s) {
    redis_->settle(s);
    memory_->settle(s);
  }
  KeyUsage usage_both(const std::string& key, const KeyLimits& limits, int64_t now_ms) {
    // On the same connection as the settlements before it, so it sees them.
    auto r = usage(*redis_, key, limits, now_ms);
    auto m = usage(*memory_, key, limits, now_ms);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    if (!r || !m) return {};
    expect_same(*r, *m);
    return *r;
  }
  void make_pair() {
    redis_ = store(state());
    memory_ = make_memory_limit_store();
    ASSERT_TRUE(redis_);
  }

  std::unique_ptr<RedisServer> server_;
  std::shared_ptr<Transport> transport_ = make_curl_transport();
  std::shared_ptr<LimitStore> redis_;
  std::shared_ptr<LimitStore> memory_;
};

TEST_F(RedisLimitsTest, RpmAdmitsExactlyTheLimitAndTellsWhenTheOldestSlotLeaves) {
  make_pair();
  KeyLimits limits;
  limits.rpm = 3;
  for (int i = 0; i < 3; ++i) {
    const Admission a = both(query("alice", limits, 10, kT0 + i * 10 * kSecond));
    EXPECT_EQ(a.verdict, Admission::Verdict::Admitted);
    EXPECT_EQ(a.window_requests, static_cast<uint64_t>(i));
    EXPECT_EQ(a.slot, kS0 + i * 10);
  }
  // The fourth, 30 s in: the first slot leaves the window 31 s later.
  Admission a = both(query("alice", limits, 10, kT0 + 30 * kSecond));
  EXPECT_EQ(a.verdict, Admission::Verdict::OverRpm);
  EXPECT_EQ(a.retry_after_s, 31);
  EXPECT_EQ(a.window_requests, 3u);
  // Nothing was counted for it.
  a = both(query("alice", limits, 10, kT0 + 60 * kSecond));
  EXPECT_EQ(a.verdict, Admission::Verdict::OverRpm);
  EXPECT_EQ(a.retry_after_s, 1);
  a = both(query("alice", limits, 10, kT0 + 61 * kSecond));
  EXPECT_EQ(a.verdict, Admission::Verdict::Admitted);
  EXPECT_EQ(a.window_requests, 2u);
  // Another key has a window of its own.
  EXPECT_EQ(both(query("bob", limits, 10, kT0 + 61 * kSecond)).verdict,
            Admission::Verdict::Admitted);
  // rpm 0 admits nothing.
  KeyLimits none;
  none.rpm = 0;
  a = both(query("carol", none, 1, kT0));
  EXPECT_EQ(a.verdict, Admission::Verdict::OverRpm);
  EXPECT_EQ(a.retry_after_s, 61);
}

TEST_F(RedisLimitsTest, TpmCountsTheEstimateAndSettleCorrectsIt) {
  make_pair();
  KeyLimits limits;
  limits.tpm = 1000;
  Admission first = both(query("alice", limits, 600, kT0));
  ASSERT_EQ(first.verdict, Admission::Verdict::Admitted);
  Admission a = both(query("alice", limits, 500, kT0 + kSecond));
  EXPECT_EQ(a.verdict, Admission::Verdict::OverTpm);
  EXPECT_EQ(a.window_tokens, 600u);
  EXPECT_EQ(a.retry_after_s, 60);
  // An estimate alone over the limit never fits.
  a = both(query("alice", limits, 1001, kT0 + kSecond));
  EXPECT_EQ(a.verdict, Admission::Verdict::OverTpm);
  EXPECT_EQ(a.retry_after_s, 61);
  // The first used 300, not 600: the window has room for 500 now.
  settle_both(settlement("alice", limits, first.slot, 600, 300, 0.01, kT0 + 2 * kSecond));
  KeyUsage u = usage_both("alice", limits, kT0 + 2 * kSecond);
  EXPECT_EQ(u.window_tokens, 300u);
  EXPECT_EQ(u.tokens, 300u);
  a = both(query("alice", limits, 500, kT0 + 2 * kSecond));
  EXPECT_EQ(a.verdict, Admission::Verdict::Admitted);
  EXPECT_EQ(a.window_tokens, 300u);
  // A correction after the slot left the window changes the period's totals only.
  settle_both(settlement("alice", limits, a.slot, 500, 900, 0.02, kT0 + 70 * kSecond));
  u = usage_both("alice", limits, kT0 + 70 * kSecond);
  EXPECT_EQ(u.window_tokens, 0u);
  EXPECT_EQ(u.window_requests, 0u);
  EXPECT_EQ(u.tokens, 1200u);
  EXPECT_EQ(u.requests, 2u);
  EXPECT_NEAR(u.spent_usd, 0.03, 1e-12);
}

TEST_F(RedisLimitsTest, BudgetsRefuseUntilThePeriodEnds) {
  make_pair();
  for (BudgetPeriod period : {BudgetPeriod::Day, BudgetPeriod::Month, BudgetPeriod::Total}) {
    KeyLimits limits;
    limits.budget_usd = 1.0;
    limits.period = period;
    const std::string key = "k" + std::to_string(static_cast<int>(period));
    const BudgetWindow w = budget_window(period, kS0);
    Admission a = both(query(key, limits, 10, kT0));
    ASSERT_EQ(a.verdict, Admission::Verdict::Admitted);
    EXPECT_EQ(a.period_end_s, w.end_s);
    settle_both(settlement(key, limits, a.slot, 10, 10, 0.6, kT0 + kSecond));
    usage_both(key, limits, kT0 + kSecond);  // the settlement has landed
    a = both(query(key, limits, 10, kT0 + 2 * kSecond));
    ASSERT_EQ(a.verdict, Admission::Verdict::Admitted);
    EXPECT_DOUBLE_EQ(a.spent_usd, 0.6);
    settle_both(settlement(key, limits, a.slot, 10, 10, 0.4, kT0 + 3 * kSecond));
    usage_both(key, limits, kT0 + 3 * kSecond);
    // 1.0 spent: the budget is reached.
    a = both(query(key, limits, 10, kT0 + 4 * kSecond));
    EXPECT_EQ(a.verdict, Admission::Verdict::OverBudget);
    EXPECT_DOUBLE_EQ(a.spent_usd, 1.0);
    if (period == BudgetPeriod::Total) {
      EXPECT_EQ(a.retry_after_s, 0);
      EXPECT_EQ(a.period_end_s, std::numeric_limits<int64_t>::max());
    } else {
      EXPECT_EQ(a.retry_after_s, w.end_s - (kS0 + 4));
      // The next period starts afresh.
      a = both(query(key, limits, 10, w.end_s * 1000));
      EXPECT_EQ(a.verdict, Admission::Verdict::Admitted);
      EXPECT_DOUBLE_EQ(a.spent_usd, 0.0);
    }
  }
  // The budget comes before the rates.
  KeyLimits both_limits;
  both_limits.budget_usd = 0.0;
  both_limits.rpm = 0;
  EXPECT_EQ(both(query("zero", both_limits, 1, kT0)).verdict, Admission::Verdict::OverBudget);
}

TEST_F(RedisLimitsTest, UsageReportsThePeriodAndTheWindow) {
  make_pair();
  KeyLimits limits;
  limits.period = BudgetPeriod::Day;
  KeyUsage u = usage_both("nobody", limits, kT0);
  EXPECT_EQ(u.requests, 0u);
  EXPECT_EQ(u.period.id, "d20261203");
  for (int i = 0; i < 4; ++i) {
    const Admission a = both(query("alice", limits, 100, kT0 + i * 20 * kSecond));
    settle_both(settlement("alice", limits, a.slot, 100, 150, 0.25, kT0 + i * 20 * kSecond + 500));
  }
  u = usage_both("alice", limits, kT0 + 60 * kSecond + 500);
  EXPECT_EQ(u.requests, 4u);
  EXPECT_EQ(u.tokens, 600u);
  EXPECT_DOUBLE_EQ(u.spent_usd, 1.0);
  EXPECT_EQ(u.window_requests, 4u);
  EXPECT_EQ(u.window_tokens, 600u);
  // 61 s after the first: it has left the window, not the period.
  u = usage_both("alice", limits, kT0 + 61 * kSecond);
  EXPECT_EQ(u.window_requests, 3u);
  EXPECT_EQ(u.window_tokens, 450u);
  EXPECT_EQ(u.requests, 4u);
  // The next day: a new period.
  u = usage_both("alice", limits, kT0 + 86'400 * kSecond);
  EXPECT_EQ(u.period.id, "d20261204");
  EXPECT_EQ(u.requests, 0u);
}

TEST_F(RedisLimitsTest, KeysLiveUnderThePrefixAndExpire) {
  make_pair();
  KeyLimits day;
  day.period = BudgetPeriod::Day;
  KeyLimits total;
  total.period = BudgetPeriod::Total;
  both(query("alice", day, 5, kT0));
  both(query("bob", total, 5, kT0));
  const std::string keys = server_->command({"KEYS", "*"});
  EXPECT_NE(keys.find("test:win:{alice}"), std::string::npos) << keys;
  EXPECT_NE(keys.find("test:use:{alice}:d20261203"), std::string::npos) << keys;
  EXPECT_NE(keys.find("test:use:{bob}:total"), std::string::npos) << keys;
  for (std::string_view k :
       {"test:win:{alice}", "test:use:{alice}:d20261203", "test:use:{bob}:total"}) {
    EXPECT_EQ(keys.find(k), keys.rfind(k));
  }
  const long long window_ttl = std::stoll(server_->command({"PTTL", "test:win:{alice}"}));
  EXPECT_GT(window_ttl, 61'000);
  EXPECT_LE(window_ttl, 120'000);
  // A day's totals: until a day after its end (12 h left of it at kT0).
  const long long day_ttl = std::stoll(server_->command({"PTTL", "test:use:{alice}:d20261203"}));
  EXPECT_GT(day_ttl, (12 + 24) * 3'600'000LL - 60'000);
  EXPECT_LE(day_ttl, (12 + 24) * 3'600'000LL);
  EXPECT_EQ(server_->command({"PTTL", "test:use:{bob}:total"}), "-1");
  EXPECT_EQ(server_->command({"HGET", "test:use:{alice}:d20261203", "requests"}), "1");
}

TEST_F(RedisLimitsTest, ScriptsAreLoadedAgainAfterAFlush) {
  make_pair();
  KeyLimits limits;
  limits.rpm = 10;
  EXPECT_EQ(both(query("alice", limits, 1, kT0)).verdict, Admission::Verdict::Admitted);
  EXPECT_EQ(server_->command({"SCRIPT", "FLUSH"}), "OK");
  const Admission a = both(query("alice", limits, 1, kT0));
  EXPECT_EQ(a.verdict, Admission::Verdict::Admitted);
  EXPECT_EQ(a.window_requests, 1u);
}

TEST_F(RedisLimitsTest, TwoStoresOnTwoTransportsShareOneLimit) {
  std::shared_ptr<Transport> other = make_curl_transport();
  auto a = store(state());
  auto b = store(state(), other);
  ASSERT_TRUE(a && b);
  KeyLimits limits;
  limits.rpm = 40;
  constexpr int kThreads = 4;
  constexpr int kEach = 30;
  std::atomic<int> admitted{0};
  std::atomic<int> refused{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      LimitStore& s = t % 2 == 0 ? *a : *b;
      for (int i = 0; i < kEach; ++i) {
        s.admit(query("shared", limits, 1, kT0 + 500), [&](Result<Admission> r) {
          if (!r) {
            failed.fetch_add(1);
          } else if (r->verdict == Admission::Verdict::Admitted) {
            admitted.fetch_add(1);
          } else {
            refused.fetch_add(1);
          }
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(wait_until([&] { return admitted + refused + failed == kThreads * kEach; }, kWait));
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(admitted.load(), 40);
  EXPECT_EQ(refused.load(), kThreads * kEach - 40);

  // A budget spent through one is refused through the other.
  KeyLimits budget;
  budget.budget_usd = 1.0;
  budget.period = BudgetPeriod::Total;
  auto first = admit(*a, query("spender", budget, 10, kT0));
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->verdict, Admission::Verdict::Admitted);
  a->settle(settlement("spender", budget, first->slot, 10, 20, 1.5, kT0 + kSecond));
  ASSERT_TRUE(usage(*a, "spender", budget, kT0 + kSecond).has_value());  // after the settlement
  auto second = admit(*b, query("spender", budget, 10, kT0 + 2 * kSecond));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->verdict, Admission::Verdict::OverBudget);
  EXPECT_DOUBLE_EQ(second->spent_usd, 1.5);
  auto seen = usage(*b, "spender", budget, kT0 + 2 * kSecond);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->requests, 1u);
  EXPECT_EQ(seen->tokens, 20u);
  a.reset();
  b.reset();
}

TEST_F(RedisLimitsTest, AnOutageFailsCallsAndTheStoreRecovers) {
  LogCapture logs;
  StateConfig s = state();
  s.on_error = StateErrorPolicy::Deny;
  s.redis_timeout = std::chrono::milliseconds(200);
  auto st = store(s);
  ASSERT_TRUE(st);
  KeyLimits limits;
  limits.rpm = 100;
  ASSERT_TRUE(admit(*st, query("alice", limits, 1, kT0)).has_value());
  EXPECT_TRUE(st->healthy());
  EXPECT_EQ(st->errors(), 0u);

  server_->stop();
  auto r = admit(*st, query("alice", limits, 1, kT0));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message, "admit never called back");
  EXPECT_FALSE(st->healthy());
  const uint64_t errors = st->errors();
  EXPECT_GE(errors, 1u);
  EXPECT_FALSE(usage(*st, "alice", limits, kT0).has_value());
  EXPECT_GT(st->errors(), errors);
  // Settlements fail quietly, but count.
  st->settle(settlement("alice", limits, kS0, 1, 1, 0.1, kT0));
  EXPECT_TRUE(wait_until([&] { return st->errors() > errors + 1; }, kWait));

  ASSERT_TRUE(server_->start()) << server_->error();
  // Admitted again once it reconnects (the counts started afresh: nothing was persisted).
  bool back = false;
  for (int i = 0; i < 200 && !back; ++i) {
    auto again = admit(*st, query("alice", limits, 1, kT0));
    back = again.has_value() && again->verdict == Admission::Verdict::Admitted;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(back);
  EXPECT_TRUE(wait_until([&] { return st->healthy(); }, kWait));
  // Logged once when it started, once when it ended.
  EXPECT_EQ(logs.count(LogLevel::Warn, "unreachable"), 1);
  EXPECT_EQ(logs.count(LogLevel::Warn, "requests are denied until it is back"), 1);
  EXPECT_EQ(logs.count(LogLevel::Info, "reachable again"), 1);
}

TEST_F(RedisLimitsTest, ACallPastItsTimeoutFailsAndTheConnectionIsMadeAgain) {
  StateConfig s = state();
  s.redis_timeout = std::chrono::milliseconds(150);
  auto st = store(s);
  ASSERT_TRUE(st);
  KeyLimits limits;
  limits.rpm = 100;
  ASSERT_TRUE(admit(*st, query("alice", limits, 1, kT0)).has_value());

  server_->pause();
  auto r = admit(*st, query("alice", limits, 1, kT0));
  server_->resume();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Timeout) << r.error().message;
  EXPECT_FALSE(st->healthy());
  EXPECT_GE(st->errors(), 1u);

  // A new connection after the backoff. The frozen call may have been counted by Redis.
  bool back = false;
  for (int i = 0; i < 200 && !back; ++i) {
    auto again = admit(*st, query("alice", limits, 1, kT0));
    back = again.has_value() && again->verdict == Admission::Verdict::Admitted;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(back);
  EXPECT_TRUE(st->healthy());
}

TEST_F(RedisLimitsTest, AnIdleConnectionClosedByTheServerIsNoOutage) {
  LogCapture logs;
  auto st = store(state());
  ASSERT_TRUE(st);
  KeyLimits limits;
  ASSERT_TRUE(admit(*st, query("alice", limits, 1, kT0)).has_value());
  // What the server's `timeout` setting does to an idle client.
  ASSERT_EQ(server_->command({"CLIENT", "KILL", "TYPE", "normal"}), "1");
  for (int i = 0; i < 3; ++i) {
    auto r = admit(*st, query("alice", limits, 1, kT0));
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }
  EXPECT_TRUE(st->healthy());
  EXPECT_EQ(st->errors(), 0u);
  EXPECT_EQ(logs.count(LogLevel::Warn, "unreachable"), 0);
}

TEST_F(RedisLimitsTest, DestroyingTheStoreFailsWhatIsPending) {
  StateConfig s = state();
  s.redis_timeout = std::chrono::seconds(30);
  auto st = store(s);
  ASSERT_TRUE(st);
  KeyLimits limits;
  ASSERT_TRUE(admit(*st, query("alice", limits, 1, kT0)).has_value());
  server_->pause();
  auto p = std::make_shared<std::promise<Result<Admission>>>();
  auto f = p->get_future();
  st->admit(query("alice", limits, 1, kT0),
            [p](Result<Admission> r) { p->set_value(std::move(r)); });
  st.reset();  // waits for the connection to close
  server_->resume();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto r = f.get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Cancelled) << r.error().message;
}

TEST_F(RedisLimitsTest, ATransportShutDownUnderTheStoreEndsItsCalls) {
  std::shared_ptr<Transport> own = make_curl_transport();
  StateConfig s = state();
  s.redis_timeout = std::chrono::seconds(30);
  auto st = store(s, own);
  ASSERT_TRUE(st);
  KeyLimits limits;
  ASSERT_TRUE(admit(*st, query("alice", limits, 1, kT0)).has_value());
  server_->pause();
  auto p = std::make_shared<std::promise<Result<Admission>>>();
  auto f = p->get_future();
  st->admit(query("alice", limits, 1, kT0),
            [p](Result<Admission> r) { p->set_value(std::move(r)); });
  // The loops stop although the store still has a connection on one of them.
  auto stopped = std::async(std::launch::async, [own] { own->shutdown(); });
  const bool returned = stopped.wait_for(kWait) == std::future_status::ready;
  server_->resume();
  ASSERT_TRUE(returned);
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto r = f.get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Cancelled) << r.error().message;
  // Later calls fail at once, on the calling thread.
  bool called = false;
  st->admit(query("alice", limits, 1, kT0), [&](Result<Admission> later) {
    called = true;
    EXPECT_FALSE(later.has_value());
  });
  EXPECT_TRUE(called);
  st.reset();
}

TEST_F(RedisLimitsTest, AnUnreachableRedisAtStartIsNoError) {
  const int port = server_->port();
  server_->stop();
  StateConfig s = state();
  s.redis_url = "redis://127.0.0.1:" + std::to_string(port);
  auto st = store(s);
  ASSERT_TRUE(st);
  KeyLimits limits;
  auto r = admit(*st, query("alice", limits, 1, kT0));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Upstream) << r.error().message;
  EXPECT_TRUE(wait_until([&] { return !st->healthy(); }, kWait));
}

TEST_F(RedisLimitsTest, SelectsTheUrlsDatabase) {
  StateConfig s = state();
  s.redis_url = server_->url(3);
  auto st = store(s);
  ASSERT_TRUE(st);
  KeyLimits limits;
  auto r = admit(*st, query("alice", limits, 1, kT0));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(server_->command({"DBSIZE"}), "0");
  EXPECT_EQ(server_->command({"EVAL", "redis.call('SELECT', 3) return redis.call('DBSIZE')", "0"}),
            "2");
}

TEST_F(RedisLimitsTest, AuthenticatesWithThePasswordFromTheEnvironment) {
  start_server({.password = "s3cret pass"});
  StateConfig s = state();
  s.redis_password_env = "TEST_REDIS_PASSWORD";
  const KeyEnvReader env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "TEST_REDIS_PASSWORD") return "s3cret pass";
    return std::nullopt;
  };
  auto st = store(s, nullptr, env);
  ASSERT_TRUE(st);
  KeyLimits limits;
  limits.rpm = 1;
  auto r = admit(*st, query("alice", limits, 1, kT0));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->verdict, Admission::Verdict::Admitted);
  EXPECT_TRUE(st->healthy());

  // Unset or empty: a configuration error.
  auto unset = make_redis_limit_store(
      s, [](const std::string&) { return std::nullopt; }, transport_);
  ASSERT_FALSE(unset.has_value());
  EXPECT_EQ(unset.error().code, Errc::Config);
  EXPECT_NE(unset.error().message.find("TEST_REDIS_PASSWORD"), std::string::npos);
  auto empty = make_redis_limit_store(
      s, [](const std::string&) { return std::string(); }, transport_);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, Errc::Config);

  // A wrong password: the store is made, its calls fail.
  LogCapture logs;
  auto wrong = store(s, nullptr, [](const std::string&) { return std::string("wrong"); });
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(admit(*wrong, query("alice", limits, 1, kT0)).has_value());
  EXPECT_TRUE(wait_until([&] { return !wrong->healthy(); }, kWait));
  EXPECT_TRUE(wait_until([&] { return logs.count(LogLevel::Warn, "AUTH failed") == 1; }, kWait));
}

TEST(RedisLimitStore, RejectsABadUrlAndATransportWithoutLoops) {
  StateConfig s;
  s.backend = StateBackend::Redis;
  s.redis_url = "http://127.0.0.1:6379";
  auto r = make_redis_limit_store(s, {}, make_curl_transport());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Config);
  s.redis_url = "redis://127.0.0.1:6379";
  auto fake = std::make_shared<testing::FakeTransport>();
  r = make_redis_limit_store(s, {}, fake);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
}

}  // namespace
}  // namespace llmrouter
