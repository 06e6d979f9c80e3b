// SPDX-License-Identifier: MIT
// llmrouter-server's HTTP host through real HTTP on 127.0.0.1, in front of the mock
// upstream: every client format against every provider format, errors and their
// envelopes, auth, limits, disconnects, concurrency, shutdown and the request log.
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "llmrouter/transport.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string fixture(const std::string& name) {
  return read_file(LLMROUTER_SOURCE_DIR "/tests/data/formats/upstream/" + name);
}

Config config_for(const testing::MockUpstream& mock, std::string_view format, std::string_view extra) {
  std::string base = mock.base_url();
  if (format == "openai" || format == "responses") base += "/v1";
  return testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
dashboard = true
{}
[[providers]]
name = "up"
format = "{}"
base_url = "{}"
first_byte_timeout_ms = 60000
[[routers]]
type = "prefix"
model_prefix = "none/"
provider = "up"
[[routers]]
type = "fallback"
providers = ["up"]
)",
                                          extra, format, base));
}

// Options whose environment holds exactly `env` (unless the options bring their own).
server::ServerOptions with_env(server::ServerOptions options, std::map<std::string, std::string> env) {
  if (!options.getenv) {
    options.getenv = [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  }
  return options;
}

// The router on an ephemeral port, serving on its own thread, in front of the mock with
// one provider of `format` behind a fallback rule (the model reaches the mock unchanged).
class RunningRouter : public testing::RunningServer {
 public:
  // One provider "up" of `format` at the mock, behind a fallback rule; `extra` lands in [server].
  explicit RunningRouter(const testing::MockUpstream& mock, std::string_view format,
                         std::string extra = {}, server::ServerOptions options = {},
                         std::map<std::string, std::string> env = {})
      : RunningRouter(config_for(mock, format, extra),
                      with_env(std::move(options), std::move(env))) {}

  // Any configuration (its [server] port should be 0).
  explicit RunningRouter(Config config, server::ServerOptions options = {})
      : RunningServer(std::move(config), std::move(options)) {}
};

std::string chat_body(std::string_view path, std::string_view model, bool stream) {
  if (path == "/v1/messages") {
    return fmt::format(R"({{"model":"{}","max_tokens":100,"stream":{},"messages":[{{"role":"user","content":"hi"}}]}})",
                       model, stream);
  }
  if (path == "/v1/responses") return fmt::format(R"({{"model":"{}","stream":{},"input":"hi"}})", model, stream);
  return fmt::format(R"({{"model":"{}","stream":{},"messages":[{{"role":"user","content":"hi"}}]}})", model, stream);
}

// What ends a complete stream in each client format.
std::string_view terminator(std::string_view path) {
  if (path == "/v1/messages") return "event: message_stop";
  if (path == "/v1/responses") return "response.completed";
  return "data: [DONE]";
}

constexpr const char* kFormats[] = {"openai", "anthropic", "ollama"};
constexpr const char* kPaths[] = {"/v1/chat/completions", "/v1/messages", "/v1/responses"};

TEST(ServerTest, EveryClientFormatAgainstEveryProviderFormatStreamedAndNot) {
  testing::MockUpstream mock;
  for (const char* format : kFormats) {
    RunningRouter router(mock, format);
    auto cli = router.client();
    for (const char* path : kPaths) {
      for (bool stream : {false, true}) {
        SCOPED_TRACE(fmt::format("{} -> {} stream={}", path, format, stream));
        auto res = cli.Post(path, chat_body(path, "m", stream), "application/json");
        ASSERT_TRUE(res) << httplib::to_string(res.error());
        EXPECT_EQ(res->status, 200) << res->body;
        EXPECT_EQ(res->get_header_value("X-Router-Provider"), "up");
        EXPECT_EQ(res->get_header_value("X-Router-Model"), "m");
        EXPECT_FALSE(res->get_header_value("X-Router-Request-Id").empty());
        if (stream) {
          EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/event-stream"));
          EXPECT_THAT(res->body, HasSubstr(terminator(path)));
          EXPECT_THAT(res->body, HasSubstr("get_time"));
        } else {
          EXPECT_THAT(res->body, HasSubstr("Checking both cities."));
          EXPECT_THAT(res->body, HasSubstr("get_time"));
          EXPECT_FALSE(res->get_header_value("X-Router-Input-Tokens").empty());
          EXPECT_FALSE(res->get_header_value("X-Router-Output-Tokens").empty());
        }
      }
    }
  }
}

TEST(ServerTest, SameFormatRepliesAreRelayedByteForByte) {
  testing::MockUpstream mock;
  {
    RunningRouter router(mock, "openai");
    auto cli = router.client();
    auto whole = cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "m", false), "application/json");
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole->body, fixture("openai_response.json"));
    auto streamed = cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "m", true), "application/json");
    ASSERT_TRUE(streamed);
    EXPECT_EQ(streamed->body, fixture("openai_stream.sse"));
  }
  {
    RunningRouter router(mock, "anthropic");
    auto cli = router.client();
    auto streamed = cli.Post("/v1/messages", chat_body("/v1/messages", "m", true), "application/json");
    ASSERT_TRUE(streamed);
    EXPECT_EQ(streamed->body, fixture("anthropic_stream.sse"));
  }
}

