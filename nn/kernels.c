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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, fi, fo, 1.0f, dout, fo, w, fo,
                    1.0f, din, fi);
}

/* ---- sparse x dense ---- */

/* y = a m over rows [0, n_rows), width W (a constant after inlining). */
static inline void s_spmm(float *restrict y, const int64_t *restrict rp, const int32_t *restrict col,
                          const float *restrict val, const float *restrict m, int32_t n_rows,
                          int32_t W) {
    for (int32_t r = 0; r < n_rows; r++) {
        float acc[S_ACC_MAX];
        for (int32_t j = 0; j < W; j++) acc[j] = 0.0f;
        for (int64_t e = rp[r]; e < rp[r + 1]; e++) {
            const float v = val[e];
            const float *restrict mr = m + (size_t)col[e] * (size_t)W;
            for (int32_t j = 0; j < W; j++) acc[j] += v * mr[j];
        }
        float *restrict yr = y + (size_t)r * (size_t)W;
        for (int32_t j = 0; j < W; j++) yr[j] = acc[j];
    }
}

/* The same for any width (accumulating straight into y). */
static void s_spmm_wide(float *restrict y, const int64_t *restrict rp, const int32_t *restrict col,
                        const float *restrict val, const float *restrict m, int32_t n_rows,
                        int32_t w) {
    for (int32_t r = 0; r < n_rows; r++) {
        float *restrict yr = y + (size_t)r * (size_t)w;
        memset(yr, 0, (size_t)w * sizeof *yr);
        for (int64_t e = rp[r]; e < rp[r + 1]; e++) {
            const float v = val[e];
            const float *restrict mr = m + (size_t)col[e] * (size_t)w;
            for (int32_t j = 0; j < w; j++) yr[j] += v * mr[j];
        }
    }
}

