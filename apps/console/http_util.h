// SPDX-License-Identifier: MIT
#pragma once
// Small pieces the console clients share: URLs, the router's API key, error bodies.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmrouter::console {

/// `base` (any trailing '/' removed) followed by `path` ("/v1/chat/completions").
std::string join_url(std::string_view base, std::string_view path);

/// The request headers that carry `api_key` ("Authorization: Bearer KEY"); none without
/// a key.
std::vector<std::pair<std::string, std::string>> auth_headers(const std::optional<std::string>& api_key);

/// A one-line description of an HTTP error reply: "HTTP 401: invalid or missing API key".
/// The message comes from an OpenAI (`{"error":{"message"}}`) or Anthropic error body, or
/// else from the body's first line (cut to 200 characters).
std::string http_error_text(int status, std::string_view body);

/// A transport error message without its "provider 'NAME': " prefix (the console's
/// requests all go to the router).
std::string transport_error_text(std::string_view message);

/// The value of header `name` (lower case) in `headers`, "" when absent.
std::string header_value(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name);

}  // namespace llmrouter::console
