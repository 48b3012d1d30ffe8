/* topologies/budget.c: the greedy link-budget design and the sparse SLEM (see budget.h). */
#include "topologies/budget.h"

#include "topologies/weights.h"

#include "core/error.h"
#include "core/timer.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_DENSE_BELOW 64 /* auto: dense eigensolver below this many agents */
#define S_KMAX 800       /* Lanczos steps per solve, at most */
#define S_CHECK_EVERY 6  /* Lanczos steps between convergence checks */

void dgcn_budget_defaults(dgcn_budget_opts *o) {
    o->budget = 0;
    o->max_degree = 0;
    o->tries = 64;
    o->batch = 1;
    o->eigen = DGCN_EIGEN_AUTO;
    o->tol = 1e-8;
}

/* The support as neighbour lists in the order the links were added (for the sparse products), the
 * extreme eigenpairs of its MH matrix (or of a given sparse matrix) on 1-perp, and the
 * eigensolver's workspace. */
typedef struct s_state {
    int32_t m;
    dgcn_topo *g;           /* the support (caller's); NULL for a given matrix */
    const dgcn_mixing *mix; /* the given matrix, or NULL for MH on g */
    int32_t *deg;           /* (m) links per agent */
    int32_t *ncap;          /* (m) room in nbr[k] */
    int32_t **nbr;          /* [m] (deg[k]) neighbour ids of k, in the order added */
    int dense;              /* 1: dsyevr, 0: Lanczos */
    double tol;             /* Lanczos residual tolerance */
    double l2, lmin;        /* largest and smallest eigenvalue of C on 1-perp */
    double *v2, *vmin;      /* (m) their unit eigenvectors, orthogonal to 1 */
    int have_vec;
    int kmax;
    double *q;            /* (kmax, m) Lanczos basis, row j = q_j; dense: (m, m) matrix C - J */
    double *w;            /* (m) */
    double *h;            /* (kmax) */
    double *alpha, *beta; /* (kmax) tridiagonal */
    double *td, *te, *z;  /* (kmax) tridiagonal copies, (kmax) Ritz vector coefficients */
    double *ev, *zz;      /* (e) eigenvalues and (e, e) eigenvectors of a ranged solve,
                           * e = m (dense) or kmax + 1 (Lanczos) */
    lapack_int *isuppz;   /* (2 e) */
    int64_t solves, steps;
    int converged; /* the last Lanczos solve met tol (or spanned all of 1-perp) */
} s_state;

static double s_w(const s_state *s, int32_t k, int32_t t) {
    int32_t d = s->deg[k] > s->deg[t] ? s->deg[k] : s->deg[t];
    return 1.0 / (1.0 + d);
}

/* Appends t to k's list, growing it by doubling. */
static int s_append(s_state *s, int32_t k, int32_t t) {
    if (s->deg[k] == s->ncap[k]) {
        int32_t cap = s->ncap[k] ? 2 * s->ncap[k] : 4;
        int32_t *p = realloc(s->nbr[k], (size_t)cap * sizeof *p);
        if (!p)
            return dgcn_error_set(DGCN_ENOMEM, "budget design: out of memory for %d links of %d",
                                  cap, k);
        s->nbr[k] = p;
        s->ncap[k] = cap;
    }
    s->nbr[k][s->deg[k]++] = t;
    return DGCN_OK;
}

static int s_link(s_state *s, int32_t k, int32_t t) {
    int rc = dgcn_topo_set(s->g, k, t, 1);
    if (!rc) rc = s_append(s, k, t);
    if (!rc) rc = s_append(s, t, k);
    return rc;
}

/* Undoes the last s_link(k, t). */
static void s_unlink(s_state *s, int32_t k, int32_t t) {
    dgcn_topo_set(s->g, k, t, 0);
    s->deg[k]--;
    s->deg[t]--;
}

/* y = C x for the MH matrix of the support (or the given matrix). O(m + links). */
static void s_matvec(const s_state *s, const double *x /* (m) */, double *y /* (m) */) {
    if (s->mix) {
        dgcn_mixing_matvec(s->mix, x, y);
        return;
    }
    for (int32_t k = 0; k < s->m; k++) {
        double acc = x[k];
        const int32_t *nb = s->nbr[k];
        for (int32_t i = 0; i < s->deg[k]; i++) acc += s_w(s, k, nb[i]) * (x[nb[i]] - x[k]);
        y[k] = acc;
    }
}

static void s_center(int32_t m, double *x) {
    double mean = 0;
    for (int32_t i = 0; i < m; i++) mean += x[i];
    mean /= m;
    for (int32_t i = 0; i < m; i++) x[i] -= mean;
}

