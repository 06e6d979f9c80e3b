// SPDX-License-Identifier: MIT
#include "util/strings.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace llmrouter::detail {

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (std::tolower(x) != std::tolower(y)) return false;
  }
  return true;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and transpositions of
  // adjacent characters each cost 1 ("prot" -> "port" is one edit).
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates) {
  const std::size_t limit = std::min<std::size_t>(3, std::max<std::size_t>(2, word.size() / 3));
  std::string_view best;
  std::size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    std::size_t d = edit_distance(word, c);
    // A truncated or extended spelling ("warn" for "warning") is a likely mistake too.
    const std::string_view shorter = word.size() < c.size() ? word : c;
    const std::string_view longer = word.size() < c.size() ? c : word;
    if (shorter.size() >= 3 && longer.substr(0, shorter.size()) == shorter) d = std::min(d, limit);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  const std::string_view best = closest_match(word, candidates);
  return best.empty() ? std::string() : "; did you mean '" + std::string(best) + "'?";
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = byte(i);
  std::size_t n = 0;
  uint32_t min = 0;
  uint32_t cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2, min = 0x80, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, min = 0x800, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Bytes copied as they are: printable ASCII except '"' and '\\'.
  static constexpr auto kPlain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    return t;
  }();
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes to copy
  std::size_t i = 0;
  while (i < s.size()) {
    // Skip 8 plain bytes at a time (SWAR): none below 0x20, none '"' or '\\', none >= 0x80.
    while (i + 8 <= s.size()) {
      uint64_t x;
      std::memcpy(&x, s.data() + i, 8);
      constexpr uint64_t kOnes = 0x0101010101010101ULL;
      constexpr uint64_t kHigh = 0x8080808080808080ULL;
      const uint64_t below_space = (x - kOnes * 0x20) & ~x;
      const uint64_t quote = x ^ (kOnes * '"');
      const uint64_t backslash = x ^ (kOnes * '\\');
      const uint64_t special = below_space | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | x;
      if (special & kHigh) break;
      i += 8;
    }
    if (i >= s.size()) break;
    const auto u = static_cast<uint8_t>(s[i]);
    if (kPlain[u]) {
      ++i;
      continue;
    }
    if (u >= 0x80) {
      if (const std::size_t n = utf8_sequence_length(s, i)) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (u) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xF]);
        } else {
          out += "\xEF\xBF\xBD";  // invalid UTF-8: U+FFFD
        }
    }
    run = ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  std::size_t i = 0;
  while (i < s.size()) {
    if (const std::size_t n = utf8_sequence_length(s, i)) {
      out.append(s.data() + i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

namespace {

// Whether the bytes from s[i] to the end could begin a valid multi-byte character that the
// next chunk completes (a lead byte followed only by continuation bytes, too few of them).
bool incomplete_at_end(std::string_view s, std::size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  std::size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  } else {
    return false;
  }
  if (s.size() - i >= n) return false;
  for (std::size_t k = i + 1; k < s.size(); ++k) {
    if ((static_cast<uint8_t>(s[k]) & 0xC0) != 0x80) return false;
  }
  return true;
}

}  // namespace

std::string_view Utf8StreamRepair::feed(std::string_view chunk) {
  std::string_view s = chunk;
  if (!held_.empty()) {
    held_.append(chunk);
    s = held_;
  }
  out_.clear();
  bool copied = !held_.empty();  // the output differs from `chunk`
  std::size_t i = 0;
  std::size_t run = 0;  // start of the valid bytes not yet copied
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    if (const std::size_t n = utf8_sequence_length(s, i)) {
      i += n;
      continue;
    }
    out_.append(s.data() + run, i - run);
    copied = true;
    if (incomplete_at_end(s, i)) {
      std::string rest(s.substr(i));
      held_ = std::move(rest);
      return out_;
    }
    out_ += "\xEF\xBF\xBD";  // U+FFFD
    run = ++i;
  }
  if (!copied) return chunk;
  out_.append(s.data() + run, s.size() - run);  // before clearing held_, which `s` may view
  held_.clear();
  return out_;
}

std::string_view Utf8StreamRepair::finish() {
  out_.clear();
  for (std::size_t k = 0; k < held_.size(); ++k) out_ += "\xEF\xBF\xBD";
  held_.clear();
  return out_;
}

std::string join(std::span<const std::string_view> parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

namespace {
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

void append_base64(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
  auto at = [&](std::size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out += kBase64[(v >> shift) & 63];
  }
  if (const std::size_t left = bytes.size() - i; left > 0) {
    const uint32_t v = (at(i) << 16) | (left == 2 ? at(i + 1) << 8 : 0);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += left == 2 ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const char* at = std::char_traits<char>::find(kBase64, 64, c);
    if (!at) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(at - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::vector<std::string_view> nonempty_lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    if (nl != 0) out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::optional<std::string> glob_problem(std::string_view pattern) {
  if (pattern.empty()) return "an empty pattern matches nothing; use \"*\" for every model";
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (++i == pattern.size()) return "a trailing '\\' escapes nothing";
    } else if (pattern[i] == '[') {
      std::size_t j = i + 1;
      if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) ++j;
      if (j < pattern.size() && pattern[j] == ']') ++j;  // a leading ']' is a member
      while (j < pattern.size() && pattern[j] != ']') ++j;
      if (j == pattern.size()) return fmt::format("the '[' at offset {} is never closed", i);
      i = j;
    }
  }
  return std::nullopt;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // fnmatch wants NUL-terminated strings; a model name with a NUL matches nothing.
  if (text.find('\0') != std::string_view::npos || pattern.find('\0') != std::string_view::npos)
    return false;
  return ::fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), 0) == 0;
}

std::optional<RedisAddress> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress a;
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view user = rest.substr(0, at);
    const std::size_t colon = user.find(':');
    // AUTH with a password only: a user name (Redis 6 ACLs) is not supported.
    if (colon != 0) return std::nullopt;
    a.password = std::string(user.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  std::string_view db;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    a.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (const std::size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    a.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  } else {
    a.host = std::string(rest);
  }
  if (a.host.empty() || a.host.find_first_of(" \t\r\n/?#") != std::string::npos)
    return std::nullopt;
  auto number = [](std::string_view s, uint64_t max) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 10) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > max) return std::nullopt;
    return v;
  };
  if (!port.empty() || rest.ends_with(':')) {
    auto p = number(port, 65535);
    if (!p || *p == 0) return std::nullopt;
    a.port = static_cast<uint16_t>(*p);
  }
  if (!db.empty()) {
    auto d = number(db, 1u << 20);
    if (!d) return std::nullopt;
    a.db = static_cast<uint32_t>(*d);
  }
  return a;
}

}  // namespace llmrouter::detail
