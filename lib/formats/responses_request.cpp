// SPDX-License-Identifier: MIT
// OpenAI Responses API, provider side: encoding a canonical request (from any client
// format) as a `POST /responses` body. The conversation goes whole in `input`; `store` is
// left to the provider's default.
#include "formats/codecs.h"
#include "formats/common.h"

namespace llmrouter::detail {
namespace {

constexpr std::string_view kTarget = "responses";

// ---- Content parts

void write_input_text(json::Writer& w, std::string_view type, std::string_view text) {
  w.begin_object();
  w.kv("type", type);
  w.kv("text", text);
  w.end_object();
}

void write_input_image(json::Writer& w, const ImageBlock& img) {
  w.begin_object();
  w.kv("type", "input_image");
  switch (img.source) {
    case SourceKind::FileId:
      w.kv("file_id", img.file_id);
      break;
    case SourceKind::Url:
      w.kv("image_url", img.url);
      break;
    case SourceKind::Base64:
    case SourceKind::Text:
      w.kv("image_url", make_data_url(img.media_type, img.data));
      break;
  }
  // `detail` is required by the published schema; "auto" is the provider's default.
  w.kv("detail", img.detail.empty() ? std::string_view("auto") : std::string_view(img.detail));
  w.end_object();
}

// A document: a file part, or text for a plain-text document.
void write_input_file(json::Writer& w, const DocumentBlock& d) {
  if (d.source == SourceKind::Text) {
    write_input_text(w, "input_text", d.data);
    return;
  }
  w.begin_object();
  w.kv("type", "input_file");
  switch (d.source) {
    case SourceKind::FileId:
      w.kv("file_id", d.file_id);
      break;
    case SourceKind::Url:
      w.kv("file_url", d.url);
      break;
    case SourceKind::Base64:
    case SourceKind::Text:
      w.kv("file_data",
           make_data_url(d.media_type.empty() ? "application/pdf" : d.media_type, d.data));
      break;
  }
  if (!d.filename.empty()) {
    w.kv("filename", d.filename);
  } else if (!d.title.empty()) {
    w.kv("filename", d.title);
  } else if (d.source == SourceKind::Base64) {
    w.kv("filename", "document.pdf");  // file_data requires a name
  }
  w.end_object();
}

// ---- Input items

// Collects consecutive text and media blocks of one role into a single message item; any
// other item (a call, a call's output, reasoning, a built-in tool item) closes it.
class MessageItem {
 public:
  MessageItem(json::Writer& w, std::string_view role) : w_(w), role_(role) {}

  json::Writer& open() {
    if (!open_) {
      w_.begin_object();
      w_.kv("type", "message");
      w_.kv("role", role_);
      w_.key("content");
      w_.begin_array();
      open_ = true;
    }
    return w_;
  }
  void close() {
    if (!open_) return;
    w_.end_array();
    w_.end_object();
    open_ = false;
  }

