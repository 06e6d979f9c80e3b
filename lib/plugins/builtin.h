// SPDX-License-Identifier: MIT
#pragma once
// Factories of the built-in plugins, and the JSON repair behind response-healing.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "llmrouter/config.h"
#include "llmrouter/plugin.h"

namespace llmrouter::detail {

Result<std::unique_ptr<Plugin>> make_response_healing(const ComponentConfig& c, const Config& config);
Result<std::unique_ptr<Plugin>> make_pareto_router(const ComponentConfig& c, const Config& config);
Result<std::unique_ptr<Plugin>> make_web_plugin(const ComponentConfig& c, const Config& config);
Result<std::unique_ptr<Plugin>> make_pdf_plugin(const ComponentConfig& c, const Config& config);

/// Repairs `text` into valid JSON when it can: strips a code fence and prose around the
/// value, removes trailing commas (outside strings), closes an unterminated string and
/// unbalanced brackets. nullopt when the result still does not parse. Already-valid JSON
/// comes back unchanged.
std::optional<std::string> heal_json(std::string_view text);

/// True when a reply is meant to be JSON: JSON output was requested, or the text starts
/// (after whitespace) with '{', '[' or a fenced JSON block.
bool meant_to_be_json(const CanonicalRequest& req, std::string_view text);

}  // namespace llmrouter::detail
