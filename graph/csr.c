/* graph/csr.c: compressed sparse rows: construction from an edge list, the GCN normalization
 * A_hat = D~^-1/2 (A + I) D~^-1/2, row normalization and binarization. */
#include "graph/csr.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dgcn_csr_init(dgcn_csr *m, int32_t n_rows, int32_t n_cols, int64_t nnz) {
    int rc = DGCN_OK;
    memset(m, 0, sizeof *m);
    if (n_rows < 0 || n_cols < 0 || nnz < 0)
        return dgcn_error_set(DGCN_EINVAL, "csr: negative size (%d x %d, nnz %lld)", (int)n_rows,
                              (int)n_cols, (long long)nnz);
    m->n_rows = n_rows;
    m->n_cols = n_cols;
    m->nnz = nnz;
    DGCN_ALLOC(m->rowptr, (size_t)n_rows + 1);
    DGCN_ALLOC(m->col, nnz);
    DGCN_ALLOC(m->val, nnz);
    return DGCN_OK;
fail:
    dgcn_csr_fini(m);
    return rc;
}

void dgcn_csr_fini(dgcn_csr *m) {
    if (!m) return;
    free(m->rowptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

static int s_cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Counting sort by row, then a sort of each row's columns: O(n + E log deg). */
int dgcn_csr_from_edges(dgcn_csr *out, int32_t n, const int32_t *u, const int32_t *v,
                        int64_t n_edges) {
    int rc = DGCN_OK;
    int64_t *fill = NULL;
    memset(out, 0, sizeof *out);
    if (n < 0 || n_edges < 0)
        return dgcn_error_set(DGCN_EINVAL, "csr_from_edges: n %d, edges %lld", (int)n,
                              (long long)n_edges);
    for (int64_t e = 0; e < n_edges; e++) {
        if (u[e] < 0 || u[e] >= n || v[e] < 0 || v[e] >= n)
            return dgcn_error_set(DGCN_EFORMAT,
                                  "edge %lld: expected ids in [0, %d), found (%d, %d)",
                                  (long long)e, (int)n, (int)u[e], (int)v[e]);
        if (u[e] == v[e])
            return dgcn_error_set(DGCN_EFORMAT, "edge %lld: self-loop (%d, %d)", (long long)e,
                                  (int)u[e], (int)v[e]);
    }
    DGCN_CHECK(dgcn_csr_init(out, n, n, 2 * n_edges));
    for (int64_t e = 0; e < n_edges; e++) {
        out->rowptr[u[e] + 1]++;
        out->rowptr[v[e] + 1]++;
    }
    for (int32_t i = 0; i < n; i++) out->rowptr[i + 1] += out->rowptr[i];
    DGCN_ALLOC(fill, (size_t)n + 1);
    memcpy(fill, out->rowptr, ((size_t)n + 1) * sizeof *fill);
    for (int64_t e = 0; e < n_edges; e++) {
        out->col[fill[u[e]]++] = v[e];
        out->col[fill[v[e]]++] = u[e];
    }
    for (int32_t i = 0; i < n; i++) {
        int64_t b = out->rowptr[i], len = out->rowptr[i + 1] - b;
        int sorted = 1;
        for (int64_t k = 1; k < len && sorted; k++) sorted = out->col[b + k - 1] < out->col[b + k];
        if (!sorted) qsort(out->col + b, (size_t)len, sizeof *out->col, s_cmp_i32);
        for (int64_t k = 1; k < len; k++)
            if (out->col[b + k - 1] == out->col[b + k]) {
                rc = dgcn_error_set(DGCN_EFORMAT, "duplicate edge (%d, %d)",
                                    (int)(i < out->col[b + k] ? i : out->col[b + k]),
                                    (int)(i < out->col[b + k] ? out->col[b + k] : i));
                goto fail;
            }
    }
    for (int64_t k = 0; k < out->nnz; k++) out->val[k] = 1.0f;
    free(fill);
    return DGCN_OK;
fail:
    free(fill);
    dgcn_csr_fini(out);
    return rc;
}

int dgcn_csr_gcn_norm(dgcn_csr *out, const dgcn_csr *a) {
    int rc = DGCN_OK;
    float *dinv = NULL; /* (n) D~^-1/2 */
    memset(out, 0, sizeof *out);
    if (a->n_rows != a->n_cols)
        return dgcn_error_set(DGCN_EINVAL, "gcn_norm: matrix is %d x %d, expected square",
                              (int)a->n_rows, (int)a->n_cols);
    int32_t n = a->n_rows;
    for (int32_t i = 0; i < n; i++)
        for (int64_t k = a->rowptr[i]; k < a->rowptr[i + 1]; k++)
            if (a->col[k] == i)
                return dgcn_error_set(DGCN_EINVAL, "gcn_norm: diagonal entry at row %d", (int)i);
    DGCN_ALLOC(dinv, n);
    for (int32_t i = 0; i < n; i++) {
        double deg = 1.0;
        for (int64_t k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) deg += a->val[k];
        if (!(deg > 0.0)) {
            rc = dgcn_error_set(DGCN_ENUMERIC, "gcn_norm: row %d has degree %g <= 0", (int)i, deg);
            goto fail;
        }
        dinv[i] = (float)(1.0 / sqrt(deg));
    }
    DGCN_CHECK(dgcn_csr_init(out, n, n, a->nnz + n));
    int64_t p = 0;
    for (int32_t i = 0; i < n; i++) {
        int diag_done = 0;
        for (int64_t k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) {
            int32_t j = a->col[k];
            if (!diag_done && j > i) {
                out->col[p] = i;
                out->val[p++] = dinv[i] * dinv[i];
                diag_done = 1;
            }
            out->col[p] = j;
            out->val[p++] = dinv[i] * a->val[k] * dinv[j];
        }
        if (!diag_done) {
            out->col[p] = i;
            out->val[p++] = dinv[i] * dinv[i];
        }
        out->rowptr[i + 1] = p;
    }
    free(dinv);
    return DGCN_OK;
fail:
    free(dinv);
    dgcn_csr_fini(out);
    return rc;
}

void dgcn_csr_row_normalize(dgcn_csr *m) {
    for (int32_t i = 0; i < m->n_rows; i++) {
        double s = 0.0;
        for (int64_t k = m->rowptr[i]; k < m->rowptr[i + 1]; k++) s += m->val[k];
        if (s == 0.0) continue;
        for (int64_t k = m->rowptr[i]; k < m->rowptr[i + 1]; k++)
            m->val[k] = (float)(m->val[k] / s);
    }
}

void dgcn_csr_binarize(dgcn_csr *m) {
    for (int64_t k = 0; k < m->nnz; k++) m->val[k] = 1.0f;
}
