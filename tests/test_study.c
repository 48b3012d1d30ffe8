/* tests/test_study.c: dgcn study: list parsing, a tiny study on a generated graph (every configuration in the table, sane values, the graphs train
 * used), failed runs counted, and the command's usage errors. */
#include "coordinator/commands.h"
#include "coordinator/data_source.h"
#include "coordinator/study.h"
#include "core/error.h"
#include "graph/partition.h"
#include "topologies/graph.h"
#include "topologies/io.h"

#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void s_mkdtemp(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "/tmp/dgcn-study-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static void s_rm(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A small generated graph that trains in well under a second per run. */
static void s_small_source(dgcn_data_source *s) {
    dgcn_data_source_defaults(s);
    s->nodes = 300;
    s->classes = 3;
    s->features = 60;
    s->feature_nnz = 8;
    s->train_per_class = 10;
    s->val = 60;
    s->test = 100;
}

static int s_bad_topologies(const char *list, const char *needle) {
    char **specs = (char **)1;
    int n = -1;
    int rc = dgcn_study_parse_topologies(list, 6, &specs, &n);
    ck_assert_msg(rc == DGCN_EINVAL, "'%s' accepted (rc %d)", list, rc);
    ck_assert_ptr_null(specs);
    ck_assert_int_eq(n, 0);
    ck_assert_msg(strstr(dgcn_error_msg(), needle), "'%s': message '%s' lacks '%s'", list,
                  dgcn_error_msg(), needle);
    return rc;
}

START_TEST(test_parse_topologies) {
    char **specs = NULL;
    int n = 0;
    ck_assert_int_eq(dgcn_study_parse_topologies("required, designed,ring,er:0.3,required+line", 6,
                                                 &specs, &n),
                     0);
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(specs[1], "designed");
    ck_assert_str_eq(specs[3], "er:0.3");
    ck_assert_str_eq(specs[4], "required+line");
    dgcn_study_list_free(specs, n);
    s_bad_topologies("ring,,line", "item 2 is empty");
    s_bad_topologies("ring,bogus", "bogus");
    s_bad_topologies("er:abc", "er:abc");
    s_bad_topologies("ring,ring", "listed twice");
    s_bad_topologies("ring+", "empty part");
    s_bad_topologies("", "empty list");
}
END_TEST

static void s_bad_removals(const char *list, const char *needle) {
    double *fr = (double *)1;
    int n = -1;
    int rc = dgcn_study_parse_removals(list, &fr, &n);
    ck_assert_msg(rc == DGCN_EINVAL, "'%s' accepted (rc %d)", list, rc);
    ck_assert_ptr_null(fr);
    ck_assert_msg(strstr(dgcn_error_msg(), needle), "'%s': message '%s' lacks '%s'", list,
                  dgcn_error_msg(), needle);
}

START_TEST(test_parse_optimizers) {
    char **names = NULL;
    int n = 0;
    ck_assert_int_eq(dgcn_study_parse_optimizers("gt-adam, dgd", &names, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(names[1], "dgd");
    dgcn_study_list_free(names, n);
    ck_assert_int_eq(dgcn_study_parse_optimizers("gt,sgd", &names, &n), DGCN_EINVAL);
    ck_assert_ptr_null(names);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "sgd"));
    ck_assert_int_eq(dgcn_study_parse_optimizers("dgd,dgd", &names, &n), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "twice"));
}
END_TEST

START_TEST(test_parse_removals) {
    double *fr = NULL;
    int n = 0;
    ck_assert_int_eq(dgcn_study_parse_removals("0, 0.25,0.5,0.75", &fr, &n), 0);
    ck_assert_int_eq(n, 4);
    ck_assert(fr[0] == 0 && fr[1] == 0.25 && fr[2] == 0.5 && fr[3] == 0.75);
    free(fr);
    s_bad_removals("0,0.5x", "not a number");
    s_bad_removals("0,1", "[0, 1)");
    s_bad_removals("-0.1", "[0, 1)");
    s_bad_removals("0.5,0.5", "repeats item 1");
    s_bad_removals("0,,0.5", "item 2 is empty");
    s_bad_removals("nan", "not a number");
}
END_TEST

