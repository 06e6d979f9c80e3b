// SPDX-License-Identifier: MIT
// A request's spans and their attributes. Names and attributes follow the OpenTelemetry
// GenAI semantic conventions (gen_ai.*), with llmrouter.* for what is the router's own.
#include "telemetry/request_trace.h"

#include <fmt/format.h>

#include "telemetry/exporter.h"

namespace llmrouter::detail::telemetry {
namespace {

constexpr std::size_t kMaxTracestate = 512;

std::string span_name(std::string_view model) {
  return model.empty() ? std::string("chat") : fmt::format("chat {}", model);
}

void set_error(SpanRecord& s, const Error& e) {
  s.set("error.type", error_type(e));
  s.status = StatusCode::Error;
  s.status_message = e.message;
}

void set_response(SpanRecord& s, const Response& r) {
  if (!r.model.empty()) s.set("gen_ai.response.model", r.model);
  if (!r.id.empty()) s.set("gen_ai.response.id", r.id);
  s.set("gen_ai.usage.input_tokens", static_cast<int64_t>(r.usage.input_tokens));
  s.set("gen_ai.usage.output_tokens", static_cast<int64_t>(r.usage.output_tokens));
  s.set("gen_ai.response.finish_reasons", std::vector<std::string>{std::string(stop_reason_name(r.stop_reason))});
}

}  // namespace

std::string error_type(const Error& e) {
  if (e.upstream_status > 0) return fmt::format("{}", e.upstream_status);
  return std::string(errc_name(e.code));
}

void server_address(std::string_view url, std::string& host, int64_t& port) {
  const bool https = url.starts_with("https://");
  const std::size_t scheme_end = url.find("://");
  std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  port = https ? 443 : 80;
  std::string_view port_text;
  if (rest.starts_with('[')) {  // [IPv6]:port
    const std::size_t close = rest.find(']');
    host = std::string(rest.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
    if (close != std::string_view::npos && close + 1 < rest.size() && rest[close + 1] == ':') {
      port_text = rest.substr(close + 2);
    }
  } else {
    const std::size_t colon = rest.rfind(':');
    host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (!port_text.empty()) {
    int64_t p = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || p > 65535) return;
      p = p * 10 + (c - '0');
    }
    if (p <= 65535) port = p;
  }
}

std::unique_ptr<RequestTrace> begin_trace(const Headers& headers, const Telemetry* telemetry) {
  // W3C: two traceparent headers make the context invalid; tracestate only counts with a
  // valid traceparent.
  const std::string* traceparent = nullptr;
  const std::string* tracestate = nullptr;
  int traceparents = 0;
  for (const auto& [k, v] : headers) {
    if (k == "traceparent") {
      ++traceparents;
      traceparent = &v;
    } else if (k == "tracestate") {
      tracestate = &v;
    }
  }
  std::optional<TraceContext> parent;
  if (traceparents == 1) parent = parse_traceparent(*traceparent);
  if (!parent && !telemetry) return nullptr;

  auto t = std::make_unique<RequestTrace>();
  t->start_ns = unix_nanos();
  if (telemetry) t->exporter = &telemetry->exporter();
  if (parent) {
    t->trace_id = parent->trace_id;
    t->parent_id = parent->span_id;
    t->sampled = parent->sampled;
    if (tracestate && tracestate->size() <= kMaxTracestate) t->tracestate = *tracestate;
  } else {
    t->trace_id = new_trace_id();
    t->sampled = ratio_sampled(t->trace_id, telemetry->config().sample_ratio);
  }
  t->root_id = telemetry ? new_span_id() : t->parent_id;
  return t;
}

void trace_route(RequestTrace& t, const PreparedRequest* p, const Error* error) {
  if (!t.recording()) return;
  SpanRecord s;
  s.trace_id = t.trace_id;
  s.span_id = new_span_id();
  s.parent_span_id = t.root_id;
  s.name = "llmrouter.route";
  s.kind = SpanKind::Internal;
  s.start_ns = t.start_ns;
  s.end_ns = unix_nanos();
  if (p) {
    s.set("llmrouter.tags", p->request.tags);
    if (!p->state.active_plugins.empty()) s.set("llmrouter.plugins", p->state.active_plugins);
    if (p->decision) {
      const RouteDecision& d = *p->decision;
      s.set("llmrouter.provider", d.target.provider);
      s.set("gen_ai.request.model", d.target.model);
      s.set("llmrouter.rule.index", static_cast<int64_t>(d.target.rule_index));
      if (d.target.rule_index >= 0) s.set("llmrouter.rule.type", d.target.rule_type);
      s.set("llmrouter.route.reason", d.reason);
      s.set("llmrouter.route.fallbacks", static_cast<int64_t>(d.fallbacks.size()));
    } else {
      s.set("llmrouter.provider", std::string("plugin"));
    }
  }
  if (error) set_error(s, *error);
  t.spans.push_back(std::move(s));
}

AttemptSpan begin_attempt(RequestTrace& t, SendOptions& options) {
  AttemptSpan a;
  a.start_ns = unix_nanos();
  // With telemetry off, the client's context goes upstream as it came; with it on, the
  // attempt's span is the upstream's parent (an id is made even when not sampled, as the
  // W3C spec asks of a participant).
  a.id = t.exporter ? new_span_id() : t.parent_id;
  options.traceparent = format_traceparent(TraceContext{t.trace_id, a.id, t.sampled});
  options.tracestate = t.tracestate;
  return a;
}

void end_attempt(RequestTrace& t, const AttemptSpan& a, const RouteTarget& target, const ProviderConfig* provider,
                 const Error* error) {
  if (!t.recording()) return;
  SpanRecord s;
  s.trace_id = t.trace_id;
  s.span_id = a.id;
  s.parent_span_id = t.root_id;
  s.name = span_name(target.model);
  s.kind = SpanKind::Client;
  s.start_ns = a.start_ns;
  s.end_ns = unix_nanos();
  s.set("gen_ai.operation.name", std::string("chat"));
  if (provider) {
    const std::string system(wire_format_name(provider->format));
    s.set("gen_ai.provider.name", system);
    s.set("gen_ai.system", system);
    std::string host;
    int64_t port = 0;
    server_address(provider->base_url, host, port);
    s.set("server.address", std::move(host));
    s.set("server.port", port);
  }
  s.set("gen_ai.request.model", target.model);
  s.set("llmrouter.provider", target.provider);
  if (error) {
    if (error->upstream_status > 0) s.set("http.response.status_code", static_cast<int64_t>(error->upstream_status));
    set_error(s, *error);
  } else {
    t.answered = t.spans.size();
  }
  t.spans.push_back(std::move(s));
}

void trace_response(RequestTrace& t, const Response& response) {
  if (!t.recording() || t.answered >= t.spans.size()) return;
  set_response(t.spans[t.answered], response);
}

void trace_stream_error(RequestTrace& t, const Error& error) {
  if (!t.recording() || t.answered >= t.spans.size()) return;
  set_error(t.spans[t.answered], error);
}

void finish_trace(RequestTrace& t, const Outcome& o, WireFormat client, std::string_view requested_model,
                  const Config& config) {
  if (!t.exporter) return;
  const int64_t end_ns = unix_nanos();
  const Attempt* last = o.attempts.empty() ? nullptr : &o.attempts.back();
  const PreparedRequest* p = o.prepared ? &*o.prepared : nullptr;
  const bool by_plugin = p && !p->decision && p->state.response;

  RequestPoint point;
  point.provider = by_plugin ? "plugin" : last ? last->provider : "";
  point.model = last ? last->model : "";
  point.error_type = o.error ? error_type(*o.error) : "";
  point.duration_s = static_cast<double>(end_ns - t.start_ns) * 1e-9;
  if (o.response) {
    point.input_tokens = o.response->usage.input_tokens;
    point.output_tokens = o.response->usage.output_tokens;
  }
  t.exporter->record(point);
  if (!t.sampled) return;

  SpanRecord root;
  root.trace_id = t.trace_id;
  root.span_id = t.root_id;
  root.parent_span_id = t.parent_id;
  root.name = span_name(requested_model);
  root.kind = SpanKind::Server;
  root.start_ns = t.start_ns;
  root.end_ns = end_ns;
  root.set("gen_ai.operation.name", std::string("chat"));
  if (!requested_model.empty()) root.set("gen_ai.request.model", std::string(requested_model));
  if (last) {
    if (const ProviderConfig* pc = config.find_provider(last->provider)) {
      const std::string system(wire_format_name(pc->format));
      root.set("gen_ai.provider.name", system);
      root.set("gen_ai.system", system);
    }
  }
  if (!point.provider.empty()) root.set("llmrouter.provider", point.provider);
  root.set("llmrouter.request_id", static_cast<int64_t>(o.id));
  root.set("llmrouter.client_format", std::string(wire_format_name(client)));
  root.set("llmrouter.stream", p && p->request.stream);
  root.set("llmrouter.attempts", static_cast<int64_t>(o.attempts.size()));
  if (p) root.set("llmrouter.tags", p->request.tags);
  if (o.ttft_ms && p && p->request.stream) root.set("llmrouter.ttft_ms", *o.ttft_ms);
  if (o.response) {
    set_response(root, *o.response);
    root.set("llmrouter.cost_usd", o.cost_usd);
  }
  // The host answers with the error's status unless the reply had begun (then 200, and
  // the error went in-band).
  root.set("http.response.status_code", static_cast<int64_t>(o.error && !o.delivered ? o.error->status() : 200));
  if (o.error) set_error(root, *o.error);

  t.spans.push_back(std::move(root));
  t.exporter->submit(std::move(t.spans));
  t.spans.clear();
}

}  // namespace llmrouter::detail::telemetry

