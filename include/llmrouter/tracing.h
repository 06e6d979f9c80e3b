// SPDX-License-Identifier: MIT
#pragma once
/// @file tracing.h
/// How a request is observed on its way through the pipeline: a `CallTracing` starts one
/// `CallTracer` per request, and the pipeline tells it what happens, in order, on the
/// request's thread. Telemetry (telemetry.h) implements it: spans, metrics and the W3C
/// trace context sent upstream. The pipeline knows nothing else of telemetry.

#include <memory>
#include <string>
#include <string_view>

#include "llmrouter/provider.h"
#include "llmrouter/request.h"
#include "llmrouter/response.h"
#include "llmrouter/result.h"
#include "llmrouter/router.h"

namespace llmrouter {

struct PreparedRequest;
struct Outcome;
struct Config;

/// One request's observer.
class CallTracer {
 public:
  virtual ~CallTracer() = default;
  /// The request's trace id (lower-case hex).
  virtual std::string trace_id() const = 0;
  /// Routing ended: with the prepared request, or with the error that ended the request.
  virtual void on_routed(const PreparedRequest* prepared, const Error* error) = 0;
  /// An upstream attempt starts; the tracer may set `options.traceparent` and `tracestate`.
  virtual void on_attempt_begin(SendOptions& options) = 0;
  /// That attempt ended: answered (`error` null) or failed. `provider` may be null.
  virtual void on_attempt_end(const RouteTarget& target, const ProviderConfig* provider,
                              const Error* error) = 0;
  /// The reply of the attempt that answered.
  virtual void on_response(const Response& response) = 0;
  /// The answering attempt's stream broke after its first byte.
  virtual void on_stream_error(const Error& error) = 0;
  /// The request ended.
  virtual void on_finish(const Outcome& outcome, WireFormat client,
                         std::string_view requested_model, const Config& config) = 0;
};

/// Starts tracers. Thread-safe.
class CallTracing {
 public:
  virtual ~CallTracing() = default;
  /// The tracer of a new request with the client's `headers`, or nullptr: not traced.
  virtual std::unique_ptr<CallTracer> begin(const Headers& headers) const = 0;
};

}  // namespace llmrouter
