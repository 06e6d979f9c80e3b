// SPDX-License-Identifier: MIT
// The C ABI (bindings/c/include/llmrouter.h) over the C++ library. Each handle is a wrapper
// owning C++ objects; every entry point checks its arguments and catches everything, so no
// exception crosses the ABI.
#include "llmrouter.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "llmrouter/discovery.h"
#include "llmrouter/events.h"
#include "llmrouter/formats.h"
#include "llmrouter/http_provider.h"
#include "llmrouter/log.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/transport.h"
#include "llmrouter/version.h"

namespace llmrouter::capi {
namespace {

// Reply bytes a pull stream holds for a slow reader before its request pauses.
constexpr std::size_t kStreamBuffer = 256 << 10;

// What a router handle owns. Shared with the pull streams started from it, so a stream
// outlives an early llmrouter_router_free. Members are destroyed bottom-up: the pipeline
// and providers first, then discovery (which cancels its requests on the transport), then
// the transport, and the catalog the pipeline and discovery read last.
struct Core {
  Config config;
  std::shared_ptr<ModelCatalog> catalog = std::make_shared<ModelCatalog>();
  std::shared_ptr<Transport> transport;
  std::unique_ptr<Discovery> discovery;
  std::map<std::string, std::unique_ptr<Provider>, std::less<>> providers;
  ProviderLookup lookup;
  std::shared_ptr<const Pipeline> pipeline;
  std::unique_ptr<JsonlLog> log_file;

  ~Core() {
    if (log_file) log_file->stop();
    if (pipeline && pipeline->telemetry()) pipeline->telemetry()->shutdown();  // bounded flush
  }
};

llmrouter_status status_of(Errc code) noexcept {
  switch (code) {
    case Errc::InvalidArgument: return LLMROUTER_INVALID_ARGUMENT;
    case Errc::InvalidRequest: return LLMROUTER_INVALID_REQUEST;
    case Errc::Config: return LLMROUTER_CONFIG;
    case Errc::NoRoute: return LLMROUTER_NO_ROUTE;
    case Errc::Upstream: return LLMROUTER_UPSTREAM;
    case Errc::Timeout: return LLMROUTER_TIMEOUT;
    case Errc::Cancelled: return LLMROUTER_CANCELLED;
    case Errc::Internal: return LLMROUTER_INTERNAL;
  }
  return LLMROUTER_INTERNAL;
}

std::optional<WireFormat> wire_format(llmrouter_format f) noexcept {
  switch (f) {
    case LLMROUTER_FORMAT_OPENAI: return WireFormat::OpenAI;
    case LLMROUTER_FORMAT_ANTHROPIC: return WireFormat::Anthropic;
    case LLMROUTER_FORMAT_RESPONSES: return WireFormat::Responses;
  }
  return std::nullopt;
}

}  // namespace
}  // namespace llmrouter::capi

struct llmrouter_error {
  llmrouter_status status = LLMROUTER_INTERNAL;
  int http_status = 500;
  std::string message;
  std::string provider;
};

struct llmrouter_router {
  std::shared_ptr<llmrouter::capi::Core> core;
};

namespace llmrouter::capi {
namespace {

// Reports a failure: `status` is returned, and `*err` (when asked for) describes it. If
// even the error object cannot be allocated, `*err` stays NULL and the status still says
// what happened.
llmrouter_status report(llmrouter_error** err, llmrouter_status status, int http_status, std::string_view message,
                        std::string_view provider = {}) noexcept {
  if (!err) return status;
  try {
    auto* e = new llmrouter_error;
    e->status = status;
    e->http_status = http_status;
    e->message.assign(message);
    e->provider.assign(provider);
    *err = e;
  } catch (...) {
    *err = nullptr;
  }
  return status;
}

llmrouter_status report(llmrouter_error** err, const Error& e) noexcept {
  return report(err, status_of(e.code), e.status(), e.message, e.provider);
}

llmrouter_status invalid(llmrouter_error** err, std::string_view message) noexcept {
  return report(err, LLMROUTER_INVALID_ARGUMENT, 400, message);
}

// The catch-all of every entry point.
llmrouter_status internal(llmrouter_error** err) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return report(err, LLMROUTER_INTERNAL, 500, "out of memory");
  } catch (const std::exception& e) {
    return report(err, LLMROUTER_INTERNAL, 500, std::string("internal error: ") + e.what());
  } catch (...) {
    return report(err, LLMROUTER_INTERNAL, 500, "internal error: unknown exception");
  }
}

