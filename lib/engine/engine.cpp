// SPDX-License-Identifier: MIT
// Engine: the one composition root. Everything a host needs around a pipeline — the
// transport and its loops, the providers, discovery, telemetry, the event bus and the JSONL
// log — is built here, once, and the reply writer and the pull stream live here too.
#include "llmrouter/engine.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <simdjson.h>

#include "llmrouter/discovery.h"
#include "llmrouter/formats.h"
#include "llmrouter/log.h"
#include "util/strings.h"

namespace llmrouter {
namespace {

// Reply bytes a pull stream holds for a slow reader before its request pauses.
constexpr std::size_t kStreamBuffer = 256 << 10;

unsigned default_loops(const Config& config) {
  if (config.server.workers > 0) return config.server.workers;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

// The settings a reload leaves at their start-up values, as key paths: the HTTP edge and
// the host read [server] once (but for max_upstream_reply_bytes, which the providers built
// by a reload take), the JSONL log, the diagnostic log's level and the exporter are set up
// once, and so is the shared state's backend with its connection.
std::vector<std::string> restart_required(const Config& was, const Config& now) {
  std::vector<std::string> out;
  auto check = [&out](bool changed, std::string_view path) {
    if (changed) out.emplace_back(path);
  };
  const ServerConfig& a = was.server;
  const ServerConfig& b = now.server;
  check(a.host != b.host, "server.host");
  check(a.port != b.port, "server.port");
  check(a.dashboard != b.dashboard, "server.dashboard");
  // With [[keys]] the key table, which every reload builds anew, holds the operator key.
  check(a.api_key_env != b.api_key_env && now.keys.empty(), "server.api_key_env");
  check(a.max_body_bytes != b.max_body_bytes, "server.max_body_bytes");
  check(a.max_connections != b.max_connections, "server.max_connections");
  check(a.workers != b.workers, "server.workers");
  check(a.max_header_bytes != b.max_header_bytes, "server.max_header_bytes");
  check(a.max_headers != b.max_headers, "server.max_headers");
  check(a.header_timeout != b.header_timeout, "server.header_timeout_ms");
  check(a.idle_timeout != b.idle_timeout, "server.idle_timeout_ms");
  check(a.body_timeout != b.body_timeout, "server.body_timeout_ms");
  check(a.allowed_hosts != b.allowed_hosts, "server.allowed_hosts");
  check(a.cors_origins != b.cors_origins, "server.cors_origins");
  check(a.allow_unauthenticated != b.allow_unauthenticated, "server.allow_unauthenticated");
  check(a.metrics_max_models != b.metrics_max_models, "server.metrics_max_models");
  check(was.logging.enabled != now.logging.enabled, "logging.enabled");
  check(was.logging.path != now.logging.path, "logging.path");
  check(was.logging.level != now.logging.level, "logging.level");
  const TelemetryConfig& t = was.telemetry;
  const TelemetryConfig& u = now.telemetry;
  check(t.enabled != u.enabled, "telemetry.enabled");
  check(t.otlp_endpoint != u.otlp_endpoint, "telemetry.otlp_endpoint");
  check(t.service_name != u.service_name, "telemetry.service_name");
  check(t.sample_ratio != u.sample_ratio, "telemetry.sample_ratio");
  check(was.state.backend != now.state.backend, "state.backend");
  check(was.state.redis_url != now.state.redis_url, "state.redis_url");
  check(was.state.redis_password_env != now.state.redis_password_env, "state.redis_password_env");
  check(was.state.key_prefix != now.state.key_prefix, "state.key_prefix");
  check(was.state.redis_timeout != now.state.redis_timeout, "state.redis_timeout_ms");
  return out;
}

EnvReader process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
}

// Turns a reply into client-format bytes for `deliver`: a stream's bytes as they come (the
// upstream's own in same-format pass-through, otherwise the encoded events), or a whole
// response body at the end. `deliver` returns false to cancel.
class ReplyWriter final : public RequestObserver {
 public:
  using Deliver = std::function<bool(std::string_view)>;
  ReplyWriter(WireFormat format, const PreparedRequest& prepared, Deliver deliver)
      : format_(format),
        streamed_(prepared.request.stream),
        endpoint_(prepared.request.endpoint != Endpoint::Chat),
        deliver_(std::move(deliver)) {
    if (streamed_) {
      StreamEncoderOptions options;
      options.include_usage = prepared.request.stream_include_usage;
      encoder_ = make_stream_encoder(format, options);
    }
  }

