/* topologies/weights.h: mixing matrices on a communication graph.
 *
 * A mixing matrix C (m x m, row-major) has c_kt > 0 only for t = k or a link k -- t, and is
 * symmetric with rows (hence columns) summing to 1: the consensus step theta_k <- sum_t c_kt
 * theta_t of DGD and gradient tracking. Every rule below yields such a matrix. */
#ifndef DGCN_TOPOLOGIES_WEIGHTS_H
#define DGCN_TOPOLOGIES_WEIGHTS_H

#include "topologies/graph.h"

typedef enum dgcn_mixing_rule {
    DGCN_MIX_MH = 0,          /* Metropolis-Hastings: c_kt = 1 / (1 + max(deg_k, deg_t)) */
    DGCN_MIX_MAXDEG = 1,      /* max-degree: c_kt = 1 / (1 + max_deg) */
    DGCN_MIX_LAZY_MH = 2,     /* (I + C_mh) / 2 */
    DGCN_MIX_LAZY_MAXDEG = 3, /* (I + C_maxdeg) / 2 */
    DGCN_MIX_UNIFORM = 4,     /* 11^T / m; complete graphs only (else DGCN_ETOPOLOGY) */
    DGCN_MIX_FASTEST = 5      /* min ||C - 11^T/m||_2 on the graph's support (design.h, ADMM) */
} dgcn_mixing_rule;

/* "mh", "maxdeg", "lazy-mh", "lazy-maxdeg", "uniform", "fastest" <-> enum; DGCN_EINVAL when
 * unknown. */
int dgcn_topo_weights_parse(const char *name, dgcn_mixing_rule *out);
const char *dgcn_topo_weights_name(dgcn_mixing_rule rule);

/* Fills c with the rule's mixing matrix on g; the diagonal takes 1 - the row's link weights. */
int dgcn_topo_weights(const dgcn_topo *g, dgcn_mixing_rule rule, double *c /* (m, m) */);

/* Checks that c is symmetric, non-negative, with unit row sums (to tol, e.g. 1e-9), and, when g
 * is not NULL, zero off the support (links of g plus the diagonal). DGCN_ETOPOLOGY naming the
 * first offending entry or row otherwise. */
int dgcn_topo_weights_check(int32_t m, const double *c /* (m, m) */, const dgcn_topo *g,
                            double tol);

#endif
