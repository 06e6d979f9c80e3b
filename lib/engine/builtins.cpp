// SPDX-License-Identifier: MIT
// The built-in components, registered exactly as an embedding program registers its own.
#include "classifiers/builtin.h"
#include "llmrouter/registry.h"
#include "plugins/builtin.h"

namespace llmrouter {

Registries Registries::with_builtins() {
  Registries r;
  (void)r.add_classifier("keyword", detail::make_keyword_classifier);
  (void)r.add_response_classifier("refusal", detail::make_refusal_classifier);
  (void)r.add_plugin("response-healing", detail::make_response_healing);
  (void)r.add_plugin("pareto-router", detail::make_pareto_router);
  (void)r.add_plugin("web", detail::make_web_plugin);
  (void)r.add_plugin("pdf", detail::make_pdf_plugin);
  return r;
}

}  // namespace llmrouter
