// SPDX-License-Identifier: MIT
// The memory LimitStore: one process's rate windows and period totals, under one mutex.
// The semantics (slots, order of checks, retry-after) are gateway.h's; the Redis store's
// script implements the same ones.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>

#include "gateway/window.h"
#include "llmrouter/gateway.h"

namespace llmrouter {
namespace {

struct Totals {
  int64_t end_s = 0;
  uint64_t requests = 0;
  int64_t tokens = 0;
  int64_t nano_usd = 0;
};

struct KeyState {
  gateway::Window requests;
  gateway::Window tokens;
  std::map<std::string, Totals, std::less<>> periods;  // by BudgetWindow::id
};

class MemoryLimitStore final : public LimitStore {
 public:
  void admit(const AdmitQuery& q, AdmitDone done) override {
    Admission a;
    {
      std::lock_guard lock(mu_);
      KeyState& k = keys_[q.key];
      const int64_t now_s = gateway::slot_of(q.now_ms);
      const BudgetWindow period = budget_window(q.limits.period, now_s);
      prune(k, now_s);
      Totals& t = k.periods[period.id];
      t.end_s = period.end_s;
      a = gateway::decide(q, now_s, period, k.requests, k.tokens, t.nano_usd);
      if (a.verdict == Admission::Verdict::Admitted) {
        k.requests.add(now_s, 1);
        k.tokens.add(now_s, static_cast<int64_t>(q.tokens));
        t.requests += 1;
        t.tokens += static_cast<int64_t>(q.tokens);
      }
    }
    done(a);
  }

  void settle(const Settlement& s) override {
    std::lock_guard lock(mu_);
    KeyState& k = keys_[s.key];
    const int64_t delta = static_cast<int64_t>(s.tokens) - static_cast<int64_t>(s.estimated_tokens);
    k.tokens.adjust(s.slot, gateway::slot_of(s.now_ms), delta);
    const BudgetWindow period = budget_window(s.limits.period, s.slot);
    Totals& t = k.periods[period.id];
    t.end_s = period.end_s;
    t.tokens += delta;
    t.nano_usd += gateway::to_nano_usd(s.cost_usd);
  }

  void usage(std::string_view key, const KeyLimits& limits, int64_t now_ms,
             UsageDone done) override {
    KeyUsage u;
    const int64_t now_s = gateway::slot_of(now_ms);
    u.period = budget_window(limits.period, now_s);
    {
      std::lock_guard lock(mu_);
      auto it = keys_.find(key);
      if (it != keys_.end()) {
        KeyState& k = it->second;
        prune(k, now_s);
        u.window_requests = static_cast<uint64_t>(std::max<int64_t>(0, k.requests.sum(now_s)));
        u.window_tokens = static_cast<uint64_t>(std::max<int64_t>(0, k.tokens.sum(now_s)));
        if (auto p = k.periods.find(u.period.id); p != k.periods.end()) {
          u.requests = p->second.requests;
          u.tokens = static_cast<uint64_t>(std::max<int64_t>(0, p->second.tokens));
          u.spent_usd = gateway::from_nano_usd(p->second.nano_usd);
        }
      }
    }
    done(std::move(u));
  }

 private:
  // Periods that ended more than a day ago take no more settlements.
  static void prune(KeyState& k, int64_t now_s) {
    std::erase_if(k.periods, [now_s](const auto& p) { return p.second.end_s < now_s - 86400; });
  }

  std::mutex mu_;
  std::map<std::string, KeyState, std::less<>> keys_;  // guarded by mu_
};

}  // namespace

std::shared_ptr<LimitStore> make_memory_limit_store() {
  return std::make_shared<MemoryLimitStore>();
}

}  // namespace llmrouter
