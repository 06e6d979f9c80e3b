// SPDX-License-Identifier: MIT
#pragma once
// llmrouter-server's command line, for programs that build the server with extensions of
// their own: register them next to the built-ins and hand over main's arguments.
//
//     int main(int argc, char** argv) {
//       auto registries = llmrouter::Registries::with_builtins();
//       (void)registries.add_provider("echo", make_echo);
//       return llmrouter::server::run_cli(argc, argv, std::move(registries));
//     }

#include "llmrouter/registry.h"

namespace llmrouter::server {

/// Parses `argv` as llmrouter-server does (CONFIG, --host, --port, --check, --version,
/// --help), then checks the configuration or serves it until SIGINT or SIGTERM, with
/// `registries` for its rule types, classifiers, plugins and provider kinds. Returns the
/// process's exit status.
int run_cli(int argc, char** argv, Registries registries);

}  // namespace llmrouter::server
