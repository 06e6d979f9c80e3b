// SPDX-License-Identifier: MIT
// OpenAI Responses API, client side (as Codex CLI uses it): requests, responses and the
// `response.*` event stream. The conversation comes whole in `input`, or continues one named
// by `previous_response_id` (kept by the router, or by a Responses provider: state.h). The
// provider side is in responses_{request,response,stream}.cpp.
#include <map>

#include <fmt/format.h>

#include "formats/block_sequencer.h"
#include "formats/codecs.h"
#include "formats/common.h"
#include "util/try.h"

namespace llmrouter::detail {
namespace {

using json::Element;
using json::Path;

constexpr int64_t kMaxU32 = 0xFFFFFFFFLL;

// ---------------------------------------------------------------------------------------
// Request

Result<ImageBlock> decode_input_image(const json::Object& o, const Path& path) {
  ImageBlock img;
  LLMROUTER_TRY(detail, optional_string(o, "detail", path));
  img.detail = std::move(detail);
  LLMROUTER_TRY(id, optional_string(o, "file_id", path));
  if (!id.empty()) {
    img.source = SourceKind::FileId;
    img.file_id = std::move(id);
    return img;
  }
  LLMROUTER_TRY(url, json::required_string(o, "image_url", path));
  if (auto data = parse_data_url(url)) {
    img.media_type = std::move(data->media_type);
    img.data = std::move(data->data);
  } else {
    img.source = SourceKind::Url;
    img.url = std::move(url);
  }
  return img;
}

Result<DocumentBlock> decode_input_file(const json::Object& o, const Path& path) {
  DocumentBlock doc;
  LLMROUTER_TRY(filename, optional_string(o, "filename", path));
  doc.filename = std::move(filename);
  LLMROUTER_TRY(id, optional_string(o, "file_id", path));
  LLMROUTER_TRY(url, optional_string(o, "file_url", path));
  if (!id.empty()) {
    doc.source = SourceKind::FileId;
    doc.file_id = std::move(id);
  } else if (!url.empty()) {
    doc.source = SourceKind::Url;
    doc.url = std::move(url);
  } else {
    LLMROUTER_TRY(data, json::required_string(o, "file_data", path));
    auto parsed = parse_data_url(data);
    if (!parsed) return json::error_at(Path(path, "file_data"), "expected a base64 data: URL");
    doc.media_type = std::move(parsed->media_type);
    doc.data = std::move(parsed->data);
  }
  return doc;
}

Result<std::vector<ContentBlock>> decode_content(const Element& e, const Path& path) {
  std::vector<ContentBlock> out;
  if (e.is_string()) {
    out.push_back(TextBlock{std::string(e.get_string().value_unsafe()), std::nullopt, {}});
    return out;
  }
  auto decode_part = [&](const json::Object& po, const Element&, const Path& pp) -> Result<void> {
    LLMROUTER_TRY(type, json::required_string(po, "type", pp));
    if (type == "input_text" || type == "output_text" || type == "text" || type == "summary_text") {
      LLMROUTER_TRY(text, json::required_string(po, "text", pp));
      out.push_back(TextBlock{std::move(text), std::nullopt, {}});
    } else if (type == "refusal") {
      LLMROUTER_TRY(text, json::required_string(po, "refusal", pp));
      out.push_back(TextBlock{std::move(text), std::nullopt, {}});
    } else if (type == "input_image") {
      LLMROUTER_TRY(img, decode_input_image(po, pp));
      out.push_back(std::move(img));
    } else if (type == "input_file") {
      LLMROUTER_TRY(doc, decode_input_file(po, pp));
      out.push_back(std::move(doc));
    } else {
      return json::error_at(Path(pp, "type"), fmt::format("unsupported content type '{}'", type));
    }
    return {};
  };
  LLMROUTER_CHECK(for_each_object(e, path, decode_part));
  return out;
}

// Appends `block` to the conversation as `role`, merging into the last message when it
// has that role (consecutive function_call items form one assistant turn).
void append(CanonicalRequest& req, Role role, ContentBlock block) {
  if (req.messages.empty() || req.messages.back().role != role) req.messages.push_back(Message{role, {}, {}});
  req.messages.back().content.push_back(std::move(block));
}

Result<void> decode_input(const Element& e, const Path& path, CanonicalRequest& req) {
  if (e.is_string()) {
    req.messages.push_back(Message{Role::User, {TextBlock{std::string(e.get_string().value_unsafe()), std::nullopt, {}}}, {}});
    return {};
  }
  auto decode_item = [&](const json::Object& io, const Element& item,
                         const Path& ip) -> Result<void> {
    LLMROUTER_TRY(type, optional_string(io, "type", ip));
    if (type.empty() && json::field(io, "role")) type = "message";
    if (type == "message") {
      LLMROUTER_TRY(role, json::required_string(io, "role", ip));
      LLMROUTER_TRY(content_el, json::required(io, "content", ip));
      LLMROUTER_TRY(blocks, decode_content(content_el, Path(ip, "content")));
      if (role == "system" || role == "developer") {
        for (const ContentBlock& b : blocks) {
          if (!std::holds_alternative<TextBlock>(b)) {
            return json::error_at(Path(ip, "content"), "system and developer messages hold only text");
          }
        }
        if (req.messages.empty()) {
          for (ContentBlock& b : blocks) req.system.push_back(std::move(std::get<TextBlock>(b)));
        } else {
          req.messages.push_back(Message{Role::System, std::move(blocks), {}});
        }
      } else if (role == "user" || role == "assistant") {
        const Role r = role == "user" ? Role::User : Role::Assistant;
        for (ContentBlock& b : blocks) append(req, r, std::move(b));
      } else {
        return json::error_at(Path(ip, "role"),
                              fmt::format("unknown role '{}'; expected user, assistant, system or developer", role));
      }
    } else if (type == "function_call") {
      ToolUseBlock u;
      LLMROUTER_TRY(call_id, json::required_string(io, "call_id", ip));
      LLMROUTER_TRY(name, json::required_string(io, "name", ip));
      u.id = std::move(call_id);
      u.name = std::move(name);
      LLMROUTER_TRY(arguments, optional_string(io, "arguments", ip));
      u.input = arguments_to_input(arguments);
      append(req, Role::Assistant, std::move(u));
    } else if (type == "function_call_output") {
      ToolResultBlock r;
      LLMROUTER_TRY(call_id, json::required_string(io, "call_id", ip));
      r.tool_use_id = std::move(call_id);
      LLMROUTER_TRY(output, json::required(io, "output", ip));
      LLMROUTER_TRY(blocks, decode_content(output, Path(ip, "output")));
      for (ContentBlock& b : blocks) {
        if (auto* t = std::get_if<TextBlock>(&b)) {
          r.content.emplace_back(std::move(*t));
        } else if (auto* img = std::get_if<ImageBlock>(&b)) {
          r.content.emplace_back(std::move(*img));
        } else if (auto* d = std::get_if<DocumentBlock>(&b)) {
          r.content.emplace_back(std::move(*d));
        }
      }
      append(req, Role::Tool, std::move(r));
    } else if (type == "reasoning") {
      // Reasoning summaries are shown to models of the same family only; encrypted content
      // cannot travel anywhere else.
      std::string summary;
      auto read_summary_part = [&](const json::Object& po, const Element&,
                                   const Path& pp) -> Result<void> {
        LLMROUTER_TRY(text, optional_string(po, "text", pp));
        if (!summary.empty()) summary += '\n';
        summary += text;
        return {};
      };
      if (auto s = json::field(io, "summary")) {
        LLMROUTER_CHECK(for_each_object(*s, Path(ip, "summary"), read_summary_part));
      }
      if (!summary.empty()) append(req, Role::Assistant, ThinkingBlock{std::move(summary), {}});
    } else if (type == "item_reference") {
      return json::error_at(Path(ip, "type"),
                            "item_reference is not supported: llmrouter keeps whole conversations "
                            "only (previous_response_id); send the items themselves");
    } else if (!type.empty()) {
      // Built-in tool calls and their outputs (local_shell_call, custom_tool_call, ...):
      // kept for a Responses upstream, dropped elsewhere.
      const bool output = type.size() > 7 && type.substr(type.size() - 7) == "_output";
      append(req, output ? Role::User : Role::Assistant, OpaqueBlock{WireFormat::Responses, json::raw(item)});
    } else {
      return json::error_at(Path(ip, "type"), "is required");
    }
    return {};
  };
  return for_each_object(e, path, decode_item);
}

Result<void> decode_tools(const Element& e, const Path& path, CanonicalRequest& req) {
  auto decode_tool = [&](const json::Object& to, const Element& t, const Path& tp) -> Result<void> {
    LLMROUTER_TRY(type, json::required_string(to, "type", tp));
    Tool tool;
    if (type != "function") {
      tool.kind = Tool::Kind::Opaque;
      tool.origin = WireFormat::Responses;
      LLMROUTER_TRY(name, optional_string(to, "name", tp));
      tool.name = name.empty() ? type : std::move(name);
      tool.opaque = json::raw(t);
      req.tools.push_back(std::move(tool));
      return {};
    }
    LLMROUTER_TRY(function_tool, decode_function_tool(to, tp));
    tool = std::move(function_tool);
    req.tools.push_back(std::move(tool));
    return {};
  };
  return for_each_object(e, path, decode_tool);
}

Result<ToolChoice> decode_tool_choice(const Element& e, const Path& path) {
  if (e.is_string()) {
    const std::string_view s = e.get_string().value_unsafe();
    if (auto c = tool_choice_from_string(s)) return *c;
    return json::error_at(path, fmt::format("unknown tool_choice '{}'", s));
  }
  LLMROUTER_TRY(o, json::as_object(e, path));
  LLMROUTER_TRY(type, optional_string(o, "type", path));
  if (type == "function") {
    LLMROUTER_TRY(name, json::required_string(o, "name", path));
    return ToolChoice{ToolChoice::Mode::Tool, std::move(name)};
  }
  return ToolChoice{ToolChoice::Mode::Auto, {}};  // hosted-tool choices: let the model decide
}

Result<ResponseFormat> decode_text_format(const json::Object& text, const Path& path) {
  ResponseFormat rf;
  auto f = json::field(text, "format");
  if (!f) return rf;
  const Path fp(path, "format");
  LLMROUTER_TRY(fo, json::as_object(*f, fp));
  LLMROUTER_TRY(type, json::required_string(fo, "type", fp));
  if (type == "text") {
    rf.type = ResponseFormat::Type::Text;
  } else if (type == "json_object") {
    rf.type = ResponseFormat::Type::JsonObject;
  } else if (type == "json_schema") {
    rf.type = ResponseFormat::Type::JsonSchema;
    LLMROUTER_TRY(name, optional_string(fo, "name", fp));
    LLMROUTER_TRY(description, optional_string(fo, "description", fp));
    rf.name = std::move(name);
    rf.description = std::move(description);
    LLMROUTER_TRY(schema, json::required(fo, "schema", fp));
    LLMROUTER_TRY(so, json::as_object(schema, Path(fp, "schema")));
    (void)so;
    rf.schema = json::raw(schema);
    if (auto s = json::field(fo, "strict")) {
      LLMROUTER_TRY(b, json::as_bool(*s, Path(fp, "strict")));
      rf.strict = b;
    }
  } else {
    return json::error_at(Path(fp, "type"), fmt::format("unknown text format '{}'", type));
  }
  return rf;
}

// ---------------------------------------------------------------------------------------
// Response

void write_usage(json::Writer& w, const Usage& u) {
  w.key("usage");
  w.begin_object();
  w.kv_uint("input_tokens", u.input_tokens);
  write_count_object(w, "input_tokens_details", "cached_tokens", u.cache_read_input_tokens);
  w.kv_uint("output_tokens", u.output_tokens);
  write_count_object(w, "output_tokens_details", "reasoning_tokens", u.reasoning_tokens);
  w.kv_uint("total_tokens", u.input_tokens + u.output_tokens);
  w.end_object();
}

// An output item as the stream builds it, and as the final response lists it.
struct Item {
  enum class Kind { Message, FunctionCall, Reasoning };
  Kind kind = Kind::Message;
  std::string id;
  std::string text;  // message text, reasoning summary, or call arguments
  std::string call_id;
  std::string name;
  bool done = false;
};

void write_item(json::Writer& w, const Item& item) {
  const char* status = item.done ? "completed" : "in_progress";
  w.begin_object();
  w.kv("id", item.id);
  switch (item.kind) {
    case Item::Kind::Message:
      w.kv("type", "message");
      w.kv("status", status);
      w.kv("role", "assistant");
      w.key("content");
      w.begin_array();
      if (item.done) {
        w.begin_object();
        w.kv("type", "output_text");
        w.kv("text", item.text);
        w.key("annotations");
        w.begin_array();
        w.end_array();
        w.key("logprobs");
        w.begin_array();
        w.end_array();
        w.end_object();
      }
      w.end_array();
      break;
    case Item::Kind::FunctionCall:
      w.kv("type", "function_call");
      w.kv("status", status);
      w.kv("call_id", item.call_id);
      w.kv("name", item.name);
      w.kv("arguments", item.done ? item.text : std::string());
      break;
    case Item::Kind::Reasoning:
      w.kv("type", "reasoning");
      w.key("summary");
      w.begin_array();
      if (item.done && !item.text.empty()) {
        w.begin_object();
        w.kv("type", "summary_text");
        w.kv("text", item.text);
        w.end_object();
      }
      w.end_array();
      break;
  }
  w.end_object();
}

struct ResponseHeader {
  std::string id;
  std::string model;
  int64_t created_at = 0;
};

// The whole response object. `status` is "in_progress", "completed", "incomplete" or
// "failed".
void write_response(json::Writer& w, const ResponseHeader& h, std::string_view status,
                    StopReason reason, const std::vector<Item>& items, const Usage* usage,
                    const Error* error) {
  w.begin_object();
  w.kv("id", h.id);
  w.kv("object", "response");
  w.kv_int("created_at", h.created_at);
  w.kv("status", status);
  w.key("error");
  if (error) {
    w.begin_object();
    w.kv("code", error->status() == 429 ? "rate_limit_exceeded" : "server_error");
    w.kv("message", error->message);
    w.end_object();
  } else {
    w.null();
  }
  w.key("incomplete_details");
  if (status == "incomplete") {
    w.begin_object();
    w.kv("reason", reason == StopReason::MaxTokens ? "max_output_tokens" : "content_filter");
    w.end_object();
  } else {
    w.null();
  }
  w.key("instructions");
  w.null();
  w.key("metadata");
  w.begin_object();
  w.end_object();
  w.kv("model", h.model);
  w.key("output");
  w.begin_array();
  for (const Item& item : items) write_item(w, item);
  w.end_array();
  w.kv_bool("parallel_tool_calls", true);
  w.key("temperature");
  w.null();
  w.kv("tool_choice", "auto");
  w.key("tools");
  w.begin_array();
  w.end_array();
  w.key("top_p");
  w.null();
  if (usage) {
    write_usage(w, *usage);
  } else {
    w.key("usage");
    w.null();
  }
  w.end_object();
}

std::string_view final_status(StopReason r) {
  return r == StopReason::MaxTokens || r == StopReason::ContentFilter || r == StopReason::Refusal
             ? "incomplete"
             : "completed";
}

std::vector<Item> items_of(const Response& resp) {
  std::vector<Item> items;
  for (const ContentBlock& b : resp.content) {
    if (const auto* t = std::get_if<TextBlock>(&b)) {
      if (!items.empty() && items.back().kind == Item::Kind::Message) {
        items.back().text += t->text;
      } else {
        items.push_back(Item{Item::Kind::Message, new_id("msg_"), t->text, {}, {}, true});
      }
    } else if (const auto* th = std::get_if<ThinkingBlock>(&b)) {
      items.push_back(Item{Item::Kind::Reasoning, new_id("rs_"), th->thinking, {}, {}, true});
    } else if (const auto* u = std::get_if<ToolUseBlock>(&b)) {
      items.push_back(Item{Item::Kind::FunctionCall, new_id("fc_"), input_to_arguments(u->input), u->id, u->name, true});
    }
  }
  return items;
}

// ---------------------------------------------------------------------------------------
// Stream

class ResponsesStreamEncoder final : public StreamEncoder {
 public:
  void encode(const StreamEvent& event, std::string& out) override {
    if (done_) return;
    sequencer_.push(event, [&](const StreamEvent& e) { emit(e, out); });
  }

