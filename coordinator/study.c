/* coordinator/study.c: the sparse-connectivity study: builds each (topology, removal) configuration
 * over train's partition, runs `dgcn train` on it as a child process with a deadline, and gathers
 * the run directories into one table and side-by-side plots. */
#include "coordinator/study.h"

#include "coordinator/baseline.h"
#include "coordinator/rundir.h"
#include "core/error.h"
#include "core/timer.h"
#include "graph/partition.h"
#include "nn/gcn.h"
#include "topologies/design.h"
#include "topologies/generate.h"
#include "topologies/graph.h"
#include "topologies/io.h"
#include "topologies/spectral.h"
#include "topologies/weights.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_ITEMS 64

void dgcn_study_defaults(dgcn_study_opts *o) {
    memset(o, 0, sizeof *o);
    dgcn_data_source_defaults(&o->src);
    o->program = "/proc/self/exe";
    o->agents = 10;
    o->partition = "bfs";
    o->topologies = "required,designed,complete,ring,line";
    o->removals = "0,0.25,0.5,0.75";
    o->weights = "mh";
    o->optimizer = "gt-adam";
    o->hidden = 16;
    o->dropout = 0.5;
    o->iters = 200;
    o->seeds = 1;
    o->seed = 1;
    o->transport = "inproc";
    o->eval_every = 10;
    o->tolerance = 0.01;
    o->timeout_s = 3600;
    o->progress = 1;
}

void dgcn_study_result_fini(dgcn_study_result *r) {
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
            int rc = !len ? dgcn_error_set(DGCN_EINVAL, "%s '%s': item %d is empty", what, list, k + 1)
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

/* Builds the topology of spec over m agents: parts joined by '+', each "required", "designed" or a
 * generator spec. *designed is set when a part is "designed". required may be NULL to only check
 * the syntax (required and designed parts are then empty graphs). */
static int s_build_topology(const char *spec, int32_t m, const dgcn_topo *required, uint64_t seed,
                            dgcn_topo *out, int *designed) {
    int rc = DGCN_OK;
    dgcn_topo part = {0, NULL}, acc = {0, NULL};
    double *c = NULL;
    char buf[128];
    *designed = 0;
    memset(out, 0, sizeof *out);
    if (strlen(spec) >= sizeof buf)
        return dgcn_error_set(DGCN_EINVAL, "topology '%s': longer than %zu characters", spec,
                              sizeof buf - 1);
    snprintf(buf, sizeof buf, "%s", spec);
    DGCN_CHECK(dgcn_topo_init(&acc, m));
    char *save = NULL;
    int parts = 0;
    for (char *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save), parts++) {
        if (!strcmp(tok, "required")) {
            if (required) DGCN_CHECK(dgcn_topo_copy(&part, required));
            else DGCN_CHECK(dgcn_topo_init(&part, m));
        } else if (!strcmp(tok, "designed")) {
            *designed = 1;
            if (required) {
                dgcn_design_opts d;
                dgcn_design_defaults(&d);
                DGCN_ALLOC(c, (size_t)m * m);
                DGCN_CHECK(dgcn_topo_design(required, &d, &part, c, NULL));
                free(c);
                c = NULL;
            } else {
                DGCN_CHECK(dgcn_topo_init(&part, m));
            }
        } else {
            rc = dgcn_topo_generate(&part, tok, m, seed);
            if (rc) {
                rc = dgcn_error_wrap(rc, "topology '%s': ", spec);
                goto fail;
            }
        }
        dgcn_topo u = {0, NULL};
        rc = dgcn_topo_union(&u, &acc, &part);
        dgcn_topo_fini(&part);
        if (rc) goto fail;
        dgcn_topo_fini(&acc);
        acc = u;
    }
    if (!parts || spec[0] == '+' || spec[strlen(spec) - 1] == '+' || strstr(spec, "++"))
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "topology '%s': empty part", spec));
    *out = acc;
    return DGCN_OK;
fail:
    free(c);
    dgcn_topo_fini(&part);
    dgcn_topo_fini(&acc);
    return rc;
}

