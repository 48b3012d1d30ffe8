/* agent/agent.h: one agent of a distributed GCN run.
 *
 * An agent holds one shard (graph/shard.h), a GCN instance over the shard's block, its own copy
 * theta_k of the parameters (one contiguous vector), its local gradient, the consensus state
 * (nn/consensus.h) and a transport endpoint (comm/transport.h) whose neighbours are the agent's
 * COMMUNICATION neighbours. Every data peer of the shard must be a communication neighbour (else
 * DGCN_ETOPOLOGY naming the missing links) unless the shard carries relay routes (graph/shard.h);
 * neighbours that are not data peers get zero-length halo messages, so every exchange stays a
 * barrier between neighbours.
 *
 * Relay: with routes, one halo exchange is R = shard->relay_rounds rounds. In round r (0-based)
 * the agent sends each neighbour ONE message: the concatenation, in increasing (src, dst) of the
 * forward flow, of the row blocks that cross that link in that round: its own rows (forward round
 * 0), its halo gradient rows (backward round 0), and the rows it forwards for others. Its layer
 * field is layer + DGCN_AGENT_RELAY_LAYER_STRIDE * r. A round's deadline names the neighbour that
 * did not deliver, i.e. the agent that failed to relay.
 *
 * One training iteration (dgcn_agent_step) = L forward halo exchanges + L backward halo exchanges
 * + 1 consensus exchange. All buffers are allocated by dgcn_agent_new; step, evaluate and gradient
 * allocate nothing.
 *
 * Exchange tags. The transport checks the iteration field of every message exactly (a neighbour
 * runs at most one exchange ahead). An agent tags the exchanges of a pass with 4 * iter + purpose,
 * purpose 0 = training step, 1 = evaluation, 2 = gradient (verification); the layer field is the
 * layer and the channel separates forward, backward and consensus. So the (tag, layer, channel)
 * sequences of a training step and an evaluation of the same iteration are distinct, and a
 * message from a neighbour that runs a different pass is a protocol error, not mixed in. All the
 * agents of a run must make the same sequence of step / evaluate / gradient calls, and two
 * consecutive passes of an agent must differ in their tag (else DGCN_EINVAL before any exchange):
 * a transport tells a neighbour's next message from the awaited one by (tag, layer, channel), so
 * two passes with one tag could read each other's rows (inproc did, under load). */
#ifndef DGCN_AGENT_AGENT_H
#define DGCN_AGENT_AGENT_H

#include "comm/transport.h"
#include "graph/shard.h"
#include "nn/compress.h"
#include "nn/consensus.h"
#include "nn/gcn.h"

#include <stdint.h>

enum dgcn_agent_purpose {
    DGCN_AGENT_TAG_STEP = 0,
    DGCN_AGENT_TAG_EVAL = 1,
    DGCN_AGENT_TAG_GRADIENT = 2,
    DGCN_AGENT_TAG_MIX = 3,
    DGCN_AGENT_TAG_STRIDE = 4
};

enum { DGCN_AGENT_RELAY_LAYER_STRIDE = 1024 };

typedef struct dgcn_agent_opts {
    dgcn_consensus_config consensus; /* optimizer; grad_scale 0 means M (shard's n_agents) */
    uint64_t init_seed;              /* Glorot init of theta (same seed on every agent) */
    uint64_t dropout_seed;           /* dropout masks, keyed with the iteration */
    /* Regression on batches of graph signals (y != NULL; nn/gcn.h): every pass reads xd and y,
     * which the caller owns and refills between calls; exchanges are batch times wider. */
    int32_t batch;          /* signals per pass (0 or 1: one) */
    const float *xd;        /* (n_own, batch, d) inputs of the own nodes, or NULL: the shard's x */
    const float *y;         /* (n_own, batch, c) targets, or NULL: classification */
    double n_values_global; /* target values of a batch over all agents (the loss normalizer) */
    /* Time-varying links (agent/links.h): a schedule of sched_period mixing rows of
     * n_neighbors + 1 weights each (copied; NULL: mix_row in every exchange), each for sched_every
     * iterations; link failures with probability link_failure from link_seed, halo rows at most
     * halo_staleness iterations old. All zero: every link in every exchange, as without. */
    const double *sched_rows; /* (sched_period, n_neighbors + 1) or NULL */
    int32_t sched_period;
    int32_t sched_every;
    double link_failure;    /* in [0, 1) */
    int32_t halo_staleness; /* S >= 0 */
    uint64_t link_seed;
    /* Compressed gossip (nn/choco.h; kind NONE: the params messages go whole): every params
     * exchange of a training step sends Q(msg - xhat) in its wire form and mixes with
     * msg + gamma (s - xhat). Needs plain gossip rounds and a static topology (no schedule, link
     * failure or loss watching): DGCN_EINVAL otherwise. Averaging rounds (dgcn_agent_agree) stay
     * exact. compress_seed keys the draws and must be the same on every agent. */
    dgcn_compress_config compress;
    uint64_t compress_seed;
    /* Compressed halo rows (nn/halo_codec.h): the form of every halo message's rows, q8's, q4's and q2's
     * rounding (stochastic draws keyed by halo_seed, the message and the row), and where error
     * feedback applies (training steps only). All zero: float32 rows, as without. */
    int32_t halo_codec;    /* dgcn_halo_codec */
    int32_t halo_rounding; /* dgcn_halo_rounding */
    int32_t halo_feedback; /* dgcn_halo_feedback */
    uint64_t halo_seed;
} dgcn_agent_opts;

/* DGD step 0.1 (constant), grad_scale M, seeds 1. */
dgcn_agent_opts dgcn_agent_opts_defaults(void);

