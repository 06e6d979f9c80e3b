// SPDX-License-Identifier: MIT
#pragma once
// What the Anthropic Messages codec's request, response and stream files share. Internal.

#include <string>
#include <vector>

#include "json/json.h"
#include "llmrouter/request.h"
#include "llmrouter/response.h"

namespace llmrouter::detail {

/// Content: a string or an array of blocks (a message's, or a reply's).
Result<std::vector<ContentBlock>> decode_anthropic_content(const json::Element& e,
                                                           const json::Path& path);
/// Whether `b` can be sent to Anthropic; logs what cannot when `to_anthropic`.
bool anthropic_sendable(const ContentBlock& b, bool to_anthropic);
/// One content block in Anthropic's shape.
void write_anthropic_block(json::Writer& w, const ContentBlock& b);

/// A `usage` object into `usage` (cache counts added to the input count); `saw_input`, when
/// given, says whether it held input_tokens.
void read_anthropic_usage(const json::Object& u, Usage& usage, bool* saw_input = nullptr);
/// "usage": {"input_tokens" (without the cache counts), "cache_*", "output_tokens"}
void write_anthropic_usage(json::Writer& w, const Usage& u);
/// `id`, or a new "msg_" id when it is empty.
std::string anthropic_message_id(const std::string& id);

}  // namespace llmrouter::detail
