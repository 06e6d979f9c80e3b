// SPDX-License-Identifier: MIT
// Pipeline::handle: one request from its body to its last event, with failover and the
// start / classified / routed / complete events on every path.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include "core/json_schema.h"
#include "json/json.h"
#include "llmrouter/formats.h"
#include "llmrouter/log.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/transport.h"
#include "util/strings.h"

namespace llmrouter {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Keeps a Responses client's conversation under its reply's id (state.h): the messages as
// the provider saw them (the instructions are not carried over), then the reply's text and
// tool calls as an assistant message. Unless the client sent `store: false`.
void keep_conversation(ResponseStore& store, const Config& config, const PreparedRequest& p,
                       const Response& resp) {
  if (!p.request.store.value_or(true) || config.state.responses_max == 0) return;
  std::vector<Message> conversation = p.request.messages;
  Message reply{Role::Assistant, {}, {}};
  for (const ContentBlock& b : resp.content) {
    if (std::holds_alternative<TextBlock>(b) || std::holds_alternative<ToolUseBlock>(b))
      reply.content.push_back(b);
  }
  if (!reply.content.empty()) conversation.push_back(std::move(reply));
  if (auto kept = store.put(resp.id, std::move(conversation)); !kept) {
    log(LogLevel::Warn, fmt::format("request {}: response {} not kept: {}", p.state.id, resp.id,
                                    kept.error().message));
  }
}

}  // namespace

namespace detail {

// Forwards a provider's events to the client while assembling the reply.
class Relay final : public EventSink {
 public:
  Relay(RequestObserver& client, Outcome& outcome, Clock::time_point start, bool& ended)
      : client_(client), outcome_(outcome), start_(start), ended_(ended) {}

  bool on_event(const StreamEvent& e) override {
    if (const auto* s = std::get_if<MessageStart>(&e);
        s && !response_id.empty() && s->id != response_id) {
      MessageStart renamed = *s;  // a Responses client gets the id its conversation is kept under
      renamed.id = response_id;
      return on_event(StreamEvent(std::move(renamed)));
    }
    if (!attempt_first_) attempt_first_ = Clock::now();
    if (!outcome_.delivered) {
      outcome_.delivered = true;
      outcome_.ttft_ms = ms_since(start_);
    }
    if (auto r = assembler_.add(e); !r && !bad_) {
      bad_ = true;
      log(LogLevel::Warn, fmt::format("request {}: {}", outcome_.id, r.error().message));
    }
    if (std::holds_alternative<Done>(e) || std::holds_alternative<StreamError>(e)) ended_ = true;
    if (const auto* failed = std::get_if<StreamError>(&e)) attempt_error_ = failed->error;
    return client_.on_event(e);
  }
  bool on_raw(std::string_view bytes) override {
    if (!attempt_first_) attempt_first_ = Clock::now();
    if (!outcome_.delivered) {
      outcome_.delivered = true;
      outcome_.ttft_ms = ms_since(start_);
    }
    outcome_.passthrough = true;
    return client_.on_raw(bytes);
  }
  bool on_idle() override { return client_.on_idle(); }
  ResponseAssembler& assembler() { return assembler_; }
  // Forgets a reply that was refused (none of it reached the client): the next attempt's
  // is assembled afresh.
  void restart() {
    assembler_ = ResponseAssembler();
    bad_ = false;
    ended_ = false;
  }
  // When the attempt running now delivered its first byte (unset: not yet).
  std::optional<Clock::time_point>& attempt_first() { return attempt_first_; }
  // The error the attempt running now ended with in-band, after events (unset: none).
  std::optional<Error>& attempt_error() { return attempt_error_; }
  // For a Responses client served by a provider that does not keep conversations: the id of
  // the reply (MessageStart's id is replaced by it). Empty: the provider's own id.
  std::string response_id;

