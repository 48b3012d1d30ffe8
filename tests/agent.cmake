# agent: the consensus optimizers and the distributed agent against the centralized model.
if(TARGET dgcn_agent AND EXISTS ${CMAKE_SOURCE_DIR}/graph/partition.c
   AND EXISTS ${CMAKE_SOURCE_DIR}/graph/shard.c)
  dgcn_add_suite(agent TIMEOUT 300 LIBS dgcn_agent dgcn_nn dgcn_graph dgcn_comm dgcn_core)
else()
  message(STATUS "agent suite: waiting for dgcn_agent, graph/partition.c and graph/shard.c")
endif()
