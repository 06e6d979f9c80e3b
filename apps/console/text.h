// SPDX-License-Identifier: MIT
#pragma once
// UTF-8 text for terminals: repairing, flattening, measuring, cutting and wrapping, with
// no dependency on the process locale (so tests and the apps measure alike).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace llmrouter::console {

/// Appends the UTF-8 encoding of `cp` to `out` (invalid code points become U+FFFD).
void append_utf8(std::string& out, char32_t cp);

/// The code points of `text`; each invalid byte becomes U+FFFD.
std::u32string decode_utf8(std::string_view text);

/// `text` made safe to print: invalid UTF-8 becomes U+FFFD, and control characters
/// (C0, DEL, C1: escape sequences included) become spaces, except that newlines are kept
/// when `keep_newlines` (a CR LF pair counts as one newline; tabs become a space).
std::string printable(std::string_view text, bool keep_newlines = false);

/// `text` on one line: printable, every run of whitespace (newlines included) one space,
/// trimmed.
std::string one_line(std::string_view text);

/// Columns a code point takes in a terminal: 0 (combining marks, zero-width), 2 (East Asian
/// wide and fullwidth, most emoji) or 1.
int char_width(char32_t cp);

/// Columns `text` takes (after `printable`).
int display_width(std::string_view text);

/// The longest prefix of `text` that fits in `width` columns; when something was cut, the
/// prefix ends with "…" (inside the width). Never splits a character.
std::string fit(std::string_view text, int width);

/// At most `max_chars` code points of `text`, with "…" appended when it was longer.
std::string truncate_chars(std::string_view text, std::size_t max_chars);

/// `text` (printable, newlines kept) broken into lines of at most `width` columns, at
/// spaces when possible; an empty text is one empty line.
std::vector<std::string> wrap(std::string_view text, int width);

/// `text` without its last code point (for Backspace).
std::string drop_last_char(std::string_view text);

/// `text` without leading and trailing ASCII whitespace.
std::string_view trim(std::string_view text);

}  // namespace llmrouter::console
