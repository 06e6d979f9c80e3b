// SPDX-License-Identifier: MIT
#pragma once
// Finished spans and metric points as the exporter queues them, their OTLP/JSON encoding,
// id generation and the sampling decision. Internal.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "llmrouter/telemetry.h"

namespace llmrouter::detail::telemetry {

/// OTLP SpanKind numbers.
enum class SpanKind : int { Internal = 1, Server = 2, Client = 3 };
/// OTLP Status.code numbers.
enum class StatusCode : int { Unset = 0, Ok = 1, Error = 2 };

using AttributeValue = std::variant<std::string, int64_t, double, bool, std::vector<std::string>>;

struct Attribute {
  std::string key;
  AttributeValue value;
};

struct SpanRecord {
  TraceId trace_id{};
  SpanId span_id{};
  /// All zero: the span has no parent.
  SpanId parent_span_id{};
  std::string name;
  SpanKind kind = SpanKind::Internal;
  int64_t start_ns = 0;  // Unix epoch nanoseconds
  int64_t end_ns = 0;
  std::vector<Attribute> attributes;
  StatusCode status = StatusCode::Unset;
  std::string status_message;

  void set(std::string_view key, AttributeValue value) { attributes.push_back({std::string(key), std::move(value)}); }
  /// The attribute `key`, or nullptr.
  const AttributeValue* find(std::string_view key) const;
};

/// One request's contribution to the metrics.
struct RequestPoint {
  std::string provider;  // "" when no provider was reached
  std::string model;     // the model sent upstream ("" when none)
  std::string error_type;  // "" on success
  double duration_s = 0.0;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
};

/// The resource and scope every export names.
struct Resource {
  std::string service_name;
};

/// An ExportTraceServiceRequest in OTLP/JSON: {"resourceSpans":[{"resource":{...},
/// "scopeSpans":[{"scope":{"name":"llmrouter","version":...},"spans":[...]}]}]}.
std::string traces_json(const Resource& resource, std::span<const SpanRecord> spans);

/// Cumulative metrics since `start_ns`: the request count (Sum), the request duration
/// (Histogram, seconds) and the token counts (Sum), per provider, model and error type.
class MetricsAggregate {
 public:
  /// At most this many distinct series; later ones are folded into model "_other".
  static constexpr std::size_t kMaxSeries = 512;
  /// Histogram bounds in seconds (those the GenAI conventions advise for operation duration).
  static constexpr double kBounds[] = {0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64,
                                       1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};

  explicit MetricsAggregate(int64_t start_ns) : start_ns_(start_ns) {}
  void record(const RequestPoint& p);
  bool empty() const { return series_.empty(); }
  /// An ExportMetricsServiceRequest in OTLP/JSON, as of `now_ns`.
  std::string json(const Resource& resource, int64_t now_ns) const;

 private:
  struct Series {
    std::string provider, model, error_type;
    uint64_t count = 0;
    double sum = 0.0, min = 0.0, max = 0.0;
    std::vector<uint64_t> buckets = std::vector<uint64_t>(std::size(kBounds) + 1, 0);
    uint64_t input_tokens = 0, output_tokens = 0;
  };
  int64_t start_ns_;
  std::vector<Series> series_;
};

/// Random non-zero ids from a per-thread xoshiro256** generator seeded from the OS.
TraceId new_trace_id() noexcept;
SpanId new_span_id() noexcept;
/// The trace-id-ratio decision: the last 8 bytes of `id` read as a fraction of 2^64,
/// sampled when below `ratio` (1: always, 0: never). The same id always gets the same answer.
bool ratio_sampled(const TraceId& id, double ratio) noexcept;
/// Now, in Unix epoch nanoseconds.
int64_t unix_nanos() noexcept;

}  // namespace llmrouter::detail::telemetry
