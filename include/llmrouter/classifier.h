// SPDX-License-Identifier: MIT
#pragma once
/// @file classifier.h
/// Classifiers tag requests before routing; response classifiers tag replies.
///
/// A classifier is built once from its config table by a factory (see registry.h) and is
/// immutable afterwards: `classify` is const and called from many request threads at once.

#include <string>
#include <vector>

#include "llmrouter/request.h"
#include "llmrouter/response.h"

namespace llmrouter {

/// Tags a request (`[classifiers.<id>]`).
class Classifier {
 public:
  virtual ~Classifier() = default;
  /// Appends this classifier's tags for `req` to `tags`, in a deterministic order. Must not
  /// throw; thread-safe.
  virtual void classify(const CanonicalRequest& req, std::vector<std::string>& tags) const = 0;
};

/// Tags a reply (`[response_classifiers.<id>]`); runs after post_response plugins, on
/// streamed replies too (on the assembled response, once the stream has ended).
class ResponseClassifier {
 public:
  virtual ~ResponseClassifier() = default;
  /// Appends tags for `resp` to `tags`. Must not throw; thread-safe.
  virtual void classify(const CanonicalRequest& req, const Response& resp,
                        std::vector<std::string>& tags) const = 0;
};

}  // namespace llmrouter
