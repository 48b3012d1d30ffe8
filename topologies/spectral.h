/* topologies/spectral.h: how fast a mixing matrix reaches consensus.
 *
 * For a symmetric doubly stochastic C the consensus error contracts by the second-largest
 * eigenvalue modulus per step, SLEM = max(lambda_2, -lambda_m) = ||C - 11^T/m||_2; the spectral
 * gap is 1 - SLEM (0 for a disconnected graph). Dense eigenvalues come from LAPACKE_dsyevd
 * (O(m^3), at most DGCN_TOPO_DENSE_MAX agents); the sparse analysis uses them below
 * DGCN_SPECTRAL_DENSE_BELOW agents and Lanczos on the sparse rows (topologies/eigen.h) from there
 * on, so it holds no m x m matrix. */
#ifndef DGCN_TOPOLOGIES_SPECTRAL_H
#define DGCN_TOPOLOGIES_SPECTRAL_H

#include "topologies/graph.h"
#include "topologies/mixing.h"

#define DGCN_SPECTRAL_DENSE_BELOW 64 /* sparse analysis: dense eigensolver below this many agents */

/* Eigenvalues of the symmetric matrix c in ascending order. DGCN_ENUMERIC on a LAPACK failure. */
int dgcn_topo_eigenvalues(int32_t m, const double *c /* (m, m) */, double *eig /* (m) */);
/* ||C - 11^T/m||_2 (largest eigenvalue modulus of the symmetric C - J). */
int dgcn_topo_norm_cj(int32_t m, const double *c /* (m, m) */, double *norm);

typedef struct dgcn_topo_report {
    int32_t agents;
    int64_t links;            /* undirected */
    int32_t deg_min, deg_max; /* links per agent */
    double deg_mean;
    int connected;              /* 1 or 0 */
    double slem;                /* max |eigenvalue| of C other than its largest (0 for m = 1) */
    double gap;                 /* 1 - slem */
    double norm_cj;             /* ||C - 11^T/m||_2 */
    double eig_min, eig_second; /* smallest and second-largest eigenvalue of C */
    int exact;                  /* 0 when Lanczos stopped before converging: the SLEM is then a
                                 * lower bound */
} dgcn_topo_report;

/* ||C - 11^T/m||_2 of a sparse doubly stochastic c: dense below DGCN_SPECTRAL_DENSE_BELOW agents
 * (the same figure as dgcn_topo_norm_cj), else max(|lambda_2|, |lambda_min|) on 1-perp by
 * Lanczos. *exact (may be NULL) is 0 when Lanczos stopped before converging: *norm is then a
 * lower bound. */
int dgcn_mixing_norm_cj(const dgcn_mixing *c, double *norm, int *exact);

/* Properties of g with mixing matrix c (c may be NULL: only the graph's properties, spectral
 * fields set to NaN). The eigenvalues as in dgcn_mixing_norm_cj; from Lanczos, eig_min and
 * eig_second are the extremes on 1-perp. */
int dgcn_topo_analyze(const dgcn_topo *g, const dgcn_mixing *c /* or NULL */, dgcn_topo_report *r);

#endif
