// SPDX-License-Identifier: MIT
// The one translation unit that includes RapidJSON (its schema validator).
#include "core/json_schema.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/pointer.h>
#include <rapidjson/reader.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include "llmrouter/log.h"

namespace llmrouter::detail {
namespace {

// Compiling a schema recurses once per level of nesting: deeper schemas are not used.
constexpr int kMaxSchemaDepth = 128;
// The validator's work per value grows with the depth it is at: deeper replies are not
// validated but refused.
constexpr int kMaxReplyDepth = 128;

// The deepest nesting of objects and arrays in JSON text (strings skipped).
int nesting(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

std::string shorten(std::string_view s) {
  return s.size() <= 80 ? std::string(s) : fmt::format("{}...", s.substr(0, 80));
}

// RapidJSON reads a local `$ref` ("#/$defs/Item", as the OpenAI and Anthropic SDKs write
// them) as a URI fragment, where a character such as '$' must be percent-encoded: a ref it
// cannot read is ignored, and what it names is then never checked. Percent-encodes those.
void encode_refs(rapidjson::Value& v, rapidjson::Document::AllocatorType& alloc) {
  if (v.IsArray()) {
    for (rapidjson::Value& e : v.GetArray()) encode_refs(e, alloc);
    return;
  }
  if (!v.IsObject()) return;
  // By index: comparing RapidJSON's mutable member iterators is ambiguous in C++20.
  for (rapidjson::SizeType i = 0; i < v.MemberCount(); ++i) {
    auto& m = v.MemberBegin()[i];
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key != "$ref" || !m.value.IsString()) {
      encode_refs(m.value, alloc);
      continue;
    }
    const std::string_view ref(m.value.GetString(), m.value.GetStringLength());
    if (ref.empty() || ref.front() != '#') continue;
    std::string out = "#";
    bool changed = false;
    for (const char c : ref.substr(1)) {
      const bool plain = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                         (c >= 'a' && c <= 'z') || c == '-' || c == '.' || c == '_' || c == '~' ||
                         c == '/' || c == '%';
      if (plain) {
        out += c;
      } else {
        out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        changed = true;
      }
    }
    if (changed) m.value.SetString(out.data(), static_cast<rapidjson::SizeType>(out.size()), alloc);
  }
}

// The local `$ref` of `v`, or "" when it has none.
std::string_view local_ref(const rapidjson::Value& v) {
  if (!v.IsObject()) return {};
  const auto it = v.FindMember("$ref");
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  const std::string_view ref(it->value.GetString(), it->value.GetStringLength());
  return !ref.empty() && ref.front() == '#' ? ref : std::string_view();
}

// RapidJSON validates a value against a schema together with that schema's allOf, anyOf
// and oneOf branches, its `not` and its schema dependencies, each with theirs (a `$ref`
// stands for its target): the schema's same-level set. Each of them validates the value's
// members and items with its own subschemas, and so on down. A loop within a same-level
// set (`{"A": {"anyOf": [{"$ref": "#/$defs/A"}]}}`) recurses without end, and the sets
// multiply level by level (`{"A": {"anyOf": [{"properties": {"x": {"$ref": "#/$defs/A"}}},
// ...]}}` doubles at each level). A schema is used only when no value down to
// kMaxReplyDepth is validated by more than kMaxValidators schemas at once.
constexpr std::size_t kMaxValidators = 4096;
constexpr int kMaxChain = 64;

class Cost {
 public:
  explicit Cost(const rapidjson::Document& root) : root_(root) {}

  bool bounded() {
    collect(root_);
    // sets_[n]: n's same-level set (a schema once for each way it is reached).
    std::unordered_map<const rapidjson::Value*, std::size_t> at;  // validators at a value
    for (const rapidjson::Value* n : nodes_) {
      std::vector<const rapidjson::Value*> set;
      if (!same_level(*n, set, 0)) return false;
      at[n] = set.size();
      sets_[n] = std::move(set);
    }
    // Level by level: at[n] bounds the validators at a value `depth` levels below one
    // validated against n.
    for (int depth = 0; depth < kMaxReplyDepth; ++depth) {
      bool changed = false;
      std::unordered_map<const rapidjson::Value*, std::size_t> deeper;
      for (const rapidjson::Value* n : nodes_) {
        std::size_t below = 0;
        for (const rapidjson::Value* s : sets_[n])
          below = std::min(below + one_level_down(*s, at), kTooMany);
        const std::size_t v = std::max(sets_[n].size(), below);
        if (v != at[n]) changed = true;
        deeper[n] = v;
      }
      at = std::move(deeper);
      if (at[&root_] > kMaxValidators) return false;
      if (!changed) break;
    }
    return at[&root_] <= kMaxValidators;
  }

 private:
  static constexpr std::size_t kTooMany = kMaxValidators + 1;

  void collect(const rapidjson::Value& v) {
    if (v.IsArray()) {
      for (const rapidjson::Value& e : v.GetArray()) collect(e);
      return;
    }
    if (!v.IsObject()) return;
    nodes_.push_back(&v);
    for (const auto& m : v.GetObject()) collect(m.value);
  }

