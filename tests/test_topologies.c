/* tests/test_topologies.c: communication graphs, mixing weights, spectra and topology design. */
#include "topologies/budget.h"
#include "topologies/design.h"
#include "topologies/generate.h"
#include "topologies/graph.h"
#include "topologies/io.h"
#include "topologies/schedule.h"
#include "topologies/spec.h"
#include "topologies/spectral.h"
#include "topologies/weights.h"

#include "core/error.h"
#include "core/rng.h"

#include "coordinator/commands.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static int s_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void s_check_degrees(const dgcn_topo *g, int32_t dmin, int32_t dmax) {
    int32_t lo, hi;
    dgcn_topo_degree_stats(g, &lo, &hi, NULL);
    ck_assert_int_eq(lo, dmin);
    ck_assert_int_eq(hi, dmax);
}

START_TEST(test_generator_counts) {
    dgcn_topo g;
    ck_assert_int_eq(dgcn_topo_gen_complete(&g, 7), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), 21);
    s_check_degrees(&g, 6, 6);
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_gen_ring(&g, 9), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), 9);
    s_check_degrees(&g, 2, 2);
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_gen_line(&g, 9), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), 8);
    s_check_degrees(&g, 1, 2);
    ck_assert(dgcn_topo_connected(&g));
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_gen_star(&g, 9), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), 8);
    ck_assert_int_eq(dgcn_topo_degree(&g, 0), 8);
    s_check_degrees(&g, 1, 8);
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_gen_torus(&g, 4, 5), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), 40);
    s_check_degrees(&g, 4, 4);
    ck_assert(dgcn_topo_has(&g, 0, 4) && dgcn_topo_has(&g, 0, 15) && !dgcn_topo_has(&g, 0, 6));
    dgcn_topo_fini(&g);
    int32_t r, c;
    dgcn_topo_torus_shape(20, &r, &c);
    ck_assert(r == 4 && c == 5);
    ck_assert_int_eq(dgcn_topo_gen_hypercube(&g, 16), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), 32);
    s_check_degrees(&g, 4, 4);
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_gen_hypercube(&g, 12), DGCN_EINVAL);
    dgcn_topo_fini(&g);
    /* exponential on 8: offsets +-1, +-2, 4 -> degree 5 */
    ck_assert_int_eq(dgcn_topo_gen_exponential(&g, 8), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), 20);
    s_check_degrees(&g, 5, 5);
    ck_assert(dgcn_topo_has(&g, 3, 7) && dgcn_topo_has(&g, 0, 6) && !dgcn_topo_has(&g, 0, 3));
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_gen_regular(&g, 12, 3, 5, 1), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), 18);
    s_check_degrees(&g, 3, 3);
    ck_assert(dgcn_topo_connected(&g));
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_gen_regular(&g, 30, 8, 5, 1), 0);
    s_check_degrees(&g, 8, 8);
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_gen_regular(&g, 7, 3, 5, 1), DGCN_EINVAL); /* m*k odd */
    dgcn_topo_fini(&g);
}
END_TEST

START_TEST(test_random_generators) {
    dgcn_topo a, b;
    /* p = 0 and p = 1 are deterministic */
    ck_assert_int_eq(dgcn_topo_gen_erdos_renyi(&a, 10, 1.0, 1, 1), 0);
    ck_assert_int_eq(dgcn_topo_links(&a), 45);
    dgcn_topo_fini(&a);
    ck_assert_int_eq(dgcn_topo_gen_erdos_renyi(&a, 10, 0.0, 1, 0), 0);
    ck_assert_int_eq(dgcn_topo_links(&a), 0);
    dgcn_topo_fini(&a);
    ck_assert_int_eq(dgcn_topo_gen_erdos_renyi(&a, 10, 0.0, 1, 1), DGCN_ETOPOLOGY);
    dgcn_topo_fini(&a);
    /* same seed, same graph; drawn connected; mean link count near p M(M-1)/2 */
    ck_assert_int_eq(dgcn_topo_gen_erdos_renyi(&a, 40, 0.3, 7, 1), 0);
    ck_assert_int_eq(dgcn_topo_gen_erdos_renyi(&b, 40, 0.3, 7, 1), 0);
    ck_assert(dgcn_topo_equal(&a, &b));
    ck_assert(dgcn_topo_connected(&a));
    ck_assert(labs((long)dgcn_topo_links(&a) - 234) < 60);
    dgcn_topo_fini(&a);
    dgcn_topo_fini(&b);
    /* geometric: radius sqrt(2) links every pair; a connected draw otherwise */
    ck_assert_int_eq(dgcn_topo_gen_geometric(&a, 12, 1.5, 3, 1), 0);
    ck_assert_int_eq(dgcn_topo_links(&a), 66);
    dgcn_topo_fini(&a);
    ck_assert_int_eq(dgcn_topo_gen_geometric(&a, 30, 0.4, 3, 1), 0);
    ck_assert(dgcn_topo_connected(&a));
    dgcn_topo_fini(&a);
    /* spec strings */
    ck_assert_int_eq(dgcn_topo_generate(&a, "regular:4", 10, 1), 0);
    s_check_degrees(&a, 4, 4);
    dgcn_topo_fini(&a);
    ck_assert_int_eq(dgcn_topo_generate(&a, "er:x", 10, 1), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_topo_generate(&a, "tree", 10, 1), DGCN_EINVAL);
    ck_assert(strstr(dgcn_error_msg(), "tree") != NULL);
}
END_TEST

/* Sorted eigenvalues of c against sorted expected values. */
/* dgcn_topo_analyze under a dense mixing matrix c (m, m) on g's support. */
static int s_analyze(const dgcn_topo *g, const double *c, dgcn_topo_report *rep) {
    dgcn_mixing mix;
    int rc = dgcn_mixing_from_dense(&mix, g, c);
    if (!rc) rc = dgcn_topo_analyze(g, &mix, rep);
    dgcn_mixing_fini(&mix);
    return rc;
}

static void s_check_spectrum(int32_t m, const double *c, double *expect) {
    double *eig = malloc((size_t)m * sizeof *eig);
    ck_assert_int_eq(dgcn_topo_eigenvalues(m, c, eig), 0);
    qsort(expect, (size_t)m, sizeof *expect, s_cmp);
    for (int32_t i = 0; i < m; i++) ck_assert_double_eq_tol(eig[i], expect[i], 1e-6);
    free(eig);
}

