// SPDX-License-Identifier: MIT
// Client request bodies: the first byte picks the format (OpenAI, Anthropic, Responses).
// Decoding never crashes; a decoded request always validates, encodes for every provider
// as valid JSON, and passes through (same format) as valid JSON that decodes to the model
// the router chose.
#include <cstdint>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace llmrouter;
  if (size < 1) return 0;
  const WireFormat client = fuzz::kClients[data[0] % 3];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  Result<CanonicalRequest> req = decode_request(client, body);
  if (!req) {
    if (req.error().message.empty()) fuzz::invariant_failed("empty error message", body);
    fuzz::check_json(encode_error(client, req.error()), "error envelope");
    return 0;
  }
  if (!validate(*req)) fuzz::invariant_failed("decoded request does not validate", body);
  for (WireFormat p : fuzz::kProviders) {
    Result<std::string> out = encode_request(p, *req);
    if (!out) fuzz::invariant_failed("encode_request failed", out.error().message);
    fuzz::check_json(*out, "encoded provider request");
  }
  Result<std::string> pass = passthrough_request(body, "replaced-model");
  if (!pass) fuzz::invariant_failed("pass-through failed on a decodable body", pass.error().message);
  fuzz::check_json(*pass, "pass-through body");
  // The provider reads the model the router chose, whatever the client's spelling.
  Result<CanonicalRequest> passed = decode_request(client, *pass);
  if (!passed) fuzz::invariant_failed("the pass-through body does not decode", passed.error().message);
  if (passed->model != "replaced-model") fuzz::invariant_failed("the pass-through body names another model", *pass);
  return 0;
}
