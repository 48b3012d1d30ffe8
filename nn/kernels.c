/* nn/kernels.c: the hot kernels (see nn/kernels.h for the contracts).
 *
 * Sparse kernels keep the inner loop over the dense width with restrict pointers so it vectorizes;
 * the common widths (16 hidden units, up to 8 classes) are dispatched to copies where the width is
 * a compile-time constant, so the row accumulator lives in registers. The dense products of the
 * GCN's narrow layers (a width of at most 16 on one side) and every small product run on the same
 * register kernels; only wide products go to OpenBLAS (s_dense_path). On x86-64 builds without
 * AVX2 in their target (no -march=native), the kernels are compiled twice, for x86-64-v3 (AVX2,
 * FMA) and for the baseline, and the loader picks one by the CPU it runs on (S_CLONES). */
#include "nn/kernels.h"

#include "core/rng.h"
#include "graph/dataset.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define S_ACC_MAX 64  /* widths up to this use a stack accumulator per row */
#define S_CHUNK 8     /* elementwise loops run in chunks of this constant length, which vectorize */
#define S_NARROW 16   /* dense products with an output width up to this use the register kernels */
#define S_NARROW_K 64 /* ... when their inner dimension is at most this (or the block is tiny) */
#define S_TINY_ROWS 8 /* a block of at most this many rows never calls OpenBLAS */
#define S_SMALL_WORK 16384 /* products of at most this many multiply-adds never call OpenBLAS */
#define S_ROW_BLOCK 64     /* rows per block of the weight-gradient kernel (stays in L1) */
#define S_WT_MAX 1024      /* floats of the stack copy of w^T in the input-gradient kernel */

/* Kernels compiled for x86-64-v3 and the baseline, chosen at load time by the CPU (GCC's
 * target_clones, an ifunc), unless the whole build already targets AVX2. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX2__) &&       \
    defined(__has_attribute)
#if __has_attribute(target_clones)
#define S_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef S_CLONES
#define S_CLONES
#endif

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

/* yr[0..W) += sum over e < ne of v[e * vs] * m[col[e], 0..W) (m[e, 0..W) when col is NULL: a
 * dense product), m's rows ms floats apart, for a compile-time W <= 16 + 7: the accumulators stay
 * in registers (8-float vectors, then a 4-float vector, then scalars). Even and odd entries feed
 * separate accumulators, so consecutive multiply-adds do not wait on each other. */
