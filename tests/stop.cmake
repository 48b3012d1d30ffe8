# stop: SIGINT and SIGTERM during the long computations (topology design, planning, baselines) end
# dgcn with 128 + N within a bound and no summary.json.
if(TARGET dgcn)
  dgcn_add_suite(stop TIMEOUT 240 LIBS dgcn_core)
  add_dependencies(test_stop dgcn)
endif()
