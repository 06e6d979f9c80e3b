// SPDX-License-Identifier: MIT
// llmrouter-server's HTTP edge through raw sockets on 127.0.0.1: every limit and refusal
// (oversized header line and header count, chunked and compressed bodies, bad header
// bytes, slow headers and bodies, idle keep-alive, foreign Host and Origin, CORS preflight,
// the non-loopback refusal). Each refused request is checked for nothing reaching the
// upstream, a bounded peak RSS, and, on the API paths, its one JSONL line (the log is
// written from the `complete` event, so a line means the event was published).
#include "server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "support/config_helpers.h"
#include "support/mock_upstream.h"
#include "llmrouter/http_server.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

// Peak RSS of this process (the router runs in it) since the last reset, in bytes.
void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}
uint64_t peak_rss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}
constexpr uint64_t kRssBound = 24ull << 20;

// A raw client connection: bytes out exactly as given, the answer read until the server
// closes (or a deadline).
class Raw {
 public:
  explicit Raw(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Raw() { ::close(fd_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  bool ok() const { return ok_; }

  // False once the server stopped taking bytes (it answered and closed).
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Everything until the server closes, or `wait` passes.
  std::string read_all(std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    std::string out;
    const auto deadline = Clock::now() + wait;
    char buf[16384];
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) break;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // One response with a Content-Length body (the connection stays open).
  std::string read_one(std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    std::string out;
    const auto deadline = Clock::now() + wait;
    char buf[16384];
    while (Clock::now() < deadline) {
      const std::size_t end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        const std::size_t cl = out.find("content-length: ");
        const std::size_t len = cl == std::string::npos ? 0 : std::stoul(out.substr(cl + 16));
        if (out.size() >= end + 4 + len) return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  bool closed_ = false;
};

int status_of(const std::string& response) {
  if (!response.starts_with("HTTP/1.1 ")) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
  const std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

// The router with one OpenAI provider at the mock and the JSONL log on; `server` lands in
// [server].
class Edge {
 public:
  explicit Edge(std::string server = {})
      : dir_(std::filesystem::temp_directory_path() / fmt::format("llmrouter-edge-test-{}", ::getpid())) {
    std::filesystem::remove_all(dir_);
    log_ = (dir_ / "requests.jsonl").string();
    router_.emplace(testing::config_from(fmt::format(R"(
[server]
host = "127.0.0.1"
port = 0
{}
[logging]
enabled = true
path = "{}"
[[providers]]
name = "up"
format = "openai"
base_url = "{}/v1"
[[routers]]
type = "fallback"
providers = ["up"]
)",
                                                     server, log_, mock_.base_url())));
    reset_peak_rss();
    rss_start_ = peak_rss();
  }
  ~Edge() {
    router_.reset();
    std::filesystem::remove_all(dir_);
  }
  int port() const { return router_->port(); }
  // Peak RSS (this process: the router and the test) since the router started.
  uint64_t rss_growth() const { return peak_rss() - rss_start_; }
  testing::MockUpstream& mock() { return mock_; }
  // Stops the router (flushing the log) and returns the log's lines.
  std::vector<std::string> log_lines() {
    router_->stop();
    std::vector<std::string> lines;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  testing::MockUpstream mock_;
  std::filesystem::path dir_;
  std::string log_;
  std::optional<testing::RunningServer> router_;
  uint64_t rss_start_ = 0;
};

const std::string kChat = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";

std::string post_head(std::string_view path, std::string_view extra, std::string_view host = "127.0.0.1") {
  return fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{}", path, host, extra);
}

// One refused API request: its status, an error body in the client's format, nothing
// upstream, one log line with that status, and a bounded peak RSS.
void expect_refused_and_logged(Edge& edge, const std::string& response, int status, std::string_view message) {
  EXPECT_EQ(status_of(response), status) << response.substr(0, 300);
  EXPECT_THAT(body_of(response), StartsWith(R"({"error":)"));
  EXPECT_THAT(body_of(response), HasSubstr(message));
  EXPECT_EQ(edge.mock().requests(), 0);
  EXPECT_LT(edge.rss_growth(), kRssBound);
  const auto lines = edge.log_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], StartsWith(R"({"type":"complete")"));
  EXPECT_THAT(lines[0], HasSubstr(message));
}

TEST(HttpEdgeTest, AHeaderLineWithoutEndGets431AndCostsNoMemory) {
  Edge edge;
  Raw c(edge.port());
  ASSERT_TRUE(c.ok());
  reset_peak_rss();
  const uint64_t before = peak_rss();
  ASSERT_TRUE(c.send(post_head("/v1/chat/completions", "X-Big: ")));
  const std::string chunk(64 << 10, 'a');
  std::size_t sent = 0;
  for (int i = 0; i < 1600 && c.send(chunk); ++i) sent += chunk.size();  // up to 100 MB, until refused
  EXPECT_LT(sent, 16u << 20);  // refused after the first 64 KiB (plus socket buffers)
  const std::string r = c.read_all();
  EXPECT_LT(peak_rss() - before, kRssBound);
  expect_refused_and_logged(edge, r, 431, "max_header_bytes");
}

TEST(HttpEdgeTest, MoreThanMaxHeadersGets431) {
  Edge edge("max_headers = 20");
  Raw c(edge.port());
  std::string extra;
  for (int i = 0; i < 30; ++i) extra += fmt::format("X-H{}: v\r\n", i);
  c.send(post_head("/v1/messages", extra + fmt::format("Content-Length: {}\r\n\r\n", kChat.size())) + kChat);
  const std::string r = c.read_all();
  EXPECT_EQ(status_of(r), 431);
  EXPECT_THAT(body_of(r), StartsWith(R"({"type":"error")"));  // the Anthropic envelope
  EXPECT_THAT(body_of(r), HasSubstr("max_headers"));
  EXPECT_EQ(edge.mock().requests(), 0);
  EXPECT_EQ(edge.log_lines().size(), 1u);
}

TEST(HttpEdgeTest, AChunkedBodyOverTheLimitGets413BeforeItIsBuffered) {
  Edge edge("max_body_bytes = 65536");
  Raw c(edge.port());
  reset_peak_rss();
  const uint64_t before = peak_rss();
  ASSERT_TRUE(c.send(post_head("/v1/chat/completions", "Transfer-Encoding: chunked\r\n\r\n")));
  const std::string piece = fmt::format("{:x}\r\n{}\r\n", 16384, std::string(16384, 'a'));
  std::size_t sent = 0;
  for (int i = 0; i < 4096 && c.send(piece); ++i) sent += 16384;  // up to 64 MB, until refused
  EXPECT_LT(sent, 16u << 20);
  const std::string r = c.read_all();
  EXPECT_LT(peak_rss() - before, kRssBound);
  expect_refused_and_logged(edge, r, 413, "max_body_bytes");
}

TEST(HttpEdgeTest, AContentLengthOverTheLimitGets413WithoutReadingTheBody) {
  Edge edge("max_body_bytes = 65536");
  Raw c(edge.port());
  c.send(post_head("/v1/chat/completions", "Content-Length: 104857600\r\n\r\n"));
  expect_refused_and_logged(edge, c.read_all(), 413, "max_body_bytes");
}

TEST(HttpEdgeTest, ACompressedBodyGets415) {
  Edge edge;
  Raw c(edge.port());
  c.send(post_head("/v1/chat/completions", fmt::format("Content-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", kChat.size())) +
         kChat);
  expect_refused_and_logged(edge, c.read_all(), 415, "Content-Encoding");
}

TEST(HttpEdgeTest, ControlBytesInAHeaderValueGet400) {
  for (std::string_view bad : {std::string_view("X-A: a\0b\r\n", 10), std::string_view("X-A: a\rb\r\n")}) {
    Edge edge;
    Raw c(edge.port());
    c.send(post_head("/v1/chat/completions", std::string(bad) + fmt::format("Content-Length: {}\r\n\r\n", kChat.size())) + kChat);
    const std::string r = c.read_all();
    EXPECT_EQ(status_of(r), 400) << r;
    EXPECT_EQ(edge.mock().requests(), 0);
    EXPECT_EQ(edge.log_lines().size(), 1u);
  }
}

TEST(HttpEdgeTest, SlowHeadersGet408WhileOtherClientsAreServed) {
  Edge edge("header_timeout_ms = 400");
  // Many connections that send their headers a byte at a time.
  std::vector<std::unique_ptr<Raw>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<Raw>(edge.port()));
    slow.back()->send("P");
  }
  // Meanwhile a normal client is answered at once.
  Raw fast(edge.port());
  const auto t0 = Clock::now();
  fast.send(post_head("/v1/chat/completions", fmt::format("Content-Length: {}\r\n\r\n", kChat.size())) + kChat);
  const std::string ok = fast.read_one();
  EXPECT_EQ(status_of(ok), 200) << ok;
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(400));
  for (auto& s : slow) s->send("O");
  const std::string r = slow.front()->read_all(std::chrono::seconds(5));
  EXPECT_EQ(status_of(r), 408) << r;
  EXPECT_THAT(body_of(r), HasSubstr("header_timeout_ms"));
  EXPECT_TRUE(slow.front()->closed());
  EXPECT_EQ(edge.mock().requests(), 1);
}

TEST(HttpEdgeTest, ASlowBodyGets408) {
  Edge edge("body_timeout_ms = 300");
  Raw c(edge.port());
  c.send(post_head("/v1/chat/completions", fmt::format("Content-Length: {}\r\n\r\n", kChat.size())) + kChat.substr(0, 10));
  expect_refused_and_logged(edge, c.read_all(std::chrono::seconds(5)), 408, "body_timeout_ms");
}

TEST(HttpEdgeTest, AnIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout) {
  Edge edge("idle_timeout_ms = 200");
  Raw c(edge.port());
  c.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(status_of(c.read_one()), 200);
  c.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");  // kept alive: served again
  EXPECT_EQ(status_of(c.read_one()), 200);
  const auto t0 = Clock::now();
  EXPECT_EQ(c.read_all(std::chrono::seconds(5)), "");
  EXPECT_TRUE(c.closed());
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
}

TEST(HttpEdgeTest, AForeignHostGets403UnlessListed) {
  Edge edge("allowed_hosts = [\"router.internal\"]");
  for (const auto& [host, status] : std::vector<std::pair<std::string, int>>{
           {"evil.example:80", 403}, {"localhost:8090", 200}, {"127.0.0.1", 200}, {"[::1]:1", 200}, {"router.internal:8090", 200}}) {
    Raw c(edge.port());
    c.send(post_head("/v1/chat/completions", fmt::format("Content-Length: {}\r\n\r\n", kChat.size()), host) + kChat);
    const std::string r = c.read_one();
    EXPECT_EQ(status_of(r), status) << host << "\n" << r;
    if (status == 403) {
      EXPECT_THAT(body_of(r), HasSubstr("allowed_hosts"));
    }
  }
  EXPECT_EQ(edge.mock().requests(), 4);
  // Each API request has its line, the refused one too.
  const auto lines = edge.log_lines();
  EXPECT_EQ(lines.size(), 5u);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.find("allowed_hosts") != std::string::npos; }), 1);
}

