# core: the task pool and wait queues (core/task.h) and the task-local error detail.
dgcn_add_suite(core TIMEOUT 300 LIBS dgcn_core)
# test_shards: a suite split by DGCN_TEST_SHARD (tests/testutil.h; how e2e runs, tests/e2e.cmake)
# runs every test exactly once over its shards (tests/scripts/shards.cmake, on test_core).
add_test(NAME test_shards COMMAND ${CMAKE_COMMAND} -DBIN=$<TARGET_FILE:test_core>
         -P ${CMAKE_CURRENT_SOURCE_DIR}/scripts/shards.cmake)
set_tests_properties(test_shards PROPERTIES TIMEOUT 120 ENVIRONMENT "CK_FORK=yes")
