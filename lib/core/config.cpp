// SPDX-License-Identifier: MIT
// Loading and validating the TOML configuration. toml++ stays inside this file: the rest
// of the library sees only the typed structs of config.h.
#include "llmrouter/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "util/strings.h"

namespace llmrouter {
namespace {

// ---- The schema: which keys each table accepts. config_schema_keys() is built from
// these same lists, so the loader and the documentation check cannot drift apart.

constexpr std::string_view kRootKeys[] = {"server",  "logging",     "telemetry",
                                          "routing", "state",       "providers",
                                          "routers", "classifiers", "response_classifiers",
                                          "plugins", "keys"};
constexpr std::string_view kServerKeys[] = {
    "host",              "port",              "dashboard",       "api_key_env",
    "max_body_bytes",    "max_connections",   "workers",         "max_header_bytes",
    "max_headers",       "header_timeout_ms", "idle_timeout_ms", "body_timeout_ms",
    "allowed_hosts",     "cors_origins",      "allow_unauthenticated", "max_upstream_reply_bytes",
    "metrics_max_models"};
constexpr std::string_view kLoggingKeys[] = {"enabled", "path", "level"};
constexpr std::string_view kTelemetryKeys[] = {"enabled", "otlp_endpoint", "service_name",
                                               "sample_ratio"};
constexpr std::string_view kRoutingKeys[] = {
    "max_attempts",       "stats_half_life_s", "min_samples", "eject_after_failures",
    "eject_seconds",      "queue_timeout_ms",  "affinity",    "affinity_ttl_s",
    "enforce_json_schema"};
constexpr std::string_view kAffinityNames[] = {"none", "session"};
constexpr std::string_view kStateKeys[] = {
    "responses_ttl_s", "responses_max", "responses_max_bytes",
    "backend",         "redis_url",     "redis_password_env",
    "key_prefix",      "on_error",      "redis_timeout_ms"};
constexpr std::string_view kBackendNames[] = {"memory", "redis"};
constexpr std::string_view kOnErrorNames[] = {"allow", "deny"};
constexpr std::string_view kKeyKeys[] = {"name", "key_env", "key_sha256", "models",
                                         "rpm",  "tpm",     "budget_usd", "budget_period"};
constexpr std::string_view kPeriodNames[] = {"day", "month", "total"};
constexpr std::string_view kProviderKeys[] = {"name",
                                              "format",
                                              "base_url",
                                              "api_key_env",
                                              "cost_per_1m_tokens",
                                              "quality",
                                              "latency_ms",
                                              "throughput_tokens_per_sec",
                                              "max_concurrency",
                                              "connect_timeout_ms",
                                              "first_byte_timeout_ms",
                                              "idle_timeout_ms",
                                              "timeout_ms",
                                              "headers",
                                              "capabilities",
                                              "discovery_interval_s",
                                              "discovery_loaded_interval_s",
                                              "discovery_timeout_ms",
                                              "forward_client_headers",
                                              "kind"};
constexpr std::string_view kFormatNames[] = {"openai", "anthropic", "responses", "ollama"};
constexpr std::string_view kCapabilityNames[] = {"completion", "tools",  "vision", "thinking",
                                                 "embedding",  "insert", "coding"};
constexpr std::string_view kHttpProviderKind = "http";
constexpr std::string_view kLogLevelNames[] = {"debug", "info", "warn", "error"};

bool contains(std::span<const std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string list_text(std::span<const std::string_view> list) {
  return detail::join(list, ", ");
}

std::string suggestion(std::string_view word, std::span<const std::string_view> candidates) {
  return detail::did_you_mean(word, candidates);
}

SourceLoc loc_of(const toml::source_region& r) {
  return SourceLoc{static_cast<uint32_t>(r.begin.line), static_cast<uint32_t>(r.begin.column)};
}

std::string_view type_phrase(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: return "nothing";
  }
  return "an unknown value";
}

// A key as it appears in a path: bare when it can be, quoted otherwise.
std::string path_key(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (bare) return std::string(key);
  std::string quoted;
  detail::append_json_string(quoted, key);
  return quoted;
}

std::string join_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? path_key(key) : fmt::format("{}.{}", parent, path_key(key));
}

bool is_env_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool is_header_name(std::string_view s) {
  static constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kTokenPunct.find(c) != std::string_view::npos;
  });
}

