// SPDX-License-Identifier: MIT
#pragma once
// Shared pieces of the codecs: the mapping tables (stop reasons, reasoning effort and
// thinking budgets, image data URLs), id generation, SSE writing and drop logging.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "llmrouter/request.h"
#include "llmrouter/response.h"

namespace llmrouter::detail {

namespace json {
class Writer;
}

// ---- Stop reasons. A turn that ended with tool calls is always reported as tool use,
// whatever the upstream said (some servers say "stop" after tool calls).

StopReason stop_reason_from_openai(std::string_view finish_reason);
std::string_view stop_reason_to_openai(StopReason r);
StopReason stop_reason_from_anthropic(std::string_view stop_reason);
std::string_view stop_reason_to_anthropic(StopReason r);
StopReason stop_reason_from_ollama(std::string_view done_reason);
/// Corrects `r` to ToolUse when the reply holds tool calls and ended normally.
StopReason settle_stop_reason(StopReason r, bool has_tool_calls);

// ---- Reasoning: effort names and thinking budgets (tokens).
// minimal 1024, low 2048, medium 8192, high 24576; budgets map back to the nearest level.
std::optional<uint32_t> thinking_budget_for_effort(std::string_view effort);
std::string_view effort_for_thinking_budget(uint32_t budget);

// ---- Images: "data:<media>;base64,<data>" URLs.
struct DataUrl {
  std::string media_type;
  std::string data;
};
std::optional<DataUrl> parse_data_url(std::string_view url);
std::string make_data_url(std::string_view media_type, std::string_view base64);

// ---- Ids and clocks.
/// `prefix` followed by 24 random alphanumerics ("chatcmpl-", "msg_", "call_", ...).
std::string new_id(std::string_view prefix);
/// Unix seconds now.
int64_t unix_now();
/// For golden tests, on the calling thread only: ids become `prefix` + a 24-digit counter
/// starting at 1, and the clock reads 1700000000. Off again with `false`.
void set_deterministic_ids_for_testing(bool on);

// ---- Output helpers.
/// Appends one SSE event: "event: NAME\n" (when given) "data: DATA\n\n".
void append_sse(std::string& out, std::string_view event, std::string_view data);
/// Records, at debug level, that `field` could not be expressed in `target`.
void log_dropped(std::string_view target, std::string_view field);

/// A provider reply `format` could not read: an Upstream error "FORMAT response: MESSAGE".
Unexpected upstream_error(std::string_view format, const Error& e);

/// Writes `"key": {"inner": count}`, the nested counters of OpenAI-family usage objects.
void write_count_object(json::Writer& w, std::string_view key, std::string_view inner,
                        uint64_t count);

/// The HTTP-ish error type names per envelope.
std::string_view openai_error_type(const Error& e);
std::string_view anthropic_error_type(const Error& e);

}  // namespace llmrouter::detail
