// SPDX-License-Identifier: MIT
// Anthropic Messages requests: decoding a client's, encoding one for the `anthropic`
// provider format.
#include <fmt/format.h>

#include "formats/anthropic_codec.h"
#include "formats/codecs.h"
#include "formats/common.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr std::string_view kTarget = "anthropic";
constexpr int64_t kMaxU32 = 0xFFFFFFFFLL;
/// max_tokens is required by Anthropic; used when the client did not say.
constexpr uint32_t kDefaultMaxTokens = 8192;

// ---------------------------------------------------------------------------------------
// Decoding blocks

Result<std::optional<CacheControl>> cache_control_of(const json::Object& o, const Path& path) {
  if (auto cc = json::field(o, "cache_control")) {
    LLMROUTER_TRY(v, decode_cache_control(*cc, Path(path, "cache_control")));
    return std::optional<CacheControl>(std::move(v));
  }
  return std::optional<CacheControl>();
}

Result<void> decode_source(const json::Object& o, const Path& path, SourceKind& kind,
                           std::string& media_type, std::string& data, std::string& url,
                           std::string& file_id, bool allow_text) {
  LLMROUTER_TRY(src_el, json::required(o, "source", path));
  const Path sp(path, "source");
  LLMROUTER_TRY(src, json::as_object(src_el, sp));
  LLMROUTER_TRY(type, json::required_string(src, "type", sp));
  if (type == "base64" || (allow_text && type == "text")) {
    kind = type == "base64" ? SourceKind::Base64 : SourceKind::Text;
    LLMROUTER_TRY(d, json::required_string(src, "data", sp));
    data = std::move(d);
    media_type = json::string_or_empty(src, "media_type");
  } else if (type == "url") {
    kind = SourceKind::Url;
    LLMROUTER_TRY(u, json::required_string(src, "url", sp));
    url = std::move(u);
  } else if (type == "file") {
    kind = SourceKind::FileId;
    LLMROUTER_TRY(f, json::required_string(src, "file_id", sp));
    file_id = std::move(f);
  } else {
    return json::error_at(Path(sp, "type"), fmt::format("unsupported source type '{}'", type));
  }
  return {};
}

Result<ImageBlock> decode_image(const json::Object& o, const Path& path) {
  ImageBlock img;
  LLMROUTER_CHECK(
      decode_source(o, path, img.source, img.media_type, img.data, img.url, img.file_id, false));
  LLMROUTER_TRY(cc, cache_control_of(o, path));
  img.cache_control = std::move(cc);
  return img;
}

Result<DocumentBlock> decode_document(const json::Object& o, const Path& path) {
  DocumentBlock doc;
  LLMROUTER_CHECK(
      decode_source(o, path, doc.source, doc.media_type, doc.data, doc.url, doc.file_id, true));
  doc.title = json::string_or_empty(o, "title");
  doc.context = json::string_or_empty(o, "context");
  if (auto c = json::field(o, "citations")) doc.citations = json::raw(*c);
  LLMROUTER_TRY(cc, cache_control_of(o, path));
  doc.cache_control = std::move(cc);
  return doc;
}

Result<TextBlock> decode_text(const json::Object& o, const Path& path) {
  TextBlock t;
  LLMROUTER_TRY(text, json::required_string(o, "text", path));
  t.text = std::move(text);
  if (auto c = json::field(o, "citations")) t.citations = json::raw(*c);
  LLMROUTER_TRY(cc, cache_control_of(o, path));
  t.cache_control = std::move(cc);
  return t;
}

