// SPDX-License-Identifier: MIT
#pragma once
// The router's live events (`/dashboard/events`, docs/server.md) as typed structs:
// start, classified, routed and complete for each request, and health when a provider is
// ejected or restored, parsed from their JSON with simdjson. Unknown
// members are ignored and absent ones keep their defaults, so newer servers still parse.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "llmrouter/result.h"

namespace llmrouter::console {

/// A request arrived.
struct StartEvent {
  uint64_t id = 0;
  /// Server wall-clock time, ms since the epoch.
  int64_t ts_ms = 0;
  /// The model the client asked for ("" when the body did not decode).
  std::string model;
  /// Requests in flight on the server, this one included.
  uint64_t in_flight = 0;
};

/// The classifiers tagged the request.
struct ClassifiedEvent {
  uint64_t id = 0;
  int64_t ts_ms = 0;
  std::vector<std::string> tags;
};

/// A rule chose a provider.
struct RoutedEvent {
  uint64_t id = 0;
  int64_t ts_ms = 0;
  std::string provider;
  std::string model;
  /// The rule and why it matched ("rule 2 (fallback): ...").
  std::string reason;
};

/// One message of the logged conversation, flattened to text: text blocks as they are,
/// other blocks summarised ("[image]", "[tool_use get_time]", "[tool_result] ...").
struct LoggedMessage {
  std::string role;
  std::string text;
};

struct ToolCallInfo {
  std::string id;
  std::string name;
  /// The arguments, as raw JSON.
  std::string input;
};

/// The reply, as the router assembled it.
struct ResponseInfo {
  std::string id;
  std::string model;
  std::string content;
  std::string stop_reason;
  std::vector<ToolCallInfo> tool_calls;
  /// Response classifier tags.
  std::vector<std::string> tags;
};

struct UsageInfo {
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cache_read_input_tokens = 0;
  uint64_t cache_creation_input_tokens = 0;
};

/// One try at one provider (failover makes several).
struct AttemptInfo {
  std::string provider;
  std::string model;
  std::string error;  ///< "" when it succeeded
  int64_t duration_ms = 0;
};

/// The request is over, whatever its outcome.
struct CompleteEvent {
  uint64_t id = 0;
  int64_t ts_ms = 0;
  std::string client_format;
  /// The provider that answered last ("plugin" for plugin answers; "" before routing).
  std::string provider;
  std::string requested_model;
  std::string sent_model;
  int64_t duration_ms = 0;
  std::optional<int64_t> ttft_ms;
  bool stream = false;
  std::vector<std::string> tags;
  std::string trace_id;
  std::vector<std::string> plugins;
  std::string system;
  std::vector<LoggedMessage> messages;
  std::optional<ResponseInfo> response;
  UsageInfo usage;
  double cost_usd = 0;
  std::vector<AttemptInfo> attempts;
  std::optional<std::string> error;

  bool failed() const { return error.has_value(); }
  /// The last user (or tool result) message's text, "" when there is none.
  std::string prompt() const;
};

/// A provider was ejected after failures, or restored by a successful probe. Not part of
/// any request (`id` is 0).
struct HealthEvent {
  uint64_t id = 0;
  int64_t ts_ms = 0;
  std::string provider;
  /// "ejected" or "restored".
  std::string state;
  /// How long the ejection lasts (ejected only).
  int64_t duration_ms = 0;
  /// The consecutive failures that led to it.
  uint64_t failures = 0;
  /// The last failure's error (ejected only).
  std::string reason;

  bool ejected() const { return state == "ejected"; }
};

/// The router's configuration was reloaded (`ok`), or a reload was refused with `errors`
/// (the running configuration unchanged). Not part of any request (`id` is 0).
struct ReloadEvent {
  uint64_t id = 0;
  int64_t ts_ms = 0;
  bool ok = false;
  /// The configuration's file.
  std::string source;
  /// Every problem of a refused reload, one line each (FILE:LINE:COL: ...).
  std::vector<std::string> errors;
  /// Changed settings that take effect at the router's next start ("server.port").
  std::vector<std::string> restart_required;
};

using RouterEvent =
    std::variant<StartEvent, ClassifiedEvent, RoutedEvent, CompleteEvent, HealthEvent, ReloadEvent>;

/// The `type` of an event ("start", ...).
std::string_view event_type(const RouterEvent& e);
/// The request id an event belongs to (0 for a health or reload event).
uint64_t event_id(const RouterEvent& e);

/// Parses one event's JSON. Errors (Errc::InvalidRequest): invalid JSON, not an object,
/// an unknown `type`, a member of the wrong type (named in the message).
[[nodiscard]] Result<RouterEvent> parse_event(std::string_view json);

}  // namespace llmrouter::console
