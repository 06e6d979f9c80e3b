// SPDX-License-Identifier: MIT
// The C ABI through libllmrouter.so, as a C program or an FFI would use it: only the
// symbols of llmrouter.h are visible to this binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "llmrouter.h"
#include "support/mock_upstream.h"

namespace {

using Clock = std::chrono::steady_clock;

// An error out-parameter freed on reassignment and at the end of its scope.
class ErrorSlot {
 public:
  ErrorSlot() = default;
  ErrorSlot(const ErrorSlot&) = delete;
  ErrorSlot& operator=(const ErrorSlot&) = delete;
  ~ErrorSlot() { llmrouter_error_free(err_); }
  llmrouter_error** out() {
    llmrouter_error_free(err_);
    err_ = nullptr;
    return &err_;
  }
  const llmrouter_error* get() const { return err_; }
  std::string message() const { return llmrouter_error_message(err_); }
  llmrouter_status status() const { return llmrouter_error_status(err_); }
  int http_status() const { return llmrouter_error_http_status(err_); }
  std::string provider() const { return llmrouter_error_provider(err_); }

 private:
  llmrouter_error* err_ = nullptr;
};

struct RouterDeleter {
  void operator()(llmrouter_router* r) const { llmrouter_router_free(r); }
};
using RouterPtr = std::unique_ptr<llmrouter_router, RouterDeleter>;
struct StreamDeleter {
  void operator()(llmrouter_stream* s) const { llmrouter_stream_free(s); }
};
using StreamPtr = std::unique_ptr<llmrouter_stream, StreamDeleter>;

// What a request delivered through llmrouter_complete or a pull stream.
struct Reply {
  llmrouter_status status = LLMROUTER_INTERNAL;
  std::vector<std::string> chunks;
  Clock::time_point first_chunk_at;
  std::string error;
  int http_status = 0;
  std::string provider;

  std::string text() const {
    std::string all;
    for (const std::string& c : chunks) all += c;
    return all;
  }
};

// Owns a router made from TOML text and runs requests through it (DuckDB's CAPITester).
class CApiTester {
 public:
  explicit CApiTester(const std::string& toml) {
    ErrorSlot err;
    llmrouter_router* r = nullptr;
    status_ = llmrouter_router_new_from_toml(toml.data(), toml.size(), &r, err.out());
    router_.reset(r);
    error_ = err.message();
  }
  bool ok() const { return status_ == LLMROUTER_OK && router_; }
  const std::string& error() const { return error_; }
  llmrouter_router* get() const { return router_.get(); }
  void reset() { router_.reset(); }

  // The route JSON, or "" with `status` set.
  std::string route(llmrouter_format format, const std::string& body, llmrouter_status* status = nullptr,
                    ErrorSlot* err = nullptr) const {
    char* json = nullptr;
    size_t len = 0;
    ErrorSlot local;
    const llmrouter_status s =
        llmrouter_route(router_.get(), format, body.data(), body.size(), &json, &len, (err ? err : &local)->out());
    if (status) *status = s;
    std::string out = json ? std::string(json, len) : std::string();
    if (json) {
      EXPECT_EQ(json[len], '\0');
    }
    llmrouter_free(json);
    return out;
  }

  // Runs llmrouter_complete; `cancel_after` chunks, the callback asks to stop.
  Reply complete(llmrouter_format format, const std::string& body, int cancel_after = -1) const {
    struct Ctx {
      Reply* reply;
      int cancel_after;
      std::thread::id thread;
      bool same_thread = true;
    };
    Reply reply;
    Ctx ctx{&reply, cancel_after, std::this_thread::get_id()};
    auto cb = [](const char* data, size_t len, void* user_data) -> int {
      auto* c = static_cast<Ctx*>(user_data);
      if (std::this_thread::get_id() != c->thread) c->same_thread = false;
      if (c->reply->chunks.empty()) c->reply->first_chunk_at = Clock::now();
      c->reply->chunks.emplace_back(data, len);
      return c->cancel_after >= 0 && static_cast<int>(c->reply->chunks.size()) >= c->cancel_after ? 1 : 0;
    };
    ErrorSlot err;
    reply.status = llmrouter_complete(router_.get(), format, body.data(), body.size(), cb, &ctx, err.out());
    EXPECT_TRUE(ctx.same_thread) << "on_chunk ran on another thread";
    fill(reply, err);
    return reply;
  }

