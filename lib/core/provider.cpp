// SPDX-License-Identifier: MIT
// The two ways to drive a provider meet here: Provider::start's default runs a blocking
// `send` on the calling thread (or, on a transport loop, on a thread of its own);
// send_over_start waits on the calling thread for a reply an asynchronous `start` delivers
// from the transport's loop.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "llmrouter/log.h"
#include "llmrouter/provider.h"
#include "llmrouter/transport.h"

namespace llmrouter {
namespace {

constexpr std::size_t kHighWatermark = 1 << 20;  // reply bytes waiting before the transfer pauses
constexpr std::chrono::milliseconds kIdleTick{50};

// Roughly the bytes an event holds (for the queue's bound).
std::size_t weight(const StreamEvent& e) {
  return 64 + std::visit(
                  [](const auto& ev) -> std::size_t {
                    using T = std::decay_t<decltype(ev)>;
                    if constexpr (std::is_same_v<T, TextDelta>) return ev.text.size();
                    if constexpr (std::is_same_v<T, ThinkingDelta>) return ev.thinking.size();
                    if constexpr (std::is_same_v<T, ToolCallDelta>) return ev.partial_json.size();
                    if constexpr (std::is_same_v<T, RedactedThinkingEvent>) return ev.data.size();
                    if constexpr (std::is_same_v<T, SignatureDelta>) return ev.signature.size();
                    return 0;
                  },
                  e);
}

class InlineExchange final : public ProviderExchange {
 public:
  void cancel() override { cancel_.store(true); }
  CancelFlag cancel_{false};
};

// What the loop hands to the waiting thread: events and raw bytes in order, then the end.
class Waiter final : public ReplyObserver {
 public:
  struct Item {
    bool raw = false;
    std::string bytes;
    StreamEvent event;
  };

  bool on_event(const StreamEvent& e) override {
    std::lock_guard lock(mu_);
    queued_ += weight(e);
    items_.push_back(Item{false, {}, e});
    cv_.notify_one();
    return !stop_;
  }
  bool on_raw(std::string_view bytes) override {
    std::lock_guard lock(mu_);
    queued_ += bytes.size();
    items_.push_back(Item{true, std::string(bytes), {}});
    cv_.notify_one();
    return !stop_;
  }
  bool behind() const override {
    std::lock_guard lock(mu_);
    if (queued_ >= kHighWatermark) paused_ = true;
    return paused_;
  }
  void on_end(Result<void> result) override {
    std::lock_guard lock(mu_);
    end_ = std::move(result);
    cv_.notify_one();
  }

  // Waits up to kIdleTick for news; moves what is queued into `out`. Sets `resume` when
  // the transfer was paused and the queue has been emptied.
  void take(std::deque<Item>& out, bool& resume) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kIdleTick, [&] { return end_.has_value() || !items_.empty(); });
    out.swap(items_);
    items_.clear();
    queued_ = 0;
    resume = paused_;
    paused_ = false;
  }
  bool ended() {
    std::lock_guard lock(mu_);
    return end_.has_value() && items_.empty();
  }
  Result<void> result() {
    std::lock_guard lock(mu_);
    return *end_;
  }
  void stop() {
    std::lock_guard lock(mu_);
    stop_ = true;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;               // guarded by mu_
  std::size_t queued_ = 0;               // guarded by mu_
  mutable bool paused_ = false;          // guarded by mu_
  bool stop_ = false;                    // guarded by mu_
  std::optional<Result<void>> end_;      // guarded by mu_
};

}  // namespace

std::shared_ptr<ProviderExchange> Provider::start(const CanonicalRequest& req, const SendOptions& options,
                                                  std::shared_ptr<ReplyObserver> observer) const {
  auto exchange = std::make_shared<InlineExchange>();
  auto run = [this, exchange](const CanonicalRequest& r, const SendOptions& o, ReplyObserver& obs) {
    struct Sink final : EventSink {
      Sink(ReplyObserver& ob, const CancelFlag& c) : out(ob), cancel(c) {}
      bool on_event(const StreamEvent& e) override { return !cancel.load() && out.on_event(e); }
      bool on_raw(std::string_view bytes) override { return !cancel.load() && out.on_raw(bytes); }
      bool on_idle() override { return !cancel.load(); }
      ReplyObserver& out;
      const CancelFlag& cancel;
    } sink(obs, exchange->cancel_);
    Result<void> result;
    try {
      result = send(r, o, sink, exchange->cancel_);
    } catch (const std::exception& e) {
      result = fail(Errc::Internal, std::string("provider '") + std::string(name()) + "' failed: " + e.what());
    } catch (...) {
      result = fail(Errc::Internal, std::string("provider '") + std::string(name()) + "' failed");
    }
    obs.on_end(std::move(result));
  };
  if (!in_transport_loop()) {
    // Here and now: right for providers that answer at once (in-process models, caches,
    // test doubles), and no thread hand-off.
    run(req, options, *observer);
  } else {
    // Not on a loop (a failover after an HTTP attempt gets here): a blocking send would
    // stall the loop's other transfers, or wait forever on one of its own.
    std::thread([run, req, options, observer] { run(req, options, *observer); }).detach();
  }
  return exchange;
}

Result<void> send_over_start(const Provider& provider, const CanonicalRequest& req, const SendOptions& options,
                             EventSink& sink, const CancelFlag& cancel) {
  auto waiter = std::make_shared<Waiter>();
  std::shared_ptr<ProviderExchange> exchange = provider.start(req, options, waiter);
  bool cancelled = false;
  auto stop = [&] {
    if (cancelled) return;
    cancelled = true;
    waiter->stop();
    exchange->cancel();
  };
  std::deque<Waiter::Item> items;
  while (!waiter->ended()) {
    if (cancel.load()) stop();
    bool resume = false;
    waiter->take(items, resume);
    if (items.empty() && !cancelled && !sink.on_idle()) stop();
    for (Waiter::Item& it : items) {
      if (cancelled) break;
      const bool go_on = it.raw ? sink.on_raw(it.bytes) : sink.on_event(it.event);
      if (!go_on) stop();
    }
    items.clear();
    if (resume && !cancelled) exchange->resume();
  }
  Result<void> r = waiter->result();
  if (cancelled && !r) return fail(Errc::Cancelled, "the request was cancelled");
  return r;
}

}  // namespace llmrouter
