// SPDX-License-Identifier: MIT
#pragma once
// A multi-pattern, case-insensitive (ASCII) substring matcher: an Aho–Corasick automaton
// compiled to a dense DFA over a compressed alphabet, so a scan costs one table lookup per
// byte whatever the number of patterns.

#include <cstdint>
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

  /// Marks in `found` (size group_count) every group with a pattern occurring in `text`;
  /// returns the number of groups newly found. Stops early once every group is found.
  uint32_t scan(std::string_view text, std::vector<bool>& found) const;

  uint32_t group_count() const noexcept { return group_count_; }
  std::size_t state_count() const noexcept { return outputs_.size(); }

 private:
  uint32_t group_count_ = 0;
  uint32_t classes_ = 1;               // alphabet size after compression (class 0 = other)
  uint8_t class_of_[256] = {};         // byte (lower-cased) -> class
  std::vector<uint32_t> delta_;        // state * classes_ + class -> next state
  std::vector<uint32_t> out_begin_;    // state -> first index into out_groups_
  std::vector<uint32_t> outputs_;      // state -> number of groups reported there
  std::vector<uint32_t> out_groups_;
};

}  // namespace llmrouter::detail
