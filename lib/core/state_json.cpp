// SPDX-License-Identifier: MIT
// A conversation as JSON, for stores outside the process: an array of messages, each block
// with a "type" and its fields. Empty strings, absent options and false flags are left out;
// raw JSON (citations, tool inputs, opaque blocks) is written as a string holding its exact
// text, so that it reads back byte for byte.
#include <type_traits>
#include <variant>

#include <fmt/format.h>

#include "json/json.h"
#include "llmrouter/state.h"

namespace llmrouter {
namespace {

namespace json = detail::json;
using json::Object;
using json::Path;
using json::Writer;

constexpr std::string_view kSources[] = {"base64", "url", "text", "file_id"};
constexpr SourceKind kSourceKinds[] = {SourceKind::Base64, SourceKind::Url, SourceKind::Text,
                                       SourceKind::FileId};
constexpr std::string_view kFormats[] = {"openai", "anthropic", "responses", "ollama"};
constexpr WireFormat kFormatKinds[] = {WireFormat::OpenAI, WireFormat::Anthropic,
                                       WireFormat::Responses, WireFormat::Ollama};
constexpr std::string_view kRoles[] = {"system", "user", "assistant", "tool"};
constexpr Role kRoleKinds[] = {Role::System, Role::User, Role::Assistant, Role::Tool};

template <class E, std::size_t N>
std::string_view name_of(E v, const std::string_view (&names)[N], const E (&kinds)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (kinds[i] == v) return names[i];
  }
  return names[0];
}

void put_string(Writer& w, std::string_view key, std::string_view v) {
  if (!v.empty()) w.kv(key, v);
}

void put_cache(Writer& w, const std::optional<CacheControl>& c) {
  if (!c) return;
  w.key("cache_control");
  w.begin_object();
  w.kv("type", c->type);
  w.kv("ttl", c->ttl);
  w.end_object();
}

void write_block(Writer& w, const ContentBlock& block);

template <class T>
void write_fields(Writer& w, const T& b) {
  if constexpr (std::is_same_v<T, TextBlock>) {
    w.kv("type", "text");
    w.kv("text", b.text);
    put_string(w, "citations", b.citations.text);
    put_cache(w, b.cache_control);
  } else if constexpr (std::is_same_v<T, ImageBlock>) {
    w.kv("type", "image");
    w.kv("source", name_of(b.source, kSources, kSourceKinds));
    put_string(w, "media_type", b.media_type);
    put_string(w, "data", b.data);
    put_string(w, "url", b.url);
    put_string(w, "file_id", b.file_id);
    put_string(w, "detail", b.detail);
    put_cache(w, b.cache_control);
  } else if constexpr (std::is_same_v<T, DocumentBlock>) {
    w.kv("type", "document");
    w.kv("source", name_of(b.source, kSources, kSourceKinds));
    put_string(w, "media_type", b.media_type);
    put_string(w, "data", b.data);
    put_string(w, "url", b.url);
    put_string(w, "file_id", b.file_id);
    put_string(w, "filename", b.filename);
    put_string(w, "title", b.title);
    put_string(w, "context", b.context);
    put_string(w, "citations", b.citations.text);
    put_cache(w, b.cache_control);
  } else if constexpr (std::is_same_v<T, ToolUseBlock>) {
    w.kv("type", "tool_use");
    put_string(w, "id", b.id);
    put_string(w, "name", b.name);
    put_string(w, "input", b.input.text);
    put_cache(w, b.cache_control);
  } else if constexpr (std::is_same_v<T, ToolResultBlock>) {
    w.kv("type", "tool_result");
    put_string(w, "tool_use_id", b.tool_use_id);
    w.key("content");
    w.begin_array();
    for (const ToolResultPart& part : b.content) {
      w.begin_object();
      std::visit([&](const auto& p) { write_fields(w, p); }, part);
      w.end_object();
    }
    w.end_array();
    if (b.is_error) w.kv_bool("is_error", true);
    put_cache(w, b.cache_control);
  } else if constexpr (std::is_same_v<T, ThinkingBlock>) {
    w.kv("type", "thinking");
    put_string(w, "thinking", b.thinking);
    put_string(w, "signature", b.signature);
  } else if constexpr (std::is_same_v<T, RedactedThinkingBlock>) {
    w.kv("type", "redacted_thinking");
    put_string(w, "data", b.data);
  } else {
    static_assert(std::is_same_v<T, OpaqueBlock>);
    w.kv("type", "opaque");
    w.kv("origin", name_of(b.origin, kFormats, kFormatKinds));
    put_string(w, "json", b.json.text);
  }
}

void write_block(Writer& w, const ContentBlock& block) {
  w.begin_object();
  std::visit([&](const auto& b) { write_fields(w, b); }, block);
  w.end_object();
}

// Reads the fields of one object, keeping the first error.
class Reader {
 public:
  explicit Reader(const Object& o, const Path& path) : o_(o), path_(path) {}

