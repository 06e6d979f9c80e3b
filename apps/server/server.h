// SPDX-License-Identifier: MIT
#pragma once
// llmrouter-server's HTTP host, as a small library the tests link: cpp-httplib in front
// of an Engine (llmrouter/engine.h), which owns the pipeline, the transport and the
// providers.
//
// Threading: every accepted connection runs on its own thread, taken from an elastic pool
// (threads are created on demand and retire after a minute idle). At most
// `[server] max_connections` connections are served at once; the next ones get a 503 in
// their client's format at once, and only past that headroom do connections wait for a
// thread. A request is submitted to the Engine from its connection's thread (decoding,
// stages and routing run there); its upstream exchange runs on a transport loop, which
// hands the reply, already in the client's format, to the connection's thread through the
// engine's bounded pull stream.

#include <chrono>
#include <memory>
#include <string>

#include "llmrouter/config.h"
#include "llmrouter/http_provider.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/result.h"
#include "llmrouter/telemetry.h"

namespace llmrouter::server {

struct ServerOptions {
  /// How long `stop` lets in-flight requests finish before cancelling them.
  std::chrono::milliseconds grace{10'000};
  /// A stream waiting this long for the upstream gets a keep-alive (SSE comment or
  /// Anthropic ping).
  std::chrono::milliseconds keepalive{10'000};
  /// Idle keep-alive connections are closed after this long.
  std::chrono::seconds keepalive_timeout{5};
  /// Reads API keys ([server] api_key_env and the providers'); std::getenv by default.
  EnvReader getenv;
  /// Batching and bounds of the OpenTelemetry exporter (when `[telemetry] enabled`).
  TelemetryOptions telemetry;
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

  /// Binds `[server] host` and `port` (0: any free port). Returns the port.
  [[nodiscard]] Result<int> bind();
  /// Serves until `stop`; returns once in-flight requests are done and the log and the
  /// telemetry are flushed (the telemetry within TelemetryOptions::shutdown_timeout).
  void run();
  /// Answers new requests with 503, gives in-flight requests the grace period, cancels
  /// what is left, then closes the listener. Thread-safe, idempotent; returns at once
  /// (`run` returns when everything is done).
  void stop();

  int port() const noexcept;
  const Pipeline& pipeline() const noexcept;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrouter::server
