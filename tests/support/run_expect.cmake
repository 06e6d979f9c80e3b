# Runs EXE with ARGS (a ;-list) and checks its exit status and that stderr contains
# EXPECT_STDERR. Usage: cmake -DEXE=... -DARGS=... -DEXPECT_EXIT=N -DEXPECT_STDERR=... -P this
execute_process(COMMAND ${EXE} ${ARGS}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)
if(NOT rc STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "exit status ${rc}, expected ${EXPECT_EXIT}\nstdout: ${out}\nstderr: ${err}")
endif()
string(FIND "${err}" "${EXPECT_STDERR}" pos)
if(pos EQUAL -1)
  message(FATAL_ERROR "stderr lacks '${EXPECT_STDERR}'\nstderr: ${err}")
endif()
