// SPDX-License-Identifier: MIT
// Reloading llmrouter-server's configuration file (POST /admin/reload, Server::reload) through
// real HTTP on 127.0.0.1, in front of the mock upstream: a stream in flight finishes on its
// generation, an invalid file is refused with every error while the running configuration
// keeps serving, settings that need a restart are reported, and the endpoint's auth.
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>

#include "llmrouter/events.h"
#include "llmrouter/transport.h"
#include "server.h"
#include "support/config_helpers.h"
#include "support/fakes.h"
#include "support/mock_upstream.h"
#include "support/server_harness.h"

namespace llmrouter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Providers "a" and "b" on the mock (both OpenAI), a fallback rule to `route_to`; `extra`
// continues the [server] table (and may open further tables).
std::string config_text(const testing::MockUpstream& mock, std::string_view route_to,
                        std::string_view extra = "") {
  return fmt::format(R"([server]
host = "127.0.0.1"
port = 0
{}
[[providers]]
name = "a"
format = "openai"
base_url = "{}/v1"
[[providers]]
name = "b"
format = "openai"
base_url = "{}/v1"
[[routers]]
type = "fallback"
providers = ["{}"]
)",
                     extra, mock.base_url(), mock.base_url(), route_to);
}

// A configuration file in a directory of its own, removed at the end.
class ConfigFile {
 public:
  ConfigFile()
      : dir_(std::filesystem::temp_directory_path() /
             fmt::format("llmrouter-reload-test-{}-{}", ::getpid(), ++count_)) {
    std::filesystem::create_directories(dir_);
  }
  ~ConfigFile() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  ConfigFile(const ConfigFile&) = delete;
  ConfigFile& operator=(const ConfigFile&) = delete;

  std::string path() const { return (dir_ / "config.toml").string(); }
  void write(std::string_view text) const {
    std::ofstream out(path(), std::ios::trunc);
    out << text;
  }
  // The file as the server starts from it (with `overrides` applied, as the host does).
  Config load(const std::function<void(Config&)>& overrides = {}) const {
    auto c = load_config_file(path(), testing::fake_env());
    if (!c) {
      ADD_FAILURE() << c.error().message;
      return Config{};
    }
    if (overrides) overrides(*c);
    return std::move(*c);
  }
  server::ServerOptions options(std::map<std::string, std::string> env = {}) const {
    server::ServerOptions o;
    o.config_file = path();
    o.getenv = [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    return o;
  }

 private:
  static inline std::atomic<int> count_{0};
  std::filesystem::path dir_;
};

std::string chat_body(std::string_view model, bool stream) {
  return fmt::format(
      R"({{"model":"{}","stream":{},"messages":[{{"role":"user","content":"hi"}}]}})", model,
      stream);
}

// The strings of array `key` in a JSON object (a test failure when it is not one).
std::vector<std::string> strings_of(simdjson::dom::element object, std::string_view key) {
  std::vector<std::string> out;
  simdjson::dom::array items;
  if (object[key].get(items)) {
    ADD_FAILURE() << "no array '" << key << "' in " << simdjson::to_string(object);
    return out;
  }
  for (simdjson::dom::element item : items) {
    std::string_view s;
    if (item.get(s)) {
      ADD_FAILURE() << "not a string in '" << key << "'";
      continue;
    }
    out.emplace_back(s);
  }
  return out;
}

// A streamed reply read through the library's transport: its status, headers and bytes.
class Collect final : public TransferObserver {
 public:
  void on_headers(int status,
                  const std::vector<std::pair<std::string, std::string>>& headers) override {
    std::lock_guard lock(mu_);
    status_ = status;
    for (const auto& [k, v] : headers) {
      std::string name = k;
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers_[name] = v;
    }
  }
  bool on_data(std::string_view bytes) override {
    std::lock_guard lock(mu_);
    body_.append(bytes);
    return true;
  }
  void on_complete(Result<void> r) override {
    std::lock_guard lock(mu_);
    ok_ = r.has_value();
    done_ = true;
  }
  bool started() const {
    std::lock_guard lock(mu_);
    return !body_.empty();
  }
  bool done() const {
    std::lock_guard lock(mu_);
    return done_;
  }
  bool ok() const {
    std::lock_guard lock(mu_);
    return ok_;
  }
  int status() const {
    std::lock_guard lock(mu_);
    return status_;
  }
  std::string header(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = headers_.find(name);
    return it == headers_.end() ? std::string() : it->second;
  }
  std::string body() const {
    std::lock_guard lock(mu_);
    return body_;
  }

