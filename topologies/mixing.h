/* topologies/mixing.h: the sparse mixing-matrix container and the names of the mixing rules.
 *
 * A mixing matrix C (m x m) has c_kt > 0 only for t = k or a link k -- t, and is symmetric with
 * rows (hence columns) summing to 1. dgcn_mixing holds it sparse: a self weight and one weight per
 * neighbour, O(m + links); the dense row-major form serves the small-m tools and is refused above
 * DGCN_TOPO_DENSE_MAX agents. The rules that fill it are in topologies/weights.h (all of them) and
 * topologies/local.h (those computed from the degrees alone). */
#ifndef DGCN_TOPOLOGIES_MIXING_H
#define DGCN_TOPOLOGIES_MIXING_H

#include "topologies/graph.h"

typedef enum dgcn_mixing_rule {
    DGCN_MIX_MH = 0,          /* Metropolis-Hastings: c_kt = 1 / (1 + max(deg_k, deg_t)) */
    DGCN_MIX_MAXDEG = 1,      /* max-degree: c_kt = 1 / (1 + max_deg) */
    DGCN_MIX_LAZY_MH = 2,     /* (I + C_mh) / 2 */
    DGCN_MIX_LAZY_MAXDEG = 3, /* (I + C_maxdeg) / 2 */
    DGCN_MIX_UNIFORM = 4,     /* 11^T / m; complete graphs only (else DGCN_ETOPOLOGY) */
    DGCN_MIX_FASTEST = 5      /* min ||C - 11^T/m||_2 on the graph's support (design.h, ADMM) */
} dgcn_mixing_rule;

/* A sparse mixing matrix: row k holds its entries on the support (k and its neighbours) in
 * increasing column order, the diagonal included. A plain container the caller owns (fini). */
typedef struct dgcn_mixing {
    int32_t m;    /* agents (0: empty) */
    int64_t *ptr; /* (m + 1) row starts into col/val */
    int32_t *col; /* (ptr[m]) columns, increasing per row */
    double *val;  /* (ptr[m]) weights */
} dgcn_mixing;

/* c = zeros on the support of g (its links plus the diagonal). O(m + links). */
int dgcn_mixing_init(dgcn_mixing *c, const dgcn_topo *g);
/* Frees c's memory and zeroes it; accepts a zeroed or already finished struct. */
void dgcn_mixing_fini(dgcn_mixing *c);
/* c_kt (0 off the support). O(log deg(k)). */
double dgcn_mixing_get(const dgcn_mixing *c, int32_t k, int32_t t);
/* out = the entries of the dense d (m, m) on the support of g (initialized here). */
int dgcn_mixing_from_dense(dgcn_mixing *out, const dgcn_topo *g, const double *d /* (m, m) */);
/* *d = a calloc'd dense (m, m) copy the caller frees; DGCN_EINVAL naming the bound when
 * m > DGCN_TOPO_DENSE_MAX. */
int dgcn_mixing_to_dense(const dgcn_mixing *c, double **d);
/* y = C x. O(m + links). */
void dgcn_mixing_matvec(const dgcn_mixing *c, const double *x /* (m) */, double *y /* (m) */);

#endif
