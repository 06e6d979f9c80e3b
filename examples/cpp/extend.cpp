// SPDX-License-Identifier: MIT
// Extending llmrouter from C++ with the three kinds of component embed.cpp does not show:
// a rule type of your own (`[[routers]] type = "aliases"`), a response classifier, and a
// provider that answers in-process instead of over HTTP. No network: run it and read the
// output. docs/routers.md, docs/classifiers.md and docs/providers.md walk through it.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "llmrouter/llmrouter.h"

namespace {

using namespace llmrouter;

// --- A rule type -------------------------------------------------------------------------
// `[[routers]] type = "aliases"` with `aliases = { fast = "local/qwen3", ... }`: a client
// asks for a short name and gets the provider and model it stands for.
class AliasRule final : public Rule {
 public:
  explicit AliasRule(std::map<std::string, RouteCandidate, std::less<>> aliases) : aliases_(std::move(aliases)) {}

  void candidates(const RouteQuery& query, const RouteScope&,
                  std::vector<RouteCandidate>& out) const override {
    // No candidate: the rule does not match and the next rule is tried. The router drops
    // candidates whose provider is unavailable or lacks a capability the request needs.
    if (auto it = aliases_.find(query.model); it != aliases_.end()) out.push_back(it->second);
  }
  // /v1/models lists every alias target.
  void known_models(const ModelCatalog*, std::vector<RouteCandidate>& out) const override {
    for (const auto& [alias, target] : aliases_) out.push_back(target);
  }

 private:
  std::map<std::string, RouteCandidate, std::less<>> aliases_;
};

// Built once from the table; SettingsReader reports every problem with the file, line,
// column and key, as the built-in rule types do.
Result<std::unique_ptr<Rule>> make_alias_rule(const RuleConfig& rule, const Config& config) {
  SettingsReader r(config, rule.settings, rule.path, rule.loc);
  std::map<std::string, RouteCandidate, std::less<>> aliases;
  const Value* table = r.value("aliases");
  if (!table || !table->is_object()) {
    r.error(table ? table->loc : rule.loc, r.key_path("aliases"),
            "expected a table of alias = \"provider/model\"");
  } else {
    for (const auto& [alias, target] : table->as_object()) {
      const std::string path = r.key_path("aliases") + "." + alias;
      const std::size_t slash =
          target.is_string() ? target.as_string().find('/') : std::string::npos;
      if (slash == std::string::npos) {
        r.error(target.loc, path, "expected \"provider/model\"");
        continue;
      }
      const std::string& s = target.as_string();
      if (r.check_provider(s.substr(0, slash), target.loc, path)) {
        aliases.emplace(alias, RouteCandidate{s.substr(0, slash), s.substr(slash + 1)});
      }
    }
  }
  if (auto done = r.finish({"aliases"}, "an 'aliases' rule"); !done) return fail(done.error());
  return std::unique_ptr<Rule>(std::make_unique<AliasRule>(std::move(aliases)));
}

// --- A response classifier ---------------------------------------------------------------
// Tags replies that contain a fenced code block "code-reply" (dashboards and logs show it).
class CodeReplyClassifier final : public ResponseClassifier {
 public:
  void classify(const CanonicalRequest&, const Response& resp, std::vector<std::string>& tags) const override {
    if (text_of(resp).find("```") != std::string::npos) tags.emplace_back("code-reply");
  }
};

// --- A provider --------------------------------------------------------------------------
// Answers every request itself: it echoes the last user message. A real in-process provider
// would call a local inference library here. It delivers the reply as canonical events; the
// pipeline assembles them and the host encodes them in the client's wire format.
class EchoProvider final : public Provider {
 public:
  explicit EchoProvider(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }

  Result<void> send(const CanonicalRequest& req, const SendOptions&, EventSink& sink,
                    const CancelFlag& cancel) const override {
    if (cancel.load()) return fail(Errc::Cancelled, "cancelled");
    std::string last;
    for (const Message& m : req.messages) {
      if (m.role == Role::User) last = text_of(m);
    }
    Response reply;
    reply.id = "echo-1";
    reply.model = req.model;
    reply.content.emplace_back(TextBlock{"```\n" + last + "\n```", std::nullopt, {}});
    reply.usage.input_tokens = last.size() / 4 + 1;
    reply.usage.output_tokens = reply.usage.input_tokens;
    // events_of turns a whole reply into the events a stream of it would carry. Returning
    // false from on_event means the client went away: stop and report it.
    for (const StreamEvent& e : events_of(reply)) {
      if (!sink.on_event(e)) return fail(Errc::Cancelled, "client went away");
    }
    return {};
  }

 private:
  std::string name_;
};

// The echo provider still has a [[providers]] entry: rules, capabilities, cost and the
// /v1/models listing read it. Its format and base_url are not used by EchoProvider.
constexpr std::string_view kConfig = R"(
[[providers]]
name = "echo"
format = "openai"
base_url = "http://in-process.invalid"

[[routers]]
type = "aliases"
aliases = { fast = "echo/echo-small", smart = "echo/echo-large" }

[[routers]]
type = "fallback"
providers = ["echo"]

[response_classifiers.code-reply]
enabled = true
)";

class Ignore final : public RequestObserver {
 public:
  bool on_event(const StreamEvent&) override { return true; }
};

}  // namespace

int main() {
  Registries registries = Registries::with_builtins();
  Result<void> added = registries.add_rule("aliases", make_alias_rule, {"aliases"});
  if (added) {
    added = registries.add_response_classifier(
        "code-reply", [](const ComponentConfig&, const Config&) -> Result<std::unique_ptr<ResponseClassifier>> {
          return std::make_unique<CodeReplyClassifier>();
        });
  }
  if (!added) {
    std::fprintf(stderr, "%s\n", added.error().message.c_str());
    return 1;
  }

  auto config = load_config_string(kConfig, "extend.toml");
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  // Building the pipeline builds each rule with its type's factory: an unknown type or a
  // bad key is reported here, with its file, line and column.
  auto pipeline = Pipeline::build(*config, registries);
  if (!pipeline) {
    std::fprintf(stderr, "%s\n", pipeline.error().message.c_str());
    return 1;
  }

  const EchoProvider echo("echo");
  const ProviderLookup lookup = [&echo](std::string_view name) -> const Provider* {
    return name == echo.name() ? &echo : nullptr;
  };

  for (const char* model : {"fast", "smart", "gpt-4.1"}) {
    const std::string body =
        std::string(R"({"model":")") + model + R"json(","messages":[{"role":"user","content":"print(42)"}]})json";
    Ignore ignore;
    const CancelFlag cancel{false};
    Outcome o = (*pipeline)->handle(WireFormat::OpenAI, body, {}, lookup, ignore, cancel);
    if (o.error) {
      std::fprintf(stderr, "%s: %s\n", model, o.error->message.c_str());
      return 1;
    }
    std::string tags;
    for (const std::string& t : o.response->tags) tags += (tags.empty() ? "" : ",") + t;
    std::printf("%-8s -> %s / %-10s [%s] %s\n", model, o.attempts.back().provider.c_str(),
                o.attempts.back().model.c_str(), tags.c_str(), o.prepared->decision->reason.c_str());
  }
  return 0;
}
