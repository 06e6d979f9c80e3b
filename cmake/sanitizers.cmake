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
endif()