Result<ToolResultBlock> decode_tool_result(const json::Object& o, const Path& path) {
  ToolResultBlock r;
  LLMROUTER_TRY(id, json::required_string(o, "tool_use_id", path));
  r.tool_use_id = std::move(id);
  if (auto e = json::field(o, "is_error")) {
    LLMROUTER_TRY(b, json::as_bool(*e, Path(path, "is_error")));
    r.is_error = b;
  }
  LLMROUTER_TRY(cc, cache_control_of(o, path));
  r.cache_control = std::move(cc);
  auto content = json::field(o, "content");
  if (!content) return r;
  const Path cp(path, "content");
  if (content->is_string()) {
    r.content.emplace_back(
        TextBlock{std::string(content->get_string().value_unsafe()), std::nullopt, {}});
    return r;
  }
  auto decode_result_part = [&](const json::Object& bo, const Element&,
                                const Path& bp) -> Result<void> {
    LLMROUTER_TRY(type, json::required_string(bo, "type", bp));
    if (type == "text") {
      LLMROUTER_TRY(t, decode_text(bo, bp));
      r.content.emplace_back(std::move(t));
    } else if (type == "image") {
      LLMROUTER_TRY(img, decode_image(bo, bp));
      r.content.emplace_back(std::move(img));
    } else if (type == "document") {
      LLMROUTER_TRY(doc, decode_document(bo, bp));
      r.content.emplace_back(std::move(doc));
    } else {
      return json::error_at(Path(bp, "type"),
                            fmt::format("unsupported tool result content type '{}'", type));
    }
    return {};
  };
  LLMROUTER_CHECK(for_each_object(*content, cp, decode_result_part));
  return r;
}

// One content block of a message or response. Block types this model does not represent
// (server tools and their results, search results, ...) are kept as opaque blocks.
Result<ContentBlock> decode_block(const Element& b, const Path& bp) {
  LLMROUTER_TRY(bo, json::as_object(b, bp));
  LLMROUTER_TRY(type, json::required_string(bo, "type", bp));
  if (type == "text") {
    LLMROUTER_TRY(t, decode_text(bo, bp));
    return ContentBlock(std::move(t));
  }
  if (type == "image") {
    LLMROUTER_TRY(img, decode_image(bo, bp));
    return ContentBlock(std::move(img));
  }
  if (type == "document") {
    if (auto src = json::field(bo, "source");
        src && src->is_object() &&
        json::string_or_empty(json::object_of(*src), "type") == "content") {
      return ContentBlock(
          OpaqueBlock{WireFormat::Anthropic, json::raw(b)});  // custom content document
    }
    LLMROUTER_TRY(doc, decode_document(bo, bp));
    return ContentBlock(std::move(doc));
  }
  if (type == "tool_use") {
    ToolUseBlock u;
    LLMROUTER_TRY(id, json::required_string(bo, "id", bp));
    LLMROUTER_TRY(name, json::required_string(bo, "name", bp));
    u.id = std::move(id);
    u.name = std::move(name);
    if (auto in = json::field(bo, "input")) {
      LLMROUTER_TRY(io, json::as_object(*in, Path(bp, "input")));
      (void)io;
      u.input = json::raw(*in);
    } else {
      u.input.text = "{}";
    }
    LLMROUTER_TRY(cc, cache_control_of(bo, bp));
    u.cache_control = std::move(cc);
    return ContentBlock(std::move(u));
  }
  if (type == "tool_result") {
    LLMROUTER_TRY(r, decode_tool_result(bo, bp));
    return ContentBlock(std::move(r));
  }
  if (type == "thinking") {
    ThinkingBlock t;
    LLMROUTER_TRY(text, json::required_string(bo, "thinking", bp));
    t.thinking = std::move(text);
    t.signature = json::string_or_empty(bo, "signature");
    return ContentBlock(std::move(t));
  }
  if (type == "redacted_thinking") {
    LLMROUTER_TRY(data, json::required_string(bo, "data", bp));
    return ContentBlock(RedactedThinkingBlock{std::move(data)});
  }
  return ContentBlock(OpaqueBlock{WireFormat::Anthropic, json::raw(b)});
}

}  // namespace

Result<std::vector<ContentBlock>> decode_anthropic_content(const Element& e, const Path& path) {
  std::vector<ContentBlock> out;
  if (e.is_string()) {
    out.push_back(TextBlock{std::string(e.get_string().value_unsafe()), std::nullopt, {}});
    return out;
  }
  LLMROUTER_TRY(arr, json::as_array(e, path));
  std::size_t i = 0;
  for (Element b : arr) {
    LLMROUTER_TRY(block, decode_block(b, Path(path, i++)));
    out.push_back(std::move(block));
  }
  return out;
}

