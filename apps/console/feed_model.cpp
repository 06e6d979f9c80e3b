// SPDX-License-Identifier: MIT
#include "feed_model.h"

#include <algorithm>
#include <utility>

namespace llmrouter::console {

void Stats::add(const CompleteEvent& e) {
  ++requests_;
  if (e.failed()) ++errors_;
  total_ms_ += e.duration_ms;
  latencies_.push_back(e.duration_ms);
  if (latencies_.size() > kLatencyWindow) latencies_.pop_front();
  input_tokens_ += e.usage.input_tokens;
  output_tokens_ += e.usage.output_tokens;
  cost_usd_ += e.cost_usd;

  const std::string name = e.provider.empty() ? std::string("(none)") : e.provider;
  auto it = std::find_if(providers_.begin(), providers_.end(), [&](const ProviderStats& p) { return p.name == name; });
  if (it == providers_.end()) {
    providers_.push_back(ProviderStats{name, 0, 0, 0, 0, 0, 0});
    it = std::prev(providers_.end());
  }
  ++it->requests;
  if (e.failed()) {
    ++it->errors;
  } else {
    it->last_success_ms = std::max(it->last_success_ms, e.ts_ms);
  }
  it->input_tokens += e.usage.input_tokens;
  it->output_tokens += e.usage.output_tokens;
  it->cost_usd += e.cost_usd;

  auto count = [&](const std::string& tag, bool response) {
    auto t = std::find_if(tags_.begin(), tags_.end(),
                          [&](const TagStats& s) { return s.tag == tag && s.response == response; });
    if (t == tags_.end()) {
      tags_.push_back(TagStats{tag, response, 1});
    } else {
      ++t->count;
    }
  };
  for (const std::string& tag : e.tags) count(tag, false);
  if (e.response) {
    for (const std::string& tag : e.response->tags) count(tag, true);
  }
}

int64_t Stats::average_ms() const {
  return requests_ == 0 ? 0 : total_ms_ / static_cast<int64_t>(requests_);
}

int64_t Stats::p95_ms() const {
  if (latencies_.empty()) return 0;
  std::vector<int64_t> v(latencies_.begin(), latencies_.end());
  // Nearest rank: the smallest value with at least 95% of the samples at or below it.
  const std::size_t rank = (v.size() * 95 + 99) / 100;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(rank - 1), v.end());
  return v[rank - 1];
}

std::vector<ProviderStats> Stats::providers() const {
  std::vector<ProviderStats> out = providers_;
  std::stable_sort(out.begin(), out.end(), [](const ProviderStats& a, const ProviderStats& b) {
    return a.requests != b.requests ? a.requests > b.requests : a.name < b.name;
  });
  return out;
}

std::vector<TagStats> Stats::tags() const {
  std::vector<TagStats> out = tags_;
  std::stable_sort(out.begin(), out.end(), [](const TagStats& a, const TagStats& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.response != b.response) return !a.response;
    return a.tag < b.tag;
  });
  return out;
}

PendingRequest* FeedModel::find_pending(uint64_t id) {
  for (PendingRequest& p : pending_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

void FeedModel::apply(const RouterEvent& event, int64_t now_ms) {
  ++events_;
  if (const auto* s = std::get_if<StartEvent>(&event)) {
    PendingRequest p;
    p.id = s->id;
    p.ts_ms = s->ts_ms;
    p.received_ms = now_ms;
    p.model = s->model;
    pending_.push_front(std::move(p));
  } else if (const auto* c = std::get_if<ClassifiedEvent>(&event)) {
    if (PendingRequest* p = find_pending(c->id)) {
      p->tags = c->tags;
      p->classified = true;
    }
  } else if (const auto* r = std::get_if<RoutedEvent>(&event)) {
    if (PendingRequest* p = find_pending(r->id)) {
      p->provider = r->provider;
      p->routed_model = r->model;
      p->reason = r->reason;
    }
  } else if (const auto* done = std::get_if<CompleteEvent>(&event)) {
    std::erase_if(pending_, [&](const PendingRequest& p) { return p.id == done->id; });
    stats_.add(*done);
    completed_.push_front(*done);
    if (completed_.size() > kMaxCompleted) completed_.pop_back();
    if (scroll_ > 0) scroll_ = std::min(scroll_ + 1, completed_.size() - 1);
  } else if (const auto* h = std::get_if<HealthEvent>(&event)) {
    if (h->ejected()) {
      ++ejections_;
    } else {
      ++restorations_;
    }
    health_.push_front(*h);
    if (health_.size() > kMaxHealth) health_.pop_back();
  }
}

void FeedModel::note_unparsed(std::string error) {
  ++unparsed_;
  last_parse_error_ = std::move(error);
}

void FeedModel::set_connection(const FeedState& state, int64_t now_ms) {
  if (state.phase == FeedPhase::Live && connection_.phase != FeedPhase::Live && state.was_live) pending_.clear();
  connection_ = state;
  connection_since_ms_ = now_ms;
}

void FeedModel::scroll_by(long delta) {
  const long max = completed_.empty() ? 0 : static_cast<long>(completed_.size()) - 1;
  const long next = std::clamp(static_cast<long>(scroll_) + delta, 0L, max);
  scroll_ = static_cast<std::size_t>(next);
}

void FeedModel::scroll_to_oldest() { scroll_ = completed_.empty() ? 0 : completed_.size() - 1; }

}  // namespace llmrouter::console
