// SPDX-License-Identifier: MIT
// Anthropic Messages streams: decoding a provider's SSE events into canonical events,
// encoding canonical events as Anthropic's events for the client, one block at a time.
#include <map>

#include <fmt/format.h>

#include "formats/anthropic_codec.h"
#include "formats/block_sequencer.h"
#include "formats/codecs.h"
#include "formats/common.h"
#include "formats/framing.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr std::string_view kTarget = "anthropic";

// ---------------------------------------------------------------------------------------
// Streams

class AnthropicStreamDecoder final : public StreamDecoder {
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
      return fail(Errc::Upstream, "anthropic stream: stream ended before the reply was complete");
    return {};
  }

 private:
  Result<void> handle(std::vector<StreamEvent>& out) {
    for (const SseEvent& ev : events_) {
      if (ended_) break;
      LLMROUTER_CHECK(event(ev.data, out));
    }
    return {};
  }

  Result<void> event(std::string_view data, std::vector<StreamEvent>& out) {
    auto doc = json::parse_upstream(data);
    if (!doc) return upstream_error(kTarget, doc.error());
    auto obj = json::as_object(*doc, Path());
    if (!obj) return upstream_error(kTarget, obj.error());
    const std::string type = json::string_or_empty(*obj, "type");
    if (type == "ping") return {};
    if (type == "error") {
      std::string message = "upstream error";
      int status = 0;
      if (auto e = json::field(*obj, "error"); e && e->is_object()) {
        const json::Object eo = json::object_of(*e);
        if (auto m = json::string_or_empty(eo, "message"); !m.empty()) message = m;
        if (json::string_or_empty(eo, "type") == "overloaded_error") status = 529;
      }
      out.push_back(StreamError{Error{Errc::Upstream, std::move(message), status, {}}});
      ended_ = true;
      return {};
    }
    if (type == "message_start") {
      MessageStart start;
      if (auto m = json::field(*obj, "message"); m && m->is_object()) {
        const json::Object mo = json::object_of(*m);
        start.id = json::string_or_empty(mo, "id");
        start.model = json::string_or_empty(mo, "model");
        if (auto u = json::field(mo, "usage"); u && u->is_object())
          read_anthropic_usage(json::object_of(*u), usage_);
      }
      start.usage = usage_;
      out.push_back(std::move(start));
      started_ = true;
      return {};
    }
    if (!started_) {
      out.push_back(MessageStart{});
      started_ = true;
    }
    uint32_t index = 0;
    if (auto i = json::field(*obj, "index");
        i && i->is_int64() && i->get_int64().value_unsafe() >= 0) {
      index = static_cast<uint32_t>(i->get_int64().value_unsafe());
    }
    if (type == "content_block_start") {
      auto cb = json::field(*obj, "content_block");
      if (!cb || !cb->is_object())
        return fail(Errc::Upstream,
                    "anthropic stream: content_block_start without a content_block");
      const json::Object co = json::object_of(*cb);
      const std::string block_type = json::string_or_empty(co, "type");
      if (kinds_.count(index)) {
        return fail(Errc::Upstream, fmt::format("anthropic stream: block {} started twice", index));
      }
      if (block_type == "text") {
        kinds_[index] = Kind::Text;
        if (auto t = json::string_or_empty(co, "text"); !t.empty())
          push(out, TextDelta{index, std::move(t)});
      } else if (block_type == "thinking") {
        kinds_[index] = Kind::Thinking;
        if (auto t = json::string_or_empty(co, "thinking"); !t.empty())
          push(out, ThinkingDelta{index, std::move(t)});
        if (auto s = json::string_or_empty(co, "signature"); !s.empty())
          push(out, SignatureDelta{index, std::move(s)});
      } else if (block_type == "redacted_thinking") {
        kinds_[index] = Kind::Redacted;
        push(out, RedactedThinkingEvent{index, json::string_or_empty(co, "data")});
      } else if (block_type == "tool_use") {
        kinds_[index] = Kind::Tool;
        push(out, ToolCallStart{index, json::string_or_empty(co, "id"),
                                json::string_or_empty(co, "name")});
        has_tool_calls_ = true;
      } else {
        kinds_[index] = Kind::Ignored;  // server tool blocks: not part of the canonical stream
        log_dropped("canonical stream", fmt::format("anthropic {} block", block_type));
      }
      return {};
    }
    if (type == "content_block_delta") {
      auto it = kinds_.find(index);
      if (it == kinds_.end())
        return fail(Errc::Upstream,
                    fmt::format("anthropic stream: delta for block {} before its start", index));
      if (it->second == Kind::Ignored) return {};
      auto d = json::field(*obj, "delta");
      if (!d || !d->is_object())
        return fail(Errc::Upstream, "anthropic stream: content_block_delta without a delta");
      const json::Object dobj = json::object_of(*d);
      const std::string dtype = json::string_or_empty(dobj, "type");
      const Kind kind = it->second;
      const bool fits =
          (dtype == "text_delta" && kind == Kind::Text) ||
          ((dtype == "thinking_delta" || dtype == "signature_delta") && kind == Kind::Thinking) ||
          (dtype == "input_json_delta" && kind == Kind::Tool) ||
          (dtype != "text_delta" && dtype != "thinking_delta" && dtype != "signature_delta" &&
           dtype != "input_json_delta");
      if (!fits) {
        return fail(Errc::Upstream,
                    fmt::format("anthropic stream: {} for block {} of another kind", dtype, index));
      }
      if (dtype == "text_delta") {
        push(out, TextDelta{index, json::string_or_empty(dobj, "text")});
      } else if (dtype == "thinking_delta") {
        push(out, ThinkingDelta{index, json::string_or_empty(dobj, "thinking")});
      } else if (dtype == "signature_delta") {
        push(out, SignatureDelta{index, json::string_or_empty(dobj, "signature")});
      } else if (dtype == "input_json_delta") {
        std::string part = json::string_or_empty(dobj, "partial_json");
        if (!part.empty()) push(out, ToolCallDelta{index, std::move(part)});
      }
      return {};
    }
    if (type == "content_block_stop") {
      // A block that produced no event (an empty text block) has nothing to stop.
      if (emitted(index)) out.push_back(BlockStop{index});
      return {};
    }
    if (type == "message_delta") {
      if (auto d = json::field(*obj, "delta"); d && d->is_object()) {
        const json::Object dobj = json::object_of(*d);
        if (auto r = json::string_or_empty(dobj, "stop_reason"); !r.empty())
          stop_reason_ = stop_reason_from_anthropic(r);
        stop_sequence_ = json::string_or_empty(dobj, "stop_sequence");
      }
      if (auto u = json::field(*obj, "usage"); u && u->is_object()) {
        Usage latest = usage_;
        bool saw_input = false;
        read_anthropic_usage(json::object_of(*u), latest, &saw_input);
        if (!saw_input) {  // message_delta usage may omit input counts: keep message_start's
          latest.input_tokens = usage_.input_tokens;
          latest.cache_read_input_tokens = usage_.cache_read_input_tokens;
          latest.cache_creation_input_tokens = usage_.cache_creation_input_tokens;
        }
        usage_ = latest;
      }
      return {};
    }
    if (type == "message_stop") {
      out.push_back(UsageUpdate{usage_});
      out.push_back(Done{settle_stop_reason(stop_reason_, has_tool_calls_), stop_sequence_});
      ended_ = true;
    }
    return {};
  }

  // Appends a content event, remembering that its block has been seen downstream.
  void push(std::vector<StreamEvent>& out, StreamEvent e) {
    if (auto index = block_index(e); index && !emitted(*index)) emitted_.push_back(*index);
    out.push_back(std::move(e));
  }
  bool emitted(uint32_t index) const {
    return std::find(emitted_.begin(), emitted_.end(), index) != emitted_.end();
  }

  enum class Kind { Text, Thinking, Redacted, Tool, Ignored };
  std::vector<uint32_t> emitted_;
  SseParser sse_;
  std::vector<SseEvent> events_;
  std::map<uint32_t, Kind> kinds_;
  bool started_ = false;
  bool ended_ = false;
  bool has_tool_calls_ = false;
  Usage usage_;
  StopReason stop_reason_ = StopReason::EndTurn;
  std::string stop_sequence_;
};

