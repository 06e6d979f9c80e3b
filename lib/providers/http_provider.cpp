// SPDX-License-Identifier: MIT
// HttpProvider: encodes the canonical request for its format, sends it on the shared
// transport, and turns the reply — streamed or not — into canonical events on the
// transport's loop, as the bytes arrive. An observer that falls behind pauses the transfer,
// so a slow client holds a bounded amount of memory; `send` waits for the events on the
// calling thread (send_over_start).
#include "llmrouter/http_provider.h"

#include <strings.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include <fmt/format.h>

#include "json/json.h"
#include "util/strings.h"
#include "llmrouter/formats.h"

namespace llmrouter {
namespace {

constexpr std::size_t kMaxErrorBody = 64 << 10;

// Where the last complete event of an event stream ends in `s` (just past its blank
// line), or 0. A blank line it misses only holds bytes back until the next one or the end.
std::size_t events_end(std::string_view s) {
  std::size_t end = 0;
  for (std::string_view blank : {"\n\n", "\r\r", "\n\r\n"}) {
    if (const std::size_t at = s.rfind(blank); at != std::string_view::npos) end = std::max(end, at + blank.size());
  }
  return end;
}

// One exchange on the transport's loop: the reply's bytes are decoded into events as they
// arrive, on the loop's thread, and handed to the observer there. An observer that is
// behind pauses the transfer until `resume`.
class LoopExchange final : public TransferObserver, public ProviderExchange {
 public:
  LoopExchange(std::string provider, Transport& transport, WireFormat format,
               const CanonicalRequest& req, bool raw, std::shared_ptr<ReplyObserver> observer,
               uint64_t max_reply_bytes)
      : max_reply_bytes_(max_reply_bytes),
        provider_(std::move(provider)),
        transport_(transport),
        format_(format),
        raw_(raw),
        decoder_(!req.stream                             ? nullptr
                 : req.endpoint == Endpoint::Completions ? make_completions_stream_decoder()
                                                         : make_stream_decoder(format)),
        observer_(std::move(observer)) {
    // What reading an endpoint's reply needs of its request (no conversation: a small copy).
    if (req.endpoint != Endpoint::Chat) endpoint_request_ = req;
  }

  // Known once Transport::start returned; a cancellation asked for before is applied then.
  void started(TransferId id) {
    id_.store(id);
    if (cancel_requested_.load()) transport_.cancel(id);
  }

  // --- ProviderExchange (any thread) ---
  void cancel() override {
    cancelled_.store(true);
    cancel_transfer();
  }
  void resume() override {
    if (const TransferId id = id_.load()) transport_.resume(id);
  }

  // --- TransferObserver (the loop's thread) ---
  void on_headers(int status, const std::vector<std::pair<std::string, std::string>>& headers) override {
    status_ = status;
    for (const auto& [k, v] : headers) {
      if (k == "retry-after") retry_after_ = v;
    }
  }
  bool on_data(std::string_view bytes) override {
    const bool ok_status = status_ >= 200 && status_ < 300;
    if (!ok_status || !decoder_) {
      if (too_large_) return true;
      if (ok_status && whole_.size() + bytes.size() > max_reply_bytes_) {
        too_large_ = true;  // nothing past the limit is kept
        std::string().swap(whole_);
        cancel_transfer();
        return true;
      }
      if (ok_status || whole_.size() < kMaxErrorBody) whole_ += bytes;
      return true;
    }
    if (stream_error_ || cancelled_.load()) return true;
    if (raw_) relay_raw(bytes);
    if (auto r = decoder_->feed(bytes, events_); !r) {
      stream_error_ = r.error();
      cancel_transfer();
    }
    deliver();
    return !observer_->behind();
  }
  void on_complete(Result<void> result) override {
    Result<void> r = end(std::move(result));
    std::shared_ptr<ReplyObserver> observer = std::move(observer_);  // it may own this exchange
    observer->on_end(std::move(r));
  }