/* Lines of a file (0 when absent). */
static int s_count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0, c, last = '\n';
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n') n++;
        last = c;
    }
    fclose(f);
    return n + (last != '\n');
}

static const dgcn_study_row *s_row_opt(const dgcn_study_result *r, const char *opt,
                                       const char *topo, double removal) {
    for (int i = 0; i < r->n_rows; i++)
        if (!strcmp(r->rows[i].topology, topo) && r->rows[i].removal == removal &&
            (!opt || !strcmp(r->rows[i].optimizer, opt)))
            return &r->rows[i];
    ck_abort_msg("no row for %s %s removal %g", opt ? opt : "", topo, removal);
    return NULL;
}

static const dgcn_study_row *s_row(const dgcn_study_result *r, const char *topo, double removal) {
    return s_row_opt(r, NULL, topo, removal);
}

/* The last "key": number in a file of JSON lines (NAN when absent). */
static double s_last_number(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no %s", path);
    static char line[8192];
    double v = NAN;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, key);
        if (p) v = strtod(p + strlen(key), NULL);
    }
    fclose(f);
    return v;
}

/* plots/curves.tsv: one block per trained configuration, its points' bytes non-decreasing; the
 * number of data lines. */
static int s_check_curves_file(const char *path) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no %s", path);
    static char line[1024];
    int data = 0;
    double prev = -1;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') {
            prev = -1; /* a new block */
            continue;
        }
        if (line[0] == '\n') continue;
        char opt[32], topo[128];
        double removal, bytes, val, test, cons;
        long long iter;
        ck_assert_msg(sscanf(line, "%31s %127s %lf %lld %lf %lf %lf %lf", opt, topo, &removal,
                             &iter, &bytes, &val, &test, &cons) == 8,
                      "%s: bad line %s", path, line);
        ck_assert_msg(bytes >= prev, "%s: bytes fall from %g to %g", path, prev, bytes);
        ck_assert(val >= 0 && val <= 1 && test >= 0 && test <= 1 && cons >= 0);
        prev = bytes;
        data++;
    }
    fclose(f);
    return data;
}

