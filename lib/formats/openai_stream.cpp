// SPDX-License-Identifier: MIT
// OpenAI Chat Completions streams: decoding a provider's `data:` chunks into canonical
// events, encoding canonical events as chunks for the client.
#include <map>

#include "formats/codecs.h"
#include "formats/common.h"
#include "formats/framing.h"
#include "formats/openai_codec.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr std::string_view kTarget = "openai";

// ---------------------------------------------------------------------------------------
// Streams

class OpenAIStreamDecoder final : public StreamDecoder {
 public:
  Result<void> feed(std::string_view bytes, std::vector<StreamEvent>& out) override {
    events_.clear();
    if (auto r = sse_.feed(bytes, events_); !r) return r;
    return handle(out);
  }

  Result<void> finish(std::vector<StreamEvent>& out) override {
    events_.clear();
    sse_.finish(events_);
    LLMROUTER_CHECK(handle(out));
    if (ended_) return {};
    if (!finish_reason_)
      return fail(Errc::Upstream, "openai stream: stream ended before the reply was complete");
    end(out);
    return {};
  }

 private:
  Result<void> handle(std::vector<StreamEvent>& out) {
    for (const SseEvent& ev : events_) {
      if (ended_) break;
      if (ev.data == "[DONE]") {
        end(out);
        continue;
      }
      LLMROUTER_CHECK(chunk(ev.data, out));
    }
    return {};
  }

  Result<void> chunk(std::string_view data, std::vector<StreamEvent>& out) {
    auto doc = json::parse_upstream(data);
    if (!doc) return upstream_error(kTarget, doc.error());
    const Path root;
    auto obj = json::as_object(*doc, root);
    if (!obj) return upstream_error(kTarget, obj.error());
    if (auto err = json::field(*obj, "error")) {
      std::string message = "upstream error";
      if (err->is_object()) {
        if (auto m = json::field(json::object_of(*err), "message"); m && m->is_string()) {
          message = std::string(m->get_string().value_unsafe());
        }
      } else if (err->is_string()) {
        message = std::string(err->get_string().value_unsafe());
      }
      out.push_back(StreamError{Error{Errc::Upstream, std::move(message), 0, {}}});
      ended_ = true;
      return {};
    }
    if (!started_) {
      MessageStart start;
      if (auto v = json::field(*obj, "id"); v && v->is_string())
        start.id = std::string(v->get_string().value_unsafe());
      if (auto v = json::field(*obj, "model"); v && v->is_string())
        start.model = std::string(v->get_string().value_unsafe());
      if (auto v = json::field(*obj, "created"); v && v->is_int64())
        start.created = v->get_int64().value_unsafe();
      out.push_back(std::move(start));
      started_ = true;
    }
    if (auto u = json::field(*obj, "usage"); u && u->is_object()) {
      read_openai_usage(json::object_of(*u), usage_);
      has_usage_ = true;
    }
    auto choices = json::field(*obj, "choices");
    if (!choices || !choices->is_array()) return {};
    for (Element c : json::array_of(*choices)) {
      if (!c.is_object())
        return fail(Errc::Upstream, "openai stream: choices[0]: expected an object");
      const json::Object co = json::object_of(c);
      if (auto idx = json::field(co, "index");
          idx && idx->is_int64() && idx->get_int64().value_unsafe() != 0) {
        continue;  // only the first choice is used
      }
      if (auto d = json::field(co, "delta"); d && d->is_object()) {
        LLMROUTER_CHECK(delta(json::object_of(*d), out));
      } else if (auto t = json::field(co, "text"); t && t->is_string()) {
        // A legacy completion's chunk (/v1/completions: "text_completion"): its text.
        if (const std::string_view text = t->get_string().value_unsafe(); !text.empty()) {
          out.push_back(TextDelta{open_block(text_index_, out), std::string(text)});
        }
      }
      if (auto f = json::field(co, "finish_reason"); f && f->is_string()) {
        finish_reason_ = stop_reason_from_openai(f->get_string().value_unsafe());
      }
    }
    return {};
  }