namespace {

Result<void> decode_messages(const Element& e, const Path& path, CanonicalRequest& req) {
  auto decode_message = [&](const json::Object& mo, const Element&,
                            const Path& mp) -> Result<void> {
    LLMROUTER_TRY(role, json::required_string(mo, "role", mp));
    LLMROUTER_TRY(content_el, json::required(mo, "content", mp));
    LLMROUTER_TRY(blocks, decode_anthropic_content(content_el, Path(mp, "content")));
    if (role == "assistant") {
      for (std::size_t k = 0; k < blocks.size(); ++k) {
        if (std::holds_alternative<ToolResultBlock>(blocks[k])) {
          return json::error_at(Path(Path(mp, "content"), k),
                                "tool_result blocks belong in user messages");
        }
      }
      req.messages.push_back(Message{Role::Assistant, std::move(blocks), {}});
    } else if (role == "user") {
      // Tool results first (their own Tool message), then the rest of the turn.
      Message results{Role::Tool, {}, {}};
      Message rest{Role::User, {}, {}};
      for (std::size_t k = 0; k < blocks.size(); ++k) {
        ContentBlock& b = blocks[k];
        if (std::holds_alternative<ToolUseBlock>(b) || std::holds_alternative<ThinkingBlock>(b) ||
            std::holds_alternative<RedactedThinkingBlock>(b)) {
          return json::error_at(Path(Path(mp, "content"), k),
                                "tool_use and thinking blocks belong in assistant messages");
        }
        (std::holds_alternative<ToolResultBlock>(b) ? results : rest)
            .content.push_back(std::move(b));
      }
      const bool has_results = !results.content.empty();
      if (has_results) req.messages.push_back(std::move(results));
      if (!rest.content.empty() || !has_results) req.messages.push_back(std::move(rest));
    } else {
      return json::error_at(Path(mp, "role"),
                            fmt::format("unknown role '{}'; expected user or assistant", role));
    }
    return {};
  };
  return for_each_object(e, path, decode_message);
}

Result<void> decode_tools(const Element& e, const Path& path, CanonicalRequest& req) {
  auto decode_tool = [&](const json::Object& to, const Element& t, const Path& tp) -> Result<void> {
    Tool tool;
    const std::string type = json::string_or_empty(to, "type");
    if (!type.empty() && type != "custom") {  // a server or versioned built-in tool
      tool.kind = Tool::Kind::Opaque;
      tool.origin = WireFormat::Anthropic;
      tool.name = json::string_or_empty(to, "name");
      tool.opaque = json::raw(t);
      req.tools.push_back(std::move(tool));
      return {};
    }
    LLMROUTER_TRY(name, json::required_string(to, "name", tp));
    tool.name = std::move(name);
    tool.description = json::string_or_empty(to, "description");
    LLMROUTER_TRY(schema, json::required(to, "input_schema", tp));
    LLMROUTER_TRY(so, json::as_object(schema, Path(tp, "input_schema")));
    (void)so;
    tool.input_schema = json::raw(schema);
    if (auto s = json::field(to, "strict")) {
      LLMROUTER_TRY(b, json::as_bool(*s, Path(tp, "strict")));
      tool.strict = b;
    }
    LLMROUTER_TRY(cc, cache_control_of(to, tp));
    tool.cache_control = std::move(cc);
    req.tools.push_back(std::move(tool));
    return {};
  };
  return for_each_object(e, path, decode_tool);
}

Result<void> decode_tool_choice(const Element& e, const Path& path, CanonicalRequest& req) {
  LLMROUTER_TRY(o, json::as_object(e, path));
  LLMROUTER_TRY(type, json::required_string(o, "type", path));
  ToolChoice c;
  if (type == "auto") {
    c.mode = ToolChoice::Mode::Auto;
  } else if (type == "any") {
    c.mode = ToolChoice::Mode::Required;
  } else if (type == "none") {
    c.mode = ToolChoice::Mode::None;
  } else if (type == "tool") {
    c.mode = ToolChoice::Mode::Tool;
    LLMROUTER_TRY(name, json::required_string(o, "name", path));
    c.name = std::move(name);
  } else {
    return json::error_at(
        Path(path, "type"),
        fmt::format("unknown tool_choice type '{}'; expected auto, any, tool or none", type));
  }
  if (auto d = json::field(o, "disable_parallel_tool_use")) {
    LLMROUTER_TRY(b, json::as_bool(*d, Path(path, "disable_parallel_tool_use")));
    if (b) req.parallel_tool_calls = false;
  }
  req.tool_choice = std::move(c);
  return {};
}

Result<ThinkingConfig> decode_thinking(const Element& e, const Path& path) {
  LLMROUTER_TRY(o, json::as_object(e, path));
  LLMROUTER_TRY(type, json::required_string(o, "type", path));
  ThinkingConfig t;
  if (type == "enabled") {
    t.mode = ThinkingConfig::Mode::Enabled;
  } else if (type == "disabled") {
    t.mode = ThinkingConfig::Mode::Disabled;
  } else if (type == "adaptive") {
    t.mode = ThinkingConfig::Mode::Adaptive;
  } else {
    return json::error_at(
        Path(path, "type"),
        fmt::format("unknown thinking type '{}'; expected enabled, disabled or adaptive", type));
  }
  if (auto b = json::field(o, "budget_tokens")) {
    LLMROUTER_TRY(v, json::as_int(*b, Path(path, "budget_tokens"), 0, kMaxU32));
    t.budget_tokens = static_cast<uint32_t>(v);
  }
  return t;
}

// Anthropic structured output: {"type": "json_schema", "schema": {...}}.
Result<ResponseFormat> decode_output_format(const Element& e, const Path& path) {
  LLMROUTER_TRY(o, json::as_object(e, path));
  ResponseFormat rf;
  rf.type = ResponseFormat::Type::JsonSchema;
  const std::string type = json::string_or_empty(o, "type");
  if (!type.empty() && type != "json_schema") {
    return json::error_at(Path(path, "type"), fmt::format("unsupported output format '{}'", type));
  }
  LLMROUTER_TRY(schema, json::required(o, "schema", path));
  LLMROUTER_TRY(so, json::as_object(schema, Path(path, "schema")));
  (void)so;
  rf.schema = json::raw(schema);
  return rf;
}

// ---------------------------------------------------------------------------------------
// Encoding blocks

void write_cache_control(json::Writer& w, const std::optional<CacheControl>& cc) {
  if (!cc) return;
  w.key("cache_control");
  w.begin_object();
  w.kv("type", cc->type);
  if (!cc->ttl.empty()) w.kv("ttl", cc->ttl);
  w.end_object();
}

void write_source(json::Writer& w, SourceKind kind, const std::string& media_type,
                  const std::string& data, const std::string& url, const std::string& file_id) {
  w.key("source");
  w.begin_object();
  switch (kind) {
    case SourceKind::Base64:
      w.kv("type", "base64");
      w.kv("media_type", media_type);
      w.kv("data", data);
      break;
    case SourceKind::Text:
      w.kv("type", "text");
      w.kv("media_type", media_type.empty() ? "text/plain" : media_type);
      w.kv("data", data);
      break;
    case SourceKind::Url:
      w.kv("type", "url");
      w.kv("url", url);
      break;
    case SourceKind::FileId:
      w.kv("type", "file");
      w.kv("file_id", file_id);
      break;
  }
  w.end_object();
}

void write_text(json::Writer& w, const TextBlock& t) {
  w.begin_object();
  w.kv("type", "text");
  w.kv("text", t.text);
  if (!t.citations.empty()) w.kv_raw("citations", t.citations);
  write_cache_control(w, t.cache_control);
  w.end_object();
}

void write_image(json::Writer& w, const ImageBlock& img) {
  w.begin_object();
  w.kv("type", "image");
  write_source(w, img.source, img.media_type, img.data, img.url, img.file_id);
  write_cache_control(w, img.cache_control);
  w.end_object();
}

void write_document(json::Writer& w, const DocumentBlock& d) {
  w.begin_object();
  w.kv("type", "document");
  write_source(w, d.source, d.media_type, d.data, d.url, d.file_id);
  if (!d.title.empty()) w.kv("title", d.title);
  if (!d.context.empty()) w.kv("context", d.context);
  if (!d.citations.empty()) w.kv_raw("citations", d.citations);
  write_cache_control(w, d.cache_control);
  w.end_object();
}

}  // namespace

