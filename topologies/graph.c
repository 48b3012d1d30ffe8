/* topologies/graph.c: the communication graph as sorted adjacency lists, connectivity, union and
 * link removal. */
#include "topologies/graph.h"

#include "core/error.h"
#include "core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dgcn_topo_init(dgcn_topo *g, int32_t m) {
    int rc = DGCN_OK;
    memset(g, 0, sizeof *g);
    if (m < 1 || m > DGCN_TOPO_MAX_AGENTS)
        return dgcn_error_set(DGCN_EINVAL, "topology: agent count %d outside [1, %d]", m,
                              DGCN_TOPO_MAX_AGENTS);
    DGCN_ALLOC(g->deg, m);
    DGCN_ALLOC(g->cap, m);
    DGCN_ALLOC(g->nbr, m);
    g->m = m;
    return DGCN_OK;
fail:
    dgcn_topo_fini(g);
    return rc;
}

void dgcn_topo_fini(dgcn_topo *g) {
    if (!g) return;
    for (int32_t k = 0; g->nbr && k < g->m; k++) free(g->nbr[k]);
    free(g->nbr);
    free(g->deg);
    free(g->cap);
    memset(g, 0, sizeof *g);
}

/* Room for at least need neighbours of k (doubling). */
static int s_reserve(dgcn_topo *g, int32_t k, int32_t need) {
    if (need <= g->cap[k]) return DGCN_OK;
    int64_t cap = g->cap[k] ? 2 * (int64_t)g->cap[k] : 4;
    if (cap < need) cap = need;
    if (cap > g->m) cap = g->m;
    int32_t *p = realloc(g->nbr[k], (size_t)cap * sizeof *p);
    if (!p)
        return dgcn_error_set(DGCN_ENOMEM,
                              "topology: out of memory for %lld neighbours of agent %d",
                              (long long)cap, k);
    g->nbr[k] = p;
    g->cap[k] = (int32_t)cap;
    return DGCN_OK;
}

int dgcn_topo_copy(dgcn_topo *out, const dgcn_topo *g) {
    int rc = dgcn_topo_init(out, g->m);
    if (rc) return rc;
    for (int32_t k = 0; k < g->m; k++) {
        if ((rc = s_reserve(out, k, g->deg[k]))) {
            dgcn_topo_fini(out);
            return rc;
        }
        if (g->deg[k]) memcpy(out->nbr[k], g->nbr[k], (size_t)g->deg[k] * sizeof *g->nbr[k]);
        out->deg[k] = g->deg[k];
    }
    out->n_links = g->n_links;
    return DGCN_OK;
}

/* Position of t in k's list, or of where it would go (*found says which). */
static int32_t s_find_pos(const dgcn_topo *g, int32_t k, int32_t t, int *found) {
    const int32_t *a = g->nbr[k];
    int32_t lo = 0, hi = g->deg[k];
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (a[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < g->deg[k] && a[lo] == t;
    return lo;
}

int dgcn_topo_has(const dgcn_topo *g, int32_t k, int32_t t) {
    int found;
    s_find_pos(g, k, t, &found);
    return found;
}

/* Inserts t into k's list (no-op when present); *added says whether it was new. */
static int s_insert(dgcn_topo *g, int32_t k, int32_t t, int *added) {
    int found;
    int32_t pos = s_find_pos(g, k, t, &found);
    *added = 0;
    if (found) return DGCN_OK;
    int rc = s_reserve(g, k, g->deg[k] + 1);
    if (rc) return rc;
    memmove(g->nbr[k] + pos + 1, g->nbr[k] + pos, (size_t)(g->deg[k] - pos) * sizeof(int32_t));
    g->nbr[k][pos] = t;
    g->deg[k]++;
    *added = 1;
    return DGCN_OK;
}

static void s_erase(dgcn_topo *g, int32_t k, int32_t t) {
    int found;
    int32_t pos = s_find_pos(g, k, t, &found);
    if (!found) return;
    memmove(g->nbr[k] + pos, g->nbr[k] + pos + 1, (size_t)(g->deg[k] - pos - 1) * sizeof(int32_t));
    g->deg[k]--;
}

int dgcn_topo_set(dgcn_topo *g, int32_t k, int32_t t, int on) {
    if (!on) {
        if (!dgcn_topo_has(g, k, t)) return DGCN_OK;
        s_erase(g, k, t);
        s_erase(g, t, k);
        g->n_links--;
        return DGCN_OK;
    }
    int added_k, added_t;
    /* room on both sides first, so a failure leaves g unchanged */
    int rc = s_reserve(g, k, g->deg[k] + 1);
    if (!rc) rc = s_reserve(g, t, g->deg[t] + 1);
    if (rc) return rc;
    s_insert(g, k, t, &added_k);
    s_insert(g, t, k, &added_t);
    g->n_links += added_k;
    return DGCN_OK;
}

int dgcn_topo_from_matrix(dgcn_topo *out, int32_t m, const uint8_t *links) {
    int rc = dgcn_topo_init(out, m);
    if (rc) return rc;
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = 0; t < m; t++) {
            uint8_t v = links[(int64_t)k * m + t];
            if (v > 1 || (k == t && v) || v != links[(int64_t)t * m + k]) {
                dgcn_topo_fini(out);
                return dgcn_error_set(
                    DGCN_ETOPOLOGY,
                    "topology: link matrix entry (%d, %d) = %u is not a symmetric "
                    "0/1 off-diagonal value (entry (%d, %d) = %u)",
                    k, t, v, t, k, links[(int64_t)t * m + k]);
            }
            if (v && t > k && (rc = dgcn_topo_set(out, k, t, 1))) {
                dgcn_topo_fini(out);
                return rc;
            }
        }
    return DGCN_OK;
}

/* 1 when the pairs are k < t in strictly increasing (k, t) order. */
static int s_pairs_sorted(const int32_t *pairs, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (pairs[2 * i] >= pairs[2 * i + 1]) return 0;
        if (i && (pairs[2 * i - 2] > pairs[2 * i] ||
                  (pairs[2 * i - 2] == pairs[2 * i] && pairs[2 * i - 1] >= pairs[2 * i + 1])))
            return 0;
    }
    return 1;
}

int dgcn_topo_from_pairs(dgcn_topo *out, int32_t m, const int32_t *pairs, int64_t n) {
    int rc = dgcn_topo_init(out, m);
    if (rc) return rc;
    if (s_pairs_sorted(pairs, n) && (n == 0 || pairs[2 * n - 1] < m) && (n == 0 || pairs[0] >= 0)) {
        /* sorted and in range (the partition's form): agent x receives first every k < x, then
         * every t > x, each in increasing order, so appending keeps its list sorted. O(m + n). */
        for (int64_t i = 0; i < 2 * n; i++) out->cap[pairs[i]]++;
        for (int32_t k = 0; k < m; k++)
            if (out->cap[k] && !(out->nbr[k] = malloc((size_t)out->cap[k] * sizeof(int32_t)))) {
                dgcn_topo_fini(out);
                return dgcn_error_set(DGCN_ENOMEM, "topology: out of memory for %d neighbours",
                                      out->cap[k]);
            }
        for (int64_t i = 0; i < n; i++) {
            int32_t k = pairs[2 * i], t = pairs[2 * i + 1];
            out->nbr[k][out->deg[k]++] = t;
            out->nbr[t][out->deg[t]++] = k;
        }
        out->n_links = n;
        return DGCN_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t k = pairs[2 * i], t = pairs[2 * i + 1];
        if (k < 0 || k >= m || t < 0 || t >= m || k == t) {
            dgcn_topo_fini(out);
            return dgcn_error_set(DGCN_ETOPOLOGY,
                                  "topology: pair %lld (%d, %d) is not a link between two "
                                  "different agents of [0, %d)",
                                  (long long)i, k, t, m);
        }
        if ((rc = dgcn_topo_set(out, k, t, 1))) {
            dgcn_topo_fini(out);
            return rc;
        }
    }
    return DGCN_OK;
}

int dgcn_topo_to_pairs(const dgcn_topo *g, int32_t **pairs, int64_t *n) {
    int rc = DGCN_OK;
    int32_t *p = NULL;
    *pairs = NULL;
    *n = 0;
    if (!g->n_links) return DGCN_OK;
    DGCN_ALLOC(p, 2 * g->n_links);
    int64_t e = 0;
    for (int32_t k = 0; k < g->m; k++)
        for (int32_t i = 0; i < g->deg[k]; i++)
            if (g->nbr[k][i] > k) p[2 * e] = k, p[2 * e + 1] = g->nbr[k][i], e++;
    *pairs = p;
    *n = e;
fail:
    return rc;
}

void dgcn_topo_degree_stats(const dgcn_topo *g, int32_t *min, int32_t *max, double *mean) {
    int32_t lo = INT32_MAX, hi = 0;
    int64_t sum = 0;
    for (int32_t k = 0; k < g->m; k++) {
        int32_t d = g->deg[k];
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        sum += d;
    }
    if (min) *min = lo;
    if (max) *max = hi;
    if (mean) *mean = (double)sum / g->m;
}

void dgcn_topo_bfs(const dgcn_topo *g, int32_t src, int32_t *dist, int32_t *queue) {
    int32_t head = 0, tail = 0;
    for (int32_t t = 0; t < g->m; t++) dist[t] = -1;
    dist[src] = 0;
    queue[tail++] = src;
    while (head < tail) {
        int32_t u = queue[head++];
        for (int32_t i = 0; i < g->deg[u]; i++) {
            int32_t v = g->nbr[u][i];
            if (dist[v] < 0) {
                dist[v] = dist[u] + 1;
                queue[tail++] = v;
            }
        }
    }
}

int32_t dgcn_topo_components(const dgcn_topo *g, int32_t *comp) {
    int32_t m = g->m, n_comp = 0;
    int32_t *queue = malloc((size_t)m * sizeof *queue);
    for (int32_t k = 0; k < m; k++) comp[k] = -1;
    for (int32_t s = 0; s < m; s++) {
        if (comp[s] >= 0) continue;
        comp[s] = n_comp;
        if (!queue) { /* out of memory: degrade to a slow but allocation-free sweep */
            for (int changed = 1; changed;) {
                changed = 0;
                for (int32_t k = 0; k < m; k++)
                    if (comp[k] == n_comp)
                        for (int32_t i = 0; i < g->deg[k]; i++)
                            if (comp[g->nbr[k][i]] < 0) comp[g->nbr[k][i]] = n_comp, changed = 1;
            }
        } else {
            int32_t head = 0, tail = 0;
            queue[tail++] = s;
            while (head < tail) {
                int32_t k = queue[head++];
                for (int32_t i = 0; i < g->deg[k]; i++) {
                    int32_t t = g->nbr[k][i];
                    if (comp[t] < 0) {
                        comp[t] = n_comp;
                        queue[tail++] = t;
                    }
                }
            }
        }
        n_comp++;
    }
    free(queue);
    return n_comp;
}

int dgcn_topo_connected(const dgcn_topo *g) {
    int32_t *comp = malloc((size_t)g->m * sizeof *comp);
    if (!comp) { /* reported as not connected, which every caller turns into an error */
        dgcn_error_set(DGCN_ENOMEM, "topology: out of memory checking connectivity of %d agents",
                       g->m);
        return 0;
    }
    int32_t n = dgcn_topo_components(g, comp);
    free(comp);
    return n == 1;
}

int dgcn_topo_union(dgcn_topo *out, const dgcn_topo *a, const dgcn_topo *b) {
    if (a->m != b->m)
        return dgcn_error_set(DGCN_EINVAL, "topology union: %d agents vs %d agents", a->m, b->m);
    int rc = dgcn_topo_init(out, a->m);
    if (rc) return rc;
    int64_t ends = 0;
    for (int32_t k = 0; k < a->m; k++) {
        const int32_t *x = a->nbr[k], *y = b->nbr[k];
        int32_t nx = a->deg[k], ny = b->deg[k], i = 0, j = 0, d = 0;
        if ((rc = s_reserve(out, k, nx + ny))) goto fail;
        while (i < nx || j < ny) {
            int32_t v;
            if (j >= ny || (i < nx && x[i] < y[j])) v = x[i++];
            else if (i >= nx || y[j] < x[i]) v = y[j++];
            else v = x[i++], j++;
            out->nbr[k][d++] = v;
        }
        out->deg[k] = d;
        ends += d;
    }
    out->n_links = ends / 2;
    return DGCN_OK;
fail:
    dgcn_topo_fini(out);
    return rc;
}

int dgcn_topo_contains(const dgcn_topo *g, const dgcn_topo *sub) {
    if (g->m != sub->m) return 0;
    for (int32_t k = 0; k < g->m; k++)
        for (int32_t i = 0; i < sub->deg[k]; i++)
            if (!dgcn_topo_has(g, k, sub->nbr[k][i])) return 0;
    return 1;
}

