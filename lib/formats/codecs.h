// SPDX-License-Identifier: MIT
#pragma once
// The per-format codec entry points behind formats.h, the codec table that maps a wire
// format to them, and decoding helpers the formats share. Internal.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.h"
#include "llmrouter/formats.h"
#include "util/try.h"

namespace llmrouter::detail {

// OpenAI Chat Completions (formats/openai_{request,response,stream}.cpp)
Result<CanonicalRequest> decode_openai_request(std::string_view body);
Result<std::string> encode_openai_request(const CanonicalRequest& req);
Result<Response> decode_openai_response(std::string_view body);
std::string encode_openai_response(const Response& resp);
std::string encode_openai_error(const Error& error);
std::unique_ptr<StreamDecoder> make_openai_stream_decoder();
std::unique_ptr<StreamEncoder> make_openai_stream_encoder(const StreamEncoderOptions& options);

// Anthropic Messages (formats/anthropic_{request,response,stream}.cpp)
Result<CanonicalRequest> decode_anthropic_request(std::string_view body);
Result<std::string> encode_anthropic_request(const CanonicalRequest& req);
Result<Response> decode_anthropic_response(std::string_view body);
std::string encode_anthropic_response(const Response& resp);
std::string encode_anthropic_error(const Error& error);
std::unique_ptr<StreamDecoder> make_anthropic_stream_decoder();
std::unique_ptr<StreamEncoder> make_anthropic_stream_encoder();

// OpenAI Responses: the client side (formats/responses.cpp) and the provider side
// (formats/responses_{request,response,stream}.cpp)
Result<CanonicalRequest> decode_responses_request(std::string_view body);
Result<std::string> encode_responses_request(const CanonicalRequest& req);
Result<Response> decode_responses_response(std::string_view body);
std::string encode_responses_response(const Response& resp);
std::string encode_responses_error(const Error& error);
std::unique_ptr<StreamDecoder> make_responses_stream_decoder();
std::unique_ptr<StreamEncoder> make_responses_stream_encoder();

// Ollama /api/chat, provider side only (formats/ollama.cpp)
Result<std::string> encode_ollama_request(const CanonicalRequest& req);
Result<Response> decode_ollama_response(std::string_view body);
std::unique_ptr<StreamDecoder> make_ollama_stream_decoder();

// ---- The codec table (formats/formats.cpp)

/// One wire format's entry points. A side the format does not have is null: Ollama is a
/// provider format only.
struct Codec {
  Result<CanonicalRequest> (*decode_request)(std::string_view body);
  Result<std::string> (*encode_request)(const CanonicalRequest& req);
  Result<Response> (*decode_response)(std::string_view body);
  std::string (*encode_response)(const Response& resp);
  std::string (*encode_error)(const Error& error);
  std::unique_ptr<StreamDecoder> (*make_stream_decoder)();
  std::unique_ptr<StreamEncoder> (*make_stream_encoder)(const StreamEncoderOptions& options);
};

/// The entry of `format`; an empty one (every side null) for a value outside the enum.
const Codec& codec(WireFormat format);

// ---- Shared decoding helpers (formats/formats.cpp)

/// Sampling fields and the router's `plugins`, spelt alike in every client format:
/// temperature, top_p, top_k, frequency_penalty, presence_penalty, seed, plugins. Returns
/// false when `key` is not one of them.
Result<bool> decode_shared_field(std::string_view key, const json::Element& value, const json::Path& path,
                                 CanonicalRequest& req);

/// The 400 error for a client request whose top level has `key` more than once (see
/// check_unique_top_level_keys).
Unexpected duplicate_top_level_key(std::string_view key);
/// Fails with duplicate_top_level_key when `obj` has a key twice (keys compare unescaped).
Result<void> check_unique_keys(const json::Object& obj);

/// The frame of every client request decoder: parses `body` (strictly: invalid JSON or
/// UTF-8 is an error), requires an object whose keys are unique (check_unique_keys: the
/// parsed keys are checked rather than the text scanned again) and walks its members. Null members
/// are skipped (clients send nulls for unset fields), the shared fields go to decode_shared_field,
/// `model` is read here and required, and every other member goes to
/// `on_member(key, value, path, req)`, which returns an error for a bad value and ignores
/// keys it does not know. The caller checks its own required members and validates.
template <typename OnMember>
Result<CanonicalRequest> decode_client_request(std::string_view body, OnMember&& on_member) {
  LLMROUTER_TRY(doc, json::parse(body));
  const json::Path root;
  LLMROUTER_TRY(obj, json::as_object(doc, root));
  LLMROUTER_CHECK(check_unique_keys(obj));
  CanonicalRequest req;
  bool has_model = false;
  for (auto [key, value] : obj) {
    if (value.is_null()) continue;
    const json::Path p(root, key);
    LLMROUTER_TRY(shared, decode_shared_field(key, value, p, req));
    if (shared) continue;
    if (key == "model") {
      LLMROUTER_TRY(s, json::as_string(value, p));
      req.model = std::string(s);
      has_model = true;
    } else {
      LLMROUTER_CHECK(on_member(key, value, p, req));
    }
  }
  if (!has_model) return json::error_at(json::Path(root, "model"), "is required");
  return req;
}

/// Walks an array of objects: `e` must be an array (at `path`) and each element an object;
/// calls `f(object, element, element_path)` for each, stopping at the first error.
template <typename F>
Result<void> for_each_object(const json::Element& e, const json::Path& path, F&& f) {
  LLMROUTER_TRY(arr, json::as_array(e, path));
  std::size_t i = 0;
  for (json::Element item : arr) {
    const json::Path item_path(path, i++);
    LLMROUTER_TRY(o, json::as_object(item, item_path));
    LLMROUTER_CHECK(f(o, item, item_path));
  }
  return {};
}

/// An optional string member of client input, read strictly: "" when absent or null, an
/// error naming its path when it is not a string. (`json::string_or_empty` is the lenient
/// reading meant for provider replies.)
Result<std::string> optional_string(const json::Object& o, std::string_view key,
                                    const json::Path& path);

/// The error "`member` is required" for a client request's top-level member.
Unexpected missing_member(std::string_view member);

/// The router's own `plugins` array: [{"id": "...", ...settings}].
Result<std::vector<PluginRequest>> decode_plugins(const json::Element& e, const json::Path& path);
/// A `stop` value: a string or an array of strings.
Result<std::vector<std::string>> decode_stop(const json::Element& e, const json::Path& path);
/// An Anthropic-style cache_control object.
Result<CacheControl> decode_cache_control(const json::Element& e, const json::Path& path);
/// Tool-call arguments as a model produced them: a JSON object is kept (compact); any
/// other text becomes a JSON string holding it verbatim (see ToolUseBlock::input).
RawJson arguments_to_input(std::string_view arguments);
/// The inverse, for formats that carry arguments as a string: the object text, or the
/// verbatim text a string input holds.
std::string input_to_arguments(const RawJson& input);
/// The input as a JSON object for formats that need one ("{}" for a string input).
std::string_view input_as_object(const RawJson& input);

/// How a format carries tool-call arguments: as a JSON string (OpenAI) or an object (Ollama).
enum class ArgumentsAs { String, Object };
/// "tool_calls": [{"id", "type": "function", "function": {"name", "arguments"}}]
void write_tool_calls(json::Writer& w, const std::vector<const ToolUseBlock*>& calls,
                      ArgumentsAs arguments);

/// A function tool's fields, from an object holding `name`, `description`, `parameters`
/// and `strict` (OpenAI nests it under "function"; Responses has it flat).
Result<Tool> decode_function_tool(const json::Object& fn, const json::Path& path);
/// "auto", "none" or "required" as a ToolChoice; nullopt for anything else.
std::optional<ToolChoice> tool_choice_from_string(std::string_view s);
/// Where the OpenAI family puts a forced tool's name: under "function" (Chat) or flat
/// (Responses).
enum class ToolNameAs { Nested, Flat };
/// `"tool_choice": "auto" | "none" | "required" | {"type": "function", ...name}`.
void write_tool_choice(json::Writer& w, const ToolChoice& c, ToolNameAs name);
/// True when an opaque (provider-specific) tool can be sent to `target` as it is; logs the
/// drop otherwise.
bool keep_opaque_tool(const Tool& t, WireFormat target);
/// The OpenAI error object {"message", "type", "param", "code"} (also used by Responses).
void write_openai_error(json::Writer& w, const Error& error);

/// Adds the text of tool-result parts to `out`, joined by "\n"; counts the non-text
/// parts left out in `dropped`.
std::string tool_result_text(const ToolResultBlock& r, std::size_t* dropped = nullptr);

}  // namespace llmrouter::detail
