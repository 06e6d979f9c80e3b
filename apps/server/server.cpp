// SPDX-License-Identifier: MIT
// llmrouter-server's HTTP host: routes, auth, streaming, errors in the client's format.
#include "server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "llmrouter/engine.h"
#include "llmrouter/events.h"
#include "llmrouter/formats.h"
#include "llmrouter/log.h"
#include "llmrouter/transport.h"
#include "metrics.h"
#include "task_queue.h"

namespace llmrouter::server {

// The embedded dashboard page (dashboard.html, generated into dashboard_html.cpp).
extern const char* const kDashboardHtml;

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kRejectHeadroom = 64;  // threads that only answer 503 past max_connections
constexpr std::chrono::milliseconds kTick{200};  // how often a waiting connection checks on its client

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Compares in time independent of where the strings differ.
bool same_secret(std::string_view given, std::string_view expected) {
  unsigned diff = given.size() == expected.size() ? 0u : 1u;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0;
}

// The client format an endpoint speaks (errors are answered in it).
WireFormat format_of_path(std::string_view path) {
  if (path.starts_with("/v1/messages")) return WireFormat::Anthropic;
  if (path.starts_with("/v1/responses")) return WireFormat::Responses;
  return WireFormat::OpenAI;
}

bool is_chat_path(std::string_view path) {
  return path == "/v1/chat/completions" || path == "/v1/messages" || path == "/v1/responses";
}

Error error(int status, std::string message) { return Error{Errc::InvalidRequest, std::move(message), status, {}}; }

void set_error(httplib::Response& res, WireFormat format, const Error& e) {
  res.status = e.status();
  if (!e.retry_after.empty()) res.set_header("retry-after", e.retry_after);
  res.set_content(encode_error(format, e), "application/json");
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

// A blocking HTTP exchange on the shared transport (count_tokens forwarding).
class Fetch final : public TransferObserver {
 public:
  void on_headers(int s, const std::vector<std::pair<std::string, std::string>>&) override {
    std::lock_guard lock(mu_);
    status_ = s;
  }
  bool on_data(std::string_view bytes) override {
    std::lock_guard lock(mu_);
    if (body_.size() < (8u << 20)) body_ += bytes;
    return true;
  }
  void on_complete(Result<void> r) override {
    std::lock_guard lock(mu_);
    result_ = std::move(r);
    done_ = true;
    cv_.notify_all();
  }
  // Waits for the end; the status and body on success.
  Result<std::pair<int, std::string>> wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    if (!result_) return fail(result_.error());
    return std::pair<int, std::string>(status_, std::move(body_));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int status_ = 0;
  std::string body_;
  Result<void> result_;
  bool done_ = false;
};

// A rough token count for count_tokens when no Anthropic provider can answer: about four
// bytes of text per token, over the system prompt, the messages and the tool definitions.
uint64_t estimate_tokens(const CanonicalRequest& req) {
  std::size_t bytes = system_text(req).size();
  for (const Message& m : req.messages) {
    bytes += 4;  // role and framing
    for (const ContentBlock& b : m.content) {
      if (const auto* t = std::get_if<TextBlock>(&b)) {
        bytes += t->text.size();
      } else if (const auto* u = std::get_if<ToolUseBlock>(&b)) {
        bytes += u->name.size() + u->input.text.size();
      } else if (const auto* r = std::get_if<ToolResultBlock>(&b)) {
        bytes += text_of(*r).size();
      } else if (const auto* th = std::get_if<ThinkingBlock>(&b)) {
        bytes += th->thinking.size();
      } else if (std::holds_alternative<ImageBlock>(b)) {
        bytes += 1600 * 4;  // a typical image is ~1.6k tokens
      }
    }
  }
  for (const Tool& t : req.tools) bytes += t.name.size() + t.description.size() + t.input_schema.text.size();
  return std::max<uint64_t>(1, (bytes + 3) / 4);
}

}  // namespace

struct Server::Impl {
  Config config;
  ServerOptions options;
  // The router itself; requests run on its current generation (pipeline and providers).
  std::unique_ptr<Engine> engine;
  std::optional<std::string> api_key;
  int port = 0;
  int listen_fd = -1;
  ElasticTaskQueue* queue = nullptr;  // owned by `http`
  Metrics metrics;
  // Dashboard subscriptions: live ones, and the events dropped by those that ended.
  std::mutex subs_mu;
  std::set<const Subscription*> live_subs;  // guarded by subs_mu
  uint64_t dropped_by_ended = 0;            // guarded by subs_mu
  std::atomic<bool> stopping{false};
  std::mutex stopper_mu;
  std::thread stopper;  // guarded by stopper_mu

