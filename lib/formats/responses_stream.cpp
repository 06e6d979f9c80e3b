// SPDX-License-Identifier: MIT
// OpenAI Responses API, provider side: decoding the `response.*` event stream into
// canonical events. Each output item becomes blocks: a message's text parts one text block
// each, a reasoning item one thinking block (summary parts as paragraphs), a function call
// one tool call. Built-in tool items have no canonical stream form and are skipped.
#include <map>
#include <utility>

#include <fmt/format.h>

#include "formats/codecs.h"
#include "formats/common.h"
#include "formats/framing.h"
#include "formats/responses_codec.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr std::string_view kTarget = "responses";
constexpr std::string_view kParagraph = "\n\n";

// Where a block lives upstream: (output_index, content_index) for a message's parts;
// the reasoning and function-call items use one block each, keyed with these parts.
constexpr int64_t kReasoningPart = -2;
constexpr int64_t kCallPart = -1;

class ResponsesStreamDecoder final : public StreamDecoder {
 public:
  Result<void> feed(std::string_view bytes, std::vector<StreamEvent>& out) override {
    events_.clear();
    LLMROUTER_CHECK(sse_.feed(bytes, events_));
    return handle(out);
  }

  Result<void> finish(std::vector<StreamEvent>& out) override {
    events_.clear();
    sse_.finish(events_);
    LLMROUTER_CHECK(handle(out));
    if (!ended_)
      return fail(Errc::Upstream, "responses stream: stream ended before the reply was complete");
    return {};
  }

 private:
  enum class Kind { Text, Thinking, Call };
  struct Block {
    uint32_t index = 0;
    Kind kind = Kind::Text;
    bool has_delta = false;      // an event of the block was emitted
    bool has_arguments = false;  // a call's arguments were emitted
    bool stopped = false;
    bool separate = false;  // a new summary part began: the next thinking delta starts a paragraph
  };
  using Key = std::pair<int64_t, int64_t>;

  Result<void> handle(std::vector<StreamEvent>& out) {
    for (const SseEvent& ev : events_) {
      if (ended_) break;
      if (ev.data.empty() || ev.data == "[DONE]") continue;
      LLMROUTER_CHECK(event(ev.data, out));
    }
    return {};
  }

  static int64_t int_or(const json::Object& o, std::string_view key, int64_t fallback) {
    if (auto v = json::field(o, key); v && v->is_int64()) return v->get_int64().value_unsafe();
    return fallback;
  }

