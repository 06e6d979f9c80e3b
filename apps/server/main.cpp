// SPDX-License-Identifier: MIT
// llmrouter-server: the command line (cli.cpp) with the built-in components.
#include "cli.h"

int main(int argc, char** argv) {
  return llmrouter::server::run_cli(argc, argv, llmrouter::Registries::with_builtins());
}