  // Opens a pull stream and reads it to its end.
  Reply pull(llmrouter_format format, const std::string& body) const {
    Reply reply;
    ErrorSlot err;
    llmrouter_stream* s = nullptr;
    reply.status = llmrouter_stream_open(router_.get(), format, body.data(), body.size(), &s, err.out());
    StreamPtr stream(s);
    if (reply.status != LLMROUTER_OK) {
      EXPECT_EQ(s, nullptr);
      fill(reply, err);
      return reply;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    for (;;) {
      const char* data = nullptr;
      size_t len = 0;
      reply.status = llmrouter_stream_next(stream.get(), 1000, &data, &len, err.out());
      if (reply.status == LLMROUTER_OK) {
        reply.chunks.emplace_back(data, len);
      } else if (reply.status != LLMROUTER_STREAM_TIMEOUT || Clock::now() > deadline) {
        break;
      }
    }
    fill(reply, err);
    return reply;
  }

 private:
  static void fill(Reply& reply, const ErrorSlot& err) {
    reply.error = err.message();
    reply.http_status = err.http_status();
    reply.provider = err.provider();
    if (err.get()) {
      EXPECT_EQ(err.status(), reply.status);
    }
  }

  RouterPtr router_;
  llmrouter_status status_ = LLMROUTER_INTERNAL;
  std::string error_;
};

std::string chat(const std::string& model, bool stream, const std::string& text = "hello") {
  return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
         R"(,"max_tokens":64,"messages":[{"role":"user","content":")" + text + R"("}]})";
}

std::string anthropic_chat(const std::string& model, bool stream) {
  return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
         R"(,"max_tokens":64,"messages":[{"role":"user","content":"hello"}]})";
}

constexpr const char* kRoutingOnly = R"(
[[providers]]
name = "local"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
[[providers]]
name = "cloud"
format = "anthropic"
base_url = "http://127.0.0.1:2"
[[routers]]
type = "prefix"
model_prefix = "claude"
provider = "cloud"
[[routers]]
type = "tag"
tag = "code"
provider = "local"
rewrite_model = "qwen3-coder"
[classifiers.keyword]
enabled = true
[classifiers.keyword.tags]
code = ["def "]
)";

class CApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mock_ = new llmrouter::testing::MockUpstream(); }
  static void TearDownTestSuite() {
    delete mock_;
    mock_ = nullptr;
  }

  // Two providers on the mock: `oa` (OpenAI) for every model, `an` (Anthropic) for
  // models starting with "claude". `extra` is appended.
  static std::string mock_config(const std::string& extra = "") {
    const std::string base = mock_->base_url();
    return "[routing]\nmax_attempts = 1\n"
           "[[providers]]\nname = \"oa\"\nformat = \"openai\"\nbase_url = \"" + base + "/v1\"\n"
           "[[providers]]\nname = \"an\"\nformat = \"anthropic\"\nbase_url = \"" + base + "\"\n"
           "[[routers]]\ntype = \"prefix\"\nmodel_prefix = \"claude\"\nprovider = \"an\"\n"
           "[[routers]]\ntype = \"fallback\"\nproviders = [\"oa\"]\n" + extra;
  }

  static llmrouter::testing::MockUpstream* mock_;
};

llmrouter::testing::MockUpstream* CApiTest::mock_ = nullptr;

TEST(CApiBasicsTest, AbiVersionMatchesTheHeader) {
  EXPECT_EQ(llmrouter_abi_version(), static_cast<uint32_t>(LLMROUTER_ABI_VERSION));
  const std::string v = llmrouter_version();
  EXPECT_EQ(std::count(v.begin(), v.end(), '.'), 2) << v;
}

