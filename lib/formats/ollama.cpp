// SPDX-License-Identifier: MIT
// Ollama's native chat API (/api/chat), provider side: requests, responses and NDJSON
// streams.
#include <map>

#include <fmt/format.h>

#include "formats/codecs.h"
#include "formats/common.h"
#include "formats/framing.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr std::string_view kTarget = "ollama";

// Images go as base64 only: the router never fetches URLs.
void write_images(json::Writer& w, const std::vector<const ImageBlock*>& images) {
  if (images.empty()) return;
  w.key("images");
  w.begin_array();
  for (const ImageBlock* img : images) w.string(img->data);
  w.end_array();
}

void collect_image(const ImageBlock& img, std::vector<const ImageBlock*>& images) {
  if (img.source == SourceKind::Base64) {
    images.push_back(&img);
  } else {
    log_dropped(kTarget, "image by URL or file id (Ollama takes base64 only)");
  }
}

void write_message(json::Writer& w, const Message& m, const std::map<std::string_view, std::string_view>& tool_names) {
  if (m.role == Role::Tool) {
    for (const ContentBlock& b : m.content) {
      const auto* r = std::get_if<ToolResultBlock>(&b);
      if (!r) continue;
      std::vector<const ImageBlock*> images;
      for (const ToolResultPart& p : r->content) {
        if (const auto* img = std::get_if<ImageBlock>(&p)) collect_image(*img, images);
      }
      std::string text = tool_result_text(*r);
      if (r->is_error && text.rfind("Error", 0) != 0) text = "Error: " + text;
      w.begin_object();
      w.kv("role", "tool");
      w.kv("content", text);
      if (auto it = tool_names.find(r->tool_use_id); it != tool_names.end()) w.kv("tool_name", it->second);
      w.kv("tool_call_id", r->tool_use_id);
      write_images(w, images);
      w.end_object();
    }
    return;
  }
  std::string text;
  std::string thinking;
  std::vector<const ImageBlock*> images;
  std::vector<const ToolUseBlock*> calls;
  for (const ContentBlock& b : m.content) {
    if (const auto* t = std::get_if<TextBlock>(&b)) {
      if (!text.empty() && !t->text.empty()) text += '\n';
      text += t->text;
    } else if (const auto* img = std::get_if<ImageBlock>(&b)) {
      collect_image(*img, images);
    } else if (const auto* u = std::get_if<ToolUseBlock>(&b)) {
      calls.push_back(u);
    } else if (const auto* th = std::get_if<ThinkingBlock>(&b)) {
      thinking += th->thinking;
    } else if (const auto* d = std::get_if<DocumentBlock>(&b); d && d->source == SourceKind::Text) {
      if (!text.empty()) text += '\n';
      text += d->data;
    } else {
      log_dropped(kTarget, "content block");
    }
  }
  w.begin_object();
  w.kv("role", role_name(m.role));
  w.kv("content", text);
  if (!thinking.empty()) w.kv("thinking", thinking);
  write_images(w, images);
  if (!calls.empty()) {
    write_tool_calls(w, calls, ArgumentsAs::Object);
  }
  w.end_object();
}

// One response object (a whole reply, or one NDJSON line of a stream).
struct Chunk {
  std::string model;
  std::string content;
  std::string thinking;
  std::vector<ToolUseBlock> calls;
  bool done = false;
  std::string done_reason;
  uint64_t prompt_eval_count = 0;
  uint64_t eval_count = 0;
  std::string error;
};

