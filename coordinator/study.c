/* coordinator/study.c: the sparse-connectivity study: plans each (topology, removal) configuration
 * (coordinator/plan.h), trains it in this process through the training library with a time bound,
 * and gathers the results into one table and side-by-side plots. */
#include "coordinator/study.h"

#include "comm/transport.h"
#include "coordinator/baseline.h"
#include "coordinator/plan.h"
#include "coordinator/rundir.h"
#include "coordinator/train.h"
#include "core/error.h"
#include "core/signal.h"
#include "core/timer.h"
#include "graph/partition.h"
#include "topologies/graph.h"
#include "topologies/io.h"
#include "topologies/schedule.h"
#include "topologies/spec.h"
#include "topologies/spectral.h"
#include "topologies/weights.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_ITEMS 64

void dgcn_study_defaults(dgcn_study_opts *o) {
    memset(o, 0, sizeof *o);
    dgcn_data_source_defaults(&o->src);
    o->program = NULL;
    o->agents = 10;
    o->partition = "bfs";
    o->topologies = "required,designed,complete,ring,line";
    o->removals = "0,0.25,0.5,0.75";
    o->weights = "mh";
    dgcn_train_defaults(&o->run);
    o->run.gossip_rounds = 1; /* topologies compared at one exchange per iteration */
    o->transport = "inproc";
    o->tolerance = 0.01;
    o->timeout_s = 3600;
    o->progress = 1;
    o->cross_edges = "drop";
}

void dgcn_study_result_fini(dgcn_study_result *r) {
    for (int i = 0; r->rows && i < r->n_rows; i++) dgcn_curve_fini(&r->rows[i].curve);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

void dgcn_study_list_free(char **specs, int n) {
    for (int i = 0; specs && i < n; i++) free(specs[i]);
    free(specs);
}

/* Splits list at commas into at most S_MAX_ITEMS malloc'ed items; empty items are an error. */
static int s_split(const char *list, const char *what, char ***items, int *n) {
    *items = NULL;
    *n = 0;
    if (!list || !*list) return dgcn_error_set(DGCN_EINVAL, "%s: empty list", what);
    char **v = calloc(S_MAX_ITEMS, sizeof *v);
    if (!v) return dgcn_error_set(DGCN_ENOMEM, "out of memory splitting %s", what);
    const char *p = list;
    int k = 0;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t')) p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        if (!len || k == S_MAX_ITEMS) {
            int rc = !len ? dgcn_error_set(DGCN_EINVAL, "%s '%s': item %d is empty", what, list,
                                           k + 1)
                          : dgcn_error_set(DGCN_EINVAL, "%s '%s': more than %d items", what, list,
                                           S_MAX_ITEMS);
            dgcn_study_list_free(v, k);
            return rc;
        }
        v[k] = strndup(p, len);
        if (!v[k]) {
            dgcn_study_list_free(v, k);
            return dgcn_error_set(DGCN_ENOMEM, "out of memory splitting %s", what);
        }
        k++;
        if (!e) break;
        p = e + 1;
    }
    *items = v;
    *n = k;
    return DGCN_OK;
}

int dgcn_study_parse_topologies(const char *list, int32_t m, char ***specs, int *n) {
    int rc = s_split(list, "--topologies", specs, n);
    if (rc) return rc;
    for (int i = 0; i < *n; i++) {
        rc = dgcn_topo_spec_check((*specs)[i], m, NULL);
        if (!rc && strpbrk((*specs)[i], strstr((*specs)[i], "file:") ? " \t\"\\" : "/ \t\"\\"))
            rc = dgcn_error_set(DGCN_EINVAL, "topology '%s': unexpected character", (*specs)[i]);
        for (int j = 0; !rc && j < i; j++)
            if (!strcmp((*specs)[i], (*specs)[j]))
                rc = dgcn_error_set(DGCN_EINVAL, "--topologies: '%s' is listed twice", (*specs)[i]);
        if (rc) {
            rc = dgcn_error_wrap(rc, "--topologies item %d: ", i + 1);
            dgcn_study_list_free(*specs, *n);
            *specs = NULL;
            *n = 0;
            return rc;
        }
    }
    return DGCN_OK;
}

int dgcn_study_parse_optimizers(const char *list, char ***names, int *n) {
    int rc = s_split(list, "--optimizer", names, n);
    if (rc) return rc;
    for (int i = 0; i < *n && !rc; i++) {
        dgcn_consensus_kind kind;
        rc = dgcn_consensus_kind_parse((*names)[i], &kind);
        if (!rc && strlen((*names)[i]) >= sizeof((dgcn_study_row *)0)->optimizer)
            rc = dgcn_error_set(DGCN_EINVAL, "'%s' is too long", (*names)[i]);
        for (int j = 0; !rc && j < i; j++)
            if (!strcmp((*names)[i], (*names)[j]))
                rc = dgcn_error_set(DGCN_EINVAL, "'%s' is listed twice", (*names)[i]);
        if (rc) rc = dgcn_error_wrap(rc, "--optimizer item %d: ", i + 1);
    }
    if (rc) {
        dgcn_study_list_free(*names, *n);
        *names = NULL;
        *n = 0;
    }
    return rc;
}

