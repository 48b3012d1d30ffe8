# agent: the consensus optimizers and the distributed agent against the centralized model, and how
# a coordinator's session fails to start.
dgcn_add_suite(agent TIMEOUT 300 LIBS dgcn_coordinator dgcn_agent dgcn_nn dgcn_graph dgcn_comm
               dgcn_core)
# Allocation counting for the relay step (test_relay_equivalence).
target_link_options(test_agent PRIVATE -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc)
