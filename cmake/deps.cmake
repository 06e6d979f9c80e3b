# Every third-party dependency, found in one place. All come from Debian 12 packages
# (scripts/install-deps installs them). Include directories are SYSTEM so their warnings
# stay out of ours.
find_package(Threads REQUIRED)
find_package(CURL 7.88 REQUIRED)                      # CURL::libcurl (transport)
find_package(simdjson 3 CONFIG REQUIRED)              # simdjson::simdjson (parsing)
find_package(tomlplusplus 3 CONFIG REQUIRED)          # tomlplusplus::tomlplusplus (config)
find_package(fmt 9 CONFIG REQUIRED)                   # fmt::fmt
find_package(tl-expected 1.0 CONFIG REQUIRED)         # tl::expected (Result<T>)
# JSON is written by lib/json's own writer (see the comment on json::Writer); RapidJSON is
# not needed.

if(LLMROUTER_BUILD_APPS OR LLMROUTER_BUILD_TESTS OR LLMROUTER_BUILD_BENCHMARKS)
  find_package(PkgConfig REQUIRED)
  # Debian ships cpp-httplib as a compiled library without a CMake config; its pkg-config
  # flags must match the .so's class layout.
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib>=0.11)
endif()

if(LLMROUTER_BUILD_APPS)
  # The server's /metrics: prometheus-cpp's core registry and text serialiser (no HTTP).
  find_package(prometheus-cpp CONFIG REQUIRED)       # prometheus-cpp::core (its config has no version)

  # llmrouter-tui: ncursesw (Debian's libncurses-dev), for wide characters.
  set(CURSES_NEED_WIDE TRUE)
  set(CURSES_NEED_NCURSES TRUE)
  find_package(Curses REQUIRED)                       # CURSES_LIBRARIES, CURSES_INCLUDE_DIRS
endif()

if(LLMROUTER_BUILD_TESTS)
  find_package(GTest 1.12 CONFIG REQUIRED)            # GTest::gtest_main, GTest::gmock
  include(GoogleTest)
endif()

if(LLMROUTER_BUILD_BENCHMARKS)
  find_package(benchmark 1.7 CONFIG REQUIRED)         # benchmark::benchmark
endif()