// Whether `b` can be sent to Anthropic; logs what cannot.
bool anthropic_sendable(const ContentBlock& b, bool to_anthropic) {
  if (const auto* t = std::get_if<TextBlock>(&b))
    return !t->text.empty();  // empty text is rejected
  if (const auto* th = std::get_if<ThinkingBlock>(&b)) {
    // Anthropic verifies thinking signatures; reasoning from other providers has none.
    if (th->signature.empty()) {
      if (to_anthropic) log_dropped(kTarget, "thinking without a signature");
      return false;
    }
    return true;
  }
  if (const auto* o = std::get_if<OpaqueBlock>(&b)) {
    if (o->origin != WireFormat::Anthropic) {
      if (to_anthropic)
        log_dropped(kTarget, fmt::format("{} content block", wire_format_name(o->origin)));
      return false;
    }
  }
  return true;
}

void write_anthropic_block(json::Writer& w, const ContentBlock& b) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, TextBlock>) {
          write_text(w, x);
        } else if constexpr (std::is_same_v<T, ImageBlock>) {
          write_image(w, x);
        } else if constexpr (std::is_same_v<T, DocumentBlock>) {
          write_document(w, x);
        } else if constexpr (std::is_same_v<T, ToolUseBlock>) {
          w.begin_object();
          w.kv("type", "tool_use");
          w.kv("id", x.id);
          w.kv("name", x.name);
          w.key("input");
          w.raw(input_as_object(x.input));
          write_cache_control(w, x.cache_control);
          w.end_object();
        } else if constexpr (std::is_same_v<T, ToolResultBlock>) {
          w.begin_object();
          w.kv("type", "tool_result");
          w.kv("tool_use_id", x.tool_use_id);
          w.key("content");
          if (x.content.size() == 1 && std::holds_alternative<TextBlock>(x.content[0]) &&
              !std::get<TextBlock>(x.content[0]).cache_control) {
            w.string(std::get<TextBlock>(x.content[0]).text);
          } else {
            w.begin_array();
            for (const ToolResultPart& p : x.content) {
              if (const auto* t = std::get_if<TextBlock>(&p)) {
                if (!t->text.empty()) write_text(w, *t);
              } else if (const auto* img = std::get_if<ImageBlock>(&p)) {
                write_image(w, *img);
              } else if (const auto* d = std::get_if<DocumentBlock>(&p)) {
                write_document(w, *d);
              }
            }
            w.end_array();
          }
          if (x.is_error) w.kv_bool("is_error", true);
          write_cache_control(w, x.cache_control);
          w.end_object();
        } else if constexpr (std::is_same_v<T, ThinkingBlock>) {
          w.begin_object();
          w.kv("type", "thinking");
          w.kv("thinking", x.thinking);
          w.kv("signature", x.signature);
          w.end_object();
        } else if constexpr (std::is_same_v<T, RedactedThinkingBlock>) {
          w.begin_object();
          w.kv("type", "redacted_thinking");
          w.kv("data", x.data);
          w.end_object();
        } else if constexpr (std::is_same_v<T, OpaqueBlock>) {
          w.raw(x.json);
        }
      },
      b);
}

