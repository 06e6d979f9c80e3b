// SPDX-License-Identifier: MIT
#pragma once
// The router's live feed (`GET <base>/dashboard/events`) over the library's Transport:
// sends the API key, checks the HTTP status and content type, parses the SSE stream, and
// reconnects by itself with exponential backoff until stopped.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "llmrouter/transport.h"
#include "llmrouter/sse.h"

namespace llmrouter::console {

enum class FeedPhase {
  Connecting,    ///< a connection attempt is under way
  Live,          ///< the server answered 2xx with an event stream; events flow
  Refused,       ///< the server answered, but not with the feed (401, 404, ...)
  Unreachable,   ///< no answer: connection refused, DNS, timeout
  Disconnected,  ///< the feed was live and ended (server stopped, network cut)
};

/// What the feed is doing, for display.
struct FeedState {
  FeedPhase phase = FeedPhase::Connecting;
  /// Refused: the status.
  int http_status = 0;
  /// Refused / Unreachable / Disconnected: why ("HTTP 401: invalid or missing API key").
  std::string message;
  /// Refused / Unreachable / Disconnected: the wait before the next attempt.
  std::chrono::milliseconds retry_in{0};
  /// The connection attempt this state belongs to (1 for the first).
  int attempt = 1;
  /// True once any attempt was live.
  bool was_live = false;
};

/// Receives the feed. Calls come from the feed's own thread and the transport thread, one
/// at a time and in order; none after `FeedClient::stop` returns. Must not block for long.
class FeedListener {
 public:
  virtual ~FeedListener() = default;
  virtual void on_state(const FeedState& state) = 0;
  virtual void on_event(const SseEvent& event) = 0;
};

struct FeedOptions {
  /// The router, e.g. "http://localhost:8090".
  std::string base_url;
  /// Sent as "Authorization: Bearer KEY" when set.
  std::optional<std::string> api_key;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{10'000};
  std::chrono::milliseconds connect_timeout{5'000};
  /// The server sends a keep-alive every 15 s; this much silence means the link is dead.
  std::chrono::milliseconds idle_timeout{45'000};
};

class FeedClient {
 public:
  /// `transport` and `listener` must outlive the client.
  FeedClient(Transport& transport, FeedOptions options, FeedListener& listener);
  ~FeedClient();
  FeedClient(const FeedClient&) = delete;
  FeedClient& operator=(const FeedClient&) = delete;

  /// Starts connecting (from a thread of its own). Call once.
  void start();
  /// Cancels the connection and the retries; no listener call follows. Idempotent.
  void stop();

 private:
  struct Shared;
  void run();
  std::shared_ptr<Shared> shared_;
};

}  // namespace llmrouter::console
