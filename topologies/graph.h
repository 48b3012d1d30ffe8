/* topologies/graph.h: the communication graph between M agents.
 *
 * dgcn_topo is a plain container the caller owns (init/fini): a symmetric 0/1 adjacency matrix
 * with a zero diagonal, adj[k*m+t] = 1 when agents k and t share a link. Communication graphs are
 * small (M in the tens to hundreds), so the dense form keeps every operation simple. A failed init
 * leaves the struct safe to fini. This is the COMMUNICATION graph, never the data graph. */
#ifndef DGCN_TOPOLOGIES_GRAPH_H
#define DGCN_TOPOLOGIES_GRAPH_H

#include <stdint.h>

typedef struct dgcn_topo {
    int32_t m;    /* agents */
    uint8_t *adj; /* (m, m) symmetric 0/1, zero diagonal */
} dgcn_topo;

/* The graph with m >= 1 agents and no links. */
int dgcn_topo_init(dgcn_topo *g, int32_t m);
/* Frees g's memory and zeroes it; accepts a zeroed or already finished struct. */
void dgcn_topo_fini(dgcn_topo *g);
/* out = a copy of g (out is initialized here). */
int dgcn_topo_copy(dgcn_topo *out, const dgcn_topo *g);
/* out = the graph of an m x m 0/1 matrix such as dgcn_partition_required_links() gives.
 * DGCN_ETOPOLOGY (naming the entry) when links is not symmetric, has a nonzero diagonal or an
 * entry other than 0/1. */
int dgcn_topo_from_matrix(dgcn_topo *out, int32_t m, const uint8_t *links /* (m, m) */);

/* Adds (on != 0) or removes the link k -- t; k != t, both in [0, m). */
void dgcn_topo_set(dgcn_topo *g, int32_t k, int32_t t, int on);
static inline int dgcn_topo_has(const dgcn_topo *g, int32_t k, int32_t t) {
    return g->adj[(int64_t)k * g->m + t] != 0;
}
/* Number of undirected links. O(m^2). */
int64_t dgcn_topo_links(const dgcn_topo *g);
/* Degree of agent k. O(m). */
int32_t dgcn_topo_degree(const dgcn_topo *g, int32_t k);
/* Minimum, maximum and mean degree; any output may be NULL. */
void dgcn_topo_degree_stats(const dgcn_topo *g, int32_t *min, int32_t *max, double *mean);
/* 1 when every agent reaches every other (a single agent is connected), else 0. O(m^2). */
int dgcn_topo_connected(const dgcn_topo *g);
/* Component id of each agent (0-based, in order of smallest member); returns the count. O(m^2). */
int32_t dgcn_topo_components(const dgcn_topo *g, int32_t *comp /* (m) */);

/* out = a OR b, e.g. required links plus a generated family; DGCN_EINVAL when sizes differ. */
int dgcn_topo_union(dgcn_topo *out, const dgcn_topo *a, const dgcn_topo *b);
/* 1 when every link of sub is a link of g (same m), else 0. */
int dgcn_topo_contains(const dgcn_topo *g, const dgcn_topo *sub);

typedef enum dgcn_topo_removal {
    DGCN_REMOVE_ALLOW = 0, /* remove exactly the drawn links, even if the result is disconnected */
    DGCN_REMOVE_RETRY = 1, /* redraw (up to 1000 times) until the result is connected */
    DGCN_REMOVE_KEEP_TREE = 2 /* keep a random spanning tree and draw the removals among the rest */
} dgcn_topo_removal;

/* out = g without round(fraction * links) links drawn uniformly with (seed, DGCN_STREAM_TOPOLOGY).
 * With RETRY or KEEP_TREE the result is connected or the call fails with DGCN_ETOPOLOGY (g itself
 * disconnected, no connected draw found, or more removals asked than links outside a tree).
 * fraction in [0, 1], else DGCN_EINVAL. */
int dgcn_topo_remove_links(dgcn_topo *out, const dgcn_topo *g, double fraction, uint64_t seed,
                           dgcn_topo_removal mode);

#endif