  // Adds v's same-level set to `out`; false on a loop or too many.
  bool same_level(const rapidjson::Value& v, std::vector<const rapidjson::Value*>& out, int chain) {
    if (chain > kMaxChain || out.size() >= kMaxValidators) return false;
    if (const std::string_view ref = local_ref(v); !ref.empty()) {
      const rapidjson::Pointer pointer(ref.data(), ref.size());
      const rapidjson::Value* target = pointer.IsValid() ? pointer.Get(root_) : nullptr;
      return !target || !target->IsObject() || same_level(*target, out, chain + 1);
    }
    out.push_back(&v);
    for (const char* key : {"allOf", "anyOf", "oneOf"}) {
      const auto m = v.FindMember(key);
      if (m == v.MemberEnd() || !m->value.IsArray()) continue;
      for (const rapidjson::Value& branch : m->value.GetArray()) {
        if (branch.IsObject() && !same_level(branch, out, chain + 1)) return false;
      }
    }
    if (const auto m = v.FindMember("not"); m != v.MemberEnd() && m->value.IsObject()) {
      if (!same_level(m->value, out, chain + 1)) return false;
    }
    if (const auto m = v.FindMember("dependencies"); m != v.MemberEnd() && m->value.IsObject()) {
      for (const auto& d : m->value.GetObject()) {
        if (d.value.IsObject() && !same_level(d.value, out, chain + 1)) return false;
      }
    }
    return true;
  }

  // The validators one level below a value validated against s (one schema of a set): the
  // most any member or item gets, plus every pattern property (they add up).
  std::size_t one_level_down(const rapidjson::Value& s,
                             std::unordered_map<const rapidjson::Value*, std::size_t>& at) const {
    std::size_t most = 0;
    const auto take = [&](const rapidjson::Value& sub) {
      if (sub.IsObject()) most = std::max(most, at[&sub]);
    };
    if (const auto m = s.FindMember("properties"); m != s.MemberEnd() && m->value.IsObject()) {
      for (const auto& p : m->value.GetObject()) take(p.value);
    }
    std::size_t patterns = 0;
    if (const auto m = s.FindMember("patternProperties");
        m != s.MemberEnd() && m->value.IsObject()) {
      for (const auto& p : m->value.GetObject()) {
        if (p.value.IsObject()) patterns = std::min(patterns + at[&p.value], kTooMany);
      }
    }
    for (const char* key : {"additionalProperties", "items", "additionalItems"}) {
      const auto m = s.FindMember(key);
      if (m == s.MemberEnd()) continue;
      if (m->value.IsArray()) {
        for (const rapidjson::Value& e : m->value.GetArray()) take(e);
      } else {
        take(m->value);
      }
    }
    return std::min(most + patterns, kTooMany);
  }

  const rapidjson::Document& root_;
  std::vector<const rapidjson::Value*> nodes_;
  std::unordered_map<const rapidjson::Value*, std::vector<const rapidjson::Value*>> sets_;
};

// A schema compiled once; `schema` is null when it cannot be used.
struct Compiled {
  rapidjson::Document document;
  std::unique_ptr<rapidjson::SchemaDocument> schema;
  // Set when validating a reply took too long: later replies are not validated.
  mutable std::atomic<bool> too_slow{false};
};

std::shared_ptr<const Compiled> compile(std::string_view text) {
  auto c = std::make_shared<Compiled>();
  std::string why;
  if (nesting(text) > kMaxSchemaDepth) {
    why = fmt::format("nested deeper than {} levels", kMaxSchemaDepth);
  } else {
    c->document.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
    if (c->document.HasParseError()) {
      why = fmt::format("not JSON ({} at offset {})",
                        rapidjson::GetParseError_En(c->document.GetParseError()),
                        c->document.GetErrorOffset());
    } else if (!c->document.IsObject()) {
      why = "not an object";
    } else {
      encode_refs(c->document, c->document.GetAllocator());
      if (!Cost(c->document).bounded()) {
        why = fmt::format(
            "too intricate to validate: a subschema refers to itself through $ref, "
            "allOf, anyOf, oneOf, not or dependencies, or more than {} would apply "
            "to one value",
            kMaxValidators);
      }
    }
  }
  if (!why.empty()) {
    log(LogLevel::Warn,
        fmt::format("JSON schema {} is {}: replies to it are not validated", shorten(text), why));
    return c;
  }
  c->schema = std::make_unique<rapidjson::SchemaDocument>(c->document);
  return c;
}

// Validation of one reply may take this long; a schema that needs longer is not used again.
constexpr std::chrono::milliseconds kValidationBudget{250};

// Passes the reply's parse events to the validator and stops them once the budget is spent.
class Budgeted {
 public:
  using Ch = char;
  explicit Budgeted(rapidjson::SchemaValidator& v)
      : v_(v), deadline_(std::chrono::steady_clock::now() + kValidationBudget) {}
  bool late() const { return late_; }