 private:
  mutable std::mutex mu_;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string body_;
  bool done_ = false;
  bool ok_ = false;
};

// The next `reload` event on `sub` (a test failure after 10 s without one).
std::string next_reload(Subscription& sub) {
  std::string ev;
  if (!sub.next(ev, std::chrono::seconds(10))) ADD_FAILURE() << "no reload event";
  return ev;
}

TEST(ServerReloadTest, AStreamInFlightFinishesOnItsGenerationWhileNewRequestsUseTheReloadedOne) {
  testing::MockUpstream mock;
  ConfigFile file;
  file.write(config_text(mock, "a"));
  testing::RunningServer router(file.load(), file.options());
  auto cli = router.client();

  // A stream to provider "a" whose upstream answers after 1.5 s with 20 events; the reload
  // comes once the upstream has the request.
  auto transport = make_curl_transport();
  auto stream = std::make_shared<Collect>();
  HttpRequest req;
  req.url = fmt::format("http://127.0.0.1:{}/v1/chat/completions", router.port());
  req.body = chat_body("latency-1500+chunks-20", true);
  req.headers = {{"content-type", "application/json"}};
  req.provider = "test";
  transport->start(std::move(req), stream);
  ASSERT_TRUE(testing::wait_until(
      [&] { return mock.requests("/v1/chat/completions") == 1 || stream->done(); }));
  ASSERT_FALSE(stream->done()) << stream->body();

  file.write(config_text(mock, "b"));
  auto reloaded = cli.Post("/admin/reload", "", "application/json");
  ASSERT_TRUE(reloaded) << httplib::to_string(reloaded.error());
  ASSERT_EQ(reloaded->status, 200) << reloaded->body;
  EXPECT_EQ(reloaded->get_header_value("Content-Type"), "application/json");
  simdjson::dom::parser parser;
  simdjson::dom::element answer;
  ASSERT_FALSE(parser.parse(reloaded->body).get(answer)) << reloaded->body;
  bool flag = false;
  std::string_view source;
  EXPECT_FALSE(answer["reloaded"].get(flag));
  EXPECT_TRUE(flag);
  EXPECT_FALSE(answer["source"].get(source));
  EXPECT_EQ(source, file.path());
  EXPECT_THAT(strings_of(answer, "restart_required"), IsEmpty());
  EXPECT_THAT(strings_of(answer, "warnings"), IsEmpty());

  // New requests run on the reloaded configuration.
  auto after = cli.Post("/v1/chat/completions", chat_body("m", false), "application/json");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
  EXPECT_EQ(after->get_header_value("X-Router-Provider"), "b");

  // The stream finished intact, on the provider of the generation it started on.
  ASSERT_TRUE(testing::wait_until([&] { return stream->done(); }));
  EXPECT_TRUE(stream->ok());
  EXPECT_EQ(stream->status(), 200);
  EXPECT_EQ(stream->header("x-router-provider"), "a");
  const std::string body = stream->body();
  for (int i = 0; i < 20; ++i) EXPECT_THAT(body, HasSubstr(fmt::format("tok{} ", i)));
  EXPECT_THAT(body, HasSubstr("data: [DONE]"));
  EXPECT_THAT(body, Not(HasSubstr("error")));
  EXPECT_EQ(mock.requests("/v1/chat/completions"), 2);
}

TEST(ServerReloadTest, AnInvalidFileIsRefusedWithEveryErrorAndTheRunningConfigurationKeepsServing) {
  testing::MockUpstream mock;
  ConfigFile file;
  file.write(config_text(mock, "a"));
  testing::RunningServer router(file.load(), file.options());
  auto cli = router.client();
  auto reloads = router.server().pipeline().events()->subscribe(16, 1u << 20, EventType::Reload);

  // Three errors the loader finds, on lines 3, 4 and 9.
  file.write(fmt::format(R"([server]
host = "127.0.0.1"
port = 70000
hots = "x"
[[providers]]
name = "a"
format = "openai"
base_url = "{}/v1"
max_concurrency = "many"
[[routers]]
type = "fallback"
providers = ["a"]
)",
                         mock.base_url()));
  auto refused = cli.Post("/admin/reload", "", "application/json");
  ASSERT_TRUE(refused) << httplib::to_string(refused.error());
  ASSERT_EQ(refused->status, 400) << refused->body;
  simdjson::dom::parser parser;
  simdjson::dom::element answer;
  ASSERT_FALSE(parser.parse(refused->body).get(answer)) << refused->body;
  std::string_view type, message;
  EXPECT_FALSE(answer["error"]["type"].get(type));
  EXPECT_EQ(type, "invalid_request_error");
  EXPECT_FALSE(answer["error"]["message"].get(message));
  EXPECT_THAT(std::string(message), HasSubstr("3 errors"));
  const std::vector<std::string> errors = strings_of(answer["error"], "errors");
  ASSERT_EQ(errors.size(), 3u) << refused->body;
  const std::string at = file.path() + ":";
  EXPECT_THAT(errors[0], HasSubstr(at + "3:"));
  EXPECT_THAT(errors[0], HasSubstr("server.port"));
  EXPECT_THAT(errors[1], HasSubstr(at + "4:"));
  EXPECT_THAT(errors[1], HasSubstr("server.hots"));
  EXPECT_THAT(errors[2], HasSubstr(at + "9:"));
  EXPECT_THAT(errors[2], HasSubstr("providers[0].max_concurrency"));
  // Each is FILE:LINE:COL: MESSAGE. (No std::regex here: its instantiations in this binary
  // would stand in for cpp-httplib's own, whose known races the TSan suppressions expect
  // inside libcpp-httplib.so.)
  auto located = [&](const std::string& e) {
    if (!e.starts_with(at)) return false;
    std::size_t i = at.size();
    for (int field = 0; field < 2; ++field) {
      const std::size_t digits = i;
      while (i < e.size() && std::isdigit(static_cast<unsigned char>(e[i]))) ++i;
      if (i == digits || i >= e.size() || e[i] != ':') return false;
      ++i;
    }
    return e.compare(i, 1, " ") == 0 && e.size() > i + 1;
  };
  for (const std::string& e : errors) EXPECT_TRUE(located(e)) << e;

