// SPDX-License-Identifier: MIT
#pragma once
/// @file pipeline.h
/// The pipeline: built once from a validated Config and Registries, immutable, and shared by
/// every request thread.
///
///     on_start plugins -> classifiers -> pre_request plugins -> router rules
///       -> provider (later) -> post_response plugins -> response classifiers -> on_end plugins
///
/// `prepare` runs the request side (no network) and `finish` the response side; `handle`
/// runs a whole request: decode, prepare, send with failover, finish, and the events.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/classifier.h"
#include "llmrouter/config.h"
#include "llmrouter/events.h"
#include "llmrouter/live.h"
#include "llmrouter/plugin.h"
#include "llmrouter/provider.h"
#include "llmrouter/registry.h"
#include "llmrouter/request.h"
#include "llmrouter/response.h"
#include "llmrouter/result.h"
#include "llmrouter/router.h"
#include "llmrouter/state.h"
#include "llmrouter/tracing.h"

namespace llmrouter {

namespace detail {
struct CallRun;
class AttemptObserver;
}

/// A plugin chosen for one request, with its merged settings.
struct ActivePlugin {
  std::string id;
  const Plugin* plugin = nullptr;
  Value settings = Value(Value::Object{});
};

/// A request after the request-side stages.
struct PreparedRequest {
  CanonicalRequest request;
  RequestState state;
  /// The plugins of this request, in the order they run.
  std::vector<ActivePlugin> plugins;
  /// Where to send it; unset when a plugin answered (`state.response` is set then).
  std::optional<RouteDecision> decision;
  /// True when a plugin changed the request (Modified/Stop before routing): re-encode it
  /// rather than passing the client's body through.
  bool modified = false;
  /// True when a post_response or on_end plugin changed the reply (Modified/Stop): the
  /// host must encode `Outcome::response` rather than relay the upstream's bytes.
  bool response_modified = false;
  /// Plugin ids the client asked for that do not exist (ignored, reported).
  std::vector<std::string> unknown_plugins;
  /// Every candidate was at its max_concurrency and `[routing] queue_timeout_ms` lets the
  /// request wait: `decision` is set once one has room (Call::run, Call::run_async).
  bool waiting_for_room = false;
};

/// Finds the Provider serving a configured provider name (nullptr: none).
using ProviderLookup = std::function<const Provider*(std::string_view name)>;

/// One try of one provider.
struct Attempt {
  std::string provider;
  std::string model;
  /// Empty when the attempt succeeded.
  std::string error;
  /// The HTTP status of the attempt's error (0 when it succeeded).
  int status = 0;
  int64_t duration_ms = 0;
};

/// What the host sees while `handle` runs (on the calling thread).
class RequestObserver : public EventSink {
 public:
  /// The request is routed (or answered by a plugin): response headers can be decided.
  /// Called at most once, before the first event.
  virtual void on_routed(const PreparedRequest&) {}
  /// A provider is about to be tried: the first target, then each failover.
  virtual void on_attempt(const RouteTarget&) {}
};

/// Everything about one handled request.
struct Outcome {
  uint64_t id = 0;
  /// Set when decoding succeeded.
  std::optional<PreparedRequest> prepared;
  /// The reply (assembled from the events), after post_response plugins and response
  /// classifiers; unset on error.
  std::optional<Response> response;
  std::optional<Error> error;
  std::vector<Attempt> attempts;
  /// Time to the first event delivered to the client.
  std::optional<int64_t> ttft_ms;
  /// True once any event reached the client (an error after that went in-band).
  bool delivered = false;
  /// True when the reply came from a provider speaking the client's format and was relayed
  /// through RequestObserver::on_raw (same-format pass-through).
  bool passthrough = false;
  int64_t duration_ms = 0;
  /// Usage priced with the chosen provider's cost_per_1m_tokens.
  double cost_usd = 0.0;
  /// The name of the team key (`[[keys]]`) the request came with; empty for none (or the
  /// operator key).
  std::string key;
};

class Pipeline;

/// What the host sees of a request run with Call::run_async: the RequestObserver calls,
/// then `on_complete`, from the thread that started it or from a transport loop, one at a
/// time. Must not block.
class AsyncRequestObserver : public RequestObserver {
 public:
  /// Flow control, asked after each piece of the reply: true pauses the upstream transfer
  /// until Call::resume.
  virtual bool behind() const { return false; }
  /// The request ended: its outcome, as Call::run returns it. Called exactly once, last.
  virtual void on_complete(Outcome outcome) = 0;
};

/// One client request in two steps, so a host can send response headers between them:
/// `Pipeline::start` decodes, runs the request-side stages and routes (no network I/O);
/// `run` sends it with failover and runs the response side. The `complete` event is
/// published exactly once: by `run`, or by the destructor when `run` never happens (the
/// client went away). Used from one thread at a time; the pipeline must outlive it.
class Call {
 public:
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  uint64_t id() const noexcept { return outcome_.id; }
  /// The prepared request (tags, decision); unset when `start` failed.
  const std::optional<PreparedRequest>& prepared() const noexcept { return outcome_.prepared; }
  /// Why `start` failed (bad body, no route, a plugin's error); `run` then only completes.
  const std::optional<Error>& error() const noexcept { return error_; }
  /// The model the client asked for (empty when the body did not decode).
  const std::string& requested_model() const noexcept { return requested_model_; }
  /// Before it runs: refuses the call with `e` (a host's or the gateway's verdict), in place
  /// of any error `start` found; `run` then only completes, with that error.
  void refuse(Error e);
  /// Names the team key the request came with (Outcome::key). Before it runs.
  void set_key(std::string name) { outcome_.key = std::move(name); }
  /// Sends the request and delivers the reply to `observer` (see Pipeline::handle). Once.
  Outcome run(const ProviderLookup& providers, RequestObserver& observer, const CancelFlag& cancel);
  /// `run` without blocking: each attempt is started with Provider::start and the reply
  /// reaches `observer` as it arrives (see AsyncRequestObserver). `self` keeps the call
  /// alive until on_complete. Once, instead of `run`.
  static void run_async(std::shared_ptr<Call> self, ProviderLookup providers,
                        std::shared_ptr<AsyncRequestObserver> observer);
  /// Cancels a call started with run_async (its outcome then carries Errc::Cancelled,
  /// unless it ended first). Thread-safe.
  void cancel();
  /// Resumes the upstream transfer paused because the observer was behind. Thread-safe.
  void resume();
  /// The request's trace id (lower-case hex), or "" when its tracer gave it none (with
  /// the engine's tracing: telemetry is off and the client sent no valid `traceparent`).
  std::string trace_id() const;

