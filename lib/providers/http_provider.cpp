// SPDX-License-Identifier: MIT
// HttpProvider: encodes the canonical request for its format, sends it on the shared
// transport, and turns the reply — streamed or not — into canonical events on the calling
// (request) thread. The transport thread only queues bytes; when the request thread falls
// behind, the transfer is paused, so a slow client holds a bounded amount of memory.
#include "llmrouter/http_provider.h"

#include <strings.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>

#include <fmt/format.h>

#include "json/json.h"
#include "util/strings.h"
#include "llmrouter/formats.h"

namespace llmrouter {
namespace {

constexpr std::size_t kHighWatermark = 1 << 20;  // queued bytes before the transfer pauses
constexpr std::size_t kMaxErrorBody = 64 << 10;

WireFormat wire_of(ProviderFormat f) {
  switch (f) {
    case ProviderFormat::Anthropic: return WireFormat::Anthropic;
    case ProviderFormat::Ollama: return WireFormat::Ollama;
    case ProviderFormat::OpenAI: break;
  }
  return WireFormat::OpenAI;
}

// What the transport thread hands to the request thread.
class Exchange final : public TransferObserver {
 public:
  void on_headers(int status, const std::vector<std::pair<std::string, std::string>>& headers) override {
    std::lock_guard lock(mu_);
    status_ = status;
    for (const auto& [k, v] : headers) {
      if (k == "retry-after") retry_after_ = v;
    }
    cv_.notify_one();
  }
  bool on_data(std::string_view bytes) override {
    std::lock_guard lock(mu_);
    chunks_.emplace_back(bytes);
    queued_ += bytes.size();
    cv_.notify_one();
    paused_ = queued_ >= kHighWatermark;
    return !paused_;
  }
  void on_complete(Result<void> result) override {
    std::lock_guard lock(mu_);
    result_ = std::move(result);
    done_ = true;
    cv_.notify_one();
  }

  // Waits up to 50 ms for news; moves the queued chunks out. Returns true when the transfer
  // had been paused and the queue is now empty (the caller resumes it).
  bool take(std::deque<std::string>& out) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return done_ || !chunks_.empty(); });
    out.swap(chunks_);
    chunks_.clear();
    queued_ = 0;
    const bool resume = paused_;
    paused_ = false;
    return resume;
  }
  bool done() {
    std::lock_guard lock(mu_);
    return done_ && chunks_.empty();
  }
  int status() {
    std::lock_guard lock(mu_);
    return status_;
  }
  std::string retry_after() {
    std::lock_guard lock(mu_);
    return retry_after_;
  }
  Result<void> result() {
    std::lock_guard lock(mu_);
    return result_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;  // guarded by mu_
  std::size_t queued_ = 0;          // guarded by mu_
  bool paused_ = false;             // guarded by mu_
  bool done_ = false;               // guarded by mu_
  int status_ = 0;                  // guarded by mu_
  std::string retry_after_;         // guarded by mu_
  Result<void> result_;             // guarded by mu_
};

class HttpProvider final : public Provider {
 public:
  HttpProvider(ProviderConfig config, std::shared_ptr<Transport> transport, EnvReader getenv)
      : config_(std::move(config)), transport_(std::move(transport)), getenv_(std::move(getenv)) {
    if (!getenv_) {
      getenv_ = [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
      };
    }
  }

  std::string_view name() const override { return config_.name; }