class AnthropicStreamEncoder final : public StreamEncoder {
 public:
  void encode(const StreamEvent& event, std::string& out) override {
    if (done_) return;
    sequencer_.push(event, [&](const StreamEvent& e) { emit(e, out); });
  }

  void keepalive(std::string& out) override { append_sse(out, "ping", R"({"type":"ping"})"); }

 private:
  void emit(const StreamEvent& event, std::string& out) {
    if (done_) return;
    if (const auto* s = std::get_if<MessageStart>(&event)) {
      start(s->id, s->model, s->usage, out);
      return;
    }
    if (const auto* err = std::get_if<StreamError>(&event)) {
      std::string body;
      json::Writer w(body);
      w.begin_object();
      w.kv("type", "error");
      w.key("error");
      w.begin_object();
      w.kv("type", anthropic_error_type(err->error));
      w.kv("message", err->error.message);
      w.end_object();
      w.end_object();
      append_sse(out, "error", body);
      done_ = true;
      return;
    }
    start({}, {}, {}, out);
    if (const auto* t = std::get_if<TextDelta>(&event)) {
      open(t->index, Kind::Text, out, [](json::Writer& w) {
        w.kv("type", "text");
        w.kv("text", "");
      });
      delta(t->index, out, [&](json::Writer& w) {
        w.kv("type", "text_delta");
        w.kv("text", t->text);
      });
    } else if (const auto* th = std::get_if<ThinkingDelta>(&event)) {
      open_thinking(th->index, out);
      delta(th->index, out, [&](json::Writer& w) {
        w.kv("type", "thinking_delta");
        w.kv("thinking", th->thinking);
      });
    } else if (const auto* sig = std::get_if<SignatureDelta>(&event)) {
      open_thinking(sig->index, out);
      delta(sig->index, out, [&](json::Writer& w) {
        w.kv("type", "signature_delta");
        w.kv("signature", sig->signature);
      });
    } else if (const auto* r = std::get_if<RedactedThinkingEvent>(&event)) {
      open(r->index, Kind::Other, out, [&](json::Writer& w) {
        w.kv("type", "redacted_thinking");
        w.kv("data", r->data);
      });
    } else if (const auto* c = std::get_if<ToolCallStart>(&event)) {
      has_tool_calls_ = true;
      open(c->index, Kind::Other, out, [&](json::Writer& w) {
        w.kv("type", "tool_use");
        w.kv("id", c->id);
        w.kv("name", c->name);
        w.key("input");
        w.begin_object();
        w.end_object();
      });
    } else if (const auto* d = std::get_if<ToolCallDelta>(&event)) {
      if (!blocks_.count(d->index)) return;
      delta(d->index, out, [&](json::Writer& w) {
        w.kv("type", "input_json_delta");
        w.kv("partial_json", d->partial_json);
      });
    } else if (const auto* stop = std::get_if<BlockStop>(&event)) {
      auto it = blocks_.find(stop->index);
      if (it == blocks_.end()) return;
      std::string body;
      json::Writer w(body);
      w.begin_object();
      w.kv("type", "content_block_stop");
      w.kv_uint("index", it->second.wire_index);
      w.end_object();
      append_sse(out, "content_block_stop", body);
    } else if (const auto* u = std::get_if<UsageUpdate>(&event)) {
      if (u->usage.input_tokens) {
        usage_.input_tokens = u->usage.input_tokens;
        usage_.cache_read_input_tokens = u->usage.cache_read_input_tokens;
        usage_.cache_creation_input_tokens = u->usage.cache_creation_input_tokens;
      }
      if (u->usage.output_tokens) usage_.output_tokens = u->usage.output_tokens;
    } else if (const auto* done = std::get_if<Done>(&event)) {
      std::string body;
      json::Writer w(body);
      w.begin_object();
      w.kv("type", "message_delta");
      w.key("delta");
      w.begin_object();
      w.kv("stop_reason",
           stop_reason_to_anthropic(settle_stop_reason(done->stop_reason, has_tool_calls_)));
      w.key("stop_sequence");
      if (done->stop_sequence.empty()) {
        w.null();
      } else {
        w.string(done->stop_sequence);
      }
      w.end_object();
      write_anthropic_usage(w, usage_);
      w.end_object();
      append_sse(out, "message_delta", body);
      append_sse(out, "message_stop", R"({"type":"message_stop"})");
      done_ = true;
    }
  }

