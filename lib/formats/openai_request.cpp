// SPDX-License-Identifier: MIT
// OpenAI Chat Completions requests: decoding a client's, encoding one for the `openai`
// provider format (OpenAI, llama.cpp server, vLLM, xAI, Cloudflare Workers AI).
#include <fmt/format.h>

#include "formats/codecs.h"
#include "formats/common.h"
#include "formats/openai_codec.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr std::string_view kTarget = "openai";
constexpr int64_t kMaxU32 = 0xFFFFFFFFLL;

// ---------------------------------------------------------------------------------------
// Client request -> canonical

Result<ImageBlock> decode_image_url(const Element& e, const Path& path) {
  ImageBlock img;
  std::string_view url;
  if (e.is_string()) {
    url = e.get_string().value_unsafe();
  } else {
    LLMROUTER_TRY(o, json::as_object(e, path));
    LLMROUTER_TRY(u, json::required(o, "url", path));
    LLMROUTER_TRY(s, json::as_string(u, Path(path, "url")));
    url = s;
    if (auto d = json::field(o, "detail")) {
      LLMROUTER_TRY(detail, json::as_string(*d, Path(path, "detail")));
      img.detail = std::string(detail);
    }
  }
  if (auto data = parse_data_url(url)) {
    img.source = SourceKind::Base64;
    img.media_type = std::move(data->media_type);
    img.data = std::move(data->data);
  } else {
    img.source = SourceKind::Url;
    img.url = std::string(url);
  }
  return img;
}

Result<DocumentBlock> decode_file(const Element& e, const Path& path) {
  LLMROUTER_TRY(o, json::as_object(e, path));
  DocumentBlock doc;
  if (auto v = json::field(o, "filename")) {
    LLMROUTER_TRY(s, json::as_string(*v, Path(path, "filename")));
    doc.filename = std::string(s);
  }
  if (auto v = json::field(o, "file_id")) {
    LLMROUTER_TRY(s, json::as_string(*v, Path(path, "file_id")));
    doc.source = SourceKind::FileId;
    doc.file_id = std::string(s);
  } else if (auto v2 = json::field(o, "file_data")) {
    LLMROUTER_TRY(s, json::as_string(*v2, Path(path, "file_data")));
    auto data = parse_data_url(s);
    if (!data) return json::error_at(Path(path, "file_data"), "expected a base64 data: URL");
    doc.source = SourceKind::Base64;
    doc.media_type = std::move(data->media_type);
    doc.data = std::move(data->data);
  } else {
    return json::error_at(path, "a file needs file_id or file_data");
  }
  return doc;
}

}  // namespace

// Content: a string or an array of parts. `allow_media` is false for roles that take text only.
Result<std::vector<ContentBlock>> decode_openai_content(const Element& e, const Path& path,
                                                        bool allow_media) {
  std::vector<ContentBlock> out;
  if (e.is_string()) {
    out.push_back(TextBlock{std::string(e.get_string().value_unsafe()), std::nullopt, {}});
    return out;
  }
  auto decode_part = [&](const json::Object& po, const Element&, const Path& pp) -> Result<void> {
    LLMROUTER_TRY(type_el, json::required(po, "type", pp));
    LLMROUTER_TRY(type, json::as_string(type_el, Path(pp, "type")));
    if (type == "text" || type == "refusal") {
      const std::string_view key = type == "text" ? "text" : "refusal";
      LLMROUTER_TRY(t, json::required(po, key, pp));
      LLMROUTER_TRY(text, json::as_string(t, Path(pp, key)));
      out.push_back(TextBlock{std::string(text), std::nullopt, {}});
    } else if (allow_media && type == "image_url") {
      LLMROUTER_TRY(u, json::required(po, "image_url", pp));
      LLMROUTER_TRY(img, decode_image_url(u, Path(pp, "image_url")));
      out.push_back(std::move(img));
    } else if (allow_media && type == "file") {
      LLMROUTER_TRY(f, json::required(po, "file", pp));
      LLMROUTER_TRY(doc, decode_file(f, Path(pp, "file")));
      out.push_back(std::move(doc));
    } else if (type == "input_audio") {
      return json::error_at(Path(pp, "type"), "audio input is not supported");
    } else {
      return json::error_at(Path(pp, "type"),
                            fmt::format("unsupported content part type '{}'", type));
    }
    return {};
  };
  LLMROUTER_CHECK(for_each_object(e, path, decode_part));
  return out;
}

