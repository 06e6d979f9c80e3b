// SPDX-License-Identifier: MIT
// The events as JSON: what the bus writes once per event, at its edge, for every subscriber
// (the dashboard, the console apps, the JSONL log). docs/pipeline.md lists the fields.
#include <chrono>
#include <type_traits>

#include "json/json.h"
#include "llmrouter/events.h"
#include "llmrouter/pipeline.h"

namespace llmrouter {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write_string_array(detail::json::Writer& w, const std::vector<std::string>& items) {
  w.begin_array();
  for (const std::string& s : items) w.string(s);
  w.end_array();
}

// Messages for the log: text in full, media and opaque blocks summarised (never their data).
void write_messages(detail::json::Writer& w, const std::vector<Message>& messages) {
  w.begin_array();
  for (const Message& m : messages) {
    w.begin_object();
    w.kv("role", role_name(m.role));
    w.key("content");
    w.begin_array();
    for (const ContentBlock& b : m.content) {
      w.begin_object();
      if (const auto* t = std::get_if<TextBlock>(&b)) {
        w.kv("type", "text");
        w.kv("text", t->text);
      } else if (const auto* img = std::get_if<ImageBlock>(&b)) {
        w.kv("type", "image");
        w.kv("media_type", img->media_type);
        w.kv_uint("bytes", img->data.size());
      } else if (const auto* u = std::get_if<ToolUseBlock>(&b)) {
        w.kv("type", "tool_use");
        w.kv("id", u->id);
        w.kv("name", u->name);
        w.kv_raw("input", u->input);
      } else if (const auto* r = std::get_if<ToolResultBlock>(&b)) {
        w.kv("type", "tool_result");
        w.kv("tool_use_id", r->tool_use_id);
        w.kv("text", text_of(*r));
        if (r->is_error) w.kv_bool("is_error", true);
      } else if (const auto* th = std::get_if<ThinkingBlock>(&b)) {
        w.kv("type", "thinking");
        w.kv("thinking", th->thinking);
      } else {
        w.kv("type", std::holds_alternative<DocumentBlock>(b) ? "document" : "other");
      }
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
}

void write_usage(detail::json::Writer& w, const Usage& u) {
  w.begin_object();
  w.kv_uint("input_tokens", u.input_tokens);
  w.kv_uint("output_tokens", u.output_tokens);
  w.kv_uint("cache_read_input_tokens", u.cache_read_input_tokens);
  w.kv_uint("cache_creation_input_tokens", u.cache_creation_input_tokens);
  w.end_object();
}

// Opens an event object: {"type", "id", "ts_ms", ... (the caller closes it).
void begin_event(detail::json::Writer& w, std::string_view type, uint64_t id) {
  w.begin_object();
  w.kv("type", type);
  w.kv_uint("id", id);
  w.kv_int("ts_ms", now_ms());
}

void write_event(detail::json::Writer& w, const CompleteEvent& e) {
  const Outcome& o = e.outcome;
  const WireFormat client = e.client;
  const std::string_view requested_model = e.requested_model;
  const std::string_view trace_id = e.trace_id;
  begin_event(w, "complete", o.id);
  const PreparedRequest* p = o.prepared ? &*o.prepared : nullptr;
  const bool by_plugin = p && !p->decision && p->state.response;
  std::string provider, sent_model;
  if (by_plugin) {
    provider = "plugin";
    sent_model = std::string(requested_model);
  } else if (!o.attempts.empty()) {
    provider = o.attempts.back().provider;
    sent_model = o.attempts.back().model;
  } else if (p && p->decision) {
    provider = p->decision->target.provider;
    sent_model = p->decision->target.model;
  }
  w.kv("client_format", wire_format_name(client));
  // The endpoints beside the conversation APIs name themselves; a chat request's line is as
  // it always was.
  if (p && p->request.endpoint != Endpoint::Chat)
    w.kv("endpoint", endpoint_name(p->request.endpoint));
  if (!o.key.empty()) w.kv("key", o.key);  // the team key's name (gateway.h), never the key
  w.key("provider");
  provider.empty() ? w.null() : w.string(provider);
  w.kv("requested_model", requested_model);
  w.key("sent_model");
  sent_model.empty() ? w.null() : w.string(sent_model);
  w.kv_int("duration_ms", o.duration_ms);
  w.key("ttft_ms");
  if (o.ttft_ms && p && p->request.stream) {
    w.integer(*o.ttft_ms);
  } else {
    w.null();
  }
  w.kv_bool("stream", p && p->request.stream);
  w.key("tags");
  write_string_array(w, p ? p->request.tags : std::vector<std::string>{});
  w.key("trace_id");
  trace_id.empty() ? w.null() : w.string(trace_id);
  w.key("plugins");
  write_string_array(w, p ? p->state.active_plugins : std::vector<std::string>{});
  w.key("system");
  if (p && !p->request.system.empty()) {
    w.string(system_text(p->request));
  } else {
    w.null();
  }
  w.key("messages");
  write_messages(w, p ? p->request.messages : std::vector<Message>{});
  w.key("response");
  if (o.response) {
    const Response& r = *o.response;
    w.begin_object();
    w.kv("id", r.id);
    w.kv("model", r.model);
    w.kv("content", text_of(r));
    w.kv("stop_reason", stop_reason_name(r.stop_reason));
    const auto calls = tool_calls(r);
    if (!calls.empty()) {
      w.key("tool_calls");
      w.begin_array();
      for (const ToolUseBlock* u : calls) {
        w.begin_object();
        w.kv("id", u->id);
        w.kv("name", u->name);
        w.kv_raw("input", u->input);
        w.end_object();
      }
      w.end_array();
    }
    w.key("tags");
    write_string_array(w, r.tags);
    w.end_object();
  } else {
    w.null();
  }
  w.key("usage");
  write_usage(w, o.response ? o.response->usage : Usage{});
  w.kv_number("cost_usd", o.cost_usd);
  w.key("attempts");
  w.begin_array();
  for (const Attempt& a : o.attempts) {
    w.begin_object();
    w.kv("provider", a.provider);
    w.kv("model", a.model);
    w.key("error");
    a.error.empty() ? w.null() : w.string(a.error);
    w.kv_int("duration_ms", a.duration_ms);
    w.end_object();
  }
  w.end_array();
  w.key("error");
  if (o.error) {
    w.string(o.error->message);
  } else {
    w.null();
  }
  w.end_object();
}

void write_event(detail::json::Writer& w, const StartEvent& e) {
  begin_event(w, "start", e.id);
  w.kv("model", e.model);
  w.kv_uint("in_flight", e.in_flight);
  w.end_object();
}

void write_event(detail::json::Writer& w, const ClassifiedEvent& e) {
  begin_event(w, "classified", e.id);
  w.key("tags");
  write_string_array(w, e.tags);
  w.end_object();
}

void write_event(detail::json::Writer& w, const RoutedEvent& e) {
  begin_event(w, "routed", e.id);
  w.kv("provider", e.provider);
  w.kv("model", e.model);
  w.kv("reason", e.reason);
  w.end_object();
}

void write_event(detail::json::Writer& w, const HealthEvent& e) {
  w.begin_object();
  w.kv("type", "health");
  w.kv_int("ts_ms", now_ms());
  w.kv("provider", e.provider);
  w.kv("state", e.state);
  if (e.state == "ejected") {
    w.kv_int("duration_ms", e.duration_ms);
    w.kv_uint("failures", e.failures);
    w.kv("reason", e.reason);
  }
  w.end_object();
}

void write_event(detail::json::Writer& w, const ReloadEvent& e) {
  w.begin_object();
  w.kv("type", "reload");
  w.kv_int("ts_ms", now_ms());
  w.kv_bool("ok", e.ok);
  w.kv("source", e.source);
  w.key("errors");
  write_string_array(w, e.errors);
  w.key("restart_required");
  write_string_array(w, e.restart_required);
  w.end_object();
}

}  // namespace

std::string_view event_type_name(EventType t) noexcept {
  switch (t) {
    case EventType::Start:
      return "start";
    case EventType::Classified:
      return "classified";
    case EventType::Routed:
      return "routed";
    case EventType::Complete:
      return "complete";
    case EventType::Health:
      return "health";
    case EventType::Reload:
      return "reload";
  }
  return "unknown";
}

// Event's alternatives are in EventType's order.
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(EventType::Start), Event>,
                   StartEvent>);
static_assert(std::is_same_v<
              std::variant_alternative_t<static_cast<std::size_t>(EventType::Classified), Event>,
              ClassifiedEvent>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(EventType::Routed), Event>,
                   RoutedEvent>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(EventType::Complete), Event>,
                   CompleteEvent>);

static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(EventType::Health), Event>,
                   HealthEvent>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(EventType::Reload), Event>,
                   ReloadEvent>);

EventType event_type(const Event& e) noexcept {
  return static_cast<EventType>(e.index());
}

std::string to_json(const Event& e) {
  std::string out;
  detail::json::Writer w(out);
  std::visit([&](const auto& event) { write_event(w, event); }, e);
  return out;
}

}  // namespace llmrouter
