// SPDX-License-Identifier: MIT
// The mock upstream's own contract, as the discovery tests and llmrouter-mock rely on it:
// Ollama's /api/tags and /api/show shapes, its options, and its request bookkeeping.
#include "support/mock_upstream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "json/json.h"
#include "llmrouter/transport.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace json = detail::json;

// One whole exchange over the transport.
class Fetch final : public TransferObserver {
 public:
  void on_headers(int s, const std::vector<std::pair<std::string, std::string>>&) override {
    std::lock_guard lock(mu_);
    status_ = s;
  }
  bool on_data(std::string_view bytes) override {
    std::lock_guard lock(mu_);
    body_ += bytes;
    return true;
  }
  void on_complete(Result<void> r) override {
    std::lock_guard lock(mu_);
    ok_ = r.has_value();
    done_ = true;
    cv_.notify_all();
  }
  // Waits (bounded) for the end; returns {status, body}, status -1 on a transport error.
  std::pair<int, std::string> wait() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return done_; })) return {-2, {}};
    return {ok_ ? status_ : -1, body_};
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int status_ = 0;
  std::string body_;
  bool ok_ = false;
  bool done_ = false;
};

// A GET or POST to the mock with a bearer token; {status, body}.
std::pair<int, std::string> fetch(Transport& transport, const testing::MockUpstream& mock, std::string method,
                                  std::string path, std::string body = {}) {
  HttpRequest req;
  req.method = std::move(method);
  req.url = mock.base_url() + path;
  req.body = std::move(body);
  req.provider = "mock";
  req.headers.emplace_back("authorization", "Bearer sesame");
  auto f = std::make_shared<Fetch>();
  transport.start(std::move(req), f);
  return f->wait();
}

// Each test makes its transport after its mock, so the transport (and its keep-alive
// connections) goes first and the mock stops without waiting for idle connections.
TEST(MockUpstreamTest, TagsListTheDefaultModelsInOllamasShape) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  auto [status, body] = fetch(*transport, mock, "GET", "/api/tags");
  ASSERT_EQ(status, 200) << body;
  auto doc = json::parse(body);
  ASSERT_TRUE(doc) << body;
  std::vector<std::string> names;
  for (json::Element m : json::array_of(*json::field(json::object_of(*doc), "models"))) {
    const json::Object o = json::object_of(m);
    names.push_back(json::string_or_empty(o, "name"));
    EXPECT_EQ(json::string_or_empty(o, "model"), names.back());
    EXPECT_EQ(json::string_or_empty(o, "digest").size(), 64u);
    EXPECT_FALSE(json::string_or_empty(o, "modified_at").empty());
    EXPECT_TRUE(json::count(o, "size"));
    auto details = json::field(o, "details");
    ASSERT_TRUE(details && details->is_object());
    EXPECT_FALSE(json::string_or_empty(json::object_of(*details), "family").empty());
  }
  EXPECT_THAT(names, ElementsAre("qwen2.5vl:7b", "gemma2:2b"));
  EXPECT_EQ(mock.requests("/api/tags"), 1);
  EXPECT_EQ(mock.requests("/api/show"), 0);
  EXPECT_EQ(mock.last_header("/api/tags", "Authorization"), "Bearer sesame");
}

TEST(MockUpstreamTest, ShowDescribesCapabilitiesAndContextLength) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  for (const char* body : {R"({"model":"qwen2.5vl:7b"})", R"({"name": "qwen2.5vl:7b"})"}) {
    auto [status, reply] = fetch(*transport, mock, "POST", "/api/show", body);
    ASSERT_EQ(status, 200) << reply;
    auto doc = json::parse(reply);
    ASSERT_TRUE(doc) << reply;
    const json::Object o = json::object_of(*doc);
    std::vector<std::string> caps;
    for (json::Element c : json::array_of(*json::field(o, "capabilities"))) caps.emplace_back(c.get_string().value_unsafe());
    EXPECT_THAT(caps, ElementsAre("completion", "tools", "vision"));
    const json::Object info = json::object_of(*json::field(o, "model_info"));
    EXPECT_EQ(json::string_or_empty(info, "general.architecture"), "qwen25vl");
    EXPECT_EQ(json::count(info, "qwen25vl.context_length"), 128000u);
  }
  EXPECT_EQ(mock.requests("/api/show"), 2);
  auto [status, reply] = fetch(*transport, mock, "POST", "/api/show", R"({"model":"nope"})");
  EXPECT_EQ(status, 404);
  EXPECT_THAT(reply, HasSubstr("model 'nope' not found"));
}

