// SPDX-License-Identifier: MIT
// The team gateway's key table: [[keys]] and the operator key resolved to SHA-256 digests,
// looked up in constant time; budget periods; model globs.
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <limits>

#include <fmt/format.h>

#include "llmrouter/gateway.h"
#include "llmrouter/log.h"
#include "util/strings.h"

namespace llmrouter {
namespace {

using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view bytes) {
  // Fetched once: OpenSSL 3's implicit fetch by EVP_sha256() costs more than the digest of
  // a key.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  Digest d{};
  unsigned int n = 0;
  if (!md || EVP_Digest(bytes.data(), bytes.size(), d.data(), &n, md, nullptr) != 1 ||
      n != d.size()) {
    // Cannot happen with OpenSSL's default provider; a zero digest matches no entry (entries
    // are usable only with a real digest).
    d.fill(0);
  }
  return d;
}

std::optional<Digest> from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Digest d{};
  for (std::size_t i = 0; i < 32; ++i) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return d;
}

// 1 when equal, 0 otherwise, in time independent of the contents.
unsigned same(const Digest& a, const Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0 ? 1u : 0u;
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian), after H. Hinnant's algorithm.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::string presented_key(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string api_key;
  for (const auto& [name, value] : headers) {
    if (detail::equals_ignoring_case(name, "authorization")) {
      if (value.size() > 7 &&
          detail::equals_ignoring_case(std::string_view(value).substr(0, 7), "bearer ")) {
        std::string_view v = std::string_view(value).substr(7);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
        if (!v.empty()) return std::string(v);
      }
    } else if (api_key.empty() && detail::equals_ignoring_case(name, "x-api-key")) {
      api_key = value;
    }
  }
  return api_key;
}

std::string sha256_hex(std::string_view bytes) {
  const Digest d = sha256(bytes);
  std::string out;
  out.reserve(64);
  for (unsigned char c : d) out += fmt::format("{:02x}", c);
  return out;
}

std::shared_ptr<const KeyTable> KeyTable::build(const Config& config, const KeyEnvReader& getenv,
                                                std::vector<std::string>* warnings) {
  auto table = std::make_shared<KeyTable>();
  auto warn = [&](std::string text) {
    if (warnings) warnings->push_back(std::move(text));
  };
  if (config.server.api_key_env && getenv) {
    if (auto v = getenv(*config.server.api_key_env); v && !v->empty()) {
      table->operator_digest_ = sha256(*v);
      table->has_operator_ = true;
    }
  }
  for (const KeyConfig& k : config.keys) {
    Entry e;
    if (k.key_sha256) {
      if (auto d = from_hex(*k.key_sha256)) {
        e.digest = *d;
        e.usable = true;
      }
    } else if (k.key_env) {
      auto v = getenv ? getenv(*k.key_env) : std::nullopt;
      if (v && !v->empty()) {
        e.digest = sha256(*v);
        e.usable = true;
      } else {
        warn(fmt::format(
            "{}:{}:{}: keys[{}] '{}': the environment variable {} is not set (or empty): this key "
            "cannot be used (set it and restart the router, or give the key as key_sha256, which a "
            "reload picks up)",
            config.source, k.loc.line, k.loc.column, table->keys_.size(), k.name, *k.key_env));
      }
    }
    // A key that another entry (or the operator key) also is: the first match wins, so this
    // entry could never be identified. Only a key_env can collide (digests are unique).
    if (e.usable) {
      if (table->has_operator_ && same(e.digest, table->operator_digest_)) {
        warn(fmt::format(
            "{}:{}:{}: keys[{}] '{}': its key is the operator key ([server] api_key_env); requests "
            "with it are the operator's, without limits",
            config.source, k.loc.line, k.loc.column, table->keys_.size(), k.name));
      }
      for (std::size_t i = 0; i < table->entries_.size(); ++i) {
        if (table->entries_[i].usable && same(e.digest, table->entries_[i].digest)) {
          warn(fmt::format(
              "{}:{}:{}: keys[{}] '{}': its key is also the key of '{}', which is matched first: "
              "this entry is never used",
              config.source, k.loc.line, k.loc.column, table->keys_.size(), k.name,
              table->keys_[i].name));
          break;
        }
      }
    }
    table->keys_.push_back(k);
    table->entries_.push_back(e);
  }
  return table;
}

Caller KeyTable::identify(std::string_view key) const {
  Caller who;
  if (key.empty()) return who;
  const Digest d = sha256(key);
  // Every entry is compared whichever matches, so the time taken says nothing of the key.
  unsigned is_operator = has_operator_ ? same(d, operator_digest_) : 0u;
  std::size_t match = keys_.size();
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const unsigned hit = same(d, entries_[i].digest) & (entries_[i].usable ? 1u : 0u);
    // Branch-free select of the first match.
    const std::size_t take =
        static_cast<std::size_t>(0) - static_cast<std::size_t>(hit & (match == keys_.size()));
    match = (i & take) | (match & ~take);
  }
  if (is_operator) {
    who.kind = Caller::Kind::Operator;
  } else if (match < keys_.size()) {
    who.kind = Caller::Kind::Key;
    who.key = &keys_[match];
  }
  return who;
}

