// SPDX-License-Identifier: MIT
#include "render.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "text.h"

namespace llmrouter::console {
namespace {

std::string fmt_ms(int64_t ms) { return std::to_string(ms) + "ms"; }

// "850ms", "1.2s", "14s".
std::string fmt_duration(double ms) {
  char buf[32];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.0fms", ms);
  } else if (ms < 10'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fs", ms / 1000);
  }
  return buf;
}

Style state_style(const std::string& state) {
  if (state == "ok") return Style::Ok;
  if (state == "ejected" || state == "unavailable") return Style::Error;
  return Style::Warn;
}

std::string fmt_cost(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, usd < 0.01 ? "$%.4f" : "$%.2f", usd);
  return buf;
}

std::string fmt_percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0%";
  return std::to_string((part * 100 + whole / 2) / whole) + "%";
}

void add_tags(Line& l, const std::vector<std::string>& tags, const char* open, const char* close, Style style) {
  for (const std::string& t : tags) {
    l.add(" ");
    l.add(std::string(open) + one_line(t) + close, style);
  }
}

// The line's text fitted into `width` columns: spans are cut, the last one gets "…".
Line fit_line(const Line& line, int width) {
  Line out;
  int used = 0;
  for (const Span& s : line.spans) {
    const int w = display_width(s.text);
    if (used + w <= width) {
      out.spans.push_back(s);
      used += w;
      continue;
    }
    out.add(fit(s.text, width - used), s.style);
    break;
  }
  return out;
}

std::string tool_call_text(const std::string& name, const std::string& args) {
  return "⚙ " + one_line(name) + "(" + one_line(args) + ")";
}

// The four lines of a completed request.
void completed_entry(const CompleteEvent& e, int width, std::vector<Line>& out) {
  Line head;
  head.add(clock_time(e.ts_ms), Style::Dim);
  head.add("  ");
  head.add(e.provider.empty() ? std::string("-") : one_line(e.provider), e.failed() ? Style::Error : Style::Provider);
  head.add("  ");
  if (!e.sent_model.empty() && e.requested_model != e.sent_model) {
    head.add(one_line(e.requested_model) + " → " + one_line(e.sent_model), Style::Model);
  } else {
    head.add(one_line(e.sent_model.empty() ? e.requested_model : e.sent_model), Style::Model);
  }
  add_tags(head, e.tags, "[", "]", Style::Tag);
  add_tags(head, e.plugins, "(", ")", Style::Plugin);
  if (e.response) add_tags(head, e.response->tags, "<", ">", Style::ResponseTag);
  if (e.response) {
    head.add("  ");
    head.add("↑" + std::to_string(e.usage.input_tokens) + " ↓" + std::to_string(e.usage.output_tokens), Style::Tokens);
  }
  head.add("  ");
  head.add(fmt_ms(e.duration_ms), e.failed() ? Style::Error : Style::Normal);
  if (e.attempts.size() > 1) {
    std::string chain;
    for (const AttemptInfo& a : e.attempts) {
      if (!chain.empty()) chain += " → ";
      chain += one_line(a.provider);
    }
    head.add("  ↻ " + chain, Style::Warn);
  }
  out.push_back(fit_line(head, width));

  Line prompt;
  prompt.add("  prompt: ", Style::Dim);
  prompt.add(one_line(e.prompt()));
  out.push_back(fit_line(prompt, width));

  Line third;
  if (e.error) {
    third.add("  error: ", Style::Error);
    third.add(one_line(*e.error), Style::Error);
  } else if (e.response) {
    third.add("  reply: ", Style::Dim);
    std::string reply = one_line(e.response->content);
    for (const ToolCallInfo& c : e.response->tool_calls) {
      if (!reply.empty()) reply += "  ";
      reply += tool_call_text(c.name, c.input);
    }
    if (reply.empty()) {
      third.add("(empty)", Style::Dim);
    } else {
      third.add(reply);
    }
  }
  out.push_back(fit_line(third, width));
  out.emplace_back();
}

Rect inner(const Rect& r) { return Rect{r.y + 1, r.x + 1, std::max(0, r.h - 2), std::max(0, r.w - 2)}; }

}  // namespace

