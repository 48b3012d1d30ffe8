/* topologies/budget.h: a topology design whose knob is a link budget.
 *
 * Starting from the required links (joined into one component first, by links between the
 * lowest-degree agents of two components), the design adds links one at a time. Each step takes the
 * non-link whose first-order effect most lowers the SLEM of the Metropolis-Hastings matrix on the
 * support: with v the eigenvector of lambda_2 (or of lambda_min when -lambda_min is the SLEM),
 * adding k -- t changes v^T C v by -(w_kt (v_k - v_t)^2 + sum of the changes of the MH weights at
 * k and t), which is O(1) per pair after O(links) per step. The candidate is kept when the SLEM it
 * gives, computed exactly, is not larger; otherwise the next best is tried (up to opts.tries), and
 * when none qualifies the design stops early. So the designs for budgets B < B' are nested (the
 * first B links of the same sequence) and their SLEM is non-increasing in B: a monotone family from
 * the required links (B = 0) to the complete graph (SLEM 0, C = 11^T/M).
 *
 * Eigenvalues (topologies/eigen.h): dense (LAPACKE_dsyevr, ranged to the extreme pair of
 * C - 11^T/M, O(M^3) per step) or Lanczos on the sparse C restricted to 1-perp, full
 * reorthogonalization, warm-started from the previous step's extreme eigenvectors
 * (O(links * k + M k^2) per step for k Lanczos steps).
 * With batch > 1 a step adds up to batch candidates with distinct agents at once, checked by one
 * eigensolve (a batch that raises the SLEM is undone and the step adds one link as above); the
 * front is then evaluated at the batch ends, and a smaller budget truncates its last batch. */
#ifndef DGCN_TOPOLOGIES_BUDGET_H
#define DGCN_TOPOLOGIES_BUDGET_H

#include "topologies/eigen.h"
#include "topologies/graph.h"

#include <stdint.h>

typedef struct dgcn_budget_opts {
    int64_t budget;          /* links beyond the required ones, at most; < 0: up to complete [0] */
    int32_t max_degree;      /* no link is added at an agent that has this many (0: none) [0] */
    int tries;               /* candidates checked exactly per step before stopping [64] */
    int batch;               /* links added per eigensolve, distinct agents, checked together;
                              * on failure one at a time [1] */
    dgcn_eigen_method eigen; /* [auto] */
    double tol;              /* Lanczos residual tolerance on the extreme eigenvalues [1e-8] */
} dgcn_budget_opts;

typedef struct dgcn_budget_link {
    int32_t k, t; /* the added link */
    double slem;  /* SLEM of Metropolis-Hastings on the support after adding it */
} dgcn_budget_link;

typedef struct dgcn_budget_result {
    double slem_required; /* SLEM of MH on the required links (1 when disconnected) */
    double slem;          /* SLEM of MH on the returned support */
    int64_t extra_links;  /* links beyond the required ones */
    int64_t join_links;   /* of these, the links that joined components of the required links */
    int stopped;          /* 1: stopped before the budget, no candidate kept the SLEM from rising */
    int64_t eigen_solves; /* exact SLEM evaluations */
    int64_t lanczos_steps; /* over all Lanczos solves (0 when dense) */
    double time_ms;        /* wall time of the call */
} dgcn_budget_result;

void dgcn_budget_defaults(dgcn_budget_opts *o);

/* Designs the support for the required links under the budget: support (initialized here) gets
 * the required links plus the chosen ones; c, when not NULL, the Metropolis-Hastings matrix on it.
 * added, when not NULL, receives the first min(cap, extra_links) links in the order they were
 * added, each with the SLEM after it (the front of every smaller budget). res may be NULL.
 * DGCN_EINVAL on bad options, DGCN_ENUMERIC on an eigensolver failure. */
int dgcn_topo_design_budget(const dgcn_topo *required, const dgcn_budget_opts *o,
                            dgcn_topo *support, double *c /* (m, m) or NULL */,
                            dgcn_budget_link *added /* (cap) or NULL */, int64_t cap,
                            dgcn_budget_result *res);

#endif