/* Extreme eigenpairs of the dense C - J by two ranged dsyevr calls. */
static int s_eig_dense(s_state *s) {
    int32_t m = s->m;
    int64_t mm = (int64_t)m * m;
    double *a = s->q;
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < mm; i++) a[i] = -1.0 / m;
        for (int32_t k = 0; k < m; k++) {
            double row = 0;
            const int32_t *nb = s->nbr[k];
            for (int32_t i = 0; i < s->deg[k]; i++) {
                double w = s_w(s, k, nb[i]);
                a[(int64_t)k * m + nb[i]] += w;
                row += w;
            }
            a[(int64_t)k * m + k] += 1.0 - row;
        }
        /* a ranged solve may return more than the one eigenvalue asked for when it sits in a
         * cluster: ev and zz have room for all m */
        lapack_int found = 0, idx = pass ? 1 : m;
        lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'U', m, a, m, 0.0, 0.0, idx,
                                         idx, 0.0, &found, s->ev, s->zz, m, s->isuppz);
        if (info != 0 || found < 1)
            return dgcn_error_set(DGCN_ENUMERIC,
                                  "budget design: dsyevr on %d agents failed (info %d)", m,
                                  (int)info);
        /* the asked-for one is the first found for the smallest, the last for the largest */
        int64_t col = pass ? 0 : found - 1;
        memcpy(pass ? s->vmin : s->v2, s->zz + col * m, (size_t)m * sizeof *s->zz);
        if (pass) s->lmin = s->ev[col];
        else s->l2 = s->ev[col];
    }
    s->have_vec = 1;
    s->solves++;
    return DGCN_OK;
}

/* The extreme Ritz pair (il = 1: smallest, else largest) of the n x n tridiagonal; z receives its
 * coefficients. */
static int s_ritz(s_state *s, int n, int smallest, double *theta) {
    memcpy(s->td, s->alpha, (size_t)n * sizeof *s->td);
    if (n > 1) memcpy(s->te, s->beta, (size_t)(n - 1) * sizeof *s->te);
    lapack_int found = 0, idx = smallest ? 1 : n;
    lapack_int info = LAPACKE_dstevr(LAPACK_COL_MAJOR, 'V', 'I', n, s->td, s->te, 0.0, 0.0, idx,
                                     idx, 0.0, &found, s->ev, s->zz, n, s->isuppz);
    if (info != 0 || found < 1)
        return dgcn_error_set(DGCN_ENUMERIC, "budget design: dstevr of order %d failed (info %d)",
                              n, (int)info);
    int64_t col = smallest ? 0 : found - 1; /* a cluster may return several */
    memcpy(s->z, s->zz + col * n, (size_t)n * sizeof *s->z);
    *theta = s->ev[col];
    return DGCN_OK;
}

/* Lanczos on C restricted to 1-perp with full reorthogonalization, started from v2 + vmin (plus a
 * fixed small perturbation) when known; stops when both extreme Ritz residuals are below tol. */
static int s_eig_lanczos(s_state *s) {
    int rc = DGCN_OK;
    int32_t m = s->m;
    double *q0 = s->q;
    /* a fixed pseudo-random vector (golden-ratio sequence) of norm 0.1 beside the warm start, so
     * that an eigenvector the last change brought to the edge of the spectrum is found too */
    double rs = 0.1 / sqrt(m / 12.0);
    for (int32_t i = 0; i < m; i++) {
        double r = fmod(0.6180339887498949 * (i + 1), 1.0) - 0.5;
        q0[i] = s->have_vec ? s->v2[i] + s->vmin[i] + rs * r : r;
    }
    s_center(m, q0);
    double nrm = cblas_dnrm2(m, q0, 1);
    cblas_dscal(m, 1.0 / nrm, q0, 1);
    int n = 0;
    double top = 0, bot = 0;
    for (int j = 0; j < s->kmax; j++) {
        double *qj = s->q + (int64_t)j * m;
        s_matvec(s, qj, s->w);
        s_center(m, s->w);
        s->alpha[j] = cblas_ddot(m, qj, 1, s->w, 1);
        for (int pass = 0; pass < 2; pass++) { /* w -= Q Q^T w, twice */
            cblas_dgemv(CblasRowMajor, CblasNoTrans, j + 1, m, 1.0, s->q, m, s->w, 1, 0.0, s->h, 1);
            cblas_dgemv(CblasRowMajor, CblasTrans, j + 1, m, -1.0, s->q, m, s->h, 1, 1.0, s->w, 1);
        }
        s->beta[j] = cblas_dnrm2(m, s->w, 1);
        n = j + 1;
        s->steps++;
        int last = n == s->kmax || s->beta[j] < 1e-12;
        if (!last && n % S_CHECK_EVERY) {
            cblas_dcopy(m, s->w, 1, s->q + (int64_t)n * m, 1);
            cblas_dscal(m, 1.0 / s->beta[j], s->q + (int64_t)n * m, 1);
            continue;
        }
        DGCN_CHECK(s_ritz(s, n, 0, &top));
        double res_top = fabs(s->beta[j] * s->z[n - 1]);
        DGCN_CHECK(s_ritz(s, n, 1, &bot));
        double res_bot = fabs(s->beta[j] * s->z[n - 1]);
        s->converged = (res_top < s->tol && res_bot < s->tol) || s->beta[j] < 1e-12 ||
                       n >= m - 1; /* a Krylov space of all of 1-perp is exact */
        if (last || s->converged) break;
        cblas_dcopy(m, s->w, 1, s->q + (int64_t)n * m, 1);
        cblas_dscal(m, 1.0 / s->beta[j], s->q + (int64_t)n * m, 1);
    }
    /* Ritz vectors: z holds the smallest pair's coefficients now */
    cblas_dgemv(CblasRowMajor, CblasTrans, n, m, 1.0, s->q, m, s->z, 1, 0.0, s->vmin, 1);
    DGCN_CHECK(s_ritz(s, n, 0, &top));
    cblas_dgemv(CblasRowMajor, CblasTrans, n, m, 1.0, s->q, m, s->z, 1, 0.0, s->v2, 1);
    s->l2 = top;
    s->lmin = bot;
    s->have_vec = 1;
    s->solves++;
fail:
    return rc;
}

