// SPDX-License-Identifier: MIT
// The endpoints beside the conversation APIs: OpenAI's /v1/embeddings (to OpenAI-format
// providers as it is, to Ollama's /api/embed translated both ways) and legacy
// /v1/completions (to OpenAI-format providers only). The client's body is what a provider
// is sent; only what routing, the translation and the log need is decoded.
#include <cstring>

#include <fmt/format.h>

#include "formats/codecs.h"
#include "formats/common.h"
#include "formats/openai_codec.h"
#include "util/strings.h"
#include "util/try.h"

namespace llmrouter {
namespace {

using detail::json::Element;
using detail::json::Path;
namespace json = detail::json;

Unexpected invalid(std::string message) {
  return fail(Errc::InvalidRequest, std::move(message), 400);
}

// `input` of an embeddings request: a string, an array of strings, an array of token ids,
// or an array of arrays of token ids; none of them empty.
Result<void> check_embedding_input(const Element& e, const Path& path) {
  if (e.is_string()) return {};
  LLMROUTER_TRY(items, json::as_array(e, path));
  std::size_t i = 0;
  for (Element item : items) {
    const Path ip(path, i++);
    if (item.is_string() || item.is_int64() || item.is_uint64()) continue;
    LLMROUTER_TRY(tokens, json::as_array(item, ip));
    std::size_t j = 0;
    for (Element t : tokens) {
      if (!t.is_int64() && !t.is_uint64())
        return json::error_at(Path(ip, j), "expected a token id (an integer)");
      ++j;
    }
  }
  if (i == 0) return json::error_at(path, "must not be empty");
  return {};
}

Result<void> decode_stream_options(const Element& e, const Path& path, CanonicalRequest& req) {
  LLMROUTER_TRY(o, json::as_object(e, path));
  if (auto u = json::field(o, "include_usage"); u && !u->is_null()) {
    LLMROUTER_TRY(b, json::as_bool(*u, Path(path, "include_usage")));
    req.stream_include_usage = b;
  }
  return {};
}

// A little-endian float32 array in base64, as OpenAI answers `encoding_format: "base64"`.
void append_base64_floats(std::string& out, const std::vector<float>& values) {
  std::string bytes(values.size() * 4, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    uint32_t bits = 0;
    std::memcpy(&bits, &values[i], 4);
    for (std::size_t b = 0; b < 4; ++b)
      bytes[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xFF);
  }
  detail::append_base64(out, bytes);
}

// Ollama's /api/embed reply ({"model", "embeddings": [[...]], "prompt_eval_count"}) in
// OpenAI's shape, the vectors as JSON numbers or base64 as the client asked.
Result<EndpointReply> ollama_embeddings_reply(const CanonicalRequest& req, std::string_view body) {
  const std::string_view target = "ollama embeddings";
  auto doc = json::parse_upstream(body);
  if (!doc) return detail::upstream_error(target, doc.error());
  const Path root;
  auto obj = json::as_object(*doc, root);
  if (!obj) return detail::upstream_error(target, obj.error());
  auto vectors_el = json::required(*obj, "embeddings", root);
  if (!vectors_el) return detail::upstream_error(target, vectors_el.error());
  auto vectors = json::as_array(*vectors_el, Path(root, "embeddings"));
  if (!vectors) return detail::upstream_error(target, vectors.error());

  EndpointReply reply;
  reply.response.model = json::string_or_empty(*obj, "model");
  if (reply.response.model.empty()) reply.response.model = req.model;
  reply.response.usage.input_tokens = json::count(*obj, "prompt_eval_count").value_or(0);
  const bool base64 = req.encoding_format == "base64";
  json::Writer w(reply.body);
  w.begin_object();
  w.kv("object", "list");
  w.key("data");
  w.begin_array();
  std::size_t i = 0;
  std::vector<float> floats;
  const Path vectors_path(root, "embeddings");  // a Path refers to its parent: keep it alive
  for (Element v : *vectors) {
    const Path vp(vectors_path, i);
    auto numbers = json::as_array(v, vp);
    if (!numbers) return detail::upstream_error(target, numbers.error());
    floats.clear();
    std::size_t j = 0;
    for (Element n : *numbers) {
      auto d = json::as_double(n, Path(vp, j++));
      if (!d) return detail::upstream_error(target, d.error());
      floats.push_back(static_cast<float>(*d));
    }
    w.begin_object();
    w.kv("object", "embedding");
    w.kv_uint("index", i);
    w.key("embedding");
    if (base64) {
      std::string encoded;
      append_base64_floats(encoded, floats);
      w.string(encoded);
    } else {
      w.raw(json::raw(v));
    }
    w.end_object();
    ++i;
  }
  w.end_array();
  w.kv("model", reply.response.model);
  w.key("usage");
  w.begin_object();
  w.kv_uint("prompt_tokens", reply.response.usage.input_tokens);
  w.kv_uint("total_tokens", reply.response.usage.input_tokens);
  w.end_object();
  w.end_object();
  return reply;
}

// An OpenAI embeddings or completions reply: kept as it is for the client, read for the log.
Result<EndpointReply> openai_endpoint_reply(const CanonicalRequest& req, std::string body) {
  const bool completions = req.endpoint == Endpoint::Completions;
  const std::string_view target = completions ? "openai completions" : "openai embeddings";
  auto doc = json::parse_upstream(body);
  if (!doc) return detail::upstream_error(target, doc.error());
  const Path root;
  auto obj = json::as_object(*doc, root);
  if (!obj) return detail::upstream_error(target, obj.error());
  EndpointReply reply;
  Response& r = reply.response;
  r.id = json::string_or_empty(*obj, "id");
  r.model = json::string_or_empty(*obj, "model");
  if (auto u = json::field(*obj, "usage"); u && u->is_object())
    detail::read_openai_usage(json::object_of(*u), r.usage);
  if (completions) {
    auto choices = json::required(*obj, "choices", root);
    if (!choices) return detail::upstream_error(target, choices.error());
    auto list = json::as_array(*choices, Path(root, "choices"));
    if (!list) return detail::upstream_error(target, list.error());
    for (Element c : *list) {
      if (!c.is_object()) continue;
      const json::Object co = json::object_of(c);
      if (auto idx = json::count(co, "index"); idx && *idx != 0)
        continue;  // the first choice is logged
      r.content.push_back(TextBlock{json::string_or_empty(co, "text"), std::nullopt, {}});
      r.stop_reason = detail::stop_reason_from_openai(json::string_or_empty(co, "finish_reason"));
      break;
    }
  } else {
    auto data = json::required(*obj, "data", root);
    if (!data) return detail::upstream_error(target, data.error());
    if (auto list = json::as_array(*data, Path(root, "data")); !list)
      return detail::upstream_error(target, list.error());
  }
  reply.body = std::move(body);
  return reply;
}

}  // namespace

Result<CanonicalRequest> decode_endpoint_request(Endpoint endpoint, std::string_view body) {
  if (endpoint == Endpoint::Chat)
    return invalid("internal error: a chat request is decoded by its format");
  const bool embeddings = endpoint == Endpoint::Embeddings;
  bool has_input = false;
  auto member = [&](std::string_view key, const Element& value, const Path& p,
                    CanonicalRequest& req) -> Result<void> {
    if (embeddings && key == "input") {
      LLMROUTER_CHECK(check_embedding_input(value, p));
      has_input = true;
    } else if (embeddings && key == "encoding_format") {
      LLMROUTER_TRY(s, json::as_string(value, p));
      if (s != "float" && s != "base64")
        return json::error_at(p, fmt::format("must be 'float' or 'base64', not '{}'", s));
      req.encoding_format = std::string(s);
    } else if (embeddings && key == "dimensions") {
      LLMROUTER_CHECK(json::as_int(value, p, 1, 1 << 20));
    } else if (!embeddings && key == "prompt") {
      has_input = true;
    } else if (!embeddings && key == "stream") {
      LLMROUTER_TRY(v, json::as_bool(value, p));
      req.stream = v;
    } else if (!embeddings && key == "stream_options") {
      LLMROUTER_CHECK(decode_stream_options(value, p, req));
    } else if (key == "user") {
      LLMROUTER_TRY(s, json::as_string(value, p));
      req.user = std::string(s);
    }
    return {};
  };
  LLMROUTER_TRY(req, detail::decode_client_request(body, member));
  if (!has_input) return detail::missing_member(embeddings ? "input" : "prompt");
  if (req.model.empty()) return invalid("model: must be a non-empty string");
  req.endpoint = endpoint;
  return req;
}

Result<std::string> encode_endpoint_request(WireFormat provider, const CanonicalRequest& req,
                                            std::string_view body) {
  const std::string_view name = endpoint_name(req.endpoint);
  if (provider == WireFormat::OpenAI && req.endpoint != Endpoint::Chat)
    return passthrough_request(body, req.model);
  if (provider == WireFormat::Ollama && req.endpoint == Endpoint::Embeddings) {
    auto doc = json::parse(body, json::ParserSlot::Scratch);
    if (!doc) return fail(doc.error());
    LLMROUTER_TRY(obj, json::as_object(*doc, Path()));
    std::string out;
    json::Writer w(out);
    w.begin_object();
    w.kv("model", req.model);
    if (auto input = json::field(obj, "input")) {
      const bool text = input->is_string() || [&] {
        for (Element item : json::array_of(*input)) {
          if (!item.is_string()) return false;
        }
        return true;
      }();
      if (!text) return invalid("input: an ollama provider embeds text only, not token ids");
      w.kv_raw("input", json::raw(*input));
    }
    if (auto d = json::field(obj, "dimensions"); d && !d->is_null())
      w.kv_raw("dimensions", json::raw(*d));
    w.end_object();
    return out;
  }
  const std::string_view formats =
      req.endpoint == Endpoint::Embeddings ? "openai and ollama" : "openai";
  return invalid(fmt::format("/v1/{} is served by {} providers only; this one speaks {}", name,
                             formats, wire_format_name(provider)));
}

Result<EndpointReply> decode_endpoint_reply(WireFormat provider, const CanonicalRequest& req,
                                            std::string body) {
  if (provider == WireFormat::Ollama && req.endpoint == Endpoint::Embeddings)
    return ollama_embeddings_reply(req, body);
  if (provider == WireFormat::OpenAI && req.endpoint != Endpoint::Chat)
    return openai_endpoint_reply(req, std::move(body));
  return fail(Errc::Internal, fmt::format("no {} reply from a {} provider",
                                          endpoint_name(req.endpoint), wire_format_name(provider)));
}

// Its chunks are the Chat stream's with `text` for `delta`: the one OpenAI stream decoder.
std::unique_ptr<StreamDecoder> make_completions_stream_decoder() {
  return make_stream_decoder(WireFormat::OpenAI);
}

}  // namespace llmrouter
