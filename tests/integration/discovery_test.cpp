// SPDX-License-Identifier: MIT
// Ollama model discovery against the mock upstream: the catalog it fills (models and the
// models loaded in memory), the router using it, failures as warnings, bounded timeouts,
// periodic refresh and a prompt shutdown.
// Timing assertions are generous upper bounds (the sanitizer builds are slow); every wait
// is a bounded loop.
#include "llmrouter/discovery.h"

#include <chrono>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/log.h"
#include "llmrouter/registry.h"
#include "llmrouter/router.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Clock = std::chrono::steady_clock;
using testing::MockModel;
using testing::MockUpstream;

std::vector<std::string> names(const std::vector<ModelCatalog::Model>& models) {
  std::vector<std::string> out;
  for (const auto& m : models) out.push_back(m.name);
  return out;
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([this](LogLevel level, std::string_view message) {
      std::lock_guard lock(log_mu_);
      if (level >= LogLevel::Warn) warnings_.emplace_back(message);
    });
  }
  void TearDown() override { set_log_sink({}); }

  std::vector<std::string> warnings() {
    std::lock_guard lock(log_mu_);
    return warnings_;
  }

  void start_mock(MockUpstream::Options options = {}) { mock = std::make_unique<MockUpstream>(std::move(options)); }

  // An ollama provider "local" on the mock (plus `extra` TOML: keys of that provider, then
  // more tables).
  Config config(std::string_view extra = "", std::map<std::string, std::string> env = {}) {
    return testing::config_from("[[providers]]\nname = \"local\"\nformat = \"ollama\"\nbase_url = \"" + mock->base_url() +
                                    "\"\n" + std::string(extra),
                                std::move(env));
  }

  std::unique_ptr<Discovery> discovery(const Config& c, EnvReader getenv = {}) {
    return Discovery::create(c, transport, catalog, std::move(getenv));
  }

  // Declared first, destroyed last: the transport (and its keep-alive connections) goes
  // before the mock stops.
  std::unique_ptr<MockUpstream> mock;
  std::shared_ptr<Transport> transport = make_curl_transport();
  std::shared_ptr<ModelCatalog> catalog = std::make_shared<ModelCatalog>();

 private:
  std::mutex log_mu_;
  std::vector<std::string> warnings_;  // guarded by log_mu_
};

TEST_F(DiscoveryTest, ModelsAndCapabilitiesLandInTheCatalog) {
  start_mock();
  auto d = discovery(config());
  EXPECT_THAT(d->providers(), ElementsAre("local"));
  const std::vector<DiscoveryReport> reports = d->refresh();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].provider, "local");
  EXPECT_TRUE(reports[0].ok);
  EXPECT_EQ(reports[0].warning, "");
  EXPECT_EQ(reports[0].models, 2u);

  const auto models = catalog->models("local");
  ASSERT_THAT(names(models), ElementsAre("qwen2.5vl:7b", "gemma2:2b"));
  EXPECT_TRUE(models[0].capabilities_known);
  EXPECT_EQ(models[0].capabilities.to_string(), "completion,tools,vision");
  EXPECT_EQ(models[0].context_length, 128000u);
  EXPECT_TRUE(models[1].capabilities_known);
  EXPECT_EQ(models[1].capabilities.to_string(), "completion");
  EXPECT_EQ(models[1].context_length, 8192u);
  EXPECT_TRUE(catalog->has_model("local", "gemma2:2b"));
  EXPECT_EQ(catalog->model("local", "gemma2:2b")->context_length, 8192u);

  EXPECT_EQ(mock->requests("/api/tags"), 1);
  EXPECT_EQ(mock->requests("/api/show"), 2);
  EXPECT_EQ(mock->requests("/api/ps"), 1);
  EXPECT_EQ(mock->last_header("/api/tags", "authorization"), "");  // no key configured
  EXPECT_THAT(warnings(), IsEmpty());
}

