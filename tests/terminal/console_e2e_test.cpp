// SPDX-License-Identifier: MIT
// llmrouter-tui and llmrouter-watch as a user runs them, against a real llmrouter-server in
// front of llmrouter-mock (all three as subprocesses on 127.0.0.1 ephemeral ports). The TUI
// runs inside tmux (new-session -d, send-keys, capture-pane). Every wait is bounded, and
// every process (and the tmux server) is stopped when a test ends, whatever its outcome.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/transport.h"
#include "router_events.h"
#include "support/fakes.h"

extern char** environ;

namespace llmrouter::console {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Generous: the sanitizer builds are several times slower.
constexpr auto kWait = 30s;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// testing::wait_until at the terminal's pace: each look runs tmux or reads the output.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = kWait) {
  return testing::wait_until(done, timeout, 50ms);
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The current environment plus `extra` ("NAME=value"; later entries win).
std::vector<std::string> environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool overridden = false;
    for (const std::string& x : extra) overridden |= entry.substr(0, entry.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!overridden) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// A child process with stdout and stderr in files; killed (SIGKILL) if still running when
// destroyed.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::string& out, const std::string& err,
          const std::vector<std::string>& extra_env = {})
      : out_(out), err_(err) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> env = environment(extra_env);
    auto args = c_strings(argv);
    auto envp = c_strings(env);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Process() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool started() const { return pid_ > 0; }
  std::string out() const { return read_text(out_); }
  std::string err() const { return read_text(err_); }
  void signal(int sig) {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
  }
  bool running() {
    poll();
    return pid_ > 0 && !status_;
  }
  /// The exit code (128 + signal when killed), waiting up to `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = kWait) {
    wait_until([&] { return !running(); }, timeout);
    return status_;
  }

 private:
  void poll() {
    if (pid_ <= 0 || status_) return;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_;
  std::string err_;
};

