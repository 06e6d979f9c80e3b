// SPDX-License-Identifier: MIT
#pragma once
// The providers' live state (`GET <base>/v1/providers`, docs/server.md) as data: one row
// per configured provider with its state and the figures the stats pane shows, and when
// the table was last read. Single-threaded, like FeedModel; times are wall-clock ms passed
// in by the caller.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/result.h"

namespace llmrouter::console {

/// One timing figure: p50 and p95 over the provider's latest samples.
struct ProviderTiming {
  double mean = 0;
  double p50 = 0;
  double p95 = 0;
  uint64_t samples = 0;
};

struct ProviderRow {
  std::string name;
  /// "ok", "ejected", "probing", "at_capacity" or "unavailable".
  std::string state;
  uint64_t in_flight = 0;
  /// 0: unlimited.
  uint64_t max_concurrency = 0;
  uint64_t attempts = 0;
  uint64_t failures = 0;
  /// Weighted share of failed attempts, 0 to 1.
  double error_rate = 0;
  /// Absent before the first sample.
  std::optional<ProviderTiming> ttft_ms;
  std::optional<ProviderTiming> total_ms;
  std::optional<ProviderTiming> tokens_per_s;
  /// RFC 3339, while ejected.
  std::string ejected_until;
};

/// Parses a `GET /v1/providers` body. Unknown members are ignored. Errors
/// (Errc::InvalidRequest): invalid JSON, no `data` array, a member of the wrong type.
[[nodiscard]] Result<std::vector<ProviderRow>> parse_providers(std::string_view json);

/// What the last reads of /v1/providers said.
class ProvidersModel {
 public:
  /// A read succeeded at local time `now_ms`.
  void update(std::vector<ProviderRow> rows, int64_t now_ms);
  /// A read failed: the rows are kept (as of `updated_ms`), the error is shown.
  void set_error(std::string error, int64_t now_ms);

  const std::vector<ProviderRow>& rows() const { return rows_; }
  /// When the rows were read (0: never).
  int64_t updated_ms() const { return updated_ms_; }
  /// The last read's error; empty after a successful read.
  const std::string& error() const { return error_; }
  int64_t failed_ms() const { return failed_ms_; }

 private:
  std::vector<ProviderRow> rows_;
  int64_t updated_ms_ = 0;
  std::string error_;
  int64_t failed_ms_ = 0;
};

}  // namespace llmrouter::console