  bool on_event(const StreamEvent& e) override {
    if (stopped_) return false;
    if (!streamed_) return true;  // assembled by the pipeline; written by finish()
    // In pass-through the upstream's bytes already carry the events; only an error of our
    // own (a timeout, a broken stream) is written in the client's format.
    if (raw_ && !std::holds_alternative<StreamError>(e)) return true;
    buf_.clear();
    encoder_->encode(e, buf_);
    return buf_.empty() || send(buf_);
  }
  bool on_raw(std::string_view bytes) override {
    if (stopped_) return false;
    if (!streamed_) {
      raw_body_ += bytes;
      return true;
    }
    raw_ = true;
    return send(bytes);
  }
  bool on_idle() override { return !stopped_; }

  // After the request: a non-streamed reply is delivered whole. False when cancelled.
  bool finish(const Outcome& o) {
    if (stopped_) return false;
    if (streamed_ || o.error || !o.response) return true;
    // An endpoint's reply is its provider's body (translated by the provider when it had to
    // be), whatever the response-side stages made of its record.
    if (endpoint_ ||
        (o.passthrough && o.prepared && !o.prepared->response_modified && !raw_body_.empty()))
      return send(raw_body_);
    return send(encode_response(format_, *o.response));
  }
  bool stopped() const noexcept { return stopped_; }

 private:
  bool send(std::string_view bytes) {
    if (!deliver_(bytes)) stopped_ = true;
    return !stopped_;
  }

