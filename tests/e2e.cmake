# e2e: the dgcn program end to end (verify on every transport, training across transports, failures).
if(TARGET dgcn AND TARGET dgcn_agent)
  dgcn_add_suite(e2e TIMEOUT 300 LIBS dgcn_coordinator dgcn_core)
  add_dependencies(test_e2e dgcn)
  # The longest suite by far (about 100 s release, 150 s under ASan, against at most 15 s for any
  # other): with ctest -j it starts first (ctest orders by COST when it has no timings of its own,
  # as on a fresh clone), so the others run beside it instead of after it.
  set_tests_properties(e2e PROPERTIES COST 100)
endif()
