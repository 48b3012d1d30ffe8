/* topologies/spec.c: parsing and building the topology grammar of spec.h. */
#include "topologies/spec.h"

#include "core/error.h"
#include "topologies/budget.h"
#include "topologies/design.h"
#include "topologies/generate.h"
#include "topologies/io.h"
#include "topologies/schedule.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One term of a spec, as a view into the spec string. */
typedef struct s_term {
    const char *p;
    size_t len;
} s_term;

/* Splits spec at '+' up to a 'file:' term (which takes the rest). Returns the number of terms, or
 * -1 after setting the error for an empty term. */
static int s_split(const char *spec, s_term *terms, int cap) {
    int n = 0;
    const char *p = spec;
    for (;;) {
        if (n == cap)
            return dgcn_error_set(DGCN_EINVAL, "topology '%s': more than %d terms", spec, cap), -1;
        const char *e = strncmp(p, "file:", 5) ? strchr(p, '+') : NULL;
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!len)
            return dgcn_error_set(DGCN_EINVAL, "topology '%s': an empty part between '+'", spec),
                   -1;
        terms[n].p = p;
        terms[n].len = len;
        n++;
        if (!e) return n;
        p = e + 1;
    }
}

static int s_is(const s_term *t, const char *word) {
    return t->len == strlen(word) && !memcmp(t->p, word, t->len);
}

/* 'designed' or 'designed:G': 1 and *gamma (the default when absent), 0 when not a design term,
 * -1 after setting the error for a malformed gamma. */
static int s_design_term(const char *spec, const s_term *t, double *gamma) {
    dgcn_design_opts d;
    dgcn_design_defaults(&d);
    *gamma = d.gamma;
    if (s_is(t, "designed")) return 1;
    if (t->len < 9 || memcmp(t->p, "designed:", 9)) return 0;
    char buf[64], *end = NULL;
    if (t->len - 9 >= sizeof buf || t->len == 9)
        return dgcn_error_set(DGCN_EINVAL, "topology '%s': malformed gamma after 'designed:'",
                              spec),
               -1;
    memcpy(buf, t->p + 9, t->len - 9);
    buf[t->len - 9] = '\0';
    errno = 0;
    double g = strtod(buf, &end);
    if (errno || end == buf || *end || !(g >= 0) || !isfinite(g))
        return dgcn_error_set(DGCN_EINVAL, "topology '%s': gamma '%s' is not a number >= 0", spec,
                              buf),
               -1;
    *gamma = g;
    return 1;
}

/* 'PREFIX:B' with PREFIX "budget" or "sparse": 1 and *budget (an integer >= 0), 0 when not such a
 * term, -1 after setting the error for a malformed budget. */
static int s_count_term(const char *spec, const s_term *t, const char *prefix, int64_t *budget) {
    const size_t pl = strlen(prefix);
    if (t->len < pl || memcmp(t->p, prefix, pl)) return 0;
    char buf[32], *end = NULL;
    if (t->len - pl >= sizeof buf || t->len == pl)
        return dgcn_error_set(DGCN_EINVAL, "topology '%s': malformed budget after '%s'", spec,
                              prefix),
               -1;
    memcpy(buf, t->p + pl, t->len - pl);
    buf[t->len - pl] = '\0';
    errno = 0;
    long long b = strtoll(buf, &end, 10);
    if (errno || end == buf || *end || b < 0)
        return dgcn_error_set(DGCN_EINVAL, "topology '%s': budget '%s' is not an integer >= 0",
                              spec, buf),
               -1;
    *budget = b;
    return 1;
}

static int s_budget_term(const char *spec, const s_term *t, int64_t *budget) {
    return s_count_term(spec, t, "budget:", budget);
}

/* 'sparse:B': the budget design grown from no links at all, so the required links play no part:
 * a chain joins the agents (M - 1 links, counted in B), then links are added while they lower the
 * SLEM, two at a time (with MH weights a single chord on a ring raises the SLEM, so one at a time
 * the design would stop at the ring). */
