// SPDX-License-Identifier: MIT
// The HTTP/1.1 edge on Boost.Beast's parser and Asio sockets, on the transport's loops.
// Beast's templates live in this translation unit only.
//
// A connection (Session) lives on one loop and moves through its phases there:
//   Idle     waiting for a request's first byte: a readiness wait, no buffer, no timer
//            work (the idle or header deadline closes it quietly)
//   Header   request line and fields, parsed as they arrive under the header deadline,
//            the byte and field limits
//   Body     the body under the body deadline and the byte limit, whatever its framing
//   Handling the handler answers through a per-request Reply; a readiness wait notices a
//            client that leaves meanwhile
//   Closing  after a final response: the send side is shut and what the client still
//            sends is read and dropped for a moment, so it sees the answer, not a reset
// Everything a Session holds is touched on its loop's thread only.
#include "llmrouter/http_server.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <unordered_set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <fmt/format.h>

#include "llmrouter/log.h"
#include "transport/loops.h"

namespace llmrouter::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;

// How long, and how much, a closing connection reads of what its client still sends
// before it closes.
constexpr std::chrono::milliseconds kLinger{1000};
constexpr std::size_t kLingerBytes = 1u << 20;
// Connections refused past max_connections that may linger at once (more close at once).
constexpr std::size_t kMaxLingeringRefusals = 256;
// A client that takes none of a response's bytes for this long is gone.
constexpr std::chrono::seconds kWriteTimeout{60};
// What the read buffer holds beyond max_header_bytes.
constexpr std::size_t kReadRoom = 64u << 10;
// A transient accept failure (no descriptors left) is retried after this.
constexpr std::chrono::milliseconds kAcceptRetry{100};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The host part of a Host header or an origin's authority, lower-cased, without the port.
std::string host_name(std::string_view authority) {
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    return lower(authority.substr(0, close == std::string_view::npos ? authority.size() : close + 1));
  }
  return lower(authority.substr(0, authority.find(':')));
}

bool is_loopback_name(std::string_view host) {
  if (host == "localhost" || host == "[::1]" || host.ends_with(".localhost")) return true;
  error_code ec;
  const auto a = asio::ip::make_address_v4(std::string(host), ec);
  return !ec && a.is_loopback();
}

// An Origin header ("http://localhost:5173") on a loopback host.
bool is_loopback_origin(std::string_view origin) {
  const std::size_t scheme = origin.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view authority = origin.substr(scheme + 3);
  authority = authority.substr(0, authority.find('/'));
  return is_loopback_name(host_name(authority));
}

// An error of Beast's HTTP parser (as opposed to the socket's).
bool parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// Header names from the host keep their token characters only; values are written as
// given, minus anything that would end the line.
bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
void append_header(std::string& out, std::string_view name, std::string_view value) {
  const std::size_t start = out.size();
  for (char c : name) {
    if (token_char(c)) out += c;
  }
  if (out.size() == start) return;  // nothing of the name was a token
  out += ": ";
  for (char c : value) out += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
  out += "\r\n";
}

// Runs a host callback on a loop: what it throws is logged, never let through Asio's run
// (which would end the loop). False when it threw.
bool guarded(const std::function<void()>& fn, const char* what) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    log(LogLevel::Error, fmt::format("http server: {} threw: {}", what, e.what()));
  } catch (...) {
    log(LogLevel::Error, fmt::format("http server: {} threw", what));
  }
  return false;
}

// The answer to a connection past max_connections: one body both the OpenAI and the
// Anthropic SDKs read as an error (error.message; type "error" with error.type).
const std::string& overload_response() {
  static const std::string r = [] {
    const std::string body =
        R"({"type":"error","error":{"type":"overloaded_error","message":"the router is at its connection limit ([server] max_connections); retry shortly","code":"connection_limit"}})";
    return fmt::format(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\n"
        "content-length: {}\r\n\r\n{}",
        body.size(), body);
  }();
  return r;
}

