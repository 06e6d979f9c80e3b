// SPDX-License-Identifier: MIT
#pragma once
/// @file telemetry.h
/// OpenTelemetry export over OTLP/HTTP with JSON encoding: one trace per request (a root
/// span, a routing span, one span per upstream attempt, with the GenAI semantic
/// conventions' attributes) and a few metrics, sent to `{otlp_endpoint}/v1/traces` and
/// `{otlp_endpoint}/v1/metrics` by a background thread over the library's Transport.
///
/// The request path only appends finished spans to a bounded queue: when the collector is
/// slow or down, spans beyond the cap are dropped and counted, and requests never wait.
/// W3C trace context (`traceparent`, `tracestate`) is read from clients and sent upstream.
/// See docs/telemetry.md.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "llmrouter/config.h"
#include "llmrouter/result.h"
#include "llmrouter/tracing.h"
#include "llmrouter/transport.h"

namespace llmrouter {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

/// A W3C trace context: the trace, the span that is the parent of what comes next, and
/// the sampled flag.
struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};
  bool sampled = false;
};

/// Parses a W3C `traceparent` header (trace-context level 1). nullopt when it is invalid:
/// not `VV-<32 hex>-<16 hex>-<2 hex>`, upper-case hex, version `ff`, an all-zero trace or
/// parent id, or version 00 with trailing data. A later version is read by its first four
/// fields when what follows them starts with '-'. Thread-safe, no allocation.
std::optional<TraceContext> parse_traceparent(std::string_view header) noexcept;

/// `00-<trace id>-<span id>-<01|00>`.
std::string format_traceparent(const TraceContext& context);

/// Lower-case hex of an id (32 or 16 characters).
std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);

/// How the exporter batches and bounds its memory. The defaults suit a server.
struct TelemetryOptions {
  /// Finished spans kept for export; spans arriving beyond this are dropped and counted.
  std::size_t max_queued_spans = 4096;
  /// Spans per export request; an export starts as soon as this many are queued.
  std::size_t batch_size = 256;
  /// Longest time a finished span waits before it is exported.
  std::chrono::milliseconds export_interval{2'000};
  /// Metrics are exported this often (cumulative temporality), and once more at shutdown.
  std::chrono::milliseconds metrics_interval{10'000};
  /// One export request (connect included) may take this long.
  std::chrono::milliseconds export_timeout{5'000};
  /// `shutdown` exports what is queued for at most this long, then drops the rest.
  std::chrono::milliseconds shutdown_timeout{5'000};
};

/// Counters of the exporter, for tests and diagnostics.
struct TelemetryStats {
  uint64_t spans_exported = 0;
  /// Spans dropped: the queue was full, an export failed, or shutdown ran out of time.
  uint64_t spans_dropped = 0;
  /// Export requests (traces or metrics) that failed: no connection, timeout, non-2xx.
  uint64_t exports_failed = 0;
  uint64_t metric_exports = 0;
};

namespace detail::telemetry {
class Exporter;
}

/// The exporter of one pipeline. Create it with the host's transport and pass it to
/// Pipeline::build; the pipeline records every request into it. Thread-safe.
class Telemetry final : public CallTracing {
 public:
  /// A running exporter for `config` (which should be enabled). `transport` carries the
  /// exports and must stay usable until `shutdown` returns. Errors (Errc::Config): an
  /// endpoint that is not an http(s) URL (the config loader reports that with its file and
  /// line first).
  [[nodiscard]] static Result<std::shared_ptr<Telemetry>> create(const TelemetryConfig& config,
                                                                 std::shared_ptr<Transport> transport,
                                                                 TelemetryOptions options = {});
  /// Calls `shutdown`.
  ~Telemetry() override;
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  /// Exports what is queued now (spans, then metrics) and waits for it, at most `timeout`.
  /// True when everything queued before the call was sent (successfully or not).
  bool flush(std::chrono::milliseconds timeout);
  /// Exports what is queued, bounded by TelemetryOptions::shutdown_timeout, sends the
  /// metrics one last time and stops the thread. Spans recorded afterwards are dropped.
  /// Idempotent.
  void shutdown();

  TelemetryStats stats() const;
  const TelemetryConfig& config() const noexcept;

  /// A request's tracer: the client's `traceparent` continued, or a new trace sampled by
  /// `sample_ratio`; its spans and metrics go to this exporter.
  std::unique_ptr<CallTracer> begin(const Headers& headers) const override;

  /// Internal: where requests are recorded.
  detail::telemetry::Exporter& exporter() const noexcept { return *exporter_; }

 private:
  explicit Telemetry(std::unique_ptr<detail::telemetry::Exporter> exporter);
  std::unique_ptr<detail::telemetry::Exporter> exporter_;
};

/// Tracing with telemetry off: a client's valid `traceparent` (and `tracestate`) is passed
/// on to the upstream and names the request's trace; nothing is recorded.
std::shared_ptr<const CallTracing> trace_context_only();

}  // namespace llmrouter
