// SPDX-License-Identifier: MIT
// Ollama model discovery over the shared transport. A round asks every provider's
// /api/tags and /api/ps at once, then every model's /api/show at once (skipping models
// whose digest has not changed since an earlier answer), and only then writes the catalog:
// readers never see a half-updated provider. Between rounds, a lighter round asks only
// /api/ps (the models loaded in memory). Rounds are serialised; the background thread
// sleeps on a condition variable until the next provider is due or the object is
// destroyed, and the destructor cancels whatever is in flight so it never waits for a slow
// upstream.
#include "llmrouter/discovery.h"

#include <strings.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "json/json.h"
#include "llmrouter/log.h"
#include "util/strings.h"

namespace llmrouter {
namespace {

using Clock = std::chrono::steady_clock;
namespace json = detail::json;

constexpr std::size_t kMaxBody = 16u << 20;  // a larger reply is an error
constexpr std::size_t kMaxModels = 4096;     // models kept per provider
constexpr std::size_t kMaxLogged = 20;       // models named in one log line
// How long a wait outlasts the request's own timeout before the request is cancelled: a
// safety net, since the transport normally ends it first.
constexpr auto kGrace = std::chrono::seconds(1);

// One request whose reply is collected whole.
class Fetch final : public TransferObserver {
 public:
  struct Reply {
    Result<void> result;
    int status = 0;
    std::string body;
    bool too_big = false;
  };

  void on_headers(int status, const std::vector<std::pair<std::string, std::string>>&) override {
    std::lock_guard lock(mu_);
    reply_.status = status;
  }
  bool on_data(std::string_view bytes) override {
    std::lock_guard lock(mu_);
    if (reply_.body.size() + bytes.size() > kMaxBody) {
      reply_.too_big = true;  // the rest is dropped; the timeout bounds the transfer
    } else {
      reply_.body += bytes;
    }
    return true;
  }
  void on_complete(Result<void> result) override {
    {
      std::lock_guard lock(mu_);
      reply_.result = std::move(result);
      done_ = true;
    }
    cv_.notify_all();
  }

