// SPDX-License-Identifier: MIT
#pragma once
/// @file capabilities.h
/// What a request needs and what a model can do, as a small set of named flags.
///
/// A request's needs are derived from its structure (`needed_capabilities()` in
/// request.h): `vision` when it carries an image, `tools` when it defines tools. What a
/// model offers comes from a provider's `capabilities` in config or from discovery
/// (Ollama's `/api/show`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmrouter {

/// One capability. The names are the spellings used in config and by Ollama.
enum class Capability : uint8_t {
  Completion = 0,  ///< "completion": generates text
  Tools,           ///< "tools": function/tool calling
  Vision,          ///< "vision": image input
  Thinking,        ///< "thinking": reasoning / extended thinking output
  Embedding,       ///< "embedding": embedding model
  Insert,          ///< "insert": fill-in-the-middle
  Coding,          ///< "coding": tuned for code
};

/// Number of `Capability` enumerators.
inline constexpr int kCapabilityCount = 7;

/// The config spelling of `c` ("vision").
std::string_view capability_name(Capability c) noexcept;
/// Parses a config spelling; nullopt for an unknown name.
std::optional<Capability> parse_capability(std::string_view name) noexcept;

/// A set of capabilities (a bit set). Cheap to copy; a plain value.
class CapabilitySet {
 public:
  constexpr CapabilitySet() = default;

  constexpr bool contains(Capability c) const noexcept { return (bits_ >> bit(c)) & 1u; }
  constexpr void insert(Capability c) noexcept { bits_ |= uint32_t{1} << bit(c); }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  /// True when every capability of `other` is in this set.
  constexpr bool contains_all(CapabilitySet other) const noexcept {
    return (bits_ & other.bits_) == other.bits_;
  }
  /// Comma-separated names in enumerator order ("tools,vision"); "" when empty.
  std::string to_string() const;

  friend constexpr bool operator==(CapabilitySet, CapabilitySet) = default;

 private:
  static constexpr uint32_t bit(Capability c) noexcept { return static_cast<uint32_t>(c); }
  uint32_t bits_ = 0;
};

}  // namespace llmrouter
