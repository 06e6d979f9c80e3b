// SPDX-License-Identifier: MIT
// Failures contained, through llmrouter-server: a classifier, plugin hook, response
// classifier or provider that throws, at any stage, streamed or not, ends its request with
// a 500 in the client's format (or, once a stream has started, an in-band error), exactly
// one JSONL line and one `complete` event naming the error, and the server goes on serving.
// Run under ASan+UBSan in scripts/test, which also checks that no destroyed observer is used.
#include "server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "llmrouter/classifier.h"
#include "llmrouter/plugin.h"
#include "llmrouter/registry.h"
#include "support/config_helpers.h"
#include "support/mock_upstream.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Where the extensions below throw: a name per stage.
enum class Stage { Classifier, OnStart, PreRequest, PostResponse, OnEnd, ResponseClassifier, ProviderSend, ProviderStart };

const char* name_of(Stage s) {
  switch (s) {
    case Stage::Classifier: return "classifier";
    case Stage::OnStart: return "on_start";
    case Stage::PreRequest: return "pre_request";
    case Stage::PostResponse: return "post_response";
    case Stage::OnEnd: return "on_end";
    case Stage::ResponseClassifier: return "response_classifier";
    case Stage::ProviderSend: return "provider_send";
    case Stage::ProviderStart: return "provider_start";
  }
  return "?";
}

// Stages that run on the reply, after a stream has gone out whole.
bool after_the_reply(Stage s) { return s == Stage::PostResponse || s == Stage::OnEnd || s == Stage::ResponseClassifier; }

[[noreturn]] void explode(Stage s) { throw std::runtime_error(fmt::format("{} exploded", name_of(s))); }

class ThrowingClassifier final : public Classifier {
 public:
  void classify(const CanonicalRequest&, std::vector<std::string>&) const override { explode(Stage::Classifier); }
};

class ThrowingResponseClassifier final : public ResponseClassifier {
 public:
  void classify(const CanonicalRequest&, const Response&, std::vector<std::string>&) const override {
    explode(Stage::ResponseClassifier);
  }
};

class ThrowingPlugin final : public Plugin {
 public:
  explicit ThrowingPlugin(Stage at) : at_(at) {}
  Result<Flow> on_start(CanonicalRequest&, RequestState&, const Value&) const override { return maybe(Stage::OnStart); }
  Result<Flow> pre_request(CanonicalRequest&, RequestState&, const Value&) const override {
    return maybe(Stage::PreRequest);
  }
  Result<Flow> post_response(const CanonicalRequest&, Response&, RequestState&, const Value&) const override {
    return maybe(Stage::PostResponse);
  }
  Result<Flow> on_end(const CanonicalRequest&, Response&, RequestState&, const Value&) const override {
    return maybe(Stage::OnEnd);
  }

 private:
  Result<Flow> maybe(Stage s) const {
    if (s == at_) explode(s);
    return Flow::Continue;
  }
  Stage at_;
};

// An in-process provider named "up" that throws from its blocking send or its start.
class ThrowingProvider final : public Provider {
 public:
  explicit ThrowingProvider(Stage at) : at_(at) {}
  std::string_view name() const override { return "up"; }
  Result<void> send(const CanonicalRequest&, const SendOptions&, EventSink&, const CancelFlag&) const override {
    explode(Stage::ProviderSend);
  }
  std::shared_ptr<ProviderExchange> start(const CanonicalRequest& req, const SendOptions& options,
                                          std::shared_ptr<ReplyObserver> observer) const override {
    if (at_ == Stage::ProviderStart) explode(Stage::ProviderStart);
    return Provider::start(req, options, std::move(observer));
  }

 private:
  Stage at_;
};

