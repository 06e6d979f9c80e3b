// SPDX-License-Identifier: MIT
#pragma once
/// @file engine.h
/// The router as one object: `Engine` is the composition root every host creates
/// (llmrouter-server, the C ABI, an embedder's own service). Built from a validated Config,
/// it owns the transport and its event loops, the providers, Ollama model discovery, the
/// OpenTelemetry exporter, the event bus, the JSONL request log and the current pipeline.
///
///     auto engine = Engine::create(std::move(*config));   // Result<std::unique_ptr<Engine>>
///     Outcome o = (*engine)->complete(WireFormat::OpenAI, body, {}, write_to_client, cancel);
///
/// `reload` swaps in a new configuration's pipeline and providers atomically; requests in
/// flight finish on the generation they started with.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/config.h"
#include "llmrouter/events.h"
#include "llmrouter/gateway.h"
#include "llmrouter/http_provider.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/registry.h"
#include "llmrouter/result.h"
#include "llmrouter/router.h"
#include "llmrouter/telemetry.h"
#include "llmrouter/transport.h"

namespace llmrouter {

struct EngineOptions {
  /// The factories: the built-ins, plus an embedder's own rule types, classifiers,
  /// plugins and provider kinds (`[[providers]] kind`, e.g. an in-process model).
  Registries registries = Registries::with_builtins();
  /// Reads API keys (the providers'); std::getenv when unset.
  EnvReader getenv;
  /// Batching and bounds of the OpenTelemetry exporter (when `[telemetry] enabled`).
  TelemetryOptions telemetry;
  /// Event loops of the transport; unset: `[server] workers` (0 there: one per core).
  std::optional<unsigned> loops;
  /// Hold requests to `[[keys]]` (gateway.h), identified by their Authorization or
  /// x-api-key header: an HTTP host's clients. False for a host whose every request is its
  /// own (the C ABI, which takes no headers): no key is asked for and none is counted.
  bool enforce_keys = true;
  /// Run discovery's first round before `create` returns (bounded by each provider's
  /// discovery_timeout_ms), then refresh in the background.
  bool discovery = true;
};

/// One configuration's pipeline and providers. A request holds the generation it started
/// on until it ends, so a reload never changes a request's stages or providers midway.
class Generation {
 public:
  const Pipeline& pipeline() const noexcept { return *pipeline_; }
  const std::shared_ptr<const Pipeline>& shared_pipeline() const noexcept { return pipeline_; }
  const Config& config() const noexcept { return pipeline_->config(); }
  /// The provider serving a configured name, or null (unavailable: its key is unset).
  const Provider* provider(std::string_view name) const;
  /// `provider` as the lookup Call::run takes.
  const ProviderLookup& lookup() const noexcept { return lookup_; }
  /// The team gateway's keys of this configuration (`[[keys]]` and the operator key).
  const KeyTable& keys() const noexcept { return *keys_; }
  /// Where the gateway counts (the engine's, shared by every generation).
  const std::shared_ptr<LimitStore>& limits() const noexcept { return limits_; }
  /// Whether requests are held to the keys (EngineOptions::enforce_keys).
  bool enforces_keys() const noexcept { return enforce_keys_ && keys_->enabled(); }

