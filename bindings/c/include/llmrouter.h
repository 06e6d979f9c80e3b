/* SPDX-License-Identifier: MIT */
/**
 * @file llmrouter.h
 * The C ABI of libllmrouter: embed the router in a program written in C, or in any
 * language with a C FFI (Python ctypes, Go cgo, Rust, ...). Self-contained C99.
 *
 * Usage
 * -----
 *
 *     llmrouter_router *r = NULL;
 *     llmrouter_error *err = NULL;
 *     if (llmrouter_router_new_from_file(path, strlen(path), &r, &err) != LLMROUTER_OK) {
 *       fprintf(stderr, "%s\n", llmrouter_error_message(err));
 *       llmrouter_error_free(err);
 *       return 1;
 *     }
 *
 *     // Where would this request go? (no network I/O)
 *     char *json = NULL;
 *     size_t json_len = 0;
 *     if (llmrouter_route(r, LLMROUTER_FORMAT_OPENAI, body, body_len, &json, &json_len, NULL)
 *         == LLMROUTER_OK) {
 *       puts(json);  // {"provider":"local","model":"qwen3",...}
 *       llmrouter_free(json);
 *     }
 *
 *     // Send it; the reply (or each streamed chunk, in the client's format) reaches
 *     // on_chunk on this thread. Return non-zero from on_chunk to cancel.
 *     llmrouter_status s = llmrouter_complete(r, LLMROUTER_FORMAT_OPENAI, body, body_len,
 *                                             on_chunk, user_data, &err);
 *
 *     // Or pull the chunks instead of receiving them (no callbacks):
 *     llmrouter_stream *st = NULL;
 *     if (llmrouter_stream_open(r, LLMROUTER_FORMAT_OPENAI, body, body_len, &st, &err)
 *         == LLMROUTER_OK) {
 *       const char *data; size_t len;
 *       while ((s = llmrouter_stream_next(st, 1000, &data, &len, &err)) == LLMROUTER_OK ||
 *              s == LLMROUTER_STREAM_TIMEOUT) {
 *         if (s == LLMROUTER_OK) fwrite(data, 1, len, stdout);
 *       }
 *       llmrouter_stream_free(st);  // s is LLMROUTER_STREAM_END, or an error with err set
 *     }
 *     llmrouter_router_free(r);
 *
 * Thread safety
 * -------------
 * A router handle may be used from many threads at once: `llmrouter_route`,
 * `llmrouter_complete` and `llmrouter_stream_open` are thread-safe on the same handle (it
 * holds an immutable pipeline and a shared HTTP transport). `llmrouter_router_free` must
 * not run concurrently with other calls on the same handle. A stream handle and an error
 * object belong to one thread at a time. Callbacks must not call back into the library
 * with the handle they were called for.
 *
 * Ownership
 * ---------
 * Inputs are `(pointer, length)` pairs and are never assumed to be NUL-terminated; the
 * library copies what it keeps. Memory the library returns through `char **` is owned by
 * the caller and freed with `llmrouter_free`. Getters returning `const char *` return
 * borrowed pointers whose lifetime is stated on each function. Handles are freed with
 * their own `_free` function, which accepts NULL.
 *
 * Errors
 * ------
 * Every fallible call returns an `llmrouter_status` (LLMROUTER_OK on success) and takes an
 * optional last parameter `llmrouter_error **err`: when it is not NULL, `*err` is set to
 * NULL on success and to a new error object (message, status, HTTP status) on failure,
 * which the caller frees with `llmrouter_error_free`. No function lets a C++ exception
 * escape.
 */
#ifndef LLMROUTER_H
#define LLMROUTER_H

#include <stddef.h>
#include <stdint.h>

/* LLMROUTER_API marks the exported functions (the only symbols libllmrouter.so exports).
 * On Windows, define LLMROUTER_STATIC when linking the static library. */
#if defined(_WIN32) && !defined(LLMROUTER_STATIC)
#  if defined(LLMROUTER_BUILD)
#    define LLMROUTER_API __declspec(dllexport)
#  else
#    define LLMROUTER_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define LLMROUTER_API __attribute__((visibility("default")))
#else
#  define LLMROUTER_API
#endif

/* LLMROUTER_DEPRECATED(func, hint) marks a declaration that will be removed. */
#if defined(__GNUC__) || defined(__clang__)
#  define LLMROUTER_DEPRECATED(func, hint) func __attribute__((deprecated(hint)))
#elif defined(_MSC_VER)
#  define LLMROUTER_DEPRECATED(func, hint) __declspec(deprecated(hint)) func
#else
#  define LLMROUTER_DEPRECATED(func, hint) func
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** The version of the ABI this header describes. Functions and enumerators are only ever
 *  appended; the number grows when they are. */
