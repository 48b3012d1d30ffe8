/* topologies/weights.c: Metropolis-Hastings, max-degree, lazy, uniform and fastest-mixing weights. */
#include "topologies/weights.h"

#include "topologies/design.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dgcn_mixing_init(dgcn_mixing *c, const dgcn_topo *g) {
    int rc = DGCN_OK;
    int32_t m = g->m;
    memset(c, 0, sizeof *c);
    DGCN_ALLOC(c->ptr, (int64_t)m + 1);
    DGCN_ALLOC(c->col, (int64_t)m + 2 * dgcn_topo_links(g));
    DGCN_ALLOC(c->val, (int64_t)m + 2 * dgcn_topo_links(g));
    c->m = m;
    int64_t e = 0;
    for (int32_t k = 0; k < m; k++) {
        int32_t deg;
        const int32_t *nb = dgcn_topo_neighbors(g, k, &deg);
        int placed = 0;
        c->ptr[k] = e;
        for (int32_t i = 0; i < deg; i++) {
            if (!placed && nb[i] > k) c->col[e++] = k, placed = 1;
            c->col[e++] = nb[i];
        }
        if (!placed) c->col[e++] = k;
    }
    c->ptr[m] = e;
    return DGCN_OK;
fail:
    dgcn_mixing_fini(c);
    return rc;
}

void dgcn_mixing_fini(dgcn_mixing *c) {
    if (!c) return;
    free(c->ptr);
    free(c->col);
    free(c->val);
    memset(c, 0, sizeof *c);
}

