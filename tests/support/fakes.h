// SPDX-License-Identifier: MIT
#pragma once
// Test doubles shared by the test suites: a Transport whose server side the test plays, a
// Provider whose replies are scripted per call, and wait_until, which polls for a
// condition instead of sleeping for a guessed duration.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "llmrouter/provider.h"
#include "llmrouter/transport.h"

namespace llmrouter::testing {

/// Polls `condition` (every `poll`) until it holds or `timeout` has passed; returns whether
/// it held. `timeout` is a generous upper bound for slow (sanitizer) builds, never the
/// duration the test expects: a passing test returns as soon as the condition holds.
template <class Condition>
bool wait_until(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(30),
                std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

/// A Transport that records each started request and lets the test play the server's side
/// (status, headers, body chunks, the end) of each, on a thread of its own, as the real
/// transport calls observers from its event-loop thread. A request waits for the test
/// until reply_to_all makes the fake answer every request by itself.
class FakeTransport final : public Transport {
 public:
  FakeTransport() : thread_([this] { loop(); }) {}
  ~FakeTransport() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // the last reference went away in a callback: the loop ends on its own
    } else {
      thread_.join();
    }
  }
  FakeTransport(const FakeTransport&) = delete;
  FakeTransport& operator=(const FakeTransport&) = delete;

  TransferId start(HttpRequest request, std::shared_ptr<TransferObserver> observer) override {
    std::lock_guard<std::mutex> lock(mu_);
    const TransferId id = next_id_++;
    transfers_[id] = Transfer{std::move(request), std::move(observer), false};
    order_.push_back(id);
    if (auto_status_) answer_locked(id, *auto_status_);
    cv_.notify_all();
    return id;
  }
  /// Completes the transfer with Errc::Cancelled (unless it ended first) and counts the call.
  void cancel(TransferId id) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++cancels_;
    enqueue_locked([this, id] { complete(id, Result<void>(fail(Errc::Cancelled, "cancelled"))); });
  }
  void resume(TransferId) override {}
  uint64_t connections_opened() const override { return 0; }

  /// From now on every request, those waiting included, is answered at once: `status`, no
  /// headers, no body, success.
  void reply_to_all(int status) {
    std::lock_guard<std::mutex> lock(mu_);
    auto_status_ = status;
    for (auto& [id, transfer] : transfers_) {
      if (!transfer.done) answer_locked(id, status);
    }
  }

  /// Waits until `n` requests were started; false after `timeout`.
  bool wait_started(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return order_.size() >= n; });
  }
  std::size_t started() {
    std::lock_guard<std::mutex> lock(mu_);
    return order_.size();
  }
  /// The `i`-th request started (0-based).
  HttpRequest request(std::size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return transfers_.at(order_.at(i)).request;
  }
  /// Every request started, in order.
  std::vector<HttpRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<HttpRequest> out;
    out.reserve(order_.size());
    for (TransferId id : order_) out.push_back(transfers_.at(id).request);
    return out;
  }
  int cancels() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancels_;
  }

  // The server's side of the `i`-th request; each call is queued to the transport's thread.
  void headers(std::size_t i, int status, std::vector<std::pair<std::string, std::string>> h) {
    with(i, [status, h = std::move(h)](TransferObserver& o) { o.on_headers(status, h); });
  }
  void data(std::size_t i, std::string bytes) {
    with(i, [bytes = std::move(bytes)](TransferObserver& o) { o.on_data(bytes); });
  }
  void end(std::size_t i, Result<void> result = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    const TransferId id = order_.at(i);
    enqueue_locked([this, id, result = std::move(result)] { complete(id, result); });
  }
  /// Waits until everything queued has run.
  void flush() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.empty() && !running_; });
  }

 private:
  struct Transfer {
    HttpRequest request;
    std::shared_ptr<TransferObserver> observer;
    bool done = false;
  };

  void with(std::size_t i, std::function<void(TransferObserver&)> f) {
    std::lock_guard<std::mutex> lock(mu_);
    with_locked(order_.at(i), std::move(f));
  }
  void with_locked(TransferId id, std::function<void(TransferObserver&)> f) {
    enqueue_locked([this, id, f = std::move(f)] {
      std::shared_ptr<TransferObserver> o;
      {
        std::lock_guard<std::mutex> l(mu_);
        if (transfers_[id].done) return;
        o = transfers_[id].observer;
      }
      f(*o);
    });
  }
  void answer_locked(TransferId id, int status) {
    with_locked(id, [status](TransferObserver& o) { o.on_headers(status, {}); });
    enqueue_locked([this, id] { complete(id, {}); });
  }

  void complete(TransferId id, Result<void> result) {
    std::shared_ptr<TransferObserver> o;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = transfers_.find(id);
      if (it == transfers_.end() || it->second.done) return;
      it->second.done = true;
      o = it->second.observer;
    }
    o->on_complete(std::move(result));
  }

  void enqueue_locked(std::function<void()> f) {
    queue_.push_back(std::move(f));
    cv_.notify_all();
  }

  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return quit_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto f = std::move(queue_.front());
      queue_.pop_front();
      running_ = true;
      lock.unlock();
      f();
      lock.lock();
      running_ = false;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<TransferId, Transfer> transfers_;
  std::vector<TransferId> order_;
  std::deque<std::function<void()>> queue_;
  std::optional<int> auto_status_;
  TransferId next_id_ = 1;
  int cancels_ = 0;
  bool running_ = false;
  bool quit_ = false;
  std::thread thread_;
};

