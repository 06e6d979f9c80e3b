// SPDX-License-Identifier: MIT
// The team gateway's parts without a server: the key table, model globs, budget periods,
// and the memory limit store against gateway.h's semantics (rates, budgets, retry-after,
// the correction of estimated tokens, atomicity under threads).
#include "llmrouter/gateway.h"

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/config.h"
#include "llmrouter/formats.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;

Config keys_config(std::string_view keys) {
  std::string text = R"(
[server]
api_key_env = "OPERATOR_KEY"
[[providers]]
name = "p"
format = "openai"
base_url = "http://127.0.0.1:9/v1"
)";
  text += keys;
  auto c = load_config_string(text, "gateway.toml");
  EXPECT_TRUE(c) << c.error().message;
  return c ? std::move(*c) : Config{};
}

KeyEnvReader env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(KeyTableTest, IdentifiesKeysFromTheEnvironmentAndByDigest) {
  const Config c = keys_config(fmt::format(R"(
[[keys]]
name = "alice"
key_env = "ALICE_KEY"
[[keys]]
name = "bob"
key_sha256 = "{}"
[[keys]]
name = "carol"
key_env = "CAROL_KEY"
)",
                                           sha256_hex("bob-secret")));
  std::vector<std::string> warnings;
  auto table = KeyTable::build(
      c, env({{"ALICE_KEY", "alice-secret"}, {"OPERATOR_KEY", "op-secret"}}), &warnings);
  ASSERT_TRUE(table->enabled());
  EXPECT_TRUE(table->has_operator());
  // carol's variable is unset: a warning naming the file, the key and the variable.
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("gateway.toml:"));
  EXPECT_THAT(warnings[0], HasSubstr("'carol'"));
  EXPECT_THAT(warnings[0], HasSubstr("CAROL_KEY"));

  Caller a = table->identify("alice-secret");
  ASSERT_EQ(a.kind, Caller::Kind::Key);
  EXPECT_EQ(a.key->name, "alice");
  Caller b = table->identify("bob-secret");
  ASSERT_EQ(b.kind, Caller::Kind::Key);
  EXPECT_EQ(b.key->name, "bob");
  EXPECT_EQ(table->identify("op-secret").kind, Caller::Kind::Operator);
  EXPECT_EQ(table->identify("alice-secret ").kind, Caller::Kind::Unknown);
  EXPECT_EQ(table->identify("").kind, Caller::Kind::Unknown);
  // An unset variable never matches, not even the empty key.
  EXPECT_EQ(table->identify("carol").kind, Caller::Kind::Unknown);
  EXPECT_EQ(table->find("bob"), b.key);
  EXPECT_EQ(table->find("nobody"), nullptr);
}

TEST(KeyTableTest, WarnsOfKeysThatCanNeverBeIdentified) {
  const Config c = keys_config(R"(
[[keys]]
name = "first"
key_env = "SHARED"
[[keys]]
name = "second"
key_env = "SHARED"
[[keys]]
name = "boss"
key_env = "OPERATOR_KEY"
)");
  std::vector<std::string> warnings;
  auto table = KeyTable::build(c, env({{"SHARED", "k"}, {"OPERATOR_KEY", "op"}}), &warnings);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], HasSubstr("'second': its key is also the key of 'first'"));
  EXPECT_THAT(warnings[1], HasSubstr("'boss': its key is the operator key"));
  EXPECT_EQ(table->identify("k").key->name, "first");
  EXPECT_EQ(table->identify("op").kind, Caller::Kind::Operator);
}

TEST(KeyTableTest, ReadsTheKeyFromBearerOrXApiKey) {
  EXPECT_EQ(presented_key({{"Authorization", "Bearer  k1 "}}), "k1");
  EXPECT_EQ(presented_key({{"authorization", "bearer k2"}}), "k2");
  EXPECT_EQ(presented_key({{"X-Api-Key", "k3"}}), "k3");
  EXPECT_EQ(presented_key({{"x-api-key", "k3"}, {"Authorization", "Bearer k4"}}), "k4");
  EXPECT_EQ(presented_key({{"Authorization", "Basic abc"}}), "");
  EXPECT_EQ(presented_key({}), "");
}