namespace {

// Output messages for Anthropic: consecutive turns of one role merged (a Tool message and
// the User message after it become one user turn, tool results first), empty ones left out.
struct OutMessage {
  bool assistant = false;
  std::vector<const ContentBlock*> blocks;
};

std::vector<OutMessage> anthropic_turns(const CanonicalRequest& req,
                                        std::vector<ContentBlock>& scratch) {
  // `scratch` owns blocks made here (system messages turned into user text); reserve so
  // that pointers into it stay valid.
  scratch.reserve(req.messages.size());
  std::vector<OutMessage> out;
  for (const Message& m : req.messages) {
    const bool assistant = m.role == Role::Assistant;
    if (out.empty() || out.back().assistant != assistant) out.push_back(OutMessage{assistant, {}});
    if (m.role == Role::System) {
      log_dropped(kTarget, "system message inside the conversation (sent as user text)");
      std::string text = text_of(m);
      if (text.empty()) continue;
      scratch.push_back(TextBlock{std::move(text), std::nullopt, {}});
      out.back().blocks.push_back(&scratch.back());
      continue;
    }
    for (const ContentBlock& b : m.content) {
      if (anthropic_sendable(b, true)) out.back().blocks.push_back(&b);
    }
  }
  std::erase_if(out, [](const OutMessage& m) { return m.blocks.empty(); });
  // Merging may be needed again after removing empty turns.
  std::vector<OutMessage> merged;
  for (OutMessage& m : out) {
    if (!merged.empty() && merged.back().assistant == m.assistant) {
      merged.back().blocks.insert(merged.back().blocks.end(), m.blocks.begin(), m.blocks.end());
    } else {
      merged.push_back(std::move(m));
    }
  }
  return merged;
}

}  // namespace