START_TEST(test_closed_form_spectra) {
    dgcn_topo g;
    dgcn_topo_report rep;
    double c[32 * 32], expect[32];
    /* ring, Metropolis weights 1/3: eigenvalues 1/3 + 2/3 cos(2 pi j / M) */
    int32_t m = 11;
    dgcn_topo_gen_ring(&g, m);
    ck_assert_int_eq(dgcn_topo_weights(&g, DGCN_MIX_MH, c), 0);
    ck_assert_double_eq_tol(c[1], 1.0 / 3, 1e-15);
    for (int j = 0; j < m; j++) expect[j] = 1.0 / 3 + 2.0 / 3 * cos(2 * M_PI * j / m);
    s_check_spectrum(m, c, expect);
    ck_assert_int_eq(s_analyze(&g, c, &rep), 0);
    double slem = fmax(fabs(1.0 / 3 + 2.0 / 3 * cos(2 * M_PI / m)),
                       fabs(1.0 / 3 + 2.0 / 3 * cos(2 * M_PI * 5 / m)));
    ck_assert_double_eq_tol(rep.slem, slem, 1e-6);
    ck_assert_double_eq_tol(rep.gap, 1 - slem, 1e-6);
    ck_assert_double_eq_tol(rep.norm_cj, slem, 1e-6);
    ck_assert_int_eq(rep.links, m);
    dgcn_topo_fini(&g);
    /* complete, uniform weights: gap 1 */
    dgcn_topo_gen_complete(&g, 9);
    ck_assert_int_eq(dgcn_topo_weights(&g, DGCN_MIX_UNIFORM, c), 0);
    ck_assert_int_eq(s_analyze(&g, c, &rep), 0);
    ck_assert_double_eq_tol(rep.gap, 1.0, 1e-6);
    ck_assert_double_eq_tol(rep.norm_cj, 0.0, 1e-6);
    dgcn_topo_fini(&g);
    /* hypercube of dimension d, max-degree weights 1/(d+1): eigenvalues 1 - 2 j/(d+1) with
     * multiplicity binom(d, j) */
    int d = 5;
    dgcn_topo_gen_hypercube(&g, 1 << d);
    ck_assert_int_eq(dgcn_topo_weights(&g, DGCN_MIX_MAXDEG, c), 0);
    for (int k = 0; k < (1 << d); k++)
        expect[k] = 1.0 - 2.0 * __builtin_popcount((unsigned)k) / (d + 1);
    s_check_spectrum(1 << d, c, expect);
    ck_assert_int_eq(s_analyze(&g, c, &rep), 0);
    ck_assert_double_eq_tol(rep.slem, (d - 1.0) / (d + 1.0), 1e-6);
    ck_assert_double_eq_tol(rep.gap, 2.0 / (d + 1.0), 1e-6);
    dgcn_topo_fini(&g);
    /* 4 x 5 torus, max-degree weights 1/5: eigenvalues (1 + 2 cos(2 pi a/4) + 2 cos(2 pi b/5)) / 5 */
    dgcn_topo_gen_torus(&g, 4, 5);
    ck_assert_int_eq(dgcn_topo_weights(&g, DGCN_MIX_MAXDEG, c), 0);
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 5; b++)
            expect[a * 5 + b] = (1 + 2 * cos(2 * M_PI * a / 4) + 2 * cos(2 * M_PI * b / 5)) / 5;
    s_check_spectrum(20, c, expect);
    ck_assert_int_eq(s_analyze(&g, c, &rep), 0);
    double tslem = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 5; b++)
            if (a || b)
                tslem = fmax(tslem,
                             fabs(1 + 2 * cos(2 * M_PI * a / 4) + 2 * cos(2 * M_PI * b / 5)) / 5);
    ck_assert_double_eq_tol(tslem, (3 + 2 * cos(2 * M_PI / 5)) / 5, 1e-12);
    ck_assert_double_eq_tol(rep.slem, tslem, 1e-6);
    dgcn_topo_fini(&g);
}
END_TEST

START_TEST(test_every_rule_doubly_stochastic) {
    const char *kinds[] = {"complete",  "ring",        "line",   "star",          "torus",
                           "hypercube", "exponential", "er:0.3", "geometric:0.5", "regular:3"};
    const dgcn_mixing_rule rules[] = {DGCN_MIX_MH,          DGCN_MIX_MAXDEG,  DGCN_MIX_LAZY_MH,
                                      DGCN_MIX_LAZY_MAXDEG, DGCN_MIX_UNIFORM, DGCN_MIX_FASTEST};
    double c[16 * 16];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        dgcn_topo g;
        ck_assert_msg(dgcn_topo_generate(&g, kinds[i], 16, 4) == 0, "%s: %s", kinds[i],
                      dgcn_error_msg());
        for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
            int rc = dgcn_topo_weights(&g, rules[r], c);
            if (rules[r] == DGCN_MIX_UNIFORM && strcmp(kinds[i], "complete")) {
                ck_assert_int_eq(rc, DGCN_ETOPOLOGY);
                continue;
            }
            ck_assert_msg(rc == 0, "%s/%s: %s", kinds[i], dgcn_topo_weights_name(rules[r]),
                          dgcn_error_msg());
            rc = dgcn_topo_weights_check(16, c, &g, 1e-9);
            ck_assert_msg(rc == 0, "%s/%s: %s", kinds[i], dgcn_topo_weights_name(rules[r]),
                          dgcn_error_msg());
        }
        dgcn_topo_fini(&g);
    }
    /* the checker catches a bad matrix and names the row */
    double bad[4] = {0.5, 0.5, 0.5, 0.6};
    ck_assert_int_eq(dgcn_topo_weights_check(2, bad, NULL, 1e-9), DGCN_ETOPOLOGY);
    ck_assert(strstr(dgcn_error_msg(), "row 1") != NULL);
    double asym[4] = {0.5, 0.5, 0.4, 0.6};
    ck_assert_int_eq(dgcn_topo_weights_check(2, asym, NULL, 1e-9), DGCN_ETOPOLOGY);
    dgcn_mixing_rule rule;
    ck_assert_int_eq(dgcn_topo_weights_parse("lazy-mh", &rule), 0);
    ck_assert_int_eq(rule, DGCN_MIX_LAZY_MH);
    ck_assert_int_eq(dgcn_topo_weights_parse("best", &rule), DGCN_EINVAL);
}
END_TEST

static char s_dir[64];

