// SPDX-License-Identifier: MIT
// Telemetry: W3C traceparent parsing, ids and sampling, the OTLP/JSON shape of spans and
// metrics, the exporter's batching and bounds (over a fake transport), and a pipeline's
// traces with fake providers.
#include "llmrouter/telemetry.h"

#include <set>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "json/json.h"
#include "llmrouter/pipeline.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "telemetry/exporter.h"
#include "telemetry/request_trace.h"
#include "telemetry/span.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using namespace detail::telemetry;
namespace json = detail::json;

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kParent = "00f067aa0ba902b7";

std::string traceparent(std::string_view version, std::string_view trace, std::string_view parent,
                        std::string_view flags) {
  return std::string(version) + "-" + std::string(trace) + "-" + std::string(parent) + "-" + std::string(flags);
}

// ---- traceparent

TEST(TraceparentTest, ParsesAValidHeader) {
  auto c = parse_traceparent(traceparent("00", kTrace, kParent, "01"));
  ASSERT_TRUE(c);
  EXPECT_EQ(to_hex(c->trace_id), kTrace);
  EXPECT_EQ(to_hex(c->span_id), kParent);
  EXPECT_TRUE(c->sampled);
  auto unsampled = parse_traceparent(traceparent("00", kTrace, kParent, "00"));
  ASSERT_TRUE(unsampled);
  EXPECT_FALSE(unsampled->sampled);
  // Other flag bits are ignored; bit 0 is the sampled flag.
  auto other = parse_traceparent(traceparent("00", kTrace, kParent, "02"));
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->sampled);
}

TEST(TraceparentTest, FormatsWhatItParses) {
  const std::string h = traceparent("00", kTrace, kParent, "01");
  EXPECT_EQ(format_traceparent(*parse_traceparent(h)), h);
  const std::string u = traceparent("00", kTrace, kParent, "00");
  EXPECT_EQ(format_traceparent(*parse_traceparent(u)), u);
}