// ---------------------------------------------------------------------------------------

Result<CanonicalRequest> decode_anthropic_request(std::string_view body) {
  bool has_messages = false, has_max_tokens = false;
  auto member = [&](std::string_view key, const Element& value, const Path& p,
                    CanonicalRequest& req) -> Result<void> {
    if (key == "messages") {
      LLMROUTER_CHECK(decode_messages(value, p, req));
      has_messages = true;
    } else if (key == "system") {
      if (value.is_string()) {
        if (!value.get_string().value_unsafe().empty()) {
          req.system.push_back(
              TextBlock{std::string(value.get_string().value_unsafe()), std::nullopt, {}});
        }
      } else {
        auto decode_system_block = [&](const json::Object& bo, const Element&,
                                       const Path& bp) -> Result<void> {
          LLMROUTER_TRY(type, json::required_string(bo, "type", bp));
          if (type != "text") return json::error_at(Path(bp, "type"), "system blocks must be text");
          LLMROUTER_TRY(t, decode_text(bo, bp));
          req.system.push_back(std::move(t));
          return {};
        };
        LLMROUTER_CHECK(for_each_object(value, p, decode_system_block));
      }
    } else if (key == "max_tokens") {
      LLMROUTER_TRY(v, json::as_int(value, p, 1, kMaxU32));
      req.max_tokens = static_cast<uint32_t>(v);
      has_max_tokens = true;
    } else if (key == "stop_sequences") {
      LLMROUTER_TRY(v, decode_stop(value, p));
      req.stop = std::move(v);
    } else if (key == "metadata") {
      LLMROUTER_TRY(mo, json::as_object(value, p));
      req.user = json::string_or_empty(mo, "user_id");
    } else if (key == "tools") {
      LLMROUTER_CHECK(decode_tools(value, p, req));
    } else if (key == "tool_choice") {
      LLMROUTER_CHECK(decode_tool_choice(value, p, req));
    } else if (key == "thinking") {
      LLMROUTER_TRY(t, decode_thinking(value, p));
      req.thinking = t;
    } else if (key == "output_format") {
      LLMROUTER_TRY(rf, decode_output_format(value, p));
      req.response_format = std::move(rf);
    } else if (key == "output_config") {
      LLMROUTER_TRY(oc, json::as_object(value, p));
      req.reasoning_effort = json::string_or_empty(oc, "effort");
      if (auto f = json::field(oc, "format")) {
        LLMROUTER_TRY(rf, decode_output_format(*f, Path(p, "format")));
        req.response_format = std::move(rf);
      }
    } else if (key == "stream") {
      LLMROUTER_TRY(v, json::as_bool(value, p));
      req.stream = v;
      req.stream_include_usage = v;
    }
    return {};
  };
  LLMROUTER_TRY(req, decode_client_request(body, member));
  if (!has_messages) return missing_member("messages");
  if (!has_max_tokens) return missing_member("max_tokens");
  LLMROUTER_CHECK(validate(req));
  return req;
}

