// SPDX-License-Identifier: MIT
#include "llmrouter/pipeline.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "llmrouter/formats.h"
#include "llmrouter/log.h"
#include "util/strings.h"

namespace llmrouter {
namespace {

std::string list_names(const std::vector<std::string_view>& names) {
  return names.empty() ? std::string("none") : detail::join(names, ", ");
}

std::string suggest(std::string_view id, const std::vector<std::string_view>& names) {
  const std::string_view best = detail::closest_match(id, names);
  return best.empty() ? fmt::format("registered: {}", list_names(names)) : fmt::format("did you mean '{}'?", best);
}

void add_unique(std::vector<std::string>& tags, std::string_view tag) {
  if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.emplace_back(tag);
}

// A plugin hook's error as the request's error: its own status when it set one (the web
// plugin's 501, pareto's 400), 500 otherwise.
Error plugin_error(const std::string& id, const Error& e) {
  Error out = e;
  out.message = fmt::format("plugin '{}' failed: {}", id, e.message);
  if (e.http_status == 0 && e.code != Errc::NoRoute && e.code != Errc::InvalidRequest) out.code = Errc::Internal;
  return out;
}

ResponseStoreLimits store_limits(const StateConfig& c) {
  return ResponseStoreLimits{c.responses_ttl, c.responses_max,
                             static_cast<std::size_t>(c.responses_max_bytes)};
}

}  // namespace

Pipeline::Pipeline(Config config, const ModelCatalog* catalog,
                   std::vector<std::shared_ptr<const Rule>> rules, std::shared_ptr<LiveStats> live)
    : config_(std::move(config)),
      live_(std::move(live)),
      router_(config_, catalog, std::move(rules), live_.get()) {}

Result<std::shared_ptr<const Pipeline>> Pipeline::build(const Config& config,
                                                        const Registries& registries,
                                                        const ModelCatalog* catalog,
                                                        std::shared_ptr<const CallTracing> tracing,
                                                        const Pipeline* previous,
                                                        std::shared_ptr<ResponseStore> responses) {
  for (std::size_t i = 0; i < config.providers.size(); ++i) {
    const ProviderConfig& pc = config.providers[i];
    if (!registries.provider(pc.kind)) {
      return fail(config_error(config, pc.loc, fmt::format("providers[{}].kind", i),
                               fmt::format("unknown provider kind '{}'; {}", pc.kind,
                                           suggest(pc.kind, registries.provider_names()))));
    }
  }
  auto rules = registries.make_rules(config);
  if (!rules) return fail(rules.error());
  std::shared_ptr<LiveStats> live =
      previous ? previous->live_ : std::make_shared<LiveStats>(config.routing);
  std::shared_ptr<Pipeline> p(new Pipeline(config, catalog, std::move(*rules), std::move(live)));
  if (previous) {
    p->responses_ = previous->responses_;
  } else if (responses) {
    p->responses_ = std::move(responses);
  } else {
    p->responses_ = std::make_shared<MemoryResponseStore>(store_limits(config.state));
  }
  p->tracing_ = std::move(tracing);
  if (previous) {
    p->events_ = previous->events_;
    p->counters_ = previous->counters_;
  }
  const Config& cfg = p->config_;

  for (const ComponentConfig& c : cfg.classifiers) {
    const ClassifierFactory* f = registries.classifier(c.id);
    if (!f) {
      return fail(config_error(cfg, c.loc, "classifiers." + c.id,
                               fmt::format("unknown classifier; {}", suggest(c.id, registries.classifier_names()))));
    }
    if (!c.enabled) continue;
    auto made = (*f)(c, cfg);
    if (!made) return fail(made.error());
    p->classifiers_.emplace_back(c.id, std::move(*made));
  }
  for (const ComponentConfig& c : cfg.response_classifiers) {
    const ResponseClassifierFactory* f = registries.response_classifier(c.id);
    if (!f) {
      return fail(config_error(cfg, c.loc, "response_classifiers." + c.id,
                               fmt::format("unknown response classifier; {}",
                                           suggest(c.id, registries.response_classifier_names()))));
    }
    if (!c.enabled) continue;
    auto made = (*f)(c, cfg);
    if (!made) return fail(made.error());
    p->response_classifiers_.emplace_back(c.id, std::move(*made));
  }
  for (const ComponentConfig& c : cfg.plugins) {
    if (!registries.plugin(c.id)) {
      return fail(config_error(cfg, c.loc, "plugins." + c.id,
                               fmt::format("unknown plugin; {}", suggest(c.id, registries.plugin_names()))));
    }
  }
  // Every registered plugin is built: a request may ask for one that config leaves disabled.
  for (std::string_view name : registries.plugin_names()) {
    const ComponentConfig* c = Config::find_component(cfg.plugins, name);
    ComponentConfig empty;
    empty.id = std::string(name);
    auto made = (*registries.plugin(name))(c ? *c : empty, cfg);
    if (!made) return fail(made.error());
    p->plugins_.push_back(PluginSlot{std::string(name), std::move(*made), c && c->enabled,
                                     c ? c->settings : Value(Value::Object{})});
  }
  // Only a pipeline that built applies its [routing] and max_concurrency to the live figures
  // it shares with the running one (a refused reload changes nothing).
  p->live_->configure(cfg);
  p->responses_->configure(store_limits(cfg.state));
  return std::shared_ptr<const Pipeline>(std::move(p));
}

std::vector<ActivePlugin> Pipeline::resolve_plugins(const CanonicalRequest& req, std::vector<std::string>& unknown) const {
  // Settings: config settings, shallowly overridden by the request's first entry for the id.
  auto merged = [&](const PluginSlot& slot) {
    Value settings = slot.settings;
    for (const PluginRequest& r : req.plugins) {
      if (r.id != slot.id) continue;
      for (const auto& [k, v] : r.settings.as_object()) settings.set(k, v);
      break;
    }
    return settings;
  };
  std::vector<ActivePlugin> out;
  for (const PluginSlot& slot : plugins_) {  // config-enabled, in registry order
    if (slot.enabled) out.push_back(ActivePlugin{slot.id, slot.plugin.get(), merged(slot)});
  }
  for (const PluginRequest& r : req.plugins) {  // then the request's own, in its order
    if (std::any_of(out.begin(), out.end(), [&](const ActivePlugin& a) { return a.id == r.id; })) continue;
    const auto slot = std::find_if(plugins_.begin(), plugins_.end(), [&](const PluginSlot& s) { return s.id == r.id; });
    if (slot == plugins_.end()) {
      if (std::find(unknown.begin(), unknown.end(), r.id) == unknown.end()) unknown.push_back(r.id);
      continue;
    }
    out.push_back(ActivePlugin{slot->id, slot->plugin.get(), merged(*slot)});
  }
  return out;
}

Result<PreparedRequest> Pipeline::prepare(CanonicalRequest req, RequestState state) const {
  return prepare(std::move(req), std::move(state), PrepareMode::DryRun);
}

Result<PreparedRequest> Pipeline::prepare(CanonicalRequest req, RequestState state,
                                          PrepareMode mode) const {
  // Filled in place and returned as the one object: a PreparedRequest is over a kilobyte.
  Result<PreparedRequest> out;
  if (Result<void> done = prepare_into(std::move(req), std::move(state), mode, *out); !done)
    out = fail(done.error());
  return out;
}

Result<void> Pipeline::prepare_into(CanonicalRequest&& req, RequestState&& state, PrepareMode mode,
                                    PreparedRequest& p) const {
  state.config = &config_;
  state.requested_model = req.model;
  // A Responses conversation the router kept: the whole of it is what the stages see and
  // what is sent (re-encoded, without the id, which only the router knows).
  // The store's own failure (Redis unreachable) is the answer in place of "not found", for
  // a request that no provider keeping conversations takes.
  std::optional<Error> store_failed;
  if (state.client_format == WireFormat::Responses && !req.previous_response_id.empty()) {
    auto kept = responses_->get(req.previous_response_id);
    if (!kept) {
      store_failed = std::move(kept.error());
    } else if (*kept) {
      req.messages.insert(req.messages.begin(), std::make_move_iterator((*kept)->begin()),
                          std::make_move_iterator((*kept)->end()));
      req.previous_response_id.clear();
      p.modified = true;
    }
  }
  p.plugins = resolve_plugins(req, p.unknown_plugins);
  for (const std::string& id : p.unknown_plugins) {
    log(LogLevel::Warn, fmt::format("request {}: ignoring unknown plugin '{}'", state.id, id));
  }

  // Runs one request-side stage; true when a plugin stopped it.
  auto stage = [&](auto hook) -> Result<bool> {
    for (const ActivePlugin& a : p.plugins) {
      Result<Flow> flow = hook(*a.plugin, a.settings);
      if (!flow) return fail(plugin_error(a.id, flow.error()));
      if (*flow == Flow::Continue) continue;
      state.active_plugins.push_back(a.id);
      p.modified = true;
      if (*flow == Flow::Stop) return true;
    }
    return false;
  };

  auto started = stage([&](const Plugin& pl, const Value& s) { return pl.on_start(req, state, s); });
  if (!started) return fail(started.error());
  bool stopped = *started;
  CapabilitySet needs;
  if (!stopped) {
    std::vector<std::string> tags;
    for (const auto& [id, c] : classifiers_) {
      std::vector<std::string> mine;
      c->classify(req, mine);
      for (const std::string& t : mine) add_unique(tags, t);
    }
    needs = needed_capabilities(req);
    if (needs.contains(Capability::Vision)) add_unique(tags, "vision");
    if (needs.contains(Capability::Tools)) add_unique(tags, "tools");
    req.tags = std::move(tags);
    auto pre = stage([&](const Plugin& pl, const Value& s) { return pl.pre_request(req, state, s); });
    if (!pre) return fail(pre.error());
    stopped = *pre;
  }

  if (stopped || state.response) {
    if (!state.response) {
      return fail(Errc::Internal, fmt::format("plugin '{}' stopped the request without a reply",
                                              state.active_plugins.empty() ? "?" : state.active_plugins.back()));
    }
  } else if (req.forced_provider) {
    const ProviderConfig* prov = config_.find_provider(*req.forced_provider);
    if (!prov || !prov->available) {
      return fail(Errc::NoRoute, fmt::format("provider '{}' chosen by a plugin is {}", *req.forced_provider,
                                             prov ? "unavailable: " + prov->unavailable_reason : "not configured"));
    }
    RouteDecision d;
    d.target = RouteTarget{prov->name, req.model, -1, {}};
    d.reason = fmt::format("forced by plugin {}: provider {}, model {}",
                           state.active_plugins.empty() ? "?" : state.active_plugins.back(), prov->name, req.model);
    p.decision = std::move(d);
  } else {
    // pre_request plugins may have changed the request: derive what it needs again.
    const CapabilitySet route_needs = p.modified ? needed_capabilities(req) : needs;
    std::string session;
    if (config_.routing.affinity != Affinity::None)
      session = std::string(session_key(req, state.session_header));
    // The query borrows the request's model and tags (moved back after routing): no copies.
    RouteQuery q{std::move(req.model),
                 std::move(req.tags),
                 route_needs,
                 state.random,
                 std::move(session),
                 mode == PrepareMode::Explain,
                 mode != PrepareMode::Run};
    auto decision = router_.route(q);
    req.model = std::move(q.model);
    req.tags = std::move(q.tags);
    if (decision) {
      p.decision = std::move(*decision);
    } else if (mode == PrepareMode::Run && decision.error().code == Errc::Overloaded &&
               decision.error().http_status == 429 && config_.routing.queue_timeout.count() > 0) {
      p.waiting_for_room = true;
    } else {
      return fail(decision.error());
    }
  }
  // An id the router does not know: only a provider that keeps conversations may.
  if (!req.previous_response_id.empty() && p.decision &&
      !keeps_conversations(p.decision->target.provider)) {
    if (store_failed) return fail(std::move(*store_failed));
    return fail(previous_response_not_found(req.previous_response_id));
  }
  p.request = std::move(req);
  p.state = std::move(state);
  return {};
}

Result<PreparedRequest> Pipeline::route(WireFormat client, std::string_view body, double random) const {
  auto req = decode_request(client, body);
  if (!req) return fail(req.error());
  RequestState state;
  state.client_format = client;
  state.random = random;
  return prepare(std::move(*req), std::move(state));
}

Result<PreparedRequest> Pipeline::explain(WireFormat client, std::string_view body, double random,
                                          std::string_view session_header) const {
  auto req = decode_request(client, body);
  if (!req) return fail(req.error());
  RequestState state;
  state.client_format = client;
  state.random = random;
  state.session_header = std::string(session_header);
  return prepare(std::move(*req), std::move(state), PrepareMode::Explain);
}

void Pipeline::finish(PreparedRequest& p, Response& resp) const {
  finish(p, resp, nullptr);
}

bool Pipeline::finish(PreparedRequest& p, Response& resp,
                      const std::function<bool(Response&)>& check) const {
  // Runs one response-side stage; errors are logged and the stage goes on.
  auto stage = [&](const char* name, auto hook) {
    for (const ActivePlugin& a : p.plugins) {
      Result<Flow> flow = hook(*a.plugin, a.settings);
      if (!flow) {
        log(LogLevel::Warn, fmt::format("request {}: plugin '{}' {} hook failed: {}", p.state.id, a.id, name,
                                        flow.error().message));
        continue;
      }
      if (*flow == Flow::Continue) continue;
      p.state.active_plugins.push_back(a.id);
      p.response_modified = true;
      if (*flow == Flow::Stop) return true;
    }
    return false;
  };
  const bool stopped = stage("post_response", [&](const Plugin& pl, const Value& s) {
    return pl.post_response(p.request, resp, p.state, s);
  });
  if (check && !check(resp)) return false;
  if (stopped) return true;
  for (const auto& [id, c] : response_classifiers_) {
    std::vector<std::string> mine;
    c->classify(p.request, resp, mine);
    for (const std::string& t : mine) add_unique(resp.tags, t);
  }
  stage("on_end", [&](const Plugin& pl, const Value& s) { return pl.on_end(p.request, resp, p.state, s); });
  return true;
}

}  // namespace llmrouter
