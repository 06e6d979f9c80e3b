// SPDX-License-Identifier: MIT
// `response-healing`: repairs a reply that was meant to be JSON but came back fenced,
// wrapped in prose, with trailing commas, or truncated. A prose reply is never touched,
// even when it contains a JSON fragment.
#include "plugins/builtin.h"

#include <vector>

#include "json/json.h"

namespace llmrouter::detail {
namespace {

std::string_view trim(std::string_view s) {
  const auto not_space = [](char c) { return c != ' ' && c != '\t' && c != '\n' && c != '\r'; };
  while (!s.empty() && !not_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && !not_space(s.back())) s.remove_suffix(1);
  return s;
}

// "```json\n...\n```" -> the inside; text without a leading fence is returned as is.
std::string_view strip_fence(std::string_view s) {
  if (s.substr(0, 3) != "```") return s;
  s.remove_prefix(3);
  if (s.substr(0, 4) == "json" || s.substr(0, 4) == "JSON") s.remove_prefix(4);
  while (!s.empty() && (s.front() == '\r' || s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  if (const std::size_t close = s.rfind("```"); close != std::string_view::npos) s = s.substr(0, close);
  return trim(s);
}

// From the first '{' or '[' to where that value closes (dropping prose after it); to the
// end of the text when it never closes (truncated: keep everything to repair it).
std::string_view crop_to_value(std::string_view s) {
  const std::size_t start = s.find_first_of("{[");
  if (start == std::string_view::npos) return s;
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = start; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return s.substr(start, i - start + 1);
    }
  }
  return s.substr(start);
}

// Removes commas directly followed (after whitespace) by '}' or ']', outside strings; then
// closes an open string and the open brackets, innermost first.
std::string repair(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  std::vector<char> closers;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < s.size()) {
        out.push_back(s[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ',') {
      std::size_t j = i + 1;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) ++j;
      if (j == s.size() || s[j] == '}' || s[j] == ']') continue;  // trailing comma
    }
    if (c == '"') in_string = true;
    if (c == '{') closers.push_back('}');
    if (c == '[') closers.push_back(']');
    if ((c == '}' || c == ']')) {
      if (closers.empty() || closers.back() != c) continue;  // a stray closer
      closers.pop_back();
    }
    out.push_back(c);
  }
  if (in_string) out.push_back('"');
  // A dangling "key": or "key" at the end of an object cannot be closed into valid JSON;
  // trim back to the last complete member when that happens.
  while (!out.empty() && (out.back() == ':' || out.back() == ',' || out.back() == ' ')) out.pop_back();
  for (auto it = closers.rbegin(); it != closers.rend(); ++it) out.push_back(*it);
  return out;
}

class ResponseHealing final : public Plugin {
 public:
  Result<Flow> post_response(const CanonicalRequest& req, Response& resp, RequestState&, const Value&) const override {
    std::string text;
    std::size_t first = resp.content.size();
    for (std::size_t i = 0; i < resp.content.size(); ++i) {
      if (const auto* t = std::get_if<TextBlock>(&resp.content[i])) {
        if (first == resp.content.size()) first = i;
        text += t->text;
      }
    }
    if (first == resp.content.size() || !meant_to_be_json(req, text)) return Flow::Continue;
    if (json::is_valid(text)) return Flow::Continue;
    std::optional<std::string> healed = heal_json(text);
    if (!healed) return Flow::Continue;
    // One text block with the healed JSON where the first text block was.
    std::vector<ContentBlock> content;
    for (std::size_t i = 0; i < resp.content.size(); ++i) {
      if (i == first) {
        content.push_back(TextBlock{std::move(*healed), std::nullopt, {}});
      } else if (!std::holds_alternative<TextBlock>(resp.content[i])) {
        content.push_back(std::move(resp.content[i]));
      }
    }
    resp.content = std::move(content);
    return Flow::Modified;
  }
};

}  // namespace

bool meant_to_be_json(const CanonicalRequest& req, std::string_view text) {
  if (req.response_format && req.response_format->type != ResponseFormat::Type::Text) return true;
  const std::string_view t = trim(text);
  if (t.empty()) return false;
  if (t.front() == '{' || t.front() == '[') return true;
  if (t.substr(0, 3) == "```") {
    const std::string_view inside = strip_fence(t);
    return !inside.empty() && (inside.front() == '{' || inside.front() == '[');
  }
  return false;
}

std::optional<std::string> heal_json(std::string_view text) {
  if (json::is_valid(text)) return std::string(text);
  std::string_view core = crop_to_value(strip_fence(trim(text)));
  if (core.empty() || (core.front() != '{' && core.front() != '[')) return std::nullopt;
  std::string healed = repair(core);
  // A truncated last member ("b": or {"b) cannot be completed: drop it and try again.
  for (int tries = 0; !json::is_valid(healed) && tries < 8; ++tries) {
    const std::size_t cut = core.rfind(',');
    if (cut == std::string_view::npos) return std::nullopt;
    core = core.substr(0, cut);
    healed = repair(core);
  }
  if (!json::is_valid(healed)) return std::nullopt;
  return healed;
}

Result<std::unique_ptr<Plugin>> make_response_healing(const ComponentConfig&, const Config&) {
  return std::unique_ptr<Plugin>(std::make_unique<ResponseHealing>());
}

}  // namespace llmrouter::detail
