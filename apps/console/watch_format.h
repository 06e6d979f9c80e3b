// SPDX-License-Identifier: MIT
#pragma once
// llmrouter-watch's output (docs/console.md): the lines each event prints (start, tags,
// routing decision with its rule, then the outcome with failover chain, tool calls, tokens
// and cost), with or without ANSI colours.

#include <string>
#include <vector>

#include "render.h"
#include "router_events.h"

namespace llmrouter::console {

/// The lines `event` prints (none for a `classified` event without tags).
std::vector<Line> watch_lines(const RouterEvent& event);

/// `line` as text; with `color`, each styled span is wrapped in ANSI SGR codes.
std::string to_ansi(const Line& line, bool color);

}  // namespace llmrouter::console
