// SPDX-License-Identifier: MIT
#include "llmrouter/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/registry.h"
#include "support/config_helpers.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;

// Providers: a (cheap, slow), b (mid), c (expensive, fast, declares vision), d (needs a key
// that is not set).
constexpr std::string_view kProviders = R"(
[routing]
max_attempts = 4
[[providers]]
name = "a"
format = "openai"
base_url = "http://127.0.0.1:1/v1"
cost_per_1m_tokens = 0.0
quality = 50
latency_ms = 900
throughput_tokens_per_sec = 20
capabilities = ["completion", "tools"]
[[providers]]
name = "b"
format = "ollama"
base_url = "http://127.0.0.1:2"
cost_per_1m_tokens = 1.0
quality = 70
latency_ms = 300
[[providers]]
name = "c"
format = "anthropic"
base_url = "http://127.0.0.1:3"
cost_per_1m_tokens = 15.0
quality = 95
latency_ms = 200
throughput_tokens_per_sec = 80
capabilities = ["completion", "tools", "vision"]
[[providers]]
name = "d"
format = "openai"
base_url = "http://127.0.0.1:4/v1"
api_key_env = "D_KEY"
cost_per_1m_tokens = 0.0
quality = 99
latency_ms = 1
throughput_tokens_per_sec = 1000
)";

// The rules of `config`, each built by its built-in type's factory.
std::vector<std::shared_ptr<const Rule>> rules_of(const Config& config) {
  auto rules = Registries::with_builtins().make_rules(config);
  EXPECT_TRUE(rules) << rules.error().message;
  return rules ? std::move(*rules) : std::vector<std::shared_ptr<const Rule>>{};
}

struct Fixture {
  explicit Fixture(std::string_view rules)
      : config(testing::config_from(std::string(kProviders) + std::string(rules))),
        router(config, &catalog, rules_of(config)) {}
  Config config;
  ModelCatalog catalog;
  Router router;
};

RouteQuery query(std::string model, std::vector<std::string> tags = {}, CapabilitySet needs = {}, double random = 0) {
  return RouteQuery{std::move(model), std::move(tags), needs, random};
}

std::string chain(const RouteDecision& d) {
  std::string s = d.target.provider + ":" + d.target.model;
  for (const RouteTarget& t : d.fallbacks) s += " " + t.provider + ":" + t.model;
  return s;
}

std::string route(const Router& r, const RouteQuery& q) {
  auto d = r.route(q);
  return d ? chain(*d) : "error: " + d.error().message;
}

CapabilitySet vision() {
  CapabilitySet s;
  s.insert(Capability::Vision);
  return s;
}

TEST(RouterTest, PrefixKeepsOrRewritesTheModel) {
  Fixture f(R"(
[[routers]]
type = "prefix"
model_prefix = "local/"
provider = "a"
[[routers]]
type = "prefix"
model_prefix = "gpt-"
provider = "b"
rewrite_model = "llama3"
)");
  auto d = f.router.route(query("local/qwen"));
  ASSERT_TRUE(d);
  EXPECT_EQ(chain(*d), "a:local/qwen");
  EXPECT_EQ(d->target.rule_index, 0);
  EXPECT_EQ(d->reason, "rule 0 (prefix=local/): provider a, model local/qwen");
  EXPECT_EQ(route(f.router, query("gpt-4o")), "b:llama3");
  EXPECT_EQ(route(f.router, query("claude")), "error: no route for model 'claude': no rule matches it");
}

TEST(RouterTest, TagRule) {
  Fixture f("[[routers]]\ntype = \"tag\"\ntag = \"code\"\nprovider = \"b\"\nrewrite_model = \"coder\"\n");
  EXPECT_EQ(route(f.router, query("m", {"sql", "code"})), "b:coder");
  EXPECT_THAT(route(f.router, query("m", {"sql"})), HasSubstr("no rule matches"));
}

TEST(RouterTest, DiscoverMatchesTheModelNameAsOllamaReadsIt) {
  Fixture f("[[routers]]\ntype = \"discover\"\nprovider = \"b\"\n");
  EXPECT_THAT(route(f.router, query("gemma3")), HasSubstr("no rule matches"));  // nothing discovered yet
  f.catalog.set_models("b", {{"gemma3:latest", {}, false}, {"qwen3:8b", {}, false}});
  EXPECT_EQ(route(f.router, query("gemma3:latest")), "b:gemma3:latest");
  EXPECT_EQ(route(f.router, query("gemma3")), "b:gemma3");  // no tag: latest, sent as asked
  EXPECT_THAT(route(f.router, query("gemma3:2b")), HasSubstr("no rule matches"));
  EXPECT_THAT(route(f.router, query("gemma")), HasSubstr("no rule matches"));
  EXPECT_THAT(route(f.router, query("qwen3")), HasSubstr("no rule matches"));  // only :8b is there
  EXPECT_EQ(route(f.router, query("qwen3:8b")), "b:qwen3:8b");
}

