// SPDX-License-Identifier: MIT
#include "router_events.h"

#include <simdjson.h>

#include <string>

namespace llmrouter::console {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

Unexpected bad(std::string_view path, std::string_view what) {
  return fail(Errc::InvalidRequest, std::string(path) + ": " + std::string(what));
}

// Readers: each accepts null as "absent" (the member keeps its default).
Result<void> read_string(element v, std::string_view path, std::string& out) {
  if (v.is_null()) return {};
  std::string_view s;
  if (v.get(s)) return bad(path, "expected a string");
  out.assign(s);
  return {};
}

Result<void> read_optional_string(element v, std::string_view path, std::optional<std::string>& out) {
  if (v.is_null()) {
    out.reset();
    return {};
  }
  std::string_view s;
  if (v.get(s)) return bad(path, "expected a string or null");
  out.emplace(s);
  return {};
}

Result<void> read_int(element v, std::string_view path, int64_t& out) {
  if (v.is_null()) return {};
  if (v.is_int64()) {
    out = v.get_int64().value_unsafe();
  } else if (v.is_uint64()) {
    out = static_cast<int64_t>(v.get_uint64().value_unsafe());
  } else if (v.is_double()) {
    out = static_cast<int64_t>(v.get_double().value_unsafe());
  } else {
    return bad(path, "expected a number");
  }
  return {};
}

Result<void> read_uint(element v, std::string_view path, uint64_t& out) {
  int64_t i = 0;
  if (auto r = read_int(v, path, i); !r) return r;
  out = i < 0 ? 0 : static_cast<uint64_t>(i);
  return {};
}

Result<void> read_double(element v, std::string_view path, double& out) {
  if (v.is_null()) return {};
  double d = 0;
  if (v.get(d)) return bad(path, "expected a number");
  out = d;
  return {};
}

Result<void> read_bool(element v, std::string_view path, bool& out) {
  if (v.is_null()) return {};
  bool b = false;
  if (v.get(b)) return bad(path, "expected a boolean");
  out = b;
  return {};
}

Result<void> read_strings(element v, std::string_view path, std::vector<std::string>& out) {
  out.clear();
  if (v.is_null()) return {};
  array a;
  if (v.get(a)) return bad(path, "expected an array of strings");
  for (element item : a) {
    std::string_view s;
    if (item.get(s)) return bad(path, "expected an array of strings");
    out.emplace_back(s);
  }
  return {};
}

std::string raw_json(element v) { return simdjson::minify(v); }

std::string_view string_member(object o, std::string_view key) {
  std::string_view s;
  if (o[key].get(s)) return {};
  return s;
}

Result<void> read_messages(element v, std::vector<LoggedMessage>& out) {
  out.clear();
  if (v.is_null()) return {};
  array a;
  if (v.get(a)) return bad("messages", "expected an array");
  for (element item : a) {
    object m;
    if (item.get(m)) return bad("messages", "expected objects");
    LoggedMessage msg;
    msg.role = std::string(string_member(m, "role"));
    array content;
    if (!m["content"].get(content)) {
      for (element block_el : content) {
        object block;
        if (block_el.get(block)) continue;
        const std::string_view type = string_member(block, "type");
        std::string piece;
        if (type == "text") {
          piece = std::string(string_member(block, "text"));
        } else if (type == "image") {
          piece = "[image]";
        } else if (type == "tool_use") {
          piece = "[tool_use " + std::string(string_member(block, "name")) + "]";
        } else if (type == "tool_result") {
          piece = "[tool_result] " + std::string(string_member(block, "text"));
        } else if (type == "document") {
          piece = "[document]";
        } else {
          continue;  // thinking and opaque blocks are not shown
        }
        if (!msg.text.empty()) msg.text += '\n';
        msg.text += piece;
      }
    } else {
      msg.text = std::string(string_member(m, "content"));
    }
    out.push_back(std::move(msg));
  }
  return {};
}

Result<void> read_response(element v, std::optional<ResponseInfo>& out) {
  if (v.is_null()) {
    out.reset();
    return {};
  }
  object o;
  if (v.get(o)) return bad("response", "expected an object or null");
  ResponseInfo r;
  for (auto field : o) {
    const std::string_view k = field.key;
    Result<void> ok;
    if (k == "id") {
      ok = read_string(field.value, "response.id", r.id);
    } else if (k == "model") {
      ok = read_string(field.value, "response.model", r.model);
    } else if (k == "content") {
      ok = read_string(field.value, "response.content", r.content);
    } else if (k == "stop_reason") {
      ok = read_string(field.value, "response.stop_reason", r.stop_reason);
    } else if (k == "tags") {
      ok = read_strings(field.value, "response.tags", r.tags);
    } else if (k == "tool_calls") {
      array calls;
      if (field.value.get(calls)) return bad("response.tool_calls", "expected an array");
      for (element c : calls) {
        object call;
        if (c.get(call)) return bad("response.tool_calls", "expected objects");
        ToolCallInfo t;
        t.id = std::string(string_member(call, "id"));
        t.name = std::string(string_member(call, "name"));
        element input;
        if (!call["input"].get(input)) t.input = raw_json(input);
        r.tool_calls.push_back(std::move(t));
      }
    }
    if (!ok) return ok;
  }
  out = std::move(r);
  return {};
}

Result<void> read_usage(element v, UsageInfo& u) {
  if (v.is_null()) return {};
  object o;
  if (v.get(o)) return bad("usage", "expected an object");
  for (auto field : o) {
    const std::string_view k = field.key;
    Result<void> ok;
    if (k == "input_tokens") {
      ok = read_uint(field.value, "usage.input_tokens", u.input_tokens);
    } else if (k == "output_tokens") {
      ok = read_uint(field.value, "usage.output_tokens", u.output_tokens);
    } else if (k == "cache_read_input_tokens") {
      ok = read_uint(field.value, "usage.cache_read_input_tokens", u.cache_read_input_tokens);
    } else if (k == "cache_creation_input_tokens") {
      ok = read_uint(field.value, "usage.cache_creation_input_tokens", u.cache_creation_input_tokens);
    }
    if (!ok) return ok;
  }
  return {};
}

Result<void> read_attempts(element v, std::vector<AttemptInfo>& out) {
  out.clear();
  if (v.is_null()) return {};
  array a;
  if (v.get(a)) return bad("attempts", "expected an array");
  for (element item : a) {
    object o;
    if (item.get(o)) return bad("attempts", "expected objects");
    AttemptInfo at;
    at.provider = std::string(string_member(o, "provider"));
    at.model = std::string(string_member(o, "model"));
    at.error = std::string(string_member(o, "error"));
    element d;
    if (!o["duration_ms"].get(d)) {
      if (auto r = read_int(d, "attempts.duration_ms", at.duration_ms); !r) return r;
    }
    out.push_back(std::move(at));
  }
  return {};
}

Result<void> read_complete_field(std::string_view k, element v, CompleteEvent& e) {
  if (k == "client_format") return read_string(v, k, e.client_format);
  if (k == "provider") return read_string(v, k, e.provider);
  if (k == "requested_model") return read_string(v, k, e.requested_model);
  if (k == "sent_model") return read_string(v, k, e.sent_model);
  if (k == "duration_ms") return read_int(v, k, e.duration_ms);
  if (k == "ttft_ms") {
    if (v.is_null()) return {};
    int64_t t = 0;
    if (auto r = read_int(v, k, t); !r) return r;
    e.ttft_ms = t;
    return {};
  }
  if (k == "stream") return read_bool(v, k, e.stream);
  if (k == "tags") return read_strings(v, k, e.tags);
  if (k == "trace_id") return read_string(v, k, e.trace_id);
  if (k == "plugins") return read_strings(v, k, e.plugins);
  if (k == "system") return read_string(v, k, e.system);
  if (k == "messages") return read_messages(v, e.messages);
  if (k == "response") return read_response(v, e.response);
  if (k == "usage") return read_usage(v, e.usage);
  if (k == "cost_usd") return read_double(v, k, e.cost_usd);
  if (k == "attempts") return read_attempts(v, e.attempts);
  if (k == "error") return read_optional_string(v, k, e.error);
  return {};
}

}  // namespace

