// SPDX-License-Identifier: MIT
#pragma once
// What the Responses provider codec's response and stream files share. Internal.

#include <vector>

#include "json/json.h"
#include "llmrouter/request.h"
#include "llmrouter/response.h"

namespace llmrouter::detail {

/// A response's `usage` object into `usage`, leniently: input_tokens (cached ones
/// included, input_tokens_details.cached_tokens), output_tokens
/// (output_tokens_details.reasoning_tokens).
void read_responses_usage(const json::Object& u, Usage& usage);

/// Why a finished response object stopped: `incomplete` with incomplete_details.reason
/// max_output_tokens or content_filter, else the end of the turn.
StopReason responses_stop_reason(const json::Object& response);

/// The error of a response object whose status is "failed" (or of an `error` event):
/// its `error.message`, prefixed by its code; 429 for a rate limit, 502 otherwise.
Error responses_failure(const json::Object& error_or_response);

/// One output item as content blocks: message parts (output_text, refusal) as text,
/// reasoning (summary, else reasoning_text content) as one thinking block, function_call as
/// a tool call, other items (built-in tool calls) as opaque blocks. `refusal` is set when
/// the message held a refusal. Errors name the item's path.
Result<void> decode_responses_output_item(const json::Object& item, const json::Element& element,
                                          const json::Path& path, std::vector<ContentBlock>& out,
                                          bool& refusal);

}  // namespace llmrouter::detail