static double s_slem(const s_state *s) { return fmax(0.0, fmax(s->l2, -s->lmin)); }

/* Eigenpairs of the current support; slem = 1 when it is disconnected, 0 for one agent. */
static int s_solve(s_state *s, double *slem) {
    if (s->m == 1) return *slem = 0.0, DGCN_OK;
    if (!dgcn_topo_connected(s->g)) return *slem = 1.0, DGCN_OK;
    int rc = s->dense ? s_eig_dense(s) : s_eig_lanczos(s);
    if (!rc) *slem = s_slem(s);
    return rc;
}

static void s_state_fini(s_state *s) {
    for (int32_t k = 0; s->nbr && k < s->m; k++) free(s->nbr[k]);
    free(s->deg);
    free(s->ncap);
    free(s->nbr);
    free(s->v2);
    free(s->vmin);
    free(s->q);
    free(s->w);
    free(s->h);
    free(s->alpha);
    free(s->beta);
    free(s->td);
    free(s->te);
    free(s->z);
    free(s->ev);
    free(s->zz);
    free(s->isuppz);
    memset(s, 0, sizeof *s);
}

/* Sets up s for the support g (caller's, already holding its links), or for the given matrix mix
 * when g is NULL (Lanczos only). */
static int s_state_init(s_state *s, dgcn_topo *g, const dgcn_mixing *mix, dgcn_eigen_method eigen,
                        double tol) {
    int rc = DGCN_OK;
    int32_t m = g ? g->m : mix->m;
    memset(s, 0, sizeof *s);
    s->m = m;
    s->g = g;
    s->mix = g ? NULL : mix;
    s->tol = tol;
    s->dense = eigen == DGCN_EIGEN_DENSE || (eigen == DGCN_EIGEN_AUTO && m < S_DENSE_BELOW);
    if (!g) s->dense = 0;
    if (s->dense && m > DGCN_TOPO_DENSE_MAX)
        return dgcn_error_set(DGCN_EINVAL,
                              "budget design: the dense eigensolver is limited to %d agents (%d "
                              "asked); use Lanczos",
                              DGCN_TOPO_DENSE_MAX, m);
    s->kmax = m - 1 < S_KMAX ? m - 1 : S_KMAX;
    if (s->kmax < 1) s->kmax = 1;
    int64_t qlen = s->dense ? (int64_t)m * m : (int64_t)(s->kmax + 1) * m;
    DGCN_ALLOC(s->deg, m);
    DGCN_ALLOC(s->ncap, m);
    DGCN_ALLOC(s->nbr, m);
    DGCN_ALLOC(s->v2, m);
    DGCN_ALLOC(s->vmin, m);
    DGCN_ALLOC(s->q, qlen);
    DGCN_ALLOC(s->w, m);
    DGCN_ALLOC(s->h, s->kmax + 1);
    DGCN_ALLOC(s->alpha, s->kmax + 1);
    DGCN_ALLOC(s->beta, s->kmax + 1);
    DGCN_ALLOC(s->td, s->kmax + 1);
    DGCN_ALLOC(s->te, s->kmax + 1);
    DGCN_ALLOC(s->z, s->kmax + 1);
    int64_t e = s->dense ? m : s->kmax + 1;
    DGCN_ALLOC(s->ev, e);
    DGCN_ALLOC(s->zz, e * e);
    DGCN_ALLOC(s->isuppz, 2 * e);
    for (int32_t k = 0; g && k < m; k++) {
        int32_t deg;
        const int32_t *nb = dgcn_topo_neighbors(g, k, &deg);
        for (int32_t i = 0; i < deg; i++) DGCN_CHECK(s_append(s, k, nb[i]));
    }
    return DGCN_OK;
fail:
    s_state_fini(s);
    return rc;
}