  void join_stopper() {
    std::thread t;
    {
      std::lock_guard lock(stopper_mu);
      t = std::move(stopper);
    }
    if (t.joinable()) t.join();
  }
  // Cancel flags of the requests being served, for the end of the grace period.
  std::mutex flags_mu;
  std::set<CancelFlag*> flags;  // guarded by flags_mu
  httplib::Server http;         // last: destroyed first, while the rest still exists

  // Registers a request's cancel flag while it is served.
  struct InFlight {
    InFlight(Impl& impl, CancelFlag& flag) : impl_(impl), flag_(flag) {
      std::lock_guard lock(impl_.flags_mu);
      impl_.flags.insert(&flag_);
      if (impl_.stopping.load() && impl_.cancel_all_now) flag_.store(true);
    }
    ~InFlight() {
      std::lock_guard lock(impl_.flags_mu);
      impl_.flags.erase(&flag_);
    }
    Impl& impl_;
    CancelFlag& flag_;
  };
  bool cancel_all_now = false;  // guarded by flags_mu

  // Chat responses not yet fully written. Shutdown waits for them before it stops
  // cpp-httplib, whose stop() ends chunked responses that have not started writing.
  std::atomic<int> responses{0};
  struct Busy {
    explicit Busy(Impl& impl) : impl_(impl) { impl_.responses.fetch_add(1); }
    ~Busy() { impl_.responses.fetch_sub(1); }
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;
    Impl& impl_;
  };

  void cancel_all() {
    std::lock_guard lock(flags_mu);
    cancel_all_now = true;
    for (CancelFlag* f : flags) f->store(true);
  }

  bool authorized(const httplib::Request& req) const {
    if (!api_key) return true;
    std::string given;
    if (req.has_header("Authorization")) {
      const std::string v = req.get_header_value("Authorization");
      if (v.size() > 7 && lower(v.substr(0, 7)) == "bearer ") given = v.substr(7);
    }
    if (given.empty() && req.has_header("x-api-key")) given = req.get_header_value("x-api-key");
    if (given.empty() && req.has_param("api_key")) given = req.get_param_value("api_key");
    return !given.empty() && same_secret(given, *api_key);
  }

  // A chat request refused before reading it: answered in the client's format and
  // counted like any other request (events, log line).
  void refuse(WireFormat format, const Error& e, httplib::Response& res) {
    auto call = engine->current()->pipeline().refuse(format, e);
    res.set_header("X-Router-Request-Id", std::to_string(call->id()));
    struct Ignore final : RequestObserver {
      bool on_event(const StreamEvent&) override { return true; }
    } ignore;
    const CancelFlag never{false};
    metrics.record(format, call->run(nullptr, ignore, never));
    set_error(res, format, e);
  }

  // The client's headers worth forwarding upstream, and its trace context.
  static Headers forwarded(const httplib::Request& req) {
    Headers out;
    for (const auto& [k, v] : req.headers) {
      std::string name = lower(k);
      if (is_forwarded_header(name) || name == "traceparent" || name == "tracestate") out.emplace_back(std::move(name), v);
    }
    return out;
  }

