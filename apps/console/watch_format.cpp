// SPDX-License-Identifier: MIT
#include "watch_format.h"

#include <cstdio>

#include "text.h"

namespace llmrouter::console {
namespace {

constexpr std::size_t kMaxChars = 120;

const char* sgr(Style s) {
  switch (s) {
    case Style::Normal:
      return nullptr;
    case Style::Dim:
      return "\x1b[2m";
    case Style::Bold:
    case Style::Title:
      return "\x1b[1m";
    case Style::Provider:
    case Style::Ok:
      return "\x1b[32m";
    case Style::Model:
      return "\x1b[36m";
    case Style::Tag:
    case Style::Warn:
      return "\x1b[33m";
    case Style::Plugin:
      return "\x1b[35m";
    case Style::ResponseTag:
      return "\x1b[34m";
    case Style::Tokens:
      return "\x1b[2m";
    case Style::Error:
      return "\x1b[31m";
  }
  return nullptr;
}

std::string short_text(const std::string& s) { return truncate_chars(one_line(s), kMaxChars); }

void tags(Line& l, const std::vector<std::string>& list, const char* open, const char* close, Style style) {
  for (const std::string& t : list) {
    l.add("  ");
    l.add(open + one_line(t) + close, style);
  }
}

}  // namespace

std::string to_ansi(const Line& line, bool color) {
  std::string out;
  for (const Span& s : line.spans) {
    const char* code = color ? sgr(s.style) : nullptr;
    if (code) out += code;
    out += s.text;
    if (code) out += "\x1b[0m";
  }
  return out;
}

std::vector<Line> watch_lines(const RouterEvent& event) {
  std::vector<Line> out;
  if (const auto* s = std::get_if<StartEvent>(&event)) {
    Line l;
    l.add(clock_time(s->ts_ms), Style::Dim);
    l.add("  ⋯  ", Style::Warn);
    l.add(one_line(s->model), Style::Model);
    l.add("  (" + std::to_string(s->in_flight) + " in flight)", Style::Dim);
    out.push_back(std::move(l));
  } else if (const auto* c = std::get_if<ClassifiedEvent>(&event)) {
    if (c->tags.empty()) return out;
    std::string list;
    for (const std::string& t : c->tags) list += (list.empty() ? "" : ", ") + one_line(t);
    Line l;
    l.add("  → classified: ", Style::Dim);
    l.add("[" + list + "]", Style::Tag);
    out.push_back(std::move(l));
  } else if (const auto* r = std::get_if<RoutedEvent>(&event)) {
    Line l;
    l.add("  → routed: ", Style::Dim);
    l.add(one_line(r->provider), Style::Provider);
    l.add("/");
    l.add(one_line(r->model), Style::Model);
    // The reason names the rule, then repeats the target; the target is already shown.
    std::string reason = one_line(r->reason);
    const std::string target = ": provider " + one_line(r->provider) + ", model " + one_line(r->model);
    if (reason.ends_with(target)) reason.resize(reason.size() - target.size());
    if (!reason.empty()) l.add("  (" + reason + ")", Style::Dim);
    out.push_back(std::move(l));
  } else if (const auto* e = std::get_if<CompleteEvent>(&event)) {
    Line head;
    head.add(clock_time(e->ts_ms), Style::Dim);
    head.add("  ");
    head.add(e->provider.empty() ? std::string("-") : one_line(e->provider), e->failed() ? Style::Error : Style::Provider);
    head.add("  ");
    if (!e->sent_model.empty() && e->requested_model != e->sent_model) {
      head.add(one_line(e->requested_model) + " → " + one_line(e->sent_model), Style::Model);
    } else {
      head.add(one_line(e->sent_model.empty() ? e->requested_model : e->sent_model), Style::Model);
    }
    tags(head, e->tags, "[", "]", Style::Tag);
    tags(head, e->plugins, "(", ")", Style::Plugin);
    if (e->response) tags(head, e->response->tags, "<", ">", Style::ResponseTag);
    head.add("  ");
    head.add(std::to_string(e->duration_ms) + "ms", e->failed() ? Style::Error : Style::Normal);
    out.push_back(std::move(head));

    if (e->attempts.size() > 1) {
      Line l;
      l.add("  failover: ", Style::Warn);
      std::string chain;
      for (const AttemptInfo& a : e->attempts) {
        if (!chain.empty()) chain += " → ";
        chain += one_line(a.provider) + (a.error.empty() ? "" : " (" + truncate_chars(one_line(a.error), 60) + ")");
      }
      l.add(chain, Style::Warn);
      out.push_back(std::move(l));
    }

    Line prompt;
    prompt.add("  prompt:  ", Style::Dim);
    prompt.add(short_text(e->prompt()));
    out.push_back(std::move(prompt));

    if (e->error) {
      Line l;
      l.add("  error:   ", Style::Error);
      l.add(short_text(*e->error), Style::Error);
      out.push_back(std::move(l));
    } else if (e->response) {
      Line reply;
      reply.add("  reply:   ", Style::Dim);
      reply.add(short_text(e->response->content));
      out.push_back(std::move(reply));
      for (const ToolCallInfo& t : e->response->tool_calls) {
        Line l;
        l.add("  tool:    ", Style::Dim);
        l.add(truncate_chars("⚙ " + one_line(t.name) + "(" + one_line(t.input) + ")", kMaxChars), Style::Plugin);
        out.push_back(std::move(l));
      }
      Line usage;
      std::string u = "  " + std::to_string(e->usage.input_tokens) + " in / " + std::to_string(e->usage.output_tokens) +
                      " out · " + one_line(e->response->stop_reason);
      if (e->cost_usd > 0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, " · $%.6f", e->cost_usd);
        u += buf;
      }
      usage.add(u, Style::Dim);
      out.push_back(std::move(usage));
    }
    out.emplace_back();
  } else if (const auto* h = std::get_if<HealthEvent>(&event)) {
    out.push_back(health_line(*h));
  } else if (const auto* reload = std::get_if<ReloadEvent>(&event)) {
    out.push_back(reload_line(*reload));
    for (const std::string& error : reload->errors) {
      Line l;
      l.add("  " + one_line(error), Style::Error);
      out.push_back(std::move(l));
    }
  }
  return out;
}

}  // namespace llmrouter::console
