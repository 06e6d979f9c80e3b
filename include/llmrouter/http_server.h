// SPDX-License-Identifier: MIT
#pragma once
/// @file http_server.h
/// The HTTP/1.1 edge: a hardened, event-driven server that runs on the engine's event loops
/// (llmrouter-server's front end, and the test mock's). Connections are spread over the
/// loops; each connection lives on one loop, and the handler and every Response call run
/// there, so a request submitted to the Engine from the handler has its upstream transfer
/// on the same thread.
///
/// The edge enforces the limits before any handler runs: request line plus headers and the
/// header count (431), the body for every framing (413), Content-Encoding (415), header
/// bytes (400), the header and body deadlines (408), the connection limit (an immediate
/// 503), and for browsers the Host (403, DNS rebinding) and Origin (403; CORS answers for
/// the listed origins). A refused request still reaches the handler, with `refused` set,
/// so the host answers it in the endpoint's own format and accounts for it.
///
///     HttpServer::Options o = HttpServer::Options::from(config.server);
///     auto edge = HttpServer::create(o, [](Request& req, std::shared_ptr<Response> res) {
///       res->send(200, {{"content-type", "text/plain"}}, "ok");
///     }, engine->transport());
///     auto port = (*edge)->listen("127.0.0.1", 8090);

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/config.h"
#include "llmrouter/provider.h"
#include "llmrouter/result.h"
#include "llmrouter/transport.h"

namespace llmrouter::http {

namespace detail {
struct ServerCore;
}  // namespace detail

/// A request as the handler sees it, its body complete.
struct Request {
  std::string method;
  /// The request target as sent ("/v1/models?x=1"), its path and its query (without '?').
  std::string target;
  std::string path;
  std::string query;
  /// Header fields in order, names lower-cased.
  Headers headers;
  std::string body;
  /// Set when the edge refused the request: answer with this status and message (in the
  /// endpoint's format); the connection closes after the answer.
  struct Refusal {
    int status = 400;
    std::string message;
  };
  std::optional<Refusal> refused;

  /// The first value of header `name` (lower-case), or null.
  const std::string* header(std::string_view name) const;
  /// Query parameter `name`, percent-decoded, or nullopt.
  std::optional<std::string> param(std::string_view name) const;
};

/// The answer to one request. Every call runs on the connection's loop, except `post`,
/// `pending` and `in_loop`, which any thread may call. Once the client is gone, writes are
/// dropped and `closed()` is true.
class Response {
 public:
  virtual ~Response() = default;
  /// A whole response (Content-Length framing).
  virtual void send(int status, Headers headers, std::string body) = 0;
  /// Starts a response whose body follows in `write`s (chunked framing), ended by `end`.
  virtual void start(int status, Headers headers) = 0;
  /// Queues body bytes; `written` runs once they are on the socket (or dropped).
  virtual void write(std::string_view bytes, std::function<void()> written = {}) = 0;
  virtual void end() = 0;
  /// Drops the connection without ending the response (the client sees a cut-off body).
  virtual void abort() = 0;
  /// Whether the response has started (`send` or `start`).
  virtual bool started() const = 0;
  /// The client went away, or the connection was aborted or closed by a shutdown.
  virtual bool closed() const = 0;
  /// Body bytes queued and not yet on the socket. Thread-safe.
  virtual std::size_t pending() const = 0;
  /// Runs once when the connection closes before the response ended (the client left).
  virtual void on_close(std::function<void()> fn) = 0;
  /// Runs after every completed socket write (for flow control).
  virtual void on_written(std::function<void()> fn) = 0;
  /// Runs `fn` on the connection's loop after `delay`, unless the connection closed first.
  virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  /// Queues `fn` to run on the connection's loop (after what is queued). Thread-safe.
  virtual void post(std::function<void()> fn) = 0;
  /// Whether the calling thread runs this connection's loop. Thread-safe.
  virtual bool in_loop() const = 0;
  /// Closes the connection after this response instead of keeping it alive.
  virtual void close_after() = 0;
};

using Handler = std::function<void(Request& request, std::shared_ptr<Response> response)>;

class HttpServer {
 public:
  struct Options {
    std::size_t max_header_bytes = 64u << 10;
    std::size_t max_headers = 100;
    uint64_t max_body_bytes = 32ull << 20;
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds idle_timeout{5'000};
    std::chrono::milliseconds body_timeout{60'000};
    uint32_t max_connections = 2048;
    /// On a loopback address, refuse a Host that is not a loopback name or listed in
    /// `allowed_hosts` (DNS rebinding). Off for a server only other programs call through
    /// a proxy that rewrites Host (a test upstream behind nginx).
    bool check_host = true;
    /// Besides the loopback names; checked only when listening on a loopback address.
    std::vector<std::string> allowed_hosts;
    std::vector<std::string> cors_origins;
    /// The `Server` header; empty: none.
    std::string server_name;
    /// The `[server]` limits.
    static Options from(const ServerConfig& server);
  };

  /// Serves on `loops_of`'s event loops (a curl transport's: Engine::transport()); null:
  /// on loops of its own (`loops` of them).
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> create(Options options, Handler handler,
                                                                  std::shared_ptr<Transport> loops_of = nullptr,
                                                                  unsigned loops = 1);
  /// Closes every connection and waits for them (bounded); a server on loops of its own
  /// then stops them.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds `host`:`port` (0: any free port) and starts accepting. Returns the port.
  /// Errors (Errc::Config): the address is in use or not available.
  [[nodiscard]] Result<int> listen(const std::string& host, int port);

  /// Stops accepting and closes the connections waiting for a request; the others close
  /// after their current response. Thread-safe, idempotent.
  void drain();
  /// Closes every connection now (responses in progress are cut off). Thread-safe.
  void close_all();
  /// Waits until no connection is open, up to `timeout`; true when none is.
  bool wait_closed(std::chrono::milliseconds timeout);

  /// Connections open, and those with a request being answered.
  std::size_t connections() const;
  std::size_t busy() const;
  /// Connections refused at once because `max_connections` were open.
  uint64_t refused_connections() const;
  /// Set when accepting failed for good (not a transient shortage of descriptors); the
  /// host should exit with an error so a supervisor restarts it.
  std::optional<Error> listener_error() const;
  /// Waits until the listener fails for good or `drain` is called; the failure, if any.
  std::optional<Error> wait_listener();

 private:
  explicit HttpServer(std::shared_ptr<detail::ServerCore> impl);
  std::shared_ptr<detail::ServerCore> impl_;
};

}  // namespace llmrouter::http