TEST(KeyTableTest, Sha256MatchesTheStandardDigest) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(KeyTableTest, ModelGlobs) {
  KeyConfig k;
  k.name = "k";
  EXPECT_TRUE(key_allows_model(k, "anything"));  // no patterns: every model
  k.models = {"gpt-4o*", "ollama/*", "claude-?-haiku", "m[0-9]"};
  EXPECT_TRUE(key_allows_model(k, "gpt-4o"));
  EXPECT_TRUE(key_allows_model(k, "gpt-4o-mini"));
  EXPECT_TRUE(key_allows_model(k, "ollama/gemma2:2b"));
  EXPECT_TRUE(key_allows_model(k, "claude-3-haiku"));
  EXPECT_TRUE(key_allows_model(k, "m7"));
  EXPECT_FALSE(key_allows_model(k, "gpt-5"));
  EXPECT_FALSE(key_allows_model(k, "claude-3-opus"));
  EXPECT_FALSE(key_allows_model(k, "mx"));
  EXPECT_FALSE(key_allows_model(k, ""));
}

TEST(BudgetWindowTest, PeriodsInUtc) {
  // 2026-12-31T23:59:59Z
  const int64_t t = 1798761599;
  BudgetWindow d = budget_window(BudgetPeriod::Day, t);
  EXPECT_EQ(d.id, "d20261231");
  EXPECT_EQ(utc_text(d.start_s), "2026-12-31T00:00:00Z");
  EXPECT_EQ(utc_text(d.end_s), "2027-01-01T00:00:00Z");
  BudgetWindow m = budget_window(BudgetPeriod::Month, t);
  EXPECT_EQ(m.id, "m202612");
  EXPECT_EQ(utc_text(m.start_s), "2026-12-01T00:00:00Z");
  EXPECT_EQ(utc_text(m.end_s), "2027-01-01T00:00:00Z");
  // One second later: the next day, month and year.
  EXPECT_EQ(budget_window(BudgetPeriod::Month, t + 1).id, "m202701");
  EXPECT_EQ(budget_window(BudgetPeriod::Day, t + 1).id, "d20270101");
  // A leap February: 2028-02-29T12:00:00Z.
  BudgetWindow feb = budget_window(BudgetPeriod::Month, 1835438400);
  EXPECT_EQ(feb.id, "m202802");
  EXPECT_EQ(utc_text(feb.end_s), "2028-03-01T00:00:00Z");
  BudgetWindow total = budget_window(BudgetPeriod::Total, t);
  EXPECT_EQ(total.id, "total");
  EXPECT_EQ(total.end_s, std::numeric_limits<int64_t>::max());
}

// ---- The memory store, with fixed times.

constexpr int64_t kT0 = 1'800'000'000'000;  // Unix ms, on a second boundary

Admission admit(LimitStore& store, const std::string& key, const KeyLimits& limits, uint64_t tokens,
                int64_t now_ms) {
  std::optional<Result<Admission>> got;
  store.admit(AdmitQuery{key, limits, tokens, now_ms},
              [&](Result<Admission> r) { got = std::move(r); });
  EXPECT_TRUE(got.has_value()) << "the memory store answers before admit returns";
  EXPECT_TRUE(got && *got);
  return got && *got ? **got : Admission{};
}

KeyUsage usage_of(LimitStore& store, const std::string& key, const KeyLimits& limits,
                  int64_t now_ms) {
  std::optional<Result<KeyUsage>> got;
  store.usage(key, limits, now_ms, [&](Result<KeyUsage> r) { got = std::move(r); });
  EXPECT_TRUE(got && *got);
  return got && *got ? **got : KeyUsage{};
}

