/* nn/kernels.c: the hot kernels (see nn/kernels.h for the contracts).
 *
 * Sparse kernels keep the inner loop over the dense width with restrict pointers so it vectorizes;
 * the common widths (16 hidden units, up to 8 classes) are dispatched to copies where the width is
 * a compile-time constant, so the row accumulator lives in registers. */
#include "nn/kernels.h"

#include "core/rng.h"
#include "graph/dataset.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define S_ACC_MAX 64 /* widths up to this use a stack accumulator per row */
#define S_CHUNK 8    /* elementwise loops run in chunks of this constant length, which vectorize */

/* The dropout factor of one element: scale when kept, else 0 (branch-free). */
static inline float s_keep(uint64_t k, uint32_t col, float p, float scale) {
    return dgcn_dropout_unit(k, col) >= p ? scale : 0.0f;
}

/* out[i] = in[i] * factor(k, col[i]) for i < n (a sparse row's stored entries). */
static inline void s_mask_sparse(float *restrict out, const float *restrict in,
                                 const int32_t *restrict col, int64_t n, uint64_t k, float p,
                                 float scale) {
    int64_t i = 0;
    for (; i + S_CHUNK <= n; i += S_CHUNK)
        for (int t = 0; t < S_CHUNK; t++)
            out[i + t] = in[i + t] * s_keep(k, (uint32_t)col[i + t], p, scale);
    for (; i < n; i++) out[i] = in[i] * s_keep(k, (uint32_t)col[i], p, scale);
}

/* out[j] = in[j] * factor(k, j) for j < w (a dense row); out and in do not overlap. */
static inline void s_mask_dense(float *restrict out, const float *restrict in, int32_t w,
                                uint64_t k, float p, float scale) {
    int32_t j = 0;
    for (; j + S_CHUNK <= w; j += S_CHUNK)
        for (int t = 0; t < S_CHUNK; t++)
            out[j + t] = in[j + t] * s_keep(k, (uint32_t)(j + t), p, scale);
    for (; j < w; j++) out[j] = in[j] * s_keep(k, (uint32_t)j, p, scale);
}

/* x[j] *= factor(k, j) for j < w, in place. */
static inline void s_mask_dense_inplace(float *x, int32_t w, uint64_t k, float p, float scale) {
    int32_t j = 0;
    for (; j + S_CHUNK <= w; j += S_CHUNK)
        for (int t = 0; t < S_CHUNK; t++) x[j + t] *= s_keep(k, (uint32_t)(j + t), p, scale);
    for (; j < w; j++) x[j] *= s_keep(k, (uint32_t)j, p, scale);
}

/* ---- dense products ---- */

void dgcn_matmul_forward(float *out, const float *in, const float *w, int32_t n, int32_t fi,
                         int32_t fo) {
    if (n <= 0 || fo <= 0) return;
    if (fi <= 0) {
        memset(out, 0, (size_t)n * (size_t)fo * sizeof *out);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, fo, fi, 1.0f, in, fi, w, fo, 0.0f,
                out, fo);
}

void dgcn_matmul_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                          int32_t n, int32_t fi, int32_t fo) {
    if (n <= 0 || fi <= 0 || fo <= 0) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fi, fo, n, 1.0f, in, fi, dout, fo, 1.0f,
                dw, fo);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, fi, fo, 1.0f, dout, fo, w, fo, 1.0f,
                    din, fi);
}

/* ---- sparse x dense ---- */

/* Four floats in a register (SSE on x86-64); loads and stores are unaligned. */
typedef float s_v4 __attribute__((vector_size(16)));

static inline s_v4 s_load4(const float *p) {
    s_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void s_store4(float *p, s_v4 v) { memcpy(p, &v, sizeof v); }

/* Eight floats in a register (one AVX register, or two SSE ones without AVX). Loaded through an
 * out-parameter: returning it by value is an ABI question on builds without AVX. */
typedef float s_v8 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) void s_load8(s_v8 *v, const float *p) {
    memcpy(v, p, sizeof *v);
}

static inline __attribute__((always_inline)) void s_store8(float *p, const s_v8 *v) {
    memcpy(p, v, sizeof *v);
}

/* acc += s * p[0..8) */
static inline __attribute__((always_inline)) void s_fma8(s_v8 *acc, float s, const float *p) {
    s_v8 x;
    s_load8(&x, p);
    *acc += s * x;
}

/* yr[0..W) += sum over e < ne of v[e] * m[col[e], 0..W), for a compile-time W <= 16 + 7: the
 * accumulators stay in registers (8-float vectors, then a 4-float vector, then scalars). Even and
 * odd entries feed separate accumulators, so consecutive multiply-adds do not wait on each other. */
