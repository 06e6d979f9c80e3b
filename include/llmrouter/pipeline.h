// SPDX-License-Identifier: MIT
#pragma once
/// @file pipeline.h
/// The pipeline: built once from a validated Config and Registries, immutable, and shared by
/// every request thread.
///
///     on_start plugins -> classifiers -> pre_request plugins -> router rules
///       -> provider (later) -> post_response plugins -> response classifiers -> on_end plugins
///
/// `prepare` runs the request side (no network) and `finish` the response side.
/// [EXPERIMENTAL] Sending to providers, failover and the event stream are not part of this
/// version of the pipeline yet.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/classifier.h"
#include "llmrouter/config.h"
#include "llmrouter/plugin.h"
#include "llmrouter/registry.h"
#include "llmrouter/request.h"
#include "llmrouter/response.h"
#include "llmrouter/result.h"
#include "llmrouter/router.h"

namespace llmrouter {

/// A plugin chosen for one request, with its merged settings.
struct ActivePlugin {
  std::string id;
  const Plugin* plugin = nullptr;
  Value settings = Value(Value::Object{});
};

/// A request after the request-side stages.
struct PreparedRequest {
  CanonicalRequest request;
  RequestState state;
  /// The plugins of this request, in the order they run.
  std::vector<ActivePlugin> plugins;
  /// Where to send it; unset when a plugin answered (`state.response` is set then).
  std::optional<RouteDecision> decision;
  /// True when a plugin changed the request (Modified/Stop before routing): re-encode it
  /// rather than passing the client's body through.
  bool modified = false;
  /// Plugin ids the client asked for that do not exist (ignored, reported).
  std::vector<std::string> unknown_plugins;
};

class Pipeline {
 public:
  /// Builds the stages. Errors (Errc::Config): a classifier, response classifier or plugin
  /// id with no registered factory (naming file, line and id), or a factory's own error.
  [[nodiscard]] static Result<std::shared_ptr<const Pipeline>> build(const Config& config,
                                                                     const Registries& registries,
                                                                     const ModelCatalog* catalog = nullptr);

  /// Runs on_start, classifiers, pre_request and routing for `req`. Errors: a plugin's
  /// error (Errc::Internal, "plugin 'x' failed: ...", HTTP 500), no route (Errc::NoRoute,
  /// 400), a forced provider that does not exist or is unavailable (Errc::NoRoute).
  [[nodiscard]] Result<PreparedRequest> prepare(CanonicalRequest req, RequestState state) const;

  /// Decodes `body` (a client request in `client` format) and prepares it: the dry run
  /// behind `POST /v1/route`. No network I/O.
  [[nodiscard]] Result<PreparedRequest> route(WireFormat client, std::string_view body,
                                              double random = 0.0) const;

  /// Runs post_response, response classifiers (writing `resp.tags`) and on_end on a reply.
  /// Plugin errors here are logged and do not fail the request.
  void finish(PreparedRequest& prepared, Response& resp) const;

  const Config& config() const noexcept { return config_; }
  const Router& router() const noexcept { return router_; }

  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

 private:
  Pipeline(Config config, const ModelCatalog* catalog);

  struct Named {
    std::string id;
    Value settings;
  };
  Config config_;
  Router router_;
  std::vector<std::pair<std::string, std::unique_ptr<Classifier>>> classifiers_;
  std::vector<std::pair<std::string, std::unique_ptr<ResponseClassifier>>> response_classifiers_;
  /// Every registered plugin instance (enabled or not: a request may ask for any), in
  /// registry order, with its config settings.
  struct PluginSlot {
    std::string id;
    std::unique_ptr<Plugin> plugin;
    bool enabled = false;
    Value settings = Value(Value::Object{});
  };
  std::vector<PluginSlot> plugins_;

  std::vector<ActivePlugin> resolve_plugins(const CanonicalRequest& req, std::vector<std::string>& unknown) const;
};

}  // namespace llmrouter