  // True once the transfer has ended (false: `deadline` passed first).
  bool wait_until(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return done_; });
  }
  Reply take() {
    std::lock_guard lock(mu_);
    return std::move(reply_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Reply reply_;       // guarded by mu_
  bool done_ = false;  // guarded by mu_
};

// A started request (fetch is null when discovery was stopping).
struct Pending {
  std::shared_ptr<Fetch> fetch;
  TransferId id = 0;
  Clock::time_point deadline;
  std::string what;  // "GET http://host/api/tags", for messages
};

// A model as /api/tags lists it.
struct Listed {
  std::string name;
  std::string digest;
};

// Text from an upstream, fit for one log line: valid UTF-8, no control characters, short.
std::string printable(std::string_view s) {
  std::string out = detail::repair_utf8(s.substr(0, 200));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out;
}

// The upstream's own message in an error reply ({"error": "..."} as Ollama sends it, or
// {"error": {"message": "..."}}), else the start of the body.
std::string upstream_message(std::string_view body) {
  if (auto doc = json::parse(body, json::ParserSlot::Scratch); doc && doc->is_object()) {
    if (auto e = json::field(json::object_of(*doc), "error")) {
      if (e->is_string()) return printable(e->get_string().value_unsafe());
      if (e->is_object()) {
        const std::string m = json::string_or_empty(json::object_of(*e), "message");
        if (!m.empty()) return printable(m);
      }
    }
  }
  return body.empty() ? std::string("(empty body)") : printable(body);
}

// Why `reply` is no usable answer to `what`, or nullopt when it is one.
std::optional<std::string> problem(const Fetch::Reply& reply, const std::string& what, const std::string& provider) {
  if (!reply.result) {
    // Transport messages start with "provider 'x': "; the warning names the provider already.
    std::string_view m = reply.result.error().message;
    const std::string prefix = fmt::format("provider '{}': ", provider);
    if (m.substr(0, prefix.size()) == prefix) m.remove_prefix(prefix.size());
    return fmt::format("{}: {}", what, m);
  }
  if (reply.too_big) return fmt::format("{}: the reply is larger than {} MiB", what, kMaxBody >> 20);
  if (reply.status < 200 || reply.status >= 300) {
    return fmt::format("{} answered {}: {}", what, reply.status, upstream_message(reply.body));
  }
  return std::nullopt;
}

// /api/tags and /api/ps: {"models": [{"name", "model", "digest", ...}]}. Entries without
// a name (or "model") are skipped; duplicates are listed once.
Result<std::vector<Listed>> parse_models(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc) return fail(doc.error());
  if (!doc->is_object()) return fail(Errc::Upstream, "expected a JSON object");
  const auto models = json::field(json::object_of(*doc), "models");
  if (!models || !models->is_array()) return fail(Errc::Upstream, "expected a \"models\" array");
  std::vector<Listed> out;
  for (json::Element e : json::array_of(*models)) {
    if (!e.is_object()) continue;
    const json::Object o = json::object_of(e);
    Listed m{json::string_or_empty(o, "name"), json::string_or_empty(o, "digest")};
    if (m.name.empty()) m.name = json::string_or_empty(o, "model");
    if (m.name.empty()) continue;
    if (std::any_of(out.begin(), out.end(), [&](const Listed& x) { return x.name == m.name; })) continue;
    out.push_back(std::move(m));
    if (out.size() == kMaxModels) break;
  }
  return out;
}

// /api/show: "capabilities" (Ollama's names; unknown ones are ignored) and model_info's
// "<general.architecture>.context_length" (or any "*.context_length").
Result<ModelCatalog::Model> parse_show(std::string name, std::string_view body) {
  auto doc = json::parse(body);
  if (!doc) return fail(doc.error());
  if (!doc->is_object()) return fail(Errc::Upstream, "expected a JSON object");
  const json::Object o = json::object_of(*doc);
  ModelCatalog::Model m;
  m.name = std::move(name);
  if (auto caps = json::field(o, "capabilities"); caps && caps->is_array()) {
    m.capabilities_known = true;
    for (json::Element c : json::array_of(*caps)) {
      if (!c.is_string()) continue;
      if (auto cap = parse_capability(c.get_string().value_unsafe())) m.capabilities.insert(*cap);
    }
  }
  if (auto info = json::field(o, "model_info"); info && info->is_object()) {
    const json::Object io = json::object_of(*info);
    const std::string arch = json::string_or_empty(io, "general.architecture");
    std::optional<uint64_t> length;
    if (!arch.empty()) length = json::count(io, arch + ".context_length");
    constexpr std::string_view kSuffix = ".context_length";
    for (auto [key, value] : io) {
      if (length) break;
      if (key.size() > kSuffix.size() && key.substr(key.size() - kSuffix.size()) == kSuffix) {
        length = json::count(io, key);
      }
    }
    m.context_length = length.value_or(0);
  }
  return m;
}

bool same(const ModelCatalog::Model& a, const ModelCatalog::Model& b) {
  return a.name == b.name && a.capabilities == b.capabilities && a.capabilities_known == b.capabilities_known &&
         a.context_length == b.context_length;
}

// "qwen3:8b (completion,tools; context 40960), llava:7b (capabilities unknown)".
std::string describe(const std::vector<ModelCatalog::Model>& models) {
  std::string out;
  for (std::size_t i = 0; i < models.size() && i < kMaxLogged; ++i) {
    const ModelCatalog::Model& m = models[i];
    if (i) out += ", ";
    out += m.name;
    out += m.capabilities_known ? fmt::format(" ({}", m.capabilities.to_string()) : std::string(" (capabilities unknown");
    if (m.context_length) out += fmt::format("; context {}", m.context_length);
    out += ')';
  }
  if (models.size() > kMaxLogged) out += fmt::format(" and {} more", models.size() - kMaxLogged);
  return out;
}

std::string models_phrase(std::size_t n) { return fmt::format("{} model{}", n, n == 1 ? "" : "s"); }

// "gemma3:latest, qwen3:8b" (at most kMaxLogged names).
std::string describe(const std::vector<std::string>& names) {
  std::vector<std::string_view> first(
      names.begin(),
      names.begin() + static_cast<std::ptrdiff_t>(std::min(kMaxLogged, names.size())));
  std::string out = detail::join(first, ", ");
  if (names.size() > kMaxLogged) out += fmt::format(" and {} more", names.size() - kMaxLogged);
  return out;
}

// What one /api/ps request said: the loaded models, or why there is no answer.
struct LoadedReply {
  std::optional<std::vector<std::string>> models;
  std::string error;
};

LoadedReply read_loaded(const Fetch::Reply& reply, const std::string& what,
                        const std::string& provider) {
  LoadedReply out;
  if (auto why = problem(reply, what, provider)) {
    out.error = std::move(*why);
    return out;
  }
  auto listed = parse_models(reply.body);
  if (!listed) {
    out.error = fmt::format("{}: {}", what, listed.error().message);
    return out;
  }
  out.models.emplace();
  for (Listed& m : *listed) out.models->push_back(std::move(m.name));
  return out;
}

}  // namespace