  void keepalive(std::string& out) override { out += ": keep-alive\n\n"; }

 private:
  void emit(const StreamEvent& event, std::string& out) {
    if (done_) return;
    if (const auto* s = std::get_if<MessageStart>(&event)) {
      start(s->id, s->model, out);
      usage_ = s->usage;
      return;
    }
    start({}, {}, out);
    if (const auto* err = std::get_if<StreamError>(&event)) {
      send(out, "response.failed", [&](json::Writer& w) {
        w.key("response");
        write_response(w, header_, "failed", StopReason::Other, items_, nullptr, &err->error);
      });
      done_ = true;
    } else if (const auto* t = std::get_if<TextDelta>(&event)) {
      Item& item = open(t->index, Item::Kind::Message, {}, {}, out);
      item.text += t->text;
      send(out, "response.output_text.delta", [&](json::Writer& w) {
        w.kv("item_id", item.id);
        w.kv_uint("output_index", index_of(t->index));
        w.kv_int("content_index", 0);
        w.kv("delta", t->text);
        w.key("logprobs");
        w.begin_array();
        w.end_array();
      });
    } else if (const auto* th = std::get_if<ThinkingDelta>(&event)) {
      Item& item = open(th->index, Item::Kind::Reasoning, {}, {}, out);
      item.text += th->thinking;
      send(out, "response.reasoning_summary_text.delta", [&](json::Writer& w) {
        w.kv("item_id", item.id);
        w.kv_uint("output_index", index_of(th->index));
        w.kv_int("summary_index", 0);
        w.kv("delta", th->thinking);
      });
    } else if (const auto* c = std::get_if<ToolCallStart>(&event)) {
      has_calls_ = true;
      open(c->index, Item::Kind::FunctionCall, c->id, c->name, out);
    } else if (const auto* d = std::get_if<ToolCallDelta>(&event)) {
      auto it = slots_.find(d->index);
      if (it == slots_.end()) return;
      Item& item = items_[it->second];
      item.text += d->partial_json;
      send(out, "response.function_call_arguments.delta", [&](json::Writer& w) {
        w.kv("item_id", item.id);
        w.kv_uint("output_index", it->second);
        w.kv("delta", d->partial_json);
      });
    } else if (const auto* stop = std::get_if<BlockStop>(&event)) {
      close(stop->index, out);
    } else if (const auto* u = std::get_if<UsageUpdate>(&event)) {
      if (u->usage.input_tokens) {
        usage_.input_tokens = u->usage.input_tokens;
        usage_.cache_read_input_tokens = u->usage.cache_read_input_tokens;
      }
      if (u->usage.output_tokens) usage_.output_tokens = u->usage.output_tokens;
      if (u->usage.reasoning_tokens) usage_.reasoning_tokens = u->usage.reasoning_tokens;
    } else if (const auto* done = std::get_if<Done>(&event)) {
      const StopReason reason = settle_stop_reason(done->stop_reason, has_calls_);
      const std::string_view status = final_status(reason);
      send(out, status == "completed" ? "response.completed" : "response.incomplete", [&](json::Writer& w) {
        w.key("response");
        write_response(w, header_, status, reason, items_, &usage_, nullptr);
      });
      done_ = true;
    }
    // SignatureDelta and RedactedThinkingEvent have no Responses form.
  }

