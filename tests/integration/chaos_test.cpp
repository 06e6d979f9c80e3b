// SPDX-License-Identifier: MIT
// llmrouter-server in front of an upstream that misbehaves on purpose: a scripted TCP
// server on 127.0.0.1 whose every connection runs one behaviour (a reset before or after
// the headers, a stall, garbage instead of HTTP, a truncated chunked body, an oversized
// SSE event). Each case is checked through the real router, with an OpenAI and an
// Anthropic client, for what the client sees (the documented status and error envelope,
// or the in-band error of a stream whose status went out), for exactly one JSONL line
// carrying the error, and for the router serving the next request normally.
#include "server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "llmrouter/sse.h"
#include "support/config_helpers.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long anything in this file may wait for something that should happen. Generous:
// the cases themselves take well under a second each.
constexpr milliseconds kPatience{10'000};

// --- socket helpers for the scripts -------------------------------------------------

// Writes all of `bytes`; false once the peer is gone.
bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// The close that follows sends a TCP reset instead of a FIN.
void reset_on_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

// True when the peer has closed (or reset) its side; does not wait.
bool peer_closed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

std::string chunk(std::string_view data) {
  return fmt::format("{:x}\r\n{}\r\n", data.size(), data);
}

// --- the scripted upstream ----------------------------------------------------------

// A raw HTTP/1.1 listener on 127.0.0.1:0. Each accepted connection gets a thread that
// reads the request (headers and Content-Length body), then runs the script current at
// that moment with the socket; the socket is closed when the script returns (a reset when
// the script asked for one). Scripts are bounded: their waits end when the peer hangs up,
// when the upstream is destroyed, or after kPatience. Everything is joined in the
// destructor.
class ScriptedUpstream {
 public:
  using Script = std::function<void(int fd)>;

  ScriptedUpstream() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 64), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedUpstream() {
    stopping_.store(true);
    open_gate();
    acceptor_.join();
    ::close(listener_);
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mu_);
      workers = std::move(workers_);
    }
    for (auto& t : workers) t.join();
  }
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  std::string base_url() const { return fmt::format("http://127.0.0.1:{}", port_); }
  // The script for connections accepted from now on; closes the gate.
  void set(Script script) {
    std::lock_guard lock(mu_);
    script_ = std::move(script);
    gate_open_ = false;
  }
  int requests() const { return requests_.load(); }

  // The gate lets a test hold a script at a point until the client has seen what came
  // before (a reset right after the last event could otherwise overtake it).
  void open_gate() {
    std::lock_guard lock(mu_);
    gate_open_ = true;
    cv_.notify_all();
  }
  void wait_gate() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kPatience, [&] { return gate_open_ || stopping_.load(); });
  }

  // Waits up to `d` (or until the upstream stops); returns early, true, when the peer
  // hung up.
  bool wait_for_hangup(int fd, milliseconds d) const {
    const auto deadline = Clock::now() + d;
    while (Clock::now() < deadline && !stopping_.load()) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0 && peer_closed(fd)) return true;
    }
    return false;
  }
  bool stopping() const { return stopping_.load(); }

 private:
  void accept_loop() {
    while (!stopping_.load()) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      Script script;
      {
        std::lock_guard lock(mu_);
        script = script_;
      }
      std::lock_guard lock(mu_);
      workers_.emplace_back([this, fd, script = std::move(script)] {
        if (read_request(fd)) {
          requests_.fetch_add(1);
          if (script) script(fd);
        }
        ::close(fd);
      });
    }
  }

  // Headers, then a Content-Length body; false when the peer left first.
  bool read_request(int fd) const {
    std::string in;
    char buf[8192];
    const auto deadline = Clock::now() + kPatience;
    std::size_t want = std::string::npos;
    while (Clock::now() < deadline && !stopping_.load()) {
      if (want == std::string::npos) {
        const std::size_t end = in.find("\r\n\r\n");
        if (end != std::string::npos) {
          std::string head = in.substr(0, end);
          std::transform(head.begin(), head.end(), head.begin(),
                         [](unsigned char c) { return std::tolower(c); });
          const std::size_t cl = head.find("content-length:");
          want = end + 4 + (cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15)));
        }
      }
      if (want != std::string::npos && in.size() >= want) return true;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in.append(buf, static_cast<std::size_t>(n));
    }
    return false;
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Script script_;                     // guarded by mu_
  bool gate_open_ = false;            // guarded by mu_
  std::vector<std::thread> workers_;  // guarded by mu_
};