struct Discovery::Impl {
  // One ollama provider.
  struct Target {
    ProviderConfig config;
    // The schedule, guarded by Impl::mu.
    bool refreshed = false;
    Clock::time_point next_due{};
    Clock::time_point next_loaded_due{};  // the next round that asks only /api/ps
    // Only rounds touch these (they hold round_mu). /api/tags failed in the last round;
    // /api/ps failed with a warning, and has not answered since.
    bool tags_failing = false;
    bool loaded_failing = false;
    // What /api/show answered in earlier rounds, by model name, with the digest it was for.
    // Only the round in progress touches it (rounds hold round_mu).
    std::map<std::string, std::pair<std::string, ModelCatalog::Model>, std::less<>> known;
  };

  std::vector<Target> targets;
  std::shared_ptr<Transport> transport;
  std::shared_ptr<ModelCatalog> catalog;
  EnvReader getenv;

  std::mutex round_mu;  // one round at a time
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;               // guarded by mu
  bool started = false;            // guarded by mu
  std::set<TransferId> inflight;   // guarded by mu
  std::thread thread;

  HttpRequest request(const ProviderConfig& p, std::string method, std::string_view path, std::string body) const {
    HttpRequest r;
    r.method = std::move(method);
    r.url = p.base_url + std::string(path);
    r.body = std::move(body);
    r.provider = p.name;
    r.connect_timeout = p.discovery_timeout;
    r.first_byte_timeout = p.discovery_timeout;
    r.idle_timeout = p.discovery_timeout;
    r.total_timeout = p.discovery_timeout;
    r.headers.emplace_back("accept", "application/json");
    if (!r.body.empty()) r.headers.emplace_back("content-type", "application/json");
    if (p.api_key_env) {
      const std::optional<std::string> key = getenv(*p.api_key_env);
      if (key && !key->empty()) r.headers.emplace_back("authorization", "Bearer " + *key);
    }
    // Configured headers win, as on chat requests. (No structured binding: clang 14 cannot
    // capture one in a lambda.)
    for (const auto& header : p.headers) {
      const std::string& name = header.first;
      std::erase_if(r.headers, [&](const auto& h) { return strcasecmp(h.first.c_str(), name.c_str()) == 0; });
      r.headers.emplace_back(header);
    }
    return r;
  }

  Pending begin(HttpRequest req) {
    Pending p;
    p.what = fmt::format("{} {}", req.method, req.url);
    p.deadline = Clock::now() + req.total_timeout.value_or(std::chrono::milliseconds(0)) + kGrace;
    auto fetch = std::make_shared<Fetch>();
    std::lock_guard lock(mu);
    if (stop) return p;
    p.id = transport->start(std::move(req), fetch);
    inflight.insert(p.id);
    p.fetch = std::move(fetch);
    return p;
  }

  Fetch::Reply finish(const Pending& p) {
    Fetch::Reply failed;
    if (!p.fetch) {
      failed.result = fail(Errc::Cancelled, "discovery is stopping");
      return failed;
    }
    bool done = p.fetch->wait_until(p.deadline);
    if (!done) {
      transport->cancel(p.id);
      done = p.fetch->wait_until(Clock::now() + kGrace);
    }
    {
      std::lock_guard lock(mu);
      inflight.erase(p.id);
    }
    if (!done) {
      failed.result = fail(Errc::Timeout, "no answer in time");
      return failed;
    }
    return p.fetch->take();
  }

