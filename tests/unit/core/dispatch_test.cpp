// SPDX-License-Identifier: MIT
// Pipeline::handle with fake providers: failover, events on every path, the log line.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/formats.h"
#include "llmrouter/pipeline.h"
#include "support/config_helpers.h"
#include "support/fakes.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using testing::ScriptedProvider;

class Collector final : public RequestObserver {
 public:
  void on_routed(const PreparedRequest& p) override {
    routed = p.decision ? p.decision->target.provider : "plugin";
  }
  bool on_event(const StreamEvent& e) override {
    events.push_back(e);
    return true;
  }
  bool on_raw(std::string_view bytes) override {
    raw += bytes;
    return true;
  }
  std::string routed;
  std::vector<StreamEvent> events;
  std::string raw;
};

constexpr std::string_view kConfig = R"(
[routing]
max_attempts = 3
[[providers]]
name = "first"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
cost_per_1m_tokens = 2.0
[[providers]]
name = "second"
format = "openai"
base_url = "http://127.0.0.1:2/v1"
cost_per_1m_tokens = 4.0
[[providers]]
name = "third"
format = "openai"
base_url = "http://127.0.0.1:3/v1"
cost_per_1m_tokens = 6.0
[[routers]]
type = "prefix"
model_prefix = "x/"
provider = "first"
rewrite_model = "real-x"
[[routers]]
type = "price"
)";

struct Fixture {
  explicit Fixture(std::map<std::string, ScriptedProvider::Reply> scripts,
                   std::string_view extra = {}, Registries regs = Registries::with_builtins()) {
    config = testing::config_from(std::string(kConfig) + std::string(extra));
    auto p = Pipeline::build(config, regs);
    EXPECT_TRUE(p) << p.error().message;
    pipeline = *p;
    for (auto& [name, script] : scripts) {
      script.raw = "raw reply bytes";  // relayed when the call is a pass-through
      providers.emplace(name, std::make_unique<ScriptedProvider>(name, script));
    }
    sub = pipeline->events()->subscribe(64);
  }
  Outcome handle(std::string_view body, WireFormat format = WireFormat::OpenAI, const Headers& headers = {}) {
    CancelFlag cancel{false};
    return pipeline->handle(format, body, headers,
                            [this](std::string_view name) -> const Provider* {
                              auto it = providers.find(std::string(name));
                              return it == providers.end() ? nullptr : it->second.get();
                            },
                            client, cancel);
  }
  std::vector<std::string> event_types() {
    std::vector<std::string> types;
    std::string e;
    while (sub->next(e, std::chrono::milliseconds(0))) {
      types.push_back(e.substr(9, e.find('"', 9) - 9));
      last_event = e;
    }
    return types;
  }
  Config config;
  std::shared_ptr<const Pipeline> pipeline;
  std::map<std::string, std::unique_ptr<ScriptedProvider>> providers;
  std::unique_ptr<Subscription> sub;
  Collector client;
  std::string last_event;
};

constexpr std::string_view kBody = R"({"model":"x/m","messages":[{"role":"user","content":"hi"}]})";

TEST(DispatchTest, SuccessDeliversEventsAndPublishesTheFourEvents) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  Outcome o = f.handle(kBody);
  ASSERT_FALSE(o.error) << o.error->message;
  ASSERT_TRUE(o.response);
  EXPECT_EQ(text_of(*o.response), "hello");
  EXPECT_EQ(f.providers["first"]->last().model, "real-x");
  EXPECT_EQ(f.client.routed, "first");
  EXPECT_EQ(f.client.events.size(), 5u);
  ASSERT_EQ(o.attempts.size(), 1u);
  EXPECT_TRUE(o.attempts[0].error.empty());
  EXPECT_DOUBLE_EQ(o.cost_usd, 15.0 / 1e6 * 2.0);
  EXPECT_THAT(f.event_types(), ElementsAre("start", "classified", "routed", "complete"));
  EXPECT_THAT(f.last_event, HasSubstr(R"("provider":"first","requested_model":"x/m","sent_model":"real-x")"));
  EXPECT_THAT(f.last_event, HasSubstr(R"("response":{"id":"id-first","model":"real-x","content":"hello","stop_reason":"end_turn","tags":[]})"));
  EXPECT_THAT(f.last_event, HasSubstr(R"("usage":{"input_tokens":10,"output_tokens":5,)"));
  EXPECT_THAT(f.last_event, HasSubstr(R"("error":null})"));
  EXPECT_EQ(f.pipeline->in_flight(), 0u);
}

