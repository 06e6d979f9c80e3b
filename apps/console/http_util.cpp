// SPDX-License-Identifier: MIT
#include "http_util.h"

#include <simdjson.h>

#include "text.h"

namespace llmrouter::console {

std::string join_url(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + std::string(path);
}

std::vector<std::pair<std::string, std::string>> auth_headers(const std::optional<std::string>& api_key) {
  if (!api_key || api_key->empty()) return {};
  return {{"Authorization", "Bearer " + *api_key}};
}

std::string http_error_text(int status, std::string_view body) {
  std::string message;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::padded_string padded(body);
  if (!parser.parse(padded).get(root)) {
    std::string_view s;
    if (!root["error"]["message"].get(s)) {
      message = std::string(s);
    } else if (!root["error"].get(s) || !root["message"].get(s)) {
      message = std::string(s);
    }
  }
  if (message.empty()) {
    std::string_view first = trim(body);
    first = first.substr(0, first.find('\n'));
    message = truncate_chars(one_line(first), 200);
  }
  std::string out = "HTTP " + std::to_string(status);
  if (!message.empty()) out += ": " + one_line(message);
  return out;
}

std::string transport_error_text(std::string_view message) {
  if (message.starts_with("provider '")) {
    if (const std::size_t end = message.find("': "); end != std::string_view::npos) message.remove_prefix(end + 3);
  }
  return std::string(message);
}

std::string header_value(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace llmrouter::console
