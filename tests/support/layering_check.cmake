# One include from one folder of lib/, compiled with exactly that folder's include path
# (lib/CMakeLists.txt): EXPECT=fail for an include against the layering, EXPECT=pass for
# one it allows (so the check cannot pass for a broken command).
#   cmake -DCXX=... -DSOURCE_DIR=... -DLAYERS=... -DLAYER=core -DHEADER=formats/codecs.h
#         -DEXPECT=fail -DWORK=... -P layering_check.cmake
file(MAKE_DIRECTORY ${WORK})
string(MAKE_C_IDENTIFIER "${LAYER}_${HEADER}" stem)
set(source ${WORK}/${stem}.cpp)
file(WRITE ${source} "#include \"${HEADER}\"\n")
execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -I${SOURCE_DIR}/include -I${SOURCE_DIR}/bindings/c/include
          -I${LAYERS}/${LAYER} ${source}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(EXPECT STREQUAL "fail")
  if(rc EQUAL 0)
    message(FATAL_ERROR "lib/${LAYER} could include \"${HEADER}\": the layering does not hold")
  endif()
  if(NOT err MATCHES "No such file")
    message(FATAL_ERROR "expected a missing include, got:\n${err}")
  endif()
elseif(NOT rc EQUAL 0)
  message(FATAL_ERROR "lib/${LAYER} cannot include \"${HEADER}\":\n${err}")
endif()
