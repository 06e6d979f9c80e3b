// SPDX-License-Identifier: MIT
// The OTLP/HTTP exporter thread. Batches leave when `batch_size` spans are queued or the
// oldest has waited `export_interval`; each POST is bounded by `export_timeout` and is not
// retried (a failed batch is dropped and counted), so a dead or slow collector costs at
// most one thread waiting on it while request threads keep appending to (or overflowing)
// the bounded queue.
#include "telemetry/exporter.h"

#include <algorithm>

#include <fmt/format.h>

#include "llmrouter/log.h"

namespace llmrouter {
namespace detail::telemetry {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Collects the answer of one export request.
class Reply final : public TransferObserver {
 public:
  void on_headers(int status, const std::vector<std::pair<std::string, std::string>>&) override {
    std::lock_guard lock(mu_);
    status_ = status;
  }
  bool on_data(std::string_view bytes) override {
    std::lock_guard lock(mu_);
    if (body_.size() < 512) body_.append(bytes.substr(0, 512 - body_.size()));
    return true;
  }
  void on_complete(Result<void> result) override {
    std::lock_guard lock(mu_);
    result_ = std::move(result);
    done_ = true;
    cv_.notify_all();
  }
  bool wait(milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }
  // "" on a 2xx, otherwise why the export failed.
  std::string failure() {
    std::lock_guard lock(mu_);
    if (!done_) return "no answer";
    if (!result_) return result_.error().message;
    if (status_ < 200 || status_ >= 300) return fmt::format("the collector answered {}: {}", status_, body_);
    return {};
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int status_ = 0;          // guarded by mu_
  std::string body_;        // guarded by mu_
  Result<void> result_;     // guarded by mu_
  bool done_ = false;       // guarded by mu_
};

}  // namespace

Exporter::Exporter(TelemetryConfig config, std::shared_ptr<Transport> transport, TelemetryOptions options)
    : config_(std::move(config)),
      transport_(std::move(transport)),
      options_(options),
      resource_{config_.service_name},
      traces_url_(config_.otlp_endpoint + "/v1/traces"),
      metrics_url_(config_.otlp_endpoint + "/v1/metrics"),
      metrics_(unix_nanos()) {
  thread_ = std::thread([this] { run(); });
}

Exporter::~Exporter() { shutdown(); }

void Exporter::submit(std::vector<SpanRecord>&& spans) {
  if (spans.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    // A trace is queued whole or not at all.
    if (stopping_ || queue_.size() + spans.size() > options_.max_queued_spans) {
      stats_.spans_dropped += spans.size();
      return;
    }
    for (SpanRecord& s : spans) queue_.push_back(std::move(s));
    wake = queue_.size() >= options_.batch_size;
  }
  if (wake) cv_.notify_one();
}

void Exporter::record(const RequestPoint& point) {
  std::lock_guard lock(metrics_mu_);
  metrics_.record(point);
  metrics_dirty_ = true;
}

bool Exporter::flush(milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (stopped_) return queue_.empty();
  const uint64_t target = ++flush_requests_;
  cv_.notify_one();
  return idle_cv_.wait_for(lock, timeout, [&] { return flushes_done_ >= target || stopped_; }) &&
         flushes_done_ >= target;
}

void Exporter::shutdown() {
  std::lock_guard serial(shutdown_mu_);
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = Clock::now() + options_.shutdown_timeout;
    }
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

TelemetryStats Exporter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

bool Exporter::post(const std::string& url, std::string body, milliseconds timeout) {
  timeout = std::max(timeout, milliseconds(50));
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"content-type", "application/json"}};
  req.body = std::move(body);
  req.provider = "otlp";
  req.connect_timeout = std::min(timeout, milliseconds(3'000));
  req.first_byte_timeout = timeout;
  req.idle_timeout = timeout;
  req.total_timeout = timeout;
  auto reply = std::make_shared<Reply>();
  const TransferId id = transport_->start(std::move(req), reply);
  // The transport enforces the total timeout; the extra wait only guards against a
  // transport that never completes.
  if (!reply->wait(timeout + milliseconds(1'000))) {
    transport_->cancel(id);
    reply->wait(milliseconds(1'000));
  }
  const std::string why = reply->failure();
  if (!why.empty()) {
    // One warning per failing stretch, one note when exports work again.
    if (!failing_) log(LogLevel::Warn, fmt::format("telemetry: export to {} failed: {}", url, why));
    failing_ = true;
    return false;
  }
  if (failing_) log(LogLevel::Info, fmt::format("telemetry: exports to {} work again", config_.otlp_endpoint));
  failing_ = false;
  return true;
}

void Exporter::export_metrics(milliseconds timeout) {
  std::string body;
  {
    std::lock_guard lock(metrics_mu_);
    if (metrics_.empty() || !metrics_dirty_) return;
    body = metrics_.json(resource_, unix_nanos());
    metrics_dirty_ = false;
  }
  const bool ok = post(metrics_url_, std::move(body), timeout);
  std::lock_guard lock(mu_);
  if (ok) {
    ++stats_.metric_exports;
  } else {
    ++stats_.exports_failed;
  }
}

void Exporter::run() {
  Clock::time_point next_export = Clock::now() + options_.export_interval;
  Clock::time_point next_metrics = Clock::now() + options_.metrics_interval;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_until(lock, std::min(next_export, next_metrics), [&] {
      return stopping_ || flush_requests_ > flushes_done_ || queue_.size() >= options_.batch_size;
    });
    const uint64_t flush_target = flush_requests_;
    const bool flush = flush_target > flushes_done_;
    const bool stopping = stopping_;
    const bool timer = Clock::now() >= next_export;
    while (!queue_.empty() && (flush || stopping || timer || queue_.size() >= options_.batch_size)) {
      milliseconds timeout = options_.export_timeout;
      if (stopping) {
        const auto left = std::chrono::duration_cast<milliseconds>(stop_deadline_ - Clock::now());
        if (left <= milliseconds(0)) {  // out of time: drop the rest
          stats_.spans_dropped += queue_.size();
          queue_.clear();
          break;
        }
        timeout = std::min(timeout, left);
      }
      const std::size_t n = std::min(queue_.size(), options_.batch_size);
      std::vector<SpanRecord> batch(std::make_move_iterator(queue_.begin()),
                                    std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      lock.unlock();
      const bool ok = post(traces_url_, traces_json(resource_, batch), timeout);
      lock.lock();
      if (ok) {
        stats_.spans_exported += n;
      } else {
        stats_.spans_dropped += n;
        ++stats_.exports_failed;
      }
    }
    if (timer) next_export = Clock::now() + options_.export_interval;
    if (stopping || flush || Clock::now() >= next_metrics) {
      milliseconds timeout = options_.export_timeout;
      if (stopping) {
        // The last metrics get what is left of the shutdown budget, and at least 250 ms.
        const auto left = std::chrono::duration_cast<milliseconds>(stop_deadline_ - Clock::now());
        timeout = std::clamp(left, milliseconds(250), options_.export_timeout);
      }
      lock.unlock();
      export_metrics(timeout);
      lock.lock();
      next_metrics = Clock::now() + options_.metrics_interval;
    }
    if (flush) flushes_done_ = flush_target;
    if (stopping) break;
    idle_cv_.notify_all();
  }
  stopped_ = true;
  idle_cv_.notify_all();
}

}  // namespace detail::telemetry

Result<std::shared_ptr<Telemetry>> Telemetry::create(const TelemetryConfig& config, std::shared_ptr<Transport> transport,
                                                     TelemetryOptions options) {
  const std::string& e = config.otlp_endpoint;
  const bool http = e.starts_with("http://") || e.starts_with("https://");
  if (!http || e.find_first_of(" \t\r\n") != std::string::npos) {
    return fail(Errc::Config, fmt::format("telemetry.otlp_endpoint: expected an http:// or https:// URL, got '{}'", e));
  }
  if (!transport) return fail(Errc::InvalidArgument, "telemetry: no transport");
  options.batch_size = std::max<std::size_t>(options.batch_size, 1);
  options.max_queued_spans = std::max(options.max_queued_spans, options.batch_size);
  TelemetryConfig c = config;
  while (c.otlp_endpoint.size() > 1 && c.otlp_endpoint.back() == '/') c.otlp_endpoint.pop_back();
  return std::shared_ptr<Telemetry>(
      new Telemetry(std::make_unique<detail::telemetry::Exporter>(std::move(c), std::move(transport), options)));
}

Telemetry::Telemetry(std::unique_ptr<detail::telemetry::Exporter> exporter) : exporter_(std::move(exporter)) {}
Telemetry::~Telemetry() { shutdown(); }
bool Telemetry::flush(std::chrono::milliseconds timeout) { return exporter_->flush(timeout); }
void Telemetry::shutdown() { exporter_->shutdown(); }
TelemetryStats Telemetry::stats() const { return exporter_->stats(); }
const TelemetryConfig& Telemetry::config() const noexcept { return exporter_->config(); }

}  // namespace llmrouter
