// SPDX-License-Identifier: MIT
#include "tui_model.h"

namespace llmrouter::console {

TuiAction TuiModel::on_key(const Key& key) {
  using Code = Key::Code;
  if (key.code == Code::Interrupt) return {TuiAction::Kind::Quit, {}, 0};
  if (focus == Focus::Feed) {
    const char32_t c = key.code == Code::Char ? key.ch : 0;
    if (c == 'q' || c == 'Q') return {TuiAction::Kind::Quit, {}, 0};
    if (key.code == Code::Tab || c == 'i') {
      focus = Focus::Chat;
    } else if (key.code == Code::Up || c == 'k') {
      feed.scroll_by(-1);
    } else if (key.code == Code::Down || c == 'j') {
      feed.scroll_by(1);
    } else if (key.code == Code::PageUp) {
      feed.scroll_by(-feed_page);
    } else if (key.code == Code::PageDown) {
      feed.scroll_by(feed_page);
    } else if (key.code == Code::Home || c == 'g') {
      feed.scroll_to_newest();
    } else if (key.code == Code::End || c == 'G') {
      feed.scroll_to_oldest();
    }
    return {};
  }
  switch (key.code) {
    case Code::Escape:
      chat.clear_input();
      focus = Focus::Feed;
      return {};
    case Code::Tab:
      focus = Focus::Feed;
      return {};
    case Code::Backspace:
      chat.backspace();
      return {};
    case Code::ClearLine:
      chat.clear_input();
      return {};
    case Code::Up:
      chat.scroll_by(1);
      return {};
    case Code::Down:
      chat.scroll_by(-1);
      return {};
    case Code::PageUp:
      chat.scroll_by(chat_page);
      return {};
    case Code::PageDown:
      chat.scroll_by(-chat_page);
      return {};
    case Code::Home:
    case Code::End:
      chat.scroll_to_end();
      return {};
    case Code::Enter: {
      ChatCommand cmd = chat.submit();
      if (cmd.kind == ChatCommand::Kind::Send) return {TuiAction::Kind::SendChat, std::move(cmd.body), 0};
      if (cmd.kind == ChatCommand::Kind::Clear) return {TuiAction::Kind::CancelChat, {}, cmd.serial};
      return {};
    }
    case Code::Char:
      chat.type(key.ch);
      return {};
    case Code::Interrupt:
      break;
  }
  return {};
}

}  // namespace llmrouter::console