static int s_sparse_term(const char *spec, const s_term *t, int64_t *budget) {
    return s_count_term(spec, t, "sparse:", budget);
}

static int s_build_sparse(int32_t m, int64_t budget, dgcn_topo *out) {
    int rc;
    dgcn_topo none = {0};
    DGCN_CHECK(dgcn_topo_init(&none, m));
    dgcn_budget_opts bo;
    dgcn_budget_defaults(&bo);
    bo.budget = budget;
    bo.batch = 2;
    rc = dgcn_topo_design_budget(&none, &bo, out, NULL, NULL, 0, NULL);
fail:
    dgcn_topo_fini(&none);
    return rc;
}

/* Builds one term into *out (initialized here). c/have_c as in dgcn_topo_spec_build, for a design
 * term only. */
static int s_build_term(const char *spec, const s_term *t, int32_t m, const dgcn_topo *required,
                        uint64_t seed, dgcn_topo *out, double *c) {
    int rc = DGCN_OK;
    char buf[DGCN_TOPO_SPEC_MAX + 1];
    double gamma = 0, *own_c = NULL;
    memset(out, 0, sizeof *out);
    memcpy(buf, t->p, t->len);
    buf[t->len] = '\0';
    int64_t budget = 0;
    int design = s_design_term(spec, t, &gamma), greedy = s_budget_term(spec, t, &budget);
    int sparse = s_sparse_term(spec, t, &budget);
    if (design < 0 || greedy < 0 || sparse < 0) return DGCN_EINVAL;
    if (sparse) {
        if (budget < m - 1)
            return dgcn_error_set(DGCN_EINVAL,
                                  "topology '%s': term '%s' over %d agents needs a budget of at "
                                  "least %d links (a connected graph)",
                                  spec, buf, m, m - 1);
        return s_build_sparse(m, budget, out);
    }
    if (s_is(t, "required") || design || greedy) {
        if (!required)
            return dgcn_error_set(DGCN_EINVAL,
                                  "topology '%s': term '%s' needs the required links "
                                  "of a partition (give a dataset)",
                                  spec, buf);
        if (required->m != m)
            return dgcn_error_set(DGCN_EINVAL,
                                  "topology '%s': required links of %d agents, "
                                  "expected %d",
                                  spec, required->m, m);
        if (greedy) {
            dgcn_budget_opts bo;
            dgcn_budget_defaults(&bo);
            bo.budget = budget;
            return dgcn_topo_design_budget(required, &bo, out, NULL, NULL, 0, NULL);
        }
        if (!design) return dgcn_topo_copy(out, required);
        dgcn_design_opts d;
        dgcn_design_defaults(&d);
        d.gamma = gamma;
        if (m > DGCN_TOPO_DENSE_MAX)
            return dgcn_error_set(DGCN_EINVAL,
                                  "topology '%s': term '%s' over %d agents; the dense design is "
                                  "limited to %d agents (budget:B designs thousands sparsely)",
                                  spec, buf, m, DGCN_TOPO_DENSE_MAX);
        if (!c) DGCN_ALLOC(own_c, (size_t)m * m);
        rc = dgcn_topo_design(required, &d, out, c ? c : own_c, NULL);
        free(own_c);
        return rc;
    }
    if (!strncmp(buf, "file:", 5)) {
        DGCN_CHECK(dgcn_topo_read_edges(out, buf + 5));
        if (out->m != m)
            DGCN_CHECK(dgcn_error_set(DGCN_ETOPOLOGY, "topology file %s has %d agents, expected %d",
                                      buf + 5, out->m, m));
        return DGCN_OK;
    }
    rc = dgcn_topo_generate(out, buf, m, seed);
    if (rc && strcmp(spec, buf)) rc = dgcn_error_wrap(rc, "topology '%s': ", spec);
    return rc;
fail:
    dgcn_topo_fini(out);
    return rc;
}

