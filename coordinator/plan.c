/* coordinator/plan.c: building a run plan stage by stage (see plan.h). */
#include "coordinator/plan.h"

#include "core/error.h"
#include "core/rng.h"
#include "core/signal.h"
#include "graph/partition.h"
#include "topologies/schedule.h"
#include "topologies/spec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dgcn_cross_edges_parse(const char *name, dgcn_cross_edges *out) {
    if (name && !strcmp(name, "keep")) *out = DGCN_CROSS_KEEP;
    else if (name && !strcmp(name, "drop")) *out = DGCN_CROSS_DROP;
    else if (name && !strcmp(name, "strict")) *out = DGCN_CROSS_STRICT;
    else if (name && !strcmp(name, "relay")) *out = DGCN_CROSS_RELAY;
    else
        return dgcn_error_set(DGCN_EINVAL, "--cross-edges %s (keep|drop|strict|relay)",
                              name ? name : "(null)");
    return DGCN_OK;
}

const char *dgcn_cross_edges_name(dgcn_cross_edges p) {
    switch (p) {
    case DGCN_CROSS_KEEP: return "keep";
    case DGCN_CROSS_DROP: return "drop";
    case DGCN_CROSS_STRICT: return "strict";
    default: return "relay";
    }
}

void dgcn_plan_defaults(dgcn_plan_opts *o) {
    memset(o, 0, sizeof *o);
    o->agents = 1;
    o->partition = "bfs";
    o->seed = 1;
    o->topology = "designed";
    o->removal = 0;
    o->cross_edges = "keep";
    o->weights = "auto";
    o->connected = 1;
    o->shards = 1;
}

void dgcn_plan_fini(dgcn_plan *p) {
    for (int32_t k = 0; p->shards && k < p->m; k++) dgcn_shard_fini(&p->shards[k]);
    free(p->shards);
    free(p->owner);
    dgcn_mixing_fini(&p->c);
    for (int32_t q = 0; p->sched_c && q < p->sched_period; q++) dgcn_mixing_fini(&p->sched_c[q]);
    free(p->sched_c);
    dgcn_topo_fini(&p->required);
    dgcn_topo_fini(&p->topo);
    dgcn_csr_fini(&p->adj_dropped);
    dgcn_csr_fini(&p->a_hat_dropped);
    memset(p, 0, sizeof *p);
}

/* FNV-1a 64 over the dataset's name and sizes, the method, seed, M and the owner array. */
static uint64_t s_plan_id(const dgcn_dataset *ds, const char *method, uint64_t seed, int32_t m,
                          const int32_t *owner) {
    uint64_t h = 0xcbf29ce484222325ull;
#define S_MIX(p, n)                                                                                \
    for (size_t i_ = 0; i_ < (size_t)(n); i_++)                                                    \
    h = (h ^ ((const uint8_t *)(p))[i_]) * 0x100000001b3ull
    S_MIX(ds->name, strlen(ds->name));
    S_MIX(&ds->n, sizeof ds->n);
    S_MIX(&ds->n_edges, sizeof ds->n_edges);
    S_MIX(method, strlen(method));
    S_MIX(&seed, sizeof seed);
    S_MIX(&m, sizeof m);
    S_MIX(owner, (size_t)ds->n * sizeof *owner);
#undef S_MIX
    return dgcn_mix64(h);
}

/* Stage 3 without the connectivity check: the spec's graph, the removal, the policy. *have_c when
 * design (m, m; NULL unless the spec is one 'designed' term) holds the design's matrix for the
 * final graph. */
