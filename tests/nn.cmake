# nn: kernels, the GCN/MLP model (gradient checks, block invariant) and the optimizers.
dgcn_add_suite(nn TIMEOUT 120 LIBS dgcn_nn)
# Allocation counting for the allocation-free training step (test_step_allocates_nothing), and
# sgemm call counting for the small shapes that must not reach OpenBLAS (test_small_skips_blas).
target_link_options(test_nn PRIVATE -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc
                    -Wl,--wrap=cblas_sgemm)
