// SPDX-License-Identifier: MIT
#include "routers/pool.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

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

void RankedRule::candidates(const RouteQuery& query, const RouteScope& scope,
                            std::vector<RouteCandidate>& out) const {
  // Small and trivially copyable: sorting moves no strings.
  struct Placed {
    Rank rank;
    const ProviderConfig* provider;
    std::size_t why;  // in `whys` (explaining only)
  };
  const std::string_view model = pool_.model_for(query);
  // Kept per thread between calls (routing runs for every request): no allocation once warm.
  thread_local std::vector<Placed> placed;
  placed.clear();
  std::vector<std::string> whys;
  std::string why;
  std::string* explain = scope.explaining() ? &why : nullptr;
  for (const ProviderConfig& p : pool_.providers) {
    why.clear();
    if (std::optional<Rank> r = rank(p, model, scope, explain)) {
      placed.push_back(Placed{*r, &p, whys.size()});
      if (explain) whys.push_back(why);
    } else if (explain) {
      scope.pass_over(p.name, model, why);
    }
  }
  const uint32_t min_samples = scope.min_samples();
  // 0: explored first; 1: ranked; 2: explored enough for now, behind the ranked ones.
  auto tier = [&](const Placed& x) {
    return !x.rank.explore ? 1 : x.rank.samples < min_samples ? 0 : 2;
  };
  // Pools are small: a stable insertion sort, which needs no buffer (std::stable_sort takes one).
  auto before = [&](const Placed& a, const Placed& b) {
    const int ta = tier(a);
    const int tb = tier(b);
    if (ta != tb) return ta < tb;
    if (ta == 0) return a.rank.samples < b.rank.samples;
    if (ta == 2 || a.rank.key != b.rank.key) return ta == 1 && a.rank.key < b.rank.key;
    // Equal keys: the one with the model loaded, then the less busy one.
    const bool la = scope.loaded(a.provider->name, model);
    const bool lb = scope.loaded(b.provider->name, model);
    if (la != lb) return la;
    return scope.in_flight(a.provider->name) < scope.in_flight(b.provider->name);
  };
  for (std::size_t i = 1; i < placed.size(); ++i) {
    for (std::size_t j = i; j > 0 && before(placed[j], placed[j - 1]); --j)
      std::swap(placed[j], placed[j - 1]);
  }
  for (const Placed& x : placed) {
    out.push_back({x.provider->name, std::string(model)});
    if (explain) out.back().ranked_by = std::move(whys[x.why]);
  }
}

std::optional<Rank> live_rank(const ProviderConfig& p, std::string_view model,
                              const RouteScope& scope, Measure measure, std::optional<double> prior,
                              std::optional<double> limit, std::string_view limit_key,
                              std::string* why) {
  const bool rate = measure == Measure::TokensPerSecond;
  const std::string_view unit = rate ? "tokens/s" : "ms";
  uint64_t samples = 0;
  const ProviderLive* live = scope.live(p.name);
  std::optional<double> value =
      live ? live->figure(model, measure, scope.min_samples(), &samples) : std::nullopt;
  const bool measured = value.has_value();
  if (!value) value = prior;
  if (!value) {
    // Explored while measured too little; a router without live figures cannot measure it,
    // so it goes behind the others.
    const uint64_t seen = live ? samples + live->in_flight() : scope.min_samples();
    if (why)
      *why = fmt::format("{} not known yet: explored ({} of {} samples)", measure_name(measure),
                         samples, scope.min_samples());
    return Rank{0, true, seen};
  }
  const bool over = limit && (rate ? *value < *limit : *value > *limit);
  if (why) {
    const std::string basis =
        measured ? fmt::format("live over {} samples", samples)
                 : fmt::format("prior, {} of {} samples", samples, scope.min_samples());
    *why = fmt::format("{} {:.0f} {} ({})", measure_name(measure), *value, unit, basis);
    if (over) *why += fmt::format(" {} {} {}", rate ? "below" : "above", limit_key, *limit);
  }
  if (over) return std::nullopt;
  return Rank{rate ? -*value : *value, false, samples};
}

}  // namespace llmrouter::detail