Result<std::string> encode_anthropic_request(const CanonicalRequest& req) {
  std::string out;
  out.reserve(1024);
  json::Writer w(out);
  w.begin_object();
  w.kv("model", req.model);
  w.kv_uint("max_tokens", req.max_tokens.value_or(kDefaultMaxTokens));
  if (!req.system.empty()) {
    bool plain =
        req.system.size() == 1 && !req.system[0].cache_control && req.system[0].citations.empty();
    if (plain) {
      w.kv("system", req.system[0].text);
    } else {
      w.key("system");
      w.begin_array();
      for (const TextBlock& t : req.system) {
        if (!t.text.empty()) write_text(w, t);
      }
      w.end_array();
    }
  }
  std::vector<ContentBlock> scratch;
  w.key("messages");
  w.begin_array();
  for (const OutMessage& m : anthropic_turns(req, scratch)) {
    w.begin_object();
    w.kv("role", m.assistant ? "assistant" : "user");
    w.key("content");
    w.begin_array();
    for (const ContentBlock* b : m.blocks) write_anthropic_block(w, *b);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  if (req.temperature) w.kv_number("temperature", *req.temperature);
  if (req.top_p) w.kv_number("top_p", *req.top_p);
  if (req.top_k) w.kv_uint("top_k", *req.top_k);
  if (!req.stop.empty()) {
    w.key("stop_sequences");
    w.begin_array();
    for (const std::string& s : req.stop) w.string(s);
    w.end_array();
  }
  if (req.seed) log_dropped(kTarget, "seed");
  if (req.frequency_penalty) log_dropped(kTarget, "frequency_penalty");
  if (req.presence_penalty) log_dropped(kTarget, "presence_penalty");
  if (!req.user.empty()) {
    w.key("metadata");
    w.begin_object();
    w.kv("user_id", req.user);
    w.end_object();
  }
  bool any_tools = false;
  for (const Tool& t : req.tools) {
    any_tools = any_tools || t.kind == Tool::Kind::Function || t.origin == WireFormat::Anthropic;
  }
  if (any_tools) {
    w.key("tools");
    w.begin_array();
    for (const Tool& t : req.tools) {
      if (t.kind == Tool::Kind::Opaque) {
        if (keep_opaque_tool(t, WireFormat::Anthropic)) w.raw(t.opaque);
        continue;
      }
      w.begin_object();
      w.kv("name", t.name);
      if (!t.description.empty()) w.kv("description", t.description);
      w.kv_raw("input_schema", t.input_schema);
      // `strict` needs a beta on Anthropic and is rejected without it.
      if (t.strict == true) log_dropped(kTarget, "tool strict");
      write_cache_control(w, t.cache_control);
      w.end_object();
    }
    w.end_array();
    if (req.tool_choice || req.parallel_tool_calls == false) {
      const ToolChoice c = req.tool_choice.value_or(ToolChoice{});
      w.key("tool_choice");
      w.begin_object();
      switch (c.mode) {
        case ToolChoice::Mode::Auto:
          w.kv("type", "auto");
          break;
        case ToolChoice::Mode::None:
          w.kv("type", "none");
          break;
        case ToolChoice::Mode::Required:
          w.kv("type", "any");
          break;
        case ToolChoice::Mode::Tool:
          w.kv("type", "tool");
          w.kv("name", c.name);
          break;
      }
      if (req.parallel_tool_calls == false && c.mode != ToolChoice::Mode::None) {
        w.kv_bool("disable_parallel_tool_use", true);
      }
      w.end_object();
    }
  }
  if (req.thinking) {
    w.key("thinking");
    w.begin_object();
    switch (req.thinking->mode) {
      case ThinkingConfig::Mode::Enabled:
        w.kv("type", "enabled");
        break;
      case ThinkingConfig::Mode::Disabled:
        w.kv("type", "disabled");
        break;
      case ThinkingConfig::Mode::Adaptive:
        w.kv("type", "adaptive");
        break;
    }
    if (req.thinking->budget_tokens && req.thinking->mode != ThinkingConfig::Mode::Disabled) {
      w.kv_uint("budget_tokens", *req.thinking->budget_tokens);
    }
    w.end_object();
  } else if (!req.reasoning_effort.empty()) {
    log_dropped(kTarget,
                "reasoning_effort (reasoning controls are not translated across model families)");
  }
  if (req.response_format) {
    if (req.response_format->type == ResponseFormat::Type::JsonSchema &&
        !req.response_format->schema.empty()) {
      w.key("output_config");
      w.begin_object();
      w.key("format");
      w.begin_object();
      w.kv("type", "json_schema");
      w.kv_raw("schema", req.response_format->schema);
      w.end_object();
      w.end_object();
    } else if (req.response_format->type != ResponseFormat::Type::Text) {
      log_dropped(kTarget, "response_format json_object (Anthropic needs a schema)");
    }
  }
  w.kv_bool("stream", req.stream);
  w.end_object();
  return out;
}

}  // namespace llmrouter::detail