TEST(DispatchTest, SameFormatPassesTheClientBodyThroughAndRelaysRawBytes) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  const Headers headers{{"openai-organization", "org-1"}};
  Outcome o = f.handle(R"({"model":"x/m","future_field":{"a":1},"messages":[{"role":"user","content":"hi"}]})",
                       WireFormat::OpenAI, headers);
  ASSERT_FALSE(o.error) << o.error->message;
  const SendOptions sent = f.providers["first"]->last().options;
  ASSERT_TRUE(sent.passthrough_body);
  EXPECT_EQ(*sent.passthrough_body,
            R"({"model":"real-x","future_field":{"a":1},"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(sent.headers, headers);
  EXPECT_TRUE(o.passthrough);
  EXPECT_EQ(f.client.raw, "raw reply bytes");
  EXPECT_EQ(text_of(*o.response), "hello");  // still assembled for logs and plugins
}

TEST(DispatchTest, OtherFormatsAreTranslatedNotPassedThrough) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  Outcome o = f.handle(R"({"model":"x/m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]})",
                       WireFormat::Anthropic);
  ASSERT_FALSE(o.error) << o.error->message;
  EXPECT_FALSE(f.providers["first"]->last().options.passthrough_body);
  EXPECT_FALSE(o.passthrough);
  EXPECT_TRUE(f.client.raw.empty());
}

TEST(DispatchTest, StartRoutesWithoutSendingAndADroppedCallStillCompletes) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  {
    auto call = f.pipeline->start(WireFormat::OpenAI, kBody);
    ASSERT_FALSE(call->error());
    ASSERT_TRUE(call->prepared() && call->prepared()->decision);
    EXPECT_EQ(call->prepared()->decision->target.provider, "first");
    EXPECT_EQ(f.pipeline->in_flight(), 1u);
    EXPECT_THAT(f.event_types(), ElementsAre("start", "classified", "routed"));
  }  // never run: the client went away
  EXPECT_EQ(f.providers["first"]->calls(), 0);
  EXPECT_THAT(f.event_types(), ElementsAre("complete"));
  EXPECT_THAT(f.last_event, HasSubstr("the client went away"));
  EXPECT_EQ(f.pipeline->in_flight(), 0u);

  auto bad = f.pipeline->start(WireFormat::OpenAI, "{");
  ASSERT_TRUE(bad->error());
  EXPECT_EQ(bad->error()->status(), 400);
  Outcome o = bad->run(nullptr, f.client, CancelFlag{false});
  EXPECT_EQ(o.error->status(), 400);
  EXPECT_THAT(f.event_types(), ElementsAre("start", "complete"));
}

TEST(DispatchTest, FailsOverOn5xxAnd429BeforeAnyByte) {
  Fixture f({{"first", ScriptedProvider::fails(Errc::Upstream, "overloaded", 503)},
             {"second", ScriptedProvider::fails(Errc::Upstream, "slow down", 429)},
             {"third", ScriptedProvider::answers()}});
  Outcome o = f.handle(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");  // price: first, second, third
  ASSERT_FALSE(o.error) << o.error->message;
  ASSERT_EQ(o.attempts.size(), 3u);
  EXPECT_EQ(o.attempts[0].error, "overloaded");
  EXPECT_EQ(o.attempts[1].error, "slow down");
  EXPECT_EQ(o.attempts[2].provider, "third");
  EXPECT_DOUBLE_EQ(o.cost_usd, 15.0 / 1e6 * 6.0);
}

TEST(DispatchTest, AttemptsAreCappedByMaxAttempts) {
  Fixture f({{"first", ScriptedProvider::fails(Errc::Timeout, "first byte timeout")},
             {"second", ScriptedProvider::fails(Errc::Upstream, "bad gateway", 502)},
             {"third", ScriptedProvider::answers()}});
  Config c = f.config;
  c.routing.max_attempts = 2;
  auto p = Pipeline::build(c, Registries::with_builtins());
  ASSERT_TRUE(p);
  CancelFlag cancel{false};
  Collector client;
  Outcome o = (*p)->handle(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", {},
                           [&](std::string_view n) -> const Provider* { return f.providers[std::string(n)].get(); },
                           client, cancel);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->message, "bad gateway");
  EXPECT_EQ(o.error->status(), 502);
  EXPECT_EQ(o.attempts.size(), 2u);
  EXPECT_EQ(f.providers["third"]->calls(), 0);
}

