/* nn/consensus.h: the distributed optimizers over the agents' copies of the parameters.
 *
 * Each agent k holds theta_k (n_params floats) and, per iteration, its local gradient g_k (the
 * gradient of its block's share of the global loss, nn/gcn.h). One consensus round is one neighbour
 * exchange of one message per neighbour: prepare() writes the message from (theta_k, g_k, state),
 * the transport delivers the neighbours' messages, mix() combines them with the mixing row
 * (c_kk, c_kt for each neighbour t in order) into the new theta_k and state. Both are pure
 * functions of their arguments and the state, so they are testable without a transport, and they
 * allocate nothing (all state is sized by dgcn_consensus_new).
 *
 * Gradient scale. The local gradients add up to the centralized gradient: sum_k g_k = grad J.
 * Every method steps along s * g_k with s = grad_scale (default M): at consensus with a doubly
 * stochastic C, the average update is alpha * s / M * sum_k g_k = alpha * grad J, i.e. centralized
 * gradient descent on the full loss (docs/agent.md derives it).
 *
 * Methods (gt = s * g_k, c = mixing row, alpha = alpha[n]):
 *  DGD      (the paper's, combine then adapt): theta_k <- sum_t c_kt theta_t - alpha gt_k.
 *           Message: theta_k.
 *  DGD_ATC  (adapt then combine, "diffusion"): theta_k <- sum_t c_kt (theta_t - alpha gt_t).
 *           Message: theta_k - alpha gt_k. With C = 11^T/M this IS centralized gradient descent.
 *  GT       (gradient tracking, PAPER.md): y_k(0) = gt_k(0);
 *           y_k(n) = ymix_k(n-1) + gt_k(n) - gt_k(n-1)  with ymix_k(n-1) = sum_t c_kt y_t(n-1);
 *           theta_k(n+1) = sum_t c_kt (theta_t(n) - alpha y_t(n)).
 *           Message: [theta_k - alpha y_k, y_k] (2 n_params floats).
 *  GT_ADAM  gradient tracking whose step is Adam on the MIXED tracker (combine, then adapt):
 *           y_k as in GT; message [theta_k, y_k]; after the exchange ymix_k = sum_t c_kt y_t,
 *           m_k = b1 m_k + (1-b1) ymix_k; v_k = b2 v_k + (1-b2) ymix_k^2;
 *           theta_k(n+1) = sum_t c_kt theta_t - alpha (m_k / (1-b1^j)) / (sqrt(v_k / (1-b2^j)) + eps),
 *           j = rounds so far. Adam is nonlinear, so stepping on the mixed tracker matters: with
 *           C = 11^T/M every ymix_k is the centralized gradient and this IS centralized Adam.
 * All sums run in double in neighbour order (self first), so results do not depend on arrival
 * order.
 *
 * Gossip rounds. With gossip_rounds R > 1 an iteration exchanges its message R times: R - 1
 * rounds of dgcn_consensus_combine (msg <- sum_t c_kt msg_t) and then mix(), so every c_kt above
 * becomes an entry of C^R (still doubly stochastic; its SLEM is SLEM(C)^R). R messages per link
 * direction per iteration. With C = 11^T/M the first round is already the exact average and the
 * others keep it (up to float rounding). */
#ifndef DGCN_NN_CONSENSUS_H
#define DGCN_NN_CONSENSUS_H

#include <stdint.h>

typedef enum dgcn_consensus_kind {
    DGCN_CONSENSUS_DGD = 0,
    DGCN_CONSENSUS_DGD_ATC = 1,
    DGCN_CONSENSUS_GT = 2,
    DGCN_CONSENSUS_GT_ADAM = 3
} dgcn_consensus_kind;

/* "dgd", "dgd-atc", "gt", "gt-adam" <-> enum; parse returns DGCN_EINVAL for an unknown name. */
int dgcn_consensus_kind_parse(const char *name, dgcn_consensus_kind *out);
const char *dgcn_consensus_kind_name(dgcn_consensus_kind k);