 private:
  std::optional<Clock::time_point> attempt_first_;
  std::optional<Error> attempt_error_;
  RequestObserver& client_;
  Outcome& outcome_;
  Clock::time_point start_;
  ResponseAssembler assembler_;
  bool bad_ = false;
  bool& ended_;
};

// A call's state while it runs: the relay to the client, the targets left, and for an
// asynchronous run the lookup, the observer and the exchange in flight.
struct CallRun {
  CallRun(RequestObserver& client, Outcome& outcome, Clock::time_point start, bool& ended)
      : relay(client, outcome, start, ended) {}
  Relay relay;
  std::vector<RouteTarget> targets;
  std::size_t next = 0;
  bool sent = false;
  std::optional<Error> last;
  // The reply once Call::reply_refused checked and finished it (finish_run delivers it).
  std::optional<Response> reply;
  Clock::time_point attempt_start;
  // The attempt's place in the live figures (when `leased`), or why it was refused one.
  AttemptLease lease;
  bool leased = false;
  std::optional<Error> refused;
  // The refusal is of a target that cannot serve this request at all (the next one may).
  bool unsuited = false;
  // While waiting for room (every candidate at its max_concurrency): until when.
  Clock::time_point queue_deadline;
  // run_async only.
  ProviderLookup lookup;
  std::shared_ptr<AsyncRequestObserver> observer;
  std::mutex mu;
  std::shared_ptr<ProviderExchange> exchange;  // guarded by mu: the attempt in flight
  std::size_t attempts_started = 0;            // guarded by mu
  std::size_t attempt_ended = 0;               // guarded by mu: the last attempt that ended
  bool cancelled = false;                      // guarded by mu
  bool resume_pending = false;                 // guarded by mu: a resume that found no exchange yet
};

}  // namespace detail

bool Pipeline::speaks(std::string_view provider, WireFormat client) const {
  const ProviderConfig* pc = config_.find_provider(provider);
  if (!pc) return false;
  return (pc->format == WireFormat::OpenAI && client == WireFormat::OpenAI) ||
         (pc->format == WireFormat::Anthropic && client == WireFormat::Anthropic) ||
         (pc->format == WireFormat::Responses && client == WireFormat::Responses);
}

bool Pipeline::keeps_conversations(std::string_view provider) const {
  const ProviderConfig* pc = config_.find_provider(provider);
  return pc && pc->format == WireFormat::Responses;
}

bool should_fail_over(const Error& e) noexcept {
  if (e.code == Errc::Timeout || e.code == Errc::Overloaded) return true;
  if (e.code != Errc::Upstream) return false;
  const int s = e.status();
  return s == 429 || s >= 500;
}

std::unique_ptr<Call> Pipeline::start(WireFormat client, std::string_view body, Headers headers,
                                      Endpoint endpoint) const {
  std::unique_ptr<Call> call(new Call(*this, client, body, std::move(headers)));
  call->trace_ = tracing_ ? tracing_->begin(call->headers_) : nullptr;
  Outcome& o = call->outcome_;
  o.id = counters_->next_id.fetch_add(1);
  const uint64_t in_flight = counters_->in_flight.fetch_add(1) + 1;

  auto decoded = endpoint == Endpoint::Chat ? decode_request(client, body)
                                            : decode_endpoint_request(endpoint, body);
  if (decoded) call->requested_model_ = decoded->model;
  // A header that would not stay one line upstream is refused here, in the client's format
  // (the transport refuses it again, whoever built the request).
  for (const auto& [k, v] : call->headers_) {
    if (!decoded) break;
    if (auto problem = header_problem(k, v)) decoded = fail(Errc::InvalidRequest, *problem, 400);
  }
  events_->publish(StartEvent{o.id, call->requested_model_, in_flight});
  if (!decoded) {
    call->error_ = decoded.error();
    if (call->trace_) call->trace_->on_routed(nullptr, &*call->error_);
    return call;
  }

  RequestState state;
  state.id = o.id;
  state.client_format = client;
  for (const auto& [k, v] : call->headers_) {
    if (detail::equals_ignoring_case(k, "x-session-id")) state.session_header = v;
  }
  // The random rule's draw: a fresh value per request.
  state.random = static_cast<double>((o.id * 0x9E3779B97F4A7C15ull) >> 11) * 0x1.0p-53;
  Result<PreparedRequest> prepared = fail(Errc::Internal, "internal error", 500);
  try {
    prepared = prepare(std::move(*decoded), std::move(state), PrepareMode::Run);
  } catch (const std::exception& e) {
    // A classifier or plugin that broke its contract: this request fails, the router goes on.
    log(LogLevel::Error, fmt::format("request {}: {}", o.id, e.what()));
    prepared = fail(Errc::Internal, fmt::format("internal error: {}", e.what()), 500);
  } catch (...) {
    log(LogLevel::Error, fmt::format("request {}: unknown exception", o.id));
    prepared = fail(Errc::Internal, "internal error: unknown exception", 500);
  }
  if (!prepared) {
    call->error_ = prepared.error();
    if (call->trace_) call->trace_->on_routed(nullptr, &*call->error_);
    return call;
  }
  o.prepared = std::move(*prepared);
  const PreparedRequest& p = *o.prepared;
  if (call->trace_) call->trace_->on_routed(&p, nullptr);
  events_->publish(ClassifiedEvent{o.id, p.request.tags});
  if (p.decision) {
    const RouteDecision& d = *p.decision;
    events_->publish(RoutedEvent{o.id, d.target.provider, d.target.model, d.reason});
  }
  return call;
}