TEST(MockUpstreamTest, OptionsConfigureTheModelsAndFailures) {
  testing::MockUpstream::Options options;
  options.models = {testing::MockModel{"solo:1b", {"completion", "tools"}, 0, "llama", true}};
  options.tags_fail = true;
  testing::MockUpstream mock(options);
  auto transport = make_curl_transport();
  EXPECT_EQ(fetch(*transport, mock, "GET", "/api/tags").first, 500);
  mock.set_tags_fail(false);
  auto [status, body] = fetch(*transport, mock, "GET", "/api/tags");
  EXPECT_EQ(status, 200);
  EXPECT_THAT(body, HasSubstr(R"("name":"solo:1b")"));
  EXPECT_EQ(fetch(*transport, mock, "POST", "/api/show", R"({"model":"solo:1b"})").first, 500);  // show_fails
  mock.set_models({testing::MockModel{"other:2b"}});
  EXPECT_THAT(fetch(*transport, mock, "GET", "/api/tags").second, HasSubstr(R"("name":"other:2b")"));
  EXPECT_EQ(mock.requests("/api/tags"), 3);
  EXPECT_EQ(mock.requests(), 4);
}

// The names /api/ps lists, checking each entry's shape on the way.
std::vector<std::string> ps_names(const std::string& body) {
  std::vector<std::string> names;
  auto doc = json::parse(body);
  EXPECT_TRUE(doc) << body;
  if (!doc) return names;
  for (json::Element m : json::array_of(*json::field(json::object_of(*doc), "models"))) {
    const json::Object o = json::object_of(m);
    names.push_back(json::string_or_empty(o, "name"));
    EXPECT_EQ(json::string_or_empty(o, "model"), names.back());
    EXPECT_EQ(json::string_or_empty(o, "digest").size(), 64u);
    EXPECT_FALSE(json::string_or_empty(o, "expires_at").empty());
    EXPECT_TRUE(json::count(o, "size_vram"));
  }
  return names;
}

TEST(MockUpstreamTest, PsListsTheLoadedModels) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  auto [status, body] = fetch(*transport, mock, "GET", "/api/ps");
  ASSERT_EQ(status, 200) << body;
  EXPECT_THAT(ps_names(body), ElementsAre("qwen2.5vl:7b"));  // by default, the first model
  mock.set_loaded(std::vector<std::string>{"gemma2:2b", "qwen2.5vl:7b", "absent:1b"});
  EXPECT_THAT(ps_names(fetch(*transport, mock, "GET", "/api/ps").second),
              ElementsAre("qwen2.5vl:7b", "gemma2:2b"));
  mock.set_loaded(std::vector<std::string>{});
  EXPECT_EQ(fetch(*transport, mock, "GET", "/api/ps").second, R"({"models":[]})");
  mock.set_ps_fail(true);
  EXPECT_EQ(fetch(*transport, mock, "GET", "/api/ps").first, 500);
  EXPECT_EQ(mock.requests("/api/ps"), 4);
}

TEST(MockUpstreamTest, OptionsNameTheLoadedModels) {
  testing::MockUpstream::Options options;
  options.loaded = std::vector<std::string>{"gemma2:2b"};
  testing::MockUpstream mock(options);
  auto transport = make_curl_transport();
  EXPECT_THAT(ps_names(fetch(*transport, mock, "GET", "/api/ps").second), ElementsAre("gemma2:2b"));
  mock.set_loaded(std::nullopt);  // the default again: the first model
  EXPECT_THAT(ps_names(fetch(*transport, mock, "GET", "/api/ps").second),
              ElementsAre("qwen2.5vl:7b"));
  mock.set_models({testing::MockModel{"other:2b"}});
  EXPECT_THAT(ps_names(fetch(*transport, mock, "GET", "/api/ps").second), ElementsAre("other:2b"));
}