// --- replies an OpenAI-compatible upstream sends -------------------------------------

std::string openai_chunk(std::string_view content) {
  return fmt::format(
      "data: "
      "{{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
      "\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}},\"finish_reason\":null}}]}}\n\n",
      content);
}

constexpr std::string_view kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
    "chunked\r\nConnection: close\r\n\r\n";

// A well-behaved upstream: a complete reply, streamed or not, then the connection closes.
void good_reply(int fd, bool stream) {
  if (!stream) {
    const std::string body =
        R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})";
    send_all(fd, fmt::format(
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                     "Connection: close\r\n\r\n{}",
                     body.size(), body));
    return;
  }
  std::string out(kSseHead);
  out += chunk(openai_chunk("fine"));
  out += chunk(
      "data: "
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
      "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
  out += chunk("data: [DONE]\n\n");
  out += "0\r\n\r\n";
  send_all(fd, out);
}

// The head of a stream and its first three events ("part1" to "part3").
std::string stream_start() {
  std::string out(kSseHead);
  for (int i = 1; i <= 3; ++i) out += chunk(openai_chunk(fmt::format("part{}", i)));
  return out;
}

// --- the client side ----------------------------------------------------------------

struct Reply {
  int status = 0;
  std::string head;     // status line and headers, names lowercased
  std::string body;     // de-chunked
  bool framed = false;  // the body ended as its framing says (last chunk, or the full length)

  std::string header(std::string_view name) const {
    const std::string key = fmt::format("\r\n{}: ", name);
    const std::size_t at = head.find(key);
    if (at == std::string::npos) return {};
    const std::size_t from = at + key.size();
    return head.substr(from, head.find("\r\n", from) - from);
  }
};

Reply parse_reply(const std::string& raw) {
  Reply r;
  const std::size_t end = raw.find("\r\n\r\n");
  if (!raw.starts_with("HTTP/1.1 ") || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, end + 2);
  // Header names lowercased (each line's text before its colon; not the status line).
  for (std::size_t line = r.head.find("\r\n");
       line != std::string::npos && line + 2 < r.head.size();
       line = r.head.find("\r\n", line + 2)) {
    for (std::size_t i = line + 2; i < r.head.size() && r.head[i] != ':' && r.head[i] != '\r';
         ++i) {
      r.head[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(r.head[i])));
    }
  }
  std::string_view rest(raw);
  rest.remove_prefix(end + 4);
  if (r.header("transfer-encoding") == "chunked") {
    for (;;) {
      const std::size_t eol = rest.find("\r\n");
      if (eol == std::string_view::npos) break;
      const std::size_t size = std::stoul(std::string(rest.substr(0, eol)), nullptr, 16);
      if (size == 0) {
        r.framed = true;
        break;
      }
      if (rest.size() < eol + 2 + size) {
        r.body.append(rest.substr(eol + 2));
        break;
      }
      r.body.append(rest.substr(eol + 2, size));
      rest.remove_prefix(std::min(rest.size(), eol + 2 + size + 2));
    }
  } else {
    r.body = std::string(rest);
    const std::string length = r.header("content-length");
    r.framed = !length.empty() && r.body.size() == std::stoul(length);
  }
  return r;
}

