// SPDX-License-Identifier: MIT
#pragma once
// JSON Schema validation of replies to structured-output requests (response_format
// json_schema, output_config.format, text.format). RapidJSON's schema validator (draft-04,
// with `$ref` to any JSON pointer of the schema, `$defs` included) stays behind this
// interface, in json_schema.cpp.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace llmrouter::detail {

/// Compiles each distinct schema text once and keeps the `capacity` most recently used.
/// Thread-safe; a compiled schema is shared by the requests validating against it.
class JsonSchemaCache {
 public:
  explicit JsonSchemaCache(std::size_t capacity = 256);
  ~JsonSchemaCache();
  JsonSchemaCache(const JsonSchemaCache&) = delete;
  JsonSchemaCache& operator=(const JsonSchemaCache&) = delete;

  /// Why `text` does not match `schema`: "<JSON pointer>: <keyword>" for the first
  /// violation (the pointer is "(root)" for the whole value), "not JSON (<why>)", or
  /// "nested deeper than 128 levels" (such text is not validated).
  /// nullopt when it matches, and when the schema itself cannot be used (not JSON, not an
  /// object, nested too deeply): that is logged once, when the schema is compiled.
  std::optional<std::string> violation(std::string_view schema, std::string_view text);
  /// Compiled schemas held now (at most the capacity).
  std::size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The process's cache, of 256 schemas.
JsonSchemaCache& json_schemas();

}  // namespace llmrouter::detail