void clear(llmrouter_error** err) noexcept {
  if (err) *err = nullptr;
}

std::string_view view(const char* p, std::size_t n) noexcept { return p ? std::string_view(p, n) : std::string_view(); }

// Builds what the server builds around a pipeline: transport, discovery, providers, log.
Result<std::shared_ptr<Core>> make_core(Result<Config> config) {
  if (!config) return fail(config.error());
  auto core = std::make_shared<Core>();
  core->transport = make_curl_transport();
  std::shared_ptr<Telemetry> telemetry;
  if (config->telemetry.enabled) {
    auto t = Telemetry::create(config->telemetry, core->transport);
    if (!t) return fail(t.error());
    telemetry = std::move(*t);
  }
  auto pipeline = Pipeline::build(*config, Registries::with_builtins(), core->catalog.get(), std::move(telemetry));
  if (!pipeline) return fail(pipeline.error());
  core->discovery = Discovery::create(*config, core->transport, core->catalog);
  for (const DiscoveryReport& r : core->discovery->refresh()) {
    if (r.ok) log(LogLevel::Info, fmt::format("provider '{}': discovered {} model(s)", r.provider, r.models));
  }
  core->discovery->start();
  for (const ProviderConfig& pc : config->providers) {
    if (pc.available) core->providers.emplace(pc.name, make_http_provider(pc, core->transport));
  }
  core->lookup = [p = &core->providers](std::string_view name) -> const Provider* {
    auto it = p->find(name);
    return it == p->end() ? nullptr : it->second.get();
  };
  if (config->logging.enabled) {
    std::string why;
    core->log_file = JsonlLog::open(config->logging.path, (*pipeline)->events(), &why);
    if (!core->log_file) return fail(Errc::Config, why);
  }
  core->pipeline = std::move(*pipeline);
  core->config = std::move(*config);
  return core;
}

llmrouter_status new_router(Result<Config> config, llmrouter_router** out, llmrouter_error** err) {
  auto core = make_core(std::move(config));
  if (!core) return report(err, core.error());
  *out = new llmrouter_router{std::move(*core)};
  return LLMROUTER_OK;
}

// Copies `s` into memory the caller frees with llmrouter_free (NUL-terminated).
char* copy_out(std::string_view s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
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
  /// True once `deliver` returned false.
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

// Starts a request: decode, request-side stages, routing (no network). An error here is
// the request's (bad body, no route), reported before any byte.
Result<std::unique_ptr<Call>> start_call(const Core& core, WireFormat format, std::string_view body) {
  std::unique_ptr<Call> call = core.pipeline->start(format, body);
  if (call->error()) {
    Error e = *call->error();
    struct Ignore final : RequestObserver {
      bool on_event(const StreamEvent&) override { return true; }
    } ignore;
    const CancelFlag never{false};
    call->run(nullptr, ignore, never);  // publishes the `complete` event and log line
    return fail(std::move(e));
  }
  return call;
}

// The reply bytes between a stream's worker thread (the writer) and its reader.
class Pipe {
 public:
  // Writer side. Blocks while `kStreamBuffer` bytes wait; false once the reader is gone.
  bool write(std::string_view bytes) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return gone_ || buf_.size() < kStreamBuffer; });
    if (gone_) return false;
    buf_.append(bytes);
    cv_.notify_all();
    return true;
  }
  bool gone() const {
    std::lock_guard lock(mu_);
    return gone_;
  }
  // The end of the request: no error, or the one to report after the buffered bytes.
  void finish(std::optional<Error> error) {
    std::lock_guard lock(mu_);
    error_ = std::move(error);
    done_ = true;
    cv_.notify_all();
  }
  // Reader side: the bytes waiting (moved into `out`), or the end, or a timeout.
  llmrouter_status take(std::string& out, int32_t timeout_ms, std::optional<Error>& error) {
    std::unique_lock lock(mu_);
    auto ready = [&] { return done_ || !buf_.empty(); };
    if (timeout_ms < 0) {
      cv_.wait(lock, ready);
    } else {
      cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready);
    }
    if (!buf_.empty()) {
      out.clear();
      out.swap(buf_);
      cv_.notify_all();
      return LLMROUTER_OK;
    }
    if (!done_) return LLMROUTER_STREAM_TIMEOUT;
    error = error_;
    return LLMROUTER_STREAM_END;
  }
  // The reader went away: wake the writer (its request gets cancelled).
  void leave() {
    std::lock_guard lock(mu_);
    gone_ = true;
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string buf_;             // guarded by mu_
  std::optional<Error> error_;  // guarded by mu_
  bool done_ = false;           // guarded by mu_
  bool gone_ = false;           // guarded by mu_
};

}  // namespace
}  // namespace llmrouter::capi

