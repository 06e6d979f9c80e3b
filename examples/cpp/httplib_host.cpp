// SPDX-License-Identifier: MIT
// The Engine inside a cpp-httplib service: each handler pulls its reply from the engine
// (Engine::pull) on the cpp-httplib worker thread serving the connection; a streamed reply
// goes to the client through a chunked content provider on that same thread.
//   example_httplib_host CONFIG [PORT]     serves CONFIG on 127.0.0.1:PORT (none or 0: a free port)
//   example_httplib_host --self-test URL   serves a config routing to the OpenAI-compatible
//                                          upstream at URL (e.g. llmrouter-mock's), sends
//                                          itself requests and checks the replies
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "llmrouter/llmrouter.h"

namespace {

using namespace llmrouter;

// No limit of our own: the providers' timeouts bound the wait for a reply.
constexpr std::chrono::milliseconds kNoLimit{-1};
// A stream's relay hands control back to cpp-httplib this often when the upstream is quiet,
// so that it notices a stopped server.
constexpr std::chrono::seconds kPoll{1};

// A streamed reply between calls of its content provider (which cpp-httplib may copy).
struct Relay {
  std::unique_ptr<ReplyStream> stream;
  std::string pending;  // bytes pulled before the status line was sent
};

void serve(const Engine& engine, WireFormat format, const httplib::Request& req,
           httplib::Response& res) {
  // The engine keeps the client headers worth forwarding (x-router-*, traceparent, ...).
  std::unique_ptr<ReplyStream> stream =
      engine.pull(format, req.body, Headers(req.headers.begin(), req.headers.end()));
  res.set_header("X-Router-Request-Id", std::to_string(stream->id()));

  // Wait for the first bytes: until then the request may fail over, and a failure is
  // answered with its own status, in the client's format.
  std::string first;
  if (stream->next(first, kNoLimit) == ReplyStream::Status::End && stream->outcome().error) {
    const Error& e = *stream->outcome().error;
    res.status = e.status();
    if (!e.retry_after.empty()) res.set_header("Retry-After", e.retry_after);
    res.set_content(encode_error(format, e), "application/json");
    return;
  }
  if (!stream->streamed()) {  // one JSON body, whole
    for (std::string more; stream->next(more, kNoLimit) == ReplyStream::Status::Data;)
      first += more;
    res.set_content(first, "application/json");
    return;
  }
  auto relay = std::make_shared<Relay>(Relay{std::move(stream), std::move(first)});
  res.set_chunked_content_provider("text/event-stream", [relay](size_t, httplib::DataSink& sink) {
    // An exception escaping a content provider aborts the process (cpp-httplib 0.11.4).
    try {
      std::string chunk = std::move(relay->pending);
      relay->pending.clear();
      if (chunk.empty()) {
        switch (relay->stream->next(chunk, kPoll)) {
          case ReplyStream::Status::Data:
            break;
          case ReplyStream::Status::Timeout:
            return true;  // called again unless the server is stopping
          case ReplyStream::Status::End:
            sink.done();  // a failure midway already ended the stream with an error event
            return true;
        }
      }
      // An empty write would end the response. A failed one (the client left) returns
      // false: cpp-httplib drops the connection and the provider, and destroying the
      // ReplyStream cancels the upstream transfer.
      return chunk.empty() || sink.write(chunk.data(), chunk.size());
    } catch (...) {
      return false;
    }
  });
}

void add_routes(httplib::Server& server, const Engine& engine) {
  server.Post("/v1/chat/completions",
              [&engine](const httplib::Request& req, httplib::Response& res) {
                serve(engine, WireFormat::OpenAI, req, res);
              });
  server.Post("/v1/messages", [&engine](const httplib::Request& req, httplib::Response& res) {
    serve(engine, WireFormat::Anthropic, req, res);
  });
  // Every open stream holds a worker thread until it ends: size the pool for them.
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
}

// The self-test's config: everything goes to the upstream at `url`.
std::string self_test_config(const std::string& url) {
  return "[[providers]]\nname = \"local\"\nformat = \"openai\"\nbase_url = \"" + url +
         "/v1\"\n[[routers]]\ntype = \"fallback\"\nproviders = [\"local\"]\n";
}

// Whether a reply came with `status` and `needle` in its body; prints what came.
bool check(const char* what, const httplib::Result& r, int status, const std::string& needle) {
  if (r && r->status == status && r->body.find(needle) != std::string::npos) {
    std::printf("%s: %d %s\n", what, r->status, r->get_header_value("Content-Type").c_str());
    return true;
  }
  const std::string got =
      r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error());
  std::fprintf(stderr, "self-test: %s: expected %d with '%s', got %s\n", what, status,
               needle.c_str(), got.c_str());
  return false;
}

// One non-streamed request, one streamed (Anthropic in, the OpenAI upstream's stream
// translated event by event) and one malformed, to ourselves.
bool self_test(int port) {
  const std::string chat = R"({"model":"m","messages":[{"role":"user","content":"Hi"}]})";
  const std::string messages = R"({"model":"m","max_tokens":50,"stream":true,)"
                               R"("messages":[{"role":"user","content":"Hi"}]})";
  const char* json = "application/json";
  httplib::Client client("127.0.0.1", port);
  return check("chat", client.Post("/v1/chat/completions", chat, json), 200,
               "Checking both cities.") &&
         check("messages stream", client.Post("/v1/messages", messages, json), 200,
               "event: message_stop") &&
         check("malformed body", client.Post("/v1/messages", "{", json), 400, R"({"type":"error")");
}

}  // namespace

int main(int argc, char** argv) {
  const bool testing = argc == 3 && std::string(argv[1]) == "--self-test";
  if (!testing && (argc < 2 || argc > 3)) {
    std::fprintf(stderr,
                 "usage: example_httplib_host CONFIG [PORT]\n"
                 "       example_httplib_host --self-test URL\n");
    return 64;
  }
  auto config = testing ? load_config_string(self_test_config(argv[2]), "self-test.toml")
                        : load_config_file(argv[1]);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  auto engine = Engine::create(std::move(*config));
  if (!engine) {
    std::fprintf(stderr, "%s\n", engine.error().message.c_str());
    return 1;
  }

  httplib::Server server;
  add_routes(server, **engine);
  const int wanted = testing || argc == 2 ? 0 : std::atoi(argv[2]);
  const int port = wanted > 0 ? (server.bind_to_port("127.0.0.1", wanted) ? wanted : -1)
                              : server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1\n");
    return 1;
  }
  if (!testing) {
    std::printf("listening on http://127.0.0.1:%d\n", port);
    std::fflush(stdout);
    return server.listen_after_bind() ? 0 : 1;
  }

  std::thread listener([&server] { server.listen_after_bind(); });
  for (int i = 0; i < 5000 && !server.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const bool ok = self_test(port);
  server.stop();
  listener.join();
  std::printf("self-test: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