int dgcn_study_parse_agent_loss(const char *s, int32_t m, int64_t iters, int32_t *k,
                                int64_t *iter) {
    char *end = NULL;
    long long kk = s ? strtoll(s, &end, 10) : 0, it = iters / 2 > 0 ? iters / 2 : 1;
    if (s && end != s && *end == ':') {
        const char *at = end + 1;
        it = strtoll(at, &end, 10);
        if (end == at) end = NULL;
    }
    if (!s || !end || end == s || *end)
        return dgcn_error_set(DGCN_EINVAL, "--agent-loss '%s': K[:ITER] (agents, iteration)",
                              s ? s : "");
    if (kk < 1 || kk >= m)
        return dgcn_error_set(DGCN_EINVAL, "--agent-loss '%s': K must be in [1, %d) (%d agents)", s,
                              (int)m, (int)m);
    if (it < 1 || it > iters)
        return dgcn_error_set(DGCN_EINVAL, "--agent-loss '%s': ITER must be in [1, %lld]", s,
                              (long long)iters);
    *k = (int32_t)kk;
    *iter = it;
    return DGCN_OK;
}

int dgcn_study_parse_fractions(const char *list, const char *option, double **fr, int *n) {
    char **items = NULL;
    int k = 0;
    *fr = NULL;
    *n = 0;
    int rc = s_split(list, option, &items, &k);
    if (rc) return rc;
    double *v = calloc((size_t)k, sizeof *v);
    if (!v) {
        dgcn_study_list_free(items, k);
        return dgcn_error_set(DGCN_ENOMEM, "out of memory parsing %s", option);
    }
    for (int i = 0; i < k; i++) {
        char *end = NULL;
        errno = 0;
        double x = strtod(items[i], &end);
        if (end == items[i] || *end || errno || !isfinite(x))
            rc = dgcn_error_set(DGCN_EINVAL, "%s item %d '%s': not a number", option, i + 1,
                                items[i]);
        else if (x < 0 || x >= 1)
            rc = dgcn_error_set(DGCN_EINVAL, "%s item %d '%s': a fraction must be in [0, 1)",
                                option, i + 1, items[i]);
        for (int j = 0; !rc && j < i; j++)
            if (v[j] == x)
                rc = dgcn_error_set(DGCN_EINVAL, "%s item %d '%s': repeats item %d", option, i + 1,
                                    items[i], j + 1);
        if (rc) {
            free(v);
            dgcn_study_list_free(items, k);
            return rc;
        }
        v[i] = x;
    }
    dgcn_study_list_free(items, k);
    *fr = v;
    *n = k;
    return DGCN_OK;
}

int dgcn_study_parse_removals(const char *list, double **fr, int *n) {
    return dgcn_study_parse_fractions(list, "--remove", fr, n);
}

/* The centralized GCN trained as train's baseline (Kipf's Adam setup, same width, dropout, epochs
 * and seed); *train_loss is the final weights' training cross-entropy without dropout, the figure
 * train reports for the agents. */
static int s_central(const dgcn_dataset *ds, const dgcn_csr *a_hat, const dgcn_study_opts *o,
                     uint64_t seed, double *train_loss, double *test_acc) {
    dgcn_baseline_opts b = dgcn_baseline_defaults(DGCN_MODEL_GCN, ds);
    b.model.dims[1] = o->run.hidden;
    b.model.dropout = (float)o->run.dropout;
    b.epochs = o->run.iters;
    b.seed = seed;
    dgcn_baseline_result r;
    int rc = dgcn_baseline_run(ds, a_hat, &b, &r);
    if (rc) return rc;
    *train_loss = r.train_xent;
    *test_acc = r.test_acc;
    return DGCN_OK;
}

static const char *s_status_name(dgcn_study_status s) {
    return s == DGCN_STUDY_OK             ? "ok"
           : s == DGCN_STUDY_DISCONNECTED ? "disconnected"
           : s == DGCN_STUDY_SKIPPED      ? "skipped"
                                          : "failed";
}

/* A folder-safe name: "er:0.3" removal 0.25 -> "er-0.3_r0.25", with link failures 0.1
 * "er-0.3_r0.25_p0.1", with 2 agents killed "er-0.3_r0.25_lost2"; every character other than
 * letters, digits, '.', '_', '+' and '-' becomes '-'. */
static void s_config_name(char *buf, size_t cap, const char *spec, double removal, double p,
                          int32_t killed) {
    char s[128], lost[32] = "";
    snprintf(s, sizeof s, "%s", spec);
    for (char *q = s; *q; q++)
        if (!isalnum((unsigned char)*q) && !strchr("._+-", *q)) *q = '-';
    if (killed > 0) snprintf(lost, sizeof lost, "_lost%d", (int)killed);
    if (p > 0) snprintf(buf, cap, "%s_r%g_p%g%s", s, removal, p, lost);
    else snprintf(buf, cap, "%s_r%g%s", s, removal, lost);
}

static void s_fmt_or_dash(char *buf, size_t cap, const char *fmt, double v) {
    if (isfinite(v)) snprintf(buf, cap, fmt, v);
    else snprintf(buf, cap, "-");
}