TEST(MockUpstreamTest, TheLastRequestBodyOfEachPathCanBeReadBack) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  EXPECT_EQ(fetch(*transport, mock, "GET", "/mock/last-request?path=/api/chat").first, 404);
  const std::string first = R"({"model":"m","messages":[{"role":"user","content":"one"}]})";
  const std::string second = R"({"model":"m","messages":[{"role":"user","content":"two"}]})";
  ASSERT_EQ(fetch(*transport, mock, "POST", "/api/chat", first).first, 200);
  ASSERT_EQ(fetch(*transport, mock, "POST", "/v1/messages", second).first, 200);
  EXPECT_EQ(mock.last_body("/api/chat"), first);
  EXPECT_EQ(mock.last_body("/v1/messages"), second);
  EXPECT_EQ(mock.last_body("/v1/chat/completions"), "");
  auto [status, body] = fetch(*transport, mock, "GET", "/mock/last-request?path=/api/chat");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, first);
  // Reading it back is not itself recorded.
  EXPECT_EQ(fetch(*transport, mock, "GET", "/mock/last-request?path=/v1/messages").second, second);
}

TEST(MockUpstreamTest, CountTokensAnswersAFixedCount) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  auto [status, body] = fetch(*transport, mock, "POST", "/v1/messages/count_tokens",
                              R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, R"({"input_tokens":42})");
}

// The number of non-overlapping occurrences of `needle` in `text`.
std::size_t occurrences(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

TEST(MockUpstreamTest, ChunksModelStreamsThatManyEventsInEachFormat) {
  testing::MockUpstream mock;
  auto transport = make_curl_transport();
  const std::string body = R"({"model":"chunks-20","stream":true,"messages":[{"role":"user","content":"hi"}]})";

  auto [status, openai] = fetch(*transport, mock, "POST", "/v1/chat/completions", body);
  ASSERT_EQ(status, 200) << openai;
  EXPECT_EQ(occurrences(openai, "data: "), 22u);  // 20 text events, the finish event, [DONE]
  EXPECT_EQ(occurrences(openai, R"("delta":{"content":")"), 19u);
  EXPECT_THAT(openai, HasSubstr(R"("delta":{"role":"assistant","content":"tok0 "})"));
  EXPECT_THAT(openai, HasSubstr(R"("finish_reason":"stop")"));
  EXPECT_TRUE(openai.ends_with("data: [DONE]\n\n"));

  auto [anthropic_status, anthropic] = fetch(*transport, mock, "POST", "/v1/messages", body);
  ASSERT_EQ(anthropic_status, 200) << anthropic;
  EXPECT_EQ(occurrences(anthropic, "event: content_block_delta"), 20u);
  EXPECT_THAT(anthropic, HasSubstr(R"("text":"tok19 ")"));
  EXPECT_TRUE(anthropic.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));

  auto [ollama_status, ollama] = fetch(*transport, mock, "POST", "/api/chat", body);
  ASSERT_EQ(ollama_status, 200) << ollama;
  EXPECT_EQ(occurrences(ollama, "\n"), 21u);
  EXPECT_EQ(occurrences(ollama, R"("done":true)"), 1u);

  // Not streamed: the recorded reply; a malformed count is not a chunks model.
  auto [whole_status, whole] = fetch(*transport, mock, "POST", "/v1/chat/completions",
                                     R"({"model":"chunks-20","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(whole_status, 200);
  EXPECT_THAT(whole, HasSubstr("Checking both cities."));
  auto [other_status, other] = fetch(*transport, mock, "POST", "/v1/chat/completions",
                                     R"({"model":"chunks-x","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(other_status, 200);
  EXPECT_EQ(occurrences(other, "tok0 "), 0u);

  // Combined with a latency: waits, then streams the events.
  const auto start = std::chrono::steady_clock::now();
  auto [slow_status, slow] = fetch(*transport, mock, "POST", "/v1/chat/completions",
                                   R"({"model":"latency-200+chunks-3","stream":true,"messages":[]})");
  EXPECT_EQ(slow_status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  EXPECT_EQ(occurrences(slow, "data: "), 5u);
}

TEST(MockUpstreamTest, AFixedPortThatIsTakenIsAnError) {
  testing::MockUpstream first;
  testing::MockUpstream::Options options;
  options.port = first.port();
  EXPECT_THROW(testing::MockUpstream second(options), std::runtime_error);
}

}  // namespace
}  // namespace llmrouter