/// A Provider whose replies are scripted per call: call `i` plays `script[i]`, and the last
/// reply repeats. It answers on the calling thread (Provider's default `start`) and records
/// each call.
class ScriptedProvider final : public Provider {
 public:
  /// One reply: an error before any event, or a text message (MessageStart, the text,
  /// BlockStop, the output tokens, Done), or the text then a StreamError.
  struct Reply {
    /// Returned before any event (the pipeline may fail over).
    std::optional<Error> error;
    /// MessageStart's id; empty: "id-" and the provider's name.
    std::string id;
    /// MessageStart's model is the request's model followed by this.
    std::string model_suffix;
    std::string text = "hello";
    /// Input tokens in MessageStart; output tokens in a UsageUpdate (none when 0).
    uint64_t input_tokens = 10;
    uint64_t output_tokens = 5;
    StopReason stop_reason = StopReason::EndTurn;
    /// After the text, a StreamError with this error ends the reply.
    std::optional<Error> error_after;
    /// Relayed through on_raw before the events when the call is a pass-through.
    std::string raw;
  };
  /// What one call received.
  struct Call {
    std::string model;
    SendOptions options;
    bool on_transport_loop = false;
    /// The request as sent.
    CanonicalRequest request;
  };

  static Reply answers(std::string text = "hello") {
    Reply r;
    r.text = std::move(text);
    return r;
  }
  static Reply fails(Error error) {
    Reply r;
    r.error = std::move(error);
    return r;
  }
  static Reply fails(Errc code, std::string message, int status = 0) {
    return fails(Error{code, std::move(message), status, {}});
  }
  static Reply breaks(std::string text, Error after) {
    Reply r = answers(std::move(text));
    r.error_after = std::move(after);
    return r;
  }

  ScriptedProvider(std::string name, std::vector<Reply> script)
      : name_(std::move(name)), script_(std::move(script)) {}
  ScriptedProvider(std::string name, Reply reply)
      : ScriptedProvider(std::move(name), std::vector<Reply>{std::move(reply)}) {}

  std::string_view name() const override { return name_; }
  Result<void> send(const CanonicalRequest& req, const SendOptions& options, EventSink& sink,
                    const CancelFlag&) const override {
    std::size_t n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = calls_.size();
      calls_.push_back(Call{req.model, options, in_transport_loop(), req});
    }
    const Reply& r = script_.at(std::min(n, script_.size() - 1));
    if (r.error) return fail(*r.error);
    if (options.passthrough_body && !r.raw.empty()) sink.on_raw(r.raw);
    sink.on_event(MessageStart{r.id.empty() ? "id-" + name_ : r.id, req.model + r.model_suffix, 0,
                               Usage{r.input_tokens, 0, 0, 0, 0}});
    sink.on_event(TextDelta{0, r.text});
    if (r.error_after) {
      sink.on_event(StreamError{*r.error_after});
      return {};
    }
    sink.on_event(BlockStop{0});
    if (r.output_tokens > 0) sink.on_event(UsageUpdate{Usage{0, r.output_tokens, 0, 0, 0}});
    sink.on_event(Done{r.stop_reason, {}});
    return {};
  }

  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(calls_.size());
  }
  /// Every call so far, in order.
  std::vector<Call> history() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  /// The last call (the test fails with an exception when there was none).
  Call last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_.at(calls_.size() - 1);
  }

 private:
  std::string name_;
  std::vector<Reply> script_;
  mutable std::mutex mu_;
  mutable std::vector<Call> calls_;
};

}  // namespace llmrouter::testing
