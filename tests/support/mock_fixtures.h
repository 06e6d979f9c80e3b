// SPDX-License-Identifier: MIT
#pragma once
// The mock upstream's recorded replies (tests/data/formats/upstream), compiled into the
// mock library by embed_files.cmake so the mock runs from any directory.

#include <string_view>

namespace llmrouter::testing {

/// The bytes of fixture `name` ("openai_stream.sse"); empty when there is no such file.
std::string_view mock_fixture(std::string_view name);

}  // namespace llmrouter::testing