/* Cumulative wall time per phase over all calls (ms) and the number of training steps. */
typedef struct dgcn_agent_timing {
    double forward_ms;
    double backward_ms;
    double consensus_ms;
    int64_t steps;
} dgcn_agent_timing;

typedef struct dgcn_agent dgcn_agent;

/* Builds agent shard->agent. shard and t must outlive the agent (views, not owned); model's
 * dims[0] and dims[L] must match the shard's d and c. mix_row has t->n_neighbors + 1 weights: self
 * first, then one per transport neighbour in order; all >= 0, summing to 1 (within 1e-6).
 * Errors: DGCN_ETOPOLOGY (a data peer is not a neighbour: names every missing link),
 * DGCN_EINVAL (shard/transport/model/mixing mismatch), DGCN_ENOMEM. theta starts at the Glorot
 * initialization from opts->init_seed. */
int dgcn_agent_new(dgcn_agent **out, const dgcn_shard *shard, const dgcn_model_config *model,
                   dgcn_transport *t, const double *mix_row, const dgcn_agent_opts *opts);
void dgcn_agent_destroy(dgcn_agent **a);

/* Checkpoints. The agent's state between iterations is theta_k, the optimizer's state
 * (nn/consensus.h: vectors and two counters), compressed gossip's public copies, the halo error
 * feedback residuals (last), the relayed-byte totals and the float32 weight of the halo rows sent
 * compressed; everything else the next iteration reads is recomputed from the shard and the
 * iteration number (dropout masks are keyed by it). state_len = n_params + the optimizer's floats
 * + those of the public copies and residuals. save copies into vec (state_len floats) and
 * counters, allocating nothing; load restores them (relayed and halo_raw may be NULL: left as is),
 * DGCN_EINVAL naming the agent when len is not state_len. */
int64_t dgcn_agent_state_len(const dgcn_agent *a);
void dgcn_agent_state_save(const dgcn_agent *a, float *vec, int64_t counters[2],
                           uint64_t relayed[DGCN_CH_COUNT], uint64_t halo_raw[DGCN_CH_COUNT]);
int dgcn_agent_state_load(dgcn_agent *a, const float *vec, int64_t len, const int64_t counters[2],
                          const uint64_t relayed[DGCN_CH_COUNT],
                          const uint64_t halo_raw[DGCN_CH_COUNT]);

/* Overwrites theta_k with theta (n_params floats). */
int dgcn_agent_set_params(dgcn_agent *a, const float *theta);
const float *dgcn_agent_params(const dgcn_agent *a);
int64_t dgcn_agent_n_params(const dgcn_agent *a);

/* One training iteration iter (>= 0, increasing): forward with dropout keyed by iter, backward,
 * consensus exchange and update. train_ev (may be NULL) receives the block's sums from this
 * iteration's (training-mode) forward, before the update. */
int dgcn_agent_step(dgcn_agent *a, int64_t iter, dgcn_eval *train_ev);

/* One round of pure averaging, theta_k <- sum_t c_kt theta_t (self weight first), with no gradient:
 * one params exchange of P floats per link, tag 4 iter + 3. Rounds at the end of a run bring the
 * copies together by the mixing matrix's second-largest eigenvalue modulus per round. */
int dgcn_agent_mix(dgcn_agent *a, int64_t iter);
/* Agreement before training: R rounds of pure averaging of theta_k (Chebyshev-accelerated when
 * the consensus config says so, with its bound rho), exchanged on DGCN_CH_PARAMS with tag (iter,
 * mix) and the round in the layer field, so the copies of per-agent initializations start within
 * 1 / T_R(1 / rho) of their average. Every agent of the run makes the same call. */
int dgcn_agent_agree(dgcn_agent *a, int64_t iter, int32_t rounds);

/* Forward without dropout at the current theta_k (exchanges halos, tag 4 iter + 1); fills ev. */
int dgcn_agent_evaluate(dgcn_agent *a, int64_t iter, dgcn_eval *ev);

/* Forward (dropout keyed by iter) and backward at the current theta_k without updating it;
 * grad_out (n_params, may be NULL) receives g_k. Tag 4 iter + 2. For verification. training = 0
 * asks for the dropout-free gradient: only a model with dropout 0 has it (else DGCN_EINVAL). */
int dgcn_agent_gradient(dgcn_agent *a, int64_t iter, int training, float *grad_out);

/* The logits (n_own, c) of the last forward. */
const float *dgcn_agent_logits(const dgcn_agent *a);
/* The tracked gradient y_k (n_params, scaled) for tracking optimizers, else NULL. */
const float *dgcn_agent_tracker(const dgcn_agent *a);

dgcn_agent_timing dgcn_agent_timings(const dgcn_agent *a);
/* The transport's sent-side totals per channel. */
dgcn_traffic dgcn_agent_traffic(const dgcn_agent *a);
/* Of those, the bytes of rows this agent forwarded for others (relay), per channel; the rest are
 * direct (the rows' first hop). */
uint64_t dgcn_agent_relayed_bytes(const dgcn_agent *a, int channel);
/* Rounds per halo exchange: the relay rounds R, or 1. */
int32_t dgcn_agent_rounds(const dgcn_agent *a);
/* The float32 bytes of the halo rows this agent sent compressed (what the same messages carry
 * uncompressed), per channel; 0 without compression. */
uint64_t dgcn_agent_halo_raw_bytes(const dgcn_agent *a, int channel);
/* Messages this agent did not send because their link failed (agent/links.h), per channel
 * (halo_fwd, halo_bwd, params; a failed link counts at both its ends), since the start. */
uint64_t dgcn_agent_link_failures(const dgcn_agent *a, int channel);

#endif