// Request line, fields and body into a Request, enforcing the limits as bytes arrive.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  explicit RequestParser(const HttpServer::Options& o) : o_(o) {
    header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(o.max_header_bytes, UINT32_MAX)));
    body_limit(o.max_body_bytes);
  }
  Request req;
  int version = 11;
  bool started = false;       // the request line was parsed
  bool too_many = false;      // more than max_headers fields
  bool bad_value = false;     // CR, LF or NUL in a field value
  bool header_done = false;   // fields after this are chunked trailers

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target, int v,
                       error_code&) override {
    started = true;
    req.method.assign(method.data(), method.size());
    req.target.assign(target.data(), target.size());
    const std::size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    version = v;
  }
  void on_response_impl(int, beast::string_view, int, error_code& ec) override { ec = bhttp::error::bad_method; }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value, error_code& ec) override {
    if (++fields_ > o_.max_headers) {
      too_many = true;
      ec = bhttp::error::header_limit;
      return;
    }
    for (char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') {
        bad_value = true;
        ec = bhttp::error::bad_value;
        return;
      }
    }
    // Trailers of a chunked body are counted against the limit and dropped: the request's
    // headers were checked before its body was read.
    if (header_done) return;
    req.headers.emplace_back(lower({name.data(), name.size()}), std::string(value.data(), value.size()));
  }
  void on_header_impl(error_code&) override { header_done = true; }
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override {
    if (length && *length > o_.max_body_bytes) {
      ec = bhttp::error::body_limit;
      return;
    }
    // Reserve what was announced, up to 1 MiB: a client that announces much and sends
    // nothing costs nothing.
    if (length) req.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, 1u << 20)));
  }
  std::size_t on_body_impl(beast::string_view b, error_code& ec) override { return take(b, ec); }
  void on_chunk_header_impl(std::uint64_t size, beast::string_view, error_code& ec) override {
    if (size > o_.max_body_bytes - std::min<std::uint64_t>(req.body.size(), o_.max_body_bytes)) ec = bhttp::error::body_limit;
  }
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view b, error_code& ec) override { return take(b, ec); }
  void on_finish_impl(error_code&) override {}

  std::size_t take(beast::string_view b, error_code& ec) {
    if (req.body.size() + b.size() > o_.max_body_bytes) {
      ec = bhttp::error::body_limit;
      return 0;
    }
    req.body.append(b.data(), b.size());
    return b.size();
  }
  const HttpServer::Options& o_;
  std::size_t fields_ = 0;
};

class Session;

// How often a loop checks its connections' deadlines: one timer per loop instead of one
// per connection, so a request re-arms no timer (each earliest-timer change is a
// timerfd_settime call). Deadlines fire up to this late.
constexpr std::chrono::milliseconds kDeadlineTick{100};

// One loop and the connections on it (touched on that loop's thread only).
struct LoopState {
  explicit LoopState(asio::io_context& context) : io(&context), ticker(context) {}
  asio::io_context* io;
  std::unordered_set<Session*> sessions;
  asio::steady_timer ticker;  // runs while the loop has connections
  bool ticking = false;
};

}  // namespace

struct detail::ServerCore : std::enable_shared_from_this<detail::ServerCore> {
  using Options = HttpServer::Options;
  Options options;
  Handler handler;
  std::shared_ptr<Transport> own;  // loops of our own, when no transport was given
  std::vector<std::unique_ptr<LoopState>> loops;
  std::unique_ptr<tcp::acceptor> acceptor;  // on loops[0]
  std::unique_ptr<asio::steady_timer> accept_retry;
  bool loopback = false;  // bound to a loopback address, with the Host check on
  std::atomic<std::size_t> next_loop{0};
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> busy{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<std::size_t> lingering_refusals{0};
  std::atomic<bool> draining{false};
  mutable std::mutex mu;
  std::condition_variable cv;
  std::optional<Error> listener_error;  // guarded by mu
  bool listener_done = false;           // guarded by mu

  void accept();
  void refuse_now(tcp::socket socket, asio::io_context& io);
  // Memory a burst of requests used goes back to the system once the server has been quiet
  // for a second: freed blocks between live ones (connections that stayed open) otherwise
  // keep their pages in the allocator's arenas, one per loop thread.
  std::atomic<bool> burst{false};
  std::atomic<int64_t> last_busy_ms{0};
  void after_burst(Clock::time_point now) {
    const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    if (busy.load() > 0) {
      burst.store(true);
      last_busy_ms.store(ms);
    } else if (burst.load() && ms - last_busy_ms.load() >= 1000 && burst.exchange(false)) {
      ::malloc_trim(0);
    }
  }

  void connection_closed() {
    if (open.fetch_sub(1) == 1) {
      std::lock_guard lock(mu);
      cv.notify_all();
    }
  }
  void end_listener(std::optional<Error> e) {
    std::lock_guard lock(mu);
    if (e && !listener_error) listener_error = std::move(e);
    listener_done = true;
    cv.notify_all();
  }
  void on_each_loop(const std::function<void(LoopState&)>& fn) {
    for (auto& l : loops) asio::post(*l->io, [self = shared_from_this(), l = l.get(), fn] { fn(*l); });
  }
};

namespace {

class Session final : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<detail::ServerCore> impl, LoopState& loop, tcp::socket socket)
      : impl_(std::move(impl)),
        loop_(loop),
        sock_(std::move(socket)),
        // Room for the headers and one read more: what a chunk header or the trailers
        // need beyond that is refused, never buffered.
        buf_(impl_->options.max_header_bytes + kReadRoom) {}
  ~Session() {
    // Normally closed before the last reference goes; a connection dropped by a loop that
    // stopped is accounted for here.
    if (phase_ != Phase::Closed) {
      loop_.sessions.erase(this);
      if (phase_ == Phase::Handling) impl_->busy.fetch_sub(1);
      impl_->connection_closed();
    }
  }

