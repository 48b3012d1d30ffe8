/* nn/choco.h: compressed gossip with error feedback (CHOCO-gossip: Koloskova, Stich, Jaggi,
 * "Decentralized Stochastic Optimization and Gossip Algorithms with Compressed Communication",
 * ICML 2019).
 *
 * Exact gossip replaces an agent's message x_k by sum_t c_kt x_t. Compressed gossip sends less:
 * every agent k keeps a public copy xhat_k of its message, known to its neighbours too, and in
 * each exchange
 *     q_k = Q(x_k - xhat_k)            sent compressed (nn/compress.h), the residual kept in x_k
 *     xhat_t += q_t                    for itself and, at every neighbour, for each sender t
 *     x_k <- x_k + gamma sum_t c_kt (xhat_t - xhat_k).
 * The public copies are the error feedback: what one exchange's Q leaves out is still in
 * x_k - xhat_k and goes out in later ones, so the copies converge to the messages and the
 * combination to exact gossip; with Q the identity and gamma = 1 it is exact gossip. For a
 * symmetric doubly stochastic C the correction sums to 0 over the agents, so the average of the
 * messages is kept exactly (the invariant gradient tracking needs). An agent needs only its own
 * xhat_k and s_k = sum_t c_kt xhat_t (self included), updated by s_k += sum_t c_kt q_t: two
 * vectors of the message's length, whatever the degree, and so C must not change during a run (no
 * schedule, link failure or lost agent).
 *
 * Q is the contraction form (RANDK unscaled). QUANT with one bit is refused: its error exceeds
 * the vector's norm, so xhat never catches up (the scheme needs E ||x - Q(x)||^2 < ||x||^2). A message of n_seg segments of seg_len floats (the
 * parameters, then the tracker for the tracking optimizers) is compressed per segment, each with
 * its own k or blocks, so one segment's scale does not starve the other. The draws of agent a in
 * exchange (iter, round), segment g, come from dgcn_compress_key(seed, a, iter, round, g).
 *
 * send and mix allocate nothing (all state is sized by dgcn_choco_new). */
#ifndef DGCN_NN_CHOCO_H
#define DGCN_NN_CHOCO_H

#include "nn/compress.h"

#include <stdint.h>

typedef struct dgcn_choco dgcn_choco;

/* For messages of n_seg segments of seg_len floats; cfg->kind must not be NONE; gamma 0 is
 * dgcn_compress_gamma_auto. */
int dgcn_choco_new(dgcn_choco **out, const dgcn_compress_config *cfg, int64_t seg_len,
                   int32_t n_seg, uint64_t seed);
void dgcn_choco_destroy(dgcn_choco **c);

/* Floats of one wire message (its bytes rounded up to whole floats), and its bytes. */
int64_t dgcn_choco_wire_floats(const dgcn_choco *c);
int64_t dgcn_choco_wire_bytes(const dgcn_choco *c);
double dgcn_choco_gamma(const dgcn_choco *c);

/* Exchange (iter, round) of agent self: q = Q(x - xhat) into wire (wire_floats), xhat += q,
 * s += c_self q. */
int dgcn_choco_send(dgcn_choco *c, int32_t self, int64_t iter, int32_t round, const float *x,
                    double c_self, float *wire);
/* After the exchange: s += sum_i row[i + 1] q_i, q_i decoded from recv[i] (neighbour nb[i]'s
 * wire message of the same exchange), then out = x + gamma (s - xhat) (out may be x).
 * DGCN_EPROTO for a corrupt message. */
int dgcn_choco_mix(dgcn_choco *c, int64_t iter, int32_t round, const double *row, int32_t n_nb,
                   const int32_t *nb, const float *const *recv, const float *x, float *out);

/* Error feedback on (1, the default) or off (0: q = Q(x), xhat = q and s = sum_t c_kt q_t each
 * exchange, i.e. the messages themselves compressed: the naive scheme, biased for TOPK and RANDK;
 * for the test that shows why the public copies matter). */
void dgcn_choco_set_feedback(dgcn_choco *c, int on);

/* The state a checkpoint keeps: xhat_k, then s_k (2 n_seg seg_len floats). */
int64_t dgcn_choco_state_len(const dgcn_choco *c);
void dgcn_choco_state_save(const dgcn_choco *c, float *vec);
void dgcn_choco_state_load(dgcn_choco *c, const float *vec);

#endif
