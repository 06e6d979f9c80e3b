// SPDX-License-Identifier: MIT
#pragma once
/// @file gateway.h
/// The team gateway: client keys (`[[keys]]`) with the models each may use, rate limits
/// (requests and tokens per minute) and a spend budget per period, enforced by the Engine
/// on every request. The counters live in a LimitStore: in this process (the memory
/// backend) or in Redis, so that several instances enforce the same limits together.
/// See docs/gateway.md.
///
/// Semantics every LimitStore implements, so that the backends agree exactly:
/// - Time is cut into one-second slots (Unix seconds). A key's rate window at slot `s` is
///   the slots `s-60 .. s` (61 slots: never less than a minute).
/// - `admit` checks, in this order: the budget (the period's spend has reached
///   `budget_usd`), the request rate (the window's requests + 1 > `rpm`), the token rate (the
///   window's tokens + the request's estimate > `tpm`). The first crossed limit is the
///   verdict and nothing is counted. Otherwise the request is counted at once: one request
///   and its estimated tokens in the current slot and in the period's totals.
/// - A refused rate's `retry_after_s` is the fewest seconds after which, with no other
///   traffic, the oldest slots have left the window and the request would fit (1 to 61); a
///   request that can never fit (its estimate alone exceeds `tpm`) gets 61. A budget's
///   `retry_after_s` is the seconds until the period ends (0 for `total`).
/// - `settle` corrects the tokens (the real usage minus the estimate, in the slot the
///   request was admitted in, while it is still in the window, and in that period's
///   totals) and adds the spend to the period it was admitted in.
/// - Each update is atomic: two instances sharing a store never admit more than a limit
///   together.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/config.h"
#include "llmrouter/result.h"
#include "llmrouter/state.h"

namespace llmrouter {

class Transport;

/// Reads an environment variable (nullopt when unset).
using KeyEnvReader = std::function<std::optional<std::string>(const std::string& name)>;

/// What a client presented, as the gateway sees it.
struct Caller {
  enum class Kind {
    /// No key, or one that matches nothing.
    Unknown,
    /// The `[server] api_key_env` key: every model, no limits, the admin endpoints.
    Operator,
    /// A `[[keys]]` entry.
    Key,
  };
  Kind kind = Kind::Unknown;
  /// The `[[keys]]` entry (Kind::Key only); it lives as long as its KeyTable.
  const KeyConfig* key = nullptr;
};

/// The key a request carries: `Authorization: Bearer KEY`, else `x-api-key: KEY`; empty
/// when neither is there. Header names are matched without case.
std::string presented_key(const std::vector<std::pair<std::string, std::string>>& headers);

/// The keys of one configuration, resolved: each entry's SHA-256 (read from its `key_env`
/// or given as `key_sha256`) and the operator key. Thread-safe once built.
class KeyTable {
 public:
  /// Resolves `config.keys` and `[server] api_key_env` with `getenv`. A `key_env` that is
  /// unset or empty is a warning (returned in `warnings`): that entry cannot be used.
  static std::shared_ptr<const KeyTable> build(const Config& config, const KeyEnvReader& getenv,
                                               std::vector<std::string>* warnings = nullptr);
  /// Whether any `[[keys]]` exist (then every API request must carry a key).
  bool enabled() const noexcept { return !entries_.empty(); }
  /// Whether an operator key is configured.
  bool has_operator() const noexcept { return has_operator_; }
  /// Who presented `key`: compared by SHA-256 against every entry, in time independent of
  /// which entry (if any) matches.
  Caller identify(std::string_view key) const;
  /// `identify(presented_key(headers))`.
  Caller identify(const std::vector<std::pair<std::string, std::string>>& headers) const;
  /// The entry named `name`, or null.
  const KeyConfig* find(std::string_view name) const;
  /// Every entry, in config order.
  const std::vector<KeyConfig>& keys() const noexcept { return keys_; }