TEST_F(DiscoveryTest, TheLoadedModelsAreReadAtStartUp) {
  start_mock();  // /api/ps lists the first model, qwen2.5vl:7b
  auto d = discovery(config());
  EXPECT_FALSE(catalog->loaded_known("local"));
  const std::vector<DiscoveryReport> reports = d->refresh();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok);
  EXPECT_EQ(reports[0].warning, "");
  EXPECT_EQ(reports[0].loaded, 1u);
  EXPECT_TRUE(catalog->loaded_known("local"));
  EXPECT_THAT(catalog->loaded("local"), ElementsAre("qwen2.5vl:7b"));
  EXPECT_TRUE(catalog->is_loaded("local", "qwen2.5vl:7b"));
  EXPECT_FALSE(catalog->is_loaded("local", "gemma2:2b"));  // pulled, not loaded
  EXPECT_EQ(mock->requests("/api/ps"), 1);
  EXPECT_THAT(warnings(), IsEmpty());
}

TEST_F(DiscoveryTest, LoadedNamesMatchAsOllamaReadsThem) {
  start_mock({.models = {MockModel{"gemma3:latest"}, MockModel{"qwen3:8b"}, MockModel{"llava:7b"}},
              .loaded = std::vector<std::string>{"gemma3:latest", "qwen3:8b"}});
  auto d = discovery(config());
  ASSERT_EQ(d->refresh().at(0).loaded, 2u);
  EXPECT_TRUE(catalog->is_loaded("local", "gemma3"));  // no tag: latest
  EXPECT_TRUE(catalog->is_loaded("local", "gemma3:latest"));
  EXPECT_FALSE(catalog->is_loaded("local", "qwen3"));  // qwen3:latest is not loaded
  EXPECT_TRUE(catalog->is_loaded("local", "qwen3:8b"));
  EXPECT_FALSE(catalog->is_loaded("local", "llava:7b"));
  EXPECT_FALSE(catalog->is_loaded("other", "gemma3"));
}

TEST_F(DiscoveryTest, NothingLoadedIsKnownAndEmpty) {
  start_mock({.loaded = std::vector<std::string>{}});
  auto d = discovery(config());
  const auto reports = d->refresh();
  EXPECT_EQ(reports.at(0).loaded, 0u);
  EXPECT_EQ(reports[0].warning, "");
  EXPECT_TRUE(catalog->loaded_known("local"));
  EXPECT_THAT(catalog->loaded("local"), IsEmpty());
}

TEST_F(DiscoveryTest, TheLoadedModelsAreRefreshedOnTheirOwnInterval) {
  start_mock();
  auto d = discovery(config("discovery_loaded_interval_s = 1\n"));  // full rounds every 300 s
  d->refresh();
  ASSERT_TRUE(catalog->is_loaded("local", "qwen2.5vl:7b"));
  d->start();
  mock->set_loaded(std::vector<std::string>{"gemma2:2b"});
  ASSERT_TRUE(testing::wait_until([&] { return catalog->is_loaded("local", "gemma2:2b"); }));
  EXPECT_THAT(catalog->loaded("local"), ElementsAre("gemma2:2b"));
  EXPECT_GE(mock->requests("/api/ps"), 2);
  // Only /api/ps was asked again: no full round.
  EXPECT_EQ(mock->requests("/api/tags"), 1);
  EXPECT_EQ(mock->requests("/api/show"), 2);
  EXPECT_THAT(warnings(), IsEmpty());
}

TEST_F(DiscoveryTest, AZeroLoadedIntervalAsksOnlyWithTheDiscoveryRounds) {
  start_mock();
  auto d = discovery(config("discovery_interval_s = 0\ndiscovery_loaded_interval_s = 0\n"));
  d->refresh();
  d->start();
  mock->set_loaded(std::vector<std::string>{"gemma2:2b"});
  // Nothing is due: the thread sleeps. (Asserting that nothing happens takes a wait.)
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(mock->requests("/api/ps"), 1);
  EXPECT_TRUE(catalog->is_loaded("local", "qwen2.5vl:7b"));
  // A full round asks it again.
  EXPECT_EQ(d->refresh().at(0).loaded, 1u);
  EXPECT_EQ(mock->requests("/api/ps"), 2);
  EXPECT_THAT(catalog->loaded("local"), ElementsAre("gemma2:2b"));
}