  Result<void> send(const CanonicalRequest& req, const SendOptions& options, EventSink& sink,
                    const CancelFlag& cancel) const override {
    const WireFormat format = wire_of(config_.format);
    const bool raw = options.passthrough_body.has_value();
    HttpRequest http;
    if (raw) {
      http.body = *options.passthrough_body;
    } else {
      auto body = encode_request(format, req);
      if (!body) return fail(body.error());
      http.body = std::move(*body);
    }
    http.url = chat_url(config_);
    http.provider = config_.name;
    http.connect_timeout = config_.connect_timeout;
    http.first_byte_timeout = config_.first_byte_timeout;
    http.idle_timeout = config_.idle_timeout;
    http.total_timeout = config_.timeout;
    http.headers = request_headers(req.stream, options.headers, options);
    auto exchange = std::make_shared<Exchange>();
    const TransferId id = transport_->start(std::move(http), exchange);
    std::unique_ptr<StreamDecoder> decoder = req.stream ? make_stream_decoder(format) : nullptr;
    std::vector<StreamEvent> events;
    std::string whole;  // non-streamed reply, or an error body
    bool delivered = false;
    bool cancelled = false;
    std::optional<Error> stream_error;
    std::deque<std::string> chunks;
    // Relayed bytes are valid UTF-8 even when the upstream's are not (the decoded events
    // are repaired the same way).
    detail::Utf8StreamRepair repair;
    auto relay_raw = [&](std::string_view bytes) {
      bytes = repair.feed(bytes);
      if (bytes.empty()) return;
      delivered = true;
      if (!sink.on_raw(bytes) && !cancelled) {
        cancelled = true;
        transport_->cancel(id);
      }
    };
    auto deliver = [&](std::vector<StreamEvent>& evs) {
      for (const StreamEvent& e : evs) {
        delivered = true;
        if (!sink.on_event(e) && !cancelled) {
          cancelled = true;
          transport_->cancel(id);
        }
      }
      evs.clear();
    };
    while (!exchange->done()) {
      if (cancel.load() && !cancelled) {
        cancelled = true;
        transport_->cancel(id);
      }
      const bool resume = exchange->take(chunks);
      if (chunks.empty() && !cancelled && !sink.on_idle()) {
        cancelled = true;
        transport_->cancel(id);
      }
      const int status = exchange->status();
      const bool ok_status = status >= 200 && status < 300;
      for (std::string& c : chunks) {
        if (!ok_status || !decoder) {
          if (ok_status || whole.size() < kMaxErrorBody) whole += c;
        } else if (!stream_error) {
          if (raw) relay_raw(c);
          if (auto r = decoder->feed(c, events); !r) {
            stream_error = r.error();
            transport_->cancel(id);
          }
          deliver(events);
        }
      }
      chunks.clear();
      if (resume) transport_->resume(id);
    }

    Result<void> result = exchange->result();
    if (cancelled && !result) return fail(Errc::Cancelled, "the request was cancelled");
    const int status = exchange->status();
    if (result && (status < 200 || status >= 300)) {
      Error e = upstream_error(config_.name, status, whole, exchange->retry_after());
      return fail(std::move(e));
    }
    if (stream_error) {
      stream_error->provider = config_.name;
      if (!delivered) return fail(*stream_error);
      events.push_back(StreamError{*stream_error});
      deliver(events);
      return {};
    }
    if (!result) {
      if (!delivered) return fail(result.error());
      events.push_back(StreamError{result.error()});
      deliver(events);
      return {};
    }
    if (raw) {
      if (const std::string_view tail = repair.finish(); !tail.empty() && !cancelled) sink.on_raw(tail);
    }
    if (decoder) {
      if (auto r = decoder->finish(events); !r) {
        Error e = r.error();
        e.provider = config_.name;
        if (!delivered && events.empty()) return fail(std::move(e));
        events.push_back(StreamError{std::move(e)});
      }
      deliver(events);
      return {};
    }
    auto response = decode_response(format, whole);
    if (!response) {
      Error e = response.error();
      e.provider = config_.name;
      e.message = fmt::format("provider '{}': {}", config_.name, e.message);
      return fail(std::move(e));
    }
    if (raw) {
      relay_raw(whole);
      if (const std::string_view tail = repair.finish(); !tail.empty()) sink.on_raw(tail);
    }
    events = events_of(*response);
    deliver(events);
    return {};
  }