// One request on its own connection (Connection: close), read as it comes.
class Client {
 public:
  Client(int port, std::string_view path, std::string_view body) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    send_all(fd_,
             fmt::format("POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Connection: close\r\nContent-Length: {}\r\n\r\n{}",
                         path, body.size(), body));
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Reads until `marker` has arrived (true) or the server closed or kPatience passed.
  bool read_until(std::string_view marker) {
    const auto deadline = Clock::now() + kPatience;
    while (raw_.find(marker) == std::string::npos) {
      if (closed_ || Clock::now() >= deadline || !read_some()) return false;
    }
    return true;
  }
  // Everything until the server closes.
  Reply finish() {
    const auto deadline = Clock::now() + kPatience;
    while (!closed_ && Clock::now() < deadline) read_some();
    EXPECT_TRUE(closed_) << "the router did not end the reply within " << kPatience.count()
                         << " ms";
    return parse_reply(raw_);
  }

 private:
  bool read_some() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) return true;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string raw_;
  bool closed_ = false;
};

// The client formats the cases run with.
enum class Api { OpenAI, Anthropic };
// A client format and whether it streams.
using Case = std::pair<Api, bool>;

std::string_view path_of(Api api) {
  return api == Api::OpenAI ? "/v1/chat/completions" : "/v1/messages";
}

std::string body_of(Api api, bool stream) {
  if (api == Api::Anthropic) {
    return fmt::format(
        R"({{"model":"m","max_tokens":100,"stream":{},"messages":[{{"role":"user","content":"hi"}}]}})",
        stream);
  }
  return fmt::format(R"({{"model":"m","stream":{},"messages":[{{"role":"user","content":"hi"}}]}})",
                     stream);
}

std::string trace(Api api, bool stream) {
  return fmt::format("{} client, {}", api == Api::OpenAI ? "OpenAI" : "Anthropic",
                     stream ? "streamed" : "not streamed");
}

// The events of a client's stream. `whole` is false when the stream did not parse.
struct Events {
  std::vector<SseEvent> list;
  bool whole = true;
  std::string problem;
};

Events events_of(const std::string& body) {
  Events e;
  SseParser parser;
  if (auto r = parser.feed(body, e.list); !r) {
    e.whole = false;
    e.problem = r.error().message;
    return e;
  }
  parser.finish(e.list);
  return e;
}

