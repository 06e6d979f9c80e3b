// SPDX-License-Identifier: MIT
// llmrouter-server's HTTP host: routes, auth, streaming, errors in the client's format, on
// the HTTP edge (llmrouter/http_server.h) and the engine's loops.
#include "server.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <simdjson.h>

#include "llmrouter/engine.h"
#include "llmrouter/events.h"
#include "llmrouter/formats.h"
#include "llmrouter/host_json.h"
#include "llmrouter/http_server.h"
#include "llmrouter/log.h"
#include "llmrouter/transport.h"
#include "metrics.h"

namespace llmrouter::server {

// The embedded dashboard page (dashboard.html, generated into dashboard_html.cpp).
extern const char* const kDashboardHtml;

namespace {

using Clock = std::chrono::steady_clock;
// A stream's reply waiting for its client past this pauses the upstream transfer; it
// resumes once the client has taken it down to half.
constexpr std::size_t kHighWater = 256u << 10;
constexpr std::chrono::milliseconds kDashboardPoll{250};

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

// The API requests: the conversation APIs and the endpoints beside them (request.h Endpoint).
bool is_api_path(std::string_view path) {
  return path == "/v1/chat/completions" || path == "/v1/messages" || path == "/v1/responses" ||
         path == "/v1/embeddings" || path == "/v1/completions";
}

Endpoint endpoint_of_path(std::string_view path) {
  if (path == "/v1/embeddings") return Endpoint::Embeddings;
  if (path == "/v1/completions") return Endpoint::Completions;
  return Endpoint::Chat;
}

// A forwarded token count's reply is a few bytes; a larger one is no count.
constexpr std::size_t kMaxCountReply = 1u << 20;

Error error(int status, std::string message) { return Error{Errc::InvalidRequest, std::move(message), status, {}}; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

// Whether a listen address only accepts connections from this machine.
bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  return std::sscanf(std::string(host).c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
         c < 256 && d < 256;
}

using http::Request;
using ResponsePtr = std::shared_ptr<http::Response>;

// An answer's headers: the request id first, then what the endpoint adds.
Headers with_id(uint64_t id, Headers more = {}) {
  Headers h;
  h.reserve(more.size() + 2);
  h.emplace_back("X-Router-Request-Id", std::to_string(id));
  for (auto& kv : more) h.push_back(std::move(kv));
  return h;
}

void send_json(const ResponsePtr& res, int status, Headers headers, std::string body) {
  headers.emplace_back("Content-Type", "application/json");
  res->send(status, std::move(headers), std::move(body));
}

// An error in the client's format, with its status (and Retry-After when it has one).
void send_error(const ResponsePtr& res, WireFormat format, const Error& e, Headers headers) {
  if (!e.retry_after.empty()) headers.emplace_back("Retry-After", e.retry_after);
  send_json(res, e.status(), std::move(headers), encode_error(format, e));
}

void add_provider(Headers& h, const Outcome& o) {
  if (o.attempts.empty()) return;
  h.emplace_back("X-Router-Provider", o.attempts.back().provider);
  h.emplace_back("X-Router-Model", o.attempts.back().model);
}

}  // namespace

struct Server::Impl {
  // The configuration as at start-up, never written afterwards (a reload replaces the
  // engine's generation): the [server] settings read here take effect at the next start.
  Config config;
  ServerOptions options;
  // The router itself; requests run on its current generation (pipeline and providers).
  std::unique_ptr<Engine> engine;
  std::unique_ptr<http::HttpServer> edge;
  std::optional<std::string> api_key;
  // Bound to a non-loopback address without allow_unauthenticated: some key is always needed.
  std::atomic<bool> requires_auth{false};
  int port = 0;
  Metrics metrics;
  // Dashboard subscriptions: live ones, and the events dropped by those that ended.
  std::mutex subs_mu;
  std::set<const Subscription*> live_subs;  // guarded by subs_mu
  uint64_t dropped_by_ended = 0;            // guarded by subs_mu
  // The `health` events, counted into the metrics as they come (a thread of their own, so
  // none is missed however rarely /metrics is scraped).
  std::unique_ptr<Subscription> health_sub;
  std::thread health_counter;
  std::atomic<bool> stopping{false};
  std::mutex stopper_mu;
  std::thread stopper;  // guarded by stopper_mu
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;  // guarded by done_mu: the stopper finished
  // The requests being answered, for the end of the shutdown's grace period.
  std::mutex handles_mu;
  std::unordered_set<std::shared_ptr<RequestHandle>> handles;  // guarded by handles_mu
  bool cancel_all_now = false;                                 // guarded by handles_mu
  // POST /admin/reload runs its reload on a thread of its own, one at a time.
  std::mutex reload_thread_mu;
  std::thread reload_thread;           // guarded by reload_thread_mu
  std::atomic<bool> reloading{false};  // a POST /admin/reload is running

