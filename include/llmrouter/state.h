// SPDX-License-Identifier: MIT
#pragma once
/// @file state.h
/// Conversation state for OpenAI Responses clients (`previous_response_id`): when a request
/// is served by a provider that does not keep conversations itself, the router keeps each
/// reply's conversation, keyed by the response id the client received, and prepends it to
/// the next request that names that id. See docs/formats.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/request.h"
#include "llmrouter/result.h"

namespace llmrouter {

/// Limits of a store (`[state]` in the configuration).
struct ResponseStoreLimits {
  /// How long an entry is kept after it was stored.
  std::chrono::milliseconds ttl{3'600'000};
  /// Entries kept at most: past it, expired entries go first, then the oldest.
  std::size_t max_entries = 10'000;
  /// Approximate bytes of all entries together (text, tool arguments, media data); past it
  /// the oldest entries go. An entry larger than this on its own is not kept.
  std::size_t max_bytes = std::size_t{256} << 20;
};

/// Where conversations are kept. Implementations are thread-safe and bounded.
class ResponseStore {
 public:
  virtual ~ResponseStore() = default;
  /// Keeps `conversation` (the messages as the provider saw them, then its reply as an
  /// assistant message) under the response id `id`, replacing any entry with that id.
  [[nodiscard]] virtual Result<void> put(std::string_view id,
                                         std::vector<Message> conversation) = 0;
  /// The conversation kept under `id`; nullopt when there is none (never stored, expired or
  /// evicted). An error only when the store itself failed.
  [[nodiscard]] virtual Result<std::optional<std::vector<Message>>> get(
      std::string_view id) const = 0;
  /// New limits (a configuration reload); entries past them go at the next `put`.
  virtual void configure(const ResponseStoreLimits& limits) = 0;
  /// Makes a following `get(id)` answer from what the store keeps elsewhere (another
  /// process's conversations in Redis), then calls `done`, on any thread: at once when the
  /// store holds `id` here or keeps nothing elsewhere (the default). Never blocks; `done` is
  /// called exactly once, unless the loop that would call it has stopped.
  virtual void prefetch(std::string_view id, std::function<void()> done);
  /// Whether `prefetch` may have to ask elsewhere (false: it always answers at once).
  virtual bool remote() const noexcept { return false; }
};

/// The in-memory ResponseStore: a table of entries in insertion order, bounded by `limits`.
class MemoryResponseStore final : public ResponseStore {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  /// `clock` (tests): the time source; default std::chrono::steady_clock::now.
  explicit MemoryResponseStore(ResponseStoreLimits limits = {}, Clock clock = {});
  ~MemoryResponseStore() override;
  MemoryResponseStore(const MemoryResponseStore&) = delete;
  MemoryResponseStore& operator=(const MemoryResponseStore&) = delete;

  Result<void> put(std::string_view id, std::vector<Message> conversation) override;
  Result<std::optional<std::vector<Message>>> get(std::string_view id) const override;

  void configure(const ResponseStoreLimits& limits) override;
  /// Whether `get(id)` would find a conversation now (without copying it).
  bool contains(std::string_view id) const;
  /// Entries held now (expired ones not yet removed included).
  std::size_t size() const;
  /// Approximate bytes held now.
  std::size_t bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Approximate bytes `conversation` holds: its text, tool inputs, media data and raw JSON.
std::size_t approximate_bytes(const std::vector<Message>& conversation);

/// A conversation as JSON text that `decode_conversation` turns back into the same messages
/// (every field of every block kind; raw JSON kept as its exact text): what a store keeps
/// outside the process.
std::string encode_conversation(const std::vector<Message>& conversation);

/// The messages of `encode_conversation`'s text. Errors: Errc::InvalidRequest naming the
/// path, for text that is not such a conversation.
Result<std::vector<Message>> decode_conversation(std::string_view text);

/// The error OpenAI answers for a `previous_response_id` it does not know: 404,
/// "Previous response with id 'ID' not found.", param "previous_response_id", code
/// "previous_response_not_found".
Error previous_response_not_found(std::string_view id);

/// A fresh Responses id from the system's random source: "resp_" and 32 letters and digits.
std::string new_response_id();

}  // namespace llmrouter