static int s_topology(dgcn_plan *p, const dgcn_plan_opts *o, double *design, int *have_c) {
    int rc = DGCN_OK;
    dgcn_topo spec = {0}, cut = {0};
    int32_t m = p->m;
    DGCN_CHECK(dgcn_topo_spec_build(o->topology, m, &p->required, o->seed, &spec, design, have_c));
    if (o->removal > 0) {
        rc = dgcn_topo_remove_links(&cut, &spec, o->removal, o->seed, DGCN_REMOVE_RETRY);
        if (rc == DGCN_ETOPOLOGY) {
            dgcn_topo_fini(&cut);
            rc = dgcn_topo_remove_links(&cut, &spec, o->removal, o->seed, DGCN_REMOVE_KEEP_TREE);
        }
        if (rc) goto fail;
        *have_c = 0;
    } else {
        cut = spec;
        memset(&spec, 0, sizeof spec);
    }
    if (p->cross == DGCN_CROSS_KEEP) {
        DGCN_CHECK(dgcn_topo_union(&p->topo, &cut, &p->required));
        if (*have_c && dgcn_topo_links(&p->topo) != dgcn_topo_links(&cut)) *have_c = 0;
    } else {
        p->topo = cut;
        memset(&cut, 0, sizeof cut);
    }
    if (p->cross == DGCN_CROSS_STRICT && !dgcn_topo_contains(&p->topo, &p->required)) {
        char missing[1024];
        size_t used = 0;
        int64_t n_missing = 0;
        for (int32_t k = 0; k < m; k++) {
            int32_t deg;
            const int32_t *nb = dgcn_topo_neighbors(&p->required, k, &deg);
            for (int32_t i = 0; i < deg; i++) {
                int32_t t = nb[i];
                if (t < k || dgcn_topo_has(&p->topo, k, t)) continue;
                n_missing++;
                if (used + 32 < sizeof missing)
                    used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d-%d",
                                             n_missing > 1 ? ", " : "", k, t);
            }
        }
        DGCN_CHECK(dgcn_error_set(DGCN_ETOPOLOGY,
                                  "topology %s over %d agents lacks %" PRId64
                                  " required link(s) (data peers that are not neighbours): %s%s; "
                                  "--cross-edges keep adds them, drop drops those data edges, "
                                  "relay forwards their rows along shortest paths",
                                  o->topology, m, n_missing, missing,
                                  used + 32 >= sizeof missing ? ", ..." : ""));
    }
fail:
    dgcn_topo_fini(&spec);
    dgcn_topo_fini(&cut);
    return rc;
}

/* p->hops_max over the n required pairs (k < t, increasing): 1 for a pair with a link, else its
 * distance from one breadth-first search from k (done once per k, only for a k with such a pair).
 * O(pairs log deg + (agents searched) (m + links)) time, O(m) memory. */
static int s_hops(dgcn_plan *p, const dgcn_plan_opts *o, const int32_t *pairs, int64_t n) {
    int rc = DGCN_OK;
    int32_t m = p->m, *dist = NULL, *queue = NULL, from = -1;
    DGCN_ALLOC(dist, m);
    DGCN_ALLOC(queue, m);
    for (int64_t i = 0; i < n; i++) {
        int32_t k = pairs[2 * i], t = pairs[2 * i + 1], d = 1;
        if (!dgcn_topo_has(&p->topo, k, t)) {
            if (from != k) dgcn_topo_bfs(&p->topo, k, dist, queue), from = k;
            d = dist[t];
        }
        if (d < 0)
            DGCN_CHECK(dgcn_error_set(DGCN_ETOPOLOGY,
                                      "topology %s over %d agents: agents %d and %d share "
                                      "data edges but no path joins them",
                                      o->topology, m, k, t));
        if (d > p->hops_max) p->hops_max = d;
    }
fail:
    free(dist);
    free(queue);
    return rc;
}

/* The route from s to t (s < t) given dist (m), the hop distances to t: path[0] = s, ...,
 * path[len] = t, each step to the neighbour with the smallest id one hop closer to t; -1 when t is
 * unreachable. route(t, s) is its reverse. */
static int32_t s_route(const dgcn_plan *p, const int32_t *dist, int32_t s, int32_t *path) {
    int32_t len = dist[s];
    path[0] = s;
    for (int32_t h = 1; h <= len; h++) {
        int32_t deg;
        const int32_t *nb = dgcn_topo_neighbors(&p->topo, path[h - 1], &deg);
        for (int32_t i = 0; i < deg; i++)
            if (dist[nb[i]] == len - h) {
                path[h] = nb[i];
                break;
            }
    }
    return len;
}

static int32_t s_peer_index(const dgcn_shard *sh, int32_t agent) {
    for (int32_t q = 0; q < sh->n_peers; q++)
        if (sh->peer[q] == agent) return q;
    return -1;
}

/* Fills the shards' relay fields (graph/shard.h) from the routes between every pair of peers. The
 * routes come first, one breadth-first search per agent t that has a peer s < t without a link
 * (the routes to t need the distances to t), stored per (s, peer index); then two passes over the
 * pairs in increasing (s, peer) order, the first counting each agent's transit entries.
 * O(searches (m + links) + route hops) time, O(m + route hops) memory. */
