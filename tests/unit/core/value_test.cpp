// SPDX-License-Identifier: MIT
#include "llmrouter/value.h"

#include <gtest/gtest.h>

#include <limits>

namespace llmrouter {
namespace {

TEST(ValueTest, KindsAndAccessors) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_TRUE(Value(true).as_bool());
  EXPECT_EQ(Value(3).as_int(), 3);
  EXPECT_EQ(Value(3).as_double(), 3.0);
  EXPECT_TRUE(Value(3).is_number());
  EXPECT_EQ(Value(2.5).as_double(), 2.5);
  EXPECT_EQ(Value("s").as_string(), "s");
  EXPECT_THROW((void)Value(1).as_string(), std::bad_variant_access);
}

TEST(ValueTest, ObjectsKeepInsertionOrderAndReplaceInPlace) {
  Value v;
  v.set("b", 1);
  v.set("a", 2);
  v.set("b", 3);
  EXPECT_EQ(v.to_json(), R"({"b":3,"a":2})");
  ASSERT_NE(v.find("a"), nullptr);
  EXPECT_EQ(v.find("a")->as_int(), 2);
  EXPECT_EQ(v.find("zzz"), nullptr);
  EXPECT_EQ(Value(1).find("a"), nullptr);
}

TEST(ValueTest, ToJson) {
  Value v(Value::Object{{"s", "a\"b"}, {"n", nullptr}, {"f", 2.0}, {"g", 0.25}, {"i", -7},
                        {"arr", Value::Array{true, false, "x"}}});
  EXPECT_EQ(v.to_json(), R"({"s":"a\"b","n":null,"f":2.0,"g":0.25,"i":-7,"arr":[true,false,"x"]})");
  EXPECT_EQ(Value(std::numeric_limits<double>::infinity()).to_json(), "null");
}

TEST(ValueTest, EqualityIgnoresLocation) {
  Value a(1), b(1);
  a.loc = {3, 4};
  EXPECT_EQ(a, b);
  EXPECT_NE(Value(1), Value(1.0));
  EXPECT_EQ(kind_name(Value::Kind::Object), "object");
}

}  // namespace
}  // namespace llmrouter
