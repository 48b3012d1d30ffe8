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
 *  ED       Exact Diffusion (Yuan, Ying, Zhao, Sayed, "Exact Diffusion for Distributed
 *           Optimization and Learning -- Part I: Algorithm Development", IEEE TSP 67(3), 2019):
 *           psi_k(n+1) = theta_k(n) - alpha gt_k(n);
 *           phi_k(n+1) = psi_k(n+1) + theta_k(n) - psi_k(n)   (phi = psi at the first round);
 *           theta_k(n+1) = sum_t cbar_kt phi_t(n+1),  Cbar = (I + C) / 2.
 *           Message: phi_k (n_params floats): one exchange per iteration, and exact: with a
 *           constant step the copies converge to the minimizer of sum_k f_k, not near it as DGD.
 *           Step size: alpha < 2 / L, L the largest smoothness constant of the scaled local
 *           losses s f_k (Li, Shi, Yan, "A decentralized proximal-gradient method with network
 *           independent step-sizes and separated convergence rates", IEEE TSP 67(17), 2019:
 *           ED is their NIDS with W~ = (I + W) / 2, convergent for alpha < 2 / L).
 * All sums run in double in neighbour order (self first), so results do not depend on arrival
 * order.
 *
 * Gossip rounds. With gossip_rounds R > 1 an iteration exchanges its message R times: R - 1
 * rounds of dgcn_consensus_combine and then mix_round() for the last one, so every c_kt above
 * becomes an entry of a polynomial p_R(C) with p_R(1) = 1. R messages per link direction per
 * iteration. Plain gossip (DGCN_GOSSIP_PLAIN): x_{r+1} = C x_r, p_R(C) = C^R, whose SLEM is
 * SLEM(C)^R.
 *
 * Chebyshev acceleration (DGCN_GOSSIP_CHEBYSHEV; Golub and Varga, "Chebyshev semi-iterative
 * methods...", Numer. Math. 3, 1961; used for gossip by Scaman, Bach, Bubeck, Lee, Massoulie,
 * "Optimal algorithms for smooth and strongly convex distributed optimization in networks",
 * ICML 2017). C is symmetric and doubly stochastic, so C = 11^T/M + sum_i lambda_i u_i u_i^T
 * with every lambda_i other than the eigenvalue 1 in [-rho, rho], rho = SLEM(C) < 1. Among
 * polynomials of degree R with p(1) = 1 the one smallest in max |p| on [-rho, rho] is
 *     p_R(t) = T_R(t / rho) / T_R(1 / rho),   T_R the Chebyshev polynomial (|T_R| <= 1 on [-1, 1]),
 * so the disagreement (the part of msg orthogonal to 1) contracts by 1 / T_R(1 / rho), T_R(x) =
 * cosh(R acosh x), about 2 q^R with q = (1 - sqrt(1 - rho^2)) / rho, instead of rho^R: for rho
 * near 1, ln q ~ -sqrt(2 (1 - rho)) against ln rho ~ -(1 - rho): many accelerated rounds do the
 * work of sqrt(2 / (1 - rho)) plain ones each, and while R^2 (1 - rho) is small, 1 / T_R(1/rho)
 * ~ 1 - R^2 (1 - rho) ~ rho^(R^2): R rounds do the work of R^2 plain ones.
 * From T_{r+1}(s) = 2 s T_r(s) - T_{r-1}(s) with s = t / rho:
 *     x_0 = msg,  x_1 = C x_0,  x_{r+1} = w_{r+1} C x_r + (1 - w_{r+1}) x_{r-1},
 *     w_{r+1} = 2 T_r(1/rho) / (rho T_{r+1}(1/rho)):  w_1 = 1,  w_2 = 2 / (2 - rho^2),
 *     w_{r+1} = 1 / (1 - rho^2 w_r / 4)  (r >= 2),
 * and x_R = p_R(C) x_0. Every x_r has the average of x_0 (p_r(1) = 1, and the weights w and
 * 1 - w sum to 1), so the tracking invariant sum_k y_k = s sum_k g_k holds as with C^R. The
 * blend needs the agent's own x_{r-1}, the message it sent the round before (prev_msg below).
 * rho = 0 (C = 11^T/M) gives w = 1 throughout: x_1 is already the exact average. With R = 1
 * both kinds are the plain single round, bit for bit.
 *
 * ED with R rounds applies Cbar_R = (I + p_R(C)) / 2, which keeps what ED's analysis asks of Cbar:
 * symmetric, doubly stochastic, eigenvalue 1 simple, the others in [0, 1) since |p_R| < 1 on the
 * other eigenvalues of C. (I is the agent's own phi_k, which the state keeps for this.) */
#ifndef DGCN_NN_CONSENSUS_H
#define DGCN_NN_CONSENSUS_H

#include <stdint.h>

typedef enum dgcn_consensus_kind {
    DGCN_CONSENSUS_DGD = 0,
    DGCN_CONSENSUS_DGD_ATC = 1,
    DGCN_CONSENSUS_GT = 2,
    DGCN_CONSENSUS_GT_ADAM = 3,
    DGCN_CONSENSUS_ED = 4
} dgcn_consensus_kind;

/* "dgd", "dgd-atc", "gt", "gt-adam", "ed" <-> enum; parse returns DGCN_EINVAL for an unknown
 * name. */
int dgcn_consensus_kind_parse(const char *name, dgcn_consensus_kind *out);
const char *dgcn_consensus_kind_name(dgcn_consensus_kind k);

/* Step schedule alpha[n] = alpha0 / (1 + n / decay)^power; constant alpha0 when decay <= 0 or
 * power == 0. power in (0.5, 1] gives sum alpha = inf, sum alpha^2 < inf (the DGD theory).
 * Cool-down: with cooldown f in (0, 1] and total N > 0 iterations, the last f N iterations
 * multiply that step by ((N - n) / (f N))^2, so it falls to 0 at the end: the copies of a sparse
 * graph, which lag each other by about the step over the spectral gap, meet by the last report
 * (docs/agent.md, "The default on sparse graphs"). */
typedef struct dgcn_step_schedule {
    double alpha0;   /* initial step (> 0) */
    double decay;    /* iterations over which the step halves when power = 1 (<= 0: constant) */
    double power;    /* exponent (>= 0) */
    double cooldown; /* fraction f of the iterations at the end over which the step falls to 0 */
    int64_t total;   /* N: iterations of the run (0: no cool-down) */
} dgcn_step_schedule;

double dgcn_step_at(const dgcn_step_schedule *s, int64_t n);

typedef struct dgcn_consensus_config {
    dgcn_consensus_kind kind;
    dgcn_step_schedule step;
    double grad_scale;        /* s: multiplies every local gradient (use M; see above) */
    double beta1, beta2, eps; /* GT_ADAM moments (0.9, 0.999, 1e-8) */
    int32_t gossip_rounds;    /* R: exchanges per iteration, 1..DGCN_GOSSIP_MAX (default 1) */
    int32_t gossip_accel;     /* dgcn_gossip_accel of the R rounds (default plain) */
    double gossip_rho;        /* chebyshev: the bound rho >= SLEM(C), in [0, 1) */
} dgcn_consensus_config;

#define DGCN_GOSSIP_MAX 1024

typedef enum dgcn_gossip_accel {
    DGCN_GOSSIP_PLAIN = 0,    /* x_{r+1} = C x_r */
    DGCN_GOSSIP_CHEBYSHEV = 1 /* the Chebyshev recursion above */
} dgcn_gossip_accel;

/* "none", "chebyshev" <-> enum; parse returns DGCN_EINVAL for an unknown name. */
int dgcn_gossip_accel_parse(const char *name, dgcn_gossip_accel *out);
const char *dgcn_gossip_accel_name(dgcn_gossip_accel a);

/* w_{r+1}, the weight of the combination after exchange r (0-based) of the Chebyshev recursion
 * with bound rho in [0, 1): 1 for r = 0. O(r). */
double dgcn_gossip_weight(double rho, int32_t r);
/* Worst-case contraction of the disagreement after R rounds: rho^R (plain) or 1 / T_R(1 / rho)
 * (chebyshev); 0 for rho = 0. */
double dgcn_gossip_contraction(double rho, int32_t rounds, dgcn_gossip_accel accel);
/* The fewest R >= 1 whose contraction is <= target (in (0, 1)), capped at DGCN_GOSSIP_MAX; 1 for
 * rho = 0, DGCN_GOSSIP_MAX for rho >= 1 or not finite. */
int32_t dgcn_gossip_rounds_for(double rho, double target, dgcn_gossip_accel accel);
/* The gossip of a run from its mixing matrix's SLEM (exact = 0: a lower bound, as from a Lanczos
 * run that did not converge): *accel = want, except plain when the SLEM is no bound rho >= SLEM(C)
 * (exact = 0, or slem not in [0, 1)), since Chebyshev weights amplify the modes above rho;
 * *rho = slem under Chebyshev, else 0; *rounds = rounds when > 0, else
 * dgcn_gossip_rounds_for(slem, target, *accel). Returns 1 when it fell back to plain gossip. */
int dgcn_gossip_choose(dgcn_gossip_accel want, double slem, int exact, double target,
                       int32_t rounds, int32_t *out_rounds, dgcn_gossip_accel *accel, double *rho);

/* kind with step alpha0 constant, grad_scale 1, Adam defaults. */
dgcn_consensus_config dgcn_consensus_defaults(dgcn_consensus_kind kind, double alpha0);
/* Checks the configuration; DGCN_EINVAL names the bad field. */
int dgcn_consensus_config_check(const dgcn_consensus_config *cfg);

typedef struct dgcn_consensus dgcn_consensus;

/* Allocates the state for vectors of n_params floats (tracking vectors, moments). */
int dgcn_consensus_new(dgcn_consensus **out, const dgcn_consensus_config *cfg, int64_t n_params);
void dgcn_consensus_destroy(dgcn_consensus **c);

/* Floats in one consensus message: n_params (DGD kinds, ED) or 2 n_params (tracking kinds). */
int64_t dgcn_consensus_msg_len(const dgcn_consensus *c);

/* Round n (0, 1, 2, ...; the schedule's index): writes this agent's message.
 * theta (n_params), grad (n_params, unscaled g_k), msg (msg_len). */
int dgcn_consensus_prepare(dgcn_consensus *c, int64_t n, const float *theta, const float *grad,
                           float *msg);

/* Gossip round r (0-based, r < R) of a message: with w = w_{r+1} (1 for plain gossip and
 * for r = 0), out = w (mix_row[0] own_msg + sum_i mix_row[i + 1] recv[i]) + (1 - w) prev_msg
 * (msg_len floats; out may be own_msg or prev_msg). prev_msg is x_{r-1}, the agent's message of
 * the round before, and may be NULL when w = 1. Pure averaging: no gradient, no state change. */
int dgcn_consensus_combine(dgcn_consensus *c, int32_t r, const double *mix_row, int32_t n_nb,
                           const float *own_msg, const float *prev_msg, const float *const *recv,
                           float *out);

/* Round n: combines own message and the n_nb received ones with mix_row (n_nb + 1: self weight
 * first, then one per neighbour in the order of recv) into theta (n_params, overwritten) and the
 * state. grad is the same gradient given to prepare (DGD uses it here). */
int dgcn_consensus_mix(dgcn_consensus *c, int64_t n, const float *grad, const double *mix_row,
                       int32_t n_nb, const float *own_msg, const float *const *recv, float *theta);
/* mix after R gossip rounds: the combination is that of round r = R - 1 (as in combine, with
 * prev_msg the agent's x_{R-2}, NULL when w = 1). dgcn_consensus_mix is r = 0. */
int dgcn_consensus_mix_round(dgcn_consensus *c, int64_t n, int32_t r, const float *grad,
                             const double *mix_row, int32_t n_nb, const float *own_msg,
                             const float *prev_msg, const float *const *recv, float *theta);

/* The state a checkpoint keeps (docs/rundir.md, "checkpoint/"): the vectors the next round reads,
 * in the order y_k, ymix_k, g_old_k (tracking kinds), then m_k, v_k (GT_ADAM), psi_k (ED), and
 * two counters: [0] 1 once y_k(0) (ED: psi_k(0)) was set, [1] Adam rounds so far.
 * dgcn_consensus_state_len gives the floats: 0 (DGD kinds), 3 n_params (GT), 5 n_params
 * (GT_ADAM), n_params (ED). save copies into vec (state_len floats),
 * allocating nothing; load restores it, DGCN_EINVAL when len is not state_len or a counter is out
 * of range. */
int64_t dgcn_consensus_state_len(const dgcn_consensus *c);
void dgcn_consensus_state_save(const dgcn_consensus *c, float *vec, int64_t counters[2]);
int dgcn_consensus_state_load(dgcn_consensus *c, const float *vec, int64_t len,
                              const int64_t counters[2]);

/* The tracked gradient y_k (n_params; scaled by grad_scale), or NULL for the DGD kinds. */
const float *dgcn_consensus_tracker(const dgcn_consensus *c);

#endif
