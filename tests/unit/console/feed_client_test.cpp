// SPDX-License-Identifier: MIT
#include "feed_client.h"

#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "support/fakes.h"

namespace llmrouter::console {
namespace {

using namespace std::chrono_literals;
using testing::FakeTransport;

class Recorder final : public FeedListener {
 public:
  void on_state(const FeedState& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    states_.push_back(s);
    cv_.notify_all();
  }
  void on_event(const SseEvent& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  // Waits for the n-th state (1-based) and returns it.
  FeedState state(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, 5s, [&] { return states_.size() >= n; })) << "state " << n;
    return states_.size() >= n ? states_[n - 1] : FeedState{};
  }
  std::vector<SseEvent> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::size_t state_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return states_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<FeedState> states_;
  std::vector<SseEvent> events_;
};

FeedOptions options(std::optional<std::string> key = std::nullopt) {
  FeedOptions o;
  o.base_url = "http://router:8090/";
  o.api_key = std::move(key);
  o.initial_backoff = 20ms;
  o.max_backoff = 50ms;
  return o;
}

const std::vector<std::pair<std::string, std::string>> kSse = {{"content-type", "text/event-stream"}};

TEST(FeedClientTest, SendsTheKeyAndDeliversEventsOnceLive) {
  FakeTransport t;
  Recorder r;
  FeedClient feed(t, options("sekret"), r);
  feed.start();
  EXPECT_EQ(r.state(1).phase, FeedPhase::Connecting);
  ASSERT_TRUE(t.wait_started(1));
  const HttpRequest req = t.request(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.url, "http://router:8090/dashboard/events");
  bool has_key = false;
  for (const auto& [k, v] : req.headers) has_key |= k == "Authorization" && v == "Bearer sekret";
  EXPECT_TRUE(has_key);
  t.headers(0, 200, kSse);
  t.data(0, "retry: 1000\n\nevent: start\ndata: {\"type\":\"st");
  t.data(0, "art\"}\n\n");
  t.flush();
  const FeedState live = r.state(2);
  EXPECT_EQ(live.phase, FeedPhase::Live);
  EXPECT_TRUE(live.was_live);
  ASSERT_EQ(r.events().size(), 1u);
  EXPECT_EQ(r.events()[0].data, "{\"type\":\"start\"}");
  feed.stop();
  EXPECT_EQ(t.cancels(), 1);
}

TEST(FeedClientTest, ARefusalIsReportedWithTheServersMessageAndRetried) {
  FakeTransport t;
  Recorder r;
  FeedClient feed(t, options(), r);
  feed.start();
  ASSERT_TRUE(t.wait_started(1));
  t.headers(0, 401, {{"content-type", "application/json"}});
  t.data(0, R"({"error":{"message":"invalid or missing API key","type":"authentication_error"}})");
  t.end(0);
  const FeedState refused = r.state(2);
  EXPECT_EQ(refused.phase, FeedPhase::Refused);
  EXPECT_EQ(refused.http_status, 401);
  EXPECT_EQ(refused.message, "HTTP 401: invalid or missing API key");
  EXPECT_EQ(refused.retry_in, 20ms);
  EXPECT_FALSE(refused.was_live);
  EXPECT_TRUE(r.events().empty());  // a 401 body is never taken for events
  ASSERT_TRUE(t.wait_started(2));   // retried after the backoff
  EXPECT_EQ(r.state(3).attempt, 2);
  t.headers(1, 404, {});
  t.data(1, "Not Found");
  t.end(1);
  const FeedState not_found = r.state(4);
  EXPECT_EQ(not_found.message, "HTTP 404: Not Found (is [server] dashboard = true?)");
  EXPECT_EQ(not_found.retry_in, 40ms);  // doubled
}

TEST(FeedClientTest, A200ThatIsNotAnEventStreamIsARefusal) {
  FakeTransport t;
  Recorder r;
  FeedClient feed(t, options(), r);
  feed.start();
  ASSERT_TRUE(t.wait_started(1));
  t.headers(0, 200, {{"content-type", "text/html"}});
  t.data(0, "data: {\"not\":\"events\"}\n\n");
  t.end(0);
  const FeedState s = r.state(2);
  EXPECT_EQ(s.phase, FeedPhase::Refused);
  EXPECT_NE(s.message.find("not an event stream"), std::string::npos);
  EXPECT_TRUE(r.events().empty());
}

TEST(FeedClientTest, UnreachableThenReconnectsWithBackoffAndResetsItOnceLive) {
  FakeTransport t;
  Recorder r;
  FeedClient feed(t, options(), r);
  feed.start();
  ASSERT_TRUE(t.wait_started(1));
  t.end(0, fail(Errc::Upstream, "provider 'router': Failed to connect to router port 8090: Connection refused"));
  FeedState s = r.state(2);
  EXPECT_EQ(s.phase, FeedPhase::Unreachable);
  EXPECT_EQ(s.message, "Failed to connect to router port 8090: Connection refused");
  ASSERT_TRUE(t.wait_started(2));
  t.end(1, fail(Errc::Timeout, "provider 'router': connect timeout after 5000 ms"));
  EXPECT_EQ(r.state(4).retry_in, 40ms);
  ASSERT_TRUE(t.wait_started(3));
  t.end(2, fail(Errc::Upstream, "refused"));
  EXPECT_EQ(r.state(6).retry_in, 50ms);  // capped
  ASSERT_TRUE(t.wait_started(4));
  t.headers(3, 200, kSse);
  t.end(3);  // the server stopped
  EXPECT_EQ(r.state(8).phase, FeedPhase::Live);
  const FeedState gone = r.state(9);
  EXPECT_EQ(gone.phase, FeedPhase::Disconnected);
  EXPECT_EQ(gone.message, "the server closed the feed");
  EXPECT_EQ(gone.retry_in, 20ms);  // reset after a live connection
  EXPECT_TRUE(gone.was_live);
  ASSERT_TRUE(t.wait_started(5));
  EXPECT_TRUE(r.state(10).was_live);
}

TEST(FeedClientTest, StopDuringTheBackoffReturnsAtOnceAndCallsNothingMore) {
  FakeTransport t;
  Recorder r;
  FeedOptions o = options();
  o.initial_backoff = 60s;
  FeedClient feed(t, o, r);
  feed.start();
  ASSERT_TRUE(t.wait_started(1));
  t.end(0, fail(Errc::Upstream, "no"));
  r.state(2);
  const auto begin = std::chrono::steady_clock::now();
  feed.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
  EXPECT_EQ(r.state_count(), 2u);
  EXPECT_EQ(t.started(), 1u);
}

}  // namespace
}  // namespace llmrouter::console
