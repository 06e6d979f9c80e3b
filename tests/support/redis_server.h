// SPDX-License-Identifier: MIT
#pragma once
// A real redis-server for tests: started on a free 127.0.0.1 port in a temporary directory
// with nothing persisted, stopped, paused or restarted on the same port on request, killed
// (and its directory removed) by the destructor.

#include <sys/types.h>

#include <string>
#include <vector>

namespace llmrouter::testing {

class RedisServer {
 public:
  struct Options {
    /// `--requirepass`; empty: none.
    std::string password;
  };

  /// Starts it; `error()` says why when it could not (no redis-server, no free port, it
  /// exited or never answered PING).
  explicit RedisServer(Options options);
  RedisServer() : RedisServer(Options{}) {}
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// Whether it runs (and answered PING when it started).
  bool running() const noexcept { return pid_ > 0; }
  /// Why it is not running; empty when it is.
  const std::string& error() const noexcept { return error_; }
  int port() const noexcept { return port_; }
  /// `redis://127.0.0.1:PORT` (with `/DB` when `db` is not 0).
  std::string url(int db = 0) const;

  /// Stops it (SIGTERM, then SIGKILL after a few seconds) and waits for it to exit.
  void stop();
  /// Starts it again on the same port; false (and `error()`) when that fails.
  bool start();
  /// Freezes it (SIGSTOP): connections stay open, nothing is answered. `resume` undoes it.
  void pause();
  void resume();

  /// Sends one command on a connection of its own (after AUTH when it has a password) and
  /// returns the reply in a plain form: a status, string or error as its text, an integer
  /// in decimal, nil as "(nil)", an array as its elements joined by '\n'. Empty when it
  /// cannot connect.
  std::string command(const std::vector<std::string>& args) const;

 private:
  bool wait_ready();

  Options options_;
  std::string dir_;
  std::string binary_;
  std::string error_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace llmrouter::testing
