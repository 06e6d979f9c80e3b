// SPDX-License-Identifier: MIT
#include "feed_client.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "http_util.h"

namespace llmrouter::console {

struct FeedClient::Shared {
  Shared(Transport& t, FeedOptions o, FeedListener& l) : transport(t), options(std::move(o)), listener(l) {}
  Transport& transport;
  const FeedOptions options;
  FeedListener& listener;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // guarded by mu
  std::thread thread;
  // Serialises listener calls between the feed thread (states) and the transport thread
  // (events, the Live state).
  std::mutex listener_mu;
  bool was_live = false;  // guarded by listener_mu
};

namespace {

constexpr std::size_t kMaxErrorBody = 16 * 1024;

// One connection attempt.
class FeedTransfer final : public TransferObserver {
 public:
  FeedTransfer(FeedListener& listener, std::mutex& listener_mu, bool& was_live, std::mutex& mu,
               std::condition_variable& cv, int attempt)
      : listener_(listener), listener_mu_(listener_mu), was_live_(was_live), mu_(mu), cv_(cv), attempt_(attempt) {}

  void on_headers(int status, const std::vector<std::pair<std::string, std::string>>& headers) override {
    status_ = status;
    const std::string type = header_value(headers, "content-type");
    if (status >= 200 && status < 300 && type.find("text/event-stream") != std::string::npos) {
      live_ = true;
      std::lock_guard<std::mutex> lock(listener_mu_);
      was_live_ = true;
      FeedState s;
      s.phase = FeedPhase::Live;
      s.http_status = status;
      s.attempt = attempt_;
      s.was_live = true;
      listener_.on_state(s);
    } else if (status >= 200 && status < 300) {
      not_a_stream_ = "the server answered " + std::to_string(status) + " with '" +
                      (type.empty() ? std::string("no content type") : type) +
                      "', not an event stream: is this an llmrouter server?";
    }
  }

  bool on_data(std::string_view bytes) override {
    if (!live_) {
      if (body_.size() < kMaxErrorBody) body_.append(bytes.substr(0, kMaxErrorBody - body_.size()));
      return true;
    }
    events_.clear();
    if (!parser_.feed(bytes, events_)) {
      parse_failed_ = true;
      return true;
    }
    if (!events_.empty()) {
      std::lock_guard<std::mutex> lock(listener_mu_);
      for (const SseEvent& e : events_) listener_.on_event(e);
    }
    return true;
  }

  void on_complete(Result<void> result) override {
    std::lock_guard<std::mutex> lock(mu_);
    result_ = std::move(result);
    done_ = true;
    cv_.notify_all();
  }

  // Read by the feed thread after `done()` (the mutex orders the accesses).
  bool done() const { return done_; }
  bool live() const { return live_; }
  int status() const { return status_; }
  const std::string& body() const { return body_; }
  const std::string& not_a_stream() const { return not_a_stream_; }
  bool parse_failed() const { return parse_failed_; }
  const Result<void>& result() const { return result_; }

 private:
  FeedListener& listener_;
  std::mutex& listener_mu_;
  bool& was_live_;
  std::mutex& mu_;
  std::condition_variable& cv_;
  const int attempt_;
  int status_ = 0;
  bool live_ = false;
  bool parse_failed_ = false;
  std::string body_;
  std::string not_a_stream_;
  SseParser parser_;
  std::vector<SseEvent> events_;
  Result<void> result_;
  bool done_ = false;  // guarded by mu_
};

}  // namespace

FeedClient::FeedClient(Transport& transport, FeedOptions options, FeedListener& listener)
    : shared_(std::make_shared<Shared>(transport, std::move(options), listener)) {}

FeedClient::~FeedClient() { stop(); }

void FeedClient::start() {
  if (shared_->thread.joinable()) return;
  shared_->thread = std::thread([this] { run(); });
}

void FeedClient::stop() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stopping = true;
  }
  shared_->cv.notify_all();
  if (shared_->thread.joinable()) shared_->thread.join();
}

void FeedClient::run() {
  Shared& sh = *shared_;
  const FeedOptions& o = sh.options;
  std::chrono::milliseconds backoff = o.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    {
      std::lock_guard<std::mutex> lock(sh.listener_mu);
      FeedState s;
      s.phase = FeedPhase::Connecting;
      s.attempt = attempt;
      s.was_live = sh.was_live;
      sh.listener.on_state(s);
    }
    HttpRequest req;
    req.method = "GET";
    req.url = join_url(o.base_url, "/dashboard/events");
    req.headers = auth_headers(o.api_key);
    req.headers.emplace_back("Accept", "text/event-stream");
    req.provider = "router";
    req.connect_timeout = o.connect_timeout;
    req.first_byte_timeout = std::max(o.connect_timeout, std::chrono::milliseconds(10'000));
    req.idle_timeout = o.idle_timeout;
    auto transfer = std::make_shared<FeedTransfer>(sh.listener, sh.listener_mu, sh.was_live, sh.mu, sh.cv, attempt);
    const TransferId id = sh.transport.start(std::move(req), transfer);
    {
      std::unique_lock<std::mutex> lock(sh.mu);
      sh.cv.wait(lock, [&] { return transfer->done() || sh.stopping; });
      if (sh.stopping) {
        if (!transfer->done()) {
          lock.unlock();
          sh.transport.cancel(id);
          lock.lock();
          sh.cv.wait(lock, [&] { return transfer->done(); });
        }
        return;
      }
    }

    FeedState s;
    s.attempt = attempt;
    if (transfer->live()) {
      backoff = o.initial_backoff;
      s.phase = FeedPhase::Disconnected;
      if (transfer->parse_failed()) {
        s.message = "the event stream had a line over 64 MiB";
      } else if (transfer->result()) {
        s.message = "the server closed the feed";
      } else {
        s.message = transport_error_text(transfer->result().error().message);
      }
    } else if (transfer->status() != 0) {
      s.phase = FeedPhase::Refused;
      s.http_status = transfer->status();
      if (!transfer->not_a_stream().empty()) {
        s.message = transfer->not_a_stream();
      } else {
        s.message = http_error_text(transfer->status(), transfer->body());
        if (transfer->status() == 404) s.message += " (is [server] dashboard = true?)";
      }
    } else {
      s.phase = FeedPhase::Unreachable;
      s.message = transfer->result() ? "no answer" : transport_error_text(transfer->result().error().message);
    }
    s.retry_in = backoff;
    {
      std::lock_guard<std::mutex> lock(sh.listener_mu);
      s.was_live = sh.was_live;
      sh.listener.on_state(s);
    }
    std::unique_lock<std::mutex> lock(sh.mu);
    if (sh.cv.wait_for(lock, backoff, [&] { return sh.stopping; })) return;
    backoff = std::min(backoff * 2, o.max_backoff);
  }
}

}  // namespace llmrouter::console
