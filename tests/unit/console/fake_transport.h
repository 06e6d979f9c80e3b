// SPDX-License-Identifier: MIT
#pragma once
// A Transport for unit tests: records each started request and lets the test play the
// server's side (status, headers, body chunks, the end) on a thread of its own, as the
// real transport calls observers from its event-loop thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "llmrouter/transport.h"

namespace llmrouter::console::testing {

class FakeTransport final : public Transport {
 public:
  FakeTransport() : thread_([this] { loop(); }) {}
  ~FakeTransport() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  TransferId start(HttpRequest request, std::shared_ptr<TransferObserver> observer) override {
    std::lock_guard<std::mutex> lock(mu_);
    const TransferId id = next_id_++;
    transfers_[id] = Transfer{std::move(request), std::move(observer), false};
    order_.push_back(id);
    cv_.notify_all();
    return id;
  }

  void cancel(TransferId id) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++cancels_;
    enqueue_locked([this, id] { complete(id, Result<void>(fail(Errc::Cancelled, "cancelled"))); });
  }
  void resume(TransferId) override {}
  uint64_t connections_opened() const override { return 0; }

  /// Waits until `n` requests were started; false after `timeout`.
  bool wait_started(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
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
  int cancels() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancels_;
  }

  // The server's side of the `i`-th request; each call is queued to the transport thread.
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
    const TransferId id = order_.at(i);
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
  TransferId next_id_ = 1;
  int cancels_ = 0;
  bool running_ = false;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace llmrouter::console::testing