Result<RouteDecision> Pipeline::reroute(const PreparedRequest& p) const {
  const CanonicalRequest& req = p.request;
  RouteQuery q{req.model, req.tags, needed_capabilities(req), p.state.random, {}, false, false};
  if (config_.routing.affinity != Affinity::None)
    q.session = std::string(session_key(req, p.state.session_header));
  return router_.route(q);
}

std::unique_ptr<Call> Pipeline::refuse(WireFormat client, Error error) const {
  std::unique_ptr<Call> call(new Call(*this, client, {}, {}));
  call->trace_ = tracing_ ? tracing_->begin({}) : nullptr;
  call->outcome_.id = counters_->next_id.fetch_add(1);
  const uint64_t in_flight = counters_->in_flight.fetch_add(1) + 1;
  events_->publish(StartEvent{call->outcome_.id, {}, in_flight});
  call->error_ = std::move(error);
  return call;
}

Outcome Pipeline::handle(WireFormat client, std::string_view body, const Headers& headers,
                         const ProviderLookup& providers, RequestObserver& observer, const CancelFlag& cancel) const {
  return start(client, body, headers)->run(providers, observer, cancel);
}

Call::Call(const Pipeline& pipeline, WireFormat client, std::string_view body, Headers headers)
    : pipeline_(pipeline), client_(client), body_(body), headers_(std::move(headers)), start_(Clock::now()) {}

Call::~Call() {
  // An attempt whose end was never reported (its provider threw): free its place.
  if (run_ && run_->leased) pipeline_.live_->end(run_->lease, AttemptReport{});
  if (!completed_) complete(Error{Errc::Cancelled, "the client went away before the request was sent", 0, {}});
}

// Every path ends here: finish the outcome, publish `complete`, count the request out.
void Call::complete(std::optional<Error> error) {
  completed_ = true;
  if (error) {
    outcome_.error = std::move(error);
    if (outcome_.delivered && !stream_ended_ && observer_) observer_->on_event(StreamError{*outcome_.error});  // in-band
  }
  outcome_.duration_ms = ms_since(start_);
  if (trace_) trace_->on_finish(outcome_, client_, requested_model_, pipeline_.config_);
  const std::string trace = trace_id();
  pipeline_.events_->publish(CompleteEvent{outcome_, client_, requested_model_, trace});
  pipeline_.counters_->in_flight.fetch_sub(1);
}

void Call::refuse(Error e) {
  if (completed_ || run_) return;
  error_ = std::move(e);
}

std::string Call::trace_id() const {
  return trace_ ? trace_->trace_id() : std::string();
}

// Starts running: the relay, then the plugin's answer or the list of targets. False when
// there is nothing to send (the request failed already, or a plugin answered).
bool Call::begin(RequestObserver& observer) {
  observer_ = &observer;
  if (error_) return false;
  run_ = std::make_unique<detail::CallRun>(observer, outcome_, start_, stream_ended_);
  if (client_ == WireFormat::Responses) run_->relay.response_id = new_response_id();
  if (outcome_.prepared->waiting_for_room) {  // routed once a candidate has room (wait_for_room)
    run_->queue_deadline = start_ + pipeline_.config_.routing.queue_timeout;
    return true;
  }
  return begin_targets();
}