  WireFormat format_;
  bool streamed_;
  bool endpoint_;  // not a chat request: the reply is the provider's own body
  Deliver deliver_;
  std::unique_ptr<StreamEncoder> encoder_;
  std::string buf_;
  std::string raw_body_;
  bool raw_ = false;
  bool stopped_ = false;
};

// The top-level `previous_response_id` of a Responses body, or "" (none, or not JSON: the
// pipeline reports that). Scanned on demand, only when the name occurs in the body; `body`
// gets simdjson's padding as spare capacity.
std::string previous_response_id(std::string& body) {
  if (body.find("\"previous_response_id\"") == std::string::npos) return {};
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  thread_local simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(body.data(), body.size(), body.capacity()).get(doc) != simdjson::SUCCESS)
    return {};
  std::string_view id;
  if (doc["previous_response_id"].get_string().get(id) != simdjson::SUCCESS) return {};
  return std::string(id);
}

// A submitted request: runs its Call asynchronously and turns the reply into client-format
// bytes for the host's callbacks.
class Submitted final : public AsyncRequestObserver,
                        public RequestHandle,
                        public std::enable_shared_from_this<Submitted> {
 public:
  Submitted(std::shared_ptr<const Generation> generation, std::string body, std::shared_ptr<RequestCallbacks> callbacks)
      : generation_(std::move(generation)), body_(std::move(body)), callbacks_(std::move(callbacks)) {}

  void start(WireFormat format, const Headers& client_headers, Endpoint endpoint) {
    start_thread_ = std::this_thread::get_id();
    // A Responses conversation kept in another process is fetched first (on a loop; nothing
    // waits for it): the pipeline reads it synchronously as it prepares the request.
    const std::shared_ptr<ResponseStore>& store = generation_->pipeline().responses();
    if (format == WireFormat::Responses && endpoint == Endpoint::Chat && store->remote()) {
      if (std::string id = previous_response_id(body_); !id.empty()) {
        store->prefetch(id, [self = shared_from_this(), format, headers = client_headers,
                             endpoint] { self->start_now(format, headers, endpoint); });
        starting_.store(false);
        return;
      }
    }
    start_now(format, client_headers, endpoint);
    starting_.store(false);
  }

  void start_now(WireFormat format, const Headers& client_headers, Endpoint endpoint) {
    const Pipeline& pipeline = generation_->pipeline();
    const KeyTable& keys = generation_->keys();
    const Caller who = generation_->enforces_keys() ? keys.identify(client_headers)
                                                    : Caller{Caller::Kind::Operator, nullptr};
    std::shared_ptr<Call> call;
    if (who.kind == Caller::Kind::Unknown) {
      call = std::shared_ptr<Call>(pipeline.refuse(format, unknown_key_error()).release());
    } else {
      call = std::shared_ptr<Call>(
          pipeline.start(format, body_, forwarded_headers(client_headers), endpoint).release());
    }
    {
      // cancel() may come from another thread meanwhile (it only notes it until `run`).
      std::lock_guard lock(mu_);
      call_ = std::move(call);
      // Cancelled while a conversation was being fetched: it ends as it is.
      if (cancelled_) call_->refuse(Error{Errc::Cancelled, "the client went away", 0, {}});
    }
    id_.store(call_->id());
    if (call_->prepared()) {
      tags_ = call_->prepared()->request.tags;
      streamed_ = call_->prepared()->request.stream;
      writer_.emplace(format, *call_->prepared(), [this](std::string_view bytes) { return callbacks_->on_bytes(bytes); });
    }
    if (who.kind == Caller::Kind::Key) {
      const KeyConfig& key = *who.key;
      call_->set_key(key.name);
      // Before the routing's verdict: a model the key may not use is refused as such, routable
      // or not. A body that did not decode has no model, and its own error.
      if (!call_->requested_model().empty() && !key_allows_model(key, call_->requested_model())) {
        call_->refuse(model_denied_error(key, call_->requested_model()));
      }
      // Every team key's requests are counted (GET /v1/usage), limited or not.
      if (!call_->error()) {
        key_ = &key;
        estimate_ = estimate_input_tokens(call_->prepared()->request);
        // The call runs once the store has counted it: at once in memory, when Redis
        // answers otherwise (on a loop; nothing waits for it).
        generation_->limits()->admit(
            AdmitQuery{key.name, KeyLimits::of(key), estimate_, unix_now_ms()},
            [self = shared_from_this()](Result<Admission> r) { self->admitted(std::move(r)); });
        return;
      }
    }
    run();
  }

  // The limit store's answer: the call runs, or ends refused.
  void admitted(Result<Admission> r) {
    if (!r) {
      if (generation_->config().state.on_error == StateErrorPolicy::Deny) {
        call_->refuse(state_unavailable_error(r.error()));
      }  // "allow": served, uncounted; the store logs the outage and counts its errors
    } else if (r->verdict != Admission::Verdict::Admitted) {
      call_->refuse(limit_error(*key_, *r, estimate_));
    } else {
      slot_ = r->slot;
      counted_ = true;
    }
    {
      std::lock_guard lock(mu_);
      if (cancelled_) call_->refuse(Error{Errc::Cancelled, "the client went away", 0, {}});
    }
    run();
  }

  void run() {
    // Within `start`, on its thread: the caller may ask at once whether it failed (a call
    // that fails ends within run_async). Read before the call runs: a call waiting for
    // room may set its error on another thread.
    if (starting_.load() && std::this_thread::get_id() == start_thread_) {
      failed_at_start_.store(call_->error().has_value());
    }
    Call::run_async(call_, generation_->lookup(), shared_from_this());
    // A cancel or resume that came while the call was being admitted or started.
    bool cancel = false;
    bool resume = false;
    {
      std::lock_guard lock(mu_);
      started_ = true;
      cancel = cancelled_;
      resume = resume_pending_;
    }
    if (cancel) {
      call_->cancel();
    } else if (resume) {
      call_->resume();
    }
  }

  // AsyncRequestObserver
  bool on_event(const StreamEvent& e) override { return !writer_ || writer_->on_event(e); }
  bool on_raw(std::string_view bytes) override { return !writer_ || writer_->on_raw(bytes); }
  void on_routed(const PreparedRequest& p) override { callbacks_->on_decision(p); }
  void on_attempt(const RouteTarget& t) override { callbacks_->on_attempt(t); }
  bool behind() const override { return callbacks_->behind(); }
  void on_complete(Outcome o) override {
    if (counted_) {  // the real tokens and the spend, for the key's counters
      const uint64_t tokens =
          o.response ? o.response->usage.input_tokens + o.response->usage.output_tokens : 0;
      generation_->limits()->settle(Settlement{key_->name, KeyLimits::of(*key_), slot_, estimate_,
                                               tokens, o.cost_usd, unix_now_ms()});
    }
    if (writer_ && !writer_->finish(o) && !o.error) {
      o.error = Error{Errc::Cancelled, "cancelled by the reply's reader", 499, {}};
    }
    // Released at the end: callbacks that keep the handle (a host's exchange does) would
    // otherwise keep each other alive.
    std::shared_ptr<RequestCallbacks> callbacks = std::move(callbacks_);
    writer_.reset();
    callbacks->on_end(std::move(o));
  }

  // Whether the request failed before it ran (a bad body, no route, a plugin's error).
  bool failed_at_start() const { return failed_at_start_.load(); }
  const std::vector<std::string>& tags() const noexcept { return tags_; }
  bool streamed() const noexcept { return streamed_; }

  // RequestHandle
  uint64_t id() const noexcept override { return id_.load(); }
  // Before the call has started (it is being fetched, made or admitted), the request only
  // notes them: `run` passes them on once it has.
  void cancel() override {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      if (!started_) return;
    }
    call_->cancel();
  }
  void resume() override {
    {
      std::lock_guard lock(mu_);
      if (!started_) {
        resume_pending_ = true;
        return;
      }
    }
    call_->resume();
  }

