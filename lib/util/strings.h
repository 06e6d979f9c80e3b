// SPDX-License-Identifier: MIT
#pragma once
// Small string helpers shared inside the library (not public API).

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace llmrouter::detail {

/// Edit distance (optimal string alignment: adjacent transpositions count as one edit).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is close enough to be a likely misspelling
/// (distance at most 2, or size/3 up to 3; or one is a prefix of the other), else empty.
std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates);

/// Appends `s` as a JSON string literal (quotes included) to `out`. Invalid UTF-8 bytes
/// are replaced by U+FFFD so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

/// `s` with every byte that does not belong to a valid UTF-8 sequence replaced by U+FFFD
/// (overlong forms, surrogates and code points above U+10FFFF count as invalid).
std::string repair_utf8(std::string_view s);

/// Joins `parts` with `sep`.
std::string join(std::span<const std::string_view> parts, std::string_view sep);

}  // namespace llmrouter::detail
