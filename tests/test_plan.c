/* tests/test_plan.c: the run plan and what the coordinator observes.
 *
 * The topology grammar (accepted and rejected specs, unions, files, the design term), the plan's
 * stages (determinism, the three cross-edge policies, connectivity, removal), the traffic it
 * predicts (recomputed here from the partition alone), and the consensus error and curves. */
#include "coordinator/baseline.h"
#include "coordinator/data_source.h"
#include "coordinator/deadline.h"
#include "coordinator/observe.h"
#include "coordinator/plan.h"
#include "coordinator/rundir.h"
#include "core/error.h"
#include "graph/generate.h"
#include "topologies/generate.h"
#include "topologies/io.h"
#include "topologies/spec.h"

#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the grammar ------------------------------------------------------------------------------ */

static void s_bad_spec(const char *spec, const char *needle) {
    int rc = dgcn_topo_spec_check(spec, 8, NULL);
    ck_assert_msg(rc == DGCN_EINVAL, "'%s' accepted (rc %d)", spec, rc);
    ck_assert_msg(strstr(dgcn_error_msg(), needle), "'%s': message '%s' lacks '%s'", spec,
                  dgcn_error_msg(), needle);
}

START_TEST(test_spec_grammar) {
    dgcn_topo_spec_info in;
    ck_assert_int_eq(dgcn_topo_spec_check("ring", 8, &in), 0);
    ck_assert(in.terms == 1 && !in.needs_required && !in.designed && !in.single_design);
    ck_assert_int_eq(dgcn_topo_spec_check("required+ring+er:0.5", 8, &in), 0);
    ck_assert(in.terms == 3 && in.needs_required && !in.designed);
    ck_assert_int_eq(dgcn_topo_spec_check("designed:0.05", 8, &in), 0);
    ck_assert(in.terms == 1 && in.needs_required && in.designed && in.single_design);
    ck_assert_int_eq(dgcn_topo_spec_check("designed+line", 8, &in), 0);
    ck_assert(in.designed && !in.single_design);
    s_bad_spec("", "empty");
    s_bad_spec("ring+", "empty part");
    s_bad_spec("+ring", "empty part");
    s_bad_spec("ring++line", "empty part");
    s_bad_spec("hexagon", "hexagon");
    s_bad_spec("ring+er:x", "er:x");
    s_bad_spec("designed:", "gamma");
    s_bad_spec("designed:-1", "-1");
    ck_assert_int_eq(dgcn_topo_spec_check("hypercube", 8, NULL), 0);
    ck_assert_int_eq(dgcn_topo_spec_check("hypercube", 6, NULL), DGCN_EINVAL);
}
END_TEST

START_TEST(test_spec_build) {
    dgcn_topo req, ring, line, u, g;
    ck_assert_int_eq(dgcn_topo_init(&req, 6), 0);
    dgcn_topo_set(&req, 0, 3, 1);
    dgcn_topo_set(&req, 1, 4, 1);
    ck_assert_int_eq(dgcn_topo_gen_ring(&ring, 6), 0);
    ck_assert_int_eq(dgcn_topo_gen_line(&line, 6), 0);
    /* a union is the OR of its terms, in any order */
    ck_assert_int_eq(dgcn_topo_spec_build("required+ring", 6, &req, 1, &g, NULL, NULL), 0);
    ck_assert_int_eq(dgcn_topo_union(&u, &req, &ring), 0);
    ck_assert(dgcn_topo_contains(&g, &u) && dgcn_topo_contains(&u, &g));
    ck_assert_int_eq(dgcn_topo_links(&g), 8);
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_spec_build("ring+line", 6, NULL, 1, &g, NULL, NULL), 0);
    ck_assert(dgcn_topo_contains(&g, &ring) && dgcn_topo_contains(&ring, &g));
    dgcn_topo_fini(&g);
    /* required needs the required links */
    ck_assert_int_eq(dgcn_topo_spec_build("required", 6, NULL, 1, &g, NULL, NULL), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "required links"));
    /* a file term takes the rest of the spec, '+' included */
    char dir[] = "/tmp/dgcn-plan-XXXXXX", path[128], spec[160];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a+b.edges", dir);
    ck_assert_int_eq(dgcn_topo_write_edges(&line, path), 0);
    snprintf(spec, sizeof spec, "required+file:%s", path);
    ck_assert_int_eq(dgcn_topo_spec_build(spec, 6, &req, 1, &g, NULL, NULL), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), 5 + 2);
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_spec_build(spec, 6, NULL, 1, &g, NULL, NULL), DGCN_EINVAL);
    snprintf(spec, sizeof spec, "file:%s", path);
    ck_assert_int_eq(dgcn_topo_spec_check(spec, 7, NULL), DGCN_ETOPOLOGY);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "6 agents, expected 7"));
    unlink(path);
    rmdir(dir);
    /* designed: a superset of the required links, with its own weights only when alone */
    double c[36];
    int have_c = -1;
    ck_assert_int_eq(dgcn_topo_spec_build("designed", 6, &req, 1, &g, c, &have_c), 0);
    ck_assert_int_eq(have_c, 1);
    ck_assert(dgcn_topo_contains(&g, &req) && dgcn_topo_connected(&g));
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_spec_build("designed+ring", 6, &req, 1, &g, c, &have_c), 0);
    ck_assert_int_eq(have_c, 0);
    dgcn_topo_fini(&g);
    dgcn_topo_fini(&req);
    dgcn_topo_fini(&ring);
    dgcn_topo_fini(&line);
    dgcn_topo_fini(&u);
}
END_TEST

