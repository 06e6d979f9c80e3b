// SPDX-License-Identifier: MIT
// JSON bodies a host answers with outside the wire formats: the dry-run decision of
// POST /v1/route, the model list of GET /v1/models, the providers of GET /v1/providers and
// the answers of POST /admin/reload.
#include "llmrouter/host_json.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "json/json.h"
#include "util/strings.h"

namespace llmrouter {

std::string route_json(const PreparedRequest& p) {
  std::string out;
  detail::json::Writer w(out);
  w.begin_object();
  if (p.decision) {
    const RouteTarget& t = p.decision->target;
    w.kv("provider", t.provider);
    w.kv("model", t.model);
    w.key("rule");
    if (t.rule_index >= 0) {
      w.begin_object();
      w.kv_int("index", t.rule_index);
      w.kv("type", t.rule_type);
      w.end_object();
    } else {
      w.null();  // forced by a plugin
    }
  } else {
    w.kv("provider", "plugin");  // a plugin answers without a provider
    w.kv("model", p.request.model);
    w.key("rule");
    w.null();
  }
  w.key("tags");
  w.begin_array();
  for (const std::string& tag : p.request.tags) w.string(tag);
  w.end_array();
  w.kv("reason", p.decision ? p.decision->reason : std::string("answered by a plugin"));
  w.key("fallbacks");
  w.begin_array();
  if (p.decision) {
    for (const RouteTarget& f : p.decision->fallbacks) {
      w.begin_object();
      w.kv("provider", f.provider);
      w.kv("model", f.model);
      w.end_object();
    }
  }
  w.end_array();
  w.key("plugins");
  w.begin_array();
  for (const std::string& id : p.state.active_plugins) w.string(id);
  w.end_array();
  if (p.decision && p.decision->by_session) w.kv_bool("session_affinity", true);
  if (p.decision && !p.decision->considered.empty()) {
    w.key("candidates");
    w.begin_array();
    for (const ConsideredCandidate& c : p.decision->considered) {
      w.begin_object();
      w.kv("provider", c.provider);
      w.kv("model", c.model);
      w.kv_int("rule", c.rule_index);
      if (!c.ranked_by.empty()) w.kv("ranked_by", c.ranked_by);
      if (c.passed_over.empty()) {
        w.kv_bool("kept", true);
      } else {
        w.kv("passed_over", c.passed_over);
      }
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  return out;
}

std::string models_json(const std::vector<RouteTarget>& models) {
  // One body both SDKs read: OpenAI's list (`object`, `data[].id/object/created/owned_by`)
  // and Anthropic's (`data[].type/id/display_name/created_at`, `has_more`, first/last id).
  std::string out;
  detail::json::Writer w(out);
  w.begin_object();
  w.kv("object", "list");
  w.key("data");
  w.begin_array();
  for (const RouteTarget& m : models) {
    w.begin_object();
    w.kv("id", m.model);
    w.kv("object", "model");
    w.kv_int("created", 0);
    w.kv("owned_by", m.provider);
    w.kv("type", "model");
    w.kv("display_name", m.model);
    w.kv("created_at", "1970-01-01T00:00:00Z");
    w.end_object();
  }
  w.end_array();
  w.kv_bool("has_more", false);
  w.key("first_id");
  models.empty() ? w.null() : w.string(models.front().model);
  w.key("last_id");
  models.empty() ? w.null() : w.string(models.back().model);
  w.end_object();
  return out;
}

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_figure(detail::json::Writer& w, std::string_view key,
                  const std::optional<FigureSummary>& f) {
  w.key(key);
  if (!f) return w.null();
  w.begin_object();
  w.kv_number("mean", f->mean);
  w.kv_number("p50", f->p50);
  w.kv_number("p95", f->p95);
  w.kv_uint("samples", f->samples);
  w.end_object();
}

void write_figures(detail::json::Writer& w, const FiguresSnapshot& f) {
  w.kv_uint("in_flight", f.in_flight);
  w.kv_uint("attempts", f.attempts);
  w.kv_uint("failures", f.failures);
  w.kv_number("error_rate", f.error_rate);
  write_figure(w, "ttft_ms", f.ttft_ms);
  write_figure(w, "total_ms", f.total_ms);
  write_figure(w, "tokens_per_s", f.tokens_per_s);
}

}  // namespace

ProviderSnapshot provider_snapshot(const ProviderConfig& provider,
                                   const std::vector<ProviderSnapshot>& live) {
  const auto s = std::find_if(live.begin(), live.end(),
                              [&](const ProviderSnapshot& x) { return x.name == provider.name; });
  if (s != live.end()) return *s;
  ProviderSnapshot empty;
  empty.name = provider.name;
  empty.max_concurrency = provider.max_concurrency;
  return empty;
}

std::string_view provider_state(const ProviderConfig& provider, const ProviderSnapshot& live) {
  if (!provider.available) return "unavailable";
  if (live.health == Health::Ok && live.at_capacity) return "at_capacity";
  return health_name(live.health);
}

std::string providers_json(
    const Config& config, const std::vector<ProviderSnapshot>& live,
    const std::function<std::optional<std::vector<std::string>>(std::string_view)>& loaded) {
  std::string out;
  detail::json::Writer w(out);
  w.begin_object();
  w.kv("object", "list");
  w.key("data");
  w.begin_array();
  for (const ProviderConfig& pc : config.providers) {
    const ProviderSnapshot p = provider_snapshot(pc, live);
    const std::string_view state = provider_state(pc, p);
    w.begin_object();
    w.kv("name", pc.name);
    w.kv("format", wire_format_name(pc.format));
    w.kv("state", state);
    if (!pc.available) w.kv("unavailable_reason", pc.unavailable_reason);
    if (p.ejected_until) w.kv("ejected_until", rfc3339(*p.ejected_until));
    w.kv_uint("max_concurrency", p.max_concurrency);
    w.kv_uint("consecutive_failures", p.consecutive_failures);
    w.kv_uint("ejections", p.ejections);
    write_figures(w, p.figures);
    w.key("models");
    w.begin_array();
    for (const FiguresSnapshot& m : p.models) {
      w.begin_object();
      w.kv("model", m.model);
      write_figures(w, m);
      w.end_object();
    }
    w.end_array();
    if (pc.format == WireFormat::Ollama) {
      w.key("loaded_models");
      const auto models = loaded ? loaded(pc.name) : std::nullopt;
      if (!models) {
        w.null();
      } else {
        w.begin_array();
        for (const std::string& m : *models) w.string(m);
        w.end_array();
      }
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

namespace {
void write_key_usage(detail::json::Writer& w, const KeyConfig& key, const KeyUsage& u) {
  w.begin_object();
  w.kv("object", "key_usage");
  w.kv("key", key.name);
  w.key("period");
  w.begin_object();
  w.kv("type", key.budget_period == BudgetPeriod::Day     ? "day"
               : key.budget_period == BudgetPeriod::Month ? "month"
                                                          : "total");
  w.key("start");
  key.budget_period == BudgetPeriod::Total ? w.null() : w.string(utc_text(u.period.start_s));
  w.key("end");
  key.budget_period == BudgetPeriod::Total ? w.null() : w.string(utc_text(u.period.end_s));
  w.end_object();
  w.kv_uint("requests", u.requests);
  w.kv_uint("tokens", u.tokens);
  w.kv_number("spend_usd", u.spent_usd);
  w.key("limits");
  w.begin_object();
  w.key("rpm");
  key.rpm ? w.uinteger(*key.rpm) : w.null();
  w.key("tpm");
  key.tpm ? w.uinteger(*key.tpm) : w.null();
  w.key("budget_usd");
  key.budget_usd ? w.number(*key.budget_usd) : w.null();
  w.key("models");
  w.begin_array();
  for (const std::string& m : key.models) w.string(m);
  w.end_array();
  w.end_object();
  w.key("window");
  w.begin_object();
  w.kv_int("seconds", 60);
  w.kv_uint("requests", u.window_requests);
  w.kv_uint("tokens", u.window_tokens);
  w.end_object();
  w.key("budget_remaining_usd");
  key.budget_usd ? w.number(std::max(0.0, *key.budget_usd - u.spent_usd)) : w.null();
  w.end_object();
}
}  // namespace

std::string usage_json(const std::vector<std::pair<KeyConfig, KeyUsage>>& keys, bool as_list) {
  std::string out;
  detail::json::Writer w(out);
  if (!as_list && keys.size() == 1) {
    write_key_usage(w, keys.front().first, keys.front().second);
    return out;
  }
  w.begin_object();
  w.kv("object", "list");
  w.key("data");
  w.begin_array();
  for (const auto& [key, u] : keys) write_key_usage(w, key, u);
  w.end_array();
  w.end_object();
  return out;
}

std::string reload_json(std::string_view source, const std::vector<std::string>& restart_required,
                        const std::vector<std::string>& warnings) {
  std::string out;
  detail::json::Writer w(out);
  w.begin_object();
  w.kv_bool("reloaded", true);
  w.kv("source", source);
  w.key("restart_required");
  w.begin_array();
  for (const std::string& path : restart_required) w.string(path);
  w.end_array();
  w.key("warnings");
  w.begin_array();
  for (const std::string& warning : warnings) w.string(warning);
  w.end_array();
  w.end_object();
  return out;
}

std::string reload_error_json(const Error& error) {
  const std::vector<std::string_view> lines = detail::nonempty_lines(error.message);
  std::string out;
  detail::json::Writer w(out);
  w.begin_object();
  w.key("error");
  w.begin_object();
  std::string message = "the configuration was not reloaded (the running one is unchanged): ";
  if (lines.size() > 1) message.append(fmt::format("{} errors, the first: ", lines.size()));
  if (!lines.empty()) message.append(lines.front());
  w.kv("message", message);
  w.kv("type", "invalid_request_error");
  w.key("param");
  w.null();
  w.key("code");
  w.null();
  w.key("errors");
  w.begin_array();
  for (std::string_view line : lines) w.string(line);
  w.end_array();
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace llmrouter
