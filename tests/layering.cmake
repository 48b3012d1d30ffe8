# layering (tests/check_layering.c): no source outside comm/ includes a transport backend's header
# or names a backend, so a new transport touches comm/ only; and no two modules (.h/.c pairs) of a
# folder include each other, directly or round a circle, so each folder stacks in layers; and no
# source outside tests/ calls system( or popen( (a shell). Given a directory as its argument,
# check_layering checks that tree instead.
add_executable(check_layering check_layering.c)
target_compile_definitions(check_layering PRIVATE DGCN_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME layering COMMAND check_layering)
set_tests_properties(layering PROPERTIES TIMEOUT 30)