START_TEST(test_tiny_study) {
    char dir[256], path[600];
    s_mkdtemp(dir, sizeof dir, "tiny");
    dgcn_study_opts o;
    dgcn_study_defaults(&o);
    s_small_source(&o.src);
    o.program = DGCN_BINARY;
    o.agents = 4;
    o.topologies = "required,ring,complete";
    o.removals = "0,0.5";
    o.run.optimizer = "gt-adam,dgd"; /* every configuration with both */
    o.run.iters = 20;
    o.run.seeds = 2;
    o.run.eval_every = 5;
    o.transport = "inproc";
    o.timeout_s = 120;
    o.out = dir;
    o.progress = 0;
    dgcn_study_result r;
    int rc = dgcn_study_run(&o, &r);
    ck_assert_msg(rc == 0, "study failed: %s", dgcn_error_msg());
    ck_assert_int_eq(r.n_rows, 12);
    ck_assert_int_eq(r.n_failed, 0);
    ck_assert(r.central_train_loss > 0 && isfinite(r.central_train_loss));
    ck_assert(r.central_test_acc_mean >= 0 && r.central_test_acc_mean <= 1);

    /* The required links, computed here from the same partition train uses. */
    dgcn_dataset ds;
    dgcn_csr a_hat;
    ck_assert_int_eq(dgcn_data_source_open(&o.src, &ds, &a_hat), 0);
    int32_t owner[300];
    ck_assert_int_eq(ds.n, 300);
    ck_assert_int_eq(dgcn_partition(&ds.adj, 4, DGCN_PARTITION_BFS, o.run.plan.seed, owner), 0);
    int32_t *pairs = NULL;
    int64_t req = 0;
    ck_assert_int_eq(dgcn_partition_required_pairs(&ds.adj, owner, 4, &pairs, &req), 0);
    free(pairs);
    dgcn_dataset_fini(&ds);
    dgcn_csr_fini(&a_hat);

    const dgcn_study_row *w = s_row(&r, "required", 0);
    ck_assert_int_eq(w->links, req);
    ck_assert_int_eq(s_row(&r, "required", 0.5)->links, req - (int64_t)llround(0.5 * req));
    ck_assert_int_eq(s_row(&r, "complete", 0)->links, 6);
    ck_assert_int_eq(s_row(&r, "complete", 0.5)->links, 3);
    ck_assert_int_eq(s_row(&r, "ring", 0)->links, 4);
    /* A 4-ring without 2 links is disconnected: reported, not trained. */
    ck_assert_int_eq(s_row(&r, "ring", 0.5)->status, DGCN_STUDY_DISCONNECTED);
    /* A complete graph of 4 with Metropolis-Hastings weights is 11^T/4: gap 1; a ring of 4 with
     * weights 1/3: eigenvalues 1/3 + 2/3 cos(2 pi j / 4) = 1, 1/3, -1/3, 1/3, gap 2/3. */
    ck_assert_double_eq_tol(s_row(&r, "complete", 0)->gap, 1.0, 1e-9);
    ck_assert_double_eq_tol(s_row(&r, "ring", 0)->gap, 2.0 / 3.0, 1e-9);

    int trained = 0;
    for (int i = 0; i < r.n_rows; i++) {
        w = &r.rows[i];
        if (w->status == DGCN_STUDY_DISCONNECTED) continue;
        ck_assert_msg(w->status == DGCN_STUDY_OK, "%s failed", w->name);
        trained++;
        ck_assert_msg(w->test_acc_mean >= 0 && w->test_acc_mean <= 1, "%s acc %g", w->name,
                      w->test_acc_mean);
        ck_assert(w->test_acc_std >= 0);
        ck_assert_msg(w->gap > 0 && w->gap <= 1 + 1e-12, "%s gap %g", w->name, w->gap);
        ck_assert(w->consensus_error >= 0 && isfinite(w->consensus_error));
        ck_assert(w->bytes_per_iter > 0);
        ck_assert(w->iters_to_central >= -1 && w->iters_to_central <= o.run.iters);
        /* Train ran on exactly the graph the study wrote. */
        dgcn_topo mine, used;
        snprintf(path, sizeof path, "%s/topologies/%s.edges", dir,
                 w->name + strlen(w->optimizer) + 1); /* the graph of both optimizers */
        ck_assert_int_eq(dgcn_topo_read_edges(&mine, path), 0);
        snprintf(path, sizeof path, "%s/runs/%s/topology.edges", dir, w->name);
        ck_assert_int_eq(dgcn_topo_read_edges(&used, path), 0);
        ck_assert_int_eq(dgcn_topo_links(&mine), w->links);
        ck_assert(dgcn_topo_connected(&mine));
        ck_assert(dgcn_topo_contains(&mine, &used) && dgcn_topo_contains(&used, &mine));
        dgcn_topo_fini(&mine);
        dgcn_topo_fini(&used);
    }
    ck_assert_int_eq(trained, 10);
    /* Links fall with removal for every topology. */
    ck_assert(s_row(&r, "required", 0.5)->links < s_row(&r, "required", 0)->links);
    ck_assert(s_row(&r, "complete", 0.5)->links < s_row(&r, "complete", 0)->links);

    snprintf(path, sizeof path, "%s/study.tsv", dir);
    ck_assert_int_eq(s_count_lines(path), 1 + 12);
    snprintf(path, sizeof path, "%s/study.md", dir);
    ck_assert_int_eq(s_count_lines(path), 3 + 2 + 12);
    snprintf(path, sizeof path, "%s/plots/accuracy.tsv", dir);
    ck_assert_int_gt(s_count_lines(path), 5);
    snprintf(path, sizeof path, "%s/plots/consensus.tsv", dir);
    ck_assert_int_gt(s_count_lines(path), 5 * 4);

    /* Both optimizers on every configuration; per trained one, the curve against bytes: as many
     * points as reports (0, 5, ..., 20), bytes non-decreasing, the last the run's total, which is
     * its metrics.jsonl's last bytes_cum; the link counts and the centralized flag. */
    ck_assert_str_eq(s_row_opt(&r, "dgd", "ring", 0)->name, "dgd_ring_r0");
    int points = 0;
    for (int i = 0; i < r.n_rows; i++) {
        w = &r.rows[i];
        if (w->status != DGCN_STUDY_OK) continue;
        ck_assert_msg(!strcmp(w->optimizer, "gt-adam") || !strcmp(w->optimizer, "dgd"), "%s",
                      w->optimizer);
        ck_assert_int_eq(w->links_possible, 6);
        ck_assert_int_eq(w->curve.n, 5);
        for (int j = 1; j < w->curve.n; j++)
            ck_assert_msg(dgcn_curve_bytes(&w->curve, j) >= dgcn_curve_bytes(&w->curve, j - 1),
                          "%s: bytes fall at point %d", w->name, j);
        double last = dgcn_curve_bytes(&w->curve, w->curve.n - 1);
        ck_assert_msg(last > 0 && last == w->bytes_total, "%s: curve ends at %g bytes, total %g",
                      w->name, last, w->bytes_total);
        snprintf(path, sizeof path, "%s/runs/%s/metrics.jsonl", dir, w->name);
        ck_assert_msg(s_last_number(path, "\"bytes_cum\":") == last, "%s: metrics end at %g",
                      w->name, s_last_number(path, "\"bytes_cum\":"));
        points += w->curve.n;
    }
    ck_assert(s_row_opt(&r, "dgd", "complete", 0)->effectively_centralized);
    ck_assert(s_row_opt(&r, "gt-adam", "complete", 0)->effectively_centralized);
    ck_assert(!s_row_opt(&r, "dgd", "ring", 0)->effectively_centralized);
    /* the two methods differ on the same graph at the same communication */
    ck_assert(s_row_opt(&r, "dgd", "ring", 0)->bytes_total !=
              s_row_opt(&r, "gt-adam", "ring", 0)->bytes_total);
    snprintf(path, sizeof path, "%s/plots/curves.tsv", dir);
    ck_assert_int_eq(s_check_curves_file(path), points);
    for (int k = 0; k < 2; k++) {
        const char *fig = k ? "consensus_vs_bytes" : "acc_vs_bytes";
        snprintf(path, sizeof path, "%s/plots/%s.gp", dir, fig);
        ck_assert_msg(access(path, R_OK) == 0, "no %s", path);
        snprintf(path, sizeof path, "%s/plots/%s.png", dir, fig);
        if (system("command -v gnuplot >/dev/null 2>&1") == 0)
            ck_assert_msg(access(path, R_OK) == 0, "no %s", path);
    }
    dgcn_study_result_fini(&r);
    s_rm(dir);
}
END_TEST

