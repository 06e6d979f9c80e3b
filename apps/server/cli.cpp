// SPDX-License-Identifier: MIT
// llmrouter-server's command line: config loading, a config summary (--check), and serving
// until SIGINT or SIGTERM; SIGHUP reopens the request log and reloads the configuration
// (the HTTP host itself is server.cpp). main.cpp runs it with the built-ins; a program of your own
// runs it with more (examples/cpp/server_with_extensions.cpp).
#include "cli.h"

#include <pthread.h>
#include <sys/resource.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "llmrouter/config.h"
#include "llmrouter/log.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/version.h"
#include "server.h"

namespace {

constexpr std::string_view kUsage =
    "usage: llmrouter-server [CONFIG] [--host H] [--port P] [--check] [--version] [--help]\n"
    "\n"
    "  CONFIG       path of the TOML configuration (default: config.toml)\n"
    "  --host H     listen address (overrides [server] host)\n"
    "  --port P     listen port, 0 for any free port (overrides [server] port)\n"
    "  --check      load and validate CONFIG, print a summary, exit 0 when valid\n"
    "  --version    print the version and exit\n"
    "  --help       print this help and exit\n";

struct Options {
  std::string config = "config.toml";
  std::string host;
  int port = -1;
  bool check = false;
};

void print_summary(const llmrouter::Config& c) {
  using llmrouter::wire_format_name;
  fmt::print("{}: valid\n", c.source);
  fmt::print("listen: {}:{}\n", c.server.host, c.server.port);
  fmt::print("providers ({}):\n", c.providers.size());
  for (const auto& p : c.providers) {
    fmt::print("  {:<16} {:<9} {}{}\n", p.name, wire_format_name(p.format), p.base_url,
               p.available ? "" : fmt::format("  [skipped: {}]", p.unavailable_reason));
  }
  fmt::print("routers ({}):\n", c.routers.size());
  for (std::size_t i = 0; i < c.routers.size(); ++i) {
    const auto& r = c.routers[i];
    auto text = [&](std::string_view key) {
      const llmrouter::Value* v = r.settings.find(key);
      return v && v->is_string() ? v->as_string() : std::string();
    };
    std::string what;
    if (const std::string to = text("provider"); !to.empty()) what = fmt::format(" -> {}", to);
    for (std::string_view key : {"model_prefix", "tag"}) {
      if (const std::string match = text(key); !match.empty())
        what = fmt::format(" '{}'{}", match, what);
    }
    fmt::print("  [{}] {}{}\n", i, r.type, what);
  }
  auto components = [](std::string_view title,
                       const std::vector<llmrouter::ComponentConfig>& group) {
    std::string enabled;
    for (const auto& comp : group) {
      if (!comp.enabled) continue;
      if (!enabled.empty()) enabled += ", ";
      enabled += comp.id;
    }
    fmt::print("{}: {}\n", title, enabled.empty() ? "none enabled" : enabled);
  };
  components("classifiers", c.classifiers);
  components("response classifiers", c.response_classifiers);
  components("plugins", c.plugins);
  if (c.telemetry.enabled) {
    fmt::print("telemetry: OTLP/HTTP to {} (service {}, sample ratio {})\n",
               c.telemetry.otlp_endpoint, c.telemetry.service_name, c.telemetry.sample_ratio);
  } else {
    fmt::print("telemetry: off\n");
  }
}

// Every client connection is a descriptor and may hold one upstream connection too, plus
// some for the listener, the log and the transport: 2 * max_connections + 64. The soft
// open-file limit is often 1024 while the hard one is far higher, so raise the soft limit
// to the hard one, and warn when that is still short (the server runs regardless; past
// the limit, accepting or connecting fails).
void raise_open_file_limit(uint32_t max_connections) {
  const rlim_t needed = 2 * rlim_t{max_connections} + 64;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    fmt::print(
        stderr,
        "llmrouter-server: warning: the open-file limit (RLIMIT_NOFILE) is {}, below the {} that "
        "[server] max_connections = {} needs (2 * max_connections + 64); raise the limit (ulimit "
        "-n, "
        "LimitNOFILE= in a systemd unit) or lower max_connections\n",
        static_cast<unsigned long long>(limit.rlim_cur), static_cast<unsigned long long>(needed),
        max_connections);
  }
}

}  // namespace

