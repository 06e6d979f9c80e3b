# The packaging test: installs the build tree into a fresh prefix, then builds and runs
# programs against it the two ways users do: find_package(llmrouter) (tests/package) and
# pkg-config (a C program compiled by hand). Every step is bounded in time.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DSOURCE_DIR=tests/package -DGENERATOR=Ninja
#         -DC_COMPILER=cc -DCXX_COMPILER=c++ -DSANITIZE_FLAGS="..." -P run_package_test.cmake
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/llmrouter.h include/llmrouter/pipeline.h)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
file(GLOB_RECURSE config ${prefix}/*/llmrouterConfig.cmake)
file(GLOB_RECURSE pc ${prefix}/*/llmrouter.pc)
if(NOT config OR NOT pc)
  message(FATAL_ERROR "the CMake package or the pkg-config file is not installed")
endif()

# find_package(llmrouter)
set(flags)
if(SANITIZE_FLAGS)
  set(flags "-DCMAKE_C_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_CXX_FLAGS=${SANITIZE_FLAGS}"
            "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS}")
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} ${flags})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer_cpp)
message(STATUS "${out}")
if(NOT out MATCHES "C\\+\\+: {\"provider\":\"local\".*C ABI: {\"provider\":\"local\"")
  message(FATAL_ERROR "consumer_cpp printed: ${out}")
endif()
run(${WORK_DIR}/build/consumer_c)
message(STATUS "${out}")

# pkg-config, as a Makefile would use it.
get_filename_component(pc_dir ${pc} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
find_program(PKG_CONFIG pkg-config REQUIRED)
run(${PKG_CONFIG} --cflags --libs llmrouter)
string(STRIP "${out}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(san UNIX_COMMAND "${SANITIZE_FLAGS}")
run(${PKG_CONFIG} --variable=libdir llmrouter)
string(STRIP "${out}" libdir)
run(${C_COMPILER} -std=c99 -Wall -Wextra -pedantic -Werror ${san} ${SOURCE_DIR}/consumer.c ${pc_flags}
    -Wl,-rpath,${libdir} -o ${WORK_DIR}/consumer_pkgconfig)
run(${WORK_DIR}/consumer_pkgconfig)
message(STATUS "${out}")
if(NOT out MATCHES "C \\(ABI [0-9]+\\): {\"provider\":\"local\"")
  message(FATAL_ERROR "consumer_pkgconfig printed: ${out}")
endif()
