// SPDX-License-Identifier: MIT
#pragma once
/// @file host_json.h
/// Bodies a host answers with, built from the pipeline's results: the dry-run routing
/// decision (`POST /v1/route`) and the model list (`GET /v1/models`). llmrouter-server and
/// the C ABI answer with these, so every host says the same.

#include <string>
#include <vector>

#include "llmrouter/pipeline.h"
#include "llmrouter/router.h"

namespace llmrouter {

/// The dry-run answer of `POST /v1/route`: {"provider", "model", "rule": {"index", "type"},
/// "tags", "reason", "fallbacks": [{"provider", "model"}], "plugins"}. A request a plugin
/// answers has provider "plugin" and rule null.
std::string route_json(const PreparedRequest& prepared);

/// The `GET /v1/models` body for `models` (Router::known_models), readable as both an
/// OpenAI and an Anthropic model list.
std::string models_json(const std::vector<RouteTarget>& models);

}  // namespace llmrouter
