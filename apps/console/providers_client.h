// SPDX-License-Identifier: MIT
#pragma once
// Polls the router's providers (`GET <base>/v1/providers`) over the library's Transport,
// every `interval` from a thread of its own, and hands each answer (or why there was none)
// to a sink.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "llmrouter/transport.h"
#include "providers_model.h"

namespace llmrouter::console {

/// One poll's result: the rows, or `error` ("HTTP 401: invalid or missing API key").
struct ProvidersUpdate {
  std::vector<ProviderRow> rows;
  std::optional<std::string> error;
};

struct ProvidersOptions {
  /// The router, e.g. "http://localhost:8090".
  std::string base_url;
  /// Sent as "Authorization: Bearer KEY" when set.
  std::optional<std::string> api_key;
  /// From the end of one poll to the start of the next.
  std::chrono::milliseconds interval{2'000};
  std::chrono::milliseconds timeout{5'000};
};

/// Called on the client's thread or the transport's, one poll at a time. Must not block.
using ProvidersSink = std::function<void(ProvidersUpdate)>;

class ProvidersClient {
 public:
  /// `transport` must outlive the client.
  ProvidersClient(Transport& transport, ProvidersOptions options, ProvidersSink sink);
  /// Stops (see `stop`).
  ~ProvidersClient();
  ProvidersClient(const ProvidersClient&) = delete;
  ProvidersClient& operator=(const ProvidersClient&) = delete;

  /// Starts polling: the first poll at once. Call once.
  void start();
  /// Cancels the poll in flight and waits for the thread; the sink is not called after it
  /// returns. Idempotent.
  void stop();

 private:
  void run();

  Transport& transport_;
  const ProvidersOptions options_;
  ProvidersSink sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;    // guarded by mu_
  bool done_ = false;        // guarded by mu_: the poll in flight completed
  TransferId transfer_ = 0;  // guarded by mu_: the poll in flight
  std::thread thread_;
};

}  // namespace llmrouter::console