TEST(DispatchTest, ClientErrorsAreNotRetried) {
  Fixture f({{"first", ScriptedProvider::fails(Errc::Upstream, "bad request", 400)},
             {"second", ScriptedProvider::answers()}});
  Outcome o = f.handle(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->status(), 400);
  EXPECT_EQ(o.attempts.size(), 1u);
  EXPECT_EQ(f.providers["second"]->calls(), 0);
  EXPECT_THAT(f.event_types(), ElementsAre("start", "classified", "routed", "complete"));
  EXPECT_THAT(f.last_event, HasSubstr(R"("error":"bad request"})"));
}

TEST(DispatchTest, ErrorAfterTheFirstByteGoesInBandWithoutFailover) {
  Fixture f(
      {{"first", ScriptedProvider::breaks("partial", Error{Errc::Timeout, "idle timeout", 0, {}})},
       {"second", ScriptedProvider::answers()}});
  Outcome o = f.handle(kBody);
  ASSERT_TRUE(o.error);
  EXPECT_TRUE(o.delivered);
  EXPECT_EQ(f.providers["second"]->calls(), 0);
  ASSERT_TRUE(std::holds_alternative<StreamError>(f.client.events.back()));
  // Exactly one in-band error.
  EXPECT_EQ(std::count_if(f.client.events.begin(), f.client.events.end(),
                          [](const StreamEvent& e) { return std::holds_alternative<StreamError>(e); }),
            1);
}

TEST(DispatchTest, BadRequestAndNoRouteStillComplete) {
  Fixture f({});
  Outcome bad = f.handle("{not json");
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(bad.error->status(), 400);
  EXPECT_THAT(f.event_types(), ElementsAre("start", "complete"));

  Fixture g({});
  Config c = g.config;
  c.routers.clear();
  auto p = Pipeline::build(c, Registries::with_builtins());
  ASSERT_TRUE(p);
  auto sub = (*p)->events()->subscribe();
  CancelFlag cancel{false};
  Collector client;
  Outcome o = (*p)->handle(WireFormat::OpenAI, kBody, {}, nullptr, client, cancel);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, Errc::NoRoute);
  std::string e, last;
  int n = 0;
  while (sub->next(e, std::chrono::milliseconds(0))) {
    ++n;
    last = e;
  }
  EXPECT_EQ(n, 2);  // start, complete: no dashboard entry dangles
  EXPECT_THAT(last, HasSubstr(R"("error":"no route for model 'x/m': no rule matches it"})"));
  EXPECT_EQ((*p)->in_flight(), 0u);
}

