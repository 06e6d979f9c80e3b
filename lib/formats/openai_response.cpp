// SPDX-License-Identifier: MIT
// OpenAI Chat Completions responses: decoding a provider's reply, encoding one (or an
// error) for the client.
#include "formats/codecs.h"
#include "formats/common.h"
#include "formats/openai_codec.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr std::string_view kTarget = "openai";

}  // namespace

void read_openai_usage(const json::Object& u, Usage& usage) {
  auto num = [](const json::Object& o, std::string_view key) {
    return json::count(o, key).value_or(0);
  };
  usage.input_tokens = num(u, "prompt_tokens");
  usage.output_tokens = num(u, "completion_tokens");
  if (auto d = json::field(u, "prompt_tokens_details"); d && d->is_object()) {
    usage.cache_read_input_tokens = num(json::object_of(*d), "cached_tokens");
  }
  if (auto d = json::field(u, "completion_tokens_details"); d && d->is_object()) {
    usage.reasoning_tokens = num(json::object_of(*d), "reasoning_tokens");
  }
}

void write_openai_usage(json::Writer& w, const Usage& u) {
  w.key("usage");
  w.begin_object();
  w.kv_uint("prompt_tokens", u.input_tokens);
  w.kv_uint("completion_tokens", u.output_tokens);
  w.kv_uint("total_tokens", u.input_tokens + u.output_tokens);
  write_count_object(w, "prompt_tokens_details", "cached_tokens", u.cache_read_input_tokens);
  write_count_object(w, "completion_tokens_details", "reasoning_tokens", u.reasoning_tokens);
  w.end_object();
}

// ---------------------------------------------------------------------------------------

Result<Response> decode_openai_response(std::string_view body) {
  auto doc = json::parse_upstream(body);
  if (!doc) return upstream_error(kTarget, doc.error());
  const Path root;
  auto obj = json::as_object(*doc, root);
  if (!obj) return upstream_error(kTarget, obj.error());
  Response resp;
  if (auto v = json::field(*obj, "id"); v && v->is_string())
    resp.id = std::string(v->get_string().value_unsafe());
  if (auto v = json::field(*obj, "model"); v && v->is_string())
    resp.model = std::string(v->get_string().value_unsafe());
  if (auto v = json::field(*obj, "created"); v && v->is_int64())
    resp.created = v->get_int64().value_unsafe();
  if (auto u = json::field(*obj, "usage"); u && u->is_object())
    read_openai_usage(json::object_of(*u), resp.usage);
  auto choices_el = json::required(*obj, "choices", root);
  if (!choices_el) return upstream_error(kTarget, choices_el.error());
  auto choices = json::as_array(*choices_el, Path(root, "choices"));
  if (!choices) return upstream_error(kTarget, choices.error());
  StopReason reason = StopReason::EndTurn;
  bool has_calls = false;
  const Path choices_path(root, "choices");
  for (Element c : *choices) {
    const Path cp(choices_path, 0);
    auto co = json::as_object(c, cp);
    if (!co) return upstream_error(kTarget, co.error());
    if (auto f = json::field(*co, "finish_reason"); f && f->is_string()) {
      reason = stop_reason_from_openai(f->get_string().value_unsafe());
    }
    auto msg_el = json::required(*co, "message", cp);
    if (!msg_el) return upstream_error(kTarget, msg_el.error());
    auto msg = json::as_object(*msg_el, Path(cp, "message"));
    if (!msg) return upstream_error(kTarget, msg.error());
    for (std::string_view key : {"reasoning_content", "reasoning"}) {
      if (auto r = json::field(*msg, key); r && r->is_string()) {
        if (!r->get_string().value_unsafe().empty()) {
          resp.content.push_back(ThinkingBlock{std::string(r->get_string().value_unsafe()), {}});
        }
        break;
      }
    }
    if (auto content = json::field(*msg, "content")) {
      auto blocks = decode_openai_content(*content, Path(Path(cp, "message"), "content"), false);
      if (!blocks) return upstream_error(kTarget, blocks.error());
      std::string text;
      for (const ContentBlock& b : *blocks) text += std::get<TextBlock>(b).text;
      if (!text.empty()) resp.content.push_back(TextBlock{std::move(text), std::nullopt, {}});
    }
    if (auto refusal = json::field(*msg, "refusal"); refusal && refusal->is_string()) {
      resp.content.push_back(
          TextBlock{std::string(refusal->get_string().value_unsafe()), std::nullopt, {}});
      reason = StopReason::Refusal;
    }
    if (auto calls = json::field(*msg, "tool_calls"); calls && calls->is_array()) {
      std::size_t k = 0;
      for (Element tc : json::array_of(*calls)) {
        const Path message_path(cp, "message");
        const Path calls_path(message_path, "tool_calls");
        auto u = decode_openai_tool_call(tc, Path(calls_path, k++));
        if (!u) return upstream_error(kTarget, u.error());
        resp.content.push_back(std::move(*u));
        has_calls = true;
      }
    }
    break;  // only the first choice is used
  }
  resp.stop_reason = settle_stop_reason(reason, has_calls);
  return resp;
}

std::string encode_openai_response(const Response& resp) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.kv("id", resp.id.empty() ? new_id("chatcmpl-") : resp.id);
  w.kv("object", "chat.completion");
  w.kv_int("created", resp.created ? resp.created : unix_now());
  w.kv("model", resp.model);
  w.key("choices");
  w.begin_array();
  w.begin_object();
  w.kv_int("index", 0);
  w.key("message");
  w.begin_object();
  w.kv("role", "assistant");
  std::string text;
  std::string thinking;
  bool has_calls = false;
  for (const ContentBlock& b : resp.content) {
    if (const auto* t = std::get_if<TextBlock>(&b)) {
      text += t->text;
    } else if (const auto* th = std::get_if<ThinkingBlock>(&b)) {
      thinking += th->thinking;
    } else if (std::holds_alternative<ToolUseBlock>(b)) {
      has_calls = true;
    }
  }
  w.key("content");
  if (text.empty() && has_calls) {
    w.null();
  } else {
    w.string(text);
  }
  if (!thinking.empty()) w.kv("reasoning_content", thinking);
  w.key("refusal");
  w.null();
  if (has_calls) {
    write_tool_calls(w, tool_calls(resp), ArgumentsAs::String);
  }
  w.end_object();
  w.key("logprobs");
  w.null();
  w.kv("finish_reason", stop_reason_to_openai(settle_stop_reason(resp.stop_reason, has_calls)));
  w.end_object();
  w.end_array();
  write_openai_usage(w, resp.usage);
  w.end_object();
  return out;
}

std::string encode_openai_error(const Error& error) {
  std::string out;
  json::Writer w(out);
  write_openai_error(w, error);
  return out;
}

}  // namespace llmrouter::detail
