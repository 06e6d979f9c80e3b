// SPDX-License-Identifier: MIT
#include "chat_client.h"

#include <fstream>
#include <mutex>
#include <sstream>

#include <gtest/gtest.h>

#include "support/fakes.h"

namespace llmrouter::console {
namespace {

using testing::FakeTransport;

class Updates {
 public:
  ChatSink sink() {
    return [this](ChatUpdate u) {
      std::lock_guard<std::mutex> lock(mu_);
      all_.push_back(std::move(u));
    };
  }
  std::vector<ChatUpdate> all() {
    std::lock_guard<std::mutex> lock(mu_);
    return all_;
  }
  std::string text() {
    std::string out;
    for (const ChatUpdate& u : all()) {
      if (const auto* t = std::get_if<ReplyText>(&u.body)) out += t->text;
    }
    return out;
  }
  template <class T>
  const T* last_of() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = all_.rbegin(); it != all_.rend(); ++it) {
      if (const auto* v = std::get_if<T>(&it->body)) return v;
    }
    return nullptr;
  }

 private:
  std::mutex mu_;
  std::vector<ChatUpdate> all_;
};

std::string fixture(const std::string& name) {
  std::ifstream in(LLMROUTER_SOURCE_DIR "/tests/data/formats/upstream/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ChatOptions options() {
  ChatOptions o;
  o.base_url = "http://router:8090";
  o.api_key = "k";
  return o;
}

TEST(ChatClientTest, StreamsTextAndToolCallsFromTheRoutersOpenAIStream) {
  FakeTransport t;
  Updates u;
  {
    ChatClient chat(t, options(), u.sink());
    const uint64_t serial = chat.send(R"({"model":"m","stream":true,"messages":[]})");
    ASSERT_TRUE(t.wait_started(1));
    const HttpRequest req = t.request(0);
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.url, "http://router:8090/v1/chat/completions");
    EXPECT_EQ(req.body, R"({"model":"m","stream":true,"messages":[]})");
    t.headers(0, 200, {{"content-type", "text/event-stream"}, {"x-router-provider", "mock-openai"},
                       {"x-router-model", "gpt-4o"}, {"x-router-request-tags", "code, vision"}});
    const std::string body = fixture("openai_stream.sse");
    for (std::size_t i = 0; i < body.size(); i += 3) t.data(0, body.substr(i, 3));  // characters split
    t.end(0);
    t.flush();
    const auto all = u.all();
    ASSERT_FALSE(all.empty());
    for (const ChatUpdate& x : all) EXPECT_EQ(x.serial, serial);
    const auto* started = std::get_if<ReplyStarted>(&all.front().body);
    ASSERT_NE(started, nullptr);
    EXPECT_EQ(started->provider, "mock-openai");
    EXPECT_EQ(started->tags, (std::vector<std::string>{"code", "vision"}));
    EXPECT_EQ(u.text(), "Il est 14h05 à Paris — 😀 let me check.");
    const auto* call = u.last_of<ReplyToolCall>();
    ASSERT_NE(call, nullptr);
    EXPECT_EQ(call->name, "get_time");
    const auto* done = std::get_if<ReplyDone>(&all.back().body);
    ASSERT_NE(done, nullptr);
    EXPECT_EQ(done->stop_reason, "tool_use");
    EXPECT_EQ(done->output_tokens, 41u);
  }
}

TEST(ChatClientTest, AnHttpErrorEndsWithTheServersMessage) {
  FakeTransport t;
  Updates u;
  ChatClient chat(t, options(), u.sink());
  chat.send("{}");
  ASSERT_TRUE(t.wait_started(1));
  t.headers(0, 401, {{"content-type", "application/json"}});
  t.data(0, R"({"error":{"message":"invalid or missing API key: send it as 'Authorization: Bearer KEY'","type":"authentication_error"}})");
  t.end(0);
  t.flush();
  const auto all = u.all();
  ASSERT_EQ(all.size(), 1u);
  const auto* failed = std::get_if<ReplyFailed>(&all[0].body);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->message, "HTTP 401: invalid or missing API key: send it as 'Authorization: Bearer KEY'");
}

TEST(ChatClientTest, AnInBandErrorOrATruncatedStreamFails) {
  FakeTransport t;
  Updates u;
  ChatClient chat(t, options(), u.sink());
  chat.send("{}");
  chat.send("{}");
  ASSERT_TRUE(t.wait_started(2));
  const std::vector<std::pair<std::string, std::string>> sse = {{"content-type", "text/event-stream"}};
  t.headers(0, 200, sse);
  t.data(0, "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n");
  t.data(0, "data: {\"error\":{\"message\":\"upstream went away\",\"type\":\"server_error\"}}\n\n");
  t.end(0);
  t.headers(1, 200, sse);
  t.data(1, "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"half\"}}]}\n\n");
  t.end(1);
  t.flush();
  std::vector<std::string> failures;
  for (const ChatUpdate& x : u.all()) {
    if (const auto* f = std::get_if<ReplyFailed>(&x.body)) failures.push_back(std::to_string(x.serial) + " " + f->message);
  }
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_NE(failures[0].find("1 "), std::string::npos);
  EXPECT_NE(failures[0].find("upstream went away"), std::string::npos);
  EXPECT_EQ(failures[1].substr(0, 2), "2 ");
  EXPECT_EQ(u.text(), "parhalf");
}

TEST(ChatClientTest, ConnectionFailuresAndCancellation) {
  FakeTransport t;
  Updates u;
  {
    ChatClient chat(t, options(), u.sink());
    chat.send("{}");
    const uint64_t second = chat.send("{}");
    ASSERT_TRUE(t.wait_started(2));
    t.end(0, fail(Errc::Upstream, "provider 'router': Failed to connect to router port 8090"));
    t.flush();
    chat.cancel(second);
    t.flush();
    chat.send("{}");  // still in flight when the client is destroyed
    ASSERT_TRUE(t.wait_started(3));
  }
  std::vector<std::string> failures;
  for (const ChatUpdate& x : u.all()) {
    if (const auto* f = std::get_if<ReplyFailed>(&x.body)) failures.push_back(f->message);
  }
  EXPECT_EQ(failures, (std::vector<std::string>{"Failed to connect to router port 8090", "cancelled", "cancelled"}));
}

TEST(ChatClientTest, ANonStreamedReplyIsAcceptedToo) {
  FakeTransport t;
  Updates u;
  ChatClient chat(t, options(), u.sink());
  chat.send("{}");
  ASSERT_TRUE(t.wait_started(1));
  t.headers(0, 200, {{"content-type", "application/json"}});
  t.data(0, fixture("openai_response.json"));
  t.end(0);
  t.flush();
  EXPECT_FALSE(u.text().empty());
  EXPECT_NE(u.last_of<ReplyDone>(), nullptr);
}

}  // namespace
}  // namespace llmrouter::console