// A Responses provider serves every client format; a Responses client's request and reply
// pass through byte for byte. (The mock answers a request without tools with text only.)
TEST(ServerTest, AResponsesProviderServesEveryClientFormat) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "responses");
  auto cli = router.client();
  for (const char* path : kPaths) {
    for (bool stream : {false, true}) {
      SCOPED_TRACE(fmt::format("{} stream={}", path, stream));
      auto res =
          cli.Post(path, {{"openai-beta", "b1"}}, chat_body(path, "m", stream), "application/json");
      ASSERT_TRUE(res) << httplib::to_string(res.error());
      EXPECT_EQ(res->status, 200) << res->body;
      EXPECT_EQ(res->get_header_value("X-Router-Provider"), "up");
      EXPECT_THAT(res->body, HasSubstr("let me check."));
      if (stream) {
        EXPECT_THAT(res->body, HasSubstr(terminator(path)));
      } else {
        EXPECT_EQ(res->get_header_value("X-Router-Input-Tokens"), "5");
        EXPECT_EQ(res->get_header_value("X-Router-Output-Tokens"), "3");
      }
      const std::string sent = mock.last_body("/v1/responses");
      EXPECT_THAT(sent, HasSubstr(R"("input")"));
      EXPECT_EQ(mock.last_header("/v1/responses", "openai-beta"), "b1");
    }
  }
  const std::string body =
      R"({"model":"m","input":"hi","store":false,"future_field":{"x":1},)"
      R"("tools":[{"type":"function","name":"get_time","parameters":{"type":"object"}}]})";
  auto whole = cli.Post("/v1/responses", body, "application/json");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->body, fixture("responses_response.json"));
  EXPECT_EQ(mock.last_body("/v1/responses"), body);
  std::string streamed_body = body;
  streamed_body.insert(1, R"("stream":true,)");
  auto streamed = cli.Post("/v1/responses", streamed_body, "application/json");
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->body, fixture("responses_stream.sse"));
  // The whole recorded reply, translated for a Chat client: text, reasoning, both calls.
  auto chat = cli.Post(
      "/v1/chat/completions",
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],)"
      R"("tools":[{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}]})",
      "application/json");
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->status, 200) << chat->body;
  EXPECT_THAT(chat->body, HasSubstr(R"("reasoning_content":"**Checking times**)"));
  EXPECT_THAT(chat->body, HasSubstr(R"("id":"call_p2")"));
  EXPECT_THAT(chat->body, HasSubstr(R"("finish_reason":"tool_calls")"));
  EXPECT_EQ(chat->get_header_value("X-Router-Input-Tokens"), "812");
}