int dgcn_topo_equal(const dgcn_topo *a, const dgcn_topo *b) {
    if (a->m != b->m || a->n_links != b->n_links) return 0;
    for (int32_t k = 0; k < a->m; k++)
        if (a->deg[k] != b->deg[k] ||
            (a->deg[k] && memcmp(a->nbr[k], b->nbr[k], (size_t)a->deg[k] * sizeof(int32_t))))
            return 0;
    return 1;
}
static int32_t s_find(int32_t *parent, int32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

int dgcn_topo_remove_links(dgcn_topo *out, const dgcn_topo *g, double fraction, uint64_t seed,
                           dgcn_topo_removal mode) {
    int rc = DGCN_OK;
    int32_t m = g->m;
    int32_t *eu = NULL, *ev = NULL, *order = NULL, *parent = NULL;
    uint8_t *in_tree = NULL;
    memset(out, 0, sizeof *out);
    if (!(fraction >= 0.0 && fraction <= 1.0))
        return dgcn_error_set(DGCN_EINVAL, "link removal: fraction %g outside [0, 1]", fraction);
    if (mode != DGCN_REMOVE_ALLOW && !dgcn_topo_connected(g))
        return dgcn_error_set(DGCN_ETOPOLOGY,
                              "link removal: the %d-agent graph is already disconnected", m);
    int64_t n_links = dgcn_topo_links(g);
    int64_t n_remove = (int64_t)llround(fraction * (double)n_links);
    DGCN_ALLOC(eu, n_links);
    DGCN_ALLOC(ev, n_links);
    DGCN_ALLOC(order, n_links);
    DGCN_ALLOC(in_tree, n_links);
    DGCN_ALLOC(parent, m);
    int64_t e = 0;
    for (int32_t k = 0; k < m; k++)
        for (int32_t i = 0; i < g->deg[k]; i++)
            if (g->nbr[k][i] > k) eu[e] = k, ev[e] = g->nbr[k][i], e++;
    dgcn_rng rng;
    dgcn_rng_seed(&rng, seed, DGCN_STREAM_TOPOLOGY);
    int max_tries = mode == DGCN_REMOVE_RETRY ? 1000 : 1;
    for (int attempt = 0; attempt < max_tries; attempt++) {
        for (int64_t i = 0; i < n_links; i++) order[i] = (int32_t)i;
        dgcn_rng_shuffle_int(&rng, order, (int)n_links);
        dgcn_topo_fini(out);
        DGCN_CHECK(dgcn_topo_copy(out, g));
        int64_t removed = 0;
        if (mode == DGCN_REMOVE_KEEP_TREE) {
            /* Kruskal over a random order: a random spanning tree; the rest of the order are
             * the removal candidates, already in random order. */
            for (int32_t k = 0; k < m; k++) parent[k] = k;
            for (int64_t i = 0; i < n_links; i++) {
                int32_t a = s_find(parent, eu[order[i]]), b = s_find(parent, ev[order[i]]);
                in_tree[order[i]] = a != b;
                if (a != b) parent[a] = b;
            }
            if (n_remove > n_links - (m - 1)) {
                rc = dgcn_error_set(
                    DGCN_ETOPOLOGY,
                    "link removal: removing %lld of %lld links would leave fewer than "
                    "the %d links of a spanning tree",
                    (long long)n_remove, (long long)n_links, m - 1);
                goto fail;
            }
            for (int64_t i = 0; i < n_links && removed < n_remove; i++)
                if (!in_tree[order[i]]) {
                    DGCN_CHECK(dgcn_topo_set(out, eu[order[i]], ev[order[i]], 0));
                    removed++;
                }
        } else {
            for (int64_t i = 0; i < n_remove; i++)
                DGCN_CHECK(dgcn_topo_set(out, eu[order[i]], ev[order[i]], 0));
        }
        if (mode == DGCN_REMOVE_ALLOW || dgcn_topo_connected(out)) goto done;
    }
    rc = dgcn_error_set(DGCN_ETOPOLOGY,
                        "link removal: no connected graph found removing %lld of %lld links in "
                        "%d draws (allow disconnection or keep a spanning tree)",
                        (long long)n_remove, (long long)n_links, max_tries);
fail:
    dgcn_topo_fini(out);
done:
    free(eu);
    free(ev);
    free(order);
    free(in_tree);
    free(parent);
    return rc;
}