namespace llmrouter {
namespace {

// A request's RequestTrace behind the pipeline's observer interface.
class RequestTracer final : public CallTracer {
 public:
  explicit RequestTracer(std::unique_ptr<detail::telemetry::RequestTrace> trace)
      : trace_(std::move(trace)) {}

  std::string trace_id() const override { return to_hex(trace_->trace_id); }
  void on_routed(const PreparedRequest* prepared, const Error* error) override {
    detail::telemetry::trace_route(*trace_, prepared, error);
  }
  void on_attempt_begin(SendOptions& options) override {
    span_ = detail::telemetry::begin_attempt(*trace_, options);
  }
  void on_attempt_end(const RouteTarget& target, const ProviderConfig* provider,
                      const Error* error) override {
    detail::telemetry::end_attempt(*trace_, span_, target, provider, error);
  }
  void on_response(const Response& response) override {
    detail::telemetry::trace_response(*trace_, response);
  }
  void on_stream_error(const Error& error) override {
    detail::telemetry::trace_stream_error(*trace_, error);
  }
  void on_finish(const Outcome& outcome, WireFormat client, std::string_view requested_model,
                 const Config& config) override {
    detail::telemetry::finish_trace(*trace_, outcome, client, requested_model, config);
  }

 private:
  std::unique_ptr<detail::telemetry::RequestTrace> trace_;
  detail::telemetry::AttemptSpan span_;
};

std::unique_ptr<CallTracer> tracer_for(const Headers& headers, const Telemetry* telemetry) {
  auto trace = detail::telemetry::begin_trace(headers, telemetry);
  if (!trace) return nullptr;
  return std::make_unique<RequestTracer>(std::move(trace));
}

class TraceContextOnly final : public CallTracing {
 public:
  std::unique_ptr<CallTracer> begin(const Headers& headers) const override {
    return tracer_for(headers, nullptr);
  }
};

}  // namespace

std::unique_ptr<CallTracer> Telemetry::begin(const Headers& headers) const {
  return tracer_for(headers, this);
}

std::shared_ptr<const CallTracing> trace_context_only() {
  static const auto tracing = std::make_shared<const TraceContextOnly>();
  return tracing;
}

}  // namespace llmrouter
