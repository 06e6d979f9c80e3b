// SPDX-License-Identifier: MIT
// The HTTP edge from raw bytes: each input is sent as is to a real HttpServer on
// 127.0.0.1 (small limits, so inputs reach them), then the client's sending side is shut.
// Invariants: the edge answers with a well-formed status line of an expected status, or
// closes without a word; it always ends the exchange (never waits on a half-closed client);
// and it keeps serving (a plain request is answered after every input).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "fuzz_common.h"
#include "llmrouter/http_server.h"

namespace {

using namespace llmrouter;
using Clock = std::chrono::steady_clock;

http::HttpServer& server(int& port) {
  static int bound = 0;
  static const std::unique_ptr<http::HttpServer> s = [] {
    http::HttpServer::Options o;
    o.max_header_bytes = 2048;
    o.max_headers = 16;
    o.max_body_bytes = 4096;
    o.header_timeout = std::chrono::milliseconds(500);
    o.body_timeout = std::chrono::milliseconds(500);
    o.idle_timeout = std::chrono::milliseconds(500);
    o.cors_origins = {"https://app.example.com"};
    auto created = http::HttpServer::create(o, [](http::Request& req, std::shared_ptr<http::Response> res) {
      if (req.refused) return res->send(req.refused->status, {{"content-type", "text/plain"}}, req.refused->message);
      if (req.path == "/stream") {
        res->start(200, {{"content-type", "text/event-stream"}});
        res->write("data: 1\n\n");
        return res->end();
      }
      res->send(200, {{"content-type", "text/plain"}}, std::to_string(req.body.size()));
    });
    if (!created) fuzz::invariant_failed("the edge does not start", created.error().message);
    auto p = (*created)->listen("127.0.0.1", 0);
    if (!p) fuzz::invariant_failed("the edge does not listen", p.error().message);
    bound = *p;
    return std::move(*created);
  }();
  port = bound;
  return *s;
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fuzz::invariant_failed("connect", "");
  return fd;
}

// Sends `bytes` (reading what comes back meanwhile, so neither side blocks), shuts the
// sending side, and reads until the edge closes. False when it did not close in time.
bool exchange(int port, std::string_view bytes, std::string& out) {
  const int fd = connect_to(port);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  std::size_t sent = 0;
  bool shut = false;
  bool closed = false;
  char buf[16384];
  while (Clock::now() < deadline) {
    if (sent == bytes.size() && !shut) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (p.revents & POLLIN) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      if (out.size() < (1u << 20)) out.append(buf, static_cast<std::size_t>(n));
    }
    if (!shut && (p.revents & POLLOUT)) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        sent = bytes.size();  // the edge stopped reading (it refused and closed): done sending
      } else {
        sent += static_cast<std::size_t>(n);
      }
    }
    if (p.revents & (POLLERR | POLLHUP)) {
      closed = true;
      break;
    }
  }
  ::close(fd);
  return closed;
}

void check_status_line(std::string_view out) {
  if (out.empty()) return;  // closed without a word: a client that left mid-request
  static const std::set<int> expected = {100, 200, 204, 400, 403, 408, 411, 413, 415, 431, 501};
  if (out.size() < 13 || !out.starts_with("HTTP/1.1 ") || out[12] != ' ') {
    fuzz::invariant_failed("not a status line", out.substr(0, 64));
  }
  const int status = (out[9] - '0') * 100 + (out[10] - '0') * 10 + (out[11] - '0');
  if (!expected.contains(status)) fuzz::invariant_failed("an unexpected status", out.substr(0, 64));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  int port = 0;
  server(port);
  std::string out;
  if (!exchange(port, std::string_view(reinterpret_cast<const char*>(data), size), out)) {
    fuzz::invariant_failed("the edge neither answered nor closed a half-closed connection", out.substr(0, 64));
  }
  check_status_line(out);
  // Still serving.
  std::string health;
  if (!exchange(port, "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", health) ||
      !health.starts_with("HTTP/1.1 200 ")) {
    fuzz::invariant_failed("the edge stopped serving", health.substr(0, 64));
  }
  return 0;
}