 private:
  // Content type, accept, auth, the forwarded client headers of this provider's format,
  // the trace context, then the configured headers (which win).
  Headers request_headers(bool stream, const Headers& client, const SendOptions& trace) const {
    const WireFormat format = wire_of(config_.format);
    Headers h;
    h.emplace_back("content-type", "application/json");
    if (stream) h.emplace_back("accept", format == WireFormat::Ollama ? "application/x-ndjson" : "text/event-stream");
    auto set = [&h](std::string_view name, std::string value) {
      std::erase_if(h, [&](const auto& kv) { return strcasecmp(kv.first.c_str(), std::string(name).c_str()) == 0; });
      h.emplace_back(std::string(name), std::move(value));
    };
    std::optional<std::string> key;
    if (config_.api_key_env) key = getenv_(*config_.api_key_env);
    if (format == WireFormat::Anthropic) {
      h.emplace_back("anthropic-version", "2023-06-01");
      if (key && !key->empty()) h.emplace_back("x-api-key", *key);
    } else if (key && !key->empty()) {
      h.emplace_back("authorization", "Bearer " + *key);
    }
    const std::string_view own_prefix = format == WireFormat::Anthropic ? "anthropic-"
                                        : format == WireFormat::OpenAI  ? "openai-"
                                                                        : "";
    for (const auto& [k, v] : client) {
      if (!own_prefix.empty() && k.starts_with(own_prefix) && is_forwarded_header(k)) set(k, v);
    }
    if (!trace.traceparent.empty()) {
      h.emplace_back("traceparent", trace.traceparent);
      if (!trace.tracestate.empty()) h.emplace_back("tracestate", trace.tracestate);
    }
    for (const auto& [k, v] : config_.headers) set(k, v);
    return h;
  }

  ProviderConfig config_;
  std::shared_ptr<Transport> transport_;
  EnvReader getenv_;
};

}  // namespace

bool is_forwarded_header(std::string_view name) noexcept {
  return name == "anthropic-version" || name == "anthropic-beta" || name == "openai-organization" ||
         name == "openai-project" || name == "openai-beta";
}

std::string chat_url(const ProviderConfig& config) {
  const std::string& base = config.base_url;
  switch (config.format) {
    case ProviderFormat::OpenAI: return base + "/chat/completions";
    case ProviderFormat::Ollama: return base + "/api/chat";
    case ProviderFormat::Anthropic:
      return base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0 ? base + "/messages" : base + "/v1/messages";
  }
  return base;
}

Error upstream_error(const std::string& provider, int status, std::string_view body, std::string_view retry_after) {
  // The upstream's own message: OpenAI/Anthropic {"error": {"message"}}, Ollama {"error": "..."}.
  std::string message;
  if (auto doc = detail::json::parse(body, detail::json::ParserSlot::Scratch); doc && doc->is_object()) {
    const auto obj = detail::json::object_of(*doc);
    if (auto e = detail::json::field(obj, "error")) {
      if (e->is_string()) {
        message = std::string(e->get_string().value_unsafe());
      } else if (e->is_object()) {
        message = detail::json::string_or_empty(detail::json::object_of(*e), "message");
      }
    }
  }
  if (message.empty()) message = std::string(body.substr(0, 200));
  Error e;
  e.code = Errc::Upstream;
  e.provider = provider;
  e.message = fmt::format("provider '{}' answered {}: {}", provider, status, message);
  e.http_status = status >= 500 ? 502 : status;
  e.upstream_status = status;
  if (status == 429) e.retry_after = std::string(retry_after);
  return e;
}

std::unique_ptr<Provider> make_http_provider(const ProviderConfig& config, std::shared_ptr<Transport> transport,
                                             EnvReader getenv) {
  return std::make_unique<HttpProvider>(config, std::move(transport), std::move(getenv));
}

}  // namespace llmrouter
