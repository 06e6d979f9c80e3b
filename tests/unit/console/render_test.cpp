// SPDX-License-Identifier: MIT
#include "render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "recorded.h"
#include "text.h"

namespace llmrouter::console {
namespace {

using ::testing::HasSubstr;

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
  static std::string joined(const std::vector<std::string>& rows) {
    std::string out;
    for (const std::string& r : rows) out += r + "\n";
    return out;
  }
  static std::string text(const std::vector<Line>& lines) {
    std::string out;
    for (const Line& l : lines) out += l.text() + "\n";
    return out;
  }
};

TEST_F(RenderTest, ClockAndAgo) {
  EXPECT_EQ(clock_time(0), "00:00:00");
  EXPECT_EQ(clock_time((13 * 3600 + 2 * 60 + 39) * 1000LL + 973), "13:02:39");
  EXPECT_EQ(ago(0, 5000), "never");
  EXPECT_EQ(ago(1000, 4500), "3s ago");
  EXPECT_EQ(ago(1000, 1000 + 125'000), "2m ago");
  EXPECT_EQ(ago(1000, 1000 + 7'300'000), "2h ago");
}

TEST_F(RenderTest, ConnectionStates) {
  FeedState s;
  EXPECT_EQ(connection_line(s, 0, 0).text(), "connecting…");
  s.attempt = 3;
  EXPECT_EQ(connection_line(s, 0, 0).text(), "reconnecting… (attempt 3)");
  s.phase = FeedPhase::Live;
  EXPECT_EQ(connection_line(s, 0, 0).text(), "live");
  s.phase = FeedPhase::Refused;
  s.message = "HTTP 401: invalid or missing API key";
  s.retry_in = std::chrono::milliseconds(4000);
  EXPECT_EQ(connection_line(s, 1000, 2500).text(), "refused: HTTP 401: invalid or missing API key · retry in 3s");
  s.phase = FeedPhase::Unreachable;
  s.message = "Couldn't connect to server";
  EXPECT_EQ(connection_line(s, 0, 9000).text(), "unreachable: Couldn't connect to server · retry in 0s");
}

TEST_F(RenderTest, FeedShowsInFlightThenCompletedEntries) {
  FeedModel feed;
  const auto events = testing::recorded_events("feed_interleaved.sse");
  for (std::size_t i = 0; i < 6; ++i) feed.apply(events[i], 1000);
  std::string shown = text(feed_lines(feed, 1250, 100, 30));
  EXPECT_THAT(shown, HasSubstr("⋯  mock-openai  gpt-4o  250ms"));
  EXPECT_THAT(shown, HasSubstr("⋯  mock-openai  latency-400  250ms"));
  for (std::size_t i = 6; i < events.size(); ++i) feed.apply(events[i], 2000);
  const auto lines = feed_lines(feed, 2000, 100, 30);
  ASSERT_GE(lines.size(), 12u);
  EXPECT_THAT(lines[0].text(), HasSubstr("mock-openai  bad-utf8"));
  EXPECT_THAT(lines[0].text(), HasSubstr("↑"));
  EXPECT_EQ(lines[1].text(), "  prompt: bytes");
  EXPECT_EQ(lines[2].text(), "  reply: ok \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(lines[5].text(), "  prompt: fast one second line");  // newlines flattened
  for (const Line& l : lines) EXPECT_LE(display_width(l.text()), 100);
}

TEST_F(RenderTest, CompletedEntryFormat) {
  CompleteEvent e;
  e.ts_ms = (1 * 3600 + 2 * 60 + 3) * 1000LL;
  e.provider = "local";
  e.requested_model = "auto";
  e.sent_model = "llama3";
  e.tags = {"code"};
  e.plugins = {"response-healing"};
  e.duration_ms = 1234;
  e.messages = {{"user", "first"}, {"assistant", "ok"}, {"user", "write\na function"}};
  e.response = ResponseInfo{};
  e.response->content = "def f(): pass";
  e.response->tags = {"refusal"};
  e.usage.input_tokens = 12;
  e.usage.output_tokens = 34;
  e.attempts = {{"cloud", "x", "HTTP 500", 3}, {"local", "llama3", "", 10}};
  FeedModel feed;
  feed.apply(e, 0);
  auto lines = feed_lines(feed, 0, 200, 10);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].text(),
            "01:02:03  local  auto → llama3 [code] (response-healing) <refusal>  ↑12 ↓34  1234ms  ↻ cloud → local");
  EXPECT_EQ(lines[1].text(), "  prompt: write a function");
  EXPECT_EQ(lines[2].text(), "  reply: def f(): pass");
  EXPECT_EQ(lines[3].text(), "");
  EXPECT_EQ(lines[0].spans.back().style, Style::Warn);

  CompleteEvent err;
  err.provider = "cloud";
  err.sent_model = "gpt";
  err.requested_model = "gpt";
  err.duration_ms = 5;
  err.error = "provider 'cloud' answered 500:\nupstream exploded";
  FeedModel f2;
  f2.apply(err, 0);
  lines = feed_lines(f2, 0, 40, 10);
  EXPECT_EQ(lines[0].text(), "00:00:00  cloud  gpt  5ms");
  bool red_duration = false;
  for (const Span& s : lines[0].spans) red_duration |= s.text == "5ms" && s.style == Style::Error;
  EXPECT_TRUE(red_duration);
  EXPECT_EQ(lines[2].text(), "  error: provider 'cloud' answered 500:…");
  EXPECT_EQ(display_width(lines[2].text()), 40);
}

TEST_F(RenderTest, StatsPane) {
  FeedModel feed;
  for (const RouterEvent& e : testing::recorded_events("feed_sequence.sse")) feed.apply(e, 0);
  feed.apply(StartEvent{99, 0, "m", 1}, 0);
  const int64_t now = std::get<CompleteEvent>(testing::recorded_events("feed_sequence.sse")[19]).ts_ms + 3000;
  const std::string shown = text(stats_lines(feed, now, 60));
  EXPECT_THAT(shown, HasSubstr("5 requests · 1 error\n"));
  EXPECT_THAT(shown, HasSubstr("avg "));
  EXPECT_THAT(shown, HasSubstr(" · p95 "));
  EXPECT_THAT(shown, HasSubstr("1 in flight\n"));
  EXPECT_THAT(shown, HasSubstr("tokens ↑5675 ↓453 · $0.0000\n"));
  EXPECT_THAT(shown, HasSubstr("providers\n  mock-openai  3 (60%)  1 err  ok 3s ago\n"));
  EXPECT_THAT(shown, HasSubstr("  mock-anthropic  1 (20%)"));
  EXPECT_THAT(shown, HasSubstr("tags\n  [code]  1\n"));
}

TEST_F(RenderTest, ConversationLines) {
  ChatModel chat("m");
  EXPECT_EQ(text(conversation_lines(chat, 80)), "(no messages yet — type below and press Enter)\n");
  chat.type("hello there, this is a long question");
  chat.submit();
  chat.attach(1);
  EXPECT_EQ(text(conversation_lines(chat, 20)), "you: hello there,\n     this is a long\n     question\n     …\n\n");
  chat.apply({1, ReplyText{"fine"}});
  chat.apply({1, ReplyToolCall{1, "c1", "get_time"}});
  chat.apply({1, ReplyToolArgs{1, "{}"}});
  chat.apply({1, ReplyDone{"tool_use", 1, 2}});
  chat.type("again");
  chat.submit();
  chat.attach(2);
  chat.apply({2, ReplyFailed{"HTTP 502: provider 'x' unreachable"}});
  EXPECT_EQ(text(conversation_lines(chat, 60)),
            "you: hello there, this is a long question\n     fine\n     ⚙ get_time({})\n\n"
            "you: again\n     error: HTTP 502: provider 'x' unreachable\n\n");
}

TEST_F(RenderTest, InputLineShowsTheEndOfLongInputAndTheCursor) {
  ChatModel chat;
  chat.type("0123456789abcdef");
  EXPECT_EQ(input_line(chat, true, 8).text(), "9abcdef█");
  EXPECT_EQ(input_line(chat, false, 40).text(), "0123456789abcdef");
  ChatModel empty;
  EXPECT_EQ(input_line(empty, false, 40).text(), "press Tab or i to type");
}

TEST_F(RenderTest, LayoutFollowsTheTerminalSize) {
  for (auto [rows, cols] : {std::pair{40, 120}, std::pair{24, 80}, std::pair{12, 50}, std::pair{100, 300}}) {
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols));
    const Layout l = layout(rows, cols);
    ASSERT_FALSE(l.too_small);
    EXPECT_EQ(l.feed.h, rows * 60 / 100);
    EXPECT_EQ(l.feed.w, cols);
    EXPECT_EQ(l.stats.y, l.feed.h);
    EXPECT_EQ(l.stats.w, cols * 35 / 100);
    EXPECT_EQ(l.stats.h + l.feed.h, rows);
    EXPECT_EQ(l.conversation.x, l.stats.w);
    EXPECT_EQ(l.conversation.w + l.stats.w, cols);
    EXPECT_EQ(l.input.h, 3);
    EXPECT_EQ(l.input.y + l.input.h, rows);
    EXPECT_EQ(l.conversation.h + l.input.h, l.stats.h);
  }
  EXPECT_TRUE(layout(11, 80).too_small);
  EXPECT_TRUE(layout(40, 49).too_small);
}

