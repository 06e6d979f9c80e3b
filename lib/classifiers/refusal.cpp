// SPDX-License-Identifier: MIT
// The `refusal` response classifier: tags a reply "refusal" when its text contains one of
// the refusal phrases (case-insensitive). Apostrophes match both ' and the typographic ’.
#include <fmt/format.h>

#include "classifiers/builtin.h"
#include "classifiers/matcher.h"

namespace llmrouter::detail {
namespace {

constexpr const char* kDefaultPhrases[] = {
    "i cannot help with that",   "i can't help with that",    "i cannot assist with",
    "i can't assist with",       "i'm not able to help with", "i am not able to help with",
    "as an ai language model",   "i won't be able to help with that",
};

class RefusalClassifier final : public ResponseClassifier {
 public:
  explicit RefusalClassifier(const std::vector<std::string>& phrases)
      : matcher_(phrases, std::vector<uint32_t>(phrases.size(), 0), 1) {}

  void classify(const CanonicalRequest&, const Response& resp, std::vector<std::string>& tags) const override {
    std::vector<bool> found(1, false);
    for (const ContentBlock& b : resp.content) {
      if (const auto* t = std::get_if<TextBlock>(&b)) {
        if (matcher_.scan(t->text, found)) break;
      }
    }
    if (found[0]) tags.push_back("refusal");
  }

 private:
  KeywordMatcher matcher_;
};

// Each phrase, plus its typographic-apostrophe spelling when it has an apostrophe.
std::vector<std::string> with_variants(const std::vector<std::string>& phrases) {
  std::vector<std::string> out;
  for (const std::string& p : phrases) {
    out.push_back(p);
    if (p.find('\'') == std::string::npos) continue;
    std::string curly;
    for (char ch : p) {
      if (ch == '\'') {
        curly += "\xE2\x80\x99";
      } else {
        curly.push_back(ch);
      }
    }
    out.push_back(std::move(curly));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<ResponseClassifier>> make_refusal_classifier(const ComponentConfig& c, const Config& config) {
  const std::string base = "response_classifiers." + c.id;
  std::vector<std::string> phrases;
  for (const auto& [key, value] : c.settings.as_object()) {
    if (key != "phrases") {
      return fail(config_error(config, value.loc, base + "." + key, "unknown setting; the refusal classifier takes: phrases"));
    }
    if (!value.is_array()) return fail(config_error(config, value.loc, base + ".phrases", "expected an array of strings"));
    std::size_t i = 0;
    for (const Value& p : value.as_array()) {
      const std::string path = fmt::format("{}.phrases[{}]", base, i++);
      if (!p.is_string() || p.as_string().empty()) {
        return fail(config_error(config, p.loc, path, "expected a non-empty string"));
      }
      phrases.push_back(p.as_string());
    }
  }
  if (phrases.empty()) phrases.assign(std::begin(kDefaultPhrases), std::end(kDefaultPhrases));
  return std::unique_ptr<ResponseClassifier>(std::make_unique<RefusalClassifier>(with_variants(phrases)));
}

}  // namespace llmrouter::detail
