// SPDX-License-Identifier: MIT
#include "formats/framing.h"

#include <charconv>

#include <fmt/format.h>

namespace llmrouter {

Result<void> SseParser::feed(std::string_view chunk, std::vector<SseEvent>& out) {
  if (failed_) return fail(Errc::Upstream, fmt::format("event stream: an event exceeds {} bytes", kMaxEventBytes));
  std::size_t i = 0;
  // A CR ending the previous chunk and an LF starting this one are one line end.
  if (last_was_cr_ && !chunk.empty() && chunk[0] == '\n') i = 1;
  last_was_cr_ = false;
  while (i < chunk.size()) {
    const std::size_t end = chunk.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      partial_.append(chunk.substr(i));
      break;
    }
    if (partial_.empty()) {
      line(chunk.substr(i, end - i), out);
    } else {
      partial_.append(chunk.substr(i, end - i));
      line(partial_, out);
      partial_.clear();
    }
    i = end + 1;
    if (chunk[end] == '\r') {
      if (i < chunk.size()) {
        if (chunk[i] == '\n') ++i;
      } else {
        last_was_cr_ = true;
      }
    }
  }
  if (partial_.size() + current_.data.size() > kMaxEventBytes) {
    failed_ = true;
    return fail(Errc::Upstream,
                fmt::format("event stream: an event exceeds {} bytes", kMaxEventBytes));
  }
  return {};
}

void SseParser::line(std::string_view l, std::vector<SseEvent>& out) {
  if (l.empty()) {
    dispatch(out);
    return;
  }
  if (l[0] == ':') {  // comment
    ++comments_;
    return;
  }
  std::string_view field = l;
  std::string_view value;
  if (const std::size_t colon = l.find(':'); colon != std::string_view::npos) {
    field = l.substr(0, colon);
    value = l.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) current_.data.push_back('\n');
    current_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    current_.event.assign(value);
  } else if (field == "id") {
    current_.id.assign(value);
  } else if (field == "retry") {
    long ms = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && end == value.data() + value.size()) retry_ms_ = ms;
  }
}

void SseParser::finish(std::vector<SseEvent>& out) {
  if (!partial_.empty()) {
    std::string last = std::move(partial_);
    partial_.clear();
    line(last, out);
  }
  dispatch(out);
  last_was_cr_ = false;
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  if (has_data_) {
    if (current_.event.empty()) current_.event = "message";  // an empty `event:` field
    out.push_back(std::move(current_));
  }
  current_ = SseEvent{};
  has_data_ = false;
}

}  // namespace llmrouter

namespace llmrouter::detail {

Result<void> NdjsonParser::feed(std::string_view chunk, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    const std::size_t end = chunk.find('\n', i);
    if (end == std::string_view::npos) {
      partial_.append(chunk.substr(i));
      break;
    }
    partial_.append(chunk.substr(i, end - i));
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    if (!partial_.empty()) out.push_back(std::move(partial_));
    partial_.clear();
    i = end + 1;
  }
  if (partial_.size() > kMaxLineBytes) {
    return fail(Errc::Upstream, fmt::format("NDJSON stream: a line exceeds {} bytes", kMaxLineBytes));
  }
  return {};
}

void NdjsonParser::finish(std::vector<std::string>& out) {
  if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
  if (!partial_.empty()) out.push_back(std::move(partial_));
  partial_.clear();
}

}  // namespace llmrouter::detail
