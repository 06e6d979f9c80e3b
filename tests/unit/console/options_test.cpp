// SPDX-License-Identifier: MIT
#include "options.h"

#include <gtest/gtest.h>

namespace llmrouter::console {
namespace {

TEST(OptionsTest, DefaultsAndPositionalUrl) {
  auto a = parse_args({}, ArgSpec{});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->base_url, "http://localhost:8090");
  EXPECT_FALSE(a->api_key_env);
  a = parse_args({"http://127.0.0.1:9000/", "--api-key-env", "KEY"}, ArgSpec{});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->base_url, "http://127.0.0.1:9000");
  EXPECT_EQ(a->api_key_env, "KEY");
  a = parse_args({"router.local:8090"}, ArgSpec{});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->base_url, "http://router.local:8090");
}

TEST(OptionsTest, ProgramSpecificOptions) {
  EXPECT_TRUE(parse_args({"--json"}, ArgSpec{true, false}));
  EXPECT_FALSE(parse_args({"--json"}, ArgSpec{false, true}));
  auto a = parse_args({"--model", "claude-sonnet-4"}, ArgSpec{false, true});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->model, "claude-sonnet-4");
}

TEST(OptionsTest, Errors) {
  auto unknown = parse_args({"--bogus"}, ArgSpec{});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "unknown option '--bogus'");
  EXPECT_FALSE(parse_args({"--api-key-env"}, ArgSpec{}));
  EXPECT_FALSE(parse_args({"http://a", "http://b"}, ArgSpec{}));
  EXPECT_FALSE(parse_args({"ftp://a"}, ArgSpec{}));
}

TEST(OptionsTest, ApiKeyFromTheEnvironment) {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SET") return std::string("secret");
    if (name == "EMPTY") return std::string();
    return std::nullopt;
  };
  ConsoleArgs a;
  auto none = read_api_key(a, env);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  a.api_key_env = "SET";
  EXPECT_EQ(read_api_key(a, env).value(), "secret");
  a.api_key_env = "EMPTY";
  auto empty = read_api_key(a, env);
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("EMPTY is not set"), std::string::npos);
  a.api_key_env = "UNSET";
  EXPECT_FALSE(read_api_key(a, env));
}

}  // namespace
}  // namespace llmrouter::console