TEST(HttpEdgeTest, ForeignOriginsGet403ListedOnesGetCorsAnswers) {
  Edge edge("cors_origins = [\"https://app.example.com\"]");
  auto request = [&](std::string_view origin) {
    Raw c(edge.port());
    c.send(post_head("/v1/chat/completions", fmt::format("Origin: {}\r\nContent-Length: {}\r\n\r\n", origin, kChat.size())) +
           kChat);
    return c.read_one();
  };
  const std::string foreign = request("https://evil.example");
  EXPECT_EQ(status_of(foreign), 403);
  EXPECT_THAT(body_of(foreign), HasSubstr("cors_origins"));
  const std::string local = request("http://localhost:5173");
  EXPECT_EQ(status_of(local), 200);
  const std::string listed = request("https://app.example.com");
  EXPECT_EQ(status_of(listed), 200);
  EXPECT_THAT(listed, HasSubstr("access-control-allow-origin: https://app.example.com\r\n"));
  EXPECT_EQ(edge.mock().requests(), 2);

  Raw pre(edge.port());
  pre.send(
      "OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example.com\r\n"
      "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\n\r\n");
  const std::string r = pre.read_one();
  EXPECT_EQ(status_of(r), 204) << r;
  EXPECT_THAT(r, HasSubstr("access-control-allow-origin: https://app.example.com\r\n"));
  EXPECT_THAT(r, HasSubstr("access-control-allow-methods: GET, POST, OPTIONS\r\n"));
  EXPECT_THAT(r, HasSubstr("access-control-allow-headers: authorization, content-type\r\n"));
  EXPECT_EQ(edge.mock().requests(), 2);
  EXPECT_EQ(edge.log_lines().size(), 3u);  // the two served and the refused one; a preflight is no API request
}