 private:
  friend class Pipeline;
  friend class detail::AttemptObserver;
  Call(const Pipeline& pipeline, WireFormat client, std::string_view body, Headers headers);
  void complete(std::optional<Error> error);
  // The steps of `run` and `run_async`.
  bool begin(RequestObserver& observer);
  const RouteTarget* next_target();
  const Provider* attempt_begin(const RouteTarget& t, const ProviderLookup& providers, CanonicalRequest& upstream,
                                SendOptions& options);
  bool attempt_end(const RouteTarget& t, Result<void> r);
  void report_attempt(const RouteTarget& t, const Result<void>& r);
  bool begin_targets();
  bool route_waiting(bool timed_out, bool& again);
  bool reply_refused();
  static void park(const std::shared_ptr<Call>& self);
  Outcome finish_run();
  static void step(const std::shared_ptr<Call>& self);
  static void next_step(const std::shared_ptr<Call>& self);
  static void abort_async(const std::shared_ptr<Call>& self, std::string_view what);

  const Pipeline& pipeline_;
  WireFormat client_;
  std::string_view body_;
  Headers headers_;
  std::chrono::steady_clock::time_point start_;
  Outcome outcome_;
  std::optional<Error> error_;
  std::string requested_model_;
  RequestObserver* observer_ = nullptr;
  bool stream_ended_ = false;  // the client got Done or StreamError
  bool completed_ = false;
  std::unique_ptr<CallTracer> trace_;                       // null: not traced
  std::unique_ptr<detail::CallRun> run_;                    // set once the call runs
};

class Pipeline {
 public:
  /// Builds the stages. Errors (Errc::Config): a classifier, response classifier or plugin
  /// id with no registered factory (naming file, line and id), or a factory's own error.
  /// `tracing`, when given, observes every request (tracing.h): the engine passes its
  /// Telemetry, or trace_context_only() when `[telemetry]` is off; null traces nothing.
  /// `previous`, when given, is the pipeline this one replaces (a reload): the new one
  /// publishes on the same event bus, continues its request ids and in-flight count, and
  /// keeps its live figures (live.h) and the conversations kept for Responses clients
  /// (state.h). `responses`, when given and there is no `previous`, is where those
  /// conversations are kept (the Redis store); otherwise a MemoryResponseStore.
  [[nodiscard]] static Result<std::shared_ptr<const Pipeline>> build(
      const Config& config, const Registries& registries, const ModelCatalog* catalog = nullptr,
      std::shared_ptr<const CallTracing> tracing = nullptr, const Pipeline* previous = nullptr,
      std::shared_ptr<ResponseStore> responses = nullptr);