// Routes a call that waited for room again. True when it has its targets now; false when it
// failed (error_ is set) or `again` is set: still no room, wait on.
bool Call::route_waiting(bool timed_out, bool& again) {
  again = false;
  PreparedRequest& p = *outcome_.prepared;
  auto d = pipeline_.reroute(p);
  if (d) {
    p.decision = std::move(*d);
    p.waiting_for_room = false;
    const RouteDecision& dec = *p.decision;
    pipeline_.events_->publish(
        RoutedEvent{outcome_.id, dec.target.provider, dec.target.model, dec.reason});
    return begin_targets();
  }
  if (d.error().code == Errc::Overloaded && d.error().http_status == 429 && !timed_out) {
    again = true;
    return false;
  }
  error_ = d.error();
  if (error_->code == Errc::Overloaded && error_->http_status == 429) {
    error_->message += fmt::format(" (waited {} ms for room)", ms_since(start_));
  }
  return false;
}

// Targets from the decision (or the plugin's answer). False when there is nothing to send.
bool Call::begin_targets() {
  PreparedRequest& p = *outcome_.prepared;
  observer_->on_routed(p);
  if (!p.decision) {  // a plugin answered
    for (const StreamEvent& e : events_of(*p.state.response)) run_->relay.on_event(e);
    run_->sent = true;
    return false;
  }
  run_->targets.push_back(p.decision->target);
  run_->targets.insert(run_->targets.end(), p.decision->fallbacks.begin(), p.decision->fallbacks.end());
  if (run_->targets.size() > pipeline_.config_.routing.max_attempts) run_->targets.resize(pipeline_.config_.routing.max_attempts);
  return true;
}

// A reply ends the attempts, unless reply_refused refuses it.
const RouteTarget* Call::next_target() {
  if (!run_ || (run_->sent && !reply_refused()) || run_->next >= run_->targets.size())
    return nullptr;
  return &run_->targets[run_->next++];
}

// Prepares one attempt: its span, the request with the target's model, pass-through and
// forwarded headers. Returns the provider (null: none serves the name).
const Provider* Call::attempt_begin(const RouteTarget& t, const ProviderLookup& providers, CanonicalRequest& upstream,
                                    SendOptions& options) {
  run_->attempt_start = Clock::now();
  observer_->on_attempt(t);
  const Provider* provider = providers ? providers(t.provider) : nullptr;
  if (trace_) trace_->on_attempt_begin(options);
  run_->leased = false;
  run_->refused.reset();
  run_->unsuited = false;
  run_->relay.attempt_first().reset();
  run_->relay.attempt_error().reset();
  const PreparedRequest& prepared = *outcome_.prepared;
  if (client_ == WireFormat::Responses) {
    if (pipeline_.keeps_conversations(t.provider)) {
      run_->relay.response_id.clear();
    } else if (!prepared.request.previous_response_id.empty()) {
      // Only a Responses provider may know the id.
      run_->refused = previous_response_not_found(prepared.request.previous_response_id);
      run_->unsuited = true;
      return nullptr;
    } else if (run_->relay.response_id.empty()) {
      run_->relay.response_id = new_response_id();
    }
  }
  std::optional<std::string> endpoint_body;
  if (provider && prepared.request.endpoint != Endpoint::Chat) {
    // The endpoint's body for this provider's format; a format without the endpoint is a 400.
    const ProviderConfig* pc = pipeline_.config_.find_provider(t.provider);
    CanonicalRequest target = prepared.request;
    target.model = t.model;
    auto body = encode_endpoint_request(pc ? pc->format : WireFormat::OpenAI, target, body_);
    if (!body) {
      run_->refused = body.error();
      run_->refused->message = fmt::format("provider '{}': {}", t.provider, run_->refused->message);
      run_->unsuited = true;
      return nullptr;
    }
    endpoint_body = std::move(*body);
  }
  ProviderLive* live = provider ? pipeline_.router_.live_slot(t.provider) : nullptr;
  if (live) {
    // Capacity and health again: the fallbacks were chosen when the request was routed.
    const PreparedRequest& p = *outcome_.prepared;
    // The last target goes even when ejected meanwhile: a failure from it says more than our
    // refusal would.
    const bool last = run_->next >= run_->targets.size();
    if (auto no = pipeline_.live_->begin(*live, t.model, run_->lease,
                                         last || (p.decision && p.decision->despite_ejection))) {
      const bool full = *no == NoRoom::AtCapacity;
      run_->refused = Error{
          Errc::Overloaded,
          fmt::format("provider '{}' {}", t.provider,
                      full ? "is at its max_concurrency" : "is ejected after repeated failures"),
          full ? 429 : 503, t.provider, std::string(1, '1')};
      return nullptr;
    }
    run_->leased = true;
  }
  if (provider) {
    const PreparedRequest& p = *outcome_.prepared;
    upstream = p.request;
    upstream.model = t.model;
    options.headers = headers_;
    if (endpoint_body) {
      options.passthrough_body = std::move(*endpoint_body);
    } else if (!p.modified && pipeline_.speaks(t.provider, client_)) {
      if (auto spliced = passthrough_request(body_, t.model)) options.passthrough_body = std::move(*spliced);
    }
  }
  return provider;
}

