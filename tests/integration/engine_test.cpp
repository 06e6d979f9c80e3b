// SPDX-License-Identifier: MIT
// Engine, the composition root: requests through it against the mock upstream (blocking
// and pulled), in-process providers, and reload.
#include "llmrouter/engine.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"

namespace llmrouter {
namespace {

// Two providers on the same mock; the fallback rule sends everything to `route_to`.
Config two_providers(const testing::MockUpstream& mock, std::string_view route_to, std::string_view extra = "") {
  return testing::config_from(fmt::format(R"(
{}
[[providers]]
name = "a"
format = "openai"
base_url = "{}/v1"
[[providers]]
name = "b"
format = "anthropic"
base_url = "{}"
[[routers]]
type = "fallback"
providers = ["{}"]
)",
                                          extra, mock.base_url(), mock.base_url(), route_to));
}

EngineOptions quiet() {
  EngineOptions o;
  o.getenv = [](const std::string&) { return std::optional<std::string>(); };
  o.loops = 2;
  return o;
}

std::string chat_body(std::string_view model, bool stream) {
  return fmt::format(R"({{"model":"{}","stream":{},"messages":[{{"role":"user","content":"hi"}}]}})", model,
                     stream ? "true" : "false");
}

// An in-process provider named "local" that answers `text` (it records whether its
// blocking send ran on a transport loop).
std::shared_ptr<testing::ScriptedProvider> local_provider(
    std::string text = "from the in-process provider") {
  testing::ScriptedProvider::Reply reply = testing::ScriptedProvider::answers(std::move(text));
  reply.input_tokens = 0;
  reply.output_tokens = 0;
  return std::make_shared<testing::ScriptedProvider>("local", std::move(reply));
}

// The last `complete` event `sub` has, or "".
std::string last_complete(Subscription& sub) {
  std::string ev, complete;
  while (sub.next(ev, std::chrono::milliseconds(100))) {
    if (ev.find("\"type\":\"complete\"") != std::string::npos) complete = ev;
  }
  return complete;
}

struct Written {
  std::vector<std::string> pieces;
  std::string all() const {
    std::string out;
    for (const auto& p : pieces) out += p;
    return out;
  }
};

Outcome run(const Engine& engine, std::string_view body, Written& out) {
  const CancelFlag cancel{false};
  return engine.complete(WireFormat::OpenAI, body, {}, [&](std::string_view b) {
    out.pieces.emplace_back(b);
    return true;
  }, cancel);
}

TEST(EngineTest, ANonStreamedReplyIsWrittenWholeOnce) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "a"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  Written out;
  Outcome o = run(**engine, chat_body("m", false), out);
  ASSERT_FALSE(o.error) << o.error->message;
  ASSERT_EQ(out.pieces.size(), 1u);
  EXPECT_NE(out.pieces[0].find("\"choices\""), std::string::npos);
  ASSERT_EQ(o.attempts.size(), 1u);
  EXPECT_EQ(o.attempts[0].provider, "a");
  EXPECT_TRUE(o.passthrough);
}

TEST(EngineTest, AStreamedReplyIsWrittenInTheClientsFormat) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "b"), quiet());  // translated from Anthropic
  ASSERT_TRUE(engine) << engine.error().message;
  Written out;
  Outcome o = run(**engine, chat_body("chunks-20", true), out);
  ASSERT_FALSE(o.error) << o.error->message;
  const std::string all = out.all();
  EXPECT_NE(all.find("chat.completion.chunk"), std::string::npos);
  EXPECT_NE(all.find("tok19 "), std::string::npos);
  EXPECT_NE(all.find("data: [DONE]"), std::string::npos);
  EXPECT_FALSE(o.passthrough);
}

TEST(EngineTest, ABadBodyFailsBeforeAnyByteAndIsStillLogged) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "a"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  auto sub = (*engine)->events()->subscribe(64);
  Written out;
  Outcome o = run(**engine, "{", out);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, Errc::InvalidRequest);
  EXPECT_TRUE(out.pieces.empty());
  std::string ev, last;
  while (sub->next(ev, std::chrono::milliseconds(100))) last = ev;
  EXPECT_NE(last.find("\"type\":\"complete\""), std::string::npos);

  auto stream = (*engine)->open_stream(WireFormat::OpenAI, "{");
  ASSERT_FALSE(stream);
  EXPECT_EQ(stream.error().code, Errc::InvalidRequest);
}