 private:
  std::shared_ptr<const Generation> generation_;  // the request's stages and providers
  std::string body_;                              // the Call reads it until it ends
  std::shared_ptr<RequestCallbacks> callbacks_;
  // Set once by start_now (under mu_), which may run on a loop thread after a conversation
  // was fetched; read there afterwards, and by cancel and resume once started_.
  std::shared_ptr<Call> call_;
  std::optional<ReplyWriter> writer_;
  std::atomic<uint64_t> id_{0};
  std::vector<std::string> tags_;
  bool streamed_ = false;
  std::atomic<bool> failed_at_start_{false};
  std::atomic<bool> starting_{true};  // `start` has not returned
  std::thread::id start_thread_;      // set in `start`, before anything runs
  std::mutex mu_;
  bool started_ = false;         // guarded by mu_: run_async has returned
  bool cancelled_ = false;       // guarded by mu_
  bool resume_pending_ = false;  // guarded by mu_
  // A team key with limits: counted by the limit store before the call ran.
  const KeyConfig* key_ = nullptr;  // in generation_'s key table
  uint64_t estimate_ = 0;
  int64_t slot_ = 0;
  bool counted_ = false;
};

// The reply bytes between the loop (the writer, which never blocks) and a reader thread.
// Past kStreamBuffer waiting bytes the writer reports itself behind, which pauses the
// upstream transfer; the reader resumes it once it has taken them.
class Pipe final : public RequestCallbacks {
 public:
  bool on_bytes(std::string_view bytes) override {
    std::lock_guard lock(mu_);
    if (gone_) return false;
    buf_.append(bytes);
    cv_.notify_all();
    return true;
  }
  bool behind() const override {
    std::lock_guard lock(mu_);
    if (buf_.size() >= kStreamBuffer) paused_ = true;
    return paused_;
  }
  void on_attempt(const RouteTarget& t) override {
    std::lock_guard lock(mu_);
    target_ = t;
  }
  void on_end(Outcome outcome) override {
    std::lock_guard lock(mu_);
    outcome_ = std::move(outcome);
    cv_.notify_all();
  }
  RouteTarget target() const {
    std::lock_guard lock(mu_);
    return target_;
  }

  // Reader side: the bytes waiting (moved into `out`), or the end, or a timeout. `resume`
  // is set when the transfer was paused and should go on.
  ReplyStream::Status take(std::string& out, std::chrono::milliseconds timeout, bool& resume) {
    std::unique_lock lock(mu_);
    auto ready = [&] { return outcome_.has_value() || !buf_.empty(); };
    if (timeout.count() < 0) {
      cv_.wait(lock, ready);
    } else {
      cv_.wait_for(lock, timeout, ready);
    }
    resume = false;
    if (!buf_.empty()) {
      out.clear();
      out.swap(buf_);
      resume = paused_;
      paused_ = false;
      return ReplyStream::Status::Data;
    }
    return outcome_ ? ReplyStream::Status::End : ReplyStream::Status::Timeout;
  }
  // After End: the outcome.
  Outcome& outcome() { return *outcome_; }
  const Outcome& outcome() const { return *outcome_; }
  // The reader went away: the next bytes cancel the request.
  void leave() {
    std::lock_guard lock(mu_);
    gone_ = true;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string buf_;                 // guarded by mu_
  std::optional<Outcome> outcome_;  // guarded by mu_
  RouteTarget target_;              // guarded by mu_
  mutable bool paused_ = false;     // guarded by mu_
  bool gone_ = false;               // guarded by mu_
};

class PullStream final : public ReplyStream {
 public:
  PullStream(std::shared_ptr<Pipe> pipe, std::shared_ptr<Submitted> handle)
      : pipe_(std::move(pipe)), handle_(std::move(handle)) {}
  ~PullStream() override {
    if (!ended_) {
      pipe_->leave();
      handle_->cancel();  // the request ends on its loop; the pipe outlives it
    }
  }

