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

#include "llmrouter/discovery.h"
#include "llmrouter/formats.h"
#include "llmrouter/log.h"

namespace llmrouter {
namespace {

// Reply bytes a pull stream holds for a slow reader before its request pauses.
constexpr std::size_t kStreamBuffer = 256 << 10;

unsigned default_loops(const Config& config) {
  if (config.server.workers > 0) return config.server.workers;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
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
      : format_(format), streamed_(prepared.request.stream), deliver_(std::move(deliver)) {
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
    if (o.passthrough && o.prepared && !o.prepared->response_modified && !raw_body_.empty()) return send(raw_body_);
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
  Deliver deliver_;
  std::unique_ptr<StreamEncoder> encoder_;
  std::string buf_;
  std::string raw_body_;
  bool raw_ = false;
  bool stopped_ = false;
};

// A request that failed before any byte: its `complete` event and log line, then the error.
Error close_failed(Call& call) {
  Error e = *call.error();
  struct Ignore final : RequestObserver {
    bool on_event(const StreamEvent&) override { return true; }
  } ignore;
  const CancelFlag never{false};
  call.run(nullptr, ignore, never);
  return e;
}

// The reply bytes between a pull stream's worker thread (the writer) and its reader.
class Pipe {
 public:
  // Writer side. Blocks while kStreamBuffer bytes wait; false once the reader is gone.
  bool write(std::string_view bytes) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return gone_ || buf_.size() < kStreamBuffer; });
    if (gone_) return false;
    buf_.append(bytes);
    cv_.notify_all();
    return true;
  }
  // The end of the request: no error, or the one to report after the buffered bytes.
  void finish(std::optional<Error> error) {
    std::lock_guard lock(mu_);
    error_ = std::move(error);
    done_ = true;
    cv_.notify_all();
  }
  // Reader side: the bytes waiting (moved into `out`), or the end, or a timeout.
  ReplyStream::Status take(std::string& out, std::chrono::milliseconds timeout, std::optional<Error>& error) {
    std::unique_lock lock(mu_);
    auto ready = [&] { return done_ || !buf_.empty(); };
    if (timeout.count() < 0) {
      cv_.wait(lock, ready);
    } else {
      cv_.wait_for(lock, timeout, ready);
    }
    if (!buf_.empty()) {
      out.clear();
      out.swap(buf_);
      cv_.notify_all();
      return ReplyStream::Status::Data;
    }
    if (!done_) return ReplyStream::Status::Timeout;
    error = error_;
    return ReplyStream::Status::End;
  }
  // The reader went away: wake the writer (its request gets cancelled).
  void leave() {
    std::lock_guard lock(mu_);
    gone_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buf_;             // guarded by mu_
  std::optional<Error> error_;  // guarded by mu_
  bool done_ = false;           // guarded by mu_
  bool gone_ = false;           // guarded by mu_
};

class PullStream final : public ReplyStream {
 public:
  PullStream(std::shared_ptr<const Generation> generation, std::string body)
      : generation_(std::move(generation)), body_(std::move(body)) {}

  ~PullStream() override {
    cancel_.store(true);
    pipe_.leave();
    if (worker_.joinable()) worker_.join();
  }

  Status next(std::string& out, std::chrono::milliseconds timeout) override {
    if (ended_) return Status::End;
    std::optional<Error> error;
    const Status st = pipe_.take(out, timeout, error);
    if (st == Status::End) {
      ended_ = true;
      error_ = std::move(error);
      out.clear();
    }
    return st;
  }
  const std::optional<Error>& error() const noexcept override { return error_; }
  uint64_t id() const noexcept override { return id_; }

  // Starts the request; an error before any byte is returned instead.
  Result<void> start(WireFormat format, Headers headers) {
    std::shared_ptr<Call> call(generation_->pipeline().start(format, body_, std::move(headers)).release());
    id_ = call->id();
    if (call->error()) return fail(close_failed(*call));
    worker_ = std::thread([this, call, format] {
      std::optional<Error> error;
      try {
        ReplyWriter writer(format, *call->prepared(), [this](std::string_view bytes) { return pipe_.write(bytes); });
        Outcome o = call->run(generation_->lookup(), writer, cancel_);
        if (writer.finish(o) && o.error) error = std::move(o.error);
        if (writer.stopped() && !error) error = Error{Errc::Cancelled, "the stream was freed", 499, {}};
      } catch (const std::exception& e) {
        error = Error{Errc::Internal, std::string("internal error while streaming: ") + e.what(), 500, {}};
      } catch (...) {
        error = Error{Errc::Internal, "internal error while streaming", 500, {}};
      }
      pipe_.finish(std::move(error));
    });
    return {};
  }