Caller KeyTable::identify(const std::vector<std::pair<std::string, std::string>>& headers) const {
  return identify(presented_key(headers));
}

const KeyConfig* KeyTable::find(std::string_view name) const {
  for (const KeyConfig& k : keys_) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

bool key_allows_model(const KeyConfig& key, std::string_view model) {
  if (key.models.empty()) return true;
  for (const std::string& pattern : key.models) {
    if (detail::glob_match(pattern, model)) return true;
  }
  return false;
}

BudgetWindow budget_window(BudgetPeriod period, int64_t unix_s) {
  BudgetWindow w;
  if (period == BudgetPeriod::Total) {
    w.id = "total";
    w.start_s = 0;
    w.end_s = std::numeric_limits<int64_t>::max();
    return w;
  }
  const int64_t days = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
  // Civil date of `days` (H. Hinnant's civil_from_days).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  if (period == BudgetPeriod::Day) {
    w.id = fmt::format("d{:04}{:02}{:02}", y, m, d);
    w.start_s = days * 86400;
    w.end_s = w.start_s + 86400;
  } else {
    w.id = fmt::format("m{:04}{:02}", y, m);
    w.start_s = days_from_civil(y, m, 1) * 86400;
    w.end_s = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) * 86400;
  }
  return w;
}

KeyLimits KeyLimits::of(const KeyConfig& key) {
  return KeyLimits{key.rpm, key.tpm, key.budget_usd, key.budget_period};
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc_text(int64_t unix_s) {
  const auto t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return std::to_string(unix_s);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

Error unknown_key_error() {
  Error e{Errc::InvalidRequest,
          "invalid or missing API key: send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'",
          401,
          {}};
  e.api_code = "invalid_api_key";
  return e;
}

Error model_denied_error(const KeyConfig& key, std::string_view model) {
  std::string allowed;
  for (const std::string& m : key.models) {
    if (!allowed.empty()) allowed += ", ";
    allowed += m;
  }
  Error e{Errc::InvalidRequest,
          fmt::format("the key '{}' may not use the model '{}' (it may use: {})", key.name, model,
                      allowed),
          403,
          {}};
  e.api_code = "permission_denied";
  return e;
}

Error limit_error(const KeyConfig& key, const Admission& a, uint64_t estimated_tokens) {
  Error e{Errc::Overloaded, {}, 429, {}};
  switch (a.verdict) {
    case Admission::Verdict::OverBudget: {
      const std::string_view period = key.budget_period == BudgetPeriod::Day     ? "day"
                                      : key.budget_period == BudgetPeriod::Month ? "month"
                                                                                 : "total";
      if (key.budget_period == BudgetPeriod::Total) {
        e.message = fmt::format(
            "the key '{}' has used its total budget of ${:.2f} (spent ${:.4f}); it does not renew",
            key.name, key.budget_usd.value_or(0.0), a.spent_usd);
      } else {
        e.message = fmt::format(
            "the key '{}' has used its budget of ${:.2f} for the {} (spent ${:.4f}); it renews at "
            "{}",
            key.name, key.budget_usd.value_or(0.0), period, a.spent_usd, utc_text(a.period_end_s));
      }
      e.api_type = "insufficient_quota";
      e.api_code = "insufficient_quota";
      break;
    }
    case Admission::Verdict::OverRpm:
      e.message =
          fmt::format("the key '{}' is over its limit of {} requests per minute; retry after {} s",
                      key.name, key.rpm.value_or(0), a.retry_after_s);
      e.api_code = "rate_limit_exceeded";
      break;
    case Admission::Verdict::OverTpm:
      e.message =
          estimated_tokens > key.tpm.value_or(0)
              ? fmt::format(
                    "the key '{}' has a limit of {} tokens per minute, and this request alone is "
                    "estimated at {} input tokens",
                    key.name, key.tpm.value_or(0), estimated_tokens)
              : fmt::format(
                    "the key '{}' is over its limit of {} tokens per minute (this request is "
                    "estimated at {} input tokens); retry after {} s",
                    key.name, key.tpm.value_or(0), estimated_tokens, a.retry_after_s);
      e.api_code = "rate_limit_exceeded";
      break;
    case Admission::Verdict::Admitted:
      break;
  }
  if (a.retry_after_s > 0) e.retry_after = std::to_string(a.retry_after_s);
  return e;
}

Error state_unavailable_error(const Error& cause) {
  return Error{
      Errc::Overloaded,
      fmt::format(
          "the router's shared state cannot be reached ({}); requests with team keys are refused "
          "until it is back ([state] on_error = \"deny\")",
          cause.message),
      503,
      {}};
}

}  // namespace llmrouter
