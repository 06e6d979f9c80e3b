// SPDX-License-Identifier: MIT
#include "providers_client.h"

#include <memory>
#include <utility>

#include "http_util.h"

namespace llmrouter::console {
namespace {

constexpr std::size_t kMaxBody = 4u << 20;

// One poll: collects the body, then parses it and reports once.
class ProvidersTransfer final : public TransferObserver {
 public:
  explicit ProvidersTransfer(std::function<void(ProvidersUpdate)> done) : done_(std::move(done)) {}

  void on_headers(int status, const std::vector<std::pair<std::string, std::string>>&) override {
    status_ = status;
  }
  bool on_data(std::string_view bytes) override {
    if (body_.size() < kMaxBody) body_.append(bytes.substr(0, kMaxBody - body_.size()));
    return true;
  }
  void on_complete(Result<void> result) override {
    ProvidersUpdate u;
    if (!result) {
      u.error = result.error().code == Errc::Cancelled
                    ? std::string("cancelled")
                    : transport_error_text(result.error().message);
    } else if (status_ < 200 || status_ >= 300) {
      u.error = http_error_text(status_, body_);
    } else if (auto rows = parse_providers(body_)) {
      u.rows = std::move(*rows);
    } else {
      u.error = rows.error().message;
    }
    done_(std::move(u));
  }

 private:
  std::function<void(ProvidersUpdate)> done_;
  int status_ = 0;
  std::string body_;
};

}  // namespace

ProvidersClient::ProvidersClient(Transport& transport, ProvidersOptions options, ProvidersSink sink)
    : transport_(transport), options_(std::move(options)), sink_(std::move(sink)) {}

ProvidersClient::~ProvidersClient() {
  stop();
}

void ProvidersClient::start() {
  thread_ = std::thread([this] { run(); });
}

void ProvidersClient::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    if (transfer_ != 0 && !done_) transport_.cancel(transfer_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProvidersClient::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    HttpRequest req;
    req.method = "GET";
    req.url = join_url(options_.base_url, "/v1/providers");
    req.headers = auth_headers(options_.api_key);
    req.provider = "router";
    req.connect_timeout = options_.timeout;
    req.first_byte_timeout = options_.timeout;
    req.idle_timeout = options_.timeout;
    req.total_timeout = options_.timeout;
    done_ = false;
    std::optional<ProvidersUpdate> result;
    auto observer = std::make_shared<ProvidersTransfer>([this, &result](ProvidersUpdate u) {
      std::lock_guard<std::mutex> l(mu_);
      result = std::move(u);
      done_ = true;
      cv_.notify_all();
    });
    // Started under the lock, so the completion (which takes it) cannot come before the id.
    transfer_ = transport_.start(std::move(req), std::move(observer));
    cv_.wait(lock, [&] { return done_; });  // a stop cancels the transfer, which completes it
    transfer_ = 0;
    if (stopping_) break;
    ProvidersUpdate u = std::move(*result);
    lock.unlock();
    sink_(std::move(u));
    lock.lock();
    cv_.wait_for(lock, options_.interval, [&] { return stopping_; });
  }
}

}  // namespace llmrouter::console
