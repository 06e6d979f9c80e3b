// SPDX-License-Identifier: MIT
#pragma once
/// @file formats.h
/// Wire-format codecs: the four directions between the client formats (OpenAI Chat,
/// Anthropic Messages, OpenAI Responses), the canonical model, and the provider formats
/// (openai, anthropic, responses, ollama).
///
///     client body --decode_request--> CanonicalRequest --encode_request--> provider body
///     provider body --decode_response--> Response --encode_response--> client body
///     provider stream --StreamDecoder--> StreamEvents --StreamEncoder--> client stream
///
/// All functions are thread-safe (no shared mutable state); decoders and encoders are
/// per-stream objects. Nothing throws: bad input gives an `Error` whose message names the
/// JSON path (`messages[3].content[1].type: expected a string, found a number`).
/// Fields a target format cannot express are dropped deliberately and named in a debug
/// log line.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/request.h"
#include "llmrouter/response.h"
#include "llmrouter/result.h"

namespace llmrouter {

/// Decodes a client's request body. `client` is OpenAI (Chat Completions), Anthropic
/// (Messages) or Responses. Errors: Errc::InvalidRequest (HTTP 400).
[[nodiscard]] Result<CanonicalRequest> decode_request(WireFormat client, std::string_view body);

/// Encodes a request for a provider (`provider` is OpenAI, Anthropic, Responses or Ollama);
/// `req.stream` selects streaming. `req.model` is the model sent.
[[nodiscard]] Result<std::string> encode_request(WireFormat provider, const CanonicalRequest& req);

/// Decodes a provider's non-streamed response body. Errors: Errc::Upstream.
[[nodiscard]] Result<Response> decode_response(WireFormat provider, std::string_view body);

/// Encodes a response for the client, in its format.
std::string encode_response(WireFormat client, const Response& resp);

/// An error in the client's envelope: OpenAI `{"error":{...}}`, Anthropic
/// `{"type":"error","error":{...}}`, Responses `{"error":{...}}`.
std::string encode_error(WireFormat client, const Error& error);

/// Turns a provider's streamed body into canonical events, chunk by chunk, whatever the
/// chunk boundaries. One per stream; not thread-safe.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  /// Consumes `bytes`, appending the events they complete to `out`. An upstream error
  /// event becomes a StreamError event; malformed data is an Errc::Upstream error.
  [[nodiscard]] virtual Result<void> feed(std::string_view bytes, std::vector<StreamEvent>& out) = 0;
  /// End of the body. A stream that ended before its final event is an error
  /// ("stream ended before the reply was complete").
  [[nodiscard]] virtual Result<void> finish(std::vector<StreamEvent>& out) = 0;
};

/// A decoder for `provider`'s stream format (OpenAI SSE, Anthropic SSE, Responses SSE,
/// Ollama NDJSON).
std::unique_ptr<StreamDecoder> make_stream_decoder(WireFormat provider);

/// Options of a client stream.
struct StreamEncoderOptions {
  /// OpenAI: send a final usage chunk (`stream_options.include_usage`).
  bool include_usage = false;
};

/// Turns canonical events into the bytes of the client's stream format (complete SSE
/// events). One per stream; not thread-safe.
class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;
  /// Appends the bytes for `event` to `out` (possibly none). After Done or StreamError the
  /// stream is complete: the terminator (`data: [DONE]`, message_stop,
  /// response.completed / response.failed) has been written, and later events are ignored.
  virtual void encode(const StreamEvent& event, std::string& out) = 0;
  /// A keep-alive for idle periods (Anthropic `ping`, an SSE comment otherwise).
  virtual void keepalive(std::string& out) = 0;
};

/// An encoder for `client`'s stream format.
std::unique_ptr<StreamEncoder> make_stream_encoder(WireFormat client,
                                                   const StreamEncoderOptions& options = {});

/// Same-format pass-through: the client's body with only `model` replaced (when
/// `model` is not empty) and the router's own `plugins` member removed; every other byte
/// is kept. Precondition: `body` is a JSON object (already decoded successfully).
[[nodiscard]] Result<std::string> passthrough_request(std::string_view body, std::string_view model);

/// Fails (400) when the JSON object `body` has a top-level key twice, escapes decoded
/// (`"model"` and `"mod\u0065l"` are one key): parsers disagree on which one counts, so the
/// model the router routed on might not be the one the provider reads. Every client request
/// is checked (decode_request). A body that is not an object passes (its decoder refuses it).
[[nodiscard]] Result<void> check_unique_top_level_keys(std::string_view body);

// ---- Other endpoints: Endpoint::Embeddings and Endpoint::Completions (request.h).

/// Decodes a client's body for `endpoint` (not Chat), in OpenAI's format: `model`
/// (required), `user`; embeddings: `input` (required: a string, an array of strings, an
/// array of token ids or an array of such arrays), `encoding_format` ("float" or "base64"),
/// `dimensions` (a positive integer); completions: `prompt` (required), `stream`,
/// `stream_options`. Other members are left to the provider. Errors: 400 naming the path.
[[nodiscard]] Result<CanonicalRequest> decode_endpoint_request(Endpoint endpoint,
                                                               std::string_view body);

/// The body a `provider`-format provider is sent for the endpoint request `req`, from the
/// client's `body`: an OpenAI provider gets the client's body re-targeted at `req.model`
/// (passthrough_request); an Ollama provider's /api/embed gets `model`, `input` (text only)
/// and `dimensions`. Any other pairing is a 400 that names the formats the endpoint serves.
[[nodiscard]] Result<std::string> encode_endpoint_request(WireFormat provider,
                                                          const CanonicalRequest& req,
                                                          std::string_view body);

/// A provider's reply to an endpoint request.
struct EndpointReply {
  /// The client's body, in OpenAI's shape: an OpenAI provider's as it came; Ollama's
  /// embeddings translated (vectors as numbers, or base64 float32 when the request asked).
  std::string body;
  /// The reply for the log, events and figures: id, model, usage; a completion's text (its
  /// first choice) and stop reason.
  Response response;
};

/// Reads a `provider`-format reply to the endpoint request `req`. Errors: Errc::Upstream
/// for a body that is not the endpoint's reply.
[[nodiscard]] Result<EndpointReply> decode_endpoint_reply(WireFormat provider,
                                                          const CanonicalRequest& req,
                                                          std::string body);

/// A streamed legacy completion (OpenAI `text_completion` chunks) as canonical events.
std::unique_ptr<StreamDecoder> make_completions_stream_decoder();

}  // namespace llmrouter
