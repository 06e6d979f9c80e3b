// SPDX-License-Identifier: MIT
#include "llmrouter/response.h"

#include <gtest/gtest.h>

#include <vector>

namespace llmrouter {
namespace {

Result<Response> assemble(const std::vector<StreamEvent>& events) {
  ResponseAssembler a;
  for (const StreamEvent& e : events) {
    if (Result<void> r = a.add(e); !r) return fail(r.error());
  }
  return a.finish();
}

TEST(ResponseTest, TextAndToolCallHelpers) {
  Response r;
  r.content.push_back(TextBlock{"a", std::nullopt, {}});
  r.content.push_back(ToolUseBlock{"1", "f", RawJson{"{}"}, std::nullopt});
  r.content.push_back(TextBlock{"b", std::nullopt, {}});
  r.content.push_back(ToolUseBlock{"2", "g", RawJson{"{}"}, std::nullopt});
  EXPECT_EQ(text_of(r), "a\nb");
  auto calls = tool_calls(r);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]->id, "1");
  EXPECT_EQ(calls[1]->name, "g");
  EXPECT_EQ(stop_reason_name(StopReason::ToolUse), "tool_use");
}

TEST(ResponseAssemblerTest, TextStream) {
  Result<Response> r = assemble({
      MessageStart{"msg_1", "model-a", 1700000000, Usage{12, 0, 0, 0, 0}},
      TextDelta{0, "Hel"},
      TextDelta{0, "lo"},
      BlockStop{0},
      UsageUpdate{Usage{0, 5, 0, 0, 0}},
      Done{StopReason::EndTurn, ""},
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->id, "msg_1");
  EXPECT_EQ(r->model, "model-a");
  EXPECT_EQ(r->created, 1700000000);
  EXPECT_EQ(text_of(*r), "Hello");
  EXPECT_EQ(r->usage.input_tokens, 12u);  // kept: the later update reported 0
  EXPECT_EQ(r->usage.output_tokens, 5u);
  EXPECT_EQ(r->stop_reason, StopReason::EndTurn);
}

TEST(ResponseAssemblerTest, ThinkingWithSignatureThenInterleavedParallelToolCalls) {
  Result<Response> r = assemble({
      MessageStart{"id", "m", 0, {}},
      ThinkingDelta{0, "Let me "},
      ThinkingDelta{0, "check."},
      SignatureDelta{0, "EqQBCkgIAR"},
      BlockStop{0},
      ToolCallStart{1, "call_a", "weather"},
      ToolCallStart{2, "call_b", "time"},
      ToolCallDelta{1, R"({"city":)"},
      ToolCallDelta{2, R"({"tz":"UTC"})"},
      ToolCallDelta{1, R"("Paris"})"},
      BlockStop{1},
      BlockStop{2},
      Done{StopReason::ToolUse, ""},
  });
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->content.size(), 3u);
  const auto& thinking = std::get<ThinkingBlock>(r->content[0]);
  EXPECT_EQ(thinking.thinking, "Let me check.");
  EXPECT_EQ(thinking.signature, "EqQBCkgIAR");
  auto calls = tool_calls(*r);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]->id, "call_a");
  EXPECT_EQ(calls[0]->input.text, R"({"city":"Paris"})");
  EXPECT_EQ(calls[1]->input.text, R"({"tz":"UTC"})");
  EXPECT_EQ(r->stop_reason, StopReason::ToolUse);
}

TEST(ResponseAssemblerTest, ToolCallWithoutArgumentsGetsEmptyObject) {
  Result<Response> r = assemble({ToolCallStart{0, "c", "now"}, BlockStop{0}, Done{StopReason::ToolUse, ""}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(tool_calls(*r)[0]->input.text, "{}");
}

TEST(ResponseAssemblerTest, RedactedThinkingAndUtf8AcrossDeltas) {
  // A multi-byte character split across two deltas must come out whole.
  Result<Response> r = assemble({RedactedThinkingEvent{0, "opaque"}, TextDelta{1, "caf\xC3"},
                                 TextDelta{1, "\xA9"}, Done{StopReason::MaxTokens, ""}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(std::get<RedactedThinkingBlock>(r->content[0]).data, "opaque");
  EXPECT_EQ(text_of(*r), "caf\xC3\xA9");
  EXPECT_EQ(r->stop_reason, StopReason::MaxTokens);
}

TEST(ResponseAssemblerTest, StopSequenceIsKept) {
  Result<Response> r = assemble({TextDelta{0, "a"}, Done{StopReason::StopSequence, "END"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stop_sequence, "END");
}

TEST(ResponseAssemblerTest, StreamWithoutDoneIsIncomplete) {
  Result<Response> r = assemble({MessageStart{}, TextDelta{0, "partial"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Upstream);
  EXPECT_EQ(r.error().message, "stream ended before the reply was complete");
}

TEST(ResponseAssemblerTest, StreamErrorIsReturnedAndPartialKept) {
  ResponseAssembler a;
  ASSERT_TRUE(a.add(TextDelta{0, "so far"}));
  ASSERT_TRUE(a.add(StreamError{Error{Errc::Timeout, "idle timeout", 0, "local"}}));
  EXPECT_TRUE(a.finished());
  Result<Response> r = a.finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Timeout);
  EXPECT_EQ(r.error().provider, "local");
  EXPECT_EQ(r.error().status(), 504);
  EXPECT_EQ(text_of(a.partial()), "so far");
}

TEST(ResponseAssemblerTest, MalformedSequencesAreErrors) {
  {
    ResponseAssembler a;
    Result<void> r = a.add(ToolCallDelta{0, "{}"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "stream: tool call delta for block 0 before its start");
  }
  {
    ResponseAssembler a;
    ASSERT_TRUE(a.add(TextDelta{0, "x"}));
    Result<void> r = a.add(ThinkingDelta{0, "y"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "stream: thinking delta for block 0, which is a block of another kind");
  }
  {
    ResponseAssembler a;
    ASSERT_TRUE(a.add(ToolCallStart{0, "a", "f"}));
    EXPECT_FALSE(a.add(ToolCallStart{0, "b", "g"}));
    EXPECT_FALSE(a.add(TextDelta{0, "x"}));
    EXPECT_FALSE(a.add(BlockStop{7}));
  }
  {
    ResponseAssembler a;
    ASSERT_TRUE(a.add(Done{}));
    Result<void> r = a.add(TextDelta{0, "late"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "stream event after the end of the stream");
  }
}

TEST(ErrorTest, DefaultStatuses) {
  EXPECT_EQ((Error{Errc::InvalidRequest, "", 0, ""}).status(), 400);
  EXPECT_EQ((Error{Errc::NoRoute, "", 0, ""}).status(), 400);
  EXPECT_EQ((Error{Errc::Upstream, "", 0, ""}).status(), 502);
  EXPECT_EQ((Error{Errc::Upstream, "", 429, ""}).status(), 429);
  EXPECT_EQ((Error{Errc::Internal, "", 0, ""}).status(), 500);
  EXPECT_EQ(errc_name(Errc::NoRoute), "no_route");
}

}  // namespace
}  // namespace llmrouter
