// SPDX-License-Identifier: MIT
#pragma once
// One request's trace, as the pipeline records it: the W3C context taken from the client
// (or started here), the spans of the routing stage and of each upstream attempt, and the
// root span that closes it. Internal.
//
// A request gets a RequestTrace only when telemetry is enabled or the client sent a valid
// `traceparent`; otherwise the pipeline holds a null pointer and does no tracing work.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/pipeline.h"
#include "llmrouter/telemetry.h"
#include "telemetry/span.h"

namespace llmrouter::detail::telemetry {

class Exporter;

struct RequestTrace {
  TraceId trace_id{};
  /// Our root span when telemetry is on; otherwise the client's span (passed on unchanged).
  SpanId root_id{};
  /// The client's span, the parent of the root (all zero: none).
  SpanId parent_id{};
  bool sampled = false;
  /// Set when telemetry is on: metrics are recorded, and spans too when `sampled`.
  Exporter* exporter = nullptr;
  /// The client's `tracestate`, passed on upstream.
  std::string tracestate;
  int64_t start_ns = 0;
  /// Finished child spans (recording only).
  std::vector<SpanRecord> spans;
  /// Index in `spans` of the attempt that answered.
  std::size_t answered = static_cast<std::size_t>(-1);

  bool recording() const noexcept { return exporter != nullptr && sampled; }
};

/// The trace of a new request: the client's `traceparent` (and `tracestate`) from
/// `headers` when valid, else a fresh trace when `telemetry` is set (sampled by its
/// sample_ratio), else nullptr. A client's trace is sampled as the client says.
std::unique_ptr<RequestTrace> begin_trace(const Headers& headers, const Telemetry* telemetry);

/// The routing span (decode, plugins, classifiers, rules), ending now.
void trace_route(RequestTrace& t, const PreparedRequest* prepared, const Error* error);

/// An upstream attempt in progress.
struct AttemptSpan {
  SpanId id{};
  int64_t start_ns = 0;
};
/// Starts an attempt: sets `options.traceparent` (this trace, with the attempt's span as
/// parent; with telemetry off, the client's trace id, parent id and sampled flag, as
/// version 00) and `options.tracestate`.
AttemptSpan begin_attempt(RequestTrace& t, SendOptions& options);
/// Ends an attempt's span. `provider` may be null; `error` is null when it answered.
void end_attempt(RequestTrace& t, const AttemptSpan& span, const RouteTarget& target, const ProviderConfig* provider,
                 const Error* error);
/// Adds the reply's model, usage and finish reason to the attempt that answered.
void trace_response(RequestTrace& t, const Response& response);
/// Marks the attempt that answered as failed: its stream broke after the first byte.
void trace_stream_error(RequestTrace& t, const Error& error);
/// Ends the root span, queues the trace's spans for export and records the metrics.
void finish_trace(RequestTrace& t, const Outcome& outcome, WireFormat client, std::string_view requested_model,
                  const Config& config);

/// "429" for an upstream's HTTP error, else the error code's name ("timeout", "no_route").
std::string error_type(const Error& e);
/// The host and port of an http(s) URL (port 80 or 443 when not given).
void server_address(std::string_view url, std::string& host, int64_t& port);

}  // namespace llmrouter::detail::telemetry