// The error envelope of a non-streamed reply (or a stream refused before its first byte),
// in the client's format, carrying `message`.
void expect_error_reply(Api api, const Reply& r, int status, std::string_view message) {
  EXPECT_EQ(r.status, status) << r.head << r.body.substr(0, 500);
  EXPECT_THAT(r.header("content-type"), StartsWith("application/json"));
  if (api == Api::OpenAI) {
    EXPECT_THAT(r.body, StartsWith(R"({"error":{)"));
  } else {
    EXPECT_THAT(r.body, StartsWith(R"({"type":"error","error":{"type":")"));
  }
  EXPECT_THAT(r.body, HasSubstr(message));
  EXPECT_TRUE(r.framed) << "the error reply was cut";
}

// A stream whose status went out: 200, the events the upstream sent (each `seen`), then
// the in-band error in the client's format carrying `message` as its last event, never
// the stream's normal end.
void expect_in_band_error(Api api, const Reply& r, const std::vector<std::string>& seen,
                          std::string_view message) {
  EXPECT_EQ(r.status, 200) << r.head << r.body.substr(0, 500);
  EXPECT_THAT(r.header("content-type"), StartsWith("text/event-stream"));
  for (const std::string& s : seen) {
    EXPECT_NE(r.body.find(s), std::string::npos) << "'" << s << "' is not in the stream";
  }
  const Events events = events_of(r.body);
  ASSERT_TRUE(events.whole) << "the client cannot parse the stream (" << events.problem
                            << "); its last bytes: "
                            << r.body.substr(r.body.size() > 300 ? r.body.size() - 300 : 0);
  ASSERT_FALSE(events.list.empty()) << r.body;
  // Events can be large (the oversized one): failures show their ends only.
  const SseEvent& last = events.list.back();
  const std::string shown =
      last.data.size() <= 600
          ? last.data
          : fmt::format("{} [... {} bytes ...] {}", last.data.substr(0, 200),
                        last.data.size() - 400, last.data.substr(last.data.size() - 200));
  if (api == Api::OpenAI) {
    EXPECT_TRUE(last.data.starts_with(R"({"error":{)"))
        << "the last event is not an error: " << shown;
    for (const SseEvent& e : events.list) EXPECT_NE(e.data, "[DONE]");
  } else {
    EXPECT_EQ(last.event, "error") << "the last event: " << shown;
    EXPECT_TRUE(last.data.starts_with(R"({"type":"error","error":{"type":")")) << shown;
    for (const SseEvent& e : events.list) EXPECT_NE(e.event, "message_stop");
  }
  EXPECT_NE(last.data.find(message), std::string::npos)
      << "'" << message << "' is not in the last event: " << shown;
  // The router ends its own reply properly: the cut is the upstream's, told in-band.
  EXPECT_TRUE(r.framed) << "the router's reply was cut instead of ended";
}

// --- the router in front of the scripted upstream ------------------------------------

// The router with one OpenAI provider "chaos" at a scripted upstream (behind a fallback
// rule), the JSONL log on. `provider` lands in the provider's table (its timeouts).
// Requests and the log lines they should produce are tallied so the log is checked once.
class Chaos {
 public:
  explicit Chaos(std::string_view provider = {}, std::string_view more = {})
      : dir_(std::filesystem::temp_directory_path() /
             fmt::format("llmrouter-chaos-test-{}-{}", ::getpid(),
                         ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
    log_ = (dir_ / "requests.jsonl").string();
    router_.emplace(testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
[logging]
enabled = true
path = "{}"
[[providers]]
name = "chaos"
format = "openai"
base_url = "{}/v1"
quality = 2
{}
{}
[[routers]]
type = "fallback"
)",
                                                     log_, upstream_.base_url(),
                                                     with_defaults(provider), more)));
  }
  ~Chaos() {
    router_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The provider's keys, with first-byte and idle timeouts that end a forgotten stall
  // long before the test's own patience when the case sets none.
  static std::string with_defaults(std::string_view provider) {
    std::string keys(provider);
    for (const char* key : {"first_byte_timeout_ms", "idle_timeout_ms"}) {
      if (keys.find(key) == std::string::npos) keys += fmt::format("\n{} = 5000", key);
    }
    return keys;
  }

  ScriptedUpstream& upstream() { return upstream_; }
  int port() const { return router_->port(); }

  // The upstream runs `script`; the request should end with one log line whose error
  // holds `logged`.
  Reply request(Api api, bool stream, ScriptedUpstream::Script script, std::string logged) {
    upstream_.set(std::move(script));
    Client c(port(), path_of(api), body_of(api, stream));
    expected_.push_back(std::move(logged));
    return c.finish();
  }
  // Likewise, opening the upstream's gate once the client has received `marker`.
  Reply request_gated(Api api, bool stream, ScriptedUpstream::Script script,
                      std::string_view marker, std::string logged) {
    upstream_.set(std::move(script));
    Client c(port(), path_of(api), body_of(api, stream));
    expected_.push_back(std::move(logged));
    EXPECT_TRUE(c.read_until(marker)) << "'" << marker << "' never reached the client";
    upstream_.open_gate();
    return c.finish();
  }

  // The router still serves: the same upstream, well-behaved now, answers a normal
  // request (streamed or not) with 200.
  void expect_serving(Api api, bool stream) {
    SCOPED_TRACE("the request after: " + trace(api, stream));
    const Reply r = request(
        api, stream, [s = stream](int fd) { good_reply(fd, s); }, "");
    EXPECT_EQ(r.status, 200) << r.head << r.body;
    EXPECT_THAT(r.body, HasSubstr("fine"));
    EXPECT_TRUE(r.framed);
    if (stream) {
      EXPECT_THAT(r.body, HasSubstr(api == Api::OpenAI ? "data: [DONE]" : "event: message_stop"));
    }
  }

  // Stops the router (which flushes the log) and checks one line per request: each error
  // request's top-level error holds what was expected, the others have none.
  void expect_log() {
    router_->stop();
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) lines_.push_back(line);
    const std::vector<std::string>& lines = lines_;
    ASSERT_EQ(lines.size(), expected_.size());
    simdjson::dom::parser parser;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      SCOPED_TRACE(fmt::format("log line {}: {}", i + 1, lines[i].substr(0, 600)));
      simdjson::dom::element doc;
      ASSERT_EQ(parser.parse(lines[i]).get(doc), simdjson::SUCCESS);
      EXPECT_EQ(std::string_view(doc["type"].get_string().value()), "complete");
      simdjson::dom::element error = doc["error"].value();
      if (expected_[i].empty()) {
        EXPECT_TRUE(error.is_null());
      } else {
        ASSERT_TRUE(error.is_string());
        EXPECT_THAT(std::string(std::string_view(error.get_string().value())),
                    HasSubstr(expected_[i]));
      }
    }
  }
  // The attempts in log line `i` (0-based; after expect_log): provider and error (empty
  // when none).
  std::vector<std::pair<std::string, std::string>> attempts(std::size_t i) const {
    std::vector<std::pair<std::string, std::string>> out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (i >= lines_.size() || parser.parse(lines_[i]).get(doc) != simdjson::SUCCESS) return out;
    simdjson::dom::array list;
    if (doc["attempts"].get_array().get(list) != simdjson::SUCCESS) return out;
    for (simdjson::dom::element a : list) {
      simdjson::dom::element e = a["error"].value();
      out.emplace_back(
          std::string(std::string_view(a["provider"].get_string().value())),
          e.is_null() ? std::string() : std::string(std::string_view(e.get_string().value())));
    }
    return out;
  }

 private:
  ScriptedUpstream upstream_;
  std::filesystem::path dir_;
  std::string log_;
  std::optional<testing::RunningServer> router_;
  std::vector<std::string> expected_;  // per request: its logged error, or "" for none
  std::vector<std::string> lines_;     // the log, once read
};

