# Warning flags for llmrouter's own targets (third-party headers are SYSTEM includes).
function(llmrouter_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wmissing-declarations
    -Wimplicit-fallthrough -Wformat=2)
  if(LLMROUTER_FATAL_WARNINGS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
