// SPDX-License-Identifier: MIT
#include "llmrouter/request.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace llmrouter {
namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

void append_line(std::string& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty()) out += '\n';
  out += text;
}

Unexpected invalid(std::string message) { return fail(Errc::InvalidRequest, std::move(message)); }

}  // namespace

std::string text_of(const Message& m) {
  std::string out;
  for (const ContentBlock& b : m.content) {
    if (const auto* t = std::get_if<TextBlock>(&b)) append_line(out, t->text);
  }
  return out;
}

std::string system_text(const CanonicalRequest& req) {
  std::string out;
  for (const TextBlock& t : req.system) append_line(out, t.text);
  return out;
}

std::string text_of(const ToolResultBlock& b) {
  std::string out;
  for (const ToolResultPart& p : b.content) {
    if (const auto* t = std::get_if<TextBlock>(&p)) append_line(out, t->text);
  }
  return out;
}

std::string_view session_key(const CanonicalRequest& req, std::string_view header) {
  if (!header.empty()) return header;
  if (!req.prompt_cache_key.empty()) return req.prompt_cache_key;
  return req.user;
}

CapabilitySet needed_capabilities(const CanonicalRequest& req) {
  CapabilitySet needs;
  for (const Message& m : req.messages) {
    for (const ContentBlock& b : m.content) {
      if (std::holds_alternative<ImageBlock>(b)) {
        needs.insert(Capability::Vision);
      } else if (const auto* r = std::get_if<ToolResultBlock>(&b)) {
        for (const ToolResultPart& p : r->content) {
          if (std::holds_alternative<ImageBlock>(p)) needs.insert(Capability::Vision);
        }
      }
    }
  }
  if (!req.tools.empty()) needs.insert(Capability::Tools);
  if (req.endpoint == Endpoint::Embeddings) needs.insert(Capability::Embedding);
  return needs;
}

Result<void> validate(const CanonicalRequest& req) {
  if (req.model.empty()) return invalid("model: must be a non-empty string");
  if (req.messages.empty()) return invalid("messages: at least one message is required");

  for (std::size_t i = 0; i < req.messages.size(); ++i) {
    const Message& m = req.messages[i];
    if (m.role == Role::Tool && m.content.empty()) {
      return invalid(fmt::format("messages[{}]: a tool message needs at least one tool result", i));
    }
    for (std::size_t j = 0; j < m.content.size(); ++j) {
      // Formatted only for an error: a valid request must not pay for it per block.
      const auto where = [i, j] { return fmt::format("messages[{}].content[{}]", i, j); };
      const ContentBlock& b = m.content[j];
      const bool is_result = std::holds_alternative<ToolResultBlock>(b);
      if (m.role == Role::Tool && !is_result) {
        return invalid(fmt::format("{}: a tool message may hold only tool results", where()));
      }
      if (m.role != Role::Tool && is_result) {
        return invalid(fmt::format("{}: a tool result may appear only in a tool message (role {})",
                                   where(), role_name(m.role)));
      }
      if (m.role == Role::System && !std::holds_alternative<TextBlock>(b)) {
        return invalid(fmt::format("{}: a system message may hold only text", where()));
      }
      Result<void> r = std::visit(
          Overloaded{
              [&](const ToolUseBlock& u) -> Result<void> {
                if (m.role != Role::Assistant) {
                  return invalid(fmt::format("{}: a tool call may appear only in an assistant "
                                             "message (role {})", where(), role_name(m.role)));
                }
                if (u.id.empty()) return invalid(fmt::format("{}: tool call without an id", where()));
                if (u.name.empty()) return invalid(fmt::format("{}: tool call without a name", where()));
                return {};
              },
              [&](const ToolResultBlock& res) -> Result<void> {
                if (res.tool_use_id.empty()) {
                  return invalid(fmt::format("{}: tool result without a tool_use_id", where()));
                }
                return {};
              },
              [&](const ThinkingBlock&) -> Result<void> {
                if (m.role != Role::Assistant) {
                  return invalid(fmt::format("{}: thinking may appear only in an assistant message",
                                             where()));
                }
                return {};
              },
              [&](const RedactedThinkingBlock&) -> Result<void> {
                if (m.role != Role::Assistant) {
                  return invalid(fmt::format(
                      "{}: redacted thinking may appear only in an assistant message", where()));
                }
                return {};
              },
              [&](const ImageBlock& im) -> Result<void> {
                if (im.source == SourceKind::Text) {
                  return invalid(fmt::format("{}: an image cannot have a text source", where()));
                }
                return {};
              },
              [&](const auto&) -> Result<void> { return {}; },
          },
          b);
      if (!r) return r;
    }
  }

  std::set<std::string_view> names;
  for (std::size_t i = 0; i < req.tools.size(); ++i) {
    const Tool& t = req.tools[i];
    if (t.kind == Tool::Kind::Opaque) continue;
    if (t.name.empty()) return invalid(fmt::format("tools[{}]: a function tool needs a name", i));
    if (t.input_schema.empty()) {
      return invalid(fmt::format("tools[{}]: tool '{}' needs an input schema", i, t.name));
    }
    if (!names.insert(t.name).second) {
      return invalid(fmt::format("tools[{}]: tool name '{}' is defined twice", i, t.name));
    }
  }
  if (req.tool_choice && req.tool_choice->mode == ToolChoice::Mode::Tool) {
    bool found = false;
    for (const Tool& t : req.tools) found = found || t.name == req.tool_choice->name;
    if (!found) {
      return invalid(fmt::format("tool_choice: names tool '{}', which is not defined in tools",
                                 req.tool_choice->name));
    }
  }
  if (req.top_p && (*req.top_p < 0.0 || *req.top_p > 1.0)) {
    return invalid(fmt::format("top_p: {} is outside [0, 1]", *req.top_p));
  }
  return {};
}

uint64_t estimate_input_tokens(const CanonicalRequest& req) {
  std::size_t bytes = system_text(req).size();
  for (const Message& m : req.messages) {
    bytes += 4;  // role and framing
    for (const ContentBlock& b : m.content) {
      if (const auto* t = std::get_if<TextBlock>(&b)) {
        bytes += t->text.size();
      } else if (const auto* u = std::get_if<ToolUseBlock>(&b)) {
        bytes += u->name.size() + u->input.text.size();
      } else if (const auto* r = std::get_if<ToolResultBlock>(&b)) {
        bytes += text_of(*r).size();
      } else if (const auto* th = std::get_if<ThinkingBlock>(&b)) {
        bytes += th->thinking.size();
      } else if (std::holds_alternative<ImageBlock>(b)) {
        bytes += std::size_t{1600} * 4;  // a typical image is ~1.6k tokens
      }
    }
  }
  for (const Tool& t : req.tools)
    bytes += t.name.size() + t.description.size() + t.input_schema.text.size();
  return std::max<uint64_t>(1, (bytes + 3) / 4);
}

}  // namespace llmrouter