// --- 1. a reset before any response header -------------------------------------------

void reset_at_once(int fd) {
  reset_on_close(fd);
}

TEST(ChaosTest, AResetBeforeTheHeadersIsA502InTheClientsFormat) {
  Chaos chaos;
  for (const auto& [api, stream] :
       std::vector<Case>{{Api::OpenAI, false}, {Api::Anthropic, false}, {Api::Anthropic, true}}) {
    SCOPED_TRACE(trace(api, stream));
    // Before any byte of a stream (and well within the keep-alive interval), the real status.
    const Reply r = chaos.request(api, stream, reset_at_once, "provider 'chaos'");
    expect_error_reply(api, r, 502, "provider 'chaos'");
    chaos.expect_serving(api, stream);
  }
  chaos.expect_log();
}

// --- 2. a reset in the middle of a Content-Length body -------------------------------

TEST(ChaosTest, AResetInTheMiddleOfTheBodyIsA502) {
  Chaos chaos;
  auto script = [](int fd) {
    send_all(
        fd,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
        R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)");
    reset_on_close(fd);
  };
  for (Api api : {Api::OpenAI, Api::Anthropic}) {
    SCOPED_TRACE(trace(api, false));
    const Reply r = chaos.request(api, false, script, "provider 'chaos'");
    expect_error_reply(api, r, 502, "provider 'chaos'");
    EXPECT_THAT(r.body, Not(HasSubstr("chatcmpl-1")));  // nothing of the half reply
    chaos.expect_serving(api, false);
  }
  chaos.expect_log();
}

// --- 3. a reset in the middle of a stream --------------------------------------------

TEST(ChaosTest, AResetMidStreamEndsTheStreamWithAnInBandError) {
  Chaos chaos;
  ScriptedUpstream& up = chaos.upstream();
  auto script = [&up](int fd) {
    send_all(fd, stream_start());
    up.wait_gate();  // the three events reached the client
    reset_on_close(fd);
  };
  for (Api api : {Api::OpenAI, Api::Anthropic}) {
    SCOPED_TRACE(trace(api, true));
    const Reply r = chaos.request_gated(api, true, script, "part3", "provider 'chaos'");
    expect_in_band_error(api, r, {"part1", "part2", "part3"}, "provider 'chaos'");
    chaos.expect_serving(api, true);
  }
  chaos.expect_log();
}

