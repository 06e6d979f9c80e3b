// SPDX-License-Identifier: MIT
// The HTTP provider over the curl transport, against the local mock upstream.
#include "llmrouter/http_provider.h"

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "llmrouter/formats.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

class Collect final : public EventSink {
 public:
  bool on_event(const StreamEvent& e) override {
    events.push_back(e);
    if (auto r = assembler.add(e); !r) malformed = r.error().message;
    return keep_going;
  }
  std::vector<StreamEvent> events;
  ResponseAssembler assembler;
  std::string malformed;
  bool keep_going = true;
};

class HttpProviderTest : public ::testing::Test {
 protected:
  ProviderConfig provider(WireFormat format) {
    ProviderConfig p;
    p.name = "mock";
    p.format = format;
    p.base_url = mock.base_url();
    if (format == WireFormat::OpenAI || format == WireFormat::Responses) p.base_url += "/v1";
    return p;
  }
  CanonicalRequest request(std::string model, bool stream) {
    CanonicalRequest r;
    r.model = std::move(model);
    r.stream = stream;
    r.max_tokens = 100;
    r.messages.push_back(Message{Role::User, {TextBlock{"hi", std::nullopt, {}}}, {}});
    return r;
  }
  Result<void> send(const ProviderConfig& p, const CanonicalRequest& req, Collect& sink) {
    auto provider = make_http_provider(p, transport);
    CancelFlag cancel{false};
    return provider->send(req, sink, cancel);
  }

  testing::MockUpstream mock;
  std::shared_ptr<Transport> transport = make_curl_transport();
};

TEST_F(HttpProviderTest, EveryFormatStreamedAndNot) {
  const struct {
    WireFormat format;
    const char* streamed;
    const char* whole;
  } cases[] = {
      {WireFormat::OpenAI, "Il est 14h05 à Paris — 😀 let me check.", "Checking both cities."},
      {WireFormat::Anthropic, "Je vérifie les deux villes ✓", "Checking both cities."},
      {WireFormat::Ollama, "Voilà l'heure — 🕑", "Checking both cities."},
  };
  for (const auto& c : cases) {
    for (bool stream : {true, false}) {
      Collect sink;
      Result<void> r = send(provider(c.format), request("m", stream), sink);
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(sink.malformed, "");
      auto resp = sink.assembler.finish();
      ASSERT_TRUE(resp) << resp.error().message;
      EXPECT_EQ(text_of(*resp), stream ? c.streamed : c.whole);
      EXPECT_EQ(tool_calls(*resp).size(), 2u);
      EXPECT_EQ(resp->stop_reason, StopReason::ToolUse);
    }
  }
}

TEST_F(HttpProviderTest, ResponsesFormatStreamedAndNotWithAndWithoutTools) {
  int sent = 0;
  for (bool tools : {false, true}) {
    for (bool stream : {true, false}) {
      SCOPED_TRACE(::testing::Message()
                   << (tools ? "tools" : "no tools") << (stream ? " streamed" : " whole"));
      CanonicalRequest req = request("m", stream);
      if (tools) {
        Tool t;
        t.name = "get_time";
        t.input_schema.text = R"({"type":"object"})";
        req.tools.push_back(std::move(t));
      }
      Collect sink;
      Result<void> r = send(provider(WireFormat::Responses), req, sink);
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(sink.malformed, "");
      auto resp = sink.assembler.finish();
      ASSERT_TRUE(resp) << resp.error().message;
      EXPECT_EQ(text_of(*resp), "Il est 14h05 à Paris — 😀 let me check.");
      EXPECT_EQ(tool_calls(*resp).size(), tools ? 2u : 0u);
      EXPECT_EQ(resp->stop_reason, tools ? StopReason::ToolUse : StopReason::EndTurn);
      EXPECT_EQ(resp->usage.input_tokens, tools ? 812u : 5u);
      EXPECT_EQ(mock.requests("/v1/responses"), ++sent);
    }
  }
  EXPECT_THAT(mock.last_body("/v1/responses"),
              HasSubstr(R"("input":[{"type":"message","role":"user")"));

  Collect limited;
  Result<void> r = send(provider(WireFormat::Responses), request("status-429", true), limited);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status(), 429);
  EXPECT_EQ(r.error().retry_after, "7");
  for (const char* model : {"garbage", "disconnect"}) {
    Collect sink;
    ASSERT_TRUE(send(provider(WireFormat::Responses), request(model, true), sink)) << model;
    ASSERT_FALSE(sink.events.empty()) << model;
    EXPECT_TRUE(std::holds_alternative<StreamError>(sink.events.back())) << model;
  }
  Collect chunks;
  ASSERT_TRUE(send(provider(WireFormat::Responses), request("chunks-20", true), chunks));
  auto resp = chunks.assembler.finish();
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_THAT(text_of(*resp), ::testing::StartsWith("tok0 tok1 "));
}

