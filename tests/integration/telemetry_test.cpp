// SPDX-License-Identifier: MIT
// OpenTelemetry export end to end: llmrouter-server's host with `[telemetry] enabled`, in
// front of the mock upstream, exporting to a local OTLP/HTTP receiver on 127.0.0.1. Checks
// the OTLP/JSON payloads, W3C trace context in and out, sampling, the log's trace ids,
// the flush at shutdown, and that a dead or slow collector never fails a request.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <simdjson.h>

#include "server.h"
#include "support/config_helpers.h"
#include "support/mock_upstream.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kParent = "00f067aa0ba902b7";

// A local OTLP/HTTP receiver: keeps every body posted to /v1/traces and /v1/metrics,
// optionally after a delay (a slow collector).
class OtlpReceiver {
 public:
  explicit OtlpReceiver(std::chrono::milliseconds delay = {}) : delay_(delay) {
    auto handler = [this](std::vector<std::string>& into) {
      return [this, &into](const httplib::Request& req, httplib::Response& res) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, delay_, [&] { return stopping_; });
        into.push_back(req.body);
        res.set_content("{}", "application/json");
      };
    };
    svr_.Post("/v1/traces", handler(traces_));
    svr_.Post("/v1/metrics", handler(metrics_));
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
  }
  ~OtlpReceiver() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    svr_.stop();
    thread_.join();
  }
  std::string endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }
  std::vector<std::string> traces() {
    std::lock_guard lock(mu_);
    return traces_;
  }
  std::vector<std::string> metrics() {
    std::lock_guard lock(mu_);
    return metrics_;
  }

 private:
  std::chrono::milliseconds delay_;
  httplib::Server svr_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;             // guarded by mu_
  std::vector<std::string> traces_;   // guarded by mu_
  std::vector<std::string> metrics_;  // guarded by mu_
};

// One exported span, flattened: attribute values as text.
struct Span {
  std::string trace_id, span_id, parent_span_id, name;
  int64_t kind = 0;
  int64_t status = 0;
  std::string start, end;
  std::map<std::string, std::string> attributes;
  std::string attr(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? "" : it->second;
  }
};

std::string text(simdjson::dom::element e) { return std::string(std::string_view(e.get_string().value())); }

// Every span of every payload; fails the test on a payload that is not OTLP/JSON.
std::vector<Span> spans_of(const std::vector<std::string>& payloads) {
  std::vector<Span> out;
  simdjson::dom::parser parser;
  for (const std::string& p : payloads) {
    simdjson::dom::element doc;
    if (parser.parse(p).get(doc) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not JSON: " << p;
      continue;
    }
    for (auto rs : doc["resourceSpans"].get_array()) {
      bool named = false;
      for (auto a : rs["resource"]["attributes"].get_array()) {
        if (text(a["key"]) == "service.name") named = text(a["value"]["stringValue"]) == "otel-test";
      }
      EXPECT_TRUE(named) << p;
      for (auto ss : rs["scopeSpans"].get_array()) {
        EXPECT_EQ(text(ss["scope"]["name"]), "llmrouter");
        for (auto sp : ss["spans"].get_array()) {
          Span s;
          s.trace_id = text(sp["traceId"]);
          s.span_id = text(sp["spanId"]);
          if (sp["parentSpanId"].is_string()) s.parent_span_id = text(sp["parentSpanId"]);
          s.name = text(sp["name"]);
          s.kind = sp["kind"].get_int64().value();
          s.start = text(sp["startTimeUnixNano"]);
          s.end = text(sp["endTimeUnixNano"]);
          s.status = sp["status"]["code"].get_int64().value();
          for (auto a : sp["attributes"].get_array()) {
            auto v = a["value"];
            std::string value;
            if (v["stringValue"].is_string()) {
              value = text(v["stringValue"]);
            } else if (v["intValue"].is_string()) {
              value = text(v["intValue"]);
            } else if (v["boolValue"].is_bool()) {
              value = v["boolValue"].get_bool().value() ? "true" : "false";
            } else if (v["doubleValue"].is_number()) {
              value = fmt::format("{}", v["doubleValue"].get_double().value());
            } else if (v["arrayValue"].is_object()) {
              for (auto item : v["arrayValue"]["values"].get_array()) {
                if (!value.empty()) value += ",";
                value += text(item["stringValue"]);
              }
            }
            s.attributes[text(a["key"])] = value;
          }
          out.push_back(std::move(s));
        }
      }
    }
  }
  return out;
}

