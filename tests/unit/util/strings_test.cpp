// SPDX-License-Identifier: MIT
#include "util/strings.h"

#include <gtest/gtest.h>

namespace llmrouter::detail {
namespace {

TEST(StringsTest, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("port", "port"), 0u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u);  // one transposition
  EXPECT_EQ(edit_distance("abc", "ca"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(StringsTest, ClosestMatchOnlyWhenClose) {
  constexpr std::string_view kKeys[] = {"host", "port", "dashboard"};
  EXPECT_EQ(closest_match("prot", kKeys), "port");
  EXPECT_EQ(closest_match("dashbord", kKeys), "dashboard");
  EXPECT_EQ(closest_match("completely_different", kKeys), "");
  EXPECT_EQ(closest_match("x", kKeys), "");
  EXPECT_EQ(closest_match("dash", kKeys), "dashboard");  // truncated spelling
}

TEST(StringsTest, JsonStringEscapes) {
  std::string out;
  append_json_string(out, "a\"b\\c\n\t\x01");
  EXPECT_EQ(out, R"("a\"b\\c\n\t\u0001")");
}

TEST(StringsTest, JsonStringKeepsValidUtf8AndReplacesInvalid) {
  std::string out;
  append_json_string(out, "h\xC3\xA9llo \xF0\x9F\x98\x80");
  EXPECT_EQ(out, "\"h\xC3\xA9llo \xF0\x9F\x98\x80\"");
  out.clear();
  append_json_string(out, "bad\xC3");  // truncated sequence
  EXPECT_EQ(out, "\"bad\xEF\xBF\xBD\"");
  out.clear();
  append_json_string(out, "\xED\xA0\x80");  // encoded surrogate
  EXPECT_EQ(out, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(StringsTest, RepairUtf8ReplacesEachInvalidByte) {
  EXPECT_EQ(repair_utf8(""), "");
  EXPECT_EQ(repair_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80"), "h\xC3\xA9llo \xF0\x9F\x98\x80");  // valid: unchanged
  EXPECT_EQ(repair_utf8("ok \xff\xfe end"), "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(repair_utf8("bad\xC3"), "bad\xEF\xBF\xBD");                  // truncated sequence
  EXPECT_EQ(repair_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong '/'
  EXPECT_EQ(repair_utf8("\xED\xA0\x80x"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");  // surrogate
}

// Feeds `text` cut into pieces of `size` bytes; returns everything passed on.
std::string repair_in_pieces(std::string_view text, std::size_t size) {
  Utf8StreamRepair r;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += size) out += r.feed(text.substr(i, size));
  out += r.finish();
  return out;
}

TEST(StringsTest, Utf8StreamRepairPassesValidChunksWithoutCopying) {
  Utf8StreamRepair r;
  const std::string_view chunk = "data: {\"x\":\"h\xC3\xA9\"}\n\n";
  EXPECT_EQ(r.feed(chunk).data(), chunk.data());
  EXPECT_EQ(r.finish(), "");
}

TEST(StringsTest, Utf8StreamRepairMatchesRepairUtf8WhateverTheCuts) {
  const std::string texts[] = {
      "plain ascii",
      "h\xC3\xA9llo \xF0\x9F\x98\x80 \xE2\x80\x94 end",          // valid, multi-byte
      "ok \xff\xfe end",                                        // invalid bytes
      "a\xF0\x9F\x98",                                          // truncated at the very end
      "\xE2\x80x\xC3\xA9\xED\xA0\x80\xC0\xAF\xF4\x90\x80\x80z",          // mixed trouble
  };
  for (const std::string& text : texts) {
    for (std::size_t size = 1; size <= text.size(); ++size) {
      EXPECT_EQ(repair_in_pieces(text, size), repair_utf8(text)) << "piece size " << size << " of: " << text;
    }
  }
}

TEST(Base64Test, EncodesWithPaddingAndDecodesBack) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
      {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {std::string_view("\xff\x00\xfe", 3), "/wD+"}};
  for (const auto& [bytes, text] : cases) {
    std::string out = "x";
    append_base64(out, bytes);
    EXPECT_EQ(out, std::string("x").append(text));
    EXPECT_EQ(base64_decode(text), std::string(bytes));
  }
  EXPECT_EQ(base64_decode("Zm8"), "fo");  // padding optional
  EXPECT_FALSE(base64_decode("Zm9v!"));
}

}  // namespace
}  // namespace llmrouter::detail

namespace llmrouter::detail {
namespace {

TEST(RedisUrlTest, HostPortDbAndPassword) {
  auto a = parse_redis_url("redis://127.0.0.1:6380/2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2u);
  EXPECT_EQ(a->password, "");
  auto b = parse_redis_url("redis://:s3cret@[::1]");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 6379);
  EXPECT_EQ(b->password, "s3cret");
  for (const char* bad : {"http://h:1", "redis://", "redis://h:0", "redis://h:65536",
                          "redis://h:1/x", "redis://user:pw@h:1", "redis://h:1a", "redis://[::1"}) {
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
  }
}

TEST(GlobTest, ProblemsAndMatches) {
  EXPECT_FALSE(glob_problem("gpt-*"));
  EXPECT_FALSE(glob_problem("m[]a]"));
  EXPECT_TRUE(glob_problem(""));
  EXPECT_TRUE(glob_problem("m[ab"));
  EXPECT_TRUE(glob_problem("m\\"));
  EXPECT_TRUE(glob_match("ollama/*", "ollama/gemma2:2b"));
  EXPECT_TRUE(glob_match("m[!x]", "my"));
  EXPECT_FALSE(glob_match("m[!x]", "mx"));
  EXPECT_FALSE(glob_match("gpt-*", std::string("gpt-\0x", 6)));
}

}  // namespace
}  // namespace llmrouter::detail
