// SPDX-License-Identifier: MIT
#include "sse.h"

#include <gtest/gtest.h>

namespace llmrouter::console {
namespace {

std::vector<SseEvent> parse_in_chunks(std::string_view text, std::size_t chunk) {
  SseParser p;
  std::vector<SseEvent> out;
  for (std::size_t i = 0; i < text.size(); i += chunk) EXPECT_TRUE(p.feed(text.substr(i, chunk), out));
  return out;
}

TEST(SseParserTest, ParsesEventsWhateverTheChunkBoundaries) {
  const std::string text =
      "retry: 1000\n\n: keep-alive\n\nevent: start\ndata: {\"type\":\"start\",\"model\":\"é😀\"}\n\n"
      "event: complete\r\ndata: line one\r\ndata: line two\r\n\r\ndata: plain\rid: 7\r\r";
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 1000u}) {
    SCOPED_TRACE(chunk);
    auto events = parse_in_chunks(text, chunk);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].event, "start");
    EXPECT_EQ(events[0].data, "{\"type\":\"start\",\"model\":\"é😀\"}");  // split characters arrive whole
    EXPECT_EQ(events[1].event, "complete");
    EXPECT_EQ(events[1].data, "line one\nline two");
    EXPECT_EQ(events[2].event, "message");
    EXPECT_EQ(events[2].data, "plain");
    EXPECT_EQ(events[2].id, "7");
  }
}

TEST(SseParserTest, RecordsRetryAndComments) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.feed("retry: 1500\n: keep-alive\n\n", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p.retry_ms(), 1500);
  EXPECT_EQ(p.comments(), 1u);
}

TEST(SseParserTest, AnEventWithoutDataIsNotDispatched) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.feed("event: start\n\n", out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace llmrouter::console
