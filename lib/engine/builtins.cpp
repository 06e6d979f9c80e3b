// SPDX-License-Identifier: MIT
// The built-in components, registered exactly as an embedding program registers its own.
#include "classifiers/builtin.h"
#include "llmrouter/http_provider.h"
#include "llmrouter/registry.h"
#include "plugins/builtin.h"
#include "routers/builtin.h"

namespace llmrouter {

Registries Registries::with_builtins() {
  Registries r;
  (void)r.add_rule("prefix", detail::make_prefix_rule,
                   {"model_prefix", "provider", "rewrite_model"});
  (void)r.add_rule("tag", detail::make_tag_rule, {"tag", "provider", "rewrite_model"});
  (void)r.add_rule("discover", detail::make_discover_rule, {"provider", "providers"});
  (void)r.add_rule("price", detail::make_price_rule,
                   {"providers", "max_cost_per_1m_tokens", "rewrite_model"});
  (void)r.add_rule("latency", detail::make_latency_rule,
                   {"providers", "measure", "max_latency_ms", "rewrite_model"});
  (void)r.add_rule("throughput", detail::make_throughput_rule,
                   {"providers", "min_tokens_per_sec", "rewrite_model"});
  (void)r.add_rule("fallback", detail::make_fallback_rule,
                   {"providers", "quality_bias", "rewrite_model"});
  (void)r.add_rule("random", detail::make_random_rule,
                   {"providers", "rewrite_model", "candidates", "candidates[].provider",
                    "candidates[].model", "candidates[].weight"});
  (void)r.add_classifier("keyword", detail::make_keyword_classifier);
  (void)r.add_response_classifier("refusal", detail::make_refusal_classifier);
  (void)r.add_plugin("response-healing", detail::make_response_healing);
  (void)r.add_plugin("pareto-router", detail::make_pareto_router);
  (void)r.add_plugin("web", detail::make_web_plugin);
  (void)r.add_plugin("pdf", detail::make_pdf_plugin);
  (void)r.add_provider("http", [](const ProviderConfig& config, const ProviderContext& context) {
    return Result<std::shared_ptr<const Provider>>(
        make_http_provider(config, context.transport, context.getenv, context.max_reply_bytes));
  });
  return r;
}

}  // namespace llmrouter
