// SPDX-License-Identifier: MIT
#pragma once
/// @file plugin.h
/// Plugins hook into the pipeline at four stages. A plugin is built once from its config
/// table and is immutable; per-request settings (config settings merged with the request's
/// `plugins` entry) are passed to every hook.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmrouter/config.h"
#include "llmrouter/request.h"
#include "llmrouter/response.h"
#include "llmrouter/result.h"
#include "llmrouter/value.h"

namespace llmrouter {

/// What a hook tells the pipeline.
enum class Flow {
  /// Nothing changed: go on with the next plugin of the stage.
  Continue,
  /// The plugin changed the request or the response: go on, and record the plugin's id in
  /// the request's `plugins` list (logs, events). A modified request is re-encoded for the
  /// provider instead of being passed through.
  Modified,
  /// End this stage here: record the id, skip the stage's remaining plugins. Before routing
  /// (on_start, pre_request) Stop also skips routing and the provider: the plugin must have
  /// set `RequestState::response`; Stop in on_start skips classification and pre_request
  /// too, while post_response and on_end still run. Stop in post_response skips response
  /// classifiers and on_end. Stop in on_end only ends on_end.
  Stop,
};

/// Per-request state the stages share. Owned by the request's thread.
struct RequestState {
  uint64_t id = 0;
  WireFormat client_format = WireFormat::OpenAI;
  /// The model as the client asked for it.
  std::string requested_model;
  /// Plugins that returned Modified or Stop, in order (an id may repeat across stages).
  std::vector<std::string> active_plugins;
  /// A reply produced without a provider (set by a plugin that returns Stop).
  std::optional<Response> response;
  /// A value in [0, 1) for random choices (the random rule); fixed in tests.
  double random = 0.0;
  /// The client's `x-session-id` header, when it sent one (session affinity; see
  /// session_key()).
  std::string session_header;
  /// The configuration the pipeline was built from.
  const Config* config = nullptr;
};

/// A pipeline extension. Every hook defaults to Continue; override the ones you need.
/// Hooks are const and called from many request threads at once. An error from on_start or
/// pre_request fails the request (HTTP 500 naming the plugin); an error from post_response
/// or on_end is logged and the pipeline goes on.
class Plugin {
 public:
  virtual ~Plugin() = default;
  /// Before classifiers; may rewrite the request or answer it.
  virtual Result<Flow> on_start(CanonicalRequest&, RequestState&, const Value& /*settings*/) const {
    return Flow::Continue;
  }
  /// After classifiers, before routing; may force a provider (`forced_provider`).
  virtual Result<Flow> pre_request(CanonicalRequest&, RequestState&, const Value& /*settings*/) const {
    return Flow::Continue;
  }
  /// Once the reply exists (for streams: once it is complete; the stream is not held back).
  virtual Result<Flow> post_response(const CanonicalRequest&, Response&, RequestState&,
                                     const Value& /*settings*/) const {
    return Flow::Continue;
  }
  /// Last, before logging.
  virtual Result<Flow> on_end(const CanonicalRequest&, Response&, RequestState&, const Value& /*settings*/) const {
    return Flow::Continue;
  }
};

}  // namespace llmrouter
