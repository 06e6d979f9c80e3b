// SPDX-License-Identifier: MIT
// Golden tests: real-traffic-shaped requests and upstream replies, translated in every
// direction, compared with the expected files in tests/data/formats/expected.
// Set LLMROUTER_UPDATE_GOLDEN=1 to rewrite the expected files (then review the diff).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "formats/common.h"
#include "llmrouter/formats.h"
#include "support/event_dump.h"

namespace llmrouter {
namespace {

const std::string kDir = LLMROUTER_SOURCE_DIR "/tests/data/formats/";

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Compares `actual` with the expected file, or rewrites it when asked to.
void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = kDir + "expected/" + name;
  if (const char* update = std::getenv("LLMROUTER_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  EXPECT_EQ(read(path), actual) << "golden file " << name
                                << " differs (LLMROUTER_UPDATE_GOLDEN=1 rewrites it)";
}

struct Deterministic {
  Deterministic() { detail::set_deterministic_ids_for_testing(true); }
  ~Deterministic() { detail::set_deterministic_ids_for_testing(false); }
};

struct Client {
  const char* fixture;
  WireFormat format;
};
constexpr Client kClients[] = {{"claude_code", WireFormat::Anthropic},
                               {"codex_cli", WireFormat::Responses},
                               {"copilot_chat", WireFormat::OpenAI}};
constexpr WireFormat kProviders[] = {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Ollama,
                                     WireFormat::Responses};
constexpr WireFormat kClientFormats[] = {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Responses};

std::string name(WireFormat f) { return std::string(wire_format_name(f)); }

TEST(GoldenTest, ClientRequestsToEveryProvider) {
  Deterministic det;
  for (const Client& c : kClients) {
    const std::string body = read(kDir + "requests/" + c.fixture + ".json");
    Result<CanonicalRequest> req = decode_request(c.format, body);
    ASSERT_TRUE(req) << c.fixture << ": " << req.error().message;
    for (WireFormat p : kProviders) {
      Result<std::string> out = encode_request(p, *req);
      ASSERT_TRUE(out) << c.fixture << " -> " << name(p) << ": " << out.error().message;
      expect_golden(std::string(c.fixture) + ".to_" + name(p) + ".json", *out + "\n");
    }
  }
}

TEST(GoldenTest, ProviderResponsesToEveryClient) {
  Deterministic det;
  for (WireFormat p : kProviders) {
    const std::string body = read(kDir + "upstream/" + name(p) + "_response.json");
    Result<Response> resp = decode_response(p, body);
    ASSERT_TRUE(resp) << name(p) << ": " << resp.error().message;
    for (WireFormat c : kClientFormats) {
      expect_golden(name(p) + "_response.to_" + name(c) + ".json", encode_response(c, *resp) + "\n");
    }
  }
}

// Feeds `body` to a decoder in chunks of varying small sizes (splitting lines, CRLF pairs
// and multi-byte characters) and returns the events.
std::vector<StreamEvent> decode_stream(WireFormat p, const std::string& body, bool chunked) {
  auto decoder = make_stream_decoder(p);
  std::vector<StreamEvent> events;
  static constexpr std::size_t kSizes[] = {1, 2, 3, 5, 7, 11, 13, 64};
  std::size_t pos = 0;
  for (std::size_t k = 0; pos < body.size(); ++k) {
    const std::size_t n = chunked ? kSizes[k % std::size(kSizes)] : body.size();
    Result<void> r = decoder->feed(std::string_view(body).substr(pos, n), events);
    EXPECT_TRUE(r) << r.error().message;
    pos += n;
  }
  Result<void> r = decoder->finish(events);
  EXPECT_TRUE(r) << r.error().message;
  return events;
}

TEST(GoldenTest, ProviderStreamsToEveryClient) {
  const char* files[] = {"openai_stream.sse", "anthropic_stream.sse", "ollama_stream.ndjson",
                         "responses_stream.sse"};
  static_assert(std::size(files) == std::size(kProviders));
  for (std::size_t i = 0; i < std::size(kProviders); ++i) {
    Deterministic det;
    const WireFormat p = kProviders[i];
    const std::string body = read(kDir + "upstream/" + files[i]);
    const std::vector<StreamEvent> whole = decode_stream(p, body, false);
    detail::set_deterministic_ids_for_testing(true);  // same ids for the second decode
    const std::vector<StreamEvent> chunked = decode_stream(p, body, true);
    EXPECT_EQ(testing::dump(whole), testing::dump(chunked)) << "chunk boundaries changed the events of " << files[i];
    expect_golden(name(p) + "_stream.events.txt", testing::dump(whole));

    // The same reply assembled from the stream.
    ResponseAssembler assembler;
    for (const StreamEvent& e : whole) ASSERT_TRUE(assembler.add(e));
    ASSERT_TRUE(assembler.finish()) << files[i];

    for (WireFormat c : kClientFormats) {
      detail::set_deterministic_ids_for_testing(true);
      StreamEncoderOptions options;
      options.include_usage = true;
      auto encoder = make_stream_encoder(c, options);
      std::string out;
      for (const StreamEvent& e : whole) encoder->encode(e, out);
      expect_golden(name(p) + "_stream.to_" + name(c) + ".sse", out);
    }
  }
}

}  // namespace
}  // namespace llmrouter