 private:
  void cancel_transfer() {
    cancel_requested_.store(true);
    if (const TransferId id = id_.load()) transport_.cancel(id);
  }
  // Relayed bytes are valid UTF-8 even when the upstream's are not (the decoded events are
  // repaired the same way). A stream goes out whole events at a time: an event cut short by
  // a failure is never sent, so the in-band error that follows is an event of its own.
  void relay_raw(std::string_view bytes) {
    bytes = repair_.feed(bytes);
    if (decoder_ && format_ != WireFormat::Ollama) {  // event streams (Ollama's is lines)
      // Only the new bytes (and the two before, for a blank line split across reads) can
      // hold a blank line: what is held has none.
      const std::size_t from = held_.size() < 2 ? 0 : held_.size() - 2;
      held_.append(bytes);
      const std::size_t end = events_end(std::string_view(held_).substr(from));
      if (end == 0) return;
      delivered_ = true;
      const bool more = observer_->on_raw(std::string_view(held_).substr(0, from + end));
      held_.erase(0, from + end);
      if (!more) cancel();
      return;
    }
    if (bytes.empty()) return;
    delivered_ = true;
    if (!observer_->on_raw(bytes)) cancel();
  }
  void deliver() {
    for (const StreamEvent& e : events_) {
      delivered_ = true;
      if (!cancelled_.load() && !observer_->on_event(e)) cancel();
    }
    events_.clear();
  }
  // How the exchange ended: an error before any event (for failover), or success with any
  // failure after events delivered in-band.
  Result<void> end(Result<void> result) {
    if (cancelled_.load() && !result) return fail(Errc::Cancelled, "the request was cancelled");
    if (too_large_) {
      Error e{Errc::Upstream,
              fmt::format("provider '{}': the reply is larger than {} bytes ([server] max_upstream_reply_bytes)", provider_,
                          max_reply_bytes_),
              502, provider_};
      return fail(std::move(e));
    }
    if (result && (status_ < 200 || status_ >= 300)) return fail(upstream_error(provider_, status_, whole_, retry_after_));
    if (stream_error_) {
      stream_error_->provider = provider_;
      if (!delivered_) return fail(*stream_error_);
      events_.push_back(StreamError{*stream_error_});
      deliver();
      return {};
    }
    if (!result) {
      if (!delivered_) return fail(result.error());
      events_.push_back(StreamError{result.error()});
      deliver();
      return {};
    }
    if (raw_ && decoder_) {
      held_ += repair_.finish();  // a last event without its blank line
      if (!held_.empty() && !cancelled_.load()) observer_->on_raw(held_);
    }
    if (decoder_) {
      if (auto r = decoder_->finish(events_); !r) {
        Error e = r.error();
        e.provider = provider_;
        if (!delivered_ && events_.empty()) return fail(std::move(e));
        events_.push_back(StreamError{std::move(e)});
      }
      deliver();
      return {};
    }
    if (endpoint_request_) return end_endpoint();
    auto response = decode_response(format_, whole_);
    if (!response) {
      Error e = response.error();
      e.provider = provider_;
      e.message = fmt::format("provider '{}': {}", provider_, e.message);
      return fail(std::move(e));
    }
    if (raw_) {
      relay_raw(whole_);
      if (const std::string_view tail = repair_.finish(); !tail.empty()) observer_->on_raw(tail);
    }
    events_ = events_of(*response);
    deliver();
    return {};
  }

  // An endpoint's non-streamed reply: the client's body (translated when the provider's
  // format differs), then its events for the log and figures.
  Result<void> end_endpoint() {
    auto reply = decode_endpoint_reply(format_, *endpoint_request_, std::move(whole_));
    if (!reply) {
      Error e = reply.error();
      e.provider = provider_;
      e.message = fmt::format("provider '{}': {}", provider_, e.message);
      return fail(std::move(e));
    }
    relay_raw(reply->body);
    if (const std::string_view tail = repair_.finish(); !tail.empty()) observer_->on_raw(tail);
    events_ = events_of(reply->response);
    deliver();
    return {};
  }

  const uint64_t max_reply_bytes_;
  bool too_large_ = false;  // the non-streamed reply passed max_reply_bytes_
  // The exchange does not own the transport (the transport holds the exchange while the
  // transfer runs); cancel and resume are only called before the exchange ended.
  std::string provider_;
  Transport& transport_;
  WireFormat format_;
  bool raw_;
  std::unique_ptr<StreamDecoder> decoder_;
  std::shared_ptr<ReplyObserver> observer_;
  std::optional<CanonicalRequest> endpoint_request_;  // set for any endpoint but Chat
  std::atomic<TransferId> id_{0};
  std::atomic<bool> cancel_requested_{false};
  std::atomic<bool> cancelled_{false};
  // The loop's own state.
  int status_ = 0;
  std::string retry_after_;
  std::string whole_;  // non-streamed reply, or an error body
  std::vector<StreamEvent> events_;
  std::optional<Error> stream_error_;
  detail::Utf8StreamRepair repair_;
  std::string held_;  // a stream's relayed bytes after its last complete event
  bool delivered_ = false;
};

// An exchange that ended before it started (the request could not be encoded).
struct Ended final : ProviderExchange {
  void cancel() override {}
};

class HttpProvider final : public Provider {
 public:
  HttpProvider(ProviderConfig config, std::shared_ptr<Transport> transport, EnvReader getenv, uint64_t max_reply_bytes)
      : config_(std::move(config)),
        transport_(std::move(transport)),
        getenv_(std::move(getenv)),
        max_reply_bytes_(max_reply_bytes) {
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
    return send_over_start(*this, req, options, sink, cancel);
  }

