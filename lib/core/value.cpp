// SPDX-License-Identifier: MIT
#include "llmrouter/value.h"

#include <cmath>

#include <fmt/format.h>

#include "util/strings.h"

namespace llmrouter {

const Value* Value::find(std::string_view key) const noexcept {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : std::get<Object>(data_)) {
    if (k == key) return &v;
  }
  return nullptr;
}

Value* Value::find(std::string_view key) noexcept {
  return const_cast<Value*>(std::as_const(*this).find(key));
}

Value& Value::set(std::string key, Value v) {
  if (is_null()) data_ = Object{};
  if (Value* existing = find(key)) {
    *existing = std::move(v);
    return *existing;
  }
  auto& obj = as_object();
  obj.emplace_back(std::move(key), std::move(v));
  return obj.back().second;
}

namespace {

void write_json(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Null: out += "null"; break;
    case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; break;
    case Value::Kind::Int: fmt::format_to(std::back_inserter(out), "{}", v.as_int()); break;
    case Value::Kind::Double: {
      const double d = v.as_double();
      if (!std::isfinite(d)) {
        out += "null";
      } else if (d == std::floor(d) && std::fabs(d) < 1e15) {
        fmt::format_to(std::back_inserter(out), "{:.1f}", d);  // keep it a float: 2.0
      } else {
        fmt::format_to(std::back_inserter(out), "{}", d);  // shortest round-trip form
      }
      break;
    }
    case Value::Kind::String: detail::append_json_string(out, v.as_string()); break;
    case Value::Kind::Array: {
      out.push_back('[');
      bool first = true;
      for (const Value& e : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        write_json(out, e);
      }
      out.push_back(']');
      break;
    }
    case Value::Kind::Object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        detail::append_json_string(out, k);
        out.push_back(':');
        write_json(out, e);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

std::string Value::to_json() const {
  std::string out;
  write_json(out, *this);
  return out;
}

std::string_view kind_name(Value::Kind kind) noexcept {
  switch (kind) {
    case Value::Kind::Null: return "null";
    case Value::Kind::Bool: return "boolean";
    case Value::Kind::Int: return "integer";
    case Value::Kind::Double: return "number";
    case Value::Kind::String: return "string";
    case Value::Kind::Array: return "array";
    case Value::Kind::Object: return "object";
  }
  return "unknown";
}

}  // namespace llmrouter
