/* tests/test_nn.c: the nn module: kernels, the GCN/MLP model and the optimizers.
 *
 * Masks come from the keys documented in nn/kernels.h. Kernels are checked against dense
 * double-precision products and by central differences of their
 * forward against their backward. The whole model is checked against a double-precision reference
 * written here (itself checked by central differences), and the block invariant of PAPER.md by
 * running 2 and 3 row blocks in threads wired through an in-process exchange hook. */
#include "core/error.h"
#include "core/rng.h"
#include "graph/csr.h"
#include "graph/dataset.h"
#include "nn/consensus.h"
#include "nn/gcn.h"
#include "nn/kernels.h"
#include "nn/optim.h"
#include "nn/receptive.h"
#include "tests/testutil.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static void *s_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* A CSR of the nonzeros of a dense (n_rows, n_cols) matrix; freed with s_csr_free. */
static dgcn_csr s_csr_dense(const double *dense, int32_t n_rows, int32_t n_cols) {
    dgcn_csr m = {.n_rows = n_rows, .n_cols = n_cols};
    int64_t nnz = 0;
    for (int64_t i = 0; i < (int64_t)n_rows * n_cols; i++) nnz += dense[i] != 0.0;
    m.nnz = nnz;
    m.rowptr = s_xcalloc((size_t)n_rows + 1, sizeof *m.rowptr);
    m.col = s_xcalloc((size_t)nnz, sizeof *m.col);
    m.val = s_xcalloc((size_t)nnz, sizeof *m.val);
    int64_t e = 0;
    for (int32_t r = 0; r < n_rows; r++) {
        for (int32_t c = 0; c < n_cols; c++) {
            double v = dense[(size_t)r * n_cols + c];
            if (v != 0.0) {
                m.col[e] = c;
                m.val[e++] = (float)v;
            }
        }
        m.rowptr[r + 1] = e;
    }
    return m;
}

static void s_csr_free(dgcn_csr *m) {
    free(m->rowptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

/* Random dense matrix with entries U(-1, 1), each zero with probability zero_p. */
static void s_rand_dense(double *a, int64_t n, double zero_p, dgcn_rng *rng) {
    for (int64_t i = 0; i < n; i++) {
        double u = dgcn_rng_uniform(rng);
        a[i] = u < zero_p ? 0.0 : 2.0 * dgcn_rng_uniform(rng) - 1.0;
    }
}

static void s_rand_float(float *a, int64_t n, dgcn_rng *rng) {
    for (int64_t i = 0; i < n; i++) a[i] = (float)(2.0 * dgcn_rng_uniform(rng) - 1.0);
}

/* ||a - b|| / ||b|| in double. */
static double s_rel_err_fd(const float *a, const double *b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static double s_rel_err_ff(const float *a, const float *b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* sum r .* y */
static double s_dot(const float *r, const float *y, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)r[i] * y[i];
    return s;
}

/* ---- kernels ---- */

/* Y = A M against a dense double product, A^T G by transpose and by scatter, and the central
 * differences of f(M) = <R, A M> against A^T R. Widths cover the constant-width copies and the
 * generic and wide paths. */
START_TEST(test_spmm) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 1, DGCN_STREAM_TEST);
    const int32_t widths[] = {16, 7, 3, 70};
    const int32_t nr = 9, nc = 13;
    double ad[9 * 13];
    s_rand_dense(ad, nr * nc, 0.6, &rng);
    dgcn_csr a = s_csr_dense(ad, nr, nc);
    dgcn_csr at = {.n_rows = nc, .n_cols = nr, .nnz = a.nnz};
    at.rowptr = s_xcalloc((size_t)nc + 1, sizeof *at.rowptr);
    at.col = s_xcalloc((size_t)a.nnz, sizeof *at.col);
    at.val = s_xcalloc((size_t)a.nnz, sizeof *at.val);
    int64_t *count = s_xcalloc((size_t)nc, sizeof *count);
    dgcn_csr_transpose_fill(&at, &a, count);
    for (int32_t c = 0; c < nc; c++)
        for (int64_t e = at.rowptr[c] + 1; e < at.rowptr[c + 1]; e++)
            ck_assert_int_lt(at.col[e - 1], at.col[e]);
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        int32_t w = widths[wi];
        float *m = s_xcalloc((size_t)nc * w, sizeof *m), *y = s_xcalloc((size_t)nr * w, sizeof *y);
        float *r = s_xcalloc((size_t)nr * w, sizeof *r),
              *g1 = s_xcalloc((size_t)nc * w, sizeof *g1);
        float *g2 = s_xcalloc((size_t)nc * w, sizeof *g2);
        double *yref = s_xcalloc((size_t)nr * w, sizeof *yref),
               *gref = s_xcalloc((size_t)nc * w, sizeof *gref);
        s_rand_float(m, (int64_t)nc * w, &rng);
        s_rand_float(r, (int64_t)nr * w, &rng);
        for (int32_t i = 0; i < nr; i++)
            for (int32_t k = 0; k < nc; k++)
                for (int32_t j = 0; j < w; j++) {
                    yref[i * w + j] += (double)(float)ad[i * nc + k] * m[k * w + j];
                    gref[k * w + j] += (double)(float)ad[i * nc + k] * r[i * w + j];
                }
        dgcn_spmm(y, &a, m, w);
        ck_assert_double_le(s_rel_err_fd(y, yref, (int64_t)nr * w), 1e-6);
        dgcn_spmm(g1, &at, r, w);
        ck_assert_double_le(s_rel_err_fd(g1, gref, (int64_t)nc * w), 1e-6);
        dgcn_spmm_t_scatter(g2, &a, r, w);
        ck_assert_double_le(s_rel_err_fd(g2, gref, (int64_t)nc * w), 1e-6);
        /* Central differences of f(M) = <R, A M> (linear: exact up to rounding). */
        double *fd = s_xcalloc((size_t)nc * w, sizeof *fd);
        const float eps = 1e-2f;
        for (int64_t i = 0; i < (int64_t)nc * w; i++) {
            float keep = m[i];
            m[i] = keep + eps;
            dgcn_spmm(y, &a, m, w);
            double fp = s_dot(r, y, (int64_t)nr * w);
            m[i] = keep - eps;
            dgcn_spmm(y, &a, m, w);
            double fm = s_dot(r, y, (int64_t)nr * w);
            m[i] = keep;
            fd[i] = (fp - fm) / (2.0 * eps);
        }
        ck_assert_double_le(s_rel_err_fd(g1, fd, (int64_t)nc * w), 1e-3);
        free(fd);
        free(m), free(y), free(r), free(g1), free(g2), free(yref), free(gref);
    }
    free(count);
    s_csr_free(&at);
    s_csr_free(&a);
}
END_TEST

/* Y = dropout(X) W with the mask on X's nonzeros: forward against a dense reference using the
 * documented key, xd_val, and dW = dropout(X)^T dY against central differences of <R, Y(W)>. */
START_TEST(test_sparse_xw) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 2, DGCN_STREAM_TEST);
    /* Rows of ~100 stored entries cross the kernel's 64-entry chunks. */
    const int32_t n = 11, d = 150;
    const int32_t fos[] = {16, 7, 5, 80, 32, 64};
    double xd[11 * 150];
    s_rand_dense(xd, n * d, 0.3, &rng);
    dgcn_csr x = s_csr_dense(xd, n, d);
    int32_t gid[11];
    for (int32_t i = 0; i < n; i++) gid[i] = 100 + 3 * i;
    const float p = 0.5f;
    const uint64_t seed = 77;
    const int64_t iter = 5;
    float *xv = s_xcalloc((size_t)x.nnz, sizeof *xv);
    for (size_t fi = 0; fi < sizeof fos / sizeof *fos; fi++) {
        int32_t fo = fos[fi];
        float *w = s_xcalloc((size_t)d * fo, sizeof *w), *y = s_xcalloc((size_t)n * fo, sizeof *y);
        float *r = s_xcalloc((size_t)n * fo, sizeof *r),
              *dw = s_xcalloc((size_t)d * fo, sizeof *dw);
        double *yref = s_xcalloc((size_t)n * fo, sizeof *yref),
               *fd = s_xcalloc((size_t)d * fo, sizeof *fd);
        s_rand_float(w, (int64_t)d * fo, &rng);
        s_rand_float(r, (int64_t)n * fo, &rng);
        int64_t kept = 0, stored = 0;
        for (int32_t i = 0; i < n; i++)
            for (int32_t k = 0; k < d; k++) {
                if (xd[i * d + k] == 0.0) continue;
                stored++;
                if (dgcn_dropout_unit(dgcn_dropout_row_key(seed, iter, 0, gid[i]), (uint32_t)k) < p)
                    continue;
                kept++;
                for (int32_t j = 0; j < fo; j++)
                    yref[i * fo + j] += 2.0 * (float)xd[i * d + k] * w[k * fo + j];
            }
        ck_assert_int_gt(kept, 0);
        ck_assert_int_lt(kept, stored);
        dgcn_sparse_dropout_matmul_forward(y, xv, &x, w, fo, gid, p, seed, iter, 0);
        ck_assert_double_le(s_rel_err_fd(y, yref, (int64_t)n * fo), 1e-6);
        for (int64_t e = 0; e < x.nnz; e++) ck_assert(xv[e] == 0.0f || xv[e] == 2.0f * x.val[e]);
        dgcn_sparse_matmul_backward(dw, &x, xv, r, fo);
        const float eps = 1e-2f;
        for (int64_t i = 0; i < (int64_t)d * fo; i++) {
            float keep = w[i];
            w[i] = keep + eps;
            dgcn_sparse_dropout_matmul_forward(y, NULL, &x, w, fo, gid, p, seed, iter, 0);
            double fp = s_dot(r, y, (int64_t)n * fo);
            w[i] = keep - eps;
            dgcn_sparse_dropout_matmul_forward(y, NULL, &x, w, fo, gid, p, seed, iter, 0);
            double fm = s_dot(r, y, (int64_t)n * fo);
            w[i] = keep;
            fd[i] = (fp - fm) / (2.0 * eps);
        }
        ck_assert_double_le(s_rel_err_fd(dw, fd, (int64_t)d * fo), 1e-3);
        /* Without dropout the product is plain X W. */
        dgcn_sparse_dropout_matmul_forward(y, NULL, &x, w, fo, gid, 0.0f, seed, iter, 0);
        memset(yref, 0, (size_t)n * fo * sizeof *yref);
        for (int32_t i = 0; i < n; i++)
            for (int32_t k = 0; k < d; k++)
                for (int32_t j = 0; j < fo; j++)
                    yref[i * fo + j] += (double)(float)xd[i * d + k] * w[k * fo + j];
        ck_assert_double_le(s_rel_err_fd(y, yref, (int64_t)n * fo), 1e-6);
        free(w), free(y), free(r), free(dw), free(yref), free(fd);
    }
    free(xv);
    s_csr_free(&x);
}
END_TEST

/* Dense layer out = in W: central differences of <R, out> w.r.t. in and W against the backward. */
/* The fused first-layer weight gradient equals its two passes (dgcn_spmm into a buffer, then
 * dgcn_sparse_matmul_backward), at register widths, tiled widths and the widest, with empty rows
 * in both matrices; it accumulates into dw. */
START_TEST(test_spmm_sparse_backward) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 31, DGCN_STREAM_TEST);
    const int32_t n = 37, k = 23, d = 19;
    const int32_t fos[] = {1, 5, 7, 16, 17, 64, 80, DGCN_FUSED_MAX_W};
    double *ad = s_xcalloc((size_t)n * k, sizeof *ad), *xdd = s_xcalloc((size_t)n * d, sizeof *xdd);
    s_rand_dense(ad, (int64_t)n * k, 0.8, &rng);
    s_rand_dense(xdd, (int64_t)n * d, 0.7, &rng);
    for (int32_t j = 0; j < k; j++) ad[3 * k + j] = 0.0;  /* row 3 of at is empty */
    for (int32_t j = 0; j < d; j++) xdd[5 * d + j] = 0.0; /* row 5 of x is empty */
    dgcn_csr at = s_csr_dense(ad, n, k), x = s_csr_dense(xdd, n, d);
    float *xd_val = s_xcalloc((size_t)x.nnz + 1, sizeof *xd_val);
    s_rand_float(xd_val, x.nnz, &rng);
    for (size_t fi = 0; fi < sizeof fos / sizeof *fos; fi++) {
        const int32_t fo = fos[fi];
        float *dz = s_xcalloc((size_t)k * fo, sizeof *dz),
              *dm = s_xcalloc((size_t)n * fo, sizeof *dm);
        float *dw1 = s_xcalloc((size_t)d * fo, sizeof *dw1),
              *dw2 = s_xcalloc((size_t)d * fo, sizeof *dw2);
        s_rand_float(dz, (int64_t)k * fo, &rng);
        s_rand_float(dw1, (int64_t)d * fo, &rng); /* accumulated into */
        memcpy(dw2, dw1, (size_t)d * fo * sizeof *dw1);
        dgcn_spmm(dm, &at, dz, fo);
        dgcn_sparse_matmul_backward(dw1, &x, xd_val, dm, fo);
        dgcn_spmm_sparse_backward(dw2, &at, dz, &x, xd_val, fo);
        ck_assert_msg(s_rel_err_ff(dw2, dw1, (int64_t)d * fo) <= 1e-6, "width %d: error %g", fo,
                      s_rel_err_ff(dw2, dw1, (int64_t)d * fo));
        free(dz), free(dm), free(dw1), free(dw2);
    }
    free(ad), free(xdd), free(xd_val);
    s_csr_free(&at);
    s_csr_free(&x);
}
END_TEST