TEST(EngineTest, AHeaderThatWouldSplitUpstreamIsA400AndNeverSent) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "b"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  for (const Headers& headers : {Headers{{"anthropic-beta", "x\r\nX-Evil: 1"}}, Headers{{"anthropic-beta", std::string("x\0y", 3)}},
                                 Headers{{"anthropic-be ta", "x"}}}) {
    Written out;
    const CancelFlag cancel{false};
    Outcome o = (*engine)->complete(WireFormat::OpenAI, chat_body("m", false), headers,
                                    [&](std::string_view b) {
                                      out.pieces.emplace_back(b);
                                      return true;
                                    },
                                    cancel);
    ASSERT_TRUE(o.error) << headers[0].first;
    EXPECT_EQ(o.error->status(), 400);
    EXPECT_NE(o.error->message.find("anthropic-be"), std::string::npos) << o.error->message;
    EXPECT_TRUE(out.pieces.empty());
  }
  EXPECT_EQ(mock.requests(), 0);
}

TEST(EngineTest, TheTransportRefusesAHeaderThatWouldSplitWhoeverBuiltIt) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport({});
  struct Observer final : TransferObserver {
    void on_headers(int, const std::vector<std::pair<std::string, std::string>>&) override {}
    bool on_data(std::string_view) override { return true; }
    void on_complete(Result<void> r) override { result.set_value(std::move(r)); }
    std::promise<Result<void>> result;
  };
  auto observer = std::make_shared<Observer>();
  auto done = observer->result.get_future();
  HttpRequest req;
  req.url = mock.base_url() + "/v1/chat/completions";
  req.body = chat_body("m", false);
  req.headers = {{"content-type", "application/json"}, {"x-tenant", "a\r\nX-Evil: 1"}};
  transport->start(std::move(req), observer);
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const Result<void> r = done.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Upstream);
  EXPECT_EQ(r.error().status(), 502);
  EXPECT_NE(r.error().message.find("x-tenant"), std::string::npos) << r.error().message;
  EXPECT_EQ(mock.requests(), 0);
  transport->shutdown();
}

TEST(EngineTest, AProviderKeyWithALineBreakIsA502NotSent) {
  testing::MockUpstream mock;
  EngineOptions o = quiet();
  o.getenv = [](const std::string&) { return std::optional<std::string>("sk-key\r\n"); };  // a .env saved with CRLF
  auto engine = Engine::create(testing::config_from(fmt::format(R"(
[[providers]]
name = "a"
format = "openai"
base_url = "{}/v1"
api_key_env = "A_KEY"
[[routers]]
type = "fallback"
providers = ["a"]
)",
                                                                mock.base_url()),
                                                    {{"A_KEY", "sk-key\r\n"}}),
                               std::move(o));
  ASSERT_TRUE(engine) << engine.error().message;
  Written out;
  Outcome result = run(**engine, chat_body("m", false), out);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->status(), 502);
  EXPECT_NE(result.error->message.find("authorization"), std::string::npos) << result.error->message;
  EXPECT_EQ(mock.requests(), 0);
}

TEST(EngineTest, APulledStreamDeliversTheReplyThenEnds) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "a"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  auto stream = (*engine)->open_stream(WireFormat::OpenAI, chat_body("chunks-50", true));
  ASSERT_TRUE(stream) << stream.error().message;
  std::string all, chunk;
  for (int i = 0; i < 10'000; ++i) {
    const auto st = (*stream)->next(chunk, std::chrono::milliseconds(5000));
    if (st == ReplyStream::Status::End) break;
    ASSERT_EQ(st, ReplyStream::Status::Data);
    all += chunk;
  }
  EXPECT_FALSE((*stream)->error());
  EXPECT_NE(all.find("tok49 "), std::string::npos);
  EXPECT_NE(all.find("[DONE]"), std::string::npos);
  EXPECT_EQ((*stream)->next(chunk, std::chrono::milliseconds(0)), ReplyStream::Status::End);
}

TEST(EngineTest, DroppingAPulledStreamCancelsItsRequest) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "a"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  auto sub = (*engine)->events()->subscribe(64);
  const auto t0 = std::chrono::steady_clock::now();
  {
    auto stream = (*engine)->open_stream(WireFormat::OpenAI, chat_body("drip", true));  // 2 s of events
    ASSERT_TRUE(stream) << stream.error().message;
    std::string chunk;
    ASSERT_EQ((*stream)->next(chunk, std::chrono::milliseconds(5000)), ReplyStream::Status::Data);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  const std::string complete = last_complete(*sub);
  EXPECT_NE(complete.find("\"error\":\""), std::string::npos) << complete;
}

