// SPDX-License-Identifier: MIT
#pragma once
/// @file transport.h
/// The HTTP client under every provider: event loops (one thread each) own libcurl multi
/// handles driven by curl's socket interface; any thread starts, cancels or resumes
/// transfers, which are posted to the loop that owns them. Connections are kept alive and
/// reused across requests (each loop has its own connection cache).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmrouter/result.h"

namespace llmrouter {

/// One HTTP exchange.
struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Named in error messages ("provider 'local': ...").
  std::string provider;
  std::chrono::milliseconds connect_timeout{10'000};
  /// From the request sent to the first byte of the response.
  std::chrono::milliseconds first_byte_timeout{300'000};
  /// Longest silence between two chunks of the response body.
  std::chrono::milliseconds idle_timeout{120'000};
  /// The whole exchange; unset: no limit.
  std::optional<std::chrono::milliseconds> total_timeout;
};

/// Why header `name: value` cannot be sent as one header line (a name that is not an HTTP
/// token; CR, LF or NUL in the value, which would end the line and start another: request
/// smuggling over a kept upstream connection), or nullopt when it can.
std::optional<std::string> header_problem(std::string_view name, std::string_view value);

/// Receives one transfer's progress. All calls come from the transfer's loop thread, in order:
/// on_headers once, on_data zero or more times, on_complete exactly once. Must not block.
class TransferObserver {
 public:
  virtual ~TransferObserver() = default;
  /// The status line and headers are in (header names lower-cased).
  virtual void on_headers(int status, const std::vector<std::pair<std::string, std::string>>& headers) = 0;
  /// A chunk of the body. Return false to pause the transfer until `Transport::resume`
  /// (the consumer is behind); the chunk itself has been taken.
  virtual bool on_data(std::string_view bytes) = 0;
  /// The end: success, or an error naming the provider and the phase (Errc::Upstream for
  /// connection failures, Errc::Timeout, Errc::Cancelled).
  virtual void on_complete(Result<void> result) = 0;
};

using TransferId = uint64_t;

class Transport {
 public:
  virtual ~Transport() = default;
  /// Starts `request`; `observer` is kept alive until its on_complete returns. Thread-safe.
  virtual TransferId start(HttpRequest request, std::shared_ptr<TransferObserver> observer) = 0;
  /// Aborts a transfer (its observer gets on_complete(Cancelled)); unknown ids are ignored.
  virtual void cancel(TransferId id) = 0;
  /// Resumes a transfer paused by on_data returning false.
  virtual void resume(TransferId id) = 0;
  /// New connections opened so far (reused connections are not counted).
  virtual uint64_t connections_opened() const = 0;
  /// Cancels what is in flight (each observer gets on_complete(Cancelled)) and stops the
  /// loops; a transfer started afterwards completes at once with Cancelled, on the calling
  /// thread. Idempotent; the destructor does it too. Call it where the transport's owner
  /// ends (not from an observer): whoever drops the last reference afterwards, even a loop
  /// thread, then destroys a stopped transport.
  virtual void shutdown() {}
};

struct TransportOptions {
  /// Open connections per host and in all, per loop; 0: no limit. A transfer beyond a limit waits
  /// for a connection to free up, its first-byte timeout running. No limit by default: the
  /// host bounds concurrency (llmrouter-server's `[server] max_connections`), and over
  /// HTTP/1.1 every concurrent upstream stream needs a connection of its own, so a lower
  /// cap would queue requests the host has already accepted.
  long max_host_connections = 0;
  long max_total_connections = 0;
  /// Idle connections kept for reuse (per loop).
  long max_idle_connections = 1024;
  /// Event loops, one thread each (1 to 256). A transfer started from one of this
  /// transport's loop threads runs on that loop; others are spread over the loops in turn.
  unsigned loops = 1;
};

/// Whether the calling thread runs one of a curl transport's event loops: a call that
/// blocks there stalls every transfer of that loop (and waiting there for a transfer of
/// the same loop never ends).
bool in_transport_loop() noexcept;

/// The libcurl multi transport. The destructor cancels what is in flight (each observer gets
/// on_complete(Cancelled)) and joins the loops' threads.
std::unique_ptr<Transport> make_curl_transport(const TransportOptions& options = {});

}  // namespace llmrouter
