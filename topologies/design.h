/* topologies/design.h: matching the communication graph to the data (the paper's convex program).
 *
 *   minimize   ||C - 11^T/m||_2 + gamma * sum_{k != t, (k,t) not required} |c_kt|
 *   subject to C = C^T, C 1 = 1, c_kt >= eps on required links, c_kt >= 0
 *
 * (the l1 sum runs over ordered pairs, so each undirected link counts twice). Solved by consensus
 * ADMM on two copies of C: X1 takes the spectral-norm term (prox through a symmetric
 * eigendecomposition, dsyevd: eigenvalues of X1 - J clipped at the level that removes an l1 ball of
 * radius 1/rho), X2 takes the l1 term and the bounds (soft thresholding at gamma/rho and clamping,
 * entry by entry), and C is the closed-form projection of their average onto {C = C^T, C 1 = 1}.
 * The stopping rule is Boyd et al.'s: primal residual sqrt(||X1 - C||^2 + ||X2 - C||^2) and dual
 * residual rho * sqrt(2) ||C - C_prev|| below tol_abs * sqrt(2) m + tol_rel * scale, with the
 * penalty rho rebalanced (x2 or /2) every 10 iterations while one residual exceeds 10x the other.
 *
 * The design keeps the required links plus the other pairs whose X2 weight exceeds threshold;
 * when that support is disconnected (the program alone never connects components: one extra link
 * cannot lower a norm held at 1 by the others), the components are joined by the inter-component
 * pairs of largest X2 weight, so the result is always connected.
 * X2 meets the bounds exactly but C 1 = 1 only to the ADMM tolerance, so the final matrix is the
 * fastest-mixing matrix on that support (the same ADMM with the off-support entries fixed at 0
 * and no l1 term), made exactly feasible by symmetrizing, scaling the off-diagonal down if a row
 * exceeds 1 and setting the diagonal to 1 - the row sum; if Metropolis-Hastings weights on that
 * support mix faster (an ADMM stopped early), they are returned instead. With gamma -> infinity
 * the support is the required links alone: dgcn_topo_fastest() on them. */
#ifndef DGCN_TOPOLOGIES_DESIGN_H
#define DGCN_TOPOLOGIES_DESIGN_H

#include "topologies/graph.h"

typedef struct dgcn_design_opts {
    double gamma;     /* l1 weight on non-required pairs, >= 0 [0.1] */
    double eps;       /* lower bound on required links' weights [1e-3] */
    double threshold; /* an extra link is kept when its weight exceeds this [1e-4] */
    double rho;       /* initial ADMM penalty [1] */
    double tol_abs;   /* absolute residual tolerance [1e-6] */
    double tol_rel;   /* relative residual tolerance [1e-5] */
    int max_iter;     /* ADMM iteration cap per solve [20000] */
} dgcn_design_opts;

typedef struct dgcn_design_result {
    int iterations;          /* ADMM iterations of the design solve */
    int refine_iterations;   /* ADMM iterations of the fastest-mixing solve on the support */
    int converged;           /* 1 when both solves met the stopping rule before max_iter */
    int used_metropolis;     /* 1 when Metropolis-Hastings weights beat the refined matrix */
    double objective;        /* design objective at the ADMM solution (X2) */
    double r_primal, r_dual; /* final residuals of the design solve */
    double norm_cj;          /* ||C - 11^T/m||_2 of the returned matrix */
    int64_t links;           /* links of the returned support */
    int64_t extra_links;     /* links beyond the required ones */
    double time_ms;          /* wall time of the whole call */
} dgcn_design_result;

void dgcn_design_defaults(dgcn_design_opts *o);

/* Designs the topology for the required links: support (initialized here) receives the chosen
 * links, a superset of required's, and c the exactly feasible symmetric doubly stochastic matrix
 * on it. res may be NULL. DGCN_EINVAL on bad options, DGCN_ENUMERIC on a LAPACK failure. */
int dgcn_topo_design(const dgcn_topo *required, const dgcn_design_opts *o, dgcn_topo *support,
                     double *c /* (m, m) */, dgcn_design_result *res);

/* The fastest-mixing symmetric doubly stochastic matrix supported on g's links plus the diagonal
 * (the design with gamma -> infinity and eps = 0); o may be NULL for the defaults, res NULL. */
int dgcn_topo_fastest(const dgcn_topo *g, const dgcn_design_opts *o, double *c /* (m, m) */,
                      dgcn_design_result *res);

#endif