  /// Runs on_start, classifiers, pre_request and routing for `req`. A Responses request
  /// naming a `previous_response_id` the router kept has that conversation prepended to
  /// its messages first (the field is then cleared). Errors: a plugin's error
  /// (Errc::Internal, "plugin 'x' failed: ...", HTTP 500), no route (Errc::NoRoute, 400), a
  /// forced provider that does not exist or is unavailable (Errc::NoRoute), a
  /// `previous_response_id` neither kept nor going to a Responses provider (404, or the
  /// store's own error when it could not look: the Redis store's 503).
  [[nodiscard]] Result<PreparedRequest> prepare(CanonicalRequest req, RequestState state) const;

  /// Decodes `body` (a client request in `client` format) and prepares it: the dry run
  /// behind `POST /v1/route`. No network I/O.
  [[nodiscard]] Result<PreparedRequest> route(WireFormat client, std::string_view body,
                                              double random = 0.0) const;
  /// `route` for POST /v1/route: the decision also lists every candidate considered, with
  /// the figure it was ranked by and why any was passed over (RouteDecision::considered).
  /// `session_header` is the client's `x-session-id`, if any.
  [[nodiscard]] Result<PreparedRequest> explain(WireFormat client, std::string_view body,
                                                double random = 0.0,
                                                std::string_view session_header = {}) const;

  /// Runs post_response, response classifiers (writing `resp.tags`) and on_end on a reply.
  /// Plugin errors here are logged and do not fail the request.
  void finish(PreparedRequest& prepared, Response& resp) const;

  /// Handles one client request from its body to its last event: decode, plugins,
  /// classifiers, routing, provider with failover (a failure before any event reached the
  /// client moves on to the next fallback, up to `[routing] max_attempts`), post-response
  /// stages, and the `start` / `classified` / `routed` / `complete` events on every path.
  /// Never throws; errors are in the Outcome (and, after the first event, were sent to
  /// `client` as a StreamError). Thread-safe.
  ///
  /// When a provider speaks the client's format and no plugin changed the request, the
  /// client's body is passed through (only `model` and `plugins` rewritten) and the reply's
  /// bytes reach `observer.on_raw` as they arrive, before their events. `headers` are the
  /// client's request headers providers may be offered (is_forwarded_header), its W3C trace
  /// context (`traceparent`, `tracestate`) among them, which the request's trace continues.
  /// A header that could not be sent as one line (CR, LF or NUL, a name that is not a
  /// token) fails the request with 400.
  Outcome handle(WireFormat client, std::string_view body, const Headers& headers, const ProviderLookup& providers,
                 RequestObserver& observer, const CancelFlag& cancel) const;