TEST_F(DiscoveryTest, AFailingPsRequestKeepsTheLoadedModelsWithOneWarning) {
  start_mock();
  auto d = discovery(config());
  ASSERT_EQ(d->refresh().at(0).loaded, 1u);
  mock->set_ps_fail(true);
  mock->set_loaded(std::vector<std::string>{});
  auto reports = d->refresh();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok);  // the round itself went well
  EXPECT_EQ(reports[0].models, 2u);
  EXPECT_EQ(reports[0].loaded, 1u);
  const std::string warning =
      "provider 'local': reading the loaded models failed: GET " + mock->base_url() +
      "/api/ps answered 500: ps exploded; keeping the 1 model known to be loaded";
  EXPECT_EQ(reports[0].warning, warning);
  EXPECT_THAT(warnings(), ElementsAre(warning));
  EXPECT_THAT(catalog->loaded("local"), ElementsAre("qwen2.5vl:7b"));
  EXPECT_TRUE(catalog->is_loaded("local", "qwen2.5vl:7b"));
  EXPECT_EQ(catalog->models("local").size(), 2u);

  // The same failure again is not warned about twice.
  reports = d->refresh();
  EXPECT_EQ(reports.at(0).warning, "");
  EXPECT_EQ(reports[0].loaded, 1u);
  EXPECT_THAT(warnings(), ElementsAre(warning));

  // Once it answers again, its answer replaces the list.
  mock->set_ps_fail(false);
  reports = d->refresh();
  EXPECT_EQ(reports.at(0).warning, "");
  EXPECT_EQ(reports[0].loaded, 0u);
  EXPECT_THAT(catalog->loaded("local"), IsEmpty());
  EXPECT_TRUE(catalog->loaded_known("local"));
  EXPECT_THAT(warnings(), ElementsAre(warning));
}

TEST_F(DiscoveryTest, AFailingFirstPsRequestLeavesTheLoadedModelsUnknown) {
  start_mock({.ps_fail = true});
  auto d = discovery(config());
  const auto reports = d->refresh();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok);
  EXPECT_EQ(reports[0].models, 2u);
  EXPECT_EQ(reports[0].loaded, 0u);
  EXPECT_EQ(reports[0].warning,
            "provider 'local': reading the loaded models failed: GET " + mock->base_url() +
                "/api/ps answered 500: ps exploded; none are known to be loaded");
  EXPECT_THAT(warnings(), ElementsAre(reports[0].warning));
  EXPECT_FALSE(catalog->loaded_known("local"));
  EXPECT_TRUE(catalog->has_model("local", "gemma2:2b"));
}

TEST_F(DiscoveryTest, AFailingPsBetweenRoundsIsOneWarningAndKeepsTheList) {
  start_mock();
  auto d = discovery(config("discovery_loaded_interval_s = 1\n"));
  d->refresh();
  d->start();
  mock->set_ps_fail(true);
  mock->set_loaded(std::vector<std::string>{"gemma2:2b"});
  // Three failed reads in a row (the round's was the first read).
  ASSERT_TRUE(testing::wait_until([&] { return mock->requests("/api/ps") >= 4; }));
  EXPECT_THAT(catalog->loaded("local"), ElementsAre("qwen2.5vl:7b"));
  const auto logged = warnings();
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(
      logged[0],
      HasSubstr("provider 'local': reading the loaded models failed: GET " + mock->base_url() +
                "/api/ps answered 500: ps exploded; keeping the 1 model known to be loaded"));
  mock->set_ps_fail(false);
  ASSERT_TRUE(testing::wait_until([&] { return catalog->is_loaded("local", "gemma2:2b"); }));
  EXPECT_FALSE(catalog->is_loaded("local", "qwen2.5vl:7b"));
  EXPECT_EQ(warnings().size(), 1u);
  EXPECT_EQ(mock->requests("/api/tags"), 1);
}

