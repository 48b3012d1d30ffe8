# topologies: generators, the spec grammar, files, mixing weights, spectra, link removal and the
# ADMM design, and the topology command (which plans through the coordinator library for specs
# that need a partition's required links).
dgcn_add_suite(topologies TIMEOUT 300 LIBS dgcn_coordinator dgcn_topologies dgcn_core)