  bool Null() { return on(v_.Null()); }
  bool Bool(bool b) { return on(v_.Bool(b)); }
  bool Int(int i) { return on(v_.Int(i)); }
  bool Uint(unsigned u) { return on(v_.Uint(u)); }
  bool Int64(int64_t i) { return on(v_.Int64(i)); }
  bool Uint64(uint64_t u) { return on(v_.Uint64(u)); }
  bool Double(double d) { return on(v_.Double(d)); }
  bool RawNumber(const Ch* s, rapidjson::SizeType n, bool copy) {
    return on(v_.RawNumber(s, n, copy));
  }
  bool String(const Ch* s, rapidjson::SizeType n, bool copy) { return on(v_.String(s, n, copy)); }
  bool StartObject() { return on(v_.StartObject()); }
  bool Key(const Ch* s, rapidjson::SizeType n, bool copy) { return on(v_.Key(s, n, copy)); }
  bool EndObject(rapidjson::SizeType n) { return on(v_.EndObject(n)); }
  bool StartArray() { return on(v_.StartArray()); }
  bool EndArray(rapidjson::SizeType n) { return on(v_.EndArray(n)); }

 private:
  bool on(bool ok) {
    if (ok && std::chrono::steady_clock::now() > deadline_) late_ = true;
    return ok && !late_;
  }
  rapidjson::SchemaValidator& v_;
  std::chrono::steady_clock::time_point deadline_;
  bool late_ = false;
};

std::optional<std::string> validate(const Compiled& c, std::string_view text,
                                    std::string_view schema_text) {
  if (nesting(text) > kMaxReplyDepth)
    return fmt::format("nested deeper than {} levels", kMaxReplyDepth);
  rapidjson::SchemaValidator validator(*c.schema);
  Budgeted budgeted(validator);
  rapidjson::Reader reader;
  rapidjson::MemoryStream in(text.data(), text.size());
  const rapidjson::ParseResult parsed = reader.Parse<rapidjson::kParseIterativeFlag>(in, budgeted);
  if (budgeted.late()) {
    if (!c.too_slow.exchange(true)) {
      log(LogLevel::Warn,
          fmt::format("JSON schema {} took over {} ms to validate a reply: replies to it are "
                      "no longer validated",
                      shorten(schema_text), kValidationBudget.count()));
    }
    return std::nullopt;
  }
  if (!validator.IsValid()) {
    rapidjson::StringBuffer where;
    validator.GetInvalidDocumentPointer().Stringify(where);
    const std::string_view pointer(where.GetString(), where.GetSize());
    return fmt::format("{}: {}", pointer.empty() ? "(root)" : pointer,
                       validator.GetInvalidSchemaKeyword());
  }
  if (parsed.IsError()) {
    return fmt::format("not JSON ({} at offset {})", rapidjson::GetParseError_En(parsed.Code()),
                       parsed.Offset());
  }
  return std::nullopt;
}

}  // namespace

struct JsonSchemaCache::Impl {
  struct Entry {
    std::string text;
    std::shared_ptr<const Compiled> compiled;
  };
  explicit Impl(std::size_t cap) : capacity(cap == 0 ? 1 : cap) {}

  std::size_t capacity;
  mutable std::mutex mu;
  std::list<Entry> entries;  // most recently used first
  // Keys view the entries' texts (list nodes do not move).
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index;

  std::shared_ptr<const Compiled> find(std::string_view text) {
    std::lock_guard lock(mu);
    const auto it = index.find(text);
    if (it == index.end()) return nullptr;
    entries.splice(entries.begin(), entries, it->second);
    return it->second->compiled;
  }

  std::shared_ptr<const Compiled> add(std::string_view text,
                                      std::shared_ptr<const Compiled> compiled) {
    std::lock_guard lock(mu);
    if (const auto it = index.find(text); it != index.end())
      return it->second->compiled;  // compiled meanwhile
    entries.push_front(Entry{std::string(text), std::move(compiled)});
    index.emplace(entries.front().text, entries.begin());
    while (entries.size() > capacity) {
      index.erase(entries.back().text);
      entries.pop_back();
    }
    return entries.front().compiled;
  }
};

JsonSchemaCache::JsonSchemaCache(std::size_t capacity) : impl_(std::make_unique<Impl>(capacity)) {}
JsonSchemaCache::~JsonSchemaCache() = default;

std::optional<std::string> JsonSchemaCache::violation(std::string_view schema,
                                                      std::string_view text) {
  std::shared_ptr<const Compiled> c = impl_->find(schema);
  // Compiled outside the lock: a schema two requests bring at once may compile twice.
  if (!c) c = impl_->add(schema, compile(schema));
  if (!c->schema || c->too_slow.load()) return std::nullopt;
  return validate(*c, text, schema);
}

std::size_t JsonSchemaCache::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->entries.size();
}

JsonSchemaCache& json_schemas() {
  static JsonSchemaCache cache(256);
  return cache;
}

}  // namespace llmrouter::detail