TEST_F(DiscoveryTest, TheRouterRoutesDiscoveredModelsAndChecksTheirCapabilities) {
  start_mock();
  // "cloud" declares vision; the discover rule comes first, the fallback rule after it.
  const Config c = config(R"(
[[providers]]
name = "cloud"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
capabilities = ["completion", "tools", "vision"]
[[routers]]
type = "discover"
provider = "local"
[[routers]]
type = "fallback"
providers = ["cloud"]
)");
  Router router(c, catalog.get(), *Registries::with_builtins().make_rules(c));
  RouteQuery q;
  q.model = "gemma2:2b";
  ASSERT_TRUE(router.route(q));
  EXPECT_EQ(router.route(q)->target.provider, "cloud");  // nothing discovered yet

  auto d = discovery(c);
  d->refresh();

  auto r = router.route(q);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->target, (RouteTarget{"local", "gemma2:2b", 0, "discover"}));
  EXPECT_EQ(r->reason, "rule 0 (discover): provider local, model gemma2:2b");

  // gemma2 has no vision: a request with an image goes to the next rule's candidate.
  q.needs.insert(Capability::Vision);
  r = router.route(q);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->target, (RouteTarget{"cloud", "gemma2:2b", 1, "fallback"}));
  EXPECT_TRUE(r->fallbacks.empty());

  // The vision model stays local, with the fallback behind it.
  q.model = "qwen2.5vl:7b";
  r = router.route(q);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->target, (RouteTarget{"local", "qwen2.5vl:7b", 0, "discover"}));
  ASSERT_EQ(r->fallbacks.size(), 1u);
  EXPECT_EQ(r->fallbacks[0].provider, "cloud");

  // Tools: gemma2 lacks them too.
  q.needs = {};
  q.needs.insert(Capability::Tools);
  q.model = "gemma2:2b";
  EXPECT_EQ(router.route(q)->target.provider, "cloud");

  EXPECT_THAT(router.known_models(),
              ElementsAre(RouteTarget{"local", "qwen2.5vl:7b", 0, "discover"},
                          RouteTarget{"local", "gemma2:2b", 0, "discover"}));
}

TEST_F(DiscoveryTest, RequestsCarryTheProviderCredentialAndHeaders) {
  start_mock();
  const Config c = config("api_key_env = \"OLLAMA_KEY\"\nheaders = { x-team = \"blue\" }\n", {{"OLLAMA_KEY", "sesame"}});
  auto d = discovery(c, [](const std::string& name) -> std::optional<std::string> {
    if (name == "OLLAMA_KEY") return "sesame";
    return std::nullopt;
  });
  ASSERT_TRUE(d->refresh().at(0).ok);
  for (const char* path : {"/api/tags", "/api/show", "/api/ps"}) {
    EXPECT_EQ(mock->last_header(path, "authorization"), "Bearer sesame") << path;
    EXPECT_EQ(mock->last_header(path, "x-team"), "blue") << path;
  }
  EXPECT_EQ(mock->last_header("/api/show", "content-type"), "application/json");
}

TEST_F(DiscoveryTest, OnlyAvailableOllamaProvidersAreAsked) {
  start_mock();
  const Config c = testing::config_from(
      "[[providers]]\nname = \"oa\"\nformat = \"openai\"\nbase_url = \"" + mock->base_url() +
      "\"\n[[providers]]\nname = \"keyless\"\nformat = \"ollama\"\nbase_url = \"" + mock->base_url() +
      "\"\napi_key_env = \"UNSET_KEY\"\n");
  auto d = discovery(c);
  EXPECT_THAT(d->providers(), IsEmpty());
  EXPECT_THAT(d->refresh(), IsEmpty());
  d->start();  // nothing to do: no thread
  EXPECT_EQ(mock->requests(), 0);
}

TEST_F(DiscoveryTest, AFailingTagsRequestIsAWarningAndLeavesNoModels) {
  start_mock({.tags_fail = true});
  const Config c = config("[[routers]]\ntype = \"discover\"\nprovider = \"local\"\n");
  auto d = discovery(c);
  const auto reports = d->refresh();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_FALSE(reports[0].ok);
  EXPECT_EQ(reports[0].models, 0u);
  EXPECT_EQ(reports[0].warning, "provider 'local': model discovery failed: GET " + mock->base_url() +
                                    "/api/tags answered 500: tags exploded; it has no discovered models");
  EXPECT_THAT(warnings(), ElementsAre(reports[0].warning));
  EXPECT_THAT(catalog->models("local"), IsEmpty());
  EXPECT_EQ(mock->requests("/api/show"), 0);
  Router router(c, catalog.get(), *Registries::with_builtins().make_rules(c));
  RouteQuery q;
  q.model = "gemma2:2b";
  EXPECT_FALSE(router.route(q));
  EXPECT_THAT(router.known_models(), IsEmpty());
}