Result<Chunk> parse_chunk(std::string_view text) {
  auto doc = json::parse_upstream(text);
  if (!doc) return upstream_error(kTarget, doc.error());
  auto obj = json::as_object(*doc, Path());
  if (!obj) return upstream_error(kTarget, obj.error());
  Chunk c;
  c.error = json::string_or_empty(*obj, "error");
  if (!c.error.empty()) return c;
  c.model = json::string_or_empty(*obj, "model");
  if (auto m = json::field(*obj, "message"); m && m->is_object()) {
    const json::Object mo = json::object_of(*m);
    c.content = json::string_or_empty(mo, "content");
    c.thinking = json::string_or_empty(mo, "thinking");
    if (auto calls = json::field(mo, "tool_calls"); calls && calls->is_array()) {
      std::size_t i = 0;
      const Path root;
      const Path message_path(root, "message");
      const Path calls_path(message_path, "tool_calls");
      for (Element tc : json::array_of(*calls)) {
        const Path tp(calls_path, i++);
        auto to = json::as_object(tc, tp);
        if (!to) return upstream_error(kTarget, to.error());
        auto fn_el = json::required(*to, "function", tp);
        if (!fn_el) return upstream_error(kTarget, fn_el.error());
        auto fn = json::as_object(*fn_el, Path(tp, "function"));
        if (!fn) return upstream_error(kTarget, fn.error());
        ToolUseBlock u;
        u.name = json::string_or_empty(*fn, "name");
        // Ollama has no call ids (newer versions may send one); ours are unique per call.
        u.id = json::string_or_empty(*to, "id");
        if (u.id.empty()) u.id = new_id("call_");
        if (auto a = json::field(*fn, "arguments")) {
          u.input = a->is_string() ? arguments_to_input(a->get_string().value_unsafe()) : json::raw(*a);
        } else {
          u.input.text = "{}";
        }
        c.calls.push_back(std::move(u));
      }
    }
  }
  if (auto d = json::field(*obj, "done"); d && d->is_bool()) c.done = d->get_bool().value_unsafe();
  c.done_reason = json::string_or_empty(*obj, "done_reason");
  c.prompt_eval_count = json::count(*obj, "prompt_eval_count").value_or(0);
  c.eval_count = json::count(*obj, "eval_count").value_or(0);
  return c;
}

class OllamaStreamDecoder final : public StreamDecoder {
 public:
  Result<void> feed(std::string_view bytes, std::vector<StreamEvent>& out) override {
    lines_.clear();
    LLMROUTER_CHECK(ndjson_.feed(bytes, lines_));
    return handle(out);
  }

  Result<void> finish(std::vector<StreamEvent>& out) override {
    lines_.clear();
    ndjson_.finish(lines_);
    LLMROUTER_CHECK(handle(out));
    if (!ended_) return fail(Errc::Upstream, "ollama stream: stream ended before the reply was complete");
    return {};
  }

 private:
  Result<void> handle(std::vector<StreamEvent>& out) {
    for (const std::string& line : lines_) {
      if (ended_) break;
      LLMROUTER_TRY(c, parse_chunk(line));
      if (!c.error.empty()) {
        out.push_back(StreamError{Error{Errc::Upstream, c.error, 0, {}}});
        ended_ = true;
        break;
      }
      if (!started_) {
        out.push_back(MessageStart{{}, c.model, 0, {}});
        started_ = true;
      }
      if (!c.thinking.empty()) {
        if (!thinking_index_) {
          close(text_index_, out);
          thinking_index_ = next_index_++;
        }
        out.push_back(ThinkingDelta{*thinking_index_, std::move(c.thinking)});
      }
      if (!c.content.empty()) {
        if (!text_index_) {
          close(thinking_index_, out);
          text_index_ = next_index_++;
        }
        out.push_back(TextDelta{*text_index_, std::move(c.content)});
      }
      for (ToolUseBlock& u : c.calls) {  // Ollama sends each call whole
        close(thinking_index_, out);
        close(text_index_, out);
        const uint32_t index = next_index_++;
        out.push_back(ToolCallStart{index, u.id, u.name});
        out.push_back(ToolCallDelta{index, input_to_arguments(u.input)});
        out.push_back(BlockStop{index});
        has_calls_ = true;
      }
      if (c.done) {
        close(thinking_index_, out);
        close(text_index_, out);
        Usage usage;
        usage.input_tokens = c.prompt_eval_count;
        usage.output_tokens = c.eval_count;
        out.push_back(UsageUpdate{usage});
        out.push_back(Done{settle_stop_reason(stop_reason_from_ollama(c.done_reason), has_calls_), {}});
        ended_ = true;
      }
    }
    return {};
  }

  void close(std::optional<uint32_t>& index, std::vector<StreamEvent>& out) {
    if (!index) return;
    out.push_back(BlockStop{*index});
    index.reset();
  }

  NdjsonParser ndjson_;
  std::vector<std::string> lines_;
  bool started_ = false;
  bool ended_ = false;
  bool has_calls_ = false;
  uint32_t next_index_ = 0;
  std::optional<uint32_t> text_index_;
  std::optional<uint32_t> thinking_index_;
};

}  // namespace