TEST(RouterTest, DiscoveredCapabilitiesApplyToTheUntaggedName) {
  Fixture f("[[routers]]\ntype = \"discover\"\nprovider = \"b\"\n[[routers]]\ntype = \"prefix\"\nmodel_prefix = \"g\"\nprovider = \"c\"\n");
  f.catalog.set_models("b", {{"gemma3:latest", CapabilitySet{}, true}});  // no vision
  EXPECT_EQ(route(f.router, query("gemma3", {}, vision())), "c:gemma3");
  EXPECT_EQ(f.catalog.model("b", "gemma3")->name, "gemma3:latest");
}

TEST(RouterTest, PriceLatencyThroughputRankAndFilter) {
  Fixture price("[[routers]]\ntype = \"price\"\nmax_cost_per_1m_tokens = 1.0\n");
  EXPECT_EQ(route(price.router, query("m")), "a:m b:m");  // d is skipped (no key), c too expensive
  Fixture latency("[[routers]]\ntype = \"latency\"\n");
  EXPECT_EQ(route(latency.router, query("m")), "c:m b:m a:m");
  Fixture latency_max("[[routers]]\ntype = \"latency\"\nmax_latency_ms = 300\n");
  EXPECT_EQ(route(latency_max.router, query("m")), "c:m b:m");
  Fixture throughput("[[routers]]\ntype = \"throughput\"\nmin_tokens_per_sec = 10\n");
  // b has no figure, and a router without live figures cannot measure it: it comes last.
  EXPECT_EQ(route(throughput.router, query("m")), "c:m a:m b:m");
}

TEST(RouterTest, TiesKeepConfigOrder) {
  Fixture f("[[routers]]\ntype = \"price\"\nproviders = [\"b\", \"a\"]\n[[routers]]\ntype = \"price\"\n");
  // a and d cost 0 but d is unavailable; b before a in the rule's list only matters on ties.
  EXPECT_EQ(route(f.router, query("m")), "a:m b:m c:m");
}

TEST(RouterTest, FallbackScoresByBias) {
  Fixture quality("[[routers]]\ntype = \"fallback\"\nquality_bias = 1.0\n");
  EXPECT_EQ(route(quality.router, query("m")), "c:m b:m a:m");
  Fixture cheap("[[routers]]\ntype = \"fallback\"\nquality_bias = 0.0\n");
  EXPECT_EQ(route(cheap.router, query("m")), "a:m b:m c:m");
}

TEST(RouterTest, CapabilityMismatchPicksTheNextCandidateOfTheSameRule) {
  Fixture f("[[routers]]\ntype = \"price\"\n");
  // a declares no vision; b declares nothing (unknown: allowed); c declares vision.
  EXPECT_EQ(route(f.router, query("m", {}, vision())), "b:m c:m");
  // Discovery knowledge is used when the provider declares nothing.
  f.catalog.set_models("b", {{"m", CapabilitySet{}, true}});
  EXPECT_EQ(route(f.router, query("m", {}, vision())), "c:m");
}

TEST(RouterTest, NoQualifyingProviderSaysWhy) {
  Fixture f("[[routers]]\ntype = \"prefix\"\nmodel_prefix = \"x\"\nprovider = \"a\"\n");
  EXPECT_EQ(route(f.router, query("xm", {}, vision())),
            "error: no route for model 'xm': no available provider can serve it (it needs: vision)");
  Fixture g("[[routers]]\ntype = \"prefix\"\nmodel_prefix = \"x\"\nprovider = \"d\"\n");
  EXPECT_EQ(route(g.router, query("xm")), "error: no route for model 'xm': no available provider can serve it");
  auto d = g.router.route(query("xm"));
  EXPECT_EQ(d.error().code, Errc::NoRoute);
  EXPECT_EQ(d.error().status(), 400);
}

TEST(RouterTest, FallbacksComeFromLaterRulesWithoutDuplicates) {
  Fixture f(R"(
[[routers]]
type = "tag"
tag = "code"
provider = "b"
[[routers]]
type = "prefix"
model_prefix = "m"
provider = "b"
[[routers]]
type = "fallback"
quality_bias = 1.0
)");
  auto d = f.router.route(query("m", {"code"}));
  ASSERT_TRUE(d);
  EXPECT_EQ(chain(*d), "b:m c:m a:m");
  EXPECT_EQ(d->fallbacks[0].rule_index, 2);
}

