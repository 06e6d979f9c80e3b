// SPDX-License-Identifier: MIT
#include "support/event_dump.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace llmrouter::testing {
namespace {

std::string q(std::string_view s) {
  std::string out;
  llmrouter::detail::append_json_string(out, s);
  return out;
}

std::string usage(const Usage& u) {
  return fmt::format("in={} out={} cache_read={} cache_write={} reasoning={}", u.input_tokens,
                     u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens,
                     u.reasoning_tokens);
}

}  // namespace

std::string dump(const StreamEvent& e) {
  if (const auto* x = std::get_if<MessageStart>(&e)) {
    return fmt::format("message_start id={} model={} created={} {}", x->id, x->model, x->created, usage(x->usage));
  }
  if (const auto* x = std::get_if<TextDelta>(&e)) return fmt::format("text[{}] {}", x->index, q(x->text));
  if (const auto* x = std::get_if<ThinkingDelta>(&e)) return fmt::format("thinking[{}] {}", x->index, q(x->thinking));
  if (const auto* x = std::get_if<SignatureDelta>(&e)) return fmt::format("signature[{}] {}", x->index, q(x->signature));
  if (const auto* x = std::get_if<RedactedThinkingEvent>(&e)) return fmt::format("redacted[{}] {}", x->index, q(x->data));
  if (const auto* x = std::get_if<ToolCallStart>(&e)) return fmt::format("tool_start[{}] id={} name={}", x->index, x->id, x->name);
  if (const auto* x = std::get_if<ToolCallDelta>(&e)) return fmt::format("tool_delta[{}] {}", x->index, q(x->partial_json));
  if (const auto* x = std::get_if<BlockStop>(&e)) return fmt::format("stop[{}]", x->index);
  if (const auto* x = std::get_if<UsageUpdate>(&e)) return fmt::format("usage {}", usage(x->usage));
  if (const auto* x = std::get_if<Done>(&e)) {
    return fmt::format("done {} {}", stop_reason_name(x->stop_reason), q(x->stop_sequence));
  }
  if (const auto* x = std::get_if<StreamError>(&e)) {
    return fmt::format("error {} {}", errc_name(x->error.code), q(x->error.message));
  }
  return "?";
}

std::string dump(const std::vector<StreamEvent>& events) {
  std::string out;
  for (const StreamEvent& e : events) {
    out += dump(e);
    out += '\n';
  }
  return out;
}

}  // namespace llmrouter::testing