START_TEST(test_dense) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 3, DGCN_STREAM_TEST);
    const int32_t n = 13, fi = 16, fo = 7;
    float in[13 * 16], w[16 * 7], out[13 * 7], r[13 * 7], din[13 * 16] = {0}, dw[16 * 7] = {0};
    double fd_in[13 * 16], fd_w[16 * 7], ref[13 * 7] = {0};
    s_rand_float(in, n * fi, &rng);
    s_rand_float(w, fi * fo, &rng);
    s_rand_float(r, n * fo, &rng);
    dgcn_matmul_forward(out, in, w, n, fi, fo);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < fi; k++)
            for (int j = 0; j < fo; j++) ref[i * fo + j] += (double)in[i * fi + k] * w[k * fo + j];
    ck_assert_double_le(s_rel_err_fd(out, ref, n * fo), 1e-6);
    dgcn_matmul_backward(din, dw, r, in, w, n, fi, fo);
    const float eps = 1e-2f;
    float *vars[2] = {in, w};
    double *fds[2] = {fd_in, fd_w};
    int counts[2] = {n * fi, fi * fo};
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < counts[v]; i++) {
            float keep = vars[v][i];
            vars[v][i] = keep + eps;
            dgcn_matmul_forward(out, in, w, n, fi, fo);
            double fp = s_dot(r, out, n * fo);
            vars[v][i] = keep - eps;
            dgcn_matmul_forward(out, in, w, n, fi, fo);
            double fm = s_dot(r, out, n * fo);
            vars[v][i] = keep;
            fds[v][i] = (fp - fm) / (2.0 * eps);
        }
    ck_assert_double_le(s_rel_err_fd(din, fd_in, n * fi), 1e-3);
    ck_assert_double_le(s_rel_err_fd(dw, fd_w, fi * fo), 1e-3);
    /* Backward accumulates: a second call doubles the gradients. */
    float dw2[16 * 7];
    memcpy(dw2, dw, sizeof dw);
    dgcn_matmul_backward(NULL, dw, r, in, w, n, fi, fo);
    for (int i = 0; i < fi * fo; i++) ck_assert_float_eq_tol(dw[i], 2.0f * dw2[i], 1e-5f);
}
END_TEST

/* ReLU: central differences away from the kink, and the fused ReLU+dropout backward against the
 * composition of the separate backward kernels. */
START_TEST(test_relu) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 4, DGCN_STREAM_TEST);
    enum { N = 64, W = 8 };
    float z[N * W], h[N * W], r[N * W], dz[N * W] = {0};
    double fd[N * W];
    s_rand_float(z, N * W, &rng);
    for (int i = 0; i < N * W; i++)
        if (fabsf(z[i]) < 0.05f) z[i] = z[i] < 0 ? -0.05f : 0.05f;
    s_rand_float(r, N * W, &rng);
    dgcn_relu_forward(h, z, N * W);
    for (int i = 0; i < N * W; i++) ck_assert(h[i] == (z[i] > 0 ? z[i] : 0.0f));
    dgcn_relu_backward(dz, r, z, N * W);
    const float eps = 1e-3f;
    for (int i = 0; i < N * W; i++) {
        float keep = z[i];
        z[i] = keep + eps;
        dgcn_relu_forward(h, z, N * W);
        double fp = s_dot(r, h, N * W);
        z[i] = keep - eps;
        dgcn_relu_forward(h, z, N * W);
        double fm = s_dot(r, h, N * W);
        z[i] = keep;
        fd[i] = (fp - fm) / (2.0 * eps);
    }
    ck_assert_double_le(s_rel_err_fd(dz, fd, N * W), 1e-3);
    /* Fused: hd = dropout(relu(z)); dz = relu'(dropout'(dhd)). */
    int32_t gid[N];
    for (int i = 0; i < N; i++) gid[i] = i;
    float hd[N * W], dh[N * W] = {0}, dz_sep[N * W] = {0}, dz_fused[N * W];
    dgcn_relu_forward(h, z, N * W);
    dgcn_dropout_forward(hd, h, N, W, gid, 0.5f, 9, 1, 1);
    dgcn_dropout_backward(dh, r, N, W, gid, 0.5f, 9, 1, 1);
    dgcn_relu_backward(dz_sep, dh, z, N * W);
    dgcn_relu_dropout_backward(dz_fused, r, hd, 2.0f, N * W);
    for (int i = 0; i < N * W; i++) ck_assert_float_eq(dz_fused[i], dz_sep[i]);
}
END_TEST

/* Dropout: same key same mask, other keys other masks, keep rate ~ 1 - p, kept values scaled, and
 * the backward against central differences with the key fixed. */
START_TEST(test_dropout) {
    enum { N = 1000, W = 100 };
    float *in = s_xcalloc(N * W, sizeof *in), *a = s_xcalloc(N * W, sizeof *a);
    float *b = s_xcalloc(N * W, sizeof *b);
    int32_t *gid = s_xcalloc(N, sizeof *gid);
    for (int i = 0; i < N; i++) gid[i] = i;
    for (int i = 0; i < N * W; i++) in[i] = 1.0f;
    dgcn_dropout_forward(a, in, N, W, gid, 0.5f, 42, 7, 1);
    dgcn_dropout_forward(b, in, N, W, gid, 0.5f, 42, 7, 1);
    int64_t kept = 0, same_iter8 = 0, same_layer0 = 0, same_seed43 = 0;
    for (int i = 0; i < N * W; i++) {
        ck_assert(a[i] == b[i]);
        ck_assert(a[i] == 0.0f || a[i] == 2.0f);
        kept += a[i] != 0.0f;
    }
    double rate = (double)kept / (N * W);
    ck_assert_double_ge(rate, 0.49);
    ck_assert_double_le(rate, 0.51);
    dgcn_dropout_forward(b, in, N, W, gid, 0.5f, 42, 8, 1);
    for (int i = 0; i < N * W; i++) same_iter8 += a[i] == b[i];
    dgcn_dropout_forward(b, in, N, W, gid, 0.5f, 42, 7, 0);
    for (int i = 0; i < N * W; i++) same_layer0 += a[i] == b[i];
    dgcn_dropout_forward(b, in, N, W, gid, 0.5f, 43, 7, 1);
    for (int i = 0; i < N * W; i++) same_seed43 += a[i] == b[i];
    /* Independent masks agree on about half the elements. */
    ck_assert_double_le(fabs((double)same_iter8 / (N * W) - 0.5), 0.01);
    ck_assert_double_le(fabs((double)same_layer0 / (N * W) - 0.5), 0.01);
    ck_assert_double_le(fabs((double)same_seed43 / (N * W) - 0.5), 0.01);
    /* A row keeps its mask when it sits at another position with the same global id. */
    int32_t gid_shift[2] = {500, 17};
    dgcn_dropout_forward(b, in, 2, W, gid_shift, 0.5f, 42, 7, 1);
    for (int j = 0; j < W; j++) {
        ck_assert(b[j] == a[500 * W + j]);
        ck_assert(b[W + j] == a[17 * W + j]);
    }
    /* p = 0.3: rate ~ 0.7, scale 1/0.7. */
    dgcn_dropout_forward(b, in, N, W, gid, 0.3f, 42, 7, 1);
    kept = 0;
    for (int i = 0; i < N * W; i++) {
        ck_assert(b[i] == 0.0f || fabsf(b[i] - 1.0f / 0.7f) < 1e-6f);
        kept += b[i] != 0.0f;
    }
    ck_assert_double_le(fabs((double)kept / (N * W) - 0.7), 0.01);
    /* Backward against central differences of <R, dropout(x)> on a small block. */
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 5, DGCN_STREAM_TEST);
    enum { n = 10, w = 7 };
    float x[n * w], r[n * w], y[n * w], dx[n * w] = {0};
    double fd[n * w];
    s_rand_float(x, n * w, &rng);
    s_rand_float(r, n * w, &rng);
    dgcn_dropout_backward(dx, r, n, w, gid, 0.5f, 3, 4, 2);
    const float eps = 1e-2f;
    for (int i = 0; i < n * w; i++) {
        float keep = x[i];
        x[i] = keep + eps;
        dgcn_dropout_forward(y, x, n, w, gid, 0.5f, 3, 4, 2);
        double fp = s_dot(r, y, n * w);
        x[i] = keep - eps;
        dgcn_dropout_forward(y, x, n, w, gid, 0.5f, 3, 4, 2);
        double fm = s_dot(r, y, n * w);
        x[i] = keep;
        fd[i] = (fp - fm) / (2.0 * eps);
    }
    ck_assert_double_le(s_rel_err_fd(dx, fd, n * w), 1e-3);
    free(in), free(a), free(b), free(gid);
}
END_TEST

/* Softmax cross-entropy: loss sums and counts per split against an independent double computation,
 * the gradient against central differences, and stability at huge logits. */
START_TEST(test_xent) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 6, DGCN_STREAM_TEST);
    enum { N = 30, C = 7 };
    float z[N * C], dz[N * C];
    int32_t label[N];
    uint8_t split[N];
    for (int i = 0; i < N; i++) {
        label[i] = (int32_t)dgcn_rng_below(&rng, C);
        split[i] = (uint8_t)(i % 4);
        if (i % 7 == 3) label[i] = -1;
    }
    s_rand_float(z, N * C, &rng);
    for (int i = 0; i < N * C; i++) z[i] *= 3.0f;
    int32_t n_train = 0;
    double ref_loss[4] = {0};
    int ref_count[4] = {0}, ref_correct[4] = {0};
    for (int i = 0; i < N; i++) {
        if (label[i] < 0 || split[i] == 0) continue;
        double s = 0;
        int arg = 0;
        for (int j = 0; j < C; j++) {
            s += exp((double)z[i * C + j]);
            if (z[i * C + j] > z[i * C + arg]) arg = j;
        }
        ref_loss[split[i]] += log(s) - z[i * C + label[i]];
        ref_count[split[i]]++;
        ref_correct[split[i]] += arg == label[i];
        n_train += split[i] == DGCN_SPLIT_TRAIN;
    }
    dgcn_eval ev;
    memset(&ev, 0, sizeof ev);
    dgcn_softmax_xent(dz, z, label, split, N, C, 1.0f / (float)n_train, &ev);
    for (int s = 1; s <= 3; s++) {
        ck_assert_double_le(fabs(ev.loss_sum[s] - ref_loss[s]), 1e-5 * fabs(ref_loss[s]) + 1e-6);
        ck_assert_int_eq(ev.count[s], ref_count[s]);
        ck_assert_int_eq(ev.correct[s], ref_correct[s]);
    }
    ck_assert_int_eq(ev.count[0], 0);
    double fd[N * C];
    const float eps = 1e-3f;
    for (int i = 0; i < N * C; i++) {
        float keep = z[i];
        dgcn_eval e2;
        z[i] = keep + eps;
        memset(&e2, 0, sizeof e2);
        dgcn_softmax_xent(NULL, z, label, split, N, C, 0.0f, &e2);
        double fp = e2.loss_sum[DGCN_SPLIT_TRAIN] / n_train;
        z[i] = keep - eps;
        memset(&e2, 0, sizeof e2);
        dgcn_softmax_xent(NULL, z, label, split, N, C, 0.0f, &e2);
        double fm = e2.loss_sum[DGCN_SPLIT_TRAIN] / n_train;
        z[i] = keep;
        fd[i] = (fp - fm) / (2.0 * eps);
    }
    ck_assert_double_le(s_rel_err_fd(dz, fd, N * C), 1e-2);
    /* Rows outside the training split get no gradient. */
    for (int i = 0; i < N; i++)
        if (split[i] != DGCN_SPLIT_TRAIN || label[i] < 0)
            for (int j = 0; j < C; j++) ck_assert(dz[i * C + j] == 0.0f);
    /* Huge logits stay finite: loss of row [1000, 0, ...] with label 1 is 1000. */
    float big[C] = {1000.0f};
    int32_t l1 = 1;
    uint8_t s1 = DGCN_SPLIT_TRAIN;
    float dbig[C];
    memset(&ev, 0, sizeof ev);
    dgcn_softmax_xent(dbig, big, &l1, &s1, 1, C, 1.0f, &ev);
    ck_assert_double_eq_tol(ev.loss_sum[1], 1000.0, 1e-3);
    ck_assert_float_eq_tol(dbig[0], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(dbig[1], -1.0f, 1e-6f);
}
END_TEST

/* A canary after each output buffer: the kernels compute some rows wider than the matrix and
 * must never write past its end. */
#define S_CANARY 16
#define S_CANARY_VAL 12345.0f

static float *s_canaried(size_t n) {
    float *p = s_xcalloc(n + S_CANARY, sizeof *p);
    for (int i = 0; i < S_CANARY; i++) p[n + (size_t)i] = S_CANARY_VAL;
    return p;
}

static void s_check_canary(const float *p, size_t n) {
    for (int i = 0; i < S_CANARY; i++) ck_assert(p[n + (size_t)i] == S_CANARY_VAL);
}

/* The three dense products on random shapes against a double reference: tiny blocks (1-3 rows,
 * an agent's share of a big run), blocks around the 64-row blocking, inner dimensions odd and
 * around the 64 limit, widths 1, 5, 7, 16, 17 and wider, so every path (register kernels, plain
 * loops, OpenBLAS) runs. The backward products accumulate onto nonzero gradients. */
START_TEST(test_dense_shapes) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 11, DGCN_STREAM_TEST);
    const int32_t ns[] = {1, 2, 3, 5, 9, 64, 67, 300};
    const int32_t fis[] = {1, 3, 13, 16, 17, 65, 100};
    const int32_t fos[] = {1, 5, 7, 16, 17, 33};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof fis / sizeof *fis; b++)
            for (size_t c = 0; c < sizeof fos / sizeof *fos; c++) {
                const int32_t n = ns[a], fi = fis[b], fo = fos[c];
                const size_t nin = (size_t)n * fi, nw = (size_t)fi * fo, nout = (size_t)n * fo;
                float *in = s_xcalloc(nin, sizeof *in), *w = s_xcalloc(nw, sizeof *w);
                float *dout = s_xcalloc(nout, sizeof *dout);
                float *out = s_canaried(nout), *din = s_canaried(nin), *dw = s_canaried(nw);
                double *ro = s_xcalloc(nout, sizeof *ro), *rdin = s_xcalloc(nin, sizeof *rdin);
                double *rdw = s_xcalloc(nw, sizeof *rdw);
                s_rand_float(in, (int64_t)nin, &rng);
                s_rand_float(w, (int64_t)nw, &rng);
                s_rand_float(dout, (int64_t)nout, &rng);
                s_rand_float(out, (int64_t)nout, &rng); /* overwritten */
                s_rand_float(din, (int64_t)nin, &rng);  /* accumulated onto */
                s_rand_float(dw, (int64_t)nw, &rng);
                for (size_t i = 0; i < nin; i++) rdin[i] = din[i];
                for (size_t i = 0; i < nw; i++) rdw[i] = dw[i];
                for (int32_t i = 0; i < n; i++)
                    for (int32_t k = 0; k < fi; k++)
                        for (int32_t j = 0; j < fo; j++) {
                            const double x = in[(size_t)i * fi + k], wk = w[(size_t)k * fo + j];
                            const double g = dout[(size_t)i * fo + j];
                            ro[(size_t)i * fo + j] += x * wk;
                            rdw[(size_t)k * fo + j] += x * g;
                            rdin[(size_t)i * fi + k] += g * wk;
                        }
                dgcn_matmul_forward(out, in, w, n, fi, fo);
                dgcn_matmul_backward(din, dw, dout, in, w, n, fi, fo);
                if (s_rel_err_fd(out, ro, (int64_t)nout) > 1e-6 ||
                    s_rel_err_fd(dw, rdw, (int64_t)nw) > 1e-6 ||
                    s_rel_err_fd(din, rdin, (int64_t)nin) > 1e-6)
                    ck_abort_msg("n %d fi %d fo %d: errors %g %g %g", n, fi, fo,
                                 s_rel_err_fd(out, ro, (int64_t)nout),
                                 s_rel_err_fd(dw, rdw, (int64_t)nw),
                                 s_rel_err_fd(din, rdin, (int64_t)nin));
                s_check_canary(out, nout);
                s_check_canary(din, nin);
                s_check_canary(dw, nw);
                free(in), free(w), free(dout), free(out), free(din), free(dw);
                free(ro), free(rdin), free(rdw);
            }
}
END_TEST

/* Y = A M on random CSR shapes (1-3 rows or columns included) and the widths where rows are
 * computed wider than they are (1-3, 5-7, 13), against a double reference, with nothing written
 * past Y's end. */
START_TEST(test_spmm_shapes) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 12, DGCN_STREAM_TEST);
    const int32_t nrs[] = {1, 2, 3, 10, 41}, ncs[] = {1, 2, 3, 13, 40};
    const int32_t ws[] = {1, 2, 3, 5, 6, 7, 8, 13, 16, 17, 32, 64, 210};
    for (size_t a = 0; a < sizeof nrs / sizeof *nrs; a++)
        for (size_t b = 0; b < sizeof ncs / sizeof *ncs; b++)
            for (size_t c = 0; c < sizeof ws / sizeof *ws; c++) {
                const int32_t nr = nrs[a], nc = ncs[b], w = ws[c];
                double *ad = s_xcalloc((size_t)nr * nc, sizeof *ad);
                s_rand_dense(ad, (int64_t)nr * nc, 0.3, &rng);
                dgcn_csr m_a = s_csr_dense(ad, nr, nc);
                float *m = s_xcalloc((size_t)nc * w, sizeof *m), *y = s_canaried((size_t)nr * w);
                double *ref = s_xcalloc((size_t)nr * w, sizeof *ref);
                s_rand_float(m, (int64_t)nc * w, &rng);
                s_rand_float(y, (int64_t)nr * w, &rng); /* overwritten */
                for (int32_t i = 0; i < nr; i++)
                    for (int32_t k = 0; k < nc; k++)
                        for (int32_t j = 0; j < w; j++)
                            ref[i * w + j] += (double)(float)ad[i * nc + k] * m[k * w + j];
                dgcn_spmm(y, &m_a, m, w);
                if (s_rel_err_fd(y, ref, (int64_t)nr * w) > 1e-6)
                    ck_abort_msg("rows %d cols %d width %d: error %g", nr, nc, w,
                                 s_rel_err_fd(y, ref, (int64_t)nr * w));
                s_check_canary(y, (size_t)nr * w);
                free(m), free(y), free(ref), free(ad);
                s_csr_free(&m_a);
            }
}
END_TEST

/* Softmax cross-entropy on class counts 1-40 and past the block buffer (1100), block sizes from
 * one row to several blocks, logits spread over +-60: loss sums, hits and gradients against a
 * double reference. */
START_TEST(test_xent_shapes) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 13, DGCN_STREAM_TEST);
    const int32_t cs[] = {1, 2, 5, 7, 16, 17, 40, 1100}, ns[] = {1, 3, 150, 301};
    for (size_t a = 0; a < sizeof cs / sizeof *cs; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
            const int32_t c = cs[a], n = ns[b];
            float *z = s_xcalloc((size_t)n * c, sizeof *z), *dz = s_canaried((size_t)n * c);
            int32_t *label = s_xcalloc((size_t)n, sizeof *label);
            uint8_t *split = s_xcalloc((size_t)n, sizeof *split);
            s_rand_float(z, (int64_t)n * c, &rng);
            for (int64_t i = 0; i < (int64_t)n * c; i++) z[i] *= 60.0f;
            for (int32_t i = 0; i < n; i++) {
                label[i] = (int32_t)dgcn_rng_below(&rng, (uint64_t)c);
                split[i] = (uint8_t)(i % 4);
            }
            const float gs = 0.25f;
            dgcn_eval ev;
            memset(&ev, 0, sizeof ev);
            dgcn_softmax_xent(dz, z, label, split, n, c, gs, &ev);
            double loss[4] = {0}, loss_abs[4] = {0};
            int32_t count[4] = {0}, correct[4] = {0};
            for (int32_t i = 0; i < n; i++) {
                const float *zi = z + (size_t)i * c;
                int32_t arg = 0;
                for (int32_t j = 1; j < c; j++)
                    if (zi[j] > zi[arg]) arg = j;
                double s = 0;
                for (int32_t j = 0; j < c; j++) s += exp((double)zi[j] - zi[arg]);
                const int sp = split[i];
                if (sp == 0) continue;
                loss[sp] += zi[arg] + log(s) - zi[label[i]];
                loss_abs[sp] += fabs(zi[arg]) + log(s) + fabs(zi[label[i]]);
                count[sp]++;
                correct[sp] += arg == label[i];
                for (int32_t j = 0; j < c; j++) {
                    double g = sp == DGCN_SPLIT_TRAIN
                                   ? gs * (exp((double)zi[j] - zi[arg]) / s - (j == label[i]))
                                   : 0.0;
                    if (fabs(dz[(size_t)i * c + j] - g) > 1e-6)
                        ck_abort_msg("c %d n %d row %d col %d: dz %g, expected %g", c, n, i, j,
                                     dz[(size_t)i * c + j], g);
                }
            }
            for (int sp = 1; sp <= 3; sp++) {
                ck_assert_double_le(fabs(ev.loss_sum[sp] - loss[sp]), 1e-6 * loss_abs[sp] + 1e-6);
                ck_assert_int_eq(ev.count[sp], count[sp]);
                ck_assert_int_eq(ev.correct[sp], correct[sp]);
            }
            s_check_canary(dz, (size_t)n * c);
            free(z), free(dz), free(label), free(split);
        }
}
END_TEST

/* ---- the model ---- */

/* A random graph problem: dense A_hat (double), dense features, labels and splits. */
typedef struct s_problem {
    int32_t n, d, c;
    double *a_hat;  /* (n, n) */
    double *x;      /* (n, d) */
    int32_t *label; /* (n) */
    uint8_t *split; /* (n) */
    int32_t n_train;
    dgcn_csr a_csr, x_csr;
    int32_t *gid; /* (n) identity */
} s_problem;

static void s_problem_make(s_problem *pr, int32_t n, int32_t d, int32_t c, uint64_t seed) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, seed, DGCN_STREAM_TEST);
    memset(pr, 0, sizeof *pr);
    pr->n = n, pr->d = d, pr->c = c;
    pr->a_hat = s_xcalloc((size_t)n * n, sizeof *pr->a_hat);
    pr->x = s_xcalloc((size_t)n * d, sizeof *pr->x);
    pr->label = s_xcalloc((size_t)n, sizeof *pr->label);
    pr->split = s_xcalloc((size_t)n, sizeof *pr->split);
    pr->gid = s_xcalloc((size_t)n, sizeof *pr->gid);
    double *deg = s_xcalloc((size_t)n, sizeof *deg);
    for (int32_t i = 0; i < n; i++) pr->a_hat[(size_t)i * n + i] = 1.0;
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = i + 1; j < n; j++)
            if (dgcn_rng_uniform(&rng) < 4.0 / n)
                pr->a_hat[(size_t)i * n + j] = pr->a_hat[(size_t)j * n + i] = 1.0;
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < n; j++) deg[i] += pr->a_hat[(size_t)i * n + j];
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < n; j++) pr->a_hat[(size_t)i * n + j] /= sqrt(deg[i] * deg[j]);
    for (int32_t i = 0; i < n; i++) {
        double s = 0;
        for (int32_t k = 0; k < d; k++) {
            double v = dgcn_rng_uniform(&rng) < 0.3 ? 1.0 : 0.0;
            pr->x[(size_t)i * d + k] = v;
            s += v;
        }
        if (s == 0) pr->x[(size_t)i * d + (i % d)] = s = 1.0;
        for (int32_t k = 0; k < d; k++) pr->x[(size_t)i * d + k] /= s;
        pr->label[i] = (int32_t)dgcn_rng_below(&rng, (uint64_t)c);
        pr->split[i] = (uint8_t)dgcn_rng_below(&rng, 4);
        if (i % 9 == 4) pr->label[i] = -1;
        if (pr->split[i] == DGCN_SPLIT_TRAIN && pr->label[i] >= 0) pr->n_train++;
        pr->gid[i] = i;
    }
    /* Round A_hat and X to float once, so the reference and the model see the same numbers. */
    for (int64_t i = 0; i < (int64_t)n * n; i++) pr->a_hat[i] = (float)pr->a_hat[i];
    for (int64_t i = 0; i < (int64_t)n * d; i++) pr->x[i] = (float)pr->x[i];
    pr->a_csr = s_csr_dense(pr->a_hat, n, n);
    pr->x_csr = s_csr_dense(pr->x, n, d);
    free(deg);
}