bool is_hex(const std::string& s, std::size_t len) {
  return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos &&
         s != std::string(len, '0');
}

std::map<std::string, std::vector<Span>> by_trace(const std::vector<Span>& spans) {
  std::map<std::string, std::vector<Span>> out;
  for (const Span& s : spans) out[s.trace_id].push_back(s);
  return out;
}

const Span* find_kind(const std::vector<Span>& spans, int64_t kind) {
  for (const Span& s : spans) {
    if (s.kind == kind) return &s;
  }
  return nullptr;
}

// The trace_id field of each JSONL log line ("" for null).
std::vector<std::string> logged_trace_ids(const std::string& path) {
  std::vector<std::string> ids;
  std::ifstream in(path);
  std::string line;
  simdjson::dom::parser parser;
  while (std::getline(in, line)) {
    simdjson::dom::element doc;
    if (parser.parse(line).get(doc) != simdjson::SUCCESS) {
      ADD_FAILURE() << line;
      continue;
    }
    ids.push_back(doc["trace_id"].is_string() ? text(doc["trace_id"]) : "");
  }
  return ids;
}

// The router in front of the mock (one openai-format provider), exporting to `endpoint`.
class RunningRouter : public testing::RunningServer {
 public:
  RunningRouter(const testing::MockUpstream& mock, std::string telemetry,
                const std::string& log_path, TelemetryOptions options = {})
      : RunningServer(config(mock, telemetry, log_path), server_options(options)) {}

  httplib::Result post(const std::string& body, const httplib::Headers& headers = {}) {
    return client().Post("/v1/chat/completions", headers, body, "application/json");
  }
  TelemetryStats stats() {
    return dynamic_cast<const Telemetry&>(*server().pipeline().tracing()).stats();
  }

 private:
  static Config config(const testing::MockUpstream& mock, const std::string& telemetry, const std::string& log_path) {
    return testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
[logging]
enabled = true
path = "{}"
[telemetry]
service_name = "otel-test"
{}
[[providers]]
name = "up"
format = "openai"
base_url = "{}/v1"
[[routers]]
type = "fallback"
providers = ["up"]
)",
                                                     log_path, telemetry, mock.base_url()));
  }
  static server::ServerOptions server_options(TelemetryOptions options) {
    server::ServerOptions o;
    o.telemetry = options;
    return o;
  }
};

std::string chat(std::string_view model, bool stream = false) {
  return fmt::format(R"({{"model":"{}","stream":{},"messages":[{{"role":"user","content":"hi"}}]}})", model, stream);
}