/* The study's dimensions of time-varying links: every configuration with each link failure
 * probability (--link-failures) and a schedule trained as its schedule; a schedule with a removal is
 * skipped; the runs of P > 0 count their failures, those of P = 0 none. */
START_TEST(test_dynamic_study) {
    char dir[256], path[700];
    s_mkdtemp(dir, sizeof dir, "dyn");
    dgcn_study_opts o;
    dgcn_study_defaults(&o);
    s_small_source(&o.src);
    o.agents = 4;
    o.topologies = "ring,one-peer-exponential";
    o.removals = "0,0.25";
    o.failures = "0,0.3";
    o.cross_edges = "relay";
    o.run.iters = 10;
    o.run.eval_every = 5;
    o.transport = "inproc";
    o.out = dir;
    o.progress = 0;
    dgcn_study_result r;
    int rc = dgcn_study_run(&o, &r);
    ck_assert_msg(rc == 0, "study failed: %s", dgcn_error_msg());
    ck_assert_int_eq(r.n_rows, 8);
    ck_assert_int_eq(r.n_failed, 0);
    int trained = 0, skipped = 0;
    for (int i = 0; i < r.n_rows; i++) {
        const dgcn_study_row *w = &r.rows[i];
        ck_assert(w->link_failure == (i % 2 ? 0.3 : 0.0)); /* failure-major within a config */
        if (!strcmp(w->topology, "one-peer-exponential") && w->removal > 0) {
            ck_assert_int_eq(w->status, DGCN_STUDY_SKIPPED);
            skipped++;
            continue;
        }
        if (w->status != DGCN_STUDY_OK) continue; /* a 4-ring without a link stays a path */
        trained++;
        ck_assert(w->link_failure == 0 || strstr(w->name, "_p0.3"));
        snprintf(path, sizeof path, "%s/runs/%s/summary.json", dir, w->name);
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "no %s", path);
        static char sum[16384];
        sum[fread(sum, 1, sizeof sum - 1, f)] = '\0';
        fclose(f);
        const char *lf = strstr(sum, "\"link_failures\":");
        if (w->link_failure > 0) {
            ck_assert_msg(lf != NULL, "%s: %s", path, sum);
            ck_assert_double_gt(strtod(strstr(lf, "\"params\":") + 9, NULL), 0);
        } else if (!strcmp(w->topology, "ring")) {
            ck_assert_msg(lf == NULL, "%s: %s", path, sum);
        }
        if (!strcmp(w->topology, "one-peer-exponential"))
            ck_assert_ptr_nonnull(strstr(sum, "\"schedule_period\":4"));
    }
    ck_assert_int_eq(skipped, 2);
    ck_assert_int_ge(trained, 4);
    dgcn_study_result_fini(&r);
    s_rm(dir);
}
END_TEST

