/* nn/consensus.c: DGD, adapt-then-combine DGD, gradient tracking, GT-Adam and Exact Diffusion as
 * pure updates over (own vector, received vectors, mixing row, gradient, state), and the plain or
 * Chebyshev-accelerated gossip rounds. See nn/consensus.h. */
#include "nn/consensus.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Mixing runs in blocks of S_BLOCK entries: a block of every neighbour's message is summed in an
 * accumulator that stays in the L1 cache and is used at once, so each message is read once and
 * nothing of the length of a message is written besides the result. */
enum { S_BLOCK = 512 };

struct dgcn_consensus {
    dgcn_consensus_config cfg;
    int64_t n_params; /* P */
    int64_t msg_len;  /* P or 2P */
    double *acc;      /* (2 S_BLOCK) mixing accumulators: a block of parameters, of tracker */
    double *w;        /* (R) w_{r+1}: the weight of the combination after exchange r */
    float *y;         /* (P) tracked gradient y_k (tracking kinds) */
    float *ymix;      /* (P) sum_t c_kt y_t from the last mix */
    float *g_old;     /* (P) scaled gradient of the previous round */
    float *m, *v;     /* (P) Adam moments (GT_ADAM) */
    float *psi;       /* (P) ED: psi_k(n) of the last prepare */
    float *phi;       /* (P) ED: the own message phi_k (the I of (I + C) / 2) */
    int started;      /* 1 once y_k(0) = g_k(0) (ED: psi_k(0)) was set */
    int64_t rounds;   /* Adam rounds so far (bias correction) */
};

static const char *const s_kind_names[] = {"dgd", "dgd-atc", "gt", "gt-adam", "ed"};
enum { S_KINDS = 5 };

int dgcn_consensus_kind_parse(const char *name, dgcn_consensus_kind *out) {
    for (int k = 0; k < S_KINDS; k++) {
        if (name && strcmp(name, s_kind_names[k]) == 0) {
            *out = (dgcn_consensus_kind)k;
            return DGCN_OK;
        }
    }
    return dgcn_error_set(DGCN_EINVAL,
                          "unknown optimizer '%s' (expected dgd, dgd-atc, gt, gt-adam, ed)",
                          name ? name : "(null)");
}

const char *dgcn_consensus_kind_name(dgcn_consensus_kind k) {
    return (k >= 0 && (int)k < S_KINDS) ? s_kind_names[k] : "unknown";
}

static const char *const s_accel_names[] = {"none", "chebyshev"};

int dgcn_gossip_accel_parse(const char *name, dgcn_gossip_accel *out) {
    for (int k = 0; k < 2; k++) {
        if (name && strcmp(name, s_accel_names[k]) == 0) {
            *out = (dgcn_gossip_accel)k;
            return DGCN_OK;
        }
    }
    return dgcn_error_set(DGCN_EINVAL,
                          "unknown gossip acceleration '%s' (expected none, chebyshev)",
                          name ? name : "(null)");
}

const char *dgcn_gossip_accel_name(dgcn_gossip_accel a) {
    return (a >= 0 && (int)a < 2) ? s_accel_names[a] : "unknown";
}

double dgcn_gossip_weight(double rho, int32_t r) {
    if (r <= 0) return 1.0;
    double w = 2.0 / (2.0 - rho * rho); /* w_2 */
    for (int32_t i = 2; i <= r; i++) w = 1.0 / (1.0 - rho * rho * w / 4.0);
    return w;
}

double dgcn_gossip_contraction(double rho, int32_t rounds, dgcn_gossip_accel accel) {
    if (!(rho > 0.0)) return 0.0;
    if (accel != DGCN_GOSSIP_CHEBYSHEV || !(rho < 1.0)) return pow(rho, (double)rounds);
    return 1.0 / cosh((double)rounds * acosh(1.0 / rho)); /* 1 / T_R(1 / rho); cosh may be inf */
}

