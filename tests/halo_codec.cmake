# halo_codec: the 16- and 8-bit forms of halo rows (nn/halo_codec.h): round-trip error bounds,
# per-row scales, stochastic rounding's unbiasedness, error feedback.
dgcn_add_suite(halo_codec TIMEOUT 60 LIBS dgcn_nn dgcn_core)
