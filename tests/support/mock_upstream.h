// SPDX-License-Identifier: MIT
#pragma once
// A local mock upstream on 127.0.0.1 (ephemeral port) speaking the OpenAI
// (/v1/chat/completions), Anthropic (/v1/messages) and Ollama (/api/chat) formats, streamed
// and not, replaying the transcripts in tests/data/formats/upstream. The model name picks
// a behaviour:
//   anything else    the recorded reply, streamed in small paced chunks when asked to stream
//   status-429       429 with retry-after: 7
//   status-500       500
//   stall            waits 2 s before answering (bounded; for first-byte timeouts)
//   drip             a stream of 100 events 20 ms apart (for cancellation)
//   bulk             the recorded stream in 4 KB writes (for benchmarks)
//   garbage          a stream that turns into invalid JSON half-way
//   disconnect       a stream cut off half-way
// Every loop is bounded; the server stops when the object is destroyed.

#include <atomic>
#include <memory>
#include <string>

namespace llmrouter::testing {

class MockUpstream {
 public:
  MockUpstream();
  ~MockUpstream();
  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  /// Requests served so far.
  int requests() const { return requests_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::atomic<int> requests_{0};
};

}  // namespace llmrouter::testing
