# nn: kernels, the GCN/MLP model (gradient checks, block invariant) and the optimizers.
dgcn_add_suite(nn TIMEOUT 120 LIBS dgcn_nn)
# Allocation counting for the allocation-free training step (test_step_allocates_nothing).
target_link_options(test_nn PRIVATE -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc)