  std::shared_ptr<ProviderExchange> start(const CanonicalRequest& req, const SendOptions& options,
                                          std::shared_ptr<ReplyObserver> observer) const override {
    const WireFormat format = config_.format;
    const bool raw = options.passthrough_body.has_value();
    HttpRequest http;
    if (req.endpoint != Endpoint::Chat && !raw) {  // the pipeline encodes an endpoint's body
      observer->on_end(fail(Errc::Internal,
                            fmt::format("provider '{}': a /v1/{} request came without its body",
                                        config_.name, endpoint_name(req.endpoint)),
                            500));
      return std::make_shared<Ended>();
    }
    if (raw) {
      http.body = *options.passthrough_body;
    } else {
      auto body = encode_request(format, req);
      if (!body) {
        observer->on_end(fail(body.error()));
        return std::make_shared<Ended>();
      }
      http.body = std::move(*body);
    }
    http.url = endpoint_url(config_, req.endpoint);
    http.provider = config_.name;
    http.connect_timeout = config_.connect_timeout;
    http.first_byte_timeout = config_.first_byte_timeout;
    http.idle_timeout = config_.idle_timeout;
    http.total_timeout = config_.timeout;
    http.headers = request_headers(req.stream, options.headers, options);
    auto exchange = std::make_shared<LoopExchange>(config_.name, *transport_, format, req, raw,
                                                   std::move(observer), max_reply_bytes_);
    exchange->started(transport_->start(std::move(http), exchange));
    return exchange;
  }

 private:
  // Content type, accept, auth, the forwarded client headers of this provider's format,
  // the trace context, then the configured headers (which win).
  Headers request_headers(bool stream, const Headers& client, const SendOptions& trace) const {
    const WireFormat format = config_.format;
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
    for (const auto& [k, v] : client) {
      if (k != "traceparent" && k != "tracestate" && provider_forwards(config_, k)) set(k, v);
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
  uint64_t max_reply_bytes_;
};

}  // namespace

bool is_forwarded_header(std::string_view name) noexcept {
  static constexpr std::string_view kNever[] = {
      "authorization", "x-api-key",  "cookie",     "proxy-authorization", "host",        "connection",
      "keep-alive",    "proxy-connection", "te",   "trailer",             "upgrade",     "transfer-encoding",
      "content-length", "content-type", "content-encoding", "expect",   "accept",      "accept-encoding"};
  return std::find(std::begin(kNever), std::end(kNever), name) == std::end(kNever);
}

bool provider_forwards(const ProviderConfig& config, std::string_view name) noexcept {
  if (!is_forwarded_header(name)) return false;  // credentials and framing, whatever a pattern says
  if (!config.forward_client_headers) {
    switch (config.format) {
      case WireFormat::Anthropic:
        return name.starts_with("anthropic-");
      case WireFormat::OpenAI:
      case WireFormat::Responses:
        return name == "openai-beta";
      case WireFormat::Ollama:
        return false;
    }
    return false;
  }
  for (const std::string& pattern : *config.forward_client_headers) {
    if (pattern.ends_with('*') ? name.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1)) : name == pattern) {
      return true;
    }
  }
  return false;
}

std::string chat_url(const ProviderConfig& config) {
  const std::string& base = config.base_url;
  switch (config.format) {
    case WireFormat::OpenAI:
      return base + "/chat/completions";
    case WireFormat::Ollama:
      return base + "/api/chat";
    case WireFormat::Anthropic:
      return base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0 ? base + "/messages" : base + "/v1/messages";
    case WireFormat::Responses:
      return base + "/responses";
  }
  return base;
}

std::string endpoint_url(const ProviderConfig& config, Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::Chat:
      return chat_url(config);
    case Endpoint::Embeddings:
      return config.base_url + (config.format == WireFormat::Ollama ? "/api/embed" : "/embeddings");
    case Endpoint::Completions:
      return config.base_url + "/completions";
  }
  return config.base_url;
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
                                             EnvReader getenv, uint64_t max_reply_bytes) {
  return std::make_unique<HttpProvider>(config, std::move(transport), std::move(getenv), max_reply_bytes);
}

}  // namespace llmrouter
