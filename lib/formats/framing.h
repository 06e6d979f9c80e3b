// SPDX-License-Identifier: MIT
#pragma once
// Incremental framers for streamed upstream bodies: Server-Sent Events (llmrouter/sse.h)
// and NDJSON. Both accept arbitrary chunk boundaries (a line, a "\r\n" pair or a
// multi-byte UTF-8 character split across chunks) because they only ever cut at line ends,
// and both bound the memory a single unterminated line may take.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/result.h"
#include "llmrouter/sse.h"

namespace llmrouter::detail {

// The SSE parser is public (llmrouter/sse.h); the codecs name it here.
using llmrouter::SseEvent;
using llmrouter::SseParser;

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