// Registers provider kind "local", served by `provider`.
void add_local_kind(EngineOptions& o, std::shared_ptr<const Provider> provider) {
  (void)o.registries.add_provider("local",
                                  [provider](const ProviderConfig&, const ProviderContext&) {
                                    return Result<std::shared_ptr<const Provider>>(provider);
                                  });
}

// An engine whose one provider, "local", is local_provider() (kind "local": no base_url).
Result<std::unique_ptr<Engine>> local_engine() {
  EngineOptions o = quiet();
  add_local_kind(o, local_provider());
  return Engine::create(testing::config_from(R"(
[[providers]]
name = "local"
kind = "local"
format = "openai"
[[routers]]
type = "fallback"
providers = ["local"]
)"),
                        std::move(o));
}

// Callbacks that record a submitted request; `wait` blocks until on_end.
class Recorder final : public RequestCallbacks {
 public:
  void on_decision(const PreparedRequest& p) override {
    std::lock_guard lock(mu);
    decided = p.decision ? p.decision->target.provider : "plugin";
  }
  void on_attempt(const RouteTarget& t) override {
    std::lock_guard lock(mu);
    tried.push_back(t.provider);
  }
  bool on_bytes(std::string_view b) override {
    std::lock_guard lock(mu);
    bytes += b;
    ++pieces;
    threads.insert(std::this_thread::get_id());
    return keep_going;
  }
  bool behind() const override {
    std::lock_guard lock(mu);
    return pieces >= pause_after;
  }
  void on_end(Outcome o) override {
    {
      std::lock_guard lock(mu);
      outcome = std::move(o);
    }
    cv.notify_all();
  }
  bool wait(std::chrono::seconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return outcome.has_value(); });
  }

  mutable std::mutex mu;
  std::condition_variable cv;
  std::string decided;
  std::vector<std::string> tried;
  std::string bytes;
  int pieces = 0;
  int pause_after = 1 << 30;
  bool keep_going = true;
  std::set<std::thread::id> threads;
  std::optional<Outcome> outcome;
};

TEST(EngineTest, SubmitReturnsAtOnceAndTheReplyArrivesOnALoop) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "b"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  auto rec = std::make_shared<Recorder>();
  auto handle = (*engine)->submit(WireFormat::OpenAI, chat_body("latency-200+chunks-30", true), {}, rec);
  {
    std::lock_guard lock(rec->mu);
    EXPECT_EQ(rec->decided, "b");  // routing ran within submit
    EXPECT_FALSE(rec->outcome);     // the upstream answers after 200 ms
  }
  ASSERT_TRUE(rec->wait());
  ASSERT_FALSE(rec->outcome->error) << rec->outcome->error->message;
  EXPECT_EQ(rec->outcome->id, handle->id());
  EXPECT_NE(rec->bytes.find("tok29 "), std::string::npos);
  EXPECT_NE(rec->bytes.find("data: [DONE]"), std::string::npos);
  ASSERT_EQ(rec->threads.size(), 1u);
  EXPECT_NE(*rec->threads.begin(), std::this_thread::get_id());
}

TEST(EngineTest, SubmitFailsOverToTheNextProvider) {
  testing::MockUpstream mock;
  auto engine = Engine::create(testing::config_from(fmt::format(R"(
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
                                                                mock.base_url())),
                               quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  auto rec = std::make_shared<Recorder>();
  (*engine)->submit(WireFormat::OpenAI, chat_body("m", false), {}, rec);
  ASSERT_TRUE(rec->wait());
  ASSERT_FALSE(rec->outcome->error) << rec->outcome->error->message;
  EXPECT_EQ(rec->tried, (std::vector<std::string>{"dead", "up"}));
  ASSERT_EQ(rec->outcome->attempts.size(), 2u);
  EXPECT_FALSE(rec->outcome->attempts[0].error.empty());
  EXPECT_NE(rec->bytes.find("\"choices\""), std::string::npos);
}

TEST(EngineTest, ACancelledSubmissionEndsCancelled) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "a"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  auto rec = std::make_shared<Recorder>();
  auto handle = (*engine)->submit(WireFormat::OpenAI, chat_body("drip", true), {}, rec);
  ASSERT_TRUE(testing::wait_until([&] {
    std::lock_guard lock(rec->mu);
    return rec->pieces > 0;
  }));  // the reply is under way
  handle->cancel();
  ASSERT_TRUE(rec->wait(std::chrono::seconds(3)));
  ASSERT_TRUE(rec->outcome->error);
  EXPECT_EQ(rec->outcome->error->code, Errc::Cancelled);
}