static int s_routes(dgcn_plan *p) {
    int rc = DGCN_OK;
    int32_t m = p->m, *fill = NULL, *dist = NULL, *queue = NULL, *paths = NULL;
    int64_t *first = NULL, *off = NULL, n_paths = 0, cap = 0;
    DGCN_ALLOC(fill, m);
    DGCN_ALLOC(dist, m);
    DGCN_ALLOC(queue, m);
    DGCN_ALLOC(first, (int64_t)m + 1);
    for (int32_t k = 0; k < m; k++) first[k + 1] = first[k] + p->shards[k].n_peers;
    DGCN_ALLOC(off, first[m] + 1);
    for (int64_t i = 0; i <= first[m]; i++) off[i] = -1;
    /* routes s -> t for every s < t peer of t, into paths at off[first[s] + q] (len, path) */
    for (int32_t t = 0; t < m; t++) {
        const dgcn_shard *st = &p->shards[t];
        int searched = 0;
        for (int32_t qt = 0; qt < st->n_peers; qt++) {
            int32_t s = st->peer[qt], q = s_peer_index(&p->shards[s], t);
            if (s > t || q < 0) continue;
            if (!dgcn_topo_has(&p->topo, s, t) && !searched) {
                dgcn_topo_bfs(&p->topo, t, dist, queue);
                searched = 1;
            }
            int32_t len = dgcn_topo_has(&p->topo, s, t) ? 1 : dist[s];
            if (len < 1) continue; /* reported in the passes below, in pair order */
            if (n_paths + len + 2 > cap) {
                int64_t c2 = 2 * cap > n_paths + len + 2 ? 2 * cap : n_paths + len + 2 + 1024;
                int32_t *grown = realloc(paths, (size_t)c2 * sizeof *paths);
                if (!grown)
                    DGCN_CHECK(dgcn_error_set(DGCN_ENOMEM, "plan: out of memory for relay routes"));
                paths = grown;
                cap = c2;
            }
            off[first[s] + q] = n_paths;
            paths[n_paths] = len;
            if (len == 1) paths[n_paths + 1] = s, paths[n_paths + 2] = t;
            else s_route(p, dist, s, paths + n_paths + 1);
            n_paths += len + 2;
        }
    }
    for (int32_t k = 0; k < m; k++) {
        dgcn_shard *sh = &p->shards[k];
        sh->relay_rounds = p->hops_max > 0 ? p->hops_max : 1;
        DGCN_ALLOC(sh->peer_via, sh->n_peers);
        DGCN_ALLOC(sh->peer_hops, sh->n_peers);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int32_t s = 0; s < m; s++) {
            const dgcn_shard *ss = &p->shards[s];
            for (int32_t q = 0; q < ss->n_peers; q++) {
                int32_t t = ss->peer[q];
                if (t < s) continue;
                int64_t at = off[first[s] + q];
                int32_t len = at < 0 ? -1 : paths[at];
                const int32_t *path = at < 0 ? NULL : paths + at + 1;
                int32_t qt = s_peer_index(&p->shards[t], s);
                if (len < 1 || qt < 0)
                    DGCN_CHECK(dgcn_error_set(DGCN_ETOPOLOGY,
                                              "plan: no relay route between agents %d and %d", s,
                                              t));
                if (pass == 1) {
                    p->shards[s].peer_via[q] = path[1];
                    p->shards[s].peer_hops[q] = len;
                    p->shards[t].peer_via[qt] = path[len - 1];
                    p->shards[t].peer_hops[qt] = len;
                }
                const dgcn_shard *st = &p->shards[t];
                int32_t rows_st = ss->send_ptr[q + 1] - ss->send_ptr[q];
                int32_t rows_ts = st->send_ptr[qt + 1] - st->send_ptr[qt];
                for (int32_t h = 1; h < len; h++) {
                    dgcn_shard *via = &p->shards[path[h]];
                    if (pass == 0) {
                        via->n_transit += 2;
                        continue;
                    }
                    /* s -> t at position h, and t -> s at position len - h */
                    int32_t *e = via->transit + (size_t)fill[path[h]]++ * DGCN_SHARD_TRANSIT_FIELDS;
                    e[DGCN_TRANSIT_SRC] = s;
                    e[DGCN_TRANSIT_DST] = t;
                    e[DGCN_TRANSIT_ROWS] = rows_st;
                    e[DGCN_TRANSIT_POS] = h;
                    e[DGCN_TRANSIT_LEN] = len;
                    e[DGCN_TRANSIT_PREV] = path[h - 1];
                    e[DGCN_TRANSIT_NEXT] = path[h + 1];
                    e = via->transit + (size_t)fill[path[h]]++ * DGCN_SHARD_TRANSIT_FIELDS;
                    e[DGCN_TRANSIT_SRC] = t;
                    e[DGCN_TRANSIT_DST] = s;
                    e[DGCN_TRANSIT_ROWS] = rows_ts;
                    e[DGCN_TRANSIT_POS] = len - h;
                    e[DGCN_TRANSIT_LEN] = len;
                    e[DGCN_TRANSIT_PREV] = path[h + 1];
                    e[DGCN_TRANSIT_NEXT] = path[h - 1];
                }
            }
        }
        if (pass == 0)
            for (int32_t k = 0; k < m; k++)
                DGCN_ALLOC(p->shards[k].transit,
                           (size_t)p->shards[k].n_transit * DGCN_SHARD_TRANSIT_FIELDS);
    }
