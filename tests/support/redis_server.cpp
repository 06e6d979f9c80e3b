// SPDX-License-Identifier: MIT
#include "support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <hiredis/hiredis.h>

extern char** environ;

namespace llmrouter::testing {
namespace {

std::string find_binary() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  dirs.append(":/usr/bin:/usr/local/bin:/usr/sbin");
  std::stringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir;
    candidate.append("/redis-server");
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// A port the kernel just handed out on 127.0.0.1 (free unless someone takes it meanwhile).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

void flatten(const redisReply& r, std::string& out) {
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.append(std::to_string(r.integer));
      break;
    case REDIS_REPLY_NIL:
      out.append("(nil)");
      break;
    case REDIS_REPLY_ARRAY:
      for (std::size_t i = 0; i < r.elements; ++i) {
        if (i > 0) out.push_back('\n');
        flatten(*r.element[i], out);
      }
      break;
    default:
      out.append(r.str, r.len);
      break;
  }
}

}  // namespace

RedisServer::RedisServer(Options options) : options_(std::move(options)) {
  binary_ = find_binary();
  if (binary_.empty()) {
    error_ = "redis-server is not installed (Debian package redis-server)";
    return;
  }
  std::string pattern =
      (std::filesystem::temp_directory_path() / "llmrouter-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    error_ = "cannot create a temporary directory";
    return;
  }
  dir_ = pattern;
  port_ = free_port();
  if (port_ == 0) {
    error_ = "no free port on 127.0.0.1";
    return;
  }
  start();
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string RedisServer::url(int db) const {
  std::string u = "redis://127.0.0.1:";
  u.append(std::to_string(port_));
  if (db != 0) u.append("/").append(std::to_string(db));
  return u;
}

bool RedisServer::start() {
  if (pid_ > 0) return true;
  if (binary_.empty() || dir_.empty() || port_ == 0) return false;
  std::vector<std::string> args = {binary_,
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir_,
                                   "--daemonize",
                                   "no",
                                   "--logfile",
                                   "",
                                   "--protected-mode",
                                   "no"};
  if (!options_.password.empty()) {
    args.emplace_back("--requirepass");
    args.push_back(options_.password);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = dir_ + "/redis.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, binary_.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    error_ = "cannot run " + binary_;
    return false;
  }
  pid_ = pid;
  if (wait_ready()) {
    error_.clear();
    return true;
  }
  return false;
}

bool RedisServer::wait_ready() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream in(dir_ + "/redis.log");
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      error_ =
          "redis-server exited at start: " + text.substr(text.size() > 400 ? text.size() - 400 : 0);
      return false;
    }
    if (command({"PING"}) == "PONG") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  error_ = "redis-server did not answer PING within 10 s";
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return false;
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 250; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisServer::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisServer::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string RedisServer::command(const std::vector<std::string>& args) const {
  timeval tv{};
  tv.tv_sec = 2;
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr) return {};
  if (c->err != 0) {
    redisFree(c);
    return {};
  }
  redisSetTimeout(c, tv);
  if (!options_.password.empty()) {
    auto* auth = static_cast<redisReply*>(redisCommand(c, "AUTH %s", options_.password.c_str()));
    if (auth != nullptr) freeReplyObject(auth);
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  std::string out;
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (r != nullptr) {
    flatten(*r, out);
    freeReplyObject(r);
  }
  redisFree(c);
  return out;
}

}  // namespace llmrouter::testing