  Result<void> delta(const json::Object& d, std::vector<StreamEvent>& out) {
    for (std::string_view key : {"reasoning_content", "reasoning"}) {
      if (auto r = json::field(d, key); r && r->is_string()) {
        const std::string_view text = r->get_string().value_unsafe();
        if (!text.empty()) {
          const uint32_t index = open_block(thinking_index_, out);
          out.push_back(ThinkingDelta{index, std::string(text)});
        }
        break;
      }
    }
    if (auto c = json::field(d, "content"); c && c->is_string()) {
      const std::string_view text = c->get_string().value_unsafe();
      if (!text.empty()) {
        const uint32_t index = open_block(text_index_, out);
        out.push_back(TextDelta{index, std::string(text)});
      }
    }
    if (auto calls = json::field(d, "tool_calls"); calls && calls->is_array()) {
      for (Element tc : json::array_of(*calls)) {
        if (!tc.is_object())
          return fail(Errc::Upstream, "openai stream: tool_calls: expected objects");
        const json::Object to = json::object_of(tc);
        int64_t oai_index = static_cast<int64_t>(tools_.size());
        if (auto i = json::field(to, "index"); i && i->is_int64())
          oai_index = i->get_int64().value_unsafe();
        std::string_view id, name, args;
        if (auto v = json::field(to, "id"); v && v->is_string())
          id = v->get_string().value_unsafe();
        if (auto f = json::field(to, "function"); f && f->is_object()) {
          const json::Object fo = json::object_of(*f);
          if (auto v = json::field(fo, "name"); v && v->is_string())
            name = v->get_string().value_unsafe();
          if (auto v = json::field(fo, "arguments"); v && v->is_string())
            args = v->get_string().value_unsafe();
        }
        auto it = tools_.find(oai_index);
        if (it == tools_.end()) {
          close_text_blocks(out);
          const uint32_t index = next_index_++;
          it = tools_.emplace(oai_index, index).first;
          out.push_back(ToolCallStart{index, id.empty() ? new_id("call_") : std::string(id),
                                      std::string(name)});
          open_.push_back(index);
        }
        if (!args.empty()) out.push_back(ToolCallDelta{it->second, std::string(args)});
      }
    }
    return {};
  }

  // The block for a text-like stream (text or thinking): reuse the open one, or close the
  // other kind and open a new one.
  uint32_t open_block(std::optional<uint32_t>& slot, std::vector<StreamEvent>& out) {
    if (slot) return *slot;
    close_text_blocks(out);
    slot = next_index_++;
    open_.push_back(*slot);
    return *slot;
  }

  void close_text_blocks(std::vector<StreamEvent>& out) {
    for (std::optional<uint32_t>* slot : {&thinking_index_, &text_index_}) {
      if (!*slot) continue;
      out.push_back(BlockStop{**slot});
      std::erase(open_, **slot);
      slot->reset();
    }
  }

  void end(std::vector<StreamEvent>& out) {
    if (!started_) {
      out.push_back(MessageStart{});
      started_ = true;
    }
    for (uint32_t index : open_) out.push_back(BlockStop{index});
    open_.clear();
    if (has_usage_) out.push_back(UsageUpdate{usage_});
    out.push_back(Done{
        settle_stop_reason(finish_reason_.value_or(StopReason::EndTurn), !tools_.empty()), {}});
    ended_ = true;
  }

  SseParser sse_;
  std::vector<SseEvent> events_;
  bool started_ = false;
  bool ended_ = false;
  uint32_t next_index_ = 0;
  std::optional<uint32_t> text_index_;
  std::optional<uint32_t> thinking_index_;
  std::map<int64_t, uint32_t> tools_;  // OpenAI tool_calls index -> block index
  std::vector<uint32_t> open_;
  std::optional<StopReason> finish_reason_;
  Usage usage_;
  bool has_usage_ = false;
};

class OpenAIStreamEncoder final : public StreamEncoder {
 public:
  explicit OpenAIStreamEncoder(const StreamEncoderOptions& o) : include_usage_(o.include_usage) {}

