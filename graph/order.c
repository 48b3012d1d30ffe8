/* graph/order.c: reverse Cuthill-McKee and renumbering (contract in graph/order.h). */
#include "graph/order.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static int s_cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* (degree, id) as one sortable key. */
static int64_t s_key(const dgcn_csr *adj, int32_t u) {
    return ((adj->rowptr[u + 1] - adj->rowptr[u]) << 32) | (int64_t)u;
}

int dgcn_order_rcm(const dgcn_csr *adj, int32_t *order) {
    int rc;
    const int32_t n = adj->n_rows;
    int64_t *start = NULL, *nb = NULL;
    uint8_t *seen = NULL;
    if (adj->n_cols != n) return dgcn_error_set(DGCN_EINVAL, "rcm: the graph is not square");
    int64_t max_deg = 0;
    for (int32_t u = 0; u < n; u++)
        if (adj->rowptr[u + 1] - adj->rowptr[u] > max_deg)
            max_deg = adj->rowptr[u + 1] - adj->rowptr[u];
    DGCN_ALLOC(start, n);
    DGCN_ALLOC(nb, max_deg);
    DGCN_ALLOC(seen, n);
    for (int32_t u = 0; u < n; u++) start[u] = s_key(adj, u);
    qsort(start, (size_t)n, sizeof *start, s_cmp_i64);
    /* Cuthill-McKee: order doubles as the queue; each component starts at its least-degree node. */
    int32_t head = 0, tail = 0;
    for (int32_t s = 0; s < n; s++) {
        const int32_t root = (int32_t)(start[s] & 0xffffffff);
        if (seen[root]) continue;
        seen[root] = 1;
        order[tail++] = root;
        while (head < tail) {
            const int32_t u = order[head++];
            int64_t k = 0;
            for (int64_t e = adj->rowptr[u]; e < adj->rowptr[u + 1]; e++) {
                const int32_t v = adj->col[e];
                if (v != u && !seen[v]) {
                    seen[v] = 1;
                    nb[k++] = s_key(adj, v);
                }
            }
            qsort(nb, (size_t)k, sizeof *nb, s_cmp_i64);
            for (int64_t i = 0; i < k; i++) order[tail++] = (int32_t)(nb[i] & 0xffffffff);
        }
    }
    for (int32_t i = 0, j = n - 1; i < j; i++, j--) { /* reversed */
        const int32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    rc = DGCN_OK;
fail:
    free(start);
    free(nb);
    free(seen);
    return rc;
}

int64_t dgcn_order_bandwidth(const dgcn_csr *adj, const int32_t *order) {
    const int32_t n = adj->n_rows;
    int32_t *pos = NULL;
    if (order) {
        pos = malloc((size_t)(n > 0 ? n : 1) * sizeof *pos);
        if (!pos) return -1;
        for (int32_t k = 0; k < n; k++) pos[order[k]] = k;
    }
    int64_t bw = 0;
    for (int32_t u = 0; u < n; u++)
        for (int64_t e = adj->rowptr[u]; e < adj->rowptr[u + 1]; e++) {
            const int64_t pu = pos ? pos[u] : u, pv = pos ? pos[adj->col[e]] : adj->col[e];
            if (llabs(pu - pv) > bw) bw = llabs(pu - pv);
        }
    free(pos);
    return bw;
}

int dgcn_csr_reorder(dgcn_csr *out, const dgcn_csr *m, const int32_t *order, int cols) {
    int rc;
    int32_t *pos = NULL;
    int64_t *key = NULL;
    memset(out, 0, sizeof *out);
    if (cols && m->n_rows != m->n_cols)
        return dgcn_error_set(DGCN_EINVAL, "reorder: renumbering columns needs a square matrix");
    DGCN_CHECK(dgcn_csr_init(out, m->n_rows, m->n_cols, m->nnz));
    int64_t max_row = 0;
    for (int32_t r = 0; r < m->n_rows; r++)
        if (m->rowptr[r + 1] - m->rowptr[r] > max_row) max_row = m->rowptr[r + 1] - m->rowptr[r];
    if (cols) {
        DGCN_ALLOC(pos, m->n_rows);
        DGCN_ALLOC(key, max_row);
        for (int32_t k = 0; k < m->n_rows; k++) pos[order[k]] = k;
    }
    int64_t e = 0;
    for (int32_t k = 0; k < m->n_rows; k++) {
        const int32_t r = order[k];
        const int64_t b = m->rowptr[r], ne = m->rowptr[r + 1] - b;
        if (cols) { /* (new column, old entry) sorted by the new column */
            for (int64_t i = 0; i < ne; i++) key[i] = ((int64_t)pos[m->col[b + i]] << 32) | i;
            qsort(key, (size_t)ne, sizeof *key, s_cmp_i64);
            for (int64_t i = 0; i < ne; i++) {
                out->col[e + i] = (int32_t)(key[i] >> 32);
                out->val[e + i] = m->val[b + (key[i] & 0xffffffff)];
            }
        } else {
            memcpy(out->col + e, m->col + b, (size_t)ne * sizeof *out->col);
            memcpy(out->val + e, m->val + b, (size_t)ne * sizeof *out->val);
        }
        e += ne;
        out->rowptr[k + 1] = e;
    }
    rc = DGCN_OK;
fail:
    free(pos);
    free(key);
    if (rc) dgcn_csr_fini(out);
    return rc;
}
