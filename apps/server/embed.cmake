# Writes the file IN as a C++ string constant (llmrouter::server::kDashboardHtml) to OUT.
file(READ ${IN} content)
set(delim "llmrouter_embed")
string(FIND "${content}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter")
endif()
# A raw string literal longer than 64 KB is fine for g++ and clang.
file(WRITE ${OUT} "// Generated from dashboard.html; do not edit.\nnamespace llmrouter::server {\nextern const char* const kDashboardHtml;\nconst char* const kDashboardHtml = R\"${delim}(${content})${delim}\";\n}  // namespace llmrouter::server\n")