Result<ToolUseBlock> decode_openai_tool_call(const Element& e, const Path& path) {
  LLMROUTER_TRY(o, json::as_object(e, path));
  ToolUseBlock u;
  LLMROUTER_TRY(id_el, json::required(o, "id", path));
  LLMROUTER_TRY(id, json::as_string(id_el, Path(path, "id")));
  u.id = std::string(id);
  LLMROUTER_TRY(fn_el, json::required(o, "function", path));
  const Path fp(path, "function");
  LLMROUTER_TRY(fn, json::as_object(fn_el, fp));
  LLMROUTER_TRY(name_el, json::required(fn, "name", fp));
  LLMROUTER_TRY(name, json::as_string(name_el, Path(fp, "name")));
  u.name = std::string(name);
  std::string_view args = "{}";
  if (auto a = json::field(fn, "arguments")) {
    LLMROUTER_TRY(s, json::as_string(*a, Path(fp, "arguments")));
    args = s;
  }
  u.input = arguments_to_input(args);
  return u;
}

namespace {

Result<void> decode_messages(const Element& e, const Path& path, CanonicalRequest& req) {
  auto decode_message = [&](const json::Object& mo, const Element&,
                            const Path& mp) -> Result<void> {
    LLMROUTER_TRY(role_el, json::required(mo, "role", mp));
    LLMROUTER_TRY(role, json::as_string(role_el, Path(mp, "role")));
    const auto content = json::field(mo, "content");
    const Path cp(mp, "content");
    std::string name;
    if (auto n = json::field(mo, "name")) {
      LLMROUTER_TRY(s, json::as_string(*n, Path(mp, "name")));
      name = std::string(s);
    }

    if (role == "system" || role == "developer") {
      std::vector<ContentBlock> blocks;
      if (content) {
        LLMROUTER_TRY(b, decode_openai_content(*content, cp, false));
        blocks = std::move(b);
      }
      if (req.messages.empty()) {  // the leading system prompt
        for (ContentBlock& b : blocks) req.system.push_back(std::move(std::get<TextBlock>(b)));
      } else {
        req.messages.push_back(Message{Role::System, std::move(blocks), std::move(name)});
      }
    } else if (role == "user") {
      Message msg{Role::User, {}, std::move(name)};
      if (content) {
        LLMROUTER_TRY(b, decode_openai_content(*content, cp, true));
        msg.content = std::move(b);
      }
      req.messages.push_back(std::move(msg));
    } else if (role == "assistant") {
      Message msg{Role::Assistant, {}, std::move(name)};
      for (std::string_view key : {"reasoning_content", "reasoning"}) {
        if (auto r = json::field(mo, key); r && r->is_string()) {
          std::string_view text = r->get_string().value_unsafe();
          if (!text.empty()) msg.content.push_back(ThinkingBlock{std::string(text), {}});
          break;
        }
      }
      if (content) {
        LLMROUTER_TRY(b, decode_openai_content(*content, cp, false));
        if (msg.content.empty()) {
          msg.content = std::move(b);
        } else {
          for (ContentBlock& block : b) msg.content.push_back(std::move(block));
        }
      }
      if (auto calls = json::field(mo, "tool_calls")) {
        const Path tp(mp, "tool_calls");
        LLMROUTER_TRY(ca, json::as_array(*calls, tp));
        std::size_t k = 0;
        for (Element c : ca) {
          LLMROUTER_TRY(u, decode_openai_tool_call(c, Path(tp, k++)));
          msg.content.push_back(std::move(u));
        }
      }
      req.messages.push_back(std::move(msg));
    } else if (role == "tool") {
      ToolResultBlock r;
      LLMROUTER_TRY(id_el, json::required(mo, "tool_call_id", mp));
      LLMROUTER_TRY(id, json::as_string(id_el, Path(mp, "tool_call_id")));
      r.tool_use_id = std::string(id);
      if (content) {
        LLMROUTER_TRY(b, decode_openai_content(*content, cp, true));
        for (ContentBlock& block : b) {
          if (auto* t = std::get_if<TextBlock>(&block)) {
            r.content.emplace_back(std::move(*t));
          } else if (auto* img = std::get_if<ImageBlock>(&block)) {
            r.content.emplace_back(std::move(*img));
          } else if (auto* doc = std::get_if<DocumentBlock>(&block)) {
            r.content.emplace_back(std::move(*doc));
          }
        }
      }
      // Consecutive tool messages answer one assistant turn: keep them together.
      if (!req.messages.empty() && req.messages.back().role == Role::Tool) {
        req.messages.back().content.push_back(std::move(r));
      } else {
        req.messages.push_back(Message{Role::Tool, {std::move(r)}, {}});
      }
    } else if (role == "function") {
      return json::error_at(
          Path(mp, "role"),
          "the legacy 'function' role is not supported; use tools and 'tool' messages");
    } else {
      return json::error_at(Path(mp, "role"),
                            fmt::format("unknown role '{}'; expected system, developer, user, "
                                        "assistant or tool",
                                        role));
    }
    return {};
  };
  if (e.is_array()) req.messages.reserve(req.messages.size() + json::array_of(e).size());
  return for_each_object(e, path, decode_message);
}

Result<void> decode_tools(const Element& e, const Path& path, CanonicalRequest& req) {
  auto decode_tool = [&](const json::Object& to, const Element& t, const Path& tp) -> Result<void> {
    LLMROUTER_TRY(type_el, json::required(to, "type", tp));
    LLMROUTER_TRY(type, json::as_string(type_el, Path(tp, "type")));
    Tool tool;
    if (type != "function") {
      tool.kind = Tool::Kind::Opaque;
      tool.origin = WireFormat::OpenAI;
      tool.opaque = json::raw(t);
      if (auto n = json::field(to, "name"); n && n->is_string())
        tool.name = std::string(n->get_string().value_unsafe());
      req.tools.push_back(std::move(tool));
      return {};
    }
    LLMROUTER_TRY(fn_el, json::required(to, "function", tp));
    const Path fp(tp, "function");
    LLMROUTER_TRY(fn, json::as_object(fn_el, fp));
    LLMROUTER_TRY(function_tool, decode_function_tool(fn, fp));
    tool = std::move(function_tool);
    req.tools.push_back(std::move(tool));
    return {};
  };
  return for_each_object(e, path, decode_tool);
}

Result<ToolChoice> decode_tool_choice(const Element& e, const Path& path) {
  if (e.is_string()) {
    const std::string_view s = e.get_string().value_unsafe();
    if (auto c = tool_choice_from_string(s)) return *c;
    return json::error_at(path,
                          fmt::format("unknown tool_choice '{}'; expected auto, none, required "
                                      "or a function",
                                      s));
  }
  LLMROUTER_TRY(o, json::as_object(e, path));
  if (auto fn = json::field(o, "function")) {
    LLMROUTER_TRY(fo, json::as_object(*fn, Path(path, "function")));
    LLMROUTER_TRY(n, json::required(fo, "name", Path(path, "function")));
    LLMROUTER_TRY(name, json::as_string(n, Path(Path(path, "function"), "name")));
    return ToolChoice{ToolChoice::Mode::Tool, std::string(name)};
  }
  return json::error_at(path,
                        "expected \"auto\", \"none\", \"required\" or {\"type\": \"function\", "
                        "\"function\": {\"name\": ...}}");
}

Result<ResponseFormat> decode_response_format(const Element& e, const Path& path) {
  LLMROUTER_TRY(o, json::as_object(e, path));
  LLMROUTER_TRY(type_el, json::required(o, "type", path));
  LLMROUTER_TRY(type, json::as_string(type_el, Path(path, "type")));
  ResponseFormat rf;
  if (type == "text") {
    rf.type = ResponseFormat::Type::Text;
  } else if (type == "json_object") {
    rf.type = ResponseFormat::Type::JsonObject;
  } else if (type == "json_schema") {
    rf.type = ResponseFormat::Type::JsonSchema;
    LLMROUTER_TRY(js_el, json::required(o, "json_schema", path));
    const Path jp(path, "json_schema");
    LLMROUTER_TRY(js, json::as_object(js_el, jp));
    if (auto n = json::field(js, "name")) {
      LLMROUTER_TRY(s, json::as_string(*n, Path(jp, "name")));
      rf.name = std::string(s);
    }
    if (auto d = json::field(js, "description")) {
      LLMROUTER_TRY(s, json::as_string(*d, Path(jp, "description")));
      rf.description = std::string(s);
    }
    if (auto s = json::field(js, "schema")) {
      LLMROUTER_TRY(so, json::as_object(*s, Path(jp, "schema")));
      (void)so;
      rf.schema = json::raw(*s);
    }
    if (auto s = json::field(js, "strict")) {
      LLMROUTER_TRY(b, json::as_bool(*s, Path(jp, "strict")));
      rf.strict = b;
    }
  } else {
    return json::error_at(Path(path, "type"),
                          fmt::format("unknown response format '{}'; expected text, json_object or "
                                      "json_schema",
                                      type));
  }
  return rf;
}

// ---------------------------------------------------------------------------------------
// Canonical -> provider request

void write_text_or_parts(json::Writer& w, const std::vector<ContentBlock>& blocks) {
  bool media = false;
  std::size_t texts = 0;
  for (const ContentBlock& b : blocks) {
    if (std::holds_alternative<ImageBlock>(b) || std::holds_alternative<DocumentBlock>(b))
      media = true;
    if (std::holds_alternative<TextBlock>(b)) ++texts;
  }
  if (!media && texts <= 1) {
    std::string text;
    for (const ContentBlock& b : blocks) {
      if (const auto* t = std::get_if<TextBlock>(&b)) text = t->text;
    }
    w.string(text);
    return;
  }
  w.begin_array();
  for (const ContentBlock& b : blocks) {
    if (const auto* t = std::get_if<TextBlock>(&b)) {
      w.begin_object();
      w.kv("type", "text");
      w.kv("text", t->text);
      w.end_object();
    } else if (const auto* img = std::get_if<ImageBlock>(&b)) {
      if (img->source == SourceKind::FileId) {
        log_dropped(kTarget, "image file_id");
        continue;
      }
      w.begin_object();
      w.kv("type", "image_url");
      w.key("image_url");
      w.begin_object();
      w.kv("url",
           img->source == SourceKind::Url ? img->url : make_data_url(img->media_type, img->data));
      if (!img->detail.empty()) w.kv("detail", img->detail);
      w.end_object();
      w.end_object();
    } else if (const auto* doc = std::get_if<DocumentBlock>(&b)) {
      w.begin_object();
      if (doc->source == SourceKind::Text) {
        w.kv("type", "text");
        w.kv("text", doc->data);
      } else if (doc->source == SourceKind::Url) {
        log_dropped(kTarget, "document url");
        w.kv("type", "text");
        w.kv("text", doc->url);
      } else {
        w.kv("type", "file");
        w.key("file");
        w.begin_object();
        if (doc->source == SourceKind::FileId) {
          w.kv("file_id", doc->file_id);
        } else {
          w.kv("file_data", make_data_url(doc->media_type, doc->data));
        }
        if (!doc->filename.empty()) w.kv("filename", doc->filename);
        w.end_object();
      }
      w.end_object();
    } else {
      log_dropped(kTarget, "non-text content block");
    }
  }
  w.end_array();
}

}  // namespace

