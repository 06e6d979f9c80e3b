// SPDX-License-Identifier: MIT
#include "formats/framing.h"

#include <gtest/gtest.h>

namespace llmrouter::detail {
namespace {

std::vector<SseEvent> sse_in_pieces(std::string_view text, std::size_t piece) {
  SseParser p;
  std::vector<SseEvent> out;
  for (std::size_t i = 0; i < text.size(); i += piece) EXPECT_TRUE(p.feed(text.substr(i, piece), out));
  p.finish(out);
  return out;
}

TEST(SseParserTest, EventsWithNamesDataAndComments) {
  const std::string_view text =
      ": comment\n"
      "event: message_start\n"
      "data: {\"a\":1}\n"
      "\n"
      "data:no-space\n"
      "id: 7\n"
      "retry: 100\n"
      "\n";
  for (std::size_t piece : {1u, 2u, 3u, 100u}) {
    auto events = sse_in_pieces(text, piece);
    ASSERT_EQ(events.size(), 2u) << piece;
    EXPECT_EQ(events[0].event, "message_start");
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[1].event, "message");  // the default type
    EXPECT_EQ(events[1].data, "no-space");
    EXPECT_EQ(events[1].id, "7");
    EXPECT_EQ(events[0].id, "");
  }
}

TEST(SseParserTest, RecordsRetryAndCommentsAndSkipsEventsWithoutData) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.feed("retry: 1500\n: keep-alive\n\nevent: start\n\nretry: soon\n\n", out));
  EXPECT_TRUE(out.empty());  // neither event had data
  EXPECT_EQ(p.retry_ms(), 1500);  // "soon" is not a number: ignored
  EXPECT_EQ(p.comments(), 1u);
  ASSERT_TRUE(p.feed("event:\ndata: x\n\n", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event, "message");  // an empty type is the default one
}

TEST(SseParserTest, AnOversizedEventFailsAndTheParserStaysFailed) {
  SseParser p;
  std::vector<SseEvent> out;
  const std::string big(SseParser::kMaxEventBytes / 2 + 1, 'x');
  ASSERT_TRUE(p.feed("data: " + big + "\n", out));
  auto r = p.feed("data: " + big + "\n", out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Upstream);
  EXPECT_FALSE(p.feed("\n", out));
  EXPECT_TRUE(out.empty());
}

TEST(SseParserTest, MultiLineDataIsJoinedWithNewlines) {
  auto events = sse_in_pieces("data: one\ndata: two\ndata:\n\n", 4);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "one\ntwo\n");
}

TEST(SseParserTest, CrLfAndCrLineEndsSplitAnywhere) {
  const std::string_view text = "data: a\r\n\r\ndata: b\r\rdata: c\n\n";
  for (std::size_t piece = 1; piece <= text.size(); ++piece) {
    auto events = sse_in_pieces(text, piece);
    ASSERT_EQ(events.size(), 3u) << "piece " << piece;
    EXPECT_EQ(events[0].data, "a");
    EXPECT_EQ(events[1].data, "b");
    EXPECT_EQ(events[2].data, "c");
  }
}

TEST(SseParserTest, MultiByteCharactersSplitAcrossChunksStayWhole) {
  const std::string text = "data: caf\xC3\xA9 \xF0\x9F\x98\x80\n\n";
  for (std::size_t piece = 1; piece <= 5; ++piece) {
    auto events = sse_in_pieces(text, piece);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].data, "caf\xC3\xA9 \xF0\x9F\x98\x80");
  }
}

TEST(SseParserTest, EventWithoutDataIsNotDispatched) {
  EXPECT_TRUE(sse_in_pieces("event: ping\n\n", 3).empty());
}

TEST(SseParserTest, UnterminatedLastEventIsDispatchedAtFinish) {
  auto events = sse_in_pieces("data: [DONE]", 5);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "[DONE]");
}

TEST(SseParserTest, OversizedEventIsAnError) {
  SseParser p;
  std::vector<SseEvent> out;
  const std::string big(1 << 20, 'x');
  Result<void> r;
  for (int i = 0; i < 20 && r; ++i) r = p.feed(i == 0 ? "data: " + big : big, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Upstream);
}

TEST(NdjsonParserTest, LinesSplitAnywhere) {
  const std::string text = "{\"a\":1}\r\n\n{\"b\":\"\xC3\xA9\"}\n{\"c\":3}";
  for (std::size_t piece = 1; piece <= text.size(); ++piece) {
    NdjsonParser p;
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < text.size(); i += piece) {
      ASSERT_TRUE(p.feed(std::string_view(text).substr(i, piece), lines));
    }
    p.finish(lines);
    ASSERT_EQ(lines.size(), 3u) << "piece " << piece;
    EXPECT_EQ(lines[0], "{\"a\":1}");
    EXPECT_EQ(lines[1], "{\"b\":\"\xC3\xA9\"}");
    EXPECT_EQ(lines[2], "{\"c\":3}");
  }
}

}  // namespace
}  // namespace llmrouter::detail
