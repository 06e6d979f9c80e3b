// SPDX-License-Identifier: MIT
#pragma once
/// @file sse.h
/// An incremental parser for `text/event-stream` bodies (the WHATWG HTML "event stream
/// interpretation"), the one the provider codecs use for upstream streams and the console
/// apps for `/dashboard/events`. It accepts any chunk boundaries — inside a line, between
/// the CR and LF of a line end, inside a multi-byte UTF-8 character — because it only cuts
/// at line ends, and it bounds the memory one event may take.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/result.h"

namespace llmrouter {

/// One dispatched event.
struct SseEvent {
  /// The `event:` field; "message" when the event had none.
  std::string event = "message";
  /// The `data:` lines joined by "\n".
  std::string data;
  /// The event's `id:` field; empty when it had none.
  std::string id;
};

/// One per stream; not thread-safe. Lines end with CRLF, LF or CR; a line starting with
/// `:` is a comment; a blank line dispatches the event (an event without `data` is not
/// dispatched); one space after a field's colon is dropped; unknown fields are ignored.
class SseParser {
 public:
  /// Largest event (or unterminated line) accepted; beyond it `feed` fails.
  static constexpr std::size_t kMaxEventBytes = 16u << 20;

  /// Consumes `chunk`, appending every event it completes to `out`. Errors
  /// (Errc::Upstream): an event larger than kMaxEventBytes; the parser is then unusable.
  [[nodiscard]] Result<void> feed(std::string_view chunk, std::vector<SseEvent>& out);
  /// End of stream: dispatches a pending event that lacked its final blank line.
  void finish(std::vector<SseEvent>& out);

  /// The last valid `retry:` field, in milliseconds (the server's reconnection delay).
  std::optional<long> retry_ms() const noexcept { return retry_ms_; }
  /// Comment lines seen so far (servers send them as keep-alives).
  std::size_t comments() const noexcept { return comments_; }

 private:
  void line(std::string_view l, std::vector<SseEvent>& out);
  void dispatch(std::vector<SseEvent>& out);

  std::string partial_;
  SseEvent current_;
  bool has_data_ = false;
  bool last_was_cr_ = false;
  bool failed_ = false;
  std::optional<long> retry_ms_;
  std::size_t comments_ = 0;
};

}  // namespace llmrouter
