/* tests/test_partition.c: partitioners, required links and statistics, dropped cross edges,
 * shards (halo-map invariants, distributed SpMM against the centralized product), shard
 * serialization and on-disk plans. Expected values are recomputed here by brute force. */
#include "tests/testutil.h"

#include "core/error.h"
#include "core/rng.h"
#include "graph/csr.h"
#include "graph/dataset.h"
#include "graph/partition.h"
#include "graph/shard.h"
#include "graph/traffic.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static const dgcn_partition_method s_methods[] = {DGCN_PARTITION_BFS, DGCN_PARTITION_METIS,
                                                  DGCN_PARTITION_RANDOM, DGCN_PARTITION_BLOCK};
static const int32_t s_ms[] = {1, 2, 3, 5, 8};

/* ---- fixtures ------------------------------------------------------------------------------- */

/* Erdos-Renyi-like graph: each pair i < j is an edge with probability p. */
static void s_random_graph(dgcn_csr *adj, int32_t n, double p, uint64_t seed) {
    dgcn_rng r;
    dgcn_rng_seed(&r, seed, DGCN_STREAM_TEST);
    int64_t cap = 16, ne = 0;
    int32_t *u = malloc(cap * sizeof *u), *v = malloc(cap * sizeof *v);
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = i + 1; j < n; j++)
            if (dgcn_rng_uniform(&r) < p) {
                if (ne == cap) {
                    cap *= 2;
                    u = realloc(u, cap * sizeof *u);
                    v = realloc(v, cap * sizeof *v);
                }
                u[ne] = i;
                v[ne] = j;
                ne++;
            }
    ck_assert_int_eq(dgcn_csr_from_edges(adj, n, u, v, ne), DGCN_OK);
    free(u);
    free(v);
}

static void s_grid_graph(dgcn_csr *adj, int32_t w, int32_t h) {
    int32_t *u = malloc(2 * (size_t)w * h * sizeof *u), *v = malloc(2 * (size_t)w * h * sizeof *v);
    int64_t ne = 0;
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            if (x + 1 < w) u[ne] = y * w + x, v[ne++] = y * w + x + 1;
            if (y + 1 < h) u[ne] = y * w + x, v[ne++] = (y + 1) * w + x;
        }
    ck_assert_int_eq(dgcn_csr_from_edges(adj, w * h, u, v, ne), DGCN_OK);
    free(u);
    free(v);
}

/* A dataset around adj: d sparse random features, c classes, random labels (some -1), splits. */
static void s_dataset(dgcn_dataset *ds, const dgcn_csr *adj, int32_t d, int32_t c, uint64_t seed) {
    memset(ds, 0, sizeof *ds);
    dgcn_rng r;
    dgcn_rng_seed(&r, seed, DGCN_STREAM_TEST + 1);
    int32_t n = adj->n_rows;
    ds->n = n;
    ds->d = d;
    ds->c = c;
    ck_assert_int_eq(dgcn_csr_init(&ds->x, n, d, (int64_t)n * 3), DGCN_OK);
    int64_t e = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t k = (int32_t)dgcn_rng_below(&r, 4); /* 0..3 features, increasing columns */
        int32_t col = -1;
        for (int32_t t = 0; t < k && t < 3; t++) {
            col += 1 + (int32_t)dgcn_rng_below(&r, (uint64_t)(d / 4));
            if (col >= d) break;
            ds->x.col[e] = col;
            ds->x.val[e] = (float)dgcn_rng_uniform(&r);
            e++;
        }
        ds->x.rowptr[i + 1] = e;
    }
    ds->x.nnz = e;
    ds->label = malloc((size_t)n * sizeof *ds->label);
    ds->split = malloc((size_t)n);
    for (int32_t i = 0; i < n; i++) {
        ds->label[i] = (int32_t)dgcn_rng_below(&r, (uint64_t)c + 1) - 1;
        ds->split[i] = (uint8_t)dgcn_rng_below(&r, 4);
        if (ds->split[i] == DGCN_SPLIT_TRAIN) ds->n_train++;
    }
}

static void s_dataset_free(dgcn_dataset *ds) {
    dgcn_csr_fini(&ds->x);
    free(ds->label);
    free(ds->split);
    memset(ds, 0, sizeof *ds);
}

static int s_has_entry(const dgcn_csr *a, int32_t i, int32_t j) {
    for (int64_t e = a->rowptr[i]; e < a->rowptr[i + 1]; e++)
        if (a->col[e] == j) return 1;
    return 0;
}

static void s_check_valid(const int32_t *owner, int32_t n, int32_t m) {
    int32_t *size = calloc((size_t)m, sizeof *size);
    for (int32_t i = 0; i < n; i++) {
        ck_assert_int_ge(owner[i], 0);
        ck_assert_int_lt(owner[i], m);
        size[owner[i]]++;
    }
    for (int32_t k = 0; k < m; k++) ck_assert_msg(size[k] > 0, "agent %d owns no node", k);
    free(size);
}

/* ---- partitioners --------------------------------------------------------------------------- */

START_TEST(test_methods_valid) {
    dgcn_csr g[2];
    s_random_graph(&g[0], 150, 0.015, 7); /* sparse: several components and isolated nodes */
    s_grid_graph(&g[1], 12, 9);
    for (int gi = 0; gi < 2; gi++) {
        int32_t n = g[gi].n_rows;
        int32_t *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
        for (int mi = 0; mi < 4; mi++)
            for (size_t j = 0; j < sizeof s_ms / sizeof *s_ms; j++) {
                int32_t m = s_ms[j];
                ck_assert_int_eq(dgcn_partition(&g[gi], m, s_methods[mi], 42, a), DGCN_OK);
                s_check_valid(a, n, m);
                ck_assert_int_eq(dgcn_partition(&g[gi], m, s_methods[mi], 42, b), DGCN_OK);
                ck_assert_msg(!memcmp(a, b, (size_t)n * sizeof *a), "%s not deterministic",
                              dgcn_partition_method_name(s_methods[mi]));
            }
        free(a);
        free(b);
    }
    for (int gi = 0; gi < 2; gi++) dgcn_csr_fini(&g[gi]);
}
END_TEST

START_TEST(test_seeds_differ) {
    dgcn_csr g;
    s_random_graph(&g, 200, 0.03, 3);
    int32_t a[200], b[200];
    dgcn_partition_method ms[] = {DGCN_PARTITION_BFS, DGCN_PARTITION_RANDOM};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(dgcn_partition(&g, 5, ms[i], 1, a), DGCN_OK);
        ck_assert_int_eq(dgcn_partition(&g, 5, ms[i], 2, b), DGCN_OK);
        ck_assert_msg(memcmp(a, b, sizeof a) != 0, "%s: seeds 1 and 2 gave the same partition",
                      dgcn_partition_method_name(ms[i]));
    }
    dgcn_csr_fini(&g);
}
END_TEST

START_TEST(test_balance_and_errors) {
    dgcn_csr g;
    s_random_graph(&g, 103, 0.05, 11);
    int32_t o[103], size[8];
    dgcn_partition_method ms[] = {DGCN_PARTITION_RANDOM, DGCN_PARTITION_BLOCK};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(dgcn_partition(&g, 8, ms[i], 5, o), DGCN_OK);
        memset(size, 0, sizeof size);
        for (int j = 0; j < 103; j++) size[o[j]]++;
        for (int k = 0; k < 8; k++) ck_assert(size[k] == 12 || size[k] == 13);
    }
    /* block: contiguous, non-decreasing owners */
    for (int j = 1; j < 103; j++) ck_assert_int_ge(o[j], o[j - 1]);
    ck_assert_int_eq(dgcn_partition(&g, 104, DGCN_PARTITION_BFS, 1, o), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_partition(&g, 0, DGCN_PARTITION_RANDOM, 1, o), DGCN_EINVAL);
    dgcn_partition_method pm;
    ck_assert_int_eq(dgcn_partition_method_parse("metis", &pm), DGCN_OK);
    ck_assert_int_eq(pm, DGCN_PARTITION_METIS);
    ck_assert_int_eq(dgcn_partition_method_parse("kmeans", &pm), DGCN_EINVAL);
    ck_assert_str_eq(dgcn_partition_method_name(DGCN_PARTITION_BFS), "bfs");
    /* m == n: one node each */
    ck_assert_int_eq(dgcn_partition(&g, 103, DGCN_PARTITION_BFS, 9, o), DGCN_OK);
    s_check_valid(o, 103, 103);
    ck_assert_int_eq(dgcn_partition(&g, 103, DGCN_PARTITION_METIS, 9, o), DGCN_OK);
    s_check_valid(o, 103, 103);
    dgcn_csr_fini(&g);
}
END_TEST

/* Each agent's nodes induce a connected subgraph (BFS restricted to the part). */
START_TEST(test_bfs_connected_parts) {
    dgcn_csr g;
    s_grid_graph(&g, 20, 20);
    int32_t n = 400, o[400], queue[400];
    uint8_t seen[400];
    for (int32_t m = 2; m <= 8; m += 3)
        for (uint64_t seed = 0; seed < 5; seed++) {
            ck_assert_int_eq(dgcn_partition(&g, m, DGCN_PARTITION_BFS, seed, o), DGCN_OK);
            for (int32_t k = 0; k < m; k++) {
                memset(seen, 0, sizeof seen);
                int32_t start = -1, total = 0, qh = 0, qt = 0;
                for (int32_t i = 0; i < n; i++)
                    if (o[i] == k) {
                        total++;
                        if (start < 0) start = i;
                    }
                queue[qt++] = start;
                seen[start] = 1;
                while (qh < qt) {
                    int32_t v = queue[qh++];
                    for (int64_t e = g.rowptr[v]; e < g.rowptr[v + 1]; e++) {
                        int32_t w = g.col[e];
                        if (o[w] == k && !seen[w]) seen[w] = 1, queue[qt++] = w;
                    }
                }
                ck_assert_msg(qt == total, "m=%d seed=%d agent %d: %d of %d nodes connected", m,
                              (int)seed, k, qt, total);
            }
        }
    dgcn_csr_fini(&g);
}
END_TEST

/* Components no seed reached: each agent's share of each component is connected, and on a graph
 * without edges the documented rule (smallest unassigned node to the smallest agent, lowest id on
 * ties) deals the non-seed nodes out in increasing id order, alternating 0, 1, 0, 1. */
START_TEST(test_bfs_unreached_components) {
    int32_t u[] = {0, 1, 2, 3, 10, 11, 12}, v[] = {1, 2, 3, 4, 11, 12, 13};
    dgcn_csr g;
    ck_assert_int_eq(dgcn_csr_from_edges(&g, 16, u, v, 7), DGCN_OK); /* 5..9, 14, 15 isolated */
    int32_t o[16];
    for (uint64_t seed = 0; seed < 20; seed++) {
        ck_assert_int_eq(dgcn_partition(&g, 3, DGCN_PARTITION_BFS, seed, o), DGCN_OK);
        s_check_valid(o, 16, 3);
        /* on each path, an agent's nodes are consecutive */
        int32_t paths[2][2] = {{0, 4}, {10, 13}};
        for (int pth = 0; pth < 2; pth++)
            for (int32_t k = 0; k < 3; k++) {
                int32_t first = -1, last = -1, cnt = 0;
                for (int32_t i = paths[pth][0]; i <= paths[pth][1]; i++)
                    if (o[i] == k) {
                        if (first < 0) first = i;
                        last = i;
                        cnt++;
                    }
                if (cnt) ck_assert_int_eq(last - first + 1, cnt);
            }
    }
    dgcn_csr_fini(&g);

    dgcn_csr e;
    ck_assert_int_eq(dgcn_csr_from_edges(&e, 6, u, v, 0), DGCN_OK);
    for (uint64_t seed = 0; seed < 10; seed++) {
        ck_assert_int_eq(dgcn_partition(&e, 2, DGCN_PARTITION_BFS, seed, o), DGCN_OK);
        int ok = 0;
        for (int32_t a = 0; a < 6 && !ok; a++)
            for (int32_t b = 0; b < 6 && !ok; b++) {
                if (o[a] != 0 || o[b] != 1) continue;
                int32_t turn = 0, good = 1;
                for (int32_t i = 0; i < 6; i++) {
                    if (i == a || i == b) continue;
                    if (o[i] != turn) good = 0;
                    turn ^= 1;
                }
                ok = good;
            }
        ck_assert_msg(ok, "seed %d: isolated nodes not dealt by the smallest-agent rule",
                      (int)seed);
    }
    dgcn_csr_fini(&e);
}
END_TEST

START_TEST(test_metis_beats_random_on_cora) {
    char buf[4096];
    const char *dir = dgcn_test_dataset("cora", buf, sizeof buf);
    if (!dir) return;
    dgcn_dataset ds;
    ck_assert_int_eq(dgcn_dataset_load(&ds, dir), DGCN_OK);
    int32_t *o = malloc((size_t)ds.n * sizeof *o);
    dgcn_partition_stats sm, sr, sb;
    int32_t w[] = {16, 7};
    ck_assert_int_eq(dgcn_partition(&ds.adj, 10, DGCN_PARTITION_METIS, 1, o), DGCN_OK);
    s_check_valid(o, ds.n, 10);
    ck_assert_int_eq(dgcn_partition_stats_compute(&ds.adj, o, 10, w, 2, &sm), DGCN_OK);
    ck_assert_int_eq(dgcn_partition(&ds.adj, 10, DGCN_PARTITION_RANDOM, 1, o), DGCN_OK);
    ck_assert_int_eq(dgcn_partition_stats_compute(&ds.adj, o, 10, w, 2, &sr), DGCN_OK);
    ck_assert_int_eq(dgcn_partition(&ds.adj, 10, DGCN_PARTITION_BFS, 1, o), DGCN_OK);
    s_check_valid(o, ds.n, 10);
    ck_assert_int_eq(dgcn_partition_stats_compute(&ds.adj, o, 10, w, 2, &sb), DGCN_OK);
    fprintf(stderr, "cora, 10 agents: edge cut metis %lld, bfs %lld, random %lld\n",
            (long long)sm.edge_cut, (long long)sb.edge_cut, (long long)sr.edge_cut);
    ck_assert_int_lt(sm.edge_cut, sr.edge_cut);
    ck_assert_int_lt(sb.edge_cut, sr.edge_cut);
    free(o);
    dgcn_dataset_fini(&ds);
}
END_TEST

/* ---- required links, statistics, dropped edges ---------------------------------------------- */

/* The pair list of dgcn_partition_required_pairs as an m x m 0/1 matrix (malloc'd), checking that
 * the pairs are k < t in strictly increasing order. */
static uint8_t *s_pairs_matrix(const int32_t *pairs, int64_t n, int32_t m) {
    uint8_t *links = calloc((size_t)m * m, 1);
    for (int64_t i = 0; i < n; i++) {
        int32_t k = pairs[2 * i], t = pairs[2 * i + 1];
        ck_assert(k >= 0 && k < t && t < m);
        if (i > 0)
            ck_assert(pairs[2 * i - 2] < k || (pairs[2 * i - 2] == k && pairs[2 * i - 1] < t));
        links[k * m + t] = links[t * m + k] = 1;
    }
    return links;
}

START_TEST(test_required_links_and_stats) {
    dgcn_csr g;
    s_random_graph(&g, 120, 0.03, 21);
    int32_t n = 120, o[120];
    int32_t w[] = {16, 7};
    for (int mi = 0; mi < 4; mi++)
        for (size_t j = 0; j < sizeof s_ms / sizeof *s_ms; j++) {
            int32_t m = s_ms[j];
            ck_assert_int_eq(dgcn_partition(&g, m, s_methods[mi], 3, o), DGCN_OK);
            int32_t *pairs = NULL;
            int64_t n_pairs = -1;
            ck_assert_int_eq(dgcn_partition_required_pairs(&g, o, m, &pairs, &n_pairs), DGCN_OK);
            uint8_t *links = s_pairs_matrix(pairs, n_pairs, m);
            free(pairs);
            int32_t n_req = 0;
            for (int32_t k = 0; k < m; k++)
                for (int32_t t = 0; t < m; t++) {
                    int want = 0;
                    for (int32_t a = 0; a < n && !want; a++)
                        for (int32_t b = 0; b < n && !want; b++)
                            if (o[a] == k && o[b] == t && k != t && s_has_entry(&g, a, b)) want = 1;
                    ck_assert_int_eq(links[k * m + t], want);
                    if (k < t) n_req += want;
                }
            int64_t cut = 0, halo = 0;
            for (int32_t a = 0; a < n; a++)
                for (int32_t b = a + 1; b < n; b++)
                    if (o[a] != o[b] && s_has_entry(&g, a, b)) cut++;
            for (int32_t k = 0; k < m; k++)
                for (int32_t b = 0; b < n; b++) {
                    if (o[b] == k) continue;
                    int in_halo = 0;
                    for (int32_t a = 0; a < n && !in_halo; a++)
                        if (o[a] == k && s_has_entry(&g, a, b)) in_halo = 1;
                    halo += in_halo;
                }
            dgcn_partition_stats st;
            ck_assert_int_eq(dgcn_partition_stats_compute(&g, o, m, w, 2, &st), DGCN_OK);
            ck_assert_int_eq(st.edge_cut, cut);
            ck_assert_int_eq(st.halo_total, halo);
            ck_assert_int_eq(st.required_links, n_req);
            ck_assert_int_eq(st.halo_bytes_per_iter, halo * (16 + 7) * 4 * 2);
            ck_assert(fabs(st.halo_fraction - (double)halo / n) < 1e-12);
            ck_assert(fabs(st.mean_nodes - (double)n / m) < 1e-12);
            ck_assert_int_ge(st.min_nodes, 1);
            ck_assert_int_le(st.min_nodes, st.max_nodes);
            free(links);
        }
    dgcn_csr_fini(&g);
}
END_TEST

START_TEST(test_drop_cross_edges) {
    dgcn_csr g;
    s_random_graph(&g, 100, 0.06, 5);
    int32_t n = 100, m = 6, o[100];
    ck_assert_int_eq(dgcn_partition(&g, m, DGCN_PARTITION_RANDOM, 8, o), DGCN_OK);
    int32_t *req = NULL, pairs[2 * 15];
    int64_t n_req = 0, n_pairs = 0;
    ck_assert_int_eq(dgcn_partition_required_pairs(&g, o, m, &req, &n_req), DGCN_OK);
    uint8_t *links = s_pairs_matrix(req, n_req, m);
    free(req);
    /* remove about half of the links, symmetrically */
    dgcn_rng r;
    dgcn_rng_seed(&r, 77, DGCN_STREAM_TEST);
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = k + 1; t < m; t++)
            if (dgcn_rng_uniform(&r) < 0.5) links[k * m + t] = links[t * m + k] = 0;
    /* the kept links as pairs, larger id first for every other one (either order is a link) */
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = k + 1; t < m; t++)
            if (links[k * m + t]) {
                pairs[2 * n_pairs] = n_pairs % 2 ? t : k;
                pairs[2 * n_pairs + 1] = n_pairs % 2 ? k : t;
                n_pairs++;
            }
    dgcn_csr out;
    int64_t dropped = -1;
    ck_assert_int_eq(dgcn_partition_drop_cross_edges(&out, &g, o, m, pairs, n_pairs, &dropped),
                     DGCN_OK);
    int64_t want_dropped = 0;
    for (int32_t a = 0; a < n; a++)
        for (int32_t b = 0; b < n; b++) {
            int e = s_has_entry(&g, a, b);
            int keep = e && (o[a] == o[b] || links[o[a] * m + o[b]]);
            ck_assert_int_eq(s_has_entry(&out, a, b), keep);
            if (e && !keep && a < b) want_dropped++;
        }
    ck_assert_int_gt(want_dropped, 0);
    ck_assert_int_eq(dropped, want_dropped);
    ck_assert_int_eq(out.nnz, g.nnz - 2 * want_dropped);
    dgcn_csr_fini(&out);
    pairs[0] = pairs[1]; /* a self-link */
    ck_assert_int_eq(dgcn_partition_drop_cross_edges(&out, &g, o, m, pairs, n_pairs, &dropped),
                     DGCN_EINVAL);
    dgcn_csr_fini(&out);
    pairs[0] = m; /* an agent out of range */
    ck_assert_int_eq(dgcn_partition_drop_cross_edges(&out, &g, o, m, pairs, n_pairs, &dropped),
                     DGCN_EINVAL);
    dgcn_csr_fini(&out);
    free(links);
    dgcn_csr_fini(&g);
}
END_TEST

/* ---- shards --------------------------------------------------------------------------------- */

typedef struct s_fixture {
    dgcn_csr adj, a_hat;
    dgcn_dataset ds;
    int32_t *owner;
    int32_t m;
    dgcn_shard *sh;
} s_fixture;

static void s_fixture_make(s_fixture *f, int32_t n, double p, int32_t m,
                           dgcn_partition_method method, uint64_t seed) {
    memset(f, 0, sizeof *f);
    s_random_graph(&f->adj, n, p, seed);
    ck_assert_int_eq(dgcn_csr_gcn_norm(&f->a_hat, &f->adj), DGCN_OK);
    s_dataset(&f->ds, &f->adj, 40, 4, seed);
    f->owner = malloc((size_t)n * sizeof *f->owner);
    f->m = m;
    ck_assert_int_eq(dgcn_partition(&f->adj, m, method, seed, f->owner), DGCN_OK);
    f->sh = calloc((size_t)m, sizeof *f->sh);
    ck_assert_int_eq(dgcn_shard_build_all(&f->ds, &f->a_hat, f->owner, m, 0xabc0000 + seed, f->sh),
                     DGCN_OK);
}

static void s_fixture_free(s_fixture *f) {
    for (int32_t k = 0; k < f->m; k++) dgcn_shard_fini(&f->sh[k]);
    free(f->sh);
    free(f->owner);
    s_dataset_free(&f->ds);
    dgcn_csr_fini(&f->a_hat);
    dgcn_csr_fini(&f->adj);
}

static int32_t s_peer_pos(const dgcn_shard *s, int32_t t) {
    for (int32_t p = 0; p < s->n_peers; p++)
        if (s->peer[p] == t) return p;
    return -1;
}

static void s_check_shards(const s_fixture *f) {
    int32_t n = f->ds.n, m = f->m;
    int32_t *seen = calloc((size_t)n, sizeof *seen);
    uint8_t *in_halo = malloc((size_t)n);
    for (int32_t k = 0; k < m; k++) {
        const dgcn_shard *s = &f->sh[k];
        ck_assert_int_eq(s->agent, k);
        ck_assert_int_eq(s->n_agents, m);
        ck_assert_int_eq(s->n_global, n);
        ck_assert_int_eq(s->n_train_global, f->ds.n_train);
        ck_assert_int_ge(s->n_own, 1);
        for (int32_t r = 0; r < s->n_own; r++) {
            int32_t g = s->gid[r];
            ck_assert_int_eq(f->owner[g], k);
            if (r) ck_assert_int_gt(g, s->gid[r - 1]);
            seen[g]++;
            ck_assert_int_eq(s->label[r], f->ds.label[g]);
            ck_assert_int_eq(s->split[r], f->ds.split[g]);
            int64_t xb = f->ds.x.rowptr[g], xl = f->ds.x.rowptr[g + 1] - xb;
            ck_assert_int_eq(s->x.rowptr[r + 1] - s->x.rowptr[r], xl);
            ck_assert(
                !memcmp(s->x.col + s->x.rowptr[r], f->ds.x.col + xb, (size_t)xl * sizeof(int32_t)));
            ck_assert(
                !memcmp(s->x.val + s->x.rowptr[r], f->ds.x.val + xb, (size_t)xl * sizeof(float)));
        }
        /* halo = brute-force set of non-owned columns of own rows */
        memset(in_halo, 0, (size_t)n);
        int32_t want_halo = 0;
        for (int32_t i = 0; i < n; i++)
            if (f->owner[i] == k)
                for (int64_t e = f->a_hat.rowptr[i]; e < f->a_hat.rowptr[i + 1]; e++) {
                    int32_t j = f->a_hat.col[e];
                    if (f->owner[j] != k && !in_halo[j]) in_halo[j] = 1, want_halo++;
                }
        ck_assert_int_eq(s->n_halo, want_halo);
        ck_assert_int_eq(s->recv_ptr[0], 0);
        ck_assert_int_eq(s->recv_ptr[s->n_peers], s->n_halo);
        for (int32_t p = 0; p < s->n_peers; p++) {
            ck_assert_int_ne(s->peer[p], k);
            if (p) ck_assert_int_gt(s->peer[p], s->peer[p - 1]);
            ck_assert_int_gt(s->recv_ptr[p + 1],
                             s->recv_ptr[p]); /* symmetric graph: both non-empty */
            ck_assert_int_gt(s->send_ptr[p + 1], s->send_ptr[p]);
            for (int32_t h = s->recv_ptr[p]; h < s->recv_ptr[p + 1]; h++) {
                int32_t g = s->gid[s->n_own + h];
                ck_assert(in_halo[g]);
                ck_assert_int_eq(f->owner[g], s->peer[p]);
                if (h > s->recv_ptr[p]) ck_assert_int_gt(g, s->gid[s->n_own + h - 1]);
            }
        }
        /* A_hat rows: same entries as the global rows, by gid */
        ck_assert_int_eq(s->a.n_rows, s->n_own);
        ck_assert_int_eq(s->a.n_cols, s->n_own + s->n_halo);
        for (int32_t r = 0; r < s->n_own; r++) {
            int32_t g = s->gid[r];
            ck_assert_int_eq(s->a.rowptr[r + 1] - s->a.rowptr[r],
                             f->a_hat.rowptr[g + 1] - f->a_hat.rowptr[g]);
            for (int64_t e = s->a.rowptr[r]; e < s->a.rowptr[r + 1]; e++) {
                if (e > s->a.rowptr[r]) ck_assert_int_gt(s->a.col[e], s->a.col[e - 1]);
                int32_t gj = s->gid[s->a.col[e]];
                int found = 0;
                for (int64_t q = f->a_hat.rowptr[g]; q < f->a_hat.rowptr[g + 1]; q++)
                    if (f->a_hat.col[q] == gj) found = 1, ck_assert(f->a_hat.val[q] == s->a.val[e]);
                ck_assert(found);
            }
        }
    }
    for (int32_t i = 0; i < n; i++) ck_assert_int_eq(seen[i], 1);
    /* the exchange invariant: k's send list to t == t's halo range for k, in order */
    for (int32_t k = 0; k < m; k++) {
        const dgcn_shard *s = &f->sh[k];
        for (int32_t p = 0; p < s->n_peers; p++) {
            int32_t t = s->peer[p];
            const dgcn_shard *st = &f->sh[t];
            int32_t q = s_peer_pos(st, k);
            ck_assert_msg(q >= 0, "agent %d lists peer %d, which does not list it", k, t);
            int32_t len = s->send_ptr[p + 1] - s->send_ptr[p];
            ck_assert_int_eq(len, st->recv_ptr[q + 1] - st->recv_ptr[q]);
            for (int32_t i = 0; i < len; i++) {
                int32_t li = s->send_idx[s->send_ptr[p] + i];
                ck_assert_int_ge(li, 0);
                ck_assert_int_lt(li, s->n_own);
                ck_assert_int_eq(s->gid[li], st->gid[st->n_own + st->recv_ptr[q] + i]);
            }
        }
    }
    free(seen);
    free(in_halo);
}

START_TEST(test_shard_invariants) {
    dgcn_partition_method ms[] = {DGCN_PARTITION_BFS, DGCN_PARTITION_RANDOM, DGCN_PARTITION_METIS};
    for (int mi = 0; mi < 3; mi++)
        for (size_t j = 0; j < sizeof s_ms / sizeof *s_ms; j++)
            for (uint64_t seed = 1; seed <= 3; seed++) {
                s_fixture f;
                s_fixture_make(&f, 90 + 7 * (int32_t)seed, 0.04, s_ms[j], ms[mi], seed);
                s_check_shards(&f);
                s_fixture_free(&f);
            }
}
END_TEST

/* Z = A_hat B: centrally, and per agent over own + halo rows filled by the send/recv maps. */
START_TEST(test_distributed_spmm) {
    const int32_t fdim = 5;
    for (size_t j = 0; j < sizeof s_ms / sizeof *s_ms; j++) {
        s_fixture f;
        s_fixture_make(&f, 160, 0.03, s_ms[j], DGCN_PARTITION_BFS, 40 + j);
        int32_t n = f.ds.n;
        dgcn_rng r;
        dgcn_rng_seed(&r, 9, DGCN_STREAM_TEST);
        float *b = malloc((size_t)n * fdim * sizeof *b);
        double *z = calloc((size_t)n * fdim, sizeof *z);
        for (int64_t i = 0; i < (int64_t)n * fdim; i++) b[i] = (float)dgcn_rng_normal(&r);
        for (int32_t i = 0; i < n; i++)
            for (int64_t e = f.a_hat.rowptr[i]; e < f.a_hat.rowptr[i + 1]; e++)
                for (int32_t c = 0; c < fdim; c++)
                    z[(size_t)i * fdim + c] += (double)f.a_hat.val[e] *
                                               b[(size_t)f.a_hat.col[e] * fdim + c];
        /* local B blocks: own rows only, as each agent would hold them */
        float **loc = calloc((size_t)f.m, sizeof *loc);
        for (int32_t k = 0; k < f.m; k++) {
            const dgcn_shard *s = &f.sh[k];
            loc[k] = calloc((size_t)(s->n_own + s->n_halo) * fdim, sizeof(float));
            for (int32_t rr = 0; rr < s->n_own; rr++)
                memcpy(loc[k] + (size_t)rr * fdim, b + (size_t)s->gid[rr] * fdim,
                       fdim * sizeof(float));
        }
        /* exchange: t sends its rows send_idx[...] to k, k stores them at its halo range for t */
        for (int32_t t = 0; t < f.m; t++) {
            const dgcn_shard *st = &f.sh[t];
            for (int32_t p = 0; p < st->n_peers; p++) {
                int32_t k = st->peer[p];
                const dgcn_shard *sk = &f.sh[k];
                int32_t q = s_peer_pos(sk, t);
                ck_assert_int_ge(q, 0);
                for (int32_t i = st->send_ptr[p]; i < st->send_ptr[p + 1]; i++) {
                    int32_t dst = sk->n_own + sk->recv_ptr[q] + (i - st->send_ptr[p]);
                    memcpy(loc[k] + (size_t)dst * fdim, loc[t] + (size_t)st->send_idx[i] * fdim,
                           fdim * sizeof(float));
                }
            }
        }
        double err = 0, norm = 0;
        for (int32_t k = 0; k < f.m; k++) {
            const dgcn_shard *s = &f.sh[k];
            for (int32_t rr = 0; rr < s->n_own; rr++)
                for (int32_t c = 0; c < fdim; c++) {
                    double acc = 0;
                    for (int64_t e = s->a.rowptr[rr]; e < s->a.rowptr[rr + 1]; e++)
                        acc += (double)s->a.val[e] * loc[k][(size_t)s->a.col[e] * fdim + c];
                    double want = z[(size_t)s->gid[rr] * fdim + c];
                    err += (acc - want) * (acc - want);
                    norm += want * want;
                }
            free(loc[k]);
        }
        ck_assert_msg(sqrt(err) <= 1e-6 * sqrt(norm), "m=%d: rel err %g", f.m, sqrt(err / norm));
        free(loc);
        free(b);
        free(z);
        s_fixture_free(&f);
    }
}
END_TEST

START_TEST(test_build_rejects_bad_input) {
    s_fixture f;
    s_fixture_make(&f, 50, 0.08, 3, DGCN_PARTITION_RANDOM, 12);
    dgcn_shard sh[4];
    for (int32_t i = 0; i < 50; i++)
        f.owner[i] = f.owner[i] == 2 ? 1 : f.owner[i]; /* agent 2 empty */
    ck_assert_int_eq(dgcn_shard_build_all(&f.ds, &f.a_hat, f.owner, 3, 1, sh), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "agent 2"));
    for (int k = 0; k < 3; k++) {
        ck_assert_ptr_null(sh[k].gid);
        dgcn_shard_fini(&sh[k]);
    }
    f.owner[7] = 3;
    ck_assert_int_eq(dgcn_shard_build_all(&f.ds, &f.a_hat, f.owner, 3, 1, sh), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "node 7"));
    f.owner[7] = 0;
    ck_assert_int_eq(dgcn_shard_build_all(&f.ds, &f.adj, f.owner, 2, 1, sh), DGCN_OK); /* any A */
    for (int k = 0; k < 2; k++) dgcn_shard_fini(&sh[k]);
    ck_assert_int_eq(dgcn_shard_dir_read("/nonexistent-plan-dir", 0, &sh[0]), DGCN_EIO);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "manifest.txt"));
    s_fixture_free(&f);
}
END_TEST

static void s_assert_shard_eq(const dgcn_shard *a, const dgcn_shard *b) {
    ck_assert(a->plan_id == b->plan_id);
    ck_assert_int_eq(a->agent, b->agent);
    ck_assert_int_eq(a->n_agents, b->n_agents);
    ck_assert_int_eq(a->n_global, b->n_global);
    ck_assert_int_eq(a->n_train_global, b->n_train_global);
    ck_assert_int_eq(a->d, b->d);
    ck_assert_int_eq(a->c, b->c);
    ck_assert_int_eq(a->n_own, b->n_own);
    ck_assert_int_eq(a->n_halo, b->n_halo);
    ck_assert_int_eq(a->n_peers, b->n_peers);
    size_t nl = (size_t)a->n_own + a->n_halo, no = (size_t)a->n_own, np = (size_t)a->n_peers;
    ck_assert(!memcmp(a->gid, b->gid, nl * 4));
    ck_assert(!memcmp(a->label, b->label, no * 4));
    ck_assert(!memcmp(a->split, b->split, no));
    ck_assert(!memcmp(a->peer, b->peer, np * 4));
    ck_assert(!memcmp(a->send_ptr, b->send_ptr, (np + 1) * 4));
    ck_assert(!memcmp(a->recv_ptr, b->recv_ptr, (np + 1) * 4));
    ck_assert(!memcmp(a->send_idx, b->send_idx, (size_t)a->send_ptr[np] * 4));
    const dgcn_csr *ma[2] = {&a->a, &a->x}, *mb[2] = {&b->a, &b->x};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(ma[i]->n_rows, mb[i]->n_rows);
        ck_assert_int_eq(ma[i]->n_cols, mb[i]->n_cols);
        ck_assert_int_eq(ma[i]->nnz, mb[i]->nnz);
        ck_assert(!memcmp(ma[i]->rowptr, mb[i]->rowptr, ((size_t)ma[i]->n_rows + 1) * 8));
        ck_assert(!memcmp(ma[i]->col, mb[i]->col, (size_t)ma[i]->nnz * 4));
        ck_assert(!memcmp(ma[i]->val, mb[i]->val, (size_t)ma[i]->nnz * 4));
    }
}

START_TEST(test_pack_roundtrip) {
    s_fixture f;
    s_fixture_make(&f, 120, 0.04, 5, DGCN_PARTITION_BFS, 4);
    for (int32_t k = 0; k < f.m; k++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        ck_assert_int_eq(dgcn_shard_pack(&f.sh[k], &buf, &len), DGCN_OK);
        dgcn_shard u;
        ck_assert_int_eq(dgcn_shard_unpack(&u, buf, len), DGCN_OK);
        s_assert_shard_eq(&f.sh[k], &u);
        dgcn_shard_fini(&u);
        free(buf);
    }
    s_fixture_free(&f);
}
END_TEST

/* Packs s after a corruption applied by the caller and expects unpack to refuse it. */
static void s_expect_reject(const dgcn_shard *s, const char *what) {
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(dgcn_shard_pack(s, &buf, &len), DGCN_OK);
    dgcn_shard u;
    int rc = dgcn_shard_unpack(&u, buf, len);
    ck_assert_msg(rc == DGCN_EFORMAT, "%s: unpack returned %d", what, rc);
    ck_assert_msg(strlen(dgcn_error_msg()) > 0, "%s: no message", what);
    ck_assert_ptr_null(u.gid);
    free(buf);
}

START_TEST(test_unpack_rejects) {
    s_fixture f;
    s_fixture_make(&f, 60, 0.06, 3, DGCN_PARTITION_BFS, 6);
    dgcn_shard *s = &f.sh[1];
    ck_assert_int_gt(s->n_peers, 0);
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(dgcn_shard_pack(s, &buf, &len), DGCN_OK);
    dgcn_shard u;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = dgcn_shard_unpack(&u, buf, cut);
        ck_assert_msg(rc == DGCN_EFORMAT, "prefix of %zu of %zu bytes accepted", cut, len);
    }
    /* random byte corruptions: refused or, when still well-formed, valid; never a crash */
    dgcn_rng r;
    dgcn_rng_seed(&r, 1, DGCN_STREAM_TEST);
    uint8_t *bad = malloc(len);
    int refused = 0;
    for (int t = 0; t < 300; t++) {
        memcpy(bad, buf, len);
        bad[dgcn_rng_below(&r, len)] ^= (uint8_t)(1 + dgcn_rng_below(&r, 255));
        int rc = dgcn_shard_unpack(&u, bad, len);
        ck_assert(rc == DGCN_OK || rc == DGCN_EFORMAT);
        refused += rc != DGCN_OK;
        dgcn_shard_fini(&u);
    }
    ck_assert_int_gt(refused, 0);
    free(bad);
    free(buf);

    /* semantic corruptions, each restored afterwards */
#define S_TRY(field, value, what)                                                                  \
    do {                                                                                           \
        __typeof__(field) old_ = (field);                                                          \
        (field) = (value);                                                                         \
        s_expect_reject(s, what);                                                                  \
        (field) = old_;                                                                            \
    } while (0)
    S_TRY(s->send_idx[0], s->n_own, "send index past own rows");
    S_TRY(s->send_idx[0], -1, "negative send index");
    S_TRY(s->peer[0], s->agent, "peer equal to the agent");
    S_TRY(s->peer[0], s->n_agents, "peer out of range");
    S_TRY(s->a.col[0], s->n_own + s->n_halo, "A_hat column out of range");
    S_TRY(s->a.rowptr[1], s->a.rowptr[2] + 1, "A_hat rowptr not monotone");
    S_TRY(s->x.col[s->x.nnz - 1], s->d, "feature column out of range");
    S_TRY(s->gid[0], s->n_global, "global id out of range");
    S_TRY(s->gid[1], s->gid[0], "own global ids not increasing");
    S_TRY(s->label[0], s->c, "label out of range");
    S_TRY(s->split[0], 7, "split flag out of range");
    S_TRY(s->recv_ptr[s->n_peers], s->n_halo - 1, "recv_ptr does not end at n_halo");
    S_TRY(s->agent, s->n_agents, "agent out of range");
    S_TRY(s->n_halo, s->n_halo + 1, "halo count disagrees with gids");
    S_TRY(s->gid[s->n_own], s->gid[0], "halo node equal to an own node");
#undef S_TRY
    s_fixture_free(&f);
}
END_TEST

/* Regression shards: a ring of 24 sensors with generated series over 3 agents (blocks of 8): each
 * shard holds its own sensors' z-scored series and the split counts, they survive packing, and a
 * series that disagrees with its sizes is refused. */
START_TEST(test_series_shards) {
    enum { N = 24, M = 3, T = 200 };
    dgcn_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = N, ds.d = 12, ds.c = 1;
    ck_assert_int_eq(dgcn_csr_init(&ds.adj, N, N, 2 * N), DGCN_OK);
    for (int32_t i = 0; i < N; i++) {
        int32_t a = (i + N - 1) % N, b = (i + 1) % N;
        ds.adj.rowptr[i + 1] = 2 * (i + 1);
        ds.adj.col[2 * i] = a < b ? a : b, ds.adj.col[2 * i + 1] = a < b ? b : a;
        ds.adj.val[2 * i] = ds.adj.val[2 * i + 1] = 1.0f;
    }
    dgcn_traffic_series ser;
    ck_assert_int_eq(dgcn_traffic_generate(&ser, &ds.adj, T, 5), DGCN_OK);
    ds.samples = calloc(1, sizeof *ds.samples);
    ck_assert_int_eq(dgcn_traffic_prepare(ds.samples, &ser, 12), DGCN_OK);
    ck_assert_int_eq(dgcn_csr_init(&ds.x, N, 12, 0), DGCN_OK);
    ds.label = malloc(N * sizeof *ds.label);
    ds.split = calloc(N, 1);
    int32_t owner[N];
    for (int32_t i = 0; i < N; i++) ds.label[i] = -1, owner[i] = i / 8;
    dgcn_csr a_hat;
    ck_assert_int_eq(dgcn_csr_gcn_norm(&a_hat, &ds.adj), DGCN_OK);
    dgcn_shard sh[M];
    ck_assert_msg(dgcn_shard_build_all(&ds, &a_hat, owner, M, 9, sh) == DGCN_OK, "%s",
                  dgcn_error_msg());
    const dgcn_traffic_samples *p = ds.samples;
    for (int32_t k = 0; k < M; k++) {
        ck_assert_int_eq(sh[k].series_t, T);
        ck_assert(sh[k].n_samples[0] == p->n_train && sh[k].n_samples[1] == p->n_val &&
                  sh[k].n_samples[2] == p->n_test);
        for (int32_t t = 0; t < T; t++)
            for (int32_t r = 0; r < sh[k].n_own; r++)
                ck_assert(sh[k].series[t * sh[k].n_own + r] == p->z[t * N + sh[k].gid[r]]);
        uint8_t *buf = NULL;
        size_t len = 0;
        ck_assert_int_eq(dgcn_shard_pack(&sh[k], &buf, &len), DGCN_OK);
        dgcn_shard u;
        ck_assert_msg(dgcn_shard_unpack(&u, buf, len) == DGCN_OK, "%s", dgcn_error_msg());
        s_assert_shard_eq(&sh[k], &u);
        ck_assert_int_eq(u.series_t, T);
        ck_assert(!memcmp(u.n_samples, sh[k].n_samples, sizeof u.n_samples));
        ck_assert(!memcmp(u.series, sh[k].series, (size_t)T * u.n_own * sizeof *u.series));
        dgcn_shard_fini(&u);
        free(buf);
    }
    dgcn_shard *s = &sh[1];
#define S_TRY(field, value, what)                                                                  \
    do {                                                                                           \
        __typeof__(field) old_ = (field);                                                          \
        (field) = (value);                                                                         \
        s_expect_reject(s, what);                                                                  \
        (field) = old_;                                                                            \
    } while (0)
    S_TRY(s->series_t, T - 1, "fewer steps than the values");
    S_TRY(s->n_samples[0], 0, "no training sample");
    S_TRY(s->n_samples[2], p->n_test + 1, "samples that do not fit the steps");
    S_TRY(s->n_samples[1], -1, "negative sample count");
    S_TRY(s->c, 2, "two outputs");
#undef S_TRY
    for (int32_t k = 0; k < M; k++) dgcn_shard_fini(&sh[k]);
    dgcn_csr_fini(&a_hat);
    dgcn_traffic_series_fini(&ser);
    dgcn_dataset_fini(&ds);
}
END_TEST

/* ---- plans on disk -------------------------------------------------------------------------- */

static uint64_t s_fnv(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static uint8_t *s_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 1);
    ck_assert_int_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void s_spit(const char *path, const uint8_t *b, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(b, 1, len, f), len);
    fclose(f);
}

START_TEST(test_plan_files) {
    char tmpl[] = "/tmp/dgcn-test-plan-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    char da[512], db[512], path[600], pathb[600], cmd[1200];
    snprintf(da, sizeof da, "%s/a", tmpl);
    snprintf(db, sizeof db, "%s/b", tmpl);
    s_fixture fa, fb;
    s_fixture_make(&fa, 100, 0.05, 4, DGCN_PARTITION_BFS, 1);
    s_fixture_make(&fb, 100, 0.05, 4, DGCN_PARTITION_BFS, 2);
    ck_assert_int_eq(dgcn_shard_dir_write(da, fa.sh, 4, fa.owner, 100, "bfs", 1), DGCN_OK);
    ck_assert_int_eq(dgcn_shard_dir_write(db, fb.sh, 4, fb.owner, 100, "bfs", 2), DGCN_OK);
    for (int32_t k = 0; k < 4; k++) {
        dgcn_shard s;
        ck_assert_int_eq(dgcn_shard_dir_read(da, k, &s), DGCN_OK);
        s_assert_shard_eq(&fa.sh[k], &s);
        dgcn_shard_fini(&s);
    }
    dgcn_shard s;
    ck_assert_int_eq(dgcn_shard_dir_read(da, 4, &s), DGCN_EINVAL);

    /* truncated shard file */
    size_t len;
    snprintf(path, sizeof path, "%s/shard-1.pb", da);
    uint8_t *orig = s_slurp(path, &len);
    s_spit(path, orig, len - 3);
    ck_assert_int_eq(dgcn_shard_dir_read(da, 1, &s), DGCN_EFORMAT);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "shard-1.pb"));
    s_spit(path, orig, len);
    ck_assert_int_eq(dgcn_shard_dir_read(da, 1, &s), DGCN_OK);
    dgcn_shard_fini(&s);

    /* another plan's shard in place of ours: caught by size or checksum */
    snprintf(pathb, sizeof pathb, "%s/shard-1.pb", db);
    size_t lenb;
    uint8_t *other = s_slurp(pathb, &lenb);
    s_spit(path, other, lenb);
    ck_assert_int_eq(dgcn_shard_dir_read(da, 1, &s), DGCN_EFORMAT);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "shard-1.pb"));

    /* ... and with the manifest edited to match its size and checksum: caught by the plan id */
    char mpath[600], line[256];
    snprintf(mpath, sizeof mpath, "%s/manifest.txt", da);
    size_t mlen;
    char *man = (char *)s_slurp(mpath, &mlen);
    man[mlen] = 0;
    FILE *mf = fopen(mpath, "w");
    ck_assert_ptr_nonnull(mf);
    for (char *ln = strtok(man, "\n"); ln; ln = strtok(NULL, "\n")) {
        if (!strncmp(ln, "shard 1 ", 8)) {
            snprintf(line, sizeof line, "shard 1 shard-1.pb %zu %016" PRIx64, lenb,
                     s_fnv(other, lenb));
            ln = line;
        }
        fprintf(mf, "%s\n", ln);
    }
    fclose(mf);
    ck_assert_int_eq(dgcn_shard_dir_read(da, 1, &s), DGCN_EFORMAT);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "shard-1.pb"));
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "plan"));
    ck_assert_ptr_null(s.gid);

    free(man);
    free(orig);
    free(other);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    ck_assert_int_eq(system(cmd), 0);
    s_fixture_free(&fa);
    s_fixture_free(&fb);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"methods_valid", test_methods_valid, 0, 0},
        {"seeds_differ", test_seeds_differ, 0, 0},
        {"balance_and_errors", test_balance_and_errors, 0, 0},
        {"bfs_connected_parts", test_bfs_connected_parts, 0, 0},
        {"bfs_unreached_components", test_bfs_unreached_components, 0, 0},
        {"metis_beats_random_on_cora", test_metis_beats_random_on_cora, 0, 0},
        {"required_links_and_stats", test_required_links_and_stats, 0, 0},
        {"drop_cross_edges", test_drop_cross_edges, 0, 0},
        {"shard_invariants", test_shard_invariants, 0, 0},
        {"distributed_spmm", test_distributed_spmm, 0, 0},
        {"build_rejects_bad_input", test_build_rejects_bad_input, 0, 0},
        {"pack_roundtrip", test_pack_roundtrip, 0, 0},
        {"unpack_rejects", test_unpack_rejects, 0, 0},
        {"series_shards", test_series_shards, 0, 0},
        {"plan_files", test_plan_files, 0, 0},
    };
    return DGCN_TEST_SUITE("partition", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