 private:
  friend class Engine;
  std::shared_ptr<const Pipeline> pipeline_;
  std::shared_ptr<const KeyTable> keys_;
  std::shared_ptr<LimitStore> limits_;
  bool enforce_keys_ = true;
  std::map<std::string, std::shared_ptr<const Provider>, std::less<>> providers_;
  ProviderLookup lookup_;
};

/// What Engine::reload applied, and what it could not.
struct ReloadReport {
  /// Where the configuration came from (Config::source: its file).
  std::string source;
  /// The settings that differ from the running ones but take effect only at the next start,
  /// as key paths in schema order ("server.port", "logging.path", "state.backend"): the
  /// HTTP edge's `[server]` settings, `[logging]`, `[telemetry]`, and the connection to the
  /// shared state's backend.
  std::vector<std::string> restart_required;
  /// The configuration's non-fatal findings (Config::warnings: providers skipped because
  /// their key is unset).
  std::vector<std::string> warnings;
};

/// What a host sees of a request submitted with Engine::submit. Calls come one at a time,
/// in order: from the submitting thread until the first upstream exchange starts, then from
/// the transport loop running it. They must not block.
class RequestCallbacks {
 public:
  virtual ~RequestCallbacks() = default;
  /// Routed, or answered by a plugin: the decision behind the X-Router-* headers. At most
  /// once, before any bytes.
  virtual void on_decision(const PreparedRequest& /*prepared*/) {}
  /// A provider is about to be tried: the first target, then each failover.
  virtual void on_attempt(const RouteTarget& /*target*/) {}
  /// Reply bytes in the client's format: a stream's as they come (the upstream's own in
  /// same-format pass-through), a non-streamed body whole just before on_end. False
  /// cancels the request.
  virtual bool on_bytes(std::string_view bytes) = 0;
  /// Flow control, asked after each piece of the reply: true pauses the upstream transfer
  /// until RequestHandle::resume.
  virtual bool behind() const { return false; }
  /// The end, exactly once, last. A request that failed before its first byte has its
  /// error here and gave no bytes: answer it with the error's status.
  virtual void on_end(Outcome outcome) = 0;
};

/// A request submitted with Engine::submit. Thread-safe.
class RequestHandle {
 public:
  virtual ~RequestHandle() = default;
  /// The request's id (X-Router-Request-Id).
  virtual uint64_t id() const noexcept = 0;
  /// Ends the request: the transfer in flight is cancelled and on_end reports it.
  virtual void cancel() = 0;
  /// Resumes the transfer paused because the callbacks were behind.
  virtual void resume() = 0;
};

/// A reply as client-format bytes, pulled by the caller (see Engine::open_stream).
class ReplyStream {
 public:
  enum class Status { Data, End, Timeout };
  virtual ~ReplyStream() = default;
  /// Waits up to `timeout` (negative: without limit) for the next bytes, moved into `out`.
  /// End: the reply is over; `error()` then says whether it failed.
  virtual Status next(std::string& out, std::chrono::milliseconds timeout) = 0;
  /// Set once `next` returned End for a reply that failed.
  virtual const std::optional<Error>& error() const noexcept = 0;
  /// The request's id (X-Router-Request-Id).
  virtual uint64_t id() const noexcept = 0;
  /// The provider being tried (the first target, then each failover); empty before the
  /// first attempt and for a reply a plugin gave.
  virtual RouteTarget target() const = 0;
  /// The request's tags (X-Router-Request-Tags); empty when it failed before routing.
  virtual const std::vector<std::string>& tags() const noexcept = 0;
  /// Whether the client asked for a stream (false when the request failed before routing).
  virtual bool streamed() const noexcept = 0;
  /// Ends the request; `next` then drains what is buffered and returns End.
  virtual void cancel() = 0;
  /// After `next` returned End: everything about the request (attempts, usage, error).
  virtual const Outcome& outcome() const = 0;
};

class Engine {
 public:
  /// Builds everything and starts the background parts (loops, discovery, log writer,
  /// exporter). Errors (Errc::Config): a pipeline that does not build (an unregistered
  /// component, a factory's error), a log file that cannot be opened, a bad telemetry
  /// endpoint.
  [[nodiscard]] static Result<std::unique_ptr<Engine>> create(Config config, EngineOptions options = {});
  /// Stops discovery, cancels transfers in flight, flushes the log, and flushes the
  /// telemetry within TelemetryOptions::shutdown_timeout.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// The generation new requests start on.
  std::shared_ptr<const Generation> current() const;
  /// Validates and builds `config`'s pipeline and providers and swaps them in at once;
  /// requests in flight finish on theirs. Request ids, the event bus, the log and the
  /// transport carry on. `[server]`, `[logging]`, `[telemetry]` and the state backend's
  /// connection keep their start-up values: the report lists the ones that differ (also
  /// logged as a warning). Every reload, applied or refused, publishes a `reload` event
  /// and is logged (info, or error with every problem). One reload runs at a time; a
  /// second waits. Blocks while the pipeline builds and discovery's first round runs
  /// (bounded by each provider's discovery_timeout_ms): call it from a thread of the
  /// host's, never from a transport loop. Errors (Errc::Config, one line per problem)
  /// leave the current generation in place.
  [[nodiscard]] Result<ReloadReport> reload(const Config& config);
  /// `reload` of the TOML file at `path`, read with the engine's environment reader;
  /// `adjust`, when set, is applied to the loaded configuration first (a host's
  /// command-line overrides). A file that does not load is refused like a configuration
  /// that does not build: the error lists every problem as FILE:LINE:COL: ..., and the
  /// `reload` event and the log say so.
  [[nodiscard]] Result<ReloadReport> reload_file(const std::string& path,
                                                 const std::function<void(Config&)>& adjust = {});