static inline __attribute__((always_inline)) void s_row_fma(float *restrict yr,
                                                            const int32_t *restrict col,
                                                            const float *restrict v, int64_t ne,
                                                            const float *restrict m, const int W) {
    const int N8 = W / 8, N4 = (W % 8) / 4, T = W % 4, o4 = 8 * N8, ot = o4 + 4 * N4;
    s_v8 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
    s_v4 c0 = {0}, d0 = {0};
    float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f;
    int64_t e = 0;
    for (; e + 1 < ne; e += 2) {
        const float *restrict mr = m + (size_t)col[e] * (size_t)W;
        const float *restrict mq = m + (size_t)col[e + 1] * (size_t)W;
        const float s = v[e], q = v[e + 1];
        if (N8 > 0) {
            s_fma8(&a0, s, mr);
            s_fma8(&b0, q, mq);
        }
        if (N8 > 1) {
            s_fma8(&a1, s, mr + 8);
            s_fma8(&b1, q, mq + 8);
        }
        if (N4 > 0) {
            c0 += s * s_load4(mr + o4);
            d0 += q * s_load4(mq + o4);
        }
        if (T > 0) t0 += s * mr[ot] + q * mq[ot];
        if (T > 1) t1 += s * mr[ot + 1] + q * mq[ot + 1];
        if (T > 2) t2 += s * mr[ot + 2] + q * mq[ot + 2];
    }
    if (e < ne) {
        const float *restrict mr = m + (size_t)col[e] * (size_t)W;
        const float s = v[e];
        if (N8 > 0) s_fma8(&a0, s, mr);
        if (N8 > 1) s_fma8(&a1, s, mr + 8);
        if (N4 > 0) c0 += s * s_load4(mr + o4);
        if (T > 0) t0 += s * mr[ot];
        if (T > 1) t1 += s * mr[ot + 1];
        if (T > 2) t2 += s * mr[ot + 2];
    }
    a0 += b0;
    a1 += b1;
    if (N8 > 0) s_fma8(&a0, 1.0f, yr);
    if (N8 > 1) s_fma8(&a1, 1.0f, yr + 8);
    if (N8 > 0) s_store8(yr, &a0);
    if (N8 > 1) s_store8(yr + 8, &a1);
    if (N4 > 0) s_store4(yr + o4, s_load4(yr + o4) + (c0 + d0));
    if (T > 0) yr[ot] += t0;
    if (T > 1) yr[ot + 1] += t1;
    if (T > 2) yr[ot + 2] += t2;
}

/* The same for any width, accumulating in memory. */
static void s_row_fma_wide(float *restrict yr, const int32_t *restrict col, const float *restrict v,
                           int64_t ne, const float *restrict m, int32_t w) {
    for (int64_t e = 0; e < ne; e++) {
        const float *restrict mr = m + (size_t)col[e] * (size_t)w;
        const float s = v[e];
        for (int32_t j = 0; j < w; j++) yr[j] += s * mr[j];
    }
}

/* Widths with a register-resident copy of s_row_fma: 1..16 (hidden layers, class counts). */
#define S_WIDTH_CASES(X)                                                                           \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)

/* y = a m over all rows, width W (constant after inlining). */
static inline __attribute__((always_inline)) void s_spmm(float *restrict y, const dgcn_csr *a,
                                                         const float *restrict m, const int W) {
    const int64_t *restrict rp = a->rowptr;
    for (int32_t r = 0; r < a->n_rows; r++) {
        float *restrict yr = y + (size_t)r * (size_t)W;
        for (int j = 0; j < W; j++) yr[j] = 0.0f;
        s_row_fma(yr, a->col + rp[r], a->val + rp[r], rp[r + 1] - rp[r], m, W);
    }
}

void dgcn_spmm(float *y, const dgcn_csr *a, const float *m, int32_t w) {
    switch (w) {
#define S_CASE(W)                                                                                  \
    case W: s_spmm(y, a, m, W); return;
        S_WIDTH_CASES(S_CASE)
#undef S_CASE
    default: break;
    }
    for (int32_t r = 0; r < a->n_rows; r++) {
        float *yr = y + (size_t)r * (size_t)w;
        memset(yr, 0, (size_t)w * sizeof *yr);
        s_row_fma_wide(yr, a->col + a->rowptr[r], a->val + a->rowptr[r],
                       a->rowptr[r + 1] - a->rowptr[r], m, w);
    }
}

void dgcn_spmm_t_scatter(float *g_full, const dgcn_csr *a, const float *g, int32_t w) {
    for (int32_t r = 0; r < a->n_rows; r++) {
        const float *restrict gr = g + (size_t)r * (size_t)w;
        for (int64_t e = a->rowptr[r]; e < a->rowptr[r + 1]; e++) {
            const float v = a->val[e];
            float *restrict out = g_full + (size_t)a->col[e] * (size_t)w;
            for (int32_t j = 0; j < w; j++) out[j] += v * gr[j];
        }
    }
}

