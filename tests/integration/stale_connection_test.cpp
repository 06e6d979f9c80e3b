// SPDX-License-Identifier: MIT
// A keep-alive connection the server closes just as the transport reuses it: the request
// is sent again on a fresh connection instead of failing (what a local llama.cpp/vLLM
// server's idle timeout does to a router between two requests).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "llmrouter/transport.h"

namespace llmrouter {
namespace {

// Reads one request (headers and a content-length body); false when the peer closed.
bool read_request(int fd) {
  std::string data;
  char buf[4096];
  for (;;) {
    const std::size_t end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      const std::size_t k = data.find("Content-Length: ");
      if (k != std::string::npos) length = std::stoul(data.substr(k + 16));
      if (data.size() >= end + 4 + length) return true;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
  }
}

void reply(int fd) {
  const std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
  ASSERT_EQ(::send(fd, r.data(), r.size(), MSG_NOSIGNAL), static_cast<ssize_t>(r.size()));
}

class Result1 final : public TransferObserver {
 public:
  void on_headers(int s, const std::vector<std::pair<std::string, std::string>>&) override { status = s; }
  bool on_data(std::string_view b) override {
    body += b;
    return true;
  }
  void on_complete(Result<void> r) override {
    std::lock_guard lock(mu);
    ok = r.has_value();
    if (!r) error = r.error().message;
    done = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  int status = 0;
  std::string body, error;
  bool ok = false;

 private:
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

TEST(StaleConnectionTest, ARequestOnAConnectionTheServerClosedIsSentAgain) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  ASSERT_EQ(::listen(listener, 8), 0);
  const int port = ntohs(addr.sin_port);

  // First connection: answer one request, then take the second and close without a word.
  // Second connection: answer.
  std::thread server([listener] {
    const int a = ::accept(listener, nullptr, nullptr);
    if (read_request(a)) reply(a);
    read_request(a);
    ::close(a);
    const int b = ::accept(listener, nullptr, nullptr);
    if (read_request(b)) reply(b);
    ::close(b);
  });

  auto transport = make_curl_transport();
  auto send = [&] {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
    req.body = R"({"model":"m"})";
    req.provider = "local";
    auto r = std::make_shared<Result1>();
    transport->start(std::move(req), r);
    r->wait();
    return r;
  };
  auto first = send();
  EXPECT_TRUE(first->ok) << first->error;
  auto second = send();
  EXPECT_TRUE(second->ok) << second->error;
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "ok");
  EXPECT_EQ(transport->connections_opened(), 2u);
  server.join();
  ::close(listener);
}

}  // namespace
}  // namespace llmrouter
