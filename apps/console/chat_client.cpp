// SPDX-License-Identifier: MIT
#include "chat_client.h"

#include <utility>

#include "http_util.h"
#include "llmrouter/formats.h"
#include "text.h"

namespace llmrouter::console {

namespace {
constexpr std::size_t kMaxBody = 4u << 20;

std::vector<std::string> split_tags(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const std::size_t comma = s.find(',');
    const std::string_view t = trim(s.substr(0, comma));
    if (!t.empty()) out.emplace_back(t);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}
}  // namespace

// One chat request. Lives until the transport's on_complete returns.
class ChatTransfer final : public TransferObserver {
 public:
  ChatTransfer(ChatClient& client, uint64_t serial) : client_(client), serial_(serial) {}

  void on_headers(int status, const std::vector<std::pair<std::string, std::string>>& headers) override {
    status_ = status;
    if (status < 200 || status >= 300) return;
    streaming_ = header_value(headers, "content-type").find("text/event-stream") != std::string::npos;
    if (streaming_) decoder_ = make_stream_decoder(WireFormat::OpenAI);
    ReplyStarted s;
    s.status = status;
    s.provider = header_value(headers, "x-router-provider");
    s.model = header_value(headers, "x-router-model");
    s.tags = split_tags(header_value(headers, "x-router-request-tags"));
    emit(std::move(s));
  }

  bool on_data(std::string_view bytes) override {
    if (failure_) return true;
    if (!decoder_) {
      if (body_.size() < kMaxBody) body_.append(bytes.substr(0, kMaxBody - body_.size()));
      return true;
    }
    events_.clear();
    auto r = decoder_->feed(bytes, events_);
    apply(events_);
    if (!r && !failure_) failure_ = r.error().message;
    return true;
  }

  void on_complete(Result<void> result) override {
    if (!failure_ && !finished_) {
      if (!result) {
        failure_ = result.error().code == Errc::Cancelled ? std::string("cancelled")
                                                           : transport_error_text(result.error().message);
      } else if (status_ < 200 || status_ >= 300) {
        failure_ = http_error_text(status_, body_);
      } else if (decoder_) {
        events_.clear();
        auto r = decoder_->finish(events_);
        apply(events_);
        if (!r && !failure_ && !finished_) failure_ = r.error().message;
      } else {
        // A non-streamed reply (the router was asked to stream, but accept it anyway).
        auto resp = decode_response(WireFormat::OpenAI, body_);
        if (!resp) {
          failure_ = resp.error().message;
        } else {
          apply(events_of(*resp));
        }
      }
    }
    if (failure_) {
      emit(ReplyFailed{*failure_});
    } else if (finished_) {
      emit(ReplyDone{stop_reason_, usage_.input_tokens, usage_.output_tokens});
    } else {
      emit(ReplyFailed{"the reply ended before it was complete"});
    }
    client_.finished(serial_);
  }

 private:
  void emit(ChatUpdateBody body) {
    if (client_.sink_) client_.sink_(ChatUpdate{serial_, std::move(body)});
  }

  void apply(const std::vector<StreamEvent>& events) {
    for (const StreamEvent& e : events) {
      if (failure_ || finished_) return;
      if (const auto* t = std::get_if<TextDelta>(&e)) {
        emit(ReplyText{t->text});
      } else if (const auto* s = std::get_if<ToolCallStart>(&e)) {
        emit(ReplyToolCall{s->index, s->id, s->name});
      } else if (const auto* d = std::get_if<ToolCallDelta>(&e)) {
        emit(ReplyToolArgs{d->index, d->partial_json});
      } else if (const auto* m = std::get_if<MessageStart>(&e)) {
        merge(m->usage);
      } else if (const auto* u = std::get_if<UsageUpdate>(&e)) {
        merge(u->usage);
      } else if (const auto* done = std::get_if<Done>(&e)) {
        stop_reason_ = std::string(stop_reason_name(done->stop_reason));
        finished_ = true;
      } else if (const auto* err = std::get_if<StreamError>(&e)) {
        failure_ = err->error.message;
      }
    }
  }

  void merge(const Usage& u) {
    if (u.input_tokens) usage_.input_tokens = u.input_tokens;
    if (u.output_tokens) usage_.output_tokens = u.output_tokens;
  }

  ChatClient& client_;
  const uint64_t serial_;
  int status_ = 0;
  bool streaming_ = false;
  std::unique_ptr<StreamDecoder> decoder_;
  std::vector<StreamEvent> events_;
  std::string body_;
  std::optional<std::string> failure_;
  bool finished_ = false;
  std::string stop_reason_;
  Usage usage_;
};

ChatClient::ChatClient(Transport& transport, ChatOptions options, ChatSink sink)
    : transport_(transport), options_(std::move(options)), sink_(std::move(sink)) {}

ChatClient::~ChatClient() {
  std::unique_lock<std::mutex> lock(mu_);
  for (const auto& [serial, id] : in_flight_) transport_.cancel(id);
  cv_.wait(lock, [&] { return in_flight_.empty(); });
}

uint64_t ChatClient::send(std::string body) {
  HttpRequest req;
  req.method = "POST";
  req.url = join_url(options_.base_url, "/v1/chat/completions");
  req.headers = auth_headers(options_.api_key);
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Accept", "text/event-stream");
  req.body = std::move(body);
  req.provider = "router";
  req.connect_timeout = options_.connect_timeout;
  req.first_byte_timeout = options_.first_byte_timeout;
  req.idle_timeout = options_.idle_timeout;
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t serial = next_serial_++;
  // Started under the lock so `finished` (which takes it) cannot run before the id is known.
  in_flight_[serial] = transport_.start(std::move(req), std::make_shared<ChatTransfer>(*this, serial));
  return serial;
}

void ChatClient::cancel(uint64_t serial) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = in_flight_.find(serial); it != in_flight_.end()) transport_.cancel(it->second);
}

void ChatClient::finished(uint64_t serial) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(serial);
  cv_.notify_all();
}

}  // namespace llmrouter::console
