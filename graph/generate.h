/* graph/generate.h: a contextual stochastic block model (CSBM), the embedded default dataset.
 *
 * Nodes get classes uniformly at random (a random permutation of balanced labels, so class sizes
 * differ by at most one); an undirected edge set with the requested average degree
 * is drawn so that a fraction `homophily` of edges join nodes of the same class; features are
 * sparse: each node activates `feat_nnz` of `d` columns, a fraction `signal` of them from a block
 * of columns owned by its class. The split is Planetoid-style: train_per_class labelled training
 * nodes per class, then n_val validation and n_test test nodes, drawn at random. Everything is
 * a pure function of the parameters and the seed. */
#ifndef DGCN_GRAPH_GENERATE_H
#define DGCN_GRAPH_GENERATE_H

#include "graph/dataset.h"

#include <stdint.h>

typedef struct dgcn_csbm_params {
    int32_t n;               /* nodes (default 2000) */
    int32_t c;               /* classes (default 5) */
    double avg_degree;       /* mean degree (default 8) */
    double homophily;        /* fraction of intra-class edges (default 0.7) */
    int32_t d;               /* feature dimension (default 500) */
    int32_t feat_nnz;        /* active features per node (default 20) */
    double signal;           /* fraction of active features from the class block (default 0.25:
                              * round(0.25 * 20) = 5 of 20 from a block of d/c = 100 columns) */
    int32_t train_per_class; /* default 20 */
    int32_t n_val;           /* default 500 */
    int32_t n_test;          /* default 1000 */
    uint64_t seed;           /* default 1 */
} dgcn_csbm_params;

/* The defaults listed above. They are tuned so that the graph matters: on the default graph
 * (seed 1, Kipf and Welling's training setup, 3 runs) a 2-layer GCN reaches about 96% test
 * accuracy and a 2-layer MLP about 52%. */
dgcn_csbm_params dgcn_csbm_defaults(void);

/* Generates a dataset (raw features, values 1). Validates p (DGCN_EINVAL names the bad field). */
int dgcn_generate_csbm(dgcn_dataset *ds, const dgcn_csbm_params *p);

#endif
