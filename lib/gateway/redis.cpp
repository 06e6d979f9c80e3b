// SPDX-License-Identifier: MIT
// The Redis LimitStore: gateway.h's semantics as three Lua scripts (admit, settle, usage),
// each atomic in Redis, over an asynchronous client on one of the engine's event loops.
//
// The client is hiredis's asynchronous API driven by Asio: hiredis says when it wants to
// read or write (its `ev` hooks), a stream_descriptor waits for that readiness and hands
// the event back to hiredis, which reads and writes the socket itself (Asio never does).
// hiredis 0.14 has no command timeout: every call gets a deadline here, and a call past it
// fails and takes its connection down with it; the connection is made again after a short
// backoff. All connection state lives on the loop's thread; other threads post to it.
// Scripts run with EVALSHA; a script's first call on a connection is an EVAL (which loads
// it), and a NOSCRIPT (its cache was flushed) sends the call again as EVAL.
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <deque>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "gateway/window.h"
#include "llmrouter/gateway.h"
#include "llmrouter/log.h"
#include "llmrouter/state.h"
#include "llmrouter/transport.h"
#include "transport/loops.h"
#include "util/strings.h"

namespace llmrouter {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// Reconnection delays after a failure: doubled on each failed attempt, up to the maximum.
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2'000};
// How long a period's totals are kept after the period ends (late settlements still land).
constexpr int64_t kPeriodGraceS = 86'400;
// How long the store's destructor waits for its connection to close on the loop.
constexpr std::chrono::seconds kCloseWait{2};

// A Lua script and its SHA-1 (what EVALSHA names it by).
struct Script {
  explicit Script(std::string text) : body(std::move(text)) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(body.data(), body.size(), d, &n, EVP_sha1(), nullptr) != 1) n = 0;
    for (unsigned int i = 0; i < n; ++i) sha1.append(fmt::format("{:02x}", d[i]));
  }
  std::string body;
  std::string sha1;  // empty if OpenSSL could not hash it: then EVAL is used
};

// ---------------------------------------------------------------------------------------
// The scripts. Fields of a window hash are "r<slot>" (requests) and "t<slot>" (tokens);
// a window outlives its last update by two minutes (the window and a margin). A period's
// totals hash has "requests", "tokens" and "nano" (spend in nano-USD). Times are
// the caller's (ARGV), never Redis's clock, so that every instance and the memory store
// count the same slots.

constexpr std::string_view kPrelude = R"lua(
-- The window at `now` (slots now-60 .. now, and any later one: an instance whose clock is
-- ahead writes slots this one has not reached, and they count) of the hash `key`: its
-- request and token slots, each a list of {slot, count}. Fields of slots that have left
-- it are deleted.
local function window(key, now)
  local fields = redis.call('HGETALL', key)
  local r, t = {}, {}
  for i = 1, #fields, 2 do
    local f = fields[i]
    local slot = tonumber(string.sub(f, 2))
    if slot == nil or slot <= now - 61 then
      redis.call('HDEL', key, f)
    else
      local list = t
      if string.sub(f, 1, 1) == 'r' then list = r end
      list[#list + 1] = {slot, tonumber(fields[i + 1])}
    end
  end
  return r, t
end

local function sum(list)
  local n = 0
  for _, c in ipairs(list) do n = n + c[2] end
  return n
end

-- The fewest seconds (1 .. 61) until `cost` fits under `limit` with no new traffic.
local function retry_after(list, now, cost, limit)
  local used = sum(list)
  for k = 1, 60 do
    local leaving = 0
    for _, c in ipairs(list) do
      if c[1] <= now - 61 + k then leaving = leaving + c[2] end
    end
    if used - leaving + cost <= limit then return k end
  end
  return 61
end
)lua";

// KEYS: the window, the period's totals. ARGV: now (Unix s), the estimated tokens, rpm,
// tpm, budget (nano-USD), the totals' TTL (ms). A limit < 0 is none; a TTL < 0 never expires.
// Returns {verdict (0 admitted, 1 budget, 2 rpm, 3 tpm), retry-after, the window's requests
// and tokens, the period's spend}.
constexpr std::string_view kAdmit = R"lua(
local now, tokens = tonumber(ARGV[1]), tonumber(ARGV[2])
local rpm, tpm, budget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local r, t = window(KEYS[1], now)
local requests, used = math.max(0, sum(r)), math.max(0, sum(t))
local spent = redis.call('HGET', KEYS[2], 'nano') or '0'
local verdict, retry = 0, 0
if budget >= 0 and tonumber(spent) >= budget then
  verdict = 1
elseif rpm >= 0 and requests + 1 > rpm then
  verdict, retry = 2, retry_after(r, now, 1, rpm)
elseif tpm >= 0 and used + tokens > tpm then
  verdict, retry = 3, retry_after(t, now, tokens, tpm)
else
  redis.call('HINCRBY', KEYS[1], 'r' .. ARGV[1], 1)
  redis.call('HINCRBY', KEYS[1], 't' .. ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], 120000)
  redis.call('HINCRBY', KEYS[2], 'requests', 1)
  redis.call('HINCRBY', KEYS[2], 'tokens', ARGV[2])
  local ttl = tonumber(ARGV[6])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return {verdict, retry, requests, used, spent}
)lua";

// KEYS: the window, the totals of the period the request was admitted in. ARGV: now (Unix
// s), the admission's slot, the token correction, the spend (nano-USD), the totals' TTL
// (ms; 0: the period is gone, < 0: never expires).
constexpr std::string_view kSettle = R"lua(
local now, slot, delta = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if delta ~= 0 and slot > now - 61 and slot <= now then
  redis.call('HINCRBY', KEYS[1], 't' .. ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], 120000)
end
local ttl = tonumber(ARGV[5])
if ttl ~= 0 then
  redis.call('HINCRBY', KEYS[2], 'tokens', ARGV[3])
  redis.call('HINCRBY', KEYS[2], 'nano', ARGV[4])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return 1
)lua";

// KEYS: the window, the current period's totals. ARGV: now (Unix s). Returns {the window's
// requests and tokens, the period's requests, tokens and spend}.
constexpr std::string_view kUsage = R"lua(
local r, t = window(KEYS[1], tonumber(ARGV[1]))
local u = redis.call('HMGET', KEYS[2], 'requests', 'tokens', 'nano')
return {math.max(0, sum(r)), math.max(0, sum(t)), u[1] or '0', u[2] or '0', u[3] or '0'}
)lua";

std::string script_text(std::string_view body) {
  std::string s(kPrelude);
  s.append(body);
  return s;
}

// ---------------------------------------------------------------------------------------
// The client.

// A reply, copied out of hiredis's (which is freed when its callback returns).
struct Reply {
  enum class Type { Nil, Integer, String, Array };
  Type type = Type::Nil;
  long long integer = 0;
  std::string str;
  std::vector<Reply> elements;
};

Reply copy_reply(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::Integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::String;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::Array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i)
        out.elements.push_back(copy_reply(*r.element[i]));
      break;
    default:
      break;
  }
  return out;
}

using CallDone = std::function<void(Result<Reply>)>;

struct Call {
  std::vector<std::string> args;
  CallDone done;
  Clock::time_point deadline;
  // The script an EVALSHA runs: sent as EVAL the first time on a connection, and again as
  // EVAL after a NOSCRIPT.
  const Script* script = nullptr;
  bool timed_out = false;
  bool retried = false;
};

struct ClientOptions {
  std::string host;
  uint16_t port = 6379;
  uint32_t db = 0;
  std::string password;
  std::chrono::milliseconds timeout{250};
  StateErrorPolicy on_error = StateErrorPolicy::Allow;
};

class Client;

// One connection: a hiredis context and the descriptor Asio waits on. The socket is
// hiredis's: it opens and closes it; the descriptor is released, never closed.
struct Conn : std::enable_shared_from_this<Conn> {
  Conn(asio::io_context& io, std::shared_ptr<Client> c) : client(std::move(c)), sd(io) {}
  std::shared_ptr<Client> client;
  redisAsyncContext* ac = nullptr;
  asio::posix::stream_descriptor sd;
  bool want_read = false;
  bool want_write = false;
  bool reading = false;  // a wait for readability is pending
  bool writing = false;
  bool gone = false;  // hiredis has let go of the context (its cleanup hook ran)
  // Calls sent, in order: hiredis answers them in this order.
  std::deque<Call> pending;
  // Scripts sent as EVAL on this connection (Redis has them; EVALSHA from then on).
  std::set<const Script*> scripts;
  // Why it went down, when this side knows better than hiredis (a timeout, a failed AUTH).
  std::string why;
  bool ready = false;        // its handshake was answered
  bool failed_call = false;  // a call failed when it ended
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(asio::io_context& io, ClientOptions options)
      : io_(io),
        o_(std::move(options)),
        address_(fmt::format("{}:{}", o_.host, o_.port)),
        resolver_(io),
        deadline_(io),
        retry_(io) {}

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects (on the loop).
  void start() {
    asio::post(io_, [self = shared_from_this()] {
      if (!self->closed_ && !self->conn_ && !self->resolving_) self->connect();
    });
  }

  // Sends a command (from any thread). `done` is called exactly once, on the loop's
  // thread, unless the loop has already stopped.
  void call(std::vector<std::string> args, const Script* script, CallDone done) {
    Call c;
    c.args = std::move(args);
    c.done = std::move(done);
    c.script = script;
    c.deadline = Clock::now() + o_.timeout;
    {
      // Posted before transport_shutdown posts the close (which then fails it), or not at
      // all: a call posted after the loop's last handler would never be answered.
      std::lock_guard lock(post_mu_);
      if (!shut_.load(std::memory_order_acquire)) {
        asio::post(io_, [self = shared_from_this(), c = std::move(c)]() mutable {
          self->submit(std::move(c));
        });
        return;
      }
    }
    c.done(fail(Errc::Cancelled, "the limit store's transport has shut down"));
  }

  // Fails what is pending and closes the connection (from any thread); later calls fail at
  // once. `closed` is set once that is done.
  void close(std::shared_ptr<std::promise<void>> closed) {
    asio::post(io_, [self = shared_from_this(), closed] {
      self->closed_ = true;
      self->deadline_.cancel();
      self->retry_.cancel();
      self->resolver_.cancel();
      for (Call& c : self->waiting_)
        self->complete(c, fail(Errc::Cancelled, "the limit store is closing"));
      self->waiting_.clear();
      if (auto conn = std::exchange(self->conn_, nullptr); conn && conn->ac && !conn->gone) {
        conn->why = "the limit store is closing";
        redisAsyncFree(conn->ac);  // each pending call gets its error
      }
      closed->set_value();
    });
  }

  // The transport is shutting down (on the thread that shuts it down, before its loops
  // stop): closes the connection there; later calls fail at once.
  void transport_shutdown() {
    std::lock_guard lock(post_mu_);
    if (shut_.exchange(true, std::memory_order_acq_rel)) return;
    close(std::make_shared<std::promise<void>>());
  }
  bool shut() const noexcept { return shut_.load(std::memory_order_acquire); }

  bool healthy() const noexcept { return healthy_.load(std::memory_order_relaxed); }
  const std::string& address() const noexcept { return address_; }

 private:
  // --- on the loop's thread ---

  void submit(Call c) {
    if (closed_) {
      complete(c, fail(Errc::Cancelled, "the limit store is closing"));
    } else if (conn_ && conn_->gone && idle_close(*conn_)) {
      conn_.reset();  // `lost` will find it replaced
      connect();
      submit(std::move(c));
    } else if (conn_ && conn_->gone) {
      // Dropped just now; the next attempt follows the backoff.
      complete(c, fail(Errc::Upstream, fmt::format("redis at {}: {}", address_, why(*conn_))));
    } else if (conn_) {
      send(*conn_, std::move(c));
    } else if (resolving_) {
      waiting_.push_back(std::move(c));
      arm_deadline();
    } else if (retrying_) {
      // Down, and the next attempt is not due yet: fail at once rather than wait.
      complete(c, fail(Errc::Upstream,
                       fmt::format("redis at {} is unreachable: {}", address_, last_error_)));
    } else {
      connect();
      submit(std::move(c));
    }
  }

  // Resolves the host (off the loop: Asio's resolver thread), then connects.
  void connect() {
    resolving_ = true;
    resolver_.async_resolve(
        o_.host, std::to_string(o_.port),
        [self = shared_from_this()](const error_code& ec,
                                    const asio::ip::tcp::resolver::results_type& r) {
          self->resolving_ = false;
          if (self->closed_ || ec == asio::error::operation_aborted) return;
          if (ec || r.empty()) {
            self->failed(fmt::format("cannot resolve {}: {}", self->o_.host,
                                     ec ? ec.message() : std::string("no address")));
            return;
          }
          self->open(r.begin()->endpoint().address().to_string());
        });
  }

  void open(const std::string& ip) {
    redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), o_.port);  // non-blocking
    if (ac == nullptr) {
      failed("out of memory");
      return;
    }
    if (ac->err != 0) {
      std::string why = ac->errstr;
      redisAsyncFree(ac);
      failed(why);
      return;
    }
    auto conn = std::make_shared<Conn>(io_, shared_from_this());
    conn->ac = ac;
    error_code ec;
    conn->sd.assign(ac->c.fd, ec);
    if (ec) {
      redisAsyncFree(ac);
      failed(fmt::format("cannot watch its socket: {}", ec.message()));
      return;
    }
    ac->ev.data = conn.get();
    ac->ev.addRead = &Client::add_read;
    ac->ev.delRead = &Client::del_read;
    ac->ev.addWrite = &Client::add_write;
    ac->ev.delWrite = &Client::del_write;
    ac->ev.cleanup = &Client::cleanup;
    redisAsyncSetConnectCallback(ac, &Client::on_connect);  // waits for writability
    conn_ = conn;

    // The handshake goes first on the connection; what waited for it follows.
    std::vector<std::vector<std::string>> hello;
    if (!o_.password.empty()) hello.push_back({"AUTH", o_.password});
    if (o_.db != 0) hello.push_back({"SELECT", std::to_string(o_.db)});
    if (hello.empty()) hello.push_back({"PING"});
    for (std::size_t i = 0; i < hello.size(); ++i) {
      Call c;
      c.args = std::move(hello[i]);
      c.deadline = Clock::now() + o_.timeout;
      const bool last = i + 1 == hello.size();
      std::string what = c.args.front();
      c.done = [self = shared_from_this(), weak = std::weak_ptr<Conn>(conn), last,
                what](Result<Reply> r) {
        auto live = weak.lock();
        if (!live || live->gone) return;
        if (!r) {
          if (r.error().code == Errc::Internal)
            self->drop(*live, fmt::format("{} failed: {}", what, r.error().message));
          return;
        }
        if (last) {
          live->ready = true;
          self->up();
        }
      };
      send(*conn, std::move(c));
    }
    std::deque<Call> waiting = std::move(waiting_);
    waiting_.clear();
    for (Call& c : waiting) send(*conn, std::move(c));
  }

  void send(Conn& conn, Call c) {
    // A script's first call on a connection carries its text (EVAL), so that Redis has it
    // for the EVALSHAs sent behind it, in order.
    if (c.script != nullptr && conn.scripts.insert(c.script).second) {
      c.args[0] = "EVAL";
      c.args[1] = c.script->body;
      c.script = nullptr;
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(c.args.size());
    lens.reserve(c.args.size());
    for (const std::string& a : c.args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (conn.gone ||
        redisAsyncCommandArgv(conn.ac, &Client::on_reply, &conn, static_cast<int>(argv.size()),
                              argv.data(), lens.data()) != REDIS_OK) {
      complete(
          c, fail(Errc::Upstream, fmt::format("redis at {}: the connection is closing", address_)));
      return;
    }
    conn.pending.push_back(std::move(c));
    arm_deadline();
  }

  // A reply (or, when the connection ends, nullptr) for the oldest pending call of `conn`.
  void answer(Conn& conn, const redisReply* r) {
    if (conn.pending.empty()) return;
    Call c = std::move(conn.pending.front());
    conn.pending.pop_front();
    if (r == nullptr) {
      if (server_closed(conn) && !c.retried) {
        // The server closed an idle connection (its `timeout`, CLIENT KILL) as this call
        // went out: it read none of it. Sent once more, on a new connection. (A server that
        // ran the call and then closed without answering, a crash or SHUTDOWN at that very
        // moment, would count an admit or settle twice: rarer than idle closes, which would
        // otherwise fail the first call after each idle period.)
        c.retried = true;
        asio::post(io_, [self = shared_from_this(), c = std::move(c)]() mutable {
          self->submit(std::move(c));
        });
        return;
      }
      conn.failed_call = true;
      healthy_.store(false, std::memory_order_relaxed);  // before the caller hears of it
      if (closed_) {
        complete(c, fail(Errc::Cancelled, "the limit store is closing"));
      } else if (c.timed_out) {
        complete(c, fail(Errc::Timeout, fmt::format("redis at {} did not answer within {} ms",
                                                    address_, o_.timeout.count())));
      } else {
        complete(c, fail(Errc::Upstream, fmt::format("redis at {}: {}", address_, why(conn))));
      }
      return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
      const std::string_view msg(r->str, r->len);
      if (c.script != nullptr && msg.starts_with("NOSCRIPT")) {
        // Its script cache was flushed (SCRIPT FLUSH, a restart behind a proxy): sent again
        // with the text, behind what is pending now.
        c.args[0] = "EVAL";
        c.args[1] = c.script->body;
        c.script = nullptr;  // keeps its deadline: a call never waits longer than the timeout
        send(conn, std::move(c));
        return;
      }
      complete(c, fail(Errc::Internal, fmt::format("redis at {}: {}", address_, msg)));
      return;
    }
    complete(c, copy_reply(*r));
  }

  void complete(Call& c, Result<Reply> r) {
    if (!c.done) return;
    try {
      auto done = std::move(c.done);
      c.done = nullptr;
      done(std::move(r));
    } catch (const std::exception& e) {
      log(LogLevel::Error, fmt::format("state: a redis callback threw: {}", e.what()));
    } catch (...) {
      log(LogLevel::Error, "state: a redis callback threw");
    }
  }

  std::string why(const Conn& conn) const {
    if (!conn.why.empty()) return conn.why;
    if (conn.ac != nullptr && conn.ac->c.err != 0) return conn.ac->c.errstr;
    return "the connection closed";
  }

  // The deadline of the oldest call: calls are sent in order with the same timeout, so the
  // front of the queue is always the first to expire.
  void arm_deadline() {
    if (deadline_armed_) return;
    const Call* front = oldest();
    if (front == nullptr) return;
    deadline_armed_ = true;
    deadline_.expires_at(front->deadline);
    deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
      self->deadline_armed_ = false;
      if (ec || self->closed_) return;
      self->check_deadline();
    });
  }

  const Call* oldest() const {
    if (conn_ && !conn_->pending.empty()) return &conn_->pending.front();
    if (!waiting_.empty()) return &waiting_.front();
    return nullptr;
  }

  void check_deadline() {
    const auto now = Clock::now();
    const auto late = fmt::format("a call took longer than {} ms", o_.timeout.count());
    if (conn_ && !conn_->pending.empty() && conn_->pending.front().deadline <= now) {
      conn_->pending.front().timed_out = true;
      drop(*conn_, late);
    }
    while (!waiting_.empty() && waiting_.front().deadline <= now) {
      Call c = std::move(waiting_.front());
      waiting_.pop_front();
      complete(c, fail(Errc::Timeout, fmt::format("redis at {} did not answer within {} ms",
                                                  address_, o_.timeout.count())));
    }
    arm_deadline();
  }

  // Closes `conn` now: each of its pending calls fails; `lost` follows.
  void drop(Conn& conn, std::string why) {
    if (conn.gone || conn.ac == nullptr) return;
    if (conn.why.empty()) conn.why = std::move(why);
    redisAsyncFree(conn.ac);  // inside a hiredis callback, hiredis frees it once that returns
  }

  // Whether the server ended `conn`, which was up, with an orderly close (no error of ours).
  bool server_closed(const Conn& conn) const {
    return conn.ready && !closed_ && conn.why.empty() && conn.ac != nullptr &&
           conn.ac->c.err == REDIS_ERR_EOF;
  }

  // Whether `conn` (gone) was closed by the server while idle (its `timeout` setting):
  // no outage; the next call connects again.
  static bool idle_close(const Conn& conn) { return conn.ready && !conn.failed_call; }

  // A connection ended (its cleanup hook ran; posted, so never inside hiredis).
  void lost(const std::shared_ptr<Conn>& conn) {
    if (conn_ != conn) return;
    conn_.reset();
    if (closed_ || idle_close(*conn)) return;
    failed(conn->why.empty() ? std::string("the connection closed") : conn->why);
  }

  // A connection could not be made or was lost: the outage starts (once) and the next
  // attempt is scheduled.
  void failed(const std::string& why) {
    last_error_ = why;
    healthy_.store(false, std::memory_order_relaxed);
    if (!outage_) {
      outage_ = true;
      log(LogLevel::Warn,
          fmt::format("state: redis at {} unreachable: {}; requests are {} until it is back",
                      address_, why,
                      o_.on_error == StateErrorPolicy::Allow ? "allowed" : "denied"));
    }
    for (Call& c : waiting_) {
      complete(c,
               fail(Errc::Upstream, fmt::format("redis at {} is unreachable: {}", address_, why)));
    }
    waiting_.clear();
    if (closed_ || retrying_) return;
    retrying_ = true;
    retry_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    retry_.async_wait([self = shared_from_this()](const error_code& ec) {
      self->retrying_ = false;
      if (ec || self->closed_ || self->conn_ || self->resolving_) return;
      self->connect();
    });
  }

  // The handshake of the current connection was answered.
  void up() {
    backoff_ = kFirstBackoff;
    healthy_.store(true, std::memory_order_relaxed);
    if (outage_) {
      outage_ = false;
      log(LogLevel::Info, fmt::format("state: redis at {} is reachable again", address_));
    }
  }

  // --- hiredis's hooks (on the loop's thread, inside hiredis: nothing may throw) ---

  static Conn& conn_of(void* privdata) { return *static_cast<Conn*>(privdata); }

  static void watch(const std::shared_ptr<Conn>& conn, bool read) {
    bool& busy = read ? conn->reading : conn->writing;
    const bool want = read ? conn->want_read : conn->want_write;
    if (conn->gone || busy || !want) return;
    busy = true;
    conn->sd.async_wait(
        read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
        [conn, read](const error_code& ec) {
          (read ? conn->reading : conn->writing) = false;
          if (ec || conn->gone || !(read ? conn->want_read : conn->want_write)) return;
          if (read) {
            redisAsyncHandleRead(conn->ac);
          } else {
            redisAsyncHandleWrite(conn->ac);
          }
          watch(conn, read);
        });
  }

  static void add_read(void* privdata) noexcept {
    Conn& c = conn_of(privdata);
    c.want_read = true;
    watch(c.shared_from_this(), true);
  }
  static void del_read(void* privdata) noexcept { conn_of(privdata).want_read = false; }
  static void add_write(void* privdata) noexcept {
    Conn& c = conn_of(privdata);
    c.want_write = true;
    watch(c.shared_from_this(), false);
  }
  static void del_write(void* privdata) noexcept { conn_of(privdata).want_write = false; }

  // hiredis is done with the context (it closes the socket next); may come more than once.
  static void cleanup(void* privdata) noexcept {
    Conn& c = conn_of(privdata);
    if (c.gone) return;
    if (c.why.empty() && c.ac->c.err != 0) c.why = c.ac->c.errstr;
    c.gone = true;
    c.ac = nullptr;  // freed once this returns
    c.want_read = c.want_write = false;
    error_code ignored;
    c.sd.cancel(ignored);
    (void)c.sd.release();
    asio::post(c.client->io_, [conn = c.shared_from_this()] { conn->client->lost(conn); });
  }

  static void on_connect(const redisAsyncContext* ac, int status) noexcept {
    if (status == REDIS_OK) return;
    Conn& c = conn_of(ac->ev.data);
    if (c.why.empty())
      c.why = ac->c.err != 0 ? std::string(ac->c.errstr) : std::string("cannot connect");
  }

  static void on_reply(redisAsyncContext*, void* reply, void* privdata) noexcept {
    Conn& c = conn_of(privdata);
    c.client->answer(c, static_cast<const redisReply*>(reply));
  }

  asio::io_context& io_;
  const ClientOptions o_;
  const std::string address_;  // HOST:PORT, for messages
  std::atomic<bool> healthy_{true};
  std::atomic<bool> shut_{false};  // the transport has shut down (or is shutting down)
  std::mutex post_mu_;             // orders call()'s posts against transport_shutdown's
  // The loop's own state: touched only on its thread.
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer deadline_;
  asio::steady_timer retry_;
  std::shared_ptr<Conn> conn_;  // the connection, up or being made
  std::deque<Call> waiting_;    // calls that came while the host was being resolved
  bool resolving_ = false;
  bool retrying_ = false;  // down; the next attempt is scheduled
  bool deadline_armed_ = false;
  bool outage_ = false;
  bool closed_ = false;
  std::chrono::milliseconds backoff_ = kFirstBackoff;
  std::string last_error_;
};

// ---------------------------------------------------------------------------------------
// The store.

int64_t as_int(const Reply& r) {
  if (r.type == Reply::Type::Integer) return r.integer;
  int64_t v = 0;
  if (r.type == Reply::Type::String) std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
  return v;
}

uint64_t non_negative(int64_t v) {
  return static_cast<uint64_t>(std::max<int64_t>(0, v));
}

std::string limit_arg(const std::optional<uint64_t>& limit) {
  if (!limit) return "-1";
  return std::to_string(std::min<uint64_t>(*limit, std::numeric_limits<int64_t>::max()));
}

// The TTL (ms) of a period's totals at `now_ms`: a day after the period's end; -1: never
// (`total`); 0: already past it.
int64_t totals_ttl_ms(const BudgetWindow& period, int64_t now_ms) {
  if (period.end_s == std::numeric_limits<int64_t>::max()) return -1;
  return std::max<int64_t>(0, (period.end_s + kPeriodGraceS) * 1000 - now_ms);
}

// The client of one or more stores: it closes the connection when the last of them goes.
class Connection {
 public:
  Connection(std::shared_ptr<Transport> transport, std::shared_ptr<Client> client)
      : transport_(std::move(transport)), client_(std::move(client)) {
    on_shutdown_ =
        std::make_shared<std::function<void()>>([c = client_] { c->transport_shutdown(); });
    detail::on_transport_shutdown(*transport_, on_shutdown_);
  }

