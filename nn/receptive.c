/* nn/receptive.c: receptive plans (contract in nn/receptive.h). */
#include "nn/receptive.h"

#include "core/error.h"
#include "nn/kernels.h"

#include <stdlib.h>
#include <string.h>

/* An (n_rows, n_cols) CSR with room for nnz entries, rowptr zeroed (here rather than graph/csr.c's
 * init: nn/ uses only the struct from graph/). */
static int s_csr_alloc(dgcn_csr *m, int32_t n_rows, int32_t n_cols, int64_t nnz) {
    int rc;
    memset(m, 0, sizeof *m);
    m->n_rows = n_rows;
    m->n_cols = n_cols;
    m->nnz = nnz;
    DGCN_ALLOC(m->rowptr, (size_t)n_rows + 1);
    DGCN_ALLOC(m->col, nnz);
    DGCN_ALLOC(m->val, nnz);
    return DGCN_OK;
fail:
    return rc;
}

static void s_csr_free(dgcn_csr *m) {
    free(m->rowptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

/* The rows of m (n_rows, n_cols) listed in rows (k, increasing), their columns mapped through pos
 * (n_cols: the new column, or -1 for a column that is not kept: none may be met), into out. */
static int s_rows_of(dgcn_csr *out, const dgcn_csr *m, const int32_t *rows, int32_t k,
                     const int32_t *pos, int32_t n_cols_out) {
    int rc;
    int64_t nnz = 0;
    for (int32_t i = 0; i < k; i++) nnz += m->rowptr[rows[i] + 1] - m->rowptr[rows[i]];
    DGCN_CHECK(s_csr_alloc(out, k, n_cols_out, nnz));
    int64_t e = 0;
    for (int32_t i = 0; i < k; i++) {
        for (int64_t s = m->rowptr[rows[i]]; s < m->rowptr[rows[i] + 1]; s++, e++) {
            out->col[e] = pos ? pos[m->col[s]] : m->col[s];
            out->val[e] = m->val[s];
        }
        out->rowptr[i + 1] = e;
    }
    return DGCN_OK;
fail:
    return rc;
}

int dgcn_receptive_build(dgcn_receptive *rf, int n_layers, const dgcn_csr *a, const dgcn_csr *x,
                         const int32_t *gid, const int32_t *label, const uint8_t *split,
                         const uint8_t *want) {
    int rc;
    uint8_t *mark = NULL;
    int32_t *pos = NULL;
    int64_t *count = NULL;
    memset(rf, 0, sizeof *rf);
    if (n_layers < 1 || n_layers > DGCN_MAX_LAYERS || !x || !gid || !want ||
        (a && (a->n_rows != x->n_rows || a->n_cols != x->n_rows)))
        return dgcn_error_set(DGCN_EINVAL, "receptive plan: bad arguments");
    const int32_t n = x->n_rows;
    const int L = n_layers;
    rf->n_layers = L;
    DGCN_ALLOC(mark, n);
    DGCN_ALLOC(pos, n);
    /* R_L, then each R_l from R_l+1: the columns of A_hat's rows R_l+1 (R_l+1 itself, MLP). */
    for (int l = L; l >= 0; l--) {
        if (l == L) {
            for (int32_t r = 0; r < n; r++) mark[r] = want[r] != 0;
        } else if (a) {
            memset(mark, 0, (size_t)n);
            for (int32_t i = 0; i < rf->n[l + 1]; i++) {
                const int32_t r = rf->rows[l + 1][i];
                for (int64_t e = a->rowptr[r]; e < a->rowptr[r + 1]; e++) mark[a->col[e]] = 1;
            }
        }
        int32_t k = 0;
        for (int32_t r = 0; r < n; r++) k += mark[r];
        rf->n[l] = k;
        DGCN_ALLOC(rf->rows[l], k > 0 ? k : 1);
        DGCN_ALLOC(rf->gid[l], k > 0 ? k : 1);
        k = 0;
        for (int32_t r = 0; r < n; r++)
            if (mark[r]) {
                rf->rows[l][k] = r;
                rf->gid[l][k++] = gid[r];
            }
    }
    /* A_hat[R_l+1, R_l] with columns renumbered into R_l, and its transpose. */
    if (a)
        for (int l = 0; l < L; l++) {
            for (int32_t r = 0; r < n; r++) pos[r] = -1;
            for (int32_t i = 0; i < rf->n[l]; i++) pos[rf->rows[l][i]] = i;
            DGCN_CHECK(s_rows_of(&rf->a[l], a, rf->rows[l + 1], rf->n[l + 1], pos, rf->n[l]));
            DGCN_CHECK(s_csr_alloc(&rf->at[l], rf->n[l], rf->n[l + 1], rf->a[l].nnz));
            DGCN_ALLOC(count, (size_t)rf->n[l] + 1);
            dgcn_csr_transpose_fill(&rf->at[l], &rf->a[l], count);
            free(count);
            count = NULL;
        }
    DGCN_CHECK(s_rows_of(&rf->x, x, rf->rows[0], rf->n[0], NULL, x->n_cols));
    DGCN_ALLOC(rf->label, rf->n[L] > 0 ? rf->n[L] : 1);
    DGCN_ALLOC(rf->split, rf->n[L] > 0 ? rf->n[L] : 1);
    for (int32_t i = 0; i < rf->n[L]; i++) {
        rf->label[i] = label ? label[rf->rows[L][i]] : -1;
        rf->split[i] = split ? split[rf->rows[L][i]] : 0;
    }
    rc = DGCN_OK;
fail:
    free(mark);
    free(pos);
    free(count);
    if (rc) dgcn_receptive_fini(rf);
    return rc;
}

void dgcn_receptive_fini(dgcn_receptive *rf) {
    if (!rf) return;
    for (int l = 0; l <= DGCN_MAX_LAYERS; l++) {
        free(rf->rows[l]);
        free(rf->gid[l]);
    }
    for (int l = 0; l < DGCN_MAX_LAYERS; l++) {
        s_csr_free(&rf->a[l]);
        s_csr_free(&rf->at[l]);
    }
    s_csr_free(&rf->x);
    free(rf->label);
    free(rf->split);
    memset(rf, 0, sizeof *rf);
}
