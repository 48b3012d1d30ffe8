/* topologies/budget.c: the greedy link-budget design (see budget.h). */
#include "topologies/budget.h"

#include "topologies/local.h"

#include "core/error.h"
#include "core/signal.h"
#include "core/timer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dgcn_budget_defaults(dgcn_budget_opts *o) {
    o->budget = 0;
    o->max_degree = 0;
    o->tries = 64;
    o->batch = 1;
    o->eigen = DGCN_EIGEN_AUTO;
    o->tol = 1e-8;
}

/* The support and the eigensolver on its MH matrix (neighbour lists in the order the links were
 * added, the extreme eigenpairs, the workspace). */
typedef struct s_state {
    int32_t m;
    dgcn_topo *g; /* the support (caller's) */
    dgcn_eigen e;
} s_state;

static int s_link(s_state *s, int32_t k, int32_t t) {
    int rc = dgcn_topo_set(s->g, k, t, 1);
    if (!rc) rc = dgcn_eigen_link(&s->e, k, t);
    return rc;
}

/* Undoes the last s_link(k, t). */
static void s_unlink(s_state *s, int32_t k, int32_t t) {
    dgcn_topo_set(s->g, k, t, 0);
    dgcn_eigen_unlink(&s->e, k, t);
}

/* Eigenpairs of the current support; slem = 1 when it is disconnected, 0 for one agent. */
static int s_solve(s_state *s, double *slem) {
    int rc = dgcn_signal_check("the budget design");
    if (rc) return rc;
    if (s->m == 1) return *slem = 0.0, DGCN_OK;
    if (!dgcn_topo_connected(s->g)) return *slem = 1.0, DGCN_OK;
    rc = dgcn_eigen_solve(&s->e);
    if (!rc) *slem = dgcn_eigen_slem(&s->e);
    return rc;
}

/* Joins the components of the support by a chain of links, each between the agents of lowest
 * degree (lowest id on ties) of two consecutive components. Returns the number of links added. */
static int s_join(s_state *s, int32_t *comp /* (m) scratch */, dgcn_budget_link *added, int64_t cap,
                  int64_t *n_out) {
    int32_t m = s->m, nc = dgcn_topo_components(s->g, comp);
    int64_t n = 0;
    int rc = DGCN_OK;
    int32_t prev = -1;
    for (int32_t c = 0; c < nc; c++) {
        int32_t best = -1;
        for (int32_t k = 0; k < m; k++)
            if (comp[k] == c && (best < 0 || s->e.deg[k] < s->e.deg[best])) best = k;
        if (prev >= 0) {
            if ((rc = s_link(s, prev, best))) return rc;
            if (added && n < cap) added[n] = (dgcn_budget_link){prev, best, 1.0};
            n++;
        }
        prev = best;
    }
    *n_out = n;
    return rc;
}

/* First-order change of v^T C v per unit of the MH weights at agent k when k gains a link:
 * sum over links k -- t whose weight 1/(1 + max(d_k, d_t)) drops (d_t <= d_k) of the weight's change
 * times (v_k - v_t)^2 (<= 0), negated into a change of the quadratic form of the Laplacian. */
static double s_gain_side(const s_state *s, const double *v, int32_t k) {
    double dk = s->e.deg[k], dw = 1.0 / (2.0 + dk) - 1.0 / (1.0 + dk), acc = 0;
    const int32_t *nb = s->e.nbr[k];
    for (int32_t i = 0; i < s->e.deg[k]; i++)
        if (s->e.deg[nb[i]] <= s->e.deg[k]) {
            double d = v[k] - v[nb[i]];
            acc += dw * d * d;
        }
    return acc;
}

typedef struct s_cand {
    double est;
    int32_t k, t;
} s_cand;

/* The `tries` non-links with the lowest first-order SLEM estimate, ascending, into best; returns
 * how many there are. side2/sidem (m) are scratch. */
static int s_candidates(const s_state *s, int32_t max_degree, int tries, double *side2,
                        double *sidem, s_cand *best) {
    int32_t m = s->m;
    int n = 0;
    for (int32_t k = 0; k < m; k++) {
        side2[k] = s_gain_side(s, s->e.v2, k);
        sidem[k] = s_gain_side(s, s->e.vmin, k);
    }
    for (int32_t k = 0; k < m; k++) {
        if (max_degree > 0 && s->e.deg[k] >= max_degree) continue;
        int32_t deg, j = 0;
        const int32_t *row = dgcn_topo_neighbors(s->g, k, &deg); /* sorted: walked beside t */
        for (int32_t t = k + 1; t < m; t++) {
            while (j < deg && row[j] < t) j++;
            if ((j < deg && row[j] == t) || (max_degree > 0 && s->e.deg[t] >= max_degree)) continue;
            int32_t d = s->e.deg[k] > s->e.deg[t] ? s->e.deg[k] : s->e.deg[t];
            double w = 1.0 / (2.0 + d);
            double a = s->e.v2[k] - s->e.v2[t], b = s->e.vmin[k] - s->e.vmin[t];
            double d2 = -(w * a * a + side2[k] + side2[t]);
            double dm = -(w * b * b + sidem[k] + sidem[t]);
            double est = fmax(s->e.l2 + d2, -(s->e.lmin + dm));
            if (n == tries && est >= best[n - 1].est) continue;
            int i = n < tries ? n++ : n - 1;
            while (i > 0 && best[i - 1].est > est) best[i] = best[i - 1], i--;
            best[i] = (s_cand){est, k, t};
        }
    }
    return n;
}

