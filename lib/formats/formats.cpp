// SPDX-License-Identifier: MIT
// The codec table, the public entry points of formats.h looking formats up in it, and the
// decoding helpers the codecs share.
#include <algorithm>
#include <array>
#include <iterator>

#include <fmt/format.h>

#include "formats/codecs.h"
#include "formats/common.h"
#include "util/try.h"

namespace llmrouter {

using namespace detail;

namespace detail {

namespace {

constexpr Codec kCodecs[] = {
    // WireFormat::OpenAI
    {decode_openai_request, encode_openai_request, decode_openai_response, encode_openai_response,
     encode_openai_error, make_openai_stream_decoder, make_openai_stream_encoder},
    // WireFormat::Anthropic
    {decode_anthropic_request, encode_anthropic_request, decode_anthropic_response,
     encode_anthropic_response, encode_anthropic_error, make_anthropic_stream_decoder,
     [](const StreamEncoderOptions&) { return make_anthropic_stream_encoder(); }},
    // WireFormat::Responses
    {decode_responses_request, encode_responses_request, decode_responses_response,
     encode_responses_response, encode_responses_error, make_responses_stream_decoder,
     [](const StreamEncoderOptions&) { return make_responses_stream_encoder(); }},
    // WireFormat::Ollama: provider side only.
    {nullptr, encode_ollama_request, decode_ollama_response, nullptr, nullptr,
     make_ollama_stream_decoder, nullptr},
};
static_assert(std::size(kCodecs) == static_cast<std::size_t>(WireFormat::Ollama) + 1,
              "one codec per wire format, in the enum's order");

}  // namespace

const Codec& codec(WireFormat format) {
  static constexpr Codec kNone{};
  const auto i = static_cast<std::size_t>(format);
  return i < std::size(kCodecs) ? kCodecs[i] : kNone;
}

}  // namespace detail

Result<CanonicalRequest> decode_request(WireFormat client, std::string_view body) {
  // Every client decoder checks that the top-level keys are unique (decode_client_request).
  if (const auto decode = codec(client).decode_request) return decode(body);
  return fail(Errc::InvalidArgument,
              fmt::format("decode_request: '{}' is not a client format", wire_format_name(client)));
}

Result<std::string> encode_request(WireFormat provider, const CanonicalRequest& req) {
  if (const auto encode = codec(provider).encode_request) return encode(req);
  return fail(Errc::InvalidArgument,
              fmt::format("encode_request: '{}' is not a provider format", wire_format_name(provider)));
}

Result<Response> decode_response(WireFormat provider, std::string_view body) {
  if (const auto decode = codec(provider).decode_response) return decode(body);
  return fail(Errc::InvalidArgument,
              fmt::format("decode_response: '{}' is not a provider format", wire_format_name(provider)));
}

// The client-side encoders and the stream decoder fall back to OpenAI's for a format
// without its own: OpenAI's shapes are what OpenAI-compatible clients and servers speak.

std::string encode_response(WireFormat client, const Response& resp) {
  const auto encode = codec(client).encode_response;
  return (encode ? encode : codec(WireFormat::OpenAI).encode_response)(resp);
}

std::string encode_error(WireFormat client, const Error& error) {
  const auto encode = codec(client).encode_error;
  return (encode ? encode : codec(WireFormat::OpenAI).encode_error)(error);
}

std::unique_ptr<StreamDecoder> make_stream_decoder(WireFormat provider) {
  const auto make = codec(provider).make_stream_decoder;
  return (make ? make : codec(WireFormat::OpenAI).make_stream_decoder)();
}

std::unique_ptr<StreamEncoder> make_stream_encoder(WireFormat client, const StreamEncoderOptions& options) {
  const auto make = codec(client).make_stream_encoder;
  return (make ? make : codec(WireFormat::OpenAI).make_stream_encoder)(options);
}

namespace detail {

Result<std::string> optional_string(const json::Object& o, std::string_view key,
                                    const json::Path& path) {
  auto e = json::field(o, key);
  if (!e) return std::string();
  LLMROUTER_TRY(s, json::as_string(*e, json::Path(path, key)));
  return std::string(s);
}

Unexpected duplicate_top_level_key(std::string_view key) {
  return fail(
      Errc::InvalidRequest,
      fmt::format(
          "the request has the key '{}' more than once at the top level (readers disagree on "
          "which one counts); send it once",
          key),
      400);
}

Result<void> check_unique_keys(const json::Object& obj) {
  // A request has a handful of keys: compared pairwise, with no allocation. Sorted beyond
  // that, so that a body with many keys costs n log n.
  constexpr std::size_t kFew = 16;
  if (obj.size() <= kFew) {
    std::array<std::string_view, kFew> seen;
    std::size_t n = 0;
    for (auto [key, value] : obj) {
      if (std::find(seen.begin(), seen.begin() + n, key) != seen.begin() + n)
        return duplicate_top_level_key(key);
      seen[n++] = key;
    }
    return {};
  }
  std::vector<std::string_view> keys;
  keys.reserve(obj.size());
  for (auto [key, value] : obj) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  const auto twice = std::adjacent_find(keys.begin(), keys.end());
  if (twice != keys.end()) return duplicate_top_level_key(*twice);
  return {};
}

Unexpected missing_member(std::string_view member) {
  return json::error_at(json::Path(json::Path(), member), "is required");
}

Result<std::vector<PluginRequest>> decode_plugins(const json::Element& e, const json::Path& path) {
  std::vector<PluginRequest> out;
  auto decode_plugin = [&](const json::Object& o, const json::Element&,
                           const json::Path& pp) -> Result<void> {
    PluginRequest req;
    bool has_id = false;
    for (auto [key, value] : o) {
      if (key == "id") {
        LLMROUTER_TRY(id, json::as_string(value, json::Path(pp, "id")));
        req.id = std::string(id);
        has_id = true;
      } else {
        req.settings.set(std::string(key), json::to_value(value));
      }
    }
    if (!has_id || req.id.empty()) return json::error_at(json::Path(pp, "id"), "is required");
    out.push_back(std::move(req));
    return {};
  };
  LLMROUTER_CHECK(for_each_object(e, path, decode_plugin));
  return out;
}

Result<bool> decode_shared_field(std::string_view key, const json::Element& value, const json::Path& p,
                                 CanonicalRequest& req) {
  constexpr int64_t kMaxU32 = 0xFFFFFFFFLL;
  if (key == "temperature") {
    LLMROUTER_TRY(v, json::as_double(value, p));
    req.temperature = v;
  } else if (key == "top_p") {
    LLMROUTER_TRY(v, json::as_double(value, p));
    req.top_p = v;
  } else if (key == "top_k") {
    LLMROUTER_TRY(v, json::as_int(value, p, 0, kMaxU32));
    req.top_k = static_cast<uint32_t>(v);
  } else if (key == "frequency_penalty") {
    LLMROUTER_TRY(v, json::as_double(value, p));
    req.frequency_penalty = v;
  } else if (key == "presence_penalty") {
    LLMROUTER_TRY(v, json::as_double(value, p));
    req.presence_penalty = v;
  } else if (key == "seed") {
    LLMROUTER_TRY(v, json::as_int(value, p, INT64_MIN, INT64_MAX));
    req.seed = v;
  } else if (key == "plugins") {
    LLMROUTER_TRY(v, decode_plugins(value, p));
    req.plugins = std::move(v);
  } else {
    return false;
  }
  return true;
}

Result<std::vector<std::string>> decode_stop(const json::Element& e, const json::Path& path) {
  std::vector<std::string> out;
  if (e.is_string()) {
    out.emplace_back(e.get_string().value_unsafe());
    return out;
  }
  LLMROUTER_TRY(arr, json::as_array(e, path));
  std::size_t i = 0;
  for (json::Element s : arr) {
    LLMROUTER_TRY(v, json::as_string(s, json::Path(path, i++)));
    out.emplace_back(v);
  }
  return out;
}

Result<CacheControl> decode_cache_control(const json::Element& e, const json::Path& path) {
  LLMROUTER_TRY(o, json::as_object(e, path));
  CacheControl cc;
  if (auto t = json::field(o, "type")) {
    LLMROUTER_TRY(s, json::as_string(*t, json::Path(path, "type")));
    cc.type = std::string(s);
  }
  if (auto t = json::field(o, "ttl")) {
    LLMROUTER_TRY(s, json::as_string(*t, json::Path(path, "ttl")));
    cc.ttl = std::string(s);
  }
  return cc;
}

RawJson arguments_to_input(std::string_view arguments) {
  auto doc = json::parse(arguments, json::ParserSlot::Scratch);
  if (doc && doc->is_object()) return json::raw(*doc);
  std::string quoted;
  json::Writer w(quoted);
  w.string(arguments);
  return RawJson{std::move(quoted)};
}

std::string input_to_arguments(const RawJson& input) {
  if (input.empty()) return "{}";
  if (input.text.front() != '"') return input.text;
  auto doc = json::parse(input.text, json::ParserSlot::Scratch);
  if (doc && doc->is_string()) return std::string(doc->get_string().value_unsafe());
  return input.text;
}

std::string_view input_as_object(const RawJson& input) {
  if (input.empty() || input.text.front() != '{') return "{}";
  return input.text;
}

void write_tool_calls(json::Writer& w, const std::vector<const ToolUseBlock*>& calls,
                      ArgumentsAs arguments) {
  w.key("tool_calls");
  w.begin_array();
  for (const ToolUseBlock* u : calls) {
    w.begin_object();
    w.kv("id", u->id);
    w.kv("type", "function");
    w.key("function");
    w.begin_object();
    w.kv("name", u->name);
    w.key("arguments");
    if (arguments == ArgumentsAs::String) {
      w.string(input_to_arguments(u->input));
    } else {
      w.raw(input_as_object(u->input));
    }
    w.end_object();
    w.end_object();
  }
  w.end_array();
}

Result<Tool> decode_function_tool(const json::Object& fn, const json::Path& path) {
  Tool tool;
  LLMROUTER_TRY(name_el, json::required(fn, "name", path));
  LLMROUTER_TRY(name, json::as_string(name_el, json::Path(path, "name")));
  tool.name = std::string(name);
  if (auto d = json::field(fn, "description")) {
    LLMROUTER_TRY(s, json::as_string(*d, json::Path(path, "description")));
    tool.description = std::string(s);
  }
  if (auto p = json::field(fn, "parameters")) {
    LLMROUTER_CHECK(json::as_object(*p, json::Path(path, "parameters")));
    tool.input_schema = json::raw(*p);
  } else {
    // OpenAI: omitted parameters mean a function without arguments.
    tool.input_schema.text = R"({"type":"object","properties":{}})";
  }
  if (auto s = json::field(fn, "strict")) {
    LLMROUTER_TRY(b, json::as_bool(*s, json::Path(path, "strict")));
    tool.strict = b;
  }
  return tool;
}

std::optional<ToolChoice> tool_choice_from_string(std::string_view s) {
  if (s == "auto") return ToolChoice{ToolChoice::Mode::Auto, {}};
  if (s == "none") return ToolChoice{ToolChoice::Mode::None, {}};
  if (s == "required") return ToolChoice{ToolChoice::Mode::Required, {}};
  return std::nullopt;
}

void write_tool_choice(json::Writer& w, const ToolChoice& c, ToolNameAs name) {
  w.key("tool_choice");
  switch (c.mode) {
    case ToolChoice::Mode::Auto:
      return w.string("auto");
    case ToolChoice::Mode::None:
      return w.string("none");
    case ToolChoice::Mode::Required:
      return w.string("required");
    case ToolChoice::Mode::Tool:
      w.begin_object();
      w.kv("type", "function");
      if (name == ToolNameAs::Nested) {
        w.key("function");
        w.begin_object();
        w.kv("name", c.name);
        w.end_object();
      } else {
        w.kv("name", c.name);
      }
      return w.end_object();
  }
}

bool keep_opaque_tool(const Tool& t, WireFormat target) {
  if (t.origin == target) return true;
  log_dropped(wire_format_name(target),
              fmt::format("tool '{}' ({} built-in tool)", t.name, wire_format_name(t.origin)));
  return false;
}

void write_openai_error(json::Writer& w, const Error& error) {
  w.begin_object();
  w.key("error");
  w.begin_object();
  w.kv("message", error.message);
  w.kv("type", openai_error_type(error));
  w.key("param");
  if (error.param.empty()) {
    w.null();
  } else {
    w.string(error.param);
  }
  w.key("code");
  if (error.api_code.empty()) {
    w.null();
  } else {
    w.string(error.api_code);
  }
  w.end_object();
  w.end_object();
}

std::string tool_result_text(const ToolResultBlock& r, std::size_t* dropped) {
  std::string out;
  std::size_t skipped = 0;
  for (const ToolResultPart& p : r.content) {
    if (const auto* t = std::get_if<TextBlock>(&p)) {
      if (!out.empty() && !t->text.empty()) out += '\n';
      out += t->text;
    } else if (const auto* d = std::get_if<DocumentBlock>(&p); d && d->source == SourceKind::Text) {
      if (!out.empty()) out += '\n';
      out += d->data;
    } else {
      ++skipped;
    }
  }
  if (dropped) *dropped = skipped;
  return out;
}

}  // namespace detail
}  // namespace llmrouter