#define LLMROUTER_ABI_VERSION 1

/* ---------------------------------------------------------------------------------- */
/* Types                                                                               */
/* ---------------------------------------------------------------------------------- */

/** A router: a configuration with its pipeline, providers and HTTP transport.
 *  Thread-safe (see "Thread safety" above). */
typedef struct llmrouter_router llmrouter_router;
/** A request in flight whose reply is read with `llmrouter_stream_next`. One thread at a time. */
typedef struct llmrouter_stream llmrouter_stream;
/** What went wrong: a message, a status and an HTTP status. One thread at a time. */
typedef struct llmrouter_error llmrouter_error;

/** What a call returned. The values are fixed and never renumbered. */
typedef enum llmrouter_status {
  /** Success. */
  LLMROUTER_OK = 0,
  /** The caller broke the API's contract: a NULL handle or output pointer, an unknown
   *  format. A programming error. */
  LLMROUTER_INVALID_ARGUMENT = 1,
  /** The request body is malformed or has the wrong shape (HTTP 400). */
  LLMROUTER_INVALID_REQUEST = 2,
  /** The configuration is invalid, or a file cannot be read; the message names file,
   *  line, column and key. */
  LLMROUTER_CONFIG = 3,
  /** No router rule matched the request (HTTP 400). */
  LLMROUTER_NO_ROUTE = 4,
  /** An upstream provider failed or answered with an error; the error's HTTP status is
   *  the upstream's (429, 4xx) or 502. */
  LLMROUTER_UPSTREAM = 5,
  /** An upstream did not answer in time (connect, first byte, idle or total timeout). */
  LLMROUTER_TIMEOUT = 6,
  /** The request was cancelled (a callback returned non-zero, or the stream was freed). */
  LLMROUTER_CANCELLED = 7,
  /** A bug or an unexpected condition inside llmrouter, out of memory included. */
  LLMROUTER_INTERNAL = 8,
  /** `llmrouter_stream_next` only: the reply is complete; there are no more chunks. */
  LLMROUTER_STREAM_END = 9,
  /** `llmrouter_stream_next` only: no chunk arrived within the timeout; call again. This
   *  is not a failure of the request (that is LLMROUTER_TIMEOUT). */
  LLMROUTER_STREAM_TIMEOUT = 10,
  /** Every provider that could serve the request is at its `max_concurrency` or ejected
   *  after failures (HTTP 429 or 503); retry later. */
  LLMROUTER_OVERLOADED = 11
} llmrouter_status;

/** The wire format of a client request (and of the reply delivered for it). Fixed values. */
typedef enum llmrouter_format {
  /** OpenAI Chat Completions (`POST /v1/chat/completions`). */
  LLMROUTER_FORMAT_OPENAI = 0,
  /** Anthropic Messages (`POST /v1/messages`). */
  LLMROUTER_FORMAT_ANTHROPIC = 1,
  /** OpenAI Responses (`POST /v1/responses`). */
  LLMROUTER_FORMAT_RESPONSES = 2
} llmrouter_format;

/** The level of a diagnostic log message. Fixed values. */
typedef enum llmrouter_log_level {
  LLMROUTER_LOG_LEVEL_DEBUG = 0,
  LLMROUTER_LOG_LEVEL_INFO = 1,
  LLMROUTER_LOG_LEVEL_WARN = 2,
  LLMROUTER_LOG_LEVEL_ERROR = 3
} llmrouter_log_level;

/** Receives one piece of a reply: `len` bytes at `data` (borrowed for the duration of the
 *  call; not NUL-terminated). Called on the thread that called `llmrouter_complete`.
 *  Return 0 to go on, non-zero to cancel the request. */
typedef int (*llmrouter_chunk_cb)(const char *data, size_t len, void *user_data);

/** Receives one diagnostic message (`len` bytes, also NUL-terminated; borrowed for the
 *  call, no trailing newline). Called from any of the library's threads, one message at a
 *  time. Must not call into the library. */
typedef void (*llmrouter_log_cb)(llmrouter_log_level level, const char *message, size_t len,
                                 void *user_data);

/* ---------------------------------------------------------------------------------- */
/* Version, status names, memory                                                       */
/* ---------------------------------------------------------------------------------- */

/** The ABI version of the loaded library (compare with LLMROUTER_ABI_VERSION: a library
 *  with a larger number has everything this header declares). Thread-safe.
 *  since: ABI 1 */
LLMROUTER_API uint32_t llmrouter_abi_version(void);

/** The library's version, "MAJOR.MINOR.PATCH". BORROWED: static. Thread-safe.
 *  since: ABI 1 */
LLMROUTER_API const char *llmrouter_version(void);

