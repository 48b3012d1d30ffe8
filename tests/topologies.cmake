# topologies: generators, files, mixing weights, spectra, link removal and the ADMM design.
dgcn_add_suite(topologies TIMEOUT 300 LIBS dgcn_topologies dgcn_core)