void dgcn_spmm(float *y, const dgcn_csr *a, const float *m, int32_t w) {
    const int64_t *rp = a->rowptr;
    const int32_t *col = a->col;
    const float *val = a->val;
    int32_t n = a->n_rows;
    switch (w) {
    case 16: s_spmm(y, rp, col, val, m, n, 16); break;
    case 8: s_spmm(y, rp, col, val, m, n, 8); break;
    case 7: s_spmm(y, rp, col, val, m, n, 7); break;
    case 32: s_spmm(y, rp, col, val, m, n, 32); break;
    default:
        if (w <= S_ACC_MAX) s_spmm(y, rp, col, val, m, n, w);
        else s_spmm_wide(y, rp, col, val, m, n, w);
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

/* y = dropout(x) w for width W; the keep test is skipped when drop == 0. */
static inline void s_sparse_dropout_matmul(float *restrict y, float *restrict xd_val,
                                           const dgcn_csr *x, const float *restrict w, int32_t W,
                                           const int32_t *gid, int drop, float p, float scale,
                                           uint64_t seed, int64_t iter, int layer) {
    const int64_t *restrict rp = x->rowptr;
    const int32_t *restrict col = x->col;
    const float *restrict val = x->val;
    const uint64_t d = (uint64_t)x->n_cols;
    for (int32_t r = 0; r < x->n_rows; r++) {
        float acc[S_ACC_MAX];
        for (int32_t j = 0; j < W; j++) acc[j] = 0.0f;
        const uint64_t base = drop ? (uint64_t)gid[r] * d : 0;
        /* Branch-free: a dropped entry adds zeros (a branch on a random mask mispredicts). */
        for (int64_t e = rp[r]; e < rp[r + 1]; e++) {
            float v = val[e];
            if (drop) v *= (float)dgcn_dropout_keep(seed, iter, layer, base + (uint64_t)col[e], p) * scale;
            if (xd_val) xd_val[e] = v;
            const float *restrict wr = w + (size_t)col[e] * (size_t)W;
            for (int32_t j = 0; j < W; j++) acc[j] += v * wr[j];
        }
        float *restrict yr = y + (size_t)r * (size_t)W;
        for (int32_t j = 0; j < W; j++) yr[j] = acc[j];
    }
}

void dgcn_sparse_dropout_matmul_forward(float *y, float *xd_val, const dgcn_csr *x, const float *w,
                                        int32_t fo, const int32_t *gid, float p, uint64_t seed,
                                        int64_t iter, int layer) {
    int drop = p > 0.0f && gid != NULL;
    float scale = drop ? 1.0f / (1.0f - p) : 1.0f;
    if (fo > S_ACC_MAX) {
        /* Wide outputs: accumulate straight into y. */
        memset(y, 0, (size_t)x->n_rows * (size_t)fo * sizeof *y);
        for (int32_t r = 0; r < x->n_rows; r++) {
            float *restrict yr = y + (size_t)r * (size_t)fo;
            for (int64_t e = x->rowptr[r]; e < x->rowptr[r + 1]; e++) {
                float v = x->val[e];
                if (drop)
                    v = dgcn_dropout_keep(seed, iter, layer,
                                          (uint64_t)gid[r] * (uint64_t)x->n_cols + (uint64_t)x->col[e], p)
                            ? v * scale
                            : 0.0f;
                if (xd_val) xd_val[e] = v;
                const float *restrict wr = w + (size_t)x->col[e] * (size_t)fo;
                for (int32_t j = 0; j < fo; j++) yr[j] += v * wr[j];
            }
        }
        return;
    }
    switch (fo) {
    case 16: s_sparse_dropout_matmul(y, xd_val, x, w, 16, gid, drop, p, scale, seed, iter, layer); break;
    case 7: s_sparse_dropout_matmul(y, xd_val, x, w, 7, gid, drop, p, scale, seed, iter, layer); break;
    default: s_sparse_dropout_matmul(y, xd_val, x, w, fo, gid, drop, p, scale, seed, iter, layer);
    }
}

static inline void s_sparse_matmul_backward(float *restrict dw, const dgcn_csr *x,
                                            const float *restrict xd_val, const float *restrict dy,
                                            int32_t W) {
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
        uint64_t base = (uint64_t)gid[r] * (uint64_t)w;
        for (int32_t j = 0; j < w; j++) {
            size_t i = (size_t)r * (size_t)w + (size_t)j;
            out[i] = in[i] * ((float)dgcn_dropout_keep(seed, iter, layer, base + (uint64_t)j, p) * scale);
        }
    }
}

void dgcn_dropout_backward(float *din, const float *dout, int32_t n, int32_t w, const int32_t *gid,
                           float p, uint64_t seed, int64_t iter, int layer) {
    float scale = 1.0f / (1.0f - p);
    for (int32_t r = 0; r < n; r++) {
        uint64_t base = (uint64_t)gid[r] * (uint64_t)w;
        for (int32_t j = 0; j < w; j++) {
            size_t i = (size_t)r * (size_t)w + (size_t)j;
            din[i] += dout[i] * ((float)dgcn_dropout_keep(seed, iter, layer, base + (uint64_t)j, p) * scale);
        }
    }
}

void dgcn_relu_forward(float *out, const float *in, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = fmaxf(in[i], 0.0f);
}

void dgcn_relu_backward(float *restrict din, const float *restrict dout, const float *restrict in,
                        int64_t n) {
    for (int64_t i = 0; i < n; i++) din[i] += dout[i] * (in[i] > 0.0f ? 1.0f : 0.0f);
}

void dgcn_relu_dropout_backward(float *restrict dz, const float *restrict dhd,
                                const float *restrict hd, float scale, int64_t n) {
    for (int64_t i = 0; i < n; i++) dz[i] = dhd[i] * (hd[i] != 0.0f ? scale : 0.0f);
}

void dgcn_softmax_xent(float *dlogits, const float *logits, const int32_t *label,
                       const uint8_t *split, int32_t n, int32_t c, float grad_scale, dgcn_eval *ev) {
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
        for (int32_t j = 0; j < c; j++) sum += expf(z[j] - zmax);
        float lse = zmax + logf(sum);
        if (ev) {
            ev->loss_sum[s] += (double)(lse - z[y]);
            ev->correct[s] += arg == y;
            ev->count[s] += 1;
        }
        if (dlogits && s == DGCN_SPLIT_TRAIN) {
            float *dz = dlogits + (size_t)r * (size_t)c;
            float inv = grad_scale / sum;
            for (int32_t j = 0; j < c; j++) dz[j] = expf(z[j] - zmax) * inv;
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