  Result<void> event(std::string_view data, std::vector<StreamEvent>& out) {
    auto doc = json::parse_upstream(data);
    if (!doc) return upstream_error(kTarget, doc.error());
    auto parsed = json::as_object(*doc, Path());
    if (!parsed) return upstream_error(kTarget, parsed.error());
    const json::Object obj = *parsed;
    const std::string type = json::string_or_empty(obj, "type");
    if (type == "error") {
      out.push_back(StreamError{responses_failure(obj)});
      ended_ = true;
      return {};
    }
    std::optional<json::Object> response;
    if (auto r = json::field(obj, "response"); r && r->is_object()) response = json::object_of(*r);
    if (type == "response.created" || type == "response.in_progress" || type == "response.queued") {
      if (response) start(*response, out);
      return {};
    }
    if (type == "response.failed") {
      out.push_back(StreamError{response ? responses_failure(*response)
                                         : Error{Errc::Upstream, "the response failed", 0, {}}});
      ended_ = true;
      return {};
    }
    if (!started_) {
      out.push_back(MessageStart{});
      started_ = true;
    }
    if (type == "response.completed" || type == "response.incomplete") {
      StopReason reason = StopReason::EndTurn;
      if (response) {
        if (auto u = json::field(*response, "usage"); u && u->is_object()) {
          read_responses_usage(json::object_of(*u), usage_);
          has_usage_ = true;
        }
        reason = responses_stop_reason(*response);
        // Items the stream never announced (a server that sends the output only here).
        if (auto items = json::field(*response, "output"); items && items->is_array()) {
          int64_t index = 0;
          for (Element item : json::array_of(*items)) {
            if (item.is_object() && !seen(index))
              LLMROUTER_CHECK(whole_item(index, json::object_of(item), item, out));
            ++index;
          }
        }
      }
      if (type == "response.incomplete" && reason == StopReason::EndTurn)
        reason = StopReason::Other;
      if (refusal_ && reason == StopReason::EndTurn) reason = StopReason::Refusal;
      for (auto& [key, block] : blocks_) stop(block, out);
      if (has_usage_) out.push_back(UsageUpdate{usage_});
      out.push_back(Done{settle_stop_reason(reason, has_calls_), {}});
      ended_ = true;
      return {};
    }
    const int64_t output = int_or(obj, "output_index", -1);
    if (type == "response.output_item.added") {
      auto item = json::field(obj, "item");
      if (!item || !item->is_object())
        return fail(Errc::Upstream, "responses stream: output_item.added without an item");
      const json::Object io = json::object_of(*item);
      const std::string item_type = json::string_or_empty(io, "type");
      if (item_type == "function_call") {
        if (blocks_.count({output, kCallPart}))
          return fail(Errc::Upstream,
                      fmt::format("responses stream: output item {} added twice", output));
        Block& b = open({output, kCallPart}, Kind::Call);
        out.push_back(ToolCallStart{b.index, json::string_or_empty(io, "call_id"),
                                    json::string_or_empty(io, "name")});
        b.has_delta = true;
        has_calls_ = true;
        if (auto args = json::string_or_empty(io, "arguments"); !args.empty())
          delta(b, std::move(args), out);
      } else if (item_type != "message" && item_type != "reasoning") {
        log_dropped("canonical stream", fmt::format("responses {} item", item_type));
      }
      return {};
    }
    if (type == "response.output_item.done") {
      auto item = json::field(obj, "item");
      if (item && item->is_object() && !seen(output)) {
        // An item announced only whole: its content as events.
        LLMROUTER_CHECK(whole_item(output, json::object_of(*item), *item, out));
      }
      for (auto& [key, block] : blocks_) {
        if (key.first == output) stop(block, out);
      }
      return {};
    }
    if (type == "response.output_text.delta" || type == "response.refusal.delta") {
      if (type == "response.refusal.delta") refusal_ = true;
      LLMROUTER_TRY(part, content_index(obj, type));
      delta(open({output, part}, Kind::Text), json::string_or_empty(obj, "delta"), out);
      return {};
    }
    if (type == "response.output_text.done" || type == "response.refusal.done") {
      if (type == "response.refusal.done") refusal_ = true;
      LLMROUTER_TRY(part, content_index(obj, type));
      Block& b = open({output, part}, Kind::Text);
      if (!b.has_delta)
        delta(b, json::string_or_empty(obj, type == "response.refusal.done" ? "refusal" : "text"),
              out);
      stop(b, out);
      return {};
    }
    if (type == "response.content_part.added" || type == "response.content_part.done") {
      // The text arrives in the deltas; a part carries it too when no delta did.
      auto part = json::field(obj, "part");
      if (!part || !part->is_object()) return {};
      const json::Object po = json::object_of(*part);
      const std::string part_type = json::string_or_empty(po, "type");
      const bool is_refusal = part_type == "refusal";
      if (part_type != "output_text" && !is_refusal) return {};
      std::string text = json::string_or_empty(po, is_refusal ? "refusal" : "text");
      LLMROUTER_TRY(part_index, content_index(obj, type));
      const Key key{output, part_index};
      if (text.empty() && !blocks_.count(key)) return {};
      if (is_refusal) refusal_ = true;
      Block& b = open(key, Kind::Text);
      if (!b.has_delta) delta(b, std::move(text), out);
      if (type == "response.content_part.done") stop(b, out);
      return {};
    }
    if (type == "response.reasoning_summary_part.added") {
      auto it = blocks_.find({output, kReasoningPart});
      if (it != blocks_.end() && it->second.has_delta) it->second.separate = true;
      return {};
    }
    if (type == "response.reasoning_summary_text.delta" ||
        type == "response.reasoning_text.delta") {
      delta(open({output, kReasoningPart}, Kind::Thinking), json::string_or_empty(obj, "delta"),
            out);
      return {};
    }
    if (type == "response.reasoning_summary_text.done" || type == "response.reasoning_text.done" ||
        type == "response.reasoning_summary_part.done") {
      std::string text = json::string_or_empty(obj, "text");
      if (auto part = json::field(obj, "part"); part && part->is_object())
        text = json::string_or_empty(json::object_of(*part), "text");
      auto it = blocks_.find({output, kReasoningPart});
      if (text.empty() || (it != blocks_.end() && it->second.has_delta)) return {};
      delta(open({output, kReasoningPart}, Kind::Thinking), std::move(text), out);
      return {};
    }
    if (type == "response.function_call_arguments.delta" ||
        type == "response.function_call_arguments.done") {
      auto it = blocks_.find({output, kCallPart});
      if (it == blocks_.end())
        return fail(Errc::Upstream,
                    fmt::format("responses stream: {} for output item {} before its function call",
                                type, output));
      Block& b = it->second;
      const bool done = type == "response.function_call_arguments.done";
      std::string part = json::string_or_empty(obj, done ? "arguments" : "delta");
      if (done) {
        if (!b.has_arguments) delta(b, std::move(part), out);
      } else {
        delta(b, std::move(part), out);
      }
      return {};
    }
    return {};  // other events (annotations, built-in tool progress, ...) carry nothing canonical
  }