static const char *s_write(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void s_expect_error(const char *name, const char *text, const char *where) {
    dgcn_topo g;
    const char *path = s_write(name, text);
    ck_assert_int_eq(dgcn_topo_read_edges(&g, path), DGCN_EFORMAT);
    char want[160];
    snprintf(want, sizeof want, "%s:%s", path, where);
    ck_assert_msg(strstr(dgcn_error_msg(), want) != NULL, "message '%s' lacks '%s'",
                  dgcn_error_msg(), want);
    ck_assert_ptr_null(g.nbr);
}

START_TEST(test_edge_list_files) {
    strcpy(s_dir, "/tmp/dgcn_topo_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    s_expect_error("a.edges", "0 1\n1 x\n", "2:");
    s_expect_error("b.edges", "# c\n0 1\n\n2 2\n", "4:");
    s_expect_error("c.edges", "0 1 5\n", "1:");
    s_expect_error("d.edges", "# agents 3\n0 1\n1 3\n", "3:");
    s_expect_error("e.edges", "0 -1\n", "1:");
    s_expect_error("f.edges", "# agents x\n", "1:");
    /* a UTF-8 byte-order mark is named, before a header or before a link */
    s_expect_error("bom1.edges", "\xEF\xBB\xBF# agents 3\n0 1\n",
                   "1: starts with a UTF-8 byte-order mark");
    s_expect_error("bom2.edges",
                   "\xEF\xBB\xBF"
                   "0 1\n1 2\n",
                   "1: starts with a UTF-8 byte-order mark");
    /* a generated graph survives a write/read round trip, isolated agents included */
    dgcn_topo g, h;
    ck_assert_int_eq(dgcn_topo_gen_star(&g, 6), 0);
    dgcn_topo_set(&g, 0, 5, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/star.edges", s_dir);
    ck_assert_int_eq(dgcn_topo_write_edges(&g, path), 0);
    ck_assert_int_eq(dgcn_topo_read_edges(&h, path), 0);
    ck_assert_int_eq(h.m, 6);
    ck_assert(dgcn_topo_equal(&g, &h));
    dgcn_topo_fini(&h);
    /* without a header the count is the largest id + 1; repeated links count once */
    ck_assert_int_eq(dgcn_topo_read_edges(&h, s_write("g.edges", "0 1\n1 0\n  3\t2 \n")), 0);
    ck_assert_int_eq(h.m, 4);
    ck_assert_int_eq(dgcn_topo_links(&h), 2);
    dgcn_topo_fini(&h);
    ck_assert_int_eq(dgcn_topo_read_edges(&h, "/nonexistent/x.edges"), DGCN_EIO);
    /* weights and DOT */
    double c[36], *c2 = NULL;
    int32_t m2 = 0;
    ck_assert_int_eq(dgcn_topo_weights(&g, DGCN_MIX_MH, c), 0);
    snprintf(path, sizeof path, "%s/star.weights", s_dir);
    ck_assert_int_eq(dgcn_topo_write_weights(6, c, path), 0);
    ck_assert_int_eq(dgcn_topo_read_weights(path, &m2, &c2), 0);
    ck_assert_int_eq(m2, 6);
    for (int i = 0; i < 36; i++) ck_assert(c2[i] == c[i]);
    free(c2);
    c2 = NULL;
    const char *bom = s_write("bom.weights", "\xEF\xBB\xBF# agents 1\n1\n");
    ck_assert_int_eq(dgcn_topo_read_weights(bom, &m2, &c2), DGCN_EFORMAT);
    ck_assert_msg(strstr(dgcn_error_msg(), "bom.weights:1: starts with a UTF-8 byte-order mark"),
                  "message '%s'", dgcn_error_msg());
    snprintf(path, sizeof path, "%s/star.dot", s_dir);
    dgcn_mixing mix;
    ck_assert_int_eq(dgcn_mixing_from_dense(&mix, &g, c), 0);
    ck_assert_int_eq(dgcn_topo_write_dot(&g, &mix, path), 0);
    dgcn_mixing_fini(&mix);
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    ck_assert(strstr(buf, "0 -- 1 [label=\"0.2\"]") && !strstr(buf, "0 -- 5"));
    dgcn_topo_fini(&g);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_matrix_union) {
    uint8_t links[9] = {0, 1, 0, 1, 0, 0, 0, 0, 0};
    dgcn_topo req, ring, u;
    ck_assert_int_eq(dgcn_topo_from_matrix(&req, 3, links), 0);
    ck_assert_int_eq(dgcn_topo_links(&req), 1);
    ck_assert(!dgcn_topo_connected(&req));
    int32_t comp[3];
    ck_assert_int_eq(dgcn_topo_components(&req, comp), 2);
    links[5] = 1; /* (1, 2) without (2, 1) */
    ck_assert_int_eq(dgcn_topo_from_matrix(&u, 3, links), DGCN_ETOPOLOGY);
    ck_assert(strstr(dgcn_error_msg(), "(1, 2)") != NULL);
    dgcn_topo_gen_line(&ring, 3);
    dgcn_topo_set(&ring, 0, 1, 0);
    ck_assert_int_eq(dgcn_topo_union(&u, &req, &ring), 0);
    ck_assert_int_eq(dgcn_topo_links(&u), 2);
    ck_assert(dgcn_topo_connected(&u) && dgcn_topo_contains(&u, &req) &&
              dgcn_topo_contains(&u, &ring));
    dgcn_topo_fini(&u);
    dgcn_topo_fini(&ring);
    dgcn_topo_fini(&req);
}
END_TEST

START_TEST(test_link_removal) {
    dgcn_topo g, out;
    dgcn_topo_gen_complete(&g, 10); /* 45 links */
    for (uint64_t seed = 0; seed < 5; seed++) {
        ck_assert_int_eq(dgcn_topo_remove_links(&out, &g, 0.75, seed, DGCN_REMOVE_KEEP_TREE), 0);
        ck_assert_int_eq(dgcn_topo_links(&out), 45 - 34);
        ck_assert(dgcn_topo_connected(&out) && dgcn_topo_contains(&g, &out));
        dgcn_topo_fini(&out);
        ck_assert_int_eq(dgcn_topo_remove_links(&out, &g, 0.6, seed, DGCN_REMOVE_RETRY), 0);
        ck_assert_int_eq(dgcn_topo_links(&out), 45 - 27);
        ck_assert(dgcn_topo_connected(&out));
        dgcn_topo_fini(&out);
    }
    /* 37 removals leave 8 links: fewer than a spanning tree needs */
    ck_assert_int_eq(dgcn_topo_remove_links(&out, &g, 37.0 / 45, 1, DGCN_REMOVE_KEEP_TREE),
                     DGCN_ETOPOLOGY);
    ck_assert_int_eq(dgcn_topo_remove_links(&out, &g, 37.0 / 45, 1, DGCN_REMOVE_RETRY),
                     DGCN_ETOPOLOGY);
    ck_assert_ptr_null(out.nbr);
    ck_assert_int_eq(dgcn_topo_remove_links(&out, &g, 1.0, 1, DGCN_REMOVE_ALLOW), 0);
    ck_assert_int_eq(dgcn_topo_links(&out), 0);
    dgcn_topo_fini(&out);
    ck_assert_int_eq(dgcn_topo_remove_links(&out, &g, 1.5, 1, DGCN_REMOVE_ALLOW), DGCN_EINVAL);
    dgcn_topo_fini(&g);
    /* a ring loses connectivity with two removals; RETRY cannot help, KEEP_TREE keeps one */
    dgcn_topo_gen_ring(&g, 8);
    ck_assert_int_eq(dgcn_topo_remove_links(&out, &g, 0.25, 1, DGCN_REMOVE_RETRY), DGCN_ETOPOLOGY);
    ck_assert_int_eq(dgcn_topo_remove_links(&out, &g, 0.125, 1, DGCN_REMOVE_KEEP_TREE), 0);
    ck_assert_int_eq(dgcn_topo_links(&out), 7);
    ck_assert(dgcn_topo_connected(&out));
    dgcn_topo_fini(&out);
    dgcn_topo_fini(&g);
}
END_TEST

START_TEST(test_fastest_mixing) {
    double c[12 * 12];
    dgcn_topo g;
    dgcn_design_result res;
    /* path of n agents: the optimum has weight 1/2 on every link, SLEM cos(pi / n) */
    dgcn_topo_gen_line(&g, 8);
    ck_assert_int_eq(dgcn_topo_fastest(&g, NULL, c, &res), 0);
    ck_assert_int_eq(dgcn_topo_weights_check(8, c, &g, 1e-9), 0);
    ck_assert_double_eq_tol(res.norm_cj, cos(M_PI / 8), 1e-4);
    ck_assert_double_eq_tol(c[1], 0.5, 1e-2);
    dgcn_topo_fini(&g);
    /* ring of n (even): by symmetry one weight w = 1/(a+b), a = 1 - cos(2 pi/n), b = 2 */
    dgcn_topo_gen_ring(&g, 10);
    ck_assert_int_eq(dgcn_topo_fastest(&g, NULL, c, &res), 0);
    double a = 1 - cos(2 * M_PI / 10), b = 2;
    ck_assert_double_eq_tol(res.norm_cj, (b - a) / (a + b), 1e-4);
    ck_assert_int_eq(dgcn_topo_weights_check(10, c, &g, 1e-9), 0);
    dgcn_topo_fini(&g);
    dgcn_topo_gen_complete(&g, 6);
    ck_assert_int_eq(dgcn_topo_fastest(&g, NULL, c, &res), 0);
    ck_assert_double_eq_tol(res.norm_cj, 0.0, 1e-4);
    dgcn_topo_fini(&g);
}
END_TEST

/* Design on a required graph: every required link kept, exactly feasible, large gamma no worse
 * than Metropolis-Hastings and within 1e-3 of the fastest-mixing optimum; smaller gamma adds
 * links without raising the norm. */
static void s_check_design(const dgcn_topo *req, double optimum) {
    int32_t m = req->m;
    double *c = malloc((size_t)m * m * sizeof *c), *mh = malloc((size_t)m * m * sizeof *mh);
    const double gammas[] = {100.0, 1.0, 0.3, 0.2, 0.1, 0.03};
    double prev_norm = 2.0;
    int64_t prev_links = 0;
    for (size_t i = 0; i < sizeof gammas / sizeof gammas[0]; i++) {
        dgcn_design_opts o;
        dgcn_design_defaults(&o);
        o.gamma = gammas[i];
        dgcn_topo sup;
        dgcn_design_result res;
        ck_assert_msg(dgcn_topo_design(req, &o, &sup, c, &res) == 0, "%s", dgcn_error_msg());
        ck_assert(dgcn_topo_contains(&sup, req));
        ck_assert_msg(dgcn_topo_weights_check(m, c, &sup, 1e-9) == 0, "%s", dgcn_error_msg());
        for (int32_t k = 0; k < m; k++)
            for (int32_t t = 0; t < m; t++)
                if (dgcn_topo_has(req, k, t)) ck_assert(c[k * m + t] >= o.eps * (1 - 1e-9));
        double norm, norm_mh;
        ck_assert_int_eq(dgcn_topo_norm_cj(m, c, &norm), 0);
        ck_assert_double_eq_tol(norm, res.norm_cj, 1e-12);
        ck_assert_int_eq(res.links, dgcn_topo_links(&sup));
        ck_assert(res.iterations > 0);
        ck_assert_int_eq(dgcn_topo_weights(&sup, DGCN_MIX_MH, mh), 0);
        ck_assert_int_eq(dgcn_topo_norm_cj(m, mh, &norm_mh), 0);
        ck_assert(norm <= norm_mh + 1e-12);
        if (i == 0) {
            ck_assert_int_eq(res.links, dgcn_topo_links(req));
            ck_assert_double_eq_tol(norm, optimum, 1e-3);
        }
        ck_assert_msg(res.links >= prev_links, "gamma %g: %lld links after %lld", gammas[i],
                      (long long)res.links, (long long)prev_links);
        ck_assert_msg(norm <= prev_norm + 1e-4, "gamma %g: norm %g after %g", gammas[i], norm,
                      prev_norm);
        prev_norm = norm;
        prev_links = res.links;
        dgcn_topo_fini(&sup);
    }
    ck_assert(prev_links > dgcn_topo_links(req));
    free(c);
    free(mh);
}

START_TEST(test_design_path) {
    dgcn_topo req;
    dgcn_topo_gen_line(&req, 8);
    s_check_design(&req, cos(M_PI / 8));
    dgcn_topo_fini(&req);
}
END_TEST

START_TEST(test_design_random_tree) {
    dgcn_topo req;
    dgcn_rng rng;
    dgcn_rng_seed(&rng, 11, DGCN_STREAM_TEST);
    dgcn_topo_init(&req, 10);
    for (int32_t k = 1; k < 10; k++)
        dgcn_topo_set(&req, k, (int32_t)dgcn_rng_below(&rng, (uint64_t)k), 1);
    ck_assert_int_eq(dgcn_topo_links(&req), 9);
    ck_assert(dgcn_topo_connected(&req));
    /* the optimum on the tree, from a tighter independent solve */
    dgcn_design_opts o;
    dgcn_design_defaults(&o);
    o.tol_abs = 1e-9;
    o.tol_rel = 1e-8;
    o.max_iter = 100000;
    double c[100];
    dgcn_design_result res;
    ck_assert_int_eq(dgcn_topo_fastest(&req, &o, c, &res), 0);
    ck_assert(res.converged);
    s_check_design(&req, res.norm_cj);
    dgcn_topo_fini(&req);
}
END_TEST

/* Required links in two components (paths 0-1-2-3 and 4-5-6-7): for every gamma the design joins
 * them, keeps every required link, and returns a valid matrix that mixes (||C - J||_2 < 1). */
START_TEST(test_design_connects_components) {
    const double gammas[] = {100, 1, 0.1, 0.01};
    for (int gi = 0; gi < 4; gi++) {
        dgcn_topo req, sup;
        ck_assert_int_eq(dgcn_topo_init(&req, 8), DGCN_OK);
        for (int k = 0; k < 3; k++) {
            dgcn_topo_set(&req, k, k + 1, 1);
            dgcn_topo_set(&req, 4 + k, 5 + k, 1);
        }
        ck_assert_int_eq(dgcn_topo_connected(&req), 0);
        dgcn_design_opts o;
        dgcn_design_defaults(&o);
        o.gamma = gammas[gi];
        double c[64];
        dgcn_design_result r;
        ck_assert_msg(dgcn_topo_design(&req, &o, &sup, c, &r) == DGCN_OK, "%s", dgcn_error_msg());
        ck_assert_msg(dgcn_topo_connected(&sup), "gamma %g: designed support is disconnected",
                      gammas[gi]);
        ck_assert(dgcn_topo_contains(&sup, &req));
        ck_assert_int_ge(r.extra_links, 1);
        ck_assert_msg(dgcn_topo_weights_check(8, c, &sup, 1e-9) == DGCN_OK, "%s", dgcn_error_msg());
        double nrm;
        ck_assert_int_eq(dgcn_topo_norm_cj(8, c, &nrm), DGCN_OK);
        ck_assert_msg(nrm < 1 - 1e-6, "gamma %g: ||C - J|| = %.9f", gammas[gi], nrm);
        dgcn_topo_fini(&req);
        dgcn_topo_fini(&sup);
    }
}
END_TEST

START_TEST(test_design_bad_options) {
    dgcn_topo req, sup;
    dgcn_topo_gen_star(&req, 6);
    dgcn_design_opts o;
    dgcn_design_defaults(&o);
    double c[36];
    o.eps = 0.3; /* 5 required links at the hub */
    ck_assert_int_eq(dgcn_topo_design(&req, &o, &sup, c, NULL), DGCN_EINVAL);
    ck_assert_ptr_null(sup.nbr);
    o.eps = 1e-3;
    o.gamma = -1;
    ck_assert_int_eq(dgcn_topo_design(&req, &o, &sup, c, NULL), DGCN_EINVAL);
    dgcn_topo_fini(&req);
}
END_TEST

/* The command: generate writes an edge list that reads back as the asked family, analyze and
 * design accept it, and usage errors exit 2, missing files 1. Output goes to a temporary folder. */
START_TEST(test_cmd_topology) {
    char dir[] = "/tmp/dgcn-topo-cmd-XXXXXX", prefix[256], edges[300], req[300], out[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(prefix, sizeof prefix, "%s/r8", dir);
    snprintf(edges, sizeof edges, "%s/r8.edges", dir);
    char *gen[] = {"topology", "generate", "--kind", "ring", "--agents", "8", "--out", prefix};
    ck_assert_int_eq(dgcn_cmd_topology(8, gen), 0);
    dgcn_topo g;
    ck_assert_msg(dgcn_topo_read_edges(&g, edges) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_eq(g.m, 8);
    ck_assert_int_eq(dgcn_topo_links(&g), 8);
    for (int32_t k = 0; k < 8; k++) ck_assert(dgcn_topo_has(&g, k, (k + 1) % 8));
    dgcn_topo_fini(&g);
    char *ana[] = {"topology", "analyze", "--edges", edges, "--weights", "maxdeg"};
    ck_assert_int_eq(dgcn_cmd_topology(6, ana), 0);
    /* a required graph in two components: the design joins them */
    snprintf(req, sizeof req, "%s/req.edges", dir);
    FILE *f = fopen(req, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# agents 6\n0 1\n1 2\n3 4\n4 5\n", f);
    fclose(f);
    snprintf(out, sizeof out, "%s/designed", dir);
    char *des[] = {"topology", "design", "--required", req, "--gamma", "10", "--out", out};
    ck_assert_int_eq(dgcn_cmd_topology(8, des), 0);
    snprintf(edges, sizeof edges, "%s/designed.edges", dir);
    dgcn_topo d, r;
    ck_assert_msg(dgcn_topo_read_edges(&d, edges) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_msg(dgcn_topo_read_edges(&r, req) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(dgcn_topo_connected(&d) && dgcn_topo_contains(&d, &r));
    dgcn_topo_fini(&d);
    dgcn_topo_fini(&r);
    char *bad_verb[] = {"topology", "frob"};
    ck_assert_int_eq(dgcn_cmd_topology(2, bad_verb), 2);
    char *bad_kind[] = {"topology", "generate", "--kind", "bogus", "--agents", "8"};
    ck_assert_int_eq(dgcn_cmd_topology(6, bad_kind), 2);
    char *missing[] = {"topology", "analyze", "--edges", "/nonexistent/dgcn.edges"};
    ck_assert_int_eq(dgcn_cmd_topology(4, missing), 1);
    char help[] = "--help";
    char *h[] = {"topology", "generate", help};
    ck_assert_int_eq(dgcn_cmd_topology(3, h), 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Topology files that are not regular files, or whose header promises more than they hold, are
 * errors naming the file: never a hang on a FIFO, never an allocation the file cannot justify. */
START_TEST(test_files_not_regular_or_inflated) {
    strcpy(s_dir, "/tmp/dgcn_topo_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    char path[128];
    dgcn_topo g;
    ck_assert_int_eq(dgcn_topo_read_edges(&g, s_dir), DGCN_EIO);
    ck_assert_msg(strstr(dgcn_error_msg(), "found a directory"), "%s", dgcn_error_msg());
    snprintf(path, sizeof path, "%s/x.edges", s_dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(dgcn_topo_read_edges(&g, path), DGCN_EIO);
    ck_assert_msg(strstr(dgcn_error_msg(), "x.edges: expected a regular file, found a FIFO"), "%s",
                  dgcn_error_msg());
    int32_t m = 0;
    double *c = NULL;
    ck_assert_int_eq(dgcn_topo_read_weights(s_write("w.weights", "# agents 40000\n1\n"), &m, &c),
                     DGCN_EFORMAT);
    ck_assert_msg(strstr(dgcn_error_msg(), "w.weights:1: '# agents 40000' needs"), "%s",
                  dgcn_error_msg());
    ck_assert_ptr_null(c);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The greedy budget design with the sparse eigensolver (Lanczos) against the dense one (dsyevr):
 * the same SLEM within 1e-4 at every step of the front, and the returned SLEM equal to the full
 * dense spectrum's (dsyevd) of the MH matrix on the returned support. */
START_TEST(test_budget_lanczos_matches_dense) {
    dgcn_topo req, sd, sl;
    ck_assert_int_eq(dgcn_topo_gen_geometric(&req, 40, sqrt(3.0 / 40), 3, 1), 0);
    dgcn_budget_opts o;
    dgcn_budget_defaults(&o);
    o.budget = 30;
    dgcn_budget_link fd[30], fl[30];
    dgcn_budget_result rd, rl;
    o.eigen = DGCN_EIGEN_DENSE;
    ck_assert_int_eq(dgcn_topo_design_budget(&req, &o, &sd, NULL, fd, 30, &rd), 0);
    o.eigen = DGCN_EIGEN_LANCZOS;
    ck_assert_int_eq(dgcn_topo_design_budget(&req, &o, &sl, NULL, fl, 30, &rl), 0);
    ck_assert(rl.lanczos_steps > 0 && rd.lanczos_steps == 0);
    ck_assert_int_eq(rd.extra_links, 30);
    ck_assert_int_eq(rl.extra_links, rd.extra_links);
    ck_assert_msg(fabs(rd.slem_required - rl.slem_required) < 1e-4, "%g %g", rd.slem_required,
                  rl.slem_required);
    for (int i = 0; i < 30; i++)
        ck_assert_msg(fabs(fd[i].slem - fl[i].slem) < 1e-4, "step %d: dense %.9f lanczos %.9f", i,
                      fd[i].slem, fl[i].slem);
    double *c = malloc(40 * 40 * sizeof *c);
    dgcn_topo_report rep;
    ck_assert_int_eq(dgcn_topo_weights(&sl, DGCN_MIX_MH, c), 0);
    ck_assert_int_eq(s_analyze(&sl, c, &rep), 0);
    ck_assert_msg(fabs(rep.slem - rl.slem) < 1e-6, "%.9f %.9f", rep.slem, rl.slem);
    double s_mh;
    ck_assert_int_eq(dgcn_topo_slem_mh(&req, DGCN_EIGEN_LANCZOS, &s_mh), 0);
    ck_assert_int_eq(dgcn_topo_weights(&req, DGCN_MIX_MH, c), 0);
    ck_assert_int_eq(s_analyze(&req, c, &rep), 0);
    ck_assert_msg(fabs(rep.slem - s_mh) < 1e-6, "%.9f %.9f", rep.slem, s_mh);
    free(c);
    dgcn_topo_fini(&req);
    dgcn_topo_fini(&sd);
    dgcn_topo_fini(&sl);
}
END_TEST

/* Budgets 0 < 4 < 12 < 40 (batch 1 and batch 4): nested supports that contain the required
 * links, at most B extra links, a non-increasing SLEM, and a front whose SLEM never rises; the MH
 * matrix returned is a valid mixing matrix on the support. Disconnected required links are joined
 * first. The whole budget reaches a SLEM well below the required links'. A ring, where every
 * chord raises the SLEM of MH, keeps its SLEM. */
/* --max-degree holds at both ends of every added link: an agent already at the cap gets no new
 * link whether it would be the link's first (lower id) or second (higher id) end. Two required
 * graphs on 8 agents: a hub of degree 4 (cap 3) at agent 0, then at agent 7, each joined to a
 * path through the other agents, designed up to the complete graph (batch 1 and 3). */
START_TEST(test_budget_degree_cap_both_ends) {
    for (int hub_last = 0; hub_last < 2; hub_last++)
        for (int batch = 1; batch <= 3; batch += 2) {
            const int32_t m = 8, cap = 3;
            int32_t hub = hub_last ? 7 : 0, id[8];
            for (int32_t i = 0; i < m; i++) id[i] = hub_last ? i : m - 1 - i; /* hub is id[7] */
            dgcn_topo req;
            ck_assert_int_eq(dgcn_topo_init(&req, m), 0);
            for (int i = 0; i < 4; i++) dgcn_topo_set(&req, hub, id[i], 1); /* hub -- 4 agents */
            for (int i = 3; i < 6; i++) dgcn_topo_set(&req, id[i], id[i + 1], 1); /* a path */
            int32_t before[8];
            for (int32_t k = 0; k < m; k++) dgcn_topo_neighbors(&req, k, &before[k]);
            ck_assert_int_eq(before[hub], 4);
            dgcn_budget_opts o;
            dgcn_budget_defaults(&o);
            o.budget = -1;
            o.max_degree = cap;
            o.batch = batch;
            dgcn_topo sup;
            dgcn_budget_result r;
            ck_assert_int_eq(dgcn_topo_design_budget(&req, &o, &sup, NULL, NULL, 0, &r), 0);
            ck_assert_int_eq(r.join_links, 0);
            ck_assert_msg(r.extra_links > 0, "hub %d: no link added at all", (int)hub);
            for (int32_t k = 0; k < m; k++) {
                int32_t deg;
                dgcn_topo_neighbors(&sup, k, &deg);
                int32_t bound = before[k] > cap ? before[k] : cap;
                ck_assert_msg(deg <= bound,
                              "hub %d, batch %d: agent %d has %d links after the design (%d "
                              "required, --max-degree %d)",
                              (int)hub, batch, (int)k, (int)deg, (int)before[k], (int)cap);
            }
            dgcn_topo_fini(&sup);
            dgcn_topo_fini(&req);
        }
}
END_TEST

START_TEST(test_budget_monotone_nested) {
    for (int batch = 1; batch <= 4; batch += 3) {
        dgcn_topo req;
        ck_assert_int_eq(dgcn_topo_gen_geometric(&req, 50, sqrt(2.0 / 50), 5, 0), 0);
        dgcn_topo prev = {0};
        double prev_slem = 2, *c = malloc(50 * 50 * sizeof *c);
        const int budgets[] = {0, 4, 12, 40};
        for (int i = 0; i < 4; i++) {
            dgcn_budget_opts o;
            dgcn_budget_defaults(&o);
            o.budget = budgets[i];
            o.batch = batch;
            dgcn_topo sup;
            dgcn_budget_result r;
            dgcn_budget_link front[64];
            ck_assert_int_eq(dgcn_topo_design_budget(&req, &o, &sup, c, front, 64, &r), 0);
            ck_assert(dgcn_topo_contains(&sup, &req) && dgcn_topo_connected(&sup));
            ck_assert(r.extra_links <= (r.join_links > budgets[i] ? r.join_links : budgets[i]));
            ck_assert_int_eq(dgcn_topo_links(&sup), dgcn_topo_links(&req) + r.extra_links);
            ck_assert_int_eq(dgcn_topo_weights_check(50, c, &sup, 1e-9), 0);
            ck_assert_msg(r.slem <= prev_slem, "budget %d: SLEM %.9f after %.9f", budgets[i],
                          r.slem, prev_slem);
            if (prev.m) ck_assert(dgcn_topo_contains(&sup, &prev));
            for (int64_t j = 1; j < r.extra_links; j++)
                ck_assert_msg(front[j].slem <= front[j - 1].slem, "front rises at %lld",
                              (long long)j);
            if (i == 3) {
                ck_assert_int_eq(r.extra_links, 40);
                ck_assert_msg(r.slem < r.slem_required - 0.05, "%g %g", r.slem, r.slem_required);
            }
            prev_slem = r.slem;
            dgcn_topo_fini(&prev);
            prev = sup;
        }
        dgcn_topo_fini(&prev);
        dgcn_topo_fini(&req);
        free(c);
    }
    /* On a ring every chord lowers the MH weights around it and raises the SLEM: the design
     * keeps the ring rather than rise. */
    dgcn_topo ring, sup;
    ck_assert_int_eq(dgcn_topo_gen_ring(&ring, 12), 0);
    dgcn_budget_opts o;
    dgcn_budget_defaults(&o);
    o.budget = 5;
    dgcn_budget_result r;
    dgcn_budget_link front[5];
    ck_assert_int_eq(dgcn_topo_design_budget(&ring, &o, &sup, NULL, front, 5, &r), 0);
    ck_assert_msg(r.slem <= r.slem_required, "%.9f > %.9f", r.slem, r.slem_required);
    for (int64_t j = 0; j < r.extra_links; j++)
        ck_assert_msg(front[j].slem <= (j ? front[j - 1].slem : r.slem_required),
                      "ring: link %lld raises the SLEM to %.9f", (long long)j, front[j].slem);
    dgcn_topo_fini(&sup);
    dgcn_topo_fini(&ring);
}
END_TEST

/* The grammar's 'budget:B' term: required links plus B, parsed strictly. */
START_TEST(test_budget_spec_term) {
    dgcn_topo req, g;
    dgcn_topo_spec_info in;
    ck_assert_int_eq(dgcn_topo_gen_geometric(&req, 12, 0.5, 2, 1), 0);
    ck_assert_int_eq(dgcn_topo_spec_check("budget:5", 12, &in), 0);
    ck_assert(in.needs_required && !in.designed);
    ck_assert_int_eq(dgcn_topo_spec_check("budget:-1", 12, NULL), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_topo_spec_check("budget:x", 12, NULL), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_topo_spec_check("budget:", 12, NULL), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_topo_spec_build("budget:5", 12, &req, 1, &g, NULL, NULL), 0);
    ck_assert_int_eq(dgcn_topo_links(&g), dgcn_topo_links(&req) + 5);
    ck_assert(dgcn_topo_contains(&g, &req));
    dgcn_topo_fini(&g);
    dgcn_topo_fini(&req);
}
END_TEST

/* The grammar's 'sparse:B' term: designed from no links, needs no required links, connected
 * with at most B links, and mixes faster than the ring it would be without the pairs added (20
 * agents, 40 links: SLEM 0.72 against the ring's 0.97). Fewer than M - 1 links is refused. */
START_TEST(test_sparse_spec_term) {
    dgcn_topo g, ring;
    dgcn_topo_spec_info in;
    ck_assert_int_eq(dgcn_topo_spec_check("sparse:40", 20, &in), 0);
    ck_assert(!in.needs_required && !in.designed);
    ck_assert_int_eq(dgcn_topo_spec_check("sparse:18", 20, NULL), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_topo_spec_check("sparse:x", 20, NULL), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_topo_spec_build("sparse:40", 20, NULL, 1, &g, NULL, NULL), 0);
    ck_assert(dgcn_topo_connected(&g));
    ck_assert_int_le(dgcn_topo_links(&g), 40);
    ck_assert_int_gt(dgcn_topo_links(&g), 20);
    ck_assert_int_eq(dgcn_topo_spec_build("ring", 20, NULL, 1, &ring, NULL, NULL), 0);
    double s_sparse, s_ring;
    ck_assert_int_eq(dgcn_topo_slem_mh(&g, DGCN_EIGEN_DENSE, &s_sparse), 0);
    ck_assert_int_eq(dgcn_topo_slem_mh(&ring, DGCN_EIGEN_DENSE, &s_ring), 0);
    ck_assert(s_sparse < 0.8 && s_ring > 0.95);
    dgcn_topo_fini(&g);
    dgcn_topo_fini(&ring);
}
END_TEST

/* ---- sparse structures: adjacency lists and mixing rows against dense references ----------- */

/* Random links added and removed (repeats included) on 150 agents, mirrored in a dense matrix:
 * membership, degrees, the link count, sorted neighbour lists, pairs both ways, union, contains,
 * equality and breadth-first distances (against Floyd-Warshall on the matrix) all agree. */
START_TEST(test_sparse_lists_match_dense) {
    enum { M = 150 };
    static uint8_t a[M * M], b[M * M];
    static int32_t fw[M * M], dist[M], queue[M];
    dgcn_topo g, h, u, back;
    dgcn_rng r;
    dgcn_rng_seed(&r, 11, DGCN_STREAM_TEST);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    ck_assert_int_eq(dgcn_topo_init(&g, M), 0);
    ck_assert_int_eq(dgcn_topo_init(&h, M), 0);
    for (int i = 0; i < 3000; i++) {
        int32_t k = (int32_t)dgcn_rng_below(&r, M), t = (int32_t)dgcn_rng_below(&r, M);
        if (k == t) continue;
        int on = dgcn_rng_uniform(&r) < 0.75;
        ck_assert_int_eq(dgcn_topo_set(&g, k, t, on), 0);
        a[k * M + t] = a[t * M + k] = (uint8_t)on;
        if (i % 3 == 0) {
            ck_assert_int_eq(dgcn_topo_set(&h, t, k, 1), 0);
            b[k * M + t] = b[t * M + k] = 1;
        }
    }
    int64_t links = 0;
    for (int32_t k = 0; k < M; k++) {
        int32_t deg, want = 0, prev = -1;
        const int32_t *nb = dgcn_topo_neighbors(&g, k, &deg);
        for (int32_t t = 0; t < M; t++) {
            ck_assert_int_eq(dgcn_topo_has(&g, k, t), a[k * M + t]);
            want += a[k * M + t];
        }
        ck_assert_int_eq(deg, want);
        ck_assert_int_eq(dgcn_topo_degree(&g, k), want);
        for (int32_t i = 0; i < deg; i++) {
            ck_assert_int_gt(nb[i], prev); /* increasing, no repeats */
            ck_assert(a[k * M + nb[i]]);
            prev = nb[i];
        }
        links += want;
    }
    ck_assert_int_eq(dgcn_topo_links(&g), links / 2);
    /* pairs: k < t in increasing order, and back to the same graph */
    int32_t *pairs = NULL;
    int64_t n = 0;
    ck_assert_int_eq(dgcn_topo_to_pairs(&g, &pairs, &n), 0);
    ck_assert_int_eq(n, links / 2);
    for (int64_t i = 0; i < n; i++) {
        ck_assert_int_lt(pairs[2 * i], pairs[2 * i + 1]);
        if (i)
            ck_assert(pairs[2 * i - 2] < pairs[2 * i] ||
                      (pairs[2 * i - 2] == pairs[2 * i] && pairs[2 * i - 1] < pairs[2 * i + 1]));
    }
    ck_assert_int_eq(dgcn_topo_from_pairs(&back, M, pairs, n), 0);
    ck_assert(dgcn_topo_equal(&back, &g));
    dgcn_topo_fini(&back);
    pairs[1] = pairs[0]; /* a self-link is refused, naming the pair */
    ck_assert_int_eq(dgcn_topo_from_pairs(&back, M, pairs, n), DGCN_ETOPOLOGY);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "pair 0"));
    free(pairs);
    /* union and containment */
    ck_assert_int_eq(dgcn_topo_union(&u, &g, &h), 0);
    int64_t ends = 0;
    for (int32_t k = 0; k < M; k++) {
        int32_t want = 0;
        for (int32_t t = 0; t < M; t++) {
            ck_assert_int_eq(dgcn_topo_has(&u, k, t), a[k * M + t] | b[k * M + t]);
            want += a[k * M + t] | b[k * M + t];
        }
        ck_assert_int_eq(dgcn_topo_degree(&u, k), want);
        ends += want;
    }
    ck_assert_int_eq(dgcn_topo_links(&u), ends / 2);
    ck_assert(dgcn_topo_contains(&u, &g) && dgcn_topo_contains(&u, &h));
    ck_assert_int_eq(dgcn_topo_contains(&g, &u), dgcn_topo_equal(&g, &u));
    /* distances */
    for (int32_t k = 0; k < M; k++)
        for (int32_t t = 0; t < M; t++)
            fw[k * M + t] = k == t ? 0 : a[k * M + t] ? 1 : INT32_MAX / 4;
    for (int32_t v = 0; v < M; v++)
        for (int32_t k = 0; k < M; k++)
            for (int32_t t = 0; t < M; t++)
                if (fw[k * M + v] + fw[v * M + t] < fw[k * M + t])
                    fw[k * M + t] = fw[k * M + v] + fw[v * M + t];
    for (int32_t k = 0; k < M; k += 7) {
        dgcn_topo_bfs(&g, k, dist, queue);
        for (int32_t t = 0; t < M; t++)
            ck_assert_int_eq(dist[t], fw[k * M + t] >= INT32_MAX / 4 ? -1 : fw[k * M + t]);
    }
    dgcn_topo_fini(&u);
    dgcn_topo_fini(&g);
    dgcn_topo_fini(&h);
}
END_TEST

/* Every rule's sparse rows equal its dense matrix bit for bit (the plan relies on it for the same
 * runs as before), hold only the support, and multiply like the dense matrix. */
START_TEST(test_sparse_mixing_matches_dense) {
    enum { M = 40 };
    static double c[M * M], x[M], y[M];
    dgcn_topo g;
    const char *kinds[] = {"ring", "exponential", "star", "regular:3", "geometric:0.3"};
    const dgcn_mixing_rule rules[] = {DGCN_MIX_MH, DGCN_MIX_MAXDEG, DGCN_MIX_LAZY_MH,
                                      DGCN_MIX_LAZY_MAXDEG};
    for (int i = 0; i < M; i++) x[i] = sin(1.0 + i);
    for (size_t ki = 0; ki < sizeof kinds / sizeof *kinds; ki++)
        for (size_t ri = 0; ri < sizeof rules / sizeof *rules; ri++) {
            dgcn_mixing mix;
            ck_assert_int_eq(dgcn_topo_generate(&g, kinds[ki], M, 3), 0);
            ck_assert_int_eq(dgcn_topo_weights(&g, rules[ri], c), 0);
            ck_assert_int_eq(dgcn_topo_weights_sparse(&g, rules[ri], &mix), 0);
            ck_assert_int_eq(mix.ptr[M], M + 2 * dgcn_topo_links(&g));
            ck_assert_int_eq(dgcn_mixing_check(&mix, 1e-12), 0);
            for (int32_t k = 0; k < M; k++)
                for (int32_t t = 0; t < M; t++)
                    ck_assert_msg(dgcn_mixing_get(&mix, k, t) == c[k * M + t],
                                  "%s, %s: entry (%d, %d) sparse %.17g dense %.17g", kinds[ki],
                                  dgcn_topo_weights_name(rules[ri]), k, t,
                                  dgcn_mixing_get(&mix, k, t), c[k * M + t]);
            dgcn_mixing_matvec(&mix, x, y);
            for (int32_t k = 0; k < M; k++) {
                double want = 0;
                for (int32_t t = 0; t < M; t++) want += c[k * M + t] * x[t];
                ck_assert_double_eq_tol(y[k], want, 1e-14);
            }
            dgcn_mixing_fini(&mix);
            dgcn_topo_fini(&g);
        }
    /* uniform on the complete graph; refused elsewhere */
    dgcn_mixing mix;
    ck_assert_int_eq(dgcn_topo_gen_complete(&g, 9), 0);
    ck_assert_int_eq(dgcn_topo_weights_sparse(&g, DGCN_MIX_UNIFORM, &mix), 0);
    for (int64_t e = 0; e < mix.ptr[9]; e++) ck_assert(mix.val[e] == 1.0 / 9);
    ck_assert_int_eq(mix.ptr[9], 81);
    dgcn_mixing_fini(&mix);
    dgcn_topo_fini(&g);
    ck_assert_int_eq(dgcn_topo_gen_ring(&g, 9), 0);
    ck_assert_int_eq(dgcn_topo_weights_sparse(&g, DGCN_MIX_UNIFORM, &mix), DGCN_ETOPOLOGY);
    ck_assert_ptr_null(mix.ptr);
    dgcn_topo_fini(&g);
}
END_TEST

/* From DGCN_SPECTRAL_DENSE_BELOW agents on, the analysis runs Lanczos on the sparse rows: on a
 * ring of 200 with MH weights 1/3 the eigenvalues are 1/3 + 2/3 cos(2 pi j / 200). Past the dense
 * bound the sparse path still works, and the dense one refuses naming the bound. */
START_TEST(test_sparse_spectrum_lanczos) {
    dgcn_topo g;
    dgcn_mixing mix;
    dgcn_topo_report rep;
    int32_t m = 200;
    ck_assert_int_ge(m, DGCN_SPECTRAL_DENSE_BELOW);
    ck_assert_int_eq(dgcn_topo_gen_ring(&g, m), 0);
    ck_assert_int_eq(dgcn_topo_weights_sparse(&g, DGCN_MIX_MH, &mix), 0);
    ck_assert_int_eq(dgcn_topo_analyze(&g, &mix, &rep), 0);
    double l2 = 1.0 / 3 + 2.0 / 3 * cos(2 * M_PI / m), lmin = 1.0 / 3 - 2.0 / 3;
    ck_assert_msg(fabs(rep.eig_second - l2) < 1e-8, "lambda_2 %.12f, want %.12f", rep.eig_second,
                  l2);
    ck_assert_msg(fabs(rep.eig_min - lmin) < 1e-8, "lambda_min %.12f, want %.12f", rep.eig_min,
                  lmin);
    ck_assert_double_eq_tol(rep.slem, l2, 1e-8);
    double norm;
    int exact = 0;
    ck_assert_int_eq(dgcn_mixing_norm_cj(&mix, &norm, &exact), 0);
    ck_assert_double_eq_tol(norm, l2, 1e-8);
    ck_assert(exact && rep.exact);
    dgcn_mixing_fini(&mix);
    dgcn_topo_fini(&g);
    /* a ring of 2000: lambda_2 has multiplicity 2 and lies 1e-5 from lambda_4, too close for 800
     * steps at tolerance 1e-10: the figure is flagged as a lower bound, and is one */
    m = 2000;
    ck_assert_int_eq(dgcn_topo_gen_ring(&g, m), 0);
    ck_assert_int_eq(dgcn_topo_weights_sparse(&g, DGCN_MIX_MH, &mix), 0);
    ck_assert_int_eq(dgcn_mixing_norm_cj(&mix, &norm, &exact), 0);
    l2 = 1.0 / 3 + 2.0 / 3 * cos(2 * M_PI / m);
    ck_assert_msg(!exact, "Lanczos claims convergence on a ring of %d: %.12f vs %.12f", m, norm,
                  l2);
    ck_assert_msg(norm <= l2 + 1e-12 && norm > 0.99, "%.12f vs %.12f", norm, l2);
    dgcn_mixing_fini(&mix);
    dgcn_topo_fini(&g);
    /* above the dense bound: the exponential graph's sparse plan pieces, no dense matrix */
    m = DGCN_TOPO_DENSE_MAX + 904;
    ck_assert_int_eq(dgcn_topo_gen_exponential(&g, m), 0);
    ck_assert_int_eq(dgcn_topo_weights_sparse(&g, DGCN_MIX_MH, &mix), 0);
    ck_assert_int_eq(dgcn_mixing_check(&mix, 1e-12), 0);
    double *dense = NULL;
    ck_assert_int_eq(dgcn_mixing_to_dense(&mix, &dense), DGCN_EINVAL);
    ck_assert_ptr_null(dense);
    ck_assert_int_eq(dgcn_topo_weights(&g, DGCN_MIX_MH, NULL), DGCN_EINVAL);
    char bound[16];
    snprintf(bound, sizeof bound, "%d", DGCN_TOPO_DENSE_MAX);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), bound));
    dgcn_mixing_fini(&mix);
    dgcn_topo_fini(&g);
}
END_TEST

/* Schedules (topologies/schedule.h): one-peer exponential phases are matchings over the hops
 * 2^0, 2^1, ... (period 2H), whose union is the static exponential graph up to the last link of
 * each odd cycle, connected, for M = 2..33; random matchings are near-perfect matchings, seeded;
 * a schedule of files cycles through them every N iterations and names a file of another size;
 * the spec grammar accepts the three and builds the union. */
START_TEST(test_schedules) {
    for (int32_t m = 2; m <= 33; m++) {
        dgcn_topo_schedule s;
        ck_assert_msg(dgcn_topo_schedule_build(&s, "one-peer-exponential", m, 1) == DGCN_OK, "%s",
                      dgcn_error_msg());
        int32_t hops = 0;
        while ((1 << hops) < m) hops++;
        ck_assert_int_eq(s.period, 2 * hops);
        ck_assert_int_eq(s.every, 1);
        dgcn_topo expo, uni;
        ck_assert_int_eq(dgcn_topo_gen_exponential(&expo, m), DGCN_OK);
        for (int32_t q = 0; q < s.period; q++) {
            int32_t d = 1 << (q % hops);
            for (int32_t k = 0; k < m; k++) {
                ck_assert_int_le(dgcn_topo_degree(&s.phases[q], k), 1); /* one peer at most */
                int32_t deg;
                const int32_t *nb = dgcn_topo_neighbors(&s.phases[q], k, &deg);
                for (int32_t i = 0; i < deg; i++) {
                    int32_t diff = (nb[i] - k + m) % m;
                    ck_assert_msg(diff == d || diff == m - d, "M %d phase %d: %d-%d is no hop %d",
                                  m, q, k, nb[i], d);
                }
            }
            ck_assert_int_ge(dgcn_topo_links(&s.phases[q]), (m - 1) / 3); /* not empty */
        }
        ck_assert_int_eq(dgcn_topo_schedule_union(&s, &uni), DGCN_OK);
        ck_assert(dgcn_topo_connected(&uni));
        ck_assert(dgcn_topo_contains(&expo, &uni));
        if (m == 16) ck_assert(dgcn_topo_equal(&expo, &uni)); /* even cycles: every link */
        dgcn_topo_fini(&uni);
        dgcn_topo_fini(&expo);
        dgcn_topo_schedule_fini(&s);
    }
    dgcn_topo_schedule s, s2;
    ck_assert_int_eq(dgcn_topo_schedule_build(&s, "matching:5", 9, 7), DGCN_OK);
    ck_assert_int_eq(dgcn_topo_schedule_build(&s2, "matching:5", 9, 7), DGCN_OK);
    ck_assert_int_eq(s.period, 5);
    int differ = 0;
    for (int32_t q = 0; q < 5; q++) {
        ck_assert_int_eq(dgcn_topo_links(&s.phases[q]), 4); /* 9 agents: 4 pairs, one idle */
        for (int32_t k = 0; k < 9; k++) ck_assert_int_le(dgcn_topo_degree(&s.phases[q], k), 1);
        ck_assert(dgcn_topo_equal(&s.phases[q], &s2.phases[q]));
        if (q > 0) differ |= !dgcn_topo_equal(&s.phases[q], &s.phases[0]);
    }
    ck_assert(differ);
    dgcn_topo_schedule_fini(&s);
    dgcn_topo_schedule_fini(&s2);
    ck_assert_int_eq(dgcn_topo_schedule_build(&s, "matching:1", 6, 7), DGCN_ETOPOLOGY);
    ck_assert_int_eq(dgcn_topo_schedule_build(&s, "matching:0", 6, 7), DGCN_EINVAL);
    /* files */
    strcpy(s_dir, "/tmp/dgcn_sched_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    char a[128], b[128], bad[128], spec[512];
    snprintf(a, sizeof a, "%s", s_write("a.edges", "# agents 4\n0 1\n2 3\n"));
    snprintf(b, sizeof b, "%s", s_write("b.edges", "# agents 4\n1 2\n"));
    snprintf(bad, sizeof bad, "%s", s_write("c.edges", "# agents 5\n0 1\n"));
    snprintf(spec, sizeof spec, "schedule:3:%s,%s", a, b);
    ck_assert_msg(dgcn_topo_schedule_build(&s, spec, 4, 1) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(s.period == 2 && s.every == 3 && dgcn_topo_links(&s.phases[0]) == 2 &&
              dgcn_topo_has(&s.phases[1], 1, 2));
    dgcn_topo_schedule_fini(&s);
    dgcn_topo g;
    int have_c = 1;
    ck_assert_int_eq(dgcn_topo_spec_build(spec, 4, NULL, 1, &g, NULL, &have_c), DGCN_OK);
    ck_assert_int_eq(dgcn_topo_links(&g), 3);
    dgcn_topo_fini(&g);
    snprintf(spec, sizeof spec, "schedule:3:%s,%s", a, bad);
    ck_assert_int_eq(dgcn_topo_schedule_build(&s, spec, 4, 1), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "c.edges"));
    snprintf(spec, sizeof spec, "schedule:1:%s", a); /* 0-1 and 2-3 never meet */
    ck_assert_int_eq(dgcn_topo_schedule_build(&s, spec, 4, 1), DGCN_ETOPOLOGY);
    dgcn_topo_spec_info info;
    ck_assert_int_eq(dgcn_topo_spec_check("one-peer-exponential", 8, &info), DGCN_OK);
    ck_assert(info.schedule && info.terms == 1);
    ck_assert_int_eq(dgcn_topo_spec_check("schedule:x:a", 8, NULL), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_topo_spec_check("ring+one-peer-exponential", 8, NULL), DGCN_EINVAL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"generator_counts", test_generator_counts, 0, 120},
        {"random_generators", test_random_generators, 0, 120},
        {"closed_form_spectra", test_closed_form_spectra, 0, 120},
        {"every_rule_doubly_stochastic", test_every_rule_doubly_stochastic, 0, 120},
        {"edge_list_files", test_edge_list_files, 0, 120},
        {"files_not_regular_or_inflated", test_files_not_regular_or_inflated, 0, 30},
        {"matrix_union", test_matrix_union, 0, 120},
        {"link_removal", test_link_removal, 0, 120},
        {"fastest_mixing", test_fastest_mixing, 0, 120},
        {"design_path", test_design_path, 0, 120},
        {"design_random_tree", test_design_random_tree, 0, 120},
        {"design_connects_components", test_design_connects_components, 0, 120},
        {"cmd_topology", test_cmd_topology, 0, 120},
        {"design_bad_options", test_design_bad_options, 0, 120},
        {"budget_lanczos_matches_dense", test_budget_lanczos_matches_dense, 0, 120},
        {"budget_monotone_nested", test_budget_monotone_nested, 0, 120},
        {"budget_degree_cap_both_ends", test_budget_degree_cap_both_ends, 0, 30},
        {"budget_spec_term", test_budget_spec_term, 0, 120},
        {"sparse_spec_term", test_sparse_spec_term, 0, 120},
        {"sparse_lists_match_dense", test_sparse_lists_match_dense, 0, 120},
        {"sparse_mixing_matches_dense", test_sparse_mixing_matches_dense, 0, 120},
        {"sparse_spectrum_lanczos", test_sparse_spectrum_lanczos, 0, 120},
        {"schedules", test_schedules, 0, 60},
    };
    return DGCN_TEST_SUITE("topologies", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
