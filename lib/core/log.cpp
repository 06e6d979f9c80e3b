// SPDX-License-Identifier: MIT
#include "llmrouter/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace llmrouter {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::Warn)};

std::mutex& sink_mutex() {
  static std::mutex mu;
  return mu;
}
LogSink& sink() {
  static LogSink s;  // guarded by sink_mutex()
  return s;
}

}  // namespace

std::string_view log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
  }
  return "unknown";
}

std::optional<LogLevel> parse_log_level(std::string_view name) noexcept {
  for (LogLevel l : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error}) {
    if (log_level_name(l) == name) return l;
  }
  return std::nullopt;
}

void set_log_sink(LogSink s) {
  std::lock_guard lock(sink_mutex());
  sink() = std::move(s);
}

void set_log_level(LogLevel level) noexcept { g_level.store(static_cast<int>(level)); }

LogLevel log_level() noexcept { return static_cast<LogLevel>(g_level.load()); }

bool log_enabled(LogLevel level) noexcept { return static_cast<int>(level) >= g_level.load(); }

void log(LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  std::lock_guard lock(sink_mutex());
  if (sink()) {
    sink()(level, message);
    return;
  }
  std::fprintf(stderr, "llmrouter %s: %.*s\n", log_level_name(level).data(),
               static_cast<int>(message.size()), message.data());
}

}  // namespace llmrouter
