// SPDX-License-Identifier: MIT
// The curl transport on its event loops, against the local mock upstream: bodies arrive
// whole however they are cut, pauses hold and resume, cancellation and shutdown reach
// every observer, and a transfer started from a loop stays on that loop.
#include "llmrouter/transport.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "support/fakes.h"
#include "support/mock_upstream.h"

namespace llmrouter {
namespace {

// Records one transfer; `wait` blocks until it completed.
class Record : public TransferObserver {
 public:
  void on_headers(int s, const std::vector<std::pair<std::string, std::string>>&) override {
    std::lock_guard lock(mu);
    status = s;
  }
  bool on_data(std::string_view bytes) override {
    std::lock_guard lock(mu);
    body += bytes;
    ++chunks;
    threads.insert(std::this_thread::get_id());
    return !pause_next;
  }
  void on_complete(Result<void> r) override {
    {
      std::lock_guard lock(mu);
      result = std::move(r);
      done = true;
      threads.insert(std::this_thread::get_id());
    }
    cv.notify_all();
    if (then) then();
  }
  bool wait(std::chrono::seconds limit = std::chrono::seconds(20)) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return done; });
  }

  std::mutex mu;
  std::condition_variable cv;
  int status = 0;
  std::string body;
  int chunks = 0;
  bool done = false;
  bool pause_next = false;
  Result<void> result;
  std::set<std::thread::id> threads;
  std::function<void()> then;  // run after on_complete, on the loop's thread
};

// A Chat Completions request for `model` (the mock's behaviour) to the mock.
HttpRequest chat(const testing::MockUpstream& mock, std::string_view model, bool stream) {
  HttpRequest r;
  r.url = mock.base_url() + "/v1/chat/completions";
  r.provider = "mock";
  r.headers.emplace_back("content-type", "application/json");
  r.body = std::string(R"({"model":")") + std::string(model) + R"(","stream":)" + (stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":"hi"}]})";
  return r;
}

int count(const std::string& s, std::string_view needle) {
  int n = 0;
  for (std::size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + needle.size())) ++n;
  return n;
}

TEST(TransportTest, ALongStreamArrivesWholeEventByEvent) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  auto rec = std::make_shared<Record>();
  transport->start(chat(mock, "chunks-5000", true), rec);
  ASSERT_TRUE(rec->wait());
  ASSERT_TRUE(rec->result) << rec->result.error().message;
  EXPECT_EQ(rec->status, 200);
  EXPECT_EQ(count(rec->body, "\"tok"), 5000);
  EXPECT_NE(rec->body.find("tok4999 "), std::string::npos);
  EXPECT_NE(rec->body.find("[DONE]"), std::string::npos);
}

TEST(TransportTest, APausedTransferHoldsUntilResumedThenFinishes) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  auto rec = std::make_shared<Record>();
  rec->pause_next = true;  // the first chunk pauses the transfer
  // 5000 events: far more than one read takes, so the reply cannot end in the first chunk.
  const TransferId id = transport->start(chat(mock, "chunks-5000", true), rec);
  ASSERT_TRUE(testing::wait_until([&] {
    std::lock_guard lock(rec->mu);
    return rec->chunks > 0;
  }));
  // Time for more of the reply to arrive, were the transfer not paused.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard lock(rec->mu);
    EXPECT_EQ(rec->chunks, 1) << "a paused transfer delivered more data";
    EXPECT_FALSE(rec->done);
    rec->pause_next = false;
  }
  transport->resume(id);
  ASSERT_TRUE(rec->wait());
  ASSERT_TRUE(rec->result) << rec->result.error().message;
  EXPECT_EQ(count(rec->body, "\"tok"), 5000);
}

TEST(TransportTest, CancelEndsATransferWithCancelled) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  auto rec = std::make_shared<Record>();
  const TransferId id = transport->start(chat(mock, "drip", true), rec);
  ASSERT_TRUE(testing::wait_until([&] {
    std::lock_guard lock(rec->mu);
    return rec->chunks > 0;
  }));  // the reply is under way
  transport->cancel(id);
  ASSERT_TRUE(rec->wait(std::chrono::seconds(5)));
  ASSERT_FALSE(rec->result);
  EXPECT_EQ(rec->result.error().code, Errc::Cancelled);
}

TEST(TransportTest, DestroyingTheTransportCancelsWhatIsInFlight) {
  testing::MockUpstream mock;
  std::vector<std::shared_ptr<Record>> recs;
  {
    TransportOptions o;
    o.loops = 3;
    auto transport = make_curl_transport(o);
    for (int i = 0; i < 6; ++i) {
      recs.push_back(std::make_shared<Record>());
      transport->start(chat(mock, "drip", true), recs.back());
    }
    for (auto& r : recs) {
      ASSERT_TRUE(testing::wait_until([&] {
        std::lock_guard lock(r->mu);
        return r->chunks > 0;
      }));  // every reply is under way
    }
  }
  for (auto& r : recs) {
    ASSERT_TRUE(r->done) << "the destructor returned before every observer completed";
    ASSERT_FALSE(r->result);
    EXPECT_EQ(r->result.error().code, Errc::Cancelled);
  }
}