// A reset rarely falls between two events: here it cuts the fourth in half. The client
// never gets half an event glued to the error, which would hide the error in an event it
// cannot parse.
TEST(ChaosTest, AResetInTheMiddleOfAnEventEndsTheStreamWithAnInBandError) {
  Chaos chaos;
  ScriptedUpstream& up = chaos.upstream();
  auto script = [&up](int fd) {
    const std::string fourth = openai_chunk("part4");
    send_all(fd, stream_start() + chunk(fourth.substr(0, fourth.size() / 2)));
    up.wait_gate();  // the three whole events reached the client
    reset_on_close(fd);
  };
  for (Api api : {Api::OpenAI, Api::Anthropic}) {
    SCOPED_TRACE(trace(api, true));
    const Reply r = chaos.request_gated(api, true, script, "part3", "provider 'chaos'");
    expect_in_band_error(api, r, {"part1", "part2", "part3"}, "provider 'chaos'");
    chaos.expect_serving(api, true);
  }
  chaos.expect_log();
}

// --- 4. stalls: first byte, idle, total ----------------------------------------------

TEST(ChaosTest, AStallBeforeTheFirstByteIsA504AfterTheFirstByteTimeout) {
  Chaos chaos("first_byte_timeout_ms = 300");
  ScriptedUpstream& up = chaos.upstream();
  auto stall = [&up](int fd) { up.wait_for_hangup(fd, kPatience); };
  const std::string message =
      "provider 'chaos': no response within the first-byte timeout of 300 ms";
  for (const auto& [api, stream] :
       std::vector<Case>{{Api::OpenAI, false}, {Api::Anthropic, false}, {Api::Anthropic, true}}) {
    SCOPED_TRACE(trace(api, stream));
    const auto t0 = Clock::now();
    const Reply r = chaos.request(api, stream, stall, message);
    EXPECT_LT(Clock::now() - t0, milliseconds(5000));  // the timeout, not the stall, ended it
    expect_error_reply(api, r, 504, message);
    chaos.expect_serving(api, stream);
  }
  chaos.expect_log();
}

TEST(ChaosTest, AStallMidStreamEndsTheStreamWithAnInBandErrorAfterTheIdleTimeout) {
  Chaos chaos("idle_timeout_ms = 300");
  ScriptedUpstream& up = chaos.upstream();
  auto script = [&up](int fd) {
    send_all(fd, stream_start());
    up.wait_for_hangup(fd, kPatience);
  };
  const std::string message = "provider 'chaos': stream idle for longer than 300 ms";
  for (Api api : {Api::OpenAI, Api::Anthropic}) {
    SCOPED_TRACE(trace(api, true));
    const Reply r = chaos.request(api, true, script, message);
    expect_in_band_error(api, r, {"part1", "part2", "part3"}, message);
    chaos.expect_serving(api, true);
  }
  chaos.expect_log();
}

TEST(ChaosTest, AStreamPastTheTotalTimeoutEndsWithAnInBandError) {
  Chaos chaos("timeout_ms = 600");
  ScriptedUpstream& up = chaos.upstream();
  // An event every 50 ms: never idle, never done.
  auto drip = [&up](int fd) {
    if (!send_all(fd, stream_start())) return;
    for (int i = 0; i < 200 && !up.stopping() && !peer_closed(fd); ++i) {
      if (!send_all(fd, chunk(openai_chunk("tick")))) return;
      std::this_thread::sleep_for(milliseconds(50));
    }
  };
  const std::string message = "provider 'chaos': total timeout after 600 ms";
  for (Api api : {Api::OpenAI, Api::Anthropic}) {
    SCOPED_TRACE(trace(api, true));
    const Reply r = chaos.request(api, true, drip, message);
    expect_in_band_error(api, r, {"part1", "tick"}, message);
    chaos.expect_serving(api, true);
  }
  chaos.expect_log();
}