TEST(ServerTest, ErrorsComeInTheClientsEnvelopeWithTheRightStatus) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai");
  auto cli = router.client();

  auto bad = cli.Post("/v1/messages", "{not json", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, StartsWith(R"({"type":"error","error":{"type":"invalid_request_error")"));

  auto shape = cli.Post("/v1/chat/completions", R"({"model":"m"})", "application/json");
  ASSERT_TRUE(shape);
  EXPECT_EQ(shape->status, 400);
  EXPECT_THAT(shape->body, StartsWith(R"({"error":{)"));
  EXPECT_THAT(shape->body, HasSubstr("messages"));

  auto limited = cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "status-429", false), "application/json");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("retry-after"), "7");
  EXPECT_THAT(limited->body, HasSubstr("Rate limit reached"));

  auto broken = cli.Post("/v1/messages", chat_body("/v1/messages", "status-500", true), "application/json");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, 502);
  EXPECT_THAT(broken->body, HasSubstr(R"("type":"api_error")"));
  EXPECT_THAT(broken->body, HasSubstr("upstream exploded"));

  auto resp = cli.Post("/v1/responses", chat_body("/v1/responses", "status-500", false), "application/json");
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 502);
  EXPECT_THAT(resp->body, HasSubstr(R"("error":{)"));

  auto missing = cli.Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr("no such endpoint: GET /v1/nothing"));
  EXPECT_FALSE(missing->get_header_value("X-Router-Request-Id").empty());

  auto wrong_method = cli.Get("/v1/chat/completions");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_THAT(wrong_method->body, HasSubstr("not allowed"));
}

TEST(ServerTest, NoRouteIsA400) {
  Config config = testing::config_from(R"(
[server]
port = 0
[[providers]]
name = "up"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
[[routers]]
type = "prefix"
model_prefix = "x/"
provider = "up"
)");
  RunningRouter router(std::move(config));
  auto cli = router.client();
  auto res = cli.Post("/v1/messages", chat_body("/v1/messages", "nope", false), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("no route for model 'nope'"));
  auto dry = cli.Post("/v1/route", chat_body("/v1/chat/completions", "nope", false), "application/json");
  ASSERT_TRUE(dry);
  EXPECT_EQ(dry->status, 400);
  EXPECT_THAT(dry->body, StartsWith(R"({"error":{)"));
}

TEST(ServerTest, BodiesOverTheLimitGet413) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai", "max_body_bytes = 1024");
  auto cli = router.client();
  const std::string big = fmt::format(R"({{"model":"m","messages":[{{"role":"user","content":"{}"}}]}})", std::string(4000, 'a'));
  auto res = cli.Post("/v1/messages", big, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_THAT(res->body, HasSubstr(R"("type":"request_too_large")"));
  EXPECT_THAT(res->body, HasSubstr("max_body_bytes"));
}

TEST(ServerTest, AuthInAllThreeFormsAndHealthStaysOpen) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai", R"(api_key_env = "ROUTER_KEY")", {},
                       {{"ROUTER_KEY", "sekret"}});
  auto cli = router.client();
  const std::string body = chat_body("/v1/messages", "m", false);

  auto none = cli.Post("/v1/messages", body, "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_THAT(none->body, StartsWith(R"({"type":"error","error":{"type":"authentication_error")"));

  auto wrong = cli.Post("/v1/chat/completions", {{"Authorization", "Bearer nope"}}, chat_body("/v1/chat/completions", "m", false),
                        "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_THAT(wrong->body, HasSubstr(R"("type":"authentication_error")"));

  auto bearer = cli.Post("/v1/messages", {{"Authorization", "Bearer sekret"}}, body, "application/json");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  auto x_api_key = cli.Post("/v1/messages", {{"x-api-key", "sekret"}}, body, "application/json");
  ASSERT_TRUE(x_api_key);
  EXPECT_EQ(x_api_key->status, 200);
  // A key in the URL is taken by the dashboard only (it would end up in access logs).
  auto query = cli.Get("/v1/models?api_key=sekret");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->status, 401);
  auto health = cli.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");
  auto dashboard = cli.Get("/dashboard");
  ASSERT_TRUE(dashboard);
  EXPECT_EQ(dashboard->status, 401);
}

TEST(ServerTest, StartFailsClearlyWhenTheKeyVariableIsUnset) {
  Config config = testing::config_from(R"(
[server]
api_key_env = "NOT_SET_ANYWHERE"
[[providers]]
name = "up"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
)");
  server::ServerOptions o;
  o.getenv = [](const std::string&) { return std::optional<std::string>(); };
  auto s = server::Server::create(std::move(config), std::move(o));
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("server.api_key_env: the environment variable NOT_SET_ANYWHERE is not set"));
}

TEST(ServerTest, AnthropicClientsQueryStringsAndTokenCountsReachTheAnthropicProvider) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "anthropic");
  auto cli = router.client();
  // Claude Code posts to /v1/messages?beta=true with its beta headers.
  auto beta = cli.Post("/v1/messages?beta=true", {{"anthropic-beta", "tools-2025"}, {"anthropic-version", "2023-06-01"}},
                       chat_body("/v1/messages", "m", false), "application/json");
  ASSERT_TRUE(beta);
  EXPECT_EQ(beta->status, 200) << beta->body;
  EXPECT_EQ(mock.last_header("/v1/messages", "anthropic-beta"), "tools-2025");
  auto count = cli.Post("/v1/messages/count_tokens", R"({"model":"m","messages":[{"role":"user","content":"hi"}]})",
                        "application/json");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->status, 200) << count->body;
  EXPECT_EQ(count->body, R"({"input_tokens":42})");
  EXPECT_EQ(count->get_header_value("X-Router-Provider"), "up");
  EXPECT_FALSE(count->has_header("X-Router-Estimate"));
}