  void count_health() {
    simdjson::dom::parser parser;
    std::string ev;
    while (health_sub->next(ev, std::chrono::hours(1))) {
      simdjson::dom::element doc;
      std::string_view provider, state;
      if (parser.parse(ev).get(doc) || doc["provider"].get(provider) || doc["state"].get(state))
        continue;
      if (state == "ejected" || state == "restored") metrics.health(provider, state == "ejected");
    }
  }
  void stop_health_counter() {
    if (health_sub) health_sub->close();
    if (health_counter.joinable()) health_counter.join();
  }

  void join_stopper() {
    std::thread t;
    {
      std::lock_guard lock(stopper_mu);
      t = std::move(stopper);
    }
    if (t.joinable()) t.join();
  }

  uint64_t new_id() const { return engine->current()->pipeline().new_request_id(); }

  void track(const std::shared_ptr<RequestHandle>& h) {
    std::lock_guard lock(handles_mu);
    if (cancel_all_now) h->cancel();
    handles.insert(h);
  }
  void untrack(const std::shared_ptr<RequestHandle>& h) {
    std::lock_guard lock(handles_mu);
    handles.erase(h);
  }
  void cancel_all() {
    std::vector<std::shared_ptr<RequestHandle>> all;
    {
      std::lock_guard lock(handles_mu);
      cancel_all_now = true;
      all.assign(handles.begin(), handles.end());
    }
    for (auto& h : all) h->cancel();
  }

  // The key `req` carries: the Authorization or x-api-key header, else `?api_key=` (the
  // dashboard's event feed cannot set headers).
  static std::string given_key(const Request& req) {
    std::string given = presented_key(req.headers);
    // Only the dashboard's page and feed take it from the URL (an EventSource cannot set
    // headers); anywhere else a key in the URL would end up in access logs.
    if (given.empty() && req.path.starts_with("/dashboard"))
      given = req.param("api_key").value_or("");
    return given;
  }

  // Whether `req` may use the router's read endpoints (/v1/models, /v1/route, ...): any
  // team key or the operator key; anyone when neither is configured.
  bool authorized(const Request& req) const {
    std::shared_ptr<const Generation> g = engine->current();
    if (g->keys().enabled())
      return g->keys().identify(given_key(req)).kind != Caller::Kind::Unknown;
    // A non-loopback bind that needed a key at start-up keeps needing one: a reload that
    // removed every key must not open it to anyone (it fails closed).
    if (!api_key) return !requires_auth.load();
    const std::string given = given_key(req);
    return !given.empty() && same_secret(given, *api_key);
  }

  // The operator's endpoints (/metrics, the dashboard, /admin/*): with [[keys]] configured,
  // only the operator key opens them. nullopt when `req` may.
  std::optional<Error> operator_refusal(const Request& req) const {
    std::shared_ptr<const Generation> g = engine->current();
    if (!g->keys().enabled()) {
      if (authorized(req)) return std::nullopt;
      return error(401, "invalid or missing API key");
    }
    const Caller c = g->keys().identify(given_key(req));
    if (c.kind == Caller::Kind::Operator) return std::nullopt;
    if (c.kind == Caller::Kind::Unknown) return unknown_key_error();
    Error e = error(
        403, fmt::format("{} is the operator's: the key '{}' is a team key; send the [server] "
                         "api_key_env key",
                         req.path, c.key->name));
    e.api_code = "permission_denied";
    return e;
  }

  // A chat request refused before it ran: answered in the client's format and counted like
  // any other request (events, log line).
  void refuse(WireFormat format, const Error& e, const ResponsePtr& res, Headers extra = {}) {
    auto call = engine->current()->pipeline().refuse(format, e);
    struct Ignore final : RequestObserver {
      bool on_event(const StreamEvent&) override { return true; }
    } ignore;
    const CancelFlag never{false};
    metrics.record(format, call->run(nullptr, ignore, never));
    send_error(res, format, e, with_id(call->id(), std::move(extra)));
  }