static void s_problem_free(s_problem *pr) {
    free(pr->a_hat), free(pr->x), free(pr->label), free(pr->split), free(pr->gid);
    s_csr_free(&pr->a_csr);
    s_csr_free(&pr->x_csr);
}

/* The double-precision reference: the loss J(theta) of PAPER.md with dropout masks from the
 * documented keys; logits (n, c) and grad (n_params) when not NULL. */
/* y = a_hat^k x for x (n, w): k products with the dense A_hat (or its transpose, equal here). */
static void s_ref_power(const s_problem *pr, int k, const double *x, double *y, int32_t w) {
    const int32_t n = pr->n;
    double *t = s_xcalloc((size_t)n * w, sizeof *t);
    memcpy(y, x, (size_t)n * w * sizeof *y);
    for (int step = 0; step < k; step++) {
        memset(t, 0, (size_t)n * w * sizeof *t);
        for (int32_t i = 0; i < n; i++)
            for (int32_t q = 0; q < n; q++)
                if (pr->a_hat[(size_t)i * n + q] != 0.0)
                    for (int32_t j = 0; j < w; j++)
                        t[(size_t)i * w + j] += pr->a_hat[(size_t)i * n + q] * y[(size_t)q * w + j];
        memcpy(y, t, (size_t)n * w * sizeof *y);
    }
    free(t);
}

/* The reference's loss. With s_ref_y set it is the mean squared error over all n * c outputs
 * (regression), else the cross-entropy over the training nodes. */
static const double *s_ref_y;

static double s_reference(const s_problem *pr, const dgcn_model_config *cfg, const double *theta,
                          uint64_t seed, int64_t iter, int training, float reg_share,
                          double *logits, double *grad) {
    const int L = cfg->n_layers;
    const int32_t n = pr->n;
    const double p = training ? cfg->dropout : 0.0, scale = 1.0 / (1.0 - p);
    double *hd[DGCN_MAX_LAYERS], *z[DGCN_MAX_LAYERS];
    const double *h = pr->x;
    for (int l = 0; l < L; l++) {
        int32_t fi = cfg->dims[l], fo = cfg->dims[l + 1];
        const double *w = theta + dgcn_model_param_offset(cfg, l);
        hd[l] = s_xcalloc((size_t)n * fi, sizeof(double));
        for (int32_t i = 0; i < n; i++)
            for (int32_t k = 0; k < fi; k++) {
                int keep = p == 0.0 || dgcn_dropout_unit(dgcn_dropout_row_key(seed, iter, l, i),
                                                         (uint32_t)k) >= (float)p;
                hd[l][(size_t)i * fi + k] = keep ? h[(size_t)i * fi + k] * scale : 0.0;
            }
        double *m = s_xcalloc((size_t)n * fo, sizeof(double));
        z[l] = s_xcalloc((size_t)n * fo, sizeof(double));
        if (cfg->kind == DGCN_MODEL_FILTER) {
            /* z = sum_k A_hat^k (hd W_k) + b, each power applied literally. */
            double *t = s_xcalloc((size_t)n * fo, sizeof(double));
            for (int kk = 0; kk <= cfg->order; kk++) {
                const double *wk = w + (size_t)kk * fi * fo;
                memset(m, 0, (size_t)n * fo * sizeof(double));
                for (int32_t i = 0; i < n; i++)
                    for (int32_t k = 0; k < fi; k++)
                        for (int32_t j = 0; j < fo; j++)
                            m[(size_t)i * fo + j] += hd[l][(size_t)i * fi + k] *
                                                     wk[(size_t)k * fo + j];
                s_ref_power(pr, kk, m, t, fo);
                for (int64_t i = 0; i < (int64_t)n * fo; i++) z[l][i] += t[i];
            }
            const double *b = w + (size_t)(cfg->order + 1) * fi * fo;
            for (int32_t i = 0; i < n; i++)
                for (int32_t j = 0; j < fo; j++) z[l][(size_t)i * fo + j] += b[j];
            free(t);
        }
        for (int32_t i = 0; i < n && cfg->kind != DGCN_MODEL_FILTER; i++)
            for (int32_t k = 0; k < fi; k++)
                for (int32_t j = 0; j < fo; j++)
                    m[(size_t)i * fo + j] += hd[l][(size_t)i * fi + k] * w[(size_t)k * fo + j];
        if (cfg->kind == DGCN_MODEL_FILTER) {
        } else if (cfg->kind == DGCN_MODEL_GCN) {
            for (int32_t i = 0; i < n; i++)
                for (int32_t k = 0; k < n; k++)
                    if (pr->a_hat[(size_t)i * n + k] != 0.0)
                        for (int32_t j = 0; j < fo; j++)
                            z[l][(size_t)i * fo + j] += pr->a_hat[(size_t)i * n + k] *
                                                        m[(size_t)k * fo + j];
        } else {
            memcpy(z[l], m, (size_t)n * fo * sizeof(double));
        }
        free(m);
        if (l < L - 1) {
            double *hn = s_xcalloc((size_t)n * fo, sizeof(double));
            for (int64_t i = 0; i < (int64_t)n * fo; i++) hn[i] = z[l][i] > 0 ? z[l][i] : 0.0;
            if (l > 0) free((void *)h);
            h = hn;
        } else if (l > 0) {
            free((void *)h);
        }
    }
    const int32_t c = cfg->dims[L];
    double *out = z[L - 1], J = 0.0;
    double *dz = s_xcalloc((size_t)n * c, sizeof(double));
    for (int64_t i = 0; s_ref_y && i < (int64_t)n * c; i++) {
        double e = out[i] - s_ref_y[i];
        J += e * e / ((double)n * c);
        dz[i] = 2.0 * e / ((double)n * c);
    }
    for (int32_t i = 0; i < n && !s_ref_y; i++) {
        if (pr->split[i] != DGCN_SPLIT_TRAIN || pr->label[i] < 0) continue;
        double mx = out[(size_t)i * c], s = 0;
        for (int j = 1; j < c; j++) mx = fmax(mx, out[(size_t)i * c + j]);
        for (int j = 0; j < c; j++) s += exp(out[(size_t)i * c + j] - mx);
        J += (mx + log(s) - out[(size_t)i * c + pr->label[i]]) / pr->n_train;
        for (int j = 0; j < c; j++)
            dz[(size_t)i * c + j] = exp(out[(size_t)i * c + j] - mx) / s / pr->n_train;
        dz[(size_t)i * c + pr->label[i]] -= 1.0 / pr->n_train;
    }
    double reg = 0;
    const int64_t n_decay = (int64_t)(cfg->kind == DGCN_MODEL_FILTER ? cfg->order + 1 : 1) *
                            cfg->dims[0] * cfg->dims[1];
    for (int64_t i = 0; i < n_decay; i++) reg += theta[i] * theta[i];
    J += reg_share * cfg->weight_decay / 2.0 * reg;
    if (logits) memcpy(logits, out, (size_t)n * c * sizeof(double));
    if (grad) {
        memset(grad, 0, (size_t)dgcn_model_n_params(cfg) * sizeof(double));
        for (int l = L - 1; l >= 0; l--) {
            int32_t fi = cfg->dims[l], fo = cfg->dims[l + 1];
            const double *w = theta + dgcn_model_param_offset(cfg, l);
            double *dw = grad + dgcn_model_param_offset(cfg, l);
            double *dm = s_xcalloc((size_t)n * fo, sizeof(double));
            double *dhs = s_xcalloc((size_t)n * fi, sizeof(double)); /* dL/d hd */
            const int terms = cfg->kind == DGCN_MODEL_FILTER ? cfg->order + 1 : 1;
            for (int kk = 0; kk < terms && cfg->kind == DGCN_MODEL_FILTER; kk++) {
                const double *wk = w + (size_t)kk * fi * fo;
                double *dwk = dw + (size_t)kk * fi * fo;
                s_ref_power(pr, kk, dz, dm, fo); /* A_hat is symmetric */
                for (int32_t i = 0; i < n; i++)
                    for (int32_t k = 0; k < fi; k++)
                        for (int32_t j = 0; j < fo; j++) {
                            dwk[(size_t)k * fo + j] += hd[l][(size_t)i * fi + k] *
                                                       dm[(size_t)i * fo + j];
                            dhs[(size_t)i * fi + k] += dm[(size_t)i * fo + j] *
                                                       wk[(size_t)k * fo + j];
                        }
                if (kk == cfg->order)
                    for (int32_t i = 0; i < n; i++)
                        for (int32_t j = 0; j < fo; j++)
                            dw[(size_t)terms * fi * fo + j] += dz[(size_t)i * fo + j];
            }
            if (cfg->kind == DGCN_MODEL_FILTER) {
            } else if (cfg->kind == DGCN_MODEL_GCN) {
                for (int32_t i = 0; i < n; i++)
                    for (int32_t k = 0; k < n; k++)
                        if (pr->a_hat[(size_t)i * n + k] != 0.0)
                            for (int32_t j = 0; j < fo; j++)
                                dm[(size_t)k * fo + j] += pr->a_hat[(size_t)i * n + k] *
                                                          dz[(size_t)i * fo + j];
            } else {
                memcpy(dm, dz, (size_t)n * fo * sizeof(double));
            }
            for (int32_t i = 0; i < n && cfg->kind != DGCN_MODEL_FILTER; i++)
                for (int32_t k = 0; k < fi; k++)
                    for (int32_t j = 0; j < fo; j++) {
                        dw[(size_t)k * fo + j] += hd[l][(size_t)i * fi + k] *
                                                  dm[(size_t)i * fo + j];
                        dhs[(size_t)i * fi + k] += dm[(size_t)i * fo + j] * w[(size_t)k * fo + j];
                    }
            free(dz);
            dz = NULL;
            if (l > 0) {
                dz = s_xcalloc((size_t)n * fi, sizeof(double));
                for (int32_t i = 0; i < n; i++)
                    for (int32_t k = 0; k < fi; k++) {
                        size_t ik = (size_t)i * fi + k;
                        double s = dhs[ik];
                        /* dropout' then ReLU' at Z_{l-1} */
                        int kept = p == 0.0 ||
                                   dgcn_dropout_unit(dgcn_dropout_row_key(seed, iter, l, i),
                                                     (uint32_t)k) >= (float)p;
                        dz[ik] = kept && z[l - 1][ik] > 0 ? s * scale : 0.0;
                    }
            }
            free(dm), free(dhs);
        }
        for (int64_t i = 0; i < n_decay; i++) grad[i] += reg_share * cfg->weight_decay * theta[i];
    }
    free(dz);
    for (int l = 0; l < L; l++) free(hd[l]), free(z[l]);
    return J;
}

/* The model's logits and gradient against the reference, and the reference gradient against central
 * differences of the reference loss; dropout on, weight decay on, fixed (seed, iter). */
