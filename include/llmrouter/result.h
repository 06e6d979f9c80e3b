// SPDX-License-Identifier: MIT
#pragma once
/// @file result.h
/// The error vocabulary of libllmrouter: every fallible call returns `Result<T>`.
///
/// `Result<T>` is `tl::expected<T, Error>` (Debian's libexpected-dev). Call sites use
/// only the names `std::expected` also has (`has_value`, `value`, `error`, `*`, `->`,
/// `value_or`, `and_then`, `or_else`, `transform`), so moving to `std::expected` once
/// the toolchain offers its monadic functions changes only this header.

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace llmrouter {

/// What went wrong, coarse enough to map onto HTTP statuses and C ABI status codes.
enum class Errc {
  /// A caller passed an argument the API does not accept (a programming error).
  InvalidArgument,
  /// A client request is malformed or has the wrong shape (HTTP 400).
  InvalidRequest,
  /// The configuration is invalid; the message names file, line, column and key.
  Config,
  /// No router rule matched the request and no provider was forced (HTTP 400).
  NoRoute,
  /// An upstream provider failed or answered with an error status.
  Upstream,
  /// An upstream did not answer in time (connect, first byte, idle or total).
  Timeout,
  /// The request was cancelled, usually because the client went away.
  Cancelled,
  /// A bug or an unexpected condition inside llmrouter (HTTP 500).
  Internal,
  /// Every provider that could serve the request is at its max_concurrency or ejected
  /// (HTTP 429 or 503, with retry-after).
  Overloaded,
};

/// A stable lowercase name for `code` ("invalid_request", "config", ...).
std::string_view errc_name(Errc code) noexcept;

/// An error with a human-readable message.
struct Error {
  Errc code = Errc::Internal;
  /// One or more lines, each without a trailing period.
  std::string message;
  /// The HTTP status to answer with, or 0 to derive it from `code` (see `status()`).
  int http_status = 0;
  /// The provider involved, when there is one.
  std::string provider;
  /// An upstream 429's `retry-after` value, passed on to the client.
  std::string retry_after = {};
  /// The status an upstream answered with, when the error is its HTTP error reply (0
  /// otherwise); `http_status` is what the client gets (5xx become 502).
  int upstream_status = 0;
  /// True when the connection to the upstream failed (refused, reset, TLS, DNS): the
  /// provider's failure, not the request's (live.h counts it toward ejection).
  bool transport = false;
  /// The OpenAI envelope's `param` and `code` (empty: null), for the errors that name them
  /// (an unknown `previous_response_id`: "previous_response_id", "previous_response_not_found").
  std::string param = {};
  std::string api_code = {};
  /// The OpenAI envelope's `type` when not the one its status implies (an exhausted budget
  /// is `insufficient_quota`, as OpenAI answers); empty: by status.
  std::string api_type = {};

  /// `http_status` when set, otherwise the default status for `code`.
  int status() const noexcept;
};

/// A value or an `Error`.
template <class T>
using Result = tl::expected<T, Error>;

/// The "unexpected" wrapper `Result` uses for errors; prefer `fail()`.
using Unexpected = tl::unexpected<Error>;

/// Builds the error value of a `Result`: `return fail(Errc::Config, "bad port");`.
inline Unexpected fail(Errc code, std::string message, int http_status = 0) {
  return Unexpected(Error{code, std::move(message), http_status, {}});
}

/// Passes an existing error on: `if (!r) return fail(r.error());`.
inline Unexpected fail(Error error) { return Unexpected(std::move(error)); }

}  // namespace llmrouter
