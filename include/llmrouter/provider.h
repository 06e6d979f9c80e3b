// SPDX-License-Identifier: MIT
#pragma once
/// @file provider.h
/// Providers send a canonical request upstream and deliver the reply as canonical events.

#include <atomic>
#include <string>
#include <string_view>

#include "llmrouter/request.h"
#include "llmrouter/response.h"
#include "llmrouter/result.h"

namespace llmrouter {

/// Receives a reply as canonical events, on the thread that called Provider::send.
class EventSink {
 public:
  virtual ~EventSink() = default;
  /// One event; return false to cancel the transfer (the client went away).
  virtual bool on_event(const StreamEvent& event) = 0;
};

/// Set from any thread to cancel a request in flight.
using CancelFlag = std::atomic<bool>;

/// An upstream. Implementations are immutable after construction and thread-safe.
class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;
  /// Sends `req` (its `model` is the model to send) and delivers the reply to `sink` as
  /// events, streamed or not, blocking the calling thread until the reply ends. A failure
  /// before any event is returned as the error (the pipeline may then try the next
  /// fallback); a failure after events is delivered as a StreamError event.
  /// Errors: Errc::Upstream (with the upstream status in http_status), Errc::Timeout,
  /// Errc::Cancelled.
  [[nodiscard]] virtual Result<void> send(const CanonicalRequest& req, EventSink& sink,
                                          const CancelFlag& cancel) const = 0;
};

/// Whether a failure before any byte reached the client is worth trying elsewhere:
/// connection errors and timeouts, 429 and 5xx.
bool should_fail_over(const Error& e) noexcept;

}  // namespace llmrouter
