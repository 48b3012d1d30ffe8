# e2e: the dgcn program end to end (verify on every transport, training across transports, failures).
if(TARGET dgcn AND TARGET dgcn_agent)
  # The longest suite by far (about 160 s of test time in a release build, more under ASan, most
  # of it waiting on deadlines), so ctest runs it as 6 entries e2e_1 .. e2e_6 (every sixth test
  # each; 8-42 s apiece in a release build) that share the cores with each other and with the
  # other suites, started first (COST: ctest orders by it on a fresh clone, having no timings of
  # its own yet). ctest -R e2e runs them all.
  dgcn_add_suite(e2e TIMEOUT 300 SHARDS 6 COST 100 LIBS dgcn_coordinator dgcn_core)
  add_dependencies(test_e2e dgcn)
endif()