// Records an attempt's end. True when no further attempt follows (it answered, the reply
// had started, or the error is not worth another provider).
bool Call::attempt_end(const RouteTarget& t, Result<void> r) {
  Attempt attempt{t.provider, t.model, {}, 0, ms_since(run_->attempt_start)};
  const ProviderConfig* pc = pipeline_.config_.find_provider(t.provider);
  if (run_->leased) {
    run_->leased = false;
    report_attempt(t, r);
  }
  if (r) {
    if (trace_) trace_->on_attempt_end(t, pc, nullptr);
    outcome_.attempts.push_back(std::move(attempt));
    run_->sent = true;
    return true;
  }
  Error e = r.error();
  if (e.provider.empty()) e.provider = t.provider;
  if (trace_) trace_->on_attempt_end(t, pc, &e);
  attempt.error = e.message;
  attempt.status = e.status();
  outcome_.attempts.push_back(std::move(attempt));
  if (run_->unsuited) {
    // A target that cannot serve this request at all (its format lacks the endpoint, or
    // cannot continue a conversation the router does not hold): the next one may. Its
    // refusal is the answer only when nothing better came before.
    run_->unsuited = false;
    if (!run_->last) run_->last = e;
    return outcome_.delivered;
  }
  run_->last = e;
  if (outcome_.delivered || !should_fail_over(e)) return true;
  log(LogLevel::Info, fmt::format("request {}: provider {} failed ({}), trying the next one", outcome_.id, t.provider, e.message));
  return false;
}

// The attempt's figures and health (live.h); a change of health is an event and a log line.
void Call::report_attempt(const RouteTarget& t, const Result<void>& r) {
  const Clock::time_point now = Clock::now();
  // The provider's failure, not the request's: a connection failure, a timeout, a 5xx it
  // answered with, or its overload reported in-band (Anthropic's 529). A reply too large
  // for max_upstream_reply_bytes, or a 4xx, says nothing of the provider's health.
  auto provider_failed = [](const Error& e) {
    return e.code == Errc::Timeout || e.transport || e.upstream_status >= 500 ||
           e.http_status == 529;
  };
  const std::optional<Error>& in_band = run_->relay.attempt_error();
  AttemptReport report;
  report.ok = r.has_value() && !in_band;
  report.total_ms = std::chrono::duration<double, std::milli>(now - run_->attempt_start).count();
  if (const auto& first = run_->relay.attempt_first()) {
    report.ttft_ms =
        std::chrono::duration<double, std::milli>(*first - run_->attempt_start).count();
  }
  report.output_tokens = run_->relay.assembler().partial().usage.output_tokens;
  report.streamed = outcome_.prepared && outcome_.prepared->request.stream;
  if (!r || in_band) {
    const Error& e = r ? *in_band : r.error();
    if (provider_failed(e)) {
      report.provider_failure = true;
    } else if (e.code == Errc::Upstream && e.upstream_status == 429 && !e.retry_after.empty()) {
      report.provider_failure = true;
      char* end = nullptr;
      const long seconds = std::strtol(e.retry_after.c_str(), &end, 10);
      if (end && *end == '\0' && seconds > 0) report.retry_after = std::chrono::seconds(seconds);
    }
  }
  auto change = pipeline_.live_->end(run_->lease, report);
  if (report.ok && pipeline_.config_.routing.affinity != Affinity::None && outcome_.prepared &&
      outcome_.prepared->decision && !(outcome_.prepared->decision->target == t)) {
    // A failover served the session: it stays where it was served.
    const std::string_view key =
        session_key(outcome_.prepared->request, outcome_.prepared->state.session_header);
    if (!key.empty()) pipeline_.live_->remember(key, t.provider, t.model);
  }
  if (!change) return;
  const bool ejected = change->health == Health::Ejected;
  const std::string reason = !r ? r.error().message : in_band ? in_band->message : std::string();
  pipeline_.events_->publish(HealthEvent{change->provider, ejected ? "ejected" : "restored",
                                         static_cast<int64_t>(change->duration.count()),
                                         change->consecutive_failures, reason});
  if (ejected) {
    log(LogLevel::Warn,
        fmt::format("provider {} ejected for {} ms after {} consecutive failures (last: {})",
                    change->provider, change->duration.count(), change->consecutive_failures,
                    reason));
  } else {
    log(LogLevel::Info, fmt::format("provider {} restored: a request succeeded", change->provider));
  }
}

