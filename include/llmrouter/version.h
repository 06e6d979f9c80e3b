// SPDX-License-Identifier: MIT
#pragma once
/// @file version.h
/// The library's version.

#include <string_view>

#define LLMROUTER_VERSION_MAJOR 0
#define LLMROUTER_VERSION_MINOR 1
#define LLMROUTER_VERSION_PATCH 0

namespace llmrouter {

/// The version of the linked library, "MAJOR.MINOR.PATCH". Thread-safe.
std::string_view version() noexcept;

}  // namespace llmrouter
