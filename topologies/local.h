/* topologies/local.h: the mixing rules computed from the degrees alone.
 *
 * Metropolis-Hastings, max-degree, their lazy variants (I + C) / 2 and uniform weights: each link
 * weight depends on the degrees at its ends (or on the largest degree), the diagonal takes 1 - the
 * row's link weights. They sit below the designs, which compare against Metropolis-Hastings;
 * topologies/weights.h adds the fastest-mixing rule on top and is what callers use. */
#ifndef DGCN_TOPOLOGIES_LOCAL_H
#define DGCN_TOPOLOGIES_LOCAL_H

#include "topologies/graph.h"
#include "topologies/mixing.h"

/* Fills c with the local rule's mixing matrix on g. DGCN_EINVAL when g has more than
 * DGCN_TOPO_DENSE_MAX agents or the rule is not local (DGCN_MIX_FASTEST); DGCN_ETOPOLOGY for
 * uniform weights on an incomplete graph. */
int dgcn_local_weights(const dgcn_topo *g, dgcn_mixing_rule rule, double *c /* (m, m) */);
/* The same matrix, bit for bit, as sparse rows into out (initialized here). O(m + links). */
int dgcn_local_weights_sparse(const dgcn_topo *g, dgcn_mixing_rule rule, dgcn_mixing *out);

#endif
