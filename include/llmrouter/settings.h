// SPDX-License-Identifier: MIT
#pragma once
/// @file settings.h
/// `SettingsReader`: how a component's factory checks its own settings (a `[[routers]]`
/// table, a `[plugins.<id>]` table...) with errors as precise as the loader's: each names
/// the file, line, column and key, and every problem of the table is reported at once.
///
///     SettingsReader r(config, rule.settings, rule.path, rule.loc);
///     auto to = r.provider("provider", /*required=*/true);
///     auto prefix = r.string("model_prefix", true);
///     if (auto done = r.finish({"model_prefix", "provider"}, "a 'prefix' rule"); !done) return
///     fail(done.error());

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmrouter/config.h"
#include "llmrouter/result.h"
#include "llmrouter/value.h"

namespace llmrouter {

class SettingsReader {
 public:
  /// Reads `settings` (an object), which sits at `path` ("routers[2]", "plugins.web") and
  /// `loc` of `config`'s source.
  SettingsReader(const Config& config, const Value& settings, std::string path, SourceLoc loc);

  /// "path.key".
  std::string key_path(std::string_view key) const;
  /// The value at `key`, marked as read; nullptr when absent.
  const Value* value(std::string_view key);
  /// A non-empty string.
  std::optional<std::string> string(std::string_view key, bool required = false);
  /// A number (integer or floating point) in [min, max].
  std::optional<double> number(std::string_view key, double min, double max);
  /// The name of a provider of the config.
  std::optional<std::string> provider(std::string_view key, bool required = false);
  /// A list of distinct provider names of the config.
  std::optional<std::vector<std::string>> providers(std::string_view key);
  /// Whether `name` (at `loc`, `path`) names a provider of the config; reports it if not.
  bool check_provider(std::string_view name, SourceLoc loc, const std::string& path);
  /// Records a problem.
  void error(SourceLoc loc, std::string_view path, std::string_view message);
  /// A reader for a nested table (an element of an array of tables) whose problems are
  /// reported by this reader's finish(). It must not outlive this reader.
  SettingsReader nested(const Value& settings, std::string path, SourceLoc loc);

  /// Every problem recorded, and every key not read (suggesting the closest of `known`,
  /// else listing what `what` takes), as one Errc::Config error, one line each in source
  /// order; success when there is none. A nested reader passes its problems up and
  /// succeeds.
  [[nodiscard]] Result<void> finish(std::initializer_list<std::string_view> known,
                                    std::string_view what);

  /// As finish(), without checking for unknown keys (for settings open to other keys).
  [[nodiscard]] Result<void> result();

  /// "a string", "an integer", "a table"...: for messages about a value of the wrong kind.
  static std::string kind_phrase(const Value& v);

 private:
  const Config& config_;
  const Value& settings_;
  std::string path_;
  SourceLoc loc_;
  std::vector<std::string_view> read_;
  std::vector<std::pair<SourceLoc, std::string>> problems_;
  SettingsReader* parent_ = nullptr;
};

}  // namespace llmrouter
