// SPDX-License-Identifier: MIT
#include "llmrouter/request.h"

#include <gtest/gtest.h>

namespace llmrouter {
namespace {

TextBlock text(std::string s) { return TextBlock{std::move(s), std::nullopt, {}}; }

ToolUseBlock tool_use(std::string id, std::string name, std::string input = "{}") {
  ToolUseBlock u;
  u.id = std::move(id);
  u.name = std::move(name);
  u.input.text = std::move(input);
  return u;
}

ToolResultBlock tool_result(std::string id, std::string content) {
  ToolResultBlock r;
  r.tool_use_id = std::move(id);
  r.content.push_back(text(std::move(content)));
  return r;
}

Tool function_tool(std::string name) {
  Tool t;
  t.name = std::move(name);
  t.input_schema.text = R"({"type":"object"})";
  return t;
}

// A valid agent-style conversation: user asks, assistant thinks and calls a tool, the tool
// answers, the assistant replies.
CanonicalRequest conversation() {
  CanonicalRequest r;
  r.model = "m";
  r.system = {text("You are terse."), text("Use tools.")};
  r.messages.push_back({Role::User, {text("What is the weather?")}, {}});
  r.messages.push_back({Role::Assistant,
                        {ThinkingBlock{"need the tool", "sig"},
                         tool_use("call_1", "weather", R"({"city":"Paris"})")},
                        {}});
  r.messages.push_back({Role::Tool, {tool_result("call_1", "sunny")}, {}});
  r.messages.push_back({Role::Assistant, {text("Sunny.")}, {}});
  r.tools.push_back(function_tool("weather"));
  return r;
}

std::string validation_error(const CanonicalRequest& r) {
  Result<void> v = validate(r);
  if (v) {
    ADD_FAILURE() << "expected a validation error";
    return {};
  }
  EXPECT_EQ(v.error().code, Errc::InvalidRequest);
  EXPECT_EQ(v.error().status(), 400);
  return v.error().message;
}

TEST(RequestTest, TextOfJoinsTextBlocksOnly) {
  Message m{Role::User, {text("a"), ImageBlock{}, text(""), text("b"), tool_use("1", "t")}, {}};
  EXPECT_EQ(text_of(m), "a\nb");
  EXPECT_EQ(text_of(Message{}), "");
}

TEST(RequestTest, SystemText) {
  EXPECT_EQ(system_text(conversation()), "You are terse.\nUse tools.");
  EXPECT_EQ(system_text(CanonicalRequest{}), "");
}

TEST(RequestTest, ToolResultText) {
  ToolResultBlock r = tool_result("1", "x");
  r.content.push_back(ImageBlock{});
  r.content.push_back(text("y"));
  EXPECT_EQ(text_of(r), "x\ny");
}

TEST(RequestTest, NeededCapabilitiesFromStructure) {
  CanonicalRequest r;
  r.messages.push_back({Role::User, {text("hi")}, {}});
  EXPECT_TRUE(needed_capabilities(r).empty());

  r.tools.push_back(function_tool("f"));
  EXPECT_EQ(needed_capabilities(r).to_string(), "tools");

  r.messages.push_back({Role::User, {ImageBlock{}}, {}});
  EXPECT_EQ(needed_capabilities(r).to_string(), "tools,vision");
}

TEST(RequestTest, ImageInsideToolResultNeedsVision) {
  CanonicalRequest r;
  ToolResultBlock res = tool_result("1", "screenshot:");
  res.content.push_back(ImageBlock{});
  r.messages.push_back({Role::Tool, {res}, {}});
  EXPECT_TRUE(needed_capabilities(r).contains(Capability::Vision));
  EXPECT_FALSE(needed_capabilities(r).contains(Capability::Tools));
}

TEST(RequestTest, ValidConversationPasses) {
  Result<void> v = validate(conversation());
  EXPECT_TRUE(v) << v.error().message;
}

TEST(RequestTest, ModelAndMessagesAreRequired) {
  CanonicalRequest r = conversation();
  r.model.clear();
  EXPECT_EQ(validation_error(r), "model: must be a non-empty string");
  r = conversation();
  r.messages.clear();
  EXPECT_EQ(validation_error(r), "messages: at least one message is required");
}

TEST(RequestTest, ToolResultsOnlyInToolMessages) {
  CanonicalRequest r = conversation();
  r.messages[0].content.push_back(tool_result("call_1", "x"));
  EXPECT_EQ(validation_error(r),
            "messages[0].content[1]: a tool result may appear only in a tool message (role user)");
}

TEST(RequestTest, ToolMessagesHoldOnlyToolResults) {
  CanonicalRequest r = conversation();
  r.messages[2].content.push_back(text("extra"));
  EXPECT_EQ(validation_error(r), "messages[2].content[1]: a tool message may hold only tool results");
  r.messages[2].content.clear();
  EXPECT_EQ(validation_error(r), "messages[2]: a tool message needs at least one tool result");
}

TEST(RequestTest, ToolCallsAndThinkingOnlyFromTheAssistant) {
  CanonicalRequest r = conversation();
  r.messages[0].content.push_back(tool_use("x", "weather"));
  EXPECT_EQ(validation_error(r),
            "messages[0].content[1]: a tool call may appear only in an assistant message (role user)");
  r = conversation();
  r.messages[0].content.push_back(ThinkingBlock{"t", "s"});
  EXPECT_EQ(validation_error(r), "messages[0].content[1]: thinking may appear only in an assistant message");
  r = conversation();
  r.messages[0].content.push_back(RedactedThinkingBlock{"d"});
  EXPECT_EQ(validation_error(r),
            "messages[0].content[1]: redacted thinking may appear only in an assistant message");
}

TEST(RequestTest, SystemMessagesHoldOnlyText) {
  CanonicalRequest r = conversation();
  r.messages.push_back({Role::System, {text("be brief")}, {}});
  EXPECT_TRUE(validate(r));
  r.messages.back().content.push_back(ImageBlock{});
  EXPECT_EQ(validation_error(r), "messages[4].content[1]: a system message may hold only text");
}

TEST(RequestTest, ToolCallsAndResultsNeedIds) {
  CanonicalRequest r = conversation();
  std::get<ToolUseBlock>(r.messages[1].content[1]).id.clear();
  EXPECT_EQ(validation_error(r), "messages[1].content[1]: tool call without an id");
  r = conversation();
  std::get<ToolUseBlock>(r.messages[1].content[1]).name.clear();
  EXPECT_EQ(validation_error(r), "messages[1].content[1]: tool call without a name");
  r = conversation();
  std::get<ToolResultBlock>(r.messages[2].content[0]).tool_use_id.clear();
  EXPECT_EQ(validation_error(r), "messages[2].content[0]: tool result without a tool_use_id");
}

TEST(RequestTest, ToolsAreChecked) {
  CanonicalRequest r = conversation();
  r.tools.push_back(function_tool("weather"));
  EXPECT_EQ(validation_error(r), "tools[1]: tool name 'weather' is defined twice");
  r = conversation();
  r.tools[0].input_schema = {};
  EXPECT_EQ(validation_error(r), "tools[0]: tool 'weather' needs an input schema");
  r = conversation();
  r.tools[0].name.clear();
  EXPECT_EQ(validation_error(r), "tools[0]: a function tool needs a name");
  // Provider-specific tools are passed on as they are.
  r = conversation();
  Tool web;
  web.kind = Tool::Kind::Opaque;
  web.origin = WireFormat::Anthropic;
  web.opaque.text = R"({"type":"web_search_20250305","name":"web_search"})";
  r.tools.push_back(web);
  EXPECT_TRUE(validate(r));
}

TEST(RequestTest, ForcedToolChoiceMustNameATool) {
  CanonicalRequest r = conversation();
  r.tool_choice = ToolChoice{ToolChoice::Mode::Tool, "weather"};
  EXPECT_TRUE(validate(r));
  r.tool_choice->name = "clock";
  EXPECT_EQ(validation_error(r), "tool_choice: names tool 'clock', which is not defined in tools");
}

TEST(RequestTest, TopPRange) {
  CanonicalRequest r = conversation();
  r.top_p = 1.0;
  EXPECT_TRUE(validate(r));
  r.top_p = 1.5;
  EXPECT_EQ(validation_error(r), "top_p: 1.5 is outside [0, 1]");
}

TEST(RequestTest, CopiesCompareEqualAndDifferencesShow) {
  CanonicalRequest a = conversation();
  CanonicalRequest b = a;
  EXPECT_EQ(a, b);
  std::get<ThinkingBlock>(b.messages[1].content[0]).signature = "other";
  EXPECT_NE(a, b);
}

TEST(RequestTest, EnumNames) {
  EXPECT_EQ(role_name(Role::Tool), "tool");
  EXPECT_EQ(wire_format_name(WireFormat::Responses), "responses");
  EXPECT_EQ(capability_name(Capability::Vision), "vision");
  EXPECT_EQ(parse_capability("thinking"), Capability::Thinking);
  EXPECT_EQ(parse_capability("nope"), std::nullopt);
}

}  // namespace
}  // namespace llmrouter
