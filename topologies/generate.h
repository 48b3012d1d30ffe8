/* topologies/generate.h: families of communication graphs.
 *
 * Every generator initializes *out (the caller finishes it). Random families draw from
 * (seed, DGCN_STREAM_TOPOLOGY), so the same seed gives the same graph on every machine. With
 * connected != 0 a random family is redrawn (up to 1000 draws) until connected, else
 * DGCN_ETOPOLOGY. Deterministic families ignore the seed. */
#ifndef DGCN_TOPOLOGIES_GENERATE_H
#define DGCN_TOPOLOGIES_GENERATE_H

#include "topologies/graph.h"

#include <stdint.h>

/* Every pair linked: m(m-1)/2 links. */
int dgcn_topo_gen_complete(dgcn_topo *out, int32_t m);
/* k -- k+1 mod m: m links (1 link for m = 2, none for m = 1). */
int dgcn_topo_gen_ring(dgcn_topo *out, int32_t m);
/* k -- k+1 for k < m-1: m-1 links. */
int dgcn_topo_gen_line(dgcn_topo *out, int32_t m);
/* Agent 0 linked to every other: m-1 links. */
int dgcn_topo_gen_star(dgcn_topo *out, int32_t m);
/* rows x cols 2-D torus, agent r*cols+c linked to its 4 wrap-around neighbours (duplicate
 * neighbours merge when a side is 1 or 2). */
int dgcn_topo_gen_torus(dgcn_topo *out, int32_t rows, int32_t cols);
/* The most square factorization rows x cols = m with rows <= cols (rows = 1 for a prime m). */
void dgcn_topo_torus_shape(int32_t m, int32_t *rows, int32_t *cols);
/* d-dimensional hypercube: m = 2^d agents, k -- k XOR 2^j; DGCN_EINVAL unless m is a power of 2. */
int dgcn_topo_gen_hypercube(dgcn_topo *out, int32_t m);
/* Static exponential graph: k -- (k + 2^j) mod m for every 2^j < m. */
int dgcn_topo_gen_exponential(dgcn_topo *out, int32_t m);
/* Erdos-Renyi G(m, p): each pair linked independently with probability p in [0, 1]. */
int dgcn_topo_gen_erdos_renyi(dgcn_topo *out, int32_t m, double p, uint64_t seed, int connected);
/* Random geometric graph: m points uniform in the unit square, linked when closer than r > 0. */
int dgcn_topo_gen_geometric(dgcn_topo *out, int32_t m, double r, uint64_t seed, int connected);
/* Random k-regular graph (configuration model: random stub pairing without self-loops or
 * repeated links, restarted when stuck); needs 0 <= k < m and m*k even. */
int dgcn_topo_gen_regular(dgcn_topo *out, int32_t m, int32_t k, uint64_t seed, int connected);

/* Generates from a spec string: "complete", "ring", "line", "star", "torus" (shape from
 * dgcn_topo_torus_shape), "hypercube", "exponential", "er:P", "geometric:R", "regular:K".
 * Random families are drawn connected. DGCN_EINVAL naming the spec when it is unknown or its
 * parameter malformed. */
int dgcn_topo_generate(dgcn_topo *out, const char *spec, int32_t m, uint64_t seed);

#endif
