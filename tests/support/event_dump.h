// SPDX-License-Identifier: MIT
#pragma once
// A readable one-line-per-event rendering of canonical stream events, for golden files
// and assertion messages.

#include <string>
#include <vector>

#include "llmrouter/response.h"

namespace llmrouter::testing {

std::string dump(const StreamEvent& e);
std::string dump(const std::vector<StreamEvent>& events);

}  // namespace llmrouter::testing
