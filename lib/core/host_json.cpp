// SPDX-License-Identifier: MIT
// JSON bodies a host answers with outside the wire formats: the dry-run decision of
// POST /v1/route and the model list of GET /v1/models.
#include "llmrouter/host_json.h"

#include "json/json.h"

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

}  // namespace llmrouter
