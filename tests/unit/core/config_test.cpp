// SPDX-License-Identifier: MIT
#include "llmrouter/config.h"

#include <map>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/pipeline.h"
#include "llmrouter/registry.h"
#include "support/config_helpers.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A minimal valid provider section, two lines long... kept at the end of test inputs so
// the line numbers of the lines under test are easy to read.
constexpr std::string_view kProvider =
    "[[providers]]\nname = \"local\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:8080/v1\"\n";

LoadOptions env(std::map<std::string, std::string> vars = {}) { return testing::fake_env(std::move(vars)); }

Result<Config> load(std::string_view text, LoadOptions options = env()) {
  return load_config_string(text, "test.toml", options);
}

// The whole error message of a load that must fail.
std::string error_of(std::string_view text, LoadOptions options = env()) {
  Result<Config> c = load(text, options);
  if (c) {
    ADD_FAILURE() << "expected a config error for:\n" << text;
    return {};
  }
  EXPECT_EQ(c.error().code, Errc::Config);
  return c.error().message;
}

// The whole error message of a config that loads but whose pipeline cannot be built: rule
// types and components check their own settings (as llmrouter-server --check reports).
std::string build_error_of(std::string_view text) {
  Result<Config> c = load(text);
  if (!c) return c.error().message;
  auto p = Pipeline::build(*c, Registries::with_builtins());
  if (p) {
    ADD_FAILURE() << "expected a config error for:\n" << text;
    return {};
  }
  EXPECT_EQ(p.error().code, Errc::Config);
  return p.error().message;
}

