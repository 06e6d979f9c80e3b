// SPDX-License-Identifier: MIT
#pragma once
// The whole TUI as state: the feed, the providers' live state, the chat, which pane has the focus,
// and what each key does. The terminal layer (apps/tui) only turns keys into `Key`s, carries out
// the returned `TuiAction`s and draws; everything here is tested without a terminal.

#include <string>

#include "chat_model.h"
#include "feed_model.h"
#include "providers_model.h"

namespace llmrouter::console {

/// A key press, decoded from the terminal.
struct Key {
  enum class Code {
    Char,       ///< a printable character, in `ch`
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Escape,
    Tab,
    Backspace,
    ClearLine,  ///< Ctrl-U
    Interrupt,  ///< Ctrl-C
  };
  Code code = Code::Char;
  char32_t ch = 0;

  static Key character(char32_t c) { return Key{Code::Char, c}; }
  static Key of(Code c) { return Key{c, 0}; }
};

enum class Focus { Feed, Chat };

/// What the app must do after a key.
struct TuiAction {
  enum class Kind {
    None,
    Quit,
    SendChat,    ///< POST `body`, then `chat.attach(serial)`
    CancelChat,  ///< cancel the chat request in flight (the history was cleared)
  };
  Kind kind = Kind::None;
  std::string body;
  /// CancelChat: the request to cancel.
  uint64_t serial = 0;
};

class TuiModel {
 public:
  explicit TuiModel(std::string chat_model = ChatModel::kDefaultModel) : chat(std::move(chat_model)) {}

  FeedModel feed;
  /// GET /v1/providers, polled every couple of seconds.
  ProvidersModel providers;
  ChatModel chat;
  Focus focus = Focus::Feed;
  /// Feed entries per page (PageUp / PageDown), set from the layout.
  int feed_page = 5;
  /// Conversation lines per page, set from the layout.
  int chat_page = 5;

  /// Feed focus: q quits; Tab or i focuses the chat; Up/k and Down/j scroll the feed
  /// (Down shows older entries), PageUp/PageDown by a page, Home/g newest, End/G oldest.
  /// Chat focus: Enter sends (or runs :model / :clear), Esc clears the input and returns
  /// to the feed, Tab returns and keeps the input, Backspace and Ctrl-U edit, Up/Down and
  /// PageUp/PageDown scroll the conversation. Ctrl-C quits from anywhere.
  TuiAction on_key(const Key& key);
};

}  // namespace llmrouter::console