  void encode(const StreamEvent& event, std::string& out) override {
    if (done_) return;
    if (const auto* s = std::get_if<MessageStart>(&event)) {
      start(s->id, s->model, s->created, out);
      usage_ = s->usage;
      return;
    }
    if (std::holds_alternative<StreamError>(event)) {
      append_sse(out, {}, encode_openai_error(std::get<StreamError>(event).error));
      done_ = true;
      return;
    }
    start({}, {}, 0, out);
    if (const auto* t = std::get_if<TextDelta>(&event)) {
      chunk(out, [&](json::Writer& w) { w.kv("content", t->text); });
    } else if (const auto* th = std::get_if<ThinkingDelta>(&event)) {
      chunk(out, [&](json::Writer& w) { w.kv("reasoning_content", th->thinking); });
    } else if (const auto* c = std::get_if<ToolCallStart>(&event)) {
      const uint32_t oai = static_cast<uint32_t>(tool_index_.size());
      tool_index_.emplace(c->index, oai);
      chunk(out, [&](json::Writer& w) {
        w.key("tool_calls");
        w.begin_array();
        w.begin_object();
        w.kv_uint("index", oai);
        w.kv("id", c->id);
        w.kv("type", "function");
        w.key("function");
        w.begin_object();
        w.kv("name", c->name);
        w.kv("arguments", "");
        w.end_object();
        w.end_object();
        w.end_array();
      });
    } else if (const auto* d = std::get_if<ToolCallDelta>(&event)) {
      auto it = tool_index_.find(d->index);
      if (it == tool_index_.end()) return;
      chunk(out, [&](json::Writer& w) {
        w.key("tool_calls");
        w.begin_array();
        w.begin_object();
        w.kv_uint("index", it->second);
        w.key("function");
        w.begin_object();
        w.kv("arguments", d->partial_json);
        w.end_object();
        w.end_object();
        w.end_array();
      });
    } else if (const auto* u = std::get_if<UsageUpdate>(&event)) {
      merge(u->usage);
    } else if (const auto* done = std::get_if<Done>(&event)) {
      const StopReason reason = settle_stop_reason(done->stop_reason, !tool_index_.empty());
      chunk(
          out, [](json::Writer&) {}, stop_reason_to_openai(reason));
      if (include_usage_) {
        std::string body;
        json::Writer w(body);
        header(w);
        w.key("choices");
        w.begin_array();
        w.end_array();
        write_openai_usage(w, usage_);
        w.end_object();
        append_sse(out, {}, body);
      }
      append_sse(out, {}, "[DONE]");
      done_ = true;
    }
    // SignatureDelta, RedactedThinkingEvent and BlockStop have no OpenAI form.
  }

  void keepalive(std::string& out) override { out += ": keep-alive\n\n"; }

 private:
  void start(std::string_view id, std::string_view model, int64_t created, std::string& out) {
    if (started_) return;
    started_ = true;
    id_ = id.empty() ? new_id("chatcmpl-") : std::string(id);
    model_ = std::string(model);
    created_ = created ? created : unix_now();
    chunk(out, [](json::Writer& w) {
      w.kv("role", "assistant");
      w.kv("content", "");
    });
  }

  void merge(const Usage& u) {
    if (u.input_tokens) usage_.input_tokens = u.input_tokens;
    if (u.output_tokens) usage_.output_tokens = u.output_tokens;
    if (u.cache_read_input_tokens) usage_.cache_read_input_tokens = u.cache_read_input_tokens;
    if (u.cache_creation_input_tokens)
      usage_.cache_creation_input_tokens = u.cache_creation_input_tokens;
    if (u.reasoning_tokens) usage_.reasoning_tokens = u.reasoning_tokens;
  }

  void header(json::Writer& w) {
    w.begin_object();
    w.kv("id", id_);
    w.kv("object", "chat.completion.chunk");
    w.kv_int("created", created_);
    w.kv("model", model_);
  }

  template <class F>
  void chunk(std::string& out, F&& delta_body, std::string_view finish_reason = {}) {
    std::string body;
    json::Writer w(body);
    header(w);
    w.key("choices");
    w.begin_array();
    w.begin_object();
    w.kv_int("index", 0);
    w.key("delta");
    w.begin_object();
    delta_body(w);
    w.end_object();
    w.key("logprobs");
    w.null();
    w.key("finish_reason");
    if (finish_reason.empty()) {
      w.null();
    } else {
      w.string(finish_reason);
    }
    w.end_object();
    w.end_array();
    w.end_object();
    append_sse(out, {}, body);
  }

  bool include_usage_;
  bool started_ = false;
  bool done_ = false;
  std::string id_;
  std::string model_;
  int64_t created_ = 0;
  std::map<uint32_t, uint32_t> tool_index_;  // block index -> OpenAI tool_calls index
  Usage usage_;
};

}  // namespace

// ---------------------------------------------------------------------------------------

std::unique_ptr<StreamDecoder> make_openai_stream_decoder() {
  return std::make_unique<OpenAIStreamDecoder>();
}

std::unique_ptr<StreamEncoder> make_openai_stream_encoder(const StreamEncoderOptions& options) {
  return std::make_unique<OpenAIStreamEncoder>(options);
}

}  // namespace llmrouter::detail