  // Every request enters here, on its connection's loop.
  void handle(Request& req, const ResponsePtr& res) {
    const WireFormat format = format_of_path(req.path);
    if (req.refused) {
      const Error e = error(req.refused->status, req.refused->message);
      if (is_api_path(req.path)) return refuse(format, e, res);
      return send_error(res, format, e, with_id(new_id()));
    }
    if (stopping.load()) {
      res->close_after();
      const Error e = error(503, "the router is shutting down");
      if (is_api_path(req.path)) return refuse(format, e, res, {{"Connection", "close"}});
      return send_error(res, format, e, with_id(new_id(), {{"Connection", "close"}}));
    }
    const bool post = req.method == "POST";
    const bool get = req.method == "GET" || req.method == "HEAD";  // the edge drops a HEAD's body
    if (post && is_api_path(req.path)) return chat(format, req, res);
    if (post && req.path == "/v1/messages/count_tokens") return count_tokens(req, res);
    if (post && req.path == "/v1/route") return route(req, res);
    if (post && req.path == "/admin/reload") return admin_reload(req, res);
    if (get && req.path == "/v1/models") return models(req, res);
    if (get && req.path == "/v1/providers") return providers(req, res);
    if (get && req.path == "/metrics") return scrape(req, res);
    if (get && req.path == "/health") return res->send(200, with_id(new_id(), {{"Content-Type", "text/plain"}}), "ok");
    if (get && req.path == "/v1/usage") return usage(req, res);
    if (get && config.server.dashboard && req.path == "/dashboard") {
      if (auto refused = operator_refusal(req))
        return send_error(res, WireFormat::OpenAI, *refused, with_id(new_id()));
      return res->send(200, with_id(new_id(), {{"Content-Type", "text/html; charset=utf-8"}}), kDashboardHtml);
    }
    // The feed never ends, so it is GET only (a HEAD would hold its connection forever).
    if (req.method == "GET" && config.server.dashboard && req.path == "/dashboard/events") return dashboard_events(req, res);
    static const std::set<std::string, std::less<>> known = {"/v1/chat/completions",
                                                             "/v1/messages",
                                                             "/v1/responses",
                                                             "/v1/embeddings",
                                                             "/v1/completions",
                                                             "/v1/messages/count_tokens",
                                                             "/v1/route",
                                                             "/v1/models",
                                                             "/v1/providers",
                                                             "/v1/usage",
                                                             "/health",
                                                             "/metrics",
                                                             "/admin/reload"};
    const bool exists =
        known.contains(req.path) || (config.server.dashboard && (req.path == "/dashboard" || req.path == "/dashboard/events"));
    if (exists) {
      return send_error(res, format, error(405, fmt::format("method {} is not allowed on {}", req.method, req.path)),
                        with_id(new_id()));
    }
    send_error(res, format, error(404, fmt::format("no such endpoint: {} {}", req.method, req.path)), with_id(new_id()));
  }

  // One chat request, from submit to the last byte, on its connection's loop: the engine
  // calls back there (from the submitting thread, then from the transport loop running the
  // transfer, which is the same one); calls from any other thread (an in-process provider
  // of its own) are queued to it, in order.
  class Exchange final : public RequestCallbacks, public std::enable_shared_from_this<Exchange> {
   public:
    Exchange(Impl& impl, WireFormat format, Endpoint endpoint, ResponsePtr res)
        : impl_(impl), format_(format), endpoint_(endpoint), res_(std::move(res)) {}

    void run(Request& req) {
      auto self = shared_from_this();
      res_->on_close([self] {
        self->gone_.store(true);
        if (self->handle_) self->handle_->cancel();
      });
      res_->on_written([self] { self->written(); });
      // What the engine calls back with while submit runs (the decision, a plugin's reply,
      // an early failure) is queued, so it runs once the handle is known.
      submitting_.store(true);
      handle_ = impl_.engine->submit(format_, std::move(req.body), req.headers, self, endpoint_);
      submitting_.store(false);
      impl_.track(handle_);
    }

    void on_decision(const PreparedRequest& p) override {
      on_loop([self = shared_from_this(), streamed = p.request.stream, tags = p.request.tags] {
        self->streamed_ = streamed;
        self->tags_ = tags;
        if (streamed) self->schedule_keepalive(self->impl_.options.keepalive);
      });
    }
    void on_attempt(const RouteTarget& target) override {
      on_loop([self = shared_from_this(), target] { self->target_ = target; });
    }
    bool on_bytes(std::string_view bytes) override {
      if (inline_ok()) {
        deliver(bytes);
      } else {
        transit_.fetch_add(bytes.size());
        on_loop([self = shared_from_this(), b = std::string(bytes)] {
          self->transit_.fetch_sub(b.size());
          self->deliver(b);
        });
      }
      return !gone_.load();
    }
    bool behind() const override {
      if (res_->pending() + transit_.load() < kHighWater) return false;
      paused_.store(true);
      // Written meanwhile (on another thread): the wake-up may have been missed.
      return !(res_->pending() + transit_.load() < kHighWater && paused_.exchange(false));
    }
    void on_end(Outcome outcome) override {
      on_loop([self = shared_from_this(), o = std::move(outcome)]() mutable { self->finish(std::move(o)); });
    }