static int s_write_table(const dgcn_study_opts *o, const dgcn_study_result *r, const char *data) {
    FILE *f = NULL;
    int rc = dgcn_rundir_fopen(o->out, "study.tsv", "w", &f);
    if (rc) return rc;
    fprintf(f, "topology\tremoval\tlinks\tspectral_gap\ttest_acc_mean\ttest_acc_std\t"
               "iters_to_central\tconsensus_error\tbytes_per_iter\tms_per_iter\tstatus\t"
               "hops\tbytes_direct\tbytes_relayed\tbytes_params\toptimizer\tlinks_possible\t"
               "effectively_centralized\tbytes_total\tlink_failure\tagents_killed\tkill_iter\t"
               "agents_lost\n");
    for (int i = 0; i < r->n_rows; i++) {
        const dgcn_study_row *w = &r->rows[i];
        fprintf(f,
                "%s\t%g\t%" PRId64 "\t%.6g\t%.6g\t%.6g\t%" PRId64
                "\t%.6g\t%.6g\t%.6g\t%s\t%d\t%.6g\t%.6g\t%.6g\t%s\t%" PRId64
                "\t%d\t%.6g\t%g\t%d\t%" PRId64 "\t%d\n",
                w->topology, w->removal, w->links, w->gap, w->test_acc_mean, w->test_acc_std,
                w->iters_to_central, w->consensus_error, w->bytes_per_iter, w->ms_per_iter,
                s_status_name(w->status), w->hops, w->bytes_direct, w->bytes_relayed,
                w->bytes_params, w->optimizer, w->links_possible, w->effectively_centralized,
                w->bytes_total, w->link_failure, (int)w->agents_killed, w->kill_iter,
                (int)w->agents_lost);
    }
    if ((rc = dgcn_rundir_fclose(&f, o->out, "study.tsv"))) return rc;
    rc = dgcn_rundir_fopen(o->out, "study.md", "w", &f);
    if (rc) return rc;
    fprintf(f,
            "Data %s, %d agents (%s partition), optimizer %s, %d iterations, %d seed(s), "
            "cross edges where a link is missing: %s.\n"
            "Centralized GCN: test accuracy %.2f +- %.2f %%, final training loss %.4f "
            "(target: within %g %%).\n\n",
            data, o->agents, o->partition, o->run.optimizer, o->run.iters, o->run.seeds,
            !strcmp(o->cross_edges, "relay")  ? "relayed along shortest paths"
            : !strcmp(o->cross_edges, "keep") ? "the required links are added"
                                              : "dropped",
            100 * r->central_test_acc_mean, 100 * r->central_test_acc_std, r->central_train_loss,
            100 * o->tolerance);
    fprintf(f, "| optimizer | topology | removal | link failure | agents killed (at iteration) / "
               "lost | links used / possible | spectral gap | test accuracy (%%) | iterations to "
               "centralized loss | consensus error | bytes/iteration | effectively centralized "
               "|\n"
               "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < r->n_rows; i++) {
        const dgcn_study_row *w = &r->rows[i];
        char gap[32], acc[64], it[32], ce[32], by[32];
        s_fmt_or_dash(gap, sizeof gap, "%.3f", w->gap);
        if (w->status == DGCN_STUDY_OK) {
            snprintf(acc, sizeof acc, "%.2f +- %.2f", 100 * w->test_acc_mean,
                     100 * w->test_acc_std);
            if (w->iters_to_central >= 0) snprintf(it, sizeof it, "%" PRId64, w->iters_to_central);
            else snprintf(it, sizeof it, "-");
            s_fmt_or_dash(ce, sizeof ce, "%.2e", w->consensus_error);
            s_fmt_or_dash(by, sizeof by, "%.0f", w->bytes_per_iter);
        } else {
            snprintf(acc, sizeof acc, "%s", s_status_name(w->status));
            snprintf(it, sizeof it, "-");
            snprintf(ce, sizeof ce, "-");
            snprintf(by, sizeof by, "-");
        }
        char links[64];
        if (w->status == DGCN_STUDY_DISCONNECTED || w->status == DGCN_STUDY_SKIPPED)
            snprintf(links, sizeof links, "-");
        else snprintf(links, sizeof links, "%" PRId64 " / %" PRId64, w->links, w->links_possible);
        char lost[64];
        if (w->agents_killed > 0 && w->status == DGCN_STUDY_OK)
            snprintf(lost, sizeof lost, "%d (%" PRId64 ") / %d", (int)w->agents_killed,
                     w->kill_iter, (int)w->agents_lost);
        else if (w->agents_killed > 0)
            snprintf(lost, sizeof lost, "%d (%" PRId64 ") / -", (int)w->agents_killed,
                     w->kill_iter);
        else snprintf(lost, sizeof lost, "0");
        fprintf(f, "| %s | %s | %g | %g | %s | %s | %s | %s | %s | %s | %s | %s |\n", w->optimizer,
                w->topology, w->removal, w->link_failure, lost, links, gap, acc, it, ce, by,
                w->status != DGCN_STUDY_OK   ? "-"
                : w->effectively_centralized ? "yes"
                                             : "no");
    }
    return dgcn_rundir_fclose(&f, o->out, "study.md");
}

/* plots/accuracy.tsv (one block per topology: removal, mean, std) and plots/consensus.tsv (one
 * block per trained configuration: iteration, consensus error), then study.png side by side. */