// A temporary directory for the log, removed at the end.
struct TempDir {
  TempDir() : path(std::filesystem::temp_directory_path() / fmt::format("llmrouter-otel-test-{}-{}", ::getpid(), ++n)) {
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string log() const { return (path / "requests.jsonl").string(); }
  std::filesystem::path path;
  static inline int n = 0;
};

std::string telemetry_on(const OtlpReceiver& r, double ratio = 1.0) {
  return fmt::format("enabled = true\notlp_endpoint = \"{}\"\nsample_ratio = {}\n", r.endpoint(), ratio);
}

TEST(TelemetryTest, EachRequestIsOneTraceWithGenAiAttributesAndItsIdInTheLog) {
  testing::MockUpstream mock;
  OtlpReceiver receiver;
  TempDir dir;
  TelemetryOptions o;
  o.export_interval = std::chrono::milliseconds(100);
  RunningRouter router(mock, telemetry_on(receiver), dir.log(), o);
  auto r1 = router.post(chat("gpt-test"));
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  auto r2 = router.post(chat("gpt-test", true));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  router.stop();

  const auto traces = by_trace(spans_of(receiver.traces()));
  ASSERT_EQ(traces.size(), 2u);
  std::set<std::string> trace_ids;
  for (const auto& [trace_id, spans] : traces) {
    trace_ids.insert(trace_id);
    EXPECT_TRUE(is_hex(trace_id, 32)) << trace_id;
    ASSERT_EQ(spans.size(), 3u);
    const Span* root = find_kind(spans, 2);
    const Span* attempt = find_kind(spans, 3);
    const Span* route = find_kind(spans, 1);
    ASSERT_TRUE(root && attempt && route);
    for (const Span& s : spans) {
      EXPECT_TRUE(is_hex(s.span_id, 16)) << s.span_id;
      EXPECT_FALSE(s.start.empty());
      EXPECT_LE(std::stoll(s.start), std::stoll(s.end));
    }
    EXPECT_EQ(root->parent_span_id, "");
    EXPECT_EQ(route->parent_span_id, root->span_id);
    EXPECT_EQ(attempt->parent_span_id, root->span_id);
    EXPECT_NE(route->span_id, attempt->span_id);

    EXPECT_EQ(root->name, "chat gpt-test");
    EXPECT_EQ(root->attr("gen_ai.operation.name"), "chat");
    EXPECT_EQ(root->attr("gen_ai.request.model"), "gpt-test");
    EXPECT_EQ(root->attr("http.response.status_code"), "200");
    EXPECT_EQ(root->status, 0);
    EXPECT_EQ(route->name, "llmrouter.route");
    EXPECT_EQ(route->attr("llmrouter.provider"), "up");
    EXPECT_EQ(route->attr("llmrouter.rule.type"), "fallback");

    EXPECT_EQ(attempt->name, "chat gpt-test");
    EXPECT_EQ(attempt->attr("gen_ai.operation.name"), "chat");
    EXPECT_EQ(attempt->attr("gen_ai.provider.name"), "openai");
    EXPECT_EQ(attempt->attr("gen_ai.system"), "openai");
    EXPECT_EQ(attempt->attr("gen_ai.request.model"), "gpt-test");
    EXPECT_EQ(attempt->attr("gen_ai.response.model"), "gpt-4.1-2025-04-14");  // the recorded reply's
    EXPECT_EQ(attempt->attr("server.address"), "127.0.0.1");
    EXPECT_EQ(attempt->attr("server.port"), std::to_string(mock.port()));
    EXPECT_EQ(attempt->attr("llmrouter.provider"), "up");
    EXPECT_EQ(attempt->attr("error.type"), "");
    if (root->attr("llmrouter.stream") == "false") {
      // The recorded non-streamed reply: 812 prompt and 41 completion tokens, tool calls.
      EXPECT_EQ(attempt->attr("gen_ai.usage.input_tokens"), "812");
      EXPECT_EQ(attempt->attr("gen_ai.usage.output_tokens"), "41");
      EXPECT_EQ(attempt->attr("gen_ai.response.finish_reasons"), "tool_use");
      EXPECT_EQ(root->attr("gen_ai.usage.input_tokens"), "812");
    } else {
      EXPECT_FALSE(attempt->attr("gen_ai.response.finish_reasons").empty());
    }
  }
  // The log line of each request names its trace.
  const auto logged = logged_trace_ids(dir.log());
  EXPECT_EQ(std::set<std::string>(logged.begin(), logged.end()), trace_ids);

  // Metrics: two requests for (up, gpt-test), cumulative.
  const auto metrics = receiver.metrics();
  ASSERT_FALSE(metrics.empty());
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(metrics.back()).get(doc), simdjson::SUCCESS);
  auto requests = doc["resourceMetrics"].at(0)["scopeMetrics"].at(0)["metrics"].at(0);
  EXPECT_EQ(text(requests["name"]), "llmrouter.requests");
  EXPECT_EQ(text(requests["sum"]["dataPoints"].at(0)["asInt"]), "2");
  EXPECT_EQ(requests["sum"]["aggregationTemporality"].get_int64().value(), 2);
}

