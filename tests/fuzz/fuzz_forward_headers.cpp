// SPDX-License-Identifier: MIT
// Client headers on their way upstream: the input is header lines ("name: value", split at
// '\n'; values may hold any byte, CR and NUL included). Invariants: the pipeline refuses a
// request exactly when one of the headers it is offered could not be sent as one line;
// otherwise every header a provider sends is one line with a token name, the client's own
// credentials never go, and each client header that goes is one its provider forwards.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_common.h"
#include "llmrouter/config.h"
#include "llmrouter/engine.h"
#include "llmrouter/http_provider.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/registry.h"

namespace {

using namespace llmrouter;

// Keeps the request a provider would send, sends nothing.
class Capture final : public Transport {
 public:
  TransferId start(HttpRequest request, std::shared_ptr<TransferObserver> observer) override {
    sent = std::move(request);
    observer->on_complete(fail(Errc::Cancelled, "not sent"));
    return 1;
  }
  void cancel(TransferId) override {}
  void resume(TransferId) override {}
  uint64_t connections_opened() const override { return 0; }
  HttpRequest sent;
};

class Ignore final : public ReplyObserver {
 public:
  bool on_event(const StreamEvent&) override { return true; }
  void on_end(Result<void>) override {}
};

const Config& config() {
  static const Config c = [] {
    LoadOptions options;
    options.getenv = [](const std::string&) { return std::optional<std::string>("router-key"); };
    auto r = load_config_string(R"(
[[providers]]
name = "oa"
format = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "ROUTER_KEY"
[[providers]]
name = "an"
format = "anthropic"
base_url = "http://127.0.0.1:9"
api_key_env = "ROUTER_KEY"
[[providers]]
name = "listed"
format = "openai"
base_url = "http://127.0.0.1:9/v1"
forward_client_headers = ["openai-organization", "x-*"]
[[routers]]
type = "fallback"
providers = ["oa"]
)",
                                "fuzz.toml", options);
    if (!r) fuzz::invariant_failed("the fuzz configuration does not load", r.error().message);
    return *r;
  }();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace llmrouter;
  static const std::shared_ptr<const Pipeline> pipeline = [] {
    auto p = Pipeline::build(config(), Registries::with_builtins());
    if (!p) fuzz::invariant_failed("the pipeline does not build", p.error().message);
    return *p;
  }();
  // Header lines as a client sends them (names lower-cased, as the edge hands them on).
  Headers client;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty() && client.size() < 64) {
    const std::size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    client.emplace_back(std::move(name), std::string(value));
  }
  const Headers offered = forwarded_headers(client);
  bool sendable = true;
  for (const auto& [k, v] : offered) {
    if (k == "authorization" || k == "x-api-key") fuzz::invariant_failed("a credential is offered to providers", k);
    if (header_problem(k, v)) sendable = false;
  }
  static const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  auto call = pipeline->start(WireFormat::OpenAI, body, offered);
  if (sendable == call->error().has_value()) {
    fuzz::invariant_failed(sendable ? "the pipeline refused sendable headers" : "the pipeline let an unsendable header through",
                           call->error() ? call->error()->message : std::string_view("no error"));
  }
  if (!sendable) return 0;
  for (const ProviderConfig& pc : config().providers) {
    auto transport = std::make_shared<Capture>();
    auto provider = make_http_provider(pc, transport, [](const std::string&) { return std::optional<std::string>("router-key"); });
    static const CanonicalRequest req = *decode_request(WireFormat::OpenAI, body);
    SendOptions options;
    options.headers = offered;
    provider->start(req, options, std::make_shared<Ignore>());
    for (const auto& header : transport->sent.headers) {
      const std::string& k = header.first;
      const std::string& v = header.second;
      if (auto problem = header_problem(k, v)) fuzz::invariant_failed("a provider sends an unsendable header", *problem);
      if ((k == "authorization" && v != "Bearer router-key") || (k == "x-api-key" && v != "router-key")) {
        fuzz::invariant_failed("a client's credential reached a provider", v);
      }
      const bool from_client =
          std::any_of(offered.begin(), offered.end(), [&header](const auto& h) { return h == header; });
      const bool own = k == "content-type" || k == "accept" || k == "authorization" || k == "x-api-key" ||
                       k == "anthropic-version" || k == "traceparent" || k == "tracestate";
      if (from_client && !own && !provider_forwards(pc, k)) fuzz::invariant_failed("a provider sends a header it does not forward", k);
    }
  }
  return 0;
}