/* ---- the plan --------------------------------------------------------------------------------- */

static dgcn_dataset s_ds;
static dgcn_csr s_a_hat;

static void s_setup(void) {
    dgcn_data_source src;
    dgcn_data_source_defaults(&src);
    src.nodes = 400;
    src.classes = 4;
    src.features = 40;
    src.feature_nnz = 6;
    src.train_per_class = 10;
    src.val = 50;
    src.test = 100;
    if (dgcn_data_source_open(&src, &s_ds, &s_a_hat)) {
        fprintf(stderr, "test_plan: cannot generate the test graph: %s\n", dgcn_error_msg());
        exit(EXIT_FAILURE);
    }
}

static void s_teardown(void) {
    dgcn_csr_fini(&s_a_hat);
    dgcn_dataset_fini(&s_ds);
}

static dgcn_plan_opts s_opts(int32_t m, const char *topology, const char *cross) {
    dgcn_plan_opts o;
    dgcn_plan_defaults(&o);
    o.agents = m;
    o.partition = "random";
    o.seed = 7;
    o.topology = topology;
    o.cross_edges = cross;
    return o;
}

START_TEST(test_plan_deterministic) {
    dgcn_plan a, b;
    dgcn_plan_opts o = s_opts(6, "exponential", "keep");
    ck_assert_int_eq(dgcn_plan_build(&a, &s_ds, &s_a_hat, &o), 0);
    ck_assert_int_eq(dgcn_plan_build(&b, &s_ds, &s_a_hat, &o), 0);
    ck_assert(a.id == b.id && a.id != 0);
    ck_assert_mem_eq(a.owner, b.owner, sizeof(int32_t) * (size_t)s_ds.n);
    ck_assert(dgcn_topo_equal(&a.topo, &b.topo));
    ck_assert_int_eq(a.c.ptr[6], b.c.ptr[6]);
    ck_assert_mem_eq(a.c.ptr, b.c.ptr, sizeof(int64_t) * 7);
    ck_assert_mem_eq(a.c.col, b.c.col, sizeof(int32_t) * (size_t)a.c.ptr[6]);
    ck_assert_mem_eq(a.c.val, b.c.val, sizeof(double) * (size_t)a.c.ptr[6]);
    for (int32_t k = 0; k < 6; k++) {
        uint8_t *pa = NULL, *pb = NULL;
        size_t la = 0, lb = 0;
        ck_assert_int_eq(dgcn_shard_pack(&a.shards[k], &pa, &la), 0);
        ck_assert_int_eq(dgcn_shard_pack(&b.shards[k], &pb, &lb), 0);
        ck_assert(la == lb && !memcmp(pa, pb, la));
        ck_assert(a.shards[k].plan_id == a.id);
        free(pa);
        free(pb);
    }
    /* another seed, another partition and id */
    o.seed = 8;
    dgcn_plan c;
    ck_assert_int_eq(dgcn_plan_build(&c, &s_ds, &s_a_hat, &o), 0);
    ck_assert(c.id != a.id);
    ck_assert(memcmp(c.owner, a.owner, sizeof(int32_t) * (size_t)s_ds.n) != 0);
    dgcn_plan_fini(&a);
    dgcn_plan_fini(&b);
    dgcn_plan_fini(&c);
}
END_TEST

START_TEST(test_plan_policies) {
    /* A random partition of 6 agents on this graph links every pair; a line lacks 0-2 at least. */
    dgcn_plan p;
    dgcn_plan_opts o = s_opts(6, "line", "strict");
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), DGCN_ETOPOLOGY);
    const char *msg = dgcn_error_msg();
    ck_assert_msg(strstr(msg, "required link") && strstr(msg, "0-2"), "%s", msg);
    ck_assert_msg(!strstr(msg, "0-1") && !strstr(msg, "2-3"), "names a line link: %s", msg);
    dgcn_plan_fini(&p);

    o.cross_edges = "keep";
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), 0);
    ck_assert(dgcn_topo_contains(&p.topo, &p.required));
    ck_assert(p.a_hat == &s_a_hat && p.n_dropped == 0);
    ck_assert_str_eq(p.weights, "mh");
    dgcn_plan_fini(&p);

    o.cross_edges = "drop";
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), 0);
    ck_assert_int_eq(dgcn_topo_links(&p.topo), 5);
    ck_assert(p.n_dropped > 0 && p.a_hat == &p.a_hat_dropped);
    ck_assert_int_eq(p.adj_dropped.nnz, s_ds.adj.nnz - 2 * p.n_dropped);
    /* every remaining cross edge joins linked agents */
    for (int32_t i = 0; i < s_ds.n; i++)
        for (int64_t e = p.adj_dropped.rowptr[i]; e < p.adj_dropped.rowptr[i + 1]; e++) {
            int32_t a = p.owner[i], b = p.owner[p.adj_dropped.col[e]];
            ck_assert(a == b || dgcn_topo_has(&p.topo, a, b));
        }
    dgcn_plan_fini(&p);

    /* consensus needs a connected graph; verify-style plans may go without */
    o = s_opts(6, "file:/nonexistent/x.edges", "drop");
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), DGCN_EIO);
    dgcn_plan_fini(&p);
    dgcn_cross_edges pol;
    ck_assert_int_eq(dgcn_cross_edges_parse("sometimes", &pol), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "sometimes"));
}
END_TEST