bool is_http_url(std::string_view s) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (s.substr(0, scheme.size()) == scheme) {
      const std::string_view rest = s.substr(scheme.size());
      return !rest.empty() && rest[0] != '/' &&
             rest.find_first_of(" \t\r\n") == std::string_view::npos;
    }
  }
  return false;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A host as a Host header names it, without port: a name or IPv4 address (letters, digits,
// '-', '.', '_'), or a bracketed IPv6 address ("[::1]").
bool is_host_name(std::string_view s) {
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') {
    const std::string_view inner = s.substr(1, s.size() - 2);
    return inner.find(':') != std::string_view::npos && std::all_of(inner.begin(), inner.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
  }
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

// A browser origin as an Origin header carries it: "http://" or "https://", a host, and an
// optional port; no path, not even "/". Returned lower-cased and without the scheme's
// default port (browsers leave it out); nullopt when `s` is not an origin.
std::optional<std::string> normalize_origin(std::string_view s) {
  const std::string o = lower(s);
  std::string_view scheme;
  for (std::string_view candidate : {"http", "https"}) {
    if (o.size() > candidate.size() + 3 && o.compare(0, candidate.size(), candidate) == 0 &&
        o.compare(candidate.size(), 3, "://") == 0) {
      scheme = candidate;
    }
  }
  if (scheme.empty()) return std::nullopt;
  const std::string_view authority = std::string_view(o).substr(scheme.size() + 3);
  std::size_t host_end = authority.find(':');
  if (!authority.empty() && authority[0] == '[') {
    host_end = authority.find(']');
    if (host_end != std::string_view::npos) ++host_end;
  }
  const std::string_view host = authority.substr(0, host_end);
  if (!is_host_name(host)) return std::nullopt;
  std::string out = fmt::format("{}://{}", scheme, host);
  if (host.size() == authority.size()) return out;
  const std::string_view port = authority.substr(host.size());
  if (port.size() < 2 || port.size() > 6 || port[0] != ':') return std::nullopt;
  unsigned value = 0;
  for (char c : port.substr(1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  const unsigned default_port = scheme == "https" ? 443 : 80;
  if (value != default_port) out += fmt::format(":{}", value);
  return out;
}

// toml++ orders a table's keys by name; settings keep the order of the file.
void sort_by_position(Value& object) {
  std::stable_sort(object.as_object().begin(), object.as_object().end(),
                   [](const auto& a, const auto& b) {
                     return std::tie(a.second.loc.line, a.second.loc.column) <
                            std::tie(b.second.loc.line, b.second.loc.column);
                   });
}

std::string format_number(double d) { return fmt::format("{}", d); }

// ---- Diagnostics

struct Diagnostic {
  SourceLoc loc;
  std::string text;  // "path: message"
};

class Loader;

// Reads one TOML table: typed getters mark keys as used; finish() reports the rest.
class TableReader {
 public:
  TableReader(Loader& loader, const toml::table& table, std::string path)
      : loader_(loader), table_(table), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const toml::table& table() const { return table_; }
  SourceLoc loc() const { return loc_of(table_.source()); }
  std::string key_path(std::string_view key) const { return join_path(path_, key); }

  // The node at `key` (marked as used), or nullptr.
  const toml::node* node(std::string_view key) {
    const toml::node* n = table_.get(key);
    if (n) used_.push_back(key);
    return n;
  }
  bool has(std::string_view key) const { return table_.get(key) != nullptr; }

  std::optional<std::string> string(std::string_view key, bool required = false);
  std::optional<std::string> nonempty_string(std::string_view key, bool required = false);
  std::optional<bool> boolean(std::string_view key);
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  std::optional<double> number(std::string_view key, double min, double max);
  std::optional<std::vector<std::pair<std::string, SourceLoc>>> string_array(std::string_view key);
  const toml::table* subtable(std::string_view key);

  // Reports every key not read, suggesting the closest of `known`.
  void finish(std::span<const std::string_view> known);

 private:
  bool expect(const toml::node& n, toml::node_type t, std::string_view key,
              std::string_view expected);
  bool used(std::string_view key) const { return contains(used_, key); }

  Loader& loader_;
  const toml::table& table_;
  std::string path_;
  std::vector<std::string_view> used_;
};

class Loader {
 public:
  Loader(std::string source, const LoadOptions& options) : source_(std::move(source)), options_(options) {}

  void error(SourceLoc loc, std::string_view path, std::string message) {
    diags_.push_back({loc, path.empty() ? std::move(message) : fmt::format("{}: {}", path, message)});
  }

  Result<Config> load(const toml::table& root);

  Result<Config> syntax_error(const toml::parse_error& e) const {
    const SourceLoc loc = loc_of(e.source());
    return fail(Errc::Config,
                fmt::format("{}:{}:{}: {}", source_, loc.line, loc.column, e.description()));
  }

 private:
  // Reads the optional table `key` of `root` into `out` with `read`.
  template <class T>
  void section(TableReader& root, std::string_view key, void (Loader::*read)(TableReader&, T&),
               T& out) {
    if (const toml::table* t = root.subtable(key)) {
      TableReader r(*this, *t, std::string(key));
      (this->*read)(r, out);
    }
  }
  std::optional<std::string> env_name(TableReader& r, std::string_view key);
  void read_server(TableReader& r, ServerConfig& s);
  void read_logging(TableReader& r, LoggingConfig& l);
  void read_telemetry(TableReader& r, TelemetryConfig& t);
  void read_routing(TableReader& r, RoutingConfig& rc);
  void read_state(TableReader& r, StateConfig& sc);
  void read_providers(const toml::node& node);
  void read_keys(const toml::node& node);
  void read_key(TableReader& r, KeyConfig& k);
  // One of `names` at `key`, as its index; nullopt (and an error naming them) otherwise.
  std::optional<std::size_t> choice(TableReader& r, std::string_view key,
                                    std::span<const std::string_view> names, std::string_view what);
  void read_provider(TableReader& r, ProviderConfig& p);
  void read_routers(const toml::node& node);
  void read_rule(TableReader& r, RuleConfig& rule);
  void read_components(const toml::node& node, std::string_view group,
                       std::vector<ComponentConfig>& out);
  Value to_value(const toml::node& n, const std::string& path);
  void apply_availability();
  std::optional<std::chrono::milliseconds> timeout(TableReader& r, std::string_view key);

  std::string source_;
  const LoadOptions& options_;
  Config config_;
  std::vector<Diagnostic> diags_;
  std::map<std::string, std::size_t, std::less<>> provider_index_;  // name -> index, for duplicates

  friend class TableReader;
};

// ---- TableReader

bool TableReader::expect(const toml::node& n, toml::node_type t, std::string_view key,
                         std::string_view expected) {
  if (n.type() == t) return true;
  loader_.error(loc_of(n.source()), key_path(key),
                fmt::format("expected {}, found {}", expected, type_phrase(n.type())));
  return false;
}

std::optional<std::string> TableReader::string(std::string_view key, bool required) {
  const toml::node* n = node(key);
  if (!n) {
    if (required) loader_.error(loc(), key_path(key), "missing required key (a string)");
    return std::nullopt;
  }
  if (!expect(*n, toml::node_type::string, key, "a string")) return std::nullopt;
  return n->as_string()->get();
}

std::optional<std::string> TableReader::nonempty_string(std::string_view key, bool required) {
  auto s = string(key, required);
  if (s && s->empty()) {
    loader_.error(loc_of(table_.get(key)->source()), key_path(key), "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const toml::node* n = node(key);
  if (!n || !expect(*n, toml::node_type::boolean, key, "a boolean (true or false)")) {
    return std::nullopt;
  }
  return n->as_boolean()->get();
}

std::optional<int64_t> TableReader::integer(std::string_view key, int64_t min, int64_t max) {
  const toml::node* n = node(key);
  if (!n || !expect(*n, toml::node_type::integer, key, "an integer")) return std::nullopt;
  const int64_t v = n->as_integer()->get();
  if (v < min || v > max) {
    loader_.error(loc_of(n->source()), key_path(key),
                  fmt::format("must be between {} and {}, got {}", min, max, v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> TableReader::number(std::string_view key, double min, double max) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  double v = 0;
  if (n->type() == toml::node_type::integer) {
    v = static_cast<double>(n->as_integer()->get());
  } else if (n->type() == toml::node_type::floating_point) {
    v = n->as_floating_point()->get();
  } else {
    expect(*n, toml::node_type::floating_point, key, "a number");
    return std::nullopt;
  }
  if (!std::isfinite(v) || v < min || v > max) {
    const std::string range =
        max == std::numeric_limits<double>::max()
            ? fmt::format("must be >= {}", format_number(min))
            : fmt::format("must be between {} and {}", format_number(min), format_number(max));
    loader_.error(loc_of(n->source()), key_path(key), fmt::format("{}, got {}", range, format_number(v)));
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<std::pair<std::string, SourceLoc>>> TableReader::string_array(
    std::string_view key) {
  const toml::node* n = node(key);
  if (!n || !expect(*n, toml::node_type::array, key, "an array of strings")) return std::nullopt;
  std::vector<std::pair<std::string, SourceLoc>> out;
  bool ok = true;
  std::size_t i = 0;
  for (const toml::node& e : *n->as_array()) {
    if (const auto* s = e.as_string()) {
      out.emplace_back(s->get(), loc_of(e.source()));
    } else {
      loader_.error(loc_of(e.source()), fmt::format("{}[{}]", key_path(key), i),
                    fmt::format("expected a string, found {}", type_phrase(e.type())));
      ok = false;
    }
    ++i;
  }
  if (!ok) return std::nullopt;
  return out;
}

const toml::table* TableReader::subtable(std::string_view key) {
  const toml::node* n = node(key);
  if (!n || !expect(*n, toml::node_type::table, key, "a table")) return nullptr;
  return n->as_table();
}

void TableReader::finish(std::span<const std::string_view> known) {
  for (auto&& [k, v] : table_) {
    if (used(k.str())) continue;
    std::string hint = suggestion(k.str(), known);
    if (hint.empty()) hint = fmt::format("; known keys: {}", list_text(known));
    loader_.error(loc_of(k.source()), key_path(k.str()), fmt::format("unknown key{}", hint));
  }
}

// ---- Loader

Result<Config> Loader::load(const toml::table& root) {
  config_.source = source_;
  TableReader r(*this, root, "");

  section(r, "server", &Loader::read_server, config_.server);
  section(r, "logging", &Loader::read_logging, config_.logging);
  section(r, "telemetry", &Loader::read_telemetry, config_.telemetry);
  section(r, "routing", &Loader::read_routing, config_.routing);
  section(r, "state", &Loader::read_state, config_.state);
  if (const toml::node* n = r.node("providers")) {
    read_providers(*n);
  } else {
    error(SourceLoc{1, 1}, "providers",
          "missing: at least one [[providers]] table is required");
  }
  if (const toml::node* n = r.node("routers")) read_routers(*n);
  if (const toml::node* n = r.node("classifiers")) read_components(*n, "classifiers", config_.classifiers);
  if (const toml::node* n = r.node("response_classifiers")) {
    read_components(*n, "response_classifiers", config_.response_classifiers);
  }
  if (const toml::node* n = r.node("plugins")) read_components(*n, "plugins", config_.plugins);
  if (const toml::node* n = r.node("keys")) read_keys(*n);
  r.finish(kRootKeys);

  if (diags_.empty()) apply_availability();

  if (!diags_.empty()) {
    std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.loc.line, a.loc.column) < std::tie(b.loc.line, b.loc.column);
    });
    std::string message;
    for (const Diagnostic& d : diags_) {
      if (!message.empty()) message += '\n';
      message += fmt::format("{}:{}:{}: {}", source_, d.loc.line, d.loc.column, d.text);
    }
    return fail(Errc::Config, std::move(message));
  }
  return std::move(config_);
}

// An environment variable name; a value that cannot be one (often the key itself, pasted
// by mistake) is an error that says where keys belong.
std::optional<std::string> Loader::env_name(TableReader& r, std::string_view key) {
  auto v = r.string(key);
  if (v && !is_env_name(*v)) {
    error(loc_of(r.table().get(key)->source()), r.key_path(key),
          fmt::format("'{}' is not an environment variable name (letters, digits and '_'); "
                      "put the key itself in the environment, never in the config",
                      *v));
    return std::nullopt;
  }
  return v;
}

void Loader::read_server(TableReader& r, ServerConfig& s) {
  if (auto v = r.nonempty_string("host")) s.host = *v;
  if (auto v = r.integer("port", 0, 65535)) s.port = static_cast<uint16_t>(*v);
  if (auto v = r.boolean("dashboard")) s.dashboard = *v;
  s.api_key_env = env_name(r, "api_key_env");
  if (auto v = r.integer("max_body_bytes", 1024, int64_t{1} << 32)) s.max_body_bytes = static_cast<uint64_t>(*v);
  if (auto v = r.integer("max_connections", 1, 1'000'000)) s.max_connections = static_cast<uint32_t>(*v);
  if (auto v = r.integer("workers", 0, 256)) s.workers = static_cast<uint32_t>(*v);
  if (auto v = r.integer("max_header_bytes", 1024, 1 << 20)) s.max_header_bytes = static_cast<uint32_t>(*v);
  if (auto v = r.integer("max_headers", 1, 10'000)) s.max_headers = static_cast<uint32_t>(*v);
  if (auto v = timeout(r, "header_timeout_ms")) s.header_timeout = *v;
  if (auto v = timeout(r, "idle_timeout_ms")) s.idle_timeout = *v;
  if (auto v = timeout(r, "body_timeout_ms")) s.body_timeout = *v;
  if (auto list = r.string_array("allowed_hosts")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& [host, loc] = (*list)[i];
      const std::string path = fmt::format("{}[{}]", r.key_path("allowed_hosts"), i);
      if (host.empty()) {
        error(loc, path, "must not be empty");
      } else if (!is_host_name(host)) {
        error(loc, path,
              fmt::format("expected a host name or address without scheme or port (like "
                          "\"router.lan\", \"10.0.0.5\" or \"[fd00::5]\"), got '{}'",
                          host));
      } else {
        s.allowed_hosts.push_back(lower(host));
      }
    }
  }
  if (auto list = r.string_array("cors_origins")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& [origin, loc] = (*list)[i];
      if (auto o = normalize_origin(origin)) {
        s.cors_origins.push_back(std::move(*o));
      } else {
        error(loc, fmt::format("{}[{}]", r.key_path("cors_origins"), i),
              fmt::format("expected an origin http(s)://host[:port] without path or trailing '/' "
                          "(like \"https://app.example.com\"), got '{}'",
                          origin));
      }
    }
  }
  if (auto v = r.boolean("allow_unauthenticated")) s.allow_unauthenticated = *v;
  if (auto v = r.integer("max_upstream_reply_bytes", 64, int64_t{1} << 40)) {
    s.max_upstream_reply_bytes = static_cast<uint64_t>(*v);
  }
  if (auto v = r.integer("metrics_max_models", 1, 100'000)) s.metrics_max_models = static_cast<uint32_t>(*v);
  r.finish(kServerKeys);
}

void Loader::read_logging(TableReader& r, LoggingConfig& l) {
  if (auto v = r.boolean("enabled")) l.enabled = *v;
  if (auto v = r.nonempty_string("path")) l.path = *v;
  if (auto v = r.string("level")) {
    if (auto level = parse_log_level(*v)) {
      l.level = *level;
    } else {
      error(loc_of(r.table().get("level")->source()), r.key_path("level"),
            fmt::format("unknown level '{}'; expected one of {}{}", *v, list_text(kLogLevelNames),
                        suggestion(*v, kLogLevelNames)));
    }
  }
  r.finish(kLoggingKeys);
}

void Loader::read_telemetry(TableReader& r, TelemetryConfig& t) {
  if (auto v = r.boolean("enabled")) t.enabled = *v;
  if (auto v = r.string("otlp_endpoint")) {
    if (!is_http_url(*v)) {
      error(loc_of(r.table().get("otlp_endpoint")->source()), r.key_path("otlp_endpoint"),
            fmt::format("expected an http:// or https:// URL, got '{}'", *v));
    } else {
      while (v->size() > 1 && v->back() == '/') v->pop_back();
      t.otlp_endpoint = *v;
    }
  }
  if (auto v = r.nonempty_string("service_name")) t.service_name = *v;
  if (auto v = r.number("sample_ratio", 0.0, 1.0)) t.sample_ratio = *v;
  r.finish(kTelemetryKeys);
}

void Loader::read_routing(TableReader& r, RoutingConfig& rc) {
  if (auto v = r.integer("max_attempts", 1, 10)) rc.max_attempts = static_cast<uint32_t>(*v);
  auto ms = [](double seconds) {
    return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
  };
  if (auto v = r.number("stats_half_life_s", 0.1, 86'400.0)) rc.stats_half_life = ms(*v);
  if (auto v = r.integer("min_samples", 1, 10'000)) rc.min_samples = static_cast<uint32_t>(*v);
  if (auto v = r.integer("eject_after_failures", 0, 10'000))
    rc.eject_after_failures = static_cast<uint32_t>(*v);
  if (auto v = r.number("eject_seconds", 0.1, 600.0)) rc.eject_duration = ms(*v);
  if (auto v = r.integer("queue_timeout_ms", 0, 600'000))
    rc.queue_timeout = std::chrono::milliseconds(*v);
  if (auto v = r.string("affinity")) {
    if (*v == "none" || *v == "session") {
      rc.affinity = *v == "none" ? Affinity::None : Affinity::Session;
    } else {
      error(loc_of(r.table().get("affinity")->source()), r.key_path("affinity"),
            fmt::format("unknown affinity '{}'; expected one of {}{}", *v,
                        list_text(kAffinityNames), suggestion(*v, kAffinityNames)));
    }
  }
  if (auto v = r.number("affinity_ttl_s", 1.0, 30.0 * 86'400.0)) rc.affinity_ttl = ms(*v);
  if (auto v = r.boolean("enforce_json_schema")) rc.enforce_json_schema = *v;
  r.finish(kRoutingKeys);
}

void Loader::read_state(TableReader& r, StateConfig& sc) {
  if (auto v = r.number("responses_ttl_s", 1.0, 30.0 * 86'400.0)) {
    sc.responses_ttl = std::chrono::milliseconds(static_cast<int64_t>(*v * 1000.0));
  }
  if (auto v = r.integer("responses_max", 0, 10'000'000))
    sc.responses_max = static_cast<uint32_t>(*v);
  if (auto v = r.integer("responses_max_bytes", 1 << 20, int64_t{1} << 40)) {
    sc.responses_max_bytes = static_cast<uint64_t>(*v);
  }
  if (auto i = choice(r, "backend", kBackendNames, "backend")) {
    sc.backend = *i == 0 ? StateBackend::Memory : StateBackend::Redis;
  }
  if (auto v = r.string("redis_url")) {
    if (!detail::parse_redis_url(*v)) {
      error(loc_of(r.table().get("redis_url")->source()), r.key_path("redis_url"),
            fmt::format("expected redis://HOST:PORT[/DB], got '{}'",
                        v->find('@') == std::string::npos
                            ? *v
                            : std::string("redis://...@").append(v->substr(v->rfind('@') + 1))));
    } else {
      sc.redis_url = *v;
    }
  }
  if (sc.backend == StateBackend::Redis && sc.redis_url.empty() && !r.node("redis_url")) {
    error(loc_of(r.table().get("backend")->source()), r.key_path("backend"),
          "the redis backend needs redis_url = \"redis://HOST:PORT[/DB]\"");
  }
  sc.redis_password_env = env_name(r, "redis_password_env");
  if (auto v = r.string("key_prefix")) {
    if (v->size() > 64 || std::any_of(v->begin(), v->end(), [](char c) {
          return static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f;
        })) {
      error(loc_of(r.table().get("key_prefix")->source()), r.key_path("key_prefix"),
            "must be at most 64 printable characters without spaces");
    } else {
      sc.key_prefix = *v;
    }
  }
  if (auto i = choice(r, "on_error", kOnErrorNames, "on_error")) {
    sc.on_error = *i == 0 ? StateErrorPolicy::Allow : StateErrorPolicy::Deny;
  }
  if (auto v = r.integer("redis_timeout_ms", 10, 60'000))
    sc.redis_timeout = std::chrono::milliseconds(*v);
  r.finish(kStateKeys);
}

std::optional<std::size_t> Loader::choice(TableReader& r, std::string_view key,
                                          std::span<const std::string_view> names,
                                          std::string_view what) {
  auto v = r.string(key);
  if (!v) return std::nullopt;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == *v) return i;
  }
  error(loc_of(r.table().get(key)->source()), r.key_path(key),
        fmt::format("unknown {} '{}'; expected one of {}{}", what, *v, list_text(names),
                    suggestion(*v, names)));
  return std::nullopt;
}

void Loader::read_keys(const toml::node& node) {
  const toml::array* arr = node.as_array();
  if (!arr || !arr->is_array_of_tables()) {
    error(
        loc_of(node.source()), "keys",
        fmt::format("expected an array of tables ([[keys]]), found {}", type_phrase(node.type())));
    return;
  }
  std::map<std::string, uint32_t, std::less<>> names;  // name -> line, for duplicates
  std::map<std::string, uint32_t, std::less<>> digests;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table& t = *(*arr)[i].as_table();
    TableReader r(*this, t, fmt::format("keys[{}]", i));
    KeyConfig k;
    k.loc = r.loc();
    read_key(r, k);
    if (!k.name.empty()) {
      auto [it, inserted] = names.emplace(k.name, k.loc.line);
      if (!inserted) {
        error(
            loc_of(t.get("name")->source()), r.key_path("name"),
            fmt::format("duplicate key name '{}' (first defined at line {})", k.name, it->second));
      }
    }
    if (k.key_sha256) {
      auto [it, inserted] = digests.emplace(*k.key_sha256, k.loc.line);
      if (!inserted) {
        error(
            loc_of(t.get("key_sha256")->source()), r.key_path("key_sha256"),
            fmt::format(
                "the same key_sha256 as the key at line {}: a key must identify one [[keys]] entry",
                it->second));
      }
    }
    config_.keys.push_back(std::move(k));
  }
}

void Loader::read_key(TableReader& r, KeyConfig& k) {
  if (auto v = r.nonempty_string("name", true)) {
    if (v->size() > 64 || !std::all_of(v->begin(), v->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
        })) {
      error(loc_of(r.table().get("name")->source()), r.key_path("name"),
            fmt::format(
                "'{}': a key name is 1 to 64 letters, digits, '.', '_' or '-' (it appears in logs, "
                "metrics and Redis keys)",
                *v));
    } else {
      k.name = *v;
    }
  }
  k.key_env = env_name(r, "key_env");
  if (auto v = r.string("key_sha256")) {
    std::string hex = *v;
    for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c));
        })) {
      error(loc_of(r.table().get("key_sha256")->source()), r.key_path("key_sha256"),
            "expected the key's SHA-256 as 64 hex digits (printf %s KEY | sha256sum)");
    } else {
      k.key_sha256 = std::move(hex);
    }
  }
  const bool has_env = r.node("key_env") != nullptr;
  const bool has_digest = r.node("key_sha256") != nullptr;
  if (has_env && has_digest) {
    error(loc_of(r.table().get("key_sha256")->source()), r.key_path("key_sha256"),
          "set exactly one of key_env and key_sha256, not both");
  } else if (!has_env && !has_digest) {
    error(r.loc(), r.key_path("key_env"),
          "missing: set key_env (the environment variable holding the key) or key_sha256 (its "
          "SHA-256)");
  }
  if (auto list = r.string_array("models")) {
    std::size_t i = 0;
    for (auto& [pattern, loc] : *list) {
      if (auto problem = detail::glob_problem(pattern)) {
        error(loc, fmt::format("{}[{}]", r.key_path("models"), i),
              fmt::format("'{}': {}", pattern, *problem));
      } else {
        k.models.push_back(std::move(pattern));
      }
      ++i;
    }
  }
  constexpr int64_t kMaxRate = int64_t{1} << 40;
  if (auto v = r.integer("rpm", 1, kMaxRate)) k.rpm = static_cast<uint64_t>(*v);
  if (auto v = r.integer("tpm", 1, kMaxRate)) k.tpm = static_cast<uint64_t>(*v);
  if (auto v = r.number("budget_usd", 0.0, 1e9)) k.budget_usd = *v;
  if (auto i = choice(r, "budget_period", kPeriodNames, "budget_period")) {
    k.budget_period = *i == 0   ? BudgetPeriod::Day
                      : *i == 1 ? BudgetPeriod::Month
                                : BudgetPeriod::Total;
  }
  r.finish(kKeyKeys);
}

void Loader::read_providers(const toml::node& node) {
  const toml::array* arr = node.as_array();
  if (!arr || !arr->is_array_of_tables() || arr->empty()) {
    if (arr && arr->empty()) {
      error(loc_of(node.source()), "providers", "at least one [[providers]] table is required");
    } else {
      error(loc_of(node.source()), "providers",
            fmt::format("expected an array of tables ([[providers]]), found {}",
                        type_phrase(node.type())));
    }
    return;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table& t = *(*arr)[i].as_table();
    TableReader r(*this, t, fmt::format("providers[{}]", i));
    ProviderConfig p;
    p.loc = r.loc();
    read_provider(r, p);
    if (!p.name.empty()) {
      auto [it, inserted] = provider_index_.emplace(p.name, config_.providers.size());
      if (!inserted) {
        const ProviderConfig& first = config_.providers[it->second];
        error(loc_of(t.get("name")->source()), r.key_path("name"),
              fmt::format("duplicate provider name '{}' (first defined at line {})", p.name,
                          first.loc.line));
      }
    }
    config_.providers.push_back(std::move(p));
  }
}

std::optional<std::chrono::milliseconds> Loader::timeout(TableReader& r, std::string_view key) {
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  if (auto v = r.integer(key, 1, kDay)) return std::chrono::milliseconds(*v);
  return std::nullopt;
}

void Loader::read_provider(TableReader& r, ProviderConfig& p) {
  constexpr double kMax = std::numeric_limits<double>::max();
  if (auto v = r.nonempty_string("name", true)) p.name = *v;
  bool format_known = false;
  if (auto v = r.string("format", true)) {
    format_known = contains(kFormatNames, *v);
    if (*v == "openai") {
      p.format = WireFormat::OpenAI;
    } else if (*v == "anthropic") {
      p.format = WireFormat::Anthropic;
    } else if (*v == "responses") {
      p.format = WireFormat::Responses;
    } else if (*v == "ollama") {
      p.format = WireFormat::Ollama;
    } else {
      error(loc_of(r.table().get("format")->source()), r.key_path("format"),
            fmt::format("unknown format '{}'; expected one of {}{}", *v, list_text(kFormatNames),
                        suggestion(*v, kFormatNames)));
    }
  }
  if (auto v = r.nonempty_string("kind")) p.kind = *v;
  // The built-in kind posts to base_url; a kind of the embedding program's may not need one.
  if (auto v = r.string("base_url", p.kind == kHttpProviderKind)) {
    if (!is_http_url(*v)) {
      error(loc_of(r.table().get("base_url")->source()), r.key_path("base_url"),
            fmt::format("expected an http:// or https:// URL, got '{}'", *v));
    } else {
      while (!v->empty() && v->back() == '/') v->pop_back();
      p.base_url = *v;
    }
  }
  p.api_key_env = env_name(r, "api_key_env");
  if (auto v = r.number("cost_per_1m_tokens", 0.0, kMax)) p.cost_per_1m_tokens = *v;
  if (auto v = r.number("quality", 0.0, kMax)) p.quality = *v;
  if (auto v = r.number("latency_ms", 0.0, kMax)) p.latency_ms = *v;
  if (auto v = r.number("throughput_tokens_per_sec", 0.0, kMax)) p.throughput_tokens_per_sec = *v;
  if (auto v = r.integer("max_concurrency", 0, 1'000'000))
    p.max_concurrency = static_cast<uint32_t>(*v);
  if (auto v = timeout(r, "connect_timeout_ms")) p.connect_timeout = *v;
  if (auto v = timeout(r, "first_byte_timeout_ms")) p.first_byte_timeout = *v;
  if (auto v = timeout(r, "idle_timeout_ms")) p.idle_timeout = *v;
  if (auto v = timeout(r, "timeout_ms")) p.timeout = *v;
  if (const toml::table* h = r.subtable("headers")) {
    for (auto&& [k, v] : *h) {
      const std::string path = join_path(r.key_path("headers"), k.str());
      if (!is_header_name(k.str())) {
        error(loc_of(k.source()), path, "not a valid HTTP header name");
        continue;
      }
      const auto* s = v.as_string();
      if (!s) {
        error(loc_of(v.source()), path,
              fmt::format("expected a string, found {}", type_phrase(v.type())));
        continue;
      }
      if (s->get().find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        error(loc_of(v.source()), path, "a header value must not contain CR, LF or NUL");
        continue;
      }
      p.headers.emplace_back(std::string(k.str()), s->get());
    }
  }
  if (auto list = r.string_array("forward_client_headers")) {
    p.forward_client_headers.emplace();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& [name, loc] = (*list)[i];
      const std::string_view stem = std::string_view(name).substr(0, name.ends_with('*') ? name.size() - 1 : name.size());
      const std::string l = lower(name);
      if ((stem.empty() && name != "*") || (!stem.empty() && !is_header_name(stem))) {
        error(loc, fmt::format("{}[{}]", r.key_path("forward_client_headers"), i),
              fmt::format("expected a header name, or a prefix ending in '*' (like \"anthropic-*\"), got '{}'", name));
      } else if (l == "authorization" || l == "x-api-key" || l == "cookie" || l == "host" || l == "*") {
        error(loc, fmt::format("{}[{}]", r.key_path("forward_client_headers"), i),
              fmt::format("'{}' would pass the client's credentials or connection headers upstream; list the "
                          "headers to forward by name",
                          name));
      } else {
        p.forward_client_headers->push_back(l);
      }
    }
  }
  if (auto caps = r.string_array("capabilities")) {
    p.capabilities_declared = true;
    for (std::size_t i = 0; i < caps->size(); ++i) {
      const auto& [name, loc] = (*caps)[i];
      if (auto c = parse_capability(name)) {
        p.capabilities.insert(*c);
      } else {
        error(loc, fmt::format("{}[{}]", r.key_path("capabilities"), i),
              fmt::format("unknown capability '{}'; expected one of {}{}", name,
                          list_text(kCapabilityNames), suggestion(name, kCapabilityNames)));
      }
    }
  }
  if (auto v = r.integer("discovery_interval_s", 0, 86'400)) p.discovery_interval = std::chrono::seconds(*v);
  if (auto v = r.integer("discovery_loaded_interval_s", 0, 86'400)) {
    p.discovery_loaded_interval = std::chrono::seconds(*v);
  }
  if (auto v = r.integer("discovery_timeout_ms", 1, 600'000)) p.discovery_timeout = std::chrono::milliseconds(*v);
  if (format_known && p.format != WireFormat::Ollama) {
    for (std::string_view key :
         {"discovery_interval_s", "discovery_loaded_interval_s", "discovery_timeout_ms"}) {
      if (const toml::node* n = r.table().get(key)) {
        error(loc_of(n->source()), r.key_path(key),
              fmt::format(
                  "applies only to format = \"ollama\" providers (model discovery asks Ollama's "
                  "/api/tags and /api/ps); this provider's format is '{}'",
                  wire_format_name(p.format)));
      }
    }
  }
  r.finish(kProviderKeys);
}

void Loader::read_routers(const toml::node& node) {
  const toml::array* arr = node.as_array();
  if (!arr || !(arr->empty() || arr->is_array_of_tables())) {
    error(loc_of(node.source()), "routers",
          fmt::format("expected an array of tables ([[routers]]), found {}", type_phrase(node.type())));
    return;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table& t = *(*arr)[i].as_table();
    TableReader r(*this, t, fmt::format("routers[{}]", i));
    RuleConfig rule;
    rule.path = r.path();
    rule.loc = r.loc();
    read_rule(r, rule);
    config_.routers.push_back(std::move(rule));
  }
}

// A rule's table as its type's factory will check it: `type`, and every other key as a
// setting (Pipeline::build reports an unknown type, naming the registered ones).
void Loader::read_rule(TableReader& r, RuleConfig& rule) {
  const auto type_name = r.nonempty_string("type", true);
  if (!type_name) return;
  rule.type = *type_name;
  rule.type_loc = loc_of(r.table().get("type")->source());
  for (auto&& [k, v] : r.table()) {
    if (k.str() == "type") continue;
    rule.settings.set(std::string(k.str()), to_value(v, r.key_path(k.str())));
  }
  // toml++ orders keys by name; settings keep the order of the file.
  sort_by_position(rule.settings);
  rule.settings.loc = rule.loc;
}

Value Loader::to_value(const toml::node& n, const std::string& path) {
  Value v;
  switch (n.type()) {
    case toml::node_type::string: v = Value(n.as_string()->get()); break;
    case toml::node_type::integer: v = Value(n.as_integer()->get()); break;
    case toml::node_type::floating_point: v = Value(n.as_floating_point()->get()); break;
    case toml::node_type::boolean: v = Value(n.as_boolean()->get()); break;
    case toml::node_type::array: {
      Value::Array a;
      std::size_t i = 0;
      for (const toml::node& e : *n.as_array()) a.push_back(to_value(e, fmt::format("{}[{}]", path, i++)));
      v = Value(std::move(a));
      break;
    }
    case toml::node_type::table: {
      Value::Object o;
      for (auto&& [k, e] : *n.as_table()) {
        o.emplace_back(std::string(k.str()), to_value(e, join_path(path, k.str())));
      }
      v = Value(std::move(o));
      sort_by_position(v);
      break;
    }
    default:
      error(loc_of(n.source()), path,
            fmt::format("{} is not supported in settings; write it as a string", type_phrase(n.type())));
      break;
  }
  v.loc = loc_of(n.source());
  return v;
}

void Loader::read_components(const toml::node& node, std::string_view group,
                             std::vector<ComponentConfig>& out) {
  const toml::table* t = node.as_table();
  if (!t) {
    error(loc_of(node.source()), group,
          fmt::format("expected a table of [{}.<id>] tables, found {}", group, type_phrase(node.type())));
    return;
  }
  // toml++ tables are ordered by key; keep the file order of the sections instead.
  std::vector<std::pair<std::string_view, const toml::node*>> entries;
  for (auto&& [k, v] : *t) entries.emplace_back(k.str(), &v);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto la = a.second->source().begin;
    const auto lb = b.second->source().begin;
    return std::tie(la.line, la.column) < std::tie(lb.line, lb.column);
  });
  for (const auto& [id, v] : entries) {
    const std::string path = join_path(group, id);
    const toml::table* ct = v->as_table();
    if (!ct) {
      error(loc_of(v->source()), path,
            fmt::format("expected a table ([{}]), found {}", path, type_phrase(v->type())));
      continue;
    }
    ComponentConfig c;
    c.id = std::string(id);
    c.loc = loc_of(ct->source());
    for (auto&& [k, e] : *ct) {
      if (k.str() == "enabled") {
        if (const auto* b = e.as_boolean()) {
          c.enabled = b->get();
        } else {
          error(loc_of(e.source()), join_path(path, "enabled"),
                fmt::format("expected a boolean (true or false), found {}", type_phrase(e.type())));
        }
        continue;
      }
      Value sv = to_value(e, join_path(path, k.str()));
      c.settings.set(std::string(k.str()), std::move(sv));
    }
    sort_by_position(c.settings);
    c.settings.loc = c.loc;
    out.push_back(std::move(c));
  }
}

void Loader::apply_availability() {
  const auto getenv = options_.getenv ? options_.getenv : [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  std::vector<std::string> skipped;
  for (ProviderConfig& p : config_.providers) {
    if (!p.api_key_env) continue;
    const std::optional<std::string> key = getenv(*p.api_key_env);
    if (key && !key->empty()) continue;
    p.available = false;
    p.unavailable_reason = fmt::format("${} is {}", *p.api_key_env, key ? "empty" : "not set");
    std::string warning = fmt::format("provider '{}' skipped: {}", p.name, p.unavailable_reason);
    if (options_.log_warnings) log(LogLevel::Warn, warning);
    config_.warnings.push_back(std::move(warning));
    skipped.push_back(fmt::format("{} needs ${}", p.name, *p.api_key_env));
  }
  const bool any = std::any_of(config_.providers.begin(), config_.providers.end(),
                               [](const ProviderConfig& p) { return p.available; });
  if (!any && !config_.providers.empty()) {
    std::vector<std::string_view> parts(skipped.begin(), skipped.end());
    error(config_.providers.front().loc, "providers",
          fmt::format("no provider is available: every provider's API key variable is unset or "
                      "empty ({})",
                      detail::join(parts, ", ")));
  }
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(Errc::Config, fmt::format("{}: cannot open the config file: {}", path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return fail(Errc::Config, fmt::format("{}: cannot read the config file", path));
  }
  return ss.str();
}

}  // namespace

const ProviderConfig* Config::find_provider(std::string_view name) const noexcept {
  for (const ProviderConfig& p : providers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const ComponentConfig* Config::find_component(const std::vector<ComponentConfig>& group,
                                              std::string_view id) noexcept {
  for (const ComponentConfig& c : group) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

Result<Config> load_config_string(std::string_view toml_text, std::string_view source_name,
                                  const LoadOptions& options) {
  Loader loader{std::string(source_name), options};
  try {
    toml::table root = toml::parse(toml_text, source_name);
    return loader.load(root);
  } catch (const toml::parse_error& e) {
    return loader.syntax_error(e);
  } catch (const std::exception& e) {
    return fail(Errc::Config, fmt::format("{}: {}", source_name, e.what()));
  }
}

Result<Config> load_config_file(const std::string& path, const LoadOptions& options) {
  Result<std::string> text = read_file(path);
  if (!text) return fail(text.error());
  return load_config_string(*text, path, options);
}

Error config_error(const Config& config, SourceLoc loc, std::string_view path, std::string_view message) {
  return Error{Errc::Config,
               fmt::format("{}:{}:{}: {}: {}", config.source, loc.line, loc.column, path, message), 0, {}};
}

const std::vector<std::string_view>& config_schema_keys() {
  static const std::vector<std::string_view> keys = [] {
    static std::vector<std::string> storage;
    auto add = [&](std::string_view prefix, std::span<const std::string_view> list) {
      for (std::string_view k : list) storage.push_back(fmt::format("{}{}", prefix, k));
    };
    add("server.", kServerKeys);
    add("logging.", kLoggingKeys);
    add("telemetry.", kTelemetryKeys);
    add("routing.", kRoutingKeys);
    add("state.", kStateKeys);
    add("providers[].", kProviderKeys);
    add("keys[].", kKeyKeys);
    storage.push_back("routers[].type");
    storage.push_back("classifiers.<id>.enabled");
    storage.push_back("response_classifiers.<id>.enabled");
    storage.push_back("plugins.<id>.enabled");
    return std::vector<std::string_view>(storage.begin(), storage.end());
  }();
  return keys;
}

}  // namespace llmrouter