TEST(EngineTest, ABehindHostPausesTheTransferUntilResumed) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "b"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  auto rec = std::make_shared<Recorder>();
  rec->pause_after = 1;
  auto handle = (*engine)->submit(WireFormat::OpenAI, chat_body("chunks-2000", true), {}, rec);
  ASSERT_TRUE(testing::wait_until([&] {
    std::lock_guard lock(rec->mu);
    return rec->pieces >= 1;
  }));
  // Time for the rest of the reply to arrive, were the transfer not paused.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int seen = 0;
  {
    std::lock_guard lock(rec->mu);
    seen = rec->pieces;
    EXPECT_FALSE(rec->outcome) << "the reply ended while the host was behind";
    rec->pause_after = 1 << 30;
  }
  EXPECT_GE(seen, 1);
  handle->resume();
  ASSERT_TRUE(rec->wait());
  ASSERT_FALSE(rec->outcome->error) << rec->outcome->error->message;
  EXPECT_NE(rec->bytes.find("tok1999 "), std::string::npos);
  EXPECT_GT(rec->pieces, seen);
}

TEST(EngineTest, AnInProcessProviderRunsThroughSubmitToo) {
  auto engine = local_engine();
  ASSERT_TRUE(engine) << engine.error().message;
  auto rec = std::make_shared<Recorder>();
  (*engine)->submit(WireFormat::Anthropic,
                    R"({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]})", {}, rec);
  ASSERT_TRUE(rec->wait());
  ASSERT_FALSE(rec->outcome->error) << rec->outcome->error->message;
  EXPECT_NE(rec->bytes.find("from the in-process provider"), std::string::npos);
  EXPECT_NE(rec->bytes.find("\"type\":\"message\""), std::string::npos);
}

// A response classifier that breaks its contract and throws.
class Throwing final : public ResponseClassifier {
 public:
  void classify(const CanonicalRequest&, const Response&, std::vector<std::string>&) const override {
    throw std::runtime_error("classifier exploded");
  }
};

TEST(EngineTest, AThrowingStageOnTheLoopEndsTheRequestWithAnInternalError) {
  testing::MockUpstream mock;
  EngineOptions o = quiet();
  ASSERT_TRUE(o.registries.add_response_classifier(
      "throwing", [](const ComponentConfig&, const Config&) -> Result<std::unique_ptr<ResponseClassifier>> {
        return std::unique_ptr<ResponseClassifier>(std::make_unique<Throwing>());
      }));
  auto engine = Engine::create(two_providers(mock, "a", "[response_classifiers.throwing]\nenabled = true"), std::move(o));
  ASSERT_TRUE(engine) << engine.error().message;
  auto sub = (*engine)->events()->subscribe(64);
  auto rec = std::make_shared<Recorder>();
  (*engine)->submit(WireFormat::OpenAI, chat_body("m", false), {}, rec);
  ASSERT_TRUE(rec->wait()) << "the host never heard of the request's end";
  ASSERT_TRUE(rec->outcome->error);
  EXPECT_EQ(rec->outcome->error->code, Errc::Internal);
  EXPECT_NE(rec->outcome->error->message.find("classifier exploded"), std::string::npos);
  EXPECT_EQ((*engine)->current()->pipeline().in_flight(), 0u);
  const std::string complete = last_complete(*sub);
  EXPECT_NE(complete.find("classifier exploded"), std::string::npos) << complete;
}

