# layering (tests/check_layering.c): no source outside comm/ includes a transport backend's header
# or names a backend, so a new transport touches comm/ only; and no two modules (.h/.c pairs) of a
# folder include each other, directly or round a circle, so each folder stacks in layers; and no
# source outside tests/ calls system( or popen( (a shell). Given a directory as its argument,
# check_layering checks that tree instead.
add_executable(check_layering check_layering.c)
target_compile_definitions(check_layering PRIVATE DGCN_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME layering COMMAND check_layering)
set_tests_properties(layering PROPERTIES TIMEOUT 30)

# layering_fuzz_links: no fuzz target links the kernels (dgcn_nn) or a library that pulls them in
# (dgcn_agent, dgcn_coordinator), directly or through another library: each links only the decoder
# it fuzzes (tests/fuzz/targets.cmake), so launch/fuzz.sh does not compile nn/ under the fuzzer's
# instrumentation. The link closures are read from this build's targets at configure time; the
# fuzz build (DGCN_FUZZ=ON) refuses to configure on the same finding.
include(${CMAKE_SOURCE_DIR}/tests/fuzz/targets.cmake)
dgcn_fuzz_banned_links(DGCN_FUZZ_BAD)
set(DGCN_FUZZ_CLOSURES "")
foreach(t ${DGCN_FUZZ_TARGETS} seeds)
  dgcn_link_closure(closure ${DGCN_FUZZ_LIBS_${t}})
  string(JOIN " " closure ${closure})
  list(APPEND DGCN_FUZZ_CLOSURES "fuzz_${t}: ${closure}")
endforeach()
string(JOIN "|" DGCN_FUZZ_BAD_TEXT ${DGCN_FUZZ_BAD})
string(JOIN "|" DGCN_FUZZ_CLOSURES_TEXT ${DGCN_FUZZ_CLOSURES})
add_test(NAME layering_fuzz_links COMMAND ${CMAKE_COMMAND} "-DBAD=${DGCN_FUZZ_BAD_TEXT}"
         "-DCLOSURES=${DGCN_FUZZ_CLOSURES_TEXT}" -P ${CMAKE_CURRENT_SOURCE_DIR}/scripts/fuzz_links.cmake)
set_tests_properties(layering_fuzz_links PROPERTIES TIMEOUT 30)
