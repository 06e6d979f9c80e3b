// SPDX-License-Identifier: MIT
#pragma once
// Embedding vectors as OpenAI sends them with `encoding_format: "base64"`: little-endian
// float32 in base64, read back as the official SDKs do.
#include <cstring>
#include <string_view>
#include <vector>

#include "util/strings.h"

namespace llmrouter::testing {

/// The floats of `b64`; empty when it is not base64.
inline std::vector<float> decode_base64_floats(std::string_view b64) {
  const auto bytes = detail::base64_decode(b64);
  if (!bytes) return {};
  std::vector<float> out(bytes->size() / 4);
  std::memcpy(out.data(), bytes->data(), out.size() * 4);
  return out;
}

}  // namespace llmrouter::testing
