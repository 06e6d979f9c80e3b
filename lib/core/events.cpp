// SPDX-License-Identifier: MIT
#include "llmrouter/events.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "llmrouter/log.h"

namespace llmrouter {

// ---- Subscription / EventBus

Subscription::~Subscription() { bus_->remove(this); }

void Subscription::push(const std::shared_ptr<const Published>& event) {
  if (only_ && event->type != *only_) return;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    queue_.push_back(event);
    bytes_ += event->json.size();
    // The slow subscriber loses its oldest events (never the one just published).
    while (queue_.size() > 1 && (queue_.size() > capacity_ || bytes_ > max_bytes_)) {
      bytes_ -= queue_.front()->json.size();
      queue_.pop_front();
      ++dropped_;
      ++gap_;
    }
  }
  cv_.notify_one();
}

bool Subscription::next(std::string& event, std::chrono::milliseconds timeout) {
  uint64_t gap = 0;
  EventType type{};
  return pop(event, timeout, gap, type);
}

bool Subscription::next(std::string& event, std::chrono::milliseconds timeout, uint64_t& gap) {
  EventType type{};
  return pop(event, timeout, gap, type);
}

bool Subscription::next(std::string& event, std::chrono::milliseconds timeout, EventType& type) {
  uint64_t gap = 0;
  return pop(event, timeout, gap, type);
}

bool Subscription::pop(std::string& event, std::chrono::milliseconds timeout, uint64_t& gap,
                       EventType& type) {
  std::unique_lock lock(mu_);
  gap = 0;
  if (!cv_.wait_for(lock, timeout, [&] { return closed_ || !queue_.empty(); })) return false;
  if (closed_) return false;
  event = queue_.front()->json;
  type = queue_.front()->type;
  bytes_ -= queue_.front()->json.size();
  queue_.pop_front();
  gap = gap_;
  gap_ = 0;
  return true;
}

uint64_t Subscription::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void Subscription::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

std::unique_ptr<Subscription> EventBus::subscribe(std::size_t capacity) {
  return subscribe(capacity, SIZE_MAX, std::nullopt);
}

std::unique_ptr<Subscription> EventBus::subscribe(std::size_t capacity, std::size_t max_bytes,
                                                  std::optional<EventType> only) {
  std::unique_ptr<Subscription> s(
      new Subscription(shared_from_this(), std::max<std::size_t>(1, capacity), max_bytes, only));
  std::lock_guard lock(mu_);
  subscribers_.push_back(s.get());
  return s;
}

void EventBus::publish(const Event& event) {
  publish(event_type(event), to_json(event));
}

void EventBus::publish(EventType type, std::string json) {
  const auto shared = std::make_shared<const Subscription::Published>(
      Subscription::Published{type, std::move(json)});
  std::lock_guard lock(mu_);
  ++published_;
  for (Subscription* s : subscribers_) s->push(shared);
}

uint64_t EventBus::published() const {
  std::lock_guard lock(mu_);
  return published_;
}

void EventBus::remove(Subscription* s) {
  std::lock_guard lock(mu_);
  std::erase(subscribers_, s);
}

// ---- JsonlLog

namespace {
// Lines gathered into one write when the disk is behind.
constexpr std::size_t kBatchBytes = 64u << 10;

int open_log(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}
}  // namespace

struct JsonlLog::Impl {
  int fd = -1;  // touched by the writer thread only, once it runs
  std::string path;
  std::unique_ptr<Subscription> sub;
  std::thread thread;
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> reopen_asked{false};
  bool failing = false;  // the last write failed (logged once until one succeeds)
  // Writer thread only: drops marked in the batch being built, and drops whose marker a
  // failed write lost (marked again before the next line).
  uint64_t batch_gap = 0;
  uint64_t unmarked_gap = 0;