int32_t dgcn_gossip_rounds_for(double rho, double target, dgcn_gossip_accel accel) {
    if (!isfinite(rho) || !(rho < 1.0)) return DGCN_GOSSIP_MAX;
    if (rho < 1e-12) return 1;
    /* plain: rho^R <= target; chebyshev: cosh(R acosh(1 / rho)) >= 1 / target */
    double r = accel == DGCN_GOSSIP_CHEBYSHEV ? ceil(acosh(1.0 / target) / acosh(1.0 / rho))
                                              : ceil(log(target) / log(rho));
    if (!(r <= DGCN_GOSSIP_MAX)) return DGCN_GOSSIP_MAX;
    return r < 1.0 ? 1 : (int32_t)r;
}

int dgcn_gossip_choose(dgcn_gossip_accel want, double slem, int exact, double target,
                       int32_t rounds, int32_t *out_rounds, dgcn_gossip_accel *accel, double *rho) {
    const int bound = exact && slem >= 0.0 && slem < 1.0;
    *accel = want == DGCN_GOSSIP_CHEBYSHEV && bound ? DGCN_GOSSIP_CHEBYSHEV : DGCN_GOSSIP_PLAIN;
    *rho = *accel == DGCN_GOSSIP_CHEBYSHEV ? slem : 0.0;
    *out_rounds = rounds > 0 ? rounds : dgcn_gossip_rounds_for(slem, target, *accel);
    return *accel != want;
}

double dgcn_step_at(const dgcn_step_schedule *s, int64_t n) {
    double a = s->alpha0;
    if (s->decay > 0.0 && s->power != 0.0 && n > 0)
        a = s->alpha0 / pow(1.0 + (double)n / s->decay, s->power);
    if (s->cooldown > 0.0 && s->total > 0) {
        const double len = s->cooldown * (double)s->total, left = (double)(s->total - n);
        if (left < len) a *= left > 0.0 ? (left / len) * (left / len) : 0.0;
    }
    return a;
}

dgcn_consensus_config dgcn_consensus_defaults(dgcn_consensus_kind kind, double alpha0) {
    dgcn_consensus_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.step.alpha0 = alpha0;
    c.step.decay = 0.0;
    c.step.power = 0.0;
    c.grad_scale = 1.0;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.gossip_rounds = 1;
    return c;
}

