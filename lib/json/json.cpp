// SPDX-License-Identifier: MIT
#include "json/json.h"

#include <charconv>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "llmrouter/log.h"
#include "util/strings.h"
#include "util/try.h"

namespace llmrouter::detail::json {

std::string Path::str() const {
  std::vector<const Path*> chain;
  for (const Path* p = this; p && (p->parent_ || p->is_index_ || !p->key_.empty()); p = p->parent_) {
    chain.push_back(p);
  }
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const Path& p = **it;
    if (p.is_index_) {
      fmt::format_to(std::back_inserter(out), "[{}]", p.index_);
    } else {
      if (!out.empty()) out += '.';
      out += p.key_;
    }
  }
  return out;
}

Unexpected error_at(const Path& path, std::string_view message) {
  const std::string where = path.str();
  return fail(Errc::InvalidRequest,
              where.empty() ? std::string(message) : fmt::format("{}: {}", where, message));
}

std::string_view type_name(const Element& e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: return "array";
    case simdjson::dom::element_type::OBJECT: return "object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: return "number";
    case simdjson::dom::element_type::STRING: return "string";
    case simdjson::dom::element_type::BOOL: return "boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
  }
  return "unknown";
}

namespace {

simdjson::dom::parser& parser_for(ParserSlot slot) {
  thread_local simdjson::dom::parser main_parser;
  thread_local simdjson::dom::parser scratch_parser;
  return slot == ParserSlot::Main ? main_parser : scratch_parser;
}

Unexpected type_error(const Element& e, const Path& path, std::string_view expected) {
  return error_at(path, fmt::format("expected {}, found {}", expected, type_name(e)));
}

}  // namespace

Result<Element> parse(std::string_view text, ParserSlot slot) {
  Element doc;
  const simdjson::error_code err = parser_for(slot).parse(text.data(), text.size(), true).get(doc);
  if (err) {
    return fail(Errc::InvalidRequest, fmt::format("invalid JSON: {}", simdjson::error_message(err)));
  }
  return doc;
}

Result<Element> parse_upstream(std::string_view text, ParserSlot slot) {
  Element doc;
  simdjson::error_code err = parser_for(slot).parse(text.data(), text.size(), true).get(doc);
  if (err == simdjson::UTF8_ERROR) {
    // The parser copies its input (realloc_if_needed), so the repaired text may go.
    const std::string repaired = repair_utf8(text);
    err = parser_for(slot).parse(repaired.data(), repaired.size(), true).get(doc);
    if (!err && log_enabled(LogLevel::Debug)) {
      log(LogLevel::Debug, "an upstream reply held invalid UTF-8; each invalid byte became U+FFFD");
    }
  }
  if (err) {
    return fail(Errc::InvalidRequest, fmt::format("invalid JSON: {}", simdjson::error_message(err)));
  }
  return doc;
}

bool is_valid(std::string_view text) { return parse(text, ParserSlot::Scratch).has_value(); }

bool is_object(std::string_view text) {
  Result<Element> e = parse(text, ParserSlot::Scratch);
  return e && e->is_object();
}

Result<Object> as_object(const Element& e, const Path& path) {
  Object o;
  if (e.get(o)) return type_error(e, path, "an object");
  return o;
}

Result<Array> as_array(const Element& e, const Path& path) {
  Array a;
  if (e.get(a)) return type_error(e, path, "an array");
  return a;
}

Result<std::string_view> as_string(const Element& e, const Path& path) {
  std::string_view s;
  if (e.get(s)) return type_error(e, path, "a string");
  return s;
}

Result<bool> as_bool(const Element& e, const Path& path) {
  bool b = false;
  if (e.get(b)) return type_error(e, path, "a boolean");
  return b;
}

Result<double> as_double(const Element& e, const Path& path) {
  double d = 0;
  if (e.get(d)) return type_error(e, path, "a number");
  return d;
}