// A non-streamed reply to a request with a JSON schema, checked once the post_response
// plugins (response-healing) ran. True when it does not match and, with `[routing]
// enforce_json_schema`, the next target is tried instead: the refused reply counts as a
// failed attempt, though not as the provider's failure. Otherwise the reply is finished
// here for finish_run, tagged `schema-invalid` when it does not match.
bool Call::reply_refused() {
  if (error_ || !run_ || !run_->sent || run_->reply) return false;
  PreparedRequest& p = *outcome_.prepared;
  const std::optional<ResponseFormat>& rf = p.request.response_format;
  if (!p.decision || p.request.stream || !rf || rf->type != ResponseFormat::Type::JsonSchema ||
      rf->schema.empty())
    return false;
  auto response = run_->relay.assembler().finish();
  if (!response) return false;  // finish_run reports it
  const bool enforce =
      pipeline_.config_.routing.enforce_json_schema && run_->next < run_->targets.size();
  const std::size_t active = p.state.active_plugins.size();
  std::optional<std::string> violation;
  const bool kept = pipeline_.finish(p, *response, [&](Response& r) {
    std::string text;
    for (const ContentBlock& b : r.content) {
      if (const auto* t = std::get_if<TextBlock>(&b)) text += t->text;
    }
    violation = detail::json_schemas().violation(rf->schema.text, text);
    if (violation && enforce) return false;
    if (violation) r.tags.emplace_back("schema-invalid");
    return true;
  });
  if (kept) {
    run_->reply = std::move(*response);
    return false;
  }
  Attempt& refused = outcome_.attempts.back();
  refused.error = fmt::format("reply does not match the schema: {}", *violation);
  log(LogLevel::Info, fmt::format("request {}: provider {} failed ({}), trying the next one",
                                  outcome_.id, refused.provider, refused.error));
  p.state.active_plugins.resize(active);
  p.response_modified = true;  // the reply delivered is encoded, never the refused one's bytes
  outcome_.delivered = false;
  outcome_.passthrough = false;
  outcome_.ttft_ms.reset();
  run_->relay.restart();
  run_->sent = false;
  return true;
}

// The response side and the `complete` event, once no attempt is left.
Outcome Call::finish_run() {
  Outcome& o = outcome_;
  auto done = [&](std::optional<Error> error) -> Outcome {
    complete(std::move(error));
    return std::move(o);
  };
  if (error_) return done(error_);
  if (!run_->sent) return done(run_->last);
  PreparedRequest& p = *o.prepared;
  if (p.request.endpoint != Endpoint::Chat && !o.passthrough) {
    // An endpoint's reply is the provider's body; events alone (a plugin's answer, an
    // in-process provider) have no form the client could read.
    return done(
        Error{Errc::Internal,
              fmt::format("the reply to /v1/{} came without a body (answered with events only)",
                          endpoint_name(p.request.endpoint)),
              502,
              {}});
  }
  const bool finished = run_->reply.has_value();  // by reply_refused
  auto response =
      finished ? Result<Response>(std::move(*run_->reply)) : run_->relay.assembler().finish();
  if (!response) {  // the stream failed in-band
    if (trace_) trace_->on_stream_error(response.error());
    return done(response.error());
  }
  if (!finished) pipeline_.finish(p, *response);
  if (!run_->relay.response_id.empty()) {
    response->id = run_->relay.response_id;
    keep_conversation(*pipeline_.responses_, pipeline_.config_, p, *response);
  }
  if (trace_) trace_->on_response(*response);
  if (p.decision) {
    if (const ProviderConfig* pc = pipeline_.config_.find_provider(o.attempts.back().provider)) {
      o.cost_usd = static_cast<double>(response->usage.input_tokens + response->usage.output_tokens) / 1e6 *
                   pc->cost_per_1m_tokens;
    }
  }
  o.response = std::move(*response);
  return done(std::nullopt);
}