/* With order, the filter of that order; with regress, dense input and squared-error targets. */
static void s_check_model_full(dgcn_model_kind kind, int n_layers, int order, int regress) {
    s_problem pr;
    s_problem_make(&pr, 24, 10, 4, 11 + (uint64_t)n_layers);
    dgcn_model_config cfg = dgcn_model_defaults(kind, pr.d, pr.c);
    cfg.n_layers = n_layers;
    cfg.dims[1] = 6;
    if (n_layers == 3) cfg.dims[2] = 5;
    cfg.dims[n_layers] = pr.c;
    cfg.weight_decay = 0.05f; /* large enough to matter in the check */
    cfg.order = order;
    ck_assert_int_eq(dgcn_model_config_check(&cfg), DGCN_OK);
    int64_t np = dgcn_model_n_params(&cfg);
    float *theta = s_xcalloc((size_t)np, sizeof *theta),
          *grad = s_xcalloc((size_t)np, sizeof *grad);
    double *thd = s_xcalloc((size_t)np, sizeof *thd), *gref = s_xcalloc((size_t)np, sizeof *gref);
    double *fd = s_xcalloc((size_t)np, sizeof *fd);
    double *lref = s_xcalloc((size_t)pr.n * pr.c, sizeof *lref);
    dgcn_model_init(&cfg, theta, 5);
    /* Nonzero biases, so no ReLU input sits exactly on the kink (a fully dropped row). */
    for (int l = 0; l < n_layers && kind == DGCN_MODEL_FILTER; l++)
        for (int32_t j = 0; j < cfg.dims[l + 1]; j++)
            theta[dgcn_model_param_offset(&cfg, l) +
                  (int64_t)(order + 1) * cfg.dims[l] * cfg.dims[l + 1] + j] = 0.2f *
                                                                              (float)cos(1.3 * j +
                                                                                         l);
    for (int64_t i = 0; i < np; i++) thd[i] = theta[i] *= 2.0f; /* livelier activations */
    float *xf = s_xcalloc((size_t)pr.n * pr.d, sizeof *xf), *yf = NULL;
    double *yd = NULL;
    for (int64_t i = 0; i < (int64_t)pr.n * pr.d; i++) xf[i] = (float)pr.x[i];
    if (regress) {
        yf = s_xcalloc((size_t)pr.n * pr.c, sizeof *yf);
        yd = s_xcalloc((size_t)pr.n * pr.c, sizeof *yd);
        for (int64_t i = 0; i < (int64_t)pr.n * pr.c; i++)
            yd[i] = yf[i] = (float)sin(0.7 * (double)i);
    }
    s_ref_y = yd;
    const float reg_share = 0.5f;
    dgcn_block blk = {.n_own = pr.n,
                      .n_halo = 0,
                      .a = kind != DGCN_MODEL_MLP ? &pr.a_csr : NULL,
                      .x = regress ? NULL : &pr.x_csr,
                      .gid = pr.gid,
                      .label = pr.label,
                      .split = pr.split,
                      .n_train_global = pr.n_train,
                      .reg_share = reg_share,
                      .xd = regress ? xf : NULL,
                      .y = yf,
                      .n_values_global = (double)pr.n * pr.c};
    dgcn_gcn *g = NULL;
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &blk, NULL, NULL), DGCN_OK);
    const uint64_t seed = 1234;
    const int64_t iter = 3;
    dgcn_eval ev;
    ck_assert_int_eq(dgcn_gcn_forward(g, theta, 1, seed, iter, &ev), DGCN_OK);
    ck_assert_int_eq(dgcn_gcn_backward(g, theta, grad), DGCN_OK);
    double J = s_reference(&pr, &cfg, thd, seed, iter, 1, reg_share, lref, gref);
    ck_assert_double_le(s_rel_err_fd(dgcn_gcn_logits(g), lref, (int64_t)pr.n * pr.c), 1e-5);
    ck_assert_double_le(s_rel_err_fd(grad, gref, np), 1e-5);
    double reg = 0;
    const int64_t n_decay = (int64_t)(kind == DGCN_MODEL_FILTER ? order + 1 : 1) * cfg.dims[0] *
                            cfg.dims[1];
    for (int64_t i = 0; i < n_decay; i++) reg += thd[i] * thd[i];
    double Jmodel = (regress ? ev.sq_sum / ((double)pr.n * pr.c)
                             : ev.loss_sum[DGCN_SPLIT_TRAIN] / pr.n_train) +
                    reg_share * cfg.weight_decay / 2 * reg;
    ck_assert_double_le(fabs(Jmodel - J), 1e-5 * fabs(J));
    if (regress) ck_assert_int_eq(ev.n_values, (int64_t)pr.n * pr.c);
    else ck_assert_int_eq(ev.count[DGCN_SPLIT_TRAIN], pr.n_train);
    const double eps = 1e-6;
    for (int64_t i = 0; i < np; i++) {
        double keep = thd[i];
        thd[i] = keep + eps;
        double fp = s_reference(&pr, &cfg, thd, seed, iter, 1, reg_share, NULL, NULL);
        thd[i] = keep - eps;
        double fm = s_reference(&pr, &cfg, thd, seed, iter, 1, reg_share, NULL, NULL);
        thd[i] = keep;
        fd[i] = (fp - fm) / (2.0 * eps);
    }
    double num = 0, den = 0, nw0 = 0;
    for (int64_t i = 0; i < np; i++) {
        num += (gref[i] - fd[i]) * (gref[i] - fd[i]);
        den += fd[i] * fd[i];
    }
    ck_assert_double_le(sqrt(num / den), 1e-6);
    /* The float model against the same central differences. */
    ck_assert_double_le(s_rel_err_fd(grad, fd, np), 1e-5);
    /* The check has teeth: some hidden gradient is nonzero in every layer. */
    for (int l = 0; l < n_layers; l++) {
        double s = 0;
        int64_t o = dgcn_model_param_offset(&cfg, l), e = dgcn_model_param_offset(&cfg, l + 1);
        for (int64_t i = o; i < e; i++) s += fabs(gref[i]);
        ck_assert_double_gt(s, 1e-4);
        if (l == 0) nw0 = s;
    }
    (void)nw0;
    /* Evaluation forward: no dropout, matches the reference without masks. */
    ck_assert_int_eq(dgcn_gcn_forward(g, theta, 0, seed, iter, &ev), DGCN_OK);
    s_reference(&pr, &cfg, thd, seed, iter, 0, reg_share, lref, NULL);
    ck_assert_double_le(s_rel_err_fd(dgcn_gcn_logits(g), lref, (int64_t)pr.n * pr.c), 1e-5);
    /* Backward after an evaluation forward is refused. */
    ck_assert_int_eq(dgcn_gcn_backward(g, theta, grad), DGCN_EINVAL);
    dgcn_gcn_destroy(&g);
    ck_assert_ptr_null(g);
    free(theta), free(grad), free(thd), free(gref), free(fd), free(lref);
    free(xf), free(yf), free(yd);
    s_ref_y = NULL;
    s_problem_free(&pr);
}

static void s_check_model(dgcn_model_kind kind, int n_layers) {
    s_check_model_full(kind, n_layers, 1, 0);
}

START_TEST(test_gcn_grad) {
    s_check_model(DGCN_MODEL_GCN, 2);
    s_check_model(DGCN_MODEL_GCN, 3);
}
END_TEST

/* The graph filter of orders 0..3 (order 0: the linear model), on classification and on
 * regression with dense input, against the reference and central differences. */
START_TEST(test_filter_grad) {
    for (int k = 0; k <= 3; k++) {
        s_check_model_full(DGCN_MODEL_FILTER, 2, k, 0);
        s_check_model_full(DGCN_MODEL_FILTER, 1, k, 1);
        s_check_model_full(DGCN_MODEL_FILTER, 2, k, 1);
    }
    s_check_model_full(DGCN_MODEL_GCN, 2, 1, 1);
}
END_TEST

START_TEST(test_mlp_grad) {
    s_check_model(DGCN_MODEL_MLP, 2);
    s_check_model(DGCN_MODEL_MLP, 3);
}
END_TEST

/* ---- the block invariant ---- */

enum { S_MAX_BLOCKS = 3 };

typedef struct s_shared {
    pthread_barrier_t bar;
    int32_t n, n_blocks, max_w;
    float *glob;                  /* (n, max_w) forward rows by global id */
    float *contrib[S_MAX_BLOCKS]; /* (n, max_w) each block's backward halo rows by global id */
} s_shared;

typedef struct s_part {
    s_shared *sh;
    int b;
    dgcn_block blk;
    dgcn_csr a, x;
    int32_t *gid, *label, *halo_gid;
    uint8_t *split;
    float *xb, *yb; /* regression: the block's rows of the signals and targets */
    dgcn_gcn *g;
    const float *theta;
    float *grad;
    dgcn_eval ev;
    int rc_fwd, rc_bwd;
    uint64_t seed;
    int64_t iter;
} s_part;

/* The in-process exchange: blocks run in lock-step threads, meeting at a barrier. */
static int s_hook(void *ctx, int layer, dgcn_phase phase, float *rows, int32_t width) {
    s_part *pt = ctx;
    s_shared *sh = pt->sh;
    const int32_t n_own = pt->blk.n_own, n_halo = pt->blk.n_halo;
    ck_assert_int_le(width, sh->max_w);
    ck_assert_int_ge(layer, 0);
    if (phase == DGCN_PHASE_FORWARD) {
        for (int32_t r = 0; r < n_own; r++)
            memcpy(sh->glob + (size_t)pt->gid[r] * width, rows + (size_t)r * width,
                   (size_t)width * sizeof *rows);
        pthread_barrier_wait(&sh->bar);
        for (int32_t h = 0; h < n_halo; h++)
            memcpy(rows + (size_t)(n_own + h) * width, sh->glob + (size_t)pt->halo_gid[h] * width,
                   (size_t)width * sizeof *rows);
        pthread_barrier_wait(&sh->bar);
    } else {
        float *mine = sh->contrib[pt->b];
        memset(mine, 0, (size_t)sh->n * width * sizeof *mine);
        for (int32_t h = 0; h < n_halo; h++)
            memcpy(mine + (size_t)pt->halo_gid[h] * width, rows + (size_t)(n_own + h) * width,
                   (size_t)width * sizeof *rows);
        pthread_barrier_wait(&sh->bar);
        for (int b = 0; b < sh->n_blocks; b++) {
            if (b == pt->b) continue;
            for (int32_t r = 0; r < n_own; r++)
                for (int32_t j = 0; j < width; j++)
                    rows[(size_t)r * width + j] += sh->contrib[b][(size_t)pt->gid[r] * width + j];
        }
        pthread_barrier_wait(&sh->bar);
    }
    return DGCN_OK;
}

static void *s_part_run(void *arg) {
    s_part *pt = arg;
    pt->rc_fwd = dgcn_gcn_forward(pt->g, pt->theta, 1, pt->seed, pt->iter, &pt->ev);
    pt->rc_bwd = pt->rc_fwd ? pt->rc_fwd : dgcn_gcn_backward(pt->g, pt->theta, pt->grad);
    return NULL;
}

/* Builds block b of the problem: own rows (global order), halo columns (global order, after the
 * own columns), rows of A_hat remapped and sorted. */
static void s_part_make(s_part *pt, const s_problem *pr, const int *owner, int b) {
    int32_t n = pr->n, n_own = 0, n_halo = 0;
    int32_t *loc = s_xcalloc((size_t)n, sizeof *loc);
    for (int32_t i = 0; i < n; i++) loc[i] = -1;
    for (int32_t i = 0; i < n; i++)
        if (owner[i] == b) loc[i] = n_own++;
    pt->gid = s_xcalloc((size_t)n_own, sizeof *pt->gid);
    pt->label = s_xcalloc((size_t)n_own, sizeof *pt->label);
    pt->split = s_xcalloc((size_t)n_own, sizeof *pt->split);
    pt->halo_gid = s_xcalloc((size_t)n, sizeof *pt->halo_gid);
    for (int32_t i = 0; i < n; i++)
        if (owner[i] == b) {
            pt->gid[loc[i]] = i;
            pt->label[loc[i]] = pr->label[i];
            pt->split[loc[i]] = pr->split[i];
        }
    for (int32_t j = 0; j < n; j++) {
        if (owner[j] == b) continue;
        int needed = 0;
        for (int32_t r = 0; r < n_own && !needed; r++)
            needed = pr->a_hat[(size_t)pt->gid[r] * n + j] != 0.0;
        if (needed) {
            pt->halo_gid[n_halo] = j;
            loc[j] = n_own + n_halo++;
        }
    }
    /* Dense block rows over the remapped columns, then CSR (sorted by construction). */
    double *ad = s_xcalloc((size_t)n_own * (n_own + n_halo), sizeof *ad);
    double *xd = s_xcalloc((size_t)n_own * pr->d, sizeof *xd);
    for (int32_t r = 0; r < n_own; r++) {
        int32_t i = pt->gid[r];
        for (int32_t j = 0; j < n; j++)
            if (pr->a_hat[(size_t)i * n + j] != 0.0) {
                ck_assert_int_ge(loc[j], 0);
                ad[(size_t)r * (n_own + n_halo) + loc[j]] = pr->a_hat[(size_t)i * n + j];
            }
        memcpy(xd + (size_t)r * pr->d, pr->x + (size_t)i * pr->d, (size_t)pr->d * sizeof *xd);
    }
    pt->a = s_csr_dense(ad, n_own, n_own + n_halo);
    pt->x = s_csr_dense(xd, n_own, pr->d);
    pt->b = b;
    pt->blk = (dgcn_block){.n_own = n_own,
                           .n_halo = n_halo,
                           .a = &pt->a,
                           .x = &pt->x,
                           .gid = pt->gid,
                           .label = pt->label,
                           .split = pt->split,
                           .n_train_global = pr->n_train};
    free(ad), free(xd), free(loc);
}

