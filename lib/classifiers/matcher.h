// SPDX-License-Identifier: MIT
#pragma once
// A multi-pattern, case-insensitive (ASCII) substring matcher: an Aho–Corasick automaton
// compiled to a dense DFA over a compressed alphabet, so a scan costs one table lookup per
// byte whatever the number of patterns.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llmrouter::detail {

class KeywordMatcher {
 public:
  /// `patterns[i]` reports group `groups[i]` (several patterns may share a group).
  /// Empty patterns are ignored.
  KeywordMatcher(const std::vector<std::string>& patterns, const std::vector<uint32_t>& groups,
                 uint32_t group_count);

  /// Marks in `found` (size group_count) every group with a pattern occurring in one of
  /// `texts` (a match never spans two texts); returns the number of groups newly found.
  /// Stops early once every group is found.
  uint32_t scan(std::span<const std::string_view> texts, std::vector<bool>& found) const;
  uint32_t scan(std::string_view text, std::vector<bool>& found) const {
    return scan({&text, 1}, found);
  }

  uint32_t group_count() const noexcept { return group_count_; }
  std::size_t state_count() const noexcept { return outputs_.size(); }

 private:
  // A stretch of text being walked: the bytes left and the automaton's row (state * classes_).
  struct Lane {
    const char* at = nullptr;
    const char* end = nullptr;
    uint32_t row = 0;
  };
  // Walks `lanes[0, K)` in lockstep for `n` bytes each (each has at least `n` left); true
  // when every group is found.
  template <std::size_t K>
  bool walk(Lane* lanes, std::size_t n, std::vector<bool>& found, uint32_t& newly,
            uint32_t& remaining) const;
  // Reports the groups of the state behind `row`; true when every group is found.
  bool report(uint32_t row, std::vector<bool>& found, uint32_t& newly, uint32_t& remaining) const;

  uint32_t group_count_ = 0;
  std::size_t max_len_ = 0;            // longest pattern, in bytes
  uint32_t classes_ = 1;               // alphabet size after compression (class 0 = other)
  uint8_t class_of_[256] = {};         // byte (lower-cased) -> class
  uint32_t first_output_row_ = 0;      // rows from here on are states that report groups
  std::vector<uint32_t> delta_;        // row + class -> next row, row = state * classes_
  std::vector<uint32_t> out_begin_;    // state -> first index into out_groups_
  std::vector<uint32_t> outputs_;      // state -> number of groups reported there
  std::vector<uint32_t> out_groups_;
};

}  // namespace llmrouter::detail
