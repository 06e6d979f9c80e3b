// SPDX-License-Identifier: MIT
#pragma once
// The arithmetic of gateway.h's semantics, shared by the LimitStores written in C++: the
// per-second window, the order of the checks and the retry-after. (The Redis store runs
// the same rules in its Lua script.)

#include <array>
#include <cmath>
#include <cstdint>

#include "llmrouter/gateway.h"

namespace llmrouter::gateway {

/// Slots in a window: the current second and the 60 before it.
inline constexpr int64_t kWindowSlots = 61;

inline int64_t slot_of(int64_t unix_ms) {
  return unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
}

inline int64_t to_nano_usd(double usd) {
  if (!std::isfinite(usd) || usd <= 0) return 0;
  return static_cast<int64_t>(std::llround(usd * 1e9));
}
inline double from_nano_usd(int64_t nano) {
  return static_cast<double>(nano) / 1e9;
}

/// One counter over the last kWindowSlots seconds: a ring indexed by second.
class Window {
 public:
  void add(int64_t slot, int64_t n) {
    Cell& c = cells_[index(slot)];
    if (c.slot != slot) c = Cell{slot, 0};
    c.count += n;
  }
  /// Adds `n` to `slot` if it is still in the window at `now`.
  void adjust(int64_t slot, int64_t now, int64_t n) {
    if (slot <= now - kWindowSlots || slot > now) return;
    add(slot, n);
  }
  /// The count of the window at `now` (slots now-60 .. now, and any later one).
  int64_t sum(int64_t now) const {
    int64_t total = 0;
    for (const Cell& c : cells_) {
      if (in_window(c.slot, now)) total += c.count;
    }
    return total;
  }
  /// The count of the slots that leave the window within `k` seconds of `now`.
  int64_t leaving_within(int64_t now, int64_t k) const {
    int64_t total = 0;
    for (const Cell& c : cells_) {
      if (in_window(c.slot, now) && c.slot <= now - kWindowSlots + k) total += c.count;
    }
    return total;
  }

 private:
  struct Cell {
    int64_t slot = INT64_MIN;
    int64_t count = 0;
  };
  // A slot past `now` counts too (as in the Redis script, where an instance whose clock is
  // ahead writes slots another has not reached); in one process it only follows a clock
  // set back.
  static bool in_window(int64_t slot, int64_t now) { return slot > now - kWindowSlots; }
  static std::size_t index(int64_t slot) {
    const int64_t m = slot % kWindowSlots;
    return static_cast<std::size_t>(m < 0 ? m + kWindowSlots : m);
  }
  std::array<Cell, kWindowSlots> cells_{};
};

/// The fewest seconds (1 .. 61) until `cost` fits under `limit` with no new traffic.
inline int64_t retry_after(const Window& w, int64_t now, int64_t cost, uint64_t limit) {
  const int64_t used = w.sum(now);
  for (int64_t k = 1; k < kWindowSlots; ++k) {
    if (used - w.leaving_within(now, k) + cost <= static_cast<int64_t>(limit)) return k;
  }
  return kWindowSlots;
}

/// gateway.h's checks, in order, on the figures of one key.
inline Admission decide(const AdmitQuery& q, int64_t now_s, const BudgetWindow& period,
                        const Window& requests, const Window& tokens, int64_t spent_nano_usd) {
  Admission a;
  a.slot = now_s;
  a.period_end_s = period.end_s;
  a.window_requests = static_cast<uint64_t>(std::max<int64_t>(0, requests.sum(now_s)));
  a.window_tokens = static_cast<uint64_t>(std::max<int64_t>(0, tokens.sum(now_s)));
  a.spent_usd = from_nano_usd(spent_nano_usd);
  if (q.limits.budget_usd && spent_nano_usd >= to_nano_usd(*q.limits.budget_usd)) {
    a.verdict = Admission::Verdict::OverBudget;
    a.retry_after_s =
        q.limits.period == BudgetPeriod::Total ? 0 : std::max<int64_t>(1, period.end_s - now_s);
    return a;
  }
  if (q.limits.rpm && a.window_requests + 1 > *q.limits.rpm) {
    a.verdict = Admission::Verdict::OverRpm;
    a.retry_after_s = retry_after(requests, now_s, 1, *q.limits.rpm);
    return a;
  }
  const auto cost = static_cast<int64_t>(q.tokens);
  if (q.limits.tpm &&
      static_cast<int64_t>(a.window_tokens) + cost > static_cast<int64_t>(*q.limits.tpm)) {
    a.verdict = Admission::Verdict::OverTpm;
    a.retry_after_s = retry_after(tokens, now_s, cost, *q.limits.tpm);
    return a;
  }
  return a;
}

}  // namespace llmrouter::gateway
