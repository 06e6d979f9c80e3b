// SPDX-License-Identifier: MIT
// Anthropic Messages: client requests and responses, and the `anthropic` provider format.
#include <map>

#include <fmt/format.h>

#include "formats/block_sequencer.h"
#include "formats/codecs.h"
#include "formats/common.h"
#include "formats/framing.h"
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
  LLMROUTER_CHECK(decode_source(o, path, img.source, img.media_type, img.data, img.url, img.file_id, false));
  LLMROUTER_TRY(cc, cache_control_of(o, path));
  img.cache_control = std::move(cc);
  return img;
}

Result<DocumentBlock> decode_document(const json::Object& o, const Path& path) {
  DocumentBlock doc;
  LLMROUTER_CHECK(decode_source(o, path, doc.source, doc.media_type, doc.data, doc.url, doc.file_id, true));
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
    r.content.emplace_back(TextBlock{std::string(content->get_string().value_unsafe()), std::nullopt, {}});
    return r;
  }
  LLMROUTER_TRY(arr, json::as_array(*content, cp));
  std::size_t i = 0;
  for (Element b : arr) {
    const Path bp(cp, i++);
    LLMROUTER_TRY(bo, json::as_object(b, bp));
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
  }
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
    if (auto src = json::field(bo, "source"); src && src->is_object() &&
        json::string_or_empty(json::object_of(*src), "type") == "content") {
      return ContentBlock(OpaqueBlock{WireFormat::Anthropic, json::raw(b)});  // custom content document
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

Result<std::vector<ContentBlock>> decode_content(const Element& e, const Path& path) {
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

Result<void> decode_messages(const Element& e, const Path& path, CanonicalRequest& req) {
  LLMROUTER_TRY(arr, json::as_array(e, path));
  std::size_t i = 0;
  for (Element m : arr) {
    const Path mp(path, i++);
    LLMROUTER_TRY(mo, json::as_object(m, mp));
    LLMROUTER_TRY(role, json::required_string(mo, "role", mp));
    LLMROUTER_TRY(content_el, json::required(mo, "content", mp));
    LLMROUTER_TRY(blocks, decode_content(content_el, Path(mp, "content")));
    if (role == "assistant") {
      for (std::size_t k = 0; k < blocks.size(); ++k) {
        if (std::holds_alternative<ToolResultBlock>(blocks[k])) {
          return json::error_at(Path(Path(mp, "content"), k), "tool_result blocks belong in user messages");
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
        (std::holds_alternative<ToolResultBlock>(b) ? results : rest).content.push_back(std::move(b));
      }
      const bool has_results = !results.content.empty();
      if (has_results) req.messages.push_back(std::move(results));
      if (!rest.content.empty() || !has_results) req.messages.push_back(std::move(rest));
    } else {
      return json::error_at(Path(mp, "role"),
                            fmt::format("unknown role '{}'; expected user or assistant", role));
    }
  }
  return {};
}

Result<void> decode_tools(const Element& e, const Path& path, CanonicalRequest& req) {
  LLMROUTER_TRY(arr, json::as_array(e, path));
  std::size_t i = 0;
  for (Element t : arr) {
    const Path tp(path, i++);
    LLMROUTER_TRY(to, json::as_object(t, tp));
    Tool tool;
    const std::string type = json::string_or_empty(to, "type");
    if (!type.empty() && type != "custom") {  // a server or versioned built-in tool
      tool.kind = Tool::Kind::Opaque;
      tool.origin = WireFormat::Anthropic;
      tool.name = json::string_or_empty(to, "name");
      tool.opaque = json::raw(t);
      req.tools.push_back(std::move(tool));
      continue;
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
  }
  return {};
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
    return json::error_at(Path(path, "type"),
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
    return json::error_at(Path(path, "type"),
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

// Whether `b` can be sent to Anthropic; logs what cannot.
bool sendable(const ContentBlock& b, bool to_anthropic) {
  if (const auto* t = std::get_if<TextBlock>(&b)) return !t->text.empty();  // empty text is rejected
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
      if (to_anthropic) log_dropped(kTarget, fmt::format("{} content block", wire_format_name(o->origin)));
      return false;
    }
  }
  return true;
}

void write_block(json::Writer& w, const ContentBlock& b) {
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

// ---------------------------------------------------------------------------------------
// Usage: Anthropic reports cache reads and writes apart from input_tokens; the canonical
// input count includes them.

void read_usage(const json::Object& u, Usage& usage, bool* saw_input = nullptr) {
  auto num = [&](std::string_view key) { return json::count(u, key); };
  const auto input = num("input_tokens");
  const auto read = num("cache_read_input_tokens");
  const auto write = num("cache_creation_input_tokens");
  if (input || read || write) {
    usage.cache_read_input_tokens = read.value_or(0);
    usage.cache_creation_input_tokens = write.value_or(0);
    usage.input_tokens = input.value_or(0) + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
    if (saw_input) *saw_input = input.has_value();
  }
  if (auto out = num("output_tokens")) usage.output_tokens = *out;
}

void write_usage(json::Writer& w, const Usage& u) {
  const uint64_t cached = u.cache_read_input_tokens + u.cache_creation_input_tokens;
  w.key("usage");
  w.begin_object();
  w.kv_uint("input_tokens", u.input_tokens >= cached ? u.input_tokens - cached : 0);
  w.kv_uint("cache_creation_input_tokens", u.cache_creation_input_tokens);
  w.kv_uint("cache_read_input_tokens", u.cache_read_input_tokens);
  w.kv_uint("output_tokens", u.output_tokens);
  w.end_object();
}

std::string message_id(const std::string& id) { return id.empty() ? new_id("msg_") : id; }

// ---------------------------------------------------------------------------------------
// Streams

class AnthropicStreamDecoder final : public StreamDecoder {
 public:
  Result<void> feed(std::string_view bytes, std::vector<StreamEvent>& out) override {
    events_.clear();
    LLMROUTER_CHECK(sse_.feed(bytes, events_));
    return handle(out);
  }

  Result<void> finish(std::vector<StreamEvent>& out) override {
    events_.clear();
    sse_.finish(events_);
    LLMROUTER_CHECK(handle(out));
    if (!ended_) return fail(Errc::Upstream, "anthropic stream: stream ended before the reply was complete");
    return {};
  }

 private:
  Result<void> handle(std::vector<StreamEvent>& out) {
    for (const SseEvent& ev : events_) {
      if (ended_) break;
      LLMROUTER_CHECK(event(ev.data, out));
    }
    return {};
  }

  Result<void> event(std::string_view data, std::vector<StreamEvent>& out) {
    auto doc = json::parse_upstream(data);
    if (!doc) return upstream_error(kTarget, doc.error());
    auto obj = json::as_object(*doc, Path());
    if (!obj) return upstream_error(kTarget, obj.error());
    const std::string type = json::string_or_empty(*obj, "type");
    if (type == "ping") return {};
    if (type == "error") {
      std::string message = "upstream error";
      int status = 0;
      if (auto e = json::field(*obj, "error"); e && e->is_object()) {
        const json::Object eo = json::object_of(*e);
        if (auto m = json::string_or_empty(eo, "message"); !m.empty()) message = m;
        if (json::string_or_empty(eo, "type") == "overloaded_error") status = 529;
      }
      out.push_back(StreamError{Error{Errc::Upstream, std::move(message), status, {}}});
      ended_ = true;
      return {};
    }
    if (type == "message_start") {
      MessageStart start;
      if (auto m = json::field(*obj, "message"); m && m->is_object()) {
        const json::Object mo = json::object_of(*m);
        start.id = json::string_or_empty(mo, "id");
        start.model = json::string_or_empty(mo, "model");
        if (auto u = json::field(mo, "usage"); u && u->is_object()) read_usage(json::object_of(*u), usage_);
      }
      start.usage = usage_;
      out.push_back(std::move(start));
      started_ = true;
      return {};
    }
    if (!started_) {
      out.push_back(MessageStart{});
      started_ = true;
    }
    uint32_t index = 0;
    if (auto i = json::field(*obj, "index"); i && i->is_int64() && i->get_int64().value_unsafe() >= 0) {
      index = static_cast<uint32_t>(i->get_int64().value_unsafe());
    }
    if (type == "content_block_start") {
      auto cb = json::field(*obj, "content_block");
      if (!cb || !cb->is_object()) return fail(Errc::Upstream, "anthropic stream: content_block_start without a content_block");
      const json::Object co = json::object_of(*cb);
      const std::string block_type = json::string_or_empty(co, "type");
      if (kinds_.count(index)) {
        return fail(Errc::Upstream, fmt::format("anthropic stream: block {} started twice", index));
      }
      if (block_type == "text") {
        kinds_[index] = Kind::Text;
        if (auto t = json::string_or_empty(co, "text"); !t.empty()) push(out, TextDelta{index, std::move(t)});
      } else if (block_type == "thinking") {
        kinds_[index] = Kind::Thinking;
        if (auto t = json::string_or_empty(co, "thinking"); !t.empty()) push(out, ThinkingDelta{index, std::move(t)});
        if (auto s = json::string_or_empty(co, "signature"); !s.empty()) push(out, SignatureDelta{index, std::move(s)});
      } else if (block_type == "redacted_thinking") {
        kinds_[index] = Kind::Redacted;
        push(out, RedactedThinkingEvent{index, json::string_or_empty(co, "data")});
      } else if (block_type == "tool_use") {
        kinds_[index] = Kind::Tool;
        push(out, ToolCallStart{index, json::string_or_empty(co, "id"), json::string_or_empty(co, "name")});
        has_tool_calls_ = true;
      } else {
        kinds_[index] = Kind::Ignored;  // server tool blocks: not part of the canonical stream
        log_dropped("canonical stream", fmt::format("anthropic {} block", block_type));
      }
      return {};
    }
    if (type == "content_block_delta") {
      auto it = kinds_.find(index);
      if (it == kinds_.end()) return fail(Errc::Upstream, fmt::format("anthropic stream: delta for block {} before its start", index));
      if (it->second == Kind::Ignored) return {};
      auto d = json::field(*obj, "delta");
      if (!d || !d->is_object()) return fail(Errc::Upstream, "anthropic stream: content_block_delta without a delta");
      const json::Object dobj = json::object_of(*d);
      const std::string dtype = json::string_or_empty(dobj, "type");
      const Kind kind = it->second;
      const bool fits = (dtype == "text_delta" && kind == Kind::Text) ||
                        ((dtype == "thinking_delta" || dtype == "signature_delta") && kind == Kind::Thinking) ||
                        (dtype == "input_json_delta" && kind == Kind::Tool) ||
                        (dtype != "text_delta" && dtype != "thinking_delta" && dtype != "signature_delta" &&
                         dtype != "input_json_delta");
      if (!fits) {
        return fail(Errc::Upstream, fmt::format("anthropic stream: {} for block {} of another kind", dtype, index));
      }
      if (dtype == "text_delta") {
        push(out, TextDelta{index, json::string_or_empty(dobj, "text")});
      } else if (dtype == "thinking_delta") {
        push(out, ThinkingDelta{index, json::string_or_empty(dobj, "thinking")});
      } else if (dtype == "signature_delta") {
        push(out, SignatureDelta{index, json::string_or_empty(dobj, "signature")});
      } else if (dtype == "input_json_delta") {
        std::string part = json::string_or_empty(dobj, "partial_json");
        if (!part.empty()) push(out, ToolCallDelta{index, std::move(part)});
      }
      return {};
    }
    if (type == "content_block_stop") {
      // A block that produced no event (an empty text block) has nothing to stop.
      if (emitted(index)) out.push_back(BlockStop{index});
      return {};
    }
    if (type == "message_delta") {
      if (auto d = json::field(*obj, "delta"); d && d->is_object()) {
        const json::Object dobj = json::object_of(*d);
        if (auto r = json::string_or_empty(dobj, "stop_reason"); !r.empty()) stop_reason_ = stop_reason_from_anthropic(r);
        stop_sequence_ = json::string_or_empty(dobj, "stop_sequence");
      }
      if (auto u = json::field(*obj, "usage"); u && u->is_object()) {
        Usage latest = usage_;
        bool saw_input = false;
        read_usage(json::object_of(*u), latest, &saw_input);
        if (!saw_input) {  // message_delta usage may omit input counts: keep message_start's
          latest.input_tokens = usage_.input_tokens;
          latest.cache_read_input_tokens = usage_.cache_read_input_tokens;
          latest.cache_creation_input_tokens = usage_.cache_creation_input_tokens;
        }
        usage_ = latest;
      }
      return {};
    }
    if (type == "message_stop") {
      out.push_back(UsageUpdate{usage_});
      out.push_back(Done{settle_stop_reason(stop_reason_, has_tool_calls_), stop_sequence_});
      ended_ = true;
    }
    return {};
  }

  // Appends a content event, remembering that its block has been seen downstream.
  void push(std::vector<StreamEvent>& out, StreamEvent e) {
    if (auto index = block_index(e); index && !emitted(*index)) emitted_.push_back(*index);
    out.push_back(std::move(e));
  }
  bool emitted(uint32_t index) const {
    return std::find(emitted_.begin(), emitted_.end(), index) != emitted_.end();
  }

  enum class Kind { Text, Thinking, Redacted, Tool, Ignored };
  std::vector<uint32_t> emitted_;
  SseParser sse_;
  std::vector<SseEvent> events_;
  std::map<uint32_t, Kind> kinds_;
  bool started_ = false;
  bool ended_ = false;
  bool has_tool_calls_ = false;
  Usage usage_;
  StopReason stop_reason_ = StopReason::EndTurn;
  std::string stop_sequence_;
};

class AnthropicStreamEncoder final : public StreamEncoder {
 public:
  void encode(const StreamEvent& event, std::string& out) override {
    if (done_) return;
    sequencer_.push(event, [&](const StreamEvent& e) { emit(e, out); });
  }

  void keepalive(std::string& out) override { append_sse(out, "ping", R"({"type":"ping"})"); }

 private:
  void emit(const StreamEvent& event, std::string& out) {
    if (done_) return;
    if (const auto* s = std::get_if<MessageStart>(&event)) {
      start(s->id, s->model, s->usage, out);
      return;
    }
    if (const auto* err = std::get_if<StreamError>(&event)) {
      std::string body;
      json::Writer w(body);
      w.begin_object();
      w.kv("type", "error");
      w.key("error");
      w.begin_object();
      w.kv("type", anthropic_error_type(err->error));
      w.kv("message", err->error.message);
      w.end_object();
      w.end_object();
      append_sse(out, "error", body);
      done_ = true;
      return;
    }
    start({}, {}, {}, out);
    if (const auto* t = std::get_if<TextDelta>(&event)) {
      open(t->index, Kind::Text, out, [](json::Writer& w) {
        w.kv("type", "text");
        w.kv("text", "");
      });
      delta(t->index, out, [&](json::Writer& w) {
        w.kv("type", "text_delta");
        w.kv("text", t->text);
      });
    } else if (const auto* th = std::get_if<ThinkingDelta>(&event)) {
      open_thinking(th->index, out);
      delta(th->index, out, [&](json::Writer& w) {
        w.kv("type", "thinking_delta");
        w.kv("thinking", th->thinking);
      });
    } else if (const auto* sig = std::get_if<SignatureDelta>(&event)) {
      open_thinking(sig->index, out);
      delta(sig->index, out, [&](json::Writer& w) {
        w.kv("type", "signature_delta");
        w.kv("signature", sig->signature);
      });
    } else if (const auto* r = std::get_if<RedactedThinkingEvent>(&event)) {
      open(r->index, Kind::Other, out, [&](json::Writer& w) {
        w.kv("type", "redacted_thinking");
        w.kv("data", r->data);
      });
    } else if (const auto* c = std::get_if<ToolCallStart>(&event)) {
      has_tool_calls_ = true;
      open(c->index, Kind::Other, out, [&](json::Writer& w) {
        w.kv("type", "tool_use");
        w.kv("id", c->id);
        w.kv("name", c->name);
        w.key("input");
        w.begin_object();
        w.end_object();
      });
    } else if (const auto* d = std::get_if<ToolCallDelta>(&event)) {
      if (!blocks_.count(d->index)) return;
      delta(d->index, out, [&](json::Writer& w) {
        w.kv("type", "input_json_delta");
        w.kv("partial_json", d->partial_json);
      });
    } else if (const auto* stop = std::get_if<BlockStop>(&event)) {
      auto it = blocks_.find(stop->index);
      if (it == blocks_.end()) return;
      std::string body;
      json::Writer w(body);
      w.begin_object();
      w.kv("type", "content_block_stop");
      w.kv_uint("index", it->second.wire_index);
      w.end_object();
      append_sse(out, "content_block_stop", body);
    } else if (const auto* u = std::get_if<UsageUpdate>(&event)) {
      if (u->usage.input_tokens) {
        usage_.input_tokens = u->usage.input_tokens;
        usage_.cache_read_input_tokens = u->usage.cache_read_input_tokens;
        usage_.cache_creation_input_tokens = u->usage.cache_creation_input_tokens;
      }
      if (u->usage.output_tokens) usage_.output_tokens = u->usage.output_tokens;
    } else if (const auto* done = std::get_if<Done>(&event)) {
      std::string body;
      json::Writer w(body);
      w.begin_object();
      w.kv("type", "message_delta");
      w.key("delta");
      w.begin_object();
      w.kv("stop_reason", stop_reason_to_anthropic(settle_stop_reason(done->stop_reason, has_tool_calls_)));
      w.key("stop_sequence");
      if (done->stop_sequence.empty()) {
        w.null();
      } else {
        w.string(done->stop_sequence);
      }
      w.end_object();
      write_usage(w, usage_);
      w.end_object();
      append_sse(out, "message_delta", body);
      append_sse(out, "message_stop", R"({"type":"message_stop"})");
      done_ = true;
    }
  }

  enum class Kind { Text, Thinking, Other };
  struct Block {
    uint32_t wire_index = 0;
    Kind kind = Kind::Other;
  };

  void start(std::string_view id, std::string_view model, const Usage& usage, std::string& out) {
    if (started_) return;
    started_ = true;
    usage_ = usage;
    std::string body;
    json::Writer w(body);
    w.begin_object();
    w.kv("type", "message_start");
    w.key("message");
    w.begin_object();
    w.kv("id", message_id(std::string(id)));
    w.kv("type", "message");
    w.kv("role", "assistant");
    w.kv("model", model);
    w.key("content");
    w.begin_array();
    w.end_array();
    w.key("stop_reason");
    w.null();
    w.key("stop_sequence");
    w.null();
    write_usage(w, usage);
    w.end_object();
    w.end_object();
    append_sse(out, "message_start", body);
    keepalive(out);
  }

  template <class F>
  void open(uint32_t index, Kind kind, std::string& out, F&& block_body) {
    if (blocks_.count(index)) return;
    const uint32_t wire = next_wire_index_++;
    blocks_.emplace(index, Block{wire, kind});
    std::string body;
    json::Writer w(body);
    w.begin_object();
    w.kv("type", "content_block_start");
    w.kv_uint("index", wire);
    w.key("content_block");
    w.begin_object();
    block_body(w);
    w.end_object();
    w.end_object();
    append_sse(out, "content_block_start", body);
  }

  void open_thinking(uint32_t index, std::string& out) {
    open(index, Kind::Thinking, out, [](json::Writer& w) {
      w.kv("type", "thinking");
      w.kv("thinking", "");
      w.kv("signature", "");
    });
  }

  template <class F>
  void delta(uint32_t index, std::string& out, F&& delta_body) {
    std::string body;
    json::Writer w(body);
    w.begin_object();
    w.kv("type", "content_block_delta");
    w.kv_uint("index", blocks_.at(index).wire_index);
    w.key("delta");
    w.begin_object();
    delta_body(w);
    w.end_object();
    w.end_object();
    append_sse(out, "content_block_delta", body);
  }

  BlockSequencer sequencer_;
  std::map<uint32_t, Block> blocks_;  // canonical index -> wire block
  uint32_t next_wire_index_ = 0;
  bool started_ = false;
  bool done_ = false;
  bool has_tool_calls_ = false;
  Usage usage_;
};

// Output messages for Anthropic: consecutive turns of one role merged (a Tool message and
// the User message after it become one user turn, tool results first), empty ones left out.
struct OutMessage {
  bool assistant = false;
  std::vector<const ContentBlock*> blocks;
};

std::vector<OutMessage> anthropic_turns(const CanonicalRequest& req, std::vector<ContentBlock>& scratch) {
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
      if (sendable(b, true)) out.back().blocks.push_back(&b);
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
          req.system.push_back(TextBlock{std::string(value.get_string().value_unsafe()), std::nullopt, {}});
        }
      } else {
        LLMROUTER_TRY(arr, json::as_array(value, p));
        std::size_t i = 0;
        for (Element b : arr) {
          const Path bp(p, i++);
          LLMROUTER_TRY(bo, json::as_object(b, bp));
          LLMROUTER_TRY(type, json::required_string(bo, "type", bp));
          if (type != "text") return json::error_at(Path(bp, "type"), "system blocks must be text");
          LLMROUTER_TRY(t, decode_text(bo, bp));
          req.system.push_back(std::move(t));
        }
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
    bool plain = req.system.size() == 1 && !req.system[0].cache_control && req.system[0].citations.empty();
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
    for (const ContentBlock* b : m.blocks) write_block(w, *b);
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
        case ToolChoice::Mode::Auto: w.kv("type", "auto"); break;
        case ToolChoice::Mode::None: w.kv("type", "none"); break;
        case ToolChoice::Mode::Required: w.kv("type", "any"); break;
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
      case ThinkingConfig::Mode::Enabled: w.kv("type", "enabled"); break;
      case ThinkingConfig::Mode::Disabled: w.kv("type", "disabled"); break;
      case ThinkingConfig::Mode::Adaptive: w.kv("type", "adaptive"); break;
    }
    if (req.thinking->budget_tokens && req.thinking->mode != ThinkingConfig::Mode::Disabled) {
      w.kv_uint("budget_tokens", *req.thinking->budget_tokens);
    }
    w.end_object();
  } else if (!req.reasoning_effort.empty()) {
    log_dropped(kTarget, "reasoning_effort (reasoning controls are not translated across model families)");
  }
  if (req.response_format) {
    if (req.response_format->type == ResponseFormat::Type::JsonSchema && !req.response_format->schema.empty()) {
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

Result<Response> decode_anthropic_response(std::string_view body) {
  auto doc = json::parse_upstream(body);
  if (!doc) return upstream_error(kTarget, doc.error());
  const Path root;
  auto obj = json::as_object(*doc, root);
  if (!obj) return upstream_error(kTarget, obj.error());
  Response resp;
  resp.id = json::string_or_empty(*obj, "id");
  resp.model = json::string_or_empty(*obj, "model");
  if (auto u = json::field(*obj, "usage"); u && u->is_object()) read_usage(json::object_of(*u), resp.usage);
  auto content = json::required(*obj, "content", root);
  if (!content) return upstream_error(kTarget, content.error());
  auto blocks = decode_content(*content, Path(root, "content"));
  if (!blocks) return upstream_error(kTarget, blocks.error());
  bool has_calls = false;
  for (ContentBlock& b : *blocks) {
    if (std::holds_alternative<ToolResultBlock>(b)) continue;
    has_calls = has_calls || std::holds_alternative<ToolUseBlock>(b);
    resp.content.push_back(std::move(b));
  }
  resp.stop_reason = settle_stop_reason(stop_reason_from_anthropic(json::string_or_empty(*obj, "stop_reason")), has_calls);
  resp.stop_sequence = json::string_or_empty(*obj, "stop_sequence");
  return resp;
}

std::string encode_anthropic_response(const Response& resp) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.kv("id", message_id(resp.id));
  w.kv("type", "message");
  w.kv("role", "assistant");
  w.kv("model", resp.model);
  w.key("content");
  w.begin_array();
  bool has_calls = false;
  for (const ContentBlock& b : resp.content) {
    has_calls = has_calls || std::holds_alternative<ToolUseBlock>(b);
    if (const auto* th = std::get_if<ThinkingBlock>(&b); th && th->signature.empty()) {
      write_block(w, b);  // unsigned reasoning (from another provider) is still shown
      continue;
    }
    if (sendable(b, false)) write_block(w, b);
  }
  w.end_array();
  w.kv("stop_reason", stop_reason_to_anthropic(settle_stop_reason(resp.stop_reason, has_calls)));
  w.key("stop_sequence");
  if (resp.stop_sequence.empty()) {
    w.null();
  } else {
    w.string(resp.stop_sequence);
  }
  write_usage(w, resp.usage);
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

std::unique_ptr<StreamDecoder> make_anthropic_stream_decoder() {
  return std::make_unique<AnthropicStreamDecoder>();
}

std::unique_ptr<StreamEncoder> make_anthropic_stream_encoder() {
  return std::make_unique<AnthropicStreamEncoder>();
}

}  // namespace llmrouter::detail
