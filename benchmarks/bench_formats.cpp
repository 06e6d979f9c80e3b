// SPDX-License-Identifier: MIT
// Translation cost: decode a client request and encode it for a provider, for a ~1 KB chat
// request and a ~200 KB coding-agent request, per format pair; and per-event cost of
// turning an upstream stream into a client stream.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "llmrouter/formats.h"

namespace {

using namespace llmrouter;

std::string read(const std::string& path) {
  std::ifstream in(LLMROUTER_SOURCE_DIR "/" + path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ~1 KB requests, one per client format, with a system prompt, a few turns and one tool.
const std::string& small_request(WireFormat client) {
  static const std::string tool_schema =
      R"({"type":"object","properties":{"path":{"type":"string","description":"File to read"},"limit":{"type":"integer"}},"required":["path"]})";
  static const std::string openai =
      R"({"model":"gpt-4.1","messages":[{"role":"system","content":"You are a helpful coding assistant. Answer briefly and precisely."},)"
      R"({"role":"user","content":"What does the function parse_header in src/http.cpp do, and is it safe against truncated input?"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"src/http.cpp\"}"}}]},)"
      R"({"role":"tool","tool_call_id":"call_1","content":"int parse_header(const char* p, size_t n) { if (n < 4) return -1; return p[0]; }"},)"
      R"({"role":"user","content":"Thanks. Please also check the caller."}],)"
      R"("tools":[{"type":"function","function":{"name":"read_file","description":"Read a file from the workspace","parameters":)" + tool_schema +
      R"(}}],"temperature":0.2,"max_tokens":1024,"stream":true,"stream_options":{"include_usage":true}})";
  static const std::string anthropic =
      R"({"model":"claude-sonnet-4-5","max_tokens":1024,"system":[{"type":"text","text":"You are a helpful coding assistant. Answer briefly and precisely.","cache_control":{"type":"ephemeral"}}],"messages":[)"
      R"({"role":"user","content":"What does the function parse_header in src/http.cpp do, and is it safe against truncated input?"},)"
      R"({"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"read_file","input":{"path":"src/http.cpp"}}]},)"
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"int parse_header(const char* p, size_t n) { if (n < 4) return -1; return p[0]; }"},{"type":"text","text":"Thanks. Please also check the caller."}]}],)"
      R"("tools":[{"name":"read_file","description":"Read a file from the workspace","input_schema":)" + tool_schema + R"(}],"stream":true})";
  static const std::string responses =
      R"({"model":"gpt-5-codex","instructions":"You are a helpful coding assistant. Answer briefly and precisely.","input":[)"
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"What does the function parse_header in src/http.cpp do, and is it safe against truncated input?"}]},)"
      R"({"type":"function_call","call_id":"call_1","name":"read_file","arguments":"{\"path\":\"src/http.cpp\"}"},)"
      R"({"type":"function_call_output","call_id":"call_1","output":"int parse_header(const char* p, size_t n) { if (n < 4) return -1; return p[0]; }"},)"
      R"({"type":"message","role":"user","content":[{"type":"input_text","text":"Thanks. Please also check the caller."}]}],)"
      R"("tools":[{"type":"function","name":"read_file","description":"Read a file from the workspace","parameters":)" + tool_schema +
      R"(}],"reasoning":{"effort":"medium"},"stream":true})";
  return client == WireFormat::OpenAI ? openai : client == WireFormat::Anthropic ? anthropic : responses;
}