   private:
    // On the connection's loop, with nothing queued before, and not inside submit.
    bool inline_ok() const { return res_->in_loop() && queued_.load() == 0 && !submitting_.load(); }

    template <typename F>
    void on_loop(F&& fn) {
      if (inline_ok()) return fn();
      queued_.fetch_add(1);
      res_->post([self = shared_from_this(), fn = std::forward<F>(fn)]() mutable {
        self->queued_.fetch_sub(1);
        fn();
      });
    }

    Headers head() const {
      Headers h = with_id(handle_->id());
      if (!tags_.empty()) h.emplace_back("X-Router-Request-Tags", join(tags_));
      return h;
    }

    // A stream's status goes out with its first bytes, at its end, or when the keep-alive
    // interval passed first: an upstream that fails quickly is answered with its real status.
    void start_stream() {
      if (res_->started()) return;
      Headers h = head();
      if (!target_.provider.empty()) {  // a reply from a plugin went through no provider
        h.emplace_back("X-Router-Provider", target_.provider);
        h.emplace_back("X-Router-Model", target_.model);
      }
      h.emplace_back("Content-Type", "text/event-stream");
      h.emplace_back("Cache-Control", "no-cache");
      h.emplace_back("X-Accel-Buffering", "no");
      res_->start(200, std::move(h));
    }

    void deliver(std::string_view bytes) {
      if (ended_) return;
      if (!streamed_) {
        body_ += bytes;
        return;
      }
      start_stream();
      res_->write(bytes);
      last_write_ = Clock::now();
    }

    void schedule_keepalive(std::chrono::milliseconds in) {
      res_->after(in, [self = shared_from_this()] {
        if (self->ended_) return;
        const auto interval = self->impl_.options.keepalive;
        const auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - self->last_write_);
        if (!self->res_->started() || quiet >= interval) {
          self->start_stream();
          std::string ping;
          make_stream_encoder(self->format_)->keepalive(ping);
          self->res_->write(ping);
          self->last_write_ = Clock::now();
          return self->schedule_keepalive(interval);
        }
        self->schedule_keepalive(interval - quiet);
      });
    }

    void written() {
      if (paused_.load() && res_->pending() + transit_.load() < kHighWater / 2 && paused_.exchange(false)) handle_->resume();
    }

    void finish(Outcome o) {
      ended_ = true;
      impl_.metrics.record(format_, o);
      if (handle_) impl_.untrack(handle_);
      if (res_->started()) {
        // A failure after the status went out but before any byte of the reply (a timeout,
        // exhausted failover): the client still learns why, in its format.
        if (o.error && !o.delivered) {
          std::string chunk;
          make_stream_encoder(format_)->encode(StreamError{*o.error}, chunk);
          res_->write(chunk);
        }
        return res_->end();
      }
      Headers h = head();
      add_provider(h, o);
      if (o.error) return send_error(res_, format_, *o.error, std::move(h));
      if (streamed_) {  // nothing was streamed, yet no error: cannot happen, but answer
        return send_error(res_, format_, Error{Errc::Internal, "the reply was empty", 502, {}}, std::move(h));
      }
      const Response& r = *o.response;
      if (!r.tags.empty()) h.emplace_back("X-Router-Response-Tags", join(r.tags));
      h.emplace_back("X-Router-Input-Tokens", std::to_string(r.usage.input_tokens));
      h.emplace_back("X-Router-Output-Tokens", std::to_string(r.usage.output_tokens));
      send_json(res_, 200, std::move(h), std::move(body_));
    }

    Impl& impl_;
    const WireFormat format_;
    const Endpoint endpoint_;
    ResponsePtr res_;
    std::shared_ptr<RequestHandle> handle_;
    std::atomic<bool> submitting_{false};
    // Loop-only state.
    bool streamed_ = false;
    bool ended_ = false;
    std::vector<std::string> tags_;
    RouteTarget target_;
    std::string body_;
    Clock::time_point last_write_ = Clock::now();
    // Shared with other threads.
    std::atomic<bool> gone_{false};
    mutable std::atomic<bool> paused_{false};
    std::atomic<std::size_t> transit_{0};  // reply bytes queued to the loop
    std::atomic<int> queued_{0};           // callbacks queued to the loop
  };

  void chat(WireFormat format, Request& req, const ResponsePtr& res) {
    // With [[keys]], the engine identifies the caller itself (gateway.h).
    if (!engine->current()->keys().enabled() && !authorized(req)) {
      return refuse(format, error(401, "invalid or missing API key: send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'"), res);
    }
    std::make_shared<Exchange>(*this, format, endpoint_of_path(req.path), res)->run(req);
  }

