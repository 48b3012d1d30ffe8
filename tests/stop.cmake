# stop: SIGINT and SIGTERM during the long computations (topology design, planning, baselines) end
# dgcn with 128 + N within a bound and no summary.json.
if(TARGET dgcn)
  dgcn_add_suite(stop TIMEOUT 240 LIBS dgcn_core)
  add_dependencies(test_stop dgcn)
  set_tests_properties(stop PROPERTIES COST 10) # about 11 s: early under ctest -j (tests/e2e.cmake)
endif()
