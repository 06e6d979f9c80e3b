// SPDX-License-Identifier: MIT
#pragma once
// Test helpers for loading configurations with a controlled environment.

#include <gtest/gtest.h>

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

/// A config from TOML text that must load (the test fails otherwise).
inline Config config_from(std::string_view toml, std::map<std::string, std::string> vars = {}) {
  Result<Config> c = load_config_string(toml, "test.toml", fake_env(std::move(vars)));
  if (!c) {
    ADD_FAILURE() << c.error().message;
    return Config{};
  }
  return std::move(*c);
}

}  // namespace llmrouter::testing
