// SPDX-License-Identifier: MIT
// OpenAI Responses API, provider side: decoding a response object into a canonical reply.
#include <fmt/format.h>

#include "formats/codecs.h"
#include "formats/common.h"
#include "formats/responses_codec.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr std::string_view kTarget = "responses";

// Reasoning summary parts (and reasoning_text parts) are paragraphs of one thought.
constexpr std::string_view kParagraph = "\n\n";

}  // namespace

void read_responses_usage(const json::Object& u, Usage& usage) {
  if (auto n = json::count(u, "input_tokens")) usage.input_tokens = *n;
  if (auto n = json::count(u, "output_tokens")) usage.output_tokens = *n;
  if (auto d = json::field(u, "input_tokens_details"); d && d->is_object()) {
    if (auto n = json::count(json::object_of(*d), "cached_tokens"))
      usage.cache_read_input_tokens = *n;
  }
  if (auto d = json::field(u, "output_tokens_details"); d && d->is_object()) {
    if (auto n = json::count(json::object_of(*d), "reasoning_tokens")) usage.reasoning_tokens = *n;
  }
}

StopReason responses_stop_reason(const json::Object& response) {
  if (json::string_or_empty(response, "status") != "incomplete") return StopReason::EndTurn;
  std::string reason;
  if (auto d = json::field(response, "incomplete_details"); d && d->is_object())
    reason = json::string_or_empty(json::object_of(*d), "reason");
  if (reason == "max_output_tokens") return StopReason::MaxTokens;
  if (reason == "content_filter") return StopReason::ContentFilter;
  return StopReason::Other;
}

Error responses_failure(const json::Object& obj) {
  // A response object holds its error under "error"; an `error` event has the fields at
  // its top level.
  json::Object eo = obj;
  if (auto e = json::field(obj, "error"); e && e->is_object()) eo = json::object_of(*e);
  std::string code = json::string_or_empty(eo, "code");
  std::string message = json::string_or_empty(eo, "message");
  if (message.empty()) message = "the response failed";
  Error error{Errc::Upstream,
              code.empty() ? std::move(message) : fmt::format("{}: {}", code, message),
              0,
              {}};
  if (code == "rate_limit_exceeded") error.http_status = 429;
  return error;
}

Result<void> decode_responses_output_item(const json::Object& item, const Element& element,
                                          const Path& path, std::vector<ContentBlock>& out,
                                          bool& refusal) {
  const std::string type = json::string_or_empty(item, "type");
  if (type == "message") {
    auto content = json::field(item, "content");
    if (!content) return {};
    const Path cp(path, "content");
    auto decode_part = [&](const json::Object& po, const Element&, const Path& pp) -> Result<void> {
      const std::string part = json::string_or_empty(po, "type");
      if (part == "output_text" || part == "text") {
        LLMROUTER_TRY(text, json::required_string(po, "text", pp));
        if (!text.empty()) out.push_back(TextBlock{std::move(text), std::nullopt, {}});
      } else if (part == "refusal") {
        LLMROUTER_TRY(text, json::required_string(po, "refusal", pp));
        out.push_back(TextBlock{std::move(text), std::nullopt, {}});
        refusal = true;
      }
      return {};
    };
    return for_each_object(*content, cp, decode_part);
  }
  if (type == "reasoning") {
    std::string thinking;
    auto read_text = [&](const json::Object& po, const Element&, const Path& pp) -> Result<void> {
      LLMROUTER_TRY(text, json::required_string(po, "text", pp));
      if (text.empty()) return {};
      if (!thinking.empty()) thinking += kParagraph;
      thinking += text;
      return {};
    };
    if (auto s = json::field(item, "summary"))
      LLMROUTER_CHECK(for_each_object(*s, Path(path, "summary"), read_text));
    if (thinking.empty()) {
      if (auto c = json::field(item, "content"))
        LLMROUTER_CHECK(for_each_object(*c, Path(path, "content"), read_text));
    }
    if (!thinking.empty()) out.push_back(ThinkingBlock{std::move(thinking), {}});
    return {};
  }
  if (type == "function_call") {
    ToolUseBlock u;
    LLMROUTER_TRY(call_id, json::required_string(item, "call_id", path));
    LLMROUTER_TRY(name, json::required_string(item, "name", path));
    u.id = std::move(call_id);
    u.name = std::move(name);
    u.input = arguments_to_input(json::string_or_empty(item, "arguments"));
    out.push_back(std::move(u));
    return {};
  }
  if (type.empty()) return json::error_at(Path(path, "type"), "is required");
  // Built-in tool calls (web_search_call, file_search_call, ...): kept for a Responses client.
  out.push_back(OpaqueBlock{WireFormat::Responses, json::raw(element)});
  return {};
}

// ---------------------------------------------------------------------------------------

Result<Response> decode_responses_response(std::string_view body) {
  auto doc = json::parse_upstream(body);
  if (!doc) return upstream_error(kTarget, doc.error());
  const Path root;
  auto obj = json::as_object(*doc, root);
  if (!obj) return upstream_error(kTarget, obj.error());
  const std::string status = json::string_or_empty(*obj, "status");
  if (status == "failed") {
    Error e = responses_failure(*obj);
    e.message = fmt::format("{} response: {}", kTarget, e.message);
    return tl::unexpected(std::move(e));
  }
  if (status != "completed" && status != "incomplete" && !status.empty()) {
    return fail(Errc::Upstream, fmt::format("{} response: the response is '{}', not complete "
                                            "(background responses are not supported)",
                                            kTarget, status));
  }
  Response resp;
  resp.id = json::string_or_empty(*obj, "id");
  resp.model = json::string_or_empty(*obj, "model");
  if (auto c = json::field(*obj, "created_at"); c && c->is_int64())
    resp.created = c->get_int64().value_unsafe();
  if (auto u = json::field(*obj, "usage"); u && u->is_object())
    read_responses_usage(json::object_of(*u), resp.usage);
  auto output = json::required(*obj, "output", root);
  if (!output) return upstream_error(kTarget, output.error());
  bool refusal = false;
  auto decode_item = [&](const json::Object& io, const Element& item, const Path& ip) {
    return decode_responses_output_item(io, item, ip, resp.content, refusal);
  };
  if (auto r = for_each_object(*output, Path(root, "output"), decode_item); !r)
    return upstream_error(kTarget, r.error());
  bool has_calls = false;
  for (const ContentBlock& b : resp.content)
    has_calls = has_calls || std::holds_alternative<ToolUseBlock>(b);
  StopReason reason = responses_stop_reason(*obj);
  if (refusal && reason == StopReason::EndTurn) reason = StopReason::Refusal;
  resp.stop_reason = settle_stop_reason(reason, has_calls);
  return resp;
}

}  // namespace llmrouter::detail