namespace {

void write_openai_message(json::Writer& w, const Message& m) {
  switch (m.role) {
    case Role::System:
    case Role::User: {
      w.begin_object();
      w.kv("role", m.role == Role::System ? "system" : "user");
      w.key("content");
      write_text_or_parts(w, m.content);
      if (!m.name.empty()) w.kv("name", m.name);
      w.end_object();
      break;
    }
    case Role::Assistant: {
      w.begin_object();
      w.kv("role", "assistant");
      std::string text;
      bool has_text = false;
      bool has_calls = false;
      for (const ContentBlock& b : m.content) {
        if (const auto* t = std::get_if<TextBlock>(&b)) {
          if (has_text) text += '\n';
          text += t->text;
          has_text = true;
        } else if (std::holds_alternative<ToolUseBlock>(b)) {
          has_calls = true;
        } else if (std::holds_alternative<ThinkingBlock>(b) ||
                   std::holds_alternative<RedactedThinkingBlock>(b)) {
          log_dropped(kTarget, "assistant thinking");
        } else {
          log_dropped(kTarget, "assistant content block");
        }
      }
      w.key("content");
      if (has_text || !has_calls) {
        w.string(text);
      } else {
        w.null();
      }
      if (has_calls) {
        std::vector<const ToolUseBlock*> calls;
        for (const ContentBlock& b : m.content) {
          if (const auto* u = std::get_if<ToolUseBlock>(&b)) calls.push_back(u);
        }
        write_tool_calls(w, calls, ArgumentsAs::String);
      }
      if (!m.name.empty()) w.kv("name", m.name);
      w.end_object();
      break;
    }
    case Role::Tool:
      // One `tool` message per result, right after the assistant turn that called them.
      for (const ContentBlock& b : m.content) {
        const auto* r = std::get_if<ToolResultBlock>(&b);
        if (!r) continue;
        std::size_t dropped = 0;
        std::string text = tool_result_text(*r, &dropped);
        if (dropped) log_dropped(kTarget, "media inside a tool result");
        if (r->is_error && text.rfind("Error", 0) != 0) text = "Error: " + text;
        w.begin_object();
        w.kv("role", "tool");
        w.kv("tool_call_id", r->tool_use_id);
        w.kv("content", text);
        w.end_object();
      }
      break;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------

Result<CanonicalRequest> decode_openai_request(std::string_view body) {
  bool has_messages = false;
  std::optional<uint32_t> max_tokens, max_completion_tokens;
  auto member = [&](std::string_view key, const Element& value, const Path& p,
                    CanonicalRequest& req) -> Result<void> {
    if (key == "messages") {
      LLMROUTER_CHECK(decode_messages(value, p, req));
      has_messages = true;
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      LLMROUTER_TRY(v, json::as_int(value, p, 0, kMaxU32));
      (key == "max_tokens" ? max_tokens : max_completion_tokens) = static_cast<uint32_t>(v);
    } else if (key == "stop") {
      LLMROUTER_TRY(v, decode_stop(value, p));
      req.stop = std::move(v);
    } else if (key == "user") {
      LLMROUTER_TRY(v, json::as_string(value, p));
      req.user = std::string(v);
    } else if (key == "prompt_cache_key") {
      LLMROUTER_TRY(v, json::as_string(value, p));
      req.prompt_cache_key = std::string(v);
    } else if (key == "metadata") {
      LLMROUTER_TRY(v, json::as_object(value, p));
      (void)v;
      req.metadata = json::raw(value);
    } else if (key == "n") {
      LLMROUTER_TRY(v, json::as_int(value, p, 1, 128));
      if (v != 1) return json::error_at(p, "only n = 1 is supported");
    } else if (key == "tools") {
      LLMROUTER_CHECK(decode_tools(value, p, req));
    } else if (key == "tool_choice") {
      LLMROUTER_TRY(v, decode_tool_choice(value, p));
      req.tool_choice = v;
    } else if (key == "parallel_tool_calls") {
      LLMROUTER_TRY(v, json::as_bool(value, p));
      req.parallel_tool_calls = v;
    } else if (key == "response_format") {
      LLMROUTER_TRY(v, decode_response_format(value, p));
      req.response_format = std::move(v);
    } else if (key == "reasoning_effort") {
      LLMROUTER_TRY(v, json::as_string(value, p));
      req.reasoning_effort = std::string(v);
    } else if (key == "stream") {
      LLMROUTER_TRY(v, json::as_bool(value, p));
      req.stream = v;
    } else if (key == "stream_options") {
      LLMROUTER_TRY(so, json::as_object(value, p));
      if (auto u = json::field(so, "include_usage")) {
        LLMROUTER_TRY(v, json::as_bool(*u, Path(p, "include_usage")));
        req.stream_include_usage = v;
      }
    }
    return {};
  };
  LLMROUTER_TRY(req, decode_client_request(body, member));
  if (!has_messages) return missing_member("messages");
  if (max_completion_tokens) {
    req.max_tokens = max_completion_tokens;
    req.max_tokens_field = MaxTokensField::MaxCompletionTokens;
  } else {
    req.max_tokens = max_tokens;
  }
  LLMROUTER_CHECK(validate(req));
  return req;
}

Result<std::string> encode_openai_request(const CanonicalRequest& req) {
  std::string out;
  out.reserve(1024);
  json::Writer w(out);
  w.begin_object();
  w.kv("model", req.model);
  w.key("messages");
  w.begin_array();
  if (!req.system.empty()) {
    w.begin_object();
    w.kv("role", "system");
    w.kv("content", system_text(req));
    w.end_object();
  }
  for (const Message& m : req.messages) write_openai_message(w, m);
  w.end_array();
  if (req.max_tokens) {
    w.kv_uint(req.max_tokens_field == MaxTokensField::MaxCompletionTokens ? "max_completion_tokens"
                                                                          : "max_tokens",
              *req.max_tokens);
  }
  if (req.temperature) w.kv_number("temperature", *req.temperature);
  if (req.top_p) w.kv_number("top_p", *req.top_p);
  if (req.top_k) log_dropped(kTarget, "top_k");
  if (req.frequency_penalty) w.kv_number("frequency_penalty", *req.frequency_penalty);
  if (req.presence_penalty) w.kv_number("presence_penalty", *req.presence_penalty);
  if (!req.stop.empty()) {
    w.key("stop");
    w.begin_array();
    for (const std::string& s : req.stop) w.string(s);
    w.end_array();
  }
  if (req.seed) w.kv_int("seed", *req.seed);
  if (!req.user.empty()) w.kv("user", req.user);
  if (!req.metadata.empty()) log_dropped(kTarget, "metadata");
  bool any_tools = false;
  for (const Tool& t : req.tools)
    any_tools = any_tools || t.kind == Tool::Kind::Function || t.origin == WireFormat::OpenAI;
  if (any_tools) {
    w.key("tools");
    w.begin_array();
    for (const Tool& t : req.tools) {
      if (t.kind == Tool::Kind::Opaque) {
        if (keep_opaque_tool(t, WireFormat::OpenAI)) w.raw(t.opaque);
        continue;
      }
      w.begin_object();
      w.kv("type", "function");
      w.key("function");
      w.begin_object();
      w.kv("name", t.name);
      if (!t.description.empty()) w.kv("description", t.description);
      w.kv_raw("parameters", t.input_schema);
      if (t.strict) w.kv_bool("strict", *t.strict);
      w.end_object();
      w.end_object();
    }
    w.end_array();
    if (req.tool_choice) write_tool_choice(w, *req.tool_choice, ToolNameAs::Nested);
    if (req.parallel_tool_calls) w.kv_bool("parallel_tool_calls", *req.parallel_tool_calls);
  }
  if (req.response_format) {
    const ResponseFormat& rf = *req.response_format;
    w.key("response_format");
    w.begin_object();
    switch (rf.type) {
      case ResponseFormat::Type::Text:
        w.kv("type", "text");
        break;
      case ResponseFormat::Type::JsonObject:
        w.kv("type", "json_object");
        break;
      case ResponseFormat::Type::JsonSchema:
        w.kv("type", "json_schema");
        w.key("json_schema");
        w.begin_object();
        w.kv("name", rf.name.empty() ? "response" : rf.name);
        if (!rf.description.empty()) w.kv("description", rf.description);
        if (!rf.schema.empty()) w.kv_raw("schema", rf.schema);
        if (rf.strict) w.kv_bool("strict", *rf.strict);
        w.end_object();
        break;
    }
    w.end_object();
  }
  if (!req.reasoning_effort.empty()) {
    w.kv("reasoning_effort", req.reasoning_effort);
  } else if (req.thinking) {
    log_dropped(kTarget, "thinking (reasoning controls are not translated across model families)");
  }
  w.kv_bool("stream", req.stream);
  if (req.stream) {
    // Always ask for usage: logs, headers and cost need it even if the client did not.
    w.key("stream_options");
    w.begin_object();
    w.kv_bool("include_usage", true);
    w.end_object();
  }
  w.end_object();
  return out;
}

}  // namespace llmrouter::detail