std::string CompleteEvent::prompt() const {
  for (std::size_t i = messages.size(); i-- > 0;) {  // the last one first
    const LoggedMessage& m = messages[i];
    if (m.role == "user" || m.role == "tool") return m.text;
  }
  return {};
}

std::string_view event_type(const RouterEvent& e) {
  switch (e.index()) {
    case 0:
      return "start";
    case 1:
      return "classified";
    case 2:
      return "routed";
    case 3:
      return "complete";
    case 4:
      return "health";
    default:
      return "reload";
  }
}

uint64_t event_id(const RouterEvent& e) {
  return std::visit([](const auto& ev) { return ev.id; }, e);
}

Result<RouterEvent> parse_event(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  element root;
  if (auto err = parser.parse(padded).get(root)) {
    return fail(Errc::InvalidRequest, std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  object o;
  if (root.get(o)) return fail(Errc::InvalidRequest, "an event must be a JSON object");
  std::string_view type;
  if (o["type"].get(type)) return fail(Errc::InvalidRequest, "type: missing or not a string");

  uint64_t id = 0;
  int64_t ts_ms = 0;
  element v;
  if (!o["id"].get(v)) {
    if (auto r = read_uint(v, "id", id); !r) return fail(r.error());
  }
  if (!o["ts_ms"].get(v)) {
    if (auto r = read_int(v, "ts_ms", ts_ms); !r) return fail(r.error());
  }

  auto each = [&](auto&& read) -> Result<void> {
    for (auto field : o) {
      if (auto r = read(field.key, field.value); !r) return r;
    }
    return {};
  };

  if (type == "start") {
    StartEvent e{id, ts_ms, {}, 0};
    auto r = each([&](std::string_view k, element val) -> Result<void> {
      if (k == "model") return read_string(val, k, e.model);
      if (k == "in_flight") return read_uint(val, k, e.in_flight);
      return {};
    });
    if (!r) return fail(r.error());
    return e;
  }
  if (type == "classified") {
    ClassifiedEvent e{id, ts_ms, {}};
    auto r = each([&](std::string_view k, element val) -> Result<void> {
      if (k == "tags") return read_strings(val, k, e.tags);
      return {};
    });
    if (!r) return fail(r.error());
    return e;
  }
  if (type == "routed") {
    RoutedEvent e{id, ts_ms, {}, {}, {}};
    auto r = each([&](std::string_view k, element val) -> Result<void> {
      if (k == "provider") return read_string(val, k, e.provider);
      if (k == "model") return read_string(val, k, e.model);
      if (k == "reason") return read_string(val, k, e.reason);
      return {};
    });
    if (!r) return fail(r.error());
    return e;
  }
  if (type == "complete") {
    CompleteEvent e;
    e.id = id;
    e.ts_ms = ts_ms;
    auto r = each([&](std::string_view k, element val) { return read_complete_field(k, val, e); });
    if (!r) return fail(r.error());
    return e;
  }
  if (type == "health") {
    HealthEvent e;
    e.ts_ms = ts_ms;
    auto r = each([&](std::string_view k, element val) -> Result<void> {
      if (k == "provider") return read_string(val, k, e.provider);
      if (k == "state") return read_string(val, k, e.state);
      if (k == "duration_ms") return read_int(val, k, e.duration_ms);
      if (k == "failures") return read_uint(val, k, e.failures);
      if (k == "reason") return read_string(val, k, e.reason);
      return {};
    });
    if (!r) return fail(r.error());
    return e;
  }
  if (type == "reload") {
    ReloadEvent e;
    e.ts_ms = ts_ms;
    auto r = each([&](std::string_view k, element val) -> Result<void> {
      if (k == "ok") return read_bool(val, k, e.ok);
      if (k == "source") return read_string(val, k, e.source);
      if (k == "errors") return read_strings(val, k, e.errors);
      if (k == "restart_required") return read_strings(val, k, e.restart_required);
      return {};
    });
    if (!r) return fail(r.error());
    return e;
  }
  return fail(Errc::InvalidRequest, "type: unknown event type '" + std::string(type) + "'");
}

}  // namespace llmrouter::console