static void s_part_free(s_part *pt) {
    dgcn_gcn_destroy(&pt->g);
    s_csr_free(&pt->a);
    s_csr_free(&pt->x);
    free(pt->gid), free(pt->label), free(pt->split), free(pt->halo_gid), free(pt->grad);
    free(pt->xb), free(pt->yb);
}

/* Blocks in threads vs the centralized model: logits, summed gradients and loss sums. */
/* kind and order choose the model; batch > 0 runs regression on that many signals (dense input
 * and targets, a function of the node and the signal). */
static void s_check_blocks_full(int n_blocks, int n_layers, dgcn_model_kind kind, int order,
                                int batch) {
    s_problem pr;
    s_problem_make(&pr, 60, 12, 5, 100 + (uint64_t)n_blocks);
    dgcn_model_config cfg = dgcn_model_defaults(kind, pr.d, pr.c);
    cfg.order = order;
    const int B = batch > 0 ? batch : 1;
    float *xb = NULL, *yb = NULL; /* (n, B, d), (n, B, c) */
    if (batch > 0) {
        xb = s_xcalloc((size_t)pr.n * B * pr.d, sizeof *xb);
        yb = s_xcalloc((size_t)pr.n * B * pr.c, sizeof *yb);
        for (int64_t i = 0; i < (int64_t)pr.n * B * pr.d; i++) xb[i] = (float)cos(0.37 * i);
        for (int64_t i = 0; i < (int64_t)pr.n * B * pr.c; i++) yb[i] = (float)sin(0.11 * i);
    }
    cfg.n_layers = n_layers;
    cfg.dims[1] = 16;
    if (n_layers == 3) cfg.dims[2] = 7;
    cfg.dims[n_layers] = pr.c;
    int64_t np = dgcn_model_n_params(&cfg);
    float *theta = s_xcalloc((size_t)np, sizeof *theta), *gc = s_xcalloc((size_t)np, sizeof *gc);
    float *gsum = s_xcalloc((size_t)np, sizeof *gsum);
    dgcn_model_init(&cfg, theta, 9);
    const uint64_t seed = 31;
    const int64_t iter = 12;
    /* Centralized. */
    dgcn_block cb = {.n_own = pr.n,
                     .a = &pr.a_csr,
                     .x = &pr.x_csr,
                     .gid = pr.gid,
                     .label = pr.label,
                     .split = pr.split,
                     .n_train_global = pr.n_train,
                     .reg_share = 1.0f,
                     .batch = batch,
                     .xd = xb,
                     .y = yb,
                     .n_values_global = (double)pr.n * B * pr.c};
    dgcn_gcn *central = NULL;
    dgcn_eval cev;
    ck_assert_int_eq(dgcn_gcn_new(&central, &cfg, &cb, NULL, NULL), DGCN_OK);
    ck_assert_int_eq(dgcn_gcn_forward(central, theta, 1, seed, iter, &cev), DGCN_OK);
    ck_assert_int_eq(dgcn_gcn_backward(central, theta, gc), DGCN_OK);
    const float *lc = dgcn_gcn_logits(central);
    /* Blocks: a random owner per node (every block non-empty). */
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 7 + (uint64_t)n_blocks, DGCN_STREAM_TEST);
    int *owner = s_xcalloc((size_t)pr.n, sizeof *owner);
    for (int32_t i = 0; i < pr.n; i++)
        owner[i] = i < n_blocks ? i : (int)dgcn_rng_below(&rng, (uint64_t)n_blocks);
    s_shared sh = {.n = pr.n, .n_blocks = n_blocks, .max_w = 16 * B};
    pthread_barrier_init(&sh.bar, NULL, (unsigned)n_blocks);
    sh.glob = s_xcalloc((size_t)pr.n * sh.max_w, sizeof *sh.glob);
    s_part parts[S_MAX_BLOCKS];
    memset(parts, 0, sizeof parts);
    pthread_t th[S_MAX_BLOCKS];
    int32_t total_halo = 0;
    for (int b = 0; b < n_blocks; b++) {
        sh.contrib[b] = s_xcalloc((size_t)pr.n * sh.max_w, sizeof *sh.contrib[b]);
        s_part_make(&parts[b], &pr, owner, b);
        parts[b].sh = &sh;
        parts[b].blk.reg_share = 1.0f / (float)n_blocks;
        if (batch > 0) { /* the block's own rows of the signals */
            s_part *pt = &parts[b];
            pt->xb = s_xcalloc((size_t)pt->blk.n_own * B * pr.d, sizeof *pt->xb);
            pt->yb = s_xcalloc((size_t)pt->blk.n_own * B * pr.c, sizeof *pt->yb);
            for (int32_t r = 0; r < pt->blk.n_own; r++) {
                memcpy(pt->xb + (size_t)r * B * pr.d, xb + (size_t)pt->gid[r] * B * pr.d,
                       (size_t)B * pr.d * sizeof *xb);
                memcpy(pt->yb + (size_t)r * B * pr.c, yb + (size_t)pt->gid[r] * B * pr.c,
                       (size_t)B * pr.c * sizeof *yb);
            }
            pt->blk.batch = batch;
            pt->blk.x = NULL;
            pt->blk.xd = pt->xb;
            pt->blk.y = pt->yb;
            pt->blk.n_values_global = (double)pr.n * B * pr.c;
        }
        parts[b].theta = theta;
        parts[b].grad = s_xcalloc((size_t)np, sizeof *parts[b].grad);
        parts[b].seed = seed;
        parts[b].iter = iter;
        total_halo += parts[b].blk.n_halo;
        ck_assert_int_eq(dgcn_gcn_new(&parts[b].g, &cfg, &parts[b].blk, s_hook, &parts[b]),
                         DGCN_OK);
    }
    ck_assert_int_gt(total_halo, 0);
    for (int b = 0; b < n_blocks; b++)
        ck_assert_int_eq(pthread_create(&th[b], NULL, s_part_run, &parts[b]), 0);
    for (int b = 0; b < n_blocks; b++) pthread_join(th[b], NULL);
    double num = 0, den = 0, loss = 0, sq = 0;
    int32_t count = 0, correct = 0;
    for (int b = 0; b < n_blocks; b++) {
        s_part *pt = &parts[b];
        ck_assert_int_eq(pt->rc_fwd, DGCN_OK);
        ck_assert_int_eq(pt->rc_bwd, DGCN_OK);
        const float *lb = dgcn_gcn_logits(pt->g);
        const int32_t w = B * pr.c;
        for (int32_t r = 0; r < pt->blk.n_own; r++)
            for (int32_t j = 0; j < w; j++) {
                double dv = (double)lb[(size_t)r * w + j] - lc[(size_t)pt->gid[r] * w + j];
                num += dv * dv;
                den += (double)lc[(size_t)pt->gid[r] * w + j] * lc[(size_t)pt->gid[r] * w + j];
            }
        sq += pt->ev.sq_sum;
        dgcn_axpy(gsum, 1.0f, pt->grad, np);
        loss += pt->ev.loss_sum[DGCN_SPLIT_TRAIN];
        count += pt->ev.count[DGCN_SPLIT_TEST];
        correct += pt->ev.correct[DGCN_SPLIT_TEST];
    }
    ck_assert_double_gt(den, 0.0);
    ck_assert_double_le(sqrt(num / den), 1e-5);
    ck_assert_double_le(s_rel_err_ff(gsum, gc, np), 1e-5);
    ck_assert_double_le(fabs(loss - cev.loss_sum[DGCN_SPLIT_TRAIN]),
                        1e-5 * cev.loss_sum[DGCN_SPLIT_TRAIN]);
    ck_assert_double_le(fabs(sq - cev.sq_sum), 1e-5 * cev.sq_sum + 1e-12);
    if (batch > 0) ck_assert_double_gt(cev.sq_sum, 0.0);
    ck_assert_int_eq(count, cev.count[DGCN_SPLIT_TEST]);
    ck_assert_int_eq(correct, cev.correct[DGCN_SPLIT_TEST]);
    /* A block alone (its own gradient) is not the centralized gradient: the check has teeth. */
    ck_assert_double_gt(s_rel_err_ff(parts[0].grad, gc, np), 1e-2);
    for (int b = 0; b < n_blocks; b++) {
        s_part_free(&parts[b]);
        free(sh.contrib[b]);
    }
    pthread_barrier_destroy(&sh.bar);
    free(sh.glob), free(owner), free(theta), free(gc), free(gsum), free(xb), free(yb);
    dgcn_gcn_destroy(&central);
    s_problem_free(&pr);
}

static void s_check_blocks(int n_blocks, int n_layers) {
    s_check_blocks_full(n_blocks, n_layers, DGCN_MODEL_GCN, 1, 0);
}

START_TEST(test_block_invariant) {
    s_check_blocks(2, 2);
    s_check_blocks(3, 2);
    s_check_blocks(2, 3);
    s_check_blocks(3, 3);
}
END_TEST

/* The filter's K exchanges per layer are exact: orders 2 and 3, classification and a regression
 * batch of 4 signals (exchanges 4 signals wide). */
START_TEST(test_filter_blocks) {
    s_check_blocks_full(3, 2, DGCN_MODEL_FILTER, 2, 0);
    s_check_blocks_full(2, 2, DGCN_MODEL_FILTER, 3, 0);
    s_check_blocks_full(3, 2, DGCN_MODEL_FILTER, 0, 4);
    s_check_blocks_full(3, 2, DGCN_MODEL_FILTER, 2, 4);
    s_check_blocks_full(3, 1, DGCN_MODEL_FILTER, 3, 2);
    s_check_blocks_full(2, 2, DGCN_MODEL_GCN, 1, 3);
}
END_TEST

/* A hook failure aborts the pass with its code. */
static int s_failing_hook(void *ctx, int layer, dgcn_phase phase, float *rows, int32_t width) {
    int *calls = ctx;
    (*calls)++;
    return layer == 1 ? dgcn_error_set(DGCN_ETIMEDOUT, "no rows from agent 4") : DGCN_OK;
}

START_TEST(test_hook_calls) {
    s_problem pr;
    s_problem_make(&pr, 20, 6, 3, 55);
    dgcn_model_config cfg = dgcn_model_defaults(DGCN_MODEL_GCN, pr.d, pr.c);
    int64_t np = dgcn_model_n_params(&cfg);
    float *theta = s_xcalloc((size_t)np, sizeof *theta);
    dgcn_model_init(&cfg, theta, 1);
    dgcn_block blk = {.n_own = pr.n,
                      .a = &pr.a_csr,
                      .x = &pr.x_csr,
                      .gid = pr.gid,
                      .label = pr.label,
                      .split = pr.split,
                      .n_train_global = pr.n_train,
                      .reg_share = 1.0f};
    int calls = 0;
    dgcn_gcn *g = NULL;
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &blk, s_failing_hook, &calls), DGCN_OK);
    ck_assert_int_eq(dgcn_gcn_forward(g, theta, 1, 1, 1, NULL), DGCN_ETIMEDOUT);
    ck_assert_int_eq(calls, 2);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "agent 4"));
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "layer 1"));
    dgcn_gcn_destroy(&g);
    /* The MLP never calls the hook. */
    cfg.kind = DGCN_MODEL_MLP;
    calls = 0;
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &blk, s_failing_hook, &calls), DGCN_OK);
    ck_assert_int_eq(dgcn_gcn_forward(g, theta, 1, 1, 1, NULL), DGCN_OK);
    float *grad = s_xcalloc((size_t)np, sizeof *grad);
    ck_assert_int_eq(dgcn_gcn_backward(g, theta, grad), DGCN_OK);
    ck_assert_int_eq(calls, 0);
    dgcn_gcn_destroy(&g);
    free(grad), free(theta);
    s_problem_free(&pr);
}
END_TEST

/* ---- configuration, init and bad input ---- */

