# e2e: the dgcn program end to end (verify on every transport, training across transports, failures).
if(TARGET dgcn AND TARGET dgcn_agent)
  dgcn_add_suite(e2e TIMEOUT 300 LIBS dgcn_coordinator dgcn_core)
  add_dependencies(test_e2e dgcn)
endif()
