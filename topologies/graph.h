/* topologies/graph.h: the communication graph between M agents.
 *
 * dgcn_topo is a plain container the caller owns (init/fini): one sorted adjacency list per agent
 * (increasing neighbour ids, no self-loops, symmetric), so memory is O(m + links) and thousands of
 * agents on a sparse family cost kilobytes, not an m x m table. Membership is a binary search,
 * degrees and the link count are O(1), and iterating an agent's neighbours visits them in
 * increasing order. A failed init leaves the struct safe to fini. This is the COMMUNICATION graph,
 * never the data graph. */
#ifndef DGCN_TOPOLOGIES_GRAPH_H
#define DGCN_TOPOLOGIES_GRAPH_H

#include <stdint.h>

#define DGCN_TOPO_MAX_AGENTS 16777216 /* agents a communication graph may have */
#define DGCN_TOPO_DENSE_MAX 4096      /* agents an algorithm holding an m x m matrix accepts */

typedef struct dgcn_topo {
    int32_t m;       /* agents */
    int64_t n_links; /* undirected links */
    int32_t *deg;    /* (m) links per agent */
    int32_t *cap;    /* (m) room in nbr[k] */
    int32_t **nbr;   /* [m] (deg[k]) agent k's neighbours, increasing ids */
} dgcn_topo;

/* The graph with m >= 1 agents and no links. */
int dgcn_topo_init(dgcn_topo *g, int32_t m);
/* Frees g's memory and zeroes it; accepts a zeroed or already finished struct. */
void dgcn_topo_fini(dgcn_topo *g);
/* out = a copy of g (out is initialized here). */
int dgcn_topo_copy(dgcn_topo *out, const dgcn_topo *g);
/* out = the graph of an m x m 0/1 matrix (small m, e.g. tests and dense designs).
 * DGCN_ETOPOLOGY (naming the entry) when links is not symmetric, has a nonzero diagonal or an
 * entry other than 0/1. */
int dgcn_topo_from_matrix(dgcn_topo *out, int32_t m, const uint8_t *links /* (m, m) */);
/* out = the graph of n undirected pairs such as dgcn_partition_required_pairs() gives (any order,
 * repeats allowed). DGCN_ETOPOLOGY naming the pair when an id is outside [0, m) or k == t. */
int dgcn_topo_from_pairs(dgcn_topo *out, int32_t m, const int32_t *pairs /* (n, 2) */, int64_t n);
/* The links as pairs k < t in increasing (k, t) order into a malloc'd (n_links, 2) array the
 * caller frees (NULL when there are none). */
int dgcn_topo_to_pairs(const dgcn_topo *g, int32_t **pairs, int64_t *n);

/* Adds (on != 0) or removes the link k -- t; k != t, both in [0, m). O(deg) for the sorted
 * insertion. DGCN_ENOMEM when a list cannot grow (g unchanged). */
int dgcn_topo_set(dgcn_topo *g, int32_t k, int32_t t, int on);
/* 1 when k -- t is a link. O(log deg(k)). */
int dgcn_topo_has(const dgcn_topo *g, int32_t k, int32_t t);
/* Agent k's neighbours in increasing order; *deg receives their number. O(1). */
static inline const int32_t *dgcn_topo_neighbors(const dgcn_topo *g, int32_t k, int32_t *deg) {
    *deg = g->deg[k];
    return g->nbr[k];
}
/* Number of undirected links. O(1). */
static inline int64_t dgcn_topo_links(const dgcn_topo *g) { return g->n_links; }
/* Degree of agent k. O(1). */
static inline int32_t dgcn_topo_degree(const dgcn_topo *g, int32_t k) { return g->deg[k]; }
/* Minimum, maximum and mean degree; any output may be NULL. O(m). */
void dgcn_topo_degree_stats(const dgcn_topo *g, int32_t *min, int32_t *max, double *mean);
/* 1 when every agent reaches every other (a single agent is connected), else 0. O(m + links). */
int dgcn_topo_connected(const dgcn_topo *g);
/* Component id of each agent (0-based, in order of smallest member); returns the count.
 * O(m + links). */
int32_t dgcn_topo_components(const dgcn_topo *g, int32_t *comp /* (m) */);
/* Hop distances from src by breadth-first search into dist (-1: unreachable), queue as scratch.
 * O(m + links). */
void dgcn_topo_bfs(const dgcn_topo *g, int32_t src, int32_t *dist /* (m) */,
                   int32_t *queue /* (m) */);

/* out = a OR b, e.g. required links plus a generated family; DGCN_EINVAL when sizes differ.
 * O(m + links) by merging the sorted lists. */
int dgcn_topo_union(dgcn_topo *out, const dgcn_topo *a, const dgcn_topo *b);
/* 1 when every link of sub is a link of g (same m), else 0. */
int dgcn_topo_contains(const dgcn_topo *g, const dgcn_topo *sub);
/* 1 when a and b have the same agents and links, else 0. */
int dgcn_topo_equal(const dgcn_topo *a, const dgcn_topo *b);

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