TEST(DispatchTest, PluginAnswersWithoutAProvider) {
  Registries regs = Registries::with_builtins();
  ASSERT_TRUE(regs.add_plugin("cache", [](const ComponentConfig&, const Config&) -> Result<std::unique_ptr<Plugin>> {
    struct Cache final : Plugin {
      Result<Flow> on_start(CanonicalRequest&, RequestState& st, const Value&) const override {
        Response r;
        r.content.push_back(TextBlock{"cached", std::nullopt, {}});
        st.response = std::move(r);
        return Flow::Stop;
      }
    };
    return std::unique_ptr<Plugin>(std::make_unique<Cache>());
  }));
  Fixture f({{"first", ScriptedProvider::answers()}}, "[plugins.cache]\nenabled = true\n", regs);
  Outcome o = f.handle(kBody);
  ASSERT_FALSE(o.error);
  EXPECT_EQ(text_of(*o.response), "cached");
  EXPECT_EQ(f.providers["first"]->calls(), 0);
  EXPECT_EQ(f.client.routed, "plugin");
  EXPECT_THAT(f.event_types(), ElementsAre("start", "classified", "complete"));
  EXPECT_THAT(f.last_event, HasSubstr(R"("provider":"plugin","requested_model":"x/m","sent_model":"x/m")"));
  EXPECT_THAT(f.last_event, HasSubstr(R"("plugins":["cache"])"));
}

// The id a Responses client sees first in the stream (MessageStart), or "".
std::string started_id(const std::vector<StreamEvent>& events) {
  for (const StreamEvent& e : events) {
    if (const auto* s = std::get_if<MessageStart>(&e)) return s->id;
  }
  return {};
}

std::vector<std::string> texts_of(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages)
    out.push_back(std::string(role_name(m.role)) + ":" + text_of(m));
  return out;
}

TEST(ResponsesStateTest, ASecondTurnGetsTheFirstTurnsInputAndReplyPrepended) {
  Fixture f({{"first", ScriptedProvider::answers("hello")}});
  Outcome one =
      f.handle(R"({"model":"x/m","instructions":"be brief","input":"hi"})", WireFormat::Responses);
  ASSERT_FALSE(one.error) << one.error->message;
  const std::string id = one.response->id;
  EXPECT_EQ(id.rfind("resp_", 0), 0u) << id;
  EXPECT_EQ(started_id(f.client.events), id);  // the id streamed is the id kept
  EXPECT_THAT(texts_of(f.providers["first"]->last().request.messages), ElementsAre("user:hi"));

  f.client.events.clear();
  Outcome two = f.handle(R"({"model":"x/m","instructions":"now longer","previous_response_id":")" +
                             id + R"(","input":[{"role":"user","content":"more"}]})",
                         WireFormat::Responses);
  ASSERT_FALSE(two.error) << two.error->message;
  const ScriptedProvider::Call sent = f.providers["first"]->last();
  EXPECT_THAT(texts_of(sent.request.messages),
              ElementsAre("user:hi", "assistant:hello", "user:more"));
  EXPECT_EQ(system_text(sent.request),
            "now longer");  // the first turn's instructions are not carried over
  EXPECT_TRUE(sent.request.previous_response_id.empty());
  EXPECT_FALSE(sent.options.passthrough_body);
  EXPECT_NE(two.response->id, id);
  EXPECT_EQ(started_id(f.client.events), two.response->id);

  // The third turn sees both.
  Outcome three = f.handle(
      R"({"model":"x/m","previous_response_id":")" + two.response->id + R"(","input":"last"})",
      WireFormat::Responses);
  ASSERT_FALSE(three.error) << three.error->message;
  EXPECT_THAT(
      texts_of(f.providers["first"]->last().request.messages),
      ElementsAre("user:hi", "assistant:hello", "user:more", "assistant:hello", "user:last"));
}

TEST(ResponsesStateTest, AnUnknownIdIsA404InTheResponsesEnvelope) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  Outcome o = f.handle(R"({"model":"x/m","previous_response_id":"resp_x","input":"hi"})",
                       WireFormat::Responses);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->status(), 404);
  EXPECT_EQ(
      encode_error(WireFormat::Responses, *o.error),
      R"({"error":{"message":"Previous response with id 'resp_x' not found.","type":"invalid_request_error",)"
      R"("param":"previous_response_id","code":"previous_response_not_found"}})");
  EXPECT_EQ(f.providers["first"]->calls(), 0);
  EXPECT_THAT(f.event_types(), ElementsAre("start", "complete"));
}