  bool stopping() {
    std::lock_guard lock(mu);
    return stop;
  }

  // Writes what /api/ps said for `t` into the catalog, or logs why it said nothing: the
  // first failure in a row as a warning, which it returns, the others at debug level, as
  // is every failure while /api/tags fails too (its warning speaks for the provider).
  std::optional<std::string> note_loaded(Target& t, LoadedReply reply, LogLevel changed_level);

  std::vector<DiscoveryReport> run(const std::vector<std::size_t>& which);
  void run_loaded(const std::vector<std::size_t>& which);
  void loop();
};

std::optional<std::string> Discovery::Impl::note_loaded(Target& t, LoadedReply reply,
                                                        LogLevel changed_level) {
  const std::string& name = t.config.name;
  if (!reply.models) {
    const std::vector<std::string> before = catalog->loaded(name);
    const std::string message = fmt::format(
        "provider '{}': reading the loaded models failed: {}; {}", name, reply.error,
        !catalog->loaded_known(name) ? std::string("none are known to be loaded")
        : before.empty()
            ? std::string("keeping the last answer (none loaded)")
            : fmt::format("keeping the {} known to be loaded", models_phrase(before.size())));
    if (t.tags_failing || t.loaded_failing) {
      log(LogLevel::Debug, message);
      return std::nullopt;
    }
    t.loaded_failing = true;
    log(LogLevel::Warn, message);
    return message;
  }
  const bool recovered = t.loaded_failing;
  t.loaded_failing = false;
  const bool changed =
      recovered || !catalog->loaded_known(name) || catalog->loaded(name) != *reply.models;
  // After a warning, the first answer again is news whatever it says.
  const LogLevel level = recovered ? LogLevel::Info : changed ? changed_level : LogLevel::Debug;
  if (log_enabled(level)) {
    log(level, reply.models->empty()
                   ? fmt::format("provider '{}': no models loaded", name)
                   : fmt::format("provider '{}': {} loaded: {}", name,
                                 models_phrase(reply.models->size()), describe(*reply.models)));
  }
  catalog->set_loaded(name, std::move(*reply.models));
  return std::nullopt;
}