int dgcn_consensus_config_check(const dgcn_consensus_config *cfg) {
    if (!cfg) return dgcn_error_set(DGCN_EINVAL, "consensus: config is NULL");
    if (cfg->kind < 0 || (int)cfg->kind >= S_KINDS)
        return dgcn_error_set(DGCN_EINVAL, "consensus: kind %d is not a consensus optimizer",
                              (int)cfg->kind);
    if (!(cfg->step.alpha0 > 0.0) || !isfinite(cfg->step.alpha0))
        return dgcn_error_set(DGCN_EINVAL, "consensus: step alpha0 = %g must be finite and > 0",
                              cfg->step.alpha0);
    if (!(cfg->step.cooldown >= 0.0 && cfg->step.cooldown <= 1.0) || cfg->step.total < 0)
        return dgcn_error_set(DGCN_EINVAL,
                              "consensus: step cool-down %g over %lld iterations invalid (a "
                              "fraction in [0, 1])",
                              cfg->step.cooldown, (long long)cfg->step.total);
    if (!(cfg->step.power >= 0.0) || !isfinite(cfg->step.power) || !isfinite(cfg->step.decay))
        return dgcn_error_set(DGCN_EINVAL, "consensus: step power = %g / decay = %g invalid",
                              cfg->step.power, cfg->step.decay);
    if (!(cfg->grad_scale > 0.0) || !isfinite(cfg->grad_scale))
        return dgcn_error_set(DGCN_EINVAL, "consensus: grad_scale = %g must be finite and > 0",
                              cfg->grad_scale);
    if (cfg->gossip_rounds < 1 || cfg->gossip_rounds > DGCN_GOSSIP_MAX)
        return dgcn_error_set(DGCN_EINVAL, "consensus: gossip_rounds = %d is not in [1, %d]",
                              (int)cfg->gossip_rounds, DGCN_GOSSIP_MAX);
    if (cfg->gossip_accel != DGCN_GOSSIP_PLAIN && cfg->gossip_accel != DGCN_GOSSIP_CHEBYSHEV)
        return dgcn_error_set(DGCN_EINVAL, "consensus: gossip_accel %d is not none or chebyshev",
                              (int)cfg->gossip_accel);
    if (cfg->gossip_accel == DGCN_GOSSIP_CHEBYSHEV &&
        !(cfg->gossip_rho >= 0.0 && cfg->gossip_rho < 1.0))
        return dgcn_error_set(DGCN_EINVAL,
                              "consensus: chebyshev gossip needs a spectral bound rho in [0, 1), "
                              "not %g (rho >= 1: C does not contract the disagreement)",
                              cfg->gossip_rho);
    if (cfg->kind == DGCN_CONSENSUS_GT_ADAM) {
        if (!(cfg->beta1 >= 0.0 && cfg->beta1 < 1.0) || !(cfg->beta2 >= 0.0 && cfg->beta2 < 1.0))
            return dgcn_error_set(DGCN_EINVAL,
                                  "consensus: gt-adam betas (%g, %g) must be in [0, 1)", cfg->beta1,
                                  cfg->beta2);
        if (!(cfg->eps > 0.0))
            return dgcn_error_set(DGCN_EINVAL, "consensus: gt-adam eps = %g must be > 0", cfg->eps);
    }
    return DGCN_OK;
}

static int s_tracking(dgcn_consensus_kind k) {
    return k == DGCN_CONSENSUS_GT || k == DGCN_CONSENSUS_GT_ADAM;
}

int dgcn_consensus_new(dgcn_consensus **out, const dgcn_consensus_config *cfg, int64_t n_params) {
    int rc;
    dgcn_consensus *c = NULL;
    *out = NULL;
    DGCN_CHECK(dgcn_consensus_config_check(cfg));
    if (n_params <= 0 || n_params > (INT32_MAX / 2))
        return dgcn_error_set(DGCN_EINVAL, "consensus: n_params = %lld out of range",
                              (long long)n_params);
    DGCN_ALLOC(c, 1);
    c->cfg = *cfg;
    c->n_params = n_params;
    c->msg_len = s_tracking(cfg->kind) ? 2 * n_params : n_params;
    DGCN_ALLOC(c->acc, 2 * S_BLOCK);
    DGCN_ALLOC(c->w, cfg->gossip_rounds);
    for (int32_t r = 0; r < cfg->gossip_rounds; r++)
        c->w[r] = cfg->gossip_accel == DGCN_GOSSIP_CHEBYSHEV
                      ? dgcn_gossip_weight(cfg->gossip_rho, r)
                      : 1.0;
    if (s_tracking(cfg->kind)) {
        DGCN_ALLOC(c->y, n_params);
        DGCN_ALLOC(c->ymix, n_params);
        DGCN_ALLOC(c->g_old, n_params);
    }
    if (cfg->kind == DGCN_CONSENSUS_GT_ADAM) {
        DGCN_ALLOC(c->m, n_params);
        DGCN_ALLOC(c->v, n_params);
    }
    if (cfg->kind == DGCN_CONSENSUS_ED) {
        DGCN_ALLOC(c->psi, n_params);
        DGCN_ALLOC(c->phi, n_params);
    }
    *out = c;
    return DGCN_OK;
fail:
    dgcn_consensus_destroy(&c);
    return rc;
}

void dgcn_consensus_destroy(dgcn_consensus **pc) {
    if (!pc || !*pc) return;
    dgcn_consensus *c = *pc;
    free(c->acc);
    free(c->w);
    free(c->psi);
    free(c->phi);
    free(c->y);
    free(c->ymix);
    free(c->g_old);
    free(c->m);
    free(c->v);
    free(c);
    *pc = NULL;
}