  /// Starts one request and returns at once: decode, stages and routing run on the calling
  /// thread, each upstream exchange on a transport loop, and the reply reaches `callbacks`
  /// (see RequestCallbacks) in the client's format. `headers` are the client's request
  /// headers; those worth forwarding are kept. The engine keeps `callbacks` until on_end.
  /// `endpoint` is the API the request came in on (`format` is OpenAI for any but Chat):
  /// an endpoint's reply is its provider's body, in OpenAI's shape.
  ///
  /// With `[[keys]]` configured, the request must carry one (`Authorization: Bearer` or
  /// `x-api-key` in `headers`) or the operator key: otherwise it ends with 401. A key's
  /// models, rates and budget are checked before it is sent (403, 429) and its real usage
  /// is counted at its end (gateway.h).
  std::shared_ptr<RequestHandle> submit(WireFormat format, std::string body, const Headers& headers,
                                        std::shared_ptr<RequestCallbacks> callbacks,
                                        Endpoint endpoint = Endpoint::Chat) const;

  /// `submit`, waited for on the calling thread: the reply reaches `write` there, a
  /// stream's bytes as they come, a non-streamed body whole at the end (nothing when the
  /// request failed before its first byte: the error is in the Outcome). `write` returns
  /// false to cancel; so does setting `cancel`.
  Outcome complete(WireFormat format, std::string_view body, const Headers& headers,
                   const std::function<bool(std::string_view)>& write, const CancelFlag& cancel) const;

  /// `submit` with a reply the caller pulls: up to 256 KiB of reply wait for the reader,
  /// past that the upstream transfer pauses until it reads. Destroying the stream cancels
  /// the request. A request that fails before its first byte ends at once (its first
  /// `next` returns End, with the error in `outcome()`).
  [[nodiscard]] std::unique_ptr<ReplyStream> pull(WireFormat format, std::string body,
                                                  const Headers& headers = {}) const;
  /// `pull`, with a request that fails before it runs (a bad body, no route, a plugin's
  /// error) returned as the error instead.
  [[nodiscard]] Result<std::unique_ptr<ReplyStream>> open_stream(WireFormat format,
                                                                 std::string body,
                                                                 const Headers& headers = {}) const;

  /// Writes what the JSONL log holds and stops its writer, then flushes the telemetry
  /// exporter (within TelemetryOptions::shutdown_timeout). For a host's orderly exit;
  /// idempotent; the destructor does it too.
  void shutdown();

  const std::shared_ptr<EventBus>& events() const noexcept;
  const std::shared_ptr<Transport>& transport() const noexcept;
  const std::shared_ptr<ModelCatalog>& catalog() const noexcept;
  /// The JSONL request log, or null when `[logging] enabled` is false.
  const JsonlLog* request_log() const noexcept;
  /// Reopens the JSONL log by its path (after logrotate renamed it); no-op without a log.
  /// Thread-safe.
  void reopen_log() const;
  /// The environment reader the engine uses for keys.
  const EnvReader& getenv() const noexcept;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Keeps what a client sent that providers may be offered (is_forwarded_header), the W3C
/// trace context (`traceparent`, `tracestate`) among them. Names are lower-cased.
Headers forwarded_headers(const Headers& client);

}  // namespace llmrouter
