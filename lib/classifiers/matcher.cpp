// SPDX-License-Identifier: MIT
#include "classifiers/matcher.h"

#include <algorithm>
#include <cstdint>
#include <deque>

namespace llmrouter::detail {
namespace {

constexpr uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }

}  // namespace

KeywordMatcher::KeywordMatcher(const std::vector<std::string>& patterns,
                               const std::vector<uint32_t>& groups, uint32_t group_count)
    : group_count_(group_count) {
  // Alphabet: one class per distinct (lower-cased) byte used by a pattern.
  for (const std::string& p : patterns) {
    max_len_ = std::max(max_len_, p.size());
    for (char ch : p) {
      const uint8_t c = lower(static_cast<uint8_t>(ch));
      // Beyond 255 classes the remaining bytes share class 0 with every other byte; the
      // automaton stays correct for the patterns it could encode.
      if (class_of_[c] == 0 && classes_ < 256) class_of_[c] = static_cast<uint8_t>(classes_++);
    }
  }
  for (int c = 'A'; c <= 'Z'; ++c) class_of_[c] = class_of_[c + 32];

  // Trie with goto edges (0 = none; state 0 is the root).
  std::vector<uint32_t> go(classes_, 0);
  std::vector<std::vector<uint32_t>> out(1);
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i].empty()) continue;
    uint32_t s = 0;
    for (char ch : patterns[i]) {
      const uint8_t cls = class_of_[lower(static_cast<uint8_t>(ch))];
      uint32_t& next = go[s * classes_ + cls];
      if (next == 0) {
        next = static_cast<uint32_t>(out.size());
        out.emplace_back();
        go.resize(go.size() + classes_, 0);
      }
      s = go[s * classes_ + cls];
    }
    out[s].push_back(groups[i]);
  }

  // Breadth-first: failure links folded into a full transition table (a DFA), and each
  // state's outputs merged with its failure state's.
  const std::size_t n = out.size();
  delta_.assign(n * classes_, 0);
  std::vector<uint32_t> fail(n, 0);
  std::deque<uint32_t> queue;
  for (uint32_t c = 0; c < classes_; ++c) {
    const uint32_t t = go[c];
    delta_[c] = t;
    if (t) queue.push_back(t);
  }
  while (!queue.empty()) {
    const uint32_t s = queue.front();
    queue.pop_front();
    for (uint32_t g : out[fail[s]]) out[s].push_back(g);
    for (uint32_t c = 0; c < classes_; ++c) {
      const uint32_t t = go[s * classes_ + c];
      if (t) {
        fail[t] = delta_[fail[s] * classes_ + c];
        delta_[s * classes_ + c] = t;
        queue.push_back(t);
      } else {
        delta_[s * classes_ + c] = delta_[fail[s] * classes_ + c];
      }
    }
  }
  // Final form of the table: states are renumbered so that those reporting groups come
  // last, and each entry is the next state's row offset (new number * classes_). A row at
  // or past first_output_row_ reports groups, so a scan needs one load and one compare per
  // byte. The root (no output: patterns are not empty) keeps number and row 0.
  std::vector<uint32_t> order;  // new number -> state
  order.reserve(n);
  for (uint32_t s = 0; s < n; ++s) {
    if (out[s].empty()) order.push_back(s);
  }
  first_output_row_ = static_cast<uint32_t>(order.size()) * classes_;
  for (uint32_t s = 0; s < n; ++s) {
    if (!out[s].empty()) order.push_back(s);
  }
  std::vector<uint32_t> number(n);
  for (uint32_t i = 0; i < n; ++i) number[order[i]] = i;
  std::vector<uint32_t> rows(n * classes_);
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t c = 0; c < classes_; ++c)
      rows[i * classes_ + c] = number[delta_[order[i] * classes_ + c]] * classes_;
  }
  delta_ = std::move(rows);
  out_begin_.resize(n);
  outputs_.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<uint32_t>& groups_here = out[order[i]];
    std::sort(groups_here.begin(), groups_here.end());
    groups_here.erase(std::unique(groups_here.begin(), groups_here.end()), groups_here.end());
    out_begin_[i] = static_cast<uint32_t>(out_groups_.size());
    outputs_[i] = static_cast<uint32_t>(groups_here.size());
    out_groups_.insert(out_groups_.end(), groups_here.begin(), groups_here.end());
  }
}

