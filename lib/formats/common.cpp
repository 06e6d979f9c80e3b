// SPDX-License-Identifier: MIT
#include "formats/common.h"

#include <chrono>
#include <random>

#include <fmt/format.h>

#include "formats/block_sequencer.h"
#include "json/json.h"
#include "llmrouter/log.h"

namespace llmrouter::detail {

StopReason stop_reason_from_openai(std::string_view r) {
  if (r == "stop") return StopReason::EndTurn;
  if (r == "length") return StopReason::MaxTokens;
  if (r == "tool_calls" || r == "function_call") return StopReason::ToolUse;
  if (r == "content_filter") return StopReason::ContentFilter;
  return StopReason::Other;
}

std::string_view stop_reason_to_openai(StopReason r) {
  switch (r) {
    case StopReason::MaxTokens: return "length";
    case StopReason::ToolUse: return "tool_calls";
    case StopReason::ContentFilter:
    case StopReason::Refusal: return "content_filter";
    case StopReason::EndTurn:
    case StopReason::StopSequence:
    case StopReason::PauseTurn:
    case StopReason::Other: return "stop";
  }
  return "stop";
}

StopReason stop_reason_from_anthropic(std::string_view r) {
  if (r == "end_turn") return StopReason::EndTurn;
  if (r == "max_tokens" || r == "model_context_window_exceeded") return StopReason::MaxTokens;
  if (r == "tool_use") return StopReason::ToolUse;
  if (r == "stop_sequence") return StopReason::StopSequence;
  if (r == "pause_turn") return StopReason::PauseTurn;
  if (r == "refusal") return StopReason::Refusal;
  return StopReason::Other;
}

std::string_view stop_reason_to_anthropic(StopReason r) {
  switch (r) {
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::ToolUse: return "tool_use";
    case StopReason::StopSequence: return "stop_sequence";
    case StopReason::PauseTurn: return "pause_turn";
    case StopReason::Refusal:
    case StopReason::ContentFilter: return "refusal";
    case StopReason::EndTurn:
    case StopReason::Other: return "end_turn";
  }
  return "end_turn";
}

StopReason stop_reason_from_ollama(std::string_view r) {
  if (r == "stop" || r.empty()) return StopReason::EndTurn;
  if (r == "length") return StopReason::MaxTokens;
  return StopReason::Other;
}

StopReason settle_stop_reason(StopReason r, bool has_tool_calls) {
  if (has_tool_calls && (r == StopReason::EndTurn || r == StopReason::Other)) {
    return StopReason::ToolUse;
  }
  return r;
}

std::optional<uint32_t> thinking_budget_for_effort(std::string_view effort) {
  if (effort == "minimal") return 1024;
  if (effort == "low") return 2048;
  if (effort == "medium") return 8192;
  if (effort == "high" || effort == "xhigh") return 24576;
  return std::nullopt;
}

std::string_view effort_for_thinking_budget(uint32_t budget) {
  if (budget <= 1024) return "minimal";
  if (budget <= 4096) return "low";
  if (budget <= 16384) return "medium";
  return "high";
}

std::optional<DataUrl> parse_data_url(std::string_view url) {
  constexpr std::string_view kPrefix = "data:";
  if (url.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const std::size_t comma = url.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view meta = url.substr(kPrefix.size(), comma - kPrefix.size());
  constexpr std::string_view kBase64 = ";base64";
  if (meta.size() < kBase64.size() || meta.substr(meta.size() - kBase64.size()) != kBase64) {
    return std::nullopt;
  }
  meta.remove_suffix(kBase64.size());
  return DataUrl{std::string(meta), std::string(url.substr(comma + 1))};
}

std::string make_data_url(std::string_view media_type, std::string_view base64) {
  return fmt::format("data:{};base64,{}", media_type, base64);
}

namespace {
thread_local bool t_deterministic = false;
thread_local uint64_t t_counter = 0;
}  // namespace

void set_deterministic_ids_for_testing(bool on) {
  t_deterministic = on;
  t_counter = 0;
}

std::string new_id(std::string_view prefix) {
  if (t_deterministic) return fmt::format("{}{:024}", prefix, ++t_counter);
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id(prefix);
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(kAlphabet) - 2);
  for (int i = 0; i < 24; ++i) id.push_back(kAlphabet[pick(rng)]);
  return id;
}

int64_t unix_now() {
  if (t_deterministic) return 1700000000;
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void append_sse(std::string& out, std::string_view event, std::string_view data) {
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  out += "data: ";
  out += data;
  out += "\n\n";
}

void log_dropped(std::string_view target, std::string_view field) {
  if (log_enabled(LogLevel::Debug)) {
    log(LogLevel::Debug, fmt::format("{} request: dropped '{}' (the format cannot express it)",
                                     target, field));
  }
}

Unexpected upstream_error(std::string_view format, const Error& e) {
  return fail(Errc::Upstream, fmt::format("{} response: {}", format, e.message));
}

void write_count_object(json::Writer& w, std::string_view key, std::string_view inner,
                        uint64_t count) {
  w.key(key);
  w.begin_object();
  w.kv_uint(inner, count);
  w.end_object();
}

std::string_view openai_error_type(const Error& e) {
  if (!e.api_type.empty()) return e.api_type;
  switch (e.status()) {
    case 400:
    case 404:
    case 413: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 429: return "rate_limit_error";
    case 504: return "timeout_error";
    default: return e.status() >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string_view anthropic_error_type(const Error& e) {
  switch (e.status()) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 529: return "overloaded_error";
    case 504: return "timeout_error";
    default: return e.status() >= 500 ? "api_error" : "invalid_request_error";
  }
}

}  // namespace llmrouter::detail

namespace llmrouter::detail {

std::optional<uint32_t> block_index(const StreamEvent& e) {
  return std::visit(
      [](const auto& ev) -> std::optional<uint32_t> {
        if constexpr (requires { ev.index; }) {
          return ev.index;
        } else {
          return std::nullopt;
        }
      },
      e);
}

}  // namespace llmrouter::detail
