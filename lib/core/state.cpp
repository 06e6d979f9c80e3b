// SPDX-License-Identifier: MIT
// The in-memory ResponseStore: entries in insertion order (a list) indexed by id, bounded by
// count, bytes and age.
#include "llmrouter/state.h"

#include <list>
#include <mutex>
#include <random>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include <fmt/format.h>

namespace llmrouter {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;

constexpr std::size_t kBlockOverhead = sizeof(ContentBlock);

template <class T>
std::size_t bytes_of(const T& v) {
  if constexpr (std::is_same_v<T, TextBlock>) {
    return v.text.size() + v.citations.text.size();
  } else if constexpr (std::is_same_v<T, ImageBlock>) {
    return v.data.size() + v.url.size() + v.file_id.size() + v.media_type.size();
  } else if constexpr (std::is_same_v<T, DocumentBlock>) {
    return v.data.size() + v.url.size() + v.file_id.size() + v.filename.size() + v.title.size() +
           v.context.size() + v.citations.text.size();
  } else if constexpr (std::is_same_v<T, ToolUseBlock>) {
    return v.id.size() + v.name.size() + v.input.text.size();
  } else if constexpr (std::is_same_v<T, ToolResultBlock>) {
    std::size_t n = v.tool_use_id.size();
    for (const ToolResultPart& p : v.content) {
      n += kBlockOverhead + std::visit([](const auto& part) { return bytes_of(part); }, p);
    }
    return n;
  } else if constexpr (std::is_same_v<T, ThinkingBlock>) {
    return v.thinking.size() + v.signature.size();
  } else if constexpr (std::is_same_v<T, RedactedThinkingBlock>) {
    return v.data.size();
  } else {
    static_assert(std::is_same_v<T, OpaqueBlock>);
    return v.json.text.size();
  }
}

}  // namespace

std::size_t approximate_bytes(const std::vector<Message>& conversation) {
  std::size_t n = 0;
  for (const Message& m : conversation) {
    n += sizeof(Message) + m.name.size();
    for (const ContentBlock& b : m.content) {
      n += kBlockOverhead + std::visit([](const auto& v) { return bytes_of(v); }, b);
    }
  }
  return n;
}

Error previous_response_not_found(std::string_view id) {
  Error e{
      Errc::InvalidRequest, fmt::format("Previous response with id '{}' not found.", id), 404, {}};
  e.param = "previous_response_id";
  e.api_code = "previous_response_not_found";
  return e;
}

std::string new_response_id() {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  // The system's random source, not a seeded generator: an id must not be predictable from
  // the ids a client has seen.
  std::random_device rd;
  std::string id = "resp_";
  uint32_t bits = 0;
  int left = 0;
  while (id.size() < 5 + 32) {
    if (left < 6) {
      bits = rd();
      left = 32;
    }
    const uint32_t v = bits & 63u;
    bits >>= 6;
    left -= 6;
    if (v < sizeof(kAlphabet) - 1) id.push_back(kAlphabet[v]);
  }
  return id;
}

void ResponseStore::prefetch(std::string_view /*id*/, std::function<void()> done) {
  const std::function<void()> now = std::move(done);
  now();
}

struct MemoryResponseStore::Impl {
  struct Entry {
    std::string id;
    // Shared: a reader copies it outside the lock.
    std::shared_ptr<const std::vector<Message>> conversation;
    TimePoint expires;
    std::size_t bytes = 0;
  };
  using List = std::list<Entry>;

  ResponseStoreLimits limits;
  Clock clock;
  mutable std::mutex mu;
  List entries;                                                // oldest first
  std::unordered_map<std::string_view, List::iterator> index;  // keys view Entry::id
  std::size_t bytes = 0;

  void erase(List::iterator it) {
    index.erase(it->id);
    bytes -= it->bytes;
    entries.erase(it);
  }
  // Makes room for an entry of `incoming` bytes: expired entries first (the oldest are
  // checked in order; the rest only when that was not enough), then the oldest.
  void make_room(std::size_t incoming, TimePoint now) {
    auto over = [&] {
      return entries.size() + 1 > limits.max_entries || bytes + incoming > limits.max_bytes;
    };
    while (!entries.empty() && entries.front().expires <= now) erase(entries.begin());
    if (!over()) return;
    for (auto it = entries.begin(); it != entries.end();) {
      auto next = std::next(it);
      if (it->expires <= now) erase(it);
      it = next;
    }
    while (!entries.empty() && over()) erase(entries.begin());
  }
};

MemoryResponseStore::MemoryResponseStore(ResponseStoreLimits limits, Clock clock)
    : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  impl_->clock = clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); });
}

MemoryResponseStore::~MemoryResponseStore() = default;

Result<void> MemoryResponseStore::put(std::string_view id, std::vector<Message> conversation) {
  const std::size_t size = approximate_bytes(conversation) + id.size();
  const TimePoint now = impl_->clock();
  std::lock_guard lock(impl_->mu);
  if (impl_->limits.max_entries == 0)
    return fail(Errc::InvalidRequest, "the state store keeps no conversations");
  if (size > impl_->limits.max_bytes) {  // refused: an entry under the id stays as it was
    return fail(
        Errc::InvalidRequest,
        fmt::format("the conversation ({} bytes) is larger than the state store's limit ({} bytes)",
                    size, impl_->limits.max_bytes));
  }
  if (auto it = impl_->index.find(id); it != impl_->index.end()) impl_->erase(it->second);
  impl_->make_room(size, now);
  impl_->entries.push_back(Impl::Entry{
      std::string(id), std::make_shared<const std::vector<Message>>(std::move(conversation)),
      now + impl_->limits.ttl, size});
  auto last = std::prev(impl_->entries.end());
  impl_->index.emplace(last->id, last);
  impl_->bytes += size;
  return {};
}

Result<std::optional<std::vector<Message>>> MemoryResponseStore::get(std::string_view id) const {
  const TimePoint now = impl_->clock();
  std::shared_ptr<const std::vector<Message>> found;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->index.find(id);
    if (it != impl_->index.end() && it->second->expires > now) found = it->second->conversation;
  }
  if (!found) return std::optional<std::vector<Message>>();
  return std::optional<std::vector<Message>>(*found);
}

bool MemoryResponseStore::contains(std::string_view id) const {
  const TimePoint now = impl_->clock();
  std::lock_guard lock(impl_->mu);
  auto it = impl_->index.find(id);
  return it != impl_->index.end() && it->second->expires > now;
}

void MemoryResponseStore::configure(const ResponseStoreLimits& limits) {
  std::lock_guard lock(impl_->mu);
  impl_->limits = limits;
}

std::size_t MemoryResponseStore::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->entries.size();
}

std::size_t MemoryResponseStore::bytes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->bytes;
}

}  // namespace llmrouter
