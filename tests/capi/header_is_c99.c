/* SPDX-License-Identifier: MIT */
/* llmrouter.h compiles as strict C99 (-std=c99 -Wall -Wextra -pedantic -Werror), and a C
 * program links against libllmrouter.so and uses it. */
#include "llmrouter.h"

#include <stdio.h>
#include <string.h>

static int chunks;

static int on_chunk(const char *data, size_t len, void *user_data) {
  (void)data;
  (void)len;
  (void)user_data;
  ++chunks;
  return 0;
}

static void on_log(llmrouter_log_level level, const char *message, size_t len, void *user_data) {
  (void)level;
  (void)message;
  (void)len;
  (void)user_data;
}

int main(void) {
  static const char toml[] =
      "[[providers]]\nname = \"local\"\nformat = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
      "[[routers]]\ntype = \"fallback\"\n";
  static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  llmrouter_router *router = NULL;
  llmrouter_stream *stream = NULL;
  llmrouter_error *err = NULL;
  llmrouter_status status;
  char *json = NULL;
  size_t json_len = 0;

  if (llmrouter_abi_version() != LLMROUTER_ABI_VERSION) {
    fprintf(stderr, "ABI %u, header %d\n", (unsigned)llmrouter_abi_version(), LLMROUTER_ABI_VERSION);
    return 1;
  }
  llmrouter_log_set(on_log, NULL);
  llmrouter_log_set_level(LLMROUTER_LOG_LEVEL_WARN);
  status = llmrouter_router_new_from_toml(toml, sizeof toml - 1, &router, &err);
  if (status != LLMROUTER_OK) {
    fprintf(stderr, "%s: %s\n", llmrouter_status_string(status), llmrouter_error_message(err));
    llmrouter_error_free(err);
    return 1;
  }
  status = llmrouter_route(router, LLMROUTER_FORMAT_OPENAI, body, sizeof body - 1, &json, &json_len, &err);
  if (status != LLMROUTER_OK || strstr(json, "\"provider\":\"local\"") == NULL || strlen(json) != json_len) {
    fprintf(stderr, "route: %s %s\n", llmrouter_status_string(status), llmrouter_error_message(err));
    return 1;
  }
  printf("%s\n", json);
  llmrouter_free(json);

  /* Port 1 refuses: the error arrives before any chunk, with HTTP status 502. */
  status = llmrouter_complete(router, LLMROUTER_FORMAT_OPENAI, body, sizeof body - 1, on_chunk, NULL, &err);
  if (status != LLMROUTER_UPSTREAM || chunks != 0 || llmrouter_error_http_status(err) != 502 ||
      strcmp(llmrouter_error_provider(err), "local") != 0) {
    fprintf(stderr, "complete: %s %s\n", llmrouter_status_string(status), llmrouter_error_message(err));
    return 1;
  }
  llmrouter_error_free(err);
  err = NULL;

  status = llmrouter_stream_open(router, LLMROUTER_FORMAT_OPENAI, body, sizeof body - 1, &stream, NULL);
  if (status == LLMROUTER_OK) {
    const char *data = NULL;
    size_t len = 0;
    do {
      status = llmrouter_stream_next(stream, 100, &data, &len, NULL);
    } while (status == LLMROUTER_STREAM_TIMEOUT || status == LLMROUTER_OK);
  }
  llmrouter_stream_free(stream);
  llmrouter_router_free(router);
  llmrouter_log_set(NULL, NULL);
  if (status != LLMROUTER_UPSTREAM) {
    fprintf(stderr, "stream: %s\n", llmrouter_status_string(status));
    return 1;
  }
  return 0;
}