namespace {
Error no_provider(const RouteTarget& t) {
  return Error{Errc::Internal, fmt::format("no transport for provider '{}'", t.provider), 0, {}};
}
}  // namespace

Outcome Call::run(const ProviderLookup& providers, RequestObserver& observer, const CancelFlag& cancel) {
  if (completed_) return std::move(outcome_);
  bool go = begin(observer);
  // Every candidate at its max_concurrency: wait here for room, up to queue_timeout_ms.
  while (go && outcome_.prepared->waiting_for_room) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<bool> woke;
    pipeline_.live_->wait_for_room(run_->queue_deadline, [&](bool timed_out) {
      std::lock_guard lock(mu);
      woke = timed_out;
      cv.notify_all();
    });
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return woke.has_value(); });
    }
    bool again = false;
    if (cancel.load()) {
      error_ = Error{Errc::Cancelled, "the client went away", 0, {}};
      go = false;
    } else {
      go = route_waiting(*woke, again) || again;
    }
  }
  if (go) {
    while (const RouteTarget* t = next_target()) {
      if (cancel.load()) {
        run_->last = Error{Errc::Cancelled, "the client went away", 0, {}};
        break;
      }
      CanonicalRequest upstream;
      SendOptions options;
      const Provider* provider = attempt_begin(*t, providers, upstream, options);
      Result<void> r = provider        ? provider->send(upstream, options, run_->relay, cancel)
                       : run_->refused ? fail(*run_->refused)
                                       : fail(no_provider(*t));
      if (attempt_end(*t, std::move(r)) && !run_->sent) break;  // a reply: next_target checks it
    }
  }
  return finish_run();
}

namespace detail {

// One attempt of an asynchronous run: forwards the reply to the relay and, at its end,
// moves the call on (the next attempt, or the end).
class AttemptObserver final : public ReplyObserver {
 public:
  AttemptObserver(std::shared_ptr<Call> call, detail::CallRun& run, const RouteTarget& target, std::size_t attempt)
      : call_(std::move(call)), run_(run), target_(target), attempt_(attempt) {}
  bool on_event(const StreamEvent& e) override { return run_.relay.on_event(e); }
  bool on_raw(std::string_view bytes) override { return run_.relay.on_raw(bytes); }
  bool behind() const override { return run_.observer->behind(); }
  void on_end(Result<void> result) override;

 private:
  std::shared_ptr<Call> call_;
  detail::CallRun& run_;
  const RouteTarget& target_;  // in run_.targets, which does not change while it runs
  std::size_t attempt_;
};

}  // namespace detail

void Call::run_async(std::shared_ptr<Call> self, ProviderLookup providers, std::shared_ptr<AsyncRequestObserver> observer) {
  Call& call = *self;
  if (call.completed_) {
    observer->on_complete(std::move(call.outcome_));
    return;
  }
  if (!call.begin(*observer)) {
    observer->on_complete(call.finish_run());
    return;
  }
  call.run_->lookup = std::move(providers);
  call.run_->observer = std::move(observer);
  if (call.outcome_.prepared->waiting_for_room) return park(self);
  step(self);
}

// Waits for a candidate with room (LiveStats::wait_for_room), then routes again.
void Call::park(const std::shared_ptr<Call>& self) {
  self->pipeline_.live_->wait_for_room(self->run_->queue_deadline, [self](bool timed_out) {
    try {
      Call& call = *self;
      bool cancelled = false;
      {
        std::lock_guard lock(call.run_->mu);
        cancelled = call.run_->cancelled;
      }
      bool again = false;
      if (cancelled) {
        call.error_ = Error{Errc::Cancelled, "the client went away", 0, {}};
      } else if (call.route_waiting(timed_out, again)) {
        return step(self);
      } else if (again) {
        return park(self);
      }
      Outcome outcome = call.finish_run();
      std::shared_ptr<AsyncRequestObserver> observer = std::move(call.run_->observer);
      observer->on_complete(std::move(outcome));
    } catch (const std::exception& e) {
      abort_async(self, e.what());
    } catch (...) {
      abort_async(self, "unknown exception");
    }
  });
}

