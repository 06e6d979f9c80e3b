// SPDX-License-Identifier: MIT
#include "routers/pool.h"

#include <algorithm>
#include <utility>

namespace llmrouter::detail {

Pool read_pool(SettingsReader& r, const Config& config) {
  Pool pool;
  if (auto names = r.providers("providers")) {
    for (const std::string& name : *names) pool.providers.push_back(*config.find_provider(name));
  } else if (!r.value("providers")) {
    pool.providers = config.providers;
  }
  pool.rewrite_model = r.string("rewrite_model");
  return pool;
}

void RankedRule::candidates(const RouteQuery& query, const RouteScope&,
                            std::vector<RouteCandidate>& out) const {
  std::vector<std::pair<double, const ProviderConfig*>> scored;
  for (const ProviderConfig& p : pool_.providers) {
    if (const std::optional<double> k = key(p)) scored.emplace_back(*k, &p);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const std::string_view model = pool_.model_for(query);
  for (const auto& [k, p] : scored) out.push_back({p->name, std::string(model)});
}

}  // namespace llmrouter::detail