START_TEST(test_config) {
    dgcn_model_config cfg = dgcn_model_defaults(DGCN_MODEL_GCN, 1433, 7);
    ck_assert_int_eq(cfg.n_layers, 2);
    ck_assert_int_eq(cfg.dims[1], 16);
    ck_assert_float_eq(cfg.dropout, 0.5f);
    ck_assert_float_eq(cfg.weight_decay, 5e-4f);
    ck_assert_int_eq(dgcn_model_config_check(&cfg), DGCN_OK);
    ck_assert_int_eq(dgcn_model_n_params(&cfg), 1433 * 16 + 16 * 7);
    ck_assert_int_eq(dgcn_model_param_offset(&cfg, 1), 1433 * 16);
    dgcn_model_config bad = cfg;
    bad.dropout = 1.0f;
    ck_assert_int_eq(dgcn_model_config_check(&bad), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "dropout"));
    bad = cfg;
    bad.n_layers = 0;
    ck_assert_int_eq(dgcn_model_config_check(&bad), DGCN_EINVAL);
    bad = cfg;
    bad.dims[2] = 0;
    ck_assert_int_eq(dgcn_model_config_check(&bad), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "dims[2]"));
    bad = cfg;
    bad.weight_decay = -1.0f;
    ck_assert_int_eq(dgcn_model_config_check(&bad), DGCN_EINVAL);
    bad = cfg;
    bad.kind = (dgcn_model_kind)5;
    ck_assert_int_eq(dgcn_model_config_check(&bad), DGCN_EINVAL);

    /* Glorot: inside +-r, spread over it, deterministic in the seed. */
    int64_t np = dgcn_model_n_params(&cfg);
    float *t1 = s_xcalloc((size_t)np, sizeof *t1), *t2 = s_xcalloc((size_t)np, sizeof *t2);
    dgcn_model_init(&cfg, t1, 3);
    dgcn_model_init(&cfg, t2, 3);
    ck_assert_int_eq(memcmp(t1, t2, (size_t)np * sizeof *t1), 0);
    for (int l = 0; l < 2; l++) {
        double r = sqrt(6.0 / (cfg.dims[l] + cfg.dims[l + 1])), mx = 0, mean = 0;
        int64_t o = dgcn_model_param_offset(&cfg, l), e = dgcn_model_param_offset(&cfg, l + 1);
        for (int64_t i = o; i < e; i++) {
            ck_assert_double_le(fabs(t1[i]), r);
            mx = fmax(mx, fabs(t1[i]));
            mean += t1[i];
        }
        ck_assert_double_ge(mx, 0.9 * r);
        ck_assert_double_le(fabs(mean / (e - o)), 0.1 * r);
    }
    dgcn_model_init(&cfg, t2, 4);
    ck_assert_int_ne(memcmp(t1, t2, (size_t)np * sizeof *t1), 0);
    /* The first value is the first draw of (seed, DGCN_STREAM_INIT). */
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 3, DGCN_STREAM_INIT);
    ck_assert_float_eq(t1[0],
                       (float)((2.0 * dgcn_rng_uniform(&rng) - 1.0) * sqrt(6.0 / (1433 + 16))));
    free(t1), free(t2);
}
END_TEST

START_TEST(test_bad_block) {
    s_problem pr;
    s_problem_make(&pr, 12, 5, 3, 66);
    dgcn_model_config cfg = dgcn_model_defaults(DGCN_MODEL_GCN, pr.d, pr.c);
    dgcn_block ok = {.n_own = pr.n,
                     .a = &pr.a_csr,
                     .x = &pr.x_csr,
                     .gid = pr.gid,
                     .label = pr.label,
                     .split = pr.split,
                     .n_train_global = pr.n_train,
                     .reg_share = 1.0f};
    dgcn_gcn *g = NULL;
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &ok, NULL, NULL), DGCN_OK);
    dgcn_gcn_destroy(&g);
    dgcn_gcn_destroy(&g); /* NULL is fine */
    dgcn_block b = ok;
    b.x = NULL;
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &b, NULL, NULL), DGCN_EINVAL);
    ck_assert_ptr_null(g);
    b = ok;
    b.n_halo = 2; /* a is n x n, not n x (n + 2), and no hook */
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &b, NULL, NULL), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "a_hat"));
    pr.label[3] = pr.c;
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &ok, NULL, NULL), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "label"));
    pr.label[3] = 0;
    int32_t keep = pr.x_csr.col[0];
    pr.x_csr.col[0] = pr.d;
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &ok, NULL, NULL), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "features"));
    pr.x_csr.col[0] = keep;
    cfg.dims[0] = pr.d + 1;
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &ok, NULL, NULL), DGCN_EINVAL);
    ck_assert_ptr_null(g);
    s_problem_free(&pr);
}
END_TEST

/* ---- receptive fields ---- */

/* A problem whose training split is sparse (one row in 30), so its receptive field is a strict
 * part of the graph. */
static void s_sparse_split(s_problem *pr) {
    pr->n_train = 0;
    for (int32_t i = 0; i < pr->n; i++) {
        pr->split[i] = i % 30 == 0  ? DGCN_SPLIT_TRAIN
                       : i % 30 < 6 ? DGCN_SPLIT_VAL
                                    : DGCN_SPLIT_TEST;
        if (pr->split[i] == DGCN_SPLIT_TRAIN && pr->label[i] >= 0) pr->n_train++;
    }
}

/* Each R_l of a receptive plan is exactly the set of columns of A_hat's rows R_l+1 (brute force
 * over the dense A_hat), the blocks hold A_hat's entries, and the field is a strict part of the
 * graph. */
START_TEST(test_receptive_plan) {
    s_problem pr;
    s_problem_make(&pr, 300, 12, 5, 91);
    s_sparse_split(&pr);
    uint8_t *want = s_xcalloc((size_t)pr.n, 1), *in = s_xcalloc((size_t)pr.n, 1),
            *prev = s_xcalloc((size_t)pr.n, 1);
    for (int32_t i = 0; i < pr.n; i++)
        want[i] = pr.split[i] == DGCN_SPLIT_TRAIN && pr.label[i] >= 0;
    for (int L = 1; L <= 3; L++) {
        dgcn_receptive rf;
        ck_assert_int_eq(dgcn_receptive_build(&rf, L, &pr.a_csr, &pr.x_csr, pr.gid, pr.label,
                                              pr.split, want),
                         DGCN_OK);
        memcpy(prev, want, (size_t)pr.n);
        for (int l = L; l >= 0; l--) {
            if (l < L) {
                memset(in, 0, (size_t)pr.n);
                for (int32_t r = 0; r < pr.n; r++)
                    for (int32_t c = 0; prev[r] && c < pr.n; c++)
                        if (pr.a_hat[(size_t)r * pr.n + c] != 0.0) in[c] = 1;
                memcpy(prev, in, (size_t)pr.n);
            }
            int32_t k = 0;
            for (int32_t r = 0; r < pr.n; r++)
                if (prev[r]) {
                    ck_assert_int_lt(k, rf.n[l]);
                    ck_assert_int_eq(rf.rows[l][k], r);
                    ck_assert_int_eq(rf.gid[l][k], pr.gid[r]);
                    k++;
                }
            ck_assert_int_eq(k, rf.n[l]);
        }
        for (int l = 0; l < L; l++)
            for (int32_t i = 0; i < rf.n[l + 1]; i++)
                for (int64_t e = rf.a[l].rowptr[i]; e < rf.a[l].rowptr[i + 1]; e++)
                    ck_assert(rf.a[l].val[e] == (float)pr.a_hat[(size_t)rf.rows[l + 1][i] * pr.n +
                                                                rf.rows[l][rf.a[l].col[e]]]);
        ck_assert_int_eq(rf.x.n_rows, rf.n[0]);
        ck_assert_int_lt(rf.n[0], pr.n); /* the restriction is real */
        ck_assert_int_gt(rf.n[0], rf.n[L]);
        dgcn_receptive_fini(&rf);
    }
    free(want), free(in), free(prev);
    s_problem_free(&pr);
}
END_TEST

/* Passes restricted to a split's receptive field give the whole pass's figures for that split and
 * (training split) its gradient; the logits of the rows read are the whole pass's (the same sums in
 * the same order; a row at a block's end may take a narrower vector path, so not bit for bit). */
START_TEST(test_receptive_pass) {
    s_problem pr;
    s_problem_make(&pr, 300, 12, 5, 92);
    s_sparse_split(&pr);
    for (int variant = 0; variant < 3; variant++) {
        const dgcn_model_kind kind = variant == 2 ? DGCN_MODEL_MLP : DGCN_MODEL_GCN;
        const int L = variant == 1 ? 3 : 2;
        dgcn_model_config cfg = dgcn_model_defaults(kind, pr.d, pr.c);
        cfg.n_layers = L;
        cfg.dims[1] = 8;
        if (L == 3) cfg.dims[2] = 6;
        cfg.dims[L] = pr.c;
        const int64_t np = dgcn_model_n_params(&cfg);
        float *theta = s_xcalloc((size_t)np, sizeof *theta);
        float *gw = s_xcalloc((size_t)np, sizeof *gw), *gr = s_xcalloc((size_t)np, sizeof *gr);
        float *lw = s_xcalloc((size_t)pr.n * pr.c, sizeof *lw);
        dgcn_model_init(&cfg, theta, 5);
        for (int64_t i = 0; i < np; i++) theta[i] *= 2.0f;
        dgcn_block blk = {.n_own = pr.n,
                          .a = kind == DGCN_MODEL_GCN ? &pr.a_csr : NULL,
                          .x = &pr.x_csr,
                          .gid = pr.gid,
                          .label = pr.label,
                          .split = pr.split,
                          .n_train_global = pr.n_train,
                          .reg_share = 1.0f};
        dgcn_gcn *g = NULL;
        ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &blk, NULL, NULL), DGCN_OK);
        const unsigned tr = DGCN_ROWS_SPLIT(DGCN_SPLIT_TRAIN), va = DGCN_ROWS_SPLIT(DGCN_SPLIT_VAL);
        ck_assert_int_eq(dgcn_gcn_prepare_rows(g, tr), DGCN_OK);
        ck_assert_int_eq(dgcn_gcn_prepare_rows(g, va), DGCN_OK);
        ck_assert_int_eq(dgcn_gcn_prepare_rows(g, tr | va), DGCN_OK);
        ck_assert_int_eq(dgcn_gcn_prepare_rows(g, 1u), DGCN_EINVAL);
        for (int it = 0; it < 3; it++) {
            dgcn_eval ew, er;
            /* training: the whole pass, then the training rows' field */
            ck_assert_int_eq(dgcn_gcn_forward(g, theta, 1, 77, it, &ew), DGCN_OK);
            ck_assert_int_eq(dgcn_gcn_backward(g, theta, gw), DGCN_OK);
            ck_assert_int_eq(dgcn_gcn_forward_rows(g, theta, 1, 77, it, tr, &er), DGCN_OK);
            ck_assert_int_eq(dgcn_gcn_backward(g, theta, gr), DGCN_OK);
            const int S = DGCN_SPLIT_TRAIN;
            ck_assert_int_eq(er.count[S], ew.count[S]);
            ck_assert_int_eq(er.correct[S], ew.correct[S]);
            ck_assert_double_le(fabs(er.loss_sum[S] - ew.loss_sum[S]), 1e-6 * fabs(ew.loss_sum[S]));
            ck_assert_int_eq(er.count[DGCN_SPLIT_VAL] + er.count[DGCN_SPLIT_TEST], 0);
            ck_assert_double_le(s_rel_err_ff(gr, gw, np), 1e-6);
            for (int l = 0; l < L; l++) { /* every layer's gradient is compared, not zeros */
                double sum = 0;
                for (int64_t i = dgcn_model_param_offset(&cfg, l);
                     i < dgcn_model_param_offset(&cfg, l + 1); i++)
                    sum += fabs(gw[i]);
                ck_assert_double_gt(sum, 1e-4);
            }
            /* evaluation on the validation rows, alone and with the training rows */
            ck_assert_int_eq(dgcn_gcn_forward(g, theta, 0, 77, it, &ew), DGCN_OK);
            memcpy(lw, dgcn_gcn_logits(g), (size_t)pr.n * pr.c * sizeof *lw);
            for (unsigned mask = va; mask <= (tr | va); mask += tr) {
                ck_assert_int_eq(dgcn_gcn_forward_rows(g, theta, 0, 77, it, mask, &er), DGCN_OK);
                const float *lr = dgcn_gcn_logits(g);
                int32_t k = 0;
                for (int32_t r = 0; r < pr.n; r++)
                    if (pr.label[r] >= 0 && ((mask >> pr.split[r]) & 1u)) {
                        ck_assert_double_le(s_rel_err_ff(lr + (size_t)k * pr.c,
                                                         lw + (size_t)r * pr.c, pr.c),
                                            1e-6);
                        k++;
                    }
                for (int s = DGCN_SPLIT_TRAIN; s <= DGCN_SPLIT_VAL; s++) {
                    const int in = (mask >> s) & 1u;
                    ck_assert_int_eq(er.count[s], in ? ew.count[s] : 0);
                    ck_assert_int_eq(er.correct[s], in ? ew.correct[s] : 0);
                    ck_assert_double_le(fabs(er.loss_sum[s] - (in ? ew.loss_sum[s] : 0.0)),
                                        1e-6 * fabs(ew.loss_sum[s]));
                }
                ck_assert_int_gt(er.count[DGCN_SPLIT_VAL], 0);
            }
        }
        dgcn_gcn_destroy(&g);
        free(theta), free(gw), free(gr), free(lw);
    }
    s_problem_free(&pr);
}
END_TEST