  /// The first half of `handle`: decode, request-side stages, routing, and the `start`,
  /// `classified` and `routed` events. `body` must outlive the Call. `endpoint` is the API
  /// the request came in on: for any but Chat, `client` must be OpenAI, the body is decoded
  /// by decode_endpoint_request, and each attempt sends encode_endpoint_request's body.
  [[nodiscard]] std::unique_ptr<Call> start(WireFormat client, std::string_view body,
                                            Headers headers = {},
                                            Endpoint endpoint = Endpoint::Chat) const;
  /// A request the host refuses before reading it (bad credentials, body too large,
  /// overload): a Call whose `error()` is `error`, with its `start` event published and its
  /// `complete` event (and log line) to come, like any other request.
  [[nodiscard]] std::unique_ptr<Call> refuse(WireFormat client, Error error) const;
  /// A fresh id from the request id sequence, for host responses outside the pipeline.
  uint64_t new_request_id() const noexcept { return counters_->next_id.fetch_add(1); }

  /// The event stream of this pipeline's requests.
  const std::shared_ptr<EventBus>& events() const noexcept { return events_; }
  /// Requests being handled now (by this pipeline and those it replaced or that replace it).
  uint64_t in_flight() const noexcept { return counters_->in_flight.load(); }

  const Config& config() const noexcept { return config_; }
  const Router& router() const noexcept { return router_; }
  /// The providers' live figures, health, capacity and sessions (shared with the pipelines
  /// this one replaced or that replace it).
  const std::shared_ptr<LiveStats>& live() const noexcept { return live_; }
  /// The conversations kept for Responses clients (shared like `live`).
  const std::shared_ptr<ResponseStore>& responses() const noexcept { return responses_; }
  /// The tracing given to `build`, or null.
  const std::shared_ptr<const CallTracing>& tracing() const noexcept { return tracing_; }

  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

 private:
  friend class Call;
  Pipeline(Config config, const ModelCatalog* catalog,
           std::vector<std::shared_ptr<const Rule>> rules, std::shared_ptr<LiveStats> live);

  Config config_;
  std::shared_ptr<LiveStats> live_;
  std::shared_ptr<ResponseStore> responses_;
  Router router_;
  std::vector<std::pair<std::string, std::unique_ptr<Classifier>>> classifiers_;
  std::vector<std::pair<std::string, std::unique_ptr<ResponseClassifier>>> response_classifiers_;
  /// Every registered plugin instance (enabled or not: a request may ask for any), in
  /// registry order, with its config settings.
  struct PluginSlot {
    std::string id;
    std::unique_ptr<Plugin> plugin;
    bool enabled = false;
    Value settings = Value(Value::Object{});
  };
  std::vector<PluginSlot> plugins_;
  std::shared_ptr<EventBus> events_ = EventBus::create();
  std::shared_ptr<const CallTracing> tracing_;
  /// Request ids and requests in flight, shared by a pipeline and the ones reloads put in
  /// its place.
  struct Counters {
    std::atomic<uint64_t> next_id{0};
    std::atomic<uint64_t> in_flight{0};
  };
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();

  /// Whether provider `provider` speaks the `client` wire format (pass-through possible).
  bool speaks(std::string_view provider, WireFormat client) const;
  /// Whether provider `provider` keeps Responses conversations itself (format "responses").
  bool keeps_conversations(std::string_view provider) const;
  std::vector<ActivePlugin> resolve_plugins(const CanonicalRequest& req, std::vector<std::string>& unknown) const;
  // Run: a request that will be sent (it may wait for room); DryRun: `prepare` and `route`;
  // Explain: `explain`.
  enum class PrepareMode { Run, DryRun, Explain };
  Result<PreparedRequest> prepare(CanonicalRequest req, RequestState state, PrepareMode mode) const;
  // `prepare`, into `p` (a default PreparedRequest).
  Result<void> prepare_into(CanonicalRequest&& req, RequestState&& state, PrepareMode mode,
                            PreparedRequest& p) const;
  // Routes a request that waited for room again.
  Result<RouteDecision> reroute(const PreparedRequest& p) const;
  // `finish`, with `check` (when set) run on the reply after the post_response plugins: when
  // it returns false the reply is refused, the later stages do not run and false returns.
  bool finish(PreparedRequest& p, Response& resp,
              const std::function<bool(Response&)>& check) const;
};

}  // namespace llmrouter
