// SPDX-License-Identifier: MIT
#pragma once
// Test helpers for loading configurations with a controlled environment.

#include <map>
#include <optional>
#include <string>

#include "llmrouter/config.h"

namespace llmrouter::testing {

/// Load options whose environment holds exactly `vars`, with warnings not logged.
inline LoadOptions fake_env(std::map<std::string, std::string> vars = {}) {
  LoadOptions o;
  o.getenv = [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  o.log_warnings = false;
  return o;
}

}  // namespace llmrouter::testing
