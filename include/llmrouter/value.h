// SPDX-License-Identifier: MIT
#pragma once
/// @file value.h
/// `Value`: a structured, JSON-like value that code reads (plugin and classifier
/// settings, per-request plugin options), and `RawJson`: JSON text that code passes on
/// without reading (tool schemas, tool inputs, metadata).
///
/// The split is deliberate. A router mostly forwards JSON it does not interpret; keeping
/// it as text is lossless (key order, number spelling) and costs one copy. Settings are
/// read field by field, so they get a tree, with the source position of each node for
/// error messages.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace llmrouter {

/// A position in a source text (1-based); line 0 means "unknown".
struct SourceLoc {
  uint32_t line = 0;
  uint32_t column = 0;
  friend bool operator==(const SourceLoc&, const SourceLoc&) = default;
};

/// JSON text kept as is. Invariant: `text` is one complete, valid JSON value, or empty
/// meaning "absent". Codecs write it compact; nothing in the library re-formats it.
struct RawJson {
  std::string text;

  bool empty() const noexcept { return text.empty(); }
  friend bool operator==(const RawJson&, const RawJson&) = default;
};

/// A JSON-like tree: null, bool, integer, floating point, string, array or object.
/// Objects keep their keys in source order. Not thread-safe to mutate; safe to read
/// from many threads.
class Value {
 public:
  enum class Kind { Null, Bool, Int, Double, String, Array, Object };
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : data_(b) {}
  Value(int i) : data_(int64_t{i}) {}
  Value(int64_t i) : data_(i) {}
  Value(double d) : data_(d) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  Value(Array a) : data_(std::move(a)) {}
  Value(Object o) : data_(std::move(o)) {}

  Kind kind() const noexcept { return static_cast<Kind>(data_.index()); }
  bool is_null() const noexcept { return kind() == Kind::Null; }
  bool is_bool() const noexcept { return kind() == Kind::Bool; }
  bool is_int() const noexcept { return kind() == Kind::Int; }
  bool is_double() const noexcept { return kind() == Kind::Double; }
  /// True for integers and floating point values.
  bool is_number() const noexcept { return is_int() || is_double(); }
  bool is_string() const noexcept { return kind() == Kind::String; }
  bool is_array() const noexcept { return kind() == Kind::Array; }
  bool is_object() const noexcept { return kind() == Kind::Object; }

  /// Typed access. Precondition: the kind matches (checked; throws std::bad_variant_access).
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  /// The number as a double, for integers too.
  double as_double() const { return is_int() ? static_cast<double>(as_int()) : std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const Array& as_array() const { return std::get<Array>(data_); }
  Array& as_array() { return std::get<Array>(data_); }
  const Object& as_object() const { return std::get<Object>(data_); }
  Object& as_object() { return std::get<Object>(data_); }

  /// The member `key` of an object, or nullptr (also when this is not an object).
  const Value* find(std::string_view key) const noexcept;
  Value* find(std::string_view key) noexcept;
  /// Sets member `key` of an object, replacing an existing one in place.
  /// Precondition: this is an object (a null value becomes an empty object first).
  Value& set(std::string key, Value v);

  /// Compact JSON text (object keys in order; strings escaped; non-finite doubles as null).
  std::string to_json() const;

  /// Where this value came from, when it was read from a file.
  SourceLoc loc;

  /// Structural equality; `loc` is ignored.
  friend bool operator==(const Value& a, const Value& b) { return a.data_ == b.data_; }

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> data_;
};

/// The type name of a kind: "null", "boolean", "integer", "number", "string", "array", "object".
std::string_view kind_name(Value::Kind kind) noexcept;

}  // namespace llmrouter
