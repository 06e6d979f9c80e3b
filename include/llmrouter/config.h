// SPDX-License-Identifier: MIT
#pragma once
/// @file config.h
/// The router's configuration: TOML loaded into typed, validated structs.
///
/// Loading checks everything that can be checked without the network: types, ranges,
/// unknown keys (with a "did you mean" suggestion), unknown formats and rule types,
/// duplicate provider names, and rules or pareto tiers naming providers that do not
/// exist. Every problem is reported, not just the first, one per line, as
///
///     FILE:LINE:COLUMN: KEY.PATH: what is wrong; what was expected
///
/// A loaded `Config` is a plain value: copy it, read it from many threads.
/// The schema is documented key by key in config.example.toml and docs/config.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmrouter/capabilities.h"
#include "llmrouter/log.h"
#include "llmrouter/request.h"
#include "llmrouter/result.h"
#include "llmrouter/value.h"

namespace llmrouter {

/// `[server]`: how llmrouter-server listens.
struct ServerConfig {
  std::string host = "127.0.0.1";
  /// 0 asks the OS for a free port (the server prints the one it got).
  uint16_t port = 8090;
  /// Serve `/dashboard` and `/dashboard/events`.
  bool dashboard = false;
  /// Name of the environment variable holding the key clients must present. Unset: no auth.
  std::optional<std::string> api_key_env;
  /// Largest request body accepted; larger ones get 413. Default 32 MiB (image-heavy agents).
  uint64_t max_body_bytes = 32ull << 20;
  /// Concurrent client connections served at once; beyond it new ones get 503.
  uint32_t max_connections = 2048;
  /// Event loops (one thread each) the engine runs requests' upstream transfers on; 0: one
  /// per core. At most 256.
  uint32_t workers = 0;
  /// Request line plus headers, in bytes; larger requests get 431.
  uint32_t max_header_bytes = 64u << 10;
  /// Header fields per request; more get 431.
  uint32_t max_headers = 100;
  /// A request's line and headers must arrive within this, counted from its first byte on a
  /// new connection and from the previous response on a kept-alive one: 408 and close.
  std::chrono::milliseconds header_timeout{10'000};
  /// A kept-alive connection with no request for this long is closed (waiting costs nothing).
  std::chrono::milliseconds idle_timeout{5'000};
  /// A request's body must arrive within this once its headers are in: 408 and close.
  std::chrono::milliseconds body_timeout{60'000};
  /// Host names (without port) accepted besides the loopback names when bound to a
  /// loopback address; other Hosts get 403 (DNS rebinding).
  std::vector<std::string> allowed_hosts;
  /// Browser origins ("https://app.example.com") allowed to call the router, with CORS
  /// answers; a request from any other non-loopback Origin gets 403.
  std::vector<std::string> cors_origins;
  /// Serve a non-loopback address without `api_key_env` (refused at start-up otherwise).
  bool allow_unauthenticated = false;
  /// Largest non-streamed upstream reply read; a larger one ends the attempt with 502 and
  /// nothing past it is buffered. Default 64 MiB.
  uint64_t max_upstream_reply_bytes = 64ull << 20;
  /// Distinct `model` label values /metrics keeps (models come from clients); requests for
  /// further models are counted under `other`.
  uint32_t metrics_max_models = 100;
};

/// `[logging]`: the JSONL request log, and the level of the diagnostic log.
struct LoggingConfig {
  bool enabled = false;
  std::string path = "logs/requests.jsonl";
  LogLevel level = LogLevel::Info;
};

/// `[telemetry]`: OpenTelemetry export over OTLP/HTTP.
struct TelemetryConfig {
  bool enabled = false;
  /// Base URL; `/v1/traces` and `/v1/metrics` are appended.
  std::string otlp_endpoint = "http://localhost:4318";
  std::string service_name = "llmrouter";
  /// Fraction of requests traced, in [0, 1].
  double sample_ratio = 1.0;
};

/// How `[routing] affinity` keeps a conversation on one provider.
enum class Affinity {
  /// Every request is routed on its own.
  None,
  /// A request with a session key stays where its session went (see docs/routers.md).
  Session,
};

/// `[routing]`: failover, live figures, health, queueing and session affinity.
struct RoutingConfig {
  /// Providers tried per request, the first included (1 disables failover).
  uint32_t max_attempts = 3;
  /// Half-life of the live figures' exponentially weighted means: a sample this old weighs
  /// half as much as a new one.
  std::chrono::milliseconds stats_half_life{60'000};
  /// Samples a (provider, model) or provider needs before rules rank it by its live figure
  /// instead of its configured prior (`latency_ms`, `throughput_tokens_per_sec`).
  uint32_t min_samples = 5;
  /// Consecutive failures (connection errors, timeouts, 5xx; a 429 with retry-after ejects
  /// at once) that eject a provider; 0: never.
  uint32_t eject_after_failures = 5;
  /// How long a first ejection lasts; each further one doubles it, up to 10 minutes.
  std::chrono::milliseconds eject_duration{30'000};
  /// How long a request waits for room when every candidate is at its max_concurrency;
  /// 0: it is refused at once (429 with retry-after).
  std::chrono::milliseconds queue_timeout{0};
  Affinity affinity = Affinity::None;
  /// How long a session is remembered after its last request.
  std::chrono::milliseconds affinity_ttl{600'000};
  /// A non-streamed reply that does not match the client's JSON schema (after
  /// response-healing) is refused and the next fallback tried; false: it is delivered,
  /// tagged `schema-invalid`.
  bool enforce_json_schema = false;
};

/// Where the router's shared state lives (`[state] backend`).
enum class StateBackend {
  /// In this process: nothing to run, nothing shared between instances.
  Memory,
  /// In Redis (`redis_url`): several instances enforce the same limits.
  Redis,
};

/// What a request gets while the state backend cannot be reached (`[state] on_error`).
enum class StateErrorPolicy {
  /// It is served, unlimited (the outage is logged and counted).
  Allow,
  /// It is refused with 503.
  Deny,
};

/// `[state]`: the router's shared state: the team gateway's rate-limit windows and spend
/// counters (gateway.h), and conversations kept for Responses clients that continue one
/// with `previous_response_id` (state.h).
struct StateConfig {
  /// How long a reply's conversation is kept after it was stored.
  std::chrono::milliseconds responses_ttl{3'600'000};
  /// Conversations kept at most; past it, expired ones go first, then the oldest.
  uint32_t responses_max = 10'000;
  /// Approximate bytes of all kept conversations together; past it, the oldest go.
  uint64_t responses_max_bytes = uint64_t{256} << 20;
  /// Memory (default) or Redis.
  StateBackend backend = StateBackend::Memory;
  /// `redis://HOST:PORT[/DB]` (required with the Redis backend).
  std::string redis_url;
  /// The environment variable holding Redis's password (AUTH); unset: none.
  std::optional<std::string> redis_password_env;
  /// Prefix of every Redis key the router writes.
  std::string key_prefix = "llmrouter:";
  /// What a request gets while Redis cannot be reached.
  StateErrorPolicy on_error = StateErrorPolicy::Allow;
  /// How long one Redis call may take before it counts as failed.
  std::chrono::milliseconds redis_timeout{250};
};

/// The period a key's budget counts spend over (`[[keys]] budget_period`), in UTC.
enum class BudgetPeriod {
  Day,
  Month,
  /// Never resets.
  Total,
};

/// One `[[keys]]` entry: a client key of the team gateway (gateway.h).
struct KeyConfig {
  /// Unique; what logs, metrics and errors show (never the key). Letters, digits, '.', '_'
  /// and '-'.
  std::string name;
  /// The environment variable holding the key (exactly one of key_env and key_sha256).
  std::optional<std::string> key_env;
  /// The key's SHA-256, 64 lower-case hex digits (so that a config file can be shared).
  std::optional<std::string> key_sha256;
  /// Glob patterns (`*`, `?`, `[...]`) of the requested models the key may use; empty: all.
  std::vector<std::string> models;
  /// Requests per minute (a sliding window); unset: no limit.
  std::optional<uint64_t> rpm;
  /// Tokens per minute, input and output (a sliding window); unset: no limit.
  std::optional<uint64_t> tpm;
  /// Spend allowed per `budget_period`, in USD (the log's `cost_usd`); unset: no budget.
  std::optional<double> budget_usd;
  BudgetPeriod budget_period = BudgetPeriod::Month;
  SourceLoc loc;
};

/// One `[[providers]]` entry.
struct ProviderConfig {
  std::string name;
  /// What serves it: the factory registered under this name (Registries::add_provider).
  /// "http" (default): the built-in HTTP provider for `format` at `base_url`.
  std::string kind = "http";
  /// The wire format the provider speaks: OpenAI (Chat Completions), Anthropic, Responses
  /// or Ollama.
  WireFormat format = WireFormat::OpenAI;
  /// Without a trailing '/'. For anthropic, with or without "/v1" (the provider adds it).
  /// Required for the "http" kind.
  std::string base_url;
  /// Environment variable holding the provider's API key; unset: no credential sent.
  std::optional<std::string> api_key_env;
  double cost_per_1m_tokens = 0.0;
  double quality = 0.0;
  std::optional<double> latency_ms;
  std::optional<double> throughput_tokens_per_sec;
  /// Requests this provider serves at once; one at its cap does not qualify for routing.
  /// 0: no cap.
  uint32_t max_concurrency = 0;
  /// Time allowed to establish the connection (TCP and TLS).
  std::chrono::milliseconds connect_timeout{10'000};
  /// Time allowed from sending the request to the first byte of the response. Generous by
  /// default: a local server may load a model before answering.
  std::chrono::milliseconds first_byte_timeout{300'000};
  /// Longest silence allowed between two chunks of a streamed response.
  std::chrono::milliseconds idle_timeout{120'000};
  /// Limit on the whole exchange; unset: none (long generations are legitimate).
  std::optional<std::chrono::milliseconds> timeout;
  /// Extra request headers sent to this provider, in config order.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Client request headers passed on to this provider: lower-case names, or prefixes
  /// ending in '*' ("anthropic-*"). Unset: the headers of the provider's own format
  /// (`anthropic-*` to anthropic providers, `openai-beta` to openai and responses ones, none
  /// to ollama).
  /// Billing headers such as `openai-organization` go only where listed.
  std::optional<std::vector<std::string>> forward_client_headers;
  /// Declared capabilities of this provider's models; empty with `capabilities_declared`
  /// false means "unknown", which routing treats as "supports everything".
  CapabilitySet capabilities;
  bool capabilities_declared = false;
  /// `ollama` only: how often model discovery asks the provider again after start-up
  /// (0: at start-up only). See discovery.h.
  std::chrono::seconds discovery_interval{300};
  /// `ollama` only: how often discovery asks which models the provider has loaded in memory
  /// (`GET /api/ps`) between its rounds (0: only with the discovery rounds). See discovery.h.
  std::chrono::seconds discovery_loaded_interval{10};
  /// `ollama` only: time allowed for each discovery request, connection included.
  std::chrono::milliseconds discovery_timeout{3'000};

  /// False when `api_key_env` names an unset or empty variable: the provider is kept in
  /// the config (rules may name it) but never receives traffic.
  bool available = true;
  /// Why the provider is unavailable (empty when available).
  std::string unavailable_reason;
  /// Where the `[[providers]]` table starts.
  SourceLoc loc;
};

/// One `[[routers]]` entry: its `type` and its other keys, which the factory registered for
/// that type checks and turns into a Rule (Registries::add_rule; the built-in types are
/// registered the same way, see docs/routers.md).
struct RuleConfig {
  /// The type as written ("prefix", "price", a type of the embedding program's).
  std::string type;
  /// Every key of the table but `type`, in file order, each with its position.
  Value settings = Value(Value::Object{});
  /// Where the table is, for messages: "routers[2]".
  std::string path;
  SourceLoc loc;
  /// Where `type` is written.
  SourceLoc type_loc;
};

/// A `[classifiers.<id>]`, `[response_classifiers.<id>]` or `[plugins.<id>]` table:
/// `enabled` plus free-form settings, checked later by the component named `id`.
struct ComponentConfig {
  std::string id;
  bool enabled = false;
  /// Every key but `enabled`, as an object (nested tables become nested objects).
  Value settings = Value(Value::Object{});
  SourceLoc loc;
};

/// A whole, validated configuration.
struct Config {
  /// The file it was read from, or the name given to `load_config_string`.
  std::string source;
  ServerConfig server;
  LoggingConfig logging;
  TelemetryConfig telemetry;
  RoutingConfig routing;
  StateConfig state;
  /// `[[keys]]`: when any is set, every API request must carry one of them (or the
  /// `[server] api_key_env` key).
  std::vector<KeyConfig> keys;
  /// In config order, available or not.
  std::vector<ProviderConfig> providers;
  /// In config order: the first matching rule wins.
  std::vector<RuleConfig> routers;
  /// Each group in file order.
  std::vector<ComponentConfig> classifiers;
  std::vector<ComponentConfig> response_classifiers;
  std::vector<ComponentConfig> plugins;
  /// Non-fatal findings (skipped providers), one message each, already logged.
  std::vector<std::string> warnings;

  /// The provider called `name`, or nullptr.
  const ProviderConfig* find_provider(std::string_view name) const noexcept;
  /// The component with `id` in `group`, or nullptr.
  static const ComponentConfig* find_component(const std::vector<ComponentConfig>& group,
                                               std::string_view id) noexcept;
};

/// Options for loading.
struct LoadOptions {
  /// Reads an environment variable (nullopt when unset). Default: std::getenv.
  std::function<std::optional<std::string>(const std::string& name)> getenv;
  /// Log warnings through log.h as well as returning them in `Config::warnings`.
  bool log_warnings = true;
};

/// Reads and validates the TOML file at `path`. Errors: `Errc::Config`, one line per
/// problem, each naming the file, line, column and key.
[[nodiscard]] Result<Config> load_config_file(const std::string& path,
                                              const LoadOptions& options = {});

/// Validates TOML text; `source_name` stands for the file name in messages.
[[nodiscard]] Result<Config> load_config_string(std::string_view toml_text,
                                                std::string_view source_name = "<config>",
                                                const LoadOptions& options = {});

/// A configuration error located in `config`'s source: "FILE:LINE:COL: PATH: MESSAGE"
/// (Errc::Config). For components validating their own settings (`Value::loc`).
[[nodiscard]] Error config_error(const Config& config, SourceLoc loc, std::string_view path,
                                 std::string_view message);

/// Every key path the schema knows, in documentation order, with `[]` for array elements
/// and `<id>` for free-form tables (e.g. "providers[].base_url", "plugins.<id>.enabled").
/// Used to check that config.example.toml documents every key.
const std::vector<std::string_view>& config_schema_keys();

}  // namespace llmrouter