/* Index of entry (k, t) in c's arrays, or -1 off the support. */
static int64_t s_index(const dgcn_mixing *c, int32_t k, int32_t t) {
    int64_t lo = c->ptr[k], hi = c->ptr[k + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c->col[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo < c->ptr[k + 1] && c->col[lo] == t ? lo : -1;
}

double dgcn_mixing_get(const dgcn_mixing *c, int32_t k, int32_t t) {
    int64_t i = s_index(c, k, t);
    return i < 0 ? 0.0 : c->val[i];
}

int dgcn_mixing_from_dense(dgcn_mixing *out, const dgcn_topo *g, const double *d) {
    int rc = dgcn_mixing_init(out, g);
    if (rc) return rc;
    for (int32_t k = 0; k < g->m; k++)
        for (int64_t e = out->ptr[k]; e < out->ptr[k + 1]; e++)
            out->val[e] = d[(int64_t)k * g->m + out->col[e]];
    return DGCN_OK;
}

int dgcn_mixing_to_dense(const dgcn_mixing *c, double **d) {
    int rc = DGCN_OK;
    int32_t m = c->m;
    *d = NULL;
    if (m > DGCN_TOPO_DENSE_MAX)
        return dgcn_error_set(DGCN_EINVAL,
                              "mixing matrix of %d agents: a dense copy is limited to %d agents", m,
                              DGCN_TOPO_DENSE_MAX);
    DGCN_ALLOC(*d, (int64_t)m * m);
    for (int32_t k = 0; k < m; k++)
        for (int64_t e = c->ptr[k]; e < c->ptr[k + 1]; e++)
            (*d)[(int64_t)k * m + c->col[e]] = c->val[e];
fail:
    return rc;
}

void dgcn_mixing_matvec(const dgcn_mixing *c, const double *x, double *y) {
    for (int32_t k = 0; k < c->m; k++) {
        double acc = 0;
        for (int64_t e = c->ptr[k]; e < c->ptr[k + 1]; e++) acc += c->val[e] * x[c->col[e]];
        y[k] = acc;
    }
}

static const char *const s_names[] = {"mh",          "maxdeg",  "lazy-mh",
                                      "lazy-maxdeg", "uniform", "fastest"};

int dgcn_topo_weights_parse(const char *name, dgcn_mixing_rule *out) {
    for (int i = 0; i < (int)(sizeof s_names / sizeof s_names[0]); i++)
        if (!strcmp(name, s_names[i])) {
            *out = (dgcn_mixing_rule)i;
            return DGCN_OK;
        }
    return dgcn_error_set(
        DGCN_EINVAL,
        "unknown mixing weights '%s' (mh, maxdeg, lazy-mh, lazy-maxdeg, uniform, fastest)", name);
}

const char *dgcn_topo_weights_name(dgcn_mixing_rule rule) {
    return (unsigned)rule < sizeof s_names / sizeof s_names[0] ? s_names[rule] : "?";
}

/* Sets the diagonal to 1 - the off-diagonal row sum. */
static void s_fill_diagonal(int32_t m, double *c) {
    for (int32_t k = 0; k < m; k++) {
        double s = 0;
        for (int32_t t = 0; t < m; t++)
            if (t != k) s += c[(int64_t)k * m + t];
        c[(int64_t)k * m + k] = 1.0 - s;
    }
}

int dgcn_topo_weights(const dgcn_topo *g, dgcn_mixing_rule rule, double *c) {
    int32_t m = g->m, max_deg;
    if (m > DGCN_TOPO_DENSE_MAX)
        return dgcn_error_set(DGCN_EINVAL,
                              "dense mixing matrix of %d agents: limited to %d agents (the run "
                              "plan keeps it sparse)",
                              m, DGCN_TOPO_DENSE_MAX);
    memset(c, 0, (size_t)m * m * sizeof *c);
    dgcn_topo_degree_stats(g, NULL, &max_deg, NULL);
    switch (rule) {
    case DGCN_MIX_MH:
    case DGCN_MIX_LAZY_MH:
    case DGCN_MIX_MAXDEG:
    case DGCN_MIX_LAZY_MAXDEG: {
        int mh = rule == DGCN_MIX_MH || rule == DGCN_MIX_LAZY_MH;
        for (int32_t k = 0; k < m; k++) {
            int32_t dk = mh ? dgcn_topo_degree(g, k) : max_deg;
            for (int32_t t = k + 1; t < m; t++) {
                if (!dgcn_topo_has(g, k, t)) continue;
                int32_t dt = mh ? dgcn_topo_degree(g, t) : max_deg;
                double w = 1.0 / (1.0 + (dk > dt ? dk : dt));
                c[(int64_t)k * m + t] = c[(int64_t)t * m + k] = w;
            }
        }
        if (rule == DGCN_MIX_LAZY_MH || rule == DGCN_MIX_LAZY_MAXDEG)
            for (int64_t i = 0; i < (int64_t)m * m; i++) c[i] *= 0.5;
        s_fill_diagonal(m, c);
        return DGCN_OK;
    }
    case DGCN_MIX_UNIFORM:
        if (dgcn_topo_links(g) != (int64_t)m * (m - 1) / 2)
            return dgcn_error_set(
                DGCN_ETOPOLOGY,
                "uniform weights need the complete graph (%d agents have %lld of %lld links)", m,
                (long long)dgcn_topo_links(g), (long long)m * (m - 1) / 2);
        for (int64_t i = 0; i < (int64_t)m * m; i++) c[i] = 1.0 / m;
        return DGCN_OK;
    case DGCN_MIX_FASTEST: return dgcn_topo_fastest(g, NULL, c, NULL);
    }
    return dgcn_error_set(DGCN_EINVAL, "mixing weights: unknown rule %d", (int)rule);
}

int dgcn_topo_weights_sparse(const dgcn_topo *g, dgcn_mixing_rule rule, dgcn_mixing *out) {
    int rc = DGCN_OK;
    int32_t m = g->m, max_deg;
    double *dense = NULL;
    memset(out, 0, sizeof *out);
    if (rule == DGCN_MIX_FASTEST) {
        DGCN_ALLOC(dense, (int64_t)m * m);
        DGCN_CHECK(dgcn_topo_weights(g, rule, dense));
        DGCN_CHECK(dgcn_mixing_from_dense(out, g, dense));
        goto fail;
    }
    if (rule == DGCN_MIX_UNIFORM && dgcn_topo_links(g) != (int64_t)m * (m - 1) / 2)
        return dgcn_error_set(
            DGCN_ETOPOLOGY,
            "uniform weights need the complete graph (%d agents have %lld of %lld links)", m,
            (long long)dgcn_topo_links(g), (long long)m * (m - 1) / 2);
    if ((unsigned)rule > DGCN_MIX_FASTEST)
        return dgcn_error_set(DGCN_EINVAL, "mixing weights: unknown rule %d", (int)rule);
    DGCN_CHECK(dgcn_mixing_init(out, g));
    dgcn_topo_degree_stats(g, NULL, &max_deg, NULL);
    int mh = rule == DGCN_MIX_MH || rule == DGCN_MIX_LAZY_MH;
    int lazy = rule == DGCN_MIX_LAZY_MH || rule == DGCN_MIX_LAZY_MAXDEG;
    for (int32_t k = 0; k < m; k++) {
        /* the same arithmetic in the same order as the dense rule: link weights, halved when
         * lazy, then the diagonal as 1 - their sum in increasing column order */
        int32_t dk = mh ? dgcn_topo_degree(g, k) : max_deg;
        double s = 0;
        int64_t diag = -1;
        for (int64_t e = out->ptr[k]; e < out->ptr[k + 1]; e++) {
            int32_t t = out->col[e];
            if (t == k) {
                diag = e;
                continue;
            }
            double w;
            if (rule == DGCN_MIX_UNIFORM) {
                w = 1.0 / m;
            } else {
                int32_t dt = mh ? dgcn_topo_degree(g, t) : max_deg;
                w = 1.0 / (1.0 + (dk > dt ? dk : dt));
                if (lazy) w *= 0.5;
            }
            out->val[e] = w;
            s += w;
        }
        out->val[diag] = rule == DGCN_MIX_UNIFORM ? 1.0 / m : 1.0 - s;
    }
fail:
    free(dense);
    if (rc) dgcn_mixing_fini(out);
    return rc;
}

/* Entry (k, t) = v of a mixing matrix whose (t, k) is w: finite, not negative, symmetric. */
static int s_check_entry(int32_t k, int32_t t, double v, double w, double tol) {
    if (!isfinite(v) || v < -tol)
        return dgcn_error_set(DGCN_ETOPOLOGY,
                              "mixing matrix entry (%d, %d) = %.17g is negative or not finite", k,
                              t, v);
    if (fabs(v - w) > tol)
        return dgcn_error_set(DGCN_ETOPOLOGY,
                              "mixing matrix not symmetric: (%d, %d) = %.17g, (%d, %d) = %.17g", k,
                              t, v, t, k, w);
    return DGCN_OK;
}

int dgcn_mixing_check(const dgcn_mixing *c, double tol) {
    for (int32_t k = 0; k < c->m; k++) {
        double s = 0;
        for (int64_t e = c->ptr[k]; e < c->ptr[k + 1]; e++) {
            int32_t t = c->col[e];
            double v = c->val[e], w = dgcn_mixing_get(c, t, k);
            int rc = s_check_entry(k, t, v, w, tol);
            if (rc) return rc;
            s += v;
        }
        if (fabs(s - 1.0) > tol)
            return dgcn_error_set(DGCN_ETOPOLOGY, "mixing matrix row %d sums to %.17g, not 1", k,
                                  s);
    }
    return DGCN_OK;
}

int dgcn_topo_weights_check(int32_t m, const double *c, const dgcn_topo *g, double tol) {
    if (g && g->m != m)
        return dgcn_error_set(DGCN_ETOPOLOGY, "mixing matrix is %d x %d for a graph of %d agents",
                              m, m, g->m);
    for (int32_t k = 0; k < m; k++) {
        double s = 0;
        for (int32_t t = 0; t < m; t++) {
            double v = c[(int64_t)k * m + t], w = c[(int64_t)t * m + k];
            int rc = s_check_entry(k, t, v, w, tol);
            if (rc) return rc;
            if (g && t != k && !dgcn_topo_has(g, k, t) && fabs(v) > tol)
                return dgcn_error_set(DGCN_ETOPOLOGY,
                                      "mixing matrix entry (%d, %d) = %.17g off the graph's links",
                                      k, t, v);
            s += v;
        }
        if (fabs(s - 1.0) > tol)
            return dgcn_error_set(DGCN_ETOPOLOGY, "mixing matrix row %d sums to %.17g, not 1", k,
                                  s);
    }
    return DGCN_OK;
}