TEST(RouterTest, FallbacksAreCappedByMaxAttempts) {
  Config c = testing::config_from(std::string(kProviders).replace(std::string(kProviders).find("max_attempts = 4"), 16, "max_attempts = 2") +
                                  "[[routers]]\ntype = \"fallback\"\n");
  Router r(c, nullptr, rules_of(c));
  auto d = r.route(query("m"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->fallbacks.size(), 1u);
}

TEST(RouterTest, RandomDrawsOnlyAmongQualifyingCandidatesByWeight) {
  Fixture f(R"(
[[routers]]
type = "random"
candidates = [
  { provider = "a", model = "small" },
  { provider = "d", model = "skipped" },
  { provider = "c", model = "big", weight = 3.0 },
]
)");
  // Weights 1 (a) and 3 (c): [0, 0.25) -> a, [0.25, 1) -> c; d never, whatever the draw.
  EXPECT_EQ(route(f.router, query("x", {}, {}, 0.0)), "a:small c:big");
  EXPECT_EQ(route(f.router, query("x", {}, {}, 0.24)), "a:small c:big");
  EXPECT_EQ(route(f.router, query("x", {}, {}, 0.25)), "c:big a:small");
  EXPECT_EQ(route(f.router, query("x", {}, {}, 0.999)), "c:big a:small");
  EXPECT_EQ(route(f.router, query("x", {}, vision(), 0.0)), "c:big");
}

TEST(RouterTest, RandomOverProvidersIsUniform) {
  Fixture f("[[routers]]\ntype = \"random\"\nproviders = [\"a\", \"b\", \"d\"]\nrewrite_model = \"r\"\n");
  EXPECT_EQ(route(f.router, query("x", {}, {}, 0.1)), "a:r b:r");
  EXPECT_EQ(route(f.router, query("x", {}, {}, 0.6)), "b:r a:r");
}

TEST(RouterTest, KnownModels) {
  Fixture f(R"(
[[routers]]
type = "prefix"
model_prefix = "l/"
provider = "a"
rewrite_model = "llama"
[[routers]]
type = "random"
candidates = [{ provider = "c", model = "big" }]
[[routers]]
type = "discover"
provider = "b"
)");
  f.catalog.set_models("b", {{"qwen3:8b", {}, false}});
  std::vector<std::string> names;
  for (const RouteTarget& t : f.router.known_models()) names.push_back(t.provider + ":" + t.model);
  EXPECT_EQ(names, (std::vector<std::string>{"a:llama", "c:big", "b:qwen3:8b"}));
}

}  // namespace
}  // namespace llmrouter