TEST(ServerTest, DryRunModelsHealthCountTokensAndDashboard) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai");
  auto cli = router.client();
  auto dry = cli.Post("/v1/route?format=anthropic", chat_body("/v1/messages", "m", false), "application/json");
  ASSERT_TRUE(dry);
  EXPECT_EQ(dry->status, 200) << dry->body;
  EXPECT_THAT(dry->body, StartsWith(R"({"provider":"up","model":"m","rule":{"index":1,"type":"fallback"},"tags":[],"reason":)"));
  EXPECT_EQ(mock.requests(), 0);  // no provider called

  auto models = cli.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  EXPECT_THAT(models->body, StartsWith(R"({"object":"list","data":[)"));

  auto count = cli.Post("/v1/messages/count_tokens",
                        R"({"model":"m","messages":[{"role":"user","content":"one two three four five six seven eight"}]})",
                        "application/json");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->status, 200) << count->body;
  EXPECT_THAT(count->body, StartsWith(R"({"input_tokens":)"));
  EXPECT_EQ(count->get_header_value("X-Router-Estimate"), "true");

  auto page = cli.Get("/dashboard");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("dashboard/events"));
  EXPECT_THAT(page->get_header_value("Content-Type"), StartsWith("text/html"));
}

TEST(ServerTest, DashboardFeedCarriesTheFourEvents) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai");
  std::mutex mu;
  std::string feed;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    auto cli = router.client();
    cli.Get("/dashboard/events", [&](const char* data, std::size_t n) {
      std::lock_guard lock(mu);
      feed.append(data, n);
      return feed.find("event: complete") == std::string::npos;
    });
    done = true;
  });
  // Wait until the feed is connected (its first bytes), then make one request.
  EXPECT_TRUE(testing::wait_until([&] {
    std::lock_guard lock(mu);
    return !feed.empty();
  }));
  auto cli = router.client();
  ASSERT_TRUE(cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "m", false), "application/json"));
  reader.join();
  EXPECT_TRUE(done);
  EXPECT_THAT(feed, HasSubstr("event: start\ndata: {\"type\":\"start\""));
  EXPECT_THAT(feed, HasSubstr("event: classified\n"));
  EXPECT_THAT(feed, HasSubstr("event: routed\n"));
  EXPECT_THAT(feed, HasSubstr("event: complete\n"));
}

// Streams through the curl transport, as many at once as asked, collecting each body.
class Fetcher final : public TransferObserver {
 public:
  void on_headers(int s, const std::vector<std::pair<std::string, std::string>>&) override { status = s; }
  bool on_data(std::string_view bytes) override {
    body += bytes;
    return true;
  }
  void on_complete(Result<void> r) override {
    std::lock_guard lock(mu);
    ok = r.has_value();
    if (!r) error = r.error().message;
    finished = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return finished; });
  }
  int status = 0;
  std::string body;
  bool ok = false;
  std::string error;

 private:
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
};

// 500 streams at once in the Release build. Sanitized builds run 5-15 times slower on the
// same cores, and there 500 sanitized streams plus a sanitized mock starve each other into
// timeouts that say nothing about the router; they run 200.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kConcurrentStreams = 200;
#else
constexpr int kConcurrentStreams = 500;
#endif

