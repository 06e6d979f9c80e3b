// SPDX-License-Identifier: MIT
#pragma once
// The TUI's only contact with the terminal (ncursesw): key input decoded into console::Key
// and Frames painted. Everything it shows comes from console::render.

#include <optional>

#include "render.h"
#include "tui_model.h"

namespace llmrouter::tui {

class Terminal {
 public:
  /// Enters curses mode (raw keys, no echo, hidden cursor, colours when available).
  Terminal();
  /// Leaves curses mode and restores the terminal.
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  /// The next key, waiting at most `timeout_ms`; std::nullopt on timeout, on a resize and
  /// for keys the TUI does not use.
  std::optional<console::Key> read_key(int timeout_ms);
  int rows() const;
  int cols() const;
  /// Paints `frame` (the whole screen) and shows it.
  void draw(const console::Frame& frame);
};

}  // namespace llmrouter::tui