  // A request's reply, pulled from the engine, and its figures recorded exactly once:
  // when the reply ended, or when the response is dropped (the client went away first).
  struct Reply {
    Reply(Impl& impl, WireFormat format, std::unique_ptr<ReplyStream> stream)
        : impl_(impl), format_(format), stream_(std::move(stream)), guard_(impl, cancel_) {}
    ~Reply() {
      if (recorded_) return;
      stream_->cancel();  // prompt: the transfer ends on its loop
      std::string rest;
      for (int i = 0; i < 100; ++i) {  // bounded: 10 s
        if (stream_->next(rest, std::chrono::milliseconds(100)) == ReplyStream::Status::End) {
          record();
          return;
        }
      }
      log(LogLevel::Warn, fmt::format("request {}: still running 10 s after it was cancelled", stream_->id()));
    }
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;

    // The next bytes, End, or Timeout after `wait`; a shutdown's cancellation ends the request.
    ReplyStream::Status next(std::string& out, std::chrono::milliseconds wait) {
      if (cancel_.load() && !cancelled_) {
        cancelled_ = true;
        stream_->cancel();
      }
      const ReplyStream::Status st = stream_->next(out, wait);
      if (st == ReplyStream::Status::End) record();
      return st;
    }
    const Outcome& outcome() const { return stream_->outcome(); }
    ReplyStream& stream() { return *stream_; }

   private:
    void record() {
      if (recorded_) return;
      recorded_ = true;
      impl_.metrics.record(format_, stream_->outcome());
    }
    Impl& impl_;
    WireFormat format_;
    std::unique_ptr<ReplyStream> stream_;
    CancelFlag cancel_{false};
    InFlight guard_;  // registers cancel_ for the end of the shutdown's grace period
    bool cancelled_ = false;
    bool recorded_ = false;
  };

  static void provider_headers(httplib::Response& res, const Outcome& o) {
    if (o.attempts.empty()) return;
    res.set_header("X-Router-Provider", o.attempts.back().provider);
    res.set_header("X-Router-Model", o.attempts.back().model);
  }

  void chat(WireFormat format, const httplib::Request& req, httplib::Response& res) {
    auto busy = std::make_shared<Busy>(*this);  // a stream keeps it until fully written
    if (!authorized(req)) {
      return refuse(format, error(401, "invalid or missing API key: send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'"), res);
    }
    auto reply = std::make_shared<Reply>(*this, format, engine->pull(format, req.body, forwarded(req)));
    res.set_header("X-Router-Request-Id", std::to_string(reply->stream().id()));
    if (!reply->stream().tags().empty()) res.set_header("X-Router-Request-Tags", join(reply->stream().tags()));
    if (reply->stream().streamed()) return stream(format, std::move(reply), std::move(busy), res);

    std::string body, chunk;
    for (;;) {
      const ReplyStream::Status st = reply->next(chunk, kTick);
      if (st == ReplyStream::Status::End) break;
      if (st == ReplyStream::Status::Data) body += chunk;
    }
    const Outcome& o = reply->outcome();
    provider_headers(res, o);
    if (o.error) return set_error(res, format, *o.error);
    const Response& r = *o.response;
    if (!r.tags.empty()) res.set_header("X-Router-Response-Tags", join(r.tags));
    res.set_header("X-Router-Input-Tokens", std::to_string(r.usage.input_tokens));
    res.set_header("X-Router-Output-Tokens", std::to_string(r.usage.output_tokens));
    res.set_content(std::move(body), "application/json");
  }