// Runs a short command to completion; returns its exit code and, when asked, its stdout.
// Without `output`, stdout goes to /dev/null: `tmux new-session` leaves a server behind
// that would hold a pipe open forever.
int run(std::vector<std::string> argv, std::string* output = nullptr) {
  int pipefd[2] = {-1, -1};
  if (output && pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (output) {
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  auto args = c_strings(argv);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (output) {
    close(pipefd[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    close(pipefd[0]);
    *output = std::move(out);
  }
  if (rc != 0) return -1;
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool have_tmux() { return run({"tmux", "-V"}) == 0; }

// The URL in a "<name> listening on http://HOST:PORT" line, once it is there.
std::string listening_url(const Process& p) {
  static const std::regex re("listening on (http://[0-9.]+:[0-9]+)");
  std::smatch m;
  const std::string out = p.out();
  return std::regex_search(out, m, re) ? m[1].str() : std::string();
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A blocking HTTP POST over the library's transport.
struct Reply {
  int status = 0;
  std::string body;
};

class Collect final : public TransferObserver {
 public:
  void on_headers(int status, const std::vector<std::pair<std::string, std::string>>&) override { reply_.status = status; }
  bool on_data(std::string_view bytes) override {
    reply_.body.append(bytes);
    return true;
  }
  void on_complete(Result<void>) override { done_.set_value(reply_); }
  std::future<Reply> future() { return done_.get_future(); }

 private:
  Reply reply_;
  std::promise<Reply> done_;
};

Reply post(Transport& t, const std::string& url, const std::string& body) {
  HttpRequest req;
  req.url = url;
  req.body = body;
  req.headers = {{"content-type", "application/json"}};
  auto c = std::make_shared<Collect>();
  auto f = c->future();
  t.start(std::move(req), c);
  if (f.wait_for(kWait) != std::future_status::ready) return {};
  return f.get();
}

// llmrouter-mock and llmrouter-server in a temporary directory.
class Stack {
 public:
  explicit Stack(std::string api_key = {}) : key_(std::move(api_key)) {
    char tmpl[] = "/tmp/llmrouter-e2e-XXXXXX";
    dir_ = mkdtemp(tmpl);
    mock_ = std::make_unique<Process>(std::vector<std::string>{LLMROUTER_MOCK_BIN, "--port", "0"}, path("mock.out"),
                                      path("mock.err"));
    EXPECT_TRUE(wait_until([&] { return !listening_url(*mock_).empty(); })) << mock_->err();
    mock_url_ = listening_url(*mock_);
    std::ofstream(path("config.toml")) << R"([server]
host = "127.0.0.1"
port = 0
dashboard = true
)" << (key_.empty() ? "" : "api_key_env = \"E2E_ROUTER_KEY\"\n")
                                       << R"(
[[providers]]
name = "mock-openai"
format = "openai"
base_url = ")" << mock_url_ << R"(/v1"

[[providers]]
name = "mock-anthropic"
format = "anthropic"
base_url = ")" << mock_url_ << R"("

[[routers]]
type = "prefix"
model_prefix = "claude"
provider = "mock-anthropic"

[[routers]]
type = "fallback"
providers = ["mock-openai"]

[classifiers.keyword]
enabled = true

[classifiers.keyword.tags]
code = ["def "]
)";
    start_server("0");
  }
  ~Stack() {
    server_.reset();
    mock_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void start_server(const std::string& port) {
    server_.reset();
    server_ = std::make_unique<Process>(
        std::vector<std::string>{LLMROUTER_SERVER_BIN, path("config.toml"), "--port", port}, path("server.out"),
        path("server.err"), env());
    EXPECT_TRUE(wait_until([&] { return !listening_url(*server_).empty(); })) << server_->err();
    url_ = listening_url(*server_);
  }
  void stop_server() {
    server_->signal(SIGTERM);
    EXPECT_EQ(server_->wait_exit(), 0);
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& url() const { return url_; }
  std::string port() const { return url_.substr(url_.rfind(':') + 1); }
  /// The environment the router's key lives in (for the server and the clients).
  std::vector<std::string> env() const {
    return key_.empty() ? std::vector<std::string>{} : std::vector<std::string>{"E2E_ROUTER_KEY=" + key_};
  }
  std::string server_log() const { return server_->out() + server_->err(); }

 private:
  std::string key_;
  std::string dir_;
  std::string mock_url_;
  std::string url_;
  std::unique_ptr<Process> mock_;
  std::unique_ptr<Process> server_;
};

// A private tmux server (its own socket and config) running one session.
class Tmux {
 public:
  explicit Tmux(const Stack& stack)
      : sock_(stack.path("tmux.sock")), conf_(stack.path("tmux.conf")), status_(stack.path("tui.status")) {
    std::ofstream(conf_) << "set -g status off\n";
  }
  ~Tmux() { run({"tmux", "-S", sock_, "kill-server"}); }

  bool start(const std::string& command, int cols = 120, int rows = 40) {
    std::filesystem::remove(status_);
    return run({"tmux", "-S", sock_, "-f", conf_, "-u", "new-session", "-d", "-s", "e2e", "-x", std::to_string(cols),
                "-y", std::to_string(rows), command}) == 0;
  }
  std::string screen() {
    std::string out;
    run({"tmux", "-S", sock_, "capture-pane", "-p", "-t", "e2e"}, &out);
    return out;
  }
  bool shows(const std::string& text, std::chrono::milliseconds timeout = kWait) {
    return wait_until([&] { return screen().find(text) != std::string::npos; }, timeout);
  }
  void keys(const std::vector<std::string>& keys) {
    std::vector<std::string> argv{"tmux", "-S", sock_, "send-keys", "-t", "e2e"};
    argv.insert(argv.end(), keys.begin(), keys.end());
    run(argv);
  }
  void type(const std::string& text) { run({"tmux", "-S", sock_, "send-keys", "-t", "e2e", "-l", text}); }
  /// The TUI's exit status once it ended (written by the command from `tui_command`).
  std::string exit_status() {
    std::string s = read_text(status_);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  bool exited_with(const std::string& status) {
    return wait_until([&] { return exit_status() == status; });
  }
  const std::string& status_file() const { return status_; }
  void kill_session() { run({"tmux", "-S", sock_, "kill-session", "-t", "e2e"}); }

 private:
  std::string sock_;
  std::string conf_;
  std::string status_;
};

std::string quote(const std::string& s) { return "'" + s + "'"; }

// The TUI in a UTF-8 locale; the shell tmux runs it with records its exit status.
std::string tui_command(const Stack& stack, const Tmux& tmux, const std::string& extra_args,
                        const std::vector<std::string>& env = {}) {
  std::string cmd = "env LANG=C.UTF-8 TZ=UTC";
  for (const std::string& e : env) cmd += " " + e;
  return cmd + " " + quote(LLMROUTER_TUI_BIN) + " " + stack.url() + " " + extra_args + "; echo $? > " +
         quote(tmux.status_file());
}

TEST(TuiE2E, AChatRequestShowsUpInTheFeedAndTheStatsAndQExitsCleanly) {
  if (!have_tmux()) GTEST_SKIP() << "tmux is not installed";
  Stack stack;
  Tmux tmux(stack);
  ASSERT_TRUE(tmux.start(tui_command(stack, tmux, "--model gpt-4o")));
  ASSERT_TRUE(tmux.shows("Pipeline  live")) << tmux.screen();
  EXPECT_THAT(tmux.screen(), HasSubstr("(no messages yet — type below and press Enter)"));

  tmux.keys({"i"});
  tmux.type("hello from tmux — ça va?");
  tmux.keys({"Enter"});
  // The streamed reply in the chat, with the provider that answered.
  ASSERT_TRUE(tmux.shows("Il est 14h05 à Paris")) << tmux.screen();
  ASSERT_TRUE(tmux.shows("1 request · 0 errors")) << tmux.screen();
  const std::string screen = tmux.screen();
  EXPECT_THAT(screen, HasSubstr("you: hello from tmux — ça va?"));
  EXPECT_THAT(screen, HasSubstr("⚙ get_time({\"city\":\"Paris\"})"));
  EXPECT_THAT(screen, HasSubstr("mock-openai / gpt-4o"));                     // the chat's routing line
  EXPECT_THAT(screen, HasSubstr("  mock-openai  gpt-4o  ↑812 ↓41"));          // the feed entry
  EXPECT_THAT(screen, HasSubstr("  prompt: hello from tmux — ça va?"));
  EXPECT_THAT(screen, HasSubstr("  mock-openai  1 (100%)"));                  // the stats

  // Requests from other clients show up too, with their tags.
  auto transport = make_curl_transport();
  const Reply r = post(*transport, stack.url() + "/v1/chat/completions",
                       R"({"model":"gpt-4o","messages":[{"role":"user","content":"def fib(n): pass"}]})");
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(tmux.shows("2 requests · 0 errors")) << tmux.screen();
  EXPECT_THAT(tmux.screen(), HasSubstr("[code]  1"));

  tmux.keys({"Tab"});  // back to the feed, where q quits
  tmux.keys({"q"});
  EXPECT_TRUE(tmux.exited_with("0")) << tmux.exit_status() << "\n" << tmux.screen();
}

TEST(TuiE2E, ShowsARefusedKeyAndWorksWithTheRightOne) {
  if (!have_tmux()) GTEST_SKIP() << "tmux is not installed";
  Stack stack("e2e-secret");
  Tmux tmux(stack);
  ASSERT_TRUE(tmux.start(tui_command(stack, tmux, "")));
  ASSERT_TRUE(tmux.shows("refused: HTTP 401")) << tmux.screen();
  tmux.keys({"C-c"});  // Ctrl-C quits too
  ASSERT_TRUE(tmux.exited_with("0")) << tmux.exit_status();
  tmux.kill_session();

  ASSERT_TRUE(tmux.start(tui_command(stack, tmux, "--api-key-env E2E_ROUTER_KEY --model gpt-4o", stack.env())));
  ASSERT_TRUE(tmux.shows("Pipeline  live")) << tmux.screen();
  tmux.keys({"Tab"});
  tmux.type("hi");
  tmux.keys({"Enter"});
  ASSERT_TRUE(tmux.shows("1 request · 0 errors")) << tmux.screen();
  EXPECT_THAT(tmux.screen(), HasSubstr("Il est 14h05"));
  tmux.keys({"Escape"});
  tmux.keys({"q"});
  EXPECT_TRUE(tmux.exited_with("0")) << tmux.exit_status();
}

// Watch's lines with the times and durations replaced by placeholders.
std::vector<std::string> normalized_lines(const std::string& out) {
  static const std::regex time(R"(\b\d\d:\d\d:\d\d\b)");
  static const std::regex ms(R"(\b\d+ms\b)");
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) lines.push_back(std::regex_replace(std::regex_replace(l, time, "HH:MM:SS"), ms, "Nms"));
  return lines;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}

TEST(WatchE2E, PrintsAScriptedRequestSequence) {
  Stack stack;
  Process watch({LLMROUTER_WATCH_BIN, stack.url()}, stack.path("watch.out"), stack.path("watch.err"), {"TZ=UTC"});
  ASSERT_TRUE(wait_until([&] { return watch.err().find("connected — waiting for requests") != std::string::npos; }))
      << watch.err();
  auto t = make_curl_transport();
  const std::string chat = stack.url() + "/v1/chat/completions";
  EXPECT_EQ(post(*t, chat, R"({"model":"gpt-4o","messages":[{"role":"user","content":"hello there"}]})").status, 200);
  EXPECT_EQ(post(*t, chat, R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"write a def fib(n)\nfunction"}]})")
                .status,
            200);
  EXPECT_EQ(post(*t, stack.url() + "/v1/messages",
                 R"({"model":"claude-sonnet-4","max_tokens":64,"messages":[{"role":"user","content":"bonjour 😀"}]})")
                .status,
            200);
  EXPECT_EQ(post(*t, chat, R"({"model":"status-500","messages":[{"role":"user","content":"fail please"}]})").status, 502);
  ASSERT_TRUE(wait_until([&] { return count(watch.out(), "  prompt:  ") == 4 && watch.out().ends_with("\n\n"); }))
      << watch.out();
  watch.signal(SIGTERM);
  EXPECT_EQ(watch.wait_exit(), 0);

  const std::vector<std::string> expected = {
      "HH:MM:SS  ⋯  gpt-4o  (1 in flight)",
      "  → routed: mock-openai/gpt-4o  (rule 1 (fallback))",
      "HH:MM:SS  mock-openai  gpt-4o  Nms",
      "  prompt:  hello there",
      "  reply:   Checking both cities.",
      "  tool:    ⚙ get_time({\"city\":\"Paris\"})",
      "  tool:    ⚙ get_time({\"city\":\"Tokyo\"})",
      "  812 in / 41 out · tool_use",
      "",
      "HH:MM:SS  ⋯  gpt-4o  (1 in flight)",
      "  → classified: [code]",
      "  → routed: mock-openai/gpt-4o  (rule 1 (fallback))",
      "HH:MM:SS  mock-openai  gpt-4o  [code]  Nms",
      "  prompt:  write a def fib(n) function",
      "  reply:   Il est 14h05 à Paris — 😀 let me check.",
      "  tool:    ⚙ get_time({\"city\":\"Paris\"})",
      "  tool:    ⚙ get_time({\"city\":\"Tokyo\"})",
      "  812 in / 41 out · tool_use",
      "",
      "HH:MM:SS  ⋯  claude-sonnet-4  (1 in flight)",
      "  → routed: mock-anthropic/claude-sonnet-4  (rule 0 (prefix=claude))",
      "HH:MM:SS  mock-anthropic  claude-sonnet-4  Nms",
      "  prompt:  bonjour 😀",
      "  reply:   Checking both cities.",
      "  tool:    ⚙ get_time({\"city\":\"Paris\"})",
      "  tool:    ⚙ get_time({\"city\":\"Tokyo\"})",
      "  4025 in / 89 out · tool_use",
      "",
      "HH:MM:SS  ⋯  status-500  (1 in flight)",
      "  → routed: mock-openai/status-500  (rule 1 (fallback))",
      "HH:MM:SS  mock-openai  status-500  Nms",
      "  prompt:  fail please",
      "  error:   provider 'mock-openai' answered 500: upstream exploded",
      "",
  };
  EXPECT_EQ(normalized_lines(watch.out()), expected) << watch.out();
  EXPECT_EQ(watch.out().find('\x1b'), std::string::npos);  // not a terminal: no colours
}

TEST(WatchE2E, JsonPrintsTheRawEventsOnePerLine) {
  Stack stack;
  Process watch({LLMROUTER_WATCH_BIN, stack.url(), "--json"}, stack.path("watch.out"), stack.path("watch.err"));
  ASSERT_TRUE(wait_until([&] { return watch.err().find("connected") != std::string::npos; })) << watch.err();
  auto t = make_curl_transport();
  EXPECT_EQ(post(*t, stack.url() + "/v1/chat/completions",
                 R"({"model":"gpt-4o","messages":[{"role":"user","content":"def x"}]})")
                .status,
            200);
  ASSERT_TRUE(wait_until([&] { return count(watch.out(), "\n") == 4; })) << watch.out();
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait_exit(), 0);
  std::istringstream in(watch.out());
  std::vector<std::string> types;
  for (std::string line; std::getline(in, line);) {
    auto e = parse_event(line);
    ASSERT_TRUE(e) << line;
    types.emplace_back(event_type(*e));
  }
  EXPECT_EQ(types, (std::vector<std::string>{"start", "classified", "routed", "complete"}));
}

TEST(WatchE2E, ExitsNonZeroWhenTheServerIsUnreachable) {
  const std::string url = "http://127.0.0.1:" + std::to_string(free_port());
  char tmpl[] = "/tmp/llmrouter-e2e-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  {
    Process watch({LLMROUTER_WATCH_BIN, url}, dir + "/out", dir + "/err");
    EXPECT_EQ(watch.wait_exit(), 1);
    EXPECT_THAT(watch.err(), HasSubstr("llmrouter-watch: cannot reach " + url + ": "));
  }
  std::filesystem::remove_all(dir);
}