TEST(TraceparentTest, RejectsInvalidHeaders) {
  const std::string zeros32(32, '0'), zeros16(16, '0');
  EXPECT_FALSE(parse_traceparent(traceparent("ff", kTrace, kParent, "01")));       // version ff
  EXPECT_FALSE(parse_traceparent(traceparent("00", zeros32, kParent, "01")));      // all-zero trace id
  EXPECT_FALSE(parse_traceparent(traceparent("00", kTrace, zeros16, "01")));       // all-zero parent id
  EXPECT_FALSE(parse_traceparent(traceparent("00", kTrace.substr(1), kParent, "01")));  // 31 hex digits
  EXPECT_FALSE(parse_traceparent(traceparent("00", kTrace, kParent.substr(1), "01")));  // 15 hex digits
  EXPECT_FALSE(parse_traceparent(traceparent("00", std::string(kTrace) + "a", kParent, "01")));
  EXPECT_FALSE(parse_traceparent(traceparent("00", kTrace, kParent, "1")));
  EXPECT_FALSE(parse_traceparent(traceparent("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kParent, "01")));  // upper case
  EXPECT_FALSE(parse_traceparent(traceparent("00", kTrace, "00F067AA0BA902B7", "01")));
  EXPECT_FALSE(parse_traceparent(traceparent("0A", kTrace, kParent, "01")));
  EXPECT_FALSE(parse_traceparent(traceparent("00", kTrace, kParent, "0G")));
  EXPECT_FALSE(parse_traceparent(traceparent("00", kTrace, kParent, "01") + "-extra"));  // version 00 is 55 long
  EXPECT_FALSE(parse_traceparent(traceparent("00", kTrace, kParent, "01") + " "));
  EXPECT_FALSE(parse_traceparent("00_" + std::string(kTrace) + "-" + std::string(kParent) + "-01"));
  EXPECT_FALSE(parse_traceparent("00-" + std::string(kTrace) + "_" + std::string(kParent) + "-01"));
  EXPECT_FALSE(parse_traceparent(""));
  EXPECT_FALSE(parse_traceparent("00"));
}

TEST(TraceparentTest, ReadsALaterVersionByItsFirstFields) {
  auto c = parse_traceparent(traceparent("01", kTrace, kParent, "01") + "-what-comes-later");
  ASSERT_TRUE(c);
  EXPECT_EQ(to_hex(c->trace_id), kTrace);
  EXPECT_TRUE(parse_traceparent(traceparent("cc", kTrace, kParent, "01")));
  // A later version must still separate what follows with '-'.
  EXPECT_FALSE(parse_traceparent(traceparent("01", kTrace, kParent, "01") + "x"));
}

// ---- ids and sampling

TEST(TraceIdsTest, AreNonZeroDistinctAndHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string t = to_hex(new_trace_id());
    const std::string s = to_hex(new_span_id());
    EXPECT_EQ(t.size(), 32u);
    EXPECT_EQ(s.size(), 16u);
    EXPECT_NE(t, std::string(32, '0'));
    EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(seen.insert(t).second);
    EXPECT_TRUE(seen.insert(s).second);
  }
}

TEST(SamplingTest, RatioDecidesByTheTraceIdsLowHalf) {
  TraceId low{}, high{};
  low[15] = 1;
  high.fill(0xff);
  EXPECT_TRUE(ratio_sampled(low, 0.01));
  EXPECT_FALSE(ratio_sampled(high, 0.99));
  EXPECT_TRUE(ratio_sampled(high, 1.0));
  EXPECT_FALSE(ratio_sampled(low, 0.0));
  int sampled = 0;
  constexpr int kN = 20000;
  for (int i = 0; i < kN; ++i) {
    const TraceId id = new_trace_id();
    const bool s = ratio_sampled(id, 0.25);
    EXPECT_EQ(s, ratio_sampled(id, 0.25));  // the same id, the same answer
    sampled += s;
  }
  EXPECT_NEAR(static_cast<double>(sampled) / kN, 0.25, 0.03);
}

// ---- the collector: the shared fake transport, answering every export with `status`.
// (Left as it is, a FakeTransport holds each request: a collector that never answers.)

std::shared_ptr<testing::FakeTransport> collector(int status = 200) {
  auto transport = std::make_shared<testing::FakeTransport>();
  transport->reply_to_all(status);
  return transport;
}

TelemetryConfig enabled_config(double ratio = 1.0) {
  TelemetryConfig c;
  c.enabled = true;
  c.otlp_endpoint = "http://collector.test:4318/";
  c.service_name = "router-under-test";
  c.sample_ratio = ratio;
  return c;
}

SpanRecord span_named(std::string name) {
  SpanRecord s;
  s.trace_id = new_trace_id();
  s.span_id = new_span_id();
  s.name = std::move(name);
  s.start_ns = 1'700'000'000'000'000'000;
  s.end_ns = s.start_ns + 1000;
  return s;
}

// The spans of every trace export in `requests`, as parsed JSON objects (name -> span text).
std::vector<std::string> exported_span_names(const std::vector<HttpRequest>& requests) {
  std::vector<std::string> names;
  for (const HttpRequest& r : requests) {
    if (!r.url.ends_with("/v1/traces")) continue;
    auto doc = json::parse(r.body);
    EXPECT_TRUE(doc) << r.body;
    if (!doc) continue;
    for (auto rs : (*doc)["resourceSpans"].get_array()) {
      for (auto ss : rs["scopeSpans"].get_array()) {
        for (auto sp : ss["spans"].get_array()) names.emplace_back(std::string_view(sp["name"].get_string().value()));
      }
    }
  }
  return names;
}

// ---- JSON shape

TEST(OtlpJsonTest, SpansFollowTheOtlpJsonMapping) {
  SpanRecord s = span_named("chat gpt-4o");
  s.parent_span_id = new_span_id();
  s.kind = SpanKind::Client;
  s.set("gen_ai.request.model", std::string("gpt-4o"));
  s.set("gen_ai.usage.input_tokens", int64_t{12});
  s.set("llmrouter.cost_usd", 0.5);
  s.set("llmrouter.stream", true);
  s.set("gen_ai.response.finish_reasons", std::vector<std::string>{"end_turn"});
  s.status = StatusCode::Error;
  s.status_message = "boom";
  SpanRecord root = span_named("root");
  root.trace_id = s.trace_id;
  const std::vector<SpanRecord> spans{s, root};
  const std::string text = traces_json(Resource{"svc"}, spans);
  auto doc = json::parse(text);
  ASSERT_TRUE(doc) << text;
  auto rs = (*doc)["resourceSpans"].at(0);
  auto attr0 = rs["resource"]["attributes"].at(0);
  EXPECT_EQ(std::string_view(attr0["key"].get_string().value()), "service.name");
  EXPECT_EQ(std::string_view(attr0["value"]["stringValue"].get_string().value()), "svc");
  auto ss = rs["scopeSpans"].at(0);
  EXPECT_EQ(std::string_view(ss["scope"]["name"].get_string().value()), "llmrouter");
  EXPECT_TRUE(ss["scope"]["version"].is_string());
  auto sp = ss["spans"].at(0);
  EXPECT_EQ(std::string_view(sp["traceId"].get_string().value()), to_hex(s.trace_id));
  EXPECT_EQ(std::string_view(sp["spanId"].get_string().value()), to_hex(s.span_id));
  EXPECT_EQ(std::string_view(sp["parentSpanId"].get_string().value()), to_hex(s.parent_span_id));
  EXPECT_EQ(std::string_view(sp["name"].get_string().value()), "chat gpt-4o");
  EXPECT_EQ(int64_t(sp["kind"].get_int64().value()), 3);
  EXPECT_EQ(std::string_view(sp["startTimeUnixNano"].get_string().value()), "1700000000000000000");
  EXPECT_EQ(std::string_view(sp["endTimeUnixNano"].get_string().value()), "1700000000000001000");
  auto attrs = sp["attributes"];
  EXPECT_EQ(std::string_view(attrs.at(0)["value"]["stringValue"].get_string().value()), "gpt-4o");
  EXPECT_EQ(std::string_view(attrs.at(1)["value"]["intValue"].get_string().value()), "12");  // int64 as a string
  EXPECT_EQ(double(attrs.at(2)["value"]["doubleValue"].get_double().value()), 0.5);
  EXPECT_EQ(bool(attrs.at(3)["value"]["boolValue"].get_bool().value()), true);
  EXPECT_EQ(std::string_view(attrs.at(4)["value"]["arrayValue"]["values"].at(0)["stringValue"].get_string().value()),
            "end_turn");
  EXPECT_EQ(int64_t(sp["status"]["code"].get_int64().value()), 2);
  EXPECT_EQ(std::string_view(sp["status"]["message"].get_string().value()), "boom");
  // A root span has no parentSpanId.
  auto second = ss["spans"].at(1);
  EXPECT_EQ(second["parentSpanId"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(int64_t(second["status"]["code"].get_int64().value()), 0);
}

TEST(OtlpJsonTest, MetricsAreCumulativeSumsAndHistograms) {
  MetricsAggregate m(100);
  m.record(RequestPoint{"up", "gpt", "", 0.015, 10, 5});
  m.record(RequestPoint{"up", "gpt", "", 3.0, 1, 2});
  m.record(RequestPoint{"up", "gpt", "502", 0.5, 0, 0});
  const std::string text = m.json(Resource{"svc"}, 200);
  auto doc = json::parse(text);
  ASSERT_TRUE(doc) << text;
  auto metrics = (*doc)["resourceMetrics"].at(0)["scopeMetrics"].at(0)["metrics"];
  auto requests = metrics.at(0);
  EXPECT_EQ(std::string_view(requests["name"].get_string().value()), "llmrouter.requests");
  EXPECT_EQ(int64_t(requests["sum"]["aggregationTemporality"].get_int64().value()), 2);
  EXPECT_TRUE(bool(requests["sum"]["isMonotonic"].get_bool().value()));
  auto ok_point = requests["sum"]["dataPoints"].at(0);
  EXPECT_EQ(std::string_view(ok_point["asInt"].get_string().value()), "2");
  EXPECT_EQ(std::string_view(ok_point["startTimeUnixNano"].get_string().value()), "100");
  EXPECT_EQ(std::string_view(ok_point["timeUnixNano"].get_string().value()), "200");
  auto err_point = requests["sum"]["dataPoints"].at(1);
  EXPECT_EQ(std::string_view(err_point["asInt"].get_string().value()), "1");
  EXPECT_EQ(std::string_view(err_point["attributes"].at(2)["key"].get_string().value()), "error.type");

  auto duration = metrics.at(1);
  EXPECT_EQ(std::string_view(duration["name"].get_string().value()), "llmrouter.request.duration");
  EXPECT_EQ(std::string_view(duration["unit"].get_string().value()), "s");
  auto h = duration["histogram"]["dataPoints"].at(0);
  EXPECT_EQ(std::string_view(h["count"].get_string().value()), "2");
  EXPECT_DOUBLE_EQ(double(h["sum"].get_double().value()), 3.015);
  std::size_t buckets = 0, total = 0;
  for (auto b : h["bucketCounts"].get_array()) {
    ++buckets;
    total += std::stoul(std::string(std::string_view(b.get_string().value())));
  }
  std::size_t bounds = 0;
  for (auto b : h["explicitBounds"].get_array()) {
    (void)b;
    ++bounds;
  }
  EXPECT_EQ(buckets, bounds + 1);
  EXPECT_EQ(total, 2u);
  EXPECT_EQ(std::string_view(h["bucketCounts"].at(1).get_string().value()), "1");  // 0.015 in (0.01, 0.02]

  auto tokens = metrics.at(2);
  EXPECT_EQ(std::string_view(tokens["name"].get_string().value()), "llmrouter.tokens");
  auto input = tokens["sum"]["dataPoints"].at(0);
  EXPECT_EQ(std::string_view(input["asInt"].get_string().value()), "11");
  EXPECT_EQ(std::string_view(input["attributes"].at(2)["value"]["stringValue"].get_string().value()), "input");
}

TEST(OtlpJsonTest, ServerAddressOfProviderUrls) {
  std::string host;
  int64_t port = 0;
  server_address("http://127.0.0.1:8080/v1", host, port);
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  server_address("https://api.openai.com/v1", host, port);
  EXPECT_EQ(host, "api.openai.com");
  EXPECT_EQ(port, 443);
  server_address("http://[::1]:11434", host, port);
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 11434);
  server_address("http://user:pw@example.com", host, port);
  EXPECT_EQ(host, "example.com");
  EXPECT_EQ(port, 80);
}

// ---- the exporter

TEST(ExporterTest, RejectsAnEndpointThatIsNotAUrl) {
  TelemetryConfig c = enabled_config();
  c.otlp_endpoint = "localhost:4318";
  auto t = Telemetry::create(c, collector());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::Config);
  EXPECT_THAT(t.error().message, ::testing::HasSubstr("telemetry.otlp_endpoint"));
}

TEST(ExporterTest, BatchesBySizeAndPostsJsonToTheTracesPath) {
  auto transport = collector();
  TelemetryOptions o;
  o.batch_size = 2;
  o.export_interval = std::chrono::hours(1);
  auto t = Telemetry::create(enabled_config(), transport, o);
  ASSERT_TRUE(t);
  for (int i = 0; i < 5; ++i) (*t)->exporter().submit({span_named(fmt::format("s{}", i))});
  ASSERT_TRUE((*t)->flush(std::chrono::seconds(10)));
  const auto sent = transport->requests();
  ASSERT_EQ(sent.size(), 3u);  // 2 + 2 + 1, no metrics recorded
  for (const HttpRequest& r : sent) {
    EXPECT_EQ(r.url, "http://collector.test:4318/v1/traces");
    EXPECT_EQ(r.method, "POST");
    EXPECT_THAT(r.headers, ::testing::Contains(std::pair<std::string, std::string>("content-type", "application/json")));
  }
  EXPECT_THAT(exported_span_names(sent), ElementsAre("s0", "s1", "s2", "s3", "s4"));
  EXPECT_EQ((*t)->stats().spans_exported, 5u);
  EXPECT_EQ((*t)->stats().spans_dropped, 0u);
}

TEST(ExporterTest, AFullQueueDropsNewTracesAndCountsThemWithoutWaiting) {
  auto transport = std::make_shared<testing::FakeTransport>();  // never answers until told to
  TelemetryOptions o;
  o.batch_size = 2;
  o.max_queued_spans = 4;
  o.export_interval = std::chrono::hours(1);
  o.export_timeout = std::chrono::seconds(30);
  auto t = Telemetry::create(enabled_config(), transport, o);
  ASSERT_TRUE(t);
  Exporter& e = (*t)->exporter();
  e.submit({span_named("a"), span_named("b")});  // a full batch: the export starts and hangs
  ASSERT_TRUE(transport->wait_started(1));
  e.submit({span_named("c"), span_named("d")});
  e.submit({span_named("e"), span_named("f")});  // the queue holds 4
  e.submit({span_named("g"), span_named("h")});  // no room: dropped whole
  e.submit({span_named("i")});
  EXPECT_EQ((*t)->stats().spans_dropped, 3u);
  transport->reply_to_all(200);
  ASSERT_TRUE((*t)->flush(std::chrono::seconds(10)));
  EXPECT_THAT(exported_span_names(transport->requests()),
              ElementsAre("a", "b", "c", "d", "e", "f"));
  EXPECT_EQ((*t)->stats().spans_exported, 6u);
}

TEST(ExporterTest, FailedExportsAreCountedAndDropped) {
  auto transport = collector(503);
  auto t = Telemetry::create(enabled_config(), transport);
  ASSERT_TRUE(t);
  (*t)->exporter().submit({span_named("a"), span_named("b")});
  ASSERT_TRUE((*t)->flush(std::chrono::seconds(10)));
  EXPECT_EQ((*t)->stats().exports_failed, 1u);
  EXPECT_EQ((*t)->stats().spans_dropped, 2u);
  EXPECT_EQ((*t)->stats().spans_exported, 0u);
}

TEST(ExporterTest, ShutdownExportsWhatIsQueuedAndTheMetrics) {
  auto transport = collector();
  TelemetryOptions o;
  o.export_interval = std::chrono::hours(1);
  o.metrics_interval = std::chrono::hours(1);
  auto t = Telemetry::create(enabled_config(), transport, o);
  ASSERT_TRUE(t);
  (*t)->exporter().submit({span_named("last")});
  (*t)->exporter().record(RequestPoint{"up", "m", "", 0.1, 1, 1});
  (*t)->shutdown();
  const auto sent = transport->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].url, "http://collector.test:4318/v1/traces");
  EXPECT_EQ(sent[1].url, "http://collector.test:4318/v1/metrics");
  EXPECT_THAT(exported_span_names(sent), ElementsAre("last"));
  (*t)->exporter().submit({span_named("late")});  // after shutdown: dropped
  EXPECT_EQ((*t)->stats().spans_dropped, 1u);
  (*t)->shutdown();  // idempotent
}

