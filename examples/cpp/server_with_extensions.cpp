// SPDX-License-Identifier: MIT
// llmrouter-server built with a component of your own: a provider kind, "echo", that answers
// in-process with the last user message. Everything else (flags, --check, signals, the
// dashboard, metrics) is llmrouter-server's.
//
//   example_server_with_extensions examples/server/echo.toml [--port P] [--check]
#include <memory>
#include <string>
#include <utility>

#include "cli.h"
#include "llmrouter/llmrouter.h"

namespace {

using namespace llmrouter;

class EchoProvider final : public Provider {
 public:
  explicit EchoProvider(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }

  Result<void> send(const CanonicalRequest& req, const SendOptions&, EventSink& sink,
                    const CancelFlag& cancel) const override {
    if (cancel.load()) return fail(Errc::Cancelled, "cancelled");
    std::string text = "echo:";
    for (const Message& m : req.messages) {
      if (m.role != Role::User) continue;
      text = "echo:";
      for (const ContentBlock& b : m.content) {
        if (const auto* t = std::get_if<TextBlock>(&b)) text += " " + t->text;
      }
    }
    Response reply;
    reply.model = req.model;
    TextBlock block;
    block.text = std::move(text);
    reply.content.emplace_back(std::move(block));
    for (const StreamEvent& e : events_of(reply)) {
      if (!sink.on_event(e)) return fail(Errc::Cancelled, "client went away");
    }
    return {};
  }

 private:
  std::string name_;
};

}  // namespace

int main(int argc, char** argv) {
  Registries registries = Registries::with_builtins();
  // `[[providers]] kind = "echo"` tables are served by an EchoProvider; no base_url needed.
  Result<void> added =
      registries.add_provider("echo", [](const ProviderConfig& config, const ProviderContext&) {
        return Result<std::shared_ptr<const Provider>>(std::make_shared<EchoProvider>(config.name));
      });
  if (!added) return 1;
  return server::run_cli(argc, argv, std::move(registries));
}