  ~Connection() {
    if (client_->shut()) return;  // closed when the transport shut down
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    client_->close(closed);
    // On a loop thread the close runs after this returns; elsewhere wait for it, so that
    // nothing of the store's is left pending on the loop when its transport shuts down.
    if (!in_transport_loop() && done.wait_for(kCloseWait) != std::future_status::ready) {
      log(LogLevel::Warn,
          "state: the redis connection did not close in time (has the transport shut down?)");
    }
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::shared_ptr<Client>& client() const noexcept { return client_; }
  // Calls of its stores that failed (LimitStore::errors).
  const std::shared_ptr<std::atomic<uint64_t>>& errors() const noexcept { return errors_; }

 private:
  std::shared_ptr<Transport> transport_;  // its loops run the client
  std::shared_ptr<Client> client_;
  std::shared_ptr<std::atomic<uint64_t>> errors_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::function<void()>> on_shutdown_;  // the transport's hook (held weakly)
};

// The five figures an admit or usage script answers with; a failed call or another shape
// is an error, counted in `errors`.
Result<const std::vector<Reply>*> script_figures(const Result<Reply>& r, std::string_view script,
                                                 std::atomic<uint64_t>& errors) {
  if (!r) {
    errors.fetch_add(1, std::memory_order_relaxed);
    return fail(r.error());
  }
  if (r->type != Reply::Type::Array || r->elements.size() != 5) {
    errors.fetch_add(1, std::memory_order_relaxed);
    return fail(Errc::Internal, fmt::format("redis: unexpected reply to the {} script", script));
  }
  return &r->elements;
}

class RedisLimitStore final : public LimitStore {
 public:
  RedisLimitStore(std::shared_ptr<Connection> connection, std::string prefix)
      : connection_(std::move(connection)),
        client_(connection_->client()),
        prefix_(std::move(prefix)),
        errors_(connection_->errors()) {}

  RedisLimitStore(const RedisLimitStore&) = delete;
  RedisLimitStore& operator=(const RedisLimitStore&) = delete;

  void admit(const AdmitQuery& q, AdmitDone done) override {
    const int64_t now_s = gateway::slot_of(q.now_ms);
    const BudgetWindow period = budget_window(q.limits.period, now_s);
    std::string budget = "-1";
    if (q.limits.budget_usd) budget = std::to_string(gateway::to_nano_usd(*q.limits.budget_usd));
    std::vector<std::string> args{"EVALSHA",
                                  admit_.sha1,
                                  "2",
                                  window_key(q.key),
                                  totals_key(q.key, period.id),
                                  std::to_string(now_s),
                                  std::to_string(q.tokens),
                                  limit_arg(q.limits.rpm),
                                  limit_arg(q.limits.tpm),
                                  std::move(budget),
                                  std::to_string(totals_ttl_ms(period, q.now_ms))};
    const bool total = q.limits.period == BudgetPeriod::Total;
    client_->call(std::move(args), &admit_,
                  [errors = errors_, done = std::move(done), now_s, period_end = period.end_s,
                   total](const Result<Reply>& r) {
                    auto five = script_figures(r, "admit", *errors);
                    if (!five) return done(fail(five.error()));
                    const std::vector<Reply>& e = **five;
                    Admission a;
                    a.slot = now_s;
                    a.period_end_s = period_end;
                    a.window_requests = non_negative(as_int(e[2]));
                    a.window_tokens = non_negative(as_int(e[3]));
                    a.spent_usd = gateway::from_nano_usd(as_int(e[4]));
                    switch (as_int(e[0])) {
                      case 1:
                        a.verdict = Admission::Verdict::OverBudget;
                        a.retry_after_s = total ? 0 : std::max<int64_t>(1, period_end - now_s);
                        break;
                      case 2:
                        a.verdict = Admission::Verdict::OverRpm;
                        a.retry_after_s = as_int(e[1]);
                        break;
                      case 3:
                        a.verdict = Admission::Verdict::OverTpm;
                        a.retry_after_s = as_int(e[1]);
                        break;
                      default:
                        break;
                    }
                    done(a);
                  });
  }

  void settle(const Settlement& s) override {
    const int64_t now_s = gateway::slot_of(s.now_ms);
    const BudgetWindow period = budget_window(s.limits.period, s.slot);
    const int64_t delta = static_cast<int64_t>(s.tokens) - static_cast<int64_t>(s.estimated_tokens);
    std::vector<std::string> args{"EVALSHA",
                                  settle_.sha1,
                                  "2",
                                  window_key(s.key),
                                  totals_key(s.key, period.id),
                                  std::to_string(now_s),
                                  std::to_string(s.slot),
                                  std::to_string(delta),
                                  std::to_string(gateway::to_nano_usd(s.cost_usd)),
                                  std::to_string(totals_ttl_ms(period, s.now_ms))};
    client_->call(
        std::move(args), &settle_,
        [errors = errors_, client = std::weak_ptr<Client>(client_), key = s.key](Result<Reply> r) {
          if (r) return;
          errors->fetch_add(1, std::memory_order_relaxed);
          // An outage is logged once by the client; other failures each time.
          auto c = client.lock();
          const bool outage = c && !c->healthy();
          log(outage ? LogLevel::Debug : LogLevel::Warn,
              fmt::format("state: key '{}': the usage of a request was not recorded: {}", key,
                          r.error().message));
        });
  }