// The connection is made at once; the upstream then says nothing until the whole
// exchange's timeout passes. The error names the timeout that fired: the total one, not
// the connect timeout (which the connection met).
TEST(ChaosTest, AStallPastTheTotalTimeoutBeforeTheFirstByteIsA504NamingTheTotalTimeout) {
  Chaos chaos("connect_timeout_ms = 100\ntimeout_ms = 400");
  ScriptedUpstream& up = chaos.upstream();
  auto stall = [&up](int fd) { up.wait_for_hangup(fd, kPatience); };
  const std::string message = "provider 'chaos': total timeout after 400 ms";
  for (const auto& [api, stream] :
       std::vector<Case>{{Api::OpenAI, false}, {Api::Anthropic, true}}) {
    SCOPED_TRACE(trace(api, stream));
    const Reply r = chaos.request(api, stream, stall, message);
    expect_error_reply(api, r, 504, message);
    EXPECT_THAT(r.body, Not(HasSubstr("connect timeout")));
    chaos.expect_serving(api, stream);
  }
  chaos.expect_log();
}

// --- 5. garbage instead of HTTP ------------------------------------------------------

TEST(ChaosTest, GarbageInsteadOfHttpIsA502) {
  Chaos chaos;
  std::mt19937 rng(20240601);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(rng() & 0xFF);
  noise[0] = 'x';  // not by chance "HTTP/"
  for (const std::string& garbage : {std::string("hello\r\n\r\n"), noise}) {
    for (const auto& [api, stream] :
         std::vector<Case>{{Api::OpenAI, false}, {Api::Anthropic, true}}) {
      SCOPED_TRACE(trace(api, stream) + (garbage.size() < 20 ? ", hello" : ", random bytes"));
      const Reply r = chaos.request(
          api, stream, [garbage](int fd) { send_all(fd, garbage); }, "provider 'chaos'");
      expect_error_reply(api, r, 502, "provider 'chaos'");
      chaos.expect_serving(api, stream);
    }
  }
  chaos.expect_log();
}

// --- 6. a chunked body that ends before its last chunk -------------------------------

TEST(ChaosTest, ATruncatedChunkedBodyIsA502OrAnInBandError) {
  Chaos chaos;
  {
    SCOPED_TRACE(trace(Api::OpenAI, false));
    // The first chunk of a JSON reply, then the connection closes (a FIN, no reset).
    auto script = [](int fd) {
      const std::string head =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
      send_all(fd, head + chunk(R"({"id":"chatcmpl-1","object":"chat.completion","created":1,)"));
    };
    const Reply r = chaos.request(Api::OpenAI, false, script, "provider 'chaos'");
    expect_error_reply(Api::OpenAI, r, 502, "provider 'chaos'");
    chaos.expect_serving(Api::OpenAI, false);
  }
  // Whole events, then the connection closes (a FIN, no reset) without the last chunk.
  for (Api api : {Api::OpenAI, Api::Anthropic}) {
    SCOPED_TRACE(trace(api, true));
    const Reply r = chaos.request(
        api, true, [](int fd) { send_all(fd, stream_start()); }, "provider 'chaos'");
    expect_in_band_error(api, r, {"part1", "part2", "part3"}, "provider 'chaos'");
    chaos.expect_serving(api, true);
  }
  chaos.expect_log();
}

// --- 7. an SSE event over the size cap -----------------------------------------------

