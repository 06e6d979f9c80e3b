// SPDX-License-Identifier: MIT
// W3C trace context, ids, sampling, and the OTLP/JSON encoding of spans and metrics
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding: ids are lower-case
// hex, 64-bit integers are decimal strings, enums are numbers).
#include "telemetry/span.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "json/json.h"
#include "llmrouter/version.h"

namespace llmrouter {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// A lower-case hex digit's value, or -1 (upper case is invalid in traceparent).
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <std::size_t N>
bool parse_hex(std::string_view s, std::array<uint8_t, N>& out) noexcept {
  if (s.size() != 2 * N) return false;
  bool nonzero = false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
    nonzero = nonzero || out[i] != 0;
  }
  return nonzero;
}

template <std::size_t N>
std::string hex_of(const std::array<uint8_t, N>& id) {
  std::string s(2 * N, '0');
  for (std::size_t i = 0; i < N; ++i) {
    s[2 * i] = kHex[id[i] >> 4];
    s[2 * i + 1] = kHex[id[i] & 0xf];
  }
  return s;
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view h) noexcept {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2 = 55 characters.
  constexpr std::size_t kLen = 55;
  if (h.size() < kLen) return std::nullopt;
  const int v_hi = hex_value(h[0]), v_lo = hex_value(h[1]);
  if (v_hi < 0 || v_lo < 0) return std::nullopt;
  const int version = v_hi << 4 | v_lo;
  if (version == 0xff) return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may append fields after a '-'.
  if (h.size() > kLen && (version == 0 || h[kLen] != '-')) return std::nullopt;
  if (h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  TraceContext ctx;
  if (!parse_hex(h.substr(3, 32), ctx.trace_id)) return std::nullopt;
  if (!parse_hex(h.substr(36, 16), ctx.span_id)) return std::nullopt;
  const int f_hi = hex_value(h[53]), f_lo = hex_value(h[54]);
  if (f_hi < 0 || f_lo < 0) return std::nullopt;
  ctx.sampled = ((f_hi << 4 | f_lo) & 0x01) != 0;
  return ctx;
}

std::string format_traceparent(const TraceContext& c) {
  return fmt::format("00-{}-{}-{}", hex_of(c.trace_id), hex_of(c.span_id), c.sampled ? "01" : "00");
}

std::string to_hex(const TraceId& id) { return hex_of(id); }
std::string to_hex(const SpanId& id) { return hex_of(id); }

namespace detail::telemetry {
namespace {

// xoshiro256** (Blackman and Vigna): fast, statistically strong, not cryptographic (trace
// ids need uniqueness and a uniform low half for sampling, not secrecy).
class Xoshiro {
 public:
  Xoshiro() {
    std::random_device rd;
    uint64_t seed = (uint64_t{rd()} << 32) ^ rd();
    seed ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    seed ^= std::hash<std::thread::id>{}(std::this_thread::get_id());
    for (uint64_t& s : s_) s = splitmix(seed);
  }
  uint64_t next() noexcept {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& x) noexcept {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

Xoshiro& rng() {
  thread_local Xoshiro r;
  return r;
}

void put_u64(uint8_t* out, uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

void write_ns(json::Writer& w, std::string_view key, int64_t ns) {
  w.key(key);
  w.string(fmt::format("{}", ns));
}

void write_value(json::Writer& w, const AttributeValue& v) {
  w.begin_object();
  if (const auto* s = std::get_if<std::string>(&v)) {
    w.kv("stringValue", *s);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    w.kv("intValue", fmt::format("{}", *i));
  } else if (const auto* d = std::get_if<double>(&v)) {
    w.kv_number("doubleValue", *d);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    w.kv_bool("boolValue", *b);
  } else if (const auto* a = std::get_if<std::vector<std::string>>(&v)) {
    w.key("arrayValue");
    w.begin_object();
    w.key("values");
    w.begin_array();
    for (const std::string& item : *a) {
      w.begin_object();
      w.kv("stringValue", item);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_object();
}

void write_attribute(json::Writer& w, std::string_view key, const AttributeValue& v) {
  w.begin_object();
  w.kv("key", key);
  w.key("value");
  write_value(w, v);
  w.end_object();
}

// {"resource":{"attributes":[...]}, then the caller writes the scope list.
void write_resource(json::Writer& w, const Resource& r) {
  w.key("resource");
  w.begin_object();
  w.key("attributes");
  w.begin_array();
  write_attribute(w, "service.name", r.service_name);
  write_attribute(w, "service.version", std::string(version()));
  write_attribute(w, "telemetry.sdk.name", std::string("llmrouter"));
  write_attribute(w, "telemetry.sdk.language", std::string("cpp"));
  write_attribute(w, "telemetry.sdk.version", std::string(version()));
  w.end_array();
  w.end_object();
}

void write_scope(json::Writer& w) {
  w.key("scope");
  w.begin_object();
  w.kv("name", "llmrouter");
  w.kv("version", version());
  w.end_object();
}

void write_span(json::Writer& w, const SpanRecord& s) {
  w.begin_object();
  w.kv("traceId", hex_of(s.trace_id));
  w.kv("spanId", hex_of(s.span_id));
  if (s.parent_span_id != SpanId{}) w.kv("parentSpanId", hex_of(s.parent_span_id));
  w.kv("name", s.name);
  w.kv_int("kind", static_cast<int>(s.kind));
  write_ns(w, "startTimeUnixNano", s.start_ns);
  write_ns(w, "endTimeUnixNano", s.end_ns);
  w.key("attributes");
  w.begin_array();
  for (const Attribute& a : s.attributes) write_attribute(w, a.key, a.value);
  w.end_array();
  w.key("status");
  w.begin_object();
  if (!s.status_message.empty()) w.kv("message", s.status_message);
  w.kv_int("code", static_cast<int>(s.status));
  w.end_object();
  w.end_object();
}

}  // namespace

const AttributeValue* SpanRecord::find(std::string_view key) const {
  for (const Attribute& a : attributes) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

TraceId new_trace_id() noexcept {
  TraceId id{};
  while (id == TraceId{}) {
    put_u64(id.data(), rng().next());
    put_u64(id.data() + 8, rng().next());
  }
  return id;
}

SpanId new_span_id() noexcept {
  SpanId id{};
  while (id == SpanId{}) put_u64(id.data(), rng().next());
  return id;
}

bool ratio_sampled(const TraceId& id, double ratio) noexcept {
  if (ratio >= 1.0) return true;
  if (!(ratio > 0.0)) return false;
  uint64_t low = 0;
  for (int i = 8; i < 16; ++i) low = low << 8 | id[static_cast<std::size_t>(i)];
  // Compare in 53-bit precision, as a double in [0, 1).
  return static_cast<double>(low >> 11) * 0x1.0p-53 < ratio;
}

int64_t unix_nanos() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string traces_json(const Resource& resource, std::span<const SpanRecord> spans) {
  std::string out;
  out.reserve(512 + spans.size() * 700);
  json::Writer w(out);
  w.begin_object();
  w.key("resourceSpans");
  w.begin_array();
  w.begin_object();
  write_resource(w, resource);
  w.key("scopeSpans");
  w.begin_array();
  w.begin_object();
  write_scope(w);
  w.key("spans");
  w.begin_array();
  for (const SpanRecord& s : spans) write_span(w, s);
  w.end_array();
  w.end_object();
  w.end_array();
  w.end_object();
  w.end_array();
  w.end_object();
  return out;
}

void MetricsAggregate::record(const RequestPoint& p) {
  auto it = std::find_if(series_.begin(), series_.end(), [&](const Series& s) {
    return s.provider == p.provider && s.model == p.model && s.error_type == p.error_type;
  });
  if (it == series_.end()) {
    Series s;
    s.provider = p.provider;
    s.model = series_.size() < kMaxSeries ? p.model : "_other";
    s.error_type = p.error_type;
    if (series_.size() >= kMaxSeries) {
      it = std::find_if(series_.begin(), series_.end(), [&](const Series& x) {
        return x.provider == s.provider && x.model == s.model && x.error_type == s.error_type;
      });
    }
    if (it == series_.end()) {
      series_.push_back(std::move(s));
      it = series_.end() - 1;
    }
  }
  Series& s = *it;
  s.min = s.count == 0 ? p.duration_s : std::min(s.min, p.duration_s);
  s.max = s.count == 0 ? p.duration_s : std::max(s.max, p.duration_s);
  ++s.count;
  s.sum += p.duration_s;
  const std::size_t bucket = static_cast<std::size_t>(
      std::lower_bound(std::begin(kBounds), std::end(kBounds), p.duration_s) - std::begin(kBounds));
  ++s.buckets[bucket];
  s.input_tokens += p.input_tokens;
  s.output_tokens += p.output_tokens;
}

std::string MetricsAggregate::json(const Resource& resource, int64_t now_ns) const {
  std::string out;
  json::Writer w(out);
  auto attributes = [&](const Series& s, std::string_view token_type) {
    w.key("attributes");
    w.begin_array();
    if (!s.provider.empty()) write_attribute(w, "llmrouter.provider", s.provider);
    if (!s.model.empty()) write_attribute(w, "gen_ai.request.model", s.model);
    if (!s.error_type.empty()) write_attribute(w, "error.type", s.error_type);
    if (!token_type.empty()) write_attribute(w, "gen_ai.token.type", std::string(token_type));
    w.end_array();
    write_ns(w, "startTimeUnixNano", start_ns_);
    write_ns(w, "timeUnixNano", now_ns);
  };
  auto begin_metric = [&](std::string_view name, std::string_view description, std::string_view unit) {
    w.begin_object();
    w.kv("name", name);
    w.kv("description", description);
    w.kv("unit", unit);
  };
  w.begin_object();
  w.key("resourceMetrics");
  w.begin_array();
  w.begin_object();
  write_resource(w, resource);
  w.key("scopeMetrics");
  w.begin_array();
  w.begin_object();
  write_scope(w);
  w.key("metrics");
  w.begin_array();

  begin_metric("llmrouter.requests", "Requests handled", "{request}");
  w.key("sum");
  w.begin_object();
  w.key("dataPoints");
  w.begin_array();
  for (const Series& s : series_) {
    w.begin_object();
    attributes(s, {});
    w.kv("asInt", fmt::format("{}", s.count));
    w.end_object();
  }
  w.end_array();
  w.kv_int("aggregationTemporality", 2);  // CUMULATIVE
  w.kv_bool("isMonotonic", true);
  w.end_object();
  w.end_object();

  begin_metric("llmrouter.request.duration", "Time from the request's start to its last byte", "s");
  w.key("histogram");
  w.begin_object();
  w.key("dataPoints");
  w.begin_array();
  for (const Series& s : series_) {
    w.begin_object();
    attributes(s, {});
    w.kv("count", fmt::format("{}", s.count));
    w.kv_number("sum", s.sum);
    w.key("bucketCounts");
    w.begin_array();
    for (uint64_t b : s.buckets) w.string(fmt::format("{}", b));
    w.end_array();
    w.key("explicitBounds");
    w.begin_array();
    for (double b : kBounds) w.number(b);
    w.end_array();
    w.kv_number("min", s.min);
    w.kv_number("max", s.max);
    w.end_object();
  }
  w.end_array();
  w.kv_int("aggregationTemporality", 2);
  w.end_object();
  w.end_object();

  begin_metric("llmrouter.tokens", "Tokens reported by the upstreams", "{token}");
  w.key("sum");
  w.begin_object();
  w.key("dataPoints");
  w.begin_array();
  for (const Series& s : series_) {
    for (const std::string_view type : {std::string_view("input"), std::string_view("output")}) {
      w.begin_object();
      attributes(s, type);
      w.kv("asInt", fmt::format("{}", type == "input" ? s.input_tokens : s.output_tokens));
      w.end_object();
    }
  }
  w.end_array();
  w.kv_int("aggregationTemporality", 2);
  w.kv_bool("isMonotonic", true);
  w.end_object();
  w.end_object();

  w.end_array();
  w.end_object();
  w.end_array();
  w.end_object();
  w.end_array();
  w.end_object();
  return out;
}

}  // namespace detail::telemetry
}  // namespace llmrouter
