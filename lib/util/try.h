// SPDX-License-Identifier: MIT
#pragma once
// LLMROUTER_TRY(var, expr): evaluates `expr` (a Result<T>); on error returns the error from
// the enclosing function, otherwise declares `var` holding the value. Internal only.

#define LLMROUTER_CONCAT_INNER(a, b) a##b
#define LLMROUTER_CONCAT(a, b) LLMROUTER_CONCAT_INNER(a, b)

#define LLMROUTER_TRY(var, expr) LLMROUTER_TRY_IMPL(var, expr, LLMROUTER_CONCAT(try_result_, __LINE__))
#define LLMROUTER_TRY_IMPL(var, expr, tmp)            \
  auto tmp = (expr);                                  \
  if (!tmp) return ::llmrouter::fail(std::move(tmp.error())); \
  auto var = std::move(*tmp)

// For Result<void>.
#define LLMROUTER_CHECK(expr) LLMROUTER_CHECK_IMPL(expr, LLMROUTER_CONCAT(check_result_, __LINE__))
#define LLMROUTER_CHECK_IMPL(expr, tmp) \
  if (auto tmp = (expr); !tmp) return ::llmrouter::fail(std::move(tmp.error()))
