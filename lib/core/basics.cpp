// SPDX-License-Identifier: MIT
// Names and small helpers of the public vocabulary types: errors, version, capabilities,
// enum spellings.
#include <array>

#include "llmrouter/capabilities.h"
#include "llmrouter/config.h"
#include "llmrouter/request.h"
#include "llmrouter/response.h"
#include "llmrouter/result.h"
#include "llmrouter/version.h"

#define LLMROUTER_STR2(x) #x
#define LLMROUTER_STR(x) LLMROUTER_STR2(x)

namespace llmrouter {

std::string_view version() noexcept {
  return LLMROUTER_STR(LLMROUTER_VERSION_MAJOR) "." LLMROUTER_STR(
      LLMROUTER_VERSION_MINOR) "." LLMROUTER_STR(LLMROUTER_VERSION_PATCH);
}

std::string_view errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::InvalidArgument: return "invalid_argument";
    case Errc::InvalidRequest: return "invalid_request";
    case Errc::Config: return "config";
    case Errc::NoRoute: return "no_route";
    case Errc::Upstream: return "upstream";
    case Errc::Timeout: return "timeout";
    case Errc::Cancelled: return "cancelled";
    case Errc::Internal: return "internal";
    case Errc::Overloaded:
      return "overloaded";
  }
  return "unknown";
}

int Error::status() const noexcept {
  if (http_status != 0) return http_status;
  switch (code) {
    case Errc::InvalidArgument:
    case Errc::InvalidRequest:
    case Errc::NoRoute: return 400;
    case Errc::Upstream: return 502;
    case Errc::Timeout: return 504;
    case Errc::Cancelled: return 499;  // client closed request (nginx convention)
    case Errc::Overloaded:
      return 429;
    case Errc::Config:
    case Errc::Internal: return 500;
  }
  return 500;
}

namespace {
constexpr std::array<std::string_view, kCapabilityCount> kCapabilityNames = {
    "completion", "tools", "vision", "thinking", "embedding", "insert", "coding"};
}  // namespace

std::string_view capability_name(Capability c) noexcept {
  return kCapabilityNames[static_cast<std::size_t>(c)];
}

std::optional<Capability> parse_capability(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kCapabilityNames.size(); ++i) {
    if (kCapabilityNames[i] == name) return static_cast<Capability>(i);
  }
  return std::nullopt;
}

std::string CapabilitySet::to_string() const {
  std::string out;
  for (int i = 0; i < kCapabilityCount; ++i) {
    const auto c = static_cast<Capability>(i);
    if (!contains(c)) continue;
    if (!out.empty()) out += ',';
    out += capability_name(c);
  }
  return out;
}

std::string_view wire_format_name(WireFormat f) noexcept {
  switch (f) {
    case WireFormat::OpenAI: return "openai";
    case WireFormat::Anthropic: return "anthropic";
    case WireFormat::Responses: return "responses";
    case WireFormat::Ollama: return "ollama";
  }
  return "unknown";
}

std::string_view endpoint_name(Endpoint e) noexcept {
  switch (e) {
    case Endpoint::Chat:
      return "chat";
    case Endpoint::Embeddings:
      return "embeddings";
    case Endpoint::Completions:
      return "completions";
  }
  return "unknown";
}

std::string_view role_name(Role r) noexcept {
  switch (r) {
    case Role::System: return "system";
    case Role::User: return "user";
    case Role::Assistant: return "assistant";
    case Role::Tool: return "tool";
  }
  return "unknown";
}

std::string_view stop_reason_name(StopReason r) noexcept {
  switch (r) {
    case StopReason::EndTurn: return "end_turn";
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::ToolUse: return "tool_use";
    case StopReason::StopSequence: return "stop_sequence";
    case StopReason::PauseTurn: return "pause_turn";
    case StopReason::Refusal: return "refusal";
    case StopReason::ContentFilter: return "content_filter";
    case StopReason::Other: return "other";
  }
  return "other";
}

}  // namespace llmrouter