TEST(ExporterTest, ShutdownIsBoundedWhenTheCollectorHangs) {
  auto transport = std::make_shared<testing::FakeTransport>();
  TelemetryOptions o;
  o.export_timeout = std::chrono::milliseconds(200);
  o.shutdown_timeout = std::chrono::milliseconds(300);
  auto t = Telemetry::create(enabled_config(), transport, o);
  ASSERT_TRUE(t);
  for (int i = 0; i < 5; ++i) (*t)->exporter().submit({span_named("x")});
  // The fake never answers and ignores timeouts; the exporter cancels each export after
  // its bound, then drops what is left once the shutdown budget is spent.
  (*t)->shutdown();
  const TelemetryStats s = (*t)->stats();
  EXPECT_EQ(s.spans_exported, 0u);
  EXPECT_EQ(s.spans_dropped, 5u);
  transport->reply_to_all(200);
}

// ---- begin_trace

TEST(RequestTraceTest, NoTelemetryAndNoHeaderMeansNoTrace) {
  EXPECT_EQ(begin_trace({}, nullptr), nullptr);
  EXPECT_EQ(begin_trace({{"traceparent", "garbage"}}, nullptr), nullptr);
}

TEST(RequestTraceTest, AClientContextIsKeptWithoutTelemetry) {
  const std::string h = traceparent("00", kTrace, kParent, "01");
  auto t = begin_trace({{"traceparent", h}, {"tracestate", "congo=t61rcWkgMzE"}}, nullptr);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(to_hex(t->trace_id), kTrace);
  EXPECT_FALSE(t->recording());
  SendOptions options;
  begin_attempt(*t, options);
  EXPECT_EQ(options.traceparent, h);  // passed on unchanged
  EXPECT_EQ(options.tracestate, "congo=t61rcWkgMzE");
}

