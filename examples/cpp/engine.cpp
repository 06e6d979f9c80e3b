// SPDX-License-Identifier: MIT
// A host of the Engine, the router as one object: requests submitted from the program's
// own event loop (the asynchronous API: callbacks on the engine's loop threads, posted back
// to ours), then the same request pulled from a plain thread.
//   example_engine UPSTREAM_URL    an OpenAI-compatible upstream (e.g. llmrouter-mock's
//                                  http://127.0.0.1:PORT)
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "llmrouter/llmrouter.h"

namespace {

using namespace llmrouter;

// The program's own event loop: a queue of tasks run on the main thread.
class MyLoop {
 public:
  void post(std::function<void()> task) {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
    cv_.notify_one();
  }
  // Runs tasks as they come while `more()` says so.
  void run_while(const std::function<bool()>& more) {
    while (more()) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
};

// One request's reply: the engine calls these on its loop threads; they only hand the
// results to our loop (never block there).
class Reply final : public RequestCallbacks {
 public:
  Reply(MyLoop& loop, std::string name, int& pending) : loop_(loop), name_(std::move(name)), pending_(pending) {}
  void on_decision(const PreparedRequest& p) override {
    if (p.decision) route_ = p.decision->target.provider + " / " + p.decision->target.model;
  }
  bool on_bytes(std::string_view bytes) override {
    body_ += bytes;  // one request's callbacks come one at a time
    return true;
  }
  void on_end(Outcome o) override {
    loop_.post([this, o = std::move(o)] {  // on our loop from here
      if (o.error) {
        line_ = name_ + ": error " + o.error->message;
      } else {
        line_ = name_ + " -> " + route_ + ": " + text_of(*o.response) + " (" + std::to_string(body_.size()) +
                " bytes, " + (o.passthrough ? "passed through" : "translated") + ")";
      }
      --pending_;
    });
  }
  const std::string& line() const { return line_; }

 private:
  MyLoop& loop_;
  std::string name_;
  int& pending_;
  std::string route_;
  std::string body_;
  std::string line_;
};

std::string config_text(const std::string& upstream) {
  return R"(
[[providers]]
name = "local"
format = "openai"
base_url = ")" + upstream + R"(/v1"
[[routers]]
type = "fallback"
providers = ["local"]
)";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: example_engine UPSTREAM_URL\n");
    return 64;
  }
  auto config = load_config_string(config_text(argv[1]), "engine.toml");
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  auto engine = Engine::create(std::move(*config));
  if (!engine) {
    std::fprintf(stderr, "%s\n", engine.error().message.c_str());
    return 1;
  }

  // From our own event loop: two requests in flight at once.
  MyLoop loop;
  int pending = 2;
  std::vector<std::shared_ptr<Reply>> replies;
  replies.push_back(std::make_shared<Reply>(loop, "chat", pending));
  replies.push_back(std::make_shared<Reply>(loop, "messages", pending));
  (*engine)->submit(WireFormat::OpenAI, R"({"model":"m","messages":[{"role":"user","content":"Hi"}]})", {},
                    replies[0]);
  (*engine)->submit(WireFormat::Anthropic,
                    R"({"model":"m","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]})", {}, replies[1]);
  loop.run_while([&] { return pending > 0; });  // each reply's end posts a task here
  for (const auto& r : replies) std::printf("%s\n", r->line().c_str());

  // From a plain thread: pull a streamed reply.
  auto stream = (*engine)->open_stream(WireFormat::OpenAI,
                                       R"({"model":"m","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
  if (!stream) {
    std::fprintf(stderr, "%s\n", stream.error().message.c_str());
    return 1;
  }
  std::string all, chunk;
  while ((*stream)->next(chunk, std::chrono::seconds(30)) == ReplyStream::Status::Data) all += chunk;
  std::printf("pulled stream: %s, %s\n", (*stream)->error() ? (*stream)->error()->message.c_str() : "ok",
              all.find("data: [DONE]") != std::string::npos ? "ends with [DONE]" : "no [DONE]");
  return 0;
}
