/* topologies/eigen.h: the extreme eigenpairs of a mixing matrix on the complement of 1.
 *
 * For a symmetric doubly stochastic C the solver finds the largest (lambda_2) and smallest
 * (lambda_min) eigenvalue of C restricted to 1-perp with unit eigenvectors, so the SLEM is
 * max(lambda_2, -lambda_min). C is either the Metropolis-Hastings matrix of a support held as
 * neighbour lists, grown and shrunk link by link (the budget design), or a given sparse dgcn_mixing.
 * Two methods: dense (LAPACKE_dsyevr, ranged to the extreme pair of C - 11^T/m, O(m^3) per solve,
 * at most DGCN_TOPO_DENSE_MAX agents) and Lanczos on the sparse C with full reorthogonalization,
 * warm-started from the previous solve's extreme eigenvectors (O(k (m + links) + m k^2) per solve
 * for k steps, at most 800). */
#ifndef DGCN_TOPOLOGIES_EIGEN_H
#define DGCN_TOPOLOGIES_EIGEN_H

#include "topologies/graph.h"
#include "topologies/mixing.h"

#include <stdint.h>

typedef enum dgcn_eigen_method {
    DGCN_EIGEN_AUTO = 0,   /* dense below 64 agents, Lanczos from 64 on */
    DGCN_EIGEN_DENSE = 1,  /* LAPACKE_dsyevr on the dense M x M matrix */
    DGCN_EIGEN_LANCZOS = 2 /* Lanczos on the sparse matrix */
} dgcn_eigen_method;

/* The solver: the matrix (MH on the lists, or mix), the last solve's extreme pairs and the
 * workspace. A plain struct the caller owns (init / fini); a failed init leaves it safe to fini. */
typedef struct dgcn_eigen {
    int32_t m;              /* agents */
    const dgcn_mixing *mix; /* the given matrix (not owned), or NULL for MH on the lists */
    int32_t *deg;           /* (m) links per agent */
    int32_t *ncap;          /* (m) room in nbr[k] */
    int32_t **nbr;          /* [m] (deg[k]) neighbour ids of k, in the order added */
    int dense;              /* 1: dsyevr, 0: Lanczos */
    double tol;             /* Lanczos residual tolerance */
    double l2, lmin;        /* largest and smallest eigenvalue of C on 1-perp (last solve) */
    double *v2, *vmin;      /* (m) their unit eigenvectors, orthogonal to 1 */
    int have_vec;           /* 1 once a solve has set v2 and vmin (the next Lanczos warm-starts) */
    int converged;          /* the last Lanczos solve met tol (or spanned all of 1-perp) */
    int64_t solves;         /* solves so far */
    int64_t steps;          /* Lanczos steps over all solves */
    int kmax;               /* Lanczos steps per solve, at most */
    double *q;              /* (kmax + 1, m) Lanczos basis, row j = q_j; dense: (m, m) C - J */
    double *w;              /* (m) */
    double *h;              /* (kmax + 1) */
    double *alpha, *beta;   /* (kmax + 1) tridiagonal */
    double *td, *te, *z;    /* (kmax + 1) tridiagonal copies, Ritz vector coefficients */
    double *ev, *zz;        /* (e) eigenvalues and (e, e) eigenvectors of a ranged solve,
                             * e = m (dense) or kmax + 1 (Lanczos) */
    void *isuppz;           /* (2 e) lapack_int */
} dgcn_eigen;

/* e = the solver for the MH matrix of g's links (copied into e's lists; g is not kept), by the
 * given method (auto: dense below 64 agents). DGCN_EINVAL when dense is asked above
 * DGCN_TOPO_DENSE_MAX agents. */
int dgcn_eigen_init_mh(dgcn_eigen *e, const dgcn_topo *g, dgcn_eigen_method method, double tol);
/* e = the Lanczos solver for c (m >= 2), which must outlive e. */
int dgcn_eigen_init_mixing(dgcn_eigen *e, const dgcn_mixing *c, double tol);
/* Frees e's memory and zeroes it; accepts a zeroed or already finished struct. */
void dgcn_eigen_fini(dgcn_eigen *e);

/* Adds the link k -- t to the MH lists (the caller keeps it absent before). */
int dgcn_eigen_link(dgcn_eigen *e, int32_t k, int32_t t);
/* Undoes the last dgcn_eigen_link(e, k, t). */
void dgcn_eigen_unlink(dgcn_eigen *e, int32_t k, int32_t t);

/* Sets l2, lmin, v2 and vmin for the current matrix, which must be connected with m >= 2 for the
 * pair to be lambda_2 and lambda_min. DGCN_ENUMERIC on a LAPACK failure. */
int dgcn_eigen_solve(dgcn_eigen *e);
/* max(0, l2, -lmin) of the last solve. */
double dgcn_eigen_slem(const dgcn_eigen *e);

/* SLEM of the Metropolis-Hastings matrix on g by the given method (auto as above); 1 when g is
 * disconnected, 0 for one agent. */
int dgcn_topo_slem_mh(const dgcn_topo *g, dgcn_eigen_method eigen, double *slem);

/* The largest (l2) and smallest (lmin) eigenvalue of the symmetric doubly stochastic sparse c on
 * the complement of the all-ones vector, by the Lanczos solver (full reorthogonalization, at most
 * 800 steps, residual tolerance tol). *converged (may be NULL) is 0 when the steps ran out first:
 * l2 and -lmin are then lower bounds of the true extremes' moduli.
 * O(steps (m + links) + m steps^2) time, O(m steps) memory. DGCN_ENUMERIC on a LAPACK failure. */
int dgcn_topo_extremes_lanczos(const dgcn_mixing *c, double tol, double *l2, double *lmin,
                               int *converged);

#endif