  void start(std::string_view id, std::string_view model, std::string& out) {
    if (started_) return;
    started_ = true;
    header_.id = id.rfind("resp_", 0) == 0 ? std::string(id) : new_id("resp_");
    header_.model = std::string(model);
    header_.created_at = unix_now();
    for (const char* type : {"response.created", "response.in_progress"}) {
      send(out, type, [&](json::Writer& w) {
        w.key("response");
        write_response(w, header_, "in_progress", StopReason::Other, {}, nullptr, nullptr);
      });
    }
  }

  std::size_t index_of(uint32_t block) const { return slots_.at(block); }

  Item& open(uint32_t block, Item::Kind kind, const std::string& call_id, const std::string& name, std::string& out) {
    if (auto it = slots_.find(block); it != slots_.end()) return items_[it->second];
    const std::size_t output_index = items_.size();
    slots_.emplace(block, output_index);
    const char* prefix = kind == Item::Kind::Message ? "msg_" : kind == Item::Kind::FunctionCall ? "fc_" : "rs_";
    items_.push_back(Item{kind, new_id(prefix), {}, call_id, name, false});
    const Item& item = items_.back();
    send(out, "response.output_item.added", [&](json::Writer& w) {
      w.kv_uint("output_index", output_index);
      w.key("item");
      write_item(w, item);
    });
    if (kind == Item::Kind::Message) {
      send(out, "response.content_part.added", [&](json::Writer& w) {
        w.kv("item_id", item.id);
        w.kv_uint("output_index", output_index);
        w.kv_int("content_index", 0);
        w.key("part");
        write_text_part(w, "");
      });
    } else if (kind == Item::Kind::Reasoning) {
      send(out, "response.reasoning_summary_part.added", [&](json::Writer& w) {
        w.kv("item_id", item.id);
        w.kv_uint("output_index", output_index);
        w.kv_int("summary_index", 0);
        w.key("part");
        w.begin_object();
        w.kv("type", "summary_text");
        w.kv("text", "");
        w.end_object();
      });
    }
    return items_.back();
  }

