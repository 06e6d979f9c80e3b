// SPDX-License-Identifier: MIT
#pragma once
/// @file response.h
/// The canonical response, the canonical stream events, and `ResponseAssembler`, which
/// folds a stream of events into a response (for logging, response classifiers and
/// post-response plugins on streamed requests).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "llmrouter/request.h"
#include "llmrouter/result.h"

namespace llmrouter {

/// Why the model stopped.
enum class StopReason {
  EndTurn,        ///< finished its turn (OpenAI "stop", Ollama "stop")
  MaxTokens,      ///< hit the output limit (OpenAI "length")
  ToolUse,        ///< wants tool results (OpenAI "tool_calls")
  StopSequence,   ///< hit a stop sequence (OpenAI reports this as "stop")
  PauseTurn,      ///< Anthropic: a long-running server tool paused the turn
  Refusal,        ///< the provider refused (Anthropic "refusal")
  ContentFilter,  ///< output was filtered (OpenAI "content_filter")
  Other,          ///< anything else, or not reported
};

/// "end_turn", "max_tokens", "tool_use", "stop_sequence", "pause_turn", "refusal",
/// "content_filter", "other".
std::string_view stop_reason_name(StopReason r) noexcept;

/// Token counts. `input_tokens` counts every input token, cached ones included;
/// the two cache counts are parts of it (Anthropic reports them apart; codecs add them).
struct Usage {
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cache_read_input_tokens = 0;
  uint64_t cache_creation_input_tokens = 0;
  /// Part of `output_tokens` spent on reasoning, when reported.
  uint64_t reasoning_tokens = 0;
  friend bool operator==(const Usage&, const Usage&) = default;
};

/// A complete model reply.
struct Response {
  std::string id;
  /// The model the provider reports.
  std::string model;
  /// Unix seconds, when the provider reported it (0 otherwise).
  int64_t created = 0;
  /// Text, thinking, redacted thinking, tool_use and opaque blocks, in order. Tool calls
  /// are the ToolUseBlocks here; see `tool_calls()`.
  std::vector<ContentBlock> content;
  StopReason stop_reason = StopReason::EndTurn;
  /// The stop sequence hit, for `StopReason::StopSequence`.
  std::string stop_sequence;
  Usage usage;
  /// Tags from response classifiers; never written into a response body.
  std::vector<std::string> tags;
  friend bool operator==(const Response&, const Response&) = default;
};

/// The text blocks of `r` joined by "\n".
std::string text_of(const Response& r);
/// The tool calls of `r`, in order (pointers into `r.content`).
std::vector<const ToolUseBlock*> tool_calls(const Response& r);

// ---------------------------------------------------------------------------------------
// Stream events.
//
// A stream is: MessageStart, then content events, then optionally UsageUpdate(s), then
// Done; or StreamError at any point, which ends it. Each content block has an `index`,
// assigned from 0 in order of first appearance. A text or thinking block begins with its
// first delta, a tool call with ToolCallStart, a redacted thinking block is complete in
// one event. BlockStop ends a block; decoders emit it for every block before Done. Blocks
// may interleave (OpenAI streams parallel tool calls' arguments by index).

/// The reply began.
struct MessageStart {
  std::string id;
  std::string model;
  int64_t created = 0;
  /// Usage known at the start (Anthropic reports input tokens here).
  Usage usage;
  friend bool operator==(const MessageStart&, const MessageStart&) = default;
};
/// More text for text block `index`.
struct TextDelta {
  uint32_t index = 0;
  std::string text;
  friend bool operator==(const TextDelta&, const TextDelta&) = default;
};
/// More reasoning for thinking block `index`.
struct ThinkingDelta {
  uint32_t index = 0;
  std::string thinking;
  friend bool operator==(const ThinkingDelta&, const ThinkingDelta&) = default;
};
/// The signature of thinking block `index` (Anthropic `signature_delta`).
struct SignatureDelta {
  uint32_t index = 0;
  std::string signature;
  friend bool operator==(const SignatureDelta&, const SignatureDelta&) = default;
};
/// A whole redacted thinking block.
struct RedactedThinkingEvent {
  uint32_t index = 0;
  std::string data;
  friend bool operator==(const RedactedThinkingEvent&, const RedactedThinkingEvent&) = default;
};
/// Tool call block `index` begins.
struct ToolCallStart {
  uint32_t index = 0;
  std::string id;
  std::string name;
  friend bool operator==(const ToolCallStart&, const ToolCallStart&) = default;
};
/// A fragment of tool call `index`'s JSON arguments (fragments concatenate to the JSON).
struct ToolCallDelta {
  uint32_t index = 0;
  std::string partial_json;
  friend bool operator==(const ToolCallDelta&, const ToolCallDelta&) = default;
};
/// Block `index` is complete.
struct BlockStop {
  uint32_t index = 0;
  friend bool operator==(const BlockStop&, const BlockStop&) = default;
};
/// Token counts so far; later updates replace earlier non-zero counts.
struct UsageUpdate {
  Usage usage;
  friend bool operator==(const UsageUpdate&, const UsageUpdate&) = default;
};
/// The reply is complete.
struct Done {
  StopReason stop_reason = StopReason::EndTurn;
  std::string stop_sequence;
  friend bool operator==(const Done&, const Done&) = default;
};
/// The stream failed; nothing follows.
struct StreamError {
  Error error;
};

using StreamEvent = std::variant<MessageStart, TextDelta, ThinkingDelta, SignatureDelta,
                                 RedactedThinkingEvent, ToolCallStart, ToolCallDelta,
                                 BlockStop, UsageUpdate, Done, StreamError>;
/// The events a stream of `r` would carry (for replies that did not arrive as a stream).
std::vector<StreamEvent> events_of(const Response& r);

/// Folds stream events into a `Response`. Not thread-safe; one per stream.
///
///     ResponseAssembler a;
///     for (auto& ev : events) if (auto r = a.add(ev); !r) return fail(r.error());
///     Result<Response> resp = a.finish();
class ResponseAssembler {
 public:
  /// Applies one event. Errors (`Errc::Upstream`): an event after Done or StreamError, a
  /// delta whose index names a block of another kind, a tool call delta before its start.
  /// A StreamError is recorded and returned by `finish()`.
  [[nodiscard]] Result<void> add(const StreamEvent& event);
  /// True once Done or StreamError was added.
  bool finished() const noexcept { return state_ != State::Open; }
  /// The assembled response. A stream that ended without Done is an error
  /// ("stream ended before the reply was complete"); a StreamError is returned as is.
  /// Empty tool inputs become "{}".
  [[nodiscard]] Result<Response> finish() const;
  /// The response so far (for logging partial replies after an error).
  const Response& partial() const noexcept { return response_; }

 private:
  enum class State { Open, Done, Failed };
  ContentBlock* block_at(uint32_t index);
  State state_ = State::Open;
  Response response_;
  /// index -> position in response_.content
  std::vector<int32_t> slots_;
  std::optional<Error> error_;
};

}  // namespace llmrouter