  Status next(std::string& out, std::chrono::milliseconds timeout) override {
    if (ended_) return Status::End;
    bool resume = false;
    const Status st = pipe_->take(out, timeout, resume);
    if (resume) handle_->resume();
    if (st == Status::End) {
      ended_ = true;
      error_ = pipe_->outcome().error;
      out.clear();
    }
    return st;
  }
  const std::optional<Error>& error() const noexcept override { return error_; }
  uint64_t id() const noexcept override { return handle_->id(); }
  RouteTarget target() const override { return pipe_->target(); }
  const std::vector<std::string>& tags() const noexcept override { return handle_->tags(); }
  bool streamed() const noexcept override { return handle_->streamed(); }
  void cancel() override { handle_->cancel(); }
  const Outcome& outcome() const override { return pipe_->outcome(); }
  Outcome take_outcome() { return std::move(pipe_->outcome()); }

 private:
  std::shared_ptr<Pipe> pipe_;
  std::shared_ptr<Submitted> handle_;
  bool ended_ = false;
  std::optional<Error> error_;
};

}  // namespace

const Provider* Generation::provider(std::string_view name) const {
  auto it = providers_.find(name);
  return it == providers_.end() ? nullptr : it->second.get();
}

Headers forwarded_headers(const Headers& client) {
  Headers out;
  for (const auto& [k, v] : client) {
    std::string name = k;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (is_forwarded_header(name)) out.emplace_back(std::move(name), v);
  }
  return out;
}

// Members are destroyed bottom-up: the generation (pipeline and providers) first, then the
// log writer and discovery, then the transport (its loops cancel what is left), and the
// catalog the pipeline and discovery read last.
struct Engine::Impl {
  EngineOptions options;
  Config startup;  // [server], [logging], [telemetry] as they were at start-up
  std::shared_ptr<ModelCatalog> catalog = std::make_shared<ModelCatalog>();
  std::shared_ptr<Transport> transport;
  std::shared_ptr<Telemetry> telemetry;
  std::shared_ptr<EventBus> events;
  std::unique_ptr<Discovery> discovery;
  std::unique_ptr<JsonlLog> log_file;
  std::mutex reload_mu;  // one reload at a time
  std::atomic<std::shared_ptr<const Generation>> current;
  // The gateway's counters, made once for the engine's life (the backend needs a restart).
  std::shared_ptr<LimitStore> limits;
  std::vector<std::string> build_warnings;  // the last build's (unusable keys); under reload_mu
  // Where Responses conversations are kept when not in each pipeline's memory (Redis); the
  // first pipeline takes it, and reloads keep it.
  std::shared_ptr<ResponseStore> responses;

  Result<std::shared_ptr<const Generation>> build(const Config& config, const Pipeline* previous) {
    auto pipeline = Pipeline::build(
        config, options.registries, catalog.get(),
        telemetry ? std::shared_ptr<const CallTracing>(telemetry) : trace_context_only(), previous,
        responses);
    if (!pipeline) return fail(pipeline.error());
    auto g = std::make_shared<Generation>();
    g->pipeline_ = std::move(*pipeline);
    const ProviderContext context{transport, options.getenv,
                                  config.server.max_upstream_reply_bytes};
    for (const ProviderConfig& pc : config.providers) {
      if (!pc.available) continue;  // rules pass over it
      const ProviderFactory* factory =
          options.registries.provider(pc.kind);  // checked by Pipeline::build
      if (!factory)
        return fail(Errc::Config,
                    fmt::format("provider '{}': unknown kind '{}'", pc.name, pc.kind));
      auto made = (*factory)(pc, context);
      if (!made) return fail(made.error());
      if (!*made)
        return fail(Errc::Config,
                    fmt::format("provider '{}': its kind '{}' built nothing", pc.name, pc.kind));
      g->providers_.emplace(pc.name, std::move(*made));
    }
    g->lookup_ = [raw = g.get()](std::string_view name) { return raw->provider(name); };
    build_warnings.clear();
    g->keys_ = KeyTable::build(config, options.getenv, &build_warnings);
    for (const std::string& w : build_warnings) log(LogLevel::Warn, w);
    g->limits_ = limits;
    g->enforce_keys_ = options.enforce_keys;
    return std::shared_ptr<const Generation>(std::move(g));
  }

