// SPDX-License-Identifier: MIT
// The curl transport on curl's socket interface. Each loop is an Asio io_context run by one
// thread, with a multi handle and connection cache of its own: curl says which sockets to
// watch (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION); the loop
// calls curl_multi_socket_action for the one socket that is ready, so an event costs work
// for the transfers with activity only, not for every open transfer.
//
// A transfer lives on one loop from start to end. Other threads reach a loop only by
// posting to its io_context. Every curl callback catches everything: nothing may unwind
// through libcurl.
#include <curl/curl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "llmrouter/log.h"
#include "llmrouter/transport.h"
#include "transport/loops.h"

namespace llmrouter {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Loop index in the low bits of a TransferId, so cancel and resume find the loop.
constexpr unsigned kLoopBits = 8;
constexpr unsigned kMaxLoops = 1u << kLoopBits;
// How often first-byte and idle deadlines (which curl has no option for) are checked.
constexpr std::chrono::milliseconds kDeadlineTick{50};

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct Transfer {
  TransferId id = 0;
  HttpRequest request;
  std::shared_ptr<TransferObserver> observer;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  Clock::time_point started;
  Clock::time_point last_data;
  bool got_first_byte = false;
  bool headers_sent = false;
  bool paused = false;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> response_headers;
  std::optional<Error> abort_error;  // set when the loop decides to end the transfer
};

// A socket curl asked the loop to watch. The descriptor is borrowed: curl opens and closes
// the socket; Asio only waits on it (released, never closed, by the loop).
struct Watch {
  Watch(asio::io_context& io, curl_socket_t s) : fd(s), sd(io) {}
  curl_socket_t fd;
  asio::posix::stream_descriptor sd;
  int what = 0;          // CURL_POLL_IN / OUT / INOUT
  bool reading = false;  // a wait for readability is pending
  bool writing = false;
  bool gone = false;     // curl no longer wants it watched
};

class Loop;
thread_local Loop* tls_current_loop = nullptr;  // the loop this thread runs, if any

// One event loop with its multi handle.
class Loop {
 public:
  Loop(const TransportOptions& options, unsigned index, std::shared_ptr<std::atomic<uint64_t>> connections)
      : index_(index), connections_(std::move(connections)), work_(asio::make_work_guard(io_)), timer_(io_), ticker_(io_) {
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.max_total_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options.max_idle_connections);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS, 1000L);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Loop::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Loop::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    thread_ = std::thread([this] {
      tls_current_loop = this;
      io_.run();
      tls_current_loop = nullptr;
    });
  }

  ~Loop() {
    stop();
    for (CURL* e : spare_) curl_easy_cleanup(e);
    curl_multi_cleanup(multi_);  // closes cached connections through on_close (nothing watched now)
  }

  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Cancels what is in flight (each observer gets on_complete(Cancelled)) and stops the
  // loop; with `join`, waits for its thread (every caller does, however many). Transfers
  // posted before run first; later ones complete at once on the caller's thread. From the
  // loop's own thread it only asks: the thread ends once its handler returns.
  void stop(bool join = true) {
    {
      std::lock_guard lock(start_mu_);
      if (!stopped_) {
        stopped_ = true;
        asio::post(io_, [this] { shut_down(); });
      }
    }
    if (!join || tls_current_loop == this) return;
    std::lock_guard lock(join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  void start(std::unique_ptr<Transfer> t) {
    {
      std::lock_guard lock(start_mu_);
      if (!stopped_) {
        asio::post(io_, [this, t = std::move(t)]() mutable { add(std::move(t)); });
        return;
      }
    }
    finish_unstarted(std::move(t));
  }
  void cancel(TransferId id) {
    asio::post(io_, [this, id] { finish(id, fail(Errc::Cancelled, "the request was cancelled")); });
  }
  void resume(TransferId id) {
    asio::post(io_, [this, id] {
      auto it = transfers_.find(id);
      if (it == transfers_.end() || !it->second->paused) return;
      it->second->paused = false;
      it->second->last_data = Clock::now();
      curl_easy_pause(it->second->easy, CURLPAUSE_CONT);  // may deliver held data at once
      process_messages();
    });
  }
  unsigned index() const noexcept { return index_; }
  asio::io_context& io() noexcept { return io_; }

 private:
  // --- curl's callbacks (on this loop's thread) ---

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) noexcept {
    auto* self = static_cast<Loop*>(userp);
    try {
      if (what == CURL_POLL_REMOVE) {
        self->park(fd);
      } else {
        self->watch(fd, what);
      }
    } catch (...) {
      log(LogLevel::Error, "transport: cannot watch a socket");
    }
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) noexcept {
    auto* self = static_cast<Loop*>(userp);
    try {
      self->timer_.cancel();
      if (timeout_ms < 0 || self->stopping_) return 0;
      if (timeout_ms == 0) {  // at once: no timer (each re-arm is a timerfd_settime call)
        asio::post(self->io_, [self] {
          if (self->stopping_) return;
          int running = 0;
          curl_multi_socket_action(self->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
          self->process_messages();
        });
        return 0;
      }
      self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
      self->timer_.async_wait([self](const boost::system::error_code& ec) {
        if (ec || self->stopping_) return;
        int running = 0;
        curl_multi_socket_action(self->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
        self->process_messages();
      });
    } catch (...) {
      return -1;
    }
    return 0;
  }

  // curl opened a socket. A watch still held for its number is stale (that socket closed
  // without a word to this loop): drop it, so the new socket gets a registration of its own
  // instead of waiting on one epoll no longer has.
  static int on_open(void* clientp, curl_socket_t fd, curlsocktype) noexcept {
    auto* self = static_cast<Loop*>(clientp);
    try {
      self->unwatch(fd);
    } catch (...) {
    }
    return CURL_SOCKOPT_OK;
  }

  // curl closes a socket: stop watching it first, so the descriptor leaves epoll before
  // its number can be reused.
  static int on_close(void* clientp, curl_socket_t fd) noexcept {
    auto* self = static_cast<Loop*>(clientp);
    try {
      self->unwatch(fd);
    } catch (...) {
    }
    return ::close(fd);
  }

  static size_t on_header(char* data, size_t size, size_t n, void* user) noexcept {
    auto* t = static_cast<Transfer*>(user);
    try {
      std::string_view line(data, size * n);
      if (line.rfind("HTTP/", 0) == 0) {  // a new status line (after 1xx or redirects)
        t->response_headers.clear();
        const std::size_t sp = line.find(' ');
        if (sp != std::string_view::npos) t->status = std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
        return size * n;
      }
      const std::size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
        t->response_headers.emplace_back(std::move(name), std::string(value));
      }
      return size * n;
    } catch (...) {
      return 0;
    }
  }

  static size_t on_write(char* data, size_t size, size_t n, void* user) noexcept {
    auto* t = static_cast<Transfer*>(user);
    try {
      if (t->paused) return CURL_WRITEFUNC_PAUSE;  // curl keeps the chunk until resume
      t->got_first_byte = true;
      t->last_data = Clock::now();
      if (!t->headers_sent) {
        t->headers_sent = true;
        t->observer->on_headers(t->status, t->response_headers);
      }
      if (!t->observer->on_data(std::string_view(data, size * n))) t->paused = true;
      return size * n;  // the chunk is taken; a pause stops the next ones
    } catch (...) {
      t->abort_error = Error{Errc::Internal, "transfer observer failed", 0, t->request.provider};
      return 0;
    }
  }

  // --- sockets ---

  void watch(curl_socket_t fd, int what) {
    auto it = watches_.find(fd);
    bool fresh = false;
    if (it == watches_.end()) {
      auto w = std::make_shared<Watch>(io_, fd);
      boost::system::error_code ec;
      w->sd.assign(fd, ec);
      if (ec) {
        log(LogLevel::Error, fmt::format("transport: cannot watch socket {}: {}", fd, ec.message()));
        return;
      }
      it = watches_.emplace(fd, std::move(w)).first;
      fresh = true;
    }
    it->second->what = what;
    arm(it->second, /*check_now=*/!fresh);
  }

  // curl no longer needs `fd` watched, but keeps the connection for reuse: the socket
  // stays registered with epoll (registering and removing it per request cost two
  // epoll_ctl calls each time); waits still pending end without a word to curl.
  void park(curl_socket_t fd) {
    auto it = watches_.find(fd);
    if (it != watches_.end()) it->second->what = 0;
  }

  void unwatch(curl_socket_t fd) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) return;
    std::shared_ptr<Watch> w = std::move(it->second);
    watches_.erase(it);
    w->gone = true;
    w->sd.release();  // leaves epoll; pending waits end with operation_aborted
  }

  // Waits for what curl wants of `w`. Asio's reactor is edge-triggered and a wait does not
  // look at readiness that arrived while none was pending, so with `check_now` a socket
  // that is ready now is handled now: curl sees level-triggered readiness, as its socket
  // interface expects. A socket just registered needs no check: registering it reports
  // its readiness as an edge.
  void arm(const std::shared_ptr<Watch>& w, bool check_now) {
    if (w->gone || stopping_) return;
    if ((w->what & CURL_POLL_IN) && !w->reading) {
      w->reading = true;
      wait(w, asio::posix::stream_descriptor::wait_read, POLLIN, check_now);
    }
    if ((w->what & CURL_POLL_OUT) && !w->writing) {
      w->writing = true;
      wait(w, asio::posix::stream_descriptor::wait_write, POLLOUT, check_now);
    }
  }

  void wait(const std::shared_ptr<Watch>& w, asio::posix::stream_descriptor::wait_type type, short events,
            bool check_now) {
    pollfd p{w->fd, events, 0};
    if (check_now && ::poll(&p, 1, 0) > 0) {
      asio::post(io_, [this, w, type] { ready(w, type, {}); });
    } else {
      w->sd.async_wait(type, [this, w, type](const boost::system::error_code& ec) { ready(w, type, ec); });
    }
  }

  void ready(const std::shared_ptr<Watch>& w, asio::posix::stream_descriptor::wait_type type,
             const boost::system::error_code& ec) {
    const bool read = type == asio::posix::stream_descriptor::wait_read;
    (read ? w->reading : w->writing) = false;
    if (ec == asio::error::operation_aborted || w->gone || stopping_) return;
    if (!(w->what & (read ? CURL_POLL_IN : CURL_POLL_OUT))) return;  // parked, or no longer wanted this way
    int mask = read ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
    if (ec) mask |= CURL_CSELECT_ERR;
    int running = 0;
    curl_multi_socket_action(multi_, w->fd, mask, &running);
    process_messages();
    arm(w, /*check_now=*/true);  // still wanted (curl may have changed or removed the watch meanwhile)
  }

  // --- transfers ---

  void add(std::unique_ptr<Transfer> t) {
    if (stopping_) {
      finish_unstarted(std::move(t));
      return;
    }
    // Whatever checked them before, no header that would split into two lines is sent.
    // A client's header was checked where it was collected (400); one that still fails here
    // came from the router's side (a provider key or configured value with a line break).
    for (const auto& [k, v] : t->request.headers) {
      if (auto problem = header_problem(k, v)) {
        Error e{Errc::Upstream, fmt::format("provider '{}': request not sent: {}", t->request.provider, *problem), 502,
                t->request.provider};
        refuse_unstarted(std::move(t), std::move(e));
        return;
      }
    }
    // A handle a finished transfer left (reset to defaults) keeps its buffers: no
    // allocation of a handle and its buffers per request.
    CURL* e = nullptr;
    if (spare_.empty()) {
      e = curl_easy_init();
    } else {
      e = spare_.back();
      spare_.pop_back();
    }
    t->easy = e;
    t->started = t->last_data = Clock::now();
    curl_easy_setopt(e, CURLOPT_URL, t->request.url.c_str());
    if (t->request.method == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);  // a plain GET: no body, no content-length
    } else {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->request.method.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request.body.data());  // borrowed: Transfer owns it
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->request.body.size()));
    }
    for (const auto& [k, v] : t->request.headers) t->headers = curl_slist_append(t->headers, (k + ": " + v).c_str());
    t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Loop::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Loop::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Loop::on_close);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, &Loop::on_open);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, this);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);  // h2 only over TLS
    // Waiting for a connection that may multiplex only pays over TLS (h2); on plain HTTP/1.1
    // it holds every concurrent request until the first one's headers arrive.
    if (t->request.url.rfind("https://", 0) == 0) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(t->request.connect_timeout.count()));
    if (t->request.total_timeout) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t->request.total_timeout->count()));
    const TransferId id = t->id;
    transfers_.emplace(id, std::move(t));
    if (curl_multi_add_handle(multi_, e) != CURLM_OK) {
      finish(id, fail(Errc::Internal, "the transport could not start the request"));
      return;
    }
    if (!ticking_) tick();
  }

  // A transfer that never reached curl (the loop is stopping).
  static void finish_unstarted(std::unique_ptr<Transfer> t) {
    refuse_unstarted(std::move(t), Error{Errc::Cancelled, "the transport is shutting down", 0, {}});
  }
  static void refuse_unstarted(std::unique_ptr<Transfer> t, Error e) {
    try {
      t->observer->on_complete(fail(std::move(e)));
    } catch (...) {
      log(LogLevel::Error, "transfer observer threw from on_complete");
    }
  }

  // Removes a transfer and tells its observer how it ended.
  void finish(TransferId id, Result<void> result) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    long connects = 0;
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
    connections_->fetch_add(static_cast<uint64_t>(connects));
    curl_multi_remove_handle(multi_, t->easy);
    if (spare_.size() < kSpareHandles) {
      curl_easy_reset(t->easy);
      spare_.push_back(t->easy);
    } else {
      curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    try {
      if (result && !t->headers_sent) t->observer->on_headers(t->status, t->response_headers);
      t->observer->on_complete(std::move(result));
    } catch (...) {
      log(LogLevel::Error, "transfer observer threw from on_complete");
    }
  }

  // Finishes the transfers curl reports done.
  void process_messages() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      const CURLcode code = msg->data.result;
      if (t->abort_error) {
        finish(t->id, fail(*t->abort_error));
      } else if (code != CURLE_OK) {
        finish(t->id, fail(curl_error(*t, code)));
      } else {
        finish(t->id, {});
      }
    }
  }

  Error curl_error(const Transfer& t, CURLcode code) const {
    if (code == CURLE_OPERATION_TIMEDOUT) {
      // A connection that was made did not time out connecting, whatever else is missing.
      curl_off_t connected_us = 0;
      curl_easy_getinfo(t.easy, CURLINFO_CONNECT_TIME_T, &connected_us);
      const bool connect = connected_us == 0 && !t.got_first_byte && t.status == 0 &&
                           Clock::now() - t.started >= t.request.connect_timeout &&
                           (!t.request.total_timeout || t.request.connect_timeout < *t.request.total_timeout);
      return Error{Errc::Timeout,
                   fmt::format("provider '{}': {} timeout after {} ms", t.request.provider, connect ? "connect" : "total",
                               connect ? t.request.connect_timeout.count()
                                       : t.request.total_timeout.value_or(std::chrono::milliseconds(0)).count()),
                   504, t.request.provider};
    }
    const std::string detail = t.error[0] ? std::string(t.error) : std::string(curl_easy_strerror(code));
    Error e{Errc::Upstream, fmt::format("provider '{}': {}", t.request.provider, detail), 502,
            t.request.provider};
    e.transport = true;
    return e;
  }

  // First-byte and idle deadlines, checked every tick while transfers are open.
  void tick() {
    ticking_ = true;
    ticker_.expires_after(kDeadlineTick);
    ticker_.async_wait([this](const boost::system::error_code& ec) {
      ticking_ = false;
      if (ec || stopping_) return;
      check_deadlines();
      if (!transfers_.empty()) tick();
    });
  }

  void check_deadlines() {
    const auto now = Clock::now();
    std::vector<std::pair<TransferId, Error>> expired;
    for (auto& [id, t] : transfers_) {
      if (t->paused) continue;  // our consumer is slow, not the upstream
      if (!t->got_first_byte && now - t->started >= t->request.first_byte_timeout) {
        expired.emplace_back(id, Error{Errc::Timeout,
                                       fmt::format("provider '{}': no response within the first-byte timeout of {} ms",
                                                   t->request.provider, t->request.first_byte_timeout.count()),
                                       504, t->request.provider});
      } else if (t->got_first_byte && now - t->last_data >= t->request.idle_timeout) {
        expired.emplace_back(id, Error{Errc::Timeout,
                                       fmt::format("provider '{}': stream idle for longer than {} ms",
                                                   t->request.provider, t->request.idle_timeout.count()),
                                       504, t->request.provider});
      }
    }
    for (auto& [id, e] : expired) finish(id, fail(std::move(e)));
  }

  void shut_down() {
    while (!transfers_.empty()) finish(transfers_.begin()->first, fail(Errc::Cancelled, "the transport is shutting down"));
    stopping_ = true;
    timer_.cancel();
    ticker_.cancel();
    for (auto& [fd, w] : watches_) {
      w->gone = true;
      w->sd.release();
    }
    watches_.clear();
    // The loop runs on until nothing is left: handlers posted meanwhile (a transfer an
    // observer started just now) still run, and find the loop stopping.
    work_.reset();
  }

  const unsigned index_;
  std::shared_ptr<std::atomic<uint64_t>> connections_;  // the transport's, shared: a loop may outlive it
  asio::io_context io_{1};  // one thread runs it: Asio may skip its internal locking hints
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer timer_;   // curl's timeout
  asio::steady_timer ticker_;  // deadline checks
  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::mutex start_mu_;
  bool stopped_ = false;  // guarded by start_mu_: nothing more is posted
  std::mutex join_mu_;
  // The loop's own state: touched only on its thread.
  std::map<TransferId, std::unique_ptr<Transfer>> transfers_;
  // Easy handles of finished transfers, reset, for the next ones (at most kSpareHandles).
  static constexpr std::size_t kSpareHandles = 16;
  std::vector<CURL*> spare_;
  std::unordered_map<curl_socket_t, std::shared_ptr<Watch>> watches_;
  bool ticking_ = false;
  bool stopping_ = false;
};

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(const TransportOptions& options) {
    static CurlGlobal global;
    const unsigned n = std::clamp(options.loops, 1u, kMaxLoops);
    loops_.reserve(n);
    for (unsigned i = 0; i < n; ++i) loops_.push_back(std::make_unique<Loop>(options, i, connections_));
  }

  ~CurlTransport() override {
    // The last reference dropped by an observer on one of our loops: that thread cannot
    // join itself, so a thread of its own stops the loops (this one once its handler has
    // returned) and frees them.
    if (Loop* own = tls_current_loop) {
      for (auto& loop : loops_) {
        if (loop.get() != own) continue;
        log(LogLevel::Debug, "transport: released on its own loop; stopping it from another thread");
        std::thread([loops = std::move(loops_)]() mutable { loops.clear(); }).detach();
        return;
      }
    }
    shutdown();
  }

  // Each loop cancels what it has in flight and joins its thread (a loop whose own thread
  // asks is only told to stop). The shutdown hooks run first.
  void shutdown() override {
    std::vector<std::weak_ptr<std::function<void()>>> hooks;
    {
      std::lock_guard lock(hooks_mu_);
      hooks.swap(hooks_);
    }
    for (auto& h : hooks) {
      if (auto hook = h.lock()) (*hook)();
    }
    for (auto& loop : loops_) loop->stop();
  }

  void add_shutdown_hook(std::weak_ptr<std::function<void()>> hook) {
    std::lock_guard lock(hooks_mu_);
    std::erase_if(hooks_, [](const auto& h) { return h.expired(); });
    hooks_.push_back(std::move(hook));
  }

  TransferId start(HttpRequest request, std::shared_ptr<TransferObserver> observer) override {
    auto t = std::make_unique<Transfer>();
    Loop& loop = pick();
    t->id = (next_id_.fetch_add(1, std::memory_order_relaxed) + 1) << kLoopBits | loop.index();
    t->request = std::move(request);
    t->observer = std::move(observer);
    const TransferId id = t->id;
    loop.start(std::move(t));
    return id;
  }
  void cancel(TransferId id) override {
    if (Loop* l = loop_of(id)) l->cancel(id);
  }
  void resume(TransferId id) override {
    if (Loop* l = loop_of(id)) l->resume(id);
  }
  uint64_t connections_opened() const override { return connections_->load(); }
  std::vector<asio::io_context*> io_contexts() {
    std::vector<asio::io_context*> out;
    for (auto& loop : loops_) out.push_back(&loop->io());
    return out;
  }

 private:
  // The calling thread's own loop when it runs one of ours (a transfer started from a
  // loop stays there); otherwise the next in turn.
  Loop& pick() {
    if (Loop* own = tls_current_loop) {
      if (own->index() < loops_.size() && loops_[own->index()].get() == own) return *own;
    }
    if (loops_.size() == 1) return *loops_.front();
    return *loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
  }
  Loop* loop_of(TransferId id) const {
    const std::size_t i = id & (kMaxLoops - 1);
    return i < loops_.size() ? loops_[i].get() : nullptr;
  }

  std::vector<std::unique_ptr<Loop>> loops_;
  std::mutex hooks_mu_;
  std::vector<std::weak_ptr<std::function<void()>>> hooks_;  // guarded by hooks_mu_
  std::atomic<TransferId> next_id_{0};
  std::atomic<std::size_t> next_loop_{0};
  std::shared_ptr<std::atomic<uint64_t>> connections_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace

bool in_transport_loop() noexcept { return tls_current_loop != nullptr; }

std::vector<boost::asio::io_context*> detail::transport_loops(Transport& transport) {
  if (auto* curl = dynamic_cast<CurlTransport*>(&transport)) return curl->io_contexts();
  return {};
}

void detail::on_transport_shutdown(Transport& transport,
                                   std::weak_ptr<std::function<void()>> hook) {
  if (auto* curl = dynamic_cast<CurlTransport*>(&transport))
    curl->add_shutdown_hook(std::move(hook));
}

std::unique_ptr<Transport> make_curl_transport(const TransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

std::optional<std::string> header_problem(std::string_view name, std::string_view value) {
  auto token = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  };
  if (name.empty() || !std::all_of(name.begin(), name.end(), token)) {
    std::string shown;  // control bytes as \xNN
    for (char c : name.substr(0, 64)) {
      if (std::isprint(static_cast<unsigned char>(c))) {
        shown += c;
      } else {
        shown += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
      }
    }
    return fmt::format("header name '{}' is not an HTTP token", shown);
  }
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return fmt::format("header '{}' has CR, LF or NUL in its value", name);
  }
  return std::nullopt;
}

}  // namespace llmrouter