TEST(EngineTest, AFailoverToABlockingProviderDoesNotRunItOnALoop) {
  EngineOptions o = quiet();
  auto where = local_provider("fell over to the in-process provider");
  add_local_kind(o, where);
  auto engine = Engine::create(testing::config_from(R"(
[[providers]]
name = "dead"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
[[providers]]
name = "local"
kind = "local"
format = "openai"
[[routers]]
type = "fallback"
providers = ["dead", "local"]
)"),
                               std::move(o));
  ASSERT_TRUE(engine) << engine.error().message;
  auto rec = std::make_shared<Recorder>();
  (*engine)->submit(WireFormat::OpenAI, chat_body("m", false), {}, rec);
  ASSERT_TRUE(rec->wait());
  ASSERT_FALSE(rec->outcome->error) << rec->outcome->error->message;
  EXPECT_EQ(rec->tried, (std::vector<std::string>{"dead", "local"}));
  ASSERT_GT(where->calls(), 0);
  EXPECT_FALSE(where->last().on_transport_loop) << "the blocking send ran on a transport loop";
  EXPECT_NE(rec->bytes.find("fell over to the in-process provider"), std::string::npos);
}

TEST(EngineTest, AnInProcessProviderServesItsConfiguredName) {
  auto engine = local_engine();
  ASSERT_TRUE(engine) << engine.error().message;
  Written out;
  Outcome o2 = run(**engine, chat_body("m", false), out);
  ASSERT_FALSE(o2.error) << o2.error->message;
  EXPECT_NE(out.all().find("from the in-process provider"), std::string::npos);
}

TEST(EngineTest, ReloadSwapsThePipelineAndKeepsIdsEventsAndRequestsInFlight) {
  testing::MockUpstream mock;
  auto made = Engine::create(two_providers(mock, "a"), quiet());
  ASSERT_TRUE(made) << made.error().message;
  Engine& engine = **made;
  auto sub = engine.events()->subscribe(1024);

  Written out;
  Outcome first = run(engine, chat_body("m", false), out);
  ASSERT_FALSE(first.error) << first.error->message;
  EXPECT_EQ(first.attempts.back().provider, "a");

  // A stream in flight on the first generation.
  std::shared_ptr<const Generation> before = engine.current();
  auto stream = engine.open_stream(WireFormat::OpenAI, chat_body("latency-300+chunks-5", true));
  ASSERT_TRUE(stream) << stream.error().message;

  ASSERT_TRUE(engine.reload(two_providers(mock, "b")));
  EXPECT_NE(engine.current().get(), before.get());
  EXPECT_EQ(engine.current()->pipeline().events().get(), before->pipeline().events().get());

  std::string all, chunk;
  for (int i = 0; i < 10'000; ++i) {
    const auto st = (*stream)->next(chunk, std::chrono::milliseconds(5000));
    if (st == ReplyStream::Status::End) break;
    all += chunk;
  }
  EXPECT_FALSE((*stream)->error());
  EXPECT_NE(all.find("tok4 "), std::string::npos);
  EXPECT_NE(all.find("chat.completion.chunk"), std::string::npos);

  Outcome second = run(engine, chat_body("m", false), out);
  ASSERT_FALSE(second.error) << second.error->message;
  EXPECT_EQ(second.attempts.back().provider, "b");
  EXPECT_GT(second.id, first.id);
  EXPECT_GT(second.id, (*stream)->id());

  // Every request's `complete` event reached the same bus, before and after the reload.
  int completes = 0;
  std::string ev;
  while (sub->next(ev, std::chrono::milliseconds(100))) {
    if (ev.find("\"type\":\"complete\"") != std::string::npos) ++completes;
  }
  EXPECT_EQ(completes, 3);
  EXPECT_EQ(engine.current()->pipeline().in_flight(), 0u);
}

