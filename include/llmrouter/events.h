// SPDX-License-Identifier: MIT
#pragma once
/// @file events.h
/// The live event stream: `start`, `classified`, `routed` and `complete` for every request
/// (the `complete` event is also the JSONL log line). Events are compact JSON, serialised
/// once and shared by every subscriber.
///
/// Publishing never blocks on a subscriber: each subscription has a bounded queue, and when
/// it is full the oldest event is dropped and counted. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace llmrouter {

class EventBus;

/// One subscriber's queue. Obtain with `EventBus::subscribe`; unsubscribes when destroyed.
class Subscription {
 public:
  ~Subscription();
  /// Waits up to `timeout` for the next event; false on timeout or after `close()`.
  bool next(std::string& event, std::chrono::milliseconds timeout);
  /// Events dropped because this subscriber was too slow.
  uint64_t dropped() const;
  /// Wakes a waiting `next` and makes it return false from then on.
  void close();

 private:
  friend class EventBus;
  Subscription(std::shared_ptr<EventBus> bus, std::size_t capacity) : bus_(std::move(bus)), capacity_(capacity) {}
  void push(const std::shared_ptr<const std::string>& event);

  std::shared_ptr<EventBus> bus_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const std::string>> queue_;  // guarded by mu_
  uint64_t dropped_ = 0;                                  // guarded by mu_
  bool closed_ = false;                                   // guarded by mu_
};

class EventBus : public std::enable_shared_from_this<EventBus> {
 public:
  static std::shared_ptr<EventBus> create() { return std::shared_ptr<EventBus>(new EventBus()); }

  /// A new subscription holding at most `capacity` undelivered events.
  std::unique_ptr<Subscription> subscribe(std::size_t capacity = 1024);
  /// Hands `event` (one JSON object) to every subscription.
  void publish(std::string event);
  /// Events published so far.
  uint64_t published() const;

 private:
  friend class Subscription;
  EventBus() = default;
  void remove(Subscription* s);

  mutable std::mutex mu_;
  std::vector<Subscription*> subscribers_;  // guarded by mu_
  uint64_t published_ = 0;                  // guarded by mu_
};

/// Writes `complete` events to a JSONL file from its own thread: request threads never wait
/// on the disk, lines are written whole and in order, and everything queued is flushed when
/// the writer is stopped or destroyed. Write errors are logged (and counted), never fatal.
class JsonlLog {
 public:
  /// Opens `path` for appending (creating parent directories). Errors: Errc::Config naming
  /// the path and the reason.
  static std::unique_ptr<JsonlLog> open(const std::string& path, const std::shared_ptr<EventBus>& bus,
                                        std::string* error);
  ~JsonlLog();
  /// Writes what is queued and stops the thread. Idempotent.
  void stop();
  uint64_t lines_written() const;
  uint64_t write_errors() const;

 private:
  struct Impl;
  explicit JsonlLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrouter
