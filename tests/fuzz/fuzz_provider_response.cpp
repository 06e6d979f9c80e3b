// SPDX-License-Identifier: MIT
// Non-streamed upstream bodies: byte 0 picks the provider format. Decoding never crashes and
// every client encoding of a decoded response is valid JSON.
#include <cstdint>
#include <iterator>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace llmrouter;
  if (size < 1) return 0;
  const WireFormat provider = fuzz::kProviders[data[0] % std::size(fuzz::kProviders)];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  Result<Response> resp = decode_response(provider, body);
  if (!resp) return 0;
  for (WireFormat c : fuzz::kClients) fuzz::check_json(encode_response(c, *resp), "client response");
  return 0;
}