 private:
  std::shared_ptr<const Generation> generation_;
  std::string body_;  // the Call reads it until the worker ends
  Pipe pipe_;
  CancelFlag cancel_{false};
  std::thread worker_;
  uint64_t id_ = 0;
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
    if (is_forwarded_header(name) || name == "traceparent" || name == "tracestate") out.emplace_back(std::move(name), v);
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

  Result<std::shared_ptr<const Generation>> build(const Config& config, const Pipeline* previous) {
    auto pipeline = Pipeline::build(config, options.registries, catalog.get(), telemetry, previous);
    if (!pipeline) return fail(pipeline.error());
    auto g = std::make_shared<Generation>();
    g->pipeline_ = std::move(*pipeline);
    for (const ProviderConfig& pc : config.providers) {
      if (auto own = options.providers.find(pc.name); own != options.providers.end()) {
        g->providers_.emplace(pc.name, own->second);
      } else if (pc.available) {
        g->providers_.emplace(pc.name, std::shared_ptr<const Provider>(make_http_provider(pc, transport, options.getenv)));
      }
    }
    g->lookup_ = [raw = g.get()](std::string_view name) { return raw->provider(name); };
    return std::shared_ptr<const Generation>(std::move(g));
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
  impl_->current.store(nullptr);
  shutdown();
}

void Engine::shutdown() {
  if (impl_->log_file) impl_->log_file->stop();
  if (impl_->telemetry) impl_->telemetry->shutdown();  // bounded
}

std::shared_ptr<const Generation> Engine::current() const { return impl_->current.load(); }

Result<void> Engine::reload(Config config) {
  std::lock_guard lock(impl_->reload_mu);
  const Config& was = impl_->startup;
  if (config.server.host != was.server.host || config.server.port != was.server.port ||
      config.server.max_body_bytes != was.server.max_body_bytes ||
      config.server.max_connections != was.server.max_connections || config.server.workers != was.server.workers ||
      config.server.dashboard != was.server.dashboard || config.server.api_key_env != was.server.api_key_env) {
    log(LogLevel::Warn, fmt::format("reload of {}: [server] changes take effect at the next start", config.source));
  }
  if (config.logging.enabled != was.logging.enabled || config.logging.path != was.logging.path) {
    log(LogLevel::Warn, fmt::format("reload of {}: [logging] changes take effect at the next start", config.source));
  }
  if (config.telemetry.enabled != was.telemetry.enabled || config.telemetry.otlp_endpoint != was.telemetry.otlp_endpoint ||
      config.telemetry.service_name != was.telemetry.service_name ||
      config.telemetry.sample_ratio != was.telemetry.sample_ratio) {
    log(LogLevel::Warn, fmt::format("reload of {}: [telemetry] changes take effect at the next start", config.source));
  }
  std::shared_ptr<const Generation> old = impl_->current.load();
  auto next = impl_->build(config, &old->pipeline());
  if (!next) return fail(next.error());
  impl_->start_discovery(config);
  impl_->current.store(std::move(*next));
  log(LogLevel::Info, fmt::format("reloaded {}", config.source));
  return {};
}

Outcome Engine::complete(WireFormat format, std::string_view body, const Headers& headers,
                         const std::function<bool(std::string_view)>& write, const CancelFlag& cancel) const {
  std::shared_ptr<const Generation> g = current();
  std::unique_ptr<Call> call = g->pipeline().start(format, body, forwarded_headers(headers));
  if (call->error()) {
    struct Ignore final : RequestObserver {
      bool on_event(const StreamEvent&) override { return true; }
    } ignore;
    const CancelFlag never{false};
    return call->run(nullptr, ignore, never);
  }
  ReplyWriter writer(format, *call->prepared(), write);
  Outcome o = call->run(g->lookup(), writer, cancel);
  if (!writer.finish(o) && !o.error) o.error = Error{Errc::Cancelled, "cancelled by the reply's writer", 499, {}};
  return o;
}

Result<std::unique_ptr<ReplyStream>> Engine::open_stream(WireFormat format, std::string body, Headers headers) const {
  auto s = std::make_unique<PullStream>(current(), std::move(body));
  if (auto r = s->start(format, forwarded_headers(headers)); !r) return fail(r.error());
  return std::unique_ptr<ReplyStream>(std::move(s));
}

const std::shared_ptr<EventBus>& Engine::events() const noexcept { return impl_->events; }
const std::shared_ptr<Transport>& Engine::transport() const noexcept { return impl_->transport; }
const std::shared_ptr<ModelCatalog>& Engine::catalog() const noexcept { return impl_->catalog; }
const JsonlLog* Engine::request_log() const noexcept { return impl_->log_file.get(); }
const EnvReader& Engine::getenv() const noexcept { return impl_->options.getenv; }

}  // namespace llmrouter