struct llmrouter_stream {
  std::shared_ptr<llmrouter::capi::Core> core;
  std::string body;  // the Call reads it until the worker ends
  std::shared_ptr<llmrouter::capi::Pipe> pipe = std::make_shared<llmrouter::capi::Pipe>();
  llmrouter::CancelFlag cancel{false};
  std::thread worker;
  std::string chunk;  // what the last llmrouter_stream_next returned (borrowed by the caller)
  bool ended = false;
  std::optional<llmrouter::Error> error;  // set when the stream ended with an error
};

using namespace llmrouter;
using namespace llmrouter::capi;

extern "C" {

uint32_t llmrouter_abi_version(void) { return LLMROUTER_ABI_VERSION; }

#define LLMROUTER_C_STR2(x) #x
#define LLMROUTER_C_STR(x) LLMROUTER_C_STR2(x)

const char* llmrouter_version(void) {
  return LLMROUTER_C_STR(LLMROUTER_VERSION_MAJOR) "." LLMROUTER_C_STR(LLMROUTER_VERSION_MINOR) "." LLMROUTER_C_STR(
      LLMROUTER_VERSION_PATCH);
}

const char* llmrouter_status_string(llmrouter_status status) {
  switch (status) {
    case LLMROUTER_OK: return "ok";
    case LLMROUTER_INVALID_ARGUMENT: return "invalid_argument";
    case LLMROUTER_INVALID_REQUEST: return "invalid_request";
    case LLMROUTER_CONFIG: return "config";
    case LLMROUTER_NO_ROUTE: return "no_route";
    case LLMROUTER_UPSTREAM: return "upstream";
    case LLMROUTER_TIMEOUT: return "timeout";
    case LLMROUTER_CANCELLED: return "cancelled";
    case LLMROUTER_INTERNAL: return "internal";
    case LLMROUTER_STREAM_END: return "stream_end";
    case LLMROUTER_STREAM_TIMEOUT: return "stream_timeout";
  }
  return "unknown";
}

void llmrouter_free(void* ptr) { std::free(ptr); }

const char* llmrouter_error_message(const llmrouter_error* err) { return err ? err->message.c_str() : ""; }
llmrouter_status llmrouter_error_status(const llmrouter_error* err) { return err ? err->status : LLMROUTER_OK; }
int llmrouter_error_http_status(const llmrouter_error* err) { return err ? err->http_status : 0; }
const char* llmrouter_error_provider(const llmrouter_error* err) { return err ? err->provider.c_str() : ""; }
void llmrouter_error_free(llmrouter_error* err) { delete err; }

llmrouter_status llmrouter_router_new_from_file(const char* path, size_t path_len, llmrouter_router** out,
                                                llmrouter_error** err) {
  clear(err);
  if (!out) return invalid(err, "llmrouter_router_new_from_file: out is NULL");
  *out = nullptr;
  if (!path) return invalid(err, "llmrouter_router_new_from_file: path is NULL");
  try {
    return new_router(load_config_file(std::string(path, path_len)), out, err);
  } catch (...) {
    return internal(err);
  }
}

llmrouter_status llmrouter_router_new_from_toml(const char* toml, size_t len, llmrouter_router** out,
                                                llmrouter_error** err) {
  clear(err);
  if (!out) return invalid(err, "llmrouter_router_new_from_toml: out is NULL");
  *out = nullptr;
  if (!toml && len != 0) return invalid(err, "llmrouter_router_new_from_toml: toml is NULL");
  try {
    return new_router(load_config_string(view(toml, len)), out, err);
  } catch (...) {
    return internal(err);
  }
}

void llmrouter_router_free(llmrouter_router* r) {
  try {
    delete r;
  } catch (...) {  // destructors do not throw; the ABI promises it regardless
  }
}

llmrouter_status llmrouter_route(llmrouter_router* r, llmrouter_format format, const char* body, size_t len,
                                 char** out_json, size_t* out_len, llmrouter_error** err) {
  clear(err);
  if (out_json) *out_json = nullptr;
  if (out_len) *out_len = 0;
  if (!r || !out_json) return invalid(err, "llmrouter_route: the router or out_json is NULL");
  if (!body && len != 0) return invalid(err, "llmrouter_route: body is NULL");
  const auto wf = wire_format(format);
  if (!wf) return invalid(err, fmt::format("llmrouter_route: unknown format {}", static_cast<int>(format)));
  try {
    auto p = r->core->pipeline->route(*wf, view(body, len));
    if (!p) return report(err, p.error());
    const std::string json = route_json(*p);
    *out_json = copy_out(json);
    if (out_len) *out_len = json.size();
    return LLMROUTER_OK;
  } catch (...) {
    return internal(err);
  }
}

llmrouter_status llmrouter_complete(llmrouter_router* r, llmrouter_format format, const char* body, size_t len,
                                    llmrouter_chunk_cb on_chunk, void* user_data, llmrouter_error** err) {
  clear(err);
  if (!r || !on_chunk) return invalid(err, "llmrouter_complete: the router or on_chunk is NULL");
  if (!body && len != 0) return invalid(err, "llmrouter_complete: body is NULL");
  const auto wf = wire_format(format);
  if (!wf) return invalid(err, fmt::format("llmrouter_complete: unknown format {}", static_cast<int>(format)));
  try {
    const Core& core = *r->core;
    const std::string_view text = view(body, len);
    auto call = start_call(core, *wf, text);
    if (!call) return report(err, call.error());
    bool threw = false;
    CancelFlag cancel{false};
    ReplyWriter writer(*wf, *(*call)->prepared(), [&](std::string_view bytes) {
      bool go_on = false;
      try {
        go_on = on_chunk(bytes.data(), bytes.size(), user_data) == 0;
      } catch (...) {  // a C++ caller's callback: treat like a cancellation, reported below
        threw = true;
      }
      if (!go_on) cancel.store(true);  // no further attempt either
      return go_on;
    });
    Outcome o = (*call)->run(core.lookup, writer, cancel);
    const bool finished = writer.finish(o);
    if (threw) return report(err, LLMROUTER_INTERNAL, 500, "llmrouter_complete: on_chunk threw an exception");
    if (writer.stopped() || !finished) {
      return report(err, LLMROUTER_CANCELLED, 499, "llmrouter_complete: cancelled by on_chunk");
    }
    if (o.error) return report(err, *o.error);
    return LLMROUTER_OK;
  } catch (...) {
    return internal(err);
  }
}

llmrouter_status llmrouter_stream_open(llmrouter_router* r, llmrouter_format format, const char* body, size_t len,
                                       llmrouter_stream** out, llmrouter_error** err) {
  clear(err);
  if (!out) return invalid(err, "llmrouter_stream_open: out is NULL");
  *out = nullptr;
  if (!r) return invalid(err, "llmrouter_stream_open: the router is NULL");
  if (!body && len != 0) return invalid(err, "llmrouter_stream_open: body is NULL");
  const auto wf = wire_format(format);
  if (!wf) return invalid(err, fmt::format("llmrouter_stream_open: unknown format {}", static_cast<int>(format)));
  try {
    auto s = std::make_unique<llmrouter_stream>();
    s->core = r->core;
    s->body.assign(view(body, len));
    auto call = start_call(*s->core, *wf, s->body);
    if (!call) return report(err, call.error());
    std::shared_ptr<Call> shared(std::move(*call));
    llmrouter_stream* raw = s.get();
    s->worker = std::thread([raw, shared, wire = *wf] {
      Pipe& pipe = *raw->pipe;
      std::optional<Error> error;
      try {
        ReplyWriter writer(wire, *shared->prepared(), [&pipe](std::string_view bytes) { return pipe.write(bytes); });
        Outcome o = shared->run(raw->core->lookup, writer, raw->cancel);
        if (writer.finish(o) && o.error) error = std::move(o.error);
        if (writer.stopped() && !error) error = Error{Errc::Cancelled, "the stream was freed", 499, {}};
      } catch (const std::exception& e) {
        error = Error{Errc::Internal, std::string("internal error while streaming: ") + e.what(), 500, {}};
      } catch (...) {
        error = Error{Errc::Internal, "internal error while streaming", 500, {}};
      }
      pipe.finish(std::move(error));
    });
    *out = s.release();
    return LLMROUTER_OK;
  } catch (...) {
    return internal(err);
  }
}

llmrouter_status llmrouter_stream_next(llmrouter_stream* s, int32_t timeout_ms, const char** data, size_t* len,
                                       llmrouter_error** err) {
  clear(err);
  if (data) *data = nullptr;
  if (len) *len = 0;
  if (!s || !data || !len) return invalid(err, "llmrouter_stream_next: the stream, data or len is NULL");
  try {
    if (!s->ended) {
      std::optional<Error> error;
      const llmrouter_status st = s->pipe->take(s->chunk, timeout_ms, error);
      if (st == LLMROUTER_OK) {
        *data = s->chunk.data();
        *len = s->chunk.size();
        return LLMROUTER_OK;
      }
      if (st == LLMROUTER_STREAM_TIMEOUT) return st;
      s->ended = true;
      s->error = std::move(error);
      s->chunk.clear();
    }
    return s->error ? report(err, *s->error) : LLMROUTER_STREAM_END;
  } catch (...) {
    return internal(err);
  }
}

void llmrouter_stream_free(llmrouter_stream* s) {
  if (!s) return;
  try {
    s->cancel.store(true);
    s->pipe->leave();
    if (s->worker.joinable()) s->worker.join();
  } catch (...) {  // join failing would be a bug; the stream is freed regardless
  }
  delete s;
}

void llmrouter_log_set(llmrouter_log_cb cb, void* user_data) {
  try {
    if (!cb) {
      set_log_sink({});
      return;
    }
    set_log_sink([cb, user_data](LogLevel level, std::string_view message) {
      try {
        const std::string text(message);  // the callback gets a NUL-terminated copy
        cb(static_cast<llmrouter_log_level>(level), text.c_str(), text.size(), user_data);
      } catch (...) {  // log() is called from noexcept paths: never let anything out
      }
    });
  } catch (...) {  // out of memory: the previous sink stays
  }
}

void llmrouter_log_set_level(llmrouter_log_level level) {
  switch (level) {
    case LLMROUTER_LOG_LEVEL_DEBUG: return set_log_level(LogLevel::Debug);
    case LLMROUTER_LOG_LEVEL_INFO: return set_log_level(LogLevel::Info);
    case LLMROUTER_LOG_LEVEL_WARN: return set_log_level(LogLevel::Warn);
    case LLMROUTER_LOG_LEVEL_ERROR: return set_log_level(LogLevel::Error);
  }
}

}  // extern "C"
