// SPDX-License-Identifier: MIT
// Upstream stream bodies: byte 0 picks the provider format, byte 1 the chunk size. Decoders
// never crash, emit only event sequences the ResponseAssembler accepts, and every client
// encoder turns those events into SSE whose data lines are valid JSON (or [DONE]).
#include <cstdint>
#include <iterator>
#include <vector>

#include "fuzz_common.h"

namespace {

using namespace llmrouter;

void check_sse(std::string_view sse) {
  std::size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string_view::npos) {
    const std::size_t end = sse.find('\n', pos);
    const std::string_view data = sse.substr(pos + 6, end - pos - 6);
    if (data != "[DONE]") fuzz::check_json(data, "client stream data");
    pos = end;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const WireFormat provider = fuzz::kProviders[data[0] % std::size(fuzz::kProviders)];
  const std::size_t chunk = 1 + data[1] % 64;
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  auto decoder = make_stream_decoder(provider);
  std::vector<StreamEvent> events;
  bool failed = false;
  for (std::size_t pos = 0; pos < body.size() && !failed; pos += chunk) {
    failed = !decoder->feed(body.substr(pos, chunk), events);
  }
  if (!failed) (void)decoder->finish(events);
  ResponseAssembler assembler;
  for (const StreamEvent& e : events) {
    if (Result<void> r = assembler.add(e); !r) fuzz::invariant_failed("decoder emitted a malformed sequence", r.error().message);
  }
  for (WireFormat c : fuzz::kClients) {
    StreamEncoderOptions options;
    options.include_usage = true;
    auto encoder = make_stream_encoder(c, options);
    std::string out;
    for (const StreamEvent& e : events) encoder->encode(e, out);
    check_sse(out);
  }
  return 0;
}
