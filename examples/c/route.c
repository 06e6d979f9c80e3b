/* SPDX-License-Identifier: MIT */
/* Deciding routes from C through the C ABI (libllmrouter.so): no network I/O.
 *   example_c_route [CONFIG]      (default: a configuration written inline) */
#include <llmrouter.h>

#include <stdio.h>
#include <string.h>

static const char kConfig[] =
    "[[providers]]\n"
    "name = \"local\"\n"
    "format = \"openai\"\n"
    "base_url = \"http://127.0.0.1:8080/v1\"\n"
    "[[providers]]\n"
    "name = \"cloud\"\n"
    "format = \"anthropic\"\n"
    "base_url = \"https://api.anthropic.com\"\n"
    "[[routers]]\n"
    "type = \"prefix\"\n"
    "model_prefix = \"claude\"\n"
    "provider = \"cloud\"\n"
    "[[routers]]\n"
    "type = \"tag\"\n"
    "tag = \"code\"\n"
    "provider = \"local\"\n"
    "rewrite_model = \"qwen3-coder\"\n"
    "[[routers]]\n"
    "type = \"fallback\"\n"
    "providers = [\"local\"]\n"
    "[classifiers.keyword]\n"
    "enabled = true\n"
    "[classifiers.keyword.tags]\n"
    "code = [\"def \", \"function\"]\n";

struct request {
  llmrouter_format format;
  const char *body;
};

static const struct request kRequests[] = {
    {LLMROUTER_FORMAT_OPENAI,
     "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"},
    {LLMROUTER_FORMAT_OPENAI,
     "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"fix: def f(x) return x\"}]}"},
    {LLMROUTER_FORMAT_ANTHROPIC,
     "{\"model\":\"claude-sonnet-4\",\"max_tokens\":256,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"},
    {LLMROUTER_FORMAT_OPENAI, "{\"model\":\"llama3\",\"messages\":\"not a list\"}"},
};

int main(int argc, char **argv) {
  llmrouter_router *router = NULL;
  llmrouter_error *err = NULL;
  llmrouter_status status;
  size_t i;

  if (argc > 1) {
    status = llmrouter_router_new_from_file(argv[1], strlen(argv[1]), &router, &err);
  } else {
    status = llmrouter_router_new_from_toml(kConfig, sizeof kConfig - 1, &router, &err);
  }
  if (status != LLMROUTER_OK) {
    fprintf(stderr, "%s\n", llmrouter_error_message(err));
    llmrouter_error_free(err);
    return 1;
  }
  printf("libllmrouter %s (C ABI %u)\n", llmrouter_version(), (unsigned)llmrouter_abi_version());

  for (i = 0; i < sizeof kRequests / sizeof kRequests[0]; ++i) {
    char *json = NULL;
    size_t len = 0;
    status = llmrouter_route(router, kRequests[i].format, kRequests[i].body, strlen(kRequests[i].body), &json,
                             &len, &err);
    if (status == LLMROUTER_OK) {
      printf("%zu: %s\n", i, json);
      llmrouter_free(json);
    } else {
      /* A request the router refuses: the status, and the HTTP status a server would send. */
      printf("%zu: %s (HTTP %d): %s\n", i, llmrouter_status_string(status), llmrouter_error_http_status(err),
             llmrouter_error_message(err));
      llmrouter_error_free(err);
      err = NULL;
    }
  }
  llmrouter_router_free(router);
  return 0;
}
