// SPDX-License-Identifier: MIT
// Uses the installed C++ API and C ABI from the static library.
#include <cstdio>
#include <cstring>

#include <llmrouter.h>
#include <llmrouter/llmrouter.h>

int main() {
  constexpr const char* kToml =
      "[[providers]]\nname = \"local\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
      "[[routers]]\ntype = \"fallback\"\n";
  constexpr const char* kBody = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  auto config = llmrouter::load_config_string(kToml);
  if (!config) return 1;
  auto pipeline = llmrouter::Pipeline::build(*config, llmrouter::Registries::with_builtins());
  if (!pipeline) return 1;
  auto routed = (*pipeline)->route(llmrouter::WireFormat::OpenAI, kBody);
  if (!routed) return 1;
  std::printf("C++: %s\n", llmrouter::route_json(*routed).c_str());

  llmrouter_router* r = nullptr;
  if (llmrouter_router_new_from_toml(kToml, std::strlen(kToml), &r, nullptr) != LLMROUTER_OK) return 1;
  char* json = nullptr;
  const llmrouter_status s = llmrouter_route(r, LLMROUTER_FORMAT_OPENAI, kBody, std::strlen(kBody), &json, nullptr, nullptr);
  if (s != LLMROUTER_OK) return 1;
  std::printf("C ABI: %s\n", json);
  llmrouter_free(json);
  llmrouter_router_free(r);
  return 0;
}
