// SPDX-License-Identifier: MIT
// config.example.toml is the reference users copy: it must load, and it must show every
// key the schema knows.
#include <set>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "llmrouter/config.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/registry.h"
#include "support/config_helpers.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;

constexpr const char* kExample = LLMROUTER_SOURCE_DIR "/config.example.toml";
constexpr const char* kDemo = LLMROUTER_SOURCE_DIR "/examples/demo/config.toml";

LoadOptions no_env() { return testing::fake_env(); }

TEST(ConfigExampleTest, LoadsWithEveryValueAsDocumented) {
  Result<Config> c = load_config_file(kExample, no_env());
  ASSERT_TRUE(c) << c.error().message;

  EXPECT_EQ(c->server.host, "127.0.0.1");
  EXPECT_EQ(c->server.port, 8090);
  EXPECT_TRUE(c->server.dashboard);
  EXPECT_EQ(c->server.api_key_env, "LLMROUTER_API_KEY");
  EXPECT_EQ(c->server.max_body_bytes, 33554432u);
  EXPECT_EQ(c->server.max_connections, 2048u);
  EXPECT_EQ(c->server.workers, 0u);
  EXPECT_EQ(c->server.max_header_bytes, 65536u);
  EXPECT_EQ(c->server.max_headers, 100u);
  EXPECT_EQ(c->server.header_timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(c->server.idle_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c->server.body_timeout, std::chrono::milliseconds(60000));
  EXPECT_TRUE(c->server.allowed_hosts.empty());
  EXPECT_TRUE(c->server.cors_origins.empty());
  EXPECT_FALSE(c->server.allow_unauthenticated);
  EXPECT_EQ(c->server.max_upstream_reply_bytes, 67108864u);
  EXPECT_EQ(c->server.metrics_max_models, 100u);

  EXPECT_TRUE(c->logging.enabled);
  EXPECT_EQ(c->logging.path, "logs/requests.jsonl");
  EXPECT_EQ(c->logging.level, LogLevel::Info);

  EXPECT_FALSE(c->telemetry.enabled);
  EXPECT_EQ(c->telemetry.otlp_endpoint, "http://localhost:4318");
  EXPECT_EQ(c->telemetry.service_name, "llmrouter");
  EXPECT_EQ(c->telemetry.sample_ratio, 1.0);
  EXPECT_EQ(c->routing.max_attempts, 3u);

  EXPECT_EQ(c->state.backend, StateBackend::Memory);
  EXPECT_EQ(c->state.on_error, StateErrorPolicy::Allow);
  ASSERT_EQ(c->keys.size(), 2u);
  EXPECT_EQ(c->keys[0].name, "alice");
  EXPECT_EQ(c->keys[0].rpm, 60u);
  EXPECT_EQ(c->keys[0].budget_period, BudgetPeriod::Month);
  EXPECT_EQ(c->keys[1].key_sha256,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");

  ASSERT_EQ(c->providers.size(), 6u);
  const ProviderConfig& local = c->providers[0];
  EXPECT_EQ(local.name, "local");
  EXPECT_EQ(local.format, WireFormat::OpenAI);
  EXPECT_EQ(local.base_url, "http://localhost:8080/v1");
  EXPECT_FALSE(local.api_key_env);
  EXPECT_EQ(local.cost_per_1m_tokens, 0.0);
  EXPECT_EQ(local.quality, 60.0);
  EXPECT_EQ(local.latency_ms, 900.0);
  EXPECT_EQ(local.throughput_tokens_per_sec, 20.0);
  EXPECT_EQ(local.connect_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(local.first_byte_timeout, std::chrono::milliseconds(300000));
  EXPECT_EQ(local.idle_timeout, std::chrono::milliseconds(120000));
  EXPECT_EQ(local.timeout, std::chrono::milliseconds(600000));
  EXPECT_EQ(local.capabilities.to_string(), "completion,tools");
  EXPECT_TRUE(local.available);

  const ProviderConfig& ollama = c->providers[1];
  EXPECT_EQ(ollama.format, WireFormat::Ollama);
  EXPECT_EQ(ollama.base_url, "http://localhost:11434");
  EXPECT_EQ(ollama.discovery_interval, std::chrono::seconds(300));
  EXPECT_EQ(ollama.discovery_loaded_interval, std::chrono::seconds(10));
  EXPECT_EQ(ollama.discovery_timeout, std::chrono::milliseconds(3000));
  EXPECT_TRUE(ollama.available);

  const ProviderConfig& anthropic = c->providers[3];
  EXPECT_EQ(anthropic.name, "anthropic");
  EXPECT_EQ(anthropic.format, WireFormat::Anthropic);
  EXPECT_EQ(anthropic.api_key_env, "ANTHROPIC_API_KEY");
  EXPECT_EQ(anthropic.cost_per_1m_tokens, 15.0);
  EXPECT_EQ(anthropic.capabilities.to_string(), "completion,tools,vision,thinking");
  ASSERT_EQ(anthropic.headers.size(), 1u);
  EXPECT_EQ(anthropic.headers[0].first, "x-request-source");
  EXPECT_EQ(anthropic.headers[0].second, "llmrouter");

  // Without keys in the environment, the cloud providers are skipped, the local ones kept.
  for (const char* name : {"openai", "anthropic", "cloudflare", "xai"}) {
    const ProviderConfig* p = c->find_provider(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_FALSE(p->available) << name;
  }
  EXPECT_EQ(c->warnings.size(), 4u);

  ASSERT_EQ(c->routers.size(), 8u);
  auto text = [&](std::size_t rule, std::string_view key) {
    const Value* v = c->routers[rule].settings.find(key);
    return v ? v->to_json() : std::string("absent");
  };
  EXPECT_EQ(c->routers[0].type, "prefix");
  EXPECT_EQ(text(0, "model_prefix"), R"("local/")");
  EXPECT_EQ(text(0, "rewrite_model"), R"("llama3.2-3b")");
  EXPECT_EQ(c->routers[1].type, "tag");
  EXPECT_EQ(text(1, "tag"), R"("code")");
  EXPECT_EQ(text(1, "provider"), R"("ollama")");
  EXPECT_EQ(c->routers[2].type, "discover");
  EXPECT_EQ(c->routers[3].type, "price");
  EXPECT_EQ(text(3, "providers"), R"(["local","cloudflare","openai"])");
  EXPECT_EQ(text(3, "max_cost_per_1m_tokens"), "5.0");
  EXPECT_EQ(c->routers[4].type, "latency");
  EXPECT_EQ(text(4, "max_latency_ms"), "500");
  EXPECT_EQ(c->routers[5].type, "throughput");
  EXPECT_EQ(text(5, "min_tokens_per_sec"), "30");
  EXPECT_EQ(c->routers[6].type, "random");
  EXPECT_EQ(
      text(6, "candidates"),
      R"([{"provider":"local","model":"llama3.2-3b"},{"provider":"ollama","model":"deepseek-r1:latest","weight":2.0}])");
  EXPECT_EQ(c->routers[7].type, "fallback");
  EXPECT_EQ(text(7, "quality_bias"), "0.7");
  // Every rule's own settings are valid: the pipeline builds.
  auto pipeline = Pipeline::build(*c, Registries::with_builtins());
  EXPECT_TRUE(pipeline) << pipeline.error().message;

  ASSERT_EQ(c->classifiers.size(), 1u);
  EXPECT_EQ(c->classifiers[0].id, "keyword");
  EXPECT_TRUE(c->classifiers[0].enabled);
  ASSERT_NE(c->classifiers[0].settings.find("tags"), nullptr);
  ASSERT_EQ(c->response_classifiers.size(), 1u);
  EXPECT_EQ(c->response_classifiers[0].id, "refusal");
  ASSERT_EQ(c->plugins.size(), 2u);
  EXPECT_EQ(c->plugins[0].id, "response-healing");
  EXPECT_TRUE(c->plugins[0].enabled);
  EXPECT_EQ(c->plugins[1].id, "pareto-router");
  EXPECT_FALSE(c->plugins[1].enabled);
  EXPECT_EQ(c->plugins[1].settings.find("default_tier")->as_string(), "medium");
}

// Collects the key paths of a parsed file in the schema's notation.
void collect_paths(const toml::node& node, const std::string& path, std::set<std::string>& out) {
  if (const toml::table* t = node.as_table()) {
    for (auto&& [k, v] : *t) {
      std::string key(k.str());
      // Free-form sections: "<group>.<id>" becomes "<group>.<id>"; only `enabled` is schema.
      if (path == "classifiers" || path == "response_classifiers" || path == "plugins") {
        if (const toml::table* ct = v.as_table(); ct && ct->contains("enabled")) {
          out.insert(path + ".<id>.enabled");
        }
        continue;
      }
      const std::string child = path.empty() ? key : path + "." + key;
      if (key == "headers") {  // a free-form table of header names
        out.insert(child);
        continue;
      }
      out.insert(child);
      collect_paths(v, child, out);
    }
  } else if (const toml::array* a = node.as_array()) {
    for (const toml::node& e : *a) {
      if (e.is_table()) collect_paths(e, path + "[]", out);
    }
  }
}

// The fixed schema and the keys of every built-in rule type, as registered.
std::vector<std::string> schema_keys() {
  std::vector<std::string> keys(config_schema_keys().begin(), config_schema_keys().end());
  const Registries builtins = Registries::with_builtins();
  for (std::string_view type : builtins.rule_names()) {
    for (const std::string& k : builtins.rule_keys(type)) {
      const std::string key = "routers[]." + k;
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  }
  return keys;
}

TEST(ConfigExampleTest, DocumentsEveryKeyOfTheSchema) {
  toml::table root = toml::parse_file(kExample);
  std::set<std::string> present;
  collect_paths(root, "", present);
  for (const std::string& key : schema_keys()) {
    EXPECT_TRUE(present.count(key)) << "config.example.toml does not show " << key;
  }
}

TEST(ConfigExampleTest, EveryKeyEveryCommentedSettingIsKnown) {
  // The reverse direction: a key in the example that the schema does not know would be a
  // load error, which LoadsWithEveryValueAsDocumented already catches; here we also make
  // sure no table is silently free-form by accident.
  toml::table root = toml::parse_file(kExample);
  std::set<std::string> present;
  collect_paths(root, "", present);
  std::set<std::string> schema;
  for (const std::string& k : schema_keys()) schema.insert(k);
  for (const std::string& p : present) {
    const bool table_prefix = std::any_of(schema.begin(), schema.end(), [&](const std::string& s) {
      return s.rfind(p + ".", 0) == 0 || s.rfind(p + "[].", 0) == 0;
    });
    EXPECT_TRUE(schema.count(p) || table_prefix) << p << " is not part of the schema";
  }
}

TEST(ConfigExampleTest, DemoConfigLoads) {
  Result<Config> c = load_config_file(kDemo, no_env());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->providers.size(), 3u);
  for (const ProviderConfig& p : c->providers) {
    EXPECT_TRUE(p.available) << p.name;
    EXPECT_EQ(p.base_url.rfind("http://127.0.0.1:8091", 0), 0u) << p.name;
  }
}

}  // namespace
}  // namespace llmrouter
