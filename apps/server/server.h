// SPDX-License-Identifier: MIT
#pragma once
// llmrouter-server's HTTP host, as a small library the tests link: the HTTP edge
// (llmrouter/http_server.h) in front of an Engine (llmrouter/engine.h), which owns the
// pipeline, the transport and the providers.
//
// Threading: the edge and the transport share the engine's event loops. A connection lives
// on one loop; its request is decoded, staged and routed there, its upstream transfer runs
// on the same loop, and the reply is written there as the upstream produces it. Nothing
// blocks a loop: a slow client pauses its upstream transfer instead.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "llmrouter/config.h"
#include "llmrouter/engine.h"
#include "llmrouter/http_provider.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/registry.h"
#include "llmrouter/result.h"
#include "llmrouter/telemetry.h"

namespace llmrouter::server {

struct ServerOptions {
  /// How long `stop` lets in-flight requests finish before cancelling them.
  std::chrono::milliseconds grace{10'000};
  /// A stream waiting this long for the upstream gets a keep-alive (SSE comment or
  /// Anthropic ping).
  std::chrono::milliseconds keepalive{10'000};
  /// Reads API keys ([server] api_key_env and the providers'); std::getenv by default.
  EnvReader getenv;
  /// Batching and bounds of the OpenTelemetry exporter (when `[telemetry] enabled`).
  TelemetryOptions telemetry;
  /// The rule types, classifiers, plugins and provider kinds the configuration may name (a
  /// host's own extensions registered next to the built-ins).
  Registries registries = Registries::with_builtins();
  /// The file the configuration was read from: `reload` (SIGHUP, POST /admin/reload) reads
  /// it again. Empty: the configuration came from elsewhere and there is nothing to reload.
  std::string config_file;
  /// Applied to every configuration `reload` reads, as the host applied it to the first
  /// (llmrouter-server: --host and --port).
  std::function<void(Config&)> config_overrides;
};

class Server {
 public:
  /// Creates the Engine (pipeline, transport, providers, discovery, the JSONL log when
  /// `[logging] enabled`, the OpenTelemetry exporter when `[telemetry] enabled`) and reads
  /// the router's own API key. Errors (Errc::Config): a
  /// pipeline that does not build, `[server] api_key_env` naming an unset or empty
  /// variable, a log file that cannot be opened.
  [[nodiscard]] static Result<std::unique_ptr<Server>> create(Config config, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds `[server] host` and `port` (0: any free port). Returns the port. Errors
  /// (Errc::Config): the address is in use or unavailable; a non-loopback address without
  /// `[server] api_key_env` unless `[server] allow_unauthenticated`.
  [[nodiscard]] Result<int> bind();
  /// Serves until `stop`; returns once in-flight requests are done and the log and the
  /// telemetry are flushed (the telemetry within TelemetryOptions::shutdown_timeout).
  /// An error when the listener failed for good (the process should exit non-zero).
  Result<void> run();
  /// Stops accepting, answers new requests on open connections with 503, gives in-flight
  /// requests the grace period, cancels what is left, then closes every connection. Thread-safe, idempotent; returns at once
  /// (`run` returns when everything is done).
  void stop();

  int port() const noexcept;
  /// Reopens the JSONL request log by its path (SIGHUP, after logrotate renamed it).
  void reopen_log();
  /// Reads `ServerOptions::config_file` again, applies `config_overrides`, and reloads it
  /// (Engine::reload_file): new requests use it, requests in flight finish on theirs. The
  /// reload is counted in /metrics and published as a `reload` event. `[server]` settings
  /// keep their start-up values (listed in the report's `restart_required` when changed).
  /// Blocks (reading, building, discovery's first round); one reload at a time, a second
  /// waits. Thread-safe. Errors (Errc::Config): every problem of the file, one per line,
  /// the running configuration unchanged; no `config_file`.
  [[nodiscard]] Result<ReloadReport> reload();
  const Pipeline& pipeline() const noexcept;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrouter::server