Result<std::string> encode_ollama_request(const CanonicalRequest& req) {
  std::string out;
  out.reserve(1024);
  json::Writer w(out);
  w.begin_object();
  w.kv("model", req.model);
  // Tool results name their tool in Ollama; find each call's name by id.
  std::map<std::string_view, std::string_view> tool_names;
  for (const Message& m : req.messages) {
    for (const ContentBlock& b : m.content) {
      if (const auto* u = std::get_if<ToolUseBlock>(&b)) tool_names[u->id] = u->name;
    }
  }
  w.key("messages");
  w.begin_array();
  if (!req.system.empty()) {
    w.begin_object();
    w.kv("role", "system");
    w.kv("content", system_text(req));
    w.end_object();
  }
  for (const Message& m : req.messages) write_message(w, m, tool_names);
  w.end_array();
  bool any_tools = false;
  for (const Tool& t : req.tools) {
    if (t.kind == Tool::Kind::Opaque) {
      (void)keep_opaque_tool(t, WireFormat::Ollama);  // never the same origin: logs the drop
      continue;
    }
    if (!any_tools) {
      w.key("tools");
      w.begin_array();
      any_tools = true;
    }
    w.begin_object();
    w.kv("type", "function");
    w.key("function");
    w.begin_object();
    w.kv("name", t.name);
    if (!t.description.empty()) w.kv("description", t.description);
    w.kv_raw("parameters", t.input_schema);
    w.end_object();
    w.end_object();
  }
  if (any_tools) w.end_array();
  if (req.tool_choice && req.tool_choice->mode != ToolChoice::Mode::Auto) log_dropped(kTarget, "tool_choice");
  if (req.response_format) {
    if (req.response_format->type == ResponseFormat::Type::JsonSchema && !req.response_format->schema.empty()) {
      w.kv_raw("format", req.response_format->schema);
    } else if (req.response_format->type != ResponseFormat::Type::Text) {
      w.kv("format", "json");
    }
  }
  const bool options = req.temperature || req.top_p || req.top_k || req.max_tokens || !req.stop.empty() ||
                       req.seed || req.frequency_penalty || req.presence_penalty;
  if (options) {
    w.key("options");
    w.begin_object();
    if (req.temperature) w.kv_number("temperature", *req.temperature);
    if (req.top_p) w.kv_number("top_p", *req.top_p);
    if (req.top_k) w.kv_uint("top_k", *req.top_k);
    if (req.max_tokens) w.kv_uint("num_predict", *req.max_tokens);
    if (req.seed) w.kv_int("seed", *req.seed);
    if (req.frequency_penalty) w.kv_number("frequency_penalty", *req.frequency_penalty);
    if (req.presence_penalty) w.kv_number("presence_penalty", *req.presence_penalty);
    if (!req.stop.empty()) {
      w.key("stop");
      w.begin_array();
      for (const std::string& s : req.stop) w.string(s);
      w.end_array();
    }
    w.end_object();
  }
  if (!req.user.empty()) log_dropped(kTarget, "user");
  if (req.thinking || !req.reasoning_effort.empty()) {
    log_dropped(kTarget, "thinking / reasoning effort (reasoning controls are not translated across model families)");
  }
  w.kv_bool("stream", req.stream);
  w.end_object();
  return out;
}

Result<Response> decode_ollama_response(std::string_view body) {
  LLMROUTER_TRY(c, parse_chunk(body));
  if (!c.error.empty()) return fail(Errc::Upstream, fmt::format("ollama: {}", c.error));
  Response resp;
  resp.model = std::move(c.model);
  if (!c.thinking.empty()) resp.content.push_back(ThinkingBlock{std::move(c.thinking), {}});
  if (!c.content.empty()) resp.content.push_back(TextBlock{std::move(c.content), std::nullopt, {}});
  const bool has_calls = !c.calls.empty();
  for (ToolUseBlock& u : c.calls) resp.content.push_back(std::move(u));
  resp.stop_reason = settle_stop_reason(stop_reason_from_ollama(c.done_reason), has_calls);
  resp.usage.input_tokens = c.prompt_eval_count;
  resp.usage.output_tokens = c.eval_count;
  return resp;
}

std::unique_ptr<StreamDecoder> make_ollama_stream_decoder() {
  return std::make_unique<OllamaStreamDecoder>();
}

}  // namespace llmrouter::detail