  // A reload, under reload_mu: builds `config`'s generation and swaps it in, or refuses it.
  Result<ReloadReport> apply(const Config& config) {
    std::shared_ptr<const Generation> old = current.load();
    auto next = build(config, &old->pipeline());
    if (!next) return refuse(config.source, next.error());
    start_discovery(config);
    current.store(std::move(*next));
    ReloadReport report{config.source, restart_required(startup, config), config.warnings};
    report.warnings.insert(report.warnings.end(), build_warnings.begin(), build_warnings.end());
    const std::vector<std::string> no_errors;
    events->publish(ReloadEvent{true, report.source, no_errors, report.restart_required});
    log(LogLevel::Info, fmt::format("reloaded {}", report.source));
    if (!report.restart_required.empty()) {
      log(LogLevel::Warn,
          fmt::format("reload of {}: these settings take effect at the next start: {}",
                      report.source, fmt::join(report.restart_required, ", ")));
    }
    return report;
  }

  // A reload that failed: published, logged, and returned as the error.
  Result<ReloadReport> refuse(std::string_view source, const Error& e) {
    const std::vector<std::string_view> lines = detail::nonempty_lines(e.message);
    const std::vector<std::string> errors(lines.begin(), lines.end());
    const std::vector<std::string> none;
    events->publish(ReloadEvent{false, source, errors, none});
    log(LogLevel::Error,
        fmt::format("reload of {} refused, the running configuration is unchanged:\n{}", source,
                    e.message));
    return fail(Errc::Config, e.message);
  }

  void start_discovery(const Config& config) {
    if (!options.discovery) return;
    discovery.reset();  // cancels the previous configuration's rounds
    discovery = Discovery::create(config, transport, catalog, options.getenv);
    (void)discovery->refresh();  // logs what it found itself
    discovery->start();
  }
};

Result<std::unique_ptr<Engine>> Engine::create(Config config, EngineOptions options) {
  auto impl = std::make_unique<Impl>();
  if (!options.getenv) options.getenv = process_env();
  impl->options = std::move(options);
  TransportOptions to;
  to.loops = impl->options.loops.value_or(default_loops(config));
  impl->transport = make_curl_transport(to);
  if (config.telemetry.enabled) {
    auto t = Telemetry::create(config.telemetry, impl->transport, impl->options.telemetry);
    if (!t) return fail(t.error());
    impl->telemetry = std::move(*t);
    log(LogLevel::Info, fmt::format("telemetry: exporting traces and metrics to {} (sample ratio {})",
                                    config.telemetry.otlp_endpoint, config.telemetry.sample_ratio));
  }
  if (config.state.backend == StateBackend::Redis) {
    auto stores = make_redis_stores(config.state, impl->options.getenv, impl->transport);
    if (!stores) return fail(stores.error());
    impl->limits = std::move(stores->limits);
    impl->responses = std::move(stores->responses);
    const auto where =
        detail::parse_redis_url(config.state.redis_url);  // never the URL: it may hold a password
    log(LogLevel::Info,
        fmt::format(
            "state: the gateway's counters and Responses conversations are in Redis at {}:{}/{} "
            "(keys under '{}')",
            where ? where->host : "?", where ? where->port : 0, where ? where->db : 0,
            config.state.key_prefix));
  } else {
    impl->limits = make_memory_limit_store();
  }
  auto generation = impl->build(config, nullptr);
  if (!generation) return fail(generation.error());
  impl->events = (*generation)->pipeline().events();
  if (config.logging.enabled) {
    std::string err;
    impl->log_file = JsonlLog::open(config.logging.path, impl->events, &err);
    if (!impl->log_file) return fail(Errc::Config, err);
  }
  // Discovery's first round runs before the engine serves, so the first requests see the
  // models; a provider that does not answer is a warning.
  impl->start_discovery(config);
  impl->current.store(std::move(*generation));
  impl->startup = std::move(config);
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  impl_->discovery.reset();
  // Requests waiting for room end now (as timed out), while the transport still runs.
  if (auto g = impl_->current.load()) g->pipeline().live()->shutdown();
  impl_->current.store(nullptr);
  if (impl_->telemetry) impl_->telemetry->shutdown();  // exports what is queued while the transport runs
  // Requests still running (a pulled stream being cancelled, say) end here, on the loops,
  // while the engine still holds the transport: the loops' threads are joined by this
  // thread, never by one of their own. Their log lines are written below.
  impl_->transport->shutdown();
  if (impl_->log_file) impl_->log_file->stop();
}