#define S_MAX_TERMS 64

/* Parses spec into *info; with build_terms, also builds every family and file term once, which
 * checks their parameters and contents (dgcn_topo_spec_build builds them anyway, so it does not). */
static int s_scan(const char *spec, int32_t m, int build_terms, dgcn_topo_spec_info *info) {
    s_term terms[S_MAX_TERMS];
    dgcn_topo_spec_info in;
    memset(&in, 0, sizeof in);
    if (info) *info = in;
    if (!spec || !*spec) return dgcn_error_set(DGCN_EINVAL, "topology: empty spec");
    if (strlen(spec) > DGCN_TOPO_SPEC_MAX)
        return dgcn_error_set(DGCN_EINVAL, "topology spec longer than %d characters",
                              DGCN_TOPO_SPEC_MAX);
    if (m < 1) return dgcn_error_set(DGCN_EINVAL, "topology '%s': %d agents", spec, m);
    if (dgcn_topo_schedule_is(spec)) { /* a whole spec: the union of its graphs */
        in.terms = 1;
        in.schedule = 1;
        if (info) *info = in;
        return dgcn_topo_schedule_check(spec, m);
    }
    int n = s_split(spec, terms, S_MAX_TERMS);
    if (n < 0) return DGCN_EINVAL;
    in.terms = n;
    for (int i = 0; i < n; i++) {
        double gamma;
        int64_t budget;
        int design = s_design_term(spec, &terms[i], &gamma);
        int greedy = s_budget_term(spec, &terms[i], &budget);
        int sparse = s_sparse_term(spec, &terms[i], &budget);
        if (design < 0 || greedy < 0 || sparse < 0) return DGCN_EINVAL;
        if (design || greedy || s_is(&terms[i], "required")) {
            in.needs_required = 1;
            in.designed |= design;
            continue;
        }
        if (!build_terms) continue;
        dgcn_topo g;
        int rc = s_build_term(spec, &terms[i], m, NULL, 1, &g, NULL);
        dgcn_topo_fini(&g);
        if (rc) return rc;
    }
    in.single_design = n == 1 && in.designed;
    if (info) *info = in;
    return DGCN_OK;
}

int dgcn_topo_spec_check(const char *spec, int32_t m, dgcn_topo_spec_info *info) {
    return s_scan(spec, m, 1, info);
}

int dgcn_topo_spec_build(const char *spec, int32_t m, const dgcn_topo *required, uint64_t seed,
                         dgcn_topo *out, double *c, int *have_c) {
    int rc = DGCN_OK;
    s_term terms[S_MAX_TERMS];
    dgcn_topo acc = {0}, part = {0};
    dgcn_topo_spec_info info;
    memset(out, 0, sizeof *out);
    if (have_c) *have_c = 0;
    DGCN_CHECK(s_scan(spec, m, 0, &info));
    if (info.schedule) {
        dgcn_topo_schedule s;
        DGCN_CHECK(dgcn_topo_schedule_build(&s, spec, m, seed));
        rc = dgcn_topo_schedule_union(&s, out);
        dgcn_topo_schedule_fini(&s);
        return rc;
    }
    int n = s_split(spec, terms, S_MAX_TERMS);
    DGCN_CHECK(dgcn_topo_init(&acc, m));
    for (int i = 0; i < n; i++) {
        DGCN_CHECK(
            s_build_term(spec, &terms[i], m, required, seed, &part, info.single_design ? c : NULL));
        dgcn_topo u = {0};
        rc = dgcn_topo_union(&u, &acc, &part);
        dgcn_topo_fini(&part);
        if (rc) goto fail;
        dgcn_topo_fini(&acc);
        acc = u;
    }
    if (have_c) *have_c = info.single_design && c != NULL;
    *out = acc;
    return DGCN_OK;
fail:
    dgcn_topo_fini(&part);
    dgcn_topo_fini(&acc);
    return rc;
}
