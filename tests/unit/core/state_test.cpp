// SPDX-License-Identifier: MIT
// The in-memory ResponseStore: expiry, bounds, eviction order, concurrent use.
#include "llmrouter/state.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace llmrouter {
namespace {

using Time = std::chrono::steady_clock::time_point;

std::vector<Message> said(std::string text) {
  return {Message{Role::User, {TextBlock{std::move(text), std::nullopt, {}}}, {}}};
}

struct ManualClock {
  std::shared_ptr<Time> now = std::make_shared<Time>(std::chrono::seconds(1000));
  MemoryResponseStore::Clock fn() const {
    return [n = now] { return *n; };
  }
  void advance(std::chrono::milliseconds d) const { *now += d; }
};

bool has(const MemoryResponseStore& s, std::string_view id) {
  auto r = s.get(id);
  EXPECT_TRUE(r);
  return r && r->has_value();
}

TEST(MemoryResponseStoreTest, KeepsAConversationUntilItsTtl) {
  ManualClock clock;
  MemoryResponseStore store(ResponseStoreLimits{std::chrono::seconds(60), 10, 1 << 20}, clock.fn());
  ASSERT_TRUE(store.put("resp_a", said("hello")));
  auto got = store.get("resp_a");
  ASSERT_TRUE(got && *got);
  ASSERT_EQ((*got)->size(), 1u);
  EXPECT_EQ(text_of((**got)[0]), "hello");
  EXPECT_FALSE(has(store, "resp_b"));

  clock.advance(std::chrono::milliseconds(59'999));
  EXPECT_TRUE(has(store, "resp_a"));
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(has(store, "resp_a"));
}

TEST(MemoryResponseStoreTest, PastMaxEntriesExpiredGoFirstThenTheOldest) {
  ManualClock clock;
  MemoryResponseStore store(ResponseStoreLimits{std::chrono::seconds(60), 3, 1 << 20}, clock.fn());
  ASSERT_TRUE(store.put("resp_1", said("1")));
  clock.advance(std::chrono::seconds(10));
  ASSERT_TRUE(store.put("resp_2", said("2")));
  ASSERT_TRUE(store.put("resp_3", said("3")));
  EXPECT_EQ(store.size(), 3u);

  // Full: the oldest goes.
  ASSERT_TRUE(store.put("resp_4", said("4")));
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(has(store, "resp_1"));
  EXPECT_TRUE(has(store, "resp_2"));

  // A shorter ttl on reload: resp_5 expires before the older resp_2..4, and goes first.
  store.configure(ResponseStoreLimits{std::chrono::seconds(1), 3, 1 << 20});
  ASSERT_TRUE(store.put("resp_5", said("5")));  // resp_2 (oldest) goes
  EXPECT_FALSE(has(store, "resp_2"));
  store.configure(ResponseStoreLimits{std::chrono::seconds(60), 3, 1 << 20});
  clock.advance(std::chrono::seconds(2));
  ASSERT_TRUE(store.put("resp_6", said("6")));
  EXPECT_FALSE(has(store, "resp_5"));  // expired, though newer than resp_3 and resp_4
  EXPECT_TRUE(has(store, "resp_3"));
  EXPECT_TRUE(has(store, "resp_4"));
  EXPECT_TRUE(has(store, "resp_6"));
  EXPECT_EQ(store.size(), 3u);
}

TEST(MemoryResponseStoreTest, BoundedByBytesAndRefusesAnEntryLargerThanTheBound) {
  ManualClock clock;
  const std::size_t one = approximate_bytes(said(std::string(1000, 'x'))) + 6;
  MemoryResponseStore store(ResponseStoreLimits{std::chrono::seconds(60), 100, 2 * one + 10},
                            clock.fn());
  ASSERT_TRUE(store.put("resp_1", said(std::string(1000, 'x'))));
  ASSERT_TRUE(store.put("resp_2", said(std::string(1000, 'x'))));
  ASSERT_TRUE(store.put("resp_3", said(std::string(1000, 'x'))));
  EXPECT_EQ(store.size(), 2u);
  EXPECT_LE(store.bytes(), 2 * one + 10);
  EXPECT_FALSE(has(store, "resp_1"));

  auto big = store.put("resp_big", said(std::string(10'000, 'x')));
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("larger than"), std::string::npos);
  EXPECT_FALSE(has(store, "resp_big"));
  EXPECT_EQ(store.size(), 2u);  // nothing evicted for it
}

TEST(MemoryResponseStoreTest, PutReplacesAnEntryWithTheSameId) {
  MemoryResponseStore store;
  ASSERT_TRUE(store.put("resp_1", said("a")));
  ASSERT_TRUE(store.put("resp_1", said("b")));
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(text_of((**store.get("resp_1"))[0]), "b");
}

TEST(MemoryResponseStoreTest, ConcurrentPutsAndGetsStayWithinBounds) {
  MemoryResponseStore store(ResponseStoreLimits{std::chrono::seconds(60), 50, 1 << 20});
  std::atomic<int> found{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string id = "resp_" + std::to_string(t) + "_" + std::to_string(i);
        ASSERT_TRUE(store.put(id, said(id)));
        auto got = store.get(id);
        ASSERT_TRUE(got);
        if (*got && text_of((**got)[0]) == id) ++found;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(store.size(), 50u);
  EXPECT_GT(found.load(), 0);
}

TEST(ResponseIdTest, FreshIdsAreResponsesIds) {
  const std::string a = new_response_id();
  EXPECT_EQ(a.rfind("resp_", 0), 0u);
  EXPECT_EQ(a.size(), 37u);
  EXPECT_NE(a, new_response_id());
}

// ---- The conversation codec (what the Redis store keeps)

// Every block kind with every field set (and a second copy with none set).
std::vector<Message> every_block() {
  const CacheControl cc{"ephemeral", "1h"};
  TextBlock text{"plain \"quoted\" é \n", cc, RawJson{R"([{"type":"char_location","start":0}])"}};
  ImageBlock image{SourceKind::Url, "image/png", "aGk=", "https://example.com/a.png",
                   "file-1",        "high",      cc};
  DocumentBlock doc{
      SourceKind::Text, "text/plain", "the text", "https://example.com/d",        "file-2",
      "d.txt",          "Title",      "context",  RawJson{R"({"enabled":true})"}, cc};
  ToolUseBlock use{"call_1", "lookup", RawJson{R"({"q": "x",  "n":1})"}, cc};
  ToolResultBlock result{"call_1", {text, image, doc}, true, cc};
  ThinkingBlock thinking{"let me think", "sig=="};
  RedactedThinkingBlock redacted{"opaque-bytes"};
  OpaqueBlock opaque{WireFormat::Responses, RawJson{R"({"type":"web_search_call","id":"ws_1"})"}};
  std::vector<Message> out;
  out.push_back(Message{Role::System, {text}, "sys"});
  out.push_back(Message{Role::User, {text, image, doc}, "alice"});
  out.push_back(Message{Role::Assistant, {thinking, redacted, text, use, opaque}, {}});
  out.push_back(Message{Role::Tool, {result}, {}});
  // Defaults: empty strings, no cache control, other source kinds and origins.
  out.push_back(
      Message{Role::User, {TextBlock{}, ImageBlock{}, DocumentBlock{}, ToolResultBlock{}}, {}});
  out.push_back(Message{Role::Assistant,
                        {ToolUseBlock{}, ThinkingBlock{}, RedactedThinkingBlock{}, OpaqueBlock{}},
                        {}});
  ImageBlock b64;
  b64.source = SourceKind::Base64;
  DocumentBlock file;
  file.source = SourceKind::FileId;
  file.file_id = "file-3";
  OpaqueBlock from_openai;
  from_openai.origin = WireFormat::OpenAI;
  OpaqueBlock from_ollama;
  from_ollama.origin = WireFormat::Ollama;
  out.push_back(Message{Role::User, {b64, file}, {}});
  out.push_back(Message{Role::Assistant, {from_openai, from_ollama}, {}});
  CacheControl plain;  // the default type, no ttl
  TextBlock cached{"c", plain, {}};
  out.push_back(Message{Role::User, {cached}, {}});
  out.push_back(Message{Role::User, {}, {}});  // no blocks
  return out;
}

TEST(ConversationCodecTest, EveryBlockKindAndFieldRoundTrips) {
  const std::vector<Message> conversation = every_block();
  const std::string text = encode_conversation(conversation);
  auto back = decode_conversation(text);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), conversation.size());
  for (std::size_t i = 0; i < conversation.size(); ++i) EXPECT_EQ((*back)[i], conversation[i]) << i;
  EXPECT_EQ(*back, conversation);
  EXPECT_EQ(encode_conversation(*back), text);  // and encodes the same again
}

TEST(ConversationCodecTest, AnEmptyConversationRoundTrips) {
  auto back = decode_conversation(encode_conversation({}));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->empty());
}

TEST(ConversationCodecTest, RawJsonKeepsItsExactText) {
  // Not re-serialised: spacing and key order survive, as a provider signed or sent them.
  ToolUseBlock use{"id", "f", RawJson{"{ \"b\" : 2 ,\"a\":1 }"}, std::nullopt};
  const std::vector<Message> c{Message{Role::Assistant, {use}, {}}};
  auto back = decode_conversation(encode_conversation(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<ToolUseBlock>((*back)[0].content[0]).input.text, use.input.text);
}

TEST(ConversationCodecTest, MalformedInputIsAnError) {
  const char* bad[] = {
      "",
      "not json",
      "{}",
      "[1]",
      R"([{"content":[]}])",                                        // no role
      R"([{"role":"robot","content":[]}])",                         // unknown role
      R"([{"role":"","content":[]}])",                              // empty role
      R"([{"role":"user"}])",                                       // no content
      R"([{"role":"user","content":{}}])",                          // content not an array
      R"([{"role":"user","content":[{"text":"x"}]}])",              // no type
      R"([{"role":"user","content":[{"type":"video"}]}])",          // unknown type
      R"([{"role":"user","content":[{"type":"text","text":1}]}])",  // wrong field type
      R"([{"role":"user","content":[{"type":"image","source":"ftp"}]}])",
      R"([{"role":"user","content":[{"type":"text","cache_control":"x"}]}])",
      R"([{"role":"user","content":[{"type":"text","cache_control":{"ttl":5}}]}])",
      R"([{"role":"tool","content":[{"type":"tool_result","content":[{"type":"tool_use"}]}]}])",
      R"([{"role":"tool","content":[{"type":"tool_result","content":"x"}]}])",
      R"([{"role":"tool","content":[{"type":"tool_result","is_error":"yes"}]}])",
      R"([{"role":"assistant","content":[{"type":"opaque","origin":"grpc"}]}])",
      R"([{"role":"user","content":[{"type":"text","text":"x"}]})",  // truncated
  };
  for (const char* text : bad) {
    auto r = decode_conversation(text);
    EXPECT_FALSE(r) << text;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::InvalidRequest) << text;
    }
  }
  // Every prefix of a valid encoding is malformed, and none crashes.
  const std::string full = encode_conversation(every_block());
  for (std::size_t n = 0; n < full.size(); n += 7) {
    EXPECT_FALSE(decode_conversation(std::string_view(full).substr(0, n))) << n;
  }
}

TEST(ResponseStoreTest, PrefetchByDefaultAnswersAtOnce) {
  MemoryResponseStore store;
  int called = 0;
  store.prefetch("resp_x", [&] { ++called; });
  EXPECT_EQ(called, 1);
  EXPECT_FALSE(store.remote());
  ASSERT_TRUE(store.put("resp_x", said("hi")));
  EXPECT_TRUE(store.contains("resp_x"));
  EXPECT_FALSE(store.contains("resp_y"));
}

}  // namespace
}  // namespace llmrouter
