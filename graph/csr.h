/* graph/csr.h: compressed sparse rows, the one sparse matrix of dgcn.
 *
 * Used for adjacency (A, A_hat and an agent's block of A_hat over own + halo columns) and for
 * sparse features X. A plain struct the caller owns: init/fini; a failed init leaves it safe to
 * fini; fini of a zeroed struct is a no-op. Column indices within a row are strictly increasing. */
#ifndef DGCN_GRAPH_CSR_H
#define DGCN_GRAPH_CSR_H

#include <stdint.h>

typedef struct dgcn_csr {
    int32_t n_rows;
    int32_t n_cols;
    int64_t nnz;
    int64_t *rowptr; /* (n_rows + 1) offsets into col/val */
    int32_t *col;    /* (nnz) column of each entry, increasing within a row */
    float *val;      /* (nnz) value of each entry */
} dgcn_csr;

/* Allocates an n_rows x n_cols matrix with room for nnz entries; rowptr zeroed. */
int dgcn_csr_init(dgcn_csr *m, int32_t n_rows, int32_t n_cols, int64_t nnz);
void dgcn_csr_fini(dgcn_csr *m);

/* Builds the symmetric adjacency (values 1) of an undirected graph from n_edges pairs (u[i], v[i])
 * given once each: both (u, v) and (v, u) are stored. Rejects (DGCN_EFORMAT) self-loops,
 * duplicates and ids out of [0, n). O(n + E log E). */
int dgcn_csr_from_edges(dgcn_csr *out, int32_t n, const int32_t *u, const int32_t *v,
                        int64_t n_edges);

/* A_hat = D~^-1/2 (A + I) D~^-1/2 with D~ the degree of A + I (Kipf and Welling). A must be square
 * with no diagonal entries. out is initialized here. */
int dgcn_csr_gcn_norm(dgcn_csr *out, const dgcn_csr *a);

/* Divides every row by its sum (rows summing to 0 stay 0). In place. */
void dgcn_csr_row_normalize(dgcn_csr *m);

/* Sets every stored value to 1 (binary features). In place. */
void dgcn_csr_binarize(dgcn_csr *m);

#endif
