// SPDX-License-Identifier: MIT
// The C ABI (bindings/c/include/llmrouter.h) over the C++ library. Each handle is a wrapper
// owning C++ objects; every entry point checks its arguments and catches everything, so no
// exception crosses the ABI.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "llmrouter.h"
#include "llmrouter/engine.h"
#include "llmrouter/host_json.h"
#include "llmrouter/log.h"
#include "llmrouter/version.h"

namespace llmrouter::capi {
namespace {

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
    case Errc::Overloaded:
      return LLMROUTER_OVERLOADED;
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

// Shared with the pull streams started from it, so a stream outlives an early
// llmrouter_router_free.
struct llmrouter_router {
  std::shared_ptr<llmrouter::Engine> engine;
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

llmrouter_status new_router(Result<Config> config, llmrouter_router** out, llmrouter_error** err) {
  if (!config) return report(err, config.error());
  EngineOptions options;
  options.enforce_keys =
      false;  // every request is the host's own: it has no headers to carry a key
  auto engine = Engine::create(std::move(*config), std::move(options));
  if (!engine) return report(err, engine.error());
  *out = new llmrouter_router{std::shared_ptr<Engine>(std::move(*engine))};
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

}  // namespace
}  // namespace llmrouter::capi

struct llmrouter_stream {
  std::shared_ptr<llmrouter::Engine> engine;  // outlives the reply
  std::unique_ptr<llmrouter::ReplyStream> reply;
  std::string chunk;  // what the last llmrouter_stream_next returned (borrowed by the caller)
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
    case LLMROUTER_OVERLOADED:
      return "overloaded";
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
    auto p = r->engine->current()->pipeline().route(*wf, view(body, len));
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
    bool threw = false;
    CancelFlag cancel{false};
    auto write = [&](std::string_view bytes) {
      bool go_on = false;
      try {
        go_on = on_chunk(bytes.data(), bytes.size(), user_data) == 0;
      } catch (...) {  // a C++ caller's callback: treat like a cancellation, reported below
        threw = true;
      }
      if (!go_on) cancel.store(true);  // no further attempt either
      return go_on;
    };
    Outcome o = r->engine->complete(*wf, view(body, len), {}, write, cancel);
    if (threw) return report(err, LLMROUTER_INTERNAL, 500, "llmrouter_complete: on_chunk threw an exception");
    if (cancel.load()) return report(err, LLMROUTER_CANCELLED, 499, "llmrouter_complete: cancelled by on_chunk");
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
    s->engine = r->engine;
    auto reply = s->engine->open_stream(*wf, std::string(view(body, len)));
    if (!reply) return report(err, reply.error());
    s->reply = std::move(*reply);
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
    const auto st = s->reply->next(s->chunk, std::chrono::milliseconds(timeout_ms));
    if (st == ReplyStream::Status::Data) {
      *data = s->chunk.data();
      *len = s->chunk.size();
      return LLMROUTER_OK;
    }
    if (st == ReplyStream::Status::Timeout) return LLMROUTER_STREAM_TIMEOUT;
    return s->reply->error() ? report(err, *s->reply->error()) : LLMROUTER_STREAM_END;
  } catch (...) {
    return internal(err);
  }
}

void llmrouter_stream_free(llmrouter_stream* s) {
  if (!s) return;
  try {
    delete s;  // the reply stream cancels its request and waits for its thread
  } catch (...) {  // destructors do not throw; the ABI promises it regardless
  }
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
