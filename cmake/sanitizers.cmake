# LLMROUTER_SANITIZE=ON builds every target with ASan + UBSan; any UB report fails the run.
if(LLMROUTER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