  void start() {
    loop_.sessions.insert(this);
    if (!loop_.ticking) tick(impl_, loop_);
    error_code ec;
    sock_.set_option(tcp::no_delay(true), ec);
    await_request();
  }

  // --- the Response calls, for the request numbered `seq` ---
  bool current(uint64_t seq) const { return seq == seq_ && phase_ == Phase::Handling; }
  bool answered(uint64_t seq) const { return !current(seq) || ended_ || closed_; }
  void send(uint64_t seq, int status, Headers headers, std::string body) {
    if (!current(seq) || started_) return;
    head(status, headers, body.size());
    if (!head_only_) append(body);
    ended_ = true;
    kick();
  }
  void start_stream(uint64_t seq, int status, Headers headers) {
    if (!current(seq) || started_) return;
    chunked_ = version_ >= 11;
    if (!chunked_ && !head_only_) close_after_ = true;  // HTTP/1.0: the body ends with the connection
    head(status, headers, std::nullopt);
    kick();
  }
  void write(uint64_t seq, std::string_view bytes, std::function<void()> written) {
    if (!current(seq) || !started_ || ended_ || closed_) {
      if (written) written();
      return;
    }
    if (bytes.empty() || head_only_) {
      if (written) written();
      return;
    }
    if (chunked_) {
      append(fmt::format("{:x}\r\n", bytes.size()));
      append(bytes);
      append("\r\n");
    } else {
      append(bytes);
    }
    // The offset its last byte will have once on the socket: what is on it already
    // (queued_), what of the flight is still to go, and what waits behind it.
    if (written) {
      callbacks_.emplace_back(queued_ + (writing_ ? flight_.size() - flight_done_ : 0) + out_.size(), std::move(written));
    }
    kick();
  }
  void end(uint64_t seq) {
    if (!current(seq) || !started_ || ended_) return;
    ended_ = true;
    if (chunked_ && !head_only_) append("0\r\n\r\n");
    kick();
  }
  void abort(uint64_t seq) {
    if (current(seq)) close();
  }
  bool started(uint64_t seq) const { return seq != seq_ || started_; }
  bool closed(uint64_t seq) const { return seq != seq_ || closed_; }
  std::size_t pending() const { return pending_.load(); }
  void on_close(uint64_t seq, std::function<void()> fn) {
    if (current(seq)) on_close_ = std::move(fn);
  }
  void on_written(uint64_t seq, std::function<void()> fn) {
    if (current(seq)) on_written_ = std::move(fn);
  }
  void after(uint64_t seq, std::chrono::milliseconds delay, std::function<void()> fn) {
    if (!current(seq) || closed_) return;
    auto it = timers_.emplace(timers_.end(), *loop_.io);
    it->expires_after(delay);
    it->async_wait([self = shared_from_this(), it, seq, fn = std::move(fn)](const error_code& ec) {
      self->timers_.erase(it);
      if (!ec && self->current(seq) && !self->closed_ && !guarded(fn, "a timer callback")) self->close();
    });
  }
  bool in_loop() const { return loop_.io->get_executor().running_in_this_thread(); }
  asio::io_context* io() const { return loop_.io; }
  void post(std::function<void()> fn) {
    asio::post(*loop_.io, [fn = std::move(fn)] { guarded(fn, "a posted callback"); });
  }
  // The handler let go of the Response of request `seq` (on the loop).
  void abandoned(uint64_t seq) {
    if (answered(seq)) return;
    if (started_) return close();  // a cut-off body: the client sees it was not finished
    log(LogLevel::Error, "http server: a handler dropped a response without answering it");
    close_after_ = true;
    send(seq, 500, {{"content-type", "application/json"}},
         R"({"error":{"message":"internal error: the request was not answered","type":"server_error"}})");
  }
  void close_after(uint64_t seq) {
    if (current(seq)) close_after_ = true;
  }

  // Ends the connection now (idempotent).
  void close() {
    if (phase_ == Phase::Closed) return;
    const bool answering = phase_ == Phase::Handling;
    phase_ = Phase::Closed;
    closed_ = true;
    disarm();
    for (auto& t : timers_) t.cancel();
    error_code ec;
    sock_.close(ec);
    loop_.sessions.erase(this);
    if (answering) impl_->busy.fetch_sub(1);
    std::function<void()> gone = std::move(on_close_);
    on_close_ = nullptr;
    on_written_ = nullptr;
    if (answering && !ended_ && gone) guarded(gone, "on_close");
    auto dropped = std::move(callbacks_);  // tell whoever waits for them
    callbacks_.clear();
    for (auto& [at, fn] : dropped) guarded(fn, "a write callback");
    impl_->connection_closed();
  }
  bool idle() const { return phase_ == Phase::Idle; }

 private:
  enum class Phase { Idle, Header, Body, Handling, Closing, Closed };

  // Checks the deadlines of `loop`'s connections every kDeadlineTick while it has any.
  static void tick(std::shared_ptr<detail::ServerCore> core, LoopState& loop) {
    if (loop.sessions.empty() && !core->burst.load()) {
      loop.ticking = false;
      return;
    }
    loop.ticking = true;
    loop.ticker.expires_after(kDeadlineTick);
    loop.ticker.async_wait([core = std::move(core), &loop](const error_code& ec) mutable {
      if (ec) {
        loop.ticking = false;
        return;
      }
      const auto now = Clock::now();
      core->after_burst(now);
      for (Session* s : loop.sessions) {
        if (s->deadline_ <= now) s->expire();
        if (s->watch_due_ <= now) {
          s->watch_due_ = Clock::time_point::max();
          if (s->phase_ == Phase::Handling && !s->watching_) s->watch_client();
        }
      }
      tick(std::move(core), loop);
    });
  }
  // The current phase's deadline has passed: its pending operation ends, as timed out.
  void expire() {
    deadline_ = Clock::time_point::max();
    timed_out_ = true;
    error_code ignored;
    sock_.cancel(ignored);
  }

  // --- deadlines: one per connection, checked by the loop's ticker ---
  void arm(Clock::time_point deadline) {
    timed_out_ = false;
    deadline_ = deadline;
  }
  void disarm() { deadline_ = Clock::time_point::max(); }