fail:
    free(fill);
    free(dist);
    free(queue);
    free(first);
    free(off);
    free(paths);
    return rc;
}

/* The phases of a schedule spec and their Metropolis-Hastings matrices (after stage 4). A removal
 * would cut links a phase needs: refused. */
static int s_schedule(dgcn_plan *p, const dgcn_plan_opts *o) {
    int rc = DGCN_OK;
    dgcn_topo_schedule s;
    if (o->removal > 0)
        return dgcn_error_set(DGCN_EINVAL,
                              "topology %s: a schedule takes no link removal (--remove %g)",
                              o->topology, o->removal);
    DGCN_CHECK(dgcn_topo_schedule_build(&s, o->topology, p->m, o->seed));
    DGCN_ALLOC(p->sched_c, s.period);
    p->sched_period = s.period;
    p->sched_every = s.every;
    for (int32_t q = 0; q < s.period; q++)
        DGCN_CHECK(dgcn_topo_weights_sparse(&s.phases[q], DGCN_MIX_MH, &p->sched_c[q]));
fail:
    dgcn_topo_schedule_fini(&s);
    return rc;
}

int dgcn_plan_build(dgcn_plan *p, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                    const dgcn_plan_opts *o) {
    int rc = DGCN_OK;
    int32_t *pairs = NULL;
    int64_t n_pairs = 0;
    double *design = NULL;
    dgcn_partition_method pm;
    int32_t m = o->agents;
    memset(p, 0, sizeof *p);
    p->m = m;
    p->n = ds->n;
    p->a_hat = a_hat;
    DGCN_CHECK(dgcn_partition_method_parse(o->partition, &pm));
    DGCN_CHECK(dgcn_cross_edges_parse(o->cross_edges, &p->cross));
    dgcn_mixing_rule rule = DGCN_MIX_MH;
    int auto_weights = !o->weights || !strcmp(o->weights, "auto");
    if (!auto_weights) DGCN_CHECK(dgcn_topo_weights_parse(o->weights, &rule));
    if (m < 1 || m > ds->n)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "--agents %d: need 1 to %d (the nodes)", m, ds->n));
    if (!(o->removal >= 0 && o->removal < 1))
        DGCN_CHECK(
            dgcn_error_set(DGCN_EINVAL, "link removal %g: a fraction in [0, 1)", o->removal));
    dgcn_topo_spec_info info;
    memset(&info, 0, sizeof info);
    if (o->topology) DGCN_CHECK(dgcn_topo_spec_check(o->topology, m, &info));

    /* 1-2: partition and required links */
    DGCN_ALLOC(p->owner, ds->n);
    DGCN_CHECK(dgcn_partition(&ds->adj, m, pm, o->seed, p->owner));
    DGCN_CHECK(dgcn_partition_required_pairs(&ds->adj, p->owner, m, &pairs, &n_pairs));
    DGCN_CHECK(dgcn_topo_from_pairs(&p->required, m, pairs, n_pairs));
    p->id = s_plan_id(ds, o->partition, o->seed, m, p->owner);
    /* the stop flag between the stages (the design and the eigensolvers look at it inside) */
    DGCN_CHECK(dgcn_signal_check("planning"));

    /* 3-4: topology and weights */
    if (o->topology) {
        int have_c = 0;
        if (info.single_design && m <= DGCN_TOPO_DENSE_MAX) DGCN_ALLOC(design, (size_t)m * m);
        DGCN_CHECK(s_topology(p, o, design, &have_c));
        if (o->connected && !dgcn_topo_connected(&p->topo))
            DGCN_CHECK(dgcn_error_set(DGCN_ETOPOLOGY,
                                      "topology %s over %d agents is disconnected; "
                                      "the agents could not reach consensus (--topology designed "
                                      "always connects them; with --cross-edges keep a family such "
                                      "as ring is joined to the required links)",
                                      o->topology, m));
        if (have_c && auto_weights) {
            DGCN_CHECK(dgcn_mixing_from_dense(&p->c, &p->topo, design));
            snprintf(p->weights, sizeof p->weights, "design");
        } else {
            DGCN_CHECK(dgcn_topo_weights_sparse(&p->topo, rule, &p->c));
            snprintf(p->weights, sizeof p->weights, "%s", dgcn_topo_weights_name(rule));
        }
        if (info.schedule) DGCN_CHECK(s_schedule(p, o));
        if (p->cross == DGCN_CROSS_DROP) {
            int32_t *links = NULL;
            int64_t n_links = 0;
            DGCN_CHECK(dgcn_topo_to_pairs(&p->topo, &links, &n_links));
            rc = dgcn_partition_drop_cross_edges(&p->adj_dropped, &ds->adj, p->owner, m, links,
                                                 n_links, &p->n_dropped);
            free(links);
            if (rc) goto fail;
            DGCN_CHECK(dgcn_csr_gcn_norm(&p->a_hat_dropped, &p->adj_dropped));
            p->a_hat = &p->a_hat_dropped;
        }
    }

    /* hop distances; hops per exchange over the pairs that still share data edges */
    DGCN_CHECK(dgcn_signal_check("planning"));
    if (o->topology) {
        if (p->cross == DGCN_CROSS_DROP) {
            free(pairs);
            pairs = NULL;
            DGCN_CHECK(dgcn_partition_required_pairs(p->a_hat, p->owner, m, &pairs, &n_pairs));
        }
        DGCN_CHECK(s_hops(p, o, pairs, n_pairs));
    }

    /* 5: shards (and their relay routes) */
    DGCN_CHECK(dgcn_signal_check("planning"));
    if (o->shards) {
        DGCN_ALLOC(p->shards, m);
        DGCN_CHECK(dgcn_shard_build_all(ds, p->a_hat, p->owner, m, p->id, p->shards));
        if (p->cross == DGCN_CROSS_RELAY && o->topology) DGCN_CHECK(s_routes(p));
    }
