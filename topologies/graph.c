/* topologies/graph.c: the dense communication graph, connectivity, union and link removal. */
#include "topologies/graph.h"

#include "core/error.h"
#include "core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dgcn_topo_init(dgcn_topo *g, int32_t m) {
    int rc = DGCN_OK;
    memset(g, 0, sizeof *g);
    if (m < 1 || m > 46340)
        return dgcn_error_set(DGCN_EINVAL, "topology: agent count %d outside [1, 46340]", m);
    DGCN_ALLOC(g->adj, (size_t)m * m);
    g->m = m;
    return DGCN_OK;
fail:
    return rc;
}

void dgcn_topo_fini(dgcn_topo *g) {
    if (!g) return;
    free(g->adj);
    memset(g, 0, sizeof *g);
}

int dgcn_topo_copy(dgcn_topo *out, const dgcn_topo *g) {
    int rc = dgcn_topo_init(out, g->m);
    if (rc) return rc;
    memcpy(out->adj, g->adj, (size_t)g->m * g->m);
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
            out->adj[(int64_t)k * m + t] = v;
        }
    return DGCN_OK;
}

void dgcn_topo_set(dgcn_topo *g, int32_t k, int32_t t, int on) {
    g->adj[(int64_t)k * g->m + t] = on ? 1 : 0;
    g->adj[(int64_t)t * g->m + k] = on ? 1 : 0;
}

int64_t dgcn_topo_links(const dgcn_topo *g) {
    int64_t n = 0;
    for (int64_t i = 0; i < (int64_t)g->m * g->m; i++) n += g->adj[i];
    return n / 2;
}

int32_t dgcn_topo_degree(const dgcn_topo *g, int32_t k) {
    int32_t d = 0;
    for (int32_t t = 0; t < g->m; t++) d += g->adj[(int64_t)k * g->m + t];
    return d;
}

void dgcn_topo_degree_stats(const dgcn_topo *g, int32_t *min, int32_t *max, double *mean) {
    int32_t lo = INT32_MAX, hi = 0;
    int64_t sum = 0;
    for (int32_t k = 0; k < g->m; k++) {
        int32_t d = dgcn_topo_degree(g, k);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        sum += d;
    }
    if (min) *min = lo;
    if (max) *max = hi;
    if (mean) *mean = (double)sum / g->m;
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
                        for (int32_t t = 0; t < m; t++)
                            if (comp[t] < 0 && g->adj[(int64_t)k * m + t])
                                comp[t] = n_comp, changed = 1;
            }
        } else {
            int32_t head = 0, tail = 0;
            queue[tail++] = s;
            while (head < tail) {
                int32_t k = queue[head++];
                for (int32_t t = 0; t < m; t++)
                    if (comp[t] < 0 && g->adj[(int64_t)k * m + t]) {
                        comp[t] = n_comp;
                        queue[tail++] = t;
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
    for (int64_t i = 0; i < (int64_t)a->m * a->m; i++) out->adj[i] = a->adj[i] | b->adj[i];
    return DGCN_OK;
}

int dgcn_topo_contains(const dgcn_topo *g, const dgcn_topo *sub) {
    if (g->m != sub->m) return 0;
    for (int64_t i = 0; i < (int64_t)g->m * g->m; i++)
        if (sub->adj[i] && !g->adj[i]) return 0;
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
        for (int32_t t = k + 1; t < m; t++)
            if (dgcn_topo_has(g, k, t)) eu[e] = k, ev[e] = t, e++;
    DGCN_CHECK(dgcn_topo_copy(out, g));
    dgcn_rng rng;
    dgcn_rng_seed(&rng, seed, DGCN_STREAM_TOPOLOGY);
    int max_tries = mode == DGCN_REMOVE_RETRY ? 1000 : 1;
    for (int attempt = 0; attempt < max_tries; attempt++) {
        for (int64_t i = 0; i < n_links; i++) order[i] = (int32_t)i;
        dgcn_rng_shuffle_int(&rng, order, (int)n_links);
        memcpy(out->adj, g->adj, (size_t)m * m);
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
                if (!in_tree[order[i]])
                    dgcn_topo_set(out, eu[order[i]], ev[order[i]], 0), removed++;
        } else {
            for (int64_t i = 0; i < n_remove; i++)
                dgcn_topo_set(out, eu[order[i]], ev[order[i]], 0);
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