  // A stream's status is decided once its first bytes exist, it ended, or the keep-alive
  // interval passed: an upstream that fails quickly (refused, 429, 5xx, exhausted failover)
  // is answered with its real status, not a 200 followed by an error event. Then the
  // connection's thread relays the reply as the engine's loop produces it, with keep-alives
  // during silences; a client that goes away cancels the request.
  void stream(WireFormat format, std::shared_ptr<Reply> reply, std::shared_ptr<Busy> busy, httplib::Response& res) {
    std::string first;
    ReplyStream::Status st = reply->next(first, options.keepalive);
    if (st == ReplyStream::Status::End) {
      const Outcome& o = reply->outcome();
      provider_headers(res, o);
      if (o.error) return set_error(res, format, *o.error);
      // Nothing to stream and no error: cannot happen (a reply ends with Done), but answer.
      return set_error(res, format, Error{Errc::Internal, "the reply was empty", 502, {}});
    }
    const RouteTarget target = reply->stream().target();  // the first choice, or a failover
    if (!target.provider.empty()) {  // a reply from a plugin went through no provider
      res.set_header("X-Router-Provider", target.provider);
      res.set_header("X-Router-Model", target.model);
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream", [this, reply, busy, format, first = std::move(first)](std::size_t, httplib::DataSink& sink) {
          try {
            std::string chunk = first;
            std::string ping;
            auto encoder = make_stream_encoder(format);
            encoder->keepalive(ping);
            auto last_write = Clock::now();
            for (;;) {
              if (!chunk.empty()) {
                if (!sink.write(chunk.data(), chunk.size())) return false;  // gone: ~Reply cancels
                last_write = Clock::now();
              }
              const ReplyStream::Status next = reply->next(chunk, kTick);
              if (next == ReplyStream::Status::End) break;
              if (next == ReplyStream::Status::Timeout) {
                chunk.clear();
                if (!sink.is_writable()) return false;
                if (Clock::now() - last_write >= options.keepalive) chunk = ping;
              }
            }
            // A failure after the status went out but before any byte of the reply (a
            // timeout, exhausted failover): the client still learns why, in its format.
            if (const Outcome& o = reply->outcome(); o.error && !o.delivered) {
              chunk.clear();
              encoder->encode(StreamError{*o.error}, chunk);
              if (!sink.write(chunk.data(), chunk.size())) return false;
            }
            sink.done();  // the request ended: close the stream properly
            return true;
          } catch (...) {
            return false;
          }
        });
  }

  void count_tokens(const httplib::Request& req, httplib::Response& res) {
    const WireFormat format = WireFormat::Anthropic;
    std::shared_ptr<const Generation> g = engine->current();
    res.set_header("X-Router-Request-Id", std::to_string(g->pipeline().new_request_id()));
    if (!authorized(req)) return set_error(res, format, error(401, "invalid or missing API key"));
    // count_tokens bodies carry no max_tokens; the Messages decoder wants one.
    auto decoded = decode_request(format, req.body);
    std::string body = req.body;
    if (!decoded && req.body.find("\"max_tokens\"") == std::string::npos) {
      const std::size_t brace = body.find('{');
      if (brace != std::string::npos) body.insert(brace + 1, "\"max_tokens\":1,");
      decoded = decode_request(format, body);
    }
    if (!decoded) return set_error(res, format, decoded.error());
    auto routed = g->pipeline().route(format, body);
    if (routed && routed->decision) {
      const RouteTarget& t = routed->decision->target;
      const ProviderConfig* pc = g->config().find_provider(t.provider);
      if (pc && pc->format == ProviderFormat::Anthropic) return forward_count(*pc, t.model, req, res);
    }
    res.set_header("X-Router-Estimate", "true");
    res.set_content(fmt::format(R"({{"input_tokens":{}}})", estimate_tokens(*decoded)), "application/json");
  }

  // Asks the Anthropic provider the request routes to.
  void forward_count(const ProviderConfig& pc, const std::string& model, const httplib::Request& req,
                     httplib::Response& res) {
    auto body = passthrough_request(req.body, model);
    if (!body) return set_error(res, WireFormat::Anthropic, body.error());
    HttpRequest up;
    up.url = chat_url(pc) + "/count_tokens";
    up.body = std::move(*body);
    up.provider = pc.name;
    up.connect_timeout = pc.connect_timeout;
    up.first_byte_timeout = pc.first_byte_timeout;
    up.idle_timeout = pc.idle_timeout;
    up.total_timeout = pc.timeout;
    up.headers.emplace_back("content-type", "application/json");
    up.headers.emplace_back("anthropic-version", "2023-06-01");
    for (auto& [k, v] : forwarded(req)) {
      if (!k.starts_with("anthropic-")) continue;
      std::erase_if(up.headers, [&](const auto& h) { return h.first == k; });
      up.headers.emplace_back(k, v);
    }
    if (pc.api_key_env) {
      if (auto key = engine->getenv()(*pc.api_key_env); key && !key->empty()) up.headers.emplace_back("x-api-key", *key);
    }
    for (const auto& [k, v] : pc.headers) up.headers.emplace_back(lower(k), v);
    auto fetch = std::make_shared<Fetch>();
    engine->transport()->start(std::move(up), fetch);
    auto got = fetch->wait();
    if (!got) return set_error(res, WireFormat::Anthropic, got.error());
    res.set_header("X-Router-Provider", pc.name);
    res.set_header("X-Router-Model", model);
    if (got->first < 200 || got->first >= 300) {
      return set_error(res, WireFormat::Anthropic, upstream_error(pc.name, got->first, got->second, ""));
    }
    res.set_content(std::move(got->second), "application/json");
  }

