// SPDX-License-Identifier: MIT
// Extending llmrouter from C++: register a plugin, build a pipeline, and ask where requests
// would go (no network).
//   example_custom_plugin
#include <cstdio>

#include "llmrouter/llmrouter.h"

namespace {

// Sends requests that mention "urgent" to the provider named in its settings.
class Urgent final : public llmrouter::Plugin {
 public:
  llmrouter::Result<llmrouter::Flow> pre_request(llmrouter::CanonicalRequest& req, llmrouter::RequestState&,
                                                 const llmrouter::Value& settings) const override {
    const llmrouter::Value* to = settings.find("provider");
    if (!to || !to->is_string()) return llmrouter::Flow::Continue;
    for (const llmrouter::Message& m : req.messages) {
      if (llmrouter::text_of(m).find("urgent") != std::string::npos) {
        req.forced_provider = to->as_string();
        return llmrouter::Flow::Modified;
      }
    }
    return llmrouter::Flow::Continue;
  }
};

constexpr const char* kConfig = R"(
[[providers]]
name = "local"
format = "ollama"
base_url = "http://127.0.0.1:11434"
[[providers]]
name = "fast"
format = "openai"
base_url = "http://127.0.0.1:8080/v1"
[[routers]]
type = "fallback"
providers = ["local"]
[plugins.urgent]
enabled = true
provider = "fast"
)";

}  // namespace

int main() {
  auto config = llmrouter::load_config_string(kConfig, "example.toml");
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  auto registries = llmrouter::Registries::with_builtins();
  auto added = registries.add_plugin("urgent", [](const llmrouter::ComponentConfig&, const llmrouter::Config&)
                                                   -> llmrouter::Result<std::unique_ptr<llmrouter::Plugin>> {
    return std::make_unique<Urgent>();
  });
  if (!added) return 1;
  auto pipeline = llmrouter::Pipeline::build(*config, registries);
  if (!pipeline) {
    std::fprintf(stderr, "%s\n", pipeline.error().message.c_str());
    return 1;
  }
  for (const char* text : {"hello", "this is urgent"}) {
    const std::string body = std::string(R"({"model":"qwen3","messages":[{"role":"user","content":")") + text + "\"}]}";
    auto decision = (*pipeline)->route(llmrouter::WireFormat::OpenAI, body);
    if (!decision) {
      std::fprintf(stderr, "%s\n", decision.error().message.c_str());
      return 1;
    }
    std::printf("%-16s -> %s\n", text, decision->decision->reason.c_str());
  }
  return 0;
}
