// SPDX-License-Identifier: MIT
// Embedding llmrouter in a C++ program: register your own classifier and plugin, build the
// pipeline, and serve requests through it: decode, classify, route, send to the provider,
// reply in the client's format.
//   example_embed                  where requests would go (no network)
//   example_embed UPSTREAM_URL     and serve them through an OpenAI-compatible upstream at
//                                  UPSTREAM_URL (e.g. llmrouter-mock's http://127.0.0.1:PORT)
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "llmrouter/http_provider.h"
#include "llmrouter/llmrouter.h"
#include "llmrouter/transport.h"

namespace {

using namespace llmrouter;

// Tags conversations longer than `max_chars` (a setting of [classifiers.length]) "long".
class LengthClassifier final : public Classifier {
 public:
  explicit LengthClassifier(std::size_t max_chars) : max_chars_(max_chars) {}
  void classify(const CanonicalRequest& req, std::vector<std::string>& tags) const override {
    std::size_t chars = 0;
    for (const Message& m : req.messages) chars += text_of(m).size();
    if (chars > max_chars_) tags.emplace_back("long");
  }

 private:
  std::size_t max_chars_;
};

// Sends requests that mention "urgent" to the provider named in its settings.
class UrgentPlugin final : public Plugin {
 public:
  Result<Flow> pre_request(CanonicalRequest& req, RequestState&, const Value& settings) const override {
    const Value* to = settings.find("provider");
    if (!to || !to->is_string()) return Flow::Continue;
    for (const Message& m : req.messages) {
      if (text_of(m).find("urgent") != std::string::npos) {
        req.forced_provider = to->as_string();
        return Flow::Modified;
      }
    }
    return Flow::Continue;
  }
};

// Three providers on one upstream, told apart by name: long conversations go to "big"
// (with a model of its own), urgent ones to "fast", everything else to "local".
std::string config_text(const std::string& upstream) {
  std::string toml;
  for (const char* name : {"local", "big", "fast"}) {
    toml += std::string("[[providers]]\nname = \"") + name + "\"\nformat = \"openai\"\nbase_url = \"" + upstream +
            "/v1\"\n";
  }
  toml += R"(
[[routers]]
type = "tag"
tag = "long"
provider = "big"
rewrite_model = "big-context"
[[routers]]
type = "fallback"
providers = ["local"]
[classifiers.length]
enabled = true
max_chars = 40
[plugins.urgent]
enabled = true
provider = "fast"
)";
  return toml;
}

// Collects a non-streamed reply (the pipeline assembles it from the events).
class Collect final : public RequestObserver {
 public:
  bool on_event(const StreamEvent&) override { return true; }
};

}  // namespace

int main(int argc, char** argv) {
  const bool serve = argc == 2;
  auto config = load_config_string(config_text(serve ? argv[1] : "http://127.0.0.1:9"), "embed.toml");
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }

  Registries registries = Registries::with_builtins();
  auto added = registries.add_classifier("length", [](const ComponentConfig& c, const Config& cfg)
                                                       -> Result<std::unique_ptr<Classifier>> {
    const Value* max = c.settings.find("max_chars");
    if (!max || !max->is_int() || max->as_int() < 0) {
      return fail(config_error(cfg, max ? max->loc : c.loc, "classifiers.length.max_chars",
                               "expected a non-negative integer"));
    }
    return std::make_unique<LengthClassifier>(static_cast<std::size_t>(max->as_int()));
  });
  if (added) {
    added = registries.add_plugin("urgent", [](const ComponentConfig&, const Config&) -> Result<std::unique_ptr<Plugin>> {
      return std::make_unique<UrgentPlugin>();
    });
  }
  if (!added) {
    std::fprintf(stderr, "%s\n", added.error().message.c_str());
    return 1;
  }
  auto pipeline = Pipeline::build(*config, registries);
  if (!pipeline) {
    std::fprintf(stderr, "%s\n", pipeline.error().message.c_str());
    return 1;
  }

  // The providers: HTTP over one shared transport (its own thread, pooled connections).
  std::shared_ptr<Transport> transport = make_curl_transport();
  std::map<std::string, std::unique_ptr<Provider>, std::less<>> providers;
  for (const ProviderConfig& pc : config->providers) providers.emplace(pc.name, make_http_provider(pc, transport));
  const ProviderLookup lookup = [&providers](std::string_view name) -> const Provider* {
    auto it = providers.find(name);
    return it == providers.end() ? nullptr : it->second.get();
  };

  for (const char* text : {"hello", "this is urgent", "a question long enough to need the big model"}) {
    const std::string body =
        std::string(R"({"model":"gpt-4.1","messages":[{"role":"user","content":")") + text + "\"}]}";
    auto decision = (*pipeline)->route(WireFormat::OpenAI, body);  // the dry run: no network
    if (!decision) {
      std::fprintf(stderr, "%s\n", decision.error().message.c_str());
      return 1;
    }
    const RouteTarget& target = decision->decision->target;
    std::printf("%-46s -> %s / %s\n", text, target.provider.c_str(), target.model.c_str());
    if (!serve) continue;

    // Served: Pipeline::handle runs the whole request on this thread.
    Collect collect;
    const CancelFlag cancel{false};
    Outcome o = (*pipeline)->handle(WireFormat::OpenAI, body, {}, lookup, collect, cancel);
    if (o.error) {
      std::fprintf(stderr, "  error: %s\n", o.error->message.c_str());
      return 1;
    }
    std::printf("  %s answered: %s\n", o.attempts.back().provider.c_str(), text_of(*o.response).c_str());
  }
  return 0;
}