void Engine::shutdown() {
  if (impl_->log_file) impl_->log_file->stop();
  if (impl_->telemetry) impl_->telemetry->shutdown();  // bounded
}

std::shared_ptr<const Generation> Engine::current() const { return impl_->current.load(); }

Result<ReloadReport> Engine::reload(const Config& config) {
  std::lock_guard lock(impl_->reload_mu);
  return impl_->apply(config);
}

Result<ReloadReport> Engine::reload_file(const std::string& path,
                                         const std::function<void(Config&)>& adjust) {
  std::lock_guard lock(impl_->reload_mu);
  LoadOptions load;
  load.getenv = impl_->options.getenv;
  auto config = load_config_file(path, load);
  if (!config) return impl_->refuse(path, config.error());
  if (adjust) adjust(*config);
  return impl_->apply(*config);
}

namespace {
std::shared_ptr<Submitted> submit_to(std::shared_ptr<const Generation> generation,
                                     WireFormat format, std::string body, const Headers& headers,
                                     std::shared_ptr<RequestCallbacks> callbacks,
                                     Endpoint endpoint = Endpoint::Chat) {
  auto s = std::make_shared<Submitted>(std::move(generation), std::move(body), std::move(callbacks));
  s->start(format, headers, endpoint);
  return s;
}
}  // namespace

std::shared_ptr<RequestHandle> Engine::submit(WireFormat format, std::string body,
                                              const Headers& headers,
                                              std::shared_ptr<RequestCallbacks> callbacks,
                                              Endpoint endpoint) const {
  return submit_to(current(), format, std::move(body), headers, std::move(callbacks), endpoint);
}

Outcome Engine::complete(WireFormat format, std::string_view body, const Headers& headers,
                         const std::function<bool(std::string_view)>& write, const CancelFlag& cancel) const {
  auto pipe = std::make_shared<Pipe>();
  PullStream stream(pipe, submit_to(current(), format, std::string(body), headers, pipe));
  std::string chunk;
  bool stopped = false;
  for (;;) {
    if (cancel.load() && !stopped) {
      stopped = true;
      pipe->leave();
      stream.cancel();
    }
    const ReplyStream::Status st = stream.next(chunk, std::chrono::milliseconds(50));
    if (st == ReplyStream::Status::End) break;
    if (st == ReplyStream::Status::Data && !stopped && !write(chunk)) {
      stopped = true;
      pipe->leave();
      stream.cancel();
    }
  }
  Outcome o = stream.take_outcome();
  if (stopped && !o.error) o.error = Error{Errc::Cancelled, "cancelled by the reply's writer", 499, {}};
  return o;
}

std::unique_ptr<ReplyStream> Engine::pull(WireFormat format, std::string body,
                                          const Headers& headers) const {
  auto pipe = std::make_shared<Pipe>();
  return std::make_unique<PullStream>(pipe, submit_to(current(), format, std::move(body), headers, pipe));
}

Result<std::unique_ptr<ReplyStream>> Engine::open_stream(WireFormat format, std::string body,
                                                         const Headers& headers) const {
  auto pipe = std::make_shared<Pipe>();
  std::shared_ptr<Submitted> request = submit_to(current(), format, std::move(body), headers, pipe);
  if (request->failed_at_start()) return fail(*pipe->outcome().error);  // it ended within submit_to
  return std::unique_ptr<ReplyStream>(std::make_unique<PullStream>(pipe, std::move(request)));
}

const std::shared_ptr<EventBus>& Engine::events() const noexcept { return impl_->events; }
const std::shared_ptr<Transport>& Engine::transport() const noexcept { return impl_->transport; }
const std::shared_ptr<ModelCatalog>& Engine::catalog() const noexcept { return impl_->catalog; }
const JsonlLog* Engine::request_log() const noexcept { return impl_->log_file.get(); }

void Engine::reopen_log() const {
  if (impl_->log_file) impl_->log_file->reopen();
}
const EnvReader& Engine::getenv() const noexcept { return impl_->options.getenv; }

}  // namespace llmrouter