namespace llmrouter {
namespace {

std::string with_routing(std::string_view keys) {
  std::string text(kProviders);
  const std::string anchor = "max_attempts = 4\n";
  text.insert(text.find(anchor) + anchor.size(), keys);
  return text;
}

// A router with live figures over kProviders, and a way to record attempts on it.
struct LiveFixture {
  // `routing`: more [routing] keys, one per line.
  explicit LiveFixture(std::string_view rules, std::string_view routing = "")
      : config(testing::config_from(with_routing(routing) + std::string(rules))),
        live(config.routing),
        router(config, &catalog, rules_of(config), &live) {
    live.configure(config);
  }
  // `n` successful attempts of (provider, model) with time to first byte `ttft` ms.
  void measured(std::string_view provider, double ttft, int n, std::string_view model = "m") {
    for (int i = 0; i < n; ++i) {
      AttemptLease lease;
      ASSERT_FALSE(live.begin(live.slot(provider), model, lease));
      AttemptReport r;
      r.ok = true;
      r.ttft_ms = ttft;
      r.total_ms = ttft * 2;
      live.end(lease, r);
    }
  }
  void failed(std::string_view provider, int n) {
    for (int i = 0; i < n; ++i) {
      AttemptLease lease;
      if (live.begin(live.slot(provider), "m", lease)) return;
      AttemptReport r;
      r.provider_failure = true;
      live.end(lease, r);
    }
  }
  Config config;
  ModelCatalog catalog;
  LiveStats live;
  Router router;
};

TEST(RouterLiveTest, LatencyRanksByLiveFiguresOverPriorsAndExploresTheUnknown) {
  // a: prior 900; b: prior 300; c: prior 200; d: unavailable.
  LiveFixture f("[[routers]]\ntype = \"latency\"\n", "min_samples = 3\n");
  EXPECT_EQ(route(f.router, query("m")), "c:m b:m a:m");  // priors only
  f.measured("a", 50, 2);
  EXPECT_EQ(route(f.router, query("m")), "c:m b:m a:m");  // 2 of 3 samples: still the prior
  f.measured("a", 50, 1);
  EXPECT_EQ(route(f.router, query("m")), "a:m c:m b:m");  // measured: 50 ms beats the priors
  f.measured("c", 400, 3);
  EXPECT_EQ(route(f.router, query("m")), "a:m b:m c:m");
  // A model never measured on a provider uses the provider's figure over all its models.
  EXPECT_EQ(route(f.router, query("other")), "a:other b:other c:other");
}

TEST(RouterLiveTest, MaxLatencyAppliesToTheLiveFigure) {
  LiveFixture f("[[routers]]\ntype = \"latency\"\nmax_latency_ms = 500\n", "min_samples = 2\n");
  EXPECT_EQ(route(f.router, query("m")), "c:m b:m");  // a's prior, 900, is over
  f.measured("a", 100, 2);
  f.measured("b", 800, 2);
  EXPECT_EQ(route(f.router, query("m")), "a:m c:m");
  RouteQuery q = query("m");
  q.explain = true;
  auto d = f.router.route(q);
  ASSERT_TRUE(d);
  std::vector<std::string> seen;
  for (const ConsideredCandidate& c : d->considered)
    seen.push_back(c.provider + ": " + (c.passed_over.empty() ? c.ranked_by : c.passed_over));
  // What the rule left out, then its candidates in order (d ranks first on its prior of 1 ms,
  // and does not qualify).
  EXPECT_THAT(seen, ::testing::ElementsAre(
                        "b: ttft 800 ms (live over 2 samples) above max_latency_ms 500",
                        "d: unavailable: $D_KEY is not set", "a: ttft 100 ms (live over 2 samples)",
                        "c: ttft 200 ms (prior, 0 of 2 samples)"));
}

TEST(RouterLiveTest, ThroughputExploresProvidersWithoutANumber) {
  // b and d have no throughput_tokens_per_sec; d is unavailable.
  LiveFixture f("[[routers]]\ntype = \"throughput\"\n", "min_samples = 2\n");
  EXPECT_EQ(route(f.router, query("m")), "b:m c:m a:m");  // b explored first
}

TEST(RouterLiveTest, AnEjectedProviderIsPassedOverUnlessEveryCandidateIs) {
  LiveFixture f("[[routers]]\ntype = \"latency\"\n",
                "eject_after_failures = 2\neject_seconds = 60\n");
  f.failed("c", 2);
  EXPECT_EQ(route(f.router, query("m")), "b:m a:m");
  f.failed("b", 2);
  f.failed("a", 2);
  auto d = f.router.route(query("m"));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(d->despite_ejection);
  EXPECT_EQ(chain(*d), "c:m b:m a:m");
  EXPECT_THAT(d->reason, HasSubstr("every candidate is ejected"));
}

TEST(RouterLiveTest, AtCapacityEverywhereIsOverloadedWithRetryAfter) {
  LiveFixture f("[[routers]]\ntype = \"prefix\"\nmodel_prefix = \"m\"\nprovider = \"b\"\n");
  f.config.providers[1].max_concurrency = 1;
  f.live.configure(f.config);
  AttemptLease busy;
  ASSERT_FALSE(f.live.begin(f.live.slot("b"), "m", busy));
  auto d = f.router.route(query("m"));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::Overloaded);
  EXPECT_EQ(d.error().status(), 429);
  EXPECT_EQ(d.error().retry_after, "1");
  f.live.end(busy, AttemptReport{});
  EXPECT_EQ(route(f.router, query("m")), "b:m");
}

TEST(RouterLiveTest, ASessionKeepsItsTargetAmongTheRulesCandidates) {
  LiveFixture f("[[routers]]\ntype = \"price\"\n", "affinity = \"session\"\n");
  RouteQuery q = query("m");
  q.session = "s";
  f.live.remember("s", "c", "m");
  auto d = f.router.route(q);
  ASSERT_TRUE(d);
  EXPECT_EQ(chain(*d), "c:m a:m b:m");
  EXPECT_TRUE(d->by_session);
  // Not one of the winning rule's candidates (another model): routed afresh, and it moves.
  f.live.remember("s", "c", "elsewhere");
  EXPECT_EQ(route(f.router, q), "a:m b:m c:m");
  EXPECT_EQ(f.live.session("s")->first, "a");
  // No session key: the rule's own order.
  EXPECT_EQ(route(f.router, query("m")), "a:m b:m c:m");
}

}  // namespace
}  // namespace llmrouter
