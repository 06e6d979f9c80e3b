// SPDX-License-Identifier: MIT
// Live figures, health and capacity of the providers, and where sessions went.
#include "llmrouter/live.h"

#include <algorithm>
#include <cmath>

namespace llmrouter {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kMaxEjection = std::chrono::milliseconds(600'000);
// Sessions remembered at most; past it expired ones are dropped, then the oldest.
constexpr std::size_t kMaxSessions = 100'000;
// Requests waiting for room try again at least this often, whatever frees a place.
constexpr auto kRecheck = std::chrono::milliseconds(250);

int64_t ns_of(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::size_t index_of(Measure m) {
  return static_cast<std::size_t>(m);
}

}  // namespace

std::string_view measure_name(Measure m) noexcept {
  switch (m) {
    case Measure::Ttft:
      return "ttft";
    case Measure::Total:
      return "total";
    case Measure::TokensPerSecond:
      return "tokens_per_s";
  }
  return "ttft";
}

std::string_view health_name(Health h) noexcept {
  switch (h) {
    case Health::Ok:
      return "ok";
    case Health::Ejected:
      return "ejected";
    case Health::Probing:
      return "probing";
  }
  return "ok";
}

// ---- ProviderLive

double ProviderLive::Ewma::add(double x, Clock::time_point now, double half_life_ms) {
  if (weight == 0) {
    sum = x;
    weight = 1;
  } else {
    const double age_ms = std::chrono::duration<double, std::milli>(now - at).count();
    const double decay = std::exp2(-std::max(0.0, age_ms) / half_life_ms);
    sum = sum * decay + x;
    weight = weight * decay + 1;
  }
  at = now;
  return sum / weight;
}

void ProviderLive::Window::add(double x) {
  if (values.size() < kWindow) {
    values.push_back(static_cast<float>(x));
    return;
  }
  values[next] = static_cast<float>(x);
  next = (next + 1) % kWindow;
}

FigureSummary ProviderLive::Window::summary(double mean, uint64_t samples) const {
  FigureSummary s;
  s.mean = mean;
  s.samples = samples;
  if (values.empty()) return s;
  std::vector<float> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  auto at = [&](double q) {
    return static_cast<double>(
        sorted[static_cast<std::size_t>(std::lround(q * static_cast<double>(sorted.size() - 1)))]);
  };
  s.p50 = at(0.50);
  s.p95 = at(0.95);
  return s;
}

void ProviderLive::Figures::record(const AttemptReport& r, Clock::time_point now,
                                   double half_life_ms) {
  ++attempts;
  if (!r.ok && r.provider_failure) ++failures;
  if (r.ok || r.provider_failure) {
    error_rate.store(errors.add(r.ok ? 0.0 : 1.0, now, half_life_ms), std::memory_order_relaxed);
  }
  if (!r.ok) return;
  auto sample = [&](Measure m, double x) {
    const std::size_t i = index_of(m);
    window[i].add(x);
    mean[i].store(ewma[i].add(x, now, half_life_ms), std::memory_order_relaxed);
    samples[i].fetch_add(1, std::memory_order_release);
  };
  if (r.ttft_ms) sample(Measure::Ttft, *r.ttft_ms);
  sample(Measure::Total, r.total_ms);
  if (r.output_tokens > 0) {
    const double generating_ms = r.streamed && r.ttft_ms ? r.total_ms - *r.ttft_ms : r.total_ms;
    if (generating_ms > 0)
      sample(Measure::TokensPerSecond,
             static_cast<double>(r.output_tokens) * 1000.0 / generating_ms);
  }
}

FiguresSnapshot ProviderLive::Figures::snapshot(std::string model) const {
  FiguresSnapshot s;
  s.model = std::move(model);
  s.attempts = attempts;
  s.failures = failures;
  s.in_flight = in_flight.load(std::memory_order_relaxed);
  s.error_rate = error_rate.load(std::memory_order_relaxed);
  auto figure = [&](Measure m) -> std::optional<FigureSummary> {
    const std::size_t i = index_of(m);
    const uint64_t n = samples[i].load(std::memory_order_relaxed);
    if (n == 0) return std::nullopt;
    return window[i].summary(mean[i].load(std::memory_order_relaxed), n);
  };
  s.ttft_ms = figure(Measure::Ttft);
  s.total_ms = figure(Measure::Total);
  s.tokens_per_s = figure(Measure::TokensPerSecond);
  return s;
}

bool ProviderLive::routable() const noexcept {
  const int64_t until = ejected_until_ns_.load(std::memory_order_acquire);
  if (until == 0) return true;
  if (ns_of(Clock::now()) < until) return false;
  return !probe_taken_.load(std::memory_order_acquire);
}

Health ProviderLive::health(Clock::time_point now) const noexcept {
  const int64_t until = ejected_until_ns_.load(std::memory_order_acquire);
  if (until == 0) return Health::Ok;
  return ns_of(now) < until ? Health::Ejected : Health::Probing;
}

std::chrono::milliseconds ProviderLive::ejection_left() const noexcept {
  const int64_t until = ejected_until_ns_.load(std::memory_order_acquire);
  const int64_t now = ns_of(Clock::now());
  return until == 0 || until <= now
             ? std::chrono::milliseconds(0)
             : std::chrono::milliseconds((until - now + 999'999) / 1'000'000);
}

const ProviderLive::Figures* ProviderLive::model_figures(std::string_view model) const noexcept {
  const uint32_t n = model_count_.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; ++i) {
    if (models_[i].name == model) return &models_[i].figures;
  }
  return nullptr;
}

ProviderLive::Figures* ProviderLive::model_entry(std::string_view model) {
  if (const Figures* f = model_figures(model)) return const_cast<Figures*>(f);
  std::lock_guard lock(mu_);
  const uint32_t n = model_count_.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < n; ++i) {
    if (models_[i].name == model) return &models_[i].figures;
  }
  if (n == kMaxModels) return nullptr;  // the provider's own figures still count it
  models_[n].name = std::string(model);
  model_count_.store(n + 1, std::memory_order_release);
  return &models_[n].figures;
}

std::optional<double> ProviderLive::figure(std::string_view model, Measure m, uint32_t min_samples,
                                           uint64_t* samples) const noexcept {
  const std::size_t i = index_of(m);
  uint64_t seen = 0;
  if (const Figures* f = model_figures(model)) {
    seen = f->samples[i].load(std::memory_order_acquire);
    if (seen >= min_samples) {
      if (samples) *samples = seen;
      return f->mean[i].load(std::memory_order_relaxed);
    }
  }
  const uint64_t all = all_.samples[i].load(std::memory_order_acquire);
  if (samples) *samples = std::max(seen, all);
  if (all >= min_samples) return all_.mean[i].load(std::memory_order_relaxed);
  return std::nullopt;
}

// ---- LiveStats

struct LiveStats::Waiting {
  struct Waiter {
    Clock::time_point deadline;
    std::function<void(bool)> wake;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Waiter> waiters;  // guarded by mu
  bool room_freed = false;      // guarded by mu
  bool stopping = false;        // guarded by mu
  std::atomic<uint32_t> count{0};
};

LiveStats::LiveStats(const RoutingConfig& routing) : wait_(std::make_shared<Waiting>()) {
  Config config;
  config.routing = routing;
  configure(config);
}

LiveStats::~LiveStats() {
  shutdown();
  if (timer_.joinable()) {
    // The last reference may be dropped by a waiter's wake-up, on the timer thread itself;
    // that thread then touches only the Waiting it shares, and ends.
    if (timer_.get_id() == std::this_thread::get_id()) {
      timer_.detach();
    } else {
      timer_.join();
    }
  }
}

void LiveStats::configure(const Config& config) {
  const RoutingConfig& r = config.routing;
  half_life_ms_.store(std::max(1.0, static_cast<double>(r.stats_half_life.count())));
  min_samples_.store(std::max<uint32_t>(1, r.min_samples));
  eject_after_.store(r.eject_after_failures);
  eject_ms_.store(std::max<int64_t>(1, r.eject_duration.count()));
  affinity_ttl_ms_.store(r.affinity_ttl.count());
  for (const ProviderConfig& p : config.providers) {
    slot(p.name).max_concurrency_.store(p.max_concurrency, std::memory_order_relaxed);
  }
}

ProviderLive& LiveStats::slot(std::string_view provider) {
  std::lock_guard lock(slots_mu_);
  for (const auto& s : slots_) {
    if (s->name() == provider) return *s;
  }
  slots_.push_back(std::unique_ptr<ProviderLive>(new ProviderLive(std::string(provider))));
  return *slots_.back();
}

const ProviderLive* LiveStats::find(std::string_view provider) const {
  std::lock_guard lock(slots_mu_);
  for (const auto& s : slots_) {
    if (s->name() == provider) return s.get();
  }
  return nullptr;
}

std::optional<NoRoom> LiveStats::begin(ProviderLive& p, std::string_view model, AttemptLease& lease,
                                       bool despite_ejection) {
  bool probe = false;
  if (const int64_t until = p.ejected_until_ns_.load(std::memory_order_acquire); until != 0) {
    const bool over = ns_of(Clock::now()) >= until;
    if (!over && !despite_ejection) return NoRoom::Ejected;
    bool expected = false;
    probe = over && p.probe_taken_.compare_exchange_strong(expected, true);
    if (over && !probe && !despite_ejection)
      return NoRoom::Ejected;  // another request is probing it
  }
  const uint32_t cap = p.max_concurrency();
  const uint32_t now_in = p.all_.in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
  if (cap != 0 && now_in > cap) {
    p.all_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (probe) p.probe_taken_.store(false, std::memory_order_release);
    return NoRoom::AtCapacity;
  }
  ProviderLive::Figures* m = p.model_entry(model);
  if (m) m->in_flight.fetch_add(1, std::memory_order_relaxed);
  lease = AttemptLease{&p, m, probe};
  return std::nullopt;
}

std::optional<HealthChange> LiveStats::end(const AttemptLease& lease, const AttemptReport& r) {
  ProviderLive& p = *lease.provider;
  const Clock::time_point now = Clock::now();
  const double half_life = half_life_ms_.load(std::memory_order_relaxed);
  std::optional<HealthChange> change;
  {
    std::lock_guard lock(p.mu_);
    p.all_.record(r, now, half_life);
    if (lease.model) {
      lease.model->record(r, now, half_life);
      lease.model->in_flight.fetch_sub(1, std::memory_order_relaxed);
    }
    const bool ejected = p.ejected_until_ns_.load(std::memory_order_relaxed) != 0;
    if (r.ok) {
      p.consecutive_failures_.store(0, std::memory_order_relaxed);
      if (ejected) {
        p.ejected_until_ns_.store(0, std::memory_order_release);
        p.ejections_ = 0;
        change = HealthChange{p.name(), Health::Ok, {}, 0, {}};
      }
    } else if (r.provider_failure) {
      const uint32_t failures = p.consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
      const uint32_t after = eject_after_.load(std::memory_order_relaxed);
      std::optional<std::chrono::milliseconds> eject;
      if (after != 0 && r.retry_after) {
        eject = std::min(*r.retry_after, kMaxEjection);
      } else if (after != 0 && (lease.probe || (!ejected && failures >= after))) {
        const int shift = static_cast<int>(std::min<uint32_t>(p.ejections_, 10));
        eject =
            std::min(std::chrono::milliseconds(eject_ms_.load(std::memory_order_relaxed) << shift),
                     kMaxEjection);
        ++p.ejections_;
      }
      if (eject) {
        p.ejected_until_ns_.store(ns_of(now + *eject), std::memory_order_release);
        change = HealthChange{p.name(), Health::Ejected, *eject, failures, {}};
      }
    }
    if (lease.probe) p.probe_taken_.store(false, std::memory_order_release);
  }
  p.all_.in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (wait_->count.load(std::memory_order_acquire) > 0) {
    {
      std::lock_guard lock(wait_->mu);
      wait_->room_freed = true;
    }
    wait_->cv.notify_one();
  }
  return change;
}

std::vector<ProviderSnapshot> LiveStats::snapshot() const {
  std::vector<ProviderLive*> slots;
  {
    std::lock_guard lock(slots_mu_);
    for (const auto& s : slots_) slots.push_back(s.get());
  }
  const Clock::time_point now = Clock::now();
  std::vector<ProviderSnapshot> out;
  for (ProviderLive* p : slots) {
    ProviderSnapshot s;
    s.name = p->name();
    std::lock_guard lock(p->mu_);
    const int64_t until = p->ejected_until_ns_.load(std::memory_order_acquire);
    s.health = p->health(now);
    if (s.health == Health::Ejected) {
      s.ejected_until = std::chrono::system_clock::now() +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            std::chrono::nanoseconds(until - ns_of(now)));
    }
    s.consecutive_failures = p->consecutive_failures_.load(std::memory_order_relaxed);
    s.ejections = p->ejections_;
    s.max_concurrency = p->max_concurrency();
    s.at_capacity = p->at_capacity();
    s.figures = p->all_.snapshot({});
    const uint32_t n = p->model_count_.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < n; ++i)
      s.models.push_back(p->models_[i].figures.snapshot(p->models_[i].name));
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> LiveStats::session(
    std::string_view session) const {
  std::lock_guard lock(sessions_mu_);
  const auto it = sessions_.find(std::string(session));
  if (it == sessions_.end() || it->second.expires <= Clock::now()) return std::nullopt;
  return std::make_pair(it->second.provider, it->second.model);
}

void LiveStats::remember(std::string_view session, std::string_view provider,
                         std::string_view model) {
  const Clock::time_point expires =
      Clock::now() + std::chrono::milliseconds(affinity_ttl_ms_.load(std::memory_order_relaxed));
  std::lock_guard lock(sessions_mu_);
  auto it = sessions_.find(std::string(session));
  if (it == sessions_.end()) {
    if (sessions_.size() >= kMaxSessions) {
      const Clock::time_point now = Clock::now();
      std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires <= now; });
      while (sessions_.size() >= kMaxSessions) {
        sessions_.erase(std::min_element(
            sessions_.begin(), sessions_.end(),
            [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; }));
      }
    }
    sessions_.emplace(std::string(session),
                      SessionEntry{std::string(provider), std::string(model), expires});
    return;
  }
  if (it->second.provider != provider) it->second.provider = std::string(provider);
  if (it->second.model != model) it->second.model = std::string(model);
  it->second.expires = expires;
}

void LiveStats::wait_for_room(Clock::time_point deadline, std::function<void(bool)> wake) {
  {
    std::lock_guard lock(wait_->mu);
    if (!wait_->stopping) {
      wait_->waiters.push_back(Waiting::Waiter{deadline, std::move(wake)});
      wait_->count.fetch_add(1, std::memory_order_release);
      if (!timer_.joinable()) timer_ = std::thread([w = wait_] { timer_loop(w); });
      wait_->cv.notify_one();
      return;
    }
  }
  wake(true);
}

void LiveStats::shutdown() {
  {
    std::lock_guard lock(wait_->mu);
    wait_->stopping = true;
  }
  wait_->cv.notify_all();
}

void LiveStats::timer_loop(const std::shared_ptr<Waiting>& shared) {
  Waiting& w = *shared;
  std::unique_lock lock(w.mu);
  for (;;) {
    std::vector<Waiting::Waiter> due;
    std::vector<Waiting::Waiter> expired;
    const Clock::time_point now = Clock::now();
    if (w.stopping) {
      expired.swap(w.waiters);
    } else {
      const bool freed = std::exchange(w.room_freed, false);
      for (auto it = w.waiters.begin(); it != w.waiters.end();) {
        if (it->deadline <= now) {
          expired.push_back(std::move(*it));
          it = w.waiters.erase(it);
        } else {
          ++it;
        }
      }
      if (freed) due.swap(w.waiters);
    }
    if (!due.empty() || !expired.empty()) {
      w.count.fetch_sub(static_cast<uint32_t>(due.size() + expired.size()),
                        std::memory_order_release);
      lock.unlock();
      for (Waiting::Waiter& x : expired) x.wake(true);
      for (Waiting::Waiter& x : due) x.wake(false);
      // What the wake-ups held (calls, their pipelines) goes now, unlocked: its release may
      // end an attempt, which takes this lock.
      expired.clear();
      due.clear();
      lock.lock();
      continue;
    }
    if (w.stopping) return;
    if (w.waiters.empty()) {
      w.cv.wait(lock, [&] { return w.stopping || w.room_freed || !w.waiters.empty(); });
      continue;
    }
    Clock::time_point until = now + kRecheck;
    for (const Waiting::Waiter& x : w.waiters) until = std::min(until, x.deadline);
    if (!w.cv.wait_until(lock, until, [&] { return w.stopping || w.room_freed; })) {
      w.room_freed = true;  // the periodic re-check: whatever freed a place unseen
    }
  }
}

}  // namespace llmrouter