TEST(CApiBasicsTest, StatusValuesAndNamesAreFixed) {
  EXPECT_EQ(LLMROUTER_OK, 0);
  EXPECT_EQ(LLMROUTER_INVALID_ARGUMENT, 1);
  EXPECT_EQ(LLMROUTER_INVALID_REQUEST, 2);
  EXPECT_EQ(LLMROUTER_CONFIG, 3);
  EXPECT_EQ(LLMROUTER_NO_ROUTE, 4);
  EXPECT_EQ(LLMROUTER_UPSTREAM, 5);
  EXPECT_EQ(LLMROUTER_TIMEOUT, 6);
  EXPECT_EQ(LLMROUTER_CANCELLED, 7);
  EXPECT_EQ(LLMROUTER_INTERNAL, 8);
  EXPECT_EQ(LLMROUTER_STREAM_END, 9);
  EXPECT_EQ(LLMROUTER_STREAM_TIMEOUT, 10);
  EXPECT_STREQ(llmrouter_status_string(LLMROUTER_OK), "ok");
  EXPECT_STREQ(llmrouter_status_string(LLMROUTER_NO_ROUTE), "no_route");
  EXPECT_STREQ(llmrouter_status_string(LLMROUTER_STREAM_TIMEOUT), "stream_timeout");
  EXPECT_STREQ(llmrouter_status_string(static_cast<llmrouter_status>(99)), "unknown");
  EXPECT_EQ(LLMROUTER_FORMAT_OPENAI, 0);
  EXPECT_EQ(LLMROUTER_FORMAT_ANTHROPIC, 1);
  EXPECT_EQ(LLMROUTER_FORMAT_RESPONSES, 2);
}