  void run() {
    std::string batch;
    std::size_t lines = 0;
    std::string event;
    uint64_t gap = 0;
    for (;;) {
      if (reopen_asked.exchange(false)) reopen_now();
      // One event, waiting; then whatever else is queued, up to a batch.
      if (!sub->next(event, std::chrono::milliseconds(200), gap)) {
        if (stopping.load()) break;
        continue;
      }
      do {
        add(batch, lines, event, gap);
      } while (batch.size() < kBatchBytes && sub->next(event, std::chrono::milliseconds(0), gap));
      write_lines(batch, lines);
    }
    while (sub->next(event, std::chrono::milliseconds(0), gap)) {  // drain
      add(batch, lines, event, gap);
      if (batch.size() >= kBatchBytes) write_lines(batch, lines);
    }
    write_lines(batch, lines);
  }

  // A gap before `event` becomes its own line, where the dropped lines were. `lines`
  // counts request lines only.
  void add(std::string& batch, std::size_t& lines, const std::string& event, uint64_t gap) {
    dropped.fetch_add(gap);
    gap += std::exchange(unmarked_gap, 0);
    if (gap > 0) {
      batch += fmt::format(R"({{"dropped":{}}})", gap);
      batch += '\n';
      batch_gap += gap;
    }
    batch += event;
    batch += '\n';
    ++lines;
  }

  // Writes whole lines: what a failed write left of them is cut off again.
  void write_lines(std::string& batch, std::size_t& lines) {
    if (batch.empty()) return;
    // A rotation asked for goes before the next line, however long the writer waited.
    if (reopen_asked.exchange(false)) reopen_now();
    const off_t before = ::lseek(fd, 0, SEEK_END);  // -1 for a pipe: nothing to cut back
    std::size_t done = 0;
    int err = 0;
    while (done < batch.size()) {
      const ssize_t n = ::write(fd, batch.data() + done, batch.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err = n < 0 ? errno : EIO;
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    if (done == batch.size()) {
      written.fetch_add(lines);
      if (failing) log(LogLevel::Info, fmt::format("request log {}: writing again", path));
      failing = false;
    } else {
      if (done > 0 && before >= 0 && ::ftruncate(fd, before) != 0) {
        log(LogLevel::Error, fmt::format("request log {}: cannot cut back a partial write: {}", path, std::strerror(errno)));
      }
      errors.fetch_add(lines);
      unmarked_gap += batch_gap;  // its markers are gone with it: the next line marks them
      if (!failing) {
        log(LogLevel::Error, fmt::format("request log {}: write failed, {} line(s) lost: {}", path, lines, std::strerror(err)));
      }
      failing = true;
    }
    batch.clear();
    lines = 0;
    batch_gap = 0;
  }

  void reopen_now() {
    const int next = open_log(path);
    if (next < 0) {
      log(LogLevel::Error, fmt::format("request log {}: cannot reopen: {}; writing on to the open file", path, std::strerror(errno)));
      return;
    }
    ::close(fd);
    fd = next;
    log(LogLevel::Info, fmt::format("request log {}: reopened", path));
  }
};

JsonlLog::JsonlLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<JsonlLog> JsonlLog::open(const std::string& path, const std::shared_ptr<EventBus>& bus,
                                         std::string* error, std::size_t max_queue_bytes) {
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const int fd = open_log(path);
  if (fd < 0) {
    if (error) *error = fmt::format("cannot open the request log {}: {}", path, std::strerror(errno));
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->fd = fd;
  impl->path = path;
  impl->sub = bus->subscribe(SIZE_MAX, max_queue_bytes, EventType::Complete);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<JsonlLog>(new JsonlLog(std::move(impl)));
}

void JsonlLog::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping.store(true);
  impl_->thread.join();
  ::close(impl_->fd);
  impl_->fd = -1;
}

void JsonlLog::reopen() { impl_->reopen_asked.store(true); }

JsonlLog::~JsonlLog() { stop(); }

uint64_t JsonlLog::lines_written() const { return impl_->written.load(); }
uint64_t JsonlLog::write_errors() const { return impl_->errors.load(); }
uint64_t JsonlLog::dropped() const { return impl_->dropped.load(); }

}  // namespace llmrouter