// ~200 KB coding-agent requests: the Claude Code fixture with its tool history repeated,
// and the same conversation in the other client formats.
const std::string& large_request(WireFormat client) {
  static const std::string anthropic = [] {
    std::string base = read("tests/data/formats/requests/claude_code.json");
    const std::string file(4000, 'x');
    std::string turns;
    for (int i = 0; turns.size() < 190'000; ++i) {
      const std::string id = "toolu_r" + std::to_string(i);
      turns += R"({"role":"assistant","content":[{"type":"text","text":"Reading the next file."},{"type":"tool_use","id":")" + id +
               R"(","name":"Read","input":{"path":"/repo/src/file)" + std::to_string(i) + R"(.cpp"}}]},)";
      turns += R"({"role":"user","content":[{"type":"tool_result","tool_use_id":")" + id + R"(","content":")" + file + R"("}]},)";
    }
    const std::size_t at = base.find("\"messages\": [") + 13;
    base.insert(at, turns);
    return base;
  }();
  static const std::string openai = [] {
    auto req = decode_request(WireFormat::Anthropic, anthropic);
    req->stream = false;
    return *encode_request(WireFormat::OpenAI, *req);
  }();
  static const std::string responses = [] {
    const std::string file(4000, 'x');
    std::string body = R"({"model":"gpt-5-codex","instructions":"You are Codex.","input":[)";
    for (int i = 0; body.size() < 200'000; ++i) {
      const std::string id = "call_" + std::to_string(i);
      body += R"({"type":"function_call","call_id":")" + id + R"(","name":"shell","arguments":"{\"command\":[\"cat\",\"f.cpp\"]}"},)";
      body += R"({"type":"function_call_output","call_id":")" + id + R"(","output":")" + file + R"("},)";
    }
    body += R"({"type":"message","role":"user","content":[{"type":"input_text","text":"go on"}]}],"tools":[{"type":"function","name":"shell","parameters":{"type":"object"}}],"stream":true})";
    return body;
  }();
  return client == WireFormat::OpenAI ? openai : client == WireFormat::Anthropic ? anthropic : responses;
}

constexpr WireFormat kClients[] = {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Responses};
constexpr WireFormat kProviders[] = {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Ollama};

void translate(benchmark::State& state, const std::string& body, WireFormat client, WireFormat provider) {
  for (auto _ : state) {
    auto req = decode_request(client, body);
    if (!req) {
      state.SkipWithError(req.error().message.c_str());
      return;
    }
    auto out = encode_request(provider, *req);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
  state.counters["request_bytes"] = static_cast<double>(body.size());
}

void BM_Formats_Translate1KB(benchmark::State& state) {
  const WireFormat client = kClients[state.range(0)];
  translate(state, small_request(client), client, kProviders[state.range(1)]);
}
BENCHMARK(BM_Formats_Translate1KB)->ArgsProduct({{0, 1, 2}, {0, 1, 2}})->ArgNames({"client", "provider"});

void BM_Formats_Translate200KB(benchmark::State& state) {
  const WireFormat client = kClients[state.range(0)];
  translate(state, large_request(client), client, kProviders[state.range(1)]);
}
BENCHMARK(BM_Formats_Translate200KB)->ArgsProduct({{0, 1, 2}, {0, 1, 2}})->ArgNames({"client", "provider"});

void BM_Formats_Passthrough200KB(benchmark::State& state) {
  const std::string& body = large_request(WireFormat::Anthropic);
  for (auto _ : state) benchmark::DoNotOptimize(passthrough_request(body, "claude-sonnet-4-5"));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_Formats_Passthrough200KB);

// Upstream stream -> canonical events -> client stream, per event.
void BM_Formats_StreamPerEvent(benchmark::State& state) {
  const WireFormat provider = kProviders[state.range(0)];
  const WireFormat client = kClients[state.range(1)];
  static const char* files[] = {"openai_stream.sse", "anthropic_stream.sse", "ollama_stream.ndjson"};
  const std::string body = read(std::string("tests/data/formats/upstream/") + files[state.range(0)]);
  std::size_t events_total = 0;
  std::vector<StreamEvent> events;
  std::string out;
  for (auto _ : state) {
    auto decoder = make_stream_decoder(provider);
    auto encoder = make_stream_encoder(client, {});
    events.clear();
    out.clear();
    (void)decoder->feed(body, events);
    (void)decoder->finish(events);
    for (const StreamEvent& e : events) encoder->encode(e, out);
    events_total += events.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(events_total));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_Formats_StreamPerEvent)->ArgsProduct({{0, 1, 2}, {0, 1, 2}})->ArgNames({"provider", "client"});

}  // namespace