int dgcn_topo_design_budget(const dgcn_topo *required, const dgcn_budget_opts *o,
                            dgcn_topo *support, double *c, dgcn_budget_link *added, int64_t cap,
                            dgcn_budget_result *res) {
    int rc = DGCN_OK;
    int32_t m = required->m, *comp = NULL;
    double t0 = dgcn_now_ms(), *side2 = NULL, *sidem = NULL, *save = NULL;
    s_cand *best = NULL;
    s_state s;
    memset(&s, 0, sizeof s);
    dgcn_budget_result r;
    memset(&r, 0, sizeof r);
    memset(support, 0, sizeof *support);
    if (o->tries < 1 || o->batch < 1 || o->batch > o->tries || o->max_degree < 0 || !(o->tol > 0) ||
        (unsigned)o->eigen > DGCN_EIGEN_LANCZOS)
        return dgcn_error_set(DGCN_EINVAL,
                              "budget design: 1 <= batch <= tries, max_degree >= 0, tol > 0 "
                              "and a known eigensolver required");
    int64_t pairs = (int64_t)m * (m - 1) / 2, req_links = dgcn_topo_links(required);
    int64_t budget = o->budget < 0 || o->budget > pairs - req_links ? pairs - req_links : o->budget;
    DGCN_CHECK(dgcn_topo_copy(support, required));
    s.m = m;
    s.g = support;
    DGCN_CHECK(dgcn_eigen_init_mh(&s.e, support, o->eigen, o->tol));
    DGCN_ALLOC(comp, m);
    DGCN_ALLOC(side2, m);
    DGCN_ALLOC(sidem, m);
    DGCN_ALLOC(save, 2 * (int64_t)m);
    DGCN_ALLOC(best, o->tries);
    DGCN_CHECK(s_solve(&s, &r.slem_required));
    DGCN_CHECK(s_join(&s, comp, added, cap, &r.join_links));
    r.extra_links = r.join_links;
    double slem = r.slem_required;
    if (r.join_links) {
        DGCN_CHECK(s_solve(&s, &slem));
        if (added && r.join_links <= cap) added[r.join_links - 1].slem = slem;
    }
    while (r.extra_links < budget && m > 1) {
        int n = s_candidates(&s, o->max_degree, o->tries, side2, sidem, best), kept = 0;
        if (!n) break; /* the degree bound leaves no pair */
        double l2 = s.e.l2, lmin = s.e.lmin;
        memcpy(save, s.e.v2, (size_t)m * sizeof *save);
        memcpy(save + m, s.e.vmin, (size_t)m * sizeof *save);
        int nb = 0; /* a batch: the best candidates with distinct agents, checked together */
        int64_t room = budget - r.extra_links;
        if (o->batch > 1 && room > 1) {
            memset(comp, 0, (size_t)m * sizeof *comp);
            for (int i = 0; i < n && nb < o->batch && nb < room; i++) {
                if (comp[best[i].k] || comp[best[i].t]) continue;
                comp[best[i].k] = comp[best[i].t] = 1;
                best[nb++] = best[i]; /* i >= nb: the list stays a permutation prefix */
            }
            for (int i = 0; i < nb; i++) DGCN_CHECK(s_link(&s, best[i].k, best[i].t));
            double next;
            DGCN_CHECK(s_solve(&s, &next));
            if (nb > 1 && next <= slem) {
                slem = next;
                for (int i = 0; i < nb; i++, r.extra_links++)
                    if (added && r.extra_links < cap)
                        added[r.extra_links] = (dgcn_budget_link){best[i].k, best[i].t, next};
                continue;
            }
            for (int i = nb - 1; i >= 0; i--) s_unlink(&s, best[i].k, best[i].t);
            s.e.l2 = l2;
            s.e.lmin = lmin;
            memcpy(s.e.v2, save, (size_t)m * sizeof *save);
            memcpy(s.e.vmin, save + m, (size_t)m * sizeof *save);
            n = s_candidates(&s, o->max_degree, o->tries, side2, sidem, best);
        }
        for (int i = 0; i < n && !kept; i++) {
            double next;
            DGCN_CHECK(s_link(&s, best[i].k, best[i].t));
            DGCN_CHECK(s_solve(&s, &next));
            if (next <= slem) {
                kept = 1;
                slem = next;
                if (added && r.extra_links < cap)
                    added[r.extra_links] = (dgcn_budget_link){best[i].k, best[i].t, next};
                r.extra_links++;
            } else {
                s_unlink(&s, best[i].k, best[i].t);
                s.e.l2 = l2;
                s.e.lmin = lmin;
                memcpy(s.e.v2, save, (size_t)m * sizeof *save);
                memcpy(s.e.vmin, save + m, (size_t)m * sizeof *save);
            }
        }
        if (!kept) {
            r.stopped = 1;
            break;
        }
    }
    r.slem = slem;
    r.eigen_solves = s.e.solves;
    r.lanczos_steps = s.e.dense ? 0 : s.e.steps;
    if (c) DGCN_CHECK(dgcn_local_weights(support, DGCN_MIX_MH, c));
    r.time_ms = dgcn_now_ms() - t0;
    if (res) *res = r;
fail:
    if (rc) dgcn_topo_fini(support);
    dgcn_eigen_fini(&s.e);
    free(comp);
    free(side2);
    free(sidem);
    free(save);
    free(best);
    return rc;
}
