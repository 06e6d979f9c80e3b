// SPDX-License-Identifier: MIT
#pragma once
/// @file provider.h
/// Providers send a canonical request upstream and deliver the reply as canonical events.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  /// Pass-through only (SendOptions::passthrough_body set): the upstream's reply bytes as
  /// they arrive, before the events decoded from them; a non-streamed body arrives whole,
  /// once it is known to be a valid reply. Return false to cancel the transfer.
  virtual bool on_raw(std::string_view /*bytes*/) { return true; }
  /// Called about every 50 ms while the upstream is silent (a host sends keep-alives or
  /// checks that its client is still there). Return false to cancel the transfer.
  virtual bool on_idle() { return true; }
};

/// Header name/value pairs, names lower-cased.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// Whether a client's request header may be offered to providers at all: every header but
/// the client's credentials to the router (`authorization`, `x-api-key`, cookies) and those
/// of the connection and the body's framing, which the router sets itself. Which of them a
/// provider sends is its `forward_client_headers`. `name` must be lower-case.
bool is_forwarded_header(std::string_view name) noexcept;

/// How one attempt is sent, beyond the canonical request.
struct SendOptions {
  /// The client's own body, re-targeted at this attempt's model (passthrough_request): set
  /// when the provider speaks the client's format and no plugin changed the request. It is
  /// sent as is, and the reply is relayed byte for byte through EventSink::on_raw as well
  /// as decoded into events.
  std::optional<std::string> passthrough_body;
  /// Client headers offered (see is_forwarded_header). A provider sends those its
  /// `forward_client_headers` names (provider_forwards); its configured headers win.
  Headers headers;
  /// The W3C trace context to send upstream (`traceparent`, `tracestate`); empty: none.
  std::string traceparent;
  std::string tracestate;
};

/// Set from any thread to cancel a request in flight.
using CancelFlag = std::atomic<bool>;

/// Receives a reply started with Provider::start: from the transport loop running the
/// exchange (an in-process provider may call from a thread of its own), one call at a
/// time, in order, and `on_end` exactly once, last. Must not block.
class ReplyObserver {
 public:
  virtual ~ReplyObserver() = default;
  /// One event; false cancels the exchange.
  virtual bool on_event(const StreamEvent& event) = 0;
  /// Pass-through bytes, as EventSink::on_raw; false cancels the exchange.
  virtual bool on_raw(std::string_view /*bytes*/) { return true; }
  /// Flow control, asked after each piece of the reply: true pauses the upstream
  /// transfer until ProviderExchange::resume (the host cannot take more for now).
  virtual bool behind() const { return false; }
  /// The end. An error means no event was delivered (the pipeline may fail over); a
  /// failure after events arrived in-band as a StreamError event, and the end is success.
  virtual void on_end(Result<void> result) = 0;
};

/// An exchange started with Provider::start. Thread-safe.
class ProviderExchange {
 public:
  virtual ~ProviderExchange() = default;
  /// Ends the exchange: the observer's on_end gets Errc::Cancelled unless it ended first.
  virtual void cancel() = 0;
  /// Resumes an exchange paused because its observer was behind.
  virtual void resume() {}
};

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
  [[nodiscard]] virtual Result<void> send(const CanonicalRequest& req, const SendOptions& options,
                                          EventSink& sink, const CancelFlag& cancel) const = 0;
  /// Starts `req`; the reply reaches `observer` (see ReplyObserver), which the exchange
  /// keeps alive until its on_end returns. Errors as for `send`. HttpProvider returns at
  /// once and runs the exchange on the transport's loop. The default runs `send` on the
  /// calling thread before it returns (right for a provider that answers at once: an
  /// in-process model, a cache, a test double), or on a thread of its own when called on a
  /// transport loop (a failover after an HTTP attempt). A provider that waits on I/O
  /// implements `start` itself.
  virtual std::shared_ptr<ProviderExchange> start(const CanonicalRequest& req, const SendOptions& options,
                                                  std::shared_ptr<ReplyObserver> observer) const;
  /// `send` with no pass-through and no forwarded headers.
  [[nodiscard]] Result<void> send(const CanonicalRequest& req, EventSink& sink, const CancelFlag& cancel) const {
    return send(req, SendOptions{}, sink, cancel);
  }
};

/// `send` over `start`: the reply's events reach `sink` on the calling thread, which waits
/// (never call it on a transport loop: see in_transport_loop)
/// for them (calling `sink.on_idle` about every 50 ms of silence). When more than 1 MiB of
/// reply waits for the sink, the upstream transfer pauses. For providers that implement
/// `start` and want the blocking interface too.
[[nodiscard]] Result<void> send_over_start(const Provider& provider, const CanonicalRequest& req,
                                           const SendOptions& options, EventSink& sink, const CancelFlag& cancel);

/// Whether a failure before any byte reached the client is worth trying elsewhere:
/// connection errors and timeouts, 429 and 5xx, and a provider the router found at its
/// max_concurrency or ejected when the attempt was due (Errc::Overloaded).
bool should_fail_over(const Error& e) noexcept;

}  // namespace llmrouter
