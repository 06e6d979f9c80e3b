// SPDX-License-Identifier: MIT
#include "router_events.h"

#include <gtest/gtest.h>

#include "recorded.h"

namespace llmrouter::console {
namespace {

TEST(RouterEventsTest, ParsesARecordedSequence) {
  const auto events = testing::recorded_events("feed_sequence.sse");
  ASSERT_EQ(events.size(), 20u);
  const auto& start = std::get<StartEvent>(events[0]);
  EXPECT_EQ(start.model, "gpt-4o");
  EXPECT_EQ(start.in_flight, 1u);
  EXPECT_GT(start.ts_ms, 0);
  const auto& routed = std::get<RoutedEvent>(events[2]);
  EXPECT_EQ(routed.provider, "mock-openai");
  EXPECT_EQ(routed.reason, "rule 2 (fallback): provider mock-openai, model gpt-4o");
  const auto& done = std::get<CompleteEvent>(events[3]);
  EXPECT_EQ(done.id, start.id);
  EXPECT_EQ(done.client_format, "openai");
  EXPECT_EQ(done.requested_model, "gpt-4o");
  EXPECT_FALSE(done.stream);
  EXPECT_FALSE(done.ttft_ms);
  EXPECT_EQ(done.prompt(), "hello there");
  ASSERT_TRUE(done.response);
  EXPECT_EQ(done.response->content, "Checking both cities.");
  EXPECT_EQ(done.response->stop_reason, "tool_use");
  ASSERT_EQ(done.response->tool_calls.size(), 2u);
  EXPECT_EQ(done.response->tool_calls[1].name, "get_time");
  EXPECT_EQ(done.response->tool_calls[1].input, R"({"city":"Tokyo"})");
  EXPECT_EQ(done.usage.input_tokens, 812u);
  EXPECT_EQ(done.usage.cache_read_input_tokens, 512u);
  ASSERT_EQ(done.attempts.size(), 1u);
  EXPECT_EQ(done.attempts[0].error, "");
  EXPECT_FALSE(done.error);

  const auto& streamed = std::get<CompleteEvent>(events[7]);
  EXPECT_TRUE(streamed.stream);
  EXPECT_TRUE(streamed.ttft_ms);
  EXPECT_EQ(streamed.tags, std::vector<std::string>{"code"});
  const auto& failed = std::get<CompleteEvent>(events[15]);
  ASSERT_TRUE(failed.error);
  EXPECT_EQ(*failed.error, "provider 'mock-openai' answered 500: upstream exploded");
  EXPECT_FALSE(failed.response);
}

TEST(RouterEventsTest, SummarisesNonTextBlocksAndFindsThePrompt) {
  auto e = parse_event(R"({"type":"complete","id":1,"ts_ms":5,"provider":null,"sent_model":null,"system":"sys",
    "messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image","media_type":"image/png","bytes":10}]},
                {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"search","input":{}}]},
                {"role":"tool","content":[{"type":"tool_result","tool_use_id":"t1","text":"42"}]},
                {"role":"assistant","content":[{"type":"thinking","thinking":"hmm"}]}],
    "response":null,"error":"no route","future_field":{"x":[1,2]}})");
  ASSERT_TRUE(e) << e.error().message;
  const auto& c = std::get<CompleteEvent>(*e);
  EXPECT_EQ(c.provider, "");
  EXPECT_EQ(c.system, "sys");
  ASSERT_EQ(c.messages.size(), 4u);
  EXPECT_EQ(c.messages[0].text, "look\n[image]");
  EXPECT_EQ(c.messages[1].text, "[tool_use search]");
  EXPECT_EQ(c.prompt(), "[tool_result] 42");
  EXPECT_EQ(c.error, "no route");
}

TEST(RouterEventsTest, RejectsMalformedEventsWithAReason) {
  EXPECT_FALSE(parse_event("not json"));
  EXPECT_FALSE(parse_event("[1]"));
  EXPECT_FALSE(parse_event(R"({"id":1})"));
  auto unknown = parse_event(R"({"type":"exploded","id":1})");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("exploded"), std::string::npos);
  auto wrong = parse_event(R"({"type":"classified","id":1,"tags":"code"})");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("tags"), std::string::npos);
  auto bad_duration = parse_event(R"({"type":"complete","id":1,"duration_ms":"slow"})");
  ASSERT_FALSE(bad_duration);
  EXPECT_NE(bad_duration.error().message.find("duration_ms"), std::string::npos);
}

}  // namespace
}  // namespace llmrouter::console