static int s_write_plots(const dgcn_study_opts *o, const dgcn_study_result *r, char **specs,
                         int n_specs, char **opts, int n_opts) {
    char dir[4200];
    FILE *f = NULL;
    int rc;
    snprintf(dir, sizeof dir, "%s/plots", o->out);
    if ((rc = dgcn_rundir_make(dir))) return rc;
    if ((rc = dgcn_rundir_fopen(dir, "accuracy.tsv", "w", &f))) return rc;
    for (int b = 0; b < n_specs * n_opts; b++) {
        const char *spec = specs[b / n_opts], *opt = opts[b % n_opts];
        fprintf(f, "%s# %s %s\n", b ? "\n\n" : "", opt, spec);
        for (int i = 0; i < r->n_rows; i++)
            if (!strcmp(r->rows[i].topology, spec) && !strcmp(r->rows[i].optimizer, opt) &&
                r->rows[i].status == DGCN_STUDY_OK)
                fprintf(f, "%g %.6g %.6g\n", r->rows[i].removal, 100 * r->rows[i].test_acc_mean,
                        100 * r->rows[i].test_acc_std);
    }
    if ((rc = dgcn_rundir_fclose(&f, dir, "accuracy.tsv"))) return rc;
    if ((rc = dgcn_rundir_fopen(dir, "consensus.tsv", "w", &f))) return rc;
    int blocks = 0;
    char titles[4096] = "", specs_t[4096] = "";
    size_t tl = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const dgcn_study_row *w = &r->rows[i];
        if (w->status != DGCN_STUDY_OK) continue;
        const dgcn_curve *cv = &w->curve;
        fprintf(f, "%s# %s removal %g\n", blocks ? "\n\n" : "", w->topology, w->removal);
        for (int j = 0; j < cv->n; j++) {
            double ce = dgcn_curve_consensus(cv, j);
            if (cv->iter[j] > 0) fprintf(f, "%" PRId64 " %.6g\n", cv->iter[j], ce > 0 ? ce : 1e-12);
        }
        if (tl + 200 < sizeof titles)
            tl += (size_t)snprintf(titles + tl, sizeof titles - tl, "%s%s", blocks ? " " : "",
                                   w->name);
        blocks++;
    }
    if ((rc = dgcn_rundir_fclose(&f, dir, "consensus.tsv"))) return rc;
    if (!blocks) return DGCN_OK;
    for (int b = 0, sl = 0; b < n_specs * n_opts && sl + 200 < (int)sizeof specs_t; b++)
        sl += snprintf(specs_t + sl, sizeof specs_t - (size_t)sl, "%s%s%s%s", b ? " " : "",
                       n_opts > 1 ? opts[b % n_opts] : "", n_opts > 1 ? ":" : "",
                       specs[b / n_opts]);
    char script[10240];
    snprintf(script, sizeof script,
             "set terminal pngcairo noenhanced size 1300,480\n"
             "set output 'study.png'\n"
             "set multiplot layout 1,2\n"
             "set key outside right top font ',8'\n"
             "set title 'test accuracy vs links removed'\n"
             "set xlabel 'fraction of links removed'\n"
             "set ylabel 'test accuracy (%%)'\n"
             "set offsets 0.05, 0.05, 0, 0\n"
             "specs = \"%s\"\n"
             "plot for [i=0:%d] 'accuracy.tsv' index i using 1:2:3 with yerrorlines lw 2 "
             "title word(specs, i+1)\n"
             "set title 'consensus error vs iteration'\n"
             "set xlabel 'iteration'\n"
             "set ylabel 'max_k ||theta_k - mean|| / ||mean||'\n"
             "set offsets 0, 0, 0, 0\n"
             "set logscale y\n"
             "titles = \"%s\"\n"
             "plot for [i=0:%d] 'consensus.tsv' index i using 1:2 with lines lw 1.5 "
             "title word(titles, i+1)\n"
             "unset multiplot\n",
             specs_t, n_specs * n_opts - 1, titles, blocks - 1);
    return dgcn_rundir_plot(o->out, "study", script);
}

/* plots/curves.tsv: per trained configuration a block (a "# optimizer topology removal" line,
 * then per report: the seed means of iteration, bytes sent so far, validation and test accuracy,
 * consensus error), and against the bytes acc_vs_bytes.png (test accuracy) and
 * consensus_vs_bytes.png (log-log), one line per configuration. */