  // Idle: the next request's first byte. Nothing is allocated while waiting.
  void await_request() {
    phase_ = Phase::Idle;
    if (impl_->draining.load()) return close();
    if (buf_.size() > 0) return read_header();  // pipelined: already here
    const auto now = Clock::now();
    const auto& o = impl_->options;
    arm(first_ ? now + o.header_timeout : std::min(now + o.idle_timeout, last_end_ + o.header_timeout));
    sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const error_code& ec) {
      if (self->phase_ != Phase::Idle) return;
      if (ec || self->timed_out_) return self->close();  // idle too long, or gone: nothing to answer
      self->read_header();
    });
  }

  void read_header() {
    phase_ = Phase::Header;
    const auto& o = impl_->options;
    // From the first byte on a new connection; from the previous response on a kept one.
    arm((first_ ? Clock::now() : last_end_) + o.header_timeout);
    parser_.emplace(o);
    bhttp::async_read_header(sock_, buf_, *parser_, [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->on_header(ec);
    });
  }

  void on_header(const error_code& ec) {
    if (phase_ != Phase::Header) return;
    const auto& o = impl_->options;
    if (ec) {
      if (timed_out_) return refuse(408, "the request's headers did not arrive in time ([server] header_timeout_ms)");
      if (parser_->too_many) {
        return refuse(431, fmt::format("the request has more than {} header fields ([server] max_headers)", o.max_headers));
      }
      if (ec == bhttp::error::header_limit) {
        return refuse(431, fmt::format("the request line and headers exceed {} bytes ([server] max_header_bytes)",
                                       o.max_header_bytes));
      }
      if (ec == bhttp::error::body_limit) return refuse_body();
      if (ec == bhttp::error::buffer_overflow) {
        return refuse(431, fmt::format("the request line and headers exceed {} bytes ([server] max_header_bytes)",
                                       o.max_header_bytes));
      }
      if (parser_->bad_value) return refuse(400, "a header value contains CR, LF or NUL");
      if (!parse_error(ec)) return close();  // the client left, or the socket failed: nobody to answer
      return refuse(400, fmt::format("malformed request: {}", ec.message()));
    }
    Request& req = parser_->req;
    version_ = parser_->version;
    if (version_ >= 11 && !req.header("host")) return refuse(400, "an HTTP/1.1 request needs a Host header");
    if (impl_->loopback) {
      if (const std::string* host = req.header("host")) {
        const std::string name = host_name(*host);
        if (!is_loopback_name(name) && std::find(o.allowed_hosts.begin(), o.allowed_hosts.end(), name) == o.allowed_hosts.end()) {
          return refuse(403, fmt::format("Host '{}' is not allowed: the router listens on a loopback address; "
                                         "list the name in [server] allowed_hosts to accept it",
                                         name));
        }
      }
    }
    cors_.clear();
    if (const std::string* origin = req.header("origin")) {
      const std::string lowered = lower(*origin);
      if (std::find(o.cors_origins.begin(), o.cors_origins.end(), lowered) != o.cors_origins.end()) {
        cors_ = *origin;
      } else if (!is_loopback_origin(lowered)) {
        return refuse(403, fmt::format("Origin '{}' is not allowed; list it in [server] cors_origins to let that site "
                                       "call the router",
                                       *origin));
      }
    }
    if (req.method == "OPTIONS" && !cors_.empty() && req.header("access-control-request-method")) return preflight();
    if (const std::string* te = req.header("transfer-encoding"); te && lower(*te) != "chunked") {
      // Only chunked framing is read; a request whose last coding is not chunked has no
      // length a server can trust (RFC 9112 6.3).
      if (!parser_->chunked()) return refuse(400, fmt::format("Transfer-Encoding '{}' does not end in chunked: the body's length is unknown", *te));
      return refuse(501, fmt::format("Transfer-Encoding '{}' is not supported: send the body chunked or with Content-Length", *te));
    }
    if ((req.method == "POST" || req.method == "PUT" || req.method == "PATCH") && !parser_->chunked() &&
        !parser_->content_length()) {
      return refuse(411, fmt::format("a {} needs a Content-Length header or a chunked body", req.method));
    }
    if (const std::string* enc = req.header("content-encoding"); enc && lower(*enc) != "identity") {
      return refuse(415, fmt::format("Content-Encoding '{}' is not supported: send the body uncompressed", *enc));
    }
    if (parser_->is_done()) return dispatch();
    phase_ = Phase::Body;
    arm(Clock::now() + o.body_timeout);
    const std::string* expect = req.header("expect");
    if (expect && version_ >= 11 && lower(*expect) == "100-continue") {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(sock_, asio::buffer(kContinue), [self = shared_from_this()](const error_code& e, std::size_t) {
        if (self->phase_ != Phase::Body) return;
        if (e) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(sock_, buf_, *parser_, [self = shared_from_this()](const error_code& ec, std::size_t) {
      if (self->phase_ != Phase::Body) return;
      if (!ec) return self->dispatch();
      if (self->timed_out_) return self->refuse(408, "the request's body did not arrive in time ([server] body_timeout_ms)");
      if (ec == bhttp::error::body_limit) return self->refuse_body();
      if (ec == bhttp::error::buffer_overflow) {
        return self->refuse(400, fmt::format("a chunk header or the trailers exceed {} bytes", self->buf_.max_size()));
      }
      if (parse_error(ec)) return self->refuse(400, fmt::format("malformed request body: {}", ec.message()));
      self->close();
    });
  }

  void refuse_body() {
    refuse(413, fmt::format("request body is larger than the limit of {} bytes ([server] max_body_bytes)",
                            impl_->options.max_body_bytes));
  }

  // A request the edge refuses: the handler answers it (in its endpoint's format), then
  // the connection closes, since the rest of the request was not read.
  void refuse(int status, std::string message) {
    if (!parser_) parser_.emplace(impl_->options);
    parser_->req.refused = Request::Refusal{status, std::move(message)};
    close_after_ = true;
    dispatch();
  }

  void preflight() {
    Request& req = parser_->req;
    keep_alive_ = parser_->keep_alive();
    if (!parser_->is_done()) close_after_ = true;  // a body we do not read
    begin_answer();
    Headers h = {{"access-control-allow-methods", "GET, POST, OPTIONS"}, {"access-control-max-age", "600"}};
    if (const std::string* asked = req.header("access-control-request-headers")) {
      h.emplace_back("access-control-allow-headers", *asked);
    }
    send(seq_, 204, std::move(h), {});
  }

  void begin_answer() {
    disarm();
    phase_ = Phase::Handling;
    impl_->busy.fetch_add(1);
    started_ = chunked_ = ended_ = head_only_ = false;
  }

  void dispatch();

  // The status line and headers; `length` unset: chunked (or, for HTTP/1.0, until close).
  void head(int status, const Headers& headers, std::optional<std::size_t> length) {
    started_ = true;
    if (impl_->draining.load()) close_after_ = true;
    const auto reason = bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(status)));
    std::string h = fmt::format("HTTP/1.1 {} {}\r\n", status, std::string_view(reason.data(), reason.size()));
    for (const auto& [k, v] : headers) {
      const std::string name = lower(k);
      if (name == "connection" && lower(v) == "close") close_after_ = true;
      if (name == "connection" || name == "content-length" || name == "transfer-encoding") continue;
      append_header(h, k, v);
    }
    if (!impl_->options.server_name.empty()) append_header(h, "server", impl_->options.server_name);
    if (!cors_.empty()) {
      append_header(h, "access-control-allow-origin", cors_);
      append_header(h, "vary", "Origin");
      append_header(h, "access-control-expose-headers", "*");
    }
    if (length) {
      if (status != 204 && status != 304) append_header(h, "content-length", std::to_string(*length));
    } else if (chunked_) {
      append_header(h, "transfer-encoding", "chunked");
    }
    if (close_after_ || !keep_alive_) {
      append_header(h, "connection", "close");
    } else if (version_ < 11) {
      append_header(h, "connection", "keep-alive");  // HTTP/1.0 closes unless told otherwise
    }
    h += "\r\n";
    append(h);
  }
  void append(std::string_view bytes) {
    out_ += bytes;
    pending_.fetch_add(bytes.size());
  }

  // Writes what is queued, one write at a time.
  void kick() {
    if (writing_ || closed_) return;
    if (out_.empty()) {
      if (ended_) finish_response();
      return;
    }
    flight_.swap(out_);
    out_.clear();
    flight_done_ = 0;
    writing_ = true;
    write_some();
  }
  // The write timeout runs from the last bytes the client took, not from the flight's start.
  void write_some() {
    arm(Clock::now() + kWriteTimeout);
    sock_.async_write_some(asio::buffer(flight_.data() + flight_done_, flight_.size() - flight_done_),
                           [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_write(ec, n); });
  }

  void on_write(const error_code& ec, std::size_t n) {
    disarm();
    queued_ += n;
    flight_done_ += n;
    pending_.fetch_sub(std::min(n, pending_.load()));
    if (ec) {
      writing_ = false;
      return close();
    }
    const bool flight_done = flight_done_ >= flight_.size();
    if (flight_done) writing_ = false;
    std::size_t due = 0;
    while (due < callbacks_.size() && callbacks_[due].first <= queued_) ++due;
    if (due > 0) {
      std::vector<std::pair<uint64_t, std::function<void()>>> run(std::make_move_iterator(callbacks_.begin()),
                                                                  std::make_move_iterator(callbacks_.begin() + due));
      callbacks_.erase(callbacks_.begin(), callbacks_.begin() + static_cast<std::ptrdiff_t>(due));
      bool ok = true;
      for (auto& [at, fn] : run) ok = guarded(fn, "a write callback") && ok;
      if (!ok) close();
      if (closed_) return;
    }
    if (!flight_done) return write_some();
    if (on_written_ && !guarded(on_written_, "on_written")) close();
    if (closed_) return;
    kick();
  }

  void finish_response() {
    if (phase_ != Phase::Handling) return;
    impl_->busy.fetch_sub(1);
    ++seq_;
    phase_ = Phase::Idle;
    on_close_ = nullptr;
    on_written_ = nullptr;
    for (auto& t : timers_) t.cancel();
    pending_.store(0);
    watch_due_ = Clock::time_point::max();
    if (watching_) {
      error_code ignored;
      sock_.cancel(ignored);  // the wait for the client's close
      watching_ = false;
    }
    last_end_ = Clock::now();
    first_ = false;
    if (close_after_ || !keep_alive_ || impl_->draining.load()) return linger();
    started_ = chunked_ = ended_ = false;
    parser_.reset();
    // An idle connection holds no buffer.
    std::string().swap(out_);
    std::string().swap(flight_);
    if (buf_.size() == 0) buf_.shrink_to_fit();
    await_request();
  }

  // Shuts the send side, drops what the client still sends for a moment, then closes.
  void linger() {
    phase_ = Phase::Closing;
    error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    arm(Clock::now() + kLinger);
    drain_input();
  }
  void drain_input() {
    buf_.consume(buf_.size());
    sock_.async_read_some(buf_.prepare(16384), [self = shared_from_this()](const error_code& ec, std::size_t n) {
      if (self->phase_ != Phase::Closing) return;
      self->lingered_ += n;
      if (ec || self->timed_out_ || self->lingered_ > kLingerBytes) return self->close();
      self->drain_input();
    });
  }

  // While answering: notices a client that closes its connection.
  void watch_client() {
    watching_ = true;
    sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this(), seq = seq_](const error_code& ec) {
      if (!self->current(seq)) return;
      self->watching_ = false;
      if (ec) return;
      char c;
      const ssize_t n = ::recv(self->sock_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return self->close();
      if (n < 0) return self->watch_client();
      // The client sent more (a pipelined request): it is read after this response.
    });
  }

  std::shared_ptr<detail::ServerCore> impl_;
  LoopState& loop_;
  tcp::socket sock_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point watch_due_ = Clock::time_point::max();  // when to start watching the client
  bool timed_out_ = false;
  std::size_t lingered_ = 0;  // bytes dropped while closing
  beast::flat_buffer buf_;
  std::optional<RequestParser> parser_;
  Phase phase_ = Phase::Idle;
  bool first_ = true;
  Clock::time_point last_end_ = Clock::now();
  int version_ = 11;
  bool keep_alive_ = true;
  std::string cors_;  // the listed Origin of the request being answered
  // The response in progress.
  uint64_t seq_ = 0;
  bool started_ = false, chunked_ = false, ended_ = false, close_after_ = false, closed_ = false;
  bool writing_ = false, watching_ = false;
  bool head_only_ = false;  // a HEAD request: headers as for GET, no body
  std::string out_, flight_;
  std::size_t flight_done_ = 0;  // bytes of flight_ on the socket
  uint64_t queued_ = 0;  // bytes handed to the socket, responses included
  std::vector<std::pair<uint64_t, std::function<void()>>> callbacks_;  // by end offset
  std::atomic<std::size_t> pending_{0};
  std::function<void()> on_close_, on_written_;
  std::list<asio::steady_timer> timers_;
};

