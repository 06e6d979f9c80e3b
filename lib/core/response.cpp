// SPDX-License-Identifier: MIT
#include "llmrouter/response.h"

#include <fmt/format.h>

namespace llmrouter {
namespace {

Unexpected bad_stream(std::string message) { return fail(Errc::Upstream, std::move(message)); }

// Later usage reports replace earlier counts, but a zero does not erase a known count
// (Anthropic reports input tokens in message_start and output tokens in message_delta).
void merge_usage(Usage& into, const Usage& u) {
  const auto take = [](uint64_t& dst, uint64_t src) {
    if (src != 0) dst = src;
  };
  take(into.input_tokens, u.input_tokens);
  take(into.output_tokens, u.output_tokens);
  take(into.cache_read_input_tokens, u.cache_read_input_tokens);
  take(into.cache_creation_input_tokens, u.cache_creation_input_tokens);
  take(into.reasoning_tokens, u.reasoning_tokens);
}

}  // namespace

std::string text_of(const Response& r) {
  std::string out;
  for (const ContentBlock& b : r.content) {
    if (const auto* t = std::get_if<TextBlock>(&b)) {
      if (t->text.empty()) continue;
      if (!out.empty()) out += '\n';
      out += t->text;
    }
  }
  return out;
}

std::vector<const ToolUseBlock*> tool_calls(const Response& r) {
  std::vector<const ToolUseBlock*> out;
  for (const ContentBlock& b : r.content) {
    if (const auto* u = std::get_if<ToolUseBlock>(&b)) out.push_back(u);
  }
  return out;
}

std::vector<StreamEvent> events_of(const Response& r) {
  std::vector<StreamEvent> out;
  out.push_back(MessageStart{r.id, r.model, r.created, r.usage});
  for (std::size_t i = 0; i < r.content.size(); ++i) {
    const auto index = static_cast<uint32_t>(i);
    const ContentBlock& b = r.content[i];
    if (const auto* t = std::get_if<TextBlock>(&b)) {
      out.push_back(TextDelta{index, t->text});
    } else if (const auto* th = std::get_if<ThinkingBlock>(&b)) {
      out.push_back(ThinkingDelta{index, th->thinking});
      if (!th->signature.empty()) out.push_back(SignatureDelta{index, th->signature});
    } else if (const auto* rt = std::get_if<RedactedThinkingBlock>(&b)) {
      out.push_back(RedactedThinkingEvent{index, rt->data});
    } else if (const auto* u = std::get_if<ToolUseBlock>(&b)) {
      out.push_back(ToolCallStart{index, u->id, u->name});
      out.push_back(ToolCallDelta{index, u->input.text});
    } else {
      continue;
    }
    out.push_back(BlockStop{index});
  }
  out.push_back(UsageUpdate{r.usage});
  out.push_back(Done{r.stop_reason, r.stop_sequence});
  return out;
}

ContentBlock* ResponseAssembler::block_at(uint32_t index) {
  if (index >= slots_.size() || slots_[index] < 0) return nullptr;
  return &response_.content[static_cast<std::size_t>(slots_[index])];
}

Result<void> ResponseAssembler::add(const StreamEvent& event) {
  if (state_ != State::Open) {
    return bad_stream("stream event after the end of the stream");
  }
  // Returns the block at `index`, creating it as `Block` when new; nullptr when the index
  // already holds a block of another kind.
  auto get_or_create = [this](uint32_t index, auto prototype) -> decltype(prototype)* {
    using Block = decltype(prototype);
    if (ContentBlock* existing = block_at(index)) return std::get_if<Block>(existing);
    if (index >= slots_.size()) slots_.resize(static_cast<std::size_t>(index) + 1, -1);
    slots_[index] = static_cast<int32_t>(response_.content.size());
    response_.content.emplace_back(std::move(prototype));
    return std::get_if<Block>(&response_.content.back());
  };
  auto kind_error = [](uint32_t index, std::string_view what) {
    return bad_stream(fmt::format("stream: {} for block {}, which is a block of another kind",
                                  what, index));
  };

  if (const auto* start = std::get_if<MessageStart>(&event)) {
    response_.id = start->id;
    response_.model = start->model;
    response_.created = start->created;
    merge_usage(response_.usage, start->usage);
  } else if (const auto* text = std::get_if<TextDelta>(&event)) {
    TextBlock* b = get_or_create(text->index, TextBlock{});
    if (!b) return kind_error(text->index, "text delta");
    b->text += text->text;
  } else if (const auto* thinking = std::get_if<ThinkingDelta>(&event)) {
    ThinkingBlock* b = get_or_create(thinking->index, ThinkingBlock{});
    if (!b) return kind_error(thinking->index, "thinking delta");
    b->thinking += thinking->thinking;
  } else if (const auto* signature = std::get_if<SignatureDelta>(&event)) {
    ThinkingBlock* b = get_or_create(signature->index, ThinkingBlock{});
    if (!b) return kind_error(signature->index, "signature delta");
    b->signature += signature->signature;
  } else if (const auto* redacted = std::get_if<RedactedThinkingEvent>(&event)) {
    if (block_at(redacted->index)) return kind_error(redacted->index, "redacted thinking");
    get_or_create(redacted->index, RedactedThinkingBlock{redacted->data});
  } else if (const auto* call = std::get_if<ToolCallStart>(&event)) {
    if (block_at(call->index)) {
      return bad_stream(fmt::format("stream: tool call start for block {}, which already exists",
                                    call->index));
    }
    ToolUseBlock u;
    u.id = call->id;
    u.name = call->name;
    get_or_create(call->index, std::move(u));
  } else if (const auto* delta = std::get_if<ToolCallDelta>(&event)) {
    ContentBlock* b = block_at(delta->index);
    if (!b) {
      return bad_stream(fmt::format("stream: tool call delta for block {} before its start",
                                    delta->index));
    }
    auto* u = std::get_if<ToolUseBlock>(b);
    if (!u) return kind_error(delta->index, "tool call delta");
    u->input.text += delta->partial_json;
  } else if (const auto* stop = std::get_if<BlockStop>(&event)) {
    if (!block_at(stop->index)) {
      return bad_stream(fmt::format("stream: stop for block {}, which never started", stop->index));
    }
  } else if (const auto* usage = std::get_if<UsageUpdate>(&event)) {
    merge_usage(response_.usage, usage->usage);
  } else if (const auto* done = std::get_if<Done>(&event)) {
    response_.stop_reason = done->stop_reason;
    response_.stop_sequence = done->stop_sequence;
    state_ = State::Done;
  } else if (const auto* err = std::get_if<StreamError>(&event)) {
    error_ = err->error;
    state_ = State::Failed;
  }
  return {};
}

Result<Response> ResponseAssembler::finish() const {
  if (state_ == State::Failed) return fail(*error_);
  if (state_ == State::Open) return bad_stream("stream ended before the reply was complete");
  Response out = response_;
  for (ContentBlock& b : out.content) {
    if (auto* u = std::get_if<ToolUseBlock>(&b); u && u->input.empty()) u->input.text = "{}";
  }
  return out;
}

}  // namespace llmrouter
