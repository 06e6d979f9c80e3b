// SPDX-License-Identifier: MIT
#pragma once
/// @file events.h
/// The live event stream: `start`, `classified`, `routed` and `complete` for every request
/// (the `complete` event is also the JSONL log line), `health` when a provider is
/// ejected or restored, and `reload` when a configuration reload was applied or refused.
/// The pipeline and the engine publish typed events;
/// the bus serialises each once, at its edge, to compact JSON shared by every subscriber
/// (docs/pipeline.md lists the fields).
///
/// Publishing never blocks on a subscriber: each subscription has a bounded queue, and when
/// it is full the oldest event is dropped and counted. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "llmrouter/request.h"

namespace llmrouter {

class EventBus;
struct Outcome;

enum class EventType : uint8_t { Start, Classified, Routed, Complete, Health, Reload };
/// "start", "classified", "routed", "complete", "health", "reload": the JSON's `type`.
std::string_view event_type_name(EventType t) noexcept;

/// A request arrived (`model` as asked; empty when refused before it was read).
struct StartEvent {
  uint64_t id = 0;
  std::string_view model;
  uint64_t in_flight = 0;
};
/// The classifiers and plugins ran.
struct ClassifiedEvent {
  uint64_t id = 0;
  const std::vector<std::string>& tags;
};
/// Routing chose where the request goes first.
struct RoutedEvent {
  uint64_t id = 0;
  std::string_view provider;
  std::string_view model;
  std::string_view reason;
};
/// The request ended, whatever its outcome: also the JSONL log line.
struct CompleteEvent {
  const Outcome& outcome;
  WireFormat client = WireFormat::OpenAI;
  std::string_view requested_model;
  std::string_view trace_id;
};
/// A provider was ejected after failures, or restored by a successful request (live.h).
struct HealthEvent {
  std::string_view provider;
  /// "ejected" or "restored".
  std::string_view state;
  /// How long the ejection lasts (ejected only).
  int64_t duration_ms = 0;
  /// Consecutive failures that led to it.
  uint32_t failures = 0;
  /// The last failure's error (ejected only).
  std::string_view reason;
};
/// A configuration reload was applied (`ok`), or refused with `errors` (the running
/// configuration is unchanged). See Engine::reload.
struct ReloadEvent {
  bool ok = false;
  /// The configuration's file (Config::source).
  std::string_view source;
  /// Every problem, one line each (FILE:LINE:COL: ...); empty when applied.
  const std::vector<std::string>& errors;
  /// Changed settings that take effect only at the next start ("server.port").
  const std::vector<std::string>& restart_required;
};
/// What the pipeline and the engine publish; it refers to the publisher's data only while
/// `publish` runs.
using Event =
    std::variant<StartEvent, ClassifiedEvent, RoutedEvent, CompleteEvent, HealthEvent, ReloadEvent>;

EventType event_type(const Event& e) noexcept;
/// The event as one compact JSON object: {"type", "id", "ts_ms", ...}.
std::string to_json(const Event& e);

/// One subscriber's queue. Obtain with `EventBus::subscribe`; unsubscribes when destroyed.
class Subscription {
 public:
  ~Subscription();
  /// Waits up to `timeout` for the next event; false on timeout or after `close()`.
  bool next(std::string& event, std::chrono::milliseconds timeout);
  /// As `next`, with the event's type.
  bool next(std::string& event, std::chrono::milliseconds timeout, EventType& type);
  /// As `next`, and `gap` is the number of events dropped just before this one (since the
  /// previous call), so a reader can mark where its stream has a hole.
  bool next(std::string& event, std::chrono::milliseconds timeout, uint64_t& gap);
  /// Events dropped because this subscriber was too slow.
  uint64_t dropped() const;
  /// Wakes a waiting `next` and makes it return false from then on.
  void close();

 private:
  friend class EventBus;
  struct Published {
    EventType type;
    std::string json;
  };
  Subscription(std::shared_ptr<EventBus> bus, std::size_t capacity, std::size_t max_bytes,
               std::optional<EventType> only)
      : bus_(std::move(bus)), capacity_(capacity), max_bytes_(max_bytes), only_(only) {}
  void push(const std::shared_ptr<const Published>& event);
  bool pop(std::string& event, std::chrono::milliseconds timeout, uint64_t& gap, EventType& type);

  std::shared_ptr<EventBus> bus_;
  std::size_t capacity_;
  std::size_t max_bytes_;
  std::optional<EventType> only_;  // set: only events of this type are queued
  std::size_t bytes_ = 0;  // guarded by mu_: the queued events' size
  uint64_t gap_ = 0;       // guarded by mu_: dropped since the last next()
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const Published>> queue_;    // guarded by mu_
  uint64_t dropped_ = 0;                                  // guarded by mu_
  bool closed_ = false;                                   // guarded by mu_
};

class EventBus : public std::enable_shared_from_this<EventBus> {
 public:
  static std::shared_ptr<EventBus> create() { return std::shared_ptr<EventBus>(new EventBus()); }

  /// A new subscription holding at most `capacity` undelivered events.
  std::unique_ptr<Subscription> subscribe(std::size_t capacity = 1024);
  /// A subscription bounded by the bytes it holds (and `capacity` events), queuing only the
  /// events of type `only` when set.
  std::unique_ptr<Subscription> subscribe(std::size_t capacity, std::size_t max_bytes,
                                          std::optional<EventType> only);
  /// Serialises `event` once and hands it to every subscription.
  void publish(const Event& event);
  /// Hands an event already serialised (one JSON object of type `type`) to every
  /// subscription.
  void publish(EventType type, std::string json);
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
/// the writer is stopped or destroyed.
///
/// Nothing is lost silently. The queue is bounded in bytes; when the disk falls that far
/// behind, the oldest lines waiting are dropped, counted, and a `{"dropped":N}` line marks
/// the gap where they were. A write that fails part-way is cut back to the last whole line
/// (the file never holds a torn line) and its lines are counted as write errors.
class JsonlLog {
 public:
  /// The queue's bound by default: 64 MiB of lines waiting for the disk.
  static constexpr std::size_t kDefaultMaxQueueBytes = 64u << 20;
  /// Opens `path` for appending (creating parent directories; a new file gets mode 0600).
  /// Errors: Errc::Config naming the path and the reason.
  static std::unique_ptr<JsonlLog> open(const std::string& path, const std::shared_ptr<EventBus>& bus,
                                        std::string* error, std::size_t max_queue_bytes = kDefaultMaxQueueBytes);
  ~JsonlLog();
  /// Writes what is queued and stops the thread. Idempotent.
  void stop();
  /// Reopens the file by its path before the next line (logrotate renames the file, then
  /// signals: SIGHUP to llmrouter-server). Thread-safe.
  void reopen();
  uint64_t lines_written() const;
  /// Lines a failed write lost (each counted once).
  uint64_t write_errors() const;
  /// Lines dropped because the queue was full (marked in the file by `{"dropped":N}`).
  uint64_t dropped() const;

 private:
  struct Impl;
  explicit JsonlLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrouter
