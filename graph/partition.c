/* graph/partition.c: partitioners (BFS from random seeds, METIS, random, block), the
 * required-links graph, partition statistics and the dropping of cross-agent edges.
 *
 * Every partitioner is a pure function of (graph, M, seed) and gives every agent at least one
 * node. The BFS growth is specified exactly in docs/partitioning.md. */
#include "graph/partition.h"

#include "core/error.h"
#include "core/rng.h"

#include <metis.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_method_names[] = {"bfs", "metis", "random", "block"};

int dgcn_partition_method_parse(const char *name, dgcn_partition_method *out) {
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, s_method_names[i])) {
            *out = (dgcn_partition_method)i;
            return DGCN_OK;
        }
    return dgcn_error_set(DGCN_EINVAL,
                          "partition: unknown method '%s' (expected bfs, metis, random or block)",
                          name ? name : "(null)");
}

const char *dgcn_partition_method_name(dgcn_partition_method m) {
    return (unsigned)m < 4 ? s_method_names[m] : "unknown";
}

/* Checks that adj is square and its column ids are in range. O(nnz). */
static int s_check_graph(const dgcn_csr *adj, const char *who) {
    if (!adj || !adj->rowptr || adj->n_rows != adj->n_cols)
        return dgcn_error_set(DGCN_EINVAL, "%s: adjacency must be a square CSR matrix", who);
    for (int32_t i = 0; i < adj->n_rows; i++) {
        if (adj->rowptr[i + 1] < adj->rowptr[i])
            return dgcn_error_set(DGCN_EINVAL, "%s: rowptr decreases at row %d", who, (int)i);
        for (int64_t e = adj->rowptr[i]; e < adj->rowptr[i + 1]; e++)
            if (adj->col[e] < 0 || adj->col[e] >= adj->n_cols)
                return dgcn_error_set(DGCN_EINVAL, "%s: column %d out of range in row %d", who,
                                      (int)adj->col[e], (int)i);
    }
    return DGCN_OK;
}

static int s_check_owner(const int32_t *owner, int32_t n, int32_t m, const char *who) {
    if (m < 1) return dgcn_error_set(DGCN_EINVAL, "%s: %d agents (need >= 1)", who, (int)m);
    for (int32_t i = 0; i < n; i++)
        if (owner[i] < 0 || owner[i] >= m)
            return dgcn_error_set(DGCN_EINVAL, "%s: node %d has owner %d, not in [0, %d)", who,
                                  (int)i, (int)owner[i], (int)m);
    return DGCN_OK;
}

/* ---- BFS grown from M random seeds ---------------------------------------------------------- */

/* Per-agent FIFO queues in one pool of linked entries. A node is claimed once and then pushes its
 * unassigned neighbours, so the pool never holds more than nnz entries. */
typedef struct s_queues {
    int32_t *node, *next; /* (cap) pool entries */
    int64_t used, cap;
    int64_t *head, *tail; /* (m) first/last pool entry of each agent's queue, -1 when empty */
} s_queues;

static void s_push(s_queues *q, int32_t k, int32_t v) {
    int64_t e = q->used++;
    q->node[e] = v;
    q->next[e] = -1;
    if (q->tail[k] < 0) q->head[k] = e;
    else q->next[q->tail[k]] = (int32_t)e;
    q->tail[k] = e;
}

/* Pops entries of agent k until an unassigned node is found; -1 when the queue runs dry. */
static int32_t s_pop_unassigned(s_queues *q, int32_t k, const int32_t *owner) {
    while (q->head[k] >= 0) {
        int64_t e = q->head[k];
        q->head[k] = q->next[e];
        if (q->head[k] < 0) q->tail[k] = -1;
        if (owner[q->node[e]] < 0) return q->node[e];
    }
    return -1;
}

static void s_claim(const dgcn_csr *adj, s_queues *q, int32_t *owner, int32_t *size, int32_t k,
                    int32_t v) {
    owner[v] = k;
    size[k]++;
    for (int64_t e = adj->rowptr[v]; e < adj->rowptr[v + 1]; e++)
        if (owner[adj->col[e]] < 0) s_push(q, k, adj->col[e]);
}

/* O(n + nnz + M * restarts). Pool entries are 32-bit links: fails for nnz + n >= 2^31. */
static int s_partition_bfs(const dgcn_csr *adj, int32_t m, uint64_t seed, int32_t *owner) {
    int rc = DGCN_OK;
    int32_t n = adj->n_rows;
    s_queues q = {0};
    int32_t *perm = NULL, *size = NULL, *active = NULL;
    q.cap = adj->nnz + 2 * (int64_t)n + 1;
    if (q.cap >= INT32_MAX)
        return dgcn_error_set(DGCN_EINVAL, "partition bfs: graph too large (%lld entries)",
                              (long long)adj->nnz);
    DGCN_ALLOC(q.node, q.cap);
    DGCN_ALLOC(q.next, q.cap);
    DGCN_ALLOC(q.head, m);
    DGCN_ALLOC(q.tail, m);
    DGCN_ALLOC(perm, n);
    DGCN_ALLOC(size, m);
    DGCN_ALLOC(active, m);
    for (int32_t k = 0; k < m; k++) q.head[k] = q.tail[k] = -1;
    for (int32_t i = 0; i < n; i++) owner[i] = -1, perm[i] = i;

    /* M distinct seeds: the first M draws of a partial Fisher-Yates shuffle. */
    dgcn_rng rng;
    dgcn_rng_seed(&rng, seed, DGCN_STREAM_PARTITION);
    for (int32_t k = 0; k < m; k++) {
        int32_t j = k + (int32_t)dgcn_rng_below(&rng, (uint64_t)(n - k));
        int32_t t = perm[k];
        perm[k] = perm[j];
        perm[j] = t;
    }
    for (int32_t k = 0; k < m; k++) s_claim(adj, &q, owner, size, k, perm[k]);

    int32_t assigned = m, next_free = 0;
    while (assigned < n) {
        /* Agents with a non-empty queue, in increasing id: one round claims one node each. */
        int32_t n_active = 0;
        for (int32_t k = 0; k < m; k++)
            if (q.head[k] >= 0) active[n_active++] = k;
        while (n_active > 0) {
            int32_t kept = 0;
            for (int32_t a = 0; a < n_active; a++) {
                int32_t k = active[a];
                int32_t v = s_pop_unassigned(&q, k, owner);
                if (v < 0) continue;
                s_claim(adj, &q, owner, size, k, v);
                assigned++;
                if (q.head[k] >= 0) active[kept++] = k;
            }
            n_active = kept;
        }
        if (assigned == n) break;
        /* A component no wave reached: the smallest agent (lowest id on ties) starts a new wave
         * from the smallest unassigned node. */
        while (owner[next_free] >= 0) next_free++;
        int32_t kmin = 0;
        for (int32_t k = 1; k < m; k++)
            if (size[k] < size[kmin]) kmin = k;
        s_claim(adj, &q, owner, size, kmin, next_free);
        assigned++;
    }
    rc = DGCN_OK;
fail:
    free(q.node);
    free(q.next);
    free(q.head);
    free(q.tail);
    free(perm);
    free(size);
    free(active);
    return rc;
}

/* ---- METIS, random, block ------------------------------------------------------------------- */

/* METIS may leave a part empty on tiny or odd graphs: each empty part then takes the highest-id
 * node of the currently largest part (lowest part id on ties). */
static void s_fill_empty_parts(int32_t n, int32_t m, int32_t *owner, int32_t *size) {
    for (int32_t k = 0; k < m; k++) {
        if (size[k] > 0) continue;
        int32_t big = 0;
        for (int32_t t = 1; t < m; t++)
            if (size[t] > size[big]) big = t;
        for (int32_t i = n - 1; i >= 0; i--)
            if (owner[i] == big) {
                owner[i] = k;
                size[big]--;
                size[k]++;
                break;
            }
    }
}

static int s_partition_metis(const dgcn_csr *adj, int32_t m, uint64_t seed, int32_t *owner) {
    int rc = DGCN_OK;
    int32_t n = adj->n_rows;
    idx_t *xadj = NULL, *adjncy = NULL, *part = NULL;
    int32_t *size = NULL;
    if (m == 1) {
        for (int32_t i = 0; i < n; i++) owner[i] = 0;
        return DGCN_OK;
    }
    /* METIS wants no self-loops: copy the pattern without the diagonal. */
    DGCN_ALLOC(xadj, (size_t)n + 1);
    DGCN_ALLOC(adjncy, adj->nnz);
    DGCN_ALLOC(part, n);
    DGCN_ALLOC(size, m);
    int64_t e_out = 0;
    for (int32_t i = 0; i < n; i++) {
        xadj[i] = (idx_t)e_out;
        for (int64_t e = adj->rowptr[i]; e < adj->rowptr[i + 1]; e++)
            if (adj->col[e] != i) adjncy[e_out++] = (idx_t)adj->col[e];
    }
    xadj[n] = (idx_t)e_out;
    if (e_out > (int64_t)INT32_MAX && sizeof(idx_t) == 4) {
        rc = dgcn_error_set(DGCN_EINVAL,
                            "partition metis: %lld entries exceed METIS's 32-bit idx_t",
                            (long long)e_out);
        goto fail;
    }
    idx_t nvtxs = n, ncon = 1, nparts = m, objval = 0;
    idx_t options[METIS_NOPTIONS];
    METIS_SetDefaultOptions(options);
    options[METIS_OPTION_SEED] = (idx_t)(seed & 0x7fffffff);
    options[METIS_OPTION_NUMBERING] = 0;
    int mrc = METIS_PartGraphKway(&nvtxs, &ncon, xadj, adjncy, NULL, NULL, NULL, &nparts, NULL,
                                  NULL, options, &objval, part);
    if (mrc != METIS_OK) {
        rc = dgcn_error_set(
            mrc == METIS_ERROR_MEMORY ? DGCN_ENOMEM : DGCN_EINVAL,
            "partition metis: METIS_PartGraphKway failed (code %d) for %d nodes, %d parts", mrc,
            (int)n, (int)m);
        goto fail;
    }
    for (int32_t i = 0; i < n; i++) {
        if (part[i] < 0 || part[i] >= m) {
            rc = dgcn_error_set(DGCN_ENUMERIC, "partition metis: node %d got part %d", (int)i,
                                (int)part[i]);
            goto fail;
        }
        owner[i] = (int32_t)part[i];
        size[owner[i]]++;
    }
    s_fill_empty_parts(n, m, owner, size);
fail:
    free(xadj);
    free(adjncy);
    free(part);
    free(size);
    return rc;
}

static int s_partition_random(int32_t n, int32_t m, uint64_t seed, int32_t *owner) {
    int rc = DGCN_OK;
    int *perm = NULL;
    DGCN_ALLOC(perm, n);
    for (int32_t i = 0; i < n; i++) perm[i] = i;
    dgcn_rng rng;
    dgcn_rng_seed(&rng, seed, DGCN_STREAM_PARTITION);
    dgcn_rng_shuffle_int(&rng, perm, n);
    for (int32_t i = 0; i < n; i++) owner[perm[i]] = i % m;
fail:
    free(perm);
    return rc;
}

int dgcn_partition(const dgcn_csr *adj, int32_t m, dgcn_partition_method method, uint64_t seed,
                   int32_t *owner) {
    int rc = s_check_graph(adj, "partition");
    if (rc) return rc;
    int32_t n = adj->n_rows;
    if (m < 1 || m > n)
        return dgcn_error_set(DGCN_EINVAL,
                              "partition: %d agents for %d nodes (need 1 <= agents <= nodes)",
                              (int)m, (int)n);
    switch (method) {
    case DGCN_PARTITION_BFS: return s_partition_bfs(adj, m, seed, owner);
    case DGCN_PARTITION_METIS: return s_partition_metis(adj, m, seed, owner);
    case DGCN_PARTITION_RANDOM: return s_partition_random(n, m, seed, owner);
    case DGCN_PARTITION_BLOCK:
        for (int32_t i = 0; i < n; i++) owner[i] = (int32_t)((int64_t)i * m / n);
        return DGCN_OK;
    }
    return dgcn_error_set(DGCN_EINVAL, "partition: unknown method %d", (int)method);
}

/* ---- required links, statistics, dropped edges ---------------------------------------------- */

/* O(n + nnz + m + pairs): the nodes grouped by agent, each agent's peers above it (unsorted), then
 * two stable counting sorts of the pairs, by t and then by k. */
int dgcn_partition_required_pairs(const dgcn_csr *adj, const int32_t *owner, int32_t m,
                                  int32_t **pairs, int64_t *n_pairs) {
    int rc = s_check_graph(adj, "required links");
    if (!rc) rc = s_check_owner(owner, adj->n_rows, m, "required links");
    if (rc) return rc;
    int32_t n = adj->n_rows, *start = NULL, *order = NULL, *stamp = NULL;
    int32_t *raw = NULL, *out = NULL;
    int64_t *cnt = NULL, n_raw = 0, cap = 0;
    *pairs = NULL;
    *n_pairs = 0;
    DGCN_ALLOC(start, (int64_t)m + 1);
    DGCN_ALLOC(order, n);
    DGCN_ALLOC(stamp, m);
    for (int32_t i = 0; i < n; i++) start[owner[i] + 1]++;
    for (int32_t k = 0; k < m; k++) start[k + 1] += start[k];
    for (int32_t i = 0; i < n; i++) order[start[owner[i]] + stamp[owner[i]]++] = i;
    for (int32_t k = 0; k < m; k++) stamp[k] = -1;
    for (int32_t a = 0; a < m; a++)
        for (int32_t x = start[a]; x < start[a + 1]; x++) {
            int32_t i = order[x];
            for (int64_t e = adj->rowptr[i]; e < adj->rowptr[i + 1]; e++) {
                int32_t b = owner[adj->col[e]];
                if (b <= a || stamp[b] == a) continue;
                stamp[b] = a;
                if (n_raw == cap) {
                    int64_t c2 = cap ? 2 * cap : 1024;
                    int32_t *grown = realloc(raw, (size_t)c2 * 2 * sizeof *raw);
                    if (!grown) {
                        rc = dgcn_error_set(DGCN_ENOMEM,
                                            "required links: out of memory for %lld pairs",
                                            (long long)c2);
                        goto fail;
                    }
                    raw = grown;
                    cap = c2;
                }
                raw[2 * n_raw] = a;
                raw[2 * n_raw + 1] = b;
                n_raw++;
            }
        }
    if (n_raw) {
        /* raw is grouped by a already; a stable sort by b, then by a, orders (a, b) */
        DGCN_ALLOC(out, 2 * n_raw);
        DGCN_ALLOC(cnt, (int64_t)m + 1);
        for (int pass = 0; pass < 2; pass++) {
            const int32_t *in = pass ? out : raw;
            int32_t *dst = pass ? raw : out;
            int key = pass ? 0 : 1;
            memset(cnt, 0, ((size_t)m + 1) * sizeof *cnt);
            for (int64_t p = 0; p < n_raw; p++) cnt[in[2 * p + key] + 1]++;
            for (int32_t k = 0; k < m; k++) cnt[k + 1] += cnt[k];
            for (int64_t p = 0; p < n_raw; p++) {
                int64_t q = cnt[in[2 * p + key]]++;
                dst[2 * q] = in[2 * p];
                dst[2 * q + 1] = in[2 * p + 1];
            }
        }
    }
    *pairs = raw;
    *n_pairs = n_raw;
    raw = NULL;
fail:
    free(raw);
    free(out);
    free(cnt);
    free(start);
    free(order);
    free(stamp);
    return rc;
}

/* O(n + nnz + m + pairs). */
int dgcn_partition_stats_compute(const dgcn_csr *adj, const int32_t *owner, int32_t m,
                                 const int32_t *widths, int n_widths, dgcn_partition_stats *st) {
    int rc = s_check_graph(adj, "partition stats");
    if (!rc) rc = s_check_owner(owner, adj->n_rows, m, "partition stats");
    if (rc) return rc;
    int32_t n = adj->n_rows;
    int32_t *size = NULL, *stamp = NULL, *pairs = NULL;
    int64_t n_pairs = 0;
    memset(st, 0, sizeof *st);
    st->m = m;
    DGCN_ALLOC(size, m);
    DGCN_ALLOC(stamp, m);
    for (int32_t i = 0; i < n; i++) size[owner[i]]++;
    st->min_nodes = st->max_nodes = size[0];
    for (int32_t k = 1; k < m; k++) {
        if (size[k] < st->min_nodes) st->min_nodes = size[k];
        if (size[k] > st->max_nodes) st->max_nodes = size[k];
    }
    st->mean_nodes = (double)n / m;
    /* Node j is a halo node of agent k != owner[j] when j has a neighbour owned by k. */
    for (int32_t k = 0; k < m; k++) stamp[k] = -1;
    for (int32_t j = 0; j < n; j++)
        for (int64_t e = adj->rowptr[j]; e < adj->rowptr[j + 1]; e++) {
            int32_t i = adj->col[e], k = owner[i];
            if (k == owner[j]) continue;
            if (i > j) st->edge_cut++;
            if (stamp[k] != j) {
                stamp[k] = j;
                st->halo_total++;
            }
        }
    st->halo_fraction = n > 0 ? (double)st->halo_total / n : 0.0;
    DGCN_CHECK(dgcn_partition_required_pairs(adj, owner, m, &pairs, &n_pairs));
    st->required_links = (int32_t)n_pairs;
    int64_t width_sum = 0;
    for (int l = 0; l < n_widths; l++) width_sum += widths[l];
    st->halo_bytes_per_iter = 2 * st->halo_total * width_sum * (int64_t)sizeof(float);
fail:
    free(size);
    free(stamp);
    free(pairs);
    return rc;
}

static int s_cmp_int32(const void *x, const void *y) {
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

/* 1 when b is in the sorted list nb[lo, hi). */
static int s_in_sorted(const int32_t *nb, int64_t lo, int64_t hi, int32_t b) {
    int64_t end = hi;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (nb[mid] < b) lo = mid + 1;
        else hi = mid;
    }
    return lo < end && nb[lo] == b;
}

int dgcn_partition_drop_cross_edges(dgcn_csr *out, const dgcn_csr *adj, const int32_t *owner,
                                    int32_t m, const int32_t *pairs, int64_t n_pairs,
                                    int64_t *n_dropped) {
    int64_t *ptr = NULL;
    int32_t *nb = NULL, *fill = NULL;
    memset(out, 0, sizeof *out);
    int rc = s_check_graph(adj, "drop cross edges");
    if (!rc) rc = s_check_owner(owner, adj->n_rows, m, "drop cross edges");
    if (rc) return rc;
    for (int64_t i = 0; i < n_pairs; i++) {
        int32_t a = pairs[2 * i], b = pairs[2 * i + 1];
        if (a < 0 || a >= m || b < 0 || b >= m || a == b)
            return dgcn_error_set(DGCN_EINVAL,
                                  "drop cross edges: link %lld (%d, %d) is not a pair of two "
                                  "different agents of [0, %d)",
                                  (long long)i, (int)a, (int)b, (int)m);
    }
    /* the links as sorted neighbour lists per agent */
    DGCN_ALLOC(ptr, (int64_t)m + 1);
    DGCN_ALLOC(fill, m);
    DGCN_ALLOC(nb, 2 * n_pairs);
    for (int64_t i = 0; i < 2 * n_pairs; i++) ptr[pairs[i] + 1]++;
    for (int32_t k = 0; k < m; k++) ptr[k + 1] += ptr[k];
    for (int64_t i = 0; i < n_pairs; i++) {
        int32_t a = pairs[2 * i], b = pairs[2 * i + 1];
        nb[ptr[a] + fill[a]++] = b;
        nb[ptr[b] + fill[b]++] = a;
    }
    for (int32_t k = 0; k < m; k++)
        qsort(nb + ptr[k], (size_t)(ptr[k + 1] - ptr[k]), sizeof *nb, s_cmp_int32);
    int32_t n = adj->n_rows;
#define S_KEEP(i, j)                                                                               \
    (owner[i] == owner[j] || s_in_sorted(nb, ptr[owner[i]], ptr[owner[i] + 1], owner[j]))
    int64_t kept = 0, dropped = 0;
    for (int32_t i = 0; i < n; i++)
        for (int64_t e = adj->rowptr[i]; e < adj->rowptr[i + 1]; e++) {
            int32_t j = adj->col[e];
            if (S_KEEP(i, j)) kept++;
            else if (j > i) dropped++;
        }
    DGCN_CHECK(dgcn_csr_init(out, n, adj->n_cols, kept));
    int64_t o = 0;
    for (int32_t i = 0; i < n; i++) {
        out->rowptr[i] = o;
        for (int64_t e = adj->rowptr[i]; e < adj->rowptr[i + 1]; e++) {
            int32_t j = adj->col[e];
            if (!S_KEEP(i, j)) continue;
            out->col[o] = j;
            out->val[o] = adj->val[e];
            o++;
        }
    }
    out->rowptr[n] = o;
#undef S_KEEP
    if (n_dropped) *n_dropped = dropped;
    goto done;
fail:
    dgcn_csr_fini(out);
done:
    free(ptr);
    free(nb);
    free(fill);
    return rc;
}