// The Response a handler holds: one request of a connection. Calls for an earlier request
// of the same connection are ignored.
class Reply final : public Response {
 public:
  Reply(std::shared_ptr<Session> s, uint64_t seq) : s_(std::move(s)), seq_(seq) {}
  // A response nobody answers would hold its connection forever: it gets a 500, or is cut
  // off when it had started. The Session is checked on its loop, whichever thread this is.
  ~Reply() override {
    if (s_->in_loop() && s_->answered(seq_)) return;  // the usual case: no post
    asio::io_context& io = *s_->io();
    asio::post(io, [s = std::move(s_), seq = seq_] { s->abandoned(seq); });
  }
  void send(int status, Headers headers, std::string body) override { s_->send(seq_, status, std::move(headers), std::move(body)); }
  void start(int status, Headers headers) override { s_->start_stream(seq_, status, std::move(headers)); }
  void write(std::string_view bytes, std::function<void()> written) override { s_->write(seq_, bytes, std::move(written)); }
  void end() override { s_->end(seq_); }
  void abort() override { s_->abort(seq_); }
  bool started() const override { return s_->started(seq_); }
  bool closed() const override { return s_->closed(seq_); }
  std::size_t pending() const override { return s_->pending(); }
  void on_close(std::function<void()> fn) override { s_->on_close(seq_, std::move(fn)); }
  void on_written(std::function<void()> fn) override { s_->on_written(seq_, std::move(fn)); }
  void after(std::chrono::milliseconds delay, std::function<void()> fn) override { s_->after(seq_, delay, std::move(fn)); }
  void post(std::function<void()> fn) override { s_->post(std::move(fn)); }
  bool in_loop() const override { return s_->in_loop(); }
  void close_after() override { s_->close_after(seq_); }

