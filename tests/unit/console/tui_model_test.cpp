// SPDX-License-Identifier: MIT
#include "tui_model.h"

#include <gtest/gtest.h>

namespace llmrouter::console {
namespace {

using Code = Key::Code;

TuiAction press(TuiModel& m, char32_t c) { return m.on_key(Key::character(c)); }
TuiAction press(TuiModel& m, Code c) { return m.on_key(Key::of(c)); }

void add_completions(TuiModel& m, int n) {
  for (int i = 1; i <= n; ++i) {
    CompleteEvent e;
    e.id = static_cast<uint64_t>(i);
    m.feed.apply(e, 0);
  }
}

TEST(TuiModelTest, FeedKeys) {
  TuiModel m;
  add_completions(m, 20);
  m.feed_page = 5;
  press(m, Code::Down);
  press(m, 'j');
  EXPECT_EQ(m.feed.scroll(), 2u);
  press(m, 'k');
  EXPECT_EQ(m.feed.scroll(), 1u);
  press(m, Code::PageDown);
  EXPECT_EQ(m.feed.scroll(), 6u);
  press(m, Code::PageUp);
  press(m, Code::Up);
  EXPECT_EQ(m.feed.scroll(), 0u);
  press(m, 'G');
  EXPECT_EQ(m.feed.scroll(), 19u);
  press(m, 'g');
  EXPECT_EQ(m.feed.scroll(), 0u);
  EXPECT_EQ(press(m, 'q').kind, TuiAction::Kind::Quit);
}

TEST(TuiModelTest, TabOrIFocusesTheChatWhereKeysAreTyped) {
  TuiModel m;
  press(m, 'i');
  EXPECT_EQ(m.focus, Focus::Chat);
  for (char32_t c : std::u32string(U"quit jk é")) EXPECT_EQ(press(m, c).kind, TuiAction::Kind::None);
  EXPECT_EQ(m.chat.input(), "quit jk é");  // q, j, k are text here
  press(m, Code::Tab);
  EXPECT_EQ(m.focus, Focus::Feed);
  EXPECT_EQ(m.chat.input(), "quit jk é");  // Tab keeps the input
  press(m, Code::Tab);
  EXPECT_EQ(m.focus, Focus::Chat);
  press(m, Code::Escape);
  EXPECT_EQ(m.focus, Focus::Feed);
  EXPECT_EQ(m.chat.input(), "");  // Esc clears it
}

TEST(TuiModelTest, EnterSendsAndCtrlCQuitsAnywhere) {
  TuiModel m("gpt-4o");
  press(m, Code::Tab);
  press(m, 'h');
  press(m, 'i');
  press(m, Code::Backspace);
  press(m, 'o');
  TuiAction send = press(m, Code::Enter);
  ASSERT_EQ(send.kind, TuiAction::Kind::SendChat);
  EXPECT_NE(send.body.find("\"ho\""), std::string::npos);
  EXPECT_NE(send.body.find("\"gpt-4o\""), std::string::npos);
  EXPECT_EQ(press(m, Code::Enter).kind, TuiAction::Kind::None);  // nothing typed
  m.chat.attach(3);
  for (char32_t c : std::u32string(U":clear")) press(m, c);
  TuiAction clear = press(m, Code::Enter);
  EXPECT_EQ(clear.kind, TuiAction::Kind::CancelChat);
  EXPECT_EQ(clear.serial, 3u);
  EXPECT_EQ(press(m, Code::Interrupt).kind, TuiAction::Kind::Quit);
}

TEST(TuiModelTest, ChatScrollKeys) {
  TuiModel m;
  press(m, Code::Tab);
  m.chat_page = 4;
  press(m, Code::Up);
  press(m, Code::PageUp);
  EXPECT_EQ(m.chat.scroll(), 5);
  press(m, Code::Down);
  EXPECT_EQ(m.chat.scroll(), 4);
  press(m, Code::End);
  EXPECT_EQ(m.chat.scroll(), 0);
  press(m, Code::PageDown);
  EXPECT_EQ(m.chat.scroll(), 0);
}

}  // namespace
}  // namespace llmrouter::console