std::vector<DiscoveryReport> Discovery::Impl::run(const std::vector<std::size_t>& which) {
  std::lock_guard round(round_mu);
  struct Work {
    Target* target;
    Pending tags;
    Pending ps;
    std::optional<std::string> error;  // /api/tags failed
    std::vector<Listed> listed;
    std::vector<Pending> shows;        // parallel to `listed`; no fetch: known digest
  };
  std::vector<Work> work;
  for (std::size_t i : which) {
    Target& t = targets[i];
    Pending tags = begin(request(t.config, "GET", "/api/tags", {}));
    Pending ps = begin(request(t.config, "GET", "/api/ps", {}));
    work.push_back({&t, std::move(tags), std::move(ps), std::nullopt, {}, {}});
  }
  for (Work& w : work) {
    const Fetch::Reply reply = finish(w.tags);
    if ((w.error = problem(reply, w.tags.what, w.target->config.name))) continue;
    auto listed = parse_models(reply.body);
    if (!listed) {
      w.error = fmt::format("{}: {}", w.tags.what, listed.error().message);
      continue;
    }
    w.listed = std::move(*listed);
  }
  for (Work& w : work) {
    if (w.error) continue;
    for (const Listed& m : w.listed) {
      auto k = w.target->known.find(m.name);
      if (k != w.target->known.end() && !m.digest.empty() && k->second.first == m.digest) {
        w.shows.emplace_back();  // unchanged since it was described
        continue;
      }
      std::string body;
      json::Writer writer(body);
      writer.begin_object();
      writer.kv("model", m.name);
      writer.end_object();
      w.shows.push_back(begin(request(w.target->config, "POST", "/api/show", std::move(body))));
    }
  }

  // Collect every answer before touching the catalog.
  struct Outcome {
    std::vector<ModelCatalog::Model> models;
    std::vector<std::string> show_errors;
    decltype(Target::known) known;
    LoadedReply loaded;
  };
  std::vector<Outcome> outcomes(work.size());
  for (std::size_t wi = 0; wi < work.size(); ++wi) {
    Work& w = work[wi];
    Outcome& out = outcomes[wi];
    if (w.error) continue;
    for (std::size_t i = 0; i < w.listed.size(); ++i) {
      Listed& m = w.listed[i];
      const Pending& p = w.shows[i];
      if (p.what.empty()) {  // unchanged: reuse what the earlier answer said
        auto k = w.target->known.find(m.name);
        out.models.push_back(k->second.second);
        out.known.emplace(m.name, k->second);
        continue;
      }
      const Fetch::Reply reply = finish(p);
      std::optional<std::string> why = problem(reply, p.what, w.target->config.name);
      if (!why) {
        auto model = parse_show(m.name, reply.body);
        if (model) {
          out.known.emplace(m.name, std::make_pair(m.digest, *model));
          out.models.push_back(std::move(*model));
          continue;
        }
        why = fmt::format("{}: {}", p.what, model.error().message);
      }
      out.show_errors.push_back(fmt::format("{} ({})", m.name, *why));
      ModelCatalog::Model unknown;
      unknown.name = m.name;
      out.models.push_back(std::move(unknown));
    }
  }

  for (std::size_t wi = 0; wi < work.size(); ++wi) {
    const Pending& ps = work[wi].ps;
    outcomes[wi].loaded = read_loaded(finish(ps), ps.what, work[wi].target->config.name);
  }

  // A round cut short by the destructor changes nothing and reports nothing.
  if (stopping()) return {};

  std::vector<DiscoveryReport> reports;
  for (std::size_t wi = 0; wi < work.size(); ++wi) {
    Work& w = work[wi];
    Outcome& out = outcomes[wi];
    const std::string& name = w.target->config.name;
    DiscoveryReport report;
    report.provider = name;
    const std::vector<ModelCatalog::Model> before = catalog->models(name);
    if (w.error) {
      report.models = before.size();
      report.warning = fmt::format("provider '{}': model discovery failed: {}; {}", name, *w.error,
                                   before.empty() ? std::string("it has no discovered models")
                                                  : fmt::format("keeping the {} discovered before", models_phrase(before.size())));
      log(LogLevel::Warn, report.warning);
    } else {
      report.ok = true;
      report.models = out.models.size();
      const bool changed = !w.target->refreshed || before.size() != out.models.size() ||
                           !std::equal(before.begin(), before.end(), out.models.begin(), same);
      if (log_enabled(changed ? LogLevel::Info : LogLevel::Debug)) {
        log(changed ? LogLevel::Info : LogLevel::Debug,
            out.models.empty() ? fmt::format("provider '{}': model discovery found no models", name)
                               : fmt::format("provider '{}': discovered {}: {}", name, models_phrase(out.models.size()),
                                             describe(out.models)));
      }
      if (!out.show_errors.empty()) {
        std::vector<std::string_view> first(
            out.show_errors.begin(),
            out.show_errors.begin() +
                static_cast<std::ptrdiff_t>(std::min<std::size_t>(3, out.show_errors.size())));
        report.warning = fmt::format("provider '{}': /api/show failed for {} of {}, whose capabilities are unknown: {}{}",
                                     name, out.show_errors.size(), models_phrase(out.models.size()),
                                     detail::join(first, "; "), out.show_errors.size() > 3 ? "; ..." : "");
        log(LogLevel::Warn, report.warning);
      }
      w.target->known = std::move(out.known);
      catalog->set_models(name, std::move(out.models));
    }
    w.target->tags_failing = w.error.has_value();
    if (auto warning = note_loaded(*w.target, std::move(out.loaded), LogLevel::Info)) {
      if (!report.warning.empty()) report.warning += '\n';
      report.warning += *warning;
    }
    report.loaded = catalog->loaded(name).size();
    reports.push_back(std::move(report));
  }
  std::lock_guard lock(mu);
  const auto now = Clock::now();
  for (Work& w : work) {
    w.target->refreshed = true;
    w.target->next_due = now + w.target->config.discovery_interval;
    w.target->next_loaded_due = now + w.target->config.discovery_loaded_interval;
  }
  return reports;
}