TEST(RequestTraceTest, TwoTraceparentHeadersAreInvalid) {
  const std::string h = traceparent("00", kTrace, kParent, "01");
  EXPECT_EQ(begin_trace({{"traceparent", h}, {"traceparent", h}}, nullptr), nullptr);
}

TEST(RequestTraceTest, TheClientsSampledFlagWinsOverTheRatio) {
  auto transport = collector();
  auto never = Telemetry::create(enabled_config(0.0), transport);
  auto always = Telemetry::create(enabled_config(1.0), transport);
  ASSERT_TRUE(never && always);
  auto sampled = begin_trace({{"traceparent", traceparent("00", kTrace, kParent, "01")}}, never->get());
  EXPECT_TRUE(sampled->recording());
  auto unsampled = begin_trace({{"traceparent", traceparent("00", kTrace, kParent, "00")}}, always->get());
  EXPECT_FALSE(unsampled->recording());
  EXPECT_FALSE(begin_trace({}, never->get())->recording());
  EXPECT_TRUE(begin_trace({}, always->get())->recording());
  // Our own root span, with the client's as its parent.
  EXPECT_EQ(to_hex(sampled->parent_id), kParent);
  EXPECT_NE(sampled->root_id, sampled->parent_id);
}

// ---- a pipeline's traces, with fake providers