TEST(ServerTest, FiveHundredConcurrentStreamsAllCompleteWithTheRightBytes) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai");
  auto client = make_curl_transport();
  const std::string expected = fixture("openai_stream.sse");
  std::vector<std::shared_ptr<Fetcher>> fetchers;
  for (int i = 0; i < kConcurrentStreams; ++i) {
    HttpRequest req;
    req.url = fmt::format("http://127.0.0.1:{}/v1/chat/completions", router.port());
    req.body = chat_body("/v1/chat/completions", "m", true);
    req.headers = {{"content-type", "application/json"}};
    req.provider = "test";
    req.first_byte_timeout = std::chrono::seconds(60);
    auto f = std::make_shared<Fetcher>();
    fetchers.push_back(f);
    client->start(std::move(req), f);
  }
  int good = 0;
  std::string first_problem;
  for (auto& f : fetchers) {
    f->wait();
    if (f->ok && f->status == 200 && f->body == expected) {
      ++good;
    } else if (first_problem.empty()) {
      first_problem = fmt::format("status {}, error '{}', body '{}'", f->status, f->error, f->body.substr(0, 300));
    }
  }
  EXPECT_EQ(good, kConcurrentStreams) << first_problem;
}

TEST(ServerTest, ClientDisconnectMidStreamCancelsTheUpstream) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai");
  auto sub = router.server().pipeline().events()->subscribe(64);
  auto client = make_curl_transport();
  // "drip" streams 100 events 20 ms apart (2 s); the client leaves after the first bytes.
  class Leave final : public TransferObserver {
   public:
    void on_headers(int, const std::vector<std::pair<std::string, std::string>>&) override {}
    bool on_data(std::string_view) override {
      got.store(true);
      return true;
    }
    void on_complete(Result<void>) override {}
    std::atomic<bool> got{false};
  };
  auto leave = std::make_shared<Leave>();
  HttpRequest req;
  req.url = fmt::format("http://127.0.0.1:{}/v1/chat/completions", router.port());
  req.body = chat_body("/v1/chat/completions", "drip", true);
  req.headers = {{"content-type", "application/json"}};
  req.provider = "test";
  const TransferId id = client->start(std::move(req), leave);
  ASSERT_TRUE(testing::wait_until([&] { return leave->got.load(); }));
  client->cancel(id);
  // The request completes as cancelled (how fast depends on the build; sanitized ones are slow).
  std::string ev;
  std::string complete;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline && complete.empty()) {
    if (sub->next(ev, std::chrono::milliseconds(100)) && ev.find(R"("type":"complete")") != std::string::npos) complete = ev;
  }
  // Cancelled, not finished: had the stream run its course, there would be no error.
  ASSERT_FALSE(complete.empty());
  EXPECT_THAT(complete, HasSubstr("cancel"));
}

TEST(ServerTest, ClientDisconnectFromAWholeReplyCancelsTheUpstream) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai");
  auto sub = router.server().pipeline().events()->subscribe(64);
  auto client = make_curl_transport();
  class Ignore final : public TransferObserver {
   public:
    void on_headers(int, const std::vector<std::pair<std::string, std::string>>&) override {}
    bool on_data(std::string_view) override { return true; }
    void on_complete(Result<void>) override {}
  };
  // "stall" answers after 2 s; the client leaves once the upstream has its request, before
  // any byte of the reply.
  HttpRequest req;
  req.url = fmt::format("http://127.0.0.1:{}/v1/chat/completions", router.port());
  req.body = chat_body("/v1/chat/completions", "stall", false);
  req.headers = {{"content-type", "application/json"}};
  req.provider = "test";
  const auto t0 = Clock::now();
  const TransferId id = client->start(std::move(req), std::make_shared<Ignore>());
  ASSERT_TRUE(testing::wait_until([&] { return mock.requests() > 0; }));
  client->cancel(id);
  std::string ev;
  std::string complete;
  while (Clock::now() < t0 + std::chrono::seconds(10) && complete.empty()) {
    if (sub->next(ev, std::chrono::milliseconds(100)) && ev.find(R"("type":"complete")") != std::string::npos) complete = ev;
  }
  ASSERT_FALSE(complete.empty());
  EXPECT_THAT(complete, HasSubstr("cancel"));  // had the upstream answered, there would be no error
}