Result<int64_t> as_int(const Element& e, const Path& path, int64_t min, int64_t max) {
  int64_t v = 0;
  if (e.is_int64()) {
    v = e.get_int64().value_unsafe();
  } else if (e.is_uint64()) {
    return error_at(path, fmt::format("must be between {} and {}", min, max));
  } else if (e.is_double()) {
    const double d = e.get_double().value_unsafe();
    if (d != std::floor(d) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
      return error_at(path, fmt::format("expected an integer between {} and {}, found {}", min, max, d));
    }
    v = static_cast<int64_t>(d);
  } else {
    return type_error(e, path, "an integer");
  }
  if (v < min || v > max) {
    return error_at(path, fmt::format("must be between {} and {}, got {}", min, max, v));
  }
  return v;
}

std::optional<Element> field(const Object& o, std::string_view key) {
  Element e;
  if (o.at_key(key).get(e) || e.is_null()) return std::nullopt;
  return e;
}

Result<Element> required(const Object& o, std::string_view key, const Path& path) {
  if (auto e = field(o, key)) return *e;
  return error_at(Path(path, key), "is required");
}

std::optional<uint64_t> count(const Object& o, std::string_view key) {
  if (auto v = field(o, key)) {
    if (v->is_uint64()) return v->get_uint64().value_unsafe();
    if (v->is_int64() && v->get_int64().value_unsafe() >= 0) return static_cast<uint64_t>(v->get_int64().value_unsafe());
  }
  return std::nullopt;
}

std::string string_or_empty(const Object& o, std::string_view key) {
  if (auto e = field(o, key); e && e->is_string()) return std::string(e->get_string().value_unsafe());
  return {};
}

Result<std::string> required_string(const Object& o, std::string_view key, const Path& path) {
  LLMROUTER_TRY(e, required(o, key, path));
  LLMROUTER_TRY(s, as_string(e, Path(path, key)));
  return std::string(s);
}

RawJson raw(const Element& e) { return RawJson{simdjson::minify(e)}; }

Value to_value(const Element& e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      Value::Array a;
      for (Element x : array_of(e)) a.push_back(to_value(x));
      return Value(std::move(a));
    }
    case simdjson::dom::element_type::OBJECT: {
      Value::Object o;
      for (auto [k, x] : object_of(e)) o.emplace_back(std::string(k), to_value(x));
      return Value(std::move(o));
    }
    case simdjson::dom::element_type::INT64: return Value(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
      return Value(static_cast<double>(e.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE: return Value(e.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING: return Value(e.get_string().value_unsafe());
    case simdjson::dom::element_type::BOOL: return Value(e.get_bool().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE: return Value();
  }
  return Value();
}

void Writer::key(std::string_view k) {
  prefix();
  detail::append_json_string(out_, k);
  out_.push_back(':');
  after_key_ = true;
}

void Writer::string(std::string_view s) {
  prefix();
  detail::append_json_string(out_, s);
}

namespace {
// Integers go through std::to_chars: every event and log line has several, and it is a
// fraction of the cost of a format call.
template <typename T>
void append_integer(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
}  // namespace

void Writer::integer(int64_t v) {
  prefix();
  append_integer(out_, v);
}

void Writer::uinteger(uint64_t v) {
  prefix();
  append_integer(out_, v);
}

void Writer::number(double v) {
  prefix();
  if (!std::isfinite(v)) {
    out_ += "null";
    return;
  }
  const std::size_t start = out_.size();
  fmt::format_to(std::back_inserter(out_), "{}", v);
  if (out_.find_first_of(".e", start) == std::string::npos) out_ += ".0";
}

void Writer::raw(std::string_view json) {
  prefix();
  if (json.empty()) {
    out_ += "null";
  } else {
    out_.append(json);
  }
}

void Writer::value(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Null: null(); break;
    case Value::Kind::Bool: boolean(v.as_bool()); break;
    case Value::Kind::Int: integer(v.as_int()); break;
    case Value::Kind::Double:
      if (std::isfinite(v.as_double())) {
        number(v.as_double());
      } else {
        null();
      }
      break;
    case Value::Kind::String: string(v.as_string()); break;
    case Value::Kind::Array:
      begin_array();
      for (const Value& e : v.as_array()) value(e);
      end_array();
      break;
    case Value::Kind::Object:
      begin_object();
      for (const auto& [k, e] : v.as_object()) {
        key(k);
        value(e);
      }
      end_object();
      break;
  }
}

}  // namespace llmrouter::detail::json