namespace llmrouter::server {

int run_cli(int argc, char** argv, Registries registries) {
  Options opt;
  bool config_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view flag) -> const char* {
      if (i + 1 >= argc) {
        fmt::print(stderr, "llmrouter-server: {} needs a value\n{}", flag, kUsage);
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kUsage);
      return 0;
    } else if (a == "--version") {
      fmt::print("llmrouter-server {}\n", llmrouter::version());
      return 0;
    } else if (a == "--check") {
      opt.check = true;
    } else if (a == "--host") {
      opt.host = value(a);
    } else if (a == "--port") {
      const std::string_view v = value(a);
      int port = -1;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
      if (ec != std::errc() || end != v.data() + v.size() || port < 0 || port > 65535) {
        fmt::print(stderr, "llmrouter-server: --port expects 0..65535, got '{}'\n", v);
        return 64;
      }
      opt.port = port;
    } else if (!a.empty() && a[0] == '-') {
      fmt::print(stderr, "llmrouter-server: unknown option '{}'\n{}", a, kUsage);
      return 64;
    } else if (!config_given) {
      opt.config = std::string(a);
      config_given = true;
    } else {
      fmt::print(stderr, "llmrouter-server: unexpected argument '{}'\n{}", a, kUsage);
      return 64;
    }
  }

  auto config = llmrouter::load_config_file(opt.config);
  if (!config) {
    fmt::print(stderr, "{}\n", config.error().message);
    return 1;
  }
  // Building the pipeline checks what the loader cannot: component ids against the
  // registries, and each classifier's and plugin's own settings.
  auto pipeline = llmrouter::Pipeline::build(*config, registries);
  if (!pipeline) {
    fmt::print(stderr, "{}\n", pipeline.error().message);
    return 1;
  }
  // The command line wins over the file, at start-up and at every reload.
  auto overrides = [host = opt.host, port = opt.port](llmrouter::Config& c) {
    if (!host.empty()) c.server.host = host;
    if (port >= 0) c.server.port = static_cast<uint16_t>(port);
  };
  overrides(*config);

  if (opt.check) {
    print_summary(*config);
    return 0;
  }

  // Signals are taken by one thread with sigwait, so every other thread (connections, the
  // transport, the log writer) starts with them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  llmrouter::set_log_level(config->logging.level);
  raise_open_file_limit(config->server.max_connections);
  ServerOptions options;
  options.registries = std::move(registries);
  options.config_file = opt.config;
  options.config_overrides = overrides;
  auto server = llmrouter::server::Server::create(std::move(*config), std::move(options));
  if (!server) {
    fmt::print(stderr, "llmrouter-server: {}\n", server.error().message);
    return 1;
  }
  auto port = (*server)->bind();
  if (!port) {
    fmt::print(stderr, "llmrouter-server: {}\n", port.error().message);
    return 1;
  }
  const llmrouter::Config& c = (*server)->pipeline().config();
  fmt::print("llmrouter-server listening on http://{}:{}\n", c.server.host, *port);
  std::fflush(stdout);
  if (c.server.dashboard)
    fmt::print(stderr, "dashboard: http://{}:{}/dashboard\n", c.server.host, *port);

  // The signal thread reaches the server only while main keeps it alive: main lets go of
  // it (under the lock) before the server is destroyed.
  static std::mutex live_mu;
  static llmrouter::server::Server* live = nullptr;
  llmrouter::server::Server* s = server->get();
  {
    std::lock_guard lock(live_mu);
    live = s;
  }
  std::thread waiter([signals] {
    int sig = 0;
    auto with_server = [](auto fn) {
      std::lock_guard lock(live_mu);
      if (live) fn(*live);
    };
    // SIGHUP reopens the request log (logrotate renames the file, then signals) and
    // reloads the configuration file (the engine logs the outcome).
    auto next_stop_signal = [&] {
      for (;;) {
        sigwait(&signals, &sig);
        if (sig != SIGHUP) return;
        with_server([](llmrouter::server::Server& running) {
          running.reopen_log();
          (void)running.reload();
        });
      }
    };
    next_stop_signal();
    fmt::print(stderr, "llmrouter-server: {} received, finishing in-flight requests\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
    with_server([](llmrouter::server::Server& running) { running.stop(); });
    next_stop_signal();  // a second signal: leave now
    fmt::print(stderr, "llmrouter-server: second signal, exiting without waiting\n");
    std::_Exit(130);
  });
  waiter.detach();
  auto ran = s->run();
  {
    std::lock_guard lock(live_mu);
    live = nullptr;
  }
  if (!ran) {
    // A listener that failed for good: exit non-zero so a supervisor restarts the router.
    fmt::print(stderr, "llmrouter-server: {}\n", ran.error().message);
    return 1;
  }
  fmt::print(stderr, "llmrouter-server: stopped\n");
  return 0;
}

}  // namespace llmrouter::server
