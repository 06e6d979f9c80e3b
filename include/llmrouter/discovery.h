// SPDX-License-Identifier: MIT
#pragma once
/// @file discovery.h
/// Model discovery for `ollama` providers: which models each one serves (`GET /api/tags`),
/// what each can do (`POST /api/show`: tools, vision, context length) and which are loaded
/// in memory right now (`GET /api/ps`), written into the ModelCatalog that routing reads —
/// the `discover` rule, capability checks, Router::known_models() for `/v1/models`, and
/// ModelCatalog::is_loaded() for preferring a node that has the model loaded already.
///
/// A host runs one round at start-up, so the first requests already see the models, then
/// lets a background thread refresh each provider every `discovery_interval_s`, and ask
/// only `/api/ps` every `discovery_loaded_interval_s` in between (loaded models change far
/// more often than pulled ones):
///
///     auto catalog = std::make_shared<ModelCatalog>();
///     auto discovery = Discovery::create(config, transport, catalog);
///     discovery->refresh();  // blocking; bounded by the providers' discovery_timeout_ms
///     discovery->start();
///     // ... Pipeline::build(config, registries, catalog.get()) ...
///
/// Every request is bounded by its provider's `discovery_timeout_ms` (connection
/// included). A failure — connection error, timeout, non-2xx status, malformed reply — is
/// never fatal: one warning (log.h) names the provider and the reason, and the provider
/// keeps the models it had (none when its first round fails). When `/api/show` fails for
/// one model, that model is kept with its capabilities unknown (routing then assumes it
/// can), with a warning, and the next round asks again. A model whose digest has not
/// changed since an earlier successful `/api/show` is not asked about again. A failed
/// `/api/ps` never fails the round: the provider keeps the loaded models last known, with
/// one warning (the failures that follow it, until `/api/ps` answers again, and those while
/// `/api/tags` fails too, are logged at debug level only).
///
/// Requests carry the provider's credential (`authorization: Bearer $api_key_env`) and
/// configured `headers`, as chat requests do. Providers that are unavailable (their key
/// variable is unset) are not contacted.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "llmrouter/config.h"
#include "llmrouter/http_provider.h"
#include "llmrouter/router.h"
#include "llmrouter/transport.h"

namespace llmrouter {

/// How one provider's discovery round went.
struct DiscoveryReport {
  std::string provider;
  /// True when /api/tags answered with a model list (some /api/show calls may still have
  /// failed; see `warning`).
  bool ok = false;
  /// The warnings logged for this round, one a line, if any (empty when all went well).
  std::string warning;
  /// The provider's models in the catalog after the round.
  std::size_t models = 0;
  /// The provider's models loaded in memory (`/api/ps`) after the round.
  std::size_t loaded = 0;
};

/// Discovers the models of a config's `ollama` providers. Thread-safe.
class Discovery {
 public:
  /// Discovery for every available `ollama` provider of `config` (with none, refresh() and
  /// start() do nothing). Requests go through `transport`; results are written to
  /// `catalog`, which the router reads (both are kept alive by the Discovery; pass them
  /// non-null). `getenv` reads the providers' API key variables on
  /// every round (default std::getenv).
  static std::unique_ptr<Discovery> create(const Config& config, std::shared_ptr<Transport> transport,
                                           std::shared_ptr<ModelCatalog> catalog, EnvReader getenv = {});

  /// Stops the background thread promptly: requests in flight are cancelled (their round
  /// changes nothing), and the thread is joined.
  ~Discovery();
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  /// One blocking round over every provider, all at once: the /api/tags and /api/ps
  /// requests in parallel, then every /api/show in parallel. Returns when the catalog is
  /// updated (at most about two discovery timeouts). One report per provider, in config
  /// order.
  std::vector<DiscoveryReport> refresh();

  /// Starts the background thread, which refreshes each provider every
  /// `discovery_interval_s` after its last round (providers with 0 are not refreshed),
  /// asks its `/api/ps` alone every `discovery_loaded_interval_s` after the last time it
  /// was asked (0: only in full rounds), and runs a first round at once for providers
  /// refresh() has not covered yet. Calling it again does nothing.
  void start();

  /// The providers covered, in config order.
  std::vector<std::string> providers() const;

 private:
  struct Impl;
  explicit Discovery(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrouter
