// SPDX-License-Identifier: MIT
#include "task_queue.h"

#include <thread>

#include <fmt/format.h>

#include "llmrouter/log.h"

namespace llmrouter::server {

void ElasticTaskQueue::enqueue(std::function<void()> fn) {
  std::unique_lock lock(mu_);
  jobs_.push_back(std::move(fn));
  if (idle_ < jobs_.size() && threads_ < max_threads_) {
    ++threads_;
    ++idle_;
    // Detached: shutdown() waits for the count of live threads to reach zero instead.
    std::thread([this] { work(); }).detach();
  }
  lock.unlock();
  work_cv_.notify_one();
}

void ElasticTaskQueue::work() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (jobs_.empty()) {
      if (shutdown_) break;
      if (!work_cv_.wait_for(lock, idle_exit_, [&] { return shutdown_ || !jobs_.empty(); })) break;  // retire
      continue;
    }
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    --idle_;
    ++active_;
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      log(LogLevel::Error, fmt::format("connection thread: {}", e.what()));
    } catch (...) {
      log(LogLevel::Error, "connection thread: unknown exception");
    }
    job = nullptr;  // the connection's state goes before the thread is counted idle
    lock.lock();
    --active_;
    ++idle_;
  }
  --idle_;
  --threads_;
  exit_cv_.notify_all();  // under the lock: shutdown() cannot return before we let go of it
}

void ElasticTaskQueue::shutdown() {
  std::unique_lock lock(mu_);
  shutdown_ = true;
  work_cv_.notify_all();
  exit_cv_.wait(lock, [&] { return threads_ == 0; });
}

std::size_t ElasticTaskQueue::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

std::size_t ElasticTaskQueue::threads() const {
  std::lock_guard lock(mu_);
  return threads_;
}

}  // namespace llmrouter::server