// Observers that start another transfer from on_complete (as failover does), racing the
// transport's shutdown: every transfer ever started completes, none is lost in between.
TEST(TransportTest, TransfersStartedDuringShutdownStillComplete) {
  testing::MockUpstream mock;
  for (int round = 0; round < 30; ++round) {
    auto started = std::make_shared<std::atomic<int>>(0);
    auto completed = std::make_shared<std::atomic<int>>(0);
    {
      TransportOptions o;
      o.loops = 2;
      std::shared_ptr<Transport> transport = make_curl_transport(o);
      struct Chain final : TransferObserver {
        Chain(Transport& t, const testing::MockUpstream& m, std::shared_ptr<std::atomic<int>> s,
              std::shared_ptr<std::atomic<int>> c, int n)
            : transport(t), mock(m), started(std::move(s)), completed(std::move(c)), left(n) {}
        void on_headers(int, const std::vector<std::pair<std::string, std::string>>&) override {}
        bool on_data(std::string_view) override { return true; }
        void on_complete(Result<void>) override {
          if (left > 0) {
            started->fetch_add(1);
            transport.start(chat(mock, "m", false), std::make_shared<Chain>(transport, mock, started, completed, left - 1));
          }
          completed->fetch_add(1);
        }
        Transport& transport;
        const testing::MockUpstream& mock;
        std::shared_ptr<std::atomic<int>> started, completed;
        int left;
      };
      for (int i = 0; i < 4; ++i) {
        started->fetch_add(1);
        transport->start(chat(mock, "m", false), std::make_shared<Chain>(*transport, mock, started, completed, 1000));
      }
      // Shutdown at a different moment in each round (a race, not a condition to wait for).
      std::this_thread::sleep_for(std::chrono::milliseconds(round % 10));
      transport->shutdown();
      EXPECT_EQ(completed->load(), started->load()) << "round " << round;
    }
  }
}

TEST(TransportTest, SeveralLoopsShareTheWorkAndEachTransferStaysOnOne) {
  testing::MockUpstream mock;
  TransportOptions o;
  o.loops = 4;
  auto transport = make_curl_transport(o);
  std::vector<std::shared_ptr<Record>> recs;
  for (int i = 0; i < 64; ++i) {
    recs.push_back(std::make_shared<Record>());
    transport->start(chat(mock, "chunks-50", true), recs.back());
  }
  std::set<std::thread::id> loops;
  for (auto& r : recs) {
    ASSERT_TRUE(r->wait());
    ASSERT_TRUE(r->result) << r->result.error().message;
    EXPECT_EQ(count(r->body, "\"tok"), 50);
    EXPECT_EQ(r->threads.size(), 1u) << "a transfer's callbacks came from more than one thread";
    loops.insert(r->threads.begin(), r->threads.end());
  }
  EXPECT_EQ(loops.size(), 4u);
}

TEST(TransportTest, ATransferStartedOnALoopRunsOnThatLoop) {
  testing::MockUpstream mock;
  TransportOptions o;
  o.loops = 4;
  std::shared_ptr<Transport> transport = make_curl_transport(o);
  for (int i = 0; i < 8; ++i) {
    auto first = std::make_shared<Record>();
    auto second = std::make_shared<Record>();
    first->then = [&, second] { transport->start(chat(mock, "m", false), second); };
    transport->start(chat(mock, "m", false), first);
    ASSERT_TRUE(first->wait());
    ASSERT_TRUE(second->wait());
    ASSERT_TRUE(second->result) << second->result.error().message;
    EXPECT_EQ(first->threads, second->threads);
  }
}

TEST(TransportTest, ConnectionsAreReusedAcrossSequentialRequests) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  for (int i = 0; i < 10; ++i) {
    auto rec = std::make_shared<Record>();
    transport->start(chat(mock, "m", false), rec);
    ASSERT_TRUE(rec->wait());
    ASSERT_TRUE(rec->result) << rec->result.error().message;
    EXPECT_EQ(rec->status, 200);
  }
  EXPECT_EQ(transport->connections_opened(), 1u);
}

TEST(TransportTest, ARefusedConnectionIsAnUpstreamError) {
  int port = 0;
  {
    testing::MockUpstream gone;
    port = gone.port();
  }
  auto transport = make_curl_transport();
  auto rec = std::make_shared<Record>();
  HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  r.provider = "gone";
  r.body = "{}";
  transport->start(std::move(r), rec);
  ASSERT_TRUE(rec->wait());
  ASSERT_FALSE(rec->result);
  EXPECT_EQ(rec->result.error().code, Errc::Upstream);
  EXPECT_NE(rec->result.error().message.find("provider 'gone'"), std::string::npos);
}

TEST(TransportTest, TheFirstByteDeadlineEndsASilentUpstream) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  auto rec = std::make_shared<Record>();
  HttpRequest r = chat(mock, "stall", false);
  r.first_byte_timeout = std::chrono::milliseconds(200);
  transport->start(std::move(r), rec);
  ASSERT_TRUE(rec->wait(std::chrono::seconds(5)));
  ASSERT_FALSE(rec->result);
  EXPECT_EQ(rec->result.error().code, Errc::Timeout);
}

}  // namespace
}  // namespace llmrouter