  void count_tokens(Request& req, const ResponsePtr& res) {
    const WireFormat format = WireFormat::Anthropic;
    std::shared_ptr<const Generation> g = engine->current();
    const uint64_t id = g->pipeline().new_request_id();
    if (!authorized(req)) return send_error(res, format, error(401, "invalid or missing API key"), with_id(id));
    // count_tokens bodies carry no max_tokens; the Messages decoder wants one.
    auto decoded = decode_request(format, req.body);
    std::string body = req.body;
    if (!decoded && req.body.find("\"max_tokens\"") == std::string::npos) {
      const std::size_t brace = body.find('{');
      if (brace != std::string::npos) body.insert(brace + 1, "\"max_tokens\":1,");
      decoded = decode_request(format, body);
    }
    if (!decoded) return send_error(res, format, decoded.error(), with_id(id));
    // A team key counts tokens only for the models it may use.
    if (g->keys().enabled()) {
      if (const Caller c = g->keys().identify(given_key(req));
          c.kind == Caller::Kind::Key && !key_allows_model(*c.key, decoded->model)) {
        return send_error(res, format, model_denied_error(*c.key, decoded->model), with_id(id));
      }
    }
    auto routed = g->pipeline().route(format, body);
    if (routed && routed->decision) {
      const RouteTarget& t = routed->decision->target;
      const ProviderConfig* pc = g->config().find_provider(t.provider);
      if (pc && pc->format == WireFormat::Anthropic)
        return forward_count(id, *pc, t.model, req, res);
    }
    send_json(res, 200, with_id(id, {{"X-Router-Estimate", "true"}}),
              fmt::format(R"({{"input_tokens":{}}})", estimate_input_tokens(*decoded)));
  }

  // Asks the Anthropic provider the request routes to; the answer is written on the
  // connection's loop when the transfer ends.
  void forward_count(uint64_t id, const ProviderConfig& pc, const std::string& model, const Request& req,
                     const ResponsePtr& res) {
    auto body = passthrough_request(req.body, model);
    if (!body) return send_error(res, WireFormat::Anthropic, body.error(), with_id(id));
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
    for (const auto& header : req.headers) {
      const std::string& name = header.first;
      if (!is_forwarded_header(name) || !provider_forwards(pc, name)) continue;
      std::erase_if(up.headers, [&](const auto& h) { return h.first == name; });
      up.headers.push_back(header);
    }
    if (pc.api_key_env) {
      if (auto key = engine->getenv()(*pc.api_key_env); key && !key->empty()) up.headers.emplace_back("x-api-key", *key);
    }
    for (const auto& [k, v] : pc.headers) {  // the configured headers win
      std::erase_if(up.headers, [name = lower(k)](const auto& h) { return h.first == name; });
      up.headers.emplace_back(lower(k), v);
    }

    class Count final : public TransferObserver {
     public:
      // `transport` runs the transfer, so it outlives it.
      Count(ResponsePtr res, Headers headers, std::string provider, Transport& transport)
          : res_(std::move(res)), headers_(std::move(headers)), provider_(std::move(provider)), transport_(transport) {}
      // Known once start returned (the transfer runs on this same loop, so before any data).
      void started(TransferId id) { id_.store(id); }
      void on_headers(int s, const std::vector<std::pair<std::string, std::string>>&) override { status_ = s; }
      bool on_data(std::string_view bytes) override {
        if (too_large_) return true;
        if (body_.size() + bytes.size() > kMaxCountReply) {
          too_large_ = true;  // a token count is a few bytes: this is no count, and no more is read
          std::string().swap(body_);
          if (const TransferId id = id_.load()) transport_.cancel(id);
          return true;
        }
        body_ += bytes;
        return true;
      }
      void on_complete(Result<void> r) override {
        res_->post([res = res_, h = std::move(headers_), provider = provider_, status = status_, body = std::move(body_),
                    too_large = too_large_, r = std::move(r)]() mutable {
          if (too_large) {
            return send_error(res, WireFormat::Anthropic,
                              Error{Errc::Upstream,
                                    fmt::format("provider '{}': the token count reply is larger than {} bytes", provider,
                                                kMaxCountReply),
                                    502, provider},
                              std::move(h));
          }
          if (!r) return send_error(res, WireFormat::Anthropic, r.error(), std::move(h));
          if (status < 200 || status >= 300) {
            return send_error(res, WireFormat::Anthropic, upstream_error(provider, status, body, ""), std::move(h));
          }
          send_json(res, 200, std::move(h), std::move(body));
        });
      }

     private:
      ResponsePtr res_;
      Headers headers_;
      std::string provider_;
      int status_ = 0;  // on the transport's loop only
      std::string body_;
      bool too_large_ = false;
      Transport& transport_;
      std::atomic<TransferId> id_{0};
    };
    auto count = std::make_shared<Count>(res, with_id(id, {{"X-Router-Provider", pc.name}, {"X-Router-Model", model}}),
                                         pc.name, *engine->transport());
    const TransferId transfer = engine->transport()->start(std::move(up), count);
    count->started(transfer);
    // A client that leaves takes its count with it.
    res->on_close([transport = engine->transport(), transfer] { transport->cancel(transfer); });
  }