int dgcn_study_parse_topologies(const char *list, int32_t m, char ***specs, int *n) {
    int rc = s_split(list, "--topologies", specs, n);
    if (rc) return rc;
    for (int i = 0; i < *n; i++) {
        dgcn_topo t;
        int designed;
        rc = s_build_topology((*specs)[i], m, NULL, 1, &t, &designed);
        dgcn_topo_fini(&t);
        if (!rc && strpbrk((*specs)[i], "/ \t\"\\"))
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

int dgcn_study_parse_removals(const char *list, double **fr, int *n) {
    char **items = NULL;
    int k = 0;
    *fr = NULL;
    *n = 0;
    int rc = s_split(list, "--remove", &items, &k);
    if (rc) return rc;
    double *v = calloc((size_t)k, sizeof *v);
    if (!v) {
        dgcn_study_list_free(items, k);
        return dgcn_error_set(DGCN_ENOMEM, "out of memory parsing --remove");
    }
    for (int i = 0; i < k; i++) {
        char *end = NULL;
        errno = 0;
        double x = strtod(items[i], &end);
        if (end == items[i] || *end || errno || !isfinite(x))
            rc = dgcn_error_set(DGCN_EINVAL, "--remove item %d '%s': not a number", i + 1, items[i]);
        else if (x < 0 || x >= 1)
            rc = dgcn_error_set(DGCN_EINVAL, "--remove item %d '%s': a fraction must be in [0, 1)",
                                i + 1, items[i]);
        for (int j = 0; !rc && j < i; j++)
            if (v[j] == x)
                rc = dgcn_error_set(DGCN_EINVAL, "--remove item %d '%s': repeats item %d", i + 1,
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

/* The number after "key": in a one-line JSON object (null gives NaN); 0 when found. */
static int s_json_find(const char *line, const char *key, double *v) {
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(line, pat);
    if (!p) return -1;
    p += strlen(pat);
    while (*p == ' ' || *p == '\t') p++;
    if (*p++ != ':') return -1;
    while (*p == ' ' || *p == '\t') p++;
    if (!strncmp(p, "null", 4)) {
        *v = NAN;
        return 0;
    }
    char *end = NULL;
    *v = strtod(p, &end);
    return end == p ? -1 : 0;
}

/* Per reported iteration of a metrics.jsonl: mean training loss and consensus error over the
 * seeds. *iters, *loss, *cons are malloc'ed arrays of *n entries in iteration order. */
static int s_read_curves(const char *path, int64_t **iters, double **loss, double **cons, int *n) {
    int rc = DGCN_OK;
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int cnt = 0, alloc = 0, lineno = 0;
    int64_t *it = NULL;
    double *ls = NULL, *cs = NULL;
    int *k = NULL;
    *iters = NULL;
    *loss = *cons = NULL;
    *n = 0;
    if (!f) return dgcn_error_set(DGCN_EIO, "cannot read %s: %s", path, strerror(errno));
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[0] == '\n') continue;
        double di, dl, dc;
        if (s_json_find(line, "iter", &di) || s_json_find(line, "train_loss", &dl) ||
            s_json_find(line, "consensus_error", &dc) || !isfinite(di) || di < 0) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%d: expected \"iter\", \"train_loss\" and "
                                "\"consensus_error\"", path, lineno);
            goto fail;
        }
        int64_t iv = (int64_t)di;
        int j = 0;
        while (j < cnt && it[j] != iv) j++;
        if (j == cnt) {
            if (cnt == alloc) {
                int na = alloc ? 2 * alloc : 64;
                int64_t *a = realloc(it, sizeof *a * (size_t)na);
                if (a) it = a;
                double *b = a ? realloc(ls, sizeof *b * (size_t)na) : NULL;
                if (b) ls = b;
                double *c = b ? realloc(cs, sizeof *c * (size_t)na) : NULL;
                if (c) cs = c;
                int *d = c ? realloc(k, sizeof *d * (size_t)na) : NULL;
                if (!d) {
                    rc = dgcn_error_set(DGCN_ENOMEM, "out of memory reading %s", path);
                    goto fail;
                }
                k = d;
                alloc = na;
            }
            it[cnt] = iv;
            ls[cnt] = cs[cnt] = 0;
            k[cnt] = 0;
            cnt++;
        }
        ls[j] += dl;
        cs[j] += dc;
        k[j]++;
    }
    for (int j = 0; j < cnt; j++) {
        ls[j] /= k[j];
        cs[j] /= k[j];
    }
    /* Iterations come in order within a seed and every seed reports the same ones; sort anyway. */
    for (int a = 1; a < cnt; a++)
        for (int b = a; b > 0 && it[b - 1] > it[b]; b--) {
            int64_t ti = it[b];
            it[b] = it[b - 1];
            it[b - 1] = ti;
            double tl = ls[b];
            ls[b] = ls[b - 1];
            ls[b - 1] = tl;
            double tc = cs[b];
            cs[b] = cs[b - 1];
            cs[b - 1] = tc;
        }
    *iters = it;
    *loss = ls;
    *cons = cs;
    *n = cnt;
    it = NULL;
    ls = cs = NULL;
fail:
    free(line);
    free(it);
    free(ls);
    free(cs);
    free(k);
    fclose(f);
    return rc;
}

int dgcn_study_iters_to_loss(const char *metrics_path, double target, int64_t *iter) {
    int64_t *it = NULL;
    double *ls = NULL, *cs = NULL;
    int n = 0;
    *iter = -1;
    int rc = s_read_curves(metrics_path, &it, &ls, &cs, &n);
    if (rc) return rc;
    for (int j = 0; j < n; j++)
        if (ls[j] <= target) {
            *iter = it[j];
            break;
        }
    free(it);
    free(ls);
    free(cs);
    return DGCN_OK;
}

/* The centralized GCN trained as train's baseline (Kipf's Adam setup, same width, dropout, epochs
 * and seed); *train_loss is the final weights' training cross-entropy without dropout, the figure
 * train reports for the agents. */
static int s_central(const dgcn_dataset *ds, const dgcn_csr *a_hat, const dgcn_study_opts *o,
                     uint64_t seed, double *train_loss, double *test_acc) {
    dgcn_baseline_opts b = dgcn_baseline_defaults(DGCN_MODEL_GCN, ds);
    b.model.dims[1] = o->hidden;
    b.model.dropout = (float)o->dropout;
    b.epochs = o->iters;
    b.seed = seed;
    dgcn_baseline_result r;
    int rc = dgcn_baseline_run(ds, a_hat, &b, &r);
    if (rc) return rc;
    *train_loss = r.train_xent;
    *test_acc = r.test_acc;
    return DGCN_OK;
}

/* An argv under construction for the child. */
typedef struct s_argv {
    char *v[96];
    int n;
} s_argv;

static void s_arg(s_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_arg(s_argv *a, const char *fmt, ...) {
    char buf[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (a->n < (int)(sizeof a->v / sizeof a->v[0]) - 1) a->v[a->n++] = strdup(buf);
    a->v[a->n] = NULL;
}

static void s_argv_free(s_argv *a) {
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    a->n = 0;
}

/* The data-source options that reproduce src in the child. */
static void s_data_args(s_argv *a, const dgcn_data_source *s) {
    if (s->dir) {
        s_arg(a, "--data");
        s_arg(a, "%s", s->dir);
    } else {
        s_arg(a, "--nodes"), s_arg(a, "%d", s->nodes);
        s_arg(a, "--classes"), s_arg(a, "%d", s->classes);
        s_arg(a, "--features"), s_arg(a, "%d", s->features);
        s_arg(a, "--feature-nnz"), s_arg(a, "%d", s->feature_nnz);
        s_arg(a, "--train-per-class"), s_arg(a, "%d", s->train_per_class);
        s_arg(a, "--val"), s_arg(a, "%d", s->val);
        s_arg(a, "--test"), s_arg(a, "%d", s->test);
        s_arg(a, "--degree"), s_arg(a, "%.17g", s->degree);
        s_arg(a, "--homophily"), s_arg(a, "%.17g", s->homophily);
        s_arg(a, "--signal"), s_arg(a, "%.17g", s->signal);
        s_arg(a, "--gen-seed"), s_arg(a, "%" PRIu64, s->gen_seed);
    }
    if (s->raw_counts) s_arg(a, "--raw-counts");
}

/* Runs argv with stdout and stderr appended to log; waits at most timeout_s seconds (then kills
 * the child). *status receives the exit status (128 + signal when killed). */
static int s_run_child(const char *program, char *const *argv, const char *log, int timeout_s,
                       int *status) {
    fflush(stdout);
    fflush(stderr);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return dgcn_error_set(DGCN_EIO, "cannot write %s: %s", log, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return dgcn_error_set(DGCN_EIO, "cannot start %s: fork: %s", program, strerror(errno));
    }
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execv(program, argv);
        fprintf(stderr, "dgcn study: cannot exec %s: %s\n", program, strerror(errno));
        _exit(127);
    }
    close(fd);
    double deadline = dgcn_now_ms() + 1e3 * timeout_s;
    for (;;) {
        int ws = 0;
        pid_t w = waitpid(pid, &ws, WNOHANG);
        if (w == pid) {
            *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
            return DGCN_OK;
        }
        if (w < 0 && errno != EINTR)
            return dgcn_error_set(DGCN_EIO, "waiting for %s: %s", program, strerror(errno));
        if (dgcn_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            return dgcn_error_set(DGCN_ETIMEDOUT, "train did not finish within %d s (see %s)",
                                  timeout_s, log);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Reads the figures of a finished run directory into row. */
static int s_read_summary(const char *run, dgcn_study_row *row) {
    char path[4400], buf[8192];
    snprintf(path, sizeof path, "%s/summary.json", run);
    FILE *f = fopen(path, "r");
    if (!f) return dgcn_error_set(DGCN_EIO, "cannot read %s: %s", path, strerror(errno));
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    if (s_json_find(buf, "test_acc_mean", &row->test_acc_mean) ||
        s_json_find(buf, "test_acc_std", &row->test_acc_std) ||
        s_json_find(buf, "consensus_error", &row->consensus_error) ||
        s_json_find(buf, "bytes_per_iter", &row->bytes_per_iter))
        return dgcn_error_set(DGCN_EFORMAT, "%s: expected test_acc_mean, test_acc_std, "
                              "consensus_error and bytes_per_iter", path);
    if (s_json_find(buf, "ms_per_iter_median", &row->ms_per_iter)) row->ms_per_iter = NAN;
    return DGCN_OK;
}

static const char *s_status_name(dgcn_study_status s) {
    return s == DGCN_STUDY_OK ? "ok" : s == DGCN_STUDY_DISCONNECTED ? "disconnected" : "failed";
}

/* A folder-safe name: "er:0.3" removal 0.25 -> "er-0.3_r0.25". */
static void s_config_name(char *buf, size_t cap, const char *spec, double removal) {
    char s[128];
    snprintf(s, sizeof s, "%s", spec);
    for (char *p = s; *p; p++)
        if (*p == ':') *p = '-';
    snprintf(buf, cap, "%s_r%g", s, removal);
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
               "iters_to_central\tconsensus_error\tbytes_per_iter\tms_per_iter\tstatus\n");
    for (int i = 0; i < r->n_rows; i++) {
        const dgcn_study_row *w = &r->rows[i];
        fprintf(f, "%s\t%g\t%" PRId64 "\t%.6g\t%.6g\t%.6g\t%" PRId64 "\t%.6g\t%.6g\t%.6g\t%s\n",
                w->topology, w->removal, w->links, w->gap, w->test_acc_mean, w->test_acc_std,
                w->iters_to_central, w->consensus_error, w->bytes_per_iter, w->ms_per_iter,
                s_status_name(w->status));
    }
    fclose(f);
    rc = dgcn_rundir_fopen(o->out, "study.md", "w", &f);
    if (rc) return rc;
    fprintf(f, "Data %s, %d agents (%s partition), optimizer %s, %d iterations, %d seed(s), "
               "cross edges dropped where a link is missing.\n"
               "Centralized GCN: test accuracy %.2f +- %.2f %%, final training loss %.4f "
               "(target: within %g %%).\n\n",
            data, o->agents, o->partition, o->optimizer, o->iters, o->seeds,
            100 * r->central_test_acc_mean, 100 * r->central_test_acc_std, r->central_train_loss,
            100 * o->tolerance);
    fprintf(f, "| topology | removal | links | spectral gap | test accuracy (%%) | iterations to "
               "centralized loss | consensus error | bytes/iteration |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < r->n_rows; i++) {
        const dgcn_study_row *w = &r->rows[i];
        char gap[32], acc[64], it[32], ce[32], by[32];
        s_fmt_or_dash(gap, sizeof gap, "%.3f", w->gap);
        if (w->status == DGCN_STUDY_OK) {
            snprintf(acc, sizeof acc, "%.2f +- %.2f", 100 * w->test_acc_mean, 100 * w->test_acc_std);
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
        char links[32];
        if (w->status == DGCN_STUDY_DISCONNECTED) snprintf(links, sizeof links, "-");
        else snprintf(links, sizeof links, "%" PRId64, w->links);
        fprintf(f, "| %s | %g | %s | %s | %s | %s | %s | %s |\n", w->topology, w->removal, links, gap,
                acc, it, ce, by);
    }
    fclose(f);
    return DGCN_OK;
}

/* plots/accuracy.tsv (one block per topology: removal, mean, std) and plots/consensus.tsv (one
 * block per trained configuration: iteration, consensus error), then study.png side by side. */
static int s_write_plots(const dgcn_study_opts *o, const dgcn_study_result *r, char **specs,
                         int n_specs) {
    char dir[4200], path[4400];
    FILE *f = NULL;
    int rc;
    snprintf(dir, sizeof dir, "%s/plots", o->out);
    if ((rc = dgcn_rundir_make(dir))) return rc;
    if ((rc = dgcn_rundir_fopen(dir, "accuracy.tsv", "w", &f))) return rc;
    for (int s = 0; s < n_specs; s++) {
        fprintf(f, "%s# %s\n", s ? "\n\n" : "", specs[s]);
        for (int i = 0; i < r->n_rows; i++)
            if (!strcmp(r->rows[i].topology, specs[s]) && r->rows[i].status == DGCN_STUDY_OK)
                fprintf(f, "%g %.6g %.6g\n", r->rows[i].removal, 100 * r->rows[i].test_acc_mean,
                        100 * r->rows[i].test_acc_std);
    }
    fclose(f);
    if ((rc = dgcn_rundir_fopen(dir, "consensus.tsv", "w", &f))) return rc;
    int blocks = 0;
    char titles[4096] = "", specs_t[4096] = "";
    size_t tl = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const dgcn_study_row *w = &r->rows[i];
        if (w->status != DGCN_STUDY_OK) continue;
        int64_t *it = NULL;
        double *ls = NULL, *cs = NULL;
        int n = 0;
        snprintf(path, sizeof path, "%s/runs/%s/metrics.jsonl", o->out, w->name);
        if (s_read_curves(path, &it, &ls, &cs, &n)) continue;
        fprintf(f, "%s# %s removal %g\n", blocks ? "\n\n" : "", w->topology, w->removal);
        for (int j = 0; j < n; j++)
            if (it[j] > 0) fprintf(f, "%" PRId64 " %.6g\n", it[j], cs[j] > 0 ? cs[j] : 1e-12);
        if (tl + 200 < sizeof titles)
            tl += (size_t)snprintf(titles + tl, sizeof titles - tl, "%s%s", blocks ? " " : "",
                                   w->name);
        blocks++;
        free(it);
        free(ls);
        free(cs);
    }
    fclose(f);
    if (!blocks) return DGCN_OK;
    for (int s = 0, sl = 0; s < n_specs && sl + 200 < (int)sizeof specs_t; s++)
        sl += snprintf(specs_t + sl, sizeof specs_t - (size_t)sl, "%s%s", s ? " " : "", specs[s]);
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
             specs_t, n_specs - 1, titles, blocks - 1);
    return dgcn_rundir_plot(o->out, "study", script);
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
    dgcn_json_str(&j, "optimizer", o->optimizer);
    dgcn_json_num(&j, "lr", o->lr);
    dgcn_json_int(&j, "hidden", o->hidden);
    dgcn_json_num(&j, "dropout", o->dropout);
    dgcn_json_int(&j, "iterations", o->iters);
    dgcn_json_int(&j, "seeds", o->seeds);
    dgcn_json_int(&j, "seed", (long long)o->seed);
    dgcn_json_str(&j, "transport", o->transport);
    dgcn_json_int(&j, "eval_every", o->eval_every);
    dgcn_json_num(&j, "tolerance", o->tolerance);
    dgcn_json_str(&j, "cross_edges", "drop");
    dgcn_json_end(&j);
}

/* Trains one configuration whose topology file is written: runs/<name>/ and the row's figures. */
static int s_train_config(const dgcn_study_opts *o, const char *edges, const char *weights,
                          double target, dgcn_study_row *row) {
    char run[4300], log[4400], metrics[4400];
    snprintf(run, sizeof run, "%s/runs/%s", o->out, row->name);
    int rc = dgcn_rundir_make(run);
    if (rc) return rc;
    snprintf(log, sizeof log, "%s/train.log", run);
    s_argv a = {{0}, 0};
    s_arg(&a, "dgcn");
    s_arg(&a, "train");
    s_data_args(&a, &o->src);
    s_arg(&a, "--agents"), s_arg(&a, "%d", o->agents);
    s_arg(&a, "--partition"), s_arg(&a, "%s", o->partition);
    s_arg(&a, "--topology"), s_arg(&a, "file:%s", edges);
    s_arg(&a, "--cross-edges"), s_arg(&a, "drop");
    s_arg(&a, "--weights"), s_arg(&a, "%s", weights);
    s_arg(&a, "--optimizer"), s_arg(&a, "%s", o->optimizer);
    if (o->lr > 0) s_arg(&a, "--lr"), s_arg(&a, "%.17g", o->lr);
    s_arg(&a, "--hidden"), s_arg(&a, "%d", o->hidden);
    s_arg(&a, "--dropout"), s_arg(&a, "%.17g", o->dropout);
    s_arg(&a, "--iters"), s_arg(&a, "%d", o->iters);
    s_arg(&a, "--seeds"), s_arg(&a, "%d", o->seeds);
    s_arg(&a, "--seed"), s_arg(&a, "%" PRIu64, o->seed);
    s_arg(&a, "--transport"), s_arg(&a, "%s", o->transport);
    s_arg(&a, "--eval-every"), s_arg(&a, "%d", o->eval_every);
    s_arg(&a, "--out"), s_arg(&a, "%s", run);
    s_arg(&a, "--no-baselines");
    for (int i = 0; i < a.n; i++)
        if (!a.v[i]) {
            s_argv_free(&a);
            return dgcn_error_set(DGCN_ENOMEM, "out of memory building the train command");
        }
    int status = 0;
    rc = s_run_child(o->program, a.v, log, o->timeout_s, &status);
    s_argv_free(&a);
    if (rc) return rc;
    if (status)
        return dgcn_error_set(DGCN_EPEER, "train exited with status %d (see %s)", status, log);
    rc = s_read_summary(run, row);
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", run);
    if (!rc) rc = dgcn_study_iters_to_loss(metrics, target, &row->iters_to_central);
    return rc;
}

/* The configuration's graph: spec's topology minus a connected random removal. DGCN_ETOPOLOGY
 * when no connected graph is left. */
static int s_remove(const dgcn_topo *base, double fraction, uint64_t seed, dgcn_topo *out) {
    if (fraction == 0) return dgcn_topo_copy(out, base);
    int rc = dgcn_topo_remove_links(out, base, fraction, seed, DGCN_REMOVE_RETRY);
    if (rc == DGCN_ETOPOLOGY) {
        dgcn_topo_fini(out);
        rc = dgcn_topo_remove_links(out, base, fraction, seed, DGCN_REMOVE_KEEP_TREE);
    }
    return rc;
}

int dgcn_study_run(const dgcn_study_opts *o, dgcn_study_result *r) {
    int rc = DGCN_OK;
    char **specs = NULL;
    int n_specs = 0, n_fr = 0;
    double *fr = NULL, *central_acc = NULL, *central_loss = NULL, *c = NULL;
    int32_t *owner = NULL;
    uint8_t *links = NULL;
    dgcn_dataset ds;
    dgcn_csr a_hat;
    dgcn_topo required = {0, NULL}, base = {0, NULL}, topo = {0, NULL};
    FILE *f = NULL;
    char data[512], path[4400];
    memset(&ds, 0, sizeof ds);
    memset(&a_hat, 0, sizeof a_hat);
    memset(r, 0, sizeof *r);
    int32_t m = o->agents;

    if (m < 2) return dgcn_error_set(DGCN_EINVAL, "--agents %d: a study needs at least 2 agents", m);
    if (o->iters < 1 || o->seeds < 1 || o->eval_every < 1 || o->timeout_s < 1 || !(o->tolerance >= 0))
        return dgcn_error_set(DGCN_EINVAL, "--iters, --seeds, --eval-every and --timeout must be "
                              ">= 1 and --tolerance >= 0");
    if (!o->out || !*o->out) return dgcn_error_set(DGCN_EINVAL, "--out: a study folder is required");
    dgcn_partition_method pm;
    dgcn_mixing_rule rule;
    DGCN_CHECK(dgcn_partition_method_parse(o->partition, &pm));
    DGCN_CHECK(dgcn_topo_weights_parse(o->weights, &rule));
    DGCN_CHECK(dgcn_study_parse_topologies(o->topologies, m, &specs, &n_specs));
    DGCN_CHECK(dgcn_study_parse_removals(o->removals, &fr, &n_fr));
    if (access(o->program, X_OK))
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "cannot run %s: %s", o->program, strerror(errno)));

    DGCN_CHECK(dgcn_rundir_make(o->out));
    dgcn_data_source_describe(&o->src, data, sizeof data);
    DGCN_CHECK(dgcn_rundir_fopen(o->out, "config.json", "w", &f));
    s_write_config(f, o, data);
    fclose(f);
    f = NULL;
    snprintf(path, sizeof path, "%s/topologies", o->out);
    DGCN_CHECK(dgcn_rundir_make(path));

    DGCN_CHECK(dgcn_data_source_open(&o->src, &ds, &a_hat));
    if (m > ds.n) DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "--agents %d exceeds the %d nodes", m, ds.n));
    DGCN_ALLOC(owner, ds.n);
    DGCN_ALLOC(links, (size_t)m * m);
    DGCN_ALLOC(c, (size_t)m * m);
    DGCN_CHECK(dgcn_partition(&ds.adj, m, pm, o->seed, owner));
    DGCN_CHECK(dgcn_partition_required_links(&ds.adj, owner, m, links));
    DGCN_CHECK(dgcn_topo_from_matrix(&required, m, links));

    /* The centralized reference, seed by seed as train's baseline. */
    DGCN_ALLOC(central_acc, o->seeds);
    DGCN_ALLOC(central_loss, o->seeds);
    for (int s = 0; s < o->seeds; s++)
        DGCN_CHECK(s_central(&ds, &a_hat, o, o->seed + (uint64_t)s, &central_loss[s], &central_acc[s]));
    double loss_std;
    dgcn_mean_std(central_loss, o->seeds, &r->central_train_loss, &loss_std);
    dgcn_mean_std(central_acc, o->seeds, &r->central_test_acc_mean, &r->central_test_acc_std);
    double target = r->central_train_loss * (1 + o->tolerance);
    if (o->progress)
        printf("study: %s, %d agents, %d required links; centralized GCN test accuracy %.2f +- %.2f %%, "
               "training loss %.4f; %d configurations\n", data, m, (int)dgcn_topo_links(&required),
               100 * r->central_test_acc_mean, 100 * r->central_test_acc_std, r->central_train_loss,
               n_specs * n_fr);

    DGCN_ALLOC(r->rows, (size_t)n_specs * n_fr);
    for (int s = 0; s < n_specs; s++) {
        int designed = 0;
        DGCN_CHECK(s_build_topology(specs[s], m, &required, o->seed, &base, &designed));
        const char *weights = designed ? "fastest" : o->weights;
        dgcn_mixing_rule wr = designed ? DGCN_MIX_FASTEST : rule;
        for (int i = 0; i < n_fr; i++) {
            dgcn_study_row *w = &r->rows[r->n_rows++];
            snprintf(w->topology, sizeof w->topology, "%s", specs[s]);
            w->removal = fr[i];
            s_config_name(w->name, sizeof w->name, specs[s], fr[i]);
            w->gap = w->test_acc_mean = w->test_acc_std = NAN;
            w->consensus_error = w->bytes_per_iter = w->ms_per_iter = NAN;
            w->iters_to_central = -1;
            double t0 = dgcn_now_ms();
            rc = s_remove(&base, fr[i], o->seed, &topo);
            if (rc == DGCN_ETOPOLOGY || (rc == DGCN_OK && !dgcn_topo_connected(&topo))) {
                w->status = DGCN_STUDY_DISCONNECTED;
                w->links = -1;
                if (o->progress)
                    printf("[%d/%d] %s removal %g: no connected graph is left (%s); not trained\n",
                           r->n_rows, n_specs * n_fr, specs[s], fr[i],
                           rc ? dgcn_error_msg() : "disconnected");
                dgcn_topo_fini(&topo);
                dgcn_error_clear();
                rc = DGCN_OK;
                continue;
            }
            if (rc) goto fail;
            w->links = dgcn_topo_links(&topo);
            dgcn_topo_report rep;
            DGCN_CHECK(dgcn_topo_weights(&topo, wr, c));
            DGCN_CHECK(dgcn_topo_analyze(&topo, c, &rep));
            w->gap = rep.gap;
            snprintf(path, sizeof path, "%s/topologies/%s.edges", o->out, w->name);
            DGCN_CHECK(dgcn_topo_write_edges(&topo, path));
            dgcn_topo_fini(&topo);
            if (o->progress) {
                printf("[%d/%d] %s removal %g: %" PRId64 " links, spectral gap %.3f ... ", r->n_rows,
                       n_specs * n_fr, specs[s], fr[i], w->links, w->gap);
                fflush(stdout);
            }
            rc = s_train_config(o, path, weights, target, w);
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
                printf("test accuracy %.2f +- %.2f %%, central loss reached at %s, consensus %.2e, "
                       "%.0f B/iter (%.1f s)\n", 100 * w->test_acc_mean, 100 * w->test_acc_std, it,
                       w->consensus_error, w->bytes_per_iter, (dgcn_now_ms() - t0) / 1e3);
            }
        }
        dgcn_topo_fini(&base);
    }
    DGCN_CHECK(s_write_table(o, r, data));
    DGCN_CHECK(s_write_plots(o, r, specs, n_specs));
    if (o->progress) printf("study: table %s/study.md, plots %s/plots/study.png\n", o->out, o->out);
fail:
    if (f) fclose(f);
    dgcn_study_list_free(specs, n_specs);
    free(fr);
    free(central_acc);
    free(central_loss);
    free(c);
    free(owner);
    free(links);
    dgcn_topo_fini(&required);
    dgcn_topo_fini(&base);
    dgcn_topo_fini(&topo);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
    return rc;
}
