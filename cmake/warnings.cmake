# Warning flags for llmrouter's own targets (third-party headers are SYSTEM includes).
function(llmrouter_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wmissing-declarations
    -Wimplicit-fallthrough -Wformat=2)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports -Wmaybe-uninitialized inside std::variant's copy and move constructors
    # at -O2/-O3 for fully initialised alternatives (GCC bugs 105562 and 107919); the canonical
    # stream events are variants, so the warning is noise here.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
  if(LLMROUTER_FATAL_WARNINGS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
