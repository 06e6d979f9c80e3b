// SPDX-License-Identifier: MIT
#pragma once
// What the OpenAI Chat codec's request, response and stream files share. Internal.

#include <vector>

#include "json/json.h"
#include "llmrouter/request.h"
#include "llmrouter/response.h"

namespace llmrouter::detail {

/// Message content: a string or an array of parts. `allow_media` is false for roles that
/// take text only (and for replies).
Result<std::vector<ContentBlock>> decode_openai_content(const json::Element& e,
                                                        const json::Path& path, bool allow_media);
/// One entry of `tool_calls`: {"id", "function": {"name", "arguments"}}.
Result<ToolUseBlock> decode_openai_tool_call(const json::Element& e, const json::Path& path);

/// A reply's `usage` object into `usage`, leniently.
void read_openai_usage(const json::Object& u, Usage& usage);
/// "usage": {"prompt_tokens", "completion_tokens", "total_tokens", ...details}
void write_openai_usage(json::Writer& w, const Usage& u);

}  // namespace llmrouter::detail
