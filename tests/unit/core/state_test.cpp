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

}  // namespace
}  // namespace llmrouter
