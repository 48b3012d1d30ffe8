/* nn/receptive.h: the rows a GCN pass must compute for the outputs its loss reads.
 *
 * Row r of layer l's output A_hat M_l reads the rows of M_l in the columns of A_hat's row r, so the
 * logits of a set of rows R_L need layer L-1 on R_L and its input rows R_L-1 = the columns of
 * A_hat's rows R_L, and so on back to R_0: the K-hop receptive field of R_L for K layers (the MLP
 * reads no neighbour: every R_l is R_L). A training step whose loss reads the training rows needs
 * nothing else, exactly: every other row of every layer has a zero gradient and no effect on the
 * loss.
 *
 * A receptive plan holds, for one set of output rows, every R_l (increasing row ids), the blocks
 * A_hat[R_l+1, R_l] with their columns renumbered into R_l (monotone, so each row's sum runs over
 * the same terms in the same order as in the whole product) and their
 * transposes, the rows R_0 of the features, and the keys, labels and splits of those rows. It is
 * built once (it allocates) and read by nn/gcn.c's passes (which do not). */
#ifndef DGCN_NN_RECEPTIVE_H
#define DGCN_NN_RECEPTIVE_H

#include "graph/csr.h"
#include "nn/gcn.h"

#include <stdint.h>

typedef struct dgcn_receptive {
    int n_layers;                       /* L */
    int32_t n[DGCN_MAX_LAYERS + 1];     /* |R_l|; n[L] output rows */
    int32_t *rows[DGCN_MAX_LAYERS + 1]; /* (n[l]) R_l as row ids of the whole block, increasing */
    int32_t *gid[DGCN_MAX_LAYERS + 1];  /* (n[l]) the global ids of R_l (dropout keys) */
    dgcn_csr a[DGCN_MAX_LAYERS];        /* (n[l+1], n[l]) A_hat[R_l+1, R_l]; empty for the MLP */
    dgcn_csr at[DGCN_MAX_LAYERS];       /* (n[l], n[l+1]) its transpose */
    dgcn_csr x;                         /* (n[0], d) rows R_0 of the features */
    int32_t *label;                     /* (n[L]) labels of R_L */
    uint8_t *split;                     /* (n[L]) splits of R_L */
} dgcn_receptive;

/* Builds the plan of the rows r with want[r] != 0 for a model of n_layers layers over a square
 * a (n, n; NULL for the MLP), features x (n, d), and the block's gid, label and split (n each).
 * On failure rf is left safe to fini. */
int dgcn_receptive_build(dgcn_receptive *rf, int n_layers, const dgcn_csr *a, const dgcn_csr *x,
                         const int32_t *gid, const int32_t *label, const uint8_t *split,
                         const uint8_t *want);
void dgcn_receptive_fini(dgcn_receptive *rf);

#endif
