# hosts: agents that join a run from another host (--wait-for-agents), over CURVE/tcp between two
# network namespaces made by the test (skipped where `ip netns add` is not permitted).
if(TARGET dgcn AND TARGET dgcn_agent)
  dgcn_add_suite(hosts TIMEOUT 300 LIBS dgcn_core)
  add_dependencies(test_hosts dgcn)
endif()
