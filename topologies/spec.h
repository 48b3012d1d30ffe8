/* topologies/spec.h: the one grammar that names a communication graph.
 *
 *   spec := term ('+' term)*       the union of the terms' links
 *   term := 'required'             the agent pairs that share data edges (from a partition)
 *         | 'designed' [':' G]     the paper's design on the required links (topologies/design.h)
 *                                  with gamma G (default 0.1); superset of the required links
 *         | 'budget:' B            the required links plus at most B links chosen greedily to
 *                                  lower the SLEM of Metropolis-Hastings (topologies/budget.h)
 *         | 'sparse:' B            at most B links designed from none: a chain joining the agents,
 *                                  then links lowering the MH SLEM (B >= M - 1; the required
 *                                  links play no part)
 *         | FAMILY                 complete | ring | line | star | torus | hypercube | exponential
 *                                  | er:P | geometric:R | regular:K   (topologies/generate.h)
 *         | 'file:' PATH           an edge list (topologies/io.h); PATH runs to the end of the
 *                                  spec, so a file term comes last
 *   or a whole spec is a schedule of graphs (topologies/schedule.h): 'one-peer-exponential',
 *   'matching[:P]', 'schedule:N:PATH,...'; built here as the union of its graphs (the links the
 *   transports connect), its phases by the run plan (coordinator/plan.h)
 *
 * Examples: "ring", "required+ring", "designed:0.05", "budget:40", "exponential+file:extra.edges".
 * Every command that takes a topology (train, verify, study, topology generate, the run plan of
 * coordinator/plan.h) parses it here, so they all accept the same specs. Whether the required links
 * are then added to the graph is not part of the spec but of the run's cross-edge policy. */
#ifndef DGCN_TOPOLOGIES_SPEC_H
#define DGCN_TOPOLOGIES_SPEC_H

#include "topologies/graph.h"

#include <stdint.h>

#define DGCN_TOPO_SPEC_MAX 4096 /* longest spec, characters */

typedef struct dgcn_topo_spec_info {
    int terms;          /* number of terms */
    int needs_required; /* a 'required', 'designed' or 'budget' term: needs the required links */
    int designed;       /* a 'designed' term */
    int single_design;  /* the spec is one 'designed' term: its mixing matrix comes with it */
    int schedule;       /* the spec is a schedule (topologies/schedule.h); its graph is the union */
} dgcn_topo_spec_info;

/* Checks the syntax of spec for m agents without building anything that needs data or files:
 * DGCN_EINVAL naming the spec and the offending term (empty term, unknown family, malformed
 * parameter, a term after file:). info may be NULL. */
int dgcn_topo_spec_check(const char *spec, int32_t m, dgcn_topo_spec_info *info);

/* Builds the graph of spec over m agents into *out (initialized here). required is the required-
 * links graph (m agents), needed when the spec has a 'required' or 'designed' term (else it may be
 * NULL; DGCN_EINVAL if needed and NULL). Random families draw from seed. When c is not NULL and the
 * spec is a single 'designed' term, c (m, m) receives the design's mixing matrix and *have_c = 1;
 * otherwise *have_c = 0 (have_c may be NULL when c is). */
int dgcn_topo_spec_build(const char *spec, int32_t m, const dgcn_topo *required, uint64_t seed,
                         dgcn_topo *out, double *c /* (m, m) or NULL */, int *have_c);

#endif
