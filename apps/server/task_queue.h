// SPDX-License-Identifier: MIT
#pragma once
// The connection task queue of llmrouter-server. cpp-httplib 0.11.4 (Debian) serves each
// connection on a thread of an 8-thread pool unless told otherwise, which caps the router
// at 8 concurrent streams and idle keep-alive connections. This queue gives every
// connection a thread of its own: threads are made on demand up to `max_threads`, reused,
// and retire after `idle_exit` without work. Past `max_threads`, connections wait in FIFO.

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace llmrouter::server {

class ElasticTaskQueue final : public httplib::TaskQueue {
 public:
  ElasticTaskQueue(std::size_t max_threads, std::chrono::milliseconds idle_exit)
      : max_threads_(max_threads), idle_exit_(idle_exit) {}
  ~ElasticTaskQueue() override { shutdown(); }

  void enqueue(std::function<void()> fn) override;
  /// Runs what is queued, then waits for every thread to finish.
  void shutdown() override;

  /// Connections being served now.
  std::size_t active() const;
  /// Threads alive now (busy or idle).
  std::size_t threads() const;

 private:
  void work();

  const std::size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable exit_cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  std::size_t threads_ = 0;                 // guarded by mu_
  std::size_t idle_ = 0;                    // guarded by mu_
  std::size_t active_ = 0;                  // guarded by mu_
  bool shutdown_ = false;                   // guarded by mu_
};

}  // namespace llmrouter::server
