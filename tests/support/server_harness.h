// SPDX-License-Identifier: MIT
#pragma once
// llmrouter-server in a test: created from a configuration, bound to an ephemeral port and
// serving on a thread of its own until stop() or the destructor, so a failed assertion
// never leaves a server thread running.

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <thread>
#include <utility>

#include "server.h"

namespace llmrouter::testing {

class RunningServer {
 public:
  /// `config`'s [server] port should be 0. A failure to start is a test failure.
  explicit RunningServer(Config config, server::ServerOptions options = {}) {
    auto s = server::Server::create(std::move(config), std::move(options));
    if (!s) {
      ADD_FAILURE() << s.error().message;
      return;
    }
    server_ = std::move(*s);
    auto port = server_->bind();
    EXPECT_TRUE(port) << port.error().message;
    port_ = port ? *port : 0;
    thread_ = std::thread([this] {
      auto ran = server_->run();
      EXPECT_TRUE(ran) << ran.error().message;
    });
  }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;
  ~RunningServer() { stop(); }

  /// Stops serving (in-flight requests finish) and joins the thread. Idempotent.
  void stop() {
    if (!server_) return;
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  server::Server& server() { return *server_; }
  /// A client of this server with a read timeout long enough for loaded sanitizer builds.
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(std::chrono::seconds(20));
    return c;
  }

 private:
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace llmrouter::testing