bool KeywordMatcher::report(uint32_t row, std::vector<bool>& found, uint32_t& newly, uint32_t& remaining) const {
  const uint32_t s = row / classes_;
  for (uint32_t k = 0; k < outputs_[s]; ++k) {
    const uint32_t g = out_groups_[out_begin_[s] + k];
    if (!found[g]) {
      found[g] = true;
      ++newly;
      if (--remaining == 0) return true;
    }
  }
  return false;
}

template <std::size_t K>
bool KeywordMatcher::walk(Lane* lanes, std::size_t n, std::vector<bool>& found, uint32_t& newly,
                          uint32_t& remaining) const {
  // Copies in locals and an unrolled inner loop, so the K rows stay in registers.
  const uint32_t* delta = delta_.data();
  const uint32_t first_output = first_output_row_;
  const char* at[K];
  uint32_t row[K];
  for (std::size_t k = 0; k < K; ++k) {
    at[k] = lanes[k].at;
    row[k] = lanes[k].row;
  }
  for (std::size_t i = 0; i < n; ++i) {
#pragma GCC unroll 4
    for (std::size_t k = 0; k < K; ++k) {
      row[k] = delta[row[k] + class_of_[static_cast<uint8_t>(at[k][i])]];
      if (row[k] >= first_output && report(row[k], found, newly, remaining)) return true;
    }
  }
  for (std::size_t k = 0; k < K; ++k) {
    lanes[k].at = at[k] + n;
    lanes[k].row = row[k];
  }
  return false;
}

uint32_t KeywordMatcher::scan(std::span<const std::string_view> texts,
                              std::vector<bool>& found) const {
  uint32_t newly = 0;
  uint32_t remaining = 0;
  for (uint32_t g = 0; g < group_count_; ++g) remaining += found[g] ? 0 : 1;
  if (remaining == 0 || max_len_ == 0) return 0;

  // A DFA walk is bound by the latency of one table load per byte, so the texts are cut
  // into segments walked up to kWays at a time in lockstep: that many independent loads
  // are in flight. A text is one segment unless it is longer than a lane's share of the
  // whole (and a few pattern lengths): then it is cut, each piece after the first starting
  // max_len_ - 1 bytes early so that a match across a cut is still seen.
  constexpr std::size_t kWays = 4;  // the switch below has a case per lane count
  std::size_t total = 0;
  for (std::string_view t : texts) total += t.size();
  const std::size_t segment = std::max(total / kWays + 1, 4 * max_len_);
  std::size_t text = 0;  // the next segment starts at texts[text][offset]
  std::size_t offset = 0;
  const auto next_segment = [&](Lane& lane) {
    while (text < texts.size() && offset >= texts[text].size()) {
      ++text;
      offset = 0;
    }
    if (text == texts.size()) return false;
    const std::string_view t = texts[text];
    const std::size_t begin = offset == 0 ? 0 : offset - (max_len_ - 1);
    offset = std::min(t.size(), offset + segment);
    lane = Lane{t.data() + begin, t.data() + offset, 0};
    return true;
  };

  Lane lanes[kWays];
  std::size_t live = 0;  // lanes[0, live) have bytes left
  for (;;) {
    while (live < kWays && next_segment(lanes[live])) ++live;
    if (live == 0) return newly;
    // Walk the live lanes until the shortest one ends; then it takes the next segment.
    std::size_t n = SIZE_MAX;
    for (std::size_t k = 0; k < live; ++k)
      n = std::min(n, static_cast<std::size_t>(lanes[k].end - lanes[k].at));
    bool all_found = false;
    switch (live) {
      case 1:
        all_found = walk<1>(lanes, n, found, newly, remaining);
        break;
      case 2:
        all_found = walk<2>(lanes, n, found, newly, remaining);
        break;
      case 3:
        all_found = walk<3>(lanes, n, found, newly, remaining);
        break;
      default:
        all_found = walk<kWays>(lanes, n, found, newly, remaining);
        break;
    }
    if (all_found) return newly;
    live = static_cast<std::size_t>(
        std::remove_if(lanes, lanes + live, [](const Lane& l) { return l.at == l.end; }) - lanes);
  }
}

}  // namespace llmrouter::detail
