/* nn/kernels.h: the hot kernels of the GCN and MLP, in forward/backward pairs.
 *
 * Every kernel takes explicit sizes; matrices are row-major with the shape written beside each
 * pointer. Backward kernels ACCUMULATE into their gradient outputs (the caller zeroes them), except
 * where a comment says "overwrites". No kernel allocates.
 *
 * Dropout is counter-based (on core/rng.h's dgcn_mix64): element (row r, column j) of a
 * layer-`layer` input is kept when dgcn_dropout_unit(dgcn_dropout_row_key(seed, iter, layer,
 * gid[r]), j) >= p and then scaled by 1 / (1 - p), so a block of rows draws exactly the
 * centralized run's mask for those rows.
 * The four 64-bit mixes are paid once per row and each element costs one cheap 32-bit hash (four
 * 64-bit mixes per element would be most of a Cora epoch). For the sparse features the mask
 * is drawn on stored nonzeros only (a zero stays zero either way). */
#ifndef DGCN_NN_KERNELS_H
#define DGCN_NN_KERNELS_H

#include "core/rng.h"
#include "graph/csr.h"
#include "nn/gcn.h"

#include <stdint.h>

/* The 64-bit key of one row of a layer-`layer` dropout: nested splitmix64 finalizers (dgcn_mix64)
 * of (seed, iter, layer, gid), a pure function of those four. */
static inline uint64_t dgcn_dropout_row_key(uint64_t seed, int64_t iter, int layer, int32_t gid) {
    return dgcn_mix64(seed ^ dgcn_mix64((uint64_t)iter ^
                                        dgcn_mix64((uint64_t)layer ^ dgcn_mix64((uint64_t)gid))));
}

/* Uniform in [0, 1) (24 bits) of column col of the row keyed k: the 32-bit murmur3 finalizer of
 * a Weyl step from the key, a bijection of col for a fixed k (no two columns of a row share a
 * draw), cheap enough to vectorize. The element is kept when this is >= p. */
static inline float dgcn_dropout_unit(uint64_t k, uint32_t col) {
    uint32_t h = ((uint32_t)k + col * 0x9E3779B9u) ^ (uint32_t)(k >> 32);
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return (float)(int32_t)(h >> 8) * (1.0f / 16777216.0f);
}

/* ---- dense products ----
 * Chosen by shape: a width of at most 16 on the narrow side (the GCN's hidden and class widths),
 * blocks of at most 8 rows and products of at most 16384 multiply-adds run on the library's own
 * register kernels (no OpenBLAS call, nothing allocated: an agent owning a few rows pays no
 * per-call overhead); wider products call cblas_sgemm. */

/* out = in w. Overwrites out. */
void dgcn_matmul_forward(float *out /* (n, fo) */, const float *in /* (n, fi) */,
                         const float *w /* (fi, fo) */, int32_t n, int32_t fi, int32_t fo);
/* dw += in^T dout; din += dout w^T when din != NULL. */
void dgcn_matmul_backward(float *din /* (n, fi) or NULL */, float *dw /* (fi, fo) */,
                          const float *dout /* (n, fo) */, const float *in /* (n, fi) */,
                          const float *w /* (fi, fo) */, int32_t n, int32_t fi, int32_t fo);

/* ---- sparse x dense ---- */

/* y = a m for a CSR a (n_rows, n_cols) and a dense m (n_cols, w). Overwrites y.
 * The transposed product G_full = A^T G is dgcn_spmm on the transpose of A (dgcn_csr_transpose). */
void dgcn_spmm(float *y /* (a->n_rows, w) */, const dgcn_csr *a,
               const float *m /* (a->n_cols, w) */, int32_t w);
/* g_full += a^T g by scattering each row of g (the transpose-free form of the backward product). */
void dgcn_spmm_t_scatter(float *g_full /* (a->n_cols, w) */, const dgcn_csr *a,
                         const float *g /* (a->n_rows, w) */, int32_t w);
/* Fills at (already sized: at->n_rows = a->n_cols, at->n_cols = a->n_rows, rowptr of
 * a->n_cols + 1 entries, col/val of a->nnz) with the transpose of a; columns come out increasing.
 * count (a->n_cols) is scratch. */
void dgcn_csr_transpose_fill(dgcn_csr *at, const dgcn_csr *a, int64_t *count /* (a->n_cols) */);