int64_t dgcn_consensus_msg_len(const dgcn_consensus *c) { return c->msg_len; }

const float *dgcn_consensus_tracker(const dgcn_consensus *c) { return c->y; }

/* The state vectors in checkpoint order; returns how many (0..5). */
static int s_state_vectors(const dgcn_consensus *c, float *v[5]) {
    int n = 0;
    if (s_tracking(c->cfg.kind)) {
        v[n++] = c->y;
        v[n++] = c->ymix;
        v[n++] = c->g_old;
    }
    if (c->cfg.kind == DGCN_CONSENSUS_GT_ADAM) {
        v[n++] = c->m;
        v[n++] = c->v;
    }
    if (c->cfg.kind == DGCN_CONSENSUS_ED) v[n++] = c->psi;
    return n;
}

int64_t dgcn_consensus_state_len(const dgcn_consensus *c) {
    float *v[5];
    return s_state_vectors(c, v) * c->n_params;
}

void dgcn_consensus_state_save(const dgcn_consensus *c, float *vec, int64_t counters[2]) {
    float *v[5];
    int n = s_state_vectors(c, v);
    for (int i = 0; i < n; i++)
        memcpy(vec + (int64_t)i * c->n_params, v[i], (size_t)c->n_params * sizeof *vec);
    counters[0] = c->started;
    counters[1] = c->rounds;
}

int dgcn_consensus_state_load(dgcn_consensus *c, const float *vec, int64_t len,
                              const int64_t counters[2]) {
    float *v[5];
    int n = s_state_vectors(c, v);
    if (len != n * c->n_params)
        return dgcn_error_set(DGCN_EINVAL, "consensus: a %s state has %lld floats, not %lld",
                              dgcn_consensus_kind_name(c->cfg.kind), (long long)(n * c->n_params),
                              (long long)len);
    if (counters[0] < 0 || counters[0] > 1 || counters[1] < 0)
        return dgcn_error_set(DGCN_EINVAL, "consensus: state counters (%lld, %lld) out of range",
                              (long long)counters[0], (long long)counters[1]);
    for (int i = 0; i < n; i++)
        memcpy(v[i], vec + (int64_t)i * c->n_params, (size_t)c->n_params * sizeof *vec);
    c->started = (int)counters[0];
    c->rounds = counters[1];
    return DGCN_OK;
}

/* The tracking kinds' prepare in one pass over the vectors: gt = s g, y = ymix + gt - g_old (gt
 * alone before the first round), g_old = gt, track = y, and step = theta - alpha y (GT) or theta
 * itself (GT_ADAM, descent = 0: theta - 0 y would turn -0 into +0 and an infinite y into NaN). The vectors are distinct (restrict), so the loops are vectorized. */
#define S_TRACK_LOOP(Y, STEP)                                                                      \
    for (int64_t i = 0; i < p; i++) {                                                              \
        float gt = (float)(s * grad[i]);                                                           \
        float yi = Y;                                                                              \
        g_old[i] = gt;                                                                             \
        y[i] = yi;                                                                                 \
        track[i] = yi;                                                                             \
        step[i] = STEP;                                                                            \
    }
static void s_track(int64_t p, double s, int started, int descent, double alpha,
                    const float *restrict grad, const float *restrict theta,
                    const float *restrict ymix, float *restrict g_old, float *restrict y,
                    float *restrict step, float *restrict track) {
    if (started && descent) {
        S_TRACK_LOOP((float)((double)ymix[i] + gt - g_old[i]),
                     (float)((double)theta[i] - alpha * yi))
    } else if (started) {
        S_TRACK_LOOP((float)((double)ymix[i] + gt - g_old[i]), theta[i])
    } else if (descent) {
        S_TRACK_LOOP(gt, (float)((double)theta[i] - alpha * yi))
    } else {
        S_TRACK_LOOP(gt, theta[i])
    }
}
#undef S_TRACK_LOOP

