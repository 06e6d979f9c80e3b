// SPDX-License-Identifier: MIT
// llmrouter-watch: prints each request's classifier tags, routing decision and response
// as they happen, from the router's live feed (`/dashboard/events`). `--json` prints the
// raw events, one JSON object per line. Reconnects after a break; exits non-zero when the
// server cannot be reached at first, or refuses the feed.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "feed_client.h"
#include "inbox.h"
#include "llmrouter/version.h"
#include "options.h"
#include "router_events.h"
#include "watch_format.h"

namespace {

using namespace llmrouter::console;
using llmrouter::SseEvent;

constexpr const char* kUsage =
    "usage: llmrouter-watch [BASE_URL] [--api-key-env VAR] [--json]\n"
    "\n"
    "Prints each request's tags, routing decision and response as the router handles it.\n"
    "\n"
    "  BASE_URL           the router (default: http://localhost:8090)\n"
    "  --api-key-env VAR  send the API key held in the environment variable VAR\n"
    "  --json             print the raw events, one JSON object per line (for jq)\n"
    "  --version          print the version and exit\n"
    "  --help             print this help and exit\n";

struct Stop {};
using Item = std::variant<FeedState, SseEvent, Stop>;

class Listener final : public FeedListener {
 public:
  explicit Listener(Inbox<Item>& inbox) : inbox_(inbox) {}
  void on_state(const FeedState& state) override { inbox_.push(state); }
  void on_event(const SseEvent& event) override { inbox_.push(event); }

 private:
  Inbox<Item>& inbox_;
};

bool use_color() {
  if (!isatty(STDOUT_FILENO)) return false;
  if (const char* no = std::getenv("NO_COLOR"); no && *no) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::string_view(term) == "dumb");
}

std::string refusal_hint(const FeedState& s, bool have_key) {
  if (s.http_status == 401 || s.http_status == 403) {
    return have_key ? "\n  the key was refused: check the variable given to --api-key-env"
                    : "\n  the router wants an API key: pass it with --api-key-env VAR";
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  auto started = start_up("llmrouter-watch", argc, argv, ArgSpec{true, false}, kUsage);
  if (const int* exit_code = std::get_if<int>(&started)) return *exit_code;
  const ConsoleArgs& args = std::get<StartUp>(started).args;
  const std::optional<std::string>& key = std::get<StartUp>(started).api_key;

  // SIGINT and SIGTERM are taken by one thread with sigwait; every other thread starts
  // with them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Inbox<Item> inbox;
  std::thread signal_thread([&inbox, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    inbox.push(Stop{});
  });

  const bool color = use_color();
  const std::string url = args.base_url + "/dashboard/events";
  std::fprintf(stderr, "connecting to %s …\n", url.c_str());

  auto transport = llmrouter::make_curl_transport();
  Listener listener(inbox);
  FeedOptions options;
  options.base_url = args.base_url;
  options.api_key = key;
  FeedClient feed(*transport, options, listener);
  feed.start();

  int status = 0;
  bool connected_once = false;
  for (bool running = true; running;) {
    auto item = inbox.pop(std::chrono::milliseconds(1000));
    if (!item) continue;
    if (std::holds_alternative<Stop>(*item)) break;
    if (const auto* s = std::get_if<FeedState>(&*item)) {
      switch (s->phase) {
        case FeedPhase::Connecting:
          break;
        case FeedPhase::Live:
          std::fputs(connected_once ? "reconnected\n\n" : "connected — waiting for requests\n\n", stderr);
          connected_once = true;
          break;
        case FeedPhase::Refused:
          std::fprintf(stderr, "llmrouter-watch: %s refused the feed: %s%s\n", args.base_url.c_str(),
                       s->message.c_str(), refusal_hint(*s, key.has_value()).c_str());
          status = 1;
          running = false;
          break;
        case FeedPhase::Unreachable:
          if (!s->was_live) {
            std::fprintf(stderr, "llmrouter-watch: cannot reach %s: %s\n", args.base_url.c_str(), s->message.c_str());
            status = 1;
            running = false;
          } else {
            std::fprintf(stderr, "still unreachable (%s); retrying in %llds\n", s->message.c_str(),
                         static_cast<long long>((s->retry_in.count() + 999) / 1000));
          }
          break;
        case FeedPhase::Disconnected:
          std::fprintf(stderr, "disconnected (%s); reconnecting…\n", s->message.c_str());
          break;
      }
      continue;
    }
    const auto& ev = std::get<SseEvent>(*item);
    if (args.json) {
      // One event per line: the data is compact JSON without newlines.
      std::fwrite(ev.data.data(), 1, ev.data.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
      continue;
    }
    auto parsed = parse_event(ev.data);
    if (!parsed) {
      std::fprintf(stderr, "[parse error: %s]\n", parsed.error().message.c_str());
      continue;
    }
    for (const Line& l : watch_lines(*parsed)) {
      const std::string text = to_ansi(l, color);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fputc('\n', stdout);
    }
    std::fflush(stdout);
  }
  feed.stop();
  // Wake the signal thread if no signal came, and join it before the inbox goes away.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return status;
}