  void start(const json::Object& response, std::vector<StreamEvent>& out) {
    if (started_) return;
    MessageStart s;
    s.id = json::string_or_empty(response, "id");
    s.model = json::string_or_empty(response, "model");
    if (auto c = json::field(response, "created_at"); c && c->is_int64())
      s.created = c->get_int64().value_unsafe();
    out.push_back(std::move(s));
    started_ = true;
  }

  bool seen(int64_t output) const {
    for (const auto& [key, block] : blocks_) {
      if (key.first == output) return true;
    }
    return false;
  }

  Block& open(const Key& key, Kind kind) {
    auto it = blocks_.find(key);
    if (it == blocks_.end())
      it = blocks_.emplace(key, Block{next_index_++, kind, false, false, false, false}).first;
    return it->second;
  }

  // The part of a message a text event is for (0 when not given).
  static Result<int64_t> content_index(const json::Object& obj, std::string_view type) {
    const int64_t index = int_or(obj, "content_index", 0);
    if (index >= 0) return index;
    return fail(Errc::Upstream,
                fmt::format("responses stream: {} with a negative content_index", type));
  }

  void delta(Block& b, std::string text, std::vector<StreamEvent>& out) {
    if (text.empty() || b.stopped) return;
    switch (b.kind) {
      case Kind::Text:
        out.push_back(TextDelta{b.index, std::move(text)});
        break;
      case Kind::Thinking:
        if (b.separate) text.insert(0, kParagraph);
        b.separate = false;
        out.push_back(ThinkingDelta{b.index, std::move(text)});
        break;
      case Kind::Call:
        out.push_back(ToolCallDelta{b.index, std::move(text)});
        b.has_arguments = true;
        break;
    }
    b.has_delta = true;
  }

  // A block that produced no event (an empty text part) has nothing to stop.
  static void stop(Block& b, std::vector<StreamEvent>& out) {
    if (b.stopped || !b.has_delta) return;
    b.stopped = true;
    out.push_back(BlockStop{b.index});
  }

  Result<void> whole_item(int64_t output, const json::Object& io, const Element& item,
                          std::vector<StreamEvent>& out) {
    std::vector<ContentBlock> blocks;
    bool refusal = false;
    if (auto r = decode_responses_output_item(io, item, Path(), blocks, refusal); !r)
      return upstream_error(kTarget, r.error());
    refusal_ = refusal_ || refusal;
    int64_t part = 0;
    for (ContentBlock& c : blocks) {
      if (auto* t = std::get_if<TextBlock>(&c)) {
        delta(open({output, part++}, Kind::Text), std::move(t->text), out);
      } else if (auto* th = std::get_if<ThinkingBlock>(&c)) {
        delta(open({output, kReasoningPart}, Kind::Thinking), std::move(th->thinking), out);
      } else if (auto* u = std::get_if<ToolUseBlock>(&c)) {
        Block& b = open({output, kCallPart}, Kind::Call);
        out.push_back(ToolCallStart{b.index, u->id, u->name});
        b.has_delta = true;
        has_calls_ = true;
        delta(b, input_to_arguments(u->input), out);
      }
    }
    return {};
  }

  SseParser sse_;
  std::vector<SseEvent> events_;
  bool started_ = false;
  bool ended_ = false;
  bool has_calls_ = false;
  bool refusal_ = false;
  uint32_t next_index_ = 0;
  std::map<Key, Block> blocks_;
  Usage usage_;
  bool has_usage_ = false;
};

}  // namespace

std::unique_ptr<StreamDecoder> make_responses_stream_decoder() {
  return std::make_unique<ResponsesStreamDecoder>();
}

}  // namespace llmrouter::detail
