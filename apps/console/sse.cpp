// SPDX-License-Identifier: MIT
#include "sse.h"

#include <charconv>

namespace llmrouter::console {

bool SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c != '\n' && c != '\r') continue;
    if (c == '\n' && after_cr_ && i == start && buf_.empty()) {  // the LF of a CR LF
      after_cr_ = false;
      start = i + 1;
      continue;
    }
    after_cr_ = c == '\r';
    if (buf_.empty()) {
      line(bytes.substr(start, i - start), out);
    } else {
      buf_.append(bytes.substr(start, i - start));
      line(buf_, out);
      buf_.clear();
    }
    start = i + 1;
  }
  if (start < bytes.size()) {
    after_cr_ = false;
    if (buf_.size() + (bytes.size() - start) > kMaxLine) {
      failed_ = true;
      return false;
    }
    buf_.append(bytes.substr(start));
  }
  return true;
}

void SseParser::line(std::string_view l, std::vector<SseEvent>& out) {
  if (l.empty()) {  // dispatch
    if (has_data_) {
      if (pending_.event.empty()) pending_.event = "message";
      out.push_back(std::move(pending_));
    }
    pending_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (l.front() == ':') {
    ++comments_;
    return;
  }
  std::string_view field = l;
  std::string_view value;
  if (const std::size_t colon = l.find(':'); colon != std::string_view::npos) {
    field = l.substr(0, colon);
    value = l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    pending_.event = std::string(value);
  } else if (field == "id") {
    pending_.id = std::string(value);
  } else if (field == "retry") {
    long ms = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && end == value.data() + value.size()) retry_ms_ = ms;
  }
}

}  // namespace llmrouter::console