  // The event says so, with the same errors.
  {
    const std::string ev = next_reload(*reloads);
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.parse(ev).get(doc)) << ev;
    bool ok = true;
    std::string_view source;
    EXPECT_FALSE(doc["ok"].get(ok));
    EXPECT_FALSE(ok);
    EXPECT_FALSE(doc["source"].get(source));
    EXPECT_EQ(source, file.path());
    EXPECT_EQ(strings_of(doc, "errors"), errors);
    EXPECT_THAT(strings_of(doc, "restart_required"), IsEmpty());
  }

  // The running configuration keeps serving.
  auto still = cli.Post("/v1/chat/completions", chat_body("m", false), "application/json");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200) << still->body;
  EXPECT_EQ(still->get_header_value("X-Router-Provider"), "a");

  // A file that loads but whose pipeline does not build is refused the same way.
  file.write(config_text(mock, "b", "[classifiers.no-such-classifier]\nenabled = true"));
  auto unbuilt = cli.Post("/admin/reload", "", "application/json");
  ASSERT_TRUE(unbuilt);
  EXPECT_EQ(unbuilt->status, 400) << unbuilt->body;
  EXPECT_THAT(unbuilt->body, HasSubstr("no-such-classifier"));
  EXPECT_THAT(next_reload(*reloads), HasSubstr(R"("ok":false)"));
  auto unchanged = cli.Post("/v1/chat/completions", chat_body("m", false), "application/json");
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->get_header_value("X-Router-Provider"), "a");

  // Fixed, it is applied.
  file.write(config_text(mock, "b"));
  auto applied = cli.Post("/admin/reload", "", "application/json");
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied->status, 200) << applied->body;
  EXPECT_THAT(next_reload(*reloads), HasSubstr(R"("ok":true)"));
  auto now = cli.Post("/v1/chat/completions", chat_body("m", false), "application/json");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->get_header_value("X-Router-Provider"), "b");

  auto metrics = cli.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr(R"(llmrouter_config_reloads_total{outcome="invalid"} 2)"));
  EXPECT_THAT(metrics->body, HasSubstr(R"(llmrouter_config_reloads_total{outcome="ok"} 1)"));
}