// The router with one extension that throws at `at`, its JSONL log on.
class Contained {
 public:
  explicit Contained(Stage at)
      : dir_(std::filesystem::temp_directory_path() /
             fmt::format("llmrouter-containment-{}-{}", ::getpid(), name_of(at))) {
    std::filesystem::remove_all(dir_);
    log_ = (dir_ / "requests.jsonl").string();
    server::ServerOptions o;
    o.getenv = [](const std::string&) { return std::optional<std::string>(); };
    std::string extension;
    std::string kind;  // of provider "up": the built-in HTTP one unless its stage is under test
    switch (at) {
      case Stage::Classifier:
        (void)o.registries.add_classifier("throwing", [](const ComponentConfig&, const Config&) {
          return Result<std::unique_ptr<Classifier>>(std::make_unique<ThrowingClassifier>());
        });
        extension = "[classifiers.throwing]\nenabled = true\n";
        break;
      case Stage::ResponseClassifier:
        (void)o.registries.add_response_classifier("throwing", [](const ComponentConfig&, const Config&) {
          return Result<std::unique_ptr<ResponseClassifier>>(std::make_unique<ThrowingResponseClassifier>());
        });
        extension = "[response_classifiers.throwing]\nenabled = true\n";
        break;
      case Stage::ProviderSend:
      case Stage::ProviderStart:
        (void)o.registries.add_provider("throwing", [at](const ProviderConfig&,
                                                         const ProviderContext&) {
          return Result<std::shared_ptr<const Provider>>(std::make_shared<ThrowingProvider>(at));
        });
        kind = "kind = \"throwing\"\n";
        break;
      default:
        (void)o.registries.add_plugin("throwing", [at](const ComponentConfig&, const Config&) {
          return Result<std::unique_ptr<Plugin>>(std::make_unique<ThrowingPlugin>(at));
        });
        extension = "[plugins.throwing]\nenabled = true\n";
    }
    router_.emplace(testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
[logging]
enabled = true
path = "{}"
[[providers]]
name = "up"
format = "openai"
base_url = "{}/v1"
{}[[routers]]
type = "fallback"
providers = ["up"]
{}
)",
                                                     log_, mock_.base_url(), kind, extension)),
                    std::move(o));
  }
  ~Contained() {
    router_.reset();
    std::filesystem::remove_all(dir_);
  }
  httplib::Client client() const { return router_->client(); }
  std::vector<std::string> log_lines() {
    router_->stop();
    std::vector<std::string> lines;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  testing::MockUpstream mock_;
  std::filesystem::path dir_;
  std::string log_;
  std::optional<testing::RunningServer> router_;
};

std::string body(std::string_view path, bool stream) {
  if (path == "/v1/messages") {
    return fmt::format(R"({{"model":"m","max_tokens":50,"stream":{},"messages":[{{"role":"user","content":"hi"}}]}})", stream);
  }
  return fmt::format(R"({{"model":"m","stream":{},"messages":[{{"role":"user","content":"hi"}}]}})", stream);
}

class ContainmentTest : public ::testing::TestWithParam<Stage> {};

TEST_P(ContainmentTest, AThrowingStageIsA500WithOneLogLineAndTheServerGoesOn) {
  const Stage at = GetParam();
  const std::string what = fmt::format("{} exploded", name_of(at));
  Contained router(at);
  auto cli = router.client();
  int requests = 0;
  for (const char* path : {"/v1/chat/completions", "/v1/messages"}) {
    for (bool stream : {false, true}) {
      auto r = cli.Post(path, body(path, stream), "application/json");
      ++requests;
      ASSERT_TRUE(r) << path << " stream=" << stream;
      const bool anthropic = std::string_view(path) == "/v1/messages";
      if (r->status == 200) {
        ASSERT_TRUE(stream) << path << ": a whole reply must not be 200 when a stage failed\n" << r->body;
        if (after_the_reply(at)) {
          // The stage runs once the stream is complete (streams are not held back): the
          // client has its whole reply; the failure is in the log line and the event.
          EXPECT_THAT(r->body, HasSubstr(anthropic ? "event: message_stop" : "data: [DONE]")) << r->body;
        } else {
          // The first bytes went out before the failure: the error comes in-band.
          EXPECT_THAT(r->body, HasSubstr(anthropic ? "event: error" : R"("error")")) << r->body;
          EXPECT_THAT(r->body, HasSubstr(what)) << r->body;
        }
      } else {
        EXPECT_EQ(r->status, 500) << path << " stream=" << stream << "\n" << r->body;
        EXPECT_THAT(r->body, StartsWith(anthropic ? R"({"type":"error")" : R"({"error":)")) << r->body;
        EXPECT_THAT(r->body, HasSubstr(what)) << r->body;
      }
    }
  }
  // Still serving.
  auto health = cli.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const auto lines = router.log_lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(requests));
  for (const std::string& line : lines) {
    EXPECT_THAT(line, StartsWith(R"({"type":"complete")"));
    EXPECT_THAT(line, HasSubstr(what)) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStage, ContainmentTest,
                         ::testing::Values(Stage::Classifier, Stage::OnStart, Stage::PreRequest, Stage::PostResponse,
                                           Stage::OnEnd, Stage::ResponseClassifier, Stage::ProviderSend,
                                           Stage::ProviderStart),
                         [](const ::testing::TestParamInfo<Stage>& p) {
                           std::string n = name_of(p.param);
                           std::erase(n, '_');
                           return n;
                         });

}  // namespace
}  // namespace llmrouter
