# `cmake --install`: the libraries, the headers, a CMake package (find_package(llmrouter):
# llmrouter::llmrouter, the static library with the C++ API and the C ABI;
# llmrouter::shared, libllmrouter.so with the C ABI only) and a pkg-config file (llmrouter:
# the C ABI, linking libllmrouter.so).
include(CMakePackageConfigHelpers)

set(llmrouter_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/llmrouter)

install(TARGETS llmrouter llmrouter_static EXPORT llmrouterTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/llmrouter DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_SOURCE_DIR}/bindings/c/include/llmrouter.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET llmrouter-server)
  install(TARGETS llmrouter-server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT llmrouterTargets NAMESPACE llmrouter:: DESTINATION ${llmrouter_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/llmrouterConfig.cmake.in
  ${PROJECT_BINARY_DIR}/llmrouterConfig.cmake INSTALL_DESTINATION ${llmrouter_cmake_dir})
# 0.x: minor versions may break the C++ API (the C ABI has its own version number).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/llmrouterConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/llmrouterConfig.cmake ${PROJECT_BINARY_DIR}/llmrouterConfigVersion.cmake
  DESTINATION ${llmrouter_cmake_dir})

# The .pc file finds its prefix from its own location, so the installed tree can move
# (and `cmake --install --prefix` elsewhere than configured works).
file(RELATIVE_PATH llmrouter_pc_to_prefix /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" llmrouter_pc_to_prefix "${llmrouter_pc_to_prefix}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/llmrouter.pc.in ${PROJECT_BINARY_DIR}/llmrouter.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/llmrouter.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