  static void write_text_part(json::Writer& w, std::string_view text) {
    w.begin_object();
    w.kv("type", "output_text");
    w.kv("text", text);
    w.key("annotations");
    w.begin_array();
    w.end_array();
    w.key("logprobs");
    w.begin_array();
    w.end_array();
    w.end_object();
  }

  void close(uint32_t block, std::string& out) {
    auto it = slots_.find(block);
    if (it == slots_.end()) return;
    const std::size_t output_index = it->second;
    Item& item = items_[output_index];
    if (item.done) return;
    item.done = true;
    switch (item.kind) {
      case Item::Kind::Message:
        send(out, "response.output_text.done", [&](json::Writer& w) {
          w.kv("item_id", item.id);
          w.kv_uint("output_index", output_index);
          w.kv_int("content_index", 0);
          w.kv("text", item.text);
          w.key("logprobs");
          w.begin_array();
          w.end_array();
        });
        send(out, "response.content_part.done", [&](json::Writer& w) {
          w.kv("item_id", item.id);
          w.kv_uint("output_index", output_index);
          w.kv_int("content_index", 0);
          w.key("part");
          write_text_part(w, item.text);
        });
        break;
      case Item::Kind::FunctionCall:
        if (item.text.empty()) item.text = "{}";
        send(out, "response.function_call_arguments.done", [&](json::Writer& w) {
          w.kv("item_id", item.id);
          w.kv_uint("output_index", output_index);
          w.kv("name", item.name);
          w.kv("arguments", item.text);
        });
        break;
      case Item::Kind::Reasoning:
        send(out, "response.reasoning_summary_text.done", [&](json::Writer& w) {
          w.kv("item_id", item.id);
          w.kv_uint("output_index", output_index);
          w.kv_int("summary_index", 0);
          w.kv("text", item.text);
        });
        send(out, "response.reasoning_summary_part.done", [&](json::Writer& w) {
          w.kv("item_id", item.id);
          w.kv_uint("output_index", output_index);
          w.kv_int("summary_index", 0);
          w.key("part");
          w.begin_object();
          w.kv("type", "summary_text");
          w.kv("text", item.text);
          w.end_object();
        });
        break;
    }
    send(out, "response.output_item.done", [&](json::Writer& w) {
      w.kv_uint("output_index", output_index);
      w.key("item");
      write_item(w, item);
    });
  }

