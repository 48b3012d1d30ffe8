# topologies: generators, files, mixing weights, spectra, link removal and the ADMM design, and the
# topology command (compiled in directly, with the option parser it uses).
dgcn_add_suite(topologies TIMEOUT 300 LIBS dgcn_topologies dgcn_core
               SOURCES ${CMAKE_SOURCE_DIR}/coordinator/cmd_topology.c
                       ${CMAKE_SOURCE_DIR}/coordinator/args.c)