TEST(MemoryLimitStoreTest, RpmAdmitsExactlyTheLimitThenSaysWhenToRetry) {
  auto store = make_memory_limit_store();
  KeyLimits l;
  l.rpm = 3;
  // Requests at t0, t0+10 s and t0+20 s fill the window.
  EXPECT_EQ(admit(*store, "k", l, 0, kT0).verdict, Admission::Verdict::Admitted);
  EXPECT_EQ(admit(*store, "k", l, 0, kT0 + 10'000).verdict, Admission::Verdict::Admitted);
  EXPECT_EQ(admit(*store, "k", l, 0, kT0 + 20'000).verdict, Admission::Verdict::Admitted);
  const Admission refused = admit(*store, "k", l, 0, kT0 + 30'500);
  EXPECT_EQ(refused.verdict, Admission::Verdict::OverRpm);
  EXPECT_EQ(refused.window_requests, 3u);
  // The slot of t0 leaves the window of slot s when s - 60 > t0: at t0 + 61 s, 31 s later.
  EXPECT_EQ(refused.retry_after_s, 31);
  // Refusals count nothing: still refused at t0 + 60 s, admitted at t0 + 61 s.
  EXPECT_EQ(admit(*store, "k", l, 0, kT0 + 60'999).verdict, Admission::Verdict::OverRpm);
  EXPECT_EQ(admit(*store, "k", l, 0, kT0 + 61'000).verdict, Admission::Verdict::Admitted);
  // Other keys have windows of their own.
  EXPECT_EQ(admit(*store, "other", l, 0, kT0 + 61'000).verdict, Admission::Verdict::Admitted);
}

TEST(MemoryLimitStoreTest, TpmCountsTheEstimateAndSettleCorrectsIt) {
  auto store = make_memory_limit_store();
  KeyLimits l;
  l.tpm = 1000;
  const Admission a = admit(*store, "k", l, 600, kT0);
  ASSERT_EQ(a.verdict, Admission::Verdict::Admitted);
  EXPECT_EQ(a.slot, kT0 / 1000);
  // 600 + 500 > 1000.
  const Admission over = admit(*store, "k", l, 500, kT0 + 1000);
  EXPECT_EQ(over.verdict, Admission::Verdict::OverTpm);
  EXPECT_EQ(over.window_tokens, 600u);
  EXPECT_EQ(over.retry_after_s, 60);  // the slot of t0 leaves at t0 + 61 s, 60 s after t0 + 1 s
  // The first request really used 300 tokens (input and output): 300 + 500 fits.
  store->settle(Settlement{"k", l, a.slot, 600, 300, 0.0, kT0 + 2000});
  EXPECT_EQ(admit(*store, "k", l, 500, kT0 + 2000).verdict, Admission::Verdict::Admitted);
  const KeyUsage u = usage_of(*store, "k", l, kT0 + 2000);
  EXPECT_EQ(u.window_tokens, 800u);
  EXPECT_EQ(u.window_requests, 2u);
  EXPECT_EQ(u.tokens, 800u);
  EXPECT_EQ(u.requests, 2u);
  // A request whose estimate alone exceeds the limit can never fit.
  const Admission never = admit(*store, "k", l, 1001, kT0 + 3000);
  EXPECT_EQ(never.verdict, Admission::Verdict::OverTpm);
  EXPECT_EQ(never.retry_after_s, 61);
}

TEST(MemoryLimitStoreTest, ASettlementAfterTheWindowOnlyCountsInThePeriod) {
  auto store = make_memory_limit_store();
  KeyLimits l;
  l.tpm = 1000;
  const Admission a = admit(*store, "k", l, 100, kT0);
  // A long stream: it ends 90 s later, when its slot has left the window.
  store->settle(Settlement{"k", l, a.slot, 100, 5000, 0.0, kT0 + 90'000});
  const KeyUsage u = usage_of(*store, "k", l, kT0 + 90'000);
  EXPECT_EQ(u.window_tokens, 0u);
  EXPECT_EQ(u.tokens, 5000u);
  EXPECT_EQ(admit(*store, "k", l, 900, kT0 + 90'000).verdict, Admission::Verdict::Admitted);
}

TEST(MemoryLimitStoreTest, BudgetsPerDayMonthAndTotal) {
  auto store = make_memory_limit_store();
  KeyLimits day;
  day.budget_usd = 1.0;
  day.period = BudgetPeriod::Day;
  const int64_t noon = 1'798'718'400'000;  // 2026-12-31T12:00:00Z
  Admission a = admit(*store, "d", day, 10, noon);
  ASSERT_EQ(a.verdict, Admission::Verdict::Admitted);
  store->settle(Settlement{"d", day, a.slot, 10, 10, 0.6, noon + 1000});
  // $0.60 spent of $1: still admitted (the budget is checked before, not predicted).
  a = admit(*store, "d", day, 10, noon + 2000);
  ASSERT_EQ(a.verdict, Admission::Verdict::Admitted);
  store->settle(Settlement{"d", day, a.slot, 10, 10, 0.6, noon + 3000});
  const Admission over = admit(*store, "d", day, 10, noon + 4000);
  EXPECT_EQ(over.verdict, Admission::Verdict::OverBudget);
  EXPECT_NEAR(over.spent_usd, 1.2, 1e-9);
  EXPECT_EQ(utc_text(over.period_end_s), "2027-01-01T00:00:00Z");
  EXPECT_EQ(over.retry_after_s, 12 * 3600 - 4);
  // The next day starts afresh.
  EXPECT_EQ(admit(*store, "d", day, 10, noon + 12 * 3'600'000).verdict,
            Admission::Verdict::Admitted);

  KeyLimits total;
  total.budget_usd = 0.5;
  total.period = BudgetPeriod::Total;
  a = admit(*store, "t", total, 1, noon);
  store->settle(Settlement{"t", total, a.slot, 1, 1, 0.5, noon});
  const Admission spent = admit(*store, "t", total, 1, noon + 400LL * 86'400'000);
  EXPECT_EQ(spent.verdict, Admission::Verdict::OverBudget);
  EXPECT_EQ(spent.retry_after_s, 0);  // a total budget does not renew

  KeyLimits month;
  month.budget_usd = 2.0;
  const KeyUsage u = usage_of(*store, "m", month, noon);
  EXPECT_EQ(u.period.id, "m202612");
  EXPECT_EQ(u.requests, 0u);
  EXPECT_EQ(u.spent_usd, 0.0);
}

TEST(MemoryLimitStoreTest, TheBudgetIsCheckedBeforeTheRates) {
  auto store = make_memory_limit_store();
  KeyLimits l;
  l.rpm = 1;
  l.budget_usd = 0.0;  // a zero budget refuses everything
  const Admission a = admit(*store, "k", l, 1, kT0);
  EXPECT_EQ(a.verdict, Admission::Verdict::OverBudget);
  // The refusal counted nothing.
  l.budget_usd.reset();
  EXPECT_EQ(admit(*store, "k", l, 1, kT0).verdict, Admission::Verdict::Admitted);
}

TEST(MemoryLimitStoreTest, ThreadsTogetherGetExactlyTheLimit) {
  auto store = make_memory_limit_store();
  KeyLimits l;
  l.rpm = 50;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        store->admit(AdmitQuery{"k", l, 1, kT0}, [&](Result<Admission> r) {
          if (r && r->verdict == Admission::Verdict::Admitted) admitted.fetch_add(1);
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 50);
}

TEST(GatewayErrorsTest, EnvelopesInEachClientFormat) {
  KeyConfig k;
  k.name = "alice";
  k.rpm = 2;
  k.budget_usd = 5.0;
  Admission a;
  a.verdict = Admission::Verdict::OverBudget;
  a.spent_usd = 5.1;
  a.period_end_s = 1798761600;
  a.retry_after_s = 100;
  const Error budget = limit_error(k, a, 10);
  EXPECT_EQ(budget.status(), 429);
  EXPECT_EQ(budget.retry_after, "100");
  EXPECT_THAT(budget.message, HasSubstr("2027-01-01T00:00:00Z"));
  EXPECT_THAT(budget.message, HasSubstr("'alice'"));
  const std::string openai = encode_error(WireFormat::OpenAI, budget);
  EXPECT_THAT(openai, HasSubstr(R"("type":"insufficient_quota")"));
  EXPECT_THAT(openai, HasSubstr(R"("code":"insufficient_quota")"));
  EXPECT_THAT(encode_error(WireFormat::Anthropic, budget),
              HasSubstr(R"("type":"rate_limit_error")"));

  a.verdict = Admission::Verdict::OverRpm;
  a.retry_after_s = 7;
  const Error rpm = limit_error(k, a, 10);
  EXPECT_EQ(rpm.retry_after, "7");
  EXPECT_THAT(rpm.message, HasSubstr("2 requests per minute"));
  EXPECT_THAT(encode_error(WireFormat::OpenAI, rpm), HasSubstr(R"("type":"rate_limit_error")"));

  k.models = {"gpt-*"};
  const Error denied = model_denied_error(k, "claude-3");
  EXPECT_EQ(denied.status(), 403);
  EXPECT_THAT(denied.message, HasSubstr("'alice'"));
  EXPECT_THAT(denied.message, HasSubstr("'claude-3'"));
  EXPECT_THAT(encode_error(WireFormat::Anthropic, denied),
              HasSubstr(R"("type":"permission_error")"));
  EXPECT_THAT(encode_error(WireFormat::Responses, denied),
              HasSubstr(R"("code":"permission_denied")"));
  EXPECT_EQ(unknown_key_error().status(), 401);
}

}  // namespace
}  // namespace llmrouter
