# LLMROUTER_SANITIZE=ON builds every target with ASan + UBSan; any UB report fails the run.
if(LLMROUTER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# LLMROUTER_TSAN=ON builds every target with ThreadSanitizer, for the threaded parts
# (transport, event bus, log writer, pipeline under concurrency).
if(LLMROUTER_TSAN)
  if(LLMROUTER_SANITIZE)
    message(FATAL_ERROR "LLMROUTER_TSAN and LLMROUTER_SANITIZE cannot be combined")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  # ThreadSanitizer does not model standalone fences (g++ refuses them under -Werror=tsan).
  # Asio's fenced blocks order handler memory for an io_context run by several threads;
  # each of the engine's loops is run by one thread, and work reaches it through the
  # scheduler's mutex, which ThreadSanitizer does see.
  add_compile_definitions(BOOST_ASIO_DISABLE_FENCED_BLOCK)
endif()

# What programs built or run outside this build need to match it: the packaging test's
# consumers link with LLMROUTER_SANITIZE_FLAGS, and the Python tests, whose interpreter is
# not instrumented, preload the sanitizer runtime before libllmrouter.so (ASan and TSan
# insist on coming first). Python's interpreter keeps memory until exit by design, so leak
# detection is off for those tests only.
set(LLMROUTER_SANITIZE_FLAGS "")
set(LLMROUTER_PYTHON_TEST_ENV "")
if(LLMROUTER_SANITIZE OR LLMROUTER_TSAN)
  if(LLMROUTER_SANITIZE)
    set(LLMROUTER_SANITIZE_FLAGS "-fsanitize=address,undefined")
    set(runtime libasan.so)
    set(LLMROUTER_PYTHON_TEST_ENV "ASAN_OPTIONS=detect_leaks=0")
  else()
    set(LLMROUTER_SANITIZE_FLAGS "-fsanitize=thread")
    set(runtime libtsan.so)
  endif()
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${runtime}
                  OUTPUT_VARIABLE runtime_path OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND LLMROUTER_PYTHON_TEST_ENV "LD_PRELOAD=${runtime_path}")
endif()