  void route(Request& req, const ResponsePtr& res) {
    const Headers h = with_id(new_id());
    if (!authorized(req)) return send_error(res, WireFormat::OpenAI, error(401, "invalid or missing API key"), h);
    WireFormat format = WireFormat::OpenAI;
    if (auto f = req.param("format")) {
      if (*f == "anthropic") {
        format = WireFormat::Anthropic;
      } else if (*f == "responses") {
        format = WireFormat::Responses;
      } else if (*f != "openai") {
        return send_error(res, WireFormat::OpenAI,
                          error(400, fmt::format("format: expected openai, anthropic or responses, got '{}'", *f)), h);
      }
    }
    std::string_view session;
    for (const auto& [k, v] : req.headers) {
      if (k.size() == 12 && std::equal(k.begin(), k.end(), "x-session-id", [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == b;
          })) {
        session = v;
      }
    }
    auto p = engine->current()->pipeline().explain(format, req.body, 0.0, session);
    if (!p) return send_error(res, WireFormat::OpenAI, p.error(), h);
    send_json(res, 200, h, route_json(*p));
  }

  // Reads the configuration file again and reloads it; the engine runs one reload at a time.
  Result<ReloadReport> reload() {
    if (options.config_file.empty()) {
      return fail(Errc::Config,
                  "there is no configuration file to reload: the server was given its "
                  "configuration, not a file");
    }
    Result<ReloadReport> r = engine->reload_file(options.config_file, options.config_overrides);
    metrics.reload(r.has_value());
    return r;
  }
  void join_reload_thread() {
    std::lock_guard lock(reload_thread_mu);
    if (reload_thread.joinable()) reload_thread.join();
  }

  // POST /admin/reload. Reading the file, building the pipeline and discovery's first round
  // block, so the reload runs on a thread of its own and the answer is written on the
  // connection's loop. One at a time: another while it runs gets 409.
  void admin_reload(const Request& req, const ResponsePtr& res) {
    Headers h = with_id(new_id());
    if (auto refused = operator_refusal(req))
      return send_error(res, WireFormat::OpenAI, *refused, h);
    if (options.config_file.empty()) {
      return send_error(res, WireFormat::OpenAI,
                        error(409,
                              "there is no configuration file to reload: this server was given its "
                              "configuration, not a file"),
                        h);
    }
    std::lock_guard lock(reload_thread_mu);
    if (reloading.exchange(true)) {
      return send_error(
          res, WireFormat::OpenAI,
          error(409, "a reload is already running; send this one again once it is done"), h);
    }
    if (reload_thread.joinable()) reload_thread.join();  // the previous one, which has ended
    reload_thread = std::thread([this, res, h = std::move(h)]() mutable {
      Result<ReloadReport> r = reload();
      res->post([res, h = std::move(h), r = std::move(r)]() mutable {
        if (!r) return send_json(res, 400, std::move(h), reload_error_json(r.error()));
        send_json(res, 200, std::move(h), reload_json(r->source, r->restart_required, r->warnings));
      });
      reloading.store(false);
    });
  }

  // Every provider's state and live figures.
  void providers(const Request& req, const ResponsePtr& res) {
    const Headers h = with_id(new_id());
    if (!authorized(req))
      return send_error(res, WireFormat::OpenAI, error(401, "invalid or missing API key"), h);
    std::shared_ptr<const Generation> g = engine->current();
    const std::shared_ptr<ModelCatalog>& catalog = engine->catalog();
    send_json(res, 200, h,
              providers_json(g->config(), g->pipeline().live()->snapshot(),
                             [&](std::string_view name) -> std::optional<std::vector<std::string>> {
                               if (!catalog->loaded_known(name)) return std::nullopt;
                               return catalog->loaded(name);
                             }));
  }