/** A stable lowercase name for `status` ("ok", "invalid_argument", "no_route", ...;
 *  "unknown" for a value this library does not know). BORROWED: static. Thread-safe.
 *  since: ABI 1 */
LLMROUTER_API const char *llmrouter_status_string(llmrouter_status status);

/** Frees memory the library returned through a `char **` output. Accepts NULL.
 *  since: ABI 1 */
LLMROUTER_API void llmrouter_free(void *ptr);

/* ---------------------------------------------------------------------------------- */
/* Errors                                                                              */
/* ---------------------------------------------------------------------------------- */

/** The error's message: one or more lines, NUL-terminated. BORROWED: valid until `err` is
 *  freed. Returns "" for a NULL `err`.
 *  since: ABI 1 */
LLMROUTER_API const char *llmrouter_error_message(const llmrouter_error *err);

/** The error's status (never LLMROUTER_OK for an error; LLMROUTER_OK for a NULL `err`).
 *  since: ABI 1 */
LLMROUTER_API llmrouter_status llmrouter_error_status(const llmrouter_error *err);

/** The HTTP status an HTTP host would answer with: 400 for a bad request or no route, the
 *  upstream's status for a 429 or other 4xx, 502 for an upstream failure, 504 for a
 *  timeout, 500 for an internal error; 0 for a NULL `err`.
 *  since: ABI 1 */
LLMROUTER_API int llmrouter_error_http_status(const llmrouter_error *err);

/** The provider involved ("" when none). BORROWED: valid until `err` is freed.
 *  since: ABI 1 */
LLMROUTER_API const char *llmrouter_error_provider(const llmrouter_error *err);

/** Frees an error object. Accepts NULL.
 *  since: ABI 1 */
LLMROUTER_API void llmrouter_error_free(llmrouter_error *err);

/* ---------------------------------------------------------------------------------- */
/* Routers                                                                             */
/* ---------------------------------------------------------------------------------- */

/** Creates a router from the TOML configuration file at `path` (`path_len` bytes; the
 *  format is config.example.toml's). The `[server]` table is ignored; `[logging]` writes
 *  the JSONL request log as the server does. Providers' API keys are read from the
 *  environment on every request. When the configuration has `ollama` providers, their
 *  models are discovered before this returns (bounded by their `discovery_timeout_ms`),
 *  then refreshed in the background.
 *  OWNERSHIP: `*out` is the caller's; free it with `llmrouter_router_free`.
 *  Errors: LLMROUTER_INVALID_ARGUMENT (NULL `path` or `out`), LLMROUTER_CONFIG (unreadable
 *  file, invalid configuration: every problem, one per line as FILE:LINE:COL: KEY: ...).
 *  since: ABI 1 */
LLMROUTER_API llmrouter_status llmrouter_router_new_from_file(const char *path, size_t path_len,
                                                             llmrouter_router **out,
                                                             llmrouter_error **err);

/** Creates a router from TOML text (`len` bytes); otherwise as
 *  `llmrouter_router_new_from_file` (messages name the source "<config>").
 *  since: ABI 1 */
LLMROUTER_API llmrouter_status llmrouter_router_new_from_toml(const char *toml, size_t len,
                                                             llmrouter_router **out,
                                                             llmrouter_error **err);

/** Frees a router: stops its background threads and closes its connections. Accepts
 *  NULL. Must not run while another thread uses `r`; streams still open keep what they
 *  need alive and may be read and freed afterwards.
 *  since: ABI 1 */
LLMROUTER_API void llmrouter_router_free(llmrouter_router *r);

/** Decides where a request would go, with no network I/O: the `POST /v1/route` dry run.
 *  `body` (`len` bytes) is a client request in `format`. On success `*out_json` is
 *  {"provider", "model", "rule": {"index", "type"}, "tags", "reason", "fallbacks":
 *  [{"provider", "model"}], "plugins"} (NUL-terminated; `*out_len` bytes without the NUL
 *  when `out_len` is not NULL). Thread-safe.
 *  OWNERSHIP: `*out_json` is the caller's; free it with `llmrouter_free`.
 *  Errors: LLMROUTER_INVALID_ARGUMENT, LLMROUTER_INVALID_REQUEST (bad body),
 *  LLMROUTER_NO_ROUTE, LLMROUTER_INTERNAL (a plugin failed).
 *  since: ABI 1 */
LLMROUTER_API llmrouter_status llmrouter_route(llmrouter_router *r, llmrouter_format format,
                                              const char *body, size_t len, char **out_json,
                                              size_t *out_len, llmrouter_error **err);