static int s_write_curves(const dgcn_study_opts *o, const dgcn_study_result *r) {
    char dir[4200];
    FILE *f = NULL;
    int rc;
    snprintf(dir, sizeof dir, "%s/plots", o->out);
    if ((rc = dgcn_rundir_make(dir))) return rc;
    if ((rc = dgcn_rundir_fopen(dir, "curves.tsv", "w", &f))) return rc;
    fprintf(f, "# optimizer\ttopology\tremoval\titer\tbytes_cum\tval_acc\ttest_acc\t"
               "consensus_error\n");
    int blocks = 0;
    char titles[8192] = "";
    size_t tl = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const dgcn_study_row *w = &r->rows[i];
        if (w->status != DGCN_STUDY_OK) continue;
        const dgcn_curve *cv = &w->curve;
        fprintf(f, "%s# %s %s removal %g link failure %g agents killed %d\n", blocks ? "\n\n" : "",
                w->optimizer, w->topology, w->removal, w->link_failure, (int)w->agents_killed);
        for (int j = 0; j < cv->n; j++)
            fprintf(f, "%s\t%s\t%g\t%" PRId64 "\t%.17g\t%.6g\t%.6g\t%.6g\n", w->optimizer,
                    w->topology, w->removal, cv->iter[j], dgcn_curve_bytes(cv, j),
                    dgcn_curve_val_acc(cv, j), dgcn_curve_test_acc(cv, j),
                    dgcn_curve_consensus(cv, j));
        if (tl + 300 < sizeof titles) {
            tl += (size_t)snprintf(titles + tl, sizeof titles - tl, "%s%s:%s", blocks ? " " : "",
                                   w->optimizer, w->topology);
            if (w->removal > 0 && tl + 40 < sizeof titles)
                tl += (size_t)snprintf(titles + tl, sizeof titles - tl, ":r%g", w->removal);
            if (w->link_failure > 0 && tl + 40 < sizeof titles)
                tl += (size_t)snprintf(titles + tl, sizeof titles - tl, ":p%g", w->link_failure);
            if (w->agents_killed > 0 && tl + 40 < sizeof titles)
                tl += (size_t)snprintf(titles + tl, sizeof titles - tl, ":lost%d",
                                       (int)w->agents_killed);
        }
        blocks++;
    }
    if ((rc = dgcn_rundir_fclose(&f, dir, "curves.tsv"))) return rc;
    if (!blocks) return DGCN_OK;
    static const char *fig[2][4] = {{"acc_vs_bytes", "test accuracy vs bytes sent", "test accuracy",
                                     "($7)"},
                                    {"consensus_vs_bytes", "consensus error vs bytes sent",
                                     "max_k ||theta_k - mean|| / ||mean||", "($8 > 0 ? $8 : 1/0)"}};
    for (int k = 0; k < 2; k++) {
        char script[12288];
        snprintf(script, sizeof script,
                 "set terminal pngcairo noenhanced size 900,560\n"
                 "set output '%s.png'\n"
                 "set key outside right top font ',8'\n"
                 "set title '%s (all agents, halo + params)'\n"
                 "set xlabel 'bytes sent so far'\n"
                 "set ylabel '%s'\n"
                 "set logscale x\n"
                 "%s"
                 "titles = \"%s\"\n"
                 "plot for [i=0:%d] 'curves.tsv' index i using ($5 > 0 ? $5 : 1/0):%s "
                 "with linespoints lw 1.5 pt 7 ps 0.5 title word(titles, i+1)\n",
                 fig[k][0], fig[k][1], fig[k][2], k ? "set logscale y\n" : "", titles, blocks - 1,
                 fig[k][3]);
        if ((rc = dgcn_rundir_plot(o->out, fig[k][0], script))) return rc;
    }
    return DGCN_OK;
}

static void s_write_config(FILE *f, const dgcn_study_opts *o, const char *data) {
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_str(&j, "command", "study");
    dgcn_json_str(&j, "data", data);
    dgcn_json_int(&j, "agents", o->agents);
    dgcn_json_str(&j, "partition", o->partition);
    dgcn_json_str(&j, "topologies", o->topologies);
    dgcn_json_str(&j, "removals", o->removals);
    dgcn_json_str(&j, "weights", o->weights);
    dgcn_json_str(&j, "optimizer", o->run.optimizer);
    dgcn_json_num(&j, "lr", o->run.lr);
    dgcn_json_int(&j, "hidden", o->run.hidden);
    dgcn_json_num(&j, "dropout", o->run.dropout);
    dgcn_json_int(&j, "iterations", o->run.iters);
    dgcn_json_int(&j, "seeds", o->run.seeds);
    dgcn_json_int(&j, "seed", (long long)o->run.plan.seed);
    dgcn_json_str(&j, "transport", o->transport);
    dgcn_json_int(&j, "eval_every", o->run.eval_every);
    dgcn_json_num(&j, "tolerance", o->tolerance);
    dgcn_json_str(&j, "cross_edges", o->cross_edges);
    if (o->failures) dgcn_json_str(&j, "link_failures", o->failures);
    if (o->agent_loss) dgcn_json_str(&j, "agent_loss", o->agent_loss);
    dgcn_json_end(&j);
}

/* Trains one configuration on the graph written to edges, in this process: runs/<name>/ (train's
 * run directory, its progress in train.log) and the row's figures and curve. */
static int s_train_config(const dgcn_study_opts *o, const char *edges, const char *weights,
                          const char *optimizer, double target, dgcn_study_row *row) {
    char run[4300], log[4400], topo[4500];
    snprintf(run, sizeof run, "%s/runs/%s", o->out, row->name);
    int rc = dgcn_rundir_make(run);
    if (rc) return rc;
    snprintf(log, sizeof log, "%s/train.log", run);
    FILE *lf = NULL;
    if ((rc = dgcn_rundir_fopen(run, "train.log", "w", &lf))) return rc;
    /* a schedule goes as its spec (its phases), a graph as the file of what the plan built */
    if (dgcn_topo_schedule_is(row->topology)) snprintf(topo, sizeof topo, "%s", row->topology);
    else snprintf(topo, sizeof topo, "file:%s", edges);
    dgcn_train_opts t;
    t = o->run;
    t.link_failure = row->link_failure;
    t.kill_agents = row->agents_killed;
    t.kill_iter = row->kill_iter;
    if (row->agents_killed > 0) t.on_agent_loss = "continue"; /* their neighbours drop them */
    t.src = o->src;
    t.plan.agents = o->agents;
    t.plan.partition = o->partition;
    t.plan.topology = topo;
    t.plan.cross_edges = o->cross_edges;
    t.plan.weights = weights;
    t.optimizer = optimizer;
    t.out = run;
    t.progress = 1;
    t.log = lf;
    t.baselines = 0;
    t.max_ms = 1e3 * o->timeout_s;
    t.program = o->program;
    dgcn_train_result res;
    memset(&res, 0, sizeof res);
    t.transport = o->transport;
    rc = dgcn_train_run(&t, &res);
    if (rc) {
        fprintf(lf, "train: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
        rc = dgcn_error_wrap(rc, "train failed (see %s): ", log);
    } else {
        row->test_acc_mean = res.test_acc_mean;
        row->test_acc_std = res.test_acc_std;
        row->consensus_error = res.consensus_error;
        row->bytes_per_iter = res.bytes_per_iter;
        row->ms_per_iter = res.ms_per_iter_median;
        row->bytes_direct = res.bytes_per_iter_direct;
        row->bytes_relayed = res.bytes_per_iter_relayed;
        row->bytes_params = res.bytes_per_iter_params;
        row->hops = res.hops_per_exchange;
        row->links_possible = res.links_possible;
        row->effectively_centralized = res.effectively_centralized;
        row->bytes_total = res.bytes_total;
        row->agents_lost = res.n_lost;
        row->iters_to_central = dgcn_curve_iters_to_loss(&res.curve, target);
        row->curve = res.curve;
        memset(&res.curve, 0, sizeof res.curve);
    }
    dgcn_train_result_fini(&res);
    int rc_log = dgcn_rundir_fclose(&lf, run, "train.log");
    return rc ? rc : rc_log;
}

/* The options a study cannot start without; DGCN_EINVAL naming the first that is wrong. */
static int s_check_opts(const dgcn_study_opts *o) {
    if (o->agents < 2)
        return dgcn_error_set(DGCN_EINVAL, "--agents %d: a study needs at least 2 agents",
                              o->agents);
    if (o->run.iters < 1 || o->run.seeds < 1 || o->run.eval_every < 1 || o->timeout_s < 1 ||
        !(o->tolerance >= 0))
        return dgcn_error_set(DGCN_EINVAL, "--iters, --seeds, --eval-every and --timeout must be "
                                           ">= 1 and --tolerance >= 0");
    if (!o->out || !*o->out)
        return dgcn_error_set(DGCN_EINVAL, "--out: a study folder is required");
    return DGCN_OK;
}

/* The centralized reference, seed by seed as train's baseline: its mean training loss and test
 * accuracy into r. */
static int s_reference(const dgcn_study_opts *o, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                       dgcn_study_result *r) {
    int rc = DGCN_OK;
    double *central_acc = NULL, *central_loss = NULL;
    DGCN_ALLOC(central_acc, o->run.seeds);
    DGCN_ALLOC(central_loss, o->run.seeds);
    for (int s = 0; s < o->run.seeds; s++)
        DGCN_CHECK(s_central(ds, a_hat, o, o->run.plan.seed + (uint64_t)s, &central_loss[s],
                             &central_acc[s]));
    double loss_std;
    dgcn_mean_std(central_loss, o->run.seeds, &r->central_train_loss, &loss_std);
    dgcn_mean_std(central_acc, o->run.seeds, &r->central_test_acc_mean, &r->central_test_acc_std);
fail:
    free(central_acc);
    free(central_loss);
    return rc;
}

/* The rows of one configuration (topology spec, removal fr), one per agents killed ks[l], link
 * failure probability ps[j] and optimizer (loss-major, then failure-major), not trained yet. */
static void s_rows_init(dgcn_study_row *first, int32_t m, const char *spec, double fr, char **opts,
                        int n_opts, const double *ps, int n_ps, const int32_t *ks, int n_ks,
                        int64_t kill_iter) {
    for (int k = 0; k < n_opts * n_ps * n_ks; k++) {
        dgcn_study_row *w = &first[k];
        snprintf(w->optimizer, sizeof w->optimizer, "%s", opts[k % n_opts]);
        snprintf(w->topology, sizeof w->topology, "%s", spec);
        w->removal = fr;
        w->link_failure = ps[(k / n_opts) % n_ps];
        w->agents_killed = ks[k / (n_opts * n_ps)];
        w->kill_iter = w->agents_killed > 0 ? kill_iter : 0;
        char cfg[160];
        s_config_name(cfg, sizeof cfg, spec, fr, w->link_failure, w->agents_killed);
        if (n_opts > 1) snprintf(w->name, sizeof w->name, "%s_%s", opts[k % n_opts], cfg);
        else snprintf(w->name, sizeof w->name, "%s", cfg);
        w->gap = w->test_acc_mean = w->test_acc_std = NAN;
        w->consensus_error = w->bytes_per_iter = w->ms_per_iter = w->bytes_total = NAN;
        w->iters_to_central = -1;
        w->links_possible = (int64_t)m * (m - 1) / 2;
    }
}

/* The configuration's graph: the spec minus a connected random removal, data edges across missing
 * links handled by the study's policy (drop by default), written to path (topologies/CFG.edges);
 * its links and spectral gap into the rows. *connected 0 (and DGCN_OK) when no connected graph
 * is left: the rows are marked disconnected. */
static int s_config_graph(const dgcn_study_opts *o, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                          dgcn_plan_opts *po, const char *spec, double fr, dgcn_study_row *first,
                          int n_opts, char *path, size_t cap, int *connected) {
    int rc = DGCN_OK;
    dgcn_plan plan;
    memset(&plan, 0, sizeof plan);
    *connected = 1;
    po->topology = spec;
    po->removal = fr;
    if (fr > 0 && dgcn_topo_schedule_is(spec)) { /* its phases would lose links: not trained */
        for (int k = 0; k < n_opts; k++) {
            first[k].status = DGCN_STUDY_SKIPPED;
            first[k].links = -1;
        }
        *connected = 0;
        dgcn_error_set(DGCN_EINVAL,
                       "a schedule takes no link removal"); /* the note, not a failure */
        return DGCN_OK;
    }
    rc = dgcn_plan_build(&plan, ds, a_hat, po);
    if (rc == DGCN_ETOPOLOGY) {
        for (int k = 0; k < n_opts; k++) {
            first[k].status = DGCN_STUDY_DISCONNECTED;
            first[k].links = -1;
        }
        *connected = 0;
        rc = DGCN_OK;
        goto fail;
    }
    if (rc) goto fail;
    dgcn_topo_report rep;
    DGCN_CHECK(dgcn_topo_analyze(&plan.topo, &plan.c, &rep));
    char cfg[160];
    s_config_name(cfg, sizeof cfg, spec, fr, 0.0, 0);
    snprintf(path, cap, "%s/topologies/%s.edges", o->out, cfg);
    DGCN_CHECK(dgcn_topo_write_edges(&plan.topo, path));
    for (int k = 0; k < n_opts; k++) {
        first[k].links = dgcn_topo_links(&plan.topo);
        first[k].gap = rep.gap;
    }
fail:
    dgcn_plan_fini(&plan);
    return rc;
}

/* Trains each optimizer's row of one configuration on the graph in edges; a failed run marks its
 * row and the study goes on, an interruption (DGCN_EINTR) stops it. */
static int s_train_rows(const dgcn_study_opts *o, dgcn_study_result *r, dgcn_study_row *first,
                        int n_opts, int n_all, const char *spec, double fr, const char *edges,
                        const char *weights, double target) {
    int rc = DGCN_OK;
    for (int k = 0; k < n_opts; k++) {
        dgcn_study_row *w = &first[k];
        int at = (int)(w - r->rows) + 1;
        double t0 = dgcn_now_ms();
        if (o->progress) {
            printf("[%d/%d] %s%s%s removal %g%s: %" PRId64 " links, spectral gap %.3f ... ", at,
                   n_all, n_opts > 1 ? w->optimizer : "", n_opts > 1 ? " " : "", spec, fr,
                   w->link_failure > 0 ? " link failure" : "", w->links, w->gap);
            if (w->link_failure > 0) printf("(P = %g) ", w->link_failure);
            if (w->agents_killed > 0)
                printf("%d agent(s) killed at iteration %" PRId64 " ", (int)w->agents_killed,
                       w->kill_iter);
            fflush(stdout);
        }
        DGCN_CHECK(dgcn_signal_check("the study"));
        rc = s_train_config(o, edges, weights, w->optimizer, target, w);
        if (rc == DGCN_EINTR) goto fail;
        if (rc) {
            w->status = DGCN_STUDY_FAILED;
            r->n_failed++;
            if (o->progress) printf("FAILED: %s\n", dgcn_error_msg());
            else fprintf(stderr, "dgcn study: %s: %s\n", w->name, dgcn_error_msg());
            rc = DGCN_OK;
            continue;
        }
        if (o->progress) {
            char it[32];
            if (w->iters_to_central >= 0) snprintf(it, sizeof it, "%" PRId64, w->iters_to_central);
            else snprintf(it, sizeof it, "never");
            char lost[48] = "";
            if (w->agents_killed > 0)
                snprintf(lost, sizeof lost, ", %d agent(s) lost", (int)w->agents_lost);
            printf("test accuracy %.2f +- %.2f %%, central loss reached at %s, consensus "
                   "%.2e, %.0f B/iter (%.0f relayed), %d hop(s) per exchange%s%s (%.1f s)\n",
                   100 * w->test_acc_mean, 100 * w->test_acc_std, it, w->consensus_error,
                   w->bytes_per_iter, w->bytes_relayed, w->hops,
                   w->effectively_centralized ? ", effectively centralized" : "", lost,
                   (dgcn_now_ms() - t0) / 1e3);
        }
    }
fail:
    return rc;
}

int dgcn_study_run(const dgcn_study_opts *o, dgcn_study_result *r) {
    int rc = DGCN_OK;
    char **specs = NULL, **opts = NULL;
    int n_specs = 0, n_fr = 0, n_opts = 0, n_ps = 1, n_ks = 1;
    int32_t ks[2] = {0, 0}; /* agents killed: none, and --agent-loss's K */
    int64_t kill_iter = 0;
    double *fr = NULL, *ps = NULL;
    dgcn_dataset ds;
    dgcn_csr a_hat;
    dgcn_plan plan;
    FILE *f = NULL;
    char data[512], path[4400];
    memset(&ds, 0, sizeof ds);
    memset(&a_hat, 0, sizeof a_hat);
    memset(&plan, 0, sizeof plan);
    memset(r, 0, sizeof *r);
    int32_t m = o->agents;

    rc = s_check_opts(o);
    if (rc) return rc;
    dgcn_partition_method pm;
    dgcn_mixing_rule rule;
    DGCN_CHECK(dgcn_partition_method_parse(o->partition, &pm));
    DGCN_CHECK(dgcn_topo_weights_parse(o->weights, &rule));
    DGCN_CHECK(dgcn_study_parse_topologies(o->topologies, m, &specs, &n_specs));
    DGCN_CHECK(dgcn_study_parse_removals(o->removals, &fr, &n_fr));
    DGCN_CHECK(dgcn_study_parse_optimizers(o->run.optimizer, &opts, &n_opts));
    if (o->failures) {
        DGCN_CHECK(dgcn_study_parse_fractions(o->failures, "--link-failures", &ps, &n_ps));
    } else {
        DGCN_ALLOC(ps, 1);
        ps[0] = o->run.link_failure;
    }
    if (o->agent_loss) {
        DGCN_CHECK(dgcn_study_parse_agent_loss(o->agent_loss, m, o->run.iters, &ks[1], &kill_iter));
        if (strcmp(dgcn_transport_kind(o->transport), "zmq"))
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "--agent-loss: needs --transport zmq (agent processes the "
                                      "coordinator kills; transport %s has none)",
                                      o->transport));
        n_ks = 2;
    }
    if (o->program && access(o->program, X_OK))
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "cannot run %s: %s", o->program, strerror(errno)));

    DGCN_CHECK(dgcn_rundir_prepare(o->out, o->force));
    dgcn_data_source_describe(&o->src, data, sizeof data);
    DGCN_CHECK(dgcn_rundir_fopen(o->out, "config.json", "w", &f));
    s_write_config(f, o, data);
    DGCN_CHECK(dgcn_rundir_fclose(&f, o->out, "config.json"));
    snprintf(path, sizeof path, "%s/topologies", o->out);
    DGCN_CHECK(dgcn_rundir_make(path));

    DGCN_CHECK(dgcn_data_source_open(&o->src, &ds, &a_hat));
    dgcn_plan_opts po;
    dgcn_plan_defaults(&po);
    po.agents = m;
    po.partition = o->partition;
    po.seed = o->run.plan.seed;
    po.topology = NULL; /* the required links, for the progress line */
    po.shards = 0;
    DGCN_CHECK(dgcn_plan_build(&plan, &ds, &a_hat, &po));
    int64_t required_links = dgcn_topo_links(&plan.required);
    dgcn_plan_fini(&plan);

    DGCN_CHECK(s_reference(o, &ds, &a_hat, r));
    double target = r->central_train_loss * (1 + o->tolerance);
    if (o->progress)
        printf(
            "study: %s, %d agents, %d required links; centralized GCN test accuracy %.2f +- %.2f %%, "
            "training loss %.4f; %d configurations\n",
            data, m, (int)required_links, 100 * r->central_test_acc_mean,
            100 * r->central_test_acc_std, r->central_train_loss,
            n_specs * n_fr * n_opts * n_ps * n_ks);

    int n_all = n_specs * n_fr * n_opts * n_ps * n_ks, n_cfg = n_opts * n_ps * n_ks;
    DGCN_ALLOC(r->rows, (size_t)n_all);
    po.cross_edges = o->cross_edges;
    for (int s = 0; s < n_specs; s++) {
        dgcn_topo_spec_info info;
        DGCN_CHECK(dgcn_topo_spec_check(specs[s], m, &info));
        const char *weights = info.designed ? "fastest" : dgcn_topo_weights_name(rule);
        po.weights = weights;
        for (int i = 0; i < n_fr; i++) {
            dgcn_study_row *first = &r->rows[r->n_rows];
            s_rows_init(first, m, specs[s], fr[i], opts, n_opts, ps, n_ps, ks, n_ks, kill_iter);
            r->n_rows += n_cfg;
            int connected = 1;
            DGCN_CHECK(s_config_graph(o, &ds, &a_hat, &po, specs[s], fr[i], first, n_cfg, path,
                                      sizeof path, &connected));
            if (!connected) {
                if (o->progress)
                    printf("[%d/%d] %s removal %g: %s (%s); not trained\n", r->n_rows, n_all,
                           specs[s], fr[i],
                           first->status == DGCN_STUDY_SKIPPED ? "skipped"
                                                               : "no connected graph is left",
                           dgcn_error_msg());
                dgcn_error_clear();
                continue;
            }
            DGCN_CHECK(
                s_train_rows(o, r, first, n_cfg, n_all, specs[s], fr[i], path, weights, target));
        }
    }
    DGCN_CHECK(s_write_table(o, r, data));
    DGCN_CHECK(s_write_plots(o, r, specs, n_specs, opts, n_opts));
    DGCN_CHECK(s_write_curves(o, r));
    if (o->progress) printf("study: table %s/study.md, plots %s/plots/study.png\n", o->out, o->out);
fail:
    if (f) fclose(f);
    dgcn_study_list_free(specs, n_specs);
    dgcn_study_list_free(opts, n_opts);
    free(fr);
    free(ps);
    dgcn_plan_fini(&plan);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
    return rc;
}
