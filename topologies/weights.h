/* topologies/weights.h: mixing matrices on a communication graph, every rule by name.
 *
 * A mixing matrix C (m x m) has c_kt > 0 only for t = k or a link k -- t, and is symmetric with
 * rows (hence columns) summing to 1: the consensus step theta_k <- sum_t c_kt theta_t of DGD and
 * gradient tracking. Every rule below yields such a matrix. The run plan keeps it sparse
 * (dgcn_mixing, topologies/mixing.h: a self weight and one weight per neighbour, O(m + links)); the
 * dense row-major form serves the small-m tools (design, files, LAPACK) and is refused above
 * DGCN_TOPO_DENSE_MAX agents. The local rules come from topologies/local.h, "fastest" from the
 * design (topologies/design.h). */
#ifndef DGCN_TOPOLOGIES_WEIGHTS_H
#define DGCN_TOPOLOGIES_WEIGHTS_H

#include "topologies/graph.h"
#include "topologies/mixing.h"

/* "mh", "maxdeg", "lazy-mh", "lazy-maxdeg", "uniform", "fastest" <-> enum; DGCN_EINVAL when
 * unknown. */
int dgcn_topo_weights_parse(const char *name, dgcn_mixing_rule *out);
const char *dgcn_topo_weights_name(dgcn_mixing_rule rule);

/* Fills c with the rule's mixing matrix on g; the diagonal takes 1 - the row's link weights.
 * DGCN_EINVAL when g has more than DGCN_TOPO_DENSE_MAX agents. */
int dgcn_topo_weights(const dgcn_topo *g, dgcn_mixing_rule rule, double *c /* (m, m) */);
/* The same matrix, bit for bit, as sparse rows into out (initialized here). O(m + links) for the
 * local rules; "fastest" solves the dense design (at most DGCN_TOPO_DENSE_MAX agents). */
int dgcn_topo_weights_sparse(const dgcn_topo *g, dgcn_mixing_rule rule, dgcn_mixing *out);

/* Checks that c is symmetric, non-negative, with unit row sums (to tol, e.g. 1e-9), and, when g
 * is not NULL, zero off the support (links of g plus the diagonal). DGCN_ETOPOLOGY naming the
 * first offending entry or row otherwise. */
int dgcn_topo_weights_check(int32_t m, const double *c /* (m, m) */, const dgcn_topo *g,
                            double tol);

/* dgcn_topo_weights_check for sparse rows: symmetric, non-negative, unit row sums, and (by
 * construction) zero off g's support when c was built on g. O(m + links). */
int dgcn_mixing_check(const dgcn_mixing *c, double tol);

#endif