TEST(ConfigTest, MinimalConfigGetsDefaults) {
  Result<Config> c = load(kProvider);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->source, "test.toml");
  EXPECT_EQ(c->server.host, "127.0.0.1");
  EXPECT_EQ(c->server.port, 8090);
  EXPECT_FALSE(c->server.dashboard);
  EXPECT_FALSE(c->server.api_key_env);
  EXPECT_EQ(c->server.max_body_bytes, 32u << 20);
  EXPECT_EQ(c->server.max_connections, 2048u);
  EXPECT_EQ(c->server.max_header_bytes, 65536u);
  EXPECT_EQ(c->server.max_headers, 100u);
  EXPECT_EQ(c->server.header_timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(c->server.idle_timeout, std::chrono::milliseconds(5'000));
  EXPECT_EQ(c->server.body_timeout, std::chrono::milliseconds(60'000));
  EXPECT_TRUE(c->server.allowed_hosts.empty());
  EXPECT_TRUE(c->server.cors_origins.empty());
  EXPECT_FALSE(c->server.allow_unauthenticated);
  EXPECT_FALSE(c->logging.enabled);
  EXPECT_EQ(c->logging.path, "logs/requests.jsonl");
  EXPECT_EQ(c->logging.level, LogLevel::Info);
  EXPECT_FALSE(c->telemetry.enabled);
  EXPECT_EQ(c->telemetry.otlp_endpoint, "http://localhost:4318");
  EXPECT_EQ(c->telemetry.service_name, "llmrouter");
  EXPECT_EQ(c->telemetry.sample_ratio, 1.0);
  EXPECT_EQ(c->routing.max_attempts, 3u);
  ASSERT_EQ(c->providers.size(), 1u);
  const ProviderConfig& p = c->providers[0];
  EXPECT_EQ(p.name, "local");
  EXPECT_EQ(p.format, WireFormat::OpenAI);
  EXPECT_EQ(p.base_url, "http://127.0.0.1:8080/v1");
  EXPECT_TRUE(p.available);
  EXPECT_EQ(p.connect_timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(p.first_byte_timeout, std::chrono::milliseconds(300'000));
  EXPECT_EQ(p.idle_timeout, std::chrono::milliseconds(120'000));
  EXPECT_FALSE(p.timeout);
  EXPECT_FALSE(p.capabilities_declared);
  EXPECT_EQ(p.discovery_interval, std::chrono::seconds(300));
  EXPECT_EQ(p.discovery_loaded_interval, std::chrono::seconds(10));
  EXPECT_EQ(p.discovery_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(p.loc, (SourceLoc{1, 1}));
  EXPECT_TRUE(c->routers.empty());
  EXPECT_TRUE(c->warnings.empty());
}

TEST(ConfigTest, ResponsesIsAProviderFormat) {
  Result<Config> c = load(
      "[[providers]]\nname = \"oai\"\nformat = \"responses\"\nbase_url = "
      "\"https://api.openai.com/v1/\"\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->providers.size(), 1u);
  EXPECT_EQ(c->providers[0].format, WireFormat::Responses);
  EXPECT_EQ(c->providers[0].base_url, "https://api.openai.com/v1");
}

TEST(ConfigTest, SyntaxErrorNamesFileLineAndColumn) {
  EXPECT_EQ(error_of("[server]\nport = 80x\n"),
            "test.toml:2:10: Error while parsing decimal integer: expected digit, saw 'x'");
}

TEST(ConfigTest, BadTableHeaderIsAnErrorNotACrash) {
  EXPECT_EQ(error_of("[/x]\n"),
            "test.toml:1:2: Error while parsing key: expected bare key starting character or "
            "string delimiter, saw '/'");
}

TEST(ConfigTest, MissingProvidersIsAnError) {
  EXPECT_EQ(error_of("[server]\nport = 1\n"),
            "test.toml:1:1: providers: missing: at least one [[providers]] table is required");
}

TEST(ConfigTest, EmptyProvidersIsAnError) {
  EXPECT_EQ(error_of("providers = []\n"),
            "test.toml:1:13: providers: at least one [[providers]] table is required");
}

TEST(ConfigTest, UnknownRootKeySuggestsClosest) {
  EXPECT_EQ(error_of(std::string(kProvider) + "[[routes]]\ntype = \"prefix\"\n"),
            "test.toml:5:3: routes: unknown key; did you mean 'routers'?");
}

TEST(ConfigTest, UnknownKeySuggestsClosest) {
  EXPECT_EQ(error_of(std::string("[server]\nprot = 8080\n") + std::string(kProvider)),
            "test.toml:2:1: server.prot: unknown key; did you mean 'port'?");
}

TEST(ConfigTest, UnknownKeyWithoutCloseMatchListsKnownKeys) {
  EXPECT_EQ(error_of(std::string("[routing]\nretries = 2\n") + std::string(kProvider)),
            "test.toml:2:1: routing.retries: unknown key; known keys: max_attempts, "
            "stats_half_life_s, min_samples, "
            "eject_after_failures, eject_seconds, queue_timeout_ms, affinity, affinity_ttl_s, "
            "enforce_json_schema");
}

TEST(ConfigTest, WrongTypeSaysWhatWasExpected) {
  EXPECT_EQ(error_of(std::string("[server]\nport = \"8090\"\n") + std::string(kProvider)),
            "test.toml:2:8: server.port: expected an integer, found a string");
  EXPECT_EQ(error_of(std::string("[server]\ndashboard = 1\n") + std::string(kProvider)),
            "test.toml:2:13: server.dashboard: expected a boolean (true or false), found an integer");
  EXPECT_EQ(error_of(std::string("server = 3\n") + std::string(kProvider)),
            "test.toml:1:10: server: expected a table, found an integer");
}

TEST(ConfigTest, PortOutOfRange) {
  EXPECT_EQ(error_of(std::string("[server]\nport = 70000\n") + std::string(kProvider)),
            "test.toml:2:8: server.port: must be between 0 and 65535, got 70000");
  EXPECT_EQ(error_of(std::string("[server]\nport = -1\n") + std::string(kProvider)),
            "test.toml:2:8: server.port: must be between 0 and 65535, got -1");
}

TEST(ConfigTest, OtherRangesAreChecked) {
  EXPECT_EQ(error_of(std::string("[routing]\nmax_attempts = 0\n") + std::string(kProvider)),
            "test.toml:2:16: routing.max_attempts: must be between 1 and 10, got 0");
  EXPECT_EQ(error_of(std::string("[telemetry]\nsample_ratio = 1.5\n") + std::string(kProvider)),
            "test.toml:2:16: telemetry.sample_ratio: must be between 0 and 1, got 1.5");
  EXPECT_EQ(error_of(std::string("[server]\nmax_connections = 0\n") + std::string(kProvider)),
            "test.toml:2:19: server.max_connections: must be between 1 and 1000000, got 0");
}

// ---- The HTTP edge's limits and checks

TEST(ConfigTest, ServerEdgeKeysAreRead) {
  Result<Config> c = load(
      std::string("[server]\nmax_header_bytes = 1024\nmax_headers = 10000\n"
                  "header_timeout_ms = 1\nidle_timeout_ms = 86400000\nbody_timeout_ms = 2500\n"
                  "allowed_hosts = [\"Router.LAN\", \"10.0.0.5\", \"[FD00::5]\", \"my_host\"]\n"
                  "cors_origins = [\"HTTPS://App.Example.com\", \"http://localhost:5173\", "
                  "\"http://[::1]:3000\"]\n"
                  "allow_unauthenticated = true\n") +
      std::string(kProvider));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server.max_header_bytes, 1024u);
  EXPECT_EQ(c->server.max_headers, 10000u);
  EXPECT_EQ(c->server.header_timeout, std::chrono::milliseconds(1));
  EXPECT_EQ(c->server.idle_timeout, std::chrono::milliseconds(86'400'000));
  EXPECT_EQ(c->server.body_timeout, std::chrono::milliseconds(2500));
  EXPECT_THAT(c->server.allowed_hosts, ElementsAre("router.lan", "10.0.0.5", "[fd00::5]", "my_host"));
  EXPECT_THAT(c->server.cors_origins,
              ElementsAre("https://app.example.com", "http://localhost:5173", "http://[::1]:3000"));
  EXPECT_TRUE(c->server.allow_unauthenticated);
}

TEST(ConfigTest, ReplyCapAndMetricsModelCapAreRead) {
  Result<Config> c = load(std::string("[server]\nmax_upstream_reply_bytes = 1048576\nmetrics_max_models = 7\n") +
                          std::string(kProvider));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server.max_upstream_reply_bytes, 1048576u);
  EXPECT_EQ(c->server.metrics_max_models, 7u);
  EXPECT_EQ(error_of(std::string("[server]\nmetrics_max_models = 0\n") + std::string(kProvider)),
            "test.toml:2:22: server.metrics_max_models: must be between 1 and 100000, got 0");
}

TEST(ConfigTest, ForwardClientHeadersAreNamesOrPrefixes) {
  Result<Config> c = load(std::string(kProvider) + "forward_client_headers = [\"OpenAI-Organization\", \"x-tenant-*\"]\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->providers[0].forward_client_headers);
  EXPECT_THAT(*c->providers[0].forward_client_headers, ElementsAre("openai-organization", "x-tenant-*"));
  Result<Config> unset = load(std::string(kProvider));
  ASSERT_TRUE(unset);
  EXPECT_FALSE(unset->providers[0].forward_client_headers);
  const std::string bad = error_of(std::string(kProvider) + "forward_client_headers = [\"x y\", \"authorization\", \"*\"]\n");
  EXPECT_THAT(bad, HasSubstr("forward_client_headers[0]: expected a header name"));
  EXPECT_THAT(bad, HasSubstr("forward_client_headers[1]: 'authorization' would pass the client's credentials"));
  EXPECT_THAT(bad, HasSubstr("forward_client_headers[2]: '*' would pass"));
}

TEST(ConfigTest, CorsOriginsDropTheSchemesDefaultPort) {
  // Browsers leave the default port out of Origin, so it is left out here too.
  Result<Config> c = load(std::string("[server]\ncors_origins = [\"https://a.example:443\", \"http://b:80\", "
                                      "\"http://c:443\", \"https://d:8443\"]\n") +
                          std::string(kProvider));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_THAT(c->server.cors_origins,
              ElementsAre("https://a.example", "http://b", "http://c:443", "https://d:8443"));
}

TEST(ConfigTest, ServerEdgeLimitsAreRangeChecked) {
  EXPECT_EQ(error_of(std::string("[server]\nmax_header_bytes = 1023\n") + std::string(kProvider)),
            "test.toml:2:20: server.max_header_bytes: must be between 1024 and 1048576, got 1023");
  EXPECT_EQ(error_of(std::string("[server]\nmax_header_bytes = 1048577\n") + std::string(kProvider)),
            "test.toml:2:20: server.max_header_bytes: must be between 1024 and 1048576, got 1048577");
  EXPECT_EQ(error_of(std::string("[server]\nmax_headers = 0\n") + std::string(kProvider)),
            "test.toml:2:15: server.max_headers: must be between 1 and 10000, got 0");
  EXPECT_EQ(error_of(std::string("[server]\nmax_headers = 10001\n") + std::string(kProvider)),
            "test.toml:2:15: server.max_headers: must be between 1 and 10000, got 10001");
  EXPECT_EQ(error_of(std::string("[server]\nheader_timeout_ms = 0\nidle_timeout_ms = 86400001\n"
                                 "body_timeout_ms = -5\n") +
                     std::string(kProvider)),
            "test.toml:2:21: server.header_timeout_ms: must be between 1 and 86400000, got 0\n"
            "test.toml:3:19: server.idle_timeout_ms: must be between 1 and 86400000, got 86400001\n"
            "test.toml:4:19: server.body_timeout_ms: must be between 1 and 86400000, got -5");
  EXPECT_EQ(error_of(std::string("[server]\nheader_timeout_ms = \"10s\"\n") + std::string(kProvider)),
            "test.toml:2:21: server.header_timeout_ms: expected an integer, found a string");
  EXPECT_EQ(error_of(std::string("[server]\nallow_unauthenticated = \"yes\"\n") + std::string(kProvider)),
            "test.toml:2:25: server.allow_unauthenticated: expected a boolean (true or false), "
            "found a string");
}

TEST(ConfigTest, AllowedHostsMustBeHostNamesWithoutPort) {
  EXPECT_EQ(error_of(std::string("[server]\nallowed_hosts = \"router.lan\"\n") + std::string(kProvider)),
            "test.toml:2:17: server.allowed_hosts: expected an array of strings, found a string");
  EXPECT_EQ(error_of(std::string("[server]\nallowed_hosts = [\"ok\", 5]\n") + std::string(kProvider)),
            "test.toml:2:24: server.allowed_hosts[1]: expected a string, found an integer");
  EXPECT_EQ(error_of(std::string("[server]\nallowed_hosts = [\"\"]\n") + std::string(kProvider)),
            "test.toml:2:18: server.allowed_hosts[0]: must not be empty");
  const std::string_view bad[] = {"router.lan:8090", "http://router.lan", "router.lan/", "my router",
                                  "::1", "[::1]:8090", "[router]", "[]", "user@router.lan"};
  for (std::string_view host : bad) {
    EXPECT_EQ(error_of(fmt::format("[server]\nallowed_hosts = [\"{}\"]\n{}", host, kProvider)),
              fmt::format("test.toml:2:18: server.allowed_hosts[0]: expected a host name or address without "
                          "scheme or port (like \"router.lan\", \"10.0.0.5\" or \"[fd00::5]\"), got '{}'",
                          host));
  }
}

TEST(ConfigTest, CorsOriginsMustBeOrigins) {
  EXPECT_EQ(error_of(std::string("[server]\ncors_origins = [true]\n") + std::string(kProvider)),
            "test.toml:2:17: server.cors_origins[0]: expected a string, found a boolean");
  const std::string_view bad[] = {"",
                                  "*",
                                  "null",
                                  "app.example.com",
                                  "ftp://app.example.com",
                                  "https://app.example.com/",
                                  "https://app.example.com/path",
                                  "https://",
                                  "https://app.example.com:",
                                  "https://app.example.com:0",
                                  "https://app.example.com:65536",
                                  "https://app.example.com:80x",
                                  "https://user@app.example.com",
                                  "https://[::1",
                                  "https://app example.com"};
  for (std::string_view origin : bad) {
    EXPECT_EQ(error_of(fmt::format("[server]\ncors_origins = [\"{}\"]\n{}", origin, kProvider)),
              fmt::format("test.toml:2:17: server.cors_origins[0]: expected an origin http(s)://host[:port] "
                          "without path or trailing '/' (like \"https://app.example.com\"), got '{}'",
                          origin));
  }
}

TEST(ConfigTest, TheOtlpEndpointMustBeAnHttpUrl) {
  EXPECT_EQ(error_of(std::string("[telemetry]\nenabled = true\notlp_endpoint = \"localhost:4318\"\n") +
                     std::string(kProvider)),
            "test.toml:3:17: telemetry.otlp_endpoint: expected an http:// or https:// URL, got 'localhost:4318'");
  EXPECT_EQ(error_of(std::string("[telemetry]\notlp_endpoint = \"grpc://collector:4317\"\n") + std::string(kProvider)),
            "test.toml:2:17: telemetry.otlp_endpoint: expected an http:// or https:// URL, got 'grpc://collector:4317'");
  Result<Config> ok = load_config_string(std::string("[telemetry]\notlp_endpoint = \"https://otel.example.com:4318/\"\n") +
                                             std::string(kProvider),
                                         "test.toml", env());
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->telemetry.otlp_endpoint, "https://otel.example.com:4318");  // trailing '/' dropped
}

TEST(ConfigTest, UnknownLogLevelSuggests) {
  EXPECT_EQ(error_of(std::string("[logging]\nlevel = \"warning\"\n") + std::string(kProvider)),
            "test.toml:2:9: logging.level: unknown level 'warning'; expected one of debug, info, "
            "warn, error; did you mean 'warn'?");
}

TEST(ConfigTest, UnknownFormatSuggests) {
  EXPECT_EQ(error_of("[[providers]]\nname = \"a\"\nformat = \"opena\"\nbase_url = \"http://h\"\n"),
            "test.toml:3:10: providers[0].format: unknown format 'opena'; expected one of "
            "openai, anthropic, responses, ollama; did you mean 'openai'?");
}

TEST(ConfigTest, MissingRequiredProviderKeysPointAtTheTable) {
  EXPECT_EQ(error_of("[[providers]]\nname = \"a\"\n"),
            "test.toml:1:1: providers[0].format: missing required key (a string)\n"
            "test.toml:1:1: providers[0].base_url: missing required key (a string)");
}

TEST(ConfigTest, DuplicateProviderNames) {
  EXPECT_EQ(error_of(std::string(kProvider) + std::string(kProvider)),
            "test.toml:6:8: providers[1].name: duplicate provider name 'local' (first defined "
            "at line 1)");
}

TEST(ConfigTest, NegativeNumbersAreRejected) {
  EXPECT_EQ(error_of(std::string(kProvider) + "cost_per_1m_tokens = -1\n"),
            "test.toml:5:22: providers[0].cost_per_1m_tokens: must be >= 0, got -1");
  EXPECT_EQ(error_of(std::string(kProvider) + "latency_ms = -0.5\n"),
            "test.toml:5:14: providers[0].latency_ms: must be >= 0, got -0.5");
}

TEST(ConfigTest, BaseUrlMustBeHttp) {
  EXPECT_EQ(error_of("[[providers]]\nname = \"a\"\nformat = \"openai\"\nbase_url = \"localhost:8080\"\n"),
            "test.toml:4:12: providers[0].base_url: expected an http:// or https:// URL, got "
            "'localhost:8080'");
}

TEST(ConfigTest, BaseUrlTrailingSlashIsRemoved) {
  Result<Config> c = load("[[providers]]\nname = \"a\"\nformat = \"ollama\"\nbase_url = \"http://h:11434//\"\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->providers[0].base_url, "http://h:11434");
  EXPECT_EQ(c->providers[0].format, WireFormat::Ollama);
}

TEST(ConfigTest, ApiKeyEnvMustBeAVariableName) {
  EXPECT_EQ(error_of(std::string(kProvider) + "api_key_env = \"sk-abc123\"\n"),
            "test.toml:5:15: providers[0].api_key_env: 'sk-abc123' is not an environment "
            "variable name (letters, digits and '_'); put the key itself in the environment, "
            "never in the config");
}

TEST(ConfigTest, UnknownCapabilitySuggests) {
  EXPECT_EQ(error_of(std::string(kProvider) + "capabilities = [\"tools\", \"visoin\"]\n"),
            "test.toml:5:26: providers[0].capabilities[1]: unknown capability 'visoin'; expected "
            "one of completion, tools, vision, thinking, embedding, insert, coding; did you mean "
            "'vision'?");
}

TEST(ConfigTest, HeadersAreValidated) {
  EXPECT_EQ(error_of(std::string(kProvider) + "headers = { \"bad header\" = \"x\" }\n"),
            "test.toml:5:13: providers[0].headers.\"bad header\": not a valid HTTP header name");
  EXPECT_EQ(error_of(std::string(kProvider) + "headers = { x-a = \"1\\r\\nx-b: 2\" }\n"),
            "test.toml:5:19: providers[0].headers.x-a: a header value must not contain CR, LF or NUL");
  EXPECT_EQ(error_of(std::string(kProvider) + "headers = { x-a = 1 }\n"),
            "test.toml:5:19: providers[0].headers.x-a: expected a string, found an integer");
}

TEST(ConfigTest, ProviderFieldsAreRead) {
  Result<Config> c = load(std::string(kProvider) +
                          "api_key_env = \"LOCAL_KEY\"\ncost_per_1m_tokens = 2\nquality = 7.5\n"
                          "latency_ms = 100\nthroughput_tokens_per_sec = 50.5\n"
                          "connect_timeout_ms = 1000\nfirst_byte_timeout_ms = 2000\n"
                          "idle_timeout_ms = 3000\ntimeout_ms = 4000\n"
                          "headers = { x-b = \"2\", x-a = \"1\" }\ncapabilities = [\"vision\"]\n",
                          env({{"LOCAL_KEY", "secret"}}));
  ASSERT_TRUE(c) << c.error().message;
  const ProviderConfig& p = c->providers[0];
  EXPECT_EQ(p.api_key_env, "LOCAL_KEY");
  EXPECT_TRUE(p.available);
  EXPECT_EQ(p.cost_per_1m_tokens, 2.0);
  EXPECT_EQ(p.quality, 7.5);
  EXPECT_EQ(p.latency_ms, 100.0);
  EXPECT_EQ(p.throughput_tokens_per_sec, 50.5);
  EXPECT_EQ(p.connect_timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(p.first_byte_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(p.idle_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(p.timeout, std::chrono::milliseconds(4000));
  ASSERT_EQ(p.headers.size(), 2u);
  EXPECT_TRUE(p.capabilities_declared);
  EXPECT_TRUE(p.capabilities.contains(Capability::Vision));
  EXPECT_FALSE(p.capabilities.contains(Capability::Tools));
}

TEST(ConfigTest, TimeoutsMustBePositive) {
  EXPECT_EQ(error_of(std::string(kProvider) + "connect_timeout_ms = 0\n"),
            "test.toml:5:22: providers[0].connect_timeout_ms: must be between 1 and 86400000, got 0");
}

// ---- Model discovery settings (ollama providers only)

constexpr std::string_view kOllama =
    "[[providers]]\nname = \"local\"\nformat = \"ollama\"\nbase_url = \"http://127.0.0.1:11434\"\n";

TEST(ConfigTest, DiscoverySettingsAreRead) {
  Result<Config> c = load(
      std::string(kOllama) +
      "discovery_interval_s = 0\ndiscovery_loaded_interval_s = 0\ndiscovery_timeout_ms = 250\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->providers[0].discovery_interval, std::chrono::seconds(0));
  EXPECT_EQ(c->providers[0].discovery_loaded_interval, std::chrono::seconds(0));
  EXPECT_EQ(c->providers[0].discovery_timeout, std::chrono::milliseconds(250));
  c = load(std::string(kOllama) +
           "discovery_interval_s = 86400\ndiscovery_loaded_interval_s = "
           "86400\ndiscovery_timeout_ms = 600000\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->providers[0].discovery_interval, std::chrono::seconds(86400));
  EXPECT_EQ(c->providers[0].discovery_loaded_interval, std::chrono::seconds(86400));
  EXPECT_EQ(c->providers[0].discovery_timeout, std::chrono::milliseconds(600000));
  c = load(std::string(kOllama) + "discovery_loaded_interval_s = 1\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->providers[0].discovery_loaded_interval, std::chrono::seconds(1));
  EXPECT_EQ(c->providers[0].discovery_interval, std::chrono::seconds(300));  // the default
}

TEST(ConfigTest, DiscoverySettingsAreRangeChecked) {
  EXPECT_EQ(error_of(std::string(kOllama) + "discovery_interval_s = -1\ndiscovery_timeout_ms = 0\n"),
            "test.toml:5:24: providers[0].discovery_interval_s: must be between 0 and 86400, got -1\n"
            "test.toml:6:24: providers[0].discovery_timeout_ms: must be between 1 and 600000, got 0");
  EXPECT_EQ(error_of(std::string(kOllama) + "discovery_timeout_ms = 600001\n"),
            "test.toml:5:24: providers[0].discovery_timeout_ms: must be between 1 and 600000, got 600001");
  EXPECT_EQ(error_of(std::string(kOllama) + "discovery_interval_s = \"5m\"\n"),
            "test.toml:5:24: providers[0].discovery_interval_s: expected an integer, found a string");
  EXPECT_EQ(error_of(std::string(kOllama) + "discovery_loaded_interval_s = -1\n"),
            "test.toml:5:31: providers[0].discovery_loaded_interval_s: must be between 0 and "
            "86400, got -1");
  EXPECT_EQ(error_of(std::string(kOllama) + "discovery_loaded_interval_s = 86401\n"),
            "test.toml:5:31: providers[0].discovery_loaded_interval_s: must be between 0 and "
            "86400, got 86401");
  EXPECT_EQ(error_of(std::string(kOllama) + "discovery_loaded_interval_s = 2.5\n"),
            "test.toml:5:31: providers[0].discovery_loaded_interval_s: expected an integer, found "
            "a floating-point number");
  EXPECT_EQ(error_of(std::string(kOllama) + "discovery_loaded_interval_s = \"10s\"\n"),
            "test.toml:5:31: providers[0].discovery_loaded_interval_s: expected an integer, found "
            "a string");
  // A misspelt key is an unknown key, with a suggestion.
  EXPECT_THAT(
      error_of(std::string(kOllama) + "discovery_loaded_interval = 10\n"),
      HasSubstr("test.toml:5:1: providers[0].discovery_loaded_interval: unknown key; did you mean "
                "'discovery_loaded_interval_s'?"));
}

TEST(ConfigTest, DiscoverySettingsOnlyApplyToOllamaProviders) {
  EXPECT_EQ(
      error_of(std::string(kProvider) + "discovery_interval_s = 60\ndiscovery_loaded_interval_s = "
                                        "5\ndiscovery_timeout_ms = 500\n"),
      "test.toml:5:24: providers[0].discovery_interval_s: applies only to format = \"ollama\" "
      "providers "
      "(model discovery asks Ollama's /api/tags and /api/ps); this provider's format is 'openai'\n"
      "test.toml:6:31: providers[0].discovery_loaded_interval_s: applies only to format = "
      "\"ollama\" "
      "providers (model discovery asks Ollama's /api/tags and /api/ps); this provider's format is "
      "'openai'\n"
      "test.toml:7:24: providers[0].discovery_timeout_ms: applies only to format = \"ollama\" "
      "providers "
      "(model discovery asks Ollama's /api/tags and /api/ps); this provider's format is 'openai'");
  // An unknown format is reported once, without a second error about discovery.
  EXPECT_EQ(error_of("[[providers]]\nname = \"x\"\nformat = \"olama\"\nbase_url = \"http://h\"\n"
                     "discovery_interval_s = 60\n"),
            "test.toml:3:10: providers[0].format: unknown format 'olama'; expected one of openai, "
            "anthropic, "
            "responses, ollama; did you mean 'ollama'?");
  // Responses providers have no discovery either.
  EXPECT_EQ(
      error_of("[[providers]]\nname = \"x\"\nformat = \"responses\"\nbase_url = \"http://h\"\n"
               "discovery_interval_s = 60\n"),
      "test.toml:5:24: providers[0].discovery_interval_s: applies only to format = \"ollama\" "
      "providers "
      "(model discovery asks Ollama's /api/tags and /api/ps); this provider's format is "
      "'responses'");
}

// ---- Provider availability

TEST(ConfigTest, ProviderWithUnsetKeyIsSkippedWithAWarning) {
  Result<Config> c = load(std::string(kProvider) +
                          "[[providers]]\nname = \"cloud\"\nformat = \"anthropic\"\n"
                          "base_url = \"https://api.example.com\"\napi_key_env = \"CLOUD_KEY\"\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->providers[0].available);
  EXPECT_FALSE(c->providers[1].available);
  EXPECT_EQ(c->providers[1].unavailable_reason, "$CLOUD_KEY is not set");
  EXPECT_THAT(c->warnings, ElementsAre("provider 'cloud' skipped: $CLOUD_KEY is not set"));
}

TEST(ConfigTest, ProviderWithEmptyKeyIsSkipped) {
  Result<Config> c = load(std::string(kProvider) +
                              "[[providers]]\nname = \"cloud\"\nformat = \"openai\"\n"
                              "base_url = \"https://api.example.com\"\napi_key_env = \"CLOUD_KEY\"\n",
                          env({{"CLOUD_KEY", ""}}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->providers[1].available);
  EXPECT_THAT(c->warnings, ElementsAre("provider 'cloud' skipped: $CLOUD_KEY is empty"));
}

TEST(ConfigTest, ProviderWithKeySetIsAvailable) {
  Result<Config> c = load("[[providers]]\nname = \"cloud\"\nformat = \"openai\"\n"
                          "base_url = \"https://api.example.com\"\napi_key_env = \"CLOUD_KEY\"\n",
                          env({{"CLOUD_KEY", "k"}}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->providers[0].available);
  EXPECT_TRUE(c->warnings.empty());
}

TEST(ConfigTest, NoAvailableProviderIsAnError) {
  EXPECT_EQ(error_of("[[providers]]\nname = \"a\"\nformat = \"openai\"\nbase_url = \"https://h\"\n"
                     "api_key_env = \"A_KEY\"\n"
                     "[[providers]]\nname = \"b\"\nformat = \"openai\"\nbase_url = \"https://h\"\n"
                     "api_key_env = \"B_KEY\"\n"),
            "test.toml:1:1: providers: no provider is available: every provider's API key "
            "variable is unset or empty (a needs $A_KEY, b needs $B_KEY)");
}

// ---- Router rules

TEST(ConfigTest, AllRuleTypesLoad) {
  Result<Config> c = load(std::string(kProvider) +
                          "[[routers]]\ntype = \"prefix\"\nmodel_prefix = \"local/\"\nprovider = \"local\"\nrewrite_model = \"m\"\n"
                          "[[routers]]\ntype = \"tag\"\ntag = \"code\"\nprovider = \"local\"\n"
                          "[[routers]]\ntype = \"discover\"\nprovider = \"local\"\n"
                          "[[routers]]\ntype = \"price\"\nproviders = [\"local\"]\nmax_cost_per_1m_tokens = 3\n"
                          "[[routers]]\ntype = \"latency\"\nmax_latency_ms = 500\n"
                          "[[routers]]\ntype = \"throughput\"\nmin_tokens_per_sec = 30\n"
                          "[[routers]]\ntype = \"fallback\"\nquality_bias = 0.7\n"
                          "[[routers]]\ntype = \"random\"\ncandidates = [{ provider = \"local\", model = \"x\", weight = 2 }]\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->routers.size(), 8u);
  EXPECT_EQ(c->routers[0].type, "prefix");
  EXPECT_EQ(c->routers[0].path, "routers[0]");
  // Settings keep the file's order and positions, for the rule type's factory to check.
  EXPECT_EQ(c->routers[0].settings.to_json(),
            R"({"model_prefix":"local/","provider":"local","rewrite_model":"m"})");
  EXPECT_EQ(c->routers[0].loc, (SourceLoc{5, 1}));
  EXPECT_EQ(c->routers[0].type_loc, (SourceLoc{6, 8}));
  EXPECT_EQ(c->routers[0].settings.find("provider")->loc, (SourceLoc{8, 12}));
  EXPECT_EQ(c->routers[1].type, "tag");
  EXPECT_EQ(c->routers[7].type, "random");
  EXPECT_EQ(c->routers[7].settings.to_json(),
            R"({"candidates":[{"provider":"local","model":"x","weight":2}]})");
  EXPECT_TRUE(Pipeline::build(*c, Registries::with_builtins()));
}

TEST(ConfigTest, UnknownRuleTypeSuggests) {
  EXPECT_EQ(build_error_of(std::string(kProvider) + "[[routers]]\ntype = \"prefx\"\n"),
            "test.toml:6:8: routers[0].type: unknown rule type 'prefx'; expected one of prefix, "
            "tag, discover, price, latency, throughput, fallback, random; did you mean 'prefix'?");
}

TEST(ConfigTest, AdaptiveRoutingKeysAreCheckedWithTheirPositions) {
  EXPECT_EQ(build_error_of(std::string(kProvider) +
                           "[[routers]]\ntype = \"latency\"\nmeasure = \"p99\"\n"),
            "test.toml:7:11: routers[0].measure: expected \"ttft\" (time to first byte, the "
            "default) or \"total\" "
            "(time to the last byte), got 'p99'");
  EXPECT_EQ(
      build_error_of(
          std::string(kProvider) +
          "[[routers]]\ntype = \"discover\"\nprovider = \"local\"\nproviders = [\"local\"]\n"),
      "test.toml:5:1: routers[0].providers: give either 'provider' or 'providers', not both");
  EXPECT_EQ(
      build_error_of(std::string(kProvider) + "[[routers]]\ntype = \"discover\"\n"),
      "test.toml:5:1: routers[0].provider: required: the Ollama provider ('provider') or providers "
      "('providers') whose discovered models this rule routes to");
  EXPECT_EQ(error_of("[routing]\naffinity = \"sesion\"\n" + std::string(kProvider)),
            "test.toml:2:12: routing.affinity: unknown affinity 'sesion'; expected one of none, "
            "session; did you "
            "mean 'session'?");
  EXPECT_EQ(error_of("[routing]\neject_seconds = 0\n" + std::string(kProvider)),
            "test.toml:2:17: routing.eject_seconds: must be between 0.1 and 600, got 0");
  EXPECT_EQ(
      error_of("[routing]\nenforce_json_schema = \"yes\"\n" + std::string(kProvider)),
      "test.toml:2:23: routing.enforce_json_schema: expected a boolean (true or false), found "
      "a string");
  EXPECT_EQ(error_of(std::string(kProvider) + "max_concurrency = -1\n"),
            "test.toml:5:19: providers[0].max_concurrency: must be between 0 and 1000000, got -1");
  Result<Config> c = load(
      "[routing]\nstats_half_life_s = 30\nmin_samples = 3\neject_after_failures = 0\n"
      "queue_timeout_ms = 250\naffinity = \"session\"\naffinity_ttl_s = 90\n"
      "enforce_json_schema = true\n" +
      std::string(kProvider) + "max_concurrency = 8\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->routing.stats_half_life, std::chrono::milliseconds(30'000));
  EXPECT_EQ(c->routing.min_samples, 3u);
  EXPECT_EQ(c->routing.eject_after_failures, 0u);
  EXPECT_EQ(c->routing.queue_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(c->routing.affinity, Affinity::Session);
  EXPECT_EQ(c->routing.affinity_ttl, std::chrono::milliseconds(90'000));
  EXPECT_TRUE(c->routing.enforce_json_schema);
  EXPECT_EQ(c->providers[0].max_concurrency, 8u);
}

TEST(ConfigTest, StateSectionIsReadAndChecked) {
  Result<Config> defaults = load(std::string(kProvider));
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_EQ(defaults->state.responses_ttl, std::chrono::milliseconds(3'600'000));
  EXPECT_EQ(defaults->state.responses_max, 10'000u);
  EXPECT_EQ(defaults->state.responses_max_bytes, uint64_t{256} << 20);

  Result<Config> c =
      load("[state]\nresponses_ttl_s = 1.5\nresponses_max = 0\nresponses_max_bytes = 2097152\n" +
           std::string(kProvider));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->state.responses_ttl, std::chrono::milliseconds(1'500));
  EXPECT_EQ(c->state.responses_max, 0u);
  EXPECT_EQ(c->state.responses_max_bytes, 2'097'152u);

  EXPECT_EQ(error_of("[state]\nresponses_ttl_s = 0\n" + std::string(kProvider)),
            "test.toml:2:19: state.responses_ttl_s: must be between 1 and 2592000, got 0");
  EXPECT_EQ(error_of("[state]\nresponses_max = -1\n" + std::string(kProvider)),
            "test.toml:2:17: state.responses_max: must be between 0 and 10000000, got -1");
  EXPECT_EQ(error_of("[state]\nresponses_max_bytes = 10\n" + std::string(kProvider)),
            "test.toml:2:23: state.responses_max_bytes: must be between 1048576 and 1099511627776, "
            "got 10");
  EXPECT_EQ(error_of("[state]\nresponse_ttl_s = 60\n" + std::string(kProvider)),
            "test.toml:2:1: state.response_ttl_s: unknown key; did you mean 'responses_ttl_s'?");
}

TEST(ConfigTest, StateBackendSettings) {
  Result<Config> defaults = load(std::string(kProvider));
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->state.backend, StateBackend::Memory);
  EXPECT_EQ(defaults->state.key_prefix, "llmrouter:");
  EXPECT_EQ(defaults->state.on_error, StateErrorPolicy::Allow);
  Result<Config> c = load(
      "[state]\nbackend = \"redis\"\nredis_url = \"redis://127.0.0.1:6380/2\"\nredis_password_env "
      "= \"REDIS_PW\"\n"
      "key_prefix = \"team-a:\"\non_error = \"deny\"\nredis_timeout_ms = 100\n" +
      std::string(kProvider));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->state.backend, StateBackend::Redis);
  EXPECT_EQ(c->state.redis_url, "redis://127.0.0.1:6380/2");
  EXPECT_EQ(c->state.redis_password_env, "REDIS_PW");
  EXPECT_EQ(c->state.key_prefix, "team-a:");
  EXPECT_EQ(c->state.on_error, StateErrorPolicy::Deny);
  EXPECT_EQ(c->state.redis_timeout, std::chrono::milliseconds(100));

  EXPECT_EQ(error_of("[state]\nbackend = \"redis\"\n" + std::string(kProvider)),
            "test.toml:2:11: state.backend: the redis backend needs redis_url = "
            "\"redis://HOST:PORT[/DB]\"");
  EXPECT_EQ(error_of("[state]\nbackend = \"redsi\"\n" + std::string(kProvider)),
            "test.toml:2:11: state.backend: unknown backend 'redsi'; expected one of memory, "
            "redis; did you mean "
            "'redis'?");
  EXPECT_EQ(error_of("[state]\nredis_url = \"http://x:1\"\n" + std::string(kProvider)),
            "test.toml:2:13: state.redis_url: expected redis://HOST:PORT[/DB], got 'http://x:1'");
  EXPECT_EQ(
      error_of("[state]\nredis_url = \"redis://h:99999\"\n" + std::string(kProvider)),
      "test.toml:2:13: state.redis_url: expected redis://HOST:PORT[/DB], got 'redis://h:99999'");
  EXPECT_EQ(
      error_of("[state]\non_error = \"ignore\"\n" + std::string(kProvider)),
      "test.toml:2:12: state.on_error: unknown on_error 'ignore'; expected one of allow, deny");
  EXPECT_EQ(error_of("[state]\nredis_password_env = \"hunter 2\"\n" + std::string(kProvider))
                .substr(0, 50),
            "test.toml:2:22: state.redis_password_env: 'hunter ");
}

TEST(ConfigTest, KeysAreReadAndChecked) {
  Result<Config> c = load(
      std::string(kProvider) +
      "[[keys]]\nname = \"alice\"\nkey_env = \"ALICE_KEY\"\nmodels = [\"gpt-*\", \"ollama/*\"]\n"
      "rpm = 60\ntpm = 100000\nbudget_usd = 25.5\nbudget_period = \"day\"\n"
      "[[keys]]\nname = \"ci-bot\"\nkey_sha256 = \"" +
      std::string(64, 'A') + "\"\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->keys.size(), 2u);
  const KeyConfig& a = c->keys[0];
  EXPECT_EQ(a.name, "alice");
  EXPECT_EQ(a.key_env, "ALICE_KEY");
  EXPECT_EQ(a.models, (std::vector<std::string>{"gpt-*", "ollama/*"}));
  EXPECT_EQ(a.rpm, 60u);
  EXPECT_EQ(a.tpm, 100000u);
  EXPECT_EQ(a.budget_usd, 25.5);
  EXPECT_EQ(a.budget_period, BudgetPeriod::Day);
  EXPECT_EQ(a.loc.line, 5u);
  const KeyConfig& b = c->keys[1];
  EXPECT_EQ(b.key_sha256, std::string(64, 'a'));  // kept lower-case
  EXPECT_TRUE(b.models.empty());
  EXPECT_FALSE(b.rpm);
  EXPECT_EQ(b.budget_period, BudgetPeriod::Month);

  const std::string head =
      std::string(kProvider) + "[[keys]]\nname = \"k\"\n";  // keys[0] at line 5
  EXPECT_EQ(error_of(head),
            "test.toml:5:1: keys[0].key_env: missing: set key_env (the environment variable "
            "holding the key) or key_sha256 (its SHA-256)");
  EXPECT_EQ(
      error_of(head + "key_env = \"K\"\nkey_sha256 = \"" + std::string(64, '0') + "\"\n"),
      "test.toml:8:14: keys[0].key_sha256: set exactly one of key_env and key_sha256, not both");
  EXPECT_EQ(error_of(head + "key_sha256 = \"abc\"\n"),
            "test.toml:7:14: keys[0].key_sha256: expected the key's SHA-256 as 64 hex digits "
            "(printf %s KEY | "
            "sha256sum)");
  EXPECT_EQ(error_of(head + "key_env = \"K\"\nmodels = [\"gpt-*\", \"m[abc\"]\n"),
            "test.toml:8:20: keys[0].models[1]: 'm[abc': the '[' at offset 1 is never closed");
  EXPECT_EQ(error_of(head + "key_env = \"K\"\nmodels = [\"\"]\n"),
            "test.toml:8:11: keys[0].models[0]: '': an empty pattern matches nothing; use \"*\" "
            "for every model");
  EXPECT_EQ(error_of(head + "key_env = \"K\"\nrpm = 0\n"),
            "test.toml:8:7: keys[0].rpm: must be between 1 and 1099511627776, got 0");
  EXPECT_EQ(error_of(head + "key_env = \"K\"\nbudget_period = \"week\"\n"),
            "test.toml:8:17: keys[0].budget_period: unknown budget_period 'week'; expected one of "
            "day, month, total");
  EXPECT_EQ(error_of(head + "key_env = \"K\"\nrmp = 5\n"),
            "test.toml:8:1: keys[0].rmp: unknown key; did you mean 'rpm'?");
  EXPECT_EQ(error_of(std::string(kProvider) + "[[keys]]\nname = \"a b\"\nkey_env = \"K\"\n"),
            "test.toml:6:8: keys[0].name: 'a b': a key name is 1 to 64 letters, digits, '.', '_' "
            "or '-' (it appears "
            "in logs, metrics and Redis keys)");
  EXPECT_EQ(error_of(head + "key_env = \"K\"\n[[keys]]\nname = \"k\"\nkey_env = \"J\"\n"),
            "test.toml:9:8: keys[1].name: duplicate key name 'k' (first defined at line 5)");
  const std::string digest = std::string(64, 'b');
  EXPECT_EQ(error_of(head + "key_sha256 = \"" + digest +
                     "\"\n[[keys]]\nname = \"j\"\nkey_sha256 = \"" + digest + "\"\n"),
            "test.toml:10:14: keys[1].key_sha256: the same key_sha256 as the key at line 5: a key "
            "must identify one "
            "[[keys]] entry");
  EXPECT_EQ(error_of("keys = 3\n" + std::string(kProvider)),
            "test.toml:1:8: keys: expected an array of tables ([[keys]]), found an integer");
}

TEST(ConfigTest, MissingRuleType) {
  EXPECT_EQ(build_error_of(std::string(kProvider) + "[[routers]]\nprovider = \"local\"\n"),
            "test.toml:5:1: routers[0].type: missing required key (a string)");
}

TEST(ConfigTest, MissingRuleKeys) {
  EXPECT_EQ(build_error_of(std::string(kProvider) + "[[routers]]\ntype = \"prefix\"\n"),
            "test.toml:5:1: routers[0].model_prefix: missing required key (a string)\n"
            "test.toml:5:1: routers[0].provider: missing required key (a string)");
}

TEST(ConfigTest, RuleNamingUnknownProviderSuggests) {
  EXPECT_EQ(build_error_of(std::string(kProvider) +
                           "[[routers]]\ntype = \"tag\"\ntag = \"x\"\nprovider = \"locl\"\n"),
            "test.toml:8:12: routers[0].provider: no provider named 'locl'; did you mean 'local'?");
  EXPECT_EQ(
      build_error_of(std::string(kProvider) +
                     "[[routers]]\ntype = \"discover\"\nprovider = \"openai\"\n"),
      "test.toml:7:12: routers[0].provider: no provider named 'openai'; defined providers: local");
}

TEST(ConfigTest, ProvidersListNamingUnknownProvider) {
  EXPECT_EQ(build_error_of(std::string(kProvider) +
                           "[[routers]]\ntype = \"price\"\nproviders = [\"local\", \"cloud\"]\n"),
            "test.toml:7:23: routers[0].providers[1]: no provider named 'cloud'; defined "
            "providers: local");
  EXPECT_EQ(build_error_of(std::string(kProvider) +
                           "[[routers]]\ntype = \"price\"\nproviders = [\"local\", \"local\"]\n"),
            "test.toml:7:23: routers[0].providers[1]: provider 'local' is listed twice");
}

TEST(ConfigTest, RuleKeyOfAnotherTypeIsExplained) {
  EXPECT_EQ(
      build_error_of(std::string(kProvider) + "[[routers]]\ntype = \"prefix\"\nmodel_prefix = "
                                              "\"a\"\nprovider = \"local\"\nquality_bias = 0.5\n"),
      "test.toml:9:16: routers[0].quality_bias: unknown key; a 'prefix' rule takes: "
      "model_prefix, provider, rewrite_model");
}

TEST(ConfigTest, MisspeltRuleKeySuggests) {
  EXPECT_EQ(build_error_of(std::string(kProvider) +
                           "[[routers]]\ntype = \"fallback\"\nquality_bais = 0.5\n"),
            "test.toml:7:16: routers[0].quality_bais: unknown key; did you mean 'quality_bias'?");
}

TEST(ConfigTest, QualityBiasOutsideUnitRange) {
  EXPECT_EQ(build_error_of(std::string(kProvider) +
                           "[[routers]]\ntype = \"fallback\"\nquality_bias = 1.5\n"),
            "test.toml:7:16: routers[0].quality_bias: must be between 0 and 1, got 1.5");
  EXPECT_EQ(build_error_of(std::string(kProvider) +
                           "[[routers]]\ntype = \"fallback\"\nquality_bias = -0.1\n"),
            "test.toml:7:16: routers[0].quality_bias: must be between 0 and 1, got -0.1");
}

TEST(ConfigTest, RandomCandidatesAreChecked) {
  EXPECT_EQ(build_error_of(std::string(kProvider) +
                           "[[routers]]\ntype = \"random\"\ncandidates = [{ provider = \"nope\", "
                           "model = \"m\" }, { model = \"m\", extra = 1 }]\n"),
            "test.toml:7:28: routers[0].candidates[0].provider: no provider named 'nope'; defined "
            "providers: local\n"
            "test.toml:7:51: routers[0].candidates[1].provider: missing required key (a string)\n"
            "test.toml:7:74: routers[0].candidates[1].extra: unknown key; a candidate takes: "
            "provider, model, weight");
}

TEST(ConfigTest, RandomCandidatesExcludeProvidersList) {
  EXPECT_EQ(build_error_of(std::string(kProvider) +
                           "[[routers]]\ntype = \"random\"\nproviders = [\"local\"]\n"
                           "candidates = [{ provider = \"local\", model = \"m\" }]\n"),
            "test.toml:7:13: routers[0].providers: cannot be combined with candidates (each "
            "candidate names its provider and model)");
}

TEST(ConfigTest, RandomCandidateWeightMustBePositive) {
  EXPECT_THAT(build_error_of(std::string(kProvider) +
                             "[[routers]]\ntype = \"random\"\ncandidates = [{ provider = "
                             "\"local\", model = \"m\", weight = 0 }]\n"),
              HasSubstr("routers[0].candidates[0].weight: must be >= "));
}

// ---- Classifiers, response classifiers, plugins

TEST(ConfigTest, ComponentSettingsAreKeptAsValues) {
  Result<Config> c = load(std::string(kProvider) +
                          "[plugins.zeta]\nenabled = true\nlimit = 3\n"
                          "[classifiers.keyword]\nenabled = true\n"
                          "[classifiers.keyword.tags]\ncode = [\"def \", \"class \"]\n"
                          "[plugins.alpha]\nratio = 0.5\nname = \"x\"\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->plugins.size(), 2u);
  EXPECT_EQ(c->plugins[0].id, "zeta");  // file order, not alphabetical
  EXPECT_TRUE(c->plugins[0].enabled);
  EXPECT_EQ(c->plugins[0].settings.to_json(), R"({"limit":3})");
  EXPECT_EQ(c->plugins[0].loc, (SourceLoc{5, 1}));
  EXPECT_EQ(c->plugins[1].id, "alpha");
  EXPECT_FALSE(c->plugins[1].enabled);
  ASSERT_EQ(c->classifiers.size(), 1u);
  const Value* tags = c->classifiers[0].settings.find("tags");
  ASSERT_NE(tags, nullptr);
  EXPECT_EQ(tags->to_json(), R"({"code":["def ","class "]})");
  EXPECT_EQ(tags->find("code")->loc, (SourceLoc{11, 8}));
  EXPECT_EQ(Config::find_component(c->classifiers, "keyword"), &c->classifiers[0]);
  EXPECT_EQ(Config::find_component(c->classifiers, "nope"), nullptr);
}

TEST(ConfigTest, ComponentEnabledMustBeBoolean) {
  EXPECT_EQ(error_of(std::string(kProvider) + "[response_classifiers.refusal]\nenabled = \"yes\"\n"),
            "test.toml:6:11: response_classifiers.refusal.enabled: expected a boolean (true or "
            "false), found a string");
}

TEST(ConfigTest, ComponentMustBeATable) {
  EXPECT_EQ(error_of(std::string(kProvider) + "[plugins]\nweb = true\n"),
            "test.toml:6:7: plugins.web: expected a table ([plugins.web]), found a boolean");
}

TEST(ConfigTest, DatesInSettingsAreRejected) {
  EXPECT_EQ(error_of(std::string(kProvider) + "[plugins.x]\nwhen = 2024-01-01\n"),
            "test.toml:6:8: plugins.x.when: a date is not supported in settings; write it as a string");
}

TEST(ConfigTest, ParetoTiersMustNameProviders) {
  EXPECT_EQ(
      build_error_of(std::string(kProvider) +
                     "[plugins.pareto-router]\nenabled = true\ndefault_tier = \"mid\"\n"
                     "[plugins.pareto-router.tiers]\nlow = [\"local\", \"lcoal\"]\nhigh = []\n"),
      "test.toml:7:16: plugins.pareto-router.default_tier: no tier named 'mid'; configured "
      "tiers: low, high\n"
      "test.toml:9:17: plugins.pareto-router.tiers.low[1]: no provider named 'lcoal'; did "
      "you mean 'local'?\n"
      "test.toml:10:8: plugins.pareto-router.tiers.high: a tier needs at least one provider");
}

TEST(ConfigTest, ParetoTiersLoad) {
  Result<Config> c = load(std::string(kProvider) +
                          "[plugins.pareto-router]\nenabled = true\ntier = \"low\"\n"
                          "[plugins.pareto-router.tiers]\nlow = [\"local\"]\n");
  ASSERT_TRUE(c) << c.error().message;
  const ComponentConfig* p = Config::find_component(c->plugins, "pareto-router");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->settings.to_json(), R"({"tier":"low","tiers":{"low":["local"]}})");
}

// ---- Several problems at once, files, robustness

TEST(ConfigTest, AllErrorsAreReportedInLineOrder) {
  EXPECT_EQ(error_of("[server]\nport = 99999\nhots = \"x\"\n"
                     "[[providers]]\nname = \"a\"\nformat = \"gemini\"\nbase_url = \"http://h\"\n"),
            "test.toml:2:8: server.port: must be between 0 and 65535, got 99999\n"
            "test.toml:3:1: server.hots: unknown key; did you mean 'host'?\n"
            "test.toml:6:10: providers[0].format: unknown format 'gemini'; expected one of openai, "
            "anthropic, responses, ollama");
}

TEST(ConfigTest, MissingFileIsAClearError) {
  Result<Config> c = load_config_file("/nonexistent/dir/config.toml", env());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::Config);
  EXPECT_EQ(c.error().message,
            "/nonexistent/dir/config.toml: cannot open the config file: No such file or directory");
}

TEST(ConfigTest, LoadsFromFile) {
  Result<Config> c =
      load_config_file(LLMROUTER_SOURCE_DIR "/tests/data/config/bad_port.toml", env());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message,
            LLMROUTER_SOURCE_DIR "/tests/data/config/bad_port.toml:3:8: server.port: must be "
                                 "between 0 and 65535, got 70000");
}

TEST(ConfigTest, GarbageNeverCrashes) {
  const std::string_view inputs[] = {
      "",          "[[[",           "[/",         "\xff\xfe\x00\x01",    "a = [",
      "[a]\n[a]\n", "x = {",        "providers = 1", "[[providers]]\n[[providers]]\n",
      "routers = [1, 2]", "[[routers]]\n", "classifiers = []", "[plugins.a]\nb = [1, \"x\", {c = 1}]",
      "\"\\u0000\" = 1",
  };
  for (std::string_view in : inputs) {
    Result<Config> c = load(in);
    EXPECT_FALSE(c) << "input: " << in;
    if (!c) {
      EXPECT_THAT(c.error().message, HasSubstr("test.toml:"));
    }
  }
}

TEST(ConfigTest, SchemaKeysAreListed) {
  const auto& keys = config_schema_keys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "server.port"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "routers[].type"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "plugins.<id>.enabled"), keys.end());
  // No duplicates.
  std::vector<std::string_view> sorted(keys.begin(), keys.end());
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
}

}  // namespace
}  // namespace llmrouter
