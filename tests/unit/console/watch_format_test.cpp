// SPDX-License-Identifier: MIT
#include "watch_format.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "recorded.h"

// GCC 12 at -O3 reports a bogus -Wrestrict inside std::string::assign for short literals
// assigned to members here (GCC bug 105651).
#pragma GCC diagnostic ignored "-Wrestrict"

namespace llmrouter::console {
namespace {

std::vector<std::string> plain(const std::vector<RouterEvent>& events) {
  std::vector<std::string> out;
  for (const RouterEvent& e : events) {
    for (const Line& l : watch_lines(e)) out.push_back(to_ansi(l, false));
  }
  return out;
}

TEST(WatchFormatTest, PrintsARecordedSequence) {
  setenv("TZ", "UTC", 1);
  tzset();
  const auto lines = plain(testing::recorded_events("feed_sequence.sse"));
  const std::vector<std::string> head(lines.begin(), lines.begin() + 18);
  const std::vector<std::string> expected = {
      "13:02:39  ⋯  gpt-4o  (1 in flight)",
      "  → routed: mock-openai/gpt-4o  (rule 2 (fallback))",
      "13:02:39  mock-openai  gpt-4o  1ms",
      "  prompt:  hello there",
      "  reply:   Checking both cities.",
      "  tool:    ⚙ get_time({\"city\":\"Paris\"})",
      "  tool:    ⚙ get_time({\"city\":\"Tokyo\"})",
      "  812 in / 41 out · tool_use",
      "",
      "13:02:40  ⋯  gpt-4o  (1 in flight)",
      "  → classified: [code]",
      "  → routed: mock-openai/gpt-4o  (rule 2 (fallback))",
      "13:02:40  mock-openai  gpt-4o  [code]  7ms",
      "  prompt:  write a def fib(n) function",
      "  reply:   Il est 14h05 à Paris — 😀 let me check.",
      "  tool:    ⚙ get_time({\"city\":\"Paris\"})",
      "  tool:    ⚙ get_time({\"city\":\"Tokyo\"})",
      "  812 in / 41 out · tool_use",
  };
  EXPECT_EQ(head, expected);
  const std::vector<std::string> error_block(lines.begin() + 28, lines.begin() + 33);
  EXPECT_EQ(error_block, (std::vector<std::string>{
                             "13:02:40  ⋯  status-500  (1 in flight)",
                             "  → routed: mock-openai/status-500  (rule 2 (fallback))",
                             "13:02:40  mock-openai  status-500  1ms",
                             "  prompt:  fail please",
                             "  error:   provider 'mock-openai' answered 500: upstream exploded",
                         }));
}

TEST(WatchFormatTest, ColoursOnlyWhenAsked) {
  CompleteEvent e;
  e.provider = "p";
  e.sent_model = "m";
  e.requested_model = "m";
  e.duration_ms = 9;
  e.error = "bad";
  const auto lines = watch_lines(e);
  EXPECT_EQ(to_ansi(lines[0], false).find('\x1b'), std::string::npos);
  const std::string colored = to_ansi(lines[0], true);
  EXPECT_NE(colored.find("\x1b[31m9ms\x1b[0m"), std::string::npos);  // red duration on error
}

TEST(WatchFormatTest, LongTextIsCutAt120CharactersAndFlattened) {
  CompleteEvent e;
  e.messages = {{"user", std::string(200, 'x') + "\nmore"}};
  e.response = ResponseInfo{};
  e.response->content = "line one\nline two";
  e.response->stop_reason = "end_turn";
  e.attempts = {{"a", "m", "HTTP 429", 1}, {"b", "m", "", 2}};
  e.cost_usd = 0.0012;
  const auto lines = watch_lines(e);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(to_ansi(lines[1], false), "  failover: a (HTTP 429) → b");
  std::string prompt = "  prompt:  ";
  prompt.append(120, 'x');
  prompt += "…";
  EXPECT_EQ(to_ansi(lines[2], false), prompt);
  EXPECT_EQ(to_ansi(lines[3], false), "  reply:   line one line two");
  EXPECT_EQ(to_ansi(lines[4], false), "  0 in / 0 out · end_turn · $0.001200");
  EXPECT_TRUE(watch_lines(ClassifiedEvent{1, 0, {}}).empty());
}

TEST(WatchFormatTest, AProviderEjectedOrRestoredIsOneLine) {
  setenv("TZ", "UTC", 1);
  tzset();
  auto ejected = parse_event(
      R"({"type":"health","ts_ms":47000000,"provider":"mock-openai","state":"ejected","duration_ms":30000,"failures":5,"reason":"HTTP 503: overloaded"})");
  auto restored = parse_event(
      R"({"type":"health","ts_ms":47030000,"provider":"mock-openai","state":"restored","failures":0})");
  ASSERT_TRUE(ejected && restored);
  const std::vector<std::string> expected = {
      "13:03:20  mock-openai  ejected for 30s · 5 failures · HTTP 503: overloaded",
      "13:03:50  mock-openai  restored",
  };
  EXPECT_EQ(plain({*ejected, *restored}), expected);
}

TEST(WatchFormatTest, AReloadIsOneLineAndARefusedOneListsItsErrors) {
  setenv("TZ", "UTC", 1);
  tzset();
  auto applied = parse_event(
      R"({"type":"reload","ts_ms":47000000,"ok":true,"source":"/etc/llmrouter/config.toml","errors":[],"restart_required":["server.port"]})");
  auto refused = parse_event(
      R"({"type":"reload","ts_ms":47030000,"ok":false,"source":"config.toml","errors":["config.toml:3:8: server.port: must be between 0 and 65535, got 70000","config.toml:4:1: server.hots: unknown key; did you mean 'host'?"],"restart_required":[]})");
  ASSERT_TRUE(applied) << applied.error().message;
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_EQ(event_type(*applied), "reload");
  EXPECT_EQ(event_id(*applied), 0u);
  const std::vector<std::string> expected = {
      "13:03:20  reload  applied /etc/llmrouter/config.toml · at the next start: server.port",
      "13:03:50  reload  refused config.toml · 2 errors",
      "  config.toml:3:8: server.port: must be between 0 and 65535, got 70000",
      "  config.toml:4:1: server.hots: unknown key; did you mean 'host'?",
  };
  EXPECT_EQ(plain({*applied, *refused}), expected);
}

}  // namespace
}  // namespace llmrouter::console
