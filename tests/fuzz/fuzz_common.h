// SPDX-License-Identifier: MIT
#pragma once
// Shared checks for fuzz targets: a violated invariant aborts, so libFuzzer reports it and
// the replay test fails.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "llmrouter/formats.h"

/// The libFuzzer entry point each target defines.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

namespace llmrouter::fuzz {

[[noreturn]] inline void invariant_failed(const char* what, std::string_view detail) {
  std::fprintf(stderr, "invariant violated: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

/// Any valid JSON text the library writes must parse again.
void check_json(std::string_view json, const char* what);

constexpr WireFormat kClients[] = {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Responses};
constexpr WireFormat kProviders[] = {WireFormat::OpenAI, WireFormat::Anthropic, WireFormat::Ollama,
                                     WireFormat::Responses};

}  // namespace llmrouter::fuzz