static inline __attribute__((always_inline)) void
s_row_fma(float *restrict yr, const int32_t *restrict col, const float *restrict v, int64_t vs,
          int64_t ne, const float *restrict m, int64_t ms, const int W) {
    const int N8 = W / 8, N4 = (W % 8) / 4, T = W % 4, o4 = 8 * N8, ot = o4 + 4 * N4;
    s_v8 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
    s_v4 c0 = {0}, d0 = {0};
    float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f;
    int64_t e = 0;
    for (; e + 1 < ne; e += 2) {
        const float *restrict mr = m + (size_t)(col ? col[e] : e) * (size_t)ms;
        const float *restrict mq = m + (size_t)(col ? col[e + 1] : e + 1) * (size_t)ms;
        const float s = v[e * vs], q = v[(e + 1) * vs];
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
        const float *restrict mr = m + (size_t)(col ? col[e] : e) * (size_t)ms;
        const float s = v[e * vs];
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

/* Widths with a register-resident copy of s_row_fma: 1..16 (hidden layers, class counts). */
#define S_WIDTH_CASES(X)                                                                           \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)

/* Widths with a copy of the fused first-layer weight gradient: those, and NELL's 32 and 64. */
#define S_FUSED_CASES(X) S_WIDTH_CASES(X) X(32) X(64)

#define S_TILE 16 /* columns of a tile of a wide product: s_row_fma's widest register copy */

/* Columns [t, t + tw) of a wide row, tw <= S_TILE: yr[t..t+tw) += sum over e < ne of v[e] *
 * m[col[e], t..t+tw), m's rows w floats apart, on the register kernel of width tw. */
static inline __attribute__((always_inline)) void
s_row_fma_tile(float *restrict yr, const int32_t *restrict col, const float *restrict v, int64_t ne,
               const float *restrict m, int32_t w, int32_t t, int32_t tw) {
    switch (tw) {
#define S_CASE(W)                                                                                  \
    case W: s_row_fma(yr + t, col, v, 1, ne, m + t, w, W); break;
        S_WIDTH_CASES(S_CASE)
#undef S_CASE
    default: break;
    }
}

/* A wide row (w > S_TILE) tile by tile: each tile's sums stay in registers instead of going
 * through memory once per entry. */
static inline __attribute__((always_inline)) void
s_row_fma_tiled(float *restrict yr, const int32_t *restrict col, const float *restrict v,
                int64_t ne, const float *restrict m, int32_t w) {
    for (int32_t t = 0; t < w; t += S_TILE)
        s_row_fma_tile(yr, col, v, ne, m, w, t, w - t < S_TILE ? w - t : S_TILE);
}

/* The width a W-wide row is computed at: W rounded up to whole vectors (4 floats for W % 8 <= 4,
 * else 8), so a 7-wide row costs one 8-float multiply-add instead of a 4-float one and three
 * scalars. Computing at S_PAD(W) reads and writes S_PAD(W) - W floats past a row's end: the
 * callers use it only where those floats exist and hold nothing that is still needed. */
#define S_PAD(W) ((W) % 8 == 0 ? (W) : (W) % 8 <= 4 ? (W) - (W) % 8 + 4 : (W) - (W) % 8 + 8)

/* The rows r < this of an (n, w) matrix have S_PAD-wide room: r * w + pad <= n * w. */
static inline int64_t s_pad_rows(int64_t n, int64_t w, int64_t pad) {
    return n * w >= pad ? (n * w - pad) / w + 1 : 0;
}

/* ---- dense products ---- */

/* Which code a dense product of n rows, inner dimension k and output width w runs on: the
 * register kernel of width w (w <= S_NARROW, k <= S_NARROW_K or a tiny block), the plain loops
 * (any product of at most S_SMALL_WORK multiply-adds: OpenBLAS's per-call cost would dominate),
 * or cblas_sgemm (everything wider). */
typedef enum { S_PATH_NARROW, S_PATH_LOOPS, S_PATH_BLAS } s_path;

static s_path s_dense_path(int32_t n, int32_t k, int32_t w) {
    if (w <= S_NARROW && (k <= S_NARROW_K || n <= S_TINY_ROWS)) return S_PATH_NARROW;
    if (n <= S_TINY_ROWS || (int64_t)n * k * w <= S_SMALL_WORK) return S_PATH_LOOPS;
    return S_PATH_BLAS;
}

/* out (n, W) = in (n, fi) w (fi, W), W a compile-time width. Rows with room past their end are
 * computed at S_PAD(W) against a zero-padded stack copy of w (the spill into the next row is
 * overwritten when that row is computed); the last rows at W. */
static inline __attribute__((always_inline)) void
s_matmul_narrow(float *restrict out, const float *restrict in, const float *restrict w, int32_t n,
                int32_t fi, const int W) {
    const int P = S_PAD(W);
    float wp[S_WT_MAX];
    int64_t fast = 0;
    if (P != W && (int64_t)fi * P <= S_WT_MAX) {
        for (int32_t k = 0; k < fi; k++)
            for (int j = 0; j < P; j++) wp[k * P + j] = j < W ? w[(size_t)k * (size_t)W + j] : 0.0f;
        fast = s_pad_rows(n, W, P);
    }
    for (int32_t r = 0; r < n; r++) {
        float *restrict yr = out + (size_t)r * (size_t)W;
        const float *restrict xr = in + (size_t)r * (size_t)fi;
        if (r < fast) {
            for (int j = 0; j < P; j++) yr[j] = 0.0f;
            s_row_fma(yr, NULL, xr, 1, fi, wp, P, P);
        } else {
            for (int j = 0; j < W; j++) yr[j] = 0.0f;
            s_row_fma(yr, NULL, xr, 1, fi, w, W, W);
        }
    }
}

/* dw (fi, W) += in (n, fi)^T dout (n, W): per block of S_ROW_BLOCK rows (in L1), row k of dw
 * gathers column k of the block's in against the block's dout rows, at S_PAD(W) into a padded
 * stack accumulator while dout's rows have room past their end, then at W. */
static inline __attribute__((always_inline)) void
s_matmul_dw_narrow(float *restrict dw, const float *restrict in, const float *restrict dout,
                   int32_t n, int32_t fi, const int W) {
    const int P = S_PAD(W);
    float acc[S_WT_MAX];
    int64_t fast = 0;
    if (P != W && (int64_t)fi * P <= S_WT_MAX) {
        memset(acc, 0, (size_t)fi * (size_t)P * sizeof *acc);
        fast = s_pad_rows(n, W, P);
    }
    for (int32_t r0 = 0; r0 < n; r0 += S_ROW_BLOCK) {
        const int32_t nr = n - r0 < S_ROW_BLOCK ? n - r0 : S_ROW_BLOCK;
        const int32_t nf = r0 + nr <= fast ? nr : fast > r0 ? (int32_t)(fast - r0) : 0;
        const float *restrict ib = in + (size_t)r0 * (size_t)fi;
        const float *restrict db = dout + (size_t)r0 * (size_t)W;
        for (int32_t k = 0; k < fi; k++) {
            if (nf > 0) s_row_fma(acc + (size_t)k * (size_t)P, NULL, ib + k, fi, nf, db, W, P);
            if (nf < nr)
                s_row_fma(dw + (size_t)k * (size_t)W, NULL, ib + (size_t)nf * (size_t)fi + k, fi,
                          nr - nf, db + (size_t)nf * (size_t)W, W, W);
        }
    }
    if (fast > 0)
        for (int32_t k = 0; k < fi; k++)
            for (int j = 0; j < W; j++) dw[(size_t)k * (size_t)W + j] += acc[k * P + j];
}

/* din (n, W) += dout (n, fo) wt (fo, W), wt = w^T: the input gradient of a layer whose input width
 * W is narrow. */
static inline __attribute__((always_inline)) void
s_matmul_din_narrow(float *restrict din, const float *restrict dout, const float *restrict wt,
                    int32_t n, int32_t fo, const int W) {
    for (int32_t r = 0; r < n; r++)
        s_row_fma(din + (size_t)r * (size_t)W, NULL, dout + (size_t)r * (size_t)fo, 1, fo, wt, W,
                  W);
}

/* The same three products for any sizes, as plain loops (for small products). */
static void s_matmul_loops(float *restrict out, const float *restrict in, const float *restrict w,
                           int32_t n, int32_t fi, int32_t fo) {
    for (int32_t r = 0; r < n; r++) {
        float *restrict yr = out + (size_t)r * (size_t)fo;
        memset(yr, 0, (size_t)fo * sizeof *yr);
        for (int32_t k = 0; k < fi; k++) {
            const float x = in[(size_t)r * (size_t)fi + (size_t)k];
            const float *restrict wk = w + (size_t)k * (size_t)fo;
            for (int32_t j = 0; j < fo; j++) yr[j] += x * wk[j];
        }
    }
}

static void s_matmul_dw_loops(float *restrict dw, const float *restrict in,
                              const float *restrict dout, int32_t n, int32_t fi, int32_t fo) {
    for (int32_t r = 0; r < n; r++) {
        const float *restrict dr = dout + (size_t)r * (size_t)fo;
        for (int32_t k = 0; k < fi; k++) {
            const float x = in[(size_t)r * (size_t)fi + (size_t)k];
            float *restrict dwk = dw + (size_t)k * (size_t)fo;
            for (int32_t j = 0; j < fo; j++) dwk[j] += x * dr[j];
        }
    }
}

static void s_matmul_din_loops(float *restrict din, const float *restrict dout,
                               const float *restrict w, int32_t n, int32_t fi, int32_t fo) {
    for (int32_t r = 0; r < n; r++) {
        const float *restrict dr = dout + (size_t)r * (size_t)fo;
        float *restrict xr = din + (size_t)r * (size_t)fi;
        for (int32_t k = 0; k < fi; k++) {
            const float *restrict wk = w + (size_t)k * (size_t)fo;
            float acc = 0.0f;
            for (int32_t j = 0; j < fo; j++) acc += dr[j] * wk[j];
            xr[k] += acc;
        }
    }
}

S_CLONES void dgcn_matmul_forward(float *out, const float *in, const float *w, int32_t n,
                                  int32_t fi, int32_t fo) {
    if (n <= 0 || fo <= 0) return;
    if (fi <= 0) {
        memset(out, 0, (size_t)n * (size_t)fo * sizeof *out);
        return;
    }
    switch (s_dense_path(n, fi, fo)) {
    case S_PATH_NARROW:
        switch (fo) {
#define S_CASE(W)                                                                                  \
    case W: s_matmul_narrow(out, in, w, n, fi, W); return;
            S_WIDTH_CASES(S_CASE)
#undef S_CASE
        default: break;
        }
        break;
    case S_PATH_LOOPS: s_matmul_loops(out, in, w, n, fi, fo); return;
    case S_PATH_BLAS: break;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, fo, fi, 1.0f, in, fi, w, fo, 0.0f,
                out, fo);
}

S_CLONES void dgcn_matmul_backward(float *din, float *dw, const float *dout, const float *in,
                                   const float *w, int32_t n, int32_t fi, int32_t fo) {
    if (n <= 0 || fi <= 0 || fo <= 0) return;
    /* dw += in^T dout: fo is the width, fi the number of passes over each block of rows. */
    switch (s_dense_path(n, fi, fo)) {
    case S_PATH_NARROW:
        switch (fo) {
#define S_CASE(W)                                                                                  \
    case W: s_matmul_dw_narrow(dw, in, dout, n, fi, W); goto din;
            S_WIDTH_CASES(S_CASE)
#undef S_CASE
        default: break;
        }
        break;
    case S_PATH_LOOPS: s_matmul_dw_loops(dw, in, dout, n, fi, fo); goto din;
    case S_PATH_BLAS: break;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fi, fo, n, 1.0f, in, fi, dout, fo, 1.0f,
                dw, fo);
din:
    if (!din) return;
    /* din += dout w^T: fi is the width, fo the inner dimension; w^T is copied to the stack. */
    if (s_dense_path(n, fo, fi) == S_PATH_NARROW && (int64_t)fi * fo <= S_WT_MAX) {
        float wt[S_WT_MAX];
        for (int32_t k = 0; k < fi; k++)
            for (int32_t j = 0; j < fo; j++)
                wt[(size_t)j * (size_t)fi + (size_t)k] = w[(size_t)k * (size_t)fo + (size_t)j];
        switch (fi) {
#define S_CASE(W)                                                                                  \
    case W: s_matmul_din_narrow(din, dout, wt, n, fo, W); return;
            S_WIDTH_CASES(S_CASE)
#undef S_CASE
        default: break;
        }
    }
    if (s_dense_path(n, fo, fi) != S_PATH_BLAS) {
        s_matmul_din_loops(din, dout, w, n, fi, fo);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, fi, fo, 1.0f, dout, fo, w, fo, 1.0f,
                din, fi);
}

/* y = a m over all rows, width W (constant after inlining): at S_PAD(W) where y's row and every
 * row of m it reads have room past their end (the spill into y's next row is overwritten when that
 * row is computed), else at W. */
static inline __attribute__((always_inline)) void s_spmm(float *restrict y, const dgcn_csr *a,
                                                         const float *restrict m, const int W) {
    const int P = S_PAD(W);
    const int64_t *restrict rp = a->rowptr;
    const int64_t fast_y = P != W ? s_pad_rows(a->n_rows, W, P) : 0;
    const int64_t fast_m = P != W ? s_pad_rows(a->n_cols, W, P) : 0;
    for (int32_t r = 0; r < a->n_rows; r++) {
        float *restrict yr = y + (size_t)r * (size_t)W;
        const int64_t ne = rp[r + 1] - rp[r];
        const int32_t *restrict cr = a->col + rp[r];
        if (r < fast_y && (ne == 0 || cr[ne - 1] < fast_m)) { /* columns increase along a row */
            for (int j = 0; j < P; j++) yr[j] = 0.0f;
            s_row_fma(yr, cr, a->val + rp[r], 1, ne, m, W, P);
        } else {
            for (int j = 0; j < W; j++) yr[j] = 0.0f;
            s_row_fma(yr, cr, a->val + rp[r], 1, ne, m, W, W);
        }
    }
}

S_CLONES void dgcn_spmm(float *y, const dgcn_csr *a, const float *m, int32_t w) {
    switch (w) {
#define S_CASE(W)                                                                                  \
    case W: s_spmm(y, a, m, W); return;
        S_WIDTH_CASES(S_CASE)
#undef S_CASE
    default: break;
    }
    /* Wider: tiles of S_TILE columns, each a sweep over all rows, so a tile's slice of m (16
     * floats of each row) is what the sweep keeps in cache. */
    memset(y, 0, (size_t)a->n_rows * (size_t)w * sizeof *y);
    for (int32_t t = 0; t < w; t += S_TILE) {
        const int32_t tw = w - t < S_TILE ? w - t : S_TILE;
        for (int32_t r = 0; r < a->n_rows; r++)
            s_row_fma_tile(y + (size_t)r * (size_t)w, a->col + a->rowptr[r], a->val + a->rowptr[r],
                           a->rowptr[r + 1] - a->rowptr[r], m, w, t, tw);
    }
}

S_CLONES void dgcn_spmm_t_scatter(float *g_full, const dgcn_csr *a, const float *g, int32_t w) {
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
            if (W) s_row_fma(yr, col + e0, v, 1, ne, w, W, W);
            else s_row_fma_tiled(yr, col + e0, v, ne, w, fo);
        }
    }
}