Line& Line::add(std::string text, Style style) {
  spans.push_back(Span{std::move(text), style});
  return *this;
}

std::string Line::text() const {
  std::string out;
  for (const Span& s : spans) out += s.text;
  return out;
}

std::string clock_time(int64_t ts_ms) {
  const std::time_t t = static_cast<std::time_t>(ts_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string ago(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "never";
  const int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
  if (s < 60) return std::to_string(s) + "s ago";
  if (s < 3600) return std::to_string(s / 60) + "m ago";
  if (s < 86400) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

Line connection_line(const FeedState& state, int64_t since_ms, int64_t now_ms) {
  Line l;
  const int64_t left_ms = std::max<int64_t>(0, state.retry_in.count() - (now_ms - since_ms));
  const std::string retry = " · retry in " + std::to_string((left_ms + 999) / 1000) + "s";
  switch (state.phase) {
    case FeedPhase::Connecting:
      l.add(state.attempt <= 1 ? "connecting…" : "reconnecting… (attempt " + std::to_string(state.attempt) + ")",
            Style::Warn);
      break;
    case FeedPhase::Live:
      l.add("live", Style::Ok);
      break;
    case FeedPhase::Refused:
      l.add("refused: " + one_line(state.message) + retry, Style::Error);
      break;
    case FeedPhase::Unreachable:
      l.add("unreachable: " + one_line(state.message) + retry, Style::Error);
      break;
    case FeedPhase::Disconnected:
      l.add("disconnected: " + one_line(state.message) + retry, Style::Warn);
      break;
  }
  return l;
}

std::vector<Line> feed_lines(const FeedModel& feed, int64_t now_ms, int width, int height) {
  std::vector<Line> out;
  for (const PendingRequest& p : feed.pending()) {
    if (static_cast<int>(out.size()) >= height) break;
    Line l;
    l.add(clock_time(p.ts_ms), Style::Dim);
    l.add("  ⋯  ", Style::Warn);
    if (!p.provider.empty()) {
      l.add(one_line(p.provider), Style::Provider);
      l.add("  ");
      l.add(one_line(p.routed_model), Style::Model);
    } else {
      l.add(one_line(p.model.empty() ? std::string("?") : p.model), Style::Dim);
    }
    add_tags(l, p.tags, "[", "]", Style::Tag);
    l.add("  ");
    l.add(fmt_ms(std::max<int64_t>(0, now_ms - p.received_ms)), Style::Dim);
    out.push_back(fit_line(l, width));
  }
  if (!feed.pending().empty()) out.emplace_back();
  if (feed.completed().empty() && feed.pending().empty()) {
    Line l;
    l.add(feed.connection().phase == FeedPhase::Live ? "waiting for requests…" : "no requests yet", Style::Dim);
    out.push_back(std::move(l));
  }
  for (std::size_t i = feed.scroll(); i < feed.completed().size(); ++i) {
    if (static_cast<int>(out.size()) >= height) break;
    completed_entry(feed.completed()[i], width, out);
  }
  if (static_cast<int>(out.size()) > height) out.resize(static_cast<std::size_t>(std::max(0, height)));
  return out;
}

std::vector<Line> stats_lines(const FeedModel& feed, int64_t now_ms, int width) {
  const Stats& s = feed.stats();
  std::vector<Line> out;
  auto push = [&](const Line& l) { out.push_back(fit_line(l, width)); };
  {
    Line l;
    l.add(std::to_string(s.requests()) + (s.requests() == 1 ? " request" : " requests"), Style::Bold);
    l.add(" · ");
    l.add(std::to_string(s.errors()) + (s.errors() == 1 ? " error" : " errors"),
          s.errors() > 0 ? Style::Error : Style::Normal);
    push(l);
  }
  push(Line().add("avg " + fmt_ms(s.average_ms()) + " · p95 " + fmt_ms(s.p95_ms())));
  if (!feed.pending().empty()) push(Line().add(std::to_string(feed.pending().size()) + " in flight", Style::Warn));
  {
    Line l;
    l.add("tokens ");
    l.add("↑" + std::to_string(s.input_tokens()) + " ↓" + std::to_string(s.output_tokens()), Style::Tokens);
    l.add(" · " + fmt_cost(s.cost_usd()));
    push(l);
  }
  const auto providers = s.providers();
  if (!providers.empty()) {
    out.emplace_back();
    push(Line().add("providers", Style::Title));
    for (const ProviderStats& p : providers) {
      Line l;
      l.add("  ");
      l.add(one_line(p.name), Style::Provider);
      l.add("  " + std::to_string(p.requests) + " (" + fmt_percent(p.requests, s.requests()) + ")");
      if (p.errors > 0) l.add("  " + std::to_string(p.errors) + " err", Style::Error);
      l.add("  ok " + ago(p.last_success_ms, now_ms), Style::Dim);
      push(l);
    }
  }
  const auto tags = s.tags();
  if (!tags.empty()) {
    out.emplace_back();
    push(Line().add("tags", Style::Title));
    for (const TagStats& t : tags) {
      Line l;
      l.add("  ");
      l.add(t.response ? "<" + one_line(t.tag) + ">" : "[" + one_line(t.tag) + "]",
            t.response ? Style::ResponseTag : Style::Tag);
      l.add("  " + std::to_string(t.count));
      push(l);
    }
  }
  return out;
}

std::vector<Line> providers_lines(const ProvidersModel& providers, int64_t now_ms, int width) {
  std::vector<Line> out;
  auto push = [&](const Line& l) { out.push_back(fit_line(l, width)); };
  {
    Line l;
    l.add("live providers", Style::Title);
    if (!providers.error().empty()) {
      l.add("  " + one_line(providers.error()), Style::Error);
    } else if (providers.updated_ms() > 0) {
      l.add("  " + ago(providers.updated_ms(), now_ms), Style::Dim);
    }
    push(l);
  }
  if (providers.updated_ms() == 0) {
    if (providers.error().empty()) push(Line().add("  reading /v1/providers…", Style::Dim));
    return out;
  }
  if (providers.rows().empty()) push(Line().add("  (no providers)", Style::Dim));
  for (const ProviderRow& p : providers.rows()) {
    Line head;
    head.add("  ");
    head.add(one_line(p.name), Style::Provider);
    head.add("  ");
    head.add(one_line(p.state), state_style(p.state));
    std::string flight = "  " + std::to_string(p.in_flight);
    if (p.max_concurrency > 0) flight += "/" + std::to_string(p.max_concurrency);
    head.add(flight + " in flight", p.in_flight > 0 ? Style::Normal : Style::Dim);
    push(head);
    if (p.attempts == 0 && !p.ttft_ms && !p.tokens_per_s) continue;  // nothing measured yet
    Line figures;
    figures.add("    ttft ");
    if (p.ttft_ms && p.ttft_ms->samples > 0) {
      figures.add(fmt_duration(p.ttft_ms->p50) + "/" + fmt_duration(p.ttft_ms->p95));
    } else {
      figures.add("–", Style::Dim);
    }
    figures.add(" · ");
    if (p.tokens_per_s && p.tokens_per_s->samples > 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.0f tok/s", p.tokens_per_s->mean);
      figures.add(buf, Style::Tokens);
    } else {
      figures.add("– tok/s", Style::Dim);
    }
    char err[32];
    std::snprintf(err, sizeof err, " · %.0f%% err", p.error_rate * 100);
    figures.add(err, p.error_rate >= 0.005 ? Style::Error : Style::Dim);
    push(figures);
  }
  return out;
}

Line health_line(const HealthEvent& e) {
  Line l;
  l.add(clock_time(e.ts_ms), Style::Dim);
  l.add("  ");
  l.add(one_line(e.provider), Style::Provider);
  l.add("  ");
  if (e.ejected()) {
    std::string what = "ejected";
    if (e.duration_ms > 0) what += " for " + fmt_duration(static_cast<double>(e.duration_ms));
    what += " · " + std::to_string(e.failures) + (e.failures == 1 ? " failure" : " failures");
    l.add(what, Style::Error);
    if (!e.reason.empty()) l.add(" · " + one_line(e.reason), Style::Dim);
  } else {
    l.add(e.state.empty() ? std::string("restored") : one_line(e.state), Style::Ok);
  }
  return l;
}

Line reload_line(const ReloadEvent& e) {
  Line l;
  l.add(clock_time(e.ts_ms), Style::Dim);
  l.add("  reload  ");
  if (e.ok) {
    l.add("applied " + one_line(e.source), Style::Ok);
    if (!e.restart_required.empty()) {
      std::string wait = " · at the next start: ";
      for (std::size_t i = 0; i < e.restart_required.size(); ++i) {
        if (i > 0) wait += ", ";
        wait += one_line(e.restart_required[i]);
      }
      l.add(wait, Style::Dim);
    }
  } else {
    l.add("refused " + one_line(e.source), Style::Error);
    l.add(" · " + std::to_string(e.errors.size()) + (e.errors.size() == 1 ? " error" : " errors"),
          Style::Dim);
  }
  return l;
}

std::vector<Line> health_lines(const FeedModel& feed, int width, std::size_t max) {
  std::vector<Line> out;
  if (feed.health().empty()) return out;
  Line title;
  title.add("health", Style::Title);
  title.add("  " + std::to_string(feed.ejections()) + " ejected · " +
                std::to_string(feed.restorations()) + " restored",
            Style::Dim);
  out.push_back(fit_line(title, width));
  for (std::size_t i = 0; i < feed.health().size() && i < max; ++i) {
    Line l;
    l.add("  ");
    for (Span& s : health_line(feed.health()[i]).spans) l.spans.push_back(std::move(s));
    out.push_back(fit_line(l, width));
  }
  return out;
}

std::vector<Line> conversation_lines(const ChatModel& chat, int width) {
  std::vector<Line> out;
  if (chat.turns().empty()) {
    for (const std::string& w : wrap("(no messages yet — type below and press Enter)", width)) {
      out.push_back(Line().add(w, Style::Dim));
    }
    return out;
  }
  constexpr int kIndent = 5;
  const int body_width = std::max(1, width - kIndent);
  const std::string indent(kIndent, ' ');
  for (const ChatTurn& t : chat.turns()) {
    switch (t.role) {
      case ChatTurn::Role::User: {
        const auto lines = wrap(t.text, body_width);
        for (std::size_t i = 0; i < lines.size(); ++i) {
          Line l;
          l.add(i == 0 ? "you: " : indent, Style::Bold);
          l.add(lines[i]);
          out.push_back(std::move(l));
        }
        break;
      }
      case ChatTurn::Role::Notice:
        for (const std::string& w : wrap("— " + t.text, width)) out.push_back(Line().add(w, Style::Dim));
        break;
      case ChatTurn::Role::Assistant: {
        if (!t.text.empty()) {
          for (const std::string& w : wrap(t.text, body_width)) out.push_back(Line().add(indent + w));
        }
        for (const ChatToolCall& c : t.tool_calls) {
          for (const std::string& w : wrap(tool_call_text(c.name, c.arguments), body_width)) {
            out.push_back(Line().add(indent + w, Style::Plugin));
          }
        }
        if (t.in_progress) {
          out.push_back(Line().add(indent + "…", Style::Dim));
        } else if (!t.error.empty()) {
          for (const std::string& w : wrap("error: " + t.error, body_width)) {
            out.push_back(Line().add(indent + w, Style::Error));
          }
        } else if (t.text.empty() && t.tool_calls.empty()) {
          out.push_back(Line().add(indent + "(empty reply)", Style::Dim));
        }
        out.emplace_back();
        break;
      }
    }
  }
  for (Line& l : out) l = fit_line(l, width);
  return out;
}

Line input_line(const ChatModel& chat, bool focused, int width) {
  Line l;
  const bool cursor = focused && !chat.sending();
  const std::string suffix = chat.sending() ? "  (waiting for the reply)" : "";
  const int room = std::max(0, width - (cursor ? 1 : 0) - display_width(suffix));
  // Show the end of a long input: drop characters from the front until it fits.
  std::u32string cps = decode_utf8(chat.input());
  std::size_t start = 0;
  int w = display_width(chat.input());
  while (w > room && start < cps.size()) w -= char_width(cps[start++]);
  std::string shown;
  for (std::size_t i = start; i < cps.size(); ++i) append_utf8(shown, cps[i]);
  l.add(printable(shown));
  if (cursor) l.add("█", Style::Bold);
  if (!suffix.empty()) l.add(suffix, Style::Dim);
  if (chat.input().empty() && !focused) l.add("press Tab or i to type", Style::Dim);
  return fit_line(l, width);
}

Layout layout(int rows, int cols) {
  Layout lay;
  if (rows < kMinRows || cols < kMinCols) {
    lay.too_small = true;
    return lay;
  }
  const int feed_h = rows * 60 / 100;
  const int bottom_h = rows - feed_h;
  const int stats_w = cols * 35 / 100;
  constexpr int kInputH = 3;
  lay.feed = Rect{0, 0, feed_h, cols};
  lay.stats = Rect{feed_h, 0, bottom_h, stats_w};
  lay.conversation = Rect{feed_h, stats_w, bottom_h - kInputH, cols - stats_w};
  lay.input = Rect{feed_h + bottom_h - kInputH, stats_w, kInputH, cols - stats_w};
  return lay;
}

Frame render(const TuiModel& model, int rows, int cols, int64_t now_ms) {
  Frame f;
  f.rows = rows;
  f.cols = cols;
  const Layout lay = layout(rows, cols);
  if (lay.too_small) {
    f.notice = "terminal too small (" + std::to_string(cols) + "x" + std::to_string(rows) + "; need " +
               std::to_string(kMinCols) + "x" + std::to_string(kMinRows) + ") — q quits";
    return f;
  }
  const FeedModel& feed = model.feed;
  const bool feed_focus = model.focus == Focus::Feed;

  Box fb;
  fb.rect = lay.feed;
  fb.focused = feed_focus;
  fb.title.add(" Pipeline ", Style::Title);
  fb.title.add(" ");
  for (Span& s : connection_line(feed.connection(), feed.connection_since_ms(), now_ms).spans) fb.title.spans.push_back(s);
  fb.title.add("  " + std::to_string(feed.stats().requests()) + " requests");
  if (!feed.pending().empty()) fb.title.add("  " + std::to_string(feed.pending().size()) + " in flight", Style::Warn);
  if (feed.unparsed() > 0) fb.title.add("  " + std::to_string(feed.unparsed()) + " unreadable events", Style::Error);
  if (feed.scroll() > 0) fb.title.add("  ↓" + std::to_string(feed.scroll()), Style::Dim);
  fb.title.add(" ");
  fb.hint = feed_focus ? " ↑/↓ scroll  Tab/i → chat  q quit " : " Tab/i to focus ";
  const Rect fi = inner(lay.feed);
  fb.lines = feed_lines(feed, now_ms, fi.w, fi.h);
  f.boxes.push_back(std::move(fb));

  Box sb;
  sb.rect = lay.stats;
  sb.title.add(" Stats ", Style::Title);
  // The request totals, then the providers' live state and health, then the rest.
  {
    const int w = inner(lay.stats).w;
    std::vector<Line> totals = stats_lines(feed, now_ms, w);
    // The totals are the lines before the first blank one.
    const auto split =
        std::find_if(totals.begin(), totals.end(), [](const Line& l) { return l.spans.empty(); });
    sb.lines.assign(totals.begin(), split);
    sb.lines.emplace_back();
    for (Line& l : providers_lines(model.providers, now_ms, w)) sb.lines.push_back(std::move(l));
    std::vector<Line> health = health_lines(feed, w);
    if (!health.empty()) {
      sb.lines.emplace_back();
      for (Line& l : health) sb.lines.push_back(std::move(l));
    }
    for (auto it = split; it != totals.end(); ++it) sb.lines.push_back(std::move(*it));
  }
  f.boxes.push_back(std::move(sb));

  const ChatModel& chat = model.chat;
  Box cb;
  cb.rect = lay.conversation;
  cb.focused = !feed_focus;
  cb.title.add(" Chat ", Style::Title);
  cb.title.add(" model: " + one_line(chat.model()) + " ", Style::Model);
  if (const ChatTurn* r = chat.last_routed_reply()) {
    cb.right_title.add(" " + one_line(r->provider), Style::Provider);
    cb.right_title.add(" / " + one_line(r->model), Style::Model);
    add_tags(cb.right_title, r->tags, "[", "]", Style::Tag);
    cb.right_title.add(" ");
  } else {
    cb.right_title.add(" conversation ", Style::Dim);
  }
  cb.hint = feed_focus ? "" : " Enter send  Esc back  :model NAME  :clear ";
  const Rect ci = inner(lay.conversation);
  std::vector<Line> conv = conversation_lines(chat, ci.w);
  // The bottom of the conversation, moved up by the scroll.
  const int total = static_cast<int>(conv.size());
  const int max_scroll = std::max(0, total - ci.h);
  const int scroll = std::min(chat.scroll(), max_scroll);
  const int end = total - scroll;
  const int begin = std::max(0, end - ci.h);
  cb.lines.assign(conv.begin() + begin, conv.begin() + end);
  f.boxes.push_back(std::move(cb));

  Box ib;
  ib.rect = lay.input;
  ib.focused = !feed_focus;
  ib.title.add(" ▸ ", Style::Title);
  ib.lines.push_back(input_line(chat, !feed_focus, inner(lay.input).w));
  f.boxes.push_back(std::move(ib));
  return f;
}

std::vector<std::string> frame_text(const Frame& frame) {
  // A grid of cells; a wide character fills its cell and leaves the next one empty.
  std::vector<std::vector<std::string>> grid(static_cast<std::size_t>(std::max(0, frame.rows)),
                                             std::vector<std::string>(static_cast<std::size_t>(std::max(0, frame.cols)), " "));
  auto put = [&](int y, int x, std::string_view text, int max_x) {
    if (y < 0 || y >= frame.rows) return;
    for (char32_t cp : decode_utf8(printable(text))) {
      const int w = char_width(cp);
      if (x + w > max_x || x >= frame.cols) break;
      std::string cell;
      append_utf8(cell, cp);
      if (w == 0) {
        if (x > 0) grid[static_cast<std::size_t>(y)][static_cast<std::size_t>(x - 1)] += cell;
        continue;
      }
      grid[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)] = cell;
      if (w == 2 && x + 1 < frame.cols)
        grid[static_cast<std::size_t>(y)][static_cast<std::size_t>(x) + 1] = "";
      x += w;
    }
  };
  if (!frame.notice.empty()) put(0, 0, frame.notice, frame.cols);
  for (const Box& b : frame.boxes) {
    const Rect& r = b.rect;
    if (r.h < 2 || r.w < 2) continue;
    const int right = r.x + r.w - 1;
    const int bottom = r.y + r.h - 1;
    for (int x = r.x + 1; x < right; ++x) {
      put(r.y, x, "─", frame.cols);
      put(bottom, x, "─", frame.cols);
    }
    for (int y = r.y + 1; y < bottom; ++y) {
      put(y, r.x, "│", frame.cols);
      put(y, right, "│", frame.cols);
    }
    put(r.y, r.x, "┌", frame.cols);
    put(r.y, right, "┐", frame.cols);
    put(bottom, r.x, "└", frame.cols);
    put(bottom, right, "┘", frame.cols);
    const std::string title = fit(b.title.text(), r.w - 4);
    put(r.y, r.x + 2, title, right);
    const std::string rt = b.right_title.text();
    const int rt_w = display_width(rt);
    if (!rt.empty() && r.x + 2 + display_width(title) + 1 + rt_w < right - 1) put(r.y, right - 1 - rt_w, rt, right);
    if (!b.hint.empty()) put(bottom, r.x + 2, fit(b.hint, r.w - 4), right);
    const Rect in = inner(r);
    for (int i = 0; i < static_cast<int>(b.lines.size()) && i < in.h; ++i) {
      put(in.y + i, in.x, fit(b.lines[static_cast<std::size_t>(i)].text(), in.w), in.x + in.w);
    }
  }
  std::vector<std::string> rows;
  for (const auto& row : grid) {
    std::string s;
    for (const std::string& c : row) s += c;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    rows.push_back(std::move(s));
  }
  return rows;
}

}  // namespace llmrouter::console