  void models(const Request& req, const ResponsePtr& res) {
    const Headers h = with_id(new_id());
    if (!authorized(req)) return send_error(res, format_of_path(req.path), error(401, "invalid or missing API key"), h);
    std::shared_ptr<const Generation> g = engine->current();
    std::vector<RouteTarget> known = g->pipeline().router().known_models();
    // A team key sees the models it may use.
    if (g->keys().enabled()) {
      if (const Caller c = g->keys().identify(given_key(req)); c.kind == Caller::Kind::Key) {
        std::erase_if(known,
                      [&](const RouteTarget& m) { return !key_allows_model(*c.key, m.model); });
      }
    }
    send_json(res, 200, h, models_json(known));
  }

  // GET /v1/usage: the calling key's figures; the operator gets every key's.
  void usage(const Request& req, const ResponsePtr& res) {
    Headers h = with_id(new_id());
    std::shared_ptr<const Generation> g = engine->current();
    if (!g->keys().enabled()) {
      return send_error(
          res, WireFormat::OpenAI,
          error(404, "no team keys are configured ([[keys]]): there is no usage to report"), h);
    }
    const Caller c = g->keys().identify(given_key(req));
    if (c.kind == Caller::Kind::Unknown)
      return send_error(res, WireFormat::OpenAI, unknown_key_error(), h);
    std::vector<KeyConfig> keys;
    if (c.kind == Caller::Kind::Key) {
      keys.push_back(*c.key);
    } else {
      keys = g->keys().keys();
    }
    // The store may answer on another thread: the figures are gathered, then written on the
    // connection's loop.
    struct Gather {
      std::mutex mu;
      std::vector<std::pair<KeyConfig, KeyUsage>> figures;  // guarded by mu
      std::optional<Error> failed;                          // guarded by mu
      std::size_t left = 0;                                 // guarded by mu
    };
    auto gather = std::make_shared<Gather>();
    gather->left = keys.size();
    gather->figures.resize(keys.size());
    const bool as_list = c.kind == Caller::Kind::Operator;
    if (keys.empty()) return send_json(res, 200, std::move(h), usage_json({}, true));
    const int64_t now = unix_now_ms();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      gather->figures[i].first = keys[i];
      g->limits()->usage(
          keys[i].name, KeyLimits::of(keys[i]), now,
          [gather, i, res, h, as_list](Result<KeyUsage> u) {
            std::lock_guard lock(gather->mu);
            if (u) {
              gather->figures[i].second = std::move(*u);
            } else if (!gather->failed) {
              gather->failed = u.error();
            }
            if (--gather->left > 0) return;
            res->post([gather, res, h, as_list]() mutable {
              std::lock_guard inner(gather->mu);
              if (gather->failed) {
                return send_error(res, WireFormat::OpenAI, state_unavailable_error(*gather->failed),
                                  std::move(h));
              }
              send_json(res, 200, std::move(h), usage_json(gather->figures, as_list));
            });
          });
    }
  }

