// SPDX-License-Identifier: MIT
#include "llmrouter/events.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "llmrouter/log.h"

namespace llmrouter {

// ---- Subscription / EventBus

Subscription::~Subscription() { bus_->remove(this); }

void Subscription::push(const std::shared_ptr<const std::string>& event) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (queue_.size() >= capacity_) {
      queue_.pop_front();  // the slow subscriber loses its oldest event
      ++dropped_;
    }
    queue_.push_back(event);
  }
  cv_.notify_one();
}

bool Subscription::next(std::string& event, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return closed_ || !queue_.empty(); })) return false;
  if (closed_) return false;
  event = *queue_.front();
  queue_.pop_front();
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
  std::unique_ptr<Subscription> s(new Subscription(shared_from_this(), std::max<std::size_t>(1, capacity)));
  std::lock_guard lock(mu_);
  subscribers_.push_back(s.get());
  return s;
}

void EventBus::publish(std::string event) {
  const auto shared = std::make_shared<const std::string>(std::move(event));
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

struct JsonlLog::Impl {
  std::FILE* file = nullptr;
  std::string path;
  std::unique_ptr<Subscription> sub;
  std::thread thread;
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<bool> stopping{false};

  void run() {
    std::string event;
    for (;;) {
      if (sub->next(event, std::chrono::milliseconds(200))) {
        write(event);
        continue;
      }
      if (stopping.load()) break;
    }
    while (sub->next(event, std::chrono::milliseconds(0))) write(event);  // drain
    std::fflush(file);
  }

  void write(const std::string& event) {
    // Only `complete` events are log lines.
    if (event.rfind(R"({"type":"complete")", 0) != 0) return;
    std::string line = event;
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), file) != line.size() || std::fflush(file) != 0) {
      if (errors.fetch_add(1) == 0) {
        log(LogLevel::Error, fmt::format("request log {}: write failed: {}", path, std::strerror(errno)));
      }
      return;
    }
    written.fetch_add(1);
  }
};

JsonlLog::JsonlLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<JsonlLog> JsonlLog::open(const std::string& path, const std::shared_ptr<EventBus>& bus,
                                         std::string* error) {
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) {
    if (error) *error = fmt::format("cannot open the request log {}: {}", path, std::strerror(errno));
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->file = f;
  impl->path = path;
  // The log must not lose lines: a deep queue (a line is lost only if the disk falls a
  // million requests behind, and that is counted).
  impl->sub = bus->subscribe(1 << 20);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<JsonlLog>(new JsonlLog(std::move(impl)));
}

void JsonlLog::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping.store(true);
  impl_->thread.join();
  std::fclose(impl_->file);
  impl_->file = nullptr;
}

JsonlLog::~JsonlLog() { stop(); }

uint64_t JsonlLog::lines_written() const { return impl_->written.load(); }
uint64_t JsonlLog::write_errors() const { return impl_->errors.load(); }

}  // namespace llmrouter