TEST(TelemetryTest, AClientsTraceparentContinuesInTheTraceAndUpstream) {
  testing::MockUpstream mock;
  OtlpReceiver receiver;
  TempDir dir;
  RunningRouter router(mock, telemetry_on(receiver), dir.log());
  const std::string incoming = fmt::format("00-{}-{}-01", kTrace, kParent);
  auto r = router.post(chat("gpt-test"), {{"traceparent", incoming}, {"tracestate", "vendor=abc"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Upstream saw the same trace, with the attempt's span as its parent.
  const std::string upstream = mock.last_header("/v1/chat/completions", "traceparent");
  ASSERT_EQ(upstream.size(), 55u) << upstream;
  EXPECT_EQ(upstream.substr(0, 36), fmt::format("00-{}-", kTrace));
  EXPECT_EQ(upstream.substr(52), "-01");
  EXPECT_NE(upstream.substr(36, 16), kParent);
  EXPECT_EQ(mock.last_header("/v1/chat/completions", "tracestate"), "vendor=abc");
  router.stop();

  const auto traces = by_trace(spans_of(receiver.traces()));
  ASSERT_EQ(traces.size(), 1u);
  ASSERT_EQ(traces.begin()->first, kTrace);
  const auto& spans = traces.begin()->second;
  const Span* root = find_kind(spans, 2);
  const Span* attempt = find_kind(spans, 3);
  ASSERT_TRUE(root && attempt);
  EXPECT_EQ(root->parent_span_id, kParent);
  EXPECT_EQ(attempt->span_id, upstream.substr(36, 16));
  EXPECT_THAT(logged_trace_ids(dir.log()), ::testing::ElementsAre(std::string(kTrace)));
}

TEST(TelemetryTest, AnInvalidTraceparentIsIgnored) {
  testing::MockUpstream mock;
  OtlpReceiver receiver;
  TempDir dir;
  RunningRouter router(mock, telemetry_on(receiver), dir.log());
  const std::string upper = fmt::format("00-{}-{}-01", "4BF92F3577B34DA6A3CE929D0E0E4736", kParent);
  auto r = router.post(chat("gpt-test"), {{"traceparent", upper}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const std::string upstream = mock.last_header("/v1/chat/completions", "traceparent");
  router.stop();
  const auto traces = by_trace(spans_of(receiver.traces()));
  ASSERT_EQ(traces.size(), 1u);
  const std::string& trace_id = traces.begin()->first;
  EXPECT_NE(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(upstream.substr(3, 32), trace_id);
  EXPECT_EQ(find_kind(traces.begin()->second, 2)->parent_span_id, "");
}

TEST(TelemetryTest, SampledOutRequestsExportNoSpansButKeepTheirTraceIds) {
  testing::MockUpstream mock;
  OtlpReceiver receiver;
  TempDir dir;
  RunningRouter router(mock, telemetry_on(receiver, 0.0), dir.log());
  for (int i = 0; i < 3; ++i) {
    auto r = router.post(chat("gpt-test"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  // Unsampled upstream: flags 00.
  const std::string upstream = mock.last_header("/v1/chat/completions", "traceparent");
  EXPECT_EQ(upstream.substr(52), "-00") << upstream;
  router.stop();
  EXPECT_TRUE(spans_of(receiver.traces()).empty());
  EXPECT_FALSE(receiver.metrics().empty());  // metrics are not sampled
  const auto logged = logged_trace_ids(dir.log());
  ASSERT_EQ(logged.size(), 3u);
  for (const std::string& id : logged) EXPECT_TRUE(is_hex(id, 32)) << id;
}

TEST(TelemetryTest, AnUnsampledClientTraceIsNotExportedEvenAtRatioOne) {
  testing::MockUpstream mock;
  OtlpReceiver receiver;
  TempDir dir;
  RunningRouter router(mock, telemetry_on(receiver, 1.0), dir.log());
  auto r = router.post(chat("gpt-test"), {{"traceparent", fmt::format("00-{}-{}-00", kTrace, kParent)}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const std::string upstream = mock.last_header("/v1/chat/completions", "traceparent");
  EXPECT_EQ(upstream.substr(0, 36), fmt::format("00-{}-", kTrace));
  EXPECT_EQ(upstream.substr(52), "-00");
  router.stop();
  EXPECT_TRUE(spans_of(receiver.traces()).empty());
  EXPECT_THAT(logged_trace_ids(dir.log()), ::testing::ElementsAre(std::string(kTrace)));
}

TEST(TelemetryTest, WithTelemetryOffAClientTraceparentIsLoggedAndPassedOnUnchanged) {
  testing::MockUpstream mock;
  TempDir dir;
  RunningRouter router(mock, "enabled = false\n", dir.log());
  const std::string incoming = fmt::format("00-{}-{}-01", kTrace, kParent);
  ASSERT_TRUE(router.post(chat("gpt-test"), {{"traceparent", incoming}}));
  EXPECT_EQ(mock.last_header("/v1/chat/completions", "traceparent"), incoming);
  ASSERT_TRUE(router.post(chat("gpt-test")));
  EXPECT_EQ(mock.last_header("/v1/chat/completions", "traceparent"), "");
  router.stop();
  EXPECT_THAT(logged_trace_ids(dir.log()), ::testing::ElementsAre(std::string(kTrace), ""));
}

TEST(TelemetryTest, ShutdownExportsWhatIsStillQueued) {
  testing::MockUpstream mock;
  OtlpReceiver receiver;
  TempDir dir;
  TelemetryOptions o;
  o.export_interval = std::chrono::hours(1);  // only the shutdown sends anything
  o.metrics_interval = std::chrono::hours(1);
  o.batch_size = 1000;
  RunningRouter router(mock, telemetry_on(receiver), dir.log(), o);
  ASSERT_TRUE(router.post(chat("gpt-test")));
  EXPECT_TRUE(receiver.traces().empty());
  router.stop();
  EXPECT_EQ(spans_of(receiver.traces()).size(), 3u);
  EXPECT_EQ(receiver.metrics().size(), 1u);
  EXPECT_EQ(router.stats().spans_exported, 3u);
}

// A port nothing listens on.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(TelemetryTest, ADeadCollectorNeverFailsARequest) {
  testing::MockUpstream mock;
  TempDir dir;
  TelemetryOptions o;
  o.batch_size = 3;
  o.export_timeout = std::chrono::milliseconds(500);
  o.shutdown_timeout = std::chrono::milliseconds(1000);
  RunningRouter router(
      mock, fmt::format("enabled = true\notlp_endpoint = \"http://127.0.0.1:{}\"\n", closed_port()),
      dir.log(), o);
  for (int i = 0; i < 10; ++i) {
    auto r = router.post(chat("gpt-test", i % 2 == 1));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  router.stop();
  const TelemetryStats s = router.stats();
  EXPECT_EQ(s.spans_exported, 0u);
  EXPECT_GE(s.exports_failed, 1u);
  EXPECT_EQ(s.spans_dropped, 30u);  // 10 traces of 3 spans, none delivered
}

TEST(TelemetryTest, ASlowCollectorOverflowsTheBoundedQueueNotTheRequests) {
  testing::MockUpstream mock;
  OtlpReceiver receiver(std::chrono::seconds(5));
  TempDir dir;
  TelemetryOptions o;
  o.batch_size = 3;
  o.max_queued_spans = 6;
  o.export_timeout = std::chrono::milliseconds(300);
  o.shutdown_timeout = std::chrono::milliseconds(500);
  RunningRouter router(mock, telemetry_on(receiver), dir.log(), o);
  for (int i = 0; i < 12; ++i) {
    auto r = router.post(chat("gpt-test"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  router.stop();
  const TelemetryStats s = router.stats();
  EXPECT_EQ(s.spans_exported, 0u);   // every export outlived its timeout
  EXPECT_EQ(s.spans_dropped, 36u);   // overflowed, timed out, or left at shutdown
  EXPECT_GE(s.exports_failed, 1u);
  EXPECT_EQ(logged_trace_ids(dir.log()).size(), 12u);
}

}  // namespace
}  // namespace llmrouter