  void string(std::string_view key, std::string& out) {
    auto e = json::field(o_, key);
    if (!e || error) return;
    auto s = json::as_string(*e, Path(path_, key));
    if (!s) {
      error = s.error();
      return;
    }
    out.assign(*s);
  }
  void raw(std::string_view key, RawJson& out) { string(key, out.text); }
  void boolean(std::string_view key, bool& out) {
    auto e = json::field(o_, key);
    if (!e || error) return;
    auto b = json::as_bool(*e, Path(path_, key));
    if (!b) {
      error = b.error();
      return;
    }
    out = *b;
  }
  template <class E, std::size_t N>
  void name(std::string_view key, const std::string_view (&names)[N], const E (&kinds)[N], E& out) {
    if (!json::field(o_, key) || error) return;
    std::string text;
    string(key, text);
    if (error) return;
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] == text) {
        out = kinds[i];
        return;
      }
    }
    error = json::error_at(Path(path_, key), fmt::format("unknown value '{}'", text)).value();
  }
  void cache(std::optional<CacheControl>& out) {
    auto e = json::field(o_, "cache_control");
    if (!e || error) return;
    const Path p(path_, "cache_control");
    auto o = json::as_object(*e, p);
    if (!o) {
      error = o.error();
      return;
    }
    CacheControl c;
    c.type.clear();
    Reader r(*o, p);
    r.string("type", c.type);
    r.string("ttl", c.ttl);
    if (r.error) {
      error = std::move(r.error);
      return;
    }
    out = std::move(c);
  }

  std::optional<Error> error;

 private:
  const Object& o_;
  const Path& path_;
};

template <class T>
void read_fields(Reader& r, T& b) {
  if constexpr (std::is_same_v<T, TextBlock>) {
    r.string("text", b.text);
    r.raw("citations", b.citations);
    r.cache(b.cache_control);
  } else if constexpr (std::is_same_v<T, ImageBlock>) {
    r.name("source", kSources, kSourceKinds, b.source);
    r.string("media_type", b.media_type);
    r.string("data", b.data);
    r.string("url", b.url);
    r.string("file_id", b.file_id);
    r.string("detail", b.detail);
    r.cache(b.cache_control);
  } else if constexpr (std::is_same_v<T, DocumentBlock>) {
    r.name("source", kSources, kSourceKinds, b.source);
    r.string("media_type", b.media_type);
    r.string("data", b.data);
    r.string("url", b.url);
    r.string("file_id", b.file_id);
    r.string("filename", b.filename);
    r.string("title", b.title);
    r.string("context", b.context);
    r.raw("citations", b.citations);
    r.cache(b.cache_control);
  } else if constexpr (std::is_same_v<T, ToolUseBlock>) {
    r.string("id", b.id);
    r.string("name", b.name);
    r.raw("input", b.input);
    r.cache(b.cache_control);
  } else if constexpr (std::is_same_v<T, ThinkingBlock>) {
    r.string("thinking", b.thinking);
    r.string("signature", b.signature);
  } else if constexpr (std::is_same_v<T, RedactedThinkingBlock>) {
    r.string("data", b.data);
  } else if constexpr (std::is_same_v<T, OpaqueBlock>) {
    r.name("origin", kFormats, kFormatKinds, b.origin);
    r.raw("json", b.json);
  }
}

