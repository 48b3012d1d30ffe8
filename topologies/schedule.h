/* topologies/schedule.h: schedules of communication graphs, for networks whose links change while
 * they train.
 *
 *   schedule := 'one-peer-exponential'   each agent talks to at most one peer per iteration,
 *                                        cycling through the hops 2^0, 2^1, ..., 2^(H-1),
 *                                        H = ceil(log2 M): phase q uses hop 2^(q mod H) and half
 *                                        (q / H) mod 2 of its links (below); period 2H
 *             | 'matching' [':' P]       P random matchings (default 16) from (seed,
 *                                        DGCN_STREAM_SCHEDULE): a shuffle of the agents paired in
 *                                        order (perfect for even M, one agent idle for odd M)
 *             | 'schedule:' N ':' PATH (',' PATH)*
 *                                        edge-list files (topologies/io.h), each in turn for N
 *                                        iterations; the paths run to the end of the spec
 * The phase of iteration n is (n / every) mod period (every = N for files, 1 otherwise). One-peer
 * exponential: the links {i, i + 2^h mod M} form gcd(M, 2^h) cycles; half 0 takes the even
 * positions of every cycle, half 1 the odd ones (an odd cycle leaves its last link out; a cycle of
 * two agents is one link, in both halves), so every phase is a matching, and the union of the
 * phases is the static exponential graph up to those left-out links: connected, since the hop 1
 * cycle alone, minus one link, is a path through every agent.
 * The transports connect the union of the phases once (dgcn_topo_schedule_union); a phase's mixing
 * matrix is Metropolis-Hastings on the phase graph (symmetric, doubly stochastic; 1/2 on a matched
 * link). Convergence (docs/topologies.md, "Schedules"): the consensus methods need the union of
 * the phases over a window to be connected, which the plan checks for one period. */
#ifndef DGCN_TOPOLOGIES_SCHEDULE_H
#define DGCN_TOPOLOGIES_SCHEDULE_H

#include "topologies/graph.h"

#include <stdint.h>

#define DGCN_SCHEDULE_MATCHINGS 16 /* default P of 'matching' */
#define DGCN_SCHEDULE_MAX 4096     /* phases at most */

typedef struct dgcn_topo_schedule {
    int32_t m;         /* agents */
    int32_t period;    /* phases (0: empty) */
    int32_t every;     /* iterations per phase (>= 1) */
    dgcn_topo *phases; /* [period] the communication graph of each phase */
} dgcn_topo_schedule;

/* 1 when spec names a schedule (its first word is one of the three above), else 0. */
int dgcn_topo_schedule_is(const char *spec);

/* Checks a schedule spec's syntax for m agents without reading files: DGCN_EINVAL naming it. */
int dgcn_topo_schedule_check(const char *spec, int32_t m);

/* Builds the schedule of spec over m agents into *s (safe to fini on failure). Random matchings
 * draw from seed. DGCN_EINVAL for a malformed spec or a file of another agent count; DGCN_ETOPOLOGY
 * when the union of the phases is disconnected (naming the spec). */
int dgcn_topo_schedule_build(dgcn_topo_schedule *s, const char *spec, int32_t m, uint64_t seed);
void dgcn_topo_schedule_fini(dgcn_topo_schedule *s);

/* The union of the phases (initialized here). */
int dgcn_topo_schedule_union(const dgcn_topo_schedule *s, dgcn_topo *out);

#endif