/* Step schedule alpha[n] = alpha0 / (1 + n / decay)^power; constant alpha0 when decay <= 0 or
 * power == 0. power in (0.5, 1] gives sum alpha = inf, sum alpha^2 < inf (the DGD theory). */
typedef struct dgcn_step_schedule {
    double alpha0; /* initial step (> 0) */
    double decay;  /* iterations over which the step halves when power = 1 (<= 0: constant) */
    double power;  /* exponent (>= 0) */
} dgcn_step_schedule;

double dgcn_step_at(const dgcn_step_schedule *s, int64_t n);

typedef struct dgcn_consensus_config {
    dgcn_consensus_kind kind;
    dgcn_step_schedule step;
    double grad_scale;        /* s: multiplies every local gradient (use M; see above) */
    double beta1, beta2, eps; /* GT_ADAM moments (0.9, 0.999, 1e-8) */
    int32_t gossip_rounds;    /* R: exchanges per iteration, 1..DGCN_GOSSIP_MAX (default 1) */
} dgcn_consensus_config;

#define DGCN_GOSSIP_MAX 1024

/* kind with step alpha0 constant, grad_scale 1, Adam defaults. */
dgcn_consensus_config dgcn_consensus_defaults(dgcn_consensus_kind kind, double alpha0);
/* Checks the configuration; DGCN_EINVAL names the bad field. */
int dgcn_consensus_config_check(const dgcn_consensus_config *cfg);

typedef struct dgcn_consensus dgcn_consensus;

/* Allocates the state for vectors of n_params floats (tracking vectors, moments). */
int dgcn_consensus_new(dgcn_consensus **out, const dgcn_consensus_config *cfg, int64_t n_params);
void dgcn_consensus_destroy(dgcn_consensus **c);

/* Floats in one consensus message: n_params (DGD kinds) or 2 n_params (tracking kinds). */
int64_t dgcn_consensus_msg_len(const dgcn_consensus *c);

/* Round n (0, 1, 2, ...; the schedule's index): writes this agent's message.
 * theta (n_params), grad (n_params, unscaled g_k), msg (msg_len). */
int dgcn_consensus_prepare(dgcn_consensus *c, int64_t n, const float *theta, const float *grad,
                           float *msg);

/* One gossip round of a message: out = mix_row[0] own_msg + sum_i mix_row[i + 1] recv[i]
 * (msg_len floats; out may be own_msg). Pure averaging: no gradient, no state change. */
int dgcn_consensus_combine(dgcn_consensus *c, const double *mix_row, int32_t n_nb,
                           const float *own_msg, const float *const *recv, float *out);

/* Round n: combines own message and the n_nb received ones with mix_row (n_nb + 1: self weight
 * first, then one per neighbour in the order of recv) into theta (n_params, overwritten) and the
 * state. grad is the same gradient given to prepare (DGD uses it here). */
int dgcn_consensus_mix(dgcn_consensus *c, int64_t n, const float *grad, const double *mix_row,
                       int32_t n_nb, const float *own_msg, const float *const *recv, float *theta);

/* The state a checkpoint keeps (docs/rundir.md, "checkpoint/"): the vectors the next round reads,
 * in the order y_k, ymix_k, g_old_k (tracking kinds), then m_k, v_k (GT_ADAM), and two counters:
 * [0] 1 once y_k(0) was set, [1] Adam rounds so far. dgcn_consensus_state_len gives the floats:
 * 0 (DGD kinds), 3 n_params (GT), 5 n_params (GT_ADAM). save copies into vec (state_len floats),
 * allocating nothing; load restores it, DGCN_EINVAL when len is not state_len or a counter is out
 * of range. */
int64_t dgcn_consensus_state_len(const dgcn_consensus *c);
void dgcn_consensus_state_save(const dgcn_consensus *c, float *vec, int64_t counters[2]);
int dgcn_consensus_state_load(dgcn_consensus *c, const float *vec, int64_t len,
                              const int64_t counters[2]);

/* The tracked gradient y_k (n_params; scaled by grad_scale), or NULL for the DGD kinds. */
const float *dgcn_consensus_tracker(const dgcn_consensus *c);

#endif