TEST(ServerReloadTest, SettingsThatNeedARestartAreReportedAndKeepTheirStartupValues) {
  testing::MockUpstream mock;
  ConfigFile file;
  // The host's overrides (llmrouter-server's --host and --port) apply at every reload, so
  // the setting they cover is no change.
  auto overrides = [](Config& c) { c.server.max_connections = 77; };
  file.write(config_text(mock, "a", "max_body_bytes = 4096\nmax_connections = 5000"));
  auto options = file.options();
  options.config_overrides = overrides;
  testing::RunningServer router(file.load(overrides), std::move(options));
  auto cli = router.client();
  auto reloads = router.server().pipeline().events()->subscribe(16, 1u << 20, EventType::Reload);

  file.write(config_text(mock, "b",
                         "max_body_bytes = 1048576\nmax_connections = 6000\n"
                         "max_upstream_reply_bytes = 1048576\n"
                         "[logging]\nlevel = \"warn\"\n[telemetry]\nservice_name = \"renamed\""));
  auto reloaded = router.server().reload();
  ASSERT_TRUE(reloaded) << reloaded.error().message;
  EXPECT_THAT(reloaded->restart_required,
              ElementsAre("server.max_body_bytes", "logging.level", "telemetry.service_name"));
  EXPECT_EQ(reloaded->source, file.path());
  const std::string ev = next_reload(*reloads);
  EXPECT_THAT(ev, HasSubstr(R"("ok":true)"));
  EXPECT_THAT(
      ev,
      HasSubstr(
          R"("restart_required":["server.max_body_bytes","logging.level","telemetry.service_name"])"));

  // The rest is applied; the edge keeps its start-up body limit.
  auto small = cli.Post("/v1/chat/completions", chat_body("m", false), "application/json");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200) << small->body;
  EXPECT_EQ(small->get_header_value("X-Router-Provider"), "b");
  const std::string large = chat_body(std::string(5000, 'm'), false);
  auto refused = cli.Post("/v1/chat/completions", large, "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413) << refused->body;

  // The same report over HTTP.
  auto again = cli.Post("/admin/reload", "", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_THAT(
      again->body,
      HasSubstr(
          R"("restart_required":["server.max_body_bytes","logging.level","telemetry.service_name"])"));
}

TEST(ServerReloadTest, TheEndpointNeedsTheOperatorKeyAndAFile) {
  testing::MockUpstream mock;
  ConfigFile file;
  file.write(config_text(mock, "a", "api_key_env = \"ROUTER_KEY\""));
  testing::RunningServer router(file.load(), file.options({{"ROUTER_KEY", "secret"}}));
  auto cli = router.client();
  file.write(config_text(mock, "b", "api_key_env = \"ROUTER_KEY\""));

  auto anonymous = cli.Post("/admin/reload", "", "application/json");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401) << anonymous->body;
  auto wrong =
      cli.Post("/admin/reload", {{"Authorization", "Bearer guess"}}, "", "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401) << wrong->body;
  // Refused attempts changed nothing.
  auto before = cli.Post("/v1/chat/completions", {{"Authorization", "Bearer secret"}},
                         chat_body("m", false), "application/json");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->get_header_value("X-Router-Provider"), "a");

  auto get = cli.Get("/admin/reload", {{"Authorization", "Bearer secret"}});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);

  auto operator_reload =
      cli.Post("/admin/reload", {{"Authorization", "Bearer secret"}}, "", "application/json");
  ASSERT_TRUE(operator_reload);
  EXPECT_EQ(operator_reload->status, 200) << operator_reload->body;
  auto after = cli.Post("/v1/chat/completions", {{"Authorization", "Bearer secret"}},
                        chat_body("m", false), "application/json");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->get_header_value("X-Router-Provider"), "b");

  auto metrics = cli.Get("/metrics", {{"Authorization", "Bearer secret"}});
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr(R"(llmrouter_config_reloads_total{outcome="ok"} 1)"));
  EXPECT_THAT(metrics->body, HasSubstr(R"(llmrouter_config_reloads_total{outcome="invalid"} 0)"));
}

TEST(ServerReloadTest, WithTeamKeysOnlyTheOperatorKeyReloads) {
  testing::MockUpstream mock;
  ConfigFile file;
  const std::string keys =
      "api_key_env = \"ROUTER_KEY\"\n[[keys]]\nname = \"team\"\nkey_env = \"TEAM_KEY\"";
  file.write(config_text(mock, "a", keys));
  testing::RunningServer router(
      file.load(), file.options({{"ROUTER_KEY", "secret"}, {"TEAM_KEY", "team-secret"}}));
  auto cli = router.client();
  file.write(config_text(mock, "b", keys));

  auto team =
      cli.Post("/admin/reload", {{"Authorization", "Bearer team-secret"}}, "", "application/json");
  ASSERT_TRUE(team);
  EXPECT_EQ(team->status, 403) << team->body;
  auto before = cli.Post("/v1/chat/completions", {{"Authorization", "Bearer team-secret"}},
                         chat_body("m", false), "application/json");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->get_header_value("X-Router-Provider"), "a");

  auto operator_reload =
      cli.Post("/admin/reload", {{"Authorization", "Bearer secret"}}, "", "application/json");
  ASSERT_TRUE(operator_reload);
  EXPECT_EQ(operator_reload->status, 200) << operator_reload->body;
  auto after = cli.Post("/v1/chat/completions", {{"Authorization", "Bearer team-secret"}},
                        chat_body("m", false), "application/json");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->get_header_value("X-Router-Provider"), "b");
}

TEST(ServerReloadTest, AServerGivenItsConfigurationInMemoryHasNothingToReload) {
  testing::MockUpstream mock;
  testing::RunningServer router(testing::config_from(config_text(mock, "a")));
  auto cli = router.client();
  auto res = cli.Post("/admin/reload", "", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409) << res->body;
  EXPECT_THAT(res->body, HasSubstr("no configuration file to reload"));
  auto direct = router.server().reload();
  ASSERT_FALSE(direct);
  EXPECT_THAT(direct.error().message, HasSubstr("no configuration file to reload"));
  auto metrics = cli.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, Not(HasSubstr(R"(llmrouter_config_reloads_total{outcome="ok"} 1)")));
}

}  // namespace
}  // namespace llmrouter
