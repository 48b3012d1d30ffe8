# consensus: the optimizers of nn/consensus.h on a strongly convex problem with a known optimum
# (simulated agents, no transport), and the Chebyshev-accelerated gossip rounds.
dgcn_add_suite(consensus TIMEOUT 120 LIBS dgcn_nn dgcn_topologies dgcn_core)
# compress: the compression operators (contraction, unbiasedness, wire form) and compressed gossip
# with error feedback (nn/compress.h, nn/choco.h).
dgcn_add_suite(compress TIMEOUT 300 LIBS dgcn_nn dgcn_core)