TEST(ResponsesStateTest, StoreFalseIsNotKept) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  Outcome one = f.handle(R"({"model":"x/m","store":false,"input":"hi"})", WireFormat::Responses);
  ASSERT_FALSE(one.error) << one.error->message;
  EXPECT_EQ(one.response->id.rfind("resp_", 0), 0u);
  auto kept = f.pipeline->responses()->get(one.response->id);
  ASSERT_TRUE(kept);
  EXPECT_FALSE(*kept);
  Outcome two = f.handle(
      R"({"model":"x/m","previous_response_id":")" + one.response->id + R"(","input":"more"})",
      WireFormat::Responses);
  ASSERT_TRUE(two.error);
  EXPECT_EQ(two.error->status(), 404);
}

TEST(ResponsesStateTest, AStreamedTurnIsKeptUnderTheIdItStreamed) {
  Fixture f({{"first", ScriptedProvider::answers("streamed")}});
  Outcome one = f.handle(R"({"model":"x/m","stream":true,"input":"hi"})", WireFormat::Responses);
  ASSERT_FALSE(one.error) << one.error->message;
  const std::string id = started_id(f.client.events);
  EXPECT_EQ(id.rfind("resp_", 0), 0u) << id;
  EXPECT_EQ(one.response->id, id);
  Outcome two = f.handle(
      R"({"model":"x/m","stream":true,"previous_response_id":")" + id + R"(","input":"more"})",
      WireFormat::Responses);
  ASSERT_FALSE(two.error) << two.error->message;
  EXPECT_THAT(texts_of(f.providers["first"]->last().request.messages),
              ElementsAre("user:hi", "assistant:streamed", "user:more"));
}

TEST(ResponsesStateTest, OtherClientsAreNeitherRenamedNorKept) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  Outcome o = f.handle(kBody);
  ASSERT_FALSE(o.error) << o.error->message;
  EXPECT_EQ(o.response->id, "id-first");
  EXPECT_EQ(started_id(f.client.events), "id-first");
  auto kept = f.pipeline->responses()->get("id-first");
  ASSERT_TRUE(kept);
  EXPECT_FALSE(*kept);
}

TEST(ResponsesStateTest, AReloadKeepsTheConversations) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  Outcome one = f.handle(R"({"model":"x/m","input":"hi"})", WireFormat::Responses);
  ASSERT_FALSE(one.error) << one.error->message;
  auto reloaded =
      Pipeline::build(f.config, Registries::with_builtins(), nullptr, nullptr, f.pipeline.get());
  ASSERT_TRUE(reloaded) << reloaded.error().message;
  EXPECT_EQ((*reloaded)->responses(), f.pipeline->responses());
  f.pipeline = *reloaded;
  Outcome two = f.handle(
      R"({"model":"x/m","previous_response_id":")" + one.response->id + R"(","input":"more"})",
      WireFormat::Responses);
  ASSERT_FALSE(two.error) << two.error->message;
  EXPECT_THAT(texts_of(f.providers["first"]->last().request.messages),
              ElementsAre("user:hi", "assistant:hello", "user:more"));
}

TEST(ResponsesStateTest, AResponsesProviderHoldsTheStateItself) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  Config config = f.config;
  config.providers[0].format = WireFormat::Responses;
  auto p = Pipeline::build(config, Registries::with_builtins());
  ASSERT_TRUE(p) << p.error().message;
  f.pipeline = *p;
  Outcome o = f.handle(R"({"model":"x/m","previous_response_id":"resp_upstream","input":"hi"})",
                       WireFormat::Responses);
  ASSERT_FALSE(o.error) << o.error->message;
  const ScriptedProvider::Call sent = f.providers["first"]->last();
  EXPECT_EQ(sent.request.previous_response_id, "resp_upstream");  // passed on, not expanded
  EXPECT_THAT(texts_of(sent.request.messages), ElementsAre("user:hi"));
  EXPECT_EQ(o.response->id, "id-first");  // the provider's own id
  auto kept = f.pipeline->responses()->get("id-first");
  ASSERT_TRUE(kept);
  EXPECT_FALSE(*kept);  // the provider keeps it
}