 private:
  json::Writer& w_;
  std::string_view role_;
  bool open_ = false;
};

void write_function_call(json::Writer& w, const ToolUseBlock& u) {
  w.begin_object();
  w.kv("type", "function_call");
  w.kv("call_id", u.id);
  w.kv("name", u.name);
  w.kv("arguments", input_to_arguments(u.input));
  w.end_object();
}

void write_function_call_output(json::Writer& w, const ToolResultBlock& r) {
  w.begin_object();
  w.kv("type", "function_call_output");
  w.kv("call_id", r.tool_use_id);
  w.key("output");
  bool media = false;
  for (const ToolResultPart& p : r.content) media = media || !std::holds_alternative<TextBlock>(p);
  if (!media) {
    std::string text = tool_result_text(r);
    if (r.is_error && text.rfind("Error", 0) != 0) text = "Error: " + text;
    w.string(text);
  } else {
    w.begin_array();
    if (r.is_error) write_input_text(w, "input_text", "Error:");
    for (const ToolResultPart& p : r.content) {
      if (const auto* t = std::get_if<TextBlock>(&p)) {
        write_input_text(w, "input_text", t->text);
      } else if (const auto* img = std::get_if<ImageBlock>(&p)) {
        write_input_image(w, *img);
      } else if (const auto* d = std::get_if<DocumentBlock>(&p)) {
        write_input_file(w, *d);
      }
    }
    w.end_array();
  }
  w.end_object();
}

void write_message(json::Writer& w, const Message& m) {
  switch (m.role) {
    case Role::System:
    case Role::User: {
      MessageItem item(w, m.role == Role::System ? "developer" : "user");
      for (const ContentBlock& b : m.content) {
        if (const auto* t = std::get_if<TextBlock>(&b)) {
          write_input_text(item.open(), "input_text", t->text);
        } else if (const auto* img = std::get_if<ImageBlock>(&b)) {
          write_input_image(item.open(), *img);
        } else if (const auto* d = std::get_if<DocumentBlock>(&b)) {
          write_input_file(item.open(), *d);
        } else if (const auto* o = std::get_if<OpaqueBlock>(&b);
                   o && o->origin == WireFormat::Responses) {
          item.close();
          w.raw(o->json);  // a built-in tool's output item, as the client sent it
        } else {
          log_dropped(kTarget, "user content block");
        }
      }
      item.close();
      break;
    }
    case Role::Assistant: {
      MessageItem item(w, "assistant");
      for (const ContentBlock& b : m.content) {
        if (const auto* t = std::get_if<TextBlock>(&b)) {
          write_input_text(item.open(), "output_text", t->text);
          continue;
        }
        if (const auto* u = std::get_if<ToolUseBlock>(&b)) {
          item.close();
          write_function_call(w, *u);
        } else if (std::holds_alternative<ThinkingBlock>(b)) {
          // A reasoning input item needs the id (and encrypted content) of the reasoning it
          // replays, which only pass-through keeps; signed thinking belongs to Anthropic
          // models. Neither can be sent on.
          log_dropped(kTarget, "assistant reasoning (a reasoning item needs its original id)");
        } else if (const auto* o = std::get_if<OpaqueBlock>(&b);
                   o && o->origin == WireFormat::Responses) {
          item.close();
          w.raw(o->json);  // a built-in tool call item, as the client sent it
        } else {
          log_dropped(kTarget, "assistant content block");
        }
      }
      item.close();
      break;
    }
    case Role::Tool:
      for (const ContentBlock& b : m.content) {
        if (const auto* r = std::get_if<ToolResultBlock>(&b)) write_function_call_output(w, *r);
      }
      break;
  }
}

void write_text_format(json::Writer& w, const ResponseFormat& rf) {
  w.key("text");
  w.begin_object();
  w.key("format");
  w.begin_object();
  switch (rf.type) {
    case ResponseFormat::Type::Text:
      w.kv("type", "text");
      break;
    case ResponseFormat::Type::JsonObject:
      w.kv("type", "json_object");
      break;
    case ResponseFormat::Type::JsonSchema:
      w.kv("type", "json_schema");
      w.kv("name", rf.name.empty() ? "response" : rf.name);
      if (!rf.description.empty()) w.kv("description", rf.description);
      w.kv_raw("schema", rf.schema.empty() ? RawJson{R"({"type":"object"})"} : rf.schema);
      if (rf.strict) w.kv_bool("strict", *rf.strict);
      break;
  }
  w.end_object();
  w.end_object();
}

}  // namespace

// ---------------------------------------------------------------------------------------

Result<std::string> encode_responses_request(const CanonicalRequest& req) {
  std::string out;
  out.reserve(1024);
  json::Writer w(out);
  w.begin_object();
  w.kv("model", req.model);
  // A conversation the router does not hold is the provider's: its id goes on (one the
  // router held was expanded into the messages and cleared).
  if (!req.previous_response_id.empty()) w.kv("previous_response_id", req.previous_response_id);
  if (req.store) w.kv_bool("store", *req.store);
  if (!req.system.empty()) w.kv("instructions", system_text(req));
  w.key("input");
  w.begin_array();
  for (const Message& m : req.messages) write_message(w, m);
  w.end_array();
  bool any_tools = false;
  for (const Tool& t : req.tools)
    any_tools = any_tools || t.kind == Tool::Kind::Function || t.origin == WireFormat::Responses;
  if (any_tools) {
    w.key("tools");
    w.begin_array();
    for (const Tool& t : req.tools) {
      if (t.kind == Tool::Kind::Opaque) {
        if (keep_opaque_tool(t, WireFormat::Responses)) w.raw(t.opaque);
        continue;
      }
      w.begin_object();
      w.kv("type", "function");
      w.kv("name", t.name);
      if (!t.description.empty()) w.kv("description", t.description);
      w.kv_raw("parameters", t.input_schema);
      // Responses functions are strict unless told otherwise; Chat and Messages tools are not.
      w.kv_bool("strict", t.strict.value_or(false));
      w.end_object();
    }
    w.end_array();
    if (req.tool_choice) write_tool_choice(w, *req.tool_choice, ToolNameAs::Flat);
    if (req.parallel_tool_calls) w.kv_bool("parallel_tool_calls", *req.parallel_tool_calls);
  }
  if (req.max_tokens) w.kv_uint("max_output_tokens", *req.max_tokens);
  if (req.temperature) w.kv_number("temperature", *req.temperature);
  if (req.top_p) w.kv_number("top_p", *req.top_p);
  if (req.top_k) log_dropped(kTarget, "top_k");
  if (req.frequency_penalty) log_dropped(kTarget, "frequency_penalty");
  if (req.presence_penalty) log_dropped(kTarget, "presence_penalty");
  if (!req.stop.empty()) log_dropped(kTarget, "stop");
  if (req.seed) log_dropped(kTarget, "seed");
  if (!req.reasoning_effort.empty()) {
    w.key("reasoning");
    w.begin_object();
    w.kv("effort", req.reasoning_effort);
    w.end_object();
  } else if (req.thinking) {
    log_dropped(kTarget, "thinking (reasoning controls are not translated across model families)");
  }
  if (req.response_format) write_text_format(w, *req.response_format);
  if (!req.metadata.empty()) w.kv_raw("metadata", req.metadata);
  if (!req.user.empty()) w.kv("user", req.user);
  if (!req.prompt_cache_key.empty()) w.kv("prompt_cache_key", req.prompt_cache_key);
  w.kv_bool("stream", req.stream);
  w.end_object();
  return out;
}

}  // namespace llmrouter::detail