TEST(EngineTest, AFailedReloadKeepsTheCurrentGeneration) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "a"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  std::shared_ptr<const Generation> before = (*engine)->current();
  auto r = (*engine)->reload(two_providers(mock, "a", "[classifiers.no-such-classifier]\nenabled = true"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no-such-classifier"), std::string::npos);
  EXPECT_EQ((*engine)->current().get(), before.get());
}

TEST(EngineTest, AReloadReportsTheSettingsThatNeedARestartAndPublishesAnEvent) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "a", "[server]\nport = 0"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  auto reloads = (*engine)->events()->subscribe(16, 1u << 20, EventType::Reload);

  // max_upstream_reply_bytes and [routing] are applied; the others wait for a restart.
  auto r = (*engine)->reload(two_providers(mock, "b", R"([server]
port = 9000
workers = 3
max_upstream_reply_bytes = 4096
[logging]
enabled = true
[routing]
max_attempts = 1
[state]
key_prefix = "other:"
responses_max = 5
)"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->source, "test.toml");
  EXPECT_EQ(r->restart_required, (std::vector<std::string>{"server.port", "server.workers",
                                                           "logging.enabled", "state.key_prefix"}));
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_EQ((*engine)->current()->config().routing.max_attempts, 1u);
  std::string ev;
  EventType type{};
  ASSERT_TRUE(reloads->next(ev, std::chrono::seconds(5), type));
  EXPECT_EQ(type, EventType::Reload);
  EXPECT_NE(ev.find(R"("type":"reload")"), std::string::npos) << ev;
  EXPECT_NE(
      ev.find(
          R"("ok":true,"source":"test.toml","errors":[],)"
          R"("restart_required":["server.port","server.workers","logging.enabled","state.key_prefix"]})"),
      std::string::npos)
      << ev;

  // Back to the start-up values: nothing left to restart for.
  auto back = (*engine)->reload(two_providers(mock, "a", "[server]\nport = 0"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->restart_required.empty());

  // The operator key: read once by the host without [[keys]], by each reload's key table
  // with them.
  auto key =
      (*engine)->reload(two_providers(mock, "a", "[server]\nport = 0\napi_key_env = \"OPERATOR\""));
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->restart_required, std::vector<std::string>{"server.api_key_env"});
  auto with_keys = (*engine)->reload(two_providers(
      mock, "a",
      fmt::format("[server]\nport = 0\napi_key_env = \"OPERATOR\"\n[[keys]]\nname = \"team\"\n"
                  "key_sha256 = \"{}\"",
                  std::string(64, 'a'))));
  ASSERT_TRUE(with_keys) << with_keys.error().message;
  EXPECT_TRUE(with_keys->restart_required.empty());
}

TEST(EngineTest, ReloadFileRefusesAnInvalidFileWithEveryErrorAndAppliesTheHostsOverrides) {
  testing::MockUpstream mock;
  auto engine = Engine::create(two_providers(mock, "a"), quiet());
  ASSERT_TRUE(engine) << engine.error().message;
  std::shared_ptr<const Generation> before = (*engine)->current();
  auto reloads = (*engine)->events()->subscribe(16, 1u << 20, EventType::Reload);
  const std::string path = fmt::format("{}/llmrouter-engine-reload-{}.toml",
                                       std::filesystem::temp_directory_path().string(), ::getpid());
  auto write = [&](const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  };

  write("[server]\nport = -1\n[routing]\nmax_attempts = 0\n");
  auto refused = (*engine)->reload_file(path);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::Config);
  // Every problem, one line each, in file order.
  const std::string& message = refused.error().message;
  EXPECT_EQ(message.find(path + ":1:1: providers: missing"), 0u) << message;
  EXPECT_NE(message.find("\n" + path + ":2:8: server.port"), std::string::npos) << message;
  EXPECT_NE(message.find("\n" + path + ":4:16: routing.max_attempts"), std::string::npos)
      << message;
  EXPECT_EQ((*engine)->current().get(), before.get());
  std::string ev;
  ASSERT_TRUE(reloads->next(ev, std::chrono::seconds(5)));
  EXPECT_NE(ev.find(R"("ok":false)"), std::string::npos) << ev;
  EXPECT_NE(ev.find(fmt::format(R"("errors":["{}:1:1: providers: missing)", path)),
            std::string::npos)
      << ev;
  EXPECT_NE(ev.find(fmt::format(R"(","{}:2:8: server.port)", path)), std::string::npos) << ev;
  EXPECT_NE(ev.find(fmt::format(R"(","{}:4:16: routing.max_attempts)", path)), std::string::npos)
      << ev;

  auto missing = (*engine)->reload_file(path + ".missing");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos)
      << missing.error().message;
  ASSERT_TRUE(reloads->next(ev, std::chrono::seconds(5)));
  EXPECT_NE(ev.find(R"("ok":false)"), std::string::npos) << ev;

  // The host's overrides are applied before the comparison with the running settings.
  write(
      fmt::format("[server]\nport = 9000\n[[providers]]\nname = \"a\"\nformat = \"openai\"\n"
                  "base_url = \"{}/v1\"\n[[routers]]\ntype = \"fallback\"\nproviders = [\"a\"]\n",
                  mock.base_url()));
  auto applied = (*engine)->reload_file(
      path, [&](Config& c) { c.server.port = before->config().server.port; });
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_TRUE(applied->restart_required.empty());
  EXPECT_EQ(applied->source, path);
  EXPECT_NE((*engine)->current().get(), before.get());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace llmrouter