/* --agent-loss 1:5 (zmq): every configuration trains also with one agent killed at its report of
 * iteration 5; that run loses it (summary.json and the table say so) and completes, the other
 * loses none; a bad value or a transport without agent processes is refused. */
START_TEST(test_agent_loss_study) {
    char dir[256], path[700];
    s_mkdtemp(dir, sizeof dir, "loss");
    dgcn_study_opts o;
    dgcn_study_defaults(&o);
    s_small_source(&o.src);
    o.program = DGCN_BINARY;
    o.transport = "zmq";
    o.agents = 5;
    o.topologies = "ring";
    o.removals = "0";
    o.agent_loss = "1:5";
    o.cross_edges = "relay";
    o.run.iters = 40;
    o.run.eval_every = 5;
    o.run.deadline_ms = 20000;
    o.out = dir;
    o.progress = 0;
    dgcn_study_result r;
    int rc = dgcn_study_run(&o, &r);
    ck_assert_msg(rc == 0, "study failed: %s", dgcn_error_msg());
    ck_assert_int_eq(r.n_rows, 2);
    ck_assert_int_eq(r.n_failed, 0);
    for (int i = 0; i < 2; i++) {
        const dgcn_study_row *w = &r.rows[i];
        ck_assert_int_eq(w->status, DGCN_STUDY_OK);
        ck_assert_int_eq(w->agents_killed, i);
        ck_assert_int_eq(w->agents_lost, i);
        ck_assert(i == 0 || (w->kill_iter == 5 && strstr(w->name, "_lost1")));
        ck_assert(w->test_acc_mean > 0.3 && w->consensus_error >= 0 && w->bytes_total > 0);
        snprintf(path, sizeof path, "%s/runs/%s/summary.json", dir, w->name);
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "no %s", path);
        static char sum[16384];
        sum[fread(sum, 1, sizeof sum - 1, f)] = '\0';
        fclose(f);
        const char *lost = strstr(sum, "\"agents_lost\":1");
        ck_assert_msg(i ? lost != NULL : lost == NULL, "%s: %s", path, sum);
    }
    snprintf(path, sizeof path, "%s/study.tsv", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char tsv[8192];
    tsv[fread(tsv, 1, sizeof tsv - 1, f)] = '\0';
    fclose(f);
    ck_assert_msg(strstr(tsv, "\tagents_killed\tkill_iter\tagents_lost\n") &&
                      strstr(tsv, "\t0\t1\t5\t1\n"),
                  "%s", tsv);
    dgcn_study_result_fini(&r);
    o.agent_loss = "5:5"; /* as many as the agents */
    ck_assert_int_eq(dgcn_study_run(&o, &r), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "--agent-loss"));
    o.agent_loss = "1:x";
    ck_assert_int_eq(dgcn_study_run(&o, &r), DGCN_EINVAL);
    o.agent_loss = "1";
    o.transport = "inproc";
    ck_assert_int_eq(dgcn_study_run(&o, &r), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "zmq"));
    s_rm(dir);
}
END_TEST