/* ---- optimizers ---- */

/* Two Adam steps from theta = (1, -2), lr 0.1, with g1 = (0.5, -0.1), g2 = (0.2, 0.3):
 * step 1: m^ = g1, v^ = g1^2, so theta -= 0.1 sign(g1) -> (0.9, -1.9);
 * step 2: m = 0.09 g1 + 0.1 g2 = (0.065, -0.009), m^ = m / 0.19;
 *         v = 0.000999 g1^2 + 0.001 g2^2 = (0.00028975, 0.00009999), v^ = v / 0.001999;
 *         theta -= 0.1 m^ / sqrt(v^) -> (0.810142484, -1.949418991). */
START_TEST(test_adam) {
    dgcn_adam a;
    ck_assert_int_eq(dgcn_adam_init(&a, 2), DGCN_OK);
    float theta[2] = {1.0f, -2.0f};
    const float g1[2] = {0.5f, -0.1f}, g2[2] = {0.2f, 0.3f};
    dgcn_adam_step(&a, theta, g1, 0.1f, 0.9f, 0.999f, 1e-8f);
    ck_assert_float_eq_tol(theta[0], 0.9f, 1e-6f);
    ck_assert_float_eq_tol(theta[1], -1.9f, 1e-6f);
    dgcn_adam_step(&a, theta, g2, 0.1f, 0.9f, 0.999f, 1e-8f);
    ck_assert_float_eq_tol(theta[0], 0.810142484f, 2e-6f);
    ck_assert_float_eq_tol(theta[1], -1.949418991f, 2e-6f);
    ck_assert_int_eq(a.t, 2);
    dgcn_adam_reset(&a);
    ck_assert_int_eq(a.t, 0);
    ck_assert(a.m[0] == 0.0f && a.v[1] == 0.0f);
    dgcn_adam_fini(&a);
    dgcn_adam_fini(&a);
    float th[3] = {1, 2, 3};
    const float gr[3] = {1, -1, 0.5f};
    dgcn_sgd_step(th, gr, 3, 0.5f);
    ck_assert_float_eq(th[0], 0.5f);
    ck_assert_float_eq(th[1], 2.5f);
    ck_assert_float_eq(th[2], 2.75f);
}
END_TEST

/* ---- the training step allocates nothing ---- */

/* The suite links with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (tests/nn.cmake): every
 * allocation made from dgcn's code or this file passes through these counters. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
static volatile int s_counting; /* volatile: the compiler assumes malloc never reads it */
static volatile long s_allocs;
void *__wrap_malloc(size_t n) {
    s_allocs += s_counting;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size) {
    s_allocs += s_counting;
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
    s_allocs += s_counting;
    return __real_realloc(p, n);
}

/* The suite also wraps cblas_sgemm (tests/nn.cmake): calls from dgcn's code are counted. */
void __real_cblas_sgemm(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE ta,
                        const enum CBLAS_TRANSPOSE tb, const blasint m, const blasint n,
                        const blasint k, const float alpha, const float *a, const blasint lda,
                        const float *b, const blasint ldb, const float beta, float *c,
                        const blasint ldc);
static volatile long s_sgemm_calls;
void __wrap_cblas_sgemm(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE ta,
                        const enum CBLAS_TRANSPOSE tb, const blasint m, const blasint n,
                        const blasint k, const float alpha, const float *a, const blasint lda,
                        const float *b, const blasint ldb, const float beta, float *c,
                        const blasint ldc) {
    s_sgemm_calls++;
    __real_cblas_sgemm(o, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Blocks of a few rows (an agent's share when there are many agents) and the GCN's narrow layers
 * never call OpenBLAS: dense products of 1-8 rows with any widths, products whose input and output
 * widths are at most 16 with any row count, and a whole training step of a 3-row GCN block. A wide
 * product does call it. */
START_TEST(test_small_skips_blas) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 14, DGCN_STREAM_TEST);
    enum { MAXN = 300, MAXF = 200 };
    float *in = s_xcalloc((size_t)MAXN * MAXF, sizeof *in), *w = s_xcalloc(MAXF * MAXF, sizeof *w);
    float *out = s_xcalloc((size_t)MAXN * MAXF, sizeof *out);
    float *din = s_xcalloc((size_t)MAXN * MAXF, sizeof *din),
          *dw = s_xcalloc(MAXF * MAXF, sizeof *dw);
    s_rand_float(in, (int64_t)MAXN * MAXF, &rng);
    s_rand_float(w, MAXF * MAXF, &rng);
    const int32_t shapes[][3] = {{1, 200, 64}, {3, 64, 200},  {8, 200, 200}, {2, 1433, 16},
                                 {300, 16, 7}, {300, 16, 16}, {300, 16, 5},  {300, 7, 16}};
    s_sgemm_calls = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int32_t n = shapes[i][0], fi = shapes[i][1] < MAXF ? shapes[i][1] : MAXF,
                      fo = shapes[i][2];
        dgcn_matmul_forward(out, in, w, n, fi, fo);
        dgcn_matmul_backward(din, dw, out, in, w, n, fi, fo);
    }
    ck_assert_int_eq(s_sgemm_calls, 0);
    /* A training step and an evaluation of a 3-row GCN block (16 hidden units, 5 classes). */
    s_problem pr;
    s_problem_make(&pr, 3, 12, 5, 79);
    dgcn_model_config cfg = dgcn_model_defaults(DGCN_MODEL_GCN, pr.d, pr.c);
    int64_t np = dgcn_model_n_params(&cfg);
    float *theta = s_xcalloc((size_t)np, sizeof *theta),
          *grad = s_xcalloc((size_t)np, sizeof *grad);
    dgcn_model_init(&cfg, theta, 1);
    dgcn_block blk = {.n_own = pr.n,
                      .a = &pr.a_csr,
                      .x = &pr.x_csr,
                      .gid = pr.gid,
                      .label = pr.label,
                      .split = pr.split,
                      .n_train_global = pr.n_train > 0 ? pr.n_train : 1,
                      .reg_share = 1.0f};
    dgcn_gcn *g = NULL;
    ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &blk, NULL, NULL), DGCN_OK);
    dgcn_eval ev;
    ck_assert_int_eq(dgcn_gcn_forward(g, theta, 1, 3, 0, &ev), DGCN_OK);
    ck_assert_int_eq(dgcn_gcn_backward(g, theta, grad), DGCN_OK);
    ck_assert_int_eq(dgcn_gcn_forward(g, theta, 0, 3, 0, &ev), DGCN_OK);
    ck_assert_int_eq(s_sgemm_calls, 0);
    /* The counter counts: a wide product goes to OpenBLAS. */
    dgcn_matmul_forward(out, in, w, MAXN, MAXF, 64);
    ck_assert_int_eq(s_sgemm_calls, 1);
    dgcn_gcn_destroy(&g);
    free(theta), free(grad);
    s_problem_free(&pr);
    free(in), free(w), free(out), free(din), free(dw);
}
END_TEST

/* After set-up, training steps (forward with dropout, backward, Adam, an evaluation forward) and
 * consensus rounds (gt-adam prepare, two Chebyshev gossip rounds and mix) make no allocation, for
 * the GCN and the MLP. */
START_TEST(test_step_allocates_nothing) {
    s_problem pr;
    s_problem_make(&pr, 60, 12, 5, 77);
    for (int kind = 0; kind < 2; kind++) {
        dgcn_model_config cfg = dgcn_model_defaults(kind ? DGCN_MODEL_MLP : DGCN_MODEL_GCN, pr.d,
                                                    pr.c);
        int64_t np = dgcn_model_n_params(&cfg);
        float *theta = s_xcalloc((size_t)np, sizeof *theta),
              *grad = s_xcalloc((size_t)np, sizeof *grad);
        float *msg = s_xcalloc((size_t)(4 * np), sizeof *msg), *msg1 = msg + 2 * np;
        dgcn_model_init(&cfg, theta, 1);
        dgcn_block blk = {.n_own = pr.n,
                          .a = kind ? NULL : &pr.a_csr,
                          .x = &pr.x_csr,
                          .gid = pr.gid,
                          .label = pr.label,
                          .split = pr.split,
                          .n_train_global = pr.n_train,
                          .reg_share = 1.0f};
        dgcn_gcn *g = NULL;
        dgcn_adam adam = {0};
        dgcn_consensus *cons = NULL;
        dgcn_consensus_config cc = dgcn_consensus_defaults(DGCN_CONSENSUS_GT_ADAM, 0.01);
        cc.grad_scale = 1.0;
        cc.gossip_rounds = 3;
        cc.gossip_accel = DGCN_GOSSIP_CHEBYSHEV;
        cc.gossip_rho = 0.5;
        ck_assert_int_eq(dgcn_gcn_new(&g, &cfg, &blk, NULL, NULL), DGCN_OK);
        ck_assert_int_eq(dgcn_adam_init(&adam, np), DGCN_OK);
        ck_assert_int_eq(dgcn_consensus_new(&cons, &cc, np), DGCN_OK);
        const double self[1] = {1.0};
        dgcn_eval ev;
        /* no ck_assert inside the counted loop: Check itself allocates to record each one */
        int rc = DGCN_OK;
        s_allocs = 0;
        s_counting = 1;
        for (int it = 0; it < 5; it++) {
            rc |= dgcn_gcn_forward(g, theta, 1, 3, it, &ev);
            rc |= dgcn_gcn_backward(g, theta, grad);
            dgcn_adam_step(&adam, theta, grad, 0.01f, 0.9f, 0.999f, 1e-8f);
            rc |= dgcn_gcn_forward(g, theta, 0, 3, it, &ev);
            rc |= dgcn_consensus_prepare(cons, it, theta, grad, msg);
            rc |= dgcn_consensus_combine(cons, 0, self, 0, msg, NULL, NULL, msg1); /* gossip */
            rc |= dgcn_consensus_combine(cons, 1, self, 0, msg1, msg, NULL, msg);
            rc |= dgcn_consensus_mix_round(cons, it, 2, grad, self, 0, msg, msg1, NULL, theta);
        }
        s_counting = 0;
        ck_assert_int_eq(rc, DGCN_OK);
        ck_assert_msg(s_allocs == 0, "%s: %ld allocations in 5 training steps",
                      kind ? "mlp" : "gcn", s_allocs);
        /* the counter does count */
        s_counting = 1;
        void *volatile probe = malloc(16); /* volatile: a malloc/free pair may be elided */
        s_counting = 0;
        free(probe);
        ck_assert_int_eq(s_allocs, 1);
        dgcn_consensus_destroy(&cons);
        dgcn_adam_fini(&adam);
        dgcn_gcn_destroy(&g);
        free(theta), free(grad), free(msg);
    }
    s_problem_free(&pr);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"spmm", test_spmm, 0, 0},
        {"sparse_xw", test_sparse_xw, 0, 0},
        {"spmm_sparse_backward", test_spmm_sparse_backward, 0, 0},
        {"dense", test_dense, 0, 0},
        {"relu", test_relu, 0, 0},
        {"dropout", test_dropout, 0, 0},
        {"xent", test_xent, 0, 0},
        {"dense_shapes", test_dense_shapes, 0, 0},
        {"spmm_shapes", test_spmm_shapes, 0, 0},
        {"xent_shapes", test_xent_shapes, 0, 0},
        {"gcn_grad", test_gcn_grad, 0, 0},
        {"mlp_grad", test_mlp_grad, 0, 0},
        {"filter_grad", test_filter_grad, 0, 0},
        {"block_invariant", test_block_invariant, 0, 0},
        {"filter_blocks", test_filter_blocks, 0, 0},
        {"hook_calls", test_hook_calls, 0, 0},
        {"receptive_plan", test_receptive_plan, 0, 0},
        {"receptive_pass", test_receptive_pass, 0, 0},
        {"config", test_config, 0, 0},
        {"bad_block", test_bad_block, 0, 0},
        {"adam", test_adam, 0, 0},
        {"step_allocates_nothing", test_step_allocates_nothing, 0, 0},
        {"small_skips_blas", test_small_skips_blas, 0, 0},
    };
    return DGCN_TEST_SUITE("nn", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