void dgcn_csr_transpose_fill(dgcn_csr *at, const dgcn_csr *a, int64_t *count) {
    int32_t nc = a->n_cols;
    memset(count, 0, (size_t)nc * sizeof *count);
    for (int64_t e = 0; e < a->nnz; e++) count[a->col[e]]++;
    at->rowptr[0] = 0;
    for (int32_t c = 0; c < nc; c++) {
        at->rowptr[c + 1] = at->rowptr[c] + count[c];
        count[c] = at->rowptr[c]; /* next free slot of row c */
    }
    /* Rows of a in increasing order make each column list of at increasing. */
    for (int32_t r = 0; r < a->n_rows; r++)
        for (int64_t e = a->rowptr[r]; e < a->rowptr[r + 1]; e++) {
            int64_t slot = count[a->col[e]]++;
            at->col[slot] = r;
            at->val[slot] = a->val[e];
        }
}

/* y = dropout(x) w, width W (constant after inlining; 0 = use w_rt through the memory path). Each
 * row's values are masked in chunks first (vectorized, branch-free: a dropped entry adds zeros,
 * as a branch on a random mask would mispredict half the time), then accumulated. */
static inline __attribute__((always_inline)) void
s_sparse_dropout_matmul(float *restrict y, float *restrict xd_val, const dgcn_csr *x,
                        const float *restrict w, const int W, int32_t w_rt, const int32_t *gid,
                        int drop, float p, float scale, uint64_t seed, int64_t iter, int layer) {
    const int64_t *restrict rp = x->rowptr;
    const int32_t *restrict col = x->col;
    const float *restrict val = x->val;
    const int32_t fo = W ? W : w_rt;
    for (int32_t r = 0; r < x->n_rows; r++) {
        float *restrict yr = y + (size_t)r * (size_t)fo;
        for (int32_t j = 0; j < fo; j++) yr[j] = 0.0f;
        const uint64_t k = drop ? dgcn_dropout_row_key(seed, iter, layer, gid[r]) : 0;
        for (int64_t e0 = rp[r]; e0 < rp[r + 1]; e0 += S_ACC_MAX) {
            const int64_t ne = rp[r + 1] - e0 < S_ACC_MAX ? rp[r + 1] - e0 : S_ACC_MAX;
            float vb[S_ACC_MAX];
            const float *v = val + e0;
            if (drop) {
                float *dst = xd_val ? xd_val + e0 : vb;
                s_mask_sparse(dst, val + e0, col + e0, ne, k, p, scale);
                v = dst;
            }
            if (W) s_row_fma(yr, col + e0, v, ne, w, W);
            else s_row_fma_wide(yr, col + e0, v, ne, w, fo);
        }
    }
}

void dgcn_sparse_dropout_matmul_forward(float *y, float *xd_val, const dgcn_csr *x, const float *w,
                                        int32_t fo, const int32_t *gid, float p, uint64_t seed,
                                        int64_t iter, int layer) {
    int drop = p > 0.0f && gid != NULL;
    float scale = drop ? 1.0f / (1.0f - p) : 1.0f;
    switch (fo) {
#define S_CASE(W)                                                                                  \
    case W:                                                                                        \
        s_sparse_dropout_matmul(y, xd_val, x, w, W, W, gid, drop, p, scale, seed, iter, layer);    \
        break;
        S_WIDTH_CASES(S_CASE)
#undef S_CASE
    default:
        s_sparse_dropout_matmul(y, xd_val, x, w, 0, fo, gid, drop, p, scale, seed, iter, layer);
    }
    if (xd_val && !drop) memcpy(xd_val, x->val, (size_t)x->nnz * sizeof *xd_val);
}

static inline __attribute__((always_inline)) void
s_sparse_matmul_backward(float *restrict dw, const dgcn_csr *x, const float *restrict xd_val,
                         const float *restrict dy, int32_t W) {
    const int64_t *restrict rp = x->rowptr;
    const int32_t *restrict col = x->col;
    for (int32_t r = 0; r < x->n_rows; r++) {
        const float *restrict dyr = dy + (size_t)r * (size_t)W;
        for (int64_t e = rp[r]; e < rp[r + 1]; e++) {
            const float v = xd_val[e];
            float *restrict dwr = dw + (size_t)col[e] * (size_t)W;
            for (int32_t j = 0; j < W; j++) dwr[j] += v * dyr[j];
        }
    }
}

void dgcn_sparse_matmul_backward(float *dw, const dgcn_csr *x, const float *xd_val, const float *dy,
                                 int32_t fo) {
    switch (fo) {
    case 16: s_sparse_matmul_backward(dw, x, xd_val, dy, 16); break;
    case 7: s_sparse_matmul_backward(dw, x, xd_val, dy, 7); break;
    default: s_sparse_matmul_backward(dw, x, xd_val, dy, fo);
    }
}

