// SPDX-License-Identifier: MIT
#include "terminal.h"

#include <curses.h>

#include <string>

#include "text.h"

namespace llmrouter::tui {
namespace {

using console::Key;
using console::Style;

bool g_colors = false;

enum Pair : short { kGreen = 1, kCyan, kYellow, kMagenta, kBlue, kRed };

attr_t attributes(Style s) {
  auto pair = [](short p) -> attr_t { return g_colors ? static_cast<attr_t>(COLOR_PAIR(p)) : 0; };
  switch (s) {
    case Style::Normal:
      return A_NORMAL;
    case Style::Dim:
    case Style::Tokens:
      return A_DIM;
    case Style::Bold:
    case Style::Title:
      return A_BOLD;
    case Style::Provider:
      return pair(kGreen);
    case Style::Ok:
      return pair(kGreen) | A_BOLD;
    case Style::Model:
      return pair(kCyan);
    case Style::Tag:
    case Style::Warn:
      return pair(kYellow);
    case Style::Plugin:
      return pair(kMagenta);
    case Style::ResponseTag:
      return pair(kBlue);
    case Style::Error:
      return pair(kRed) | A_BOLD;
  }
  return A_NORMAL;
}

// Writes `text` at (y, x), at most up to column `max_x` (exclusive).
int put(int y, int x, const std::string& text, int max_x, attr_t attr) {
  if (x >= max_x) return x;
  const std::string shown = console::fit(console::printable(text), max_x - x);
  attron(attr);
  mvaddstr(y, x, shown.c_str());
  attroff(attr);
  return x + console::display_width(shown);
}

int put_line(int y, int x, const console::Line& line, int max_x) {
  for (const console::Span& s : line.spans) {
    if (x >= max_x) break;
    x = put(y, x, s.text, max_x, attributes(s.style));
  }
  return x;
}

void draw_box(const console::Box& b) {
  const console::Rect& r = b.rect;
  if (r.h < 2 || r.w < 2) return;
  const attr_t border = b.focused ? (A_BOLD | (g_colors ? static_cast<attr_t>(COLOR_PAIR(kCyan)) : 0)) : A_DIM;
  const int right = r.x + r.w - 1;
  const int bottom = r.y + r.h - 1;
  attron(border);
  mvhline(r.y, r.x + 1, ACS_HLINE, r.w - 2);
  mvhline(bottom, r.x + 1, ACS_HLINE, r.w - 2);
  mvvline(r.y + 1, r.x, ACS_VLINE, r.h - 2);
  mvvline(r.y + 1, right, ACS_VLINE, r.h - 2);
  mvaddch(r.y, r.x, ACS_ULCORNER);
  mvaddch(r.y, right, ACS_URCORNER);
  mvaddch(bottom, r.x, ACS_LLCORNER);
  mvaddch(bottom, right, ACS_LRCORNER);
  attroff(border);
  const int title_end = put_line(r.y, r.x + 2, b.title, right - 1);
  const int rt_w = console::display_width(b.right_title.text());
  if (rt_w > 0 && title_end + 1 + rt_w < right - 1) put_line(r.y, right - 1 - rt_w, b.right_title, right - 1);
  if (!b.hint.empty()) put(bottom, r.x + 2, b.hint, right - 1, A_DIM);
  const int inner_h = r.h - 2;
  for (int i = 0; i < inner_h && i < static_cast<int>(b.lines.size()); ++i) {
    put_line(r.y + 1 + i, r.x + 1, b.lines[static_cast<std::size_t>(i)], right);
  }
}

}  // namespace

Terminal::Terminal() {
  initscr();
  raw();  // Ctrl-C arrives as a key (3), handled like q
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  set_escdelay(25);
  curs_set(0);
  if (has_colors()) {
    start_color();
    use_default_colors();
    init_pair(kGreen, COLOR_GREEN, -1);
    init_pair(kCyan, COLOR_CYAN, -1);
    init_pair(kYellow, COLOR_YELLOW, -1);
    init_pair(kMagenta, COLOR_MAGENTA, -1);
    init_pair(kBlue, COLOR_BLUE, -1);
    init_pair(kRed, COLOR_RED, -1);
    g_colors = true;
  }
}

Terminal::~Terminal() {
  curs_set(1);
  endwin();
}

int Terminal::rows() const { return LINES; }
int Terminal::cols() const { return COLS; }

std::optional<Key> Terminal::read_key(int timeout_ms) {
  timeout(timeout_ms);
  wint_t ch = 0;
  const int r = get_wch(&ch);
  if (r == ERR) return std::nullopt;
  if (r == KEY_CODE_YES) {
    switch (ch) {
      case KEY_UP:
        return Key::of(Key::Code::Up);
      case KEY_DOWN:
        return Key::of(Key::Code::Down);
      case KEY_PPAGE:
        return Key::of(Key::Code::PageUp);
      case KEY_NPAGE:
        return Key::of(Key::Code::PageDown);
      case KEY_HOME:
        return Key::of(Key::Code::Home);
      case KEY_END:
        return Key::of(Key::Code::End);
      case KEY_ENTER:
        return Key::of(Key::Code::Enter);
      case KEY_BACKSPACE:
        return Key::of(Key::Code::Backspace);
      case KEY_BTAB:
        return Key::of(Key::Code::Tab);
      default:
        return std::nullopt;  // KEY_RESIZE included: the next draw uses the new size
    }
  }
  switch (ch) {
    case 3:
      return Key::of(Key::Code::Interrupt);
    case 27:
      return Key::of(Key::Code::Escape);
    case '\t':
      return Key::of(Key::Code::Tab);
    case '\n':
    case '\r':
      return Key::of(Key::Code::Enter);
    case 8:
    case 127:
      return Key::of(Key::Code::Backspace);
    case 21:
      return Key::of(Key::Code::ClearLine);
    default:
      break;
  }
  if (ch < 0x20) return std::nullopt;
  return Key::character(static_cast<char32_t>(ch));
}

void Terminal::draw(const console::Frame& frame) {
  erase();
  if (!frame.notice.empty()) put(0, 0, frame.notice, COLS, A_BOLD);
  for (const console::Box& b : frame.boxes) draw_box(b);
  refresh();
}

}  // namespace llmrouter::tui
