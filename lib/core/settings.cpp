// SPDX-License-Identifier: MIT
#include "llmrouter/settings.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include <fmt/format.h>

#include "util/strings.h"

namespace llmrouter {

SettingsReader::SettingsReader(const Config& config, const Value& settings, std::string path,
                               SourceLoc loc)
    : config_(config), settings_(settings), path_(std::move(path)), loc_(loc) {}

std::string SettingsReader::key_path(std::string_view key) const {
  return fmt::format("{}.{}", path_, key);
}

std::string SettingsReader::kind_phrase(const Value& v) {
  const std::string_view name = v.is_object() ? "table" : kind_name(v.kind());
  const bool vowel = name.find_first_of("aeiou") == 0;
  return fmt::format("{} {}", vowel ? "an" : "a", name);
}

void SettingsReader::error(SourceLoc loc, std::string_view path, std::string_view message) {
  if (parent_) return parent_->error(loc, path, message);
  problems_.emplace_back(loc, fmt::format("{}: {}", path, message));
}

SettingsReader SettingsReader::nested(const Value& settings, std::string path, SourceLoc loc) {
  SettingsReader r(config_, settings, std::move(path), loc);
  r.parent_ = this;
  return r;
}

const Value* SettingsReader::value(std::string_view key) {
  const Value* v = settings_.find(key);
  if (v && std::find(read_.begin(), read_.end(), key) == read_.end()) read_.push_back(key);
  return v;
}

std::optional<std::string> SettingsReader::string(std::string_view key, bool required) {
  const Value* v = value(key);
  if (!v) {
    if (required) error(loc_, key_path(key), "missing required key (a string)");
    return std::nullopt;
  }
  if (!v->is_string()) {
    error(v->loc, key_path(key), fmt::format("expected a string, found {}", kind_phrase(*v)));
    return std::nullopt;
  }
  if (v->as_string().empty()) {
    error(v->loc, key_path(key), "must not be empty");
    return std::nullopt;
  }
  return v->as_string();
}

std::optional<double> SettingsReader::number(std::string_view key, double min, double max) {
  const Value* v = value(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    error(v->loc, key_path(key), fmt::format("expected a number, found {}", kind_phrase(*v)));
    return std::nullopt;
  }
  const double d = v->as_double();
  if (!std::isfinite(d) || d < min || d > max) {
    const std::string range = max == std::numeric_limits<double>::max()
                                  ? fmt::format("must be >= {}", min)
                                  : fmt::format("must be between {} and {}", min, max);
    error(v->loc, key_path(key), fmt::format("{}, got {}", range, d));
    return std::nullopt;
  }
  return d;
}

bool SettingsReader::check_provider(std::string_view name, SourceLoc loc, const std::string& path) {
  if (config_.find_provider(name)) return true;
  std::vector<std::string_view> names;
  for (const ProviderConfig& p : config_.providers) names.push_back(p.name);
  std::string hint = detail::did_you_mean(name, names);
  if (hint.empty()) hint = fmt::format("; defined providers: {}", detail::join(names, ", "));
  error(loc, path, fmt::format("no provider named '{}'{}", name, hint));
  return false;
}

std::optional<std::string> SettingsReader::provider(std::string_view key, bool required) {
  auto name = string(key, required);
  if (!name || !check_provider(*name, settings_.find(key)->loc, key_path(key))) return std::nullopt;
  return name;
}

std::optional<std::vector<std::string>> SettingsReader::providers(std::string_view key) {
  const Value* v = value(key);
  if (!v) return std::nullopt;
  if (!v->is_array()) {
    error(v->loc, key_path(key),
          fmt::format("expected an array of strings, found {}", kind_phrase(*v)));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    const Value& e = v->as_array()[i];
    const std::string path = fmt::format("{}[{}]", key_path(key), i);
    if (!e.is_string()) {
      error(e.loc, path, fmt::format("expected a string, found {}", kind_phrase(e)));
      ok = false;
    } else if (std::find(out.begin(), out.end(), e.as_string()) != out.end()) {
      error(e.loc, path, fmt::format("provider '{}' is listed twice", e.as_string()));
    } else if (check_provider(e.as_string(), e.loc, path)) {
      out.push_back(e.as_string());
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

Result<void> SettingsReader::finish(std::initializer_list<std::string_view> known,
                                    std::string_view what) {
  if (settings_.is_object()) {
    for (const auto& [key, v] : settings_.as_object()) {
      if (std::find(read_.begin(), read_.end(), key) != read_.end()) continue;
      const std::span<const std::string_view> names(known.begin(), known.size());
      std::string hint = detail::did_you_mean(key, names);
      if (hint.empty()) hint = fmt::format("; {} takes: {}", what, detail::join(names, ", "));
      error(v.loc, key_path(key), "unknown key" + hint);
    }
  }
  return result();
}

Result<void> SettingsReader::result() {
  if (problems_.empty() || parent_) return {};
  std::stable_sort(problems_.begin(), problems_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.line, a.first.column) < std::tie(b.first.line, b.first.column);
  });
  std::string message;
  for (const auto& [loc, text] : problems_) {
    if (!message.empty()) message += '\n';
    message += fmt::format("{}:{}:{}: {}", config_.source, loc.line, loc.column, text);
  }
  return fail(Errc::Config, std::move(message));
}

}  // namespace llmrouter
