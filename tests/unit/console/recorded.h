// SPDX-License-Identifier: MIT
#pragma once
// Recorded `/dashboard/events` streams (tests/data/console/*.sse, captured from
// llmrouter-server in front of llmrouter-mock), replayed through the SSE parser and the
// event parser.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "router_events.h"
#include "llmrouter/sse.h"

namespace llmrouter::console::testing {

inline std::string read_recording(const std::string& name) {
  std::ifstream in(LLMROUTER_SOURCE_DIR "/tests/data/console/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The events of a recording, fed to the SSE parser `chunk` bytes at a time.
inline std::vector<RouterEvent> recorded_events(const std::string& name, std::size_t chunk = 5) {
  const std::string text = read_recording(name);
  EXPECT_FALSE(text.empty()) << name;
  SseParser parser;
  std::vector<SseEvent> sse;
  for (std::size_t i = 0; i < text.size(); i += chunk) EXPECT_TRUE(parser.feed(std::string_view(text).substr(i, chunk), sse));
  std::vector<RouterEvent> out;
  for (const SseEvent& e : sse) {
    auto parsed = parse_event(e.data);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message);
    if (!parsed) continue;
    EXPECT_EQ(event_type(*parsed), e.event);
    out.push_back(std::move(*parsed));
  }
  return out;
}

}  // namespace llmrouter::console::testing
