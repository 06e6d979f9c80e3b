// SPDX-License-Identifier: MIT
#pragma once
/// @file request.h
/// The canonical request: one model rich enough that the OpenAI Chat, Anthropic
/// Messages, OpenAI Responses and Ollama formats convert through it without losing what
/// they share. Codecs (lib/formats) fill and read it; classifiers, rules and plugins see
/// only this.
///
/// Conventions:
/// - Absent optional fields are `std::nullopt`, empty strings or empty `RawJson`; a codec
///   writes a field upstream only when it is present.
/// - JSON the router does not interpret (schemas, tool inputs, metadata) is `RawJson`.
/// - The system prompt lives in `CanonicalRequest::system`; `Role::System` messages are
///   only those that appear after the conversation started (OpenAI allows them anywhere).
/// - Tool results live only in `Role::Tool` messages (see `Message`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "llmrouter/capabilities.h"
#include "llmrouter/result.h"
#include "llmrouter/value.h"

namespace llmrouter {

/// The wire formats llmrouter speaks. Clients use OpenAI, Anthropic and Responses;
/// providers use OpenAI, Anthropic, Responses and Ollama.
enum class WireFormat { OpenAI, Anthropic, Responses, Ollama };

/// "openai", "anthropic", "responses", "ollama".
std::string_view wire_format_name(WireFormat f) noexcept;

/// The API a request came in on. Chat is the conversation APIs (Chat Completions, Messages,
/// Responses); the others are OpenAI's endpoints of their own names. Every endpoint is routed
/// by the same rules on its `model`; the others are sent to the provider's own endpoint
/// for them and answered with its reply, in OpenAI's shape (formats.h, "Other endpoints").
enum class Endpoint {
  Chat,
  /// `POST /v1/embeddings`: to `openai` providers (`/embeddings`) and `ollama` providers
  /// (`/api/embed`); needs the `embedding` capability.
  Embeddings,
  /// `POST /v1/completions` (legacy text completions): to `openai` providers only.
  Completions,
};

/// "chat", "embeddings", "completions".
std::string_view endpoint_name(Endpoint e) noexcept;

/// A prompt-caching marker (Anthropic `cache_control`) on a block or tool.
struct CacheControl {
  std::string type = "ephemeral";
  /// "5m", "1h"; empty: the provider's default.
  std::string ttl;
  friend bool operator==(const CacheControl&, const CacheControl&) = default;
};

/// Text.
struct TextBlock {
  std::string text;
  std::optional<CacheControl> cache_control;
  /// Anthropic citations, passed through.
  RawJson citations;
  friend bool operator==(const TextBlock&, const TextBlock&) = default;
};

/// Where an image or document comes from.
enum class SourceKind {
  Base64,  ///< `data` holds base64 (no "data:" prefix), `media_type` its type
  Url,     ///< `url` holds an http(s) URL (never fetched by the router)
  Text,    ///< documents only: `data` holds plain text
  FileId,  ///< `file_id` names a file uploaded to the provider
};

/// An image.
struct ImageBlock {
  SourceKind source = SourceKind::Base64;
  std::string media_type;
  std::string data;
  std::string url;
  std::string file_id;
  /// OpenAI's "auto" | "low" | "high"; empty when not given.
  std::string detail;
  std::optional<CacheControl> cache_control;
  friend bool operator==(const ImageBlock&, const ImageBlock&) = default;
};

/// A document (PDF or text), Anthropic `document` / OpenAI `file`.
struct DocumentBlock {
  SourceKind source = SourceKind::Base64;
  std::string media_type;
  std::string data;
  std::string url;
  std::string file_id;
  std::string filename;
  std::string title;
  std::string context;
  RawJson citations;
  std::optional<CacheControl> cache_control;
  friend bool operator==(const DocumentBlock&, const DocumentBlock&) = default;
};

/// A tool call made by the assistant.
struct ToolUseBlock {
  std::string id;
  std::string name;
  /// The arguments: a JSON object. Invariant: never empty once decoded ("{}" at least).
  RawJson input;
  std::optional<CacheControl> cache_control;
  friend bool operator==(const ToolUseBlock&, const ToolUseBlock&) = default;
};

/// What a tool result may contain.
using ToolResultPart = std::variant<TextBlock, ImageBlock, DocumentBlock>;

/// The result of one tool call, sent back by the client.
struct ToolResultBlock {
  std::string tool_use_id;
  /// A plain-string result is one TextBlock.
  std::vector<ToolResultPart> content;
  bool is_error = false;
  std::optional<CacheControl> cache_control;
  friend bool operator==(const ToolResultBlock&, const ToolResultBlock&) = default;
};

/// Model reasoning. `signature` must reach an Anthropic upstream unchanged.
struct ThinkingBlock {
  std::string thinking;
  std::string signature;
  friend bool operator==(const ThinkingBlock&, const ThinkingBlock&) = default;
};

/// Reasoning the provider returned encrypted.
struct RedactedThinkingBlock {
  std::string data;
  friend bool operator==(const RedactedThinkingBlock&, const RedactedThinkingBlock&) = default;
};

/// A block this model does not represent (e.g. Anthropic `server_tool_use`), kept verbatim
/// so an encoder of the same format can send it on; encoders of other formats drop it and
/// say so in the debug log.
struct OpaqueBlock {
  WireFormat origin = WireFormat::Anthropic;
  RawJson json;
  friend bool operator==(const OpaqueBlock&, const OpaqueBlock&) = default;
};

/// One piece of a message or response.
using ContentBlock = std::variant<TextBlock, ImageBlock, DocumentBlock, ToolUseBlock,
                                  ToolResultBlock, ThinkingBlock, RedactedThinkingBlock,
                                  OpaqueBlock>;

/// The author of a message.
enum class Role {
  System,     ///< a system/developer message after the conversation started
  User,       ///< the user
  Assistant,  ///< the model (text, thinking, tool calls)
  Tool,       ///< results of tool calls
};

/// "system", "user", "assistant", "tool".
std::string_view role_name(Role r) noexcept;

/// One turn. Invariants (checked by `validate`):
/// - `Tool` messages hold one or more ToolResultBlocks and nothing else, and tool results
///   appear nowhere else. (Anthropic's user turn [tool_result..., text...] decodes to a
///   Tool message followed by a User message; its encoder merges them back.)
/// - ToolUse, thinking and redacted thinking blocks appear only in `Assistant` messages.
/// - `System` messages hold only text.
struct Message {
  Role role = Role::User;
  std::vector<ContentBlock> content;
  /// OpenAI's optional participant name.
  std::string name;
  friend bool operator==(const Message&, const Message&) = default;
};

/// A tool the model may call.
struct Tool {
  /// A function with a JSON-schema input, or a provider's own tool kept verbatim.
  enum class Kind { Function, Opaque };
  Kind kind = Kind::Function;
  std::string name;
  std::string description;
  /// JSON schema of the input (an object schema). Invariant: non-empty for functions.
  RawJson input_schema;
  std::optional<bool> strict;
  std::optional<CacheControl> cache_control;
  /// For `Kind::Opaque`: the tool definition as sent, and the format it came from.
  RawJson opaque;
  WireFormat origin = WireFormat::OpenAI;
  friend bool operator==(const Tool&, const Tool&) = default;
};

/// How the model may use tools.
struct ToolChoice {
  enum class Mode {
    Auto,      ///< the model decides
    None,      ///< no tool calls
    Required,  ///< at least one tool call (Anthropic "any")
    Tool,      ///< must call the tool `name`
  };
  Mode mode = Mode::Auto;
  std::string name;
  friend bool operator==(const ToolChoice&, const ToolChoice&) = default;
};

/// Structured output: OpenAI `response_format` / Responses `text.format` / Anthropic
/// `output_config.format` / Ollama `format`.
struct ResponseFormat {
  enum class Type { Text, JsonObject, JsonSchema };
  Type type = Type::Text;
  /// JsonSchema only.
  std::string name;
  std::string description;
  RawJson schema;
  std::optional<bool> strict;
  friend bool operator==(const ResponseFormat&, const ResponseFormat&) = default;
};

/// Extended thinking (Anthropic `thinking`, Ollama `think`).
struct ThinkingConfig {
  enum class Mode { Enabled, Disabled, Adaptive };
  Mode mode = Mode::Enabled;
  std::optional<uint32_t> budget_tokens;
  friend bool operator==(const ThinkingConfig&, const ThinkingConfig&) = default;
};

/// Which OpenAI field carried the output limit, so it is written back the same way.
enum class MaxTokensField { MaxTokens, MaxCompletionTokens };

/// A plugin asked for by the client in its request (`"plugins": [{"id": ..., ...}]`).
struct PluginRequest {
  std::string id;
  /// Every member but `id`, as an object.
  Value settings = Value(Value::Object{});
  friend bool operator==(const PluginRequest&, const PluginRequest&) = default;
};

/// A client request in canonical form.
struct CanonicalRequest {
  std::string model;
  /// The system prompt: text blocks (a plain string is one block).
  std::vector<TextBlock> system;
  std::vector<Message> messages;

  std::vector<Tool> tools;
  std::optional<ToolChoice> tool_choice;
  std::optional<bool> parallel_tool_calls;

  std::optional<uint32_t> max_tokens;
  MaxTokensField max_tokens_field = MaxTokensField::MaxTokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<uint32_t> top_k;
  std::optional<double> frequency_penalty;
  std::optional<double> presence_penalty;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
  /// End-user id (OpenAI `user`, Anthropic `metadata.user_id`).
  std::string user;
  /// OpenAI's and Responses' `prompt_cache_key`: read for session affinity (session_key());
  /// same-format pass-through keeps it, and the Responses encoder writes it; the other
  /// encoders leave it out.
  std::string prompt_cache_key;
  /// Other metadata, as a JSON object.
  RawJson metadata;
  /// Responses' `previous_response_id`: the reply this request continues. A Responses
  /// provider gets it as is; for any other, the router prepends the conversation it kept
  /// under that id (state.h) and does not send the field.
  std::string previous_response_id;
  /// Responses' `store`: false asks that the reply not be kept. Unset: kept.
  std::optional<bool> store;

  std::optional<ResponseFormat> response_format;
  /// "none" | "minimal" | "low" | "medium" | "high" | ... as the client wrote it.
  std::string reasoning_effort;
  std::optional<ThinkingConfig> thinking;

  bool stream = false;
  /// OpenAI `stream_options.include_usage`.
  bool stream_include_usage = false;

  /// The API the request came in on. For any but Chat, the client's body is what the
  /// provider is sent (re-targeted, or translated for Ollama's embeddings), and only
  /// `model`, `stream`, `user` and the fields below are decoded.
  Endpoint endpoint = Endpoint::Chat;
  /// Embeddings: how the client wants vectors, "float" (the default) or "base64".
  std::string encoding_format;

  // The router's own fields; never sent upstream.
  /// Tags from classifiers, in a deterministic order, without duplicates.
  std::vector<std::string> tags;
  /// Set by a plugin to bypass router rules.
  std::optional<std::string> forced_provider;
  /// Plugins the client asked for.
  std::vector<PluginRequest> plugins;

  friend bool operator==(const CanonicalRequest&, const CanonicalRequest&) = default;
};

/// The text blocks of `m` joined by "\n" (empty blocks skipped); tool results, tool
/// inputs, thinking and media are not included.
std::string text_of(const Message& m);
/// The system prompt as one string, blocks joined by "\n".
std::string system_text(const CanonicalRequest& req);
/// A rough count of the request's input tokens, without a tokenizer: about four bytes per
/// token over the system prompt, the messages and the tool definitions, ~1600 per image.
/// For count_tokens without an Anthropic provider, and the gateway's `tpm` before a reply.
uint64_t estimate_input_tokens(const CanonicalRequest& req);
/// The text of a tool result's text parts, joined by "\n".
std::string text_of(const ToolResultBlock& b);

/// The key session affinity keeps a conversation on one provider by: `header` (the client's
/// `x-session-id`) when given, else `prompt_cache_key` (OpenAI, Responses), else `user`
/// (OpenAI, Responses; Anthropic's `metadata.user_id`, where Claude Code puts its session).
/// Empty: none.
std::string_view session_key(const CanonicalRequest& req, std::string_view header);

/// What the request needs from a model, derived from its structure: `Vision` when any
/// message (or tool result) carries an image, `Tools` when tools are defined, `Embedding`
/// for an embeddings request.
CapabilitySet needed_capabilities(const CanonicalRequest& req);

/// Checks the invariants documented on the types: a model is named; there is at least
/// one message; roles hold only the blocks they may; tool calls and results have ids;
/// function tools have unique, non-empty names and a schema; a forced tool_choice names a
/// defined tool; top_p is in [0, 1]. Errors are `Errc::InvalidRequest`, naming the
/// offending field as a path ("messages[2].content[0]").
[[nodiscard]] Result<void> validate(const CanonicalRequest& req);

}  // namespace llmrouter