TEST(ServerTest, ShutdownLetsInFlightStreamsFinishAndEveryRequestIsLoggedOnce) {
  testing::MockUpstream mock;
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("llmrouter-server-test-{}", ::getpid());
  std::filesystem::remove_all(dir);
  const std::string log_path = (dir / "requests.jsonl").string();
  RunningRouter router(mock, "openai",
                       fmt::format("[logging]\nenabled = true\npath = \"{}\"\n", log_path));
  auto cli = router.client();
  int requests = 0;
  for (const char* model : {"m", "status-500", "status-429"}) {
    cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", model, false), "application/json");
    ++requests;
  }
  cli.Post("/v1/chat/completions", "{bad", "application/json");
  ++requests;
  // A slow stream (2 s) in flight when the server is told to stop.
  std::string streamed;
  std::thread slow([&] {
    auto c = router.client();
    auto res = c.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "drip", true), "application/json");
    if (res) streamed = res->body;
  });
  ++requests;
  EXPECT_TRUE(testing::wait_until([&] { return router.server().pipeline().in_flight() > 0; }));
  router.stop();
  slow.join();
  // Finished, not cut off: all 100 events of the drip arrived.
  std::size_t events = 0;
  for (std::size_t k = streamed.find(R"("content":"x")"); k != std::string::npos; k = streamed.find(R"("content":"x")", k + 1)) ++events;
  EXPECT_EQ(events, 100u);

  std::ifstream in(log_path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_THAT(line, StartsWith(R"({"type":"complete")"));
  }
  EXPECT_EQ(lines, requests);
  std::filesystem::remove_all(dir);
}

TEST(ServerTest, AStreamThatFailsOverNamesTheProviderThatAnswered) {
  testing::MockUpstream mock;
  Config config = testing::config_from(fmt::format(R"(
[server]
port = 0
[[providers]]
name = "dead"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
[[providers]]
name = "up"
format = "anthropic"
base_url = "{}"
[[routers]]
type = "fallback"
providers = ["dead", "up"]
)",
                                                   mock.base_url()));
  RunningRouter router(std::move(config));
  auto cli = router.client();
  auto res = cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "m", true), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("X-Router-Provider"), "up");
  EXPECT_THAT(res->body, HasSubstr("data: [DONE]"));
}

TEST(ServerTest, AStreamThatFailsAfterItsStatusWentOutEndsWithAnErrorEvent) {
  testing::MockUpstream mock;
  Config config = testing::config_from(fmt::format(R"(
[server]
port = 0
[[providers]]
name = "slow"
format = "openai"
base_url = "{}/v1"
first_byte_timeout_ms = 600
[[routers]]
type = "fallback"
providers = ["slow"]
)",
                                                   mock.base_url()));
  server::ServerOptions options;
  options.keepalive = std::chrono::milliseconds(100);  // the status goes out before the timeout
  RunningRouter router(std::move(config), std::move(options));
  auto cli = router.client();
  // The mock waits 2 s before its first byte: the 600 ms first-byte timeout ends the
  // request after the 200 and a keep-alive went out, with nothing of the reply sent.
  auto res = cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "stall", true), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("first-byte timeout"));
  EXPECT_THAT(res->body, HasSubstr("\"error\""));
}

TEST(ServerTest, DiscoveredOllamaModelsAreListedAndRouted) {
  testing::MockUpstream mock;
  Config config = testing::config_from(fmt::format(R"(
[server]
port = 0
[[providers]]
name = "local"
format = "ollama"
base_url = "{}"
[[routers]]
type = "discover"
provider = "local"
)",
                                                   mock.base_url()));
  RunningRouter router(std::move(config));
  auto cli = router.client();
  auto models = cli.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_THAT(models->body, HasSubstr(R"("id":"qwen2.5vl:7b","object":"model","created":0,"owned_by":"local")"));
  EXPECT_THAT(models->body, HasSubstr(R"("id":"gemma2:2b")"));
  auto routed = cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "gemma2:2b", false), "application/json");
  ASSERT_TRUE(routed);
  EXPECT_EQ(routed->status, 200) << routed->body;
  EXPECT_EQ(routed->get_header_value("X-Router-Provider"), "local");
  auto unknown = cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "nope:1b", false), "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
}