void Discovery::Impl::run_loaded(const std::vector<std::size_t>& which) {
  std::lock_guard round(round_mu);
  std::vector<Pending> ps;
  for (std::size_t i : which) ps.push_back(begin(request(targets[i].config, "GET", "/api/ps", {})));
  std::vector<LoadedReply> replies;
  for (std::size_t k = 0; k < which.size(); ++k) {
    replies.push_back(read_loaded(finish(ps[k]), ps[k].what, targets[which[k]].config.name));
  }
  if (stopping()) return;  // cut short by the destructor: changes nothing
  // Models load and unload all the time: a changed list is logged at debug level here.
  for (std::size_t k = 0; k < which.size(); ++k) {
    note_loaded(targets[which[k]], std::move(replies[k]), LogLevel::Debug);
  }
  std::lock_guard lock(mu);
  const auto now = Clock::now();
  for (std::size_t i : which) {
    targets[i].next_loaded_due = now + targets[i].config.discovery_loaded_interval;
  }
}

void Discovery::Impl::loop() {
  std::unique_lock lock(mu);
  while (!stop) {
    const auto now = Clock::now();
    std::vector<std::size_t> due;         // full rounds
    std::vector<std::size_t> loaded_due;  // /api/ps only
    std::optional<Clock::time_point> next;
    auto wake_at = [&](Clock::time_point t) {
      if (!next || t < *next) next = t;
    };
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const Target& t = targets[i];
      if (!t.refreshed) {
        due.push_back(i);
        continue;
      }
      if (t.config.discovery_interval.count() > 0) {
        if (t.next_due <= now) {
          due.push_back(i);
          continue;
        }
        wake_at(t.next_due);
      }
      if (t.config.discovery_loaded_interval.count() > 0) {
        if (t.next_loaded_due <= now) {
          loaded_due.push_back(i);
        } else {
          wake_at(t.next_loaded_due);
        }
      }
    }
    if (!due.empty() || !loaded_due.empty()) {
      lock.unlock();
      if (!due.empty()) run(due);
      if (!loaded_due.empty()) run_loaded(loaded_due);
      lock.lock();
      continue;
    }
    if (next) {
      cv.wait_until(lock, *next, [&] { return stop; });
    } else {
      cv.wait(lock, [&] { return stop; });
    }
  }
}

std::unique_ptr<Discovery> Discovery::create(const Config& config, std::shared_ptr<Transport> transport,
                                             std::shared_ptr<ModelCatalog> catalog, EnvReader getenv) {
  auto impl = std::make_unique<Impl>();
  for (const ProviderConfig& p : config.providers) {
    if (p.format == WireFormat::Ollama && p.available)
      impl->targets.push_back(Impl::Target{p, false, {}, {}, false, false, {}});
  }
  impl->transport = std::move(transport);
  impl->catalog = catalog ? std::move(catalog) : std::make_shared<ModelCatalog>();
  impl->getenv = std::move(getenv);
  if (!impl->getenv) {
    impl->getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      return v ? std::optional<std::string>(v) : std::nullopt;
    };
  }
  if (!impl->transport && !impl->targets.empty()) impl->transport = make_curl_transport();
  return std::unique_ptr<Discovery>(new Discovery(std::move(impl)));
}

Discovery::Discovery(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Discovery::~Discovery() {
  std::vector<TransferId> ids;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
    ids.assign(impl_->inflight.begin(), impl_->inflight.end());
  }
  impl_->cv.notify_all();
  for (TransferId id : ids) impl_->transport->cancel(id);
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::vector<DiscoveryReport> Discovery::refresh() {
  std::vector<std::size_t> all(impl_->targets.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  return impl_->run(all);
}

void Discovery::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started || impl_->stop || impl_->targets.empty()) return;
  impl_->started = true;
  impl_->thread = std::thread([impl = impl_.get()] { impl->loop(); });
}

std::vector<std::string> Discovery::providers() const {
  std::vector<std::string> out;
  for (const Impl::Target& t : impl_->targets) out.push_back(t.config.name);
  return out;
}

}  // namespace llmrouter