 private:
  struct Entry {
    std::array<unsigned char, 32> digest{};
    bool usable = false;
  };
  std::vector<KeyConfig> keys_;
  std::vector<Entry> entries_;  // parallel to keys_
  std::array<unsigned char, 32> operator_digest_{};
  bool has_operator_ = false;
};

/// Whether `key` may use the requested `model` (its `models` globs; none: every model).
bool key_allows_model(const KeyConfig& key, std::string_view model);

/// The SHA-256 of `bytes`, as 64 lower-case hex digits (what `key_sha256` holds).
std::string sha256_hex(std::string_view bytes);

/// A budget period: [start, end) in Unix seconds, UTC; `id` names it in store keys
/// ("d20261203", "m202612", "total"). `total` ends never (end = INT64_MAX).
struct BudgetWindow {
  std::string id;
  int64_t start_s = 0;
  int64_t end_s = 0;
};
/// The period of `period` that `unix_s` falls in.
BudgetWindow budget_window(BudgetPeriod period, int64_t unix_s);

/// A key's limits, as a LimitStore enforces them.
struct KeyLimits {
  std::optional<uint64_t> rpm;
  std::optional<uint64_t> tpm;
  std::optional<double> budget_usd;
  BudgetPeriod period = BudgetPeriod::Month;
  static KeyLimits of(const KeyConfig& key);
};

/// One request asking to be counted (LimitStore::admit).
struct AdmitQuery {
  std::string key;  // the key's name
  KeyLimits limits;
  /// The request's estimated input tokens (estimate_input_tokens).
  uint64_t tokens = 0;
  /// Now, Unix milliseconds.
  int64_t now_ms = 0;
};

/// What `admit` decided.
struct Admission {
  enum class Verdict { Admitted, OverBudget, OverRpm, OverTpm };
  Verdict verdict = Verdict::Admitted;
  /// Refused: seconds until it would be admitted (see the file comment).
  int64_t retry_after_s = 0;
  /// Admitted: the slot (Unix second) it was counted in, for `settle`.
  int64_t slot = 0;
  /// The figures the check saw (before this request): the window's requests and tokens, the
  /// period's spend.
  uint64_t window_requests = 0;
  uint64_t window_tokens = 0;
  double spent_usd = 0.0;
  /// The budget period's end (Unix seconds; INT64_MAX for `total`).
  int64_t period_end_s = 0;
};

/// A finished request's real figures (LimitStore::settle).
struct Settlement {
  std::string key;
  KeyLimits limits;
  /// From its Admission.
  int64_t slot = 0;
  /// What admit counted, and what it really used (input + output; 0 when it failed).
  uint64_t estimated_tokens = 0;
  uint64_t tokens = 0;
  double cost_usd = 0.0;
  /// Now, Unix milliseconds.
  int64_t now_ms = 0;
};

/// A key's figures (GET /v1/usage).
struct KeyUsage {
  /// The current budget period and its totals.
  BudgetWindow period;
  uint64_t requests = 0;
  uint64_t tokens = 0;
  double spent_usd = 0.0;
  /// The rate window now.
  uint64_t window_requests = 0;
  uint64_t window_tokens = 0;
};

/// Where the gateway's counters live. Implementations are thread-safe; every callback is
/// called exactly once, either before the call returns or later on another thread (a
/// loop's), never while a lock of the caller's could be held by the store. A Result error
/// means the store could not answer (unreachable, timed out): the caller applies
/// `[state] on_error`.
class LimitStore {
 public:
  virtual ~LimitStore() = default;
  using AdmitDone = std::function<void(Result<Admission>)>;
  using UsageDone = std::function<void(Result<KeyUsage>)>;
  /// Checks `q` against its key's limits and counts it when it fits (see the file comment).
  virtual void admit(const AdmitQuery& q, AdmitDone done) = 0;
  /// Corrects the tokens and adds the spend of a request `admit` counted. Best effort: a
  /// failure is logged, never reported.
  virtual void settle(const Settlement& s) = 0;
  /// The key's figures now.
  virtual void usage(std::string_view key, const KeyLimits& limits, int64_t now_ms,
                     UsageDone done) = 0;
  /// Whether the store is reachable as far as it knows (for /metrics); the memory store
  /// always is.
  virtual bool healthy() const { return true; }
  /// Calls that failed because the store could not be reached, since start.
  virtual uint64_t errors() const { return 0; }
};

/// The LimitStore of one process.
std::shared_ptr<LimitStore> make_memory_limit_store();

/// The LimitStore in Redis (`[state] backend = "redis"`): `redis_url`'s server and DB, AUTH
/// with the password in the `redis_password_env` variable (else the URL's), keys under
/// `key_prefix`. Each admit, settle and usage is one Lua script, atomic in Redis, given the
/// caller's time (`now_ms`), so that every instance counts the same slots as the memory
/// store. Calls run on one connection on one of `transport`'s event loops (it must come from
/// make_curl_transport), never blocking it; each has `redis_timeout` to answer, after which
/// it fails and the connection is made again (after a short backoff). An outage is logged
/// when it starts and when it ends, and shows in `healthy()` and `errors()`.
/// Errors: Errc::Config when `redis_url` is not a Redis URL or the `redis_password_env`
/// variable is unset or empty; Errc::InvalidArgument for a transport without event loops. A
/// Redis that cannot be reached at start-up is no error: the store keeps trying.
/// The store keeps `transport`. Its destructor fails the calls still pending (each callback
/// gets Errc::Cancelled) and closes the connection on the loop, waiting for that (except on
/// a loop thread). When the transport shuts down first, the store does the same as it
/// does, and its calls fail at once from then on.
[[nodiscard]] Result<std::shared_ptr<LimitStore>> make_redis_limit_store(
    const StateConfig& state, const KeyEnvReader& getenv, std::shared_ptr<Transport> transport);

/// What `[state] backend = "redis"` keeps in Redis, on one connection (closed when both are
/// gone): the LimitStore of make_redis_limit_store, and the conversations of Responses
/// clients (state.h), so that a conversation started through one instance continues
/// through another.
struct RedisStores {
  std::shared_ptr<LimitStore> limits;
  /// Keeps each conversation here (a MemoryResponseStore with `responses_*`'s limits) and
  /// sends it to Redis as `{key_prefix}resp:{ID}` with `responses_ttl` (not waited for; a
  /// failure is logged and counted in the LimitStore's `errors()`; a conversation over
  /// `responses_max_bytes` as JSON stays here). `prefetch` asks Redis for an id it does not hold
  /// (within `redis_timeout`); when that failed, `get` answers 503 ("the conversation store cannot
  /// be reached"), an entry Redis holds but that does not decode 500. `remote()` is true.
  std::shared_ptr<ResponseStore> responses;
};

/// Both Redis stores, with make_redis_limit_store's errors and lifetime.
[[nodiscard]] Result<RedisStores> make_redis_stores(const StateConfig& state,
                                                    const KeyEnvReader& getenv,
                                                    std::shared_ptr<Transport> transport);

/// Unix milliseconds now (the clock the gateway counts with).
int64_t unix_now_ms();

/// `unix_s` as an RFC 3339 UTC time ("2027-01-01T00:00:00Z").
std::string utc_text(int64_t unix_s);

/// The gateway's refusals, for encode_error in the client's format:
/// 401: no key, or one that matches no `[[keys]]` entry nor the operator key.
Error unknown_key_error();
/// 403 (`permission_error`, code `permission_denied`): `key` may not use `model`.
Error model_denied_error(const KeyConfig& key, std::string_view model);
/// 429 for a refused Admission: `rate_limit_exceeded` with `retry-after`, or for a budget
/// OpenAI's `insufficient_quota` naming when the period ends.
Error limit_error(const KeyConfig& key, const Admission& a, uint64_t estimated_tokens);
/// 503: the limit store cannot be reached and `[state] on_error` is "deny".
Error state_unavailable_error(const Error& cause);

}  // namespace llmrouter