  enum class Kind { Text, Thinking, Other };
  struct Block {
    uint32_t wire_index = 0;
    Kind kind = Kind::Other;
  };

  void start(std::string_view id, std::string_view model, const Usage& usage, std::string& out) {
    if (started_) return;
    started_ = true;
    usage_ = usage;
    std::string body;
    json::Writer w(body);
    w.begin_object();
    w.kv("type", "message_start");
    w.key("message");
    w.begin_object();
    w.kv("id", anthropic_message_id(std::string(id)));
    w.kv("type", "message");
    w.kv("role", "assistant");
    w.kv("model", model);
    w.key("content");
    w.begin_array();
    w.end_array();
    w.key("stop_reason");
    w.null();
    w.key("stop_sequence");
    w.null();
    write_anthropic_usage(w, usage);
    w.end_object();
    w.end_object();
    append_sse(out, "message_start", body);
    keepalive(out);
  }

  template <class F>
  void open(uint32_t index, Kind kind, std::string& out, F&& block_body) {
    if (blocks_.count(index)) return;
    const uint32_t wire = next_wire_index_++;
    blocks_.emplace(index, Block{wire, kind});
    std::string body;
    json::Writer w(body);
    w.begin_object();
    w.kv("type", "content_block_start");
    w.kv_uint("index", wire);
    w.key("content_block");
    w.begin_object();
    block_body(w);
    w.end_object();
    w.end_object();
    append_sse(out, "content_block_start", body);
  }