TEST(CApiBasicsTest, NullArgumentsAreRejectedNotDereferenced) {
  ErrorSlot err;
  char* json = nullptr;
  EXPECT_EQ(llmrouter_route(nullptr, LLMROUTER_FORMAT_OPENAI, "{}", 2, &json, nullptr, err.out()),
            LLMROUTER_INVALID_ARGUMENT);
  EXPECT_EQ(err.status(), LLMROUTER_INVALID_ARGUMENT);
  EXPECT_NE(err.message().find("NULL"), std::string::npos) << err.message();
  EXPECT_EQ(json, nullptr);
  EXPECT_EQ(llmrouter_router_new_from_toml("", 0, nullptr, err.out()), LLMROUTER_INVALID_ARGUMENT);
  EXPECT_EQ(llmrouter_router_new_from_file(nullptr, 3, nullptr, nullptr), LLMROUTER_INVALID_ARGUMENT);
  EXPECT_EQ(llmrouter_complete(nullptr, LLMROUTER_FORMAT_OPENAI, "{}", 2, nullptr, nullptr, nullptr),
            LLMROUTER_INVALID_ARGUMENT);
  llmrouter_stream* s = reinterpret_cast<llmrouter_stream*>(&err);  // overwritten with NULL
  EXPECT_EQ(llmrouter_stream_open(nullptr, LLMROUTER_FORMAT_OPENAI, "{}", 2, &s, nullptr), LLMROUTER_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  const char* data = nullptr;
  size_t len = 0;
  EXPECT_EQ(llmrouter_stream_next(nullptr, 0, &data, &len, nullptr), LLMROUTER_INVALID_ARGUMENT);
  // The frees and the error getters accept NULL.
  llmrouter_router_free(nullptr);
  llmrouter_stream_free(nullptr);
  llmrouter_error_free(nullptr);
  llmrouter_free(nullptr);
  EXPECT_STREQ(llmrouter_error_message(nullptr), "");
  EXPECT_EQ(llmrouter_error_status(nullptr), LLMROUTER_OK);
  EXPECT_EQ(llmrouter_error_http_status(nullptr), 0);
  EXPECT_STREQ(llmrouter_error_provider(nullptr), "");
}

TEST(CApiBasicsTest, ConfigErrorsNameLineColumnAndKey) {
  const std::string toml = "[server]\nport = 70000\n";
  llmrouter_router* r = reinterpret_cast<llmrouter_router*>(1);
  ErrorSlot err;
  EXPECT_EQ(llmrouter_router_new_from_toml(toml.data(), toml.size(), &r, err.out()), LLMROUTER_CONFIG);
  EXPECT_EQ(r, nullptr);
  EXPECT_EQ(err.status(), LLMROUTER_CONFIG);
  EXPECT_NE(err.message().find("<config>:2:8: server.port"), std::string::npos) << err.message();
}

TEST(CApiBasicsTest, MissingConfigFileIsAConfigError) {
  const std::string path = "/nonexistent/llmrouter.toml";
  llmrouter_router* r = nullptr;
  ErrorSlot err;
  EXPECT_EQ(llmrouter_router_new_from_file(path.data(), path.size(), &r, err.out()), LLMROUTER_CONFIG);
  EXPECT_EQ(r, nullptr);
  EXPECT_NE(err.message().find(path), std::string::npos) << err.message();
}

TEST(CApiBasicsTest, LoadsAConfigFileWithoutATerminatingNul) {
  const std::string path = std::string(LLMROUTER_SOURCE_DIR) + "/examples/demo/config.toml";
  const std::string padded = path + "XYZ";  // the length, not a NUL, ends the path
  llmrouter_router* r = nullptr;
  ErrorSlot err;
  ASSERT_EQ(llmrouter_router_new_from_file(padded.data(), path.size(), &r, err.out()), LLMROUTER_OK) << err.message();
  RouterPtr router(r);
  const std::string body = chat("claude-sonnet-4", false);
  char* json = nullptr;
  ASSERT_EQ(llmrouter_route(r, LLMROUTER_FORMAT_OPENAI, body.data(), body.size(), &json, nullptr, nullptr), LLMROUTER_OK);
  EXPECT_NE(std::string(json).find(R"("provider":"mock-anthropic")"), std::string::npos) << json;
  llmrouter_free(json);
}

TEST(CApiRouteTest, ReturnsTheDecisionAsJson) {
  CApiTester t(kRoutingOnly);
  ASSERT_TRUE(t.ok()) << t.error();
  llmrouter_status s = LLMROUTER_INTERNAL;
  std::string json = t.route(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", false, "def f(): pass"), &s);
  EXPECT_EQ(s, LLMROUTER_OK);
  EXPECT_NE(json.find(R"("provider":"local")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("model":"qwen3-coder")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("tags":["code"])"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("type":"tag")"), std::string::npos) << json;

  json = t.route(LLMROUTER_FORMAT_ANTHROPIC, anthropic_chat("claude-sonnet-4", false), &s);
  EXPECT_EQ(s, LLMROUTER_OK);
  EXPECT_NE(json.find(R"("provider":"cloud")"), std::string::npos) << json;

  const std::string responses = R"({"model":"claude-opus","input":"hi"})";
  json = t.route(LLMROUTER_FORMAT_RESPONSES, responses, &s);
  EXPECT_EQ(s, LLMROUTER_OK);
  EXPECT_NE(json.find(R"("provider":"cloud")"), std::string::npos) << json;
}

TEST(CApiRouteTest, ReadsOnlyLenBytesOfTheBody) {
  CApiTester t(kRoutingOnly);
  ASSERT_TRUE(t.ok()) << t.error();
  const std::string body = chat("claude-x", false);
  const std::string padded = body + "garbage that is not JSON";
  char* json = nullptr;
  size_t len = 0;
  ASSERT_EQ(llmrouter_route(t.get(), LLMROUTER_FORMAT_OPENAI, padded.data(), body.size(), &json, &len, nullptr),
            LLMROUTER_OK);
  EXPECT_EQ(std::strlen(json), len);
  llmrouter_free(json);
}

TEST(CApiRouteTest, ReportsBadRequestsNoRouteAndBadFormats) {
  CApiTester t(kRoutingOnly);
  ASSERT_TRUE(t.ok()) << t.error();
  llmrouter_status s = LLMROUTER_OK;
  ErrorSlot err;
  EXPECT_EQ(t.route(LLMROUTER_FORMAT_OPENAI, "{not json", &s, &err), "");
  EXPECT_EQ(s, LLMROUTER_INVALID_REQUEST);
  EXPECT_EQ(err.http_status(), 400);
  EXPECT_FALSE(err.message().empty());

  EXPECT_EQ(t.route(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", false), &s, &err), "");  // no rule matches
  EXPECT_EQ(s, LLMROUTER_NO_ROUTE);
  EXPECT_EQ(err.http_status(), 400);

  EXPECT_EQ(t.route(static_cast<llmrouter_format>(7), chat("claude", false), &s, &err), "");
  EXPECT_EQ(s, LLMROUTER_INVALID_ARGUMENT);
  EXPECT_NE(err.message().find("unknown format 7"), std::string::npos) << err.message();
}

TEST(CApiRouteTest, OneRouterServesManyThreads) {
  CApiTester t(kRoutingOnly);
  ASSERT_TRUE(t.ok()) << t.error();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      const bool code = i % 2 == 0;
      const std::string body = chat(code ? "gpt" : "claude-3", false, code ? "def x" : "hi");
      for (int n = 0; n < 200; ++n) {
        llmrouter_status s = LLMROUTER_INTERNAL;
        const std::string json = t.route(LLMROUTER_FORMAT_OPENAI, body, &s);
        const bool right = s == LLMROUTER_OK && json.find(code ? R"("provider":"local")" : R"("provider":"cloud")") !=
                                                    std::string::npos;
        if (!right) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(CApiTest, CompleteDeliversANonStreamedReplyWhole) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  Reply r = t.complete(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", false));
  ASSERT_EQ(r.status, LLMROUTER_OK) << r.error;
  ASSERT_EQ(r.chunks.size(), 1u);
  EXPECT_NE(r.text().find("Checking both cities."), std::string::npos) << r.text();
  EXPECT_EQ(r.text().front(), '{');
}

TEST_F(CApiTest, TeamKeysDoNotApplyToTheHostsOwnRequests) {
  // The C ABI's requests carry no headers: [[keys]] (even one restricted to other models)
  // neither ask for a key nor refuse its model.
  CApiTester t(mock_config("[[keys]]\nname = \"team\"\nkey_sha256 = \"" + std::string(64, 'a') +
                           "\"\nmodels = [\"other-*\"]\nrpm = 1\n"));
  ASSERT_TRUE(t.ok()) << t.error();
  for (int i = 0; i < 2; ++i) {
    Reply r = t.complete(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", false));
    ASSERT_EQ(r.status, LLMROUTER_OK) << r.error;
  }
}

TEST_F(CApiTest, CompleteStreamsChunksInTheClientFormat) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  Reply r = t.complete(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", true));
  ASSERT_EQ(r.status, LLMROUTER_OK) << r.error;
  EXPECT_TRUE(r.text().starts_with("data: ")) << r.text();
  EXPECT_NE(r.text().find("data: [DONE]"), std::string::npos) << r.text();

  // An Anthropic client served by the OpenAI provider gets Anthropic events as they are
  // ready: one or more whole events per call (several when the stream outpaces the caller),
  // never an event cut in two.
  r = t.complete(LLMROUTER_FORMAT_ANTHROPIC, anthropic_chat("gpt-4.1", true));
  ASSERT_EQ(r.status, LLMROUTER_OK) << r.error;
  ASSERT_FALSE(r.chunks.empty());
  for (const std::string& c : r.chunks) EXPECT_TRUE(c.ends_with("\n\n")) << c;
  EXPECT_NE(r.text().find("event: message_start"), std::string::npos) << r.text();
  EXPECT_NE(r.text().find("event: message_stop"), std::string::npos) << r.text();

  // And a Responses client, from the Anthropic provider.
  r = t.complete(LLMROUTER_FORMAT_RESPONSES, R"({"model":"claude-sonnet-4","input":"hi","stream":true})");
  ASSERT_EQ(r.status, LLMROUTER_OK) << r.error;
  EXPECT_NE(r.text().find("response.completed"), std::string::npos) << r.text();
}

TEST_F(CApiTest, CompleteTranslatesANonStreamedReply) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  Reply r = t.complete(LLMROUTER_FORMAT_ANTHROPIC, anthropic_chat("gpt-4.1", false));
  ASSERT_EQ(r.status, LLMROUTER_OK) << r.error;
  ASSERT_EQ(r.chunks.size(), 1u);
  EXPECT_NE(r.text().find(R"("type":"message")"), std::string::npos) << r.text();
}

TEST_F(CApiTest, CallbackReturningNonZeroCancels) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  Reply r = t.complete(LLMROUTER_FORMAT_OPENAI, chat("drip", true), 1);  // 100 events over 2 s
  EXPECT_EQ(r.status, LLMROUTER_CANCELLED) << r.error;
  ASSERT_EQ(r.chunks.size(), 1u);
  EXPECT_LT(Clock::now() - r.first_chunk_at, std::chrono::milliseconds(1000));
}

TEST_F(CApiTest, UpstreamErrorBeforeAnyByteCarriesItsStatus) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  for (bool stream : {false, true}) {
    Reply r = t.complete(LLMROUTER_FORMAT_OPENAI, chat("status-429", stream));
    EXPECT_EQ(r.status, LLMROUTER_UPSTREAM) << r.error;
    EXPECT_EQ(r.http_status, 429);
    EXPECT_EQ(r.provider, "oa");
    EXPECT_TRUE(r.chunks.empty());
  }
}

TEST_F(CApiTest, ConnectionFailureFailsOverToTheNextProvider) {
  const std::string toml = "[[providers]]\nname = \"dead\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
                           "[[providers]]\nname = \"oa\"\nformat = \"openai\"\nbase_url = \"" +
                           mock_->base_url() + "/v1\"\n[[routers]]\ntype = \"fallback\"\nproviders = [\"dead\", \"oa\"]\n";
  CApiTester t(toml);
  ASSERT_TRUE(t.ok()) << t.error();
  Reply r = t.complete(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", false));
  EXPECT_EQ(r.status, LLMROUTER_OK) << r.error;
  EXPECT_NE(r.text().find("Checking both cities."), std::string::npos);

  CApiTester only_dead("[[providers]]\nname = \"dead\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
                       "[[routers]]\ntype = \"fallback\"\n");
  ASSERT_TRUE(only_dead.ok()) << only_dead.error();
  r = only_dead.complete(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", true));
  EXPECT_EQ(r.status, LLMROUTER_UPSTREAM) << r.error;
  EXPECT_EQ(r.http_status, 502);
  EXPECT_TRUE(r.chunks.empty());
}

TEST_F(CApiTest, FailureAfterTheFirstByteEndsTheStreamInBand) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  Reply r = t.complete(LLMROUTER_FORMAT_ANTHROPIC, anthropic_chat("disconnect", true));
  EXPECT_EQ(r.status, LLMROUTER_UPSTREAM) << r.error;
  ASSERT_FALSE(r.chunks.empty());
  EXPECT_NE(r.chunks.back().find("event: error"), std::string::npos) << r.chunks.back();
}

TEST_F(CApiTest, BadRequestIsReportedBeforeAnyByte) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  Reply r = t.complete(LLMROUTER_FORMAT_OPENAI, R"({"model":"x","messages":"nope"})");
  EXPECT_EQ(r.status, LLMROUTER_INVALID_REQUEST);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_TRUE(r.chunks.empty());
  r = t.pull(LLMROUTER_FORMAT_OPENAI, R"({"model":"x","messages":"nope"})");
  EXPECT_EQ(r.status, LLMROUTER_INVALID_REQUEST);
}

TEST_F(CApiTest, PullStreamDeliversWhatCompleteDelivers) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  Reply pushed = t.complete(LLMROUTER_FORMAT_ANTHROPIC, anthropic_chat("claude-sonnet-4", true));
  Reply pulled = t.pull(LLMROUTER_FORMAT_ANTHROPIC, anthropic_chat("claude-sonnet-4", true));
  ASSERT_EQ(pushed.status, LLMROUTER_OK) << pushed.error;
  ASSERT_EQ(pulled.status, LLMROUTER_STREAM_END) << pulled.error;
  EXPECT_EQ(pulled.text(), pushed.text());

  Reply whole = t.pull(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", false));
  ASSERT_EQ(whole.status, LLMROUTER_STREAM_END) << whole.error;
  ASSERT_EQ(whole.chunks.size(), 1u);
  EXPECT_NE(whole.text().find("Checking both cities."), std::string::npos);
}

TEST_F(CApiTest, PullStreamReportsUpstreamErrorsAndStaysEnded) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  ErrorSlot err;
  llmrouter_stream* s = nullptr;
  const std::string body = chat("status-429", true);
  ASSERT_EQ(llmrouter_stream_open(t.get(), LLMROUTER_FORMAT_OPENAI, body.data(), body.size(), &s, err.out()),
            LLMROUTER_OK);
  StreamPtr stream(s);
  const char* data = nullptr;
  size_t len = 0;
  llmrouter_status st = LLMROUTER_STREAM_TIMEOUT;
  for (int i = 0; i < 100 && st == LLMROUTER_STREAM_TIMEOUT; ++i) st = llmrouter_stream_next(s, 100, &data, &len, err.out());
  EXPECT_EQ(st, LLMROUTER_UPSTREAM);
  EXPECT_EQ(err.http_status(), 429);
  EXPECT_EQ(llmrouter_stream_next(s, 0, &data, &len, err.out()), LLMROUTER_UPSTREAM);
  EXPECT_EQ(data, nullptr);
  EXPECT_EQ(len, 0u);
}

TEST_F(CApiTest, PullStreamTimesOutWhileTheUpstreamIsSilent) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  llmrouter_stream* s = nullptr;
  const std::string body = chat("latency-400", true);
  ASSERT_EQ(llmrouter_stream_open(t.get(), LLMROUTER_FORMAT_OPENAI, body.data(), body.size(), &s, nullptr),
            LLMROUTER_OK);
  StreamPtr stream(s);
  const char* data = nullptr;
  size_t len = 0;
  EXPECT_EQ(llmrouter_stream_next(s, 0, &data, &len, nullptr), LLMROUTER_STREAM_TIMEOUT);
  EXPECT_EQ(llmrouter_stream_next(s, 20, &data, &len, nullptr), LLMROUTER_STREAM_TIMEOUT);
  EXPECT_EQ(llmrouter_stream_next(s, -1, &data, &len, nullptr), LLMROUTER_OK);  // waits as long as it takes
  EXPECT_GT(len, 0u);
}

TEST_F(CApiTest, FreeingAPullStreamCancelsItPromptly) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  llmrouter_stream* s = nullptr;
  const std::string body = chat("drip", true);  // 2 s of events
  ASSERT_EQ(llmrouter_stream_open(t.get(), LLMROUTER_FORMAT_OPENAI, body.data(), body.size(), &s, nullptr),
            LLMROUTER_OK);
  const char* data = nullptr;
  size_t len = 0;
  ASSERT_EQ(llmrouter_stream_next(s, 5000, &data, &len, nullptr), LLMROUTER_OK);
  const auto start = Clock::now();
  llmrouter_stream_free(s);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));
}

TEST_F(CApiTest, AStreamOutlivesItsRouter) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  llmrouter_stream* s = nullptr;
  const std::string body = chat("latency-100", true);
  ASSERT_EQ(llmrouter_stream_open(t.get(), LLMROUTER_FORMAT_OPENAI, body.data(), body.size(), &s, nullptr),
            LLMROUTER_OK);
  StreamPtr stream(s);
  t.reset();  // llmrouter_router_free while the request runs
  std::string all;
  const char* data = nullptr;
  size_t len = 0;
  llmrouter_status st;
  while ((st = llmrouter_stream_next(s, 5000, &data, &len, nullptr)) == LLMROUTER_OK) all.append(data, len);
  EXPECT_EQ(st, LLMROUTER_STREAM_END);
  EXPECT_NE(all.find("data: [DONE]"), std::string::npos) << all;
}