/* ---- elementwise ---- */

void dgcn_dropout_forward(float *out, const float *in, int32_t n, int32_t w, const int32_t *gid,
                          float p, uint64_t seed, int64_t iter, int layer) {
    float scale = 1.0f / (1.0f - p);
    for (int32_t r = 0; r < n; r++) {
        uint64_t k = dgcn_dropout_row_key(seed, iter, layer, gid[r]);
        if (out == in) s_mask_dense_inplace(out + (size_t)r * (size_t)w, w, k, p, scale);
        else s_mask_dense(out + (size_t)r * (size_t)w, in + (size_t)r * (size_t)w, w, k, p, scale);
    }
}

void dgcn_dropout_backward(float *din, const float *dout, int32_t n, int32_t w, const int32_t *gid,
                           float p, uint64_t seed, int64_t iter, int layer) {
    float scale = 1.0f / (1.0f - p);
    for (int32_t r = 0; r < n; r++) {
        uint64_t k = dgcn_dropout_row_key(seed, iter, layer, gid[r]);
        float *restrict dr = din + (size_t)r * (size_t)w;
        const float *restrict gr = dout + (size_t)r * (size_t)w;
        for (int32_t j = 0; j < w; j++) dr[j] += gr[j] * s_keep(k, (uint32_t)j, p, scale);
    }
}

void dgcn_relu_forward(float *out, const float *in, int64_t n) {
    if (out != in) memcpy(out, in, (size_t)n * sizeof *out);
    int64_t i = 0;
    for (; i + S_CHUNK <= n; i += S_CHUNK)
        for (int t = 0; t < S_CHUNK; t++) out[i + t] = out[i + t] > 0.0f ? out[i + t] : 0.0f;
    for (; i < n; i++) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
}

void dgcn_relu_backward(float *restrict din, const float *restrict dout, const float *restrict in,
                        int64_t n) {
    int64_t i = 0;
    for (; i + S_CHUNK <= n; i += S_CHUNK)
        for (int t = 0; t < S_CHUNK; t++)
            din[i + t] += dout[i + t] * (in[i + t] > 0.0f ? 1.0f : 0.0f);
    for (; i < n; i++) din[i] += dout[i] * (in[i] > 0.0f ? 1.0f : 0.0f);
}

void dgcn_relu_dropout_backward(float *restrict dz, const float *restrict dhd,
                                const float *restrict hd, float scale, int64_t n) {
    int64_t i = 0;
    for (; i + S_CHUNK <= n; i += S_CHUNK)
        for (int t = 0; t < S_CHUNK; t++)
            dz[i + t] = dhd[i + t] * (hd[i + t] != 0.0f ? scale : 0.0f);
    for (; i < n; i++) dz[i] = dhd[i] * (hd[i] != 0.0f ? scale : 0.0f);
}

void dgcn_softmax_xent(float *dlogits, const float *logits, const int32_t *label,
                       const uint8_t *split, int32_t n, int32_t c, float grad_scale,
                       dgcn_eval *ev) {
    if (dlogits) memset(dlogits, 0, (size_t)n * (size_t)c * sizeof *dlogits);
    for (int32_t r = 0; r < n; r++) {
        int s = split[r];
        int32_t y = label[r];
        if (y < 0 || y >= c || s < DGCN_SPLIT_TRAIN || s > DGCN_SPLIT_TEST) continue;
        const float *z = logits + (size_t)r * (size_t)c;
        int32_t arg = 0;
        float zmax = z[0];
        for (int32_t j = 1; j < c; j++)
            if (z[j] > zmax) {
                zmax = z[j];
                arg = j;
            }
        float sum = 0.0f;
        float *dz = dlogits && s == DGCN_SPLIT_TRAIN ? dlogits + (size_t)r * (size_t)c : NULL;
        if (dz) { /* the exponentials once, kept in the gradient row */
            for (int32_t j = 0; j < c; j++) sum += dz[j] = expf(z[j] - zmax);
        } else {
            for (int32_t j = 0; j < c; j++) sum += expf(z[j] - zmax);
        }
        float lse = zmax + logf(sum);
        if (ev) {
            ev->loss_sum[s] += (double)(lse - z[y]);
            ev->correct[s] += arg == y;
            ev->count[s] += 1;
        }
        if (dz) {
            float inv = grad_scale / sum;
            for (int32_t j = 0; j < c; j++) dz[j] *= inv;
            dz[y] -= grad_scale;
        }
    }
}

void dgcn_axpy(float *restrict y, float a, const float *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void dgcn_scal(float *x, float a, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] *= a;
}