/* y = dropout(x) w for sparse features x (n, d) and dense weights w (d, fo), the mask drawn on x's
 * stored nonzeros (columns as keys). p == 0 or gid == NULL means no dropout. When xd_val is
 * not NULL it receives the dropped-and-scaled value of every stored entry (0 where dropped), which
 * is what dgcn_sparse_matmul_backward needs. Overwrites y. */
void dgcn_sparse_dropout_matmul_forward(float *y /* (x->n_rows, fo) */,
                                        float *xd_val /* (x->nnz) */, const dgcn_csr *x,
                                        const float *w /* (x->n_cols, fo) */, int32_t fo,
                                        const int32_t *gid /* (x->n_rows) */, float p,
                                        uint64_t seed, int64_t iter, int layer);
/* dw += dropout(x)^T dy, with dropout(x) given as x's pattern with the values xd_val (x->val itself
 * when no dropout was applied). */
void dgcn_sparse_matmul_backward(float *dw /* (x->n_cols, fo) */, const dgcn_csr *x,
                                 const float *xd_val /* (x->nnz) */,
                                 const float *dy /* (x->n_rows, fo) */, int32_t fo);

/* Widest fo of dgcn_spmm_sparse_backward. */
#define DGCN_FUSED_MAX_W 256

/* dw += dropout(x)^T (at dz): a first layer's weight gradient through the transposed product in one
 * pass, the same as dgcn_spmm into a buffer and dgcn_sparse_matmul_backward from it, without the
 * buffer: row r of at dz is formed on the stack and scattered through row r of x at once. at is
 * (x->n_rows, k), dz (k, fo), fo <= DGCN_FUSED_MAX_W; xd_val as for dgcn_sparse_matmul_backward. */
void dgcn_spmm_sparse_backward(float *dw /* (x->n_cols, fo) */, const dgcn_csr *at,
                               const float *dz /* (at->n_cols, fo) */, const dgcn_csr *x,
                               const float *xd_val /* (x->nnz) */, int32_t fo);

/* ---- elementwise ---- */

/* out = dropout(in) with the row keys of gid; out may equal in (else they must not overlap). */
void dgcn_dropout_forward(float *out /* (n, w) */, const float *in /* (n, w) */, int32_t n,
                          int32_t w, const int32_t *gid /* (n) */, float p, uint64_t seed,
                          int64_t iter, int layer);
/* din += dout * mask / (1 - p), the mask redrawn from the same keys. */
void dgcn_dropout_backward(float *din /* (n, w) */, const float *dout /* (n, w) */, int32_t n,
                           int32_t w, const int32_t *gid /* (n) */, float p, uint64_t seed,
                           int64_t iter, int layer);
/* out = max(in, 0); out may equal in. */
void dgcn_relu_forward(float *out /* (n) */, const float *in /* (n) */, int64_t n);
/* din += dout where in > 0 (in is the ReLU's input or output: same sign pattern). */
void dgcn_relu_backward(float *din /* (n) */, const float *dout /* (n) */,
                        const float *in /* (n) */, int64_t n);
/* The backward of hd = dropout(relu(z)) in one pass, without redrawing the mask: overwrites
 * dz = dhd * scale where hd != 0, else 0 (hd != 0 exactly when the element was kept and z > 0). */
void dgcn_relu_dropout_backward(float *dz /* (n) */, const float *dhd /* (n) */,
                                const float *hd /* (n) */, float scale, int64_t n);

/* Softmax cross-entropy of the rows of logits with a label (>= 0) and a split in 1..3: adds each
 * row's -log softmax(z)[label] to ev->loss_sum[split], its argmax hit to ev->correct[split] and 1 to
 * ev->count[split] (ev may be NULL). When dlogits is not NULL it is overwritten: rows of the
 * training split get (softmax(z) - onehot(label)) * grad_scale, all other rows 0. Stable (max
 * subtracted); exp and log are vectorized polynomials (relative error about 2e-7), libm past 1024
 * classes. */
void dgcn_softmax_xent(float *dlogits /* (n, c) or NULL */, const float *logits /* (n, c) */,
                       const int32_t *label /* (n) */, const uint8_t *split /* (n) */, int32_t n,
                       int32_t c, float grad_scale, dgcn_eval *ev);

/* y += a x */
void dgcn_axpy(float *y /* (n) */, float a, const float *x /* (n) */, int64_t n);
/* y = a x (overwrites y) */
void dgcn_scale_copy(float *y /* (n) */, float a, const float *x /* (n) */, int64_t n);
/* x *= a */
void dgcn_scal(float *x /* (n) */, float a, int64_t n);

#endif