/** Sends a request and delivers its reply, blocking until it ends. Decoding and routing
 *  run on the calling thread, the upstream exchange on one of the router's event-loop
 *  threads; `on_chunk` is called on the calling thread. `body` (`len` bytes) is a client request in
 *  `format`, and the reply is in that format too:
 *  - a streamed request (`"stream": true`) delivers the stream's bytes (server-sent
 *    events) chunk by chunk as they arrive;
 *  - a non-streamed request delivers the whole response body (JSON) in one call.
 *  A non-zero return from `on_chunk` cancels the request (the upstream transfer is
 *  aborted) and this function returns LLMROUTER_CANCELLED without calling it again.
 *  Failover to the next provider happens only while no byte has been delivered. A failure
 *  before any byte returns its status with no call to `on_chunk`; a failure after some
 *  bytes ends the stream with an error event in the client's format (the last chunk) and
 *  then returns its status. Thread-safe.
 *  Errors: LLMROUTER_INVALID_ARGUMENT (NULL `r` or `on_chunk`, unknown format),
 *  LLMROUTER_INVALID_REQUEST, LLMROUTER_NO_ROUTE, LLMROUTER_UPSTREAM, LLMROUTER_TIMEOUT,
 *  LLMROUTER_CANCELLED, LLMROUTER_INTERNAL.
 *  since: ABI 1 */
LLMROUTER_API llmrouter_status llmrouter_complete(llmrouter_router *r, llmrouter_format format,
                                                 const char *body, size_t len,
                                                 llmrouter_chunk_cb on_chunk, void *user_data,
                                                 llmrouter_error **err);

/* ---------------------------------------------------------------------------------- */
/* Pull streams                                                                        */
/* ---------------------------------------------------------------------------------- */

/** Starts a request whose reply is read with `llmrouter_stream_next`: the pull form of
 *  `llmrouter_complete`, for languages that prefer not to receive callbacks. The body is
 *  decoded and routed before this returns (errors then: LLMROUTER_INVALID_ARGUMENT,
 *  LLMROUTER_INVALID_REQUEST, LLMROUTER_NO_ROUTE, LLMROUTER_INTERNAL); the request then
 *  runs on the router's event-loop threads. At most 256 KiB of reply wait unread; past
 *  that the upstream transfer is paused until the reader catches up. Thread-safe on `r`.
 *  OWNERSHIP: `*out` is the caller's; free it with `llmrouter_stream_free`.
 *  since: ABI 1 */
LLMROUTER_API llmrouter_status llmrouter_stream_open(llmrouter_router *r, llmrouter_format format,
                                                    const char *body, size_t len,
                                                    llmrouter_stream **out,
                                                    llmrouter_error **err);

/** Waits up to `timeout_ms` milliseconds (negative: without limit; 0: do not wait) for
 *  more of the reply. Returns:
 *  - LLMROUTER_OK: `*data` and `*len` hold the bytes that arrived (everything waiting, in
 *    the format `llmrouter_complete` would deliver). BORROWED: valid until the next call
 *    on `s` or until `s` is freed;
 *  - LLMROUTER_STREAM_TIMEOUT: nothing arrived in time; call again;
 *  - LLMROUTER_STREAM_END: the reply is complete;
 *  - an error status (with `*err` set): the request failed. When bytes were delivered
 *    before the failure, the last of them carry an error event in the client's format.
 *  Once the stream has ended or failed, later calls return the same status again.
 *  Call from one thread at a time.
 *  since: ABI 1 */
LLMROUTER_API llmrouter_status llmrouter_stream_next(llmrouter_stream *s, int32_t timeout_ms,
                                                    const char **data, size_t *len,
                                                    llmrouter_error **err);

/** Cancels the request if it is still running (its upstream transfer is aborted on its
 *  event loop) and frees the stream. Accepts NULL.
 *  since: ABI 1 */
LLMROUTER_API void llmrouter_stream_free(llmrouter_stream *s);

/* ---------------------------------------------------------------------------------- */
/* Logging                                                                             */
/* ---------------------------------------------------------------------------------- */

/** Sends the library's diagnostic messages to `cb` (NULL restores the default: messages
 *  go to stderr). PROCESS-WIDE: it replaces the sink for every router in the process, and
 *  for the C++ API's `llmrouter::set_log_sink` too. `cb` is called from any of the
 *  library's threads (request threads, the event-loop threads, the discovery thread), one
 *  message at a time, and must keep `user_data` valid until it is replaced.
 *  since: ABI 1 */
LLMROUTER_API void llmrouter_log_set(llmrouter_log_cb cb, void *user_data);

/** Drops messages below `level` (default LLMROUTER_LOG_LEVEL_WARN). PROCESS-WIDE.
 *  since: ABI 1 */
LLMROUTER_API void llmrouter_log_set_level(llmrouter_log_level level);

#ifdef __cplusplus
}
#endif

#endif /* LLMROUTER_H */