TEST_F(DiscoveryTest, AnUnreachableProviderIsAWarning) {
  const Config c = testing::config_from("[[providers]]\nname = \"local\"\nformat = \"ollama\"\nbase_url = \"http://127.0.0.1:1\"\n");
  auto d = discovery(c);
  const auto reports = d->refresh();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_FALSE(reports[0].ok);
  EXPECT_THAT(reports[0].warning, HasSubstr("provider 'local': model discovery failed: GET http://127.0.0.1:1/api/tags: "));
  EXPECT_THAT(reports[0].warning, ::testing::Not(HasSubstr(": provider 'local'")));  // named once
  // /api/ps fails too, but the one warning speaks for the provider.
  EXPECT_THAT(warnings(), ElementsAre(reports[0].warning));
  EXPECT_FALSE(catalog->loaded_known("local"));
}

TEST_F(DiscoveryTest, ASlowTagsRequestIsBoundedByTheDiscoveryTimeout) {
  start_mock({.tags_delay = std::chrono::seconds(8)});  // far longer than the timeout
  auto d = discovery(config("discovery_timeout_ms = 200\n"));
  const auto start = Clock::now();
  const auto reports = d->refresh();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_FALSE(reports[0].ok);
  EXPECT_THAT(reports[0].warning, HasSubstr("timeout"));
  EXPECT_THAT(reports[0].warning, HasSubstr("it has no discovered models"));
  EXPECT_THAT(catalog->models("local"), IsEmpty());
}

TEST_F(DiscoveryTest, AFailingShowKeepsTheModelWithUnknownCapabilities) {
  start_mock({.models = {MockModel{"good:1b", {"completion", "vision"}, 4096, "llama", false},
                         MockModel{"broken:1b", {"completion", "tools"}, 4096, "llama", true}}});
  auto d = discovery(config());
  const auto reports = d->refresh();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok);
  EXPECT_EQ(reports[0].models, 2u);
  EXPECT_EQ(reports[0].warning, "provider 'local': /api/show failed for 1 of 2 models, whose capabilities are unknown: "
                                "broken:1b (POST " + mock->base_url() + "/api/show answered 500: show exploded)");
  EXPECT_THAT(warnings(), ElementsAre(reports[0].warning));
  const auto models = catalog->models("local");
  ASSERT_THAT(names(models), ElementsAre("good:1b", "broken:1b"));
  EXPECT_TRUE(models[0].capabilities_known);
  EXPECT_FALSE(models[1].capabilities_known);
  EXPECT_EQ(models[1].context_length, 0u);
  // Unknown capabilities: routing assumes the model can (see Router::qualifies).
  EXPECT_FALSE(catalog->capabilities("local", "broken:1b"));
}

TEST_F(DiscoveryTest, SlowShowRequestsAreBoundedAndKeepTheModels) {
  // The timeout leaves /api/tags ample time, even in sanitizer builds, but not /api/show.
  std::vector<MockModel> four;
  for (const char* name : {"a:1b", "b:1b", "c:1b", "d:1b"}) four.push_back(MockModel{name});
  start_mock({.models = four, .show_delay = std::chrono::seconds(20)});
  auto d = discovery(config("discovery_timeout_ms = 3000\n"));
  const auto start = Clock::now();
  const auto reports = d->refresh();
  // The four calls run at once (about 3 s): one after the other they would take at least
  // 12 s. The margin absorbs a loaded sanitizer build.
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(9));
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok);
  EXPECT_THAT(reports[0].warning, HasSubstr("/api/show failed for 4 of 4 models"));
  const auto models = catalog->models("local");
  ASSERT_THAT(names(models), ElementsAre("a:1b", "b:1b", "c:1b", "d:1b"));
  for (const auto& m : models) EXPECT_FALSE(m.capabilities_known) << m.name;
}

