// SPDX-License-Identifier: MIT
#include "fuzz_common.h"

#include "json/json.h"

namespace llmrouter::fuzz {

void check_json(std::string_view json, const char* what) {
  if (!detail::json::is_valid(json)) invariant_failed(what, json);
}

}  // namespace llmrouter::fuzz
