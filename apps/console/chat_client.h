// SPDX-License-Identifier: MIT
#pragma once
// The built-in chat's HTTP side: POSTs a Chat Completions body to the router over the
// library's Transport and turns the reply into ChatUpdates as it streams in, decoding the
// OpenAI SSE stream with the library's own codec. Every request ends with exactly one
// ReplyDone or ReplyFailed, whatever happens (HTTP error, broken stream, cancellation).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "llmrouter/transport.h"

namespace llmrouter::console {

/// The router answered (status 2xx); routing headers, when present.
struct ReplyStarted {
  int status = 0;
  std::string provider;
  std::string model;
  std::vector<std::string> tags;
};
/// More reply text.
struct ReplyText {
  std::string text;
};
/// Tool call `index` begins.
struct ReplyToolCall {
  uint32_t index = 0;
  std::string id;
  std::string name;
};
/// More JSON arguments for tool call `index`.
struct ReplyToolArgs {
  uint32_t index = 0;
  std::string partial_json;
};
/// The reply is complete.
struct ReplyDone {
  std::string stop_reason;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
};
/// The request failed; `message` says why ("HTTP 401: invalid or missing API key").
struct ReplyFailed {
  std::string message;
};

using ChatUpdateBody = std::variant<ReplyStarted, ReplyText, ReplyToolCall, ReplyToolArgs, ReplyDone, ReplyFailed>;

/// One step of the reply to request `serial`.
struct ChatUpdate {
  uint64_t serial = 0;
  ChatUpdateBody body;
};

struct ChatOptions {
  std::string base_url;
  std::optional<std::string> api_key;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds first_byte_timeout{300'000};
  std::chrono::milliseconds idle_timeout{120'000};
};

/// Receives updates, on the transport thread, in order per request. Must not block.
using ChatSink = std::function<void(ChatUpdate)>;

class ChatClient {
 public:
  /// `transport` must outlive the client.
  ChatClient(Transport& transport, ChatOptions options, ChatSink sink);
  /// Cancels what is in flight and waits for it; the sink is not called after it returns.
  ~ChatClient();
  ChatClient(const ChatClient&) = delete;
  ChatClient& operator=(const ChatClient&) = delete;

  /// POSTs `body` (an OpenAI Chat Completions request) to <base>/v1/chat/completions.
  /// Returns the serial its updates carry. Thread-safe.
  uint64_t send(std::string body);
  /// Cancels request `serial` (it ends with ReplyFailed "cancelled"). Thread-safe.
  void cancel(uint64_t serial);

 private:
  friend class ChatTransfer;
  void finished(uint64_t serial);

  Transport& transport_;
  const ChatOptions options_;
  ChatSink sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_serial_ = 1;                  // guarded by mu_
  std::map<uint64_t, TransferId> in_flight_;  // guarded by mu_
};

}  // namespace llmrouter::console