TEST(ResponsesStateTest, AFailoverSkipsTargetsThatCannotKnowAnIdOnlyAResponsesProviderCould) {
  Fixture f({{"first", ScriptedProvider::fails(Errc::Upstream, "overloaded", 503)},
             {"second", ScriptedProvider::answers()}});
  Config config = f.config;
  config.providers[0].format = WireFormat::Responses;
  auto p = Pipeline::build(config, Registries::with_builtins());
  ASSERT_TRUE(p) << p.error().message;
  f.pipeline = *p;
  // price: first, then second, which cannot continue the provider's conversation: the
  // client gets the first one's failure, the real one.
  Outcome o = f.handle(R"({"model":"m","previous_response_id":"resp_upstream","input":"hi"})",
                       WireFormat::Responses);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->status(), 503);
  EXPECT_THAT(o.error->message, HasSubstr("overloaded"));
  EXPECT_EQ(f.providers["second"]->calls(), 0);
  ASSERT_GE(o.attempts.size(), 2u);
  for (const Attempt& a : o.attempts) {
    if (a.provider == "second") {
      EXPECT_EQ(a.status, 404);  // refused without a call
    }
  }

  // Only targets that cannot know the id: the 404 in the envelope OpenAI answers with.
  Fixture g({{"first", ScriptedProvider::answers()}, {"second", ScriptedProvider::answers()}});
  Outcome n = g.handle(R"({"model":"m","previous_response_id":"resp_upstream","input":"hi"})",
                       WireFormat::Responses);
  ASSERT_TRUE(n.error);
  EXPECT_EQ(n.error->status(), 404);
  EXPECT_EQ(n.error->api_code, "previous_response_not_found");
}

Outcome run_endpoint(Fixture& f, Endpoint endpoint, std::string_view body) {
  CancelFlag cancel{false};
  return f.pipeline->start(WireFormat::OpenAI, body, {}, endpoint)
      ->run(
          [&f](std::string_view name) -> const Provider* {
            auto it = f.providers.find(std::string(name));
            return it == f.providers.end() ? nullptr : it->second.get();
          },
          f.client, cancel);
}

TEST(EndpointDispatchTest, AnEndpointGetsTheProvidersBodyAndItsRecord) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  Outcome o = run_endpoint(f, Endpoint::Embeddings, R"({"model":"x/m","input":"hi"})");
  ASSERT_FALSE(o.error) << o.error->message;
  EXPECT_TRUE(o.passthrough);
  const ScriptedProvider::Call sent = f.providers["first"]->last();
  EXPECT_EQ(sent.request.endpoint, Endpoint::Embeddings);
  ASSERT_TRUE(sent.options.passthrough_body);
  EXPECT_EQ(*sent.options.passthrough_body, R"({"model":"real-x","input":"hi"})");
}

TEST(EndpointDispatchTest, AnEndpointReplyWithoutABodyIsA502) {
  Fixture f({{"first", ScriptedProvider::answers()}});
  f.providers.clear();
  ScriptedProvider::Reply events_only = ScriptedProvider::answers();  // no raw bytes
  f.providers.emplace("first", std::make_unique<ScriptedProvider>("first", events_only));
  Outcome o = run_endpoint(f, Endpoint::Embeddings, R"({"model":"x/m","input":"hi"})");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->status(), 502);
  EXPECT_THAT(o.error->message, HasSubstr("/v1/embeddings came without a body"));
}

TEST(EventBusTest, SlowSubscriberLosesOldestAndCounts) {
  auto bus = EventBus::create();
  auto slow = bus->subscribe(2);
  for (int i = 0; i < 5; ++i) bus->publish(EventType::Start, std::to_string(i));
  EXPECT_EQ(slow->dropped(), 3u);
  std::string e;
  ASSERT_TRUE(slow->next(e, std::chrono::milliseconds(0)));
  EXPECT_EQ(e, "3");
  slow->close();
  EXPECT_FALSE(slow->next(e, std::chrono::milliseconds(1000)));
  EXPECT_EQ(bus->published(), 5u);
}

