// SPDX-License-Identifier: MIT
#pragma once
// Puts canonical content events in wire order for formats whose streams carry one block at
// a time (Anthropic content blocks, Responses output items): start, deltas, stop, then the
// next block. Events of a block that arrive while another is open (OpenAI may interleave
// parallel tool calls) are held back and released when the open one stops. Done and
// StreamError first close the open block and release everything held, so every block an
// encoder sees is complete before the stream ends.

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "llmrouter/response.h"

namespace llmrouter::detail {

/// The block index of a content event, or nullopt for message-level events.
std::optional<uint32_t> block_index(const StreamEvent& e);

class BlockSequencer {
 public:
  /// Passes `e` to `emit(const StreamEvent&)` now, later, or with held events before it.
  template <class Emit>
  void push(const StreamEvent& e, Emit&& emit) {
    const std::optional<uint32_t> index = block_index(e);
    if (!index) {
      if (std::holds_alternative<Done>(e) || std::holds_alternative<StreamError>(e)) {
        if (current_) {
          emit(StreamEvent{BlockStop{*current_}});
          current_.reset();
        }
        while (!held_.empty()) {
          Held h = std::move(held_.front());
          held_.pop_front();
          for (const StreamEvent& x : h.events) emit(x);
          if (!h.stopped) emit(StreamEvent{BlockStop{h.index}});
        }
      }
      emit(e);
      return;
    }
    const bool stop = std::holds_alternative<BlockStop>(e);
    if (!current_ && !find(*index)) current_ = *index;
    if (current_ == index) {
      emit(e);
      if (stop) {
        current_.reset();
        release(emit);
      }
      return;
    }
    Held* h = find(*index);
    if (!h) {
      held_.push_back(Held{*index, {}, false});
      h = &held_.back();
    }
    h->events.push_back(e);
    if (stop) h->stopped = true;
  }

 private:
  struct Held {
    uint32_t index = 0;
    std::vector<StreamEvent> events;
    bool stopped = false;
  };

  Held* find(uint32_t index) {
    for (Held& h : held_) {
      if (h.index == index) return &h;
    }
    return nullptr;
  }

  template <class Emit>
  void release(Emit& emit) {
    while (!current_ && !held_.empty()) {
      Held h = std::move(held_.front());
      held_.pop_front();
      for (const StreamEvent& x : h.events) emit(x);
      if (!h.stopped) current_ = h.index;
    }
  }

  std::optional<uint32_t> current_;
  std::deque<Held> held_;
};

}  // namespace llmrouter::detail
