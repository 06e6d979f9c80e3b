// SPDX-License-Identifier: MIT
#pragma once
// A local mock upstream (127.0.0.1, ephemeral port by default) speaking the OpenAI
// (/v1/chat/completions), Anthropic (/v1/messages), Responses (/v1/responses) and Ollama
// (/api/chat) formats, streamed and not, replaying the transcripts in
// tests/data/formats/upstream (compiled in, so the mock runs from any directory). On
// /v1/responses a request without tools gets a text-only reply instead of the recorded one
// (reasoning, text and two function calls). It also serves Ollama's discovery endpoints:
//   GET  /api/tags   the configured models ({"models":[{name, model, modified_at, size,
//                    digest, details}]})
//   POST /api/show   {"model":"x"} or {"name":"x"}: details, model_info (with
//                    "<family>.context_length") and capabilities; 404 for an unknown model
//   GET  /api/ps     the configured models loaded in memory (by default the first one):
//                    {"models":[{name, model, size, digest, details, expires_at,
//                    size_vram}]}
//   POST /v1/messages/count_tokens   {"input_tokens":42}, whatever the request
//   POST /v1/embeddings, /api/embed   OpenAI's and Ollama's embeddings: input i of text
//                    length L gets [L, (i+1)/4, -(i+1)/2, ...] (`dimensions` long, default
//                    4; exact in float32), base64 on /v1/embeddings when asked
//   POST /v1/completions   a legacy completion, " mock completion", whole or streamed
//   GET  /mock/last-request?path=P   the body of the last request received on path P
//                    (404 when none), for tests that check what the router sent upstream
// On the chat endpoints, the model name picks a behaviour:
//   anything else    the recorded reply, streamed in small paced chunks when asked to stream
//   status-429       429 with retry-after: 7
//   status-500       500
//   stall            waits 2 s before answering (bounded; for first-byte timeouts)
//   latency-<ms>     waits <ms> (at most 10 s), then answers normally, streamed or not
//   drip             a stream of 100 events 20 ms apart (for cancellation)
//   bulk             the recorded stream in 4 KB writes (for benchmarks)
//   chunks-<n>       a stream of n text events ("tok0 ", "tok1 ", ...; n from 1 to 10000),
//                    one write per event, framed as the path's format ends a stream (for
//                    benchmarks); not streamed, the recorded reply
//   A+B              both, for latency-<ms> and chunks-<n>: "latency-1000+chunks-20" waits
//                    1 s, then streams 20 events
//   garbage          a stream that turns into invalid JSON half-way
//   disconnect       a stream cut off half-way
//   bad-utf8         a reply (streamed or not) whose text holds invalid UTF-8: "ok \xff\xfe end"
// Every wait is a timer, bounded, and ends early when the mock stops; the server stops when
// the object is destroyed. It serves on the router's HTTP edge (llmrouter/http_server.h),
// so it is at least as fast as the router it stands behind.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrouter::testing {

/// One model the mock's Ollama endpoints report.
struct MockModel {
  std::string name;
  /// Ollama's capability names, as /api/show lists them ("completion", "tools", "vision").
  std::vector<std::string> capabilities = {"completion"};
  /// model_info "<family>.context_length"; 0 leaves it out.
  int64_t context_length = 0;
  /// The architecture: details.family and the model_info key prefix.
  std::string family = "llama";
  /// /api/show answers 500 for this model.
  bool show_fails = false;
};

/// The two default models: "qwen2.5vl:7b" (completion, tools, vision; 128000 tokens) and
/// "gemma2:2b" (completion only; 8192 tokens).
std::vector<MockModel> default_mock_models();

class MockUpstream {
 public:
  struct Options {
    /// What /api/tags lists and /api/show describes.
    std::vector<MockModel> models = default_mock_models();
    /// The names of the models /api/ps lists as loaded, in the order of `models` (names
    /// that `models` lacks are left out); unset: the first model of `models`.
    std::optional<std::vector<std::string>> loaded = std::nullopt;
    /// /api/tags answers 500.
    bool tags_fail = false;
    /// /api/ps answers 500.
    bool ps_fail = false;
    /// Waits before answering /api/tags and /api/show (bounded by 10 s).
    std::chrono::milliseconds tags_delay{0};
    std::chrono::milliseconds show_delay{0};
    /// Waits this long before every chat answer (besides latency-<ms>; bounded by 10 s):
    /// two mocks with different waits stand for a fast and a slow provider.
    std::chrono::milliseconds chat_delay{0};
    std::string host = "127.0.0.1";
    /// 0: an ephemeral port.
    int port = 0;
    /// Event loops (threads) serving connections, on the router's own HTTP edge.
    unsigned loops = 1;
  };

  /// Default options.
  MockUpstream();
  /// Throws std::runtime_error when it cannot listen on options.host:options.port.
  explicit MockUpstream(Options options);
  ~MockUpstream();
  MockUpstream(const MockUpstream&) = delete;
  MockUpstream& operator=(const MockUpstream&) = delete;

  int port() const { return port_; }
  std::string host() const;
  std::string base_url() const;
  /// Requests served so far, on every path.
  int requests() const { return requests_.load(); }
  /// Requests received on `path` ("/api/tags").
  int requests(std::string_view path) const;
  /// The value of header `name` on the last request to `path` ("" when absent).
  std::string last_header(std::string_view path, std::string_view name) const;
  /// The body of the last request to `path` ("" when none).
  std::string last_body(std::string_view path) const;

  /// Changes, while running, what /api/tags and /api/show report.
  void set_models(std::vector<MockModel> models);
  void set_tags_fail(bool fail);
  /// Changes, while running, what /api/ps reports (see Options::loaded).
  void set_loaded(std::optional<std::vector<std::string>> loaded);
  void set_ps_fail(bool fail);
  /// Answers every chat request with `status` and an error body from now on (0: normally
  /// again), as a provider that has gone down and comes back.
  void set_chat_status(int status);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::atomic<int> requests_{0};
};

}  // namespace llmrouter::testing