  void usage(std::string_view key, const KeyLimits& limits, int64_t now_ms,
             UsageDone done) override {
    const int64_t now_s = gateway::slot_of(now_ms);
    KeyUsage u;
    u.period = budget_window(limits.period, now_s);
    std::vector<std::string> args{"EVALSHA",
                                  usage_.sha1,
                                  "2",
                                  window_key(key),
                                  totals_key(key, u.period.id),
                                  std::to_string(now_s)};
    client_->call(std::move(args), &usage_,
                  [errors = errors_, done = std::move(done), u](const Result<Reply>& r) mutable {
                    auto five = script_figures(r, "usage", *errors);
                    if (!five) return done(fail(five.error()));
                    const std::vector<Reply>& e = **five;
                    u.window_requests = non_negative(as_int(e[0]));
                    u.window_tokens = non_negative(as_int(e[1]));
                    u.requests = non_negative(as_int(e[2]));
                    u.tokens = non_negative(as_int(e[3]));
                    u.spent_usd = gateway::from_nano_usd(as_int(e[4]));
                    done(std::move(u));
                  });
  }

  bool healthy() const override { return client_->healthy(); }
  uint64_t errors() const override { return errors_->load(std::memory_order_relaxed); }

 private:
  // `{prefix}win:{NAME}` and `{prefix}use:{NAME}:PERIOD`: the key's name in braces (a
  // cluster hash tag), so that a script's two keys share a slot.
  std::string window_key(std::string_view name) const {
    std::string k = prefix_;
    k.append("win:{").append(name).append("}");
    return k;
  }
  std::string totals_key(std::string_view name, std::string_view period) const {
    std::string k = prefix_;
    k.append("use:{").append(name).append("}:").append(period);
    return k;
  }

  std::shared_ptr<Connection> connection_;
  std::shared_ptr<Client> client_;  // connection_'s
  std::string prefix_;
  std::shared_ptr<std::atomic<uint64_t>> errors_;  // connection_'s
  const Script admit_{script_text(kAdmit)};
  const Script settle_{script_text(kSettle)};
  const Script usage_{script_text(kUsage)};
};

// Conversations for Responses clients: kept here (a MemoryResponseStore, the same limits)
// and in Redis under `{prefix}resp:{ID}`, so that another instance can continue them.
// Writes are sent and not waited for; a read that misses here asks Redis in `prefetch`.
class RedisResponseStore final : public ResponseStore {
 public:
  RedisResponseStore(std::shared_ptr<Connection> connection, std::string prefix,
                     const ResponseStoreLimits& limits)
      : connection_(std::move(connection)),
        client_(connection_->client()),
        prefix_(std::move(prefix)),
        state_(std::make_shared<State>(limits, connection_->errors())) {}

  RedisResponseStore(const RedisResponseStore&) = delete;
  RedisResponseStore& operator=(const RedisResponseStore&) = delete;

  Result<void> put(std::string_view id, std::vector<Message> conversation) override {
    std::string encoded = encode_conversation(conversation);
    if (Result<void> kept = state_->local.put(id, std::move(conversation)); !kept) return kept;
    const ResponseStoreLimits limits = state_->limits();
    if (encoded.size() > limits.max_bytes) {
      log(LogLevel::Debug,
          fmt::format("state: conversation '{}' ({} bytes as JSON) is kept in this instance "
                      "only: it is larger than responses_max_bytes",
                      id, encoded.size()));
      return {};
    }
    const int64_t ttl_ms = std::max<int64_t>(1, limits.ttl.count());
    std::vector<std::string> args;
    args.reserve(5);
    args.emplace_back("SET");
    args.push_back(key(id));
    args.push_back(std::move(encoded));  // not copied: a conversation can be megabytes
    args.emplace_back("PX");
    args.push_back(std::to_string(ttl_ms));
    client_->call(std::move(args), nullptr,
                  [state = state_, client = std::weak_ptr<Client>(client_),
                   id = std::string(id)](Result<Reply> r) {
                    if (r) return;
                    state->errors->fetch_add(1, std::memory_order_relaxed);
                    auto c = client.lock();
                    const bool outage = c && !c->healthy();
                    log(outage ? LogLevel::Debug : LogLevel::Warn,
                        fmt::format("state: conversation '{}' was not stored in redis: {}", id,
                                    r.error().message));
                  });
    return {};
  }

  Result<std::optional<std::vector<Message>>> get(std::string_view id) const override {
    auto found = state_->local.get(id);
    if (!found || *found) return found;
    if (std::optional<Error> e = state_->failure(id)) return fail(std::move(*e));
    return found;
  }

  void configure(const ResponseStoreLimits& limits) override {
    state_->local.configure(limits);
    std::lock_guard lock(state_->mu);
    state_->current_limits = limits;
  }

