// SPDX-License-Identifier: MIT
#pragma once
// The factories of the built-in rule types, one file each in lib/routers/, registered in
// lib/engine/builtins.cpp like any embedding program's (Registries::add_rule). Internal.

#include <memory>

#include "llmrouter/registry.h"

namespace llmrouter::detail {

Result<std::unique_ptr<Rule>> make_prefix_rule(const RuleConfig& rule, const Config& config);
Result<std::unique_ptr<Rule>> make_tag_rule(const RuleConfig& rule, const Config& config);
Result<std::unique_ptr<Rule>> make_discover_rule(const RuleConfig& rule, const Config& config);
Result<std::unique_ptr<Rule>> make_price_rule(const RuleConfig& rule, const Config& config);
Result<std::unique_ptr<Rule>> make_latency_rule(const RuleConfig& rule, const Config& config);
Result<std::unique_ptr<Rule>> make_throughput_rule(const RuleConfig& rule, const Config& config);
Result<std::unique_ptr<Rule>> make_fallback_rule(const RuleConfig& rule, const Config& config);
Result<std::unique_ptr<Rule>> make_random_rule(const RuleConfig& rule, const Config& config);

}  // namespace llmrouter::detail