S_CLONES void dgcn_sparse_dropout_matmul_forward(float *y, float *xd_val, const dgcn_csr *x,
                                                 const float *w, int32_t fo, const int32_t *gid,
                                                 float p, uint64_t seed, int64_t iter, int layer) {
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

S_CLONES void dgcn_sparse_matmul_backward(float *dw, const dgcn_csr *x, const float *xd_val,
                                          const float *dy, int32_t fo) {
    switch (fo) {
    case 16: s_sparse_matmul_backward(dw, x, xd_val, dy, 16); break;
    case 7: s_sparse_matmul_backward(dw, x, xd_val, dy, 7); break;
    case 32: s_sparse_matmul_backward(dw, x, xd_val, dy, 32); break;
    case 64: s_sparse_matmul_backward(dw, x, xd_val, dy, 64); break;
    default: s_sparse_matmul_backward(dw, x, xd_val, dy, fo);
    }
}

/* dgcn_spmm_sparse_backward at width W (a compile-time constant after inlining, so the scatter
 * loop is unrolled; 0: fo at run time). Rows wider than S_TILE are formed tile by tile. */
static inline __attribute__((always_inline)) void
s_spmm_sparse_backward(float *restrict dw, const dgcn_csr *at, const float *restrict dz,
                       const dgcn_csr *x, const float *restrict xd_val, const int W, int32_t fo) {
    const int32_t w = W ? W : fo;
    float t[DGCN_FUSED_MAX_W];
    for (int32_t r = 0; r < at->n_rows; r++) {
        const int64_t x0 = x->rowptr[r], x1 = x->rowptr[r + 1];
        const int64_t a0 = at->rowptr[r], na = at->rowptr[r + 1] - a0;
        if (x1 == x0 || na == 0) continue; /* a zero row of (at dz) or of x adds nothing */
        for (int32_t j = 0; j < w; j++) t[j] = 0.0f;
        if (W && W <= S_TILE) s_row_fma(t, at->col + a0, at->val + a0, 1, na, dz, W, W);
        else s_row_fma_tiled(t, at->col + a0, at->val + a0, na, dz, w);
        for (int64_t e = x0; e < x1; e++) {
            const float v = xd_val[e];
            float *restrict dwr = dw + (size_t)x->col[e] * (size_t)w;
            for (int32_t j = 0; j < w; j++) dwr[j] += v * t[j];
        }
    }
}

S_CLONES void dgcn_spmm_sparse_backward(float *dw, const dgcn_csr *at, const float *dz,
                                        const dgcn_csr *x, const float *xd_val, int32_t fo) {
    switch (fo) {
#define S_CASE(W)                                                                                  \
    case W: s_spmm_sparse_backward(dw, at, dz, x, xd_val, W, W); return;
        S_FUSED_CASES(S_CASE)
#undef S_CASE
    default: s_spmm_sparse_backward(dw, at, dz, x, xd_val, 0, fo);
    }
}

/* ---- elementwise ---- */

S_CLONES void dgcn_dropout_forward(float *out, const float *in, int32_t n, int32_t w,
                                   const int32_t *gid, float p, uint64_t seed, int64_t iter,
                                   int layer) {
    float scale = 1.0f / (1.0f - p);
    for (int32_t r = 0; r < n; r++) {
        uint64_t k = dgcn_dropout_row_key(seed, iter, layer, gid[r]);
        if (out == in) s_mask_dense_inplace(out + (size_t)r * (size_t)w, w, k, p, scale);
        else s_mask_dense(out + (size_t)r * (size_t)w, in + (size_t)r * (size_t)w, w, k, p, scale);
    }
}

S_CLONES void dgcn_dropout_backward(float *din, const float *dout, int32_t n, int32_t w,
                                    const int32_t *gid, float p, uint64_t seed, int64_t iter,
                                    int layer) {
    float scale = 1.0f / (1.0f - p);
    for (int32_t r = 0; r < n; r++) {
        uint64_t k = dgcn_dropout_row_key(seed, iter, layer, gid[r]);
        float *restrict dr = din + (size_t)r * (size_t)w;
        const float *restrict gr = dout + (size_t)r * (size_t)w;
        for (int32_t j = 0; j < w; j++) dr[j] += gr[j] * s_keep(k, (uint32_t)j, p, scale);
    }
}

S_CLONES void dgcn_relu_forward(float *out, const float *in, int64_t n) {
    if (out != in) memcpy(out, in, (size_t)n * sizeof *out);
    int64_t i = 0;
    for (; i + S_CHUNK <= n; i += S_CHUNK)
        for (int t = 0; t < S_CHUNK; t++) out[i + t] = out[i + t] > 0.0f ? out[i + t] : 0.0f;
    for (; i < n; i++) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
}

S_CLONES void dgcn_relu_backward(float *restrict din, const float *restrict dout,
                                 const float *restrict in, int64_t n) {
    int64_t i = 0;
    for (; i + S_CHUNK <= n; i += S_CHUNK)
        for (int t = 0; t < S_CHUNK; t++)
            din[i + t] += dout[i + t] * (in[i + t] > 0.0f ? 1.0f : 0.0f);
    for (; i < n; i++) din[i] += dout[i] * (in[i] > 0.0f ? 1.0f : 0.0f);
}

S_CLONES void dgcn_relu_dropout_backward(float *restrict dz, const float *restrict dhd,
                                         const float *restrict hd, float scale, int64_t n) {
    int64_t i = 0;
    for (; i + S_CHUNK <= n; i += S_CHUNK)
        for (int t = 0; t < S_CHUNK; t++)
            dz[i + t] = dhd[i + t] * (hd[i + t] != 0.0f ? scale : 0.0f);
    for (; i < n; i++) dz[i] = dhd[i] * (hd[i] != 0.0f ? scale : 0.0f);
}

/* Eight int32 lanes, the integer view of an s_v8 (a cast between the two keeps the bits). */
typedef int32_t s_i8 __attribute__((vector_size(32)));

/* exp(x) lane by lane for x <= 0 (a softmax's shifted logits), relative error about 2e-7: x is
 * clamped at -87 (exp(-87) is still a normal float), split as n ln 2 + r with |r| <= ln 2 / 2, and
 * exp(r) is Cephes' degree-6 polynomial; 2^n is built in the exponent bits. Branch-free, so a
 * loop of it vectorizes. */
static inline __attribute__((always_inline)) void s_exp8(s_v8 *v) {
    const s_v8 lo = {-87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f};
    const s_i8 below = *v < lo; /* -1 where clamped */
    const s_v8 x = (s_v8)(((s_i8)*v & ~below) | ((s_i8)lo & below));
    /* Adding and subtracting 1.5 * 2^23 rounds to the nearest integer. */
    const s_v8 n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const s_v8 r = x - n * 0.693359375f + n * 2.12194440e-4f;
    s_v8 p = r * 1.9875691500E-4f + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * (r * r) + r + 1.0f;
    const s_i8 e = (__builtin_convertvector(n, s_i8) + 127) << 23;
    *v = p * (s_v8)e;
}

/* log(x) lane by lane for normal x > 0 (a softmax's sum of exponentials, >= 1), relative error
 * about 1e-7: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) by Cephes' polynomial. */
static inline __attribute__((always_inline)) void s_log8(s_v8 *v) {
    const s_i8 bits = (s_i8)*v;
    s_i8 e = ((bits >> 23) & 0xff) - 126;
    s_v8 m = (s_v8)((bits & 0x007fffff) | 0x3f000000); /* in [0.5, 1) */
    const s_i8 small = m < 0.70710678118654752f;       /* -1 where m is below sqrt(1/2) */
    e += small;
    const s_v8 f = m - 1.0f + (s_v8)((s_i8)m & small); /* 2m - 1 there, else m - 1 */
    const s_v8 z = f * f;
    s_v8 y = f * 7.0376836292E-2f - 1.1514610310E-1f;
    y = y * f + 1.1676998740E-1f;
    y = y * f - 1.2420140846E-1f;
    y = y * f + 1.4249322787E-1f;
    y = y * f - 1.6668057665E-1f;
    y = y * f + 2.0000714765E-1f;
    y = y * f - 2.4999993993E-1f;
    y = y * f + 3.3333331174E-1f;
    y = y * f * z;
    const s_v8 ef = __builtin_convertvector(e, s_v8);
    y += ef * -2.12194440e-4f;
    y += z * -0.5f;
    *v = f + y + ef * 0.693359375f;
}

/* x[0..n) = exp(x) or log(x) (s_exp8, s_log8), eight at a time; the tail through a padded copy. */
static inline __attribute__((always_inline)) void s_map8(float *x, int64_t n, int is_log) {
    int64_t i = 0;
    s_v8 v;
    for (; i + 8 <= n; i += 8) {
        s_load8(&v, x + i);
        if (is_log) s_log8(&v);
        else s_exp8(&v);
        s_store8(x + i, &v);
    }
    if (i < n) {
        float t[8];
        for (int k = 0; k < 8; k++) t[k] = i + k < n ? x[i + k] : (is_log ? 1.0f : 0.0f);
        s_load8(&v, t);
        if (is_log) s_log8(&v);
        else s_exp8(&v);
        s_store8(t, &v);
        for (int k = 0; i + k < n; k++) x[i + k] = t[k];
    }
}

#define S_XENT_BUF 1024 /* floats of a block's exponentials: rows per block = this / classes */

/* One block of rows (b * c <= S_XENT_BUF), C classes (a compile-time constant after inlining, or
 * 0 for c_rt): the exponentials and logarithms of the whole block go through the vector code at
 * once. */
static inline __attribute__((always_inline)) void
s_xent_block(float *dlogits, const float *logits, const int32_t *label, const uint8_t *split,
             int32_t b, int32_t c_rt, const int C, float grad_scale, dgcn_eval *ev) {
    const int32_t c = C ? C : c_rt;
    if (b <= 0) return;
    /* Column-major in the block (ex[j * b + r]), so every pass runs across rows, which do not
     * depend on each other, instead of along a row's chain of 7 or 16 compares or adds. */
    float ex[S_XENT_BUF], sum[S_XENT_BUF], lsum[S_XENT_BUF], zmax[S_XENT_BUF];
    int32_t arg[S_XENT_BUF];
    for (int32_t r = 0; r < b; r++) {
        zmax[r] = logits[(size_t)r * (size_t)c];
        arg[r] = 0;
        sum[r] = 0.0f;
    }
    for (int32_t j = 1; j < c; j++) { /* selects, not branches: the comparisons are random */
        int32_t r = 0;
        for (; r + S_CHUNK <= b; r += S_CHUNK)
            for (int t = 0; t < S_CHUNK; t++) { /* whole stores (no masked ones) */
                const float v = logits[(size_t)(r + t) * (size_t)c + (size_t)j], zm = zmax[r + t];
                const int32_t gt = -(int32_t)(v > zm), a = arg[r + t];
                zmax[r + t] = v > zm ? v : zm;
                arg[r + t] = a ^ ((a ^ j) & gt);
            }
        for (; r < b; r++) {
            const float v = logits[(size_t)r * (size_t)c + (size_t)j];
            const int gt = v > zmax[r];
            zmax[r] = gt ? v : zmax[r];
            arg[r] = gt ? j : arg[r];
        }
    }
    for (int32_t j = 0; j < c; j++)
        for (int32_t r = 0; r < b; r++)
            ex[j * b + r] = logits[(size_t)r * (size_t)c + (size_t)j] - zmax[r];
    s_map8(ex, (int64_t)b * c, 0);
    for (int32_t j = 0; j < c; j++) {
        const float *restrict ej = ex + j * b;
        int32_t r = 0;
        for (; r + S_CHUNK <= b; r += S_CHUNK)
            for (int t = 0; t < S_CHUNK; t++) sum[r + t] += ej[r + t];
        for (; r < b; r++) sum[r] += ej[r];
    }
    for (int32_t r = 0; r < b; r++) lsum[r] = sum[r];
    s_map8(lsum, b, 1);
    double loss[4] = {0};
    int32_t correct[4] = {0}, count[4] = {0};
    for (int32_t r = 0; r < b; r++) {
        int s = split[r];
        int32_t y = label[r];
        if (y < 0 || y >= c || s < DGCN_SPLIT_TRAIN || s > DGCN_SPLIT_TEST) continue;
        const float *z = logits + (size_t)r * (size_t)c;
        loss[s] += (double)(zmax[r] + lsum[r] - z[y]);
        correct[s] += arg[r] == y;
        count[s] += 1;
        if (dlogits && s == DGCN_SPLIT_TRAIN) {
            float *dz = dlogits + (size_t)r * (size_t)c;
            const float inv = grad_scale / sum[r];
            for (int32_t j = 0; j < c; j++) dz[j] = ex[j * b + r] * inv;
            dz[y] -= grad_scale;
        }
    }
    if (ev)
        for (int s = DGCN_SPLIT_TRAIN; s <= DGCN_SPLIT_TEST; s++) {
            ev->loss_sum[s] += loss[s];
            ev->correct[s] += correct[s];
            ev->count[s] += count[s];
        }
}

S_CLONES void dgcn_softmax_xent(float *dlogits, const float *logits, const int32_t *label,
                                const uint8_t *split, int32_t n, int32_t c, float grad_scale,
                                dgcn_eval *ev) {
    if (dlogits) memset(dlogits, 0, (size_t)n * (size_t)c * sizeof *dlogits);
    if (c <= 0) return;
    if (c <= S_XENT_BUF) {
        const int32_t rows = S_XENT_BUF / c;
        for (int32_t r0 = 0; r0 < n; r0 += rows) {
            const int32_t b = n - r0 < rows ? n - r0 : rows;
            const size_t o = (size_t)r0 * (size_t)c;
            float *d = dlogits ? dlogits + o : NULL;
            switch (c) {
#define S_CASE(W)                                                                                  \
    case W: s_xent_block(d, logits + o, label + r0, split + r0, b, W, W, grad_scale, ev); break;
                S_WIDTH_CASES(S_CASE)
#undef S_CASE
            default: s_xent_block(d, logits + o, label + r0, split + r0, b, c, 0, grad_scale, ev);
            }
        }
        return;
    }
    /* Wider than a block: row by row through libm. */
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

S_CLONES void dgcn_axpy(float *restrict y, float a, const float *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

S_CLONES void dgcn_scale_copy(float *restrict y, float a, const float *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a * x[i];
}

S_CLONES void dgcn_scal(float *x, float a, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] *= a;
}