TEST_F(CApiTest, OneRouterServesConcurrentRequests) {
  CApiTester t(mock_config());
  ASSERT_TRUE(t.ok()) << t.error();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 3; ++n) {
        const bool pull = (i + n) % 2 == 0;
        Reply r = pull ? t.pull(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", true))
                       : t.complete(LLMROUTER_FORMAT_OPENAI, chat("gpt-4.1", true));
        const bool ok = r.status == (pull ? LLMROUTER_STREAM_END : LLMROUTER_OK) &&
                        r.text().find("data: [DONE]") != std::string::npos;
        if (!ok) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

struct LogCapture {
  std::mutex mu;
  std::vector<std::pair<llmrouter_log_level, std::string>> messages;
};

TEST(CApiLogTest, TheLogCallbackReceivesTheLibrarysMessages) {
  LogCapture capture;
  llmrouter_log_set(
      [](llmrouter_log_level level, const char* message, size_t len, void* user_data) {
        auto* c = static_cast<LogCapture*>(user_data);
        EXPECT_EQ(std::strlen(message), len);
        std::lock_guard lock(c->mu);
        c->messages.emplace_back(level, std::string(message, len));
      },
      &capture);
  const std::string toml = "[[providers]]\nname = \"keyed\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
                           "api_key_env = \"LLMROUTER_CAPI_TEST_UNSET_KEY\"\n"
                           "[[providers]]\nname = \"open\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n";
  CApiTester t(toml);
  llmrouter_log_set(nullptr, nullptr);
  ASSERT_TRUE(t.ok()) << t.error();
  std::lock_guard lock(capture.mu);
  ASSERT_FALSE(capture.messages.empty());
  EXPECT_EQ(capture.messages[0].first, LLMROUTER_LOG_LEVEL_WARN);
  EXPECT_NE(capture.messages[0].second.find("LLMROUTER_CAPI_TEST_UNSET_KEY"), std::string::npos)
      << capture.messages[0].second;
}

}  // namespace