TEST(HttpEdgeTest, APostWithoutALengthGets411) {
  Edge edge;
  Raw c(edge.port());
  c.send(post_head("/v1/chat/completions", "\r\n") + kChat);
  expect_refused_and_logged(edge, c.read_all(), 411, "Content-Length");
}

TEST(HttpEdgeTest, ANonLoopbackAddressWithoutAKeyRefusesToStart) {
  constexpr std::string_view kProvider = "[[providers]]\nname = \"up\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n";
  auto config = testing::config_from(fmt::format("[server]\nhost = \"0.0.0.0\"\nport = 0\n{}", kProvider));
  auto server = server::Server::create(config);
  ASSERT_TRUE(server) << server.error().message;
  auto port = (*server)->bind();
  ASSERT_FALSE(port);
  EXPECT_THAT(port.error().message, HasSubstr("api_key_env"));
  EXPECT_THAT(port.error().message, HasSubstr("allow_unauthenticated = true"));

  auto open = testing::config_from(fmt::format("[server]\nhost = \"0.0.0.0\"\nport = 0\nallow_unauthenticated = true\n{}", kProvider));
  auto opened = server::Server::create(open);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE((*opened)->bind());
}

TEST(HttpEdgeTest, AnEndlessChunkHeaderGets400AndCostsNoMemory) {
  Edge edge;
  Raw c(edge.port());
  reset_peak_rss();
  const uint64_t before = peak_rss();
  ASSERT_TRUE(c.send(post_head("/v1/chat/completions", "Transfer-Encoding: chunked\r\n\r\n10;ext=")));
  const std::string chunk(64 << 10, 'a');
  std::size_t sent = 0;
  for (int i = 0; i < 1600 && c.send(chunk); ++i) sent += chunk.size();  // up to 100 MB, until refused
  EXPECT_LT(sent, 16u << 20);
  const std::string r = c.read_all();
  EXPECT_LT(peak_rss() - before, kRssBound);
  expect_refused_and_logged(edge, r, 400, "chunk header");
}

