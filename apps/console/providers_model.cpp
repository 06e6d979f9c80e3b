// SPDX-License-Identifier: MIT
#include "providers_model.h"

#include <utility>

#include <simdjson.h>

namespace llmrouter::console {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

Unexpected bad(std::string_view path, std::string_view what) {
  return fail(Errc::InvalidRequest,
              "/v1/providers: " + std::string(path) + ": " + std::string(what));
}

// A number as a double (null and absent keep `out`).
bool read_number(object o, std::string_view key, double& out) {
  element v;
  if (o[key].get(v) || v.is_null()) return true;
  if (v.is_double()) {
    out = v.get_double().value_unsafe();
  } else if (v.is_int64()) {
    out = static_cast<double>(v.get_int64().value_unsafe());
  } else if (v.is_uint64()) {
    out = static_cast<double>(v.get_uint64().value_unsafe());
  } else {
    return false;
  }
  return true;
}

bool read_count(object o, std::string_view key, uint64_t& out) {
  double d = static_cast<double>(out);
  if (!read_number(o, key, d)) return false;
  out = d <= 0 ? 0 : static_cast<uint64_t>(d);
  return true;
}

bool read_timing(object o, std::string_view key, std::optional<ProviderTiming>& out) {
  element v;
  if (o[key].get(v) || v.is_null()) return true;
  object t;
  if (v.get(t)) return false;
  ProviderTiming timing;
  if (!read_number(t, "mean", timing.mean) || !read_number(t, "p50", timing.p50) ||
      !read_number(t, "p95", timing.p95) || !read_count(t, "samples", timing.samples)) {
    return false;
  }
  out = timing;
  return true;
}

bool read_text(object o, std::string_view key, std::string& out) {
  element v;
  if (o[key].get(v) || v.is_null()) return true;
  std::string_view s;
  if (v.get(s)) return false;
  out.assign(s);
  return true;
}

}  // namespace

Result<std::vector<ProviderRow>> parse_providers(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  element root;
  if (auto err = parser.parse(padded).get(root)) {
    return fail(Errc::InvalidRequest,
                std::string("/v1/providers: invalid JSON: ") + simdjson::error_message(err));
  }
  array data;
  if (root["data"].get(data)) return bad("data", "expected an array");
  std::vector<ProviderRow> rows;
  for (element item : data) {
    object o;
    if (item.get(o)) return bad("data", "expected objects");
    ProviderRow r;
    const std::string path = "data[" + std::to_string(rows.size()) + "]";
    if (!read_text(o, "name", r.name)) return bad(path + ".name", "expected a string");
    if (!read_text(o, "state", r.state)) return bad(path + ".state", "expected a string");
    if (!read_text(o, "ejected_until", r.ejected_until))
      return bad(path + ".ejected_until", "expected a string");
    if (!read_count(o, "in_flight", r.in_flight))
      return bad(path + ".in_flight", "expected a number");
    if (!read_count(o, "max_concurrency", r.max_concurrency))
      return bad(path + ".max_concurrency", "expected a number");
    if (!read_count(o, "attempts", r.attempts)) return bad(path + ".attempts", "expected a number");
    if (!read_count(o, "failures", r.failures)) return bad(path + ".failures", "expected a number");
    if (!read_number(o, "error_rate", r.error_rate))
      return bad(path + ".error_rate", "expected a number");
    if (!read_timing(o, "ttft_ms", r.ttft_ms))
      return bad(path + ".ttft_ms", "expected a figure or null");
    if (!read_timing(o, "total_ms", r.total_ms))
      return bad(path + ".total_ms", "expected a figure or null");
    if (!read_timing(o, "tokens_per_s", r.tokens_per_s))
      return bad(path + ".tokens_per_s", "expected a figure or null");
    rows.push_back(std::move(r));
  }
  return rows;
}

void ProvidersModel::update(std::vector<ProviderRow> rows, int64_t now_ms) {
  rows_ = std::move(rows);
  updated_ms_ = now_ms;
  error_.clear();
}

void ProvidersModel::set_error(std::string error, int64_t now_ms) {
  error_ = std::move(error);
  failed_ms_ = now_ms;
}

}  // namespace llmrouter::console
