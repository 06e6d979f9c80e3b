// SPDX-License-Identifier: MIT
#pragma once
// Incremental framers for streamed upstream bodies: Server-Sent Events and NDJSON.
// Both accept arbitrary chunk boundaries (a line, a "\r\n" pair or a multi-byte UTF-8
// character split across chunks) because they only ever cut at line ends, and both bound
// the memory a single unterminated line may take.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/result.h"

namespace llmrouter::detail {

/// One dispatched server-sent event.
struct SseEvent {
  /// The `event:` field; empty means the default type "message".
  std::string event;
  /// The `data:` lines joined by "\n".
  std::string data;
};

/// Parses an event stream (WHATWG HTML "event stream interpretation"): lines end with
/// CRLF, LF or CR; `:` starts a comment; a blank line dispatches the event; one space after
/// the field's colon is dropped; `id` and `retry` are ignored.
class SseParser {
 public:
  /// Largest line or event accepted; beyond it `feed` fails (Errc::Upstream).
  static constexpr std::size_t kMaxEventBytes = 16u << 20;

  /// Consumes `chunk`, appending every completed event to `out`.
  [[nodiscard]] Result<void> feed(std::string_view chunk, std::vector<SseEvent>& out);
  /// End of stream: dispatches a pending event that lacked its final blank line.
  void finish(std::vector<SseEvent>& out);

 private:
  void line(std::string_view l, std::vector<SseEvent>& out);
  std::string partial_;
  SseEvent current_;
  bool has_data_ = false;
  bool last_was_cr_ = false;
};

/// Splits newline-delimited JSON into lines (trailing "\r" removed, blank lines skipped).
class NdjsonParser {
 public:
  static constexpr std::size_t kMaxLineBytes = 16u << 20;

  [[nodiscard]] Result<void> feed(std::string_view chunk, std::vector<std::string>& out);
  /// End of stream: emits a last line that lacked its newline.
  void finish(std::vector<std::string>& out);

 private:
  std::string partial_;
};

}  // namespace llmrouter::detail
