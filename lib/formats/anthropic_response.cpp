// SPDX-License-Identifier: MIT
// Anthropic Messages responses: decoding a provider's reply, encoding one (or an error)
// for the client.
#include "formats/anthropic_codec.h"
#include "formats/codecs.h"
#include "formats/common.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr std::string_view kTarget = "anthropic";

}  // namespace

// ---------------------------------------------------------------------------------------
// Usage: Anthropic reports cache reads and writes apart from input_tokens; the canonical
// input count includes them.

void read_anthropic_usage(const json::Object& u, Usage& usage, bool* saw_input) {
  auto num = [&](std::string_view key) { return json::count(u, key); };
  const auto input = num("input_tokens");
  const auto read = num("cache_read_input_tokens");
  const auto write = num("cache_creation_input_tokens");
  if (input || read || write) {
    usage.cache_read_input_tokens = read.value_or(0);
    usage.cache_creation_input_tokens = write.value_or(0);
    usage.input_tokens =
        input.value_or(0) + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
    if (saw_input) *saw_input = input.has_value();
  }
  if (auto out = num("output_tokens")) usage.output_tokens = *out;
}

void write_anthropic_usage(json::Writer& w, const Usage& u) {
  const uint64_t cached = u.cache_read_input_tokens + u.cache_creation_input_tokens;
  w.key("usage");
  w.begin_object();
  w.kv_uint("input_tokens", u.input_tokens >= cached ? u.input_tokens - cached : 0);
  w.kv_uint("cache_creation_input_tokens", u.cache_creation_input_tokens);
  w.kv_uint("cache_read_input_tokens", u.cache_read_input_tokens);
  w.kv_uint("output_tokens", u.output_tokens);
  w.end_object();
}

std::string anthropic_message_id(const std::string& id) {
  return id.empty() ? new_id("msg_") : id;
}

// ---------------------------------------------------------------------------------------

Result<Response> decode_anthropic_response(std::string_view body) {
  auto doc = json::parse_upstream(body);
  if (!doc) return upstream_error(kTarget, doc.error());
  const Path root;
  auto obj = json::as_object(*doc, root);
  if (!obj) return upstream_error(kTarget, obj.error());
  Response resp;
  resp.id = json::string_or_empty(*obj, "id");
  resp.model = json::string_or_empty(*obj, "model");
  if (auto u = json::field(*obj, "usage"); u && u->is_object())
    read_anthropic_usage(json::object_of(*u), resp.usage);
  auto content = json::required(*obj, "content", root);
  if (!content) return upstream_error(kTarget, content.error());
  auto blocks = decode_anthropic_content(*content, Path(root, "content"));
  if (!blocks) return upstream_error(kTarget, blocks.error());
  bool has_calls = false;
  for (ContentBlock& b : *blocks) {
    if (std::holds_alternative<ToolResultBlock>(b)) continue;
    has_calls = has_calls || std::holds_alternative<ToolUseBlock>(b);
    resp.content.push_back(std::move(b));
  }
  resp.stop_reason = settle_stop_reason(
      stop_reason_from_anthropic(json::string_or_empty(*obj, "stop_reason")), has_calls);
  resp.stop_sequence = json::string_or_empty(*obj, "stop_sequence");
  return resp;
}

std::string encode_anthropic_response(const Response& resp) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.kv("id", anthropic_message_id(resp.id));
  w.kv("type", "message");
  w.kv("role", "assistant");
  w.kv("model", resp.model);
  w.key("content");
  w.begin_array();
  bool has_calls = false;
  for (const ContentBlock& b : resp.content) {
    has_calls = has_calls || std::holds_alternative<ToolUseBlock>(b);
    if (const auto* th = std::get_if<ThinkingBlock>(&b); th && th->signature.empty()) {
      write_anthropic_block(w, b);  // unsigned reasoning (from another provider) is still shown
      continue;
    }
    if (anthropic_sendable(b, false)) write_anthropic_block(w, b);
  }
  w.end_array();
  w.kv("stop_reason", stop_reason_to_anthropic(settle_stop_reason(resp.stop_reason, has_calls)));
  w.key("stop_sequence");
  if (resp.stop_sequence.empty()) {
    w.null();
  } else {
    w.string(resp.stop_sequence);
  }
  write_anthropic_usage(w, resp.usage);
  w.end_object();
  return out;
}

std::string encode_anthropic_error(const Error& error) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.kv("type", "error");
  w.key("error");
  w.begin_object();
  w.kv("type", anthropic_error_type(error));
  w.kv("message", error.message);
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace llmrouter::detail