  void scrape(const Request& req, const ResponsePtr& res) {
    Headers h = with_id(new_id());
    if (auto refused = operator_refusal(req))
      return send_error(res, WireFormat::OpenAI, *refused, h);
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
      in.log_dropped = log_file->dropped();
    }
    if (const auto& limits = engine->current()->limits()) {
      in.state_errors = limits->errors();
      in.state_up = limits->healthy();
    }
    if (edge) {
      in.connections_open = edge->connections();
      in.connections_refused = edge->refused_connections();
    }
    {
      std::shared_ptr<const Generation> g = engine->current();
      const std::vector<ProviderSnapshot> live = g->pipeline().live()->snapshot();
      for (const ProviderConfig& pc : g->config().providers) {
        ProviderSnapshot p = provider_snapshot(pc, live);
        const std::string_view state = provider_state(pc, p);
        in.providers.push_back(ProviderScrape{state, std::move(p)});
      }
    }
    h.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    res->send(200, std::move(h), metrics.scrape(in));
  }

  // The live event feed: the subscription is polled on the connection's loop (a few
  // dashboards at most), with a keep-alive comment after 15 s of silence.
  void dashboard_events(const Request& req, const ResponsePtr& res) {
    Headers h = with_id(new_id());
    if (auto refused = operator_refusal(req))
      return send_error(res, WireFormat::OpenAI, *refused, h);
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
    h.emplace_back("Content-Type", "text/event-stream");
    h.emplace_back("Cache-Control", "no-cache");
    h.emplace_back("X-Accel-Buffering", "no");
    res->start(200, std::move(h));
    res->write("retry: 1000\n\n");
    feed(res, std::move(sub), Clock::now());
  }
  void feed(const ResponsePtr& res, std::shared_ptr<Subscription> sub, Clock::time_point last_write) {
    if (stopping.load()) return res->end();
    std::string ev, out;
    EventType type{};
    while (out.size() < (256u << 10) && res->pending() < (1u << 20) &&
           sub->next(ev, std::chrono::milliseconds(0), type)) {
      out += fmt::format("event: {}\ndata: {}\n\n", event_type_name(type), ev);
    }
    if (out.empty() && Clock::now() - last_write >= std::chrono::seconds(15)) out = ": keep-alive\n\n";
    if (!out.empty()) {
      res->write(out);
      last_write = Clock::now();
    }
    res->after(kDashboardPoll, [this, res, sub = std::move(sub), last_write]() mutable { feed(res, std::move(sub), last_write); });
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
  eo.registries = options.registries;
  auto engine = Engine::create(config, std::move(eo));
  if (!engine) return fail(engine.error());
  impl->engine = std::move(*engine);
  impl->config = std::move(config);
  impl->options = std::move(options);
  impl->metrics.limit_models(impl->config.server.metrics_max_models);
  Impl* raw = impl.get();
  http::HttpServer::Options eo2 = http::HttpServer::Options::from(raw->config.server);
  auto edge = http::HttpServer::create(
      std::move(eo2), [raw](Request& req, std::shared_ptr<http::Response> res) { raw->handle(req, res); },
      raw->engine->transport());
  if (!edge) return fail(edge.error());
  raw->edge = std::move(*edge);
  // Bounded (4096 events, 1 MiB) but drained at once: health changes are seconds apart.
  raw->health_sub = raw->engine->events()->subscribe(4096, 1u << 20, EventType::Health);
  raw->health_counter = std::thread([raw] { raw->count_health(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
  impl_->join_stopper();
  impl_->join_reload_thread();
  impl_->stop_health_counter();
  impl_->edge.reset();  // every connection closed, while the loops still run
  impl_->engine->shutdown();
  // The engine (its loops and what they still hold) goes before the metrics, subscriptions
  // and handles its callbacks use.
  impl_->engine.reset();
}

Result<int> Server::bind() {
  const ServerConfig& s = impl_->config.server;
  if (!is_loopback_host(s.host) && !s.api_key_env && impl_->config.keys.empty() &&
      !s.allow_unauthenticated) {
    return fail(Errc::Config,
                fmt::format("{}: refusing to serve {} without authentication: anyone who can reach that address could "
                            "use every configured provider (and its keys). Set [server] api_key_env to the variable "
                            "holding the key clients must send, or set [server] allow_unauthenticated = true to serve "
                            "it openly",
                            impl_->config.source, s.host));
  }
  impl_->requires_auth.store(!is_loopback_host(s.host) && !s.allow_unauthenticated);
  auto port = impl_->edge->listen(s.host, s.port);
  if (!port) return fail(port.error());
  impl_->port = *port;
  return *port;
}

Result<void> Server::run() {
  std::optional<Error> failed = impl_->edge->wait_listener();  // until stop() or a listener failure
  if (failed) stop();
  {
    std::unique_lock lock(impl_->done_mu);
    impl_->done_cv.wait(lock, [&] { return impl_->done; });
  }
  impl_->join_stopper();
  impl_->engine->shutdown();  // the log and the telemetry (bounded)
  if (failed) return fail(*failed);
  return {};
}

void Server::stop() {
  bool expected = false;
  if (!impl_->stopping.compare_exchange_strong(expected, true)) return;
  Impl* impl = impl_.get();
  std::lock_guard lock(impl->stopper_mu);
  impl->stopper = std::thread([impl] {
    // No new connections; new requests on open ones get 503; the ones being served get
    // the grace period.
    impl->edge->drain();
    auto wait_for_responses = [impl](Clock::time_point deadline) {
      while ((impl->edge->busy() > 0 || impl->engine->current()->pipeline().in_flight() > 0) && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    };
    wait_for_responses(Clock::now() + impl->options.grace);
    if (impl->engine->current()->pipeline().in_flight() > 0 || impl->edge->busy() > 0) {
      log(LogLevel::Warn, fmt::format("shutdown: cancelling {} request(s) still running after the grace period",
                                      impl->engine->current()->pipeline().in_flight()));
      impl->cancel_all();
      wait_for_responses(Clock::now() + std::chrono::seconds(2));  // cancellation is prompt
    }
    impl->edge->close_all();
    impl->edge->wait_closed(std::chrono::seconds(5));
    std::lock_guard done_lock(impl->done_mu);
    impl->done = true;
    impl->done_cv.notify_all();
  });
}

int Server::port() const noexcept { return impl_->port; }
void Server::reopen_log() { impl_->engine->reopen_log(); }
Result<ReloadReport> Server::reload() {
  return impl_->reload();
}
const Pipeline& Server::pipeline() const noexcept { return impl_->engine->current()->pipeline(); }

}  // namespace llmrouter::server
