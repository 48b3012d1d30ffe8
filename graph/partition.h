/* graph/partition.h: assigning the nodes of a data graph to M agents.
 *
 * A partition is an owner array: owner[i] in [0, M) is the agent that holds node i. Every method is
 * a pure function of (graph, M, seed). Every agent gets at least one node (DGCN_EINVAL when M > n).
 * From a partition follow the required links (agents k != t with a data edge between P_k and P_t)
 * and the statistics a user weighs partitions by. */
#ifndef DGCN_GRAPH_PARTITION_H
#define DGCN_GRAPH_PARTITION_H

#include "graph/csr.h"

#include <stdint.h>

typedef enum dgcn_partition_method {
    DGCN_PARTITION_BFS = 0,    /* breadth-first growth from M random seed nodes (the paper's) */
    DGCN_PARTITION_METIS = 1,  /* METIS k-way, minimizing the edge cut */
    DGCN_PARTITION_RANDOM = 2, /* uniformly random, balanced */
    DGCN_PARTITION_BLOCK = 3   /* contiguous id ranges of near-equal size */
} dgcn_partition_method;

/* "bfs", "metis", "random", "block" <-> enum; parse returns DGCN_EINVAL for an unknown name. */
int dgcn_partition_method_parse(const char *name, dgcn_partition_method *out);
const char *dgcn_partition_method_name(dgcn_partition_method m);

/* Fills owner (adj->n_rows ints) with a partition of the graph adj into m parts. */
int dgcn_partition(const dgcn_csr *adj, int32_t m, dgcn_partition_method method, uint64_t seed,
                   int32_t *owner);

/* The required links as pairs: *pairs receives a malloc'd (n_pairs, 2) array of the agent pairs
 * k < t with a data edge between P_k and P_t, in increasing (k, t) order (NULL when none), which
 * the caller frees. O(n + nnz + m + pairs) time and memory. */
int dgcn_partition_required_pairs(const dgcn_csr *adj, const int32_t *owner, int32_t m,
                                  int32_t **pairs, int64_t *n_pairs);

typedef struct dgcn_partition_stats {
    int32_t m;
    int32_t min_nodes, max_nodes; /* nodes per agent */
    double mean_nodes;
    int64_t edge_cut;       /* undirected data edges between different agents */
    int64_t halo_total;     /* sum over agents of distinct halo nodes */
    double halo_fraction;   /* halo_total / n */
    int32_t required_links; /* undirected agent pairs with a data edge */
    /* bytes per iteration over all links for a 2-layer model of widths h and c: forward
     * (h + c) * 4 per halo row plus the same backward; filled by dgcn_partition_stats_compute. */
    int64_t halo_bytes_per_iter;
} dgcn_partition_stats;

/* Statistics of owner; widths[0..n_widths) are the per-layer exchange widths (e.g. {16, 7}). */
int dgcn_partition_stats_compute(const dgcn_csr *adj, const int32_t *owner, int32_t m,
                                 const int32_t *widths, int n_widths, dgcn_partition_stats *st);

/* Copies adj without the edges between agents k != t that are not one of the n_pairs links
 * pairs[2i] -- pairs[2i+1] (either order; the paper's sparse-connectivity setting: dropped edges,
 * A_hat renormalized afterwards by the caller). *n_dropped receives the number of undirected edges
 * dropped. DGCN_EINVAL naming a pair outside [0, m) or with k == t. */
int dgcn_partition_drop_cross_edges(dgcn_csr *out, const dgcn_csr *adj, const int32_t *owner,
                                    int32_t m, const int32_t *pairs /* (n_pairs, 2) */,
                                    int64_t n_pairs, int64_t *n_dropped);

#endif
