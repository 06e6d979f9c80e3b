// SPDX-License-Identifier: MIT
#include "chat_model.h"

#include <gtest/gtest.h>

#include "llmrouter/formats.h"

namespace llmrouter::console {
namespace {

ChatModel typed(std::string_view text, std::string model = "m") {
  ChatModel c(std::move(model));
  c.type(text);
  return c;
}

TEST(ChatModelTest, EnterSendsTheConversationAsAStreamedChatRequest) {
  ChatModel c = typed("  hello ça va 😀 ");
  ChatCommand cmd = c.submit();
  ASSERT_EQ(cmd.kind, ChatCommand::Kind::Send);
  EXPECT_TRUE(c.sending());
  EXPECT_EQ(c.input(), "");
  ASSERT_EQ(c.turns().size(), 2u);
  EXPECT_EQ(c.turns()[0].text, "hello ça va 😀");
  EXPECT_TRUE(c.turns()[1].in_progress);
  // The body is what the library's own OpenAI codec reads back.
  auto req = decode_request(WireFormat::OpenAI, cmd.body);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->model, "m");
  EXPECT_TRUE(req->stream);
  EXPECT_TRUE(req->stream_include_usage);
  ASSERT_EQ(req->messages.size(), 1u);
  EXPECT_EQ(text_of(req->messages[0]), "hello ça va 😀");
}

TEST(ChatModelTest, StreamsTheReplyWithToolCallsAndItsRouting) {
  ChatModel c = typed("hi");
  c.submit();
  c.attach(7);
  c.apply({7, ReplyStarted{200, "mock-openai", "gpt-4o", {"code"}}});
  c.apply({7, ReplyText{"Il est "}});
  c.apply({7, ReplyText{"14h05"}});
  c.apply({7, ReplyToolCall{1, "call_1", "get_time"}});
  c.apply({7, ReplyToolCall{2, "call_2", "get_time"}});
  c.apply({7, ReplyToolArgs{1, "{\"city\":"}});
  c.apply({7, ReplyToolArgs{2, "{\"city\":\"Tokyo\"}"}});
  c.apply({7, ReplyToolArgs{1, "\"Paris\"}"}});
  EXPECT_TRUE(c.turns()[1].in_progress);
  EXPECT_EQ(c.turns()[1].text, "Il est 14h05");
  c.apply({7, ReplyDone{"tool_use", 812, 41}});
  EXPECT_FALSE(c.sending());
  const ChatTurn& reply = c.turns()[1];
  EXPECT_FALSE(reply.in_progress);
  ASSERT_EQ(reply.tool_calls.size(), 2u);
  EXPECT_EQ(reply.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
  EXPECT_EQ(reply.tool_calls[1].arguments, "{\"city\":\"Tokyo\"}");
  EXPECT_EQ(reply.output_tokens, 41u);
  ASSERT_NE(c.last_routed_reply(), nullptr);
  EXPECT_EQ(c.last_routed_reply()->provider, "mock-openai");
  EXPECT_EQ(c.last_routed_reply()->tags, std::vector<std::string>{"code"});

  // The next request carries the exchange.
  c.type("and Tokyo?");
  ChatCommand next = c.submit();
  auto req = decode_request(WireFormat::OpenAI, next.body);
  ASSERT_TRUE(req) << req.error().message;
  ASSERT_EQ(req->messages.size(), 3u);
  EXPECT_EQ(req->messages[1].role, Role::Assistant);
  EXPECT_EQ(text_of(req->messages[1]), "Il est 14h05");
}

TEST(ChatModelTest, AnErrorKeepsTheTurnAndShowsWhy) {
  ChatModel c = typed("hi");
  c.submit();
  c.attach(1);
  c.apply({1, ReplyText{"partial"}});
  c.apply({1, ReplyFailed{"HTTP 401: invalid or missing API key"}});
  ASSERT_EQ(c.turns().size(), 2u);  // never dropped
  EXPECT_EQ(c.turns()[0].text, "hi");
  EXPECT_EQ(c.turns()[1].text, "partial");
  EXPECT_EQ(c.turns()[1].error, "HTTP 401: invalid or missing API key");
  EXPECT_FALSE(c.sending());
  // A failed exchange is not sent again as context.
  c.type("again");
  auto req = decode_request(WireFormat::OpenAI, c.submit().body);
  ASSERT_TRUE(req);
  ASSERT_EQ(req->messages.size(), 1u);
  EXPECT_EQ(text_of(req->messages[0]), "again");
}

TEST(ChatModelTest, UpdatesOfOtherRequestsAreIgnored) {
  ChatModel c = typed("hi");
  c.submit();
  c.attach(2);
  c.apply({1, ReplyText{"stale"}});
  c.apply({1, ReplyDone{}});
  EXPECT_TRUE(c.sending());
  EXPECT_EQ(c.turns()[1].text, "");
}

TEST(ChatModelTest, EnterIsRefusedWhileAReplyIsInProgress) {
  ChatModel c = typed("one");
  c.submit();
  c.attach(1);
  c.type("two");
  EXPECT_EQ(c.submit().kind, ChatCommand::Kind::None);
  EXPECT_EQ(c.input(), "two");  // kept for later
  EXPECT_EQ(c.turns().size(), 2u);
}

TEST(ChatModelTest, ModelAndClearCommands) {
  ChatModel c = typed(":model   claude-sonnet-4  ");
  EXPECT_EQ(c.submit().kind, ChatCommand::Kind::None);
  EXPECT_EQ(c.model(), "claude-sonnet-4");
  ASSERT_EQ(c.turns().size(), 1u);
  EXPECT_EQ(c.turns()[0].role, ChatTurn::Role::Notice);
  c.type(":model");
  c.submit();
  EXPECT_EQ(c.model(), "claude-sonnet-4");
  c.type("hi");
  c.submit();
  c.attach(5);
  c.type(" :clear ");
  ChatCommand clear = c.submit();
  EXPECT_EQ(clear.kind, ChatCommand::Kind::Clear);  // the request in flight must be cancelled
  EXPECT_EQ(clear.serial, 5u);
  EXPECT_TRUE(c.turns().empty());
  EXPECT_FALSE(c.sending());
  c.apply({5, ReplyText{"late"}});
  EXPECT_TRUE(c.turns().empty());
  c.type(":clear");
  EXPECT_EQ(c.submit().kind, ChatCommand::Kind::None);
}

TEST(ChatModelTest, EditingTheInput) {
  ChatModel c;
  EXPECT_EQ(c.model(), ChatModel::kDefaultModel);
  c.type(U'h');
  c.type(U'é');
  c.type(U'😀');
  c.type(U'\x1b');  // control characters are not typed
  EXPECT_EQ(c.input(), "hé😀");
  c.backspace();
  EXPECT_EQ(c.input(), "hé");
  c.backspace();
  EXPECT_EQ(c.input(), "h");
  EXPECT_EQ(c.submit().kind, ChatCommand::Kind::Send);
  ChatModel empty;
  empty.type("   ");
  EXPECT_EQ(empty.submit().kind, ChatCommand::Kind::None);
}

}  // namespace
}  // namespace llmrouter::console