  void route(const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Router-Request-Id", std::to_string(engine->current()->pipeline().new_request_id()));
    if (!authorized(req)) return set_error(res, WireFormat::OpenAI, error(401, "invalid or missing API key"));
    WireFormat format = WireFormat::OpenAI;
    if (req.has_param("format")) {
      const std::string f = req.get_param_value("format");
      if (f == "anthropic") {
        format = WireFormat::Anthropic;
      } else if (f == "responses") {
        format = WireFormat::Responses;
      } else if (f != "openai") {
        return set_error(res, WireFormat::OpenAI,
                         error(400, fmt::format("format: expected openai, anthropic or responses, got '{}'", f)));
      }
    }
    auto p = engine->current()->pipeline().route(format, req.body);
    if (!p) return set_error(res, WireFormat::OpenAI, p.error());
    res.set_content(route_json(*p), "application/json");
  }

  void dashboard_events(const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Router-Request-Id", std::to_string(engine->current()->pipeline().new_request_id()));
    if (!authorized(req)) return set_error(res, WireFormat::OpenAI, error(401, "invalid or missing API key"));
    std::shared_ptr<Subscription> sub(engine->events()->subscribe(1024).release(), [this](Subscription* s) {
      {
        std::lock_guard lock(subs_mu);
        live_subs.erase(s);
        dropped_by_ended += s->dropped();
      }
      delete s;
    });
    {
      std::lock_guard lock(subs_mu);
      live_subs.insert(sub.get());
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider("text/event-stream", [this, sub](std::size_t, httplib::DataSink& sink) {
      try {
        std::string ev;
        std::string out = "retry: 1000\n\n";
        if (!sink.write(out.data(), out.size())) return false;
        auto last_write = Clock::now();
        while (!stopping.load()) {
          if (sub->next(ev, std::chrono::milliseconds(500))) {
            // Every event starts {"type":"<name>", ...
            const std::size_t end = ev.find('"', 9);
            out = fmt::format("event: {}\ndata: {}\n\n", ev.substr(9, end == std::string::npos ? 0 : end - 9), ev);
          } else if (Clock::now() - last_write >= std::chrono::seconds(15)) {
            out = ": keep-alive\n\n";
          } else {
            if (!sink.is_writable()) return false;
            continue;
          }
          if (!sink.write(out.data(), out.size())) return false;
          last_write = Clock::now();
        }
        sink.done();
        return true;
      } catch (...) {
        return false;
      }
    });
  }

  void routes() {
    http.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) { chat(WireFormat::OpenAI, q, r); });
    http.Post("/v1/messages", [this](const httplib::Request& q, httplib::Response& r) { chat(WireFormat::Anthropic, q, r); });
    http.Post("/v1/responses", [this](const httplib::Request& q, httplib::Response& r) { chat(WireFormat::Responses, q, r); });
    http.Post("/v1/messages/count_tokens", [this](const httplib::Request& q, httplib::Response& r) { count_tokens(q, r); });
    http.Post("/v1/route", [this](const httplib::Request& q, httplib::Response& r) { route(q, r); });
    http.Get("/v1/models", [this](const httplib::Request& q, httplib::Response& r) {
      r.set_header("X-Router-Request-Id", std::to_string(engine->current()->pipeline().new_request_id()));
      if (!authorized(q)) return set_error(r, format_of_path(q.path), error(401, "invalid or missing API key"));
      r.set_content(models_json(engine->current()->pipeline().router().known_models()), "application/json");
    });
    http.Get("/metrics", [this](const httplib::Request& q, httplib::Response& r) {
      r.set_header("X-Router-Request-Id", std::to_string(engine->current()->pipeline().new_request_id()));
      if (!authorized(q)) return set_error(r, WireFormat::OpenAI, error(401, "invalid or missing API key"));
      ScrapeInputs in;
      in.in_flight = engine->current()->pipeline().in_flight();
      {
        std::lock_guard lock(subs_mu);
        in.dashboard_events_dropped = dropped_by_ended;
        for (const Subscription* s : live_subs) in.dashboard_events_dropped += s->dropped();
      }
      if (const JsonlLog* log_file = engine->request_log()) {
        in.log_write_errors = log_file->write_errors();
        in.log_lines_written = log_file->lines_written();
      }
      r.set_content(metrics.scrape(in), "text/plain; version=0.0.4; charset=utf-8");
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& r) {
      r.set_header("X-Router-Request-Id", std::to_string(engine->current()->pipeline().new_request_id()));
      r.set_content("ok", "text/plain");
    });
    if (config.server.dashboard) {
      http.Get("/dashboard", [this](const httplib::Request& q, httplib::Response& r) {
        r.set_header("X-Router-Request-Id", std::to_string(engine->current()->pipeline().new_request_id()));
        if (!authorized(q)) return set_error(r, WireFormat::OpenAI, error(401, "invalid or missing API key"));
        r.set_content(kDashboardHtml, "text/html; charset=utf-8");
      });
      http.Get("/dashboard/events", [this](const httplib::Request& q, httplib::Response& r) { dashboard_events(q, r); });
    }
    // Past max_connections (or while stopping), answer 503 at once rather than queue.
    http.set_pre_routing_handler([this](const httplib::Request& q, httplib::Response& r) {
      const bool overloaded = queue && queue->active() > config.server.max_connections;
      if (!overloaded && !stopping.load()) return httplib::Server::HandlerResponse::Unhandled;
      r.set_header("Connection", "close");
      const Error e = error(503, stopping.load() ? "the router is shutting down" : "the router is at its connection limit; retry shortly");
      if (is_chat_path(q.path)) {
        refuse(format_of_path(q.path), e, r);
      } else {
        r.set_header("X-Router-Request-Id", std::to_string(engine->current()->pipeline().new_request_id()));
        set_error(r, format_of_path(q.path), e);
      }
      return httplib::Server::HandlerResponse::Handled;
    });
    // Near the limit, ask clients to close idle keep-alive connections after this reply,
    // so the threads they hold serve new connections instead.
    http.set_post_routing_handler([this](const httplib::Request&, httplib::Response& r) {
      if (queue && queue->active() * 4 > std::size_t{config.server.max_connections} * 3) r.set_header("Connection", "close");
    });
    // Errors cpp-httplib produces itself (no route, body too large, bad request line) get
    // a JSON body in the endpoint's format.
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& q, httplib::Response& r) {
      if (!r.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      const WireFormat format = format_of_path(q.path);
      Error e = error(r.status, "bad request");
      if (r.status == 404) {
        static const std::set<std::string, std::less<>> known = {
            "/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/messages/count_tokens",
            "/v1/route", "/v1/models", "/health", "/metrics"};
        if (known.contains(q.path) || (config.server.dashboard && q.path.starts_with("/dashboard") &&
                                       (q.path == "/dashboard" || q.path == "/dashboard/events"))) {
          r.status = 405;
          e = error(405, fmt::format("method {} is not allowed on {}", q.method, q.path));
        } else {
          e = error(404, fmt::format("no such endpoint: {} {}", q.method, q.path));
        }
      } else if (r.status == 413) {
        e = error(413, fmt::format("request body is larger than the limit of {} bytes ([server] max_body_bytes)",
                                   config.server.max_body_bytes));
      }
      if (r.status == 413 && is_chat_path(q.path)) {
        refuse(format, e, r);
      } else {
        if (!r.has_header("X-Router-Request-Id")) r.set_header("X-Router-Request-Id", std::to_string(engine->current()->pipeline().new_request_id()));
        set_error(r, format, e);
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([this](const httplib::Request& q, httplib::Response& r, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      log(LogLevel::Error, fmt::format("{} {}: {}", q.method, q.path, what));
      set_error(r, format_of_path(q.path), Error{Errc::Internal, "internal error: " + what, 500, {}});
    });
  }
};

Result<std::unique_ptr<Server>> Server::create(Config config, ServerOptions options) {
  if (!options.getenv) {
    options.getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      return v ? std::optional<std::string>(v) : std::nullopt;
    };
  }
  auto impl = std::make_unique<Impl>();
  if (config.server.api_key_env) {
    auto key = options.getenv(*config.server.api_key_env);
    if (!key || key->empty()) {
      return fail(Errc::Config, fmt::format("{}: server.api_key_env: the environment variable {} is not set (or empty); "
                                            "set it to the key clients must send, or remove the setting",
                                            config.source, *config.server.api_key_env));
    }
    impl->api_key = std::move(key);
  }
  EngineOptions eo;
  eo.getenv = options.getenv;
  eo.telemetry = options.telemetry;
  auto engine = Engine::create(config, std::move(eo));
  if (!engine) return fail(engine.error());
  impl->engine = std::move(*engine);
  impl->config = std::move(config);
  impl->options = std::move(options);

  httplib::Server& http = impl->http;
  Impl* raw = impl.get();
  const std::size_t max_threads = raw->config.server.max_connections + kRejectHeadroom;
  http.new_task_queue = [raw, max_threads] {
    raw->queue = new ElasticTaskQueue(max_threads, std::chrono::seconds(60));
    return raw->queue;
  };
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(1000);
  http.set_keep_alive_timeout(raw->options.keepalive_timeout.count());
  http.set_payload_max_length(raw->config.server.max_body_bytes);
  http.set_read_timeout(std::chrono::seconds(60));
  http.set_write_timeout(std::chrono::seconds(60));
  http.set_socket_options([raw](int fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    raw->listen_fd = fd;
  });
  raw->routes();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
  impl_->join_stopper();
  impl_->engine->shutdown();
}

