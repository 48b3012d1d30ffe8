/* agent/links.h: which links of an agent carry a message in a given exchange, and the mixing row
 * of what arrived.
 *
 * The transport connects the agent to every neighbour of the run's communication graph once (the
 * union of a schedule's graphs, coordinator/plan.h). Two things can leave a link out of one
 * exchange, and both are decided by the two ends alike, from numbers they share, with no message:
 *  - a schedule (docs/topologies.md, "Schedules"): period graphs, each with its own mixing row,
 *    phase = (iteration / every) mod period; a link whose weight in the phase row is 0 is not
 *    active in that iteration's params exchanges;
 *  - a link failure: with probability P the params message of a link in one exchange (and,
 *    from a separate stream, the halo message of a link in one halo exchange) is lost. The draw is
 *    a hash of (seed, channel, iteration, round or layer, the pair {a, b}): symmetric in the two
 *    ends, so a failure takes out both directions of the link in that exchange. Neither end sends
 *    (the sender knows) or waits (the receiver knows): dgcn_exchange.skip.
 * Consensus re-weights with what arrived: both ends of a failed or inactive link move its weight
 * c_kt to their self weights. The step's matrix stays symmetric and doubly stochastic (entries
 * >= 0, rows and columns summing to 1), so the average of the copies (and the trackers' sum) is
 * kept exactly: no bias, only a slower contraction in that step.
 * Halo messages of training steps fail; evaluation and verification passes stay exact. A failed
 * forward halo message leaves the receiver's halo rows at the last delivered values (the same
 * layer's rows of an earlier pass), a failed backward one contributes no gradient rows that
 * iteration. Staleness bound S: no halo message fails in an iteration n with n mod (S + 1) == S,
 * so halo rows are at most S iterations old (S = 0: halo messages never fail).
 * Everything here is a pure function of its arguments: no allocation, no state. */
#ifndef DGCN_AGENT_LINKS_H
#define DGCN_AGENT_LINKS_H

#include <stdint.h>

typedef struct dgcn_links {
    int32_t self;       /* this agent's id */
    int32_t n_nb;       /* neighbours (of the union graph) */
    const int32_t *nb;  /* [n_nb] their ids */
    const double *rows; /* (period, n_nb + 1) the schedule's rows, or NULL: the static row */
    int32_t period;     /* phases of the schedule (>= 1 with rows) */
    int32_t every;      /* iterations per phase (>= 1) */
    double failure;     /* P in [0, 1): loss probability of a link's message in one exchange */
    int32_t staleness;  /* S >= 0: halo rows at most S iterations old (0: halos never fail) */
    uint64_t seed;      /* the run's seed for the failure draws */
} dgcn_links;

/* 1 when the message of link {a, b} on channel ch in exchange (iter, sub) is lost with probability
 * p (sub: the gossip round for params, the layer for halos). Symmetric in a and b. */
int dgcn_links_fails(uint64_t seed, double p, int ch, int64_t iter, int32_t sub, int32_t a,
                     int32_t b);

/* The mixing row of params exchange (iter, round) into row[n_nb + 1] and the links to leave out
 * into skip[n_nb]: the schedule's phase row (or static_row), with every inactive link skipped and
 * every failed one moved to the self weight. Returns the number of failed (active) links. */
int32_t dgcn_links_params(const dgcn_links *l, const double *static_row, int64_t iter,
                          int32_t round, double *row, char *skip);

/* The links whose halo message fails in training exchange (iter, layer) on channel ch into
 * skip[n_nb] (only neighbours with need[i] != 0 can fail: those the exchange carries rows on);
 * returns how many. */
int32_t dgcn_links_halo(const dgcn_links *l, int64_t iter, int32_t layer, int ch, const char *need,
                        char *skip);

/* 1 when anything can leave a link out (a schedule or P > 0). */
int dgcn_links_dynamic(const dgcn_links *l);

#endif