/* Policy relay: the topology as given, the model unchanged, routes in the shards that follow
 * shortest paths (checked against the distances), a relayed-bytes prediction equal to the rows the
 * transit entries forward, and routes that survive packing (a corrupted one does not unpack). */
START_TEST(test_plan_relay) {
    dgcn_plan p;
    dgcn_plan_opts o = s_opts(6, "line", "relay");
    ck_assert_msg(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o) == 0, "%s", dgcn_error_msg());
    ck_assert_int_eq(dgcn_topo_links(&p.topo), 5);
    ck_assert(p.a_hat == &s_a_hat && p.n_dropped == 0);
    ck_assert_int_eq(p.cross, DGCN_CROSS_RELAY);
    ck_assert_str_eq(dgcn_cross_edges_name(p.cross), "relay");
    ck_assert_int_eq(p.hops_max, 5); /* agents 0 and 5 share data edges, 5 hops apart */
    int32_t dist[36], queue[6];
    for (int32_t k = 0; k < 6; k++) dgcn_topo_bfs(&p.topo, k, dist + 6 * k, queue);
    ck_assert_int_eq(dist[5], 5);
    int64_t transit = 0, hop_sum = 0;
    uint64_t transit_rows = 0;
    for (int32_t k = 0; k < 6; k++) {
        const dgcn_shard *sh = &p.shards[k];
        ck_assert_int_eq(sh->relay_rounds, 5);
        for (int32_t q = 0; q < sh->n_peers; q++) {
            int32_t t = sh->peer[q], via = sh->peer_via[q];
            ck_assert_int_eq(sh->peer_hops[q], dist[k * 6 + t]);
            ck_assert(dgcn_topo_has(&p.topo, k, via));
            ck_assert_int_eq(dist[via * 6 + t], sh->peer_hops[q] - 1);
            hop_sum += sh->peer_hops[q] - 1;
        }
        for (int32_t e = 0; e < sh->n_transit; e++) {
            const int32_t *f = sh->transit + e * DGCN_SHARD_TRANSIT_FIELDS;
            ck_assert_int_eq(f[DGCN_TRANSIT_POS], dist[f[DGCN_TRANSIT_SRC] * 6 + k]);
            ck_assert_int_eq(f[DGCN_TRANSIT_LEN] - f[DGCN_TRANSIT_POS],
                             dist[k * 6 + f[DGCN_TRANSIT_DST]]);
            ck_assert(dgcn_topo_has(&p.topo, k, f[DGCN_TRANSIT_PREV]));
            ck_assert(dgcn_topo_has(&p.topo, k, f[DGCN_TRANSIT_NEXT]));
            transit_rows += (uint64_t)f[DGCN_TRANSIT_ROWS];
        }
        transit += sh->n_transit;
    }
    ck_assert_int_eq(transit, hop_sum); /* one entry per forwarded hop of every ordered pair */
    const int32_t widths[2] = {16, 4};
    ck_assert_uint_eq(dgcn_plan_relay_bytes(&p, widths, 2), transit_rows * 20 * 4);
    ck_assert_uint_gt(transit_rows, 0);

    /* the routes survive packing; a route through the agent itself does not unpack */
    uint8_t *buf = NULL;
    size_t len = 0;
    dgcn_shard back;
    ck_assert_int_eq(dgcn_shard_pack(&p.shards[2], &buf, &len), 0);
    ck_assert_int_eq(dgcn_shard_unpack(&back, buf, len), 0);
    ck_assert_int_eq(back.relay_rounds, 5);
    ck_assert_int_eq(back.n_transit, p.shards[2].n_transit);
    ck_assert_mem_eq(back.transit, p.shards[2].transit,
                     sizeof(int32_t) * (size_t)back.n_transit * DGCN_SHARD_TRANSIT_FIELDS);
    ck_assert_mem_eq(back.peer_via, p.shards[2].peer_via, sizeof(int32_t) * (size_t)back.n_peers);
    dgcn_shard_fini(&back);
    free(buf);
    p.shards[2].peer_via[0] = 2;
    ck_assert_int_eq(dgcn_shard_pack(&p.shards[2], &buf, &len), 0);
    ck_assert_int_eq(dgcn_shard_unpack(&back, buf, len), DGCN_EFORMAT);
    ck_assert_msg(strstr(dgcn_error_msg(), "route to peer"), "%s", dgcn_error_msg());
    free(buf);
    dgcn_plan_fini(&p);

    /* joined with the required links every pair is one hop and nothing is relayed */
    o.cross_edges = "keep";
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), 0);
    ck_assert_int_eq(p.hops_max, 1);
    ck_assert_uint_eq(dgcn_plan_relay_bytes(&p, widths, 2), 0);
    ck_assert_ptr_null(p.shards[0].peer_via);
    dgcn_plan_fini(&p);
}
END_TEST

START_TEST(test_plan_connected_and_removal) {
    dgcn_plan p;
    /* 'required' under a block partition of a graph with few cross edges is connected here; a
     * removal of half the links keeps it connected, and the policy drop keeps it as drawn */
    dgcn_plan_opts o = s_opts(5, "complete", "drop");
    o.removal = 0.5;
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), 0);
    ck_assert_int_eq(dgcn_topo_links(&p.topo), 5);
    ck_assert(dgcn_topo_connected(&p.topo));
    dgcn_plan_fini(&p);
    /* removing 3 of a 4-ring's 4 links cannot stay connected */
    o = s_opts(4, "ring", "drop");
    o.removal = 0.75;
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), DGCN_ETOPOLOGY);
    dgcn_plan_fini(&p);
    /* one link among 4 agents is disconnected: refused for training, kept when connected = 0 */
    char path[] = "/tmp/dgcn-plan-edges-XXXXXX", spec[64];
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    ck_assert(write(fd, "# agents 4\n0 1\n", 15) == 15);
    close(fd);
    snprintf(spec, sizeof spec, "file:%s", path);
    o = s_opts(4, spec, "drop");
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), DGCN_ETOPOLOGY);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "disconnected"));
    dgcn_plan_fini(&p);
    o.connected = 0;
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), 0);
    ck_assert_int_eq(dgcn_topo_links(&p.topo), 1);
    dgcn_plan_fini(&p);
    unlink(path);
}
END_TEST

/* Halo rows recomputed from the partition alone: for each agent, the distinct foreign nodes
 * adjacent to one of its own. */
static int64_t s_halo_rows(const dgcn_csr *adj, const int32_t *owner, int32_t m, int32_t n) {
    int64_t rows = 0;
    char *seen = calloc((size_t)n, 1);
    for (int32_t k = 0; k < m; k++) {
        memset(seen, 0, (size_t)n);
        for (int32_t i = 0; i < n; i++) {
            if (owner[i] != k) continue;
            for (int64_t e = adj->rowptr[i]; e < adj->rowptr[i + 1]; e++) {
                int32_t j = adj->col[e];
                if (owner[j] != k && !seen[j]) {
                    seen[j] = 1;
                    rows++;
                }
            }
        }
    }
    free(seen);
    return rows;
}

START_TEST(test_plan_bytes) {
    dgcn_plan p;
    dgcn_plan_opts o = s_opts(5, "ring", "keep");
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), 0);
    int64_t rows = s_halo_rows(&s_ds.adj, p.owner, 5, s_ds.n);
    ck_assert(rows > 0);
    int32_t widths[2] = {16, 4};
    ck_assert_uint_eq(dgcn_plan_halo_bytes(&p, widths, 2), (uint64_t)rows * 20 * 4);
    int64_t directed = 2 * dgcn_topo_links(&p.topo);
    /* both halo directions, plus one 100-float message per link direction */
    ck_assert_uint_eq(dgcn_plan_min_bytes(&p, widths, 2, 100),
                      (uint64_t)(2 * rows * 20 * 4 + directed * 100 * 4));
    dgcn_plan_fini(&p);
}
END_TEST

START_TEST(test_plan_setups) {
    dgcn_plan p;
    dgcn_plan_opts o = s_opts(4, "ring", "drop");
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), 0);
    dgcn_run_config cfg = dgcn_run_config_defaults(s_ds.d, s_ds.c);
    dgcn_ctl_setup *s = NULL;
    ck_assert_int_eq(dgcn_plan_setups(&p, &cfg, 1, &s), 0);
    for (int32_t k = 0; k < 4; k++) {
        ck_assert_int_eq(s[k].n_neighbors, 2);
        double row = s[k].mixing[0];
        for (int32_t i = 0; i < s[k].n_neighbors; i++) {
            int32_t t = s[k].neighbors[i];
            ck_assert(dgcn_topo_has(&p.topo, k, t));
            ck_assert(s[k].mixing[i + 1] == dgcn_mixing_get(&p.c, k, t));
            row += s[k].mixing[i + 1];
        }
        ck_assert_double_eq_tol(row, 1.0, 1e-12);
        dgcn_shard sh;
        ck_assert_int_eq(dgcn_shard_unpack(&sh, s[k].shard, s[k].shard_len), 0);
        ck_assert_int_eq(sh.agent, k);
        ck_assert(sh.plan_id == p.id);
        dgcn_shard_fini(&sh);
    }
    dgcn_plan_setups_free(&s, 4);
    ck_assert_ptr_null(s);
    dgcn_plan_fini(&p);
}
END_TEST

/* A schedule's set-up messages: the union of its phases is the topology (relay: as given), and
 * every agent gets one row per phase over its union neighbours, each summing to 1, with 1/2 on its
 * one peer of a one-peer phase; the rows of two peers name each other; a removal is refused. */
START_TEST(test_plan_schedule) {
    const int32_t m = 6;
    dgcn_plan p;
    dgcn_plan_opts o = s_opts(m, "one-peer-exponential", "relay");
    ck_assert_msg(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_eq(p.sched_period, 6); /* H = 3 hops, two halves */
    ck_assert_int_eq(p.sched_every, 1);
    dgcn_run_config cfg = dgcn_run_config_defaults(s_ds.d, s_ds.c);
    dgcn_ctl_setup *s = NULL;
    ck_assert_int_eq(dgcn_plan_setups(&p, &cfg, 0, &s), DGCN_OK);
    int active = 0;
    for (int32_t k = 0; k < m; k++) {
        ck_assert_int_eq(s[k].n_schedule, 6);
        ck_assert_int_eq(s[k].schedule_every, 1);
        const int32_t w = s[k].n_neighbors + 1;
        for (int32_t q = 0; q < 6; q++) {
            const double *row = s[k].schedule + q * w;
            double sum = row[0];
            int peers = 0;
            for (int32_t i = 0; i < s[k].n_neighbors; i++) {
                sum += row[i + 1];
                if (row[i + 1] == 0.0) continue;
                peers++;
                ck_assert(row[i + 1] == 0.5);
                int32_t t = s[k].neighbors[i], j = 0; /* t's row of phase q names k */
                while (s[t].neighbors[j] != k) j++;
                ck_assert(s[t].schedule[q * (s[t].n_neighbors + 1) + j + 1] == 0.5);
            }
            ck_assert_int_le(peers, 1);
            active += peers;
            ck_assert_double_eq_tol(sum, 1.0, 1e-12);
        }
    }
    ck_assert_int_gt(active, 6 * m / 2);
    dgcn_plan_setups_free(&s, m);
    dgcn_plan_fini(&p);
    o.removal = 0.2;
    ck_assert_int_eq(dgcn_plan_build(&p, &s_ds, &s_a_hat, &o), DGCN_EINVAL);
    dgcn_plan_fini(&p);
}
END_TEST

/* ---- observations ----------------------------------------------------------------------------- */

START_TEST(test_consensus_error) {
    double mean[2];
    /* copies (0,0), (1,0), (2,0): mean (1,0), distances 1, 0, 1: the largest is 1 (a sum over
     * copies would give sqrt 2, a mean sqrt(2/3)) */
    const float a[] = {0, 0, 1, 0, 2, 0};
    ck_assert_double_eq_tol(dgcn_observe_consensus_error(a, 3, 2, mean), 1.0, 1e-12);
    /* one copy far out: (0,0) x3 and (4,0): mean (1,0); distances 1,1,1,3 */
    const float b[] = {0, 0, 0, 0, 0, 0, 4, 0};
    ck_assert_double_eq_tol(dgcn_observe_consensus_error(b, 4, 2, mean), 3.0, 1e-12);
    /* relative to the mean's norm */
    const float c[] = {2, 0, 4, 0};
    ck_assert_double_eq_tol(dgcn_observe_consensus_error(c, 2, 2, mean), 1.0 / 3.0, 1e-12);
    /* at consensus: 0; with a zero mean: the absolute distance */
    const float d[] = {1, 2, 1, 2};
    ck_assert(dgcn_observe_consensus_error(d, 2, 2, mean) == 0.0);
    const float e[] = {1, 0, -1, 0};
    ck_assert_double_eq_tol(dgcn_observe_consensus_error(e, 2, 2, mean), 1.0, 1e-12);
}
END_TEST

START_TEST(test_curve_iters_to_loss) {
    dgcn_curve c;
    ck_assert_int_eq(dgcn_curve_init(&c, 3), 0);
    /* seed means per iteration: 0 -> 2.0, 10 -> 1.2, 20 -> 0.6 */
    ck_assert_int_eq(dgcn_curve_add(&c, 3, 0, 2.0, 0), 0);
    ck_assert_int_eq(dgcn_curve_add(&c, 3, 10, 1.0, 0.5), 0);
    ck_assert_int_eq(dgcn_curve_add(&c, 3, 20, 0.5, 0.25), 0);
    ck_assert_int_eq(dgcn_curve_add(&c, 3, 0, 2.0, 0), 0);
    ck_assert_int_eq(dgcn_curve_add(&c, 3, 10, 1.4, NAN), 0);
    ck_assert_int_eq(dgcn_curve_add(&c, 3, 20, 0.7, 0.1), 0);
    ck_assert_int_eq(c.n, 3);
    ck_assert_double_eq_tol(dgcn_curve_loss(&c, 1), 1.2, 1e-12);
    ck_assert(isnan(dgcn_curve_consensus(&c, 1)));
    ck_assert_double_eq_tol(dgcn_curve_consensus(&c, 2), 0.175, 1e-12);
    ck_assert_int_eq(dgcn_curve_iters_to_loss(&c, 1.2 + 1e-12), 10);
    ck_assert_int_eq(dgcn_curve_iters_to_loss(&c, 1.19), 20);
    ck_assert_int_eq(dgcn_curve_iters_to_loss(&c, 0.59), -1);
    ck_assert_int_eq(dgcn_curve_iters_to_loss(&c, 5), 0);
    ck_assert_int_eq(dgcn_curve_iters_to_loss(&c, 2.0), 0); /* reaching the target counts */
    /* a fourth iteration does not fit */
    ck_assert_int_eq(dgcn_curve_add(&c, 3, 30, 0.1, 0), DGCN_EINVAL);
    dgcn_curve_fini(&c);
}
END_TEST

/* The automatic deadline follows the work of a report interval: the floor for a small run; for
 * Cora-sized messages over 1,000 agents on 2 cores with 51 gossip rounds (the run that died at 40
 * s), far above it, and growing with the rounds, the iterations per report and the agents per
 * core; an explicit deadline is used as given and flagged when the work exceeds it. */
START_TEST(test_deadline_follows_work) {
    dgcn_deadline_work small = {.agents = 3,
                                .cores = 2,
                                .iters_per_report = 10,
                                .halo_exchanges = 4,
                                .gossip_rounds = 1,
                                .halo_bytes = 1e4,
                                .params_bytes = 1e5,
                                .params_bytes_max = 5e4,
                                .flops = 1e6};
    dgcn_deadline d;
    dgcn_deadline_choose(&small, 0, &d);
    ck_assert_int_eq(d.deadline_ms, DGCN_DEADLINE_FLOOR_MS);
    ck_assert_int_eq(d.agent_deadline_ms, DGCN_DEADLINE_FLOOR_MS);
    ck_assert_int_eq(d.automatic, 1);
    ck_assert(!dgcn_deadline_notable(&d));
    /* Cora ring over 1,000 agents: 7,048 directed links x 184,504-byte gt-adam messages */
    dgcn_deadline_work big = {.agents = 1000,
                              .cores = 2,
                              .iters_per_report = 10,
                              .halo_exchanges = 4,
                              .gossip_rounds = 51,
                              .halo_bytes = 1.2e6,
                              .params_bytes = 7048 * 184504.0,
                              .params_bytes_max = 2 * 4 * 184504.0,
                              .flops = 1e8};
    dgcn_deadline_choose(&big, 0, &d);
    ck_assert_int_eq(d.agents_per_core, 500);
    ck_assert_msg(d.deadline_ms > 10 * DGCN_DEADLINE_FLOOR_MS, "deadline %d ms", d.deadline_ms);
    ck_assert_int_eq(d.deadline_ms, (int)ceil(d.interval_ms));
    /* the agents wait for one exchange: one iteration's allowance, not the interval's */
    ck_assert_msg(d.agent_deadline_ms > DGCN_DEADLINE_FLOOR_MS &&
                      d.agent_deadline_ms < d.deadline_ms / 5,
                  "agents' deadline %d ms, the coordinator's %d", d.agent_deadline_ms,
                  d.deadline_ms);
    ck_assert(dgcn_deadline_notable(&d));
    double base = d.interval_ms;
    big.gossip_rounds = 102;
    dgcn_deadline_choose(&big, 0, &d);
    ck_assert_msg(d.interval_ms > 1.9 * base, "twice the rounds: %g vs %g ms", d.interval_ms, base);
    big.gossip_rounds = 51;
    big.iters_per_report = 20;
    dgcn_deadline_choose(&big, 0, &d);
    ck_assert_msg(d.interval_ms > 1.9 * base, "twice the iterations: %g vs %g", d.interval_ms,
                  base);
    big.iters_per_report = 10;
    big.cores = 1;
    dgcn_deadline_choose(&big, 0, &d);
    ck_assert_msg(d.interval_ms > 1.9 * base, "half the cores: %g vs %g", d.interval_ms, base);
    /* an override is the deadline, whatever the work */
    dgcn_deadline_choose(&big, 4000, &d);
    ck_assert_int_eq(d.deadline_ms, 4000);
    ck_assert_int_eq(d.agent_deadline_ms, 4000);
    ck_assert_int_eq(d.automatic, 0);
    ck_assert(d.interval_ms > 4000 && dgcn_deadline_notable(&d));
    /* huge work stays a finite deadline */
    big.gossip_rounds = 1024;
    big.iters_per_report = INT64_C(1) << 40;
    dgcn_deadline_choose(&big, 0, &d);
    ck_assert_int_eq(d.deadline_ms, DGCN_DEADLINE_MAX_MS);
}
END_TEST

/* Effectively centralized: more than 90 % of the pairs linked, or a per-iteration contraction
 * below 1e-3 (SLEM^R); a NaN contraction (no mixing matrix) never flags. */
START_TEST(test_observe_centralized) {
    char why[256];
    ck_assert_int_eq(dgcn_observe_centralized(10, 5, 0.5, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "10 of 10 agent pairs"));
    ck_assert_int_eq(dgcn_observe_centralized(9, 5, 0.5, why, sizeof why), 0); /* exactly 90 % */
    ck_assert_str_eq(why, "");
    ck_assert_int_eq(dgcn_observe_centralized(20, 20, 0.967, why, sizeof why), 0);
    double q = dgcn_observe_gossip_contraction(0.967, 400);
    ck_assert_double_eq_tol(q, pow(0.967, 400), 1e-18);
    ck_assert_int_eq(dgcn_observe_centralized(20, 20, q, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "shrinks by"));
    ck_assert_ptr_null(strstr(why, "pairs"));
    ck_assert_int_eq(dgcn_observe_centralized(20, 20, 1.1e-3, why, sizeof why), 0);
    ck_assert_int_eq(dgcn_observe_centralized(0, 1, NAN, why, sizeof why), 0);
    ck_assert_int_eq(dgcn_observe_centralized(1, 2, 0, why, sizeof why), 1); /* both reasons */
    ck_assert_ptr_nonnull(strstr(why, "; "));
}
END_TEST

/* A plan for more agents than any dense table allows (DGCN_TOPO_DENSE_MAX): a ring over 5,000
 * agents of a 10,000-node graph with MH weights 1/3 on sparse rows; hops per exchange under relay
 * equal the ring distance of the farthest required pair (computed here in closed form); the dense
 * 'designed' term is refused naming the bound. */
START_TEST(test_plan_many_agents) {
    dgcn_data_source src;
    dgcn_dataset ds;
    dgcn_csr a_hat;
    dgcn_data_source_defaults(&src);
    src.nodes = 10000;
    src.classes = 4;
    src.features = 20;
    src.feature_nnz = 4;
    src.train_per_class = 10;
    src.val = 50;
    src.test = 100;
    ck_assert_msg(dgcn_data_source_open(&src, &ds, &a_hat) == 0, "%s", dgcn_error_msg());
    int32_t m = DGCN_TOPO_DENSE_MAX + 904;
    dgcn_plan p;
    dgcn_plan_opts o = s_opts(m, "ring", "relay");
    o.partition = "block";
    o.shards = 0;
    ck_assert_msg(dgcn_plan_build(&p, &ds, &a_hat, &o) == 0, "%s", dgcn_error_msg());
    ck_assert_int_eq(dgcn_topo_links(&p.topo), m);
    ck_assert_int_eq(p.c.ptr[m], 3 * (int64_t)m);
    int32_t nb[2], want_hops = 0;
    double row[3];
    for (int32_t k = 0; k < m; k++) {
        ck_assert_int_eq(dgcn_plan_neighbors(&p, k, nb, row), 2);
        ck_assert(row[0] == 1.0 - 2.0 / 3 && row[1] == 1.0 / 3 && row[2] == 1.0 / 3);
        int32_t deg;
        const int32_t *req = dgcn_topo_neighbors(&p.required, k, &deg);
        for (int32_t i = 0; i < deg; i++) {
            int32_t d = abs(req[i] - k) < m - abs(req[i] - k) ? abs(req[i] - k)
                                                              : m - abs(req[i] - k);
            if (d > want_hops) want_hops = d;
        }
    }
    ck_assert_int_gt(want_hops, 1);
    ck_assert_int_eq(p.hops_max, want_hops);
    dgcn_plan_fini(&p);
    o = s_opts(m, "designed", "keep");
    o.partition = "block";
    o.shards = 0;
    ck_assert_int_eq(dgcn_plan_build(&p, &ds, &a_hat, &o), DGCN_EINVAL);
    char bound[16];
    snprintf(bound, sizeof bound, "%d", DGCN_TOPO_DENSE_MAX);
    ck_assert_msg(strstr(dgcn_error_msg(), bound), "%s", dgcn_error_msg());
    dgcn_plan_fini(&p);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
}
END_TEST

/* summary.json is all or nothing: written to summary.json.tmp and renamed, and whatever way the
 * write fails (the caller's failure path discards it, or the rename itself fails) no
 * summary.json.tmp is left in the run directory. */
START_TEST(test_rundir_no_temporary_left) {
    char dir[] = "/tmp/dgcn-rundir-XXXXXX", tmp[128], sum[128], inner[160];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(tmp, sizeof tmp, "%s/summary.json.tmp", dir);
    snprintf(sum, sizeof sum, "%s/summary.json", dir);
    snprintf(inner, sizeof inner, "%s/x", sum);
    FILE *f = NULL;
    /* a failure between opening and committing: the caller's fail path discards */
    ck_assert_int_eq(dgcn_rundir_fopen_tmp(dir, "summary.json", &f), DGCN_OK);
    fputs("{\"partial\":", f);
    dgcn_rundir_discard(&f, dir, "summary.json");
    ck_assert_ptr_null(f);
    ck_assert_msg(access(tmp, F_OK) != 0, "%s left after a discarded write", tmp);
    ck_assert_msg(access(sum, F_OK) != 0, "%s written by a discarded write", sum);
    dgcn_rundir_discard(&f, dir, "summary.json"); /* nothing open: a no-op */
    /* the rename fails (summary.json is a non-empty folder): DGCN_EIO, no temporary */
    ck_assert_int_eq(mkdir(sum, 0700), 0);
    ck_assert_int_eq(mkdir(inner, 0700), 0);
    ck_assert_int_eq(dgcn_rundir_fopen_tmp(dir, "summary.json", &f), DGCN_OK);
    fputs("{}\n", f);
    ck_assert_int_eq(dgcn_rundir_commit(&f, dir, "summary.json"), DGCN_EIO);
    ck_assert_ptr_null(f);
    ck_assert_msg(access(tmp, F_OK) != 0, "%s left after a failed commit", tmp);
    ck_assert_int_eq(rmdir(inner), 0);
    ck_assert_int_eq(rmdir(sum), 0);
    /* and a commit that succeeds leaves the file and no temporary */
    ck_assert_int_eq(dgcn_rundir_fopen_tmp(dir, "summary.json", &f), DGCN_OK);
    fputs("{}\n", f);
    ck_assert_int_eq(dgcn_rundir_commit(&f, dir, "summary.json"), DGCN_OK);
    ck_assert_int_eq(access(sum, F_OK), 0);
    ck_assert_msg(access(tmp, F_OK) != 0, "%s left after a commit", tmp);
    ck_assert_int_eq(unlink(sum), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* The centralized baseline trained on the nodes renumbered in reverse Cuthill-McKee order gives
 * the figures of the baseline in the dataset's order: the same dropout masks (keyed by the original
 * ids), the same rows, only the order of the sums in A_hat's rows differs. */
START_TEST(test_baseline_reorder) {
    dgcn_dataset ds = {0};
    dgcn_csr a_hat = {0};
    dgcn_csbm_params p = dgcn_csbm_defaults();
    p.n = 600;
    p.c = 4;
    p.avg_degree = 6;
    p.d = 60;
    p.feat_nnz = 8;
    p.train_per_class = 10;
    p.n_val = 100;
    p.n_test = 200;
    p.seed = 5;
    ck_assert_int_eq(dgcn_generate_csbm(&ds, &p), DGCN_OK);
    ck_assert_int_eq(dgcn_dataset_preprocess(&ds, 1), DGCN_OK);
    ck_assert_int_eq(dgcn_csr_gcn_norm(&a_hat, &ds.adj), DGCN_OK);
    dgcn_baseline_opts o = dgcn_baseline_defaults(DGCN_MODEL_GCN, &ds);
    ck_assert_int_eq(o.reorder, 1);
    o.epochs = 30;
    o.seed = 3;
    dgcn_baseline_result r0, r1;
    o.reorder = 0;
    ck_assert_int_eq(dgcn_baseline_run(&ds, &a_hat, &o, &r0), DGCN_OK);
    o.reorder = 1;
    ck_assert_int_eq(dgcn_baseline_run(&ds, &a_hat, &o, &r1), DGCN_OK);
    ck_assert_double_le(fabs(r1.train_loss - r0.train_loss), 1e-5 * r0.train_loss);
    ck_assert_double_le(fabs(r1.val_loss - r0.val_loss), 1e-5 * r0.val_loss);
    ck_assert_double_le(fabs(r1.train_xent - r0.train_xent), 1e-5 * r0.train_xent);
    ck_assert_double_le(fabs(r1.test_acc - r0.test_acc), 1.0 / p.n_test + 1e-12);
    ck_assert_double_gt(r0.test_acc, 0.5); /* it learned something */
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"spec_grammar", test_spec_grammar, 0, 10},
        {"baseline_reorder", test_baseline_reorder, 0, 30},
        {"spec_build", test_spec_build, 0, 30},
        {"plan_deterministic", test_plan_deterministic, 0, 30},
        {"plan_policies", test_plan_policies, 0, 30},
        {"plan_relay", test_plan_relay, 0, 30},
        {"plan_connected_and_removal", test_plan_connected_and_removal, 0, 30},
        {"plan_bytes", test_plan_bytes, 0, 30},
        {"plan_setups", test_plan_setups, 0, 30},
        {"plan_schedule", test_plan_schedule, 0, 30},
        {"plan_many_agents", test_plan_many_agents, 0, 120},
        {"consensus_error", test_consensus_error, 0, 10},
        {"curve_iters_to_loss", test_curve_iters_to_loss, 0, 10},
        {"deadline_follows_work", test_deadline_follows_work, 0, 10},
        {"observe_centralized", test_observe_centralized, 0, 10},
        {"rundir_no_temporary_left", test_rundir_no_temporary_left, 0, 10},
    };
    Suite *s = DGCN_TEST_SUITE("plan", cases);
    return s;
}

int main(void) {
    s_setup();
    int rc = dgcn_test_run(s_suite());
    s_teardown();
    return rc;
}