TEST_F(HttpProviderTest, ConnectionsAreReused) {
  for (int i = 0; i < 10; ++i) {
    Collect sink;
    ASSERT_TRUE(send(provider(WireFormat::OpenAI), request("m", i % 2 == 0), sink));
  }
  EXPECT_EQ(mock.requests(), 10);
  EXPECT_LE(transport->connections_opened(), 2u);
}

TEST_F(HttpProviderTest, ManyConcurrentStreamsThroughOneTransportThread) {
  constexpr int kStreams = 200;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::mutex errors_mu;
  std::map<std::string, int> errors;  // message -> count, so a failure says why
  ProviderConfig config = provider(WireFormat::Anthropic);
  config.first_byte_timeout = std::chrono::seconds(20);  // a lost stream fails instead of hanging
  auto p = make_http_provider(config, transport);
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&] {
      Collect sink;
      CancelFlag cancel{false};
      Result<void> r = p->send(request("m", true), sink, cancel);
      Result<Response> resp = r ? sink.assembler.finish() : Result<Response>(fail(r.error()));
      if (resp) {
        ok.fetch_add(1);
      } else {
        std::lock_guard<std::mutex> lock(errors_mu);
        ++errors[resp.error().message];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::string why;
  for (const auto& [message, count] : errors) why += std::to_string(count) + "x " + message + "\n";
  EXPECT_EQ(ok.load(), kStreams) << why;
}

TEST_F(HttpProviderTest, UpstreamErrorsKeepTheirMeaning) {
  Collect sink;
  Result<void> r = send(provider(WireFormat::OpenAI), request("status-429", false), sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status(), 429);
  EXPECT_EQ(r.error().retry_after, "7");
  EXPECT_EQ(r.error().message, "provider 'mock' answered 429: Rate limit reached");
  EXPECT_TRUE(should_fail_over(r.error()));

  Result<void> r5 = send(provider(WireFormat::Anthropic), request("status-500", true), sink);
  ASSERT_FALSE(r5);
  EXPECT_EQ(r5.error().status(), 502);
  EXPECT_THAT(r5.error().message, HasSubstr("answered 500: upstream exploded"));
  EXPECT_TRUE(sink.events.empty());
}

TEST_F(HttpProviderTest, ConnectionRefusedNamesTheProvider) {
  ProviderConfig p = provider(WireFormat::OpenAI);
  p.base_url = "http://127.0.0.1:1/v1";
  Collect sink;
  Result<void> r = send(p, request("m", false), sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Upstream);
  EXPECT_EQ(r.error().status(), 502);
  EXPECT_THAT(r.error().message, HasSubstr("provider 'mock':"));
}

TEST_F(HttpProviderTest, FirstByteTimeout) {
  ProviderConfig p = provider(WireFormat::OpenAI);
  p.first_byte_timeout = std::chrono::milliseconds(300);
  Collect sink;
  const auto start = Clock::now();
  Result<void> r = send(p, request("stall", true), sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Timeout);
  EXPECT_EQ(r.error().status(), 504);
  EXPECT_EQ(r.error().message, "provider 'mock': no response within the first-byte timeout of 300 ms");
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1900));  // the stall lasts 2 s
}

TEST_F(HttpProviderTest, CancellationFromAnotherThreadEndsTheTransferPromptly) {
  // A sink that counts events for the cancelling thread.
  class Counting final : public EventSink {
   public:
    bool on_event(const StreamEvent&) override {
      count.fetch_add(1);
      return true;
    }
    std::atomic<int> count{0};
  };
  auto p = make_http_provider(provider(WireFormat::OpenAI), transport);
  CancelFlag cancel{false};
  Counting sink;
  Clock::time_point cancelled_at{};
  std::thread canceller([&] {
    // Cancel once the stream is flowing (bounded wait: the drip lasts 2 s).
    testing::wait_until([&] { return sink.count.load() > 0; });
    cancelled_at = Clock::now();
    cancel.store(true);
  });
  Result<void> r = p->send(request("drip", true), sink, cancel);
  const auto ended_at = Clock::now();
  canceller.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Cancelled);
  EXPECT_GT(sink.count.load(), 0);
  EXPECT_LT(ended_at - cancelled_at, std::chrono::milliseconds(1000));  // the drip would go on ~2 s
}