int dgcn_consensus_prepare(dgcn_consensus *c, int64_t n, const float *theta, const float *grad,
                           float *msg /* (msg_len) */) {
    const int64_t p = c->n_params;
    const double alpha = dgcn_step_at(&c->cfg.step, n);
    const double s = c->cfg.grad_scale;
    switch (c->cfg.kind) {
    case DGCN_CONSENSUS_DGD: memcpy(msg, theta, (size_t)p * sizeof *msg); return DGCN_OK;
    case DGCN_CONSENSUS_DGD_ATC:
        for (int64_t i = 0; i < p; i++) msg[i] = (float)((double)theta[i] - alpha * s * grad[i]);
        return DGCN_OK;
    case DGCN_CONSENSUS_ED:
        /* psi_k(n+1) = theta_k - alpha gt_k; phi_k(n+1) = psi_k(n+1) + theta_k - psi_k(n) */
        for (int64_t i = 0; i < p; i++) {
            double psi = (double)theta[i] - alpha * s * grad[i];
            double phi = c->started ? psi + (double)theta[i] - (double)c->psi[i] : psi;
            c->psi[i] = (float)psi;
            msg[i] = c->phi[i] = (float)phi;
        }
        c->started = 1;
        return DGCN_OK;
    case DGCN_CONSENSUS_GT:
    case DGCN_CONSENSUS_GT_ADAM: break;
    }
    /* y_k(n) = ymix_k(n-1) + s g_k(n) - s g_k(n-1); y_k(0) = s g_k(0). One pass writes the
     * tracker, the gradient it remembers and both halves of the message. */
    s_track(p, s, c->started, c->cfg.kind == DGCN_CONSENSUS_GT, alpha, grad, theta, c->ymix,
            c->g_old, c->y, msg, msg + p);
    c->started = 1;
    return DGCN_OK;
}

/* Mixing runs in blocks of S_BLOCK entries (see S_BLOCK's definition). */
static int s_check_weights(const double *mix_row, int32_t n_nb) {
    for (int32_t j = 0; j <= n_nb; j++)
        if (!isfinite(mix_row[j]))
            return dgcn_error_set(DGCN_EINVAL, "consensus: mixing weight %d is not finite", j);
    return DGCN_OK;
}

/* The first neighbour at or after j whose weight is not 0, or n_nb. */
static int32_t s_next_nb(const double *mix_row, int32_t n_nb, int32_t j) {
    while (j < n_nb && mix_row[j + 1] == 0.0) j++;
    return j;
}

/* acc[0, nb) = mix_row[0] own_msg[at + .] + sum_j mix_row[j + 1] recv[j][at + .], in double, self
 * first, then the neighbours in order, a neighbour of weight 0 skipped (not added as 0 * x: a NaN
 * or an infinity sent by a dropped link must not reach the sum, and -0 stays -0).
 *
 * One pass over the block takes up to four neighbours: acc is loaded and stored once per four
 * messages instead of once per message, and the first pass starts from the own message. The sum
 * is still (((c0 own + w1 r1) + w2 r2) + w3 r3) + ..., every product and every addition rounded
 * to double in that order (this file is compiled without contraction: C11 mode, no
 * -ffp-contract), so the result is bit for bit that of one neighbour per pass
 * (tests/test_consensus.c, fused_mix_bits). */
