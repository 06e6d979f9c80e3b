// SPDX-License-Identifier: MIT
// The routing decision: decode + plugins + classify + route, with no network; and keyword
// classification alone, whose cost must stay flat in the number of keywords.
#include <benchmark/benchmark.h>

#include <fstream>
#include <random>
#include <sstream>

#include "llmrouter/formats.h"
#include "llmrouter/pipeline.h"

namespace {

using namespace llmrouter;

std::string read(const std::string& path) {
  std::ifstream in(LLMROUTER_SOURCE_DIR "/" + path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A config with `keywords` keywords spread over 10 tags, and a typical rule chain: a prefix
// rule and a tag rule that do not match the benchmark's request, a latency rule ranking by
// live figures (which decides), and a fallback rule (read for the failover chain).
std::string config_text(int keywords) {
  std::mt19937 rng(1);
  std::string toml =
      "[[providers]]\nname = \"local\"\nformat = \"openai\"\nbase_url = "
      "\"http://127.0.0.1:1/v1\"\ncost_per_1m_tokens = 0\n"
      "[[providers]]\nname = \"cloud\"\nformat = \"anthropic\"\nbase_url = "
      "\"http://127.0.0.1:2\"\ncost_per_1m_tokens = 3\nquality = 90\n"
      "[[routers]]\ntype = \"prefix\"\nmodel_prefix = \"local/\"\nprovider = \"local\"\n"
      "[[routers]]\ntype = \"tag\"\ntag = \"tag3\"\nprovider = \"local\"\n"
      "[[routers]]\ntype = \"latency\"\nproviders = [\"local\", \"cloud\"]\n"
      "[[routers]]\ntype = \"fallback\"\nquality_bias = 0.7\n"
      "[classifiers.keyword]\nenabled = true\n[classifiers.keyword.tags]\n";
  for (int t = 0; t < 10; ++t) {
    toml += "tag" + std::to_string(t) + " = [";
    for (int k = t; k < keywords; k += 10) {
      std::string word;
      for (int i = 0; i < 6 + static_cast<int>(rng() % 6); ++i) word.push_back(static_cast<char>('a' + rng() % 26));
      toml += "\"" + word + "\", ";
    }
    toml += "]\n";
  }
  return toml;
}

std::shared_ptr<const Pipeline> make_pipeline(int keywords) {
  LoadOptions options;
  options.log_warnings = false;
  auto config = load_config_string(config_text(keywords), "bench.toml", options);
  auto pipeline = *Pipeline::build(*config, Registries::with_builtins());
  // Live figures in use: both providers measured past min_samples, on the benchmark's model.
  LiveStats& live = *pipeline->live();
  for (int i = 0; i < 20; ++i) {
    for (const auto& [name, ttft] : {std::pair{"local", 120.0}, std::pair{"cloud", 450.0}}) {
      AttemptLease lease;
      if (live.begin(live.slot(name), "gpt-4.1", lease)) continue;
      AttemptReport report;
      report.ok = true;
      report.ttft_ms = ttft;
      report.total_ms = ttft * 4;
      report.output_tokens = 200;
      report.streamed = true;
      live.end(lease, report);
    }
  }
  return pipeline;
}

const std::string kChat1KB =
    R"({"model":"gpt-4.1","messages":[{"role":"system","content":"You are a helpful coding assistant. Answer briefly and precisely, with code when useful."},)"
    R"({"role":"user","content":"What does the function parse_header in src/http.cpp do, and is it safe against truncated input? Here it is: int parse_header(const char* p, size_t n) { if (n < 4) return -1; return p[0]; }"},)"
    R"({"role":"assistant","content":"It returns the first byte when at least four bytes are present, and -1 otherwise. It does not read past n, so truncated input is handled."},)"
    R"({"role":"user","content":"Thanks. Could you also check how the caller handles the -1 result, and suggest a unit test that covers the truncated case? The caller is in src/server.cpp."}],)"
    R"("temperature":0.2,"max_tokens":1024,"stream":true})";

void BM_Pipeline_Route1KB(benchmark::State& state) {
  auto p = make_pipeline(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = p->route(WireFormat::OpenAI, kChat1KB);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kChat1KB.size()));
}
BENCHMARK(BM_Pipeline_Route1KB)->Arg(10)->Arg(1000)->ArgName("keywords");

// Classify + route on an already decoded request: the pipeline's own share.
void BM_Pipeline_PrepareDecoded1KB(benchmark::State& state) {
  auto p = make_pipeline(100);
  const CanonicalRequest req = *decode_request(WireFormat::OpenAI, kChat1KB);
  for (auto _ : state) {
    auto r = p->prepare(req, RequestState{});
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Pipeline_PrepareDecoded1KB);

void BM_Pipeline_Route200KB(benchmark::State& state) {
  auto p = make_pipeline(100);
  std::string body = read("tests/data/formats/requests/claude_code.json");
  const std::string file(4000, 'x');
  std::string turns;
  for (int i = 0; turns.size() < 190'000; ++i) {
    const std::string id = "toolu_r" + std::to_string(i);
    turns += R"({"role":"assistant","content":[{"type":"tool_use","id":")" + id + R"(","name":"Read","input":{"path":"f"}}]},)";
    turns += R"({"role":"user","content":[{"type":"tool_result","tool_use_id":")" + id + R"(","content":")" + file + R"("}]},)";
  }
  body.insert(body.find("\"messages\": [") + 13, turns);
  for (auto _ : state) {
    auto r = p->route(WireFormat::Anthropic, body);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_Pipeline_Route200KB);

// Keyword classification alone over `range(1)` bytes of text with `range(0)` keywords.
void BM_Classify_Keywords(benchmark::State& state) {
  auto p = make_pipeline(static_cast<int>(state.range(0)));
  std::mt19937 rng(2);
  std::string text;
  while (text.size() < static_cast<std::size_t>(state.range(1))) {
    text.push_back(rng() % 7 == 0 ? ' ' : static_cast<char>('a' + rng() % 26));
  }
  CanonicalRequest req;
  req.model = "m";
  req.messages.push_back(Message{Role::User, {TextBlock{text, std::nullopt, {}}}, {}});
  for (auto _ : state) {
    auto r = p->prepare(req, RequestState{});
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(1));
}
BENCHMARK(BM_Classify_Keywords)->ArgsProduct({{10, 100, 1000}, {1 << 10, 1 << 18}})->ArgNames({"keywords", "bytes"});

}  // namespace