START_TEST(test_failed_runs_counted) {
    char dir[256];
    s_mkdtemp(dir, sizeof dir, "fail");
    dgcn_study_opts o;
    dgcn_study_defaults(&o);
    s_small_source(&o.src);
    o.program = "/bin/false"; /* every agent process exits at once */
    o.transport = "zmq";
    o.agents = 3;
    o.topologies = "complete";
    o.removals = "0,0.3";
    o.run.iters = 2;
    o.out = dir;
    o.progress = 0;
    dgcn_study_result r;
    ck_assert_int_eq(dgcn_study_run(&o, &r), 0);
    ck_assert_int_eq(r.n_rows, 2);
    ck_assert_int_eq(r.n_failed, 2);
    ck_assert_int_eq(r.rows[0].status, DGCN_STUDY_FAILED);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "train.log"));
    dgcn_study_result_fini(&r);
    s_rm(dir);
}
END_TEST

static int s_cmd(const char *const *args) {
    char *argv[32];
    int argc = 0;
    while (args[argc]) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    return dgcn_cmd_study(argc, argv);
}

START_TEST(test_command_usage_errors) {
    const char *help[] = {"study", "--help", NULL};
    ck_assert_int_eq(s_cmd(help), 0);
    const char *no_out[] = {"study", "--agents", "3", NULL};
    ck_assert_int_eq(s_cmd(no_out), 2);
    const char *bad_topo[] = {"study", "--topologies",          "ring,hexagon",
                              "--out", "/tmp/dgcn-study-never", NULL};
    ck_assert_int_eq(s_cmd(bad_topo), 2);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "hexagon"));
    const char *bad_rm[] = {"study", "--remove", "0,1.5", "--out", "/tmp/dgcn-study-never", NULL};
    ck_assert_int_eq(s_cmd(bad_rm), 2);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "1.5"));
    const char *one[] = {"study", "--agents", "1", "--out", "/tmp/dgcn-study-never", NULL};
    ck_assert_int_eq(s_cmd(one), 2);
    ck_assert_int_eq(access("/tmp/dgcn-study-never", F_OK), -1);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"parse_topologies", test_parse_topologies, 0, 10},
        {"parse_removals", test_parse_removals, 0, 10},
        {"parse_optimizers", test_parse_optimizers, 0, 10},
        {"tiny_study", test_tiny_study, 0, 200},
        {"failed_runs_counted", test_failed_runs_counted, 0, 30},
        {"dynamic_study", test_dynamic_study, 0, 200},
        {"agent_loss_study", test_agent_loss_study, 0, 240},
        {"command_usage_errors", test_command_usage_errors, 0, 10},
    };
    return DGCN_TEST_SUITE("study", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