static void s_accumulate(const double *mix_row, int32_t n_nb, const float *own_msg,
                         const float *const *recv, int64_t at, int64_t nb, double *acc) {
    const double c0 = mix_row[0];
    const float *own = own_msg + at;
    int first = 1;
    int32_t j = s_next_nb(mix_row, n_nb, 0);
    do {
        /* up to four neighbours with nonzero weights, in order */
        double w[4];
        const float *r[4];
        int k = 0;
        while (k < 4 && j < n_nb) {
            w[k] = mix_row[j + 1];
            r[k] = recv[j] + at;
            k++;
            j = s_next_nb(mix_row, n_nb, j + 1);
        }
        if (first) {
            switch (k) {
            case 0:
                for (int64_t i = 0; i < nb; i++) acc[i] = c0 * own[i];
                break;
            case 1:
                for (int64_t i = 0; i < nb; i++) acc[i] = c0 * own[i] + w[0] * r[0][i];
                break;
            case 2:
                for (int64_t i = 0; i < nb; i++)
                    acc[i] = (c0 * own[i] + w[0] * r[0][i]) + w[1] * r[1][i];
                break;
            case 3:
                for (int64_t i = 0; i < nb; i++)
                    acc[i] = ((c0 * own[i] + w[0] * r[0][i]) + w[1] * r[1][i]) + w[2] * r[2][i];
                break;
            default:
                for (int64_t i = 0; i < nb; i++)
                    acc[i] = (((c0 * own[i] + w[0] * r[0][i]) + w[1] * r[1][i]) + w[2] * r[2][i]) +
                             w[3] * r[3][i];
                break;
            }
            first = 0;
            continue;
        }
        switch (k) {
        case 1:
            for (int64_t i = 0; i < nb; i++) acc[i] += w[0] * r[0][i];
            break;
        case 2:
            for (int64_t i = 0; i < nb; i++) acc[i] = (acc[i] + w[0] * r[0][i]) + w[1] * r[1][i];
            break;
        case 3:
            for (int64_t i = 0; i < nb; i++)
                acc[i] = ((acc[i] + w[0] * r[0][i]) + w[1] * r[1][i]) + w[2] * r[2][i];
            break;
        default:
            for (int64_t i = 0; i < nb; i++)
                acc[i] = (((acc[i] + w[0] * r[0][i]) + w[1] * r[1][i]) + w[2] * r[2][i]) +
                         w[3] * r[3][i];
            break;
        }
    } while (j < n_nb);
}

/* acc[0, nb) = w acc + (1 - w) prev[at + .]: the Chebyshev blend; nothing when w = 1. */
static void s_blend(double w, const float *prev, int64_t at, int64_t nb, double *acc) {
    if (w == 1.0) return;
    const float *q = prev + at;
    for (int64_t i = 0; i < nb; i++) acc[i] = w * acc[i] + (1.0 - w) * q[i];
}

/* The weight of round r's combination, or DGCN_EINVAL for a round outside [0, R) or a missing
 * x_{r-1}. */
static int s_round_weight(const dgcn_consensus *c, int32_t r, const float *prev_msg, double *w) {
    if (r < 0 || r >= c->cfg.gossip_rounds)
        return dgcn_error_set(DGCN_EINVAL, "consensus: gossip round %d is not in [0, %d)", (int)r,
                              (int)c->cfg.gossip_rounds);
    *w = c->w[r];
    if (*w != 1.0 && !prev_msg)
        return dgcn_error_set(DGCN_EINVAL,
                              "consensus: chebyshev round %d needs the previous round's message",
                              (int)r);
    return DGCN_OK;
}

int dgcn_consensus_combine(dgcn_consensus *c, int32_t r, const double *mix_row, int32_t n_nb,
                           const float *own_msg /* (msg_len) */,
                           const float *prev_msg /* (msg_len) or NULL */,
                           const float *const *recv /* [n_nb] (msg_len) */,
                           float *out /* (msg_len) */) {
    double w;
    int rc = s_check_weights(mix_row, n_nb);
    if (rc == DGCN_OK) rc = s_round_weight(c, r, prev_msg, &w);
    if (rc != DGCN_OK) return rc;
    double *acc = c->acc;
    for (int64_t i0 = 0; i0 < c->msg_len; i0 += S_BLOCK) {
        const int64_t nb = c->msg_len - i0 < S_BLOCK ? c->msg_len - i0 : S_BLOCK;
        s_accumulate(mix_row, n_nb, own_msg, recv, i0, nb, acc);
        s_blend(w, prev_msg, i0, nb, acc);
        for (int64_t i = 0; i < nb; i++) out[i0 + i] = (float)acc[i];
    }
    return DGCN_OK;
}