// The cap is SseParser::kMaxEventBytes (16 MiB, not configurable): an upstream event that
// grows past it ends the stream with an error the client can read, after the events that
// came before.
TEST(ChaosTest, AnSseEventOverTheSizeCapEndsTheStreamWithAnInBandError) {
  Chaos chaos;
  ScriptedUpstream& up = chaos.upstream();
  auto script = [&up](int fd) {
    if (!send_all(fd, stream_start())) return;
    const std::string open =
        R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",)"
        R"("choices":[{"index":0,"delta":{"content":")";
    if (!send_all(fd, chunk(open))) return;
    // Up to twice the cap, until the router hangs up.
    const std::string piece(64 << 10, 'a');
    for (std::size_t sent = 0; sent < 2 * SseParser::kMaxEventBytes && !up.stopping();
         sent += piece.size()) {
      if (!send_all(fd, chunk(piece))) return;
    }
  };
  const std::string message = fmt::format("an event exceeds {} bytes", SseParser::kMaxEventBytes);
  for (Api api : {Api::Anthropic, Api::OpenAI}) {
    SCOPED_TRACE(trace(api, true));
    const Reply r = chaos.request(api, true, script, message);
    expect_in_band_error(api, r, {"part1", "part2", "part3"}, message);
    chaos.expect_serving(api, true);
  }
  chaos.expect_log();
}

// --- 8. failover ---------------------------------------------------------------------

TEST(ChaosTest, AResetOnTheFirstProviderIsAnsweredByTheSecond) {
  ScriptedUpstream backup;
  Chaos chaos({}, fmt::format(R"(
[[providers]]
name = "backup"
format = "openai"
base_url = "{}/v1"
quality = 1
)",
                              backup.base_url()));
  int expected_backup = 0;
  for (const auto& [api, stream] :
       std::vector<Case>{{Api::OpenAI, false}, {Api::Anthropic, true}}) {
    SCOPED_TRACE(trace(api, stream));
    backup.set([s = stream](int fd) { good_reply(fd, s); });
    const Reply r = chaos.request(api, stream, reset_at_once, "");
    ++expected_backup;
    EXPECT_EQ(r.status, 200) << r.head << r.body;
    EXPECT_EQ(r.header("x-router-provider"), "backup");
    EXPECT_THAT(r.body, HasSubstr("fine"));
    EXPECT_TRUE(r.framed);
    if (stream) {
      EXPECT_THAT(r.body, HasSubstr("event: message_stop"));
    }
    EXPECT_EQ(backup.requests(), expected_backup);
    chaos.expect_serving(api, stream);  // the first provider's upstream, well-behaved now
  }
  EXPECT_EQ(chaos.upstream().requests(), 4);
  chaos.expect_log();
  // Both attempts are in the log line: the reset of the first, then the second's answer.
  for (std::size_t line : {0u, 2u}) {
    SCOPED_TRACE(fmt::format("log line {}", line + 1));
    const auto attempts = chaos.attempts(line);
    ASSERT_EQ(attempts.size(), 2u);
    EXPECT_EQ(attempts[0].first, "chaos");
    EXPECT_THAT(attempts[0].second, HasSubstr("provider 'chaos'"));
    EXPECT_EQ(attempts[1].first, "backup");
    EXPECT_EQ(attempts[1].second, "");
  }
}

// --- a forwarded token count that is no count ----------------------------------------

TEST(ChaosTest, AnOversizedTokenCountReplyIsA502NotACutOffBody) {
  ScriptedUpstream upstream;
  upstream.set([](int fd) {
    const std::string body = R"({"input_tokens":42,"pad":")" + std::string(2u << 20, 'x') + "\"}";
    send_all(fd, fmt::format("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                             "Connection: close\r\n\r\n{}",
                             body.size(), body));
  });
  testing::RunningServer router(testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
[[providers]]
name = "claude"
format = "anthropic"
base_url = "{}"
[[routers]]
type = "fallback"
providers = ["claude"]
)",
                                                                 upstream.base_url())));
  auto r = router.client().Post("/v1/messages/count_tokens", R"({"model":"m","messages":[{"role":"user","content":"hi"}]})",
                                "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502) << r->body.substr(0, 200);
  EXPECT_THAT(r->body, StartsWith(R"({"type":"error")"));
  EXPECT_THAT(r->body, HasSubstr("token count reply is larger"));
}

}  // namespace
}  // namespace llmrouter
