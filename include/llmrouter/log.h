// SPDX-License-Identifier: MIT
#pragma once
/// @file log.h
/// The library's diagnostic log (not the JSONL request log): one process-wide sink.
///
/// By default messages at `LogLevel::Warn` and above go to stderr. A host replaces the
/// sink to route them elsewhere. Thread-safe: `log()` may be called from any thread and
/// the sink is called under a lock, one message at a time.

#include <functional>
#include <optional>
#include <string_view>

namespace llmrouter {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

/// "debug", "info", "warn", "error".
std::string_view log_level_name(LogLevel level) noexcept;
/// Parses a level name (as written in config); nullopt when unknown.
std::optional<LogLevel> parse_log_level(std::string_view name) noexcept;

/// Receives one message (no trailing newline). Must not call `log()` itself.
using LogSink = std::function<void(LogLevel, std::string_view message)>;

/// Replaces the sink; an empty function restores the default stderr sink.
void set_log_sink(LogSink sink);
/// Messages below `level` are dropped before formatting reaches the sink.
void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
/// True when a message at `level` would reach the sink (skip expensive formatting otherwise).
bool log_enabled(LogLevel level) noexcept;
/// Sends one message to the sink if `level` is enabled.
void log(LogLevel level, std::string_view message);

}  // namespace llmrouter
