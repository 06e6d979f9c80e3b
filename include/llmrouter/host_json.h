// SPDX-License-Identifier: MIT
#pragma once
/// @file host_json.h
/// Bodies a host answers with, built from the pipeline's results: the dry-run routing
/// decision (`POST /v1/route`), the model list (`GET /v1/models`) and the providers' live
/// state (`GET /v1/providers`). llmrouter-server and
/// the C ABI answer with these, so every host says the same.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/gateway.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/router.h"

namespace llmrouter {

/// The dry-run answer of `POST /v1/route`: {"provider", "model", "rule": {"index", "type"},
/// "tags", "reason", "fallbacks": [{"provider", "model"}], "plugins"}, and when the decision
/// was explained (Pipeline::explain) "candidates": [{"provider", "model", "rule",
/// "ranked_by", "kept" | "passed_over"}] and "session_affinity". A request a plugin answers
/// has provider "plugin" and rule null.
std::string route_json(const PreparedRequest& prepared);

/// The `GET /v1/models` body for `models` (Router::known_models), readable as both an
/// OpenAI and an Anthropic model list.
std::string models_json(const std::vector<RouteTarget>& models);

/// `provider`'s entry in `live` (LiveStats::snapshot), or an empty one (no attempt yet).
ProviderSnapshot provider_snapshot(const ProviderConfig& provider,
                                   const std::vector<ProviderSnapshot>& live);

/// A configured provider's state as `GET /v1/providers` and `/metrics` report it:
/// "unavailable" (it could not be set up), "at_capacity" (healthy, at its max_concurrency),
/// else its health ("ok", "ejected", "probing").
std::string_view provider_state(const ProviderConfig& provider, const ProviderSnapshot& live);

/// The `GET /v1/providers` body: {"object": "list", "data": [one object per configured
/// provider, in config order]}, each with its state ("ok", "ejected", "probing",
/// "at_capacity", "unavailable"), `ejected_until` (RFC 3339, while ejected), in flight,
/// max_concurrency, consecutive failures, attempts, failures, error rate, `ttft_ms`,
/// `total_ms` and `tokens_per_s` ({"mean", "p50", "p95", "samples"}, null before the first
/// sample), the same per model (`models`), and for Ollama providers `loaded_models` as
/// `loaded` reports them (null: not known).
std::string providers_json(
    const Config& config, const std::vector<ProviderSnapshot>& live,
    const std::function<std::optional<std::vector<std::string>>(std::string_view)>& loaded);

/// GET /v1/usage: a key's figures in its current period, its limits and what is left.
/// One key: `{"object":"key_usage", "key", "period": {"type","start","end"}, "requests",
/// "tokens", "spend_usd", "limits": {"rpm","tpm","budget_usd","models"}, "window":
/// {"seconds","requests","tokens"}, "budget_remaining_usd"}`; several (the operator's
/// view): `{"object":"list","data":[...]}`.
std::string usage_json(const std::vector<std::pair<KeyConfig, KeyUsage>>& keys, bool as_list);

/// The `POST /admin/reload` answer for a reload that was applied: {"reloaded": true,
/// "source", "restart_required": [key paths], "warnings": [messages]} (see ReloadReport).
std::string reload_json(std::string_view source, const std::vector<std::string>& restart_required,
                        const std::vector<std::string>& warnings);

/// The `POST /admin/reload` answer for a configuration that was refused: OpenAI's error
/// envelope, {"error": {"message", "type": "invalid_request_error", "param": null,
/// "code": null, "errors": [one line per problem of `error`'s message]}}.
std::string reload_error_json(const Error& error);

}  // namespace llmrouter