Result<int> Server::bind() {
  const ServerConfig& s = impl_->config.server;
  int port = s.port == 0 ? impl_->http.bind_to_any_port(s.host) : (impl_->http.bind_to_port(s.host, s.port) ? s.port : -1);
  if (port <= 0) {
    return fail(Errc::Config, fmt::format("cannot listen on {}:{}: the address is in use or not available", s.host, s.port));
  }
  // cpp-httplib 0.11.4 listens with a backlog of 5: a burst of connections would overflow it.
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, 4096);
  impl_->port = port;
  return port;
}

void Server::run() {
  if (!impl_->stopping.load()) impl_->http.listen_after_bind();
  impl_->join_stopper();
  impl_->engine->shutdown();  // the log and the telemetry (bounded)
}

void Server::stop() {
  bool expected = false;
  if (!impl_->stopping.compare_exchange_strong(expected, true)) return;
  Impl* impl = impl_.get();
  std::lock_guard lock(impl->stopper_mu);
  impl->stopper = std::thread([impl] {
    // New requests get 503 from now on; the ones being served get the grace period.
    auto wait_for_responses = [impl](Clock::time_point deadline) {
      while ((impl->responses.load() > 0 || impl->engine->current()->pipeline().in_flight() > 0) && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    };
    wait_for_responses(Clock::now() + impl->options.grace);
    if (impl->engine->current()->pipeline().in_flight() > 0) {
      log(LogLevel::Warn, fmt::format("shutdown: cancelling {} request(s) still running after the grace period",
                                      impl->engine->current()->pipeline().in_flight()));
      impl->cancel_all();
      wait_for_responses(Clock::now() + std::chrono::seconds(2));  // cancellation is prompt
    }
    impl->http.stop();  // closes the listener; run() returns once the connection threads end
  });
}

int Server::port() const noexcept { return impl_->port; }
const Pipeline& Server::pipeline() const noexcept { return impl_->engine->current()->pipeline(); }

}  // namespace llmrouter::server