 private:
  std::shared_ptr<Session> s_;
  uint64_t seq_;
};

void Session::dispatch() {
  begin_answer();
  keep_alive_ = parser_->req.refused ? false : parser_->keep_alive();
  head_only_ = parser_->req.method == "HEAD";
  Request req = std::move(parser_->req);
  parser_.reset();
  // A request still being answered after a tick is watched for its client leaving (most
  // are answered sooner, and each wait costs an epoll_ctl call).
  if (!req.refused) watch_due_ = Clock::now() + kDeadlineTick;
  auto reply = std::make_shared<Reply>(shared_from_this(), seq_);
  try {
    impl_->handler(req, reply);
  } catch (const std::exception& e) {
    log(LogLevel::Error, fmt::format("{} {}: {}", req.method, req.path, e.what()));
    if (!started_) {
      send(seq_, 500, {{"content-type", "application/json"}},
           fmt::format(R"({{"error":{{"message":"internal error","type":"server_error"}}}})"));
    } else {
      close();
    }
  }
}

}  // namespace

void detail::ServerCore::accept() {
  if (!acceptor || !acceptor->is_open()) return;
  LoopState& target = *loops[next_loop.fetch_add(1) % loops.size()];
  acceptor->async_accept(*target.io, [self = shared_from_this(), &target](const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor || !self->acceptor->is_open()) {
      self->end_listener(std::nullopt);
      return;
    }
    if (ec) {
      const int e = ec.value();
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        // Out of descriptors: connections waiting stay in the backlog until some close.
        log(LogLevel::Warn, fmt::format("accept: {}; retrying in {} ms (raise LimitNOFILE or lower [server] max_connections)",
                                        ec.message(), kAcceptRetry.count()));
        self->accept_retry->expires_after(kAcceptRetry);
        self->accept_retry->async_wait([self](const error_code& e2) {
          if (!e2) self->accept();
        });
        return;
      }
      if (e == ECONNABORTED || e == EPROTO || e == EPERM || e == EINTR || e == EAGAIN) return self->accept();
      log(LogLevel::Error, fmt::format("accept failed: {}", ec.message()));
      self->end_listener(Error{Errc::Internal, fmt::format("the listener failed: {}", ec.message()), 500, {}});
      return;
    }
    if (self->open.load() >= self->options.max_connections) {
      self->refuse_now(std::move(socket), *target.io);
    } else {
      self->open.fetch_add(1);
      asio::post(*target.io, [self, &target, s = std::move(socket)]() mutable {
        std::make_shared<Session>(self, target, std::move(s))->start();
      });
    }
    self->accept();
  });
}

