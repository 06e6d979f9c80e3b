// SPDX-License-Identifier: MIT
#include "support/mock_upstream.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace llmrouter::testing {
namespace {

std::string read(const std::string& name) {
  std::ifstream in(LLMROUTER_SOURCE_DIR "/tests/data/formats/upstream/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string model_of(const std::string& body) {
  const std::size_t k = body.find("\"model\":\"");
  if (k == std::string::npos) return {};
  const std::size_t start = k + 9;
  return body.substr(start, body.find('"', start) - start);
}

bool wants_stream(const std::string& body) { return body.find("\"stream\":true") != std::string::npos; }

}  // namespace

struct MockUpstream::Impl {
  httplib::Server server;
  std::thread thread;
};

MockUpstream::MockUpstream() : impl_(std::make_unique<Impl>()) {
  auto& svr = impl_->server;
  svr.new_task_queue = [] { return new httplib::ThreadPool(256); };
  svr.set_tcp_nodelay(true);  // no Nagle delay between the headers and the body
  svr.set_keep_alive_max_count(100000);  // keep connections for reuse (the default is 5 requests)
  struct Format {
    const char* path;
    const char* stream_file;
    const char* response_file;
    const char* content_type;
  };
  static const Format kFormats[] = {
      {"/v1/chat/completions", "openai_stream.sse", "openai_response.json", "text/event-stream"},
      {"/v1/messages", "anthropic_stream.sse", "anthropic_response.json", "text/event-stream"},
      {"/api/chat", "ollama_stream.ndjson", "ollama_response.json", "application/x-ndjson"},
  };
  for (const Format& f : kFormats) {
    const std::string stream = read(f.stream_file);
    const std::string whole = read(f.response_file);
    const std::string content_type = f.content_type;
    svr.Post(f.path, [this, stream, whole, content_type](const httplib::Request& req, httplib::Response& res) {
      requests_.fetch_add(1);
      const std::string model = model_of(req.body);
      if (model == "status-429") {
        res.status = 429;
        res.set_header("retry-after", "7");
        res.set_content(R"({"error":{"message":"Rate limit reached","type":"rate_limit_error"}})", "application/json");
        return;
      }
      if (model == "status-500") {
        res.status = 500;
        res.set_content(R"({"error":{"message":"upstream exploded","type":"server_error"}})", "application/json");
        return;
      }
      if (model == "stall") std::this_thread::sleep_for(std::chrono::seconds(2));
      if (!wants_stream(req.body)) {
        res.set_content(whole, "application/json");
        return;
      }
      // The body is shared, not copied into the provider: it outlives every copy of it.
      auto body = std::make_shared<std::string>(stream);
      std::size_t cut = body->size();
      if (model == "garbage") *body = body->substr(0, body->size() / 2) + "\n\ndata: {broken\n\n";
      if (model == "disconnect") cut = body->size() / 2;
      const bool drip = model == "drip";
      const std::size_t chunk = model == "bulk" ? 4096 : 7;
      res.set_chunked_content_provider(content_type, [body, cut, drip, chunk](size_t offset, httplib::DataSink& sink) {
        try {
          if (drip) {
            // 100 paced events of an OpenAI stream; the client is expected to cancel.
            for (int i = 0; i < 100; ++i) {
              const std::string ev = R"(data: {"id":"d","choices":[{"index":0,"delta":{"content":"x"}}]})" "\n\n";
              if (!sink.write(ev.data(), ev.size())) return false;
              std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            sink.done();
            return true;
          }
          if (offset >= cut) {
            if (cut < body->size()) return false;  // drop the connection mid-stream
            sink.done();
            return true;
          }
          const std::size_t n = std::min(chunk, cut - offset);  // small chunks split lines and characters
          return sink.write(body->data() + offset, n);
        } catch (...) {
          return false;
        }
      });
    });
  }
  // cpp-httplib 0.11.4 listens with a backlog of 5: a burst of connections overflows it and
  // clients wait on SYN retransmissions. Listen again on the same socket with a deep backlog.
  int listen_fd = -1;
  svr.set_socket_options([&listen_fd](int fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = fd;
  });
  port_ = svr.bind_to_any_port("127.0.0.1");
  if (listen_fd >= 0) ::listen(listen_fd, 4096);
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  while (!impl_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

MockUpstream::~MockUpstream() {
  impl_->server.stop();
  impl_->thread.join();
}

}  // namespace llmrouter::testing
