// SPDX-License-Identifier: MIT
// Same-format pass-through: splice the client's body instead of re-encoding it, so every
// byte the router does not own — unknown fields, beta features, number spellings — reaches
// the provider unchanged.
#include <algorithm>

#include "formats/codecs.h"

namespace llmrouter {
namespace {

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;  // one past the last byte
};

// One member of the top-level object: the key (raw, without quotes) and the spans of the
// whole member (from the key's opening quote to the value's end) and of its value.
struct Member {
  std::string_view key;
  Span member;
  Span value;
};

std::size_t skip_ws(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// End of the string starting at s[i] == '"'.
std::size_t skip_string(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// End of the value starting at s[i] (the text is already known to be valid JSON).
std::size_t skip_value(std::string_view s, std::size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' &&
         s[i] != '\r' && s[i] != '\t') {
    ++i;
  }
  return i;
}

Result<std::vector<Member>> top_level_members(std::string_view s) {
  auto bad = [] { return fail(Errc::InvalidRequest, "pass-through: the body is not a JSON object"); };
  std::vector<Member> out;
  std::size_t i = skip_ws(s, 0);
  if (i >= s.size() || s[i] != '{') return bad();
  i = skip_ws(s, i + 1);
  if (i < s.size() && s[i] == '}') return out;
  while (i < s.size()) {
    if (s[i] != '"') return bad();
    Member m;
    m.member.begin = i;
    const std::size_t key_end = skip_string(s, i);
    if (key_end == std::string_view::npos) return bad();
    m.key = s.substr(i + 1, key_end - i - 2);
    i = skip_ws(s, key_end);
    if (i >= s.size() || s[i] != ':') return bad();
    i = skip_ws(s, i + 1);
    m.value.begin = i;
    i = skip_value(s, i);
    if (i == std::string_view::npos) return bad();
    m.value.end = m.member.end = i;
    out.push_back(m);
    i = skip_ws(s, i);
    if (i >= s.size()) return bad();
    if (s[i] == '}') return out;
    if (s[i] != ',') return bad();
    i = skip_ws(s, i + 1);
  }
  return bad();
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

uint32_t hex4(std::string_view s, std::size_t i) {
  if (i + 4 > s.size()) return 0xFFFFFFFF;
  uint32_t v = 0;
  for (std::size_t k = i; k < i + 4; ++k) {
    const char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return 0xFFFFFFFF;
    }
  }
  return v;
}

// A key as a JSON reader sees it: "mod\u0065l" is "model". (Malformed escapes are kept
// as written; the request's decoder refuses them.)
std::string unescaped(std::string_view raw) {
  if (raw.find('\\') == std::string_view::npos) return std::string(raw);
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 >= raw.size()) {
      out += raw[i];
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        uint32_t cp = hex4(raw, i + 1);
        if (cp == 0xFFFFFFFF) {
          out += "\\u";
          break;
        }
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < raw.size() && raw[i + 1] == '\\' && raw[i + 2] == 'u') {
          const uint32_t lo = hex4(raw, i + 3);
          if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        append_utf8(out, cp);
        break;
      }
      default: out += e; break;  // \" \\ \/
    }
  }
  return out;
}

// Whether raw key `raw` reads as `name` (escapes are decoded only when there are any).
bool key_is(std::string_view raw, std::string_view name) {
  return raw.find('\\') == std::string_view::npos ? raw == name : unescaped(raw) == name;
}

Result<void> unique_keys(const std::vector<Member>& members) {
  std::vector<std::string> keys;
  keys.reserve(members.size());
  for (const Member& m : members) keys.push_back(unescaped(m.key));
  std::sort(keys.begin(), keys.end());
  const auto twice = std::adjacent_find(keys.begin(), keys.end());
  if (twice != keys.end()) return detail::duplicate_top_level_key(*twice);
  return {};
}

}  // namespace

Result<void> check_unique_top_level_keys(std::string_view body) {
  auto members = top_level_members(body);
  if (!members) return {};  // not an object: the decoder says what is wrong
  return unique_keys(*members);
}

Result<std::string> passthrough_request(std::string_view body, std::string_view model) {
  auto members = top_level_members(body);
  if (!members) return fail(members.error());
  if (auto unique = unique_keys(*members); !unique) return fail(unique.error());
  std::string out;
  out.reserve(body.size() + model.size());
  std::size_t copied = 0;  // body[0, copied) is handled
  for (std::size_t k = 0; k < members->size(); ++k) {
    const Member& m = (*members)[k];
    if (key_is(m.key, "model") && !model.empty()) {
      out.append(body.substr(copied, m.value.begin - copied));
      detail::json::Writer w(out);
      w.string(model);
      copied = m.value.end;
    } else if (key_is(m.key, "plugins")) {
      // Remove the member with one neighbouring comma: the following one, or for the last
      // member the preceding one.
      if (k + 1 < members->size()) {
        out.append(body.substr(copied, m.member.begin - copied));
        copied = (*members)[k + 1].member.begin;
      } else if (k > 0) {
        // Last member: drop the comma after the previous member (copied never passes it).
        out.append(body.substr(copied, (*members)[k - 1].member.end - copied));
        copied = m.member.end;
      } else {
        out.append(body.substr(copied, m.member.begin - copied));
        copied = m.member.end;
      }
    }
  }
  out.append(body.substr(copied));
  return out;
}

}  // namespace llmrouter
