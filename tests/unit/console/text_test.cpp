// SPDX-License-Identifier: MIT
#include "text.h"

#include <gtest/gtest.h>

namespace llmrouter::console {
namespace {

TEST(TextTest, PrintableRepairsInvalidUtf8AndBlanksControls) {
  EXPECT_EQ(printable("ok \xff\xfe end"), "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(printable("a\x1b[31mred"), "a [31mred");  // no escape sequence reaches the terminal
  EXPECT_EQ(printable("a\tb\r\nc"), "a b  c");
  EXPECT_EQ(printable("a\r\nb\rc\n", true), "a\nb\nc\n");
  EXPECT_EQ(printable("\xC2\x9B"), " ");                   // C1 CSI
  EXPECT_EQ(printable("\xE0\x80\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(printable("\xED\xA0\x80").substr(0, 3), "\xEF\xBF\xBD");             // surrogate
  EXPECT_EQ(printable("é😀"), "é😀");
}

TEST(TextTest, OneLineFlattensWhitespace) {
  EXPECT_EQ(one_line("  first\n\nsecond\tthird  "), "first second third");
  EXPECT_EQ(one_line(""), "");
}

TEST(TextTest, WidthsOfWideAndCombiningCharacters) {
  EXPECT_EQ(display_width("abc"), 3);
  EXPECT_EQ(display_width("é"), 1);
  EXPECT_EQ(display_width("e\xCC\x81"), 1);  // e + combining acute
  EXPECT_EQ(display_width("日本"), 4);
  EXPECT_EQ(display_width("😀"), 2);
  EXPECT_EQ(display_width("—…"), 2);
}

TEST(TextTest, FitCutsAtCharacterBoundariesWithinTheWidth) {
  EXPECT_EQ(fit("hello", 5), "hello");
  EXPECT_EQ(fit("hello world", 6), "hello…");
  EXPECT_EQ(fit("日本語テキスト", 5), "日本…");
  EXPECT_EQ(display_width(fit("日本語テキスト", 6)), 5);  // a wide character never straddles the edge
  EXPECT_EQ(fit("x", 0), "");
}

TEST(TextTest, TruncateCharsCountsCodePoints) {
  EXPECT_EQ(truncate_chars("ça va très bien", 5), "ça va…");
  EXPECT_EQ(truncate_chars("short", 10), "short");
}

TEST(TextTest, WrapBreaksAtSpacesAndCutsLongWords) {
  EXPECT_EQ(wrap("the quick brown fox", 9), (std::vector<std::string>{"the quick", "brown fox"}));
  EXPECT_EQ(wrap("abcdefghij", 4), (std::vector<std::string>{"abcd", "efgh", "ij"}));
  EXPECT_EQ(wrap("one\n\ntwo", 10), (std::vector<std::string>{"one", "", "two"}));
  EXPECT_EQ(wrap("", 10), (std::vector<std::string>{""}));
  for (const std::string& l : wrap("😀😀😀😀😀", 3)) EXPECT_LE(display_width(l), 3);
}

TEST(TextTest, DropLastCharRemovesAWholeCodePoint) {
  EXPECT_EQ(drop_last_char("ab"), "a");
  EXPECT_EQ(drop_last_char("a😀"), "a");
  EXPECT_EQ(drop_last_char("é"), "");
  EXPECT_EQ(drop_last_char(""), "");
}

}  // namespace
}  // namespace llmrouter::console