  template <class F>
  void send(std::string& out, std::string_view type, F&& fields) {
    std::string body;
    json::Writer w(body);
    w.begin_object();
    w.kv("type", type);
    w.kv_uint("sequence_number", sequence_++);
    fields(w);
    w.end_object();
    append_sse(out, type, body);
  }

  BlockSequencer sequencer_;
  ResponseHeader header_;
  std::vector<Item> items_;
  std::map<uint32_t, std::size_t> slots_;  // canonical block -> output index
  uint64_t sequence_ = 0;
  bool started_ = false;
  bool done_ = false;
  bool has_calls_ = false;
  Usage usage_;
};

}  // namespace

// ---------------------------------------------------------------------------------------

Result<CanonicalRequest> decode_responses_request(std::string_view body) {
  bool has_input = false;
  std::string instructions;
  auto member = [&](std::string_view key, const Element& value, const Path& p,
                    CanonicalRequest& req) -> Result<void> {
    if (key == "input") {
      LLMROUTER_CHECK(decode_input(value, p, req));
      has_input = true;
    } else if (key == "instructions") {
      LLMROUTER_TRY(s, json::as_string(value, p));
      instructions = std::string(s);
    } else if (key == "previous_response_id") {
      if (!value.is_null()) {
        LLMROUTER_TRY(s, json::as_string(value, p));
        req.previous_response_id = std::string(s);
      }
    } else if (key == "store") {
      if (!value.is_null()) {
        LLMROUTER_TRY(v, json::as_bool(value, p));
        req.store = v;
      }
    } else if (key == "conversation") {
      return json::error_at(
          p,
          "is not supported: continue a conversation with previous_response_id, or "
          "send the whole conversation in input");
    } else if (key == "tools") {
      LLMROUTER_CHECK(decode_tools(value, p, req));
    } else if (key == "tool_choice") {
      LLMROUTER_TRY(v, decode_tool_choice(value, p));
      req.tool_choice = v;
    } else if (key == "parallel_tool_calls") {
      LLMROUTER_TRY(v, json::as_bool(value, p));
      req.parallel_tool_calls = v;
    } else if (key == "max_output_tokens") {
      LLMROUTER_TRY(v, json::as_int(value, p, 1, kMaxU32));
      req.max_tokens = static_cast<uint32_t>(v);
    } else if (key == "reasoning") {
      LLMROUTER_TRY(ro, json::as_object(value, p));
      LLMROUTER_TRY(effort, optional_string(ro, "effort", p));
      req.reasoning_effort = std::move(effort);
    } else if (key == "text") {
      LLMROUTER_TRY(to, json::as_object(value, p));
      LLMROUTER_TRY(rf, decode_text_format(to, p));
      if (rf.type != ResponseFormat::Type::Text) req.response_format = std::move(rf);
    } else if (key == "prompt_cache_key") {
      LLMROUTER_TRY(s, json::as_string(value, p));
      req.prompt_cache_key = std::string(s);
    } else if (key == "user" || key == "safety_identifier") {
      LLMROUTER_TRY(s, json::as_string(value, p));
      if (req.user.empty()) req.user = std::string(s);
    } else if (key == "metadata") {
      LLMROUTER_TRY(mo, json::as_object(value, p));
      (void)mo;
      req.metadata = json::raw(value);
    } else if (key == "stream") {
      LLMROUTER_TRY(v, json::as_bool(value, p));
      req.stream = v;
      req.stream_include_usage = v;
    }
    return {};
  };
  LLMROUTER_TRY(req, decode_client_request(body, member));
  if (!has_input) return missing_member("input");
  if (!instructions.empty()) req.system.insert(req.system.begin(), TextBlock{std::move(instructions), std::nullopt, {}});
  LLMROUTER_CHECK(validate(req));
  return req;
}

std::string encode_responses_response(const Response& resp) {
  bool has_calls = false;
  for (const ContentBlock& b : resp.content) has_calls = has_calls || std::holds_alternative<ToolUseBlock>(b);
  const StopReason reason = settle_stop_reason(resp.stop_reason, has_calls);
  ResponseHeader h{resp.id.rfind("resp_", 0) == 0 ? resp.id : new_id("resp_"), resp.model,
                   resp.created ? resp.created : unix_now()};
  std::string out;
  json::Writer w(out);
  write_response(w, h, final_status(reason), reason, items_of(resp), &resp.usage, nullptr);
  return out;
}

std::string encode_responses_error(const Error& error) { return encode_openai_error(error); }

std::unique_ptr<StreamEncoder> make_responses_stream_encoder() {
  return std::make_unique<ResponsesStreamEncoder>();
}

}  // namespace llmrouter::detail