  void prefetch(std::string_view id, std::function<void()> done) override {
    if (state_->local.contains(id)) {
      done();
      return;
    }
    client_->call(
        {"GET", key(id)}, nullptr,
        [state = state_, client = std::weak_ptr<Client>(client_), id = std::string(id),
         done = std::move(done)](Result<Reply> r) {
          state->answered(id, std::nullopt);
          if (!r) {
            state->errors->fetch_add(1, std::memory_order_relaxed);
            auto c = client.lock();
            const bool outage = c && !c->healthy();
            log(outage ? LogLevel::Debug : LogLevel::Warn,
                fmt::format("state: conversation '{}' could not be read from redis: {}", id,
                            r.error().message));
            state->answered(
                id, Error{Errc::Upstream, "the conversation store cannot be reached", 503, {}});
          } else if (r->type == Reply::Type::String) {
            auto conversation = decode_conversation(r->str);
            if (!conversation) {
              log(LogLevel::Warn, fmt::format("state: conversation '{}' in redis is unreadable: {}",
                                              id, conversation.error().message));
              state->answered(
                  id, Error{Errc::Internal, "the kept conversation cannot be read", 500, {}});
            } else if (auto kept = state->local.put(id, std::move(*conversation)); !kept) {
              log(LogLevel::Warn,
                  fmt::format("state: conversation '{}' from redis: {}", id, kept.error().message));
            }
          }  // nil: Redis has none (never stored, expired): `get` finds none either
          done();
        });
  }

  bool remote() const noexcept override { return true; }

 private:
  // What the store's callbacks share with it (they may outlive it on the loop).
  struct State {
    State(const ResponseStoreLimits& l, std::shared_ptr<std::atomic<uint64_t>> e)
        : local(l), errors(std::move(e)), current_limits(l) {}
    MemoryResponseStore local;
    std::shared_ptr<std::atomic<uint64_t>> errors;  // the connection's
    std::mutex mu;
    ResponseStoreLimits current_limits;  // guarded by mu
    // The ids whose last read from Redis failed, and why: `get` answers that error rather
    // than "not found". Bounded: past kMaxFailures they are forgotten all at once.
    std::unordered_map<std::string, Error> failures;

    ResponseStoreLimits limits() {
      std::lock_guard lock(mu);
      return current_limits;
    }
    void answered(const std::string& id, std::optional<Error> e) {
      std::lock_guard lock(mu);
      if (!e) {
        failures.erase(id);
        return;
      }
      if (failures.size() >= kMaxFailures) failures.clear();
      failures.insert_or_assign(id, std::move(*e));
    }
    std::optional<Error> failure(std::string_view id) {
      std::lock_guard lock(mu);
      auto it = failures.find(std::string(id));
      if (it == failures.end()) return std::nullopt;
      return it->second;
    }
  };
  static constexpr std::size_t kMaxFailures = 1024;

  std::string key(std::string_view id) const {
    std::string k = prefix_;
    k.append("resp:").append(id);
    return k;
  }

  std::shared_ptr<Connection> connection_;
  std::shared_ptr<Client> client_;  // connection_'s
  std::string prefix_;
  std::shared_ptr<State> state_;
};

}  // namespace

Result<RedisStores> make_redis_stores(const StateConfig& state, const KeyEnvReader& getenv,
                                      std::shared_ptr<Transport> transport) {
  const auto address = detail::parse_redis_url(state.redis_url);
  if (!address) {
    return fail(
        Errc::Config,
        fmt::format("state.redis_url: expected redis://[:PASSWORD@]HOST:PORT[/DB], got '{}'",
                    state.redis_url));
  }
  ClientOptions o;
  o.host = address->host;
  o.port = address->port;
  o.db = address->db;
  o.password = address->password;
  o.timeout = std::max(state.redis_timeout, std::chrono::milliseconds(1));
  o.on_error = state.on_error;
  if (state.redis_password_env) {
    std::optional<std::string> password = getenv ? getenv(*state.redis_password_env) : std::nullopt;
    if (!password || password->empty()) {
      return fail(
          Errc::Config,
          fmt::format("state.redis_password_env: the environment variable {} is unset or empty",
                      *state.redis_password_env));
    }
    o.password = std::move(*password);
  }
  if (!transport) return fail(Errc::InvalidArgument, "the redis limit store needs a transport");
  const std::vector<asio::io_context*> loops = detail::transport_loops(*transport);
  if (loops.empty())
    return fail(Errc::InvalidArgument,
                "the redis limit store needs a curl transport's event loops");
  // One connection, pipelined, on the last loop (the first also accepts the HTTP edge's
  // connections).
  auto client = std::make_shared<Client>(*loops.back(), std::move(o));
  client->start();
  auto connection = std::make_shared<Connection>(std::move(transport), std::move(client));
  RedisStores stores;
  stores.limits = std::make_shared<RedisLimitStore>(connection, state.key_prefix);
  stores.responses = std::make_shared<RedisResponseStore>(
      connection, state.key_prefix,
      ResponseStoreLimits{state.responses_ttl, state.responses_max,
                          static_cast<std::size_t>(state.responses_max_bytes)});
  return stores;
}

Result<std::shared_ptr<LimitStore>> make_redis_limit_store(const StateConfig& state,
                                                           const KeyEnvReader& getenv,
                                                           std::shared_ptr<Transport> transport) {
  auto stores = make_redis_stores(state, getenv, std::move(transport));
  if (!stores) return fail(stores.error());
  return std::move(stores->limits);
}

}  // namespace llmrouter