TEST(EventBusTest, TypedEventsAreSerialisedOnceWithTheirTypeAndFilteredByIt) {
  auto bus = EventBus::create();
  auto all = bus->subscribe(16);
  auto routed_only = bus->subscribe(16, SIZE_MAX, EventType::Routed);
  const std::vector<std::string> tags = {"code", "long"};
  bus->publish(StartEvent{7, "m", 2});
  bus->publish(ClassifiedEvent{7, tags});
  bus->publish(RoutedEvent{7, "local", "m2", "rule 0 (prefix=m): provider local, model m2"});
  std::string json;
  EventType type{};
  std::vector<std::string> names;
  while (all->next(json, std::chrono::milliseconds(0), type)) {
    names.emplace_back(event_type_name(type));
    EXPECT_TRUE(json.starts_with(R"({"type":")" + names.back() + R"(","id":7,"ts_ms":)")) << json;
    if (type == EventType::Classified) {
      EXPECT_THAT(json, HasSubstr(R"("tags":["code","long"])"));
    } else if (type == EventType::Start) {
      EXPECT_THAT(json, HasSubstr(R"("model":"m","in_flight":2})"));
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"start", "classified", "routed"}));
  ASSERT_TRUE(routed_only->next(json, std::chrono::milliseconds(0), type));
  EXPECT_EQ(type, EventType::Routed);
  EXPECT_THAT(
      json,
      HasSubstr(
          R"("provider":"local","model":"m2","reason":"rule 0 (prefix=m): provider local, model m2"})"));
  EXPECT_FALSE(routed_only->next(json, std::chrono::milliseconds(0)));
}

TEST(JsonlLogTest, WritesCompleteEventsAsWholeLinesAndFlushesOnStop) {
  const auto dir = std::filesystem::temp_directory_path() / ("llmrouter-log-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "nested" / "requests.jsonl").string();
  auto bus = EventBus::create();
  std::string error;
  auto log = JsonlLog::open(path, bus, &error);
  ASSERT_TRUE(log) << error;
  for (int i = 0; i < 100; ++i) {
    bus->publish(EventType::Start, R"({"type":"start","id":)" + std::to_string(i) + "}");
    bus->publish(EventType::Complete, R"({"type":"complete","id":)" + std::to_string(i) + "}");
  }
  log->stop();
  EXPECT_EQ(log->lines_written(), 100u);
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(line, R"({"type":"complete","id":)" + std::to_string(n) + "}");
    ++n;
  }
  EXPECT_EQ(n, 100);
  std::filesystem::remove_all(dir);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  EXPECT_EQ(start, text.size()) << "a torn last line";
  return out;
}

std::string complete_line(int i) { return R"({"type":"complete","id":)" + std::to_string(i) + "}"; }

