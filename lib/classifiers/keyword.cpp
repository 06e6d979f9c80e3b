// SPDX-License-Identifier: MIT
// The `keyword` classifier: a tag when any of its keywords occurs in the request's text
// (case-insensitive substring). One automaton for all keywords, so the cost of a request
// depends on its length, not on the number of keywords.
#include <fmt/format.h>

#include "classifiers/builtin.h"
#include "classifiers/matcher.h"

namespace llmrouter::detail {
namespace {

class KeywordClassifier final : public Classifier {
 public:
  KeywordClassifier(std::vector<std::string> tags, const std::vector<std::string>& keywords,
                    const std::vector<uint32_t>& groups)
      : tags_(std::move(tags)), matcher_(keywords, groups, static_cast<uint32_t>(tags_.size())) {}

  void classify(const CanonicalRequest& req, std::vector<std::string>& tags) const override {
    if (tags_.empty()) return;
    // All the pieces at once: the matcher walks several of them side by side.
    std::vector<std::string_view> texts;
    texts.reserve(req.system.size() + req.messages.size());  // one text per message is usual
    for_each_request_text(req, [&](std::string_view text) { texts.push_back(text); });
    std::vector<bool> found(tags_.size(), false);
    matcher_.scan(texts, found);
    for (std::size_t i = 0; i < tags_.size(); ++i) {  // config order
      if (found[i]) tags.push_back(tags_[i]);
    }
  }

 private:
  std::vector<std::string> tags_;
  KeywordMatcher matcher_;
};

}  // namespace

Result<std::unique_ptr<Classifier>> make_keyword_classifier(const ComponentConfig& c, const Config& config) {
  const std::string base = "classifiers." + c.id;
  std::vector<std::string> tags;
  std::vector<std::string> keywords;
  std::vector<uint32_t> groups;
  for (const auto& [key, value] : c.settings.as_object()) {
    if (key != "tags") {
      return fail(config_error(config, value.loc, base + "." + key, "unknown setting; the keyword classifier takes: tags"));
    }
  }
  if (const Value* t = c.settings.find("tags")) {
    if (!t->is_object()) {
      return fail(config_error(config, t->loc, base + ".tags", "expected a table of tag = [keywords]"));
    }
    for (const auto& [tag, list] : t->as_object()) {
      const std::string path = base + ".tags." + tag;
      if (!list.is_array()) return fail(config_error(config, list.loc, path, "expected an array of keywords"));
      const auto group = static_cast<uint32_t>(tags.size());
      tags.push_back(tag);
      std::size_t i = 0;
      for (const Value& k : list.as_array()) {
        const std::string kpath = fmt::format("{}[{}]", path, i++);
        if (!k.is_string()) return fail(config_error(config, k.loc, kpath, "expected a string"));
        if (k.as_string().empty()) {
          return fail(config_error(config, k.loc, kpath, "an empty keyword would match every request"));
        }
        keywords.push_back(k.as_string());
        groups.push_back(group);
      }
    }
  }
  return std::unique_ptr<Classifier>(std::make_unique<KeywordClassifier>(std::move(tags), keywords, groups));
}

}  // namespace llmrouter::detail