TEST(ServerTest, ClientHeadersReachAProviderOnlyWhenItForwardsThem) {
  testing::MockUpstream mock;
  const httplib::Headers sent = {{"openai-organization", "org-x"}, {"openai-project", "proj-x"}, {"openai-beta", "b1"},
                                 {"x-tenant-id", "t1"}, {"authorization", "Bearer client-key"}};
  {
    RunningRouter router(mock, "openai");  // the default: the openai format's own openai-beta only
    auto r = router.client().Post("/v1/chat/completions", sent, chat_body("/v1/chat/completions", "m", false), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(mock.last_header("/v1/chat/completions", "openai-beta"), "b1");
    EXPECT_EQ(mock.last_header("/v1/chat/completions", "openai-organization"), "");  // billing: never by default
    EXPECT_EQ(mock.last_header("/v1/chat/completions", "openai-project"), "");
    EXPECT_EQ(mock.last_header("/v1/chat/completions", "x-tenant-id"), "");
    EXPECT_EQ(mock.last_header("/v1/chat/completions", "authorization"), "");  // the client's key to the router
  }
  RunningRouter listed(testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
[[providers]]
name = "up"
format = "openai"
base_url = "{}/v1"
forward_client_headers = ["openai-organization", "x-tenant-*"]
[[routers]]
type = "fallback"
providers = ["up"]
)",
                                                        mock.base_url())));
  auto r = listed.client().Post("/v1/chat/completions", sent, chat_body("/v1/chat/completions", "m", false), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(mock.last_header("/v1/chat/completions", "openai-organization"), "org-x");
  EXPECT_EQ(mock.last_header("/v1/chat/completions", "x-tenant-id"), "t1");
  EXPECT_EQ(mock.last_header("/v1/chat/completions", "openai-project"), "");  // not listed
  EXPECT_EQ(mock.last_header("/v1/chat/completions", "openai-beta"), "");     // the list replaces the default
}

TEST(ServerTest, ATopLevelKeySentTwiceIsA400WhateverItsSpelling) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai");
  auto cli = router.client();
  for (const std::string body : {
           R"({"model":"a","mod\u0065l":"big","messages":[{"role":"user","content":"hi"}]})",
           R"({"model":"a","stream":false,"messages":[{"role":"user","content":"hi"}],"stream":true})"}) {
    for (const char* path : {"/v1/chat/completions", "/v1/messages"}) {
      auto r = cli.Post(path, body, "application/json");
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 400) << path << " " << body;
      EXPECT_THAT(r->body, HasSubstr("more than once"));
    }
  }
  EXPECT_EQ(mock.requests(), 0);
}

TEST(ServerTest, ANonStreamedReplyOverTheLimitIsA502AndStreamsAreNotCapped) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai", "max_upstream_reply_bytes = 100");
  auto cli = router.client();
  auto whole = cli.Post("/v1/messages", chat_body("/v1/messages", "m", false), "application/json");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 502) << whole->body;
  EXPECT_THAT(whole->body, StartsWith(R"({"type":"error")"));  // the Anthropic client's envelope
  EXPECT_THAT(whole->body, HasSubstr("max_upstream_reply_bytes"));
  auto stream = cli.Post("/v1/messages", chat_body("/v1/messages", "m", true), "application/json");
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->status, 200);
  EXPECT_THAT(stream->body, HasSubstr("event: message_stop"));
}

TEST(ServerTest, MetricsKeepAtMostMetricsMaxModelsModelLabels) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai", "metrics_max_models = 2");
  auto cli = router.client();
  for (const char* model : {"a", "b", "c", "d", "a"}) {
    auto r = cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", model, false), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  const std::string m = cli.Get("/metrics")->body;
  EXPECT_THAT(m, HasSubstr(R"(llmrouter_requests_total{client_format="openai",model="a",outcome="ok",provider="up",status="200"} 2)"));
  EXPECT_THAT(m, HasSubstr(R"(llmrouter_requests_total{client_format="openai",model="b",outcome="ok",provider="up",status="200"} 1)"));
  EXPECT_THAT(m, HasSubstr(R"(llmrouter_requests_total{client_format="openai",model="other",outcome="ok",provider="up",status="200"} 2)"));
  EXPECT_THAT(m, Not(HasSubstr(R"(model="c")")));
}

