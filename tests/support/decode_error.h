// SPDX-License-Identifier: MIT
#pragma once
// The error a client request decoder gives for a body it must refuse, for request tests.

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "llmrouter/formats.h"

namespace llmrouter::testing {

/// The message of the 400 `format`'s decoder gives for `body`; a test failure (and "")
/// when it decodes or fails otherwise.
inline std::string decode_error(WireFormat format, std::string_view body) {
  Result<CanonicalRequest> r = decode_request(format, body);
  if (r) {
    ADD_FAILURE() << "expected an error for " << body;
    return {};
  }
  EXPECT_EQ(r.error().code, Errc::InvalidRequest);
  EXPECT_EQ(r.error().status(), 400);
  return r.error().message;
}

}  // namespace llmrouter::testing