fail:
    free(pairs);
    free(design);
    return rc;
}

void dgcn_plan_setups_free(dgcn_ctl_setup **setups, int32_t m) {
    if (!setups || !*setups) return;
    dgcn_ctl_setup *s = *setups;
    for (int32_t k = 0; k < m; k++) {
        free(s[k].neighbors);
        free(s[k].mixing);
        free(s[k].schedule);
        free(s[k].shard);
    }
    free(s);
    *setups = NULL;
}

int32_t dgcn_plan_neighbors(const dgcn_plan *p, int32_t k, int32_t *neighbors, double *mixing) {
    int32_t deg = 0;
    /* row k of c: the support is k and its neighbours, in increasing column order */
    for (int64_t e = p->c.ptr[k]; e < p->c.ptr[k + 1]; e++) {
        if (p->c.col[e] == k) {
            mixing[0] = p->c.val[e];
            continue;
        }
        neighbors[deg] = p->c.col[e];
        mixing[++deg] = p->c.val[e];
    }
    return deg;
}

int dgcn_plan_setups(const dgcn_plan *p, const dgcn_run_config *cfg, int with_shards,
                     dgcn_ctl_setup **out) {
    int rc = DGCN_OK;
    int32_t m = p->m;
    dgcn_ctl_setup *setups = NULL;
    *out = NULL;
    if (!p->c.m || (with_shards && !p->shards))
        return dgcn_error_set(DGCN_EINVAL, "plan: set-up messages need a topology%s",
                              with_shards ? " and shards" : "");
    DGCN_ALLOC(setups, m);
    for (int32_t k = 0; k < m; k++) {
        dgcn_ctl_setup *s = &setups[k];
        int32_t deg = dgcn_topo_degree(&p->topo, k);
        DGCN_ALLOC(s->neighbors, deg);
        DGCN_ALLOC(s->mixing, deg + 1);
        s->n_neighbors = dgcn_plan_neighbors(p, k, s->neighbors, s->mixing);
        if (p->sched_period > 0) {
            const int64_t w = (int64_t)s->n_neighbors + 1;
            DGCN_ALLOC(s->schedule, p->sched_period * w);
            for (int32_t q = 0; q < p->sched_period; q++) {
                const dgcn_mixing *c = &p->sched_c[q];
                double *row = s->schedule + q * w; /* zeros: DGCN_ALLOC clears */
                int32_t i = 0;                     /* both lists increase: one merge walk */
                for (int64_t e = c->ptr[k]; e < c->ptr[k + 1]; e++) {
                    if (c->col[e] == k) {
                        row[0] = c->val[e];
                        continue;
                    }
                    while (i < s->n_neighbors && s->neighbors[i] < c->col[e]) i++;
                    if (i < s->n_neighbors && s->neighbors[i] == c->col[e]) row[i + 1] = c->val[e];
                }
            }
            s->n_schedule = p->sched_period;
            s->schedule_every = p->sched_every;
        }
        dgcn_run_config_to_ctl(cfg, &s->config);
        if (with_shards) DGCN_CHECK(dgcn_shard_pack(&p->shards[k], &s->shard, &s->shard_len));
    }
    *out = setups;
    return DGCN_OK;
fail:
    dgcn_plan_setups_free(&setups, m);
    return rc;
}

static uint64_t s_csr_bytes(const dgcn_csr *a) {
    return (uint64_t)(a->n_rows + 1) * sizeof *a->rowptr +
           (uint64_t)a->nnz * (sizeof *a->col + sizeof *a->val);
}

uint64_t dgcn_plan_shard_bytes(const dgcn_plan *p, uint64_t *max) {
    uint64_t total = 0, top = 0;
    for (int32_t k = 0; p->shards && k < p->m; k++) {
        const dgcn_shard *s = &p->shards[k];
        uint64_t rows = (uint64_t)s->n_own, peers = (uint64_t)s->n_peers;
        uint64_t b = sizeof *s + s_csr_bytes(&s->a) + s_csr_bytes(&s->x) +
                     (rows + (uint64_t)s->n_halo) * sizeof *s->gid +
                     rows * (sizeof *s->label + sizeof *s->split) +
                     (3 * peers + 2) * sizeof(int32_t) +
                     (uint64_t)s->send_ptr[s->n_peers] * sizeof *s->send_idx +
                     (s->peer_via ? 2 * peers * sizeof(int32_t) : 0) +
                     (uint64_t)s->n_transit * DGCN_SHARD_TRANSIT_FIELDS * sizeof *s->transit +
                     (uint64_t)s->series_t * rows * sizeof *s->series;
        total += b;
        if (b > top) top = b;
    }
    if (max) *max = top;
    return total;
}

uint64_t dgcn_plan_halo_bytes(const dgcn_plan *p, const int32_t *widths, int n_layers) {
    uint64_t rows = 0, width_sum = 0;
    for (int32_t k = 0; p->shards && k < p->m; k++) rows += (uint64_t)p->shards[k].n_halo;
    for (int l = 0; l < n_layers; l++) width_sum += (uint64_t)widths[l];
    return rows * width_sum * sizeof(float);
}

uint64_t dgcn_plan_relay_bytes(const dgcn_plan *p, const int32_t *widths, int n_layers) {
    uint64_t rows = 0, width_sum = 0;
    if (p->cross != DGCN_CROSS_RELAY || !p->c.m) return 0;
    for (int32_t k = 0; p->shards && k < p->m; k++) {
        const dgcn_shard *s = &p->shards[k];
        for (int32_t q = 0; s->peer_hops && q < s->n_peers; q++) {
            int32_t d = s->peer_hops[q]; /* the distance in topo (s_routes) */
            rows += (uint64_t)(s->recv_ptr[q + 1] - s->recv_ptr[q]) * (uint64_t)(d - 1);
        }
    }
    for (int l = 0; l < n_layers; l++) width_sum += (uint64_t)widths[l];
    return rows * width_sum * sizeof(float);
}

uint64_t dgcn_plan_min_bytes(const dgcn_plan *p, const int32_t *widths, int n_layers,
                             int64_t msg_floats) {
    uint64_t directed_links = p->c.m ? 2 * (uint64_t)dgcn_topo_links(&p->topo) : 0;
    return 2 * (dgcn_plan_halo_bytes(p, widths, n_layers) +
                dgcn_plan_relay_bytes(p, widths, n_layers)) +
           directed_links * (uint64_t)msg_floats * sizeof(float);
}
