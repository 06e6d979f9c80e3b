/* SPDX-License-Identifier: MIT */
/* Uses the installed C ABI from libllmrouter.so. */
#include <llmrouter.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  static const char toml[] =
      "[[providers]]\nname = \"local\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
      "[[routers]]\ntype = \"fallback\"\n";
  static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  llmrouter_router *r = NULL;
  char *json = NULL;
  if (llmrouter_router_new_from_toml(toml, sizeof toml - 1, &r, NULL) != LLMROUTER_OK) return 1;
  if (llmrouter_route(r, LLMROUTER_FORMAT_OPENAI, body, sizeof body - 1, &json, NULL, NULL) != LLMROUTER_OK) {
    return 1;
  }
  printf("C (ABI %u): %s\n", (unsigned)llmrouter_abi_version(), json);
  llmrouter_free(json);
  llmrouter_router_free(r);
  return 0;
}