int dgcn_consensus_mix(dgcn_consensus *c, int64_t n, const float *grad, const double *mix_row,
                       int32_t n_nb, const float *own_msg, const float *const *recv, float *theta) {
    return dgcn_consensus_mix_round(c, n, 0, grad, mix_row, n_nb, own_msg, NULL, recv, theta);
}

int dgcn_consensus_mix_round(dgcn_consensus *c, int64_t n, int32_t r, const float *grad,
                             const double *mix_row, int32_t n_nb,
                             const float *own_msg /* (msg_len) */,
                             const float *prev_msg /* (msg_len) or NULL */,
                             const float *const *recv /* [n_nb] (msg_len) */,
                             float *theta /* (P) */) {
    const int64_t p = c->n_params;
    double w;
    int rc = s_check_weights(mix_row, n_nb);
    if (rc == DGCN_OK) rc = s_round_weight(c, r, prev_msg, &w);
    if (rc != DGCN_OK) return rc;
    const dgcn_consensus_kind kind = c->cfg.kind;
    const int tracking = s_tracking(kind);
    const double alpha = dgcn_step_at(&c->cfg.step, n), s = c->cfg.grad_scale;
    const double b1 = c->cfg.beta1, b2 = c->cfg.beta2, eps = c->cfg.eps;
    double bc1 = 1.0, bc2 = 1.0;
    if (kind == DGCN_CONSENSUS_GT_ADAM) { /* an Adam step on the mixed tracker */
        c->rounds++;
        bc1 = 1.0 - pow(b1, (double)c->rounds);
        bc2 = 1.0 - pow(b2, (double)c->rounds);
    }
    double *acc = c->acc, *acc_y = c->acc + S_BLOCK; /* parameters' and tracker's blocks */
    for (int64_t i0 = 0; i0 < p; i0 += S_BLOCK) {
        const int64_t nb = p - i0 < S_BLOCK ? p - i0 : S_BLOCK;
        s_accumulate(mix_row, n_nb, own_msg, recv, i0, nb, acc);
        s_blend(w, prev_msg, i0, nb, acc);
        if (tracking) {
            s_accumulate(mix_row, n_nb, own_msg, recv, p + i0, nb, acc_y);
            s_blend(w, prev_msg, p + i0, nb, acc_y);
            for (int64_t i = 0; i < nb; i++) c->ymix[i0 + i] = (float)acc_y[i];
        }
        if (kind == DGCN_CONSENSUS_DGD) {
            for (int64_t i = 0; i < nb; i++)
                theta[i0 + i] = (float)(acc[i] - alpha * s * grad[i0 + i]);
        } else if (kind == DGCN_CONSENSUS_ED) { /* (I + C) / 2: half own phi_k, half mixed */
            for (int64_t i = 0; i < nb; i++)
                theta[i0 + i] = (float)(0.5 * ((double)c->phi[i0 + i] + acc[i]));
        } else if (kind != DGCN_CONSENSUS_GT_ADAM) {
            for (int64_t i = 0; i < nb; i++) theta[i0 + i] = (float)acc[i];
        } else {
            for (int64_t i = 0; i < nb; i++) {
                const int64_t k = i0 + i;
                double yi = c->ymix[k];
                double mi = b1 * c->m[k] + (1.0 - b1) * yi;
                double vi = b2 * c->v[k] + (1.0 - b2) * yi * yi;
                c->m[k] = (float)mi;
                c->v[k] = (float)vi;
                theta[k] = (float)(acc[i] - alpha * (mi / bc1) / (sqrt(vi / bc2) + eps));
            }
        }
    }
    return DGCN_OK;
}