TEST_F(RenderTest, AFrameFillsTheScreenAtAnySize) {
  TuiModel m("gpt-4o");
  for (const RouterEvent& e : testing::recorded_events("feed_sequence.sse")) m.feed.apply(e, 0);
  FeedState live;
  live.phase = FeedPhase::Live;
  m.feed.set_connection(live, 0);
  for (auto [rows, cols] : {std::pair{40, 120}, std::pair{24, 80}, std::pair{12, 50}}) {
    const auto rows_text = frame_text(render(m, rows, cols, 0));
    ASSERT_EQ(rows_text.size(), static_cast<std::size_t>(rows));
    for (const std::string& r : rows_text) EXPECT_EQ(display_width(r), cols) << r;
    const std::string screen = joined(rows_text);
    EXPECT_THAT(screen, HasSubstr("Pipeline  live  5 requests"));
    EXPECT_THAT(screen, HasSubstr("Stats"));
    EXPECT_THAT(screen, HasSubstr("Chat  model: gpt-4o"));
    EXPECT_THAT(screen, HasSubstr("▸"));
  }
  const std::string small = joined(frame_text(render(m, 10, 40, 0)));
  EXPECT_THAT(small, HasSubstr("terminal too small (40x10"));
}

TEST_F(RenderTest, FocusMovesTheHints) {
  TuiModel m;
  Frame f = render(m, 30, 100, 0);
  EXPECT_EQ(f.boxes[0].hint, " ↑/↓ scroll  Tab/i → chat  q quit ");
  EXPECT_TRUE(f.boxes[0].focused);
  m.on_key(Key::of(Key::Code::Tab));
  f = render(m, 30, 100, 0);
  EXPECT_EQ(f.boxes[0].hint, " Tab/i to focus ");
  EXPECT_TRUE(f.boxes[2].focused);
  EXPECT_EQ(f.boxes[2].hint, " Enter send  Esc back  :model NAME  :clear ");
  EXPECT_EQ(f.boxes[3].lines[0].text(), "█");
}

}  // namespace
}  // namespace llmrouter::console
