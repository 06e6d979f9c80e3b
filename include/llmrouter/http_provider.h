// SPDX-License-Identifier: MIT
#pragma once
/// @file http_provider.h
/// The one provider class: HTTP to an upstream speaking `openai`, `anthropic` or `ollama`,
/// over the shared Transport.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "llmrouter/config.h"
#include "llmrouter/provider.h"
#include "llmrouter/transport.h"

namespace llmrouter {

/// Reads an environment variable (the provider's API key, on every request).
using EnvReader = std::function<std::optional<std::string>(const std::string&)>;

/// A provider over `transport`, configured by `config`. `getenv` defaults to std::getenv.
/// A non-streamed reply larger than `max_reply_bytes` ends the attempt with 502
/// (`[server] max_upstream_reply_bytes`).
std::unique_ptr<Provider> make_http_provider(const ProviderConfig& config, std::shared_ptr<Transport> transport,
                                             EnvReader getenv = {}, uint64_t max_reply_bytes = 64ull << 20);

/// Whether provider `config` sends client header `name` (lower-case): a name or prefix its
/// `forward_client_headers` lists, or, unset, one of its format's own headers
/// (`anthropic-*` for anthropic, `openai-beta` for openai).
bool provider_forwards(const ProviderConfig& config, std::string_view name) noexcept;

/// The URL a provider posts chat requests to: `{base}/chat/completions` (openai),
/// `{base}/v1/messages` or `{base}/messages` when base ends with /v1 (anthropic),
/// `{base}/api/chat` (ollama).
std::string chat_url(const ProviderConfig& config);

/// The URL a provider posts requests of `endpoint` to: chat_url for Chat;
/// `{base}/embeddings` (openai) or `{base}/api/embed` (ollama) for Embeddings;
/// `{base}/completions` for Completions.
std::string endpoint_url(const ProviderConfig& config, Endpoint endpoint);

/// An upstream error reply as an Error: 429 keeps its status and retry-after, other 4xx keep
/// theirs, 5xx become 502; the message names the provider and carries the upstream's own.
Error upstream_error(const std::string& provider, int status, std::string_view body, std::string_view retry_after);

}  // namespace llmrouter