// An exception on an asynchronous path (a plugin's or classifier's on the response side,
// say) ends the call with an internal error instead of leaving its host waiting.
void Call::abort_async(const std::shared_ptr<Call>& self, std::string_view what) {
  if (self->run_->leased) {  // the attempt that threw frees its place now
    self->run_->leased = false;
    self->pipeline_.live_->end(self->run_->lease, AttemptReport{});
  }
  std::shared_ptr<AsyncRequestObserver> observer = std::move(self->run_->observer);
  if (!observer) return;  // the host has had its end already
  log(LogLevel::Error, fmt::format("request {}: {}", self->outcome_.id, what));
  if (!self->completed_) self->complete(Error{Errc::Internal, fmt::format("internal error: {}", what), 500, {}});
  observer->on_complete(std::move(self->outcome_));
}

// Starts the next attempt, or ends the call when none is left.
void Call::step(const std::shared_ptr<Call>& self) {
  try {
    next_step(self);
  } catch (const std::exception& e) {
    abort_async(self, e.what());
  } catch (...) {
    abort_async(self, "unknown exception");
  }
}

void Call::next_step(const std::shared_ptr<Call>& self) {
  Call& call = *self;
  detail::CallRun& run = *call.run_;
  for (;;) {
    bool cancelled = false;
    {
      std::lock_guard lock(run.mu);
      cancelled = run.cancelled;
    }
    const RouteTarget* t = cancelled ? nullptr : call.next_target();
    if (cancelled && !run.sent) run.last = Error{Errc::Cancelled, "the client went away", 0, {}};
    if (!t) {
      Outcome outcome = call.finish_run();  // may throw (a plugin's hook): the observer is still there
      std::shared_ptr<AsyncRequestObserver> observer = std::move(run.observer);
      observer->on_complete(std::move(outcome));
      return;
    }
    CanonicalRequest upstream;
    SendOptions options;
    const Provider* provider = call.attempt_begin(*t, run.lookup, upstream, options);
    if (!provider) {
      if (call.attempt_end(*t, fail(run.refused ? *run.refused : no_provider(*t))))
        run.next = run.targets.size();
      continue;
    }
    std::size_t attempt = 0;
    {
      std::lock_guard lock(run.mu);
      attempt = ++run.attempts_started;
      run.resume_pending = false;
    }
    // From here the attempt may end on a loop thread at any moment (and move the call on):
    // only the mutex-guarded fields are touched.
    auto exchange = provider->start(upstream, options, std::make_shared<detail::AttemptObserver>(self, run, *t, attempt));
    bool cancel_now = false;
    bool resume_now = false;
    {
      std::lock_guard lock(run.mu);
      if (run.attempt_ended < attempt) {
        run.exchange = exchange;
        cancel_now = run.cancelled;
        resume_now = run.resume_pending;
        run.resume_pending = false;
      }
    }
    if (cancel_now) {
      exchange->cancel();
    } else if (resume_now) {
      exchange->resume();
    }
    return;
  }
}

void detail::AttemptObserver::on_end(Result<void> result) {
  std::shared_ptr<Call> call = std::move(call_);  // the call lives at least until this returns
  {
    std::lock_guard lock(run_.mu);
    run_.attempt_ended = attempt_;
    run_.exchange.reset();
  }
  try {
    // A reply ends the attempts itself (next_target); the targets left stay for reply_refused.
    if (call->attempt_end(target_, std::move(result)) && !run_.sent)
      run_.next = run_.targets.size();
  } catch (const std::exception& e) {
    return Call::abort_async(call, e.what());
  } catch (...) {
    return Call::abort_async(call, "unknown exception");
  }
  Call::step(call);
}

void Call::cancel() {
  std::shared_ptr<ProviderExchange> exchange;
  if (!run_) return;
  {
    std::lock_guard lock(run_->mu);
    run_->cancelled = true;
    exchange = run_->exchange;
  }
  if (exchange) exchange->cancel();
}

void Call::resume() {
  std::shared_ptr<ProviderExchange> exchange;
  if (!run_) return;
  {
    std::lock_guard lock(run_->mu);
    exchange = run_->exchange;
    if (!exchange) run_->resume_pending = true;  // the exchange is being started: it resumes then
  }
  if (exchange) exchange->resume();
}

}  // namespace llmrouter
