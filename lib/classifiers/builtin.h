// SPDX-License-Identifier: MIT
#pragma once
// Factories of the built-in classifiers (registered by Registries::with_builtins).

#include <memory>

#include "llmrouter/classifier.h"
#include "llmrouter/config.h"

namespace llmrouter::detail {

/// `[classifiers.keyword]`: `tags = { tag = ["keyword", ...] }`.
Result<std::unique_ptr<Classifier>> make_keyword_classifier(const ComponentConfig& c, const Config& config);
/// `[response_classifiers.refusal]`: optional `phrases = [...]` replacing the defaults.
Result<std::unique_ptr<ResponseClassifier>> make_refusal_classifier(const ComponentConfig& c, const Config& config);

/// The text a request is classified on, piece by piece: the system prompt, each message's
/// text and each tool result's text (not tool inputs, media or tool definitions). Pieces
/// are scanned separately, so a match never spans two messages.
template <class F>
void for_each_request_text(const CanonicalRequest& req, F&& f) {
  for (const TextBlock& t : req.system) f(std::string_view(t.text));
  for (const Message& m : req.messages) {
    for (const ContentBlock& b : m.content) {
      if (const auto* t = std::get_if<TextBlock>(&b)) {
        f(std::string_view(t->text));
      } else if (const auto* r = std::get_if<ToolResultBlock>(&b)) {
        for (const ToolResultPart& p : r->content) {
          if (const auto* rt = std::get_if<TextBlock>(&p)) f(std::string_view(rt->text));
        }
      }
    }
  }
}

}  // namespace llmrouter::detail
