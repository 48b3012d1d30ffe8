# nn: kernels, the GCN/MLP model (gradient checks, block invariant) and the optimizers.
dgcn_add_suite(nn TIMEOUT 120 LIBS dgcn_nn)
