// SPDX-License-Identifier: MIT
#pragma once
// Small string helpers shared inside the library (not public API).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llmrouter::detail {

/// Edit distance (optimal string alignment: adjacent transpositions count as one edit).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// Whether `a` and `b` are equal, ASCII letters compared without case (header names).
bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept;

/// The candidate closest to `word` when it is close enough to be a likely misspelling
/// (distance at most 2, or size/3 up to 3; or one is a prefix of the other), else empty.
std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates);

/// "; did you mean 'x'?" for the closest_match of `word`, or "" when none is close: the tail
/// of a configuration error naming something unknown.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

/// Appends `s` as a JSON string literal (quotes included) to `out`. Invalid UTF-8 bytes
/// are replaced by U+FFFD so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

/// `s` with every byte that does not belong to a valid UTF-8 sequence replaced by U+FFFD
/// (overlong forms, surrogates and code points above U+10FFFF count as invalid).
std::string repair_utf8(std::string_view s);

/// `repair_utf8` for a byte stream cut at arbitrary points (a relayed upstream reply): a
/// character split across two chunks is kept whole, and the result is what repair_utf8
/// gives for the whole stream. One per stream.
class Utf8StreamRepair {
 public:
  /// The bytes to pass on for `chunk`: `chunk` itself when it is valid UTF-8 ending on a
  /// character boundary and nothing is held back (no copy); otherwise repaired bytes, with
  /// an incomplete character at the end (up to 3 bytes) held back for the next chunk. The
  /// view is valid until the next call.
  std::string_view feed(std::string_view chunk);
  /// The end of the stream: held-back bytes (an incomplete character) as U+FFFD each.
  std::string_view finish();

 private:
  std::string held_;  // an incomplete character from the previous chunk
  std::string out_;
};

/// Joins `parts` with `sep`.
std::string join(std::span<const std::string_view> parts, std::string_view sep);

/// Standard base64 (RFC 4648, with padding) of `bytes`, appended to `out`.
void append_base64(std::string& out, std::string_view bytes);
/// The bytes of standard base64 `text` (padding optional); empty when `text` holds a
/// character outside the alphabet.
std::optional<std::string> base64_decode(std::string_view text);

/// The non-empty lines of `text` (an Error's message holds one problem per line).
std::vector<std::string_view> nonempty_lines(std::string_view text);

/// What is wrong with a glob pattern (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`, `\\` escapes), or
/// nullopt when it is a valid one: empty, an unclosed `[`, a trailing `\\`.
std::optional<std::string> glob_problem(std::string_view pattern);
/// Whether `text` matches the glob `pattern` (as fnmatch without flags: `*` crosses `/`).
bool glob_match(std::string_view pattern, std::string_view text);

/// `redis://[:PASSWORD@]HOST:PORT[/DB]`, taken apart.
struct RedisAddress {
  std::string host;
  uint16_t port = 6379;
  uint32_t db = 0;
  std::string password;  // from the URL's userinfo; `[state] redis_password_env` is preferred
};
/// The parts of a Redis URL, or nullopt when it is not one (no host, a bad port or DB).
std::optional<RedisAddress> parse_redis_url(std::string_view url);

}  // namespace llmrouter::detail
