# The layering_fuzz_links entry (tests/layering.cmake): prints each fuzz target's link closure
# (CLOSURES, entries separated by |) and fails when BAD names a banned library a target links.
string(REPLACE "|" ";" closures "${CLOSURES}")
foreach(c ${closures})
  message("${c}")
endforeach()
if(NOT "${BAD}" STREQUAL "")
  string(REPLACE "|" "\n  " bad "${BAD}")
  message(FATAL_ERROR "fuzz targets link libraries they do not fuzz (tests/fuzz/targets.cmake):\n  ${bad}")
endif()