TEST(HttpEdgeTest, ATransferEncodingOtherThanChunkedIsRefused) {
  for (const auto& [te, status] : std::vector<std::pair<std::string, int>>{{"gzip", 400}, {"gzip, chunked", 501}}) {
    Edge edge;
    Raw c(edge.port());
    // Without the refusal, "gzip" would frame the request as having no body and the bytes
    // after the headers would be read as a second request.
    c.send(post_head("/v1/chat/completions", fmt::format("Transfer-Encoding: {}\r\n\r\n", te)) +
           "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect_refused_and_logged(edge, c.read_all(), status, "Transfer-Encoding");
  }
}

TEST(HttpEdgeTest, HeadGetsTheHeadersOfGetAndNoBody) {
  Edge edge;
  Raw c(edge.port());
  c.send(
      "HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const std::string r = c.read_all(std::chrono::milliseconds(1000));
  const std::size_t end = r.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << r;
  EXPECT_EQ(status_of(r), 200) << r;
  EXPECT_THAT(r.substr(0, end), HasSubstr("content-length: 2"));
  // The next response follows the HEAD's headers at once: no body came between.
  const std::string second = r.substr(end + 4);
  EXPECT_EQ(status_of(second), 200) << r;
  EXPECT_EQ(body_of(second), "ok");
}

TEST(HttpEdgeTest, AnHttp10ClientAskingForKeepAliveIsToldAndKept) {
  Edge edge;
  Raw c(edge.port());
  c.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const std::string first = c.read_one();
  EXPECT_EQ(status_of(first), 200) << first;
  EXPECT_THAT(first, HasSubstr("connection: keep-alive\r\n"));
  c.send("GET /health HTTP/1.0\r\n\r\n");  // no keep-alive asked: answered, then closed
  const std::string second = c.read_all();
  EXPECT_EQ(status_of(second), 200) << second;
  EXPECT_THAT(second, HasSubstr("connection: close\r\n"));
  EXPECT_TRUE(c.closed());
}

// The edge alone, with handlers that misbehave as host code can.
class BareEdge {
 public:
  explicit BareEdge(http::Handler handler) {
    auto s = http::HttpServer::create({}, std::move(handler));
    EXPECT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    auto port = server_->listen("127.0.0.1", 0);
    EXPECT_TRUE(port);
    port_ = port ? *port : 0;
  }
  int port() const { return port_; }
  http::HttpServer& server() { return *server_; }

 private:
  std::unique_ptr<http::HttpServer> server_;
  int port_ = 0;
};

TEST(HttpEdgeTest, AResponseTheHandlerDropsIsAnswered500OrCutOff) {
  std::mutex mu;
  std::vector<std::thread> threads;  // guarded by mu
  BareEdge edge([&](http::Request& req, std::shared_ptr<http::Response> res) {
    if (req.path == "/drop") return;  // dropped on the loop
    if (req.path == "/drop-elsewhere") {
      std::lock_guard lock(mu);
      threads.emplace_back([res = std::move(res)]() mutable { res.reset(); });
      return;
    }
    if (req.path == "/started") {
      res->start(200, {{"content-type", "text/plain"}});
      res->write("part");
      return;
    }
    res->send(200, {}, "ok");
  });
  for (const char* path : {"/drop", "/drop-elsewhere"}) {
    Raw c(edge.port());
    c.send(fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path));
    const std::string r = c.read_all();
    EXPECT_EQ(status_of(r), 500) << path << "\n" << r;
    EXPECT_THAT(body_of(r), HasSubstr("not answered"));
    EXPECT_TRUE(c.closed());
  }
  Raw c(edge.port());
  c.send("GET /started HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const std::string r = c.read_all();
  EXPECT_EQ(status_of(r), 200) << r;
  EXPECT_THAT(r, HasSubstr("4\r\npart\r\n"));
  EXPECT_THAT(r, ::testing::Not(HasSubstr("0\r\n\r\n")));  // cut off, not ended
  EXPECT_TRUE(c.closed());
  {
    std::lock_guard lock(mu);
    for (auto& t : threads) t.join();
  }
  EXPECT_TRUE(edge.server().wait_closed(std::chrono::seconds(5)));
  EXPECT_EQ(edge.server().busy(), 0u);
}

TEST(HttpEdgeTest, HostCallbacksThatThrowDoNotStopTheLoop) {
  BareEdge edge([](http::Request& req, std::shared_ptr<http::Response> res) {
    if (req.path == "/throw-posted") {
      res->post([] { throw std::runtime_error("posted"); });
      res->post([res] { res->send(200, {}, "after posted"); });
      return;
    }
    if (req.path == "/throw-written") {
      res->start(200, {});
      res->write("x", [] { throw std::runtime_error("written"); });
      return;
    }
    res->send(200, {}, "ok");
  });
  Raw posted(edge.port());
  posted.send("GET /throw-posted HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(body_of(posted.read_one()), "after posted");
  Raw written(edge.port());
  written.send("GET /throw-written HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  written.read_all();
  EXPECT_TRUE(written.closed());  // its connection is dropped
  Raw next(edge.port());  // and the loop still serves
  next.send("GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(body_of(next.read_one()), "ok");
}

TEST(HttpEdgeTest, ChunkedTrailersDoNotBecomeHeaders) {
  BareEdge edge([](http::Request& req, std::shared_ptr<http::Response> res) {
    res->send(200, {{"Connection", "keep-alive"}}, fmt::format("{}|{}", req.body, req.header("x-late") ? "late" : "none"));
  });
  Raw c(edge.port());
  c.send("POST /t HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-Late: 1\r\n\r\n");
  const std::string r = c.read_one();
  EXPECT_EQ(body_of(r), "hi|none") << r;
  // A host's header name is matched whatever its case, never written twice.
  EXPECT_THAT(r, ::testing::Not(HasSubstr("Connection:")));
}

}  // namespace
}  // namespace llmrouter
