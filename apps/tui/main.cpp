// SPDX-License-Identifier: MIT
// llmrouter-tui: the live pipeline feed, running stats and a chat client in one terminal.
// The state lives in console::TuiModel; this file wires the feed and chat clients to it
// and runs the key / update / draw loop.
#include <langinfo.h>

#include <atomic>
#include <chrono>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "chat_client.h"
#include "feed_client.h"
#include "inbox.h"
#include "llmrouter/version.h"
#include "options.h"
#include "providers_client.h"
#include "render.h"
#include "router_events.h"
#include "terminal.h"
#include "tui_model.h"

namespace {

using namespace llmrouter::console;
using llmrouter::SseEvent;

constexpr const char* kUsage =
    "usage: llmrouter-tui [BASE_URL] [--api-key-env VAR] [--model NAME]\n"
    "\n"
    "The router's live pipeline (top), running stats and the providers' live state\n"
    "(bottom left) and a chat client (bottom right) in one terminal.\n"
    "\n"
    "  BASE_URL           the router (default: http://localhost:8090)\n"
    "  --api-key-env VAR  send the API key held in the environment variable VAR\n"
    "  --model NAME       the chat's model (default: llama3.1:8b; :model NAME changes it)\n"
    "  --version          print the version and exit\n"
    "  --help             print this help and exit\n"
    "\n"
    "Keys: Tab or i focus the chat, Up/Down (k/j) scroll the feed, q quits, Ctrl-C quits\n"
    "anywhere. In the chat: Enter sends, Esc clears and returns, :model NAME, :clear.\n";

using Item = std::variant<FeedState, SseEvent, ChatUpdate, ProvidersUpdate>;

class Listener final : public FeedListener {
 public:
  explicit Listener(Inbox<Item>& inbox) : inbox_(inbox) {}
  void on_state(const FeedState& state) override { inbox_.push(state); }
  void on_event(const SseEvent& event) override { inbox_.push(event); }

 private:
  Inbox<Item>& inbox_;
};

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int) { g_stop.store(true); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ncursesw prints multi-byte characters only in a UTF-8 locale; fall back to C.UTF-8 when
// the environment's locale is not one.
void use_utf8_locale() {
  std::setlocale(LC_ALL, "");
  const char* codeset = nl_langinfo(CODESET);
  if (codeset && (std::strcmp(codeset, "UTF-8") == 0 || std::strcmp(codeset, "utf8") == 0)) return;
  std::setlocale(LC_CTYPE, "C.UTF-8");
}

}  // namespace

int main(int argc, char** argv) {
  auto started = start_up("llmrouter-tui", argc, argv, ArgSpec{false, true}, kUsage);
  if (const int* exit_code = std::get_if<int>(&started)) return *exit_code;
  const ConsoleArgs& args = std::get<StartUp>(started).args;
  const std::optional<std::string>& key = std::get<StartUp>(started).api_key;
  use_utf8_locale();

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);

  Inbox<Item> inbox;
  auto transport = llmrouter::make_curl_transport();
  TuiModel model(args.model.empty() ? std::string(ChatModel::kDefaultModel) : args.model);

  ChatOptions chat_options;
  chat_options.base_url = args.base_url;
  chat_options.api_key = key;
  ChatClient chat(*transport, chat_options, [&inbox](ChatUpdate u) { inbox.push(std::move(u)); });

  Listener listener(inbox);
  FeedOptions feed_options;
  feed_options.base_url = args.base_url;
  feed_options.api_key = key;
  FeedClient feed(*transport, feed_options, listener);
  feed.start();

  ProvidersOptions providers_options;
  providers_options.base_url = args.base_url;
  providers_options.api_key = key;
  ProvidersClient providers(*transport, providers_options,
                            [&inbox](ProvidersUpdate u) { inbox.push(std::move(u)); });
  providers.start();

  {
    llmrouter::tui::Terminal term;
    while (!g_stop.load()) {
      const Layout lay = layout(term.rows(), term.cols());
      model.feed_page = std::max(1, (lay.feed.h - 2) / 4);
      model.chat_page = std::max(1, lay.conversation.h - 2);

      bool quit = false;
      if (auto k = term.read_key(50)) {
        TuiAction action = model.on_key(*k);
        switch (action.kind) {
          case TuiAction::Kind::Quit:
            quit = true;
            break;
          case TuiAction::Kind::SendChat:
            model.chat.attach(chat.send(std::move(action.body)));
            break;
          case TuiAction::Kind::CancelChat:
            chat.cancel(action.serial);
            break;
          case TuiAction::Kind::None:
            break;
        }
      }
      if (quit) break;
      for (Item& item : inbox.drain()) {
        const int64_t now = now_ms();
        if (const auto* s = std::get_if<FeedState>(&item)) {
          model.feed.set_connection(*s, now);
        } else if (const auto* e = std::get_if<SseEvent>(&item)) {
          if (auto parsed = parse_event(e->data)) {
            model.feed.apply(*parsed, now);
          } else {
            model.feed.note_unparsed(parsed.error().message);
          }
        } else if (auto* p = std::get_if<ProvidersUpdate>(&item)) {
          if (p->error) {
            model.providers.set_error(std::move(*p->error), now);
          } else {
            model.providers.update(std::move(p->rows), now);
          }
        } else {
          model.chat.apply(std::get<ChatUpdate>(item));
        }
      }
      term.draw(render(model, term.rows(), term.cols(), now_ms()));
    }
  }
  providers.stop();
  feed.stop();
  return 0;
}
