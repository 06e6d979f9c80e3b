// SPDX-License-Identifier: MIT
// ModelCatalog's loaded-model state (what Ollama's /api/ps says is in memory): replacing a
// provider's list, name matching as Ollama reads names, "not known yet" versus "nothing
// loaded", and readers running while discovery writes.
#include <atomic>
#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmrouter/router.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ModelCatalogTest, LoadedModelsAreUnknownUntilSet) {
  ModelCatalog catalog;
  EXPECT_FALSE(catalog.loaded_known("local"));
  EXPECT_FALSE(catalog.loaded_at("local"));
  EXPECT_THAT(catalog.loaded("local"), IsEmpty());
  EXPECT_FALSE(catalog.is_loaded("local", "gemma3"));

  // An empty answer is an answer: nothing is loaded.
  catalog.set_loaded("local", {});
  EXPECT_TRUE(catalog.loaded_known("local"));
  EXPECT_TRUE(catalog.loaded_at("local"));
  EXPECT_THAT(catalog.loaded("local"), IsEmpty());
  EXPECT_FALSE(catalog.loaded_known("other"));
}

TEST(ModelCatalogTest, SetLoadedReplacesTheProvidersListAndRecordsWhen) {
  ModelCatalog catalog;
  const auto before = std::chrono::steady_clock::now();
  catalog.set_loaded("a", {"gemma3:latest", "qwen3:8b"});
  catalog.set_loaded("b", {"llama3.2:1b"});
  const auto first = catalog.loaded_at("a");
  ASSERT_TRUE(first);
  EXPECT_GE(*first, before);
  EXPECT_THAT(catalog.loaded("a"), ElementsAre("gemma3:latest", "qwen3:8b"));
  EXPECT_THAT(catalog.loaded("b"), ElementsAre("llama3.2:1b"));

  catalog.set_loaded("a", {"qwen3:8b"});
  EXPECT_THAT(catalog.loaded("a"), ElementsAre("qwen3:8b"));
  EXPECT_FALSE(catalog.is_loaded("a", "gemma3:latest"));
  EXPECT_GE(*catalog.loaded_at("a"), *first);
  EXPECT_THAT(catalog.loaded("b"), ElementsAre("llama3.2:1b"));  // other providers untouched
  // Loaded models are kept apart from the discovered ones.
  EXPECT_THAT(catalog.models("a"), IsEmpty());
  EXPECT_FALSE(catalog.has_model("a", "qwen3:8b"));
}

TEST(ModelCatalogTest, IsLoadedMatchesNamesAsHasModelDoes) {
  ModelCatalog catalog;
  catalog.set_loaded("local", {"gemma3:latest", "qwen3:8b"});
  EXPECT_TRUE(catalog.is_loaded("local", "gemma3:latest"));
  EXPECT_TRUE(catalog.is_loaded("local", "gemma3"));  // no tag: latest
  EXPECT_FALSE(catalog.is_loaded("local", "gemma3:2b"));
  EXPECT_FALSE(catalog.is_loaded("local", "gemma"));
  EXPECT_FALSE(catalog.is_loaded("local", "qwen3"));  // only :8b is loaded
  EXPECT_TRUE(catalog.is_loaded("local", "qwen3:8b"));
  EXPECT_FALSE(catalog.is_loaded("local", ""));
  EXPECT_FALSE(catalog.is_loaded("remote", "qwen3:8b"));  // another provider
  EXPECT_FALSE(catalog.is_loaded("loc", "qwen3:8b"));

  // The same names, discovered instead of loaded, match the same way.
  catalog.set_models("local", {{"gemma3:latest", {}, false}, {"qwen3:8b", {}, false}});
  for (const char* asked : {"gemma3:latest", "gemma3", "gemma3:2b", "gemma", "qwen3", "qwen3:8b"}) {
    EXPECT_EQ(catalog.is_loaded("local", asked), catalog.has_model("local", asked)) << asked;
  }
}

TEST(ModelCatalogTest, ReadersRunWhileDiscoveryWrites) {
  ModelCatalog catalog;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) {
      catalog.set_loaded("local", i % 2 ? std::vector<std::string>{"gemma3:latest"}
                                        : std::vector<std::string>{"qwen3:8b", "gemma3:latest"});
    }
    done = true;
  });
  int seen = 0;
  do {
    // gemma3 is loaded in both lists the writer alternates between.
    if (catalog.loaded_known("local")) {
      EXPECT_TRUE(catalog.is_loaded("local", "gemma3"));
    }
    const std::vector<std::string> now = catalog.loaded("local");
    EXPECT_TRUE(now.empty() || now.size() == 1 || now.size() == 2);
    ++seen;
  } while (!done);
  writer.join();
  EXPECT_GT(seen, 0);
  EXPECT_THAT(catalog.loaded("local"), ElementsAre("gemma3:latest"));
}

}  // namespace
}  // namespace llmrouter
