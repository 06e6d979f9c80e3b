// SPDX-License-Identifier: MIT
#pragma once
// The built-in chat as state: the conversation, the input line, the model, the reply in
// progress. Drawing-free and single-threaded; ChatUpdates from ChatClient are applied on
// the UI thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat_client.h"

namespace llmrouter::console {

struct ChatToolCall {
  /// The reply's content block index (text and tool calls share the numbering).
  uint32_t index = 0;
  std::string id;
  std::string name;
  std::string arguments;
};

struct ChatTurn {
  enum class Role {
    User,       ///< what the user sent
    Assistant,  ///< the router's reply (or its error)
    Notice,     ///< the chat's own messages (":model" confirmations, hints)
  };
  Role role = Role::User;
  std::string text;
  std::vector<ChatToolCall> tool_calls;
  /// Assistant: why the request failed ("" when it did not).
  std::string error;
  /// Assistant: the reply is still arriving.
  bool in_progress = false;
  /// Assistant: who answered (X-Router-Provider / X-Router-Model) and the request tags.
  std::string provider;
  std::string model;
  std::vector<std::string> tags;
  std::string stop_reason;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
};

/// What the app should do after Enter.
struct ChatCommand {
  enum class Kind {
    None,   ///< nothing to send (empty input, a reply in progress, a local command)
    Send,   ///< POST `body` and `attach` the serial
    Clear,  ///< the history was cleared; cancel the request in flight, if any
  };
  Kind kind = Kind::None;
  std::string body;
  /// Clear: the request to cancel.
  uint64_t serial = 0;
};

class ChatModel {
 public:
  static constexpr const char* kDefaultModel = "llama3.1:8b";

  explicit ChatModel(std::string model = kDefaultModel) : model_(std::move(model)) {}

  const std::string& model() const { return model_; }
  const std::string& input() const { return input_; }
  const std::vector<ChatTurn>& turns() const { return turns_; }
  /// A request is in flight.
  bool sending() const { return sending_; }
  /// The serial of the request in flight (0 when none).
  uint64_t serial() const { return serial_; }

  void type(char32_t cp);
  void type(std::string_view utf8);
  void backspace();
  void clear_input() { input_.clear(); }

  /// Enter: `:model NAME` switches the model, `:clear` clears the history, anything else
  /// non-empty is sent (unless a reply is in progress).
  ChatCommand submit();
  /// The request for the turn just submitted was started as `serial`.
  void attach(uint64_t serial) { serial_ = serial; }
  /// Applies an update; updates of other requests (cleared, superseded) are ignored.
  void apply(const ChatUpdate& update);

  /// The conversation as an OpenAI Chat Completions request body (streamed): completed
  /// exchanges and the pending user turn; failed exchanges and notices are left out.
  std::string request_body() const;

  /// Lines scrolled up from the bottom of the conversation (0: follow the end).
  int scroll() const { return scroll_; }
  void scroll_by(int delta) { scroll_ = std::max(0, scroll_ + delta); }
  void scroll_to_end() { scroll_ = 0; }

  /// The most recent reply that named its provider, if any.
  const ChatTurn* last_routed_reply() const;

 private:
  ChatTurn* current();
  void notice(std::string text);

  std::string model_;
  std::string input_;
  std::vector<ChatTurn> turns_;
  bool sending_ = false;
  uint64_t serial_ = 0;
  int scroll_ = 0;
};

}  // namespace llmrouter::console