// The block kind named by `type`, default-constructed; nullopt for an unknown name.
std::optional<ContentBlock> block_of(std::string_view type) {
  if (type == "text") return TextBlock{};
  if (type == "image") return ImageBlock{};
  if (type == "document") return DocumentBlock{};
  if (type == "tool_use") return ToolUseBlock{};
  if (type == "tool_result") return ToolResultBlock{};
  if (type == "thinking") return ThinkingBlock{};
  if (type == "redacted_thinking") return RedactedThinkingBlock{};
  if (type == "opaque") return OpaqueBlock{};
  return std::nullopt;
}

Result<ContentBlock> read_block(const json::Element& e, const Path& path, bool part);

Result<void> read_tool_result(const Object& o, const Path& path, ToolResultBlock& b) {
  auto content = json::field(o, "content");
  if (!content) return {};
  const Path cp(path, "content");
  auto parts = json::as_array(*content, cp);
  if (!parts) return fail(parts.error());
  std::size_t i = 0;
  for (json::Element pe : *parts) {
    auto block = read_block(pe, Path(cp, i++), true);
    if (!block) return fail(block.error());
    if (auto* t = std::get_if<TextBlock>(&*block)) {
      b.content.emplace_back(std::move(*t));
    } else if (auto* img = std::get_if<ImageBlock>(&*block)) {
      b.content.emplace_back(std::move(*img));
    } else {
      b.content.emplace_back(std::move(std::get<DocumentBlock>(*block)));
    }
  }
  return {};
}

// A block; `part`: inside a tool result, where only text, images and documents go.
Result<ContentBlock> read_block(const json::Element& e, const Path& path, bool part) {
  auto o = json::as_object(e, path);
  if (!o) return fail(o.error());
  auto type = json::required_string(*o, "type", path);
  if (!type) return fail(type.error());
  std::optional<ContentBlock> block = block_of(*type);
  const bool allowed = block && (!part || std::holds_alternative<TextBlock>(*block) ||
                                 std::holds_alternative<ImageBlock>(*block) ||
                                 std::holds_alternative<DocumentBlock>(*block));
  if (!allowed)
    return json::error_at(Path(path, "type"), fmt::format("unexpected block type '{}'", *type));
  Reader r(*o, path);
  std::visit([&](auto& b) { read_fields(r, b); }, *block);
  if (auto* tr = std::get_if<ToolResultBlock>(&*block)) {
    r.string("tool_use_id", tr->tool_use_id);
    r.boolean("is_error", tr->is_error);
    r.cache(tr->cache_control);
    if (!r.error) {
      if (auto done = read_tool_result(*o, path, *tr); !done) return fail(done.error());
    }
  }
  if (r.error) return fail(std::move(*r.error));
  return std::move(*block);
}

}  // namespace

std::string encode_conversation(const std::vector<Message>& conversation) {
  std::string out;
  Writer w(out);
  w.begin_array();
  for (const Message& m : conversation) {
    w.begin_object();
    w.kv("role", name_of(m.role, kRoles, kRoleKinds));
    put_string(w, "name", m.name);
    w.key("content");
    w.begin_array();
    for (const ContentBlock& b : m.content) write_block(w, b);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  return out;
}

Result<std::vector<Message>> decode_conversation(std::string_view text) {
  auto root = json::parse(text, json::ParserSlot::Scratch);
  if (!root) return fail(root.error());
  const Path top;
  auto messages = json::as_array(*root, top);
  if (!messages) return fail(messages.error());
  std::vector<Message> out;
  std::size_t i = 0;
  for (json::Element me : *messages) {
    const Path mp(top, i++);
    auto o = json::as_object(me, mp);
    if (!o) return fail(o.error());
    Message m;
    Reader r(*o, mp);
    auto role = json::required(*o, "role", mp);
    if (!role) return fail(role.error());
    r.name("role", kRoles, kRoleKinds, m.role);
    r.string("name", m.name);
    if (r.error) return fail(std::move(*r.error));
    auto content = json::required(*o, "content", mp);
    if (!content) return fail(content.error());
    const Path cp(mp, "content");
    auto blocks = json::as_array(*content, cp);
    if (!blocks) return fail(blocks.error());
    std::size_t j = 0;
    for (json::Element be : *blocks) {
      auto block = read_block(be, Path(cp, j++), false);
      if (!block) return fail(block.error());
      m.content.push_back(std::move(*block));
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace llmrouter