TEST_F(HttpProviderTest, GarbageAndDisconnectMidStreamGoInBand) {
  for (const char* model : {"garbage", "disconnect"}) {
    Collect sink;
    Result<void> r = send(provider(WireFormat::Anthropic), request(model, true), sink);
    ASSERT_TRUE(r) << model << ": " << r.error().message;  // bytes were delivered: the error is in-band
    ASSERT_FALSE(sink.events.empty()) << model;
    ASSERT_TRUE(std::holds_alternative<StreamError>(sink.events.back())) << model;
    EXPECT_EQ(std::get<StreamError>(sink.events.back()).error.provider, "mock") << model;
  }
}

TEST_F(HttpProviderTest, LatencyModelWaitsThenAnswersNormally) {
  for (bool stream : {true, false}) {
    Collect sink;
    const auto start = Clock::now();
    Result<void> r = send(provider(WireFormat::Ollama), request("latency-150", stream), sink);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(150));  // a lower bound only
    auto resp = sink.assembler.finish();
    ASSERT_TRUE(resp) << resp.error().message;
    EXPECT_EQ(text_of(*resp), stream ? "Voilà l'heure — 🕑" : "Checking both cities.");
  }
}

// True when `bytes` is entirely valid UTF-8.
bool valid_utf8(std::string_view bytes) { return simdjson::validate_utf8(bytes.data(), bytes.size()); }

// Invalid UTF-8 from an upstream is repaired, not fatal: each invalid byte becomes U+FFFD,
// the rest of the reply survives, and whatever the router writes for the client (in every
// client format, streamed or not) is valid UTF-8. A stray byte from a model costs the user
// one character instead of the whole answer, and a stream that has begun could not fail
// over anyway.
TEST_F(HttpProviderTest, InvalidUtf8FromTheUpstreamBecomesReplacementCharacters) {
  const std::string expected = "ok \xEF\xBF\xBD\xEF\xBF\xBD end";  // "\xff\xfe" -> U+FFFD U+FFFD
  for (WireFormat format :
       {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Ollama, WireFormat::Responses}) {
    for (bool stream : {true, false}) {
      SCOPED_TRACE(::testing::Message()
                   << wire_format_name(format) << (stream ? " streamed" : " whole"));
      Collect sink;
      Result<void> r = send(provider(format), request("bad-utf8", stream), sink);
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(sink.malformed, "");
      ASSERT_FALSE(sink.events.empty());
      EXPECT_FALSE(std::holds_alternative<StreamError>(sink.events.back()));
      auto resp = sink.assembler.finish();
      ASSERT_TRUE(resp) << resp.error().message;
      EXPECT_EQ(text_of(*resp), expected);
      for (WireFormat client : {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Responses}) {
        const std::string body = encode_response(client, *resp);
        EXPECT_TRUE(valid_utf8(body)) << body;
        EXPECT_THAT(body, HasSubstr(expected));
        std::string streamed;
        auto encoder = make_stream_encoder(client);
        for (const StreamEvent& e : sink.events) encoder->encode(e, streamed);
        EXPECT_TRUE(valid_utf8(streamed)) << streamed;
      }
    }
  }
}

TEST(ChatUrlTest, AnthropicWithOrWithoutV1) {
  ProviderConfig p;
  p.format = WireFormat::Anthropic;
  p.base_url = "https://api.anthropic.com";
  EXPECT_EQ(chat_url(p), "https://api.anthropic.com/v1/messages");
  p.base_url = "https://api.anthropic.com/v1";
  EXPECT_EQ(chat_url(p), "https://api.anthropic.com/v1/messages");
  p.format = WireFormat::Ollama;
  p.base_url = "http://localhost:11434";
  EXPECT_EQ(chat_url(p), "http://localhost:11434/api/chat");
  p.format = WireFormat::OpenAI;
  p.base_url = "http://localhost:8080/v1";
  EXPECT_EQ(chat_url(p), "http://localhost:8080/v1/chat/completions");
  p.format = WireFormat::Responses;
  p.base_url = "https://api.openai.com/v1";
  EXPECT_EQ(chat_url(p), "https://api.openai.com/v1/responses");
}

}  // namespace
}  // namespace llmrouter
