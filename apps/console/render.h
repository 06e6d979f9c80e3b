// SPDX-License-Identifier: MIT
#pragma once
// The TUI's screen as data: boxes with titles and styled lines, computed from the
// TuiModel for a given terminal size. apps/tui paints a Frame with ncurses; tests read it
// as text (`frame_text`).
//
// Layout (docs/console.md): the top 60% is the pipeline feed; the bottom 40% is split into
// stats (left 35%: the running totals, the providers' live state from GET /v1/providers,
// and the latest ejections and restorations) and the chat (right 65%: the conversation
// above a 3-row input box).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tui_model.h"

namespace llmrouter::console {

enum class Style : uint8_t {
  Normal,
  Dim,
  Bold,
  Title,
  Provider,
  Model,
  Tag,
  Plugin,
  ResponseTag,
  Tokens,
  Ok,
  Warn,
  Error,
};

struct Span {
  std::string text;
  Style style = Style::Normal;
};

struct Line {
  std::vector<Span> spans;
  Line& add(std::string text, Style style = Style::Normal);
  /// The spans' text joined.
  std::string text() const;
};

struct Rect {
  int y = 0;
  int x = 0;
  int h = 0;
  int w = 0;
};

/// A bordered box: titles on the top border, a hint on the bottom one, lines inside
/// (clipped to the inner width and height by the painter).
struct Box {
  Rect rect;
  Line title;
  Line right_title;
  std::string hint;
  bool focused = false;
  std::vector<Line> lines;
};

struct Layout {
  Rect feed;
  Rect stats;
  Rect conversation;
  Rect input;
  /// The terminal is below kMinRows x kMinCols: only a notice is drawn.
  bool too_small = false;
};

constexpr int kMinRows = 12;
constexpr int kMinCols = 50;

Layout layout(int rows, int cols);

struct Frame {
  int rows = 0;
  int cols = 0;
  std::vector<Box> boxes;  ///< feed, stats, conversation, input (none when too small)
  std::string notice;      ///< set when the terminal is too small
};

/// The whole screen at local wall-clock time `now_ms`.
Frame render(const TuiModel& model, int rows, int cols, int64_t now_ms);

/// The frame as plain text, one string per row (borders drawn with box characters), for
/// tests and debugging.
std::vector<std::string> frame_text(const Frame& frame);

// ---- The pieces (exposed for tests and for llmrouter-watch).

/// Local time of day "HH:MM:SS" of `ts_ms` (ms since the epoch).
std::string clock_time(int64_t ts_ms);
/// "3s ago", "4m ago", "2h ago", "3d ago"; "never" for `then_ms` == 0.
std::string ago(int64_t then_ms, int64_t now_ms);
/// The feed's connection in a few words: "live", "connecting…", "HTTP 401: ... · retry in 2s".
Line connection_line(const FeedState& state, int64_t since_ms, int64_t now_ms);

/// Feed lines for an inner width and height.
std::vector<Line> feed_lines(const FeedModel& feed, int64_t now_ms, int width, int height);
std::vector<Line> stats_lines(const FeedModel& feed, int64_t now_ms, int width);
/// The providers' live state: a title with the age of the figures (or the last read's
/// error), then per provider its name, state and requests in flight, and once it was tried
/// a second line with ttft p50/p95, output tokens per second and error rate.
std::vector<Line> providers_lines(const ProvidersModel& providers, int64_t now_ms, int width);
/// One health event: "12:00:01  name  ejected for 30s · 5 failures · reason" or
/// "12:00:31  name  restored".
Line health_line(const HealthEvent& event);
/// A configuration reload: "HH:MM:SS  reload  applied FILE", with the settings that wait
/// for a restart, or "refused FILE · N errors".
Line reload_line(const ReloadEvent& event);
/// The latest `max` health events (newest first) under a title with the totals; none when
/// there were none.
std::vector<Line> health_lines(const FeedModel& feed, int width, std::size_t max = 5);
/// Every line of the conversation (the painter shows the bottom part, minus the scroll).
std::vector<Line> conversation_lines(const ChatModel& chat, int width);
Line input_line(const ChatModel& chat, bool focused, int width);

}  // namespace llmrouter::console
