// SPDX-License-Identifier: MIT
#include "text.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

namespace llmrouter::console {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

struct Range {
  char32_t first;
  char32_t last;
};

// Zero-width code points: combining marks, zero-width spaces and joiners, variation
// selectors, emoji skin-tone modifiers.
constexpr std::array<Range, 14> kZeroWidth{{
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
    {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x200B, 0x200F}, {0x20D0, 0x20FF}, {0x2060, 0x2064},
    {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0x1F3FB, 0x1F3FF}, {0xE0100, 0xE01EF},
}};

// Two-column code points: East Asian wide and fullwidth, and emoji with emoji
// presentation (after Unicode's EastAsianWidth.txt, W and F; ranges merged).
constexpr std::array<Range, 46> kWide{{
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F5},   {0x26FA, 0x26FD},
    {0x2705, 0x2705},   {0x270A, 0x270B},   {0x2728, 0x2728},   {0x274C, 0x274E},
    {0x2753, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27BF},   {0x2B1B, 0x2B1C},
    {0x2B50, 0x2B55},   {0x2E80, 0x303E},   {0x3041, 0x4DBF},   {0x4E00, 0xA4CF},
    {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
    {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x18AFF},
    {0x1B000, 0x1B2FF}, {0x1F004, 0x1F251}, {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF},
    {0x1F7E0, 0x1FAFF}, {0x20000, 0x3FFFD},
}};

template <std::size_t N>
bool in(const std::array<Range, N>& table, char32_t cp) {
  auto it = std::upper_bound(table.begin(), table.end(), cp,
                             [](char32_t c, const Range& r) { return c < r.first; });
  return it != table.begin() && cp <= std::prev(it)->last;
}

// Decodes one code point at `i`, advancing it; an invalid byte yields U+FFFD and advances
// by one.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++i;
    return kReplacement;
  }
  if (i + static_cast<std::size_t>(len) > s.size()) {
    ++i;
    return kReplacement;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return kReplacement;
  }
  i += static_cast<std::size_t>(len);
  return cp;
}

bool is_control(char32_t cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F); }

bool is_space(char32_t cp) { return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v'; }

}  // namespace

void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kReplacement;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) out.push_back(next_code_point(text, i));
  return out;
}

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char32_t cp = next_code_point(text, i);
    if (cp == '\r' && keep_newlines && i < text.size() && text[i] == '\n') continue;  // CR LF
    if ((cp == '\n' || cp == '\r') && keep_newlines) {
      out.push_back('\n');
    } else if (is_control(cp)) {
      out.push_back(' ');
    } else {
      append_utf8(out, cp);
    }
  }
  return out;
}

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = next_code_point(text, i);
    if (is_control(cp) || is_space(cp)) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    append_utf8(out, cp);
  }
  return out;
}

int char_width(char32_t cp) {
  if (cp < 0x300) return 1;
  if (in(kZeroWidth, cp)) return 0;
  return in(kWide, cp) ? 2 : 1;
}

int display_width(std::string_view text) {
  int w = 0;
  for (std::size_t i = 0; i < text.size();) {
    const char32_t cp = next_code_point(text, i);
    w += is_control(cp) ? 1 : char_width(cp);
  }
  return w;
}

std::string fit(std::string_view text, int width) {
  if (width <= 0) return {};
  if (display_width(text) <= width) return std::string(text);
  // Cut so that the text and the ellipsis (1 column) fit.
  std::string out;
  int w = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const char32_t cp = next_code_point(text, i);
    const int cw = is_control(cp) ? 1 : char_width(cp);
    if (w + cw > width - 1) break;
    w += cw;
    out.append(text.substr(start, i - start));
  }
  out += "…";
  return out;
}

std::string truncate_chars(std::string_view text, std::size_t max_chars) {
  std::size_t i = 0;
  for (std::size_t n = 0; n < max_chars && i < text.size(); ++n) next_code_point(text, i);
  if (i >= text.size()) return std::string(text);
  return std::string(text.substr(0, i)) + "…";
}

std::vector<std::string> wrap(std::string_view text, int width) {
  std::vector<std::string> lines;
  if (width < 1) width = 1;
  const std::string clean = printable(text, true);
  std::string_view rest = clean;
  while (true) {
    const std::size_t nl = rest.find('\n');
    const std::string_view para = rest.substr(0, nl);
    // Greedy word wrap of one paragraph.
    std::string line;
    int line_w = 0;
    std::size_t i = 0;
    bool emitted = false;
    while (i < para.size()) {
      // The next word and the spaces before it.
      std::size_t j = i;
      while (j < para.size() && para[j] == ' ') ++j;
      const std::size_t word_start = j;
      while (j < para.size() && para[j] != ' ') ++j;
      const std::string_view spaces = para.substr(i, word_start - i);
      const std::string_view word = para.substr(word_start, j - word_start);
      const int sw = static_cast<int>(spaces.size());
      const int ww = display_width(word);
      if (line_w + sw + ww <= width) {
        line.append(spaces);
        line.append(word);
        line_w += sw + ww;
      } else if (ww <= width) {
        if (line_w > 0) {
          lines.push_back(std::move(line));
          emitted = true;
        }
        line.assign(word);
        line_w = ww;
      } else {
        // A word longer than the line: cut it by characters.
        if (line_w + sw < width) {
          line.append(spaces);
          line_w += sw;
        }
        for (std::size_t k = 0; k < word.size();) {
          const std::size_t start = k;
          const char32_t cp = next_code_point(word, k);
          const int cw = char_width(cp);
          if (line_w + cw > width && line_w > 0) {
            lines.push_back(std::move(line));
            emitted = true;
            line.clear();
            line_w = 0;
          }
          line.append(word.substr(start, k - start));
          line_w += cw;
        }
      }
      i = j;
    }
    if (!line.empty() || !emitted) lines.push_back(std::move(line));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return lines;
}

std::string drop_last_char(std::string_view text) {
  if (text.empty()) return {};
  std::size_t i = text.size() - 1;
  // Step back over continuation bytes, at most three.
  for (int k = 0; k < 3 && i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; ++k) --i;
  return std::string(text.substr(0, i));
}

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace llmrouter::console