// The reply of the provider that answers: its model names a version, and it ran out of tokens.
testing::ScriptedProvider::Reply traced_reply() {
  testing::ScriptedProvider::Reply r = testing::ScriptedProvider::answers("hi");
  r.id = "resp-1";
  r.model_suffix = "-2024";
  r.input_tokens = 7;
  r.output_tokens = 3;
  r.stop_reason = StopReason::MaxTokens;
  return r;
}

class NullObserver final : public RequestObserver {
 public:
  bool on_event(const StreamEvent&) override { return true; }
};

constexpr std::string_view kPipelineConfig = R"(
[[providers]]
name = "down"
format = "openai"
base_url = "http://127.0.0.1:9/v1"
quality = 1.0
[[providers]]
name = "up"
format = "anthropic"
base_url = "https://api.example.com"
cost_per_1m_tokens = 1.0
[[routers]]
type = "fallback"
providers = ["down", "up"]
)";

TEST(PipelineTraceTest, AFailedOverRequestIsOneTraceWithARouteSpanAndOneSpanPerAttempt) {
  auto transport = collector();
  TelemetryOptions o;
  o.export_interval = std::chrono::hours(1);
  auto telemetry = Telemetry::create(enabled_config(), transport, o);
  ASSERT_TRUE(telemetry);
  Config config = testing::config_from(kPipelineConfig);
  auto pipeline = Pipeline::build(config, Registries::with_builtins(), nullptr, *telemetry);
  ASSERT_TRUE(pipeline) << pipeline.error().message;
  Error down{Errc::Upstream, "provider 'down' answered 500: oops", 502, "down"};
  down.upstream_status = 500;
  testing::ScriptedProvider down_provider("down", testing::ScriptedProvider::fails(down));
  testing::ScriptedProvider up_provider("up", traced_reply());
  auto lookup = [&](std::string_view name) -> const Provider* {
    return name == "down" ? &down_provider : name == "up" ? &up_provider : nullptr;
  };
  auto sub = (*pipeline)->events()->subscribe(16);
  NullObserver observer;
  CancelFlag cancel{false};
  const std::string h = traceparent("00", kTrace, kParent, "01");
  Outcome out = (*pipeline)->handle(WireFormat::OpenAI, R"({"model":"m1","messages":[{"role":"user","content":"hi"}]})",
                                    {{"traceparent", h}}, lookup, observer, cancel);
  ASSERT_FALSE(out.error) << out.error->message;
  ASSERT_EQ(out.attempts.size(), 2u);

  // Each attempt told its upstream about itself, in the client's trace.
  const auto down_parent = parse_traceparent(down_provider.last().options.traceparent);
  const auto up_parent = parse_traceparent(up_provider.last().options.traceparent);
  ASSERT_TRUE(down_parent && up_parent);
  EXPECT_EQ(to_hex(down_parent->trace_id), kTrace);
  EXPECT_EQ(to_hex(up_parent->trace_id), kTrace);
  EXPECT_NE(down_parent->span_id, up_parent->span_id);
  EXPECT_TRUE(up_parent->sampled);

  // The complete event (the log line) names the trace.
  std::string event, complete;
  while (sub->next(event, std::chrono::milliseconds(0))) complete = event;
  EXPECT_THAT(complete, ::testing::HasSubstr(fmt::format(R"("trace_id":"{}")", kTrace)));

  ASSERT_TRUE((*telemetry)->flush(std::chrono::seconds(10)));
  const auto sent = transport->requests();
  ASSERT_FALSE(sent.empty());
  // Reparse the exported spans into records by name.
  auto doc = json::parse(sent[0].body);
  ASSERT_TRUE(doc);
  std::vector<simdjson::dom::element> spans;
  for (auto sp : (*doc)["resourceSpans"].at(0)["scopeSpans"].at(0)["spans"].get_array()) spans.push_back(sp);
  ASSERT_EQ(spans.size(), 4u);  // route, two attempts, root (in that order)
  auto str = [](simdjson::dom::element e, const char* k) { return std::string(std::string_view(e[k].get_string().value())); };
  auto attribute = [&](simdjson::dom::element sp, std::string_view key) -> std::string {
    for (auto a : sp["attributes"].get_array()) {
      if (std::string_view(a["key"].get_string().value()) != key) continue;
      auto v = a["value"];
      if (v["stringValue"].is_string()) return std::string(std::string_view(v["stringValue"].get_string().value()));
      if (v["intValue"].is_string()) return std::string(std::string_view(v["intValue"].get_string().value()));
      if (v["arrayValue"].is_object()) return std::string(std::string_view(v["arrayValue"]["values"].at(0)["stringValue"].get_string().value()));
      return "?";
    }
    return {};
  };
  const auto& route = spans[0];
  const auto& first = spans[1];
  const auto& second = spans[2];
  const auto& root = spans[3];
  for (const auto& sp : spans) EXPECT_EQ(str(sp, "traceId"), kTrace);
  EXPECT_EQ(str(root, "parentSpanId"), kParent);
  EXPECT_EQ(int64_t(root["kind"].get_int64().value()), 2);
  for (const auto& child : {route, first, second}) EXPECT_EQ(str(child, "parentSpanId"), str(root, "spanId"));
  EXPECT_EQ(str(route, "name"), "llmrouter.route");
  EXPECT_EQ(attribute(route, "llmrouter.rule.type"), "fallback");
  EXPECT_EQ(str(first, "spanId"), to_hex(down_parent->span_id));
  EXPECT_EQ(str(second, "spanId"), to_hex(up_parent->span_id));
  EXPECT_EQ(int64_t(first["kind"].get_int64().value()), 3);
  EXPECT_EQ(attribute(first, "error.type"), "500");
  EXPECT_EQ(attribute(first, "http.response.status_code"), "500");
  EXPECT_EQ(int64_t(first["status"]["code"].get_int64().value()), 2);
  EXPECT_EQ(attribute(first, "gen_ai.provider.name"), "openai");
  EXPECT_EQ(attribute(first, "server.port"), "9");
  EXPECT_EQ(str(second, "name"), "chat m1");
  EXPECT_EQ(attribute(second, "gen_ai.provider.name"), "anthropic");
  EXPECT_EQ(attribute(second, "gen_ai.system"), "anthropic");
  EXPECT_EQ(attribute(second, "server.address"), "api.example.com");
  EXPECT_EQ(attribute(second, "server.port"), "443");
  EXPECT_EQ(attribute(second, "gen_ai.request.model"), "m1");
  EXPECT_EQ(attribute(second, "gen_ai.response.model"), "m1-2024");
  EXPECT_EQ(attribute(second, "gen_ai.usage.input_tokens"), "7");
  EXPECT_EQ(attribute(second, "gen_ai.usage.output_tokens"), "3");
  EXPECT_EQ(attribute(second, "gen_ai.response.finish_reasons"), "max_tokens");
  EXPECT_EQ(attribute(second, "error.type"), "");
  EXPECT_EQ(attribute(root, "gen_ai.operation.name"), "chat");
  EXPECT_EQ(attribute(root, "llmrouter.attempts"), "2");
  EXPECT_EQ(attribute(root, "llmrouter.provider"), "up");
  EXPECT_EQ(attribute(root, "http.response.status_code"), "200");
}

TEST(PipelineTraceTest, WithoutTelemetryOrAClientContextNothingIsTraced) {
  Config config = testing::config_from(kPipelineConfig);
  auto pipeline = Pipeline::build(config, Registries::with_builtins());
  ASSERT_TRUE(pipeline);
  testing::ScriptedProvider up("up", traced_reply());
  auto lookup = [&](std::string_view name) -> const Provider* { return name == "up" ? &up : nullptr; };
  auto sub = (*pipeline)->events()->subscribe(16);
  NullObserver observer;
  CancelFlag cancel{false};
  auto call = (*pipeline)->start(WireFormat::OpenAI, R"({"model":"m1","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(call->trace_id(), "");
  Outcome out = call->run(lookup, observer, cancel);
  for (const auto& c : up.history()) EXPECT_TRUE(c.options.traceparent.empty());
  std::string event, complete;
  while (sub->next(event, std::chrono::milliseconds(0))) complete = event;
  EXPECT_THAT(complete, ::testing::HasSubstr(R"("trace_id":null)"));
}

}  // namespace
}  // namespace llmrouter