TEST(JsonlLogTest, LinesDroppedWhileTheDiskIsBehindAreCountedAndMarkedWhereTheyWere) {
  // The log writes into a pipe nobody reads yet: its writes block, as on a stalled disk.
  const auto fifo = std::filesystem::temp_directory_path() / ("llmrouter-log-fifo-" + std::to_string(::getpid()));
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  auto bus = EventBus::create();
  std::string error;
  auto log = JsonlLog::open(fifo.string(), bus, &error, /*max_queue_bytes=*/64 << 10);
  ASSERT_TRUE(log) << error;
  const std::string pad(200, 'x');
  constexpr int kLines = 5000;  // ~1.1 MB: far more than the pipe and the queue hold
  for (int i = 0; i < kLines; ++i) {
    bus->publish(EventType::Start, R"({"type":"start","id":)" + std::to_string(i) +
                                       "}");  // not a log line: never queued
    bus->publish(EventType::Complete,
                 R"({"type":"complete","id":)" + std::to_string(i) + R"(,"pad":")" + pad + "\"}");
  }
  std::string text;
  std::thread drain([&] {
    char buf[65536];
    for (;;) {
      pollfd p{reader, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      const ssize_t n = ::read(reader, buf, sizeof buf);
      if (n <= 0) break;  // the writer closed its end
      text.append(buf, static_cast<std::size_t>(n));
    }
  });
  log->stop();
  drain.join();
  ::close(reader);
  std::filesystem::remove(fifo);

  EXPECT_GT(log->dropped(), 0u);
  EXPECT_EQ(log->write_errors(), 0u);
  uint64_t marked = 0;
  int kept = 0, last_id = -1;
  bool gap_before = false;
  for (const std::string& line : lines_of(text)) {
    if (line.starts_with(R"({"dropped":)")) {
      marked += std::stoull(line.substr(11));
      gap_before = true;
      continue;
    }
    ASSERT_TRUE(line.starts_with(R"({"type":"complete","id":)")) << line.substr(0, 80);
    const int id = std::stoi(line.substr(24));
    // In order; a jump in ids is exactly where a marker stands.
    EXPECT_EQ(id != last_id + 1, gap_before) << "line " << id << " after " << last_id;
    last_id = id;
    gap_before = false;
    ++kept;
  }
  EXPECT_EQ(marked, log->dropped());
  EXPECT_EQ(log->lines_written(), static_cast<uint64_t>(kept));  // request lines, not markers
  EXPECT_EQ(kept + marked, static_cast<uint64_t>(kLines));
  EXPECT_EQ(last_id, kLines - 1);  // the newest lines are kept
}

TEST(JsonlLogTest, AWriteThatFailsPartWayLeavesNoTornLine) {
  const auto dir = std::filesystem::temp_directory_path() / ("llmrouter-log-full-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "requests.jsonl").string();
  // In a child process: a file size limit makes a write stop part-way (EFBIG), as a full
  // disk does.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{1000, 1000};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto bus = EventBus::create();
    std::string error;
    auto log = JsonlLog::open(path, bus, &error);
    if (!log) ::_exit(2);
    for (int i = 0; i < 8; ++i) {
      bus->publish(EventType::Complete, R"({"type":"complete","id":)" + std::to_string(i) +
                                            R"(,"pad":")" + std::string(300, 'y') + "\"}");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // one write per line
    }
    log->stop();
    ::_exit(log->write_errors() > 0 && log->lines_written() > 0 ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: not opened, 3: no write failed or none succeeded";
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto lines = lines_of(text);  // every line whole
  EXPECT_GE(lines.size(), 1u);
  EXPECT_LE(text.size(), 1000u);
  for (const std::string& line : lines) EXPECT_TRUE(line.ends_with("\"}")) << line;
  std::filesystem::remove_all(dir);
}

TEST(JsonlLogTest, ReopenWritesOnToAFreshFileAfterARename) {
  const auto dir = std::filesystem::temp_directory_path() / ("llmrouter-log-rotate-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "requests.jsonl").string();
  auto bus = EventBus::create();
  std::string error;
  auto log = JsonlLog::open(path, bus, &error);
  ASSERT_TRUE(log) << error;
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);  // 0600: prompts are private
  bus->publish(EventType::Complete, complete_line(1));
  ASSERT_TRUE(testing::wait_until([&] { return log->lines_written() >= 1; }));
  std::filesystem::rename(path, path + ".1");  // logrotate's rename, then its signal
  log->reopen();  // before the next line, however long the writer has been waiting
  bus->publish(EventType::Complete, complete_line(2));
  log->stop();
  std::ifstream rotated(path + ".1"), fresh(path);
  std::string a, b;
  std::getline(rotated, a);
  std::getline(fresh, b);
  EXPECT_EQ(a, complete_line(1));
  EXPECT_EQ(b, complete_line(2));
  std::filesystem::remove_all(dir);
}

TEST(JsonlLogTest, UnopenablePathIsAClearError) {
  std::string error;
  auto log = JsonlLog::open("/proc/llmrouter/cannot/requests.jsonl", EventBus::create(), &error);
  EXPECT_FALSE(log);
  EXPECT_THAT(error, HasSubstr("cannot open the request log /proc/llmrouter/cannot/requests.jsonl"));
}

}  // namespace
}  // namespace llmrouter