// Past max_connections: the 503 is written at once (it fits any socket buffer) and the
// connection closes after reading, for a moment, what the client sends.
void detail::ServerCore::refuse_now(tcp::socket socket, asio::io_context& io) {
  refused.fetch_add(1);
  const std::string& r = overload_response();
  (void)::send(socket.native_handle(), r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  if (ec || lingering_refusals.load() >= kMaxLingeringRefusals) return;
  lingering_refusals.fetch_add(1);
  struct Linger {
    Linger(tcp::socket s, asio::io_context& io) : sock(std::move(s)), timer(io) {}
    tcp::socket sock;
    asio::steady_timer timer;
    char buf[512];
  };
  auto l = std::make_shared<Linger>(std::move(socket), io);
  l->timer.expires_after(kLinger);
  l->timer.async_wait([l](const error_code& e) {
    if (!e) {
      error_code ignored;
      l->sock.close(ignored);
    }
  });
  auto read = std::make_shared<std::function<void()>>();
  *read = [l, read, self = shared_from_this()] {
    l->sock.async_read_some(asio::buffer(l->buf), [l, read, self](const error_code& e, std::size_t) {
      if (!e) return (*read)();
      l->timer.cancel();
      error_code ignored;
      l->sock.close(ignored);
      self->lingering_refusals.fetch_sub(1);
      *read = nullptr;  // ends the cycle
    });
  };
  (*read)();
}

const std::string* Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::optional<std::string> Request::param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    const std::size_t amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

HttpServer::Options HttpServer::Options::from(const ServerConfig& s) {
  Options o;
  o.max_header_bytes = s.max_header_bytes;
  o.max_headers = s.max_headers;
  o.max_body_bytes = s.max_body_bytes;
  o.header_timeout = s.header_timeout;
  o.idle_timeout = s.idle_timeout;
  o.body_timeout = s.body_timeout;
  o.max_connections = s.max_connections;
  for (const std::string& h : s.allowed_hosts) o.allowed_hosts.push_back(lower(h));
  for (const std::string& c : s.cors_origins) o.cors_origins.push_back(lower(c));
  return o;
}

Result<std::unique_ptr<HttpServer>> HttpServer::create(Options options, Handler handler,
                                                       std::shared_ptr<Transport> loops_of, unsigned loops) {
  auto impl = std::make_shared<detail::ServerCore>();
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  if (!loops_of) {
    TransportOptions to;
    to.loops = std::max(1u, loops);
    impl->own = make_curl_transport(to);
    loops_of = impl->own;
  }
  for (asio::io_context* io : llmrouter::detail::transport_loops(*loops_of)) {
    impl->loops.push_back(std::make_unique<LoopState>(*io));
  }
  if (impl->loops.empty()) return fail(Errc::Config, "the HTTP server needs a curl transport's event loops");
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::shared_ptr<detail::ServerCore> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  drain();
  close_all();
  if (!wait_closed(std::chrono::seconds(5))) log(LogLevel::Warn, "http server: connections still open at exit");
  if (impl_->own) impl_->own->shutdown();
}

Result<int> HttpServer::listen(const std::string& host, int port) {
  detail::ServerCore& im = *impl_;
  asio::io_context& io = *im.loops.front()->io;
  error_code ec;
  asio::ip::address address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return fail(Errc::Config, fmt::format("cannot listen on {}:{}: cannot resolve the host ({})", host, port, ec.message()));
    }
    address = results.begin()->endpoint().address();
  }
  im.loopback = address.is_loopback() && im.options.check_host;
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(4096, ec);
  if (ec) return fail(Errc::Config, fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  const int bound = acceptor->local_endpoint().port();
  im.accept_retry = std::make_unique<asio::steady_timer>(io);
  im.acceptor = std::move(acceptor);
  asio::post(io, [self = impl_] { self->accept(); });
  return bound;
}

void HttpServer::drain() {
  if (impl_->draining.exchange(true)) return;
  asio::post(*impl_->loops.front()->io, [self = impl_] {
    error_code ignored;
    if (self->acceptor) self->acceptor->close(ignored);
    if (self->accept_retry) self->accept_retry->cancel();
    self->end_listener(std::nullopt);
  });
  impl_->on_each_loop([](LoopState& l) {
    std::vector<Session*> idle;
    for (Session* s : l.sessions) {
      if (s->idle()) idle.push_back(s);
    }
    for (Session* s : idle) s->close();
  });
}

void HttpServer::close_all() {
  asio::post(*impl_->loops.front()->io, [self = impl_] {
    error_code ignored;
    if (self->acceptor) self->acceptor->close(ignored);
    if (self->accept_retry) self->accept_retry->cancel();
  });
  impl_->on_each_loop([](LoopState& l) {
    std::vector<Session*> all(l.sessions.begin(), l.sessions.end());
    for (Session* s : all) s->close();
    l.ticker.cancel();  // no connection is left to check; the loop need not run on for it
  });
}

bool HttpServer::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->open.load() == 0; });
}

std::size_t HttpServer::connections() const { return impl_->open.load(); }
std::size_t HttpServer::busy() const { return impl_->busy.load(); }
uint64_t HttpServer::refused_connections() const { return impl_->refused.load(); }

std::optional<Error> HttpServer::listener_error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->listener_error;
}

std::optional<Error> HttpServer::wait_listener() {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->listener_done; });
  return impl_->listener_error;
}

}  // namespace llmrouter::http