TEST(ServerTest, MetricsCountAScriptedSequenceAndPassPromtool) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai");
  auto cli = router.client();
  ASSERT_TRUE(cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "m", false), "application/json"));
  ASSERT_TRUE(cli.Post("/v1/chat/completions", chat_body("/v1/chat/completions", "m", true), "application/json"));
  ASSERT_TRUE(cli.Post("/v1/messages", chat_body("/v1/messages", "status-429", false), "application/json"));
  ASSERT_TRUE(cli.Post("/v1/messages", "{bad", "application/json"));
  auto res = cli.Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const std::string& m = res->body;
  EXPECT_THAT(m, HasSubstr(R"(llmrouter_requests_total{client_format="openai",model="m",outcome="ok",provider="up",status="200"} 2)"));
  EXPECT_THAT(m, HasSubstr(R"(llmrouter_requests_total{client_format="anthropic",model="status-429",outcome="client_error",provider="up",status="429"} 1)"));
  EXPECT_THAT(m, HasSubstr(R"(llmrouter_requests_total{client_format="anthropic",model="none",outcome="client_error",provider="none",status="400"} 1)"));
  EXPECT_THAT(m, HasSubstr(R"(llmrouter_upstream_errors_total{provider="up",status="429"} 1)"));
  EXPECT_THAT(m, HasSubstr(R"(llmrouter_time_to_first_token_seconds_count{provider="up"} 1)"));
  EXPECT_THAT(m, HasSubstr(R"(llmrouter_tokens_total{kind="input",model="m",provider="up"})"));
  EXPECT_THAT(m, HasSubstr("llmrouter_in_flight_requests 0"));
  // The exposition is valid for Prometheus itself (promtool comes with Debian's prometheus).
  ASSERT_EQ(std::system("command -v promtool >/dev/null 2>&1"), 0) << "promtool is missing: ./scripts/install-deps installs it";
  const auto path = std::filesystem::temp_directory_path() / fmt::format("llmrouter-metrics-{}.txt", ::getpid());
  std::ofstream(path) << m;
  const int rc = std::system(fmt::format("promtool check metrics < {} > {}.out 2>&1", path.string(), path.string()).c_str());
  EXPECT_EQ(rc, 0) << read_file(path.string() + ".out");
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + ".out");
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

TEST(ServerTest, PassThroughNeverRelaysInvalidUtf8) {
  testing::MockUpstream mock;
  for (const char* format : {"openai", "anthropic"}) {
    RunningRouter router(mock, format);
    auto cli = router.client();
    const std::string path = std::string(format) == "openai" ? "/v1/chat/completions" : "/v1/messages";
    for (bool stream : {false, true}) {
      SCOPED_TRACE(fmt::format("{} stream={}", format, stream));
      auto res = cli.Post(path, chat_body(path, "bad-utf8", stream), "application/json");
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 200);
      EXPECT_TRUE(valid_utf8(res->body)) << res->body;
      EXPECT_THAT(res->body, HasSubstr("\xEF\xBF\xBD"));  // U+FFFD where the bad bytes were
    }
  }
}

// Past the limit a connection is answered at once, before its request is read, with a body
// both the OpenAI and the Anthropic SDKs read as an error.
TEST(ServerTest, PastMaxConnectionsANewConnectionGetsAnImmediate503) {
  testing::MockUpstream mock;
  RunningRouter router(mock, "openai", "max_connections = 2");
  // Three connections that say nothing are open.
  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(router.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    idle.push_back(fd);
  }
  // The server has taken all three once it refused one (answered at once, before any request).
  EXPECT_TRUE(testing::wait_until([&] {
    std::vector<pollfd> fds;
    for (int fd : idle) fds.push_back(pollfd{fd, POLLIN, 0});
    return ::poll(fds.data(), fds.size(), 0) > 0;
  }));
  auto cli = router.client();
  auto busy = cli.Post("/v1/messages", chat_body("/v1/messages", "m", false), "application/json");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_THAT(busy->body, StartsWith(R"({"type":"error","error":)"));
  EXPECT_THAT(busy->body, HasSubstr("connection limit"));
  EXPECT_EQ(mock.requests(), 0);
  for (int fd : idle) ::close(fd);
  // Once they are gone, requests are served again.
  int status = 0;
  testing::wait_until(
      [&] {
        auto res = router.client().Post("/v1/messages", chat_body("/v1/messages", "m", false),
                                        "application/json");
        status = res ? res->status : 0;
        return status == 200;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(20));
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace llmrouter