  void open_thinking(uint32_t index, std::string& out) {
    open(index, Kind::Thinking, out, [](json::Writer& w) {
      w.kv("type", "thinking");
      w.kv("thinking", "");
      w.kv("signature", "");
    });
  }

  template <class F>
  void delta(uint32_t index, std::string& out, F&& delta_body) {
    std::string body;
    json::Writer w(body);
    w.begin_object();
    w.kv("type", "content_block_delta");
    w.kv_uint("index", blocks_.at(index).wire_index);
    w.key("delta");
    w.begin_object();
    delta_body(w);
    w.end_object();
    w.end_object();
    append_sse(out, "content_block_delta", body);
  }

  BlockSequencer sequencer_;
  std::map<uint32_t, Block> blocks_;  // canonical index -> wire block
  uint32_t next_wire_index_ = 0;
  bool started_ = false;
  bool done_ = false;
  bool has_tool_calls_ = false;
  Usage usage_;
};

}  // namespace

// ---------------------------------------------------------------------------------------

std::unique_ptr<StreamDecoder> make_anthropic_stream_decoder() {
  return std::make_unique<AnthropicStreamDecoder>();
}

std::unique_ptr<StreamEncoder> make_anthropic_stream_encoder() {
  return std::make_unique<AnthropicStreamEncoder>();
}

}  // namespace llmrouter::detail
