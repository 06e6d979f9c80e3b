// SPDX-License-Identifier: MIT
// The curl-multi transport: one thread owns the CURLM and every easy handle; other threads
// only push commands and call curl_multi_wakeup (the one curl call documented as safe from
// any thread). Every callback catches everything: nothing may unwind through libcurl.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "llmrouter/log.h"
#include "llmrouter/transport.h"

namespace llmrouter {
namespace {

using Clock = std::chrono::steady_clock;

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

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(const TransportOptions& options) {
    static CurlGlobal global;
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.max_total_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options.max_idle_connections);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS, 1000L);
    thread_ = std::thread([this] { run(); });
  }

  ~CurlTransport() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
    curl_multi_cleanup(multi_);
  }

  TransferId start(HttpRequest request, std::shared_ptr<TransferObserver> observer) override {
    auto t = std::make_unique<Transfer>();
    t->id = next_id_.fetch_add(1) + 1;
    t->request = std::move(request);
    t->observer = std::move(observer);
    const TransferId id = t->id;
    push(Command{Command::Start, id, std::move(t)});
    return id;
  }
  void cancel(TransferId id) override { push(Command{Command::Cancel, id, nullptr}); }
  void resume(TransferId id) override { push(Command{Command::Resume, id, nullptr}); }
  uint64_t connections_opened() const override { return connections_.load(); }

 private:
  struct Command {
    enum Kind { Start, Cancel, Resume } kind;
    TransferId id;
    std::unique_ptr<Transfer> transfer;
  };

  void push(Command c) {
    {
      std::lock_guard lock(mu_);
      commands_.push_back(std::move(c));
    }
    curl_multi_wakeup(multi_);
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

  void add(std::unique_ptr<Transfer> t) {
    CURL* e = curl_easy_init();
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
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &CurlTransport::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlTransport::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
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
    curl_multi_add_handle(multi_, e);
    transfers_.emplace(t->id, std::move(t));
  }

  // Removes a transfer and tells its observer how it ended.
  void finish(TransferId id, Result<void> result) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    long connects = 0;
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
    connections_.fetch_add(static_cast<uint64_t>(connects));
    curl_multi_remove_handle(multi_, t->easy);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    if (result && !t->headers_sent) t->observer->on_headers(t->status, t->response_headers);
    try {
      t->observer->on_complete(std::move(result));
    } catch (...) {
      log(LogLevel::Error, "transfer observer threw from on_complete");
    }
  }

  Error curl_error(const Transfer& t, CURLcode code) const {
    if (code == CURLE_OPERATION_TIMEDOUT) {
      const bool connect = !t.got_first_byte && t.status == 0 &&
                           Clock::now() - t.started >= t.request.connect_timeout &&
                           (!t.request.total_timeout || t.request.connect_timeout < *t.request.total_timeout);
      return Error{Errc::Timeout,
                   fmt::format("provider '{}': {} timeout after {} ms", t.request.provider, connect ? "connect" : "total",
                               connect ? t.request.connect_timeout.count()
                                       : t.request.total_timeout.value_or(std::chrono::milliseconds(0)).count()),
                   504, t.request.provider};
    }
    const std::string detail = t.error[0] ? std::string(t.error) : std::string(curl_easy_strerror(code));
    return Error{Errc::Upstream, fmt::format("provider '{}': {}", t.request.provider, detail), 502, t.request.provider};
  }

  // First-byte and idle deadlines, which curl has no option for.
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

  void run() {
    for (;;) {
      std::deque<Command> commands;
      bool stopping = false;
      {
        std::lock_guard lock(mu_);
        commands.swap(commands_);
        stopping = stopping_;
      }
      for (Command& c : commands) {
        switch (c.kind) {
          case Command::Start: add(std::move(c.transfer)); break;
          case Command::Cancel:
            finish(c.id, fail(Errc::Cancelled, "the request was cancelled"));
            break;
          case Command::Resume:
            if (auto it = transfers_.find(c.id); it != transfers_.end() && it->second->paused) {
              it->second->paused = false;
              it->second->last_data = Clock::now();
              curl_easy_pause(it->second->easy, CURLPAUSE_CONT);
            }
            break;
        }
      }
      if (stopping) {
        while (!transfers_.empty()) finish(transfers_.begin()->first, fail(Errc::Cancelled, "the transport is shutting down"));
        return;
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
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
      check_deadlines();
      int fds = 0;
      curl_multi_poll(multi_, nullptr, 0, transfers_.empty() ? 1000 : 50, &fds);
    }
  }

  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::deque<Command> commands_;  // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  std::atomic<TransferId> next_id_{0};
  std::atomic<uint64_t> connections_{0};
  std::map<TransferId, std::unique_ptr<Transfer>> transfers_;  // transport thread only
};

}  // namespace

std::unique_ptr<Transport> make_curl_transport(const TransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace llmrouter
