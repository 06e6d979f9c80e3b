// SPDX-License-Identifier: MIT
#pragma once
// An incremental parser for text/event-stream bodies (the WHATWG EventSource rules):
// fields `event`, `data` (several lines join with "\n"), `id` and `retry`; comments;
// lines ending in LF, CR LF or CR, split anywhere across chunks. Bytes are kept until a
// line is complete, so a UTF-8 character split between two chunks arrives whole.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrouter::console {

/// One dispatched event.
struct SseEvent {
  /// The `event:` field; "message" when absent.
  std::string event = "message";
  std::string data;
  std::string id;
};

/// One per stream; not thread-safe.
class SseParser {
 public:
  /// Longest line accepted; a longer one makes `feed` fail.
  static constexpr std::size_t kMaxLine = 64u << 20;

  /// Consumes `bytes`, appending the events they complete to `out`. False (and the parser
  /// is then unusable) when a line exceeds kMaxLine.
  [[nodiscard]] bool feed(std::string_view bytes, std::vector<SseEvent>& out);
  /// The last `retry:` value, in milliseconds.
  std::optional<long> retry_ms() const { return retry_ms_; }
  /// Comment lines seen (keep-alives).
  std::size_t comments() const { return comments_; }

 private:
  void line(std::string_view l, std::vector<SseEvent>& out);

  std::string buf_;
  bool after_cr_ = false;
  bool failed_ = false;
  bool has_data_ = false;
  SseEvent pending_;
  std::optional<long> retry_ms_;
  std::size_t comments_ = 0;
};

}  // namespace llmrouter::console
