// SPDX-License-Identifier: MIT
#include "classifiers/matcher.h"

#include <gtest/gtest.h>

#include <random>

namespace llmrouter::detail {
namespace {

std::vector<bool> scan(const KeywordMatcher& m, std::string_view text) {
  std::vector<bool> found(m.group_count(), false);
  m.scan(text, found);
  return found;
}

TEST(KeywordMatcherTest, CaseInsensitiveSubstrings) {
  KeywordMatcher m({"class ", "import", "Stack Trace"}, {0, 0, 1}, 2);
  EXPECT_EQ(scan(m, "from x IMPORT y"), (std::vector<bool>{true, false}));
  EXPECT_EQ(scan(m, "here is a stack trace:"), (std::vector<bool>{false, true}));
  EXPECT_EQ(scan(m, "a classic"), (std::vector<bool>{false, false}));
  EXPECT_EQ(scan(m, "class Foo"), (std::vector<bool>{true, false}));
}

TEST(KeywordMatcherTest, OverlappingAndNestedPatterns) {
  // "he", "she", "his", "hers": the textbook Aho–Corasick example.
  KeywordMatcher m({"he", "she", "his", "hers"}, {0, 1, 2, 3}, 4);
  EXPECT_EQ(scan(m, "ushers"), (std::vector<bool>{true, true, false, true}));
  EXPECT_EQ(scan(m, "ahishe"), (std::vector<bool>{true, true, true, false}));
}

TEST(KeywordMatcherTest, MultiByteUtf8Patterns) {
  KeywordMatcher m({"café", "日本"}, {0, 1}, 2);
  EXPECT_EQ(scan(m, "un CAFé noir"), (std::vector<bool>{true, false}));
  EXPECT_EQ(scan(m, "日本語"), (std::vector<bool>{false, true}));
}

TEST(KeywordMatcherTest, AgreesWithNaiveSearchOnRandomInput) {
  std::mt19937 rng(7);
  const std::string alphabet = "abcAB ";
  auto random_string = [&](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s.push_back(alphabet[rng() % alphabet.size()]);
    return s;
  };
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> patterns;
    std::vector<uint32_t> groups;
    for (uint32_t i = 0; i < 12; ++i) {
      patterns.push_back(random_string(1 + rng() % 4));
      groups.push_back(i % 5);
    }
    KeywordMatcher m(patterns, groups, 5);
    const std::string text = random_string(60);
    std::vector<bool> expected(5, false);
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      if (lower(text).find(lower(patterns[i])) != std::string::npos) expected[groups[i]] = true;
    }
    EXPECT_EQ(scan(m, text), expected) << "round " << round;
  }
}

}  // namespace
}  // namespace llmrouter::detail

namespace llmrouter::detail {
namespace {

TEST(KeywordMatcherTest, LongTextsFindMatchesAcrossSegmentCuts) {
  // Longer texts are walked in four segments: put a keyword across every cut.
  const std::string keyword = "needle-in-the-haystack";
  for (std::size_t size : {256u, 301u, 4096u, 65537u}) {
    for (std::size_t cut = 1; cut < 4; ++cut) {
      for (std::size_t offset : {1u, 10u, 21u}) {
        std::string text(size, 'x');
        const std::size_t at = cut * (size / 4) - offset;
        text.replace(at, keyword.size(), keyword);
        KeywordMatcher m({keyword}, {0}, 1);
        std::vector<bool> found(1, false);
        m.scan(text, found);
        EXPECT_TRUE(found[0]) << "size " << size << " cut " << cut << " offset " << offset;
      }
    }
    KeywordMatcher m({keyword}, {0}, 1);
    std::vector<bool> found(1, false);
    m.scan(std::string(size, 'x') + keyword, found);  // at the very end
    EXPECT_TRUE(found[0]);
  }
}

}  // namespace
}  // namespace llmrouter::detail

namespace llmrouter::detail {
namespace {

TEST(KeywordMatcherTest, SeveralTextsAreWalkedSideBySideWithoutMatchingAcrossThem) {
  KeywordMatcher m({"needle", "haystack"}, {0, 1}, 2);
  const std::vector<std::string_view> split = {"a nee", "dle", "hay", "stack"};
  std::vector<bool> found(2, false);
  EXPECT_EQ(m.scan(split, found), 0u);
  EXPECT_EQ(found, (std::vector<bool>{false, false}));

  // Texts of uneven lengths, long ones cut into segments: every keyword is found wherever it is.
  std::mt19937 rng(3);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> texts;
    for (std::size_t i = 0, n = 1 + rng() % 6; i < n; ++i) texts.emplace_back(rng() % 300, 'x');
    const std::size_t t = rng() % texts.size();
    const std::string keyword = rng() % 2 ? "needle" : "haystack";
    if (texts[t].size() < keyword.size()) texts[t] = keyword;
    texts[t].replace(rng() % (texts[t].size() - keyword.size() + 1), keyword.size(), keyword);
    const std::vector<std::string_view> views(texts.begin(), texts.end());
    std::vector<bool> got(2, false);
    m.scan(views, got);
    EXPECT_TRUE(got[keyword == "needle" ? 0 : 1]) << "round " << round;
    EXPECT_FALSE(got[keyword == "needle" ? 1 : 0]) << "round " << round;
  }
}

}  // namespace
}  // namespace llmrouter::detail
