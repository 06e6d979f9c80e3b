// SPDX-License-Identifier: MIT
#include "chat_model.h"

#include <algorithm>
#include <utility>

#include "llmrouter/formats.h"
#include "text.h"

namespace llmrouter::console {

void ChatModel::type(char32_t cp) {
  if (cp < 0x20 || cp == 0x7F) return;
  append_utf8(input_, cp);
}

void ChatModel::type(std::string_view utf8) {
  for (char32_t cp : decode_utf8(utf8)) type(cp);
}

void ChatModel::backspace() { input_ = drop_last_char(input_); }

void ChatModel::notice(std::string text) {
  ChatTurn t;
  t.role = ChatTurn::Role::Notice;
  t.text = std::move(text);
  turns_.push_back(std::move(t));
}

ChatCommand ChatModel::submit() {
  const std::string line(trim(input_));
  if (line.empty()) return {};
  if (line == ":clear") {
    input_.clear();
    turns_.clear();
    scroll_ = 0;
    const bool was_sending = sending_;
    const uint64_t cancelled = serial_;
    sending_ = false;
    serial_ = 0;
    return was_sending ? ChatCommand{ChatCommand::Kind::Clear, {}, cancelled} : ChatCommand{};
  }
  if (line == ":model" || line.starts_with(":model ")) {
    const std::string name(trim(std::string_view(line).substr(6)));
    input_.clear();
    if (name.empty()) {
      notice("model: " + model_ + "  (change it with :model NAME)");
    } else {
      model_ = name;
      notice("model set to " + model_);
    }
    scroll_ = 0;
    return {};
  }
  if (sending_) return {};  // one reply at a time; the input is kept
  ChatTurn user;
  user.role = ChatTurn::Role::User;
  user.text = line;
  turns_.push_back(std::move(user));
  ChatTurn reply;
  reply.role = ChatTurn::Role::Assistant;
  reply.in_progress = true;
  turns_.push_back(std::move(reply));
  input_.clear();
  sending_ = true;
  serial_ = 0;
  scroll_ = 0;
  return ChatCommand{ChatCommand::Kind::Send, request_body()};
}

namespace {
ChatToolCall& tool_call(ChatTurn& t, uint32_t index) {
  for (ChatToolCall& c : t.tool_calls) {
    if (c.index == index) return c;
  }
  t.tool_calls.push_back(ChatToolCall{index, {}, {}, {}});
  return t.tool_calls.back();
}
}  // namespace

ChatTurn* ChatModel::current() {
  if (!sending_ || turns_.empty() || turns_.back().role != ChatTurn::Role::Assistant) return nullptr;
  return &turns_.back();
}

void ChatModel::apply(const ChatUpdate& update) {
  if (update.serial == 0 || update.serial != serial_) return;
  ChatTurn* t = current();
  if (!t) return;
  if (const auto* s = std::get_if<ReplyStarted>(&update.body)) {
    t->provider = s->provider;
    t->model = s->model;
    t->tags = s->tags;
  } else if (const auto* text = std::get_if<ReplyText>(&update.body)) {
    t->text += text->text;
  } else if (const auto* call = std::get_if<ReplyToolCall>(&update.body)) {
    ChatToolCall& c = tool_call(*t, call->index);
    c.id = call->id;
    c.name = call->name;
  } else if (const auto* args = std::get_if<ReplyToolArgs>(&update.body)) {
    tool_call(*t, args->index).arguments += args->partial_json;
  } else if (const auto* done = std::get_if<ReplyDone>(&update.body)) {
    t->in_progress = false;
    t->stop_reason = done->stop_reason;
    t->input_tokens = done->input_tokens;
    t->output_tokens = done->output_tokens;
    sending_ = false;
    serial_ = 0;
  } else if (const auto* failed = std::get_if<ReplyFailed>(&update.body)) {
    t->in_progress = false;
    t->error = failed->message.empty() ? std::string("the request failed") : failed->message;
    sending_ = false;
    serial_ = 0;
  }
}

std::string ChatModel::request_body() const {
  CanonicalRequest req;
  req.model = model_;
  req.stream = true;
  req.stream_include_usage = true;
  for (std::size_t i = 0; i < turns_.size(); ++i) {
    const ChatTurn& t = turns_[i];
    if (t.role != ChatTurn::Role::User) continue;
    // The user turn goes with its reply, unless that reply failed.
    const ChatTurn* reply = nullptr;
    for (std::size_t j = i + 1; j < turns_.size(); ++j) {
      if (turns_[j].role == ChatTurn::Role::Assistant) {
        reply = &turns_[j];
        break;
      }
      if (turns_[j].role == ChatTurn::Role::User) break;
    }
    if (reply && !reply->in_progress && !reply->error.empty()) continue;
    req.messages.push_back(Message{Role::User, {TextBlock{t.text, {}, {}}}, {}});
    if (reply && !reply->in_progress && !reply->text.empty()) {
      req.messages.push_back(Message{Role::Assistant, {TextBlock{reply->text, {}, {}}}, {}});
    }
  }
  auto body = encode_request(WireFormat::OpenAI, req);
  return body ? std::move(*body) : std::string();
}

const ChatTurn* ChatModel::last_routed_reply() const {
  for (auto it = turns_.rbegin(); it != turns_.rend(); ++it) {
    if (it->role == ChatTurn::Role::Assistant && !it->provider.empty()) return &*it;
  }
  return nullptr;
}

}  // namespace llmrouter::console
