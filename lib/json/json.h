// SPDX-License-Identifier: MIT
#pragma once
// JSON inside the library: simdjson's DOM for reading (full validation up front, one
// parser per thread), and a small writer appending to a std::string.
// Internal: never include this from a public header.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "llmrouter/result.h"
#include "llmrouter/value.h"

namespace llmrouter::detail::json {

using Element = simdjson::dom::element;
using Object = simdjson::dom::object;
using Array = simdjson::dom::array;

/// A JSON path for error messages ("messages[3].content[1].type"), built on the stack as
/// a chain of parents and turned into text only when an error is reported. A Path points to
/// its parent: never give a named Path a temporary parent (`Path p(Path(a, "x"), 0)` dangles
/// after that statement); temporaries are fine inside a single call expression.
class Path {
 public:
  Path() = default;
  Path(const Path& parent, std::string_view key) : parent_(&parent), key_(key) {}
  Path(const Path& parent, std::size_t index) : parent_(&parent), index_(index), is_index_(true) {}
  std::string str() const;

 private:
  const Path* parent_ = nullptr;
  std::string_view key_;
  std::size_t index_ = 0;
  bool is_index_ = false;
};

/// An InvalidRequest error "PATH: message" (or just the message at the root).
Unexpected error_at(const Path& path, std::string_view message);

/// "string", "number", "object", ... for messages.
std::string_view type_name(const Element& e);

/// Which of the thread's parsers to use. Elements from one parse stay valid until the
/// next parse on the same parser; use `Scratch` to parse a nested document (tool
/// arguments inside a response) while holding elements of the `Main` one.
enum class ParserSlot { Main, Scratch };

/// Parses `text` (copied into a padded buffer). Errors: InvalidRequest "invalid JSON: ...".
Result<Element> parse(std::string_view text, ParserSlot slot = ParserSlot::Main);

/// As `parse`, for a provider's reply: text that is valid JSON except for invalid UTF-8 is
/// parsed again with each invalid byte replaced by U+FFFD. JSON must be UTF-8, but a stray
/// byte from an upstream should cost the client one character, not the whole reply; and
/// since everything the router writes goes through `Writer`, the client still receives
/// valid UTF-8. Valid input takes one parse, as with `parse`.
Result<Element> parse_upstream(std::string_view text, ParserSlot slot = ParserSlot::Main);

/// True when `text` is one valid JSON value (uses the scratch parser).
bool is_valid(std::string_view text);
/// True when `text` is a valid JSON object (uses the scratch parser).
bool is_object(std::string_view text);

// ---- Typed access. Each returns a precise error naming the path.

Result<Object> as_object(const Element& e, const Path& path);
Result<Array> as_array(const Element& e, const Path& path);
Result<std::string_view> as_string(const Element& e, const Path& path);
Result<bool> as_bool(const Element& e, const Path& path);
Result<double> as_double(const Element& e, const Path& path);
/// An integer in [min, max] (a float with no fractional part is accepted).
Result<int64_t> as_int(const Element& e, const Path& path, int64_t min, int64_t max);

/// The array / object / string of an element whose type was checked (by value, so a
/// range-for over the result is safe).
inline Array array_of(const Element& e) { return Array(e.get_array().value_unsafe()); }
inline Object object_of(const Element& e) { return Object(e.get_object().value_unsafe()); }

/// The member `key`, or nullopt when absent or JSON null (OpenAI clients send nulls for
/// unset optional fields).
std::optional<Element> field(const Object& o, std::string_view key);
/// The member `key`; an error when it is absent or null.
Result<Element> required(const Object& o, std::string_view key, const Path& path);

/// The non-negative integer member `key` (a token count), or nullopt when absent or not one.
std::optional<uint64_t> count(const Object& o, std::string_view key);

/// The string member `key`, or "" when absent or not a string (for lenient reading of
/// upstream replies).
std::string string_or_empty(const Object& o, std::string_view key);
/// The string member `key`; an error when absent or not a string.
Result<std::string> required_string(const Object& o, std::string_view key, const Path& path);

/// Compact JSON text of an element.
RawJson raw(const Element& e);
/// A settings tree (for plugin options in requests).
Value to_value(const Element& e);

// ---- Writing

/// A compact JSON writer appending to `out`. Strings are escaped as JSON requires; invalid
/// UTF-8 becomes U+FFFD, so the output is always valid JSON. Raw values are inserted
/// verbatim and must be valid JSON. Callers keep the calls balanced (begin/end, key/value).
///
/// Hand-written rather than RapidJSON's Writer: writing into a std::string, RapidJSON puts
/// one character at a time, which took 56% of a 200 KB request's translation time; this
/// writer appends runs of plain characters at once.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view k);
  void string(std::string_view s);
  void integer(int64_t v);
  void uinteger(uint64_t v);
  /// Shortest round-trip form; whole numbers keep a ".0"; non-finite values become null.
  void number(double v);
  void boolean(bool v) {
    prefix();
    out_ += v ? "true" : "false";
  }
  void null() {
    prefix();
    out_ += "null";
  }
  /// Inserts JSON text as one value; empty text writes null.
  void raw(std::string_view json);
  void raw(const RawJson& json) { raw(json.text); }
  /// Writes a `Value` tree.
  void value(const Value& v);

  // key + value shorthands
  void kv(std::string_view k, std::string_view v) { key(k); string(v); }
  void kv(std::string_view k, const char* v) { key(k); string(v); }
  void kv_int(std::string_view k, int64_t v) { key(k); integer(v); }
  void kv_uint(std::string_view k, uint64_t v) { key(k); uinteger(v); }
  void kv_number(std::string_view k, double v) { key(k); number(v); }
  void kv_bool(std::string_view k, bool v) { key(k); boolean(v); }
  void kv_raw(std::string_view k, const RawJson& v) { key(k); raw(v); }

 private:
  // Writes the comma before a value or key when one is due.
  void prefix() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_.empty()) {
      if (first_.back()) {
        first_.back() = false;
      } else {
        out_.push_back(',');
      }
    }
  }
  void open(char c) {
    prefix();
    out_.push_back(c);
    first_.push_back(true);
  }
  void close(char c) {
    first_.pop_back();
    out_.push_back(c);
  }

  std::string& out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace llmrouter::detail::json