TEST(WatchE2E, ExitsNonZeroWhenRefusedAndConnectsWithTheKey) {
  Stack stack("e2e-secret");
  {
    Process watch({LLMROUTER_WATCH_BIN, stack.url()}, stack.path("w1.out"), stack.path("w1.err"));
    EXPECT_EQ(watch.wait_exit(), 1);
    EXPECT_THAT(watch.err(), HasSubstr("refused the feed: HTTP 401: invalid or missing API key"));
    EXPECT_THAT(watch.err(), HasSubstr("--api-key-env"));
  }
  {
    Process watch({LLMROUTER_WATCH_BIN, stack.url(), "--api-key-env", "E2E_ROUTER_KEY"}, stack.path("w2.out"),
                  stack.path("w2.err"), {"E2E_ROUTER_KEY=wrong"});
    EXPECT_EQ(watch.wait_exit(), 1);
    EXPECT_THAT(watch.err(), HasSubstr("the key was refused"));
  }
  Process watch({LLMROUTER_WATCH_BIN, stack.url(), "--api-key-env", "E2E_ROUTER_KEY"}, stack.path("w3.out"),
                stack.path("w3.err"), stack.env());
  EXPECT_TRUE(wait_until([&] { return watch.err().find("connected — waiting") != std::string::npos; })) << watch.err();
  watch.signal(SIGTERM);
  EXPECT_EQ(watch.wait_exit(), 0);
}

TEST(WatchE2E, ReconnectsWhenTheServerComesBack) {
  Stack stack;
  Process watch({LLMROUTER_WATCH_BIN, stack.url()}, stack.path("watch.out"), stack.path("watch.err"));
  ASSERT_TRUE(wait_until([&] { return watch.err().find("connected") != std::string::npos; })) << watch.err();
  const std::string port = stack.port();
  stack.stop_server();
  ASSERT_TRUE(wait_until([&] { return watch.err().find("disconnected") != std::string::npos; })) << watch.err();
  EXPECT_TRUE(watch.running());
  stack.start_server(port);
  ASSERT_TRUE(wait_until([&] { return watch.err().find("reconnected") != std::string::npos; })) << watch.err();
  auto t = make_curl_transport();
  EXPECT_EQ(post(*t, stack.url() + "/v1/chat/completions",
                 R"({"model":"gpt-4o","messages":[{"role":"user","content":"after the restart"}]})")
                .status,
            200);
  EXPECT_TRUE(wait_until([&] { return watch.out().find("prompt:  after the restart") != std::string::npos; }))
      << watch.out();
  watch.signal(SIGTERM);
  EXPECT_EQ(watch.wait_exit(), 0);
}

}  // namespace
}  // namespace llmrouter::console