int dgcn_topo_slem_mh(const dgcn_topo *g, dgcn_eigen_method eigen, double *slem) {
    dgcn_topo copy = {0};
    s_state s;
    int rc = dgcn_topo_copy(&copy, g);
    if (rc) return rc;
    rc = s_state_init(&s, &copy, NULL, eigen, 1e-10);
    if (!rc) rc = s_solve(&s, slem);
    s_state_fini(&s);
    dgcn_topo_fini(&copy);
    return rc;
}

int dgcn_topo_extremes_lanczos(const dgcn_mixing *c, double tol, double *l2, double *lmin,
                               int *converged) {
    s_state s;
    if (converged) *converged = 1;
    if (c->m < 2) return *l2 = *lmin = 0.0, DGCN_OK;
    int rc = s_state_init(&s, NULL, c, DGCN_EIGEN_LANCZOS, tol);
    if (!rc) rc = s_eig_lanczos(&s);
    if (!rc) *l2 = s.l2, *lmin = s.lmin;
    if (!rc && converged) *converged = s.converged;
    s_state_fini(&s);
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
            if (comp[k] == c && (best < 0 || s->deg[k] < s->deg[best])) best = k;
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
    double dk = s->deg[k], dw = 1.0 / (2.0 + dk) - 1.0 / (1.0 + dk), acc = 0;
    const int32_t *nb = s->nbr[k];
    for (int32_t i = 0; i < s->deg[k]; i++)
        if (s->deg[nb[i]] <= s->deg[k]) {
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
        side2[k] = s_gain_side(s, s->v2, k);
        sidem[k] = s_gain_side(s, s->vmin, k);
    }
    for (int32_t k = 0; k < m; k++) {
        if (max_degree > 0 && s->deg[k] >= max_degree) continue;
        int32_t deg, j = 0;
        const int32_t *row = dgcn_topo_neighbors(s->g, k, &deg); /* sorted: walked beside t */
        for (int32_t t = k + 1; t < m; t++) {
            while (j < deg && row[j] < t) j++;
            if ((j < deg && row[j] == t) || (max_degree > 0 && s->deg[t] >= max_degree)) continue;
            int32_t d = s->deg[k] > s->deg[t] ? s->deg[k] : s->deg[t];
            double w = 1.0 / (2.0 + d);
            double a = s->v2[k] - s->v2[t], b = s->vmin[k] - s->vmin[t];
            double d2 = -(w * a * a + side2[k] + side2[t]);
            double dm = -(w * b * b + sidem[k] + sidem[t]);
            double est = fmax(s->l2 + d2, -(s->lmin + dm));
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
    DGCN_CHECK(s_state_init(&s, support, NULL, o->eigen, o->tol));
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
        double l2 = s.l2, lmin = s.lmin;
        memcpy(save, s.v2, (size_t)m * sizeof *save);
        memcpy(save + m, s.vmin, (size_t)m * sizeof *save);
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
            s.l2 = l2;
            s.lmin = lmin;
            memcpy(s.v2, save, (size_t)m * sizeof *save);
            memcpy(s.vmin, save + m, (size_t)m * sizeof *save);
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
                s.l2 = l2;
                s.lmin = lmin;
                memcpy(s.v2, save, (size_t)m * sizeof *save);
                memcpy(s.vmin, save + m, (size_t)m * sizeof *save);
            }
        }
        if (!kept) {
            r.stopped = 1;
            break;
        }
    }
    r.slem = slem;
    r.eigen_solves = s.solves;
    r.lanczos_steps = s.dense ? 0 : s.steps;
    if (c) DGCN_CHECK(dgcn_topo_weights(support, DGCN_MIX_MH, c));
    r.time_ms = dgcn_now_ms() - t0;
    if (res) *res = r;
fail:
    if (rc) dgcn_topo_fini(support);
    s_state_fini(&s);
    free(comp);
    free(side2);
    free(sidem);
    free(save);
    free(best);
    return rc;
}
