# Every third-party dependency, found in one place. All come from Debian 12 packages
# (scripts/install-deps installs them). Include directories are SYSTEM so their warnings
# stay out of ours.
find_package(Threads REQUIRED)
find_package(CURL 7.88 REQUIRED)                      # CURL::libcurl (transport)
find_package(simdjson 3 CONFIG REQUIRED)              # simdjson::simdjson (parsing)
find_package(tomlplusplus 3 CONFIG REQUIRED)          # tomlplusplus::tomlplusplus (config)
find_package(fmt 9 CONFIG REQUIRED)                   # fmt::fmt
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)    # OpenSSL::Crypto (the gateway's SHA-256)
find_package(tl-expected 1.0 CONFIG REQUIRED)         # tl::expected (Result<T>)
# Boost.Asio (header-only, Debian's libboost1.81-dev): the engine's event loops. Only the
# translation units that run on them include it (the transport, the HTTP edge, the Redis
# client); it is no dependency of an installed library.
find_package(boost_headers 1.81 CONFIG REQUIRED)       # Boost::headers
# JSON is written by lib/json's own writer (see the comment on json::Writer). RapidJSON
# (header-only, Debian's rapidjson-dev) is used for one thing: its JSON Schema validator,
# in lib/core/json_schema.cpp only. Its config has no target, only RAPIDJSON_INCLUDE_DIRS.
find_package(RapidJSON 1.1 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
# hiredis (Debian's libhiredis-dev, 0.14): the Redis limit store's client, driven by the
# engine's Asio loops (lib/gateway/redis.cpp). pkg-config only.
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis>=0.14)

if(LLMROUTER_BUILD_APPS OR LLMROUTER_BUILD_TESTS OR LLMROUTER_BUILD_BENCHMARKS)
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
  # The Python binding's tests and example (standard library only). They run the
  # interpreter binary itself, not a launcher script (pyenv's shims are bash scripts), so
  # that a preloaded sanitizer runtime (sanitizers.cmake) reaches only Python.
  find_package(Python3 3.9 REQUIRED COMPONENTS Interpreter)
  execute_process(COMMAND ${Python3_EXECUTABLE} -c "import sys; print(sys.executable)"
                  OUTPUT_VARIABLE LLMROUTER_PYTHON OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT LLMROUTER_PYTHON)
    set(LLMROUTER_PYTHON ${Python3_EXECUTABLE})
  endif()
  find_program(PKG_CONFIG_EXECUTABLE pkg-config REQUIRED)  # the packaging test
endif()

if(LLMROUTER_BUILD_BENCHMARKS)
  find_package(benchmark 1.7 CONFIG REQUIRED)         # benchmark::benchmark
endif()