TEST_F(DiscoveryTest, AFailedRefreshKeepsTheModelsFoundBefore) {
  start_mock();
  auto d = discovery(config());
  ASSERT_TRUE(d->refresh().at(0).ok);
  mock->set_tags_fail(true);
  const auto reports = d->refresh();
  EXPECT_FALSE(reports.at(0).ok);
  EXPECT_EQ(reports[0].models, 2u);
  EXPECT_THAT(reports[0].warning, HasSubstr("keeping the 2 models discovered before"));
  EXPECT_THAT(names(catalog->models("local")), ElementsAre("qwen2.5vl:7b", "gemma2:2b"));
  EXPECT_TRUE(catalog->capabilities("local", "qwen2.5vl:7b"));
}

TEST_F(DiscoveryTest, UnchangedModelsAreNotDescribedAgain) {
  start_mock();
  auto d = discovery(config());
  d->refresh();
  ASSERT_EQ(mock->requests("/api/show"), 2);
  d->refresh();
  EXPECT_EQ(mock->requests("/api/tags"), 2);
  EXPECT_EQ(mock->requests("/api/show"), 2);  // same digests
  EXPECT_EQ(catalog->models("local").size(), 2u);
  EXPECT_EQ(catalog->capabilities("local", "qwen2.5vl:7b")->to_string(), "completion,tools,vision");
  // A changed model (new digest) is described again; the other is not.
  mock->set_models({MockModel{"qwen2.5vl:7b", {"completion", "vision"}, 32768, "qwen25vl", false},
                    MockModel{"gemma2:2b", {"completion"}, 8192, "gemma2", false}});
  d->refresh();
  EXPECT_EQ(mock->requests("/api/show"), 3);
  EXPECT_EQ(catalog->capabilities("local", "qwen2.5vl:7b")->to_string(), "completion,vision");
  EXPECT_EQ(catalog->model("local", "qwen2.5vl:7b")->context_length, 32768u);
}

TEST_F(DiscoveryTest, PeriodicRefreshPicksUpAChangedModelList) {
  start_mock();
  auto d = discovery(config("discovery_interval_s = 1\n"));
  d->refresh();
  d->start();
  mock->set_models({MockModel{"fresh:3b", {"completion", "tools"}, 2048, "llama", false}});
  ASSERT_TRUE(testing::wait_until([&] { return catalog->has_model("local", "fresh:3b"); }));
  EXPECT_THAT(names(catalog->models("local")), ElementsAre("fresh:3b"));
  EXPECT_EQ(catalog->capabilities("local", "fresh:3b")->to_string(), "completion,tools");
}

TEST_F(DiscoveryTest, StartWithoutRefreshRunsTheFirstRoundInTheBackground) {
  start_mock();
  auto d = discovery(config("discovery_interval_s = 0\n"));
  d->start();
  d->start();  // a second call does nothing
  ASSERT_TRUE(testing::wait_until([&] { return catalog->models("local").size() == 2; }));
  EXPECT_EQ(mock->requests("/api/tags"), 1);
}

TEST_F(DiscoveryTest, TheDestructorStopsAnIdleThreadPromptly) {
  start_mock();
  auto d = discovery(config());  // the next round is 300 s away
  d->refresh();
  d->start();
  const auto start = Clock::now();
  d.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(mock->requests("/api/tags"), 1);
}

TEST_F(DiscoveryTest, TheDestructorCancelsARoundInFlight) {
  start_mock({.tags_delay = std::chrono::seconds(8)});
  auto d = discovery(config("discovery_timeout_ms = 6000\n"));
  d->start();  // the first round begins at once and waits on the slow /api/tags
  ASSERT_TRUE(testing::wait_until([&] { return mock->requests("/api/tags") == 1; }));
  const auto start = Clock::now();
  d.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));  // not the 6 s timeout
  EXPECT_THAT(catalog->models("local"), IsEmpty());
  EXPECT_THAT(warnings(), IsEmpty());  // a cancelled round reports nothing
}

}  // namespace
}  // namespace llmrouter
