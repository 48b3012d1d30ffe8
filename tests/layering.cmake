# layering: no source outside comm/ includes a transport backend's header or names a backend
# (tests/check_layering.c); a new transport then touches comm/ only.
add_executable(check_layering check_layering.c)
target_compile_definitions(check_layering PRIVATE DGCN_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME layering COMMAND check_layering)
set_tests_properties(layering PROPERTIES TIMEOUT 30)
