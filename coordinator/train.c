/* coordinator/train.c: a distributed run from its plan, seed by seed: the agents' reports turned
 * into global metrics, the run directory written. */
#define _XOPEN_SOURCE 700 /* realpath */

#include "coordinator/train.h"

#include "agent/run.h"
#include "coordinator/baseline.h"
#include "coordinator/deadline.h"
#include "coordinator/model.h"
#include "coordinator/plan.h"
#include "coordinator/run_config.h"
#include "coordinator/rundir.h"
#include "coordinator/train_int.h"
#include "core/error.h"
#include "core/file.h"
#include "core/signal.h"
#include "core/timer.h"
#include "graph/shard.h"
#include "topologies/graph.h"
#include "topologies/io.h"
#include "topologies/spectral.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void dgcn_train_defaults(dgcn_train_opts *o) {
    memset(o, 0, sizeof *o);
    dgcn_data_source_defaults(&o->src);
    dgcn_plan_defaults(&o->plan);
    o->plan.agents = 8;
    o->optimizer = "gt-adam";
    o->lr = 0;
    o->lr_decay = 0;
    o->lr_power = 1;
    o->hidden = 16;
    o->order = -1;
    o->dropout = 0.5;
    o->iters = 200;
    o->seeds = 1;
    o->transport = "zmq";
    o->eval_every = 10;
    o->final_mixing = 0;
    o->gossip_rounds = 0;
    o->gossip_target = 0.02;
    o->gossip_accel = "chebyshev";
    o->gossip_max = 3;
    o->lr_cooldown = 1.0;
    o->agree_rounds = -1;
    o->deadline_ms = 0;
    o->progress = 1;
    o->baselines = 1;
    o->batch = 32;
    o->epochs = 40;
}

void dgcn_train_result_fini(dgcn_train_result *r) { dgcn_curve_fini(&r->curve); }

/* One evaluated iteration being gathered from the agents. */
typedef struct s_slot {
    int64_t iter;
    int32_t got;
    double loss[DGCN_SPLITS];
    double abs[DGCN_SPLITS]; /* regression: summed absolute errors */
    int64_t correct[DGCN_SPLITS], count[DGCN_SPLITS];
    dgcn_traffic tr;
    uint64_t relayed[DGCN_CH_COUNT]; /* of tr.bytes, forwarded for others (relay) */
    double phase[DGCN_RUN_N_PHASES]; /* max over agents, cumulative */
    float *params;                   /* (m, np) */
} s_slot;

typedef struct s_seed_out {
    double test_acc, consensus; /* regression: test_acc is the test MSE */
    double test_mae;            /* regression */
    double model_test_acc;      /* the saved model's, centralized */
    double
        bytes_per_iter; /* halo + params bytes of all agents per iteration (evaluations included) */
    double direct_per_iter, relayed_per_iter, params_per_iter; /* its parts */
    double bytes_total, params_bytes_total; /* halo + params bytes of all agents, the whole run */
    double train_ms;
} s_seed_out;

static const char *s_phase_names[DGCN_RUN_N_PHASES] = {"forward", "backward", "consensus", "eval"};

/* ---- checkpoints (train.h) ---- */

typedef struct s_ckpt {
    char dir[4096]; /* RUNDIR/checkpoint */
    int every;      /* N, 0: no checkpoints */
    int32_t m;
    int iters;
    int32_t *got;      /* (iters / every + 1) states on disk per boundary */
    int64_t last;      /* boundary the manifest names, 0 for none */
    uint64_t seed;     /* the seed being trained */
    char plan_id[32];  /* the plan's id (hex) */
    int64_t kill_iter; /* test only (DGCN_TEST_KILL_COORDINATOR): SIGKILL after that line */
} s_ckpt;

static void s_state_name(char *buf, size_t cap, int32_t k, int64_t n) {
    snprintf(buf, cap, "agent-%d.iter-%" PRId64 ".state", (int)k, n);
}

/* All M states of boundary n are on disk: the manifest that names it, then the previous
 * boundary's files removed. */
static int s_ckpt_commit(s_ckpt *c, int64_t n) {
    int rc = DGCN_OK;
    FILE *f = NULL;
    char name[128];
    DGCN_CHECK(dgcn_rundir_sync(c->dir)); /* the state files' names, before the manifest's */
    DGCN_CHECK(dgcn_rundir_fopen_tmp(c->dir, "manifest.json", &f));
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_int(&j, "version", 1);
    dgcn_json_int(&j, "iter", (long long)n);
    dgcn_json_u64(&j, "seed", c->seed);
    dgcn_json_int(&j, "agents", c->m);
    dgcn_json_str(&j, "plan_id", c->plan_id);
    dgcn_json_str(&j, "files", "agent-<k>.iter-<iter>.state");
    dgcn_json_end(&j);
    DGCN_CHECK(dgcn_rundir_commit(&f, c->dir, "manifest.json")); /* removes the .tmp on failure */
    DGCN_CHECK(dgcn_rundir_sync(c->dir));
    for (int32_t k = 0; k < c->m && c->last > 0; k++) {
        char path[4300];
        s_state_name(name, sizeof name, k, c->last);
        snprintf(path, sizeof path, "%s/%s", c->dir, name);
        if (unlink(path) != 0)
            DGCN_CHECK(
                dgcn_error_set(DGCN_EIO, "%s: cannot remove an older checkpoint file", path));
    }
    c->last = n;
fail:
    if (f) fclose(f);
    return rc;
}

/* Writes one agent's State to its file; the boundary's M-th commits the checkpoint. */
static int s_ckpt_take(s_ckpt *c, const dgcn_ctl_msg *msg, int64_t np) {
    int rc = DGCN_OK;
    const dgcn_ctl_state *st = &msg->u.state;
    FILE *f = NULL;
    void *buf = NULL;
    size_t len = 0;
    char name[128], tmp[4300];
    if (c->every <= 0 || st->agent < 0 || st->agent >= c->m || st->iter <= 0 ||
        st->iter >= c->iters || st->iter % c->every != 0 || st->n_params != np)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d: state for iteration %" PRId64 " with %" PRId64
                              " parameters (checkpoints every %d iterations below %d, %" PRId64
                              " parameters)",
                              st->agent, st->iter, st->n_params, c->every, c->iters, np);
    DGCN_CHECK(dgcn_ctl_pack(msg, &buf, &len));
    s_state_name(name, sizeof name, st->agent, st->iter);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", c->dir, name);
    DGCN_CHECK(dgcn_rundir_fopen_tmp(c->dir, name, &f));
    if (fwrite(buf, 1, len, f) != len)
        DGCN_CHECK(
            dgcn_error_set(DGCN_EIO, "%s/%s: write failed: %s", c->dir, name, strerror(errno)));
    DGCN_CHECK(dgcn_rundir_commit(&f, c->dir, name));
    if (++c->got[st->iter / c->every] == c->m) DGCN_CHECK(s_ckpt_commit(c, st->iter));
fail:
    if (f) { /* a failed write: no partial file stays behind */
        fclose(f);
        unlink(tmp);
    }
    free(buf);
    return rc;
}

/* The whole of a small text file (NUL-terminated, malloc'd). */
static int s_slurp(const char *path, int64_t max, char **out, int64_t *size) {
    int rc = DGCN_OK;
    FILE *f = NULL;
    int64_t n = 0;
    *out = NULL;
    DGCN_CHECK(dgcn_file_open_read(path, max, &f, &n));
    DGCN_ALLOC(*out, n + 1);
    if (n > 0 && fread(*out, 1, (size_t)n, f) != (size_t)n)
        DGCN_CHECK(dgcn_error_set(DGCN_EIO, "%s: read failed", path));
    (*out)[n] = '\0';
    if (size) *size = n;
fail:
    if (f) fclose(f);
    if (rc != DGCN_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* The number after "key": in a JSON line, or NAN. */
static double s_json_number(const char *line, const char *key) {
    char q[80];
    snprintf(q, sizeof q, "\"%s\":", key);
    const char *p = strstr(line, q);
    if (!p) return NAN;
    char *end;
    double v = strtod(p + strlen(q), &end);
    return end == p + strlen(q) ? NAN : v;
}

/* Reads the manifest of the last complete checkpoint. */
static int s_ckpt_manifest(const char *dir, int64_t *iter, uint64_t *seed, int32_t *agents,
                           char *plan_id, size_t cap) {
    char path[4300], *text = NULL;
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    int rc = s_slurp(path, 1 << 16, &text, NULL);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "resume: no complete checkpoint: ");
    double it = s_json_number(text, "iter"), ag = s_json_number(text, "agents");
    const char *pid = strstr(text, "\"plan_id\":\""), *sd = strstr(text, "\"seed\":");
    char *end = NULL;
    if (sd) *seed = strtoull(sd + strlen("\"seed\":"), &end, 10); /* exact: not through a double */
    if (!(it >= 1) || !sd || end == sd + strlen("\"seed\":") || !(ag >= 1) || !pid) {
        free(text);
        return dgcn_error_set(DGCN_EINVAL, "%s: lacks iter, seed, agents or plan_id", path);
    }
    pid += strlen("\"plan_id\":\"");
    size_t n = strcspn(pid, "\"");
    snprintf(plan_id, cap, "%.*s", (int)n, pid);
    *iter = (int64_t)it;
    *agents = (int32_t)ag;
    free(text);
    return DGCN_OK;
}

/* Reads the M states of boundary iter into msgs (each then owns its arrays). */
static int s_ckpt_states(const char *dir, int32_t m, int64_t iter, int64_t np, dgcn_ctl_msg *msgs) {
    int rc = DGCN_OK;
    char name[128], path[4300], *buf = NULL;
    for (int32_t k = 0; k < m; k++) {
        int64_t len = 0;
        s_state_name(name, sizeof name, k, iter);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        DGCN_CHECK(s_slurp(path, (int64_t)DGCN_COORD_MAX_BYTES, &buf, &len));
        rc = dgcn_ctl_unpack(buf, (size_t)len, &msgs[k]);
        free(buf);
        buf = NULL;
        if (rc != DGCN_OK) DGCN_CHECK(dgcn_error_wrap(rc, "%s: ", path));
        const dgcn_ctl_state *st = &msgs[k].u.state;
        if (msgs[k].kind != DGCN_CTL_STATE || st->agent != k || st->iter != iter ||
            st->n_params != np)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "%s: not the state of agent %d at iteration %" PRId64
                                      " with %" PRId64 " parameters",
                                      path, (int)k, iter, np));
    }
fail:
    return rc;
}

/* Removes what a killed run may have left in the checkpoint folder beside boundary n: temporary
 * files, and state files of other boundaries (an older one whose removal the kill interrupted, or
 * a newer one never completed). */
static int s_ckpt_clean(const char *dir, int64_t n) {
    DIR *d = opendir(dir);
    if (!d) return dgcn_error_set(DGCN_EIO, "%s: cannot list: %s", dir, strerror(errno));
    int rc = DGCN_OK;
    for (struct dirent *e; rc == DGCN_OK && (e = readdir(d));) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        int k = 0;
        long long it = 0;
        char tail[16] = "";
        int tmp = len > 4 && !strcmp(name + len - 4, ".tmp");
        int state = sscanf(name, "agent-%d.iter-%lld.%15s", &k, &it, tail) == 3 &&
                    !strcmp(tail, "state") && it != n;
        if (!tmp && !state) continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (unlink(path) != 0)
            rc = dgcn_error_set(DGCN_EIO, "%s: cannot remove: %s", path, strerror(errno));
    }
    closedir(d);
    return rc;
}

/* Cuts metrics.jsonl back to its complete lines of iterations <= iter and writes their points
 * into the curve and plots/train.tsv, as the uninterrupted run had them. */
static int s_metrics_cut(const char *out, int64_t iter, FILE *tsv, dgcn_curve *curve, int cap,
                         const char *const cols[DGCN_SPLITS]) {
    int rc = DGCN_OK;
    char path[4300], *text = NULL;
    int64_t size = 0, keep = 0, seen = -1;
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    DGCN_CHECK(s_slurp(path, INT64_C(1) << 32, &text, &size));
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl) break; /* a line cut by the kill */
        *nl = '\0';
        double n = s_json_number(line, "iter");
        if (!(n <= (double)iter)) break;
        double loss = s_json_number(line, "train_loss"),
               cons = s_json_number(line, "consensus_error");
        dgcn_curve_point pt = {(int64_t)n,
                               loss,
                               cons,
                               s_json_number(line, "bytes_cum"),
                               s_json_number(line, "val_acc"),
                               s_json_number(line, "test_acc")};
        DGCN_CHECK(dgcn_curve_add_point(curve, cap, &pt));
        fprintf(tsv, "%" PRId64 " %.8g %.6g %.6g %.6g %.6g\n", (int64_t)n, loss,
                s_json_number(line, cols[0]), s_json_number(line, cols[1]),
                s_json_number(line, cols[2]), cons > 0 ? cons : 1e-12);
        seen = (int64_t)n;
        keep = nl + 1 - text;
        line = nl + 1;
    }
    if (seen < 0)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "%s: no line up to iteration %" PRId64, path, iter));
    if (truncate(path, (off_t)keep) != 0)
        DGCN_CHECK(
            dgcn_error_set(DGCN_EIO, "%s: cannot cut back to %" PRId64 " bytes", path, keep));
fail:
    free(text);
    return rc;
}

/* The run configuration every agent receives, built once from the options (o->gossip_rounds
 * resolved): seeds o->plan.seed (s_run_seed sets each seed's). */
static int s_run_config(const dgcn_train_opts *o, const dgcn_dataset *ds, dgcn_run_config *cfg) {
    int rc = DGCN_OK;
    *cfg = dgcn_run_config_defaults(ds->d, ds->c);
    cfg->mode = DGCN_RUN_TRAIN;
    cfg->model = dgcn__train_model(o, ds);
    DGCN_CHECK(dgcn_consensus_kind_parse(o->optimizer, &cfg->consensus.kind));
    cfg->consensus = dgcn_consensus_defaults(cfg->consensus.kind, 1.0);
    cfg->consensus.step = dgcn__train_steps(o);
    cfg->consensus.grad_scale = 0.0;
    if (ds->samples) { /* regression (train_regression.c); batch_seed: each seed's */
        cfg->task = DGCN_TASK_REGRESSION;
        cfg->batch = o->batch;
        cfg->batch_seed = o->plan.seed;
    }
    cfg->iterations = o->iters;
    cfg->eval_every = o->eval_every;
    cfg->final_mixing = o->final_mixing;
    cfg->consensus.gossip_rounds = o->gossip_rounds;
    dgcn_gossip_accel accel = DGCN_GOSSIP_PLAIN;
    DGCN_CHECK(dgcn_gossip_accel_parse(o->gossip_accel, &accel));
    cfg->consensus.gossip_accel = accel;
    cfg->consensus.gossip_rho = o->gossip_rho;
    cfg->consensus.step.cooldown = o->lr_cooldown;
    cfg->agree_rounds = o->agree_rounds;
    cfg->init_seed = o->plan.seed;
    cfg->dropout_seed = o->plan.seed;
    cfg->init_per_agent = o->init_per_agent;
    cfg->dropout_per_agent = o->dropout_per_agent;
    cfg->report_params = 1;
    cfg->checkpoint_every = o->checkpoint_every;
    if (o->shard_files) {
        char abs[4096];
        if (!realpath(o->out, abs))
            DGCN_CHECK(dgcn_error_set(DGCN_EIO, "cannot resolve the run directory %s", o->out));
        if (snprintf(cfg->plan, sizeof cfg->plan, "%s/plan", abs) >= (int)sizeof cfg->plan)
            DGCN_CHECK(
                dgcn_error_set(DGCN_EINVAL, "run directory path too long for a plan: %s", abs));
    }
    DGCN_CHECK(dgcn_model_config_check(&cfg->model));
fail:
    return rc;
}

/* The per-split columns of metrics.jsonl and plots/train.tsv. */
static const char *const s_acc_cols[DGCN_SPLITS] = {"train_acc", "val_acc", "test_acc"};
static const char *const s_mse_cols[DGCN_SPLITS] = {"train_mse", "val_mse", "test_mse"};
static const char *const s_mae_cols[DGCN_SPLITS] = {"train_mae", "val_mae", "test_mae"};

/* The mean of the copies as RUNDIR/model, and its centralized test accuracy. */
static int s_save_model(const dgcn_train_opts *o, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                        const dgcn_model_config *mc, const double *mean, int64_t np, int32_t m,
                        int64_t iters, uint64_t seed, const char *plan_id, double *test_acc) {
    int rc = DGCN_OK;
    dgcn_model_file mf;
    memset(&mf, 0, sizeof mf);
    mf.model = *mc;
    mf.model.dropout = 0.0f;
    mf.model.weight_decay = 0.0f;
    mf.n_params = np;
    mf.agents = m;
    mf.iterations = iters;
    mf.seed = seed;
    snprintf(mf.plan_id, sizeof mf.plan_id, "%s", plan_id);
    DGCN_ALLOC(mf.theta, np);
    for (int64_t i = 0; i < np; i++) mf.theta[i] = (float)mean[i];
    DGCN_CHECK(dgcn_model_file_write(o->out, "model", &mf));
    *test_acc = NAN;
    if (ds->samples) goto fail; /* regression: the agents' reports give the test error */
    dgcn_eval ev;
    DGCN_CHECK(dgcn_model_file_predict(&mf, ds, a_hat, NULL, &ev));
    int32_t ok = ev.correct[DGCN_SPLIT_TEST], all = ev.count[DGCN_SPLIT_TEST];
    *test_acc = all ? (double)ok / (double)all : 0.0;
    if (o->progress)
        fprintf(o->log ? o->log : stdout,
                "model %s/model (mean of %d copies): test accuracy %.6f (%d/%d)\n", o->out, (int)m,
                *test_acc, (int)ok, (int)all);
fail:
    dgcn_model_file_fini(&mf);
    return rc;
}

/* One seed: a session from set-up to the last report. setups are the plan's set-up messages (the
 * shards packed once for all seeds); this seed's run configuration is written into them. */
static int s_run_seed(const dgcn_train_opts *o, const dgcn_run_config *base, const dgcn_dataset *ds,
                      const dgcn_csr *a_hat, const dgcn_plan *p, dgcn_ctl_setup *setups, int si,
                      FILE *metrics, FILE *tsv, double *intervals, int *n_intervals,
                      dgcn_curve *curve, int curve_cap, double t_start, s_ckpt *ck, int64_t start,
                      int agent_deadline_ms, s_seed_out *res) {
    int rc = DGCN_OK;
    int32_t m = p->m;
    dgcn_session *sess = NULL;
    s_slot *slots = NULL;
    double *mean = NULL;
    FILE *log = o->log ? o->log : stdout;
    uint64_t seed = o->plan.seed + (uint64_t)si;

    dgcn_run_config cfg = *base;
    const int regression = cfg.task == DGCN_TASK_REGRESSION;
    cfg.init_seed = seed;
    cfg.dropout_seed = seed;
    if (regression) cfg.batch_seed = seed;
    int64_t np = dgcn_model_n_params(&cfg.model);
    for (int32_t k = 0; k < m; k++) dgcn_run_config_to_ctl(&cfg, &setups[k].config);
    DGCN_ALLOC(mean, np);
    int n_evals = 1 + (o->iters + o->eval_every - 1) / o->eval_every;
    DGCN_ALLOC(slots, n_evals);

    char sockdir[4096];
    snprintf(sockdir, sizeof sockdir, "%s", o->out);
    dgcn_session_opts so = {o->transport, m,          o->deadline_ms, sockdir,          o->tcp_host,
                            o->program,   o->workers, o->out,         agent_deadline_ms};
    DGCN_CHECK(dgcn_session_start(&sess, &so));
    DGCN_CHECK(dgcn_session_setup(sess, setups));
    double t0 = dgcn_now_ms(), t_prev = t0;
    int64_t it_prev = start;                                     /* a resumed run: its checkpoint */
    int done = start > 0 ? (int)(start / o->eval_every) + 1 : 0; /* evaluations up to start */
    ck->seed = seed;
    while (done < n_evals) {
        dgcn_ctl_msg msg;
        if (o->max_ms > 0 && dgcn_now_ms() - t_start > o->max_ms)
            DGCN_CHECK(dgcn_error_set(DGCN_ETIMEDOUT,
                                      "train: not finished within %.0f s (seed %" PRIu64
                                      ", %d of %d evaluations)",
                                      o->max_ms / 1e3, seed, done, n_evals));
        DGCN_CHECK(dgcn_session_recv(sess, &msg, -1));
        if (msg.kind == DGCN_CTL_STATE) {
            rc = s_ckpt_take(ck, &msg, np);
            dgcn_ctl_msg_fini(&msg);
            if (rc != DGCN_OK) goto fail;
            continue;
        }
        dgcn_ctl_report *r = &msg.u.report;
        int64_t n = r->iter;
        int idx = n <= 0 ? 0 : (int)((n + o->eval_every - 1) / o->eval_every);
        if (n < 0 || n > o->iters || idx >= n_evals || r->n_params != np) {
            rc = dgcn_error_set(DGCN_EPROTO,
                                "agent %d: report for iteration %" PRId64 " with %" PRId64
                                " parameters (expected an evaluated iteration <= %d, %" PRId64
                                " parameters)",
                                r->agent, n, r->n_params, o->iters, np);
            dgcn_ctl_msg_fini(&msg);
            goto fail;
        }
        s_slot *sl = &slots[idx];
        if (!sl->params) {
            sl->params = malloc(sizeof(float) * (size_t)m * (size_t)np);
            if (!sl->params) {
                dgcn_ctl_msg_fini(&msg);
                DGCN_CHECK(dgcn_error_set(DGCN_ENOMEM, "out of memory gathering parameters"));
            }
        }
        sl->iter = n;
        sl->got++;
        for (int s = 0; s < DGCN_SPLITS; s++) {
            sl->loss[s] += r->loss_sum[s];
            sl->abs[s] += r->abs_sum[s];
            sl->correct[s] += r->correct[s];
            sl->count[s] += r->count[s];
        }
        for (int ch = 0; ch < DGCN_CH_COUNT; ch++) {
            sl->tr.bytes[ch] += r->traffic.bytes[ch];
            sl->tr.messages[ch] += r->traffic.messages[ch];
            sl->relayed[ch] += r->relayed[ch];
        }
        sl->tr.dropped += r->traffic.dropped;
        for (int ph = 0; ph < r->n_phases && ph < DGCN_RUN_N_PHASES; ph++)
            if (r->phase_ms[ph] > sl->phase[ph]) sl->phase[ph] = r->phase_ms[ph];
        memcpy(sl->params + (size_t)r->agent * np, r->params, sizeof(float) * (size_t)np);
        dgcn_ctl_msg_fini(&msg);
        if (sl->got < m) continue;

        /* Every agent has reported iteration n: the global figures. */
        double now = dgcn_now_ms();
        double acc[DGCN_SPLITS], mae[DGCN_SPLITS]; /* regression: acc holds the MSE */
        for (int s = 0; s < DGCN_SPLITS; s++) {
            double cnt = (double)sl->count[s];
            acc[s] = !sl->count[s] ? 0.0 : regression ? sl->loss[s] / cnt : sl->correct[s] / cnt;
            mae[s] = sl->count[s] ? sl->abs[s] / cnt : 0.0;
        }
        double loss = sl->count[0] ? sl->loss[0] / (double)sl->count[0] : 0.0;
        double cons = dgcn_observe_consensus_error(sl->params, m, np, mean);
        uint64_t moved = sl->tr.bytes[DGCN_CH_HALO_FWD] + sl->tr.bytes[DGCN_CH_HALO_BWD] +
                         sl->tr.bytes[DGCN_CH_PARAMS];
        dgcn_curve_point pt = {n, loss, cons, (double)moved, acc[1], acc[2]};
        DGCN_CHECK(dgcn_curve_add_point(curve, curve_cap, &pt));
        double bpi = n > 0 ? (double)moved / (double)n : 0.0;
        uint64_t relayed = sl->relayed[DGCN_CH_HALO_FWD] + sl->relayed[DGCN_CH_HALO_BWD];
        uint64_t halo = sl->tr.bytes[DGCN_CH_HALO_FWD] + sl->tr.bytes[DGCN_CH_HALO_BWD];
        double ips = n > it_prev && now > t_prev ? (double)(n - it_prev) * 1e3 / (now - t_prev) : 0;
        if (n > it_prev) intervals[(*n_intervals)++] = (now - t_prev) / (double)(n - it_prev);
        if (metrics) {
            dgcn_json j;
            dgcn_json_begin(&j, metrics);
            dgcn_json_u64(&j, "seed", seed);
            dgcn_json_int(&j, "iter", (long long)n);
            dgcn_json_num(&j, "train_loss", loss);
            for (int s = 0; s < DGCN_SPLITS; s++)
                dgcn_json_num(&j, (regression ? s_mse_cols : s_acc_cols)[s], acc[s]);
            for (int s = 0; s < DGCN_SPLITS && regression; s++)
                dgcn_json_num(&j, s_mae_cols[s], mae[s]);
            dgcn_json_num(&j, "consensus_error", cons);
            dgcn_json_object(&j, "bytes");
            for (int ch = 0; ch < DGCN_CH_COUNT; ch++)
                dgcn_json_int(&j, dgcn_channel_name(ch), (long long)sl->tr.bytes[ch]);
            dgcn_json_end(&j);
            if (p->cross == DGCN_CROSS_RELAY) {
                dgcn_json_object(&j, "bytes_relayed");
                for (int ch = DGCN_CH_HALO_FWD; ch <= DGCN_CH_HALO_BWD; ch++)
                    dgcn_json_int(&j, dgcn_channel_name(ch), (long long)sl->relayed[ch]);
                dgcn_json_end(&j);
            }
            dgcn_json_num(&j, "bytes_per_iter", bpi);
            dgcn_json_int(&j, "bytes_cum", (long long)moved);
            dgcn_json_int(&j, "params_bytes_cum", (long long)sl->tr.bytes[DGCN_CH_PARAMS]);
            dgcn_json_object(&j, "ms");
            for (int ph = 0; ph < DGCN_RUN_N_PHASES; ph++)
                dgcn_json_num(&j, s_phase_names[ph], sl->phase[ph]);
            dgcn_json_end(&j);
            uint64_t dropped = sl->tr.dropped + dgcn_session_hub(sess)->traffic.dropped;
            if (dropped) dgcn_json_int(&j, "dropped_frames", (long long)dropped);
            dgcn_json_num(&j, "elapsed_ms", now - t0);
            dgcn_json_end(&j);
            DGCN_CHECK(dgcn_rundir_fflush(metrics, o->out, "metrics.jsonl"));
            if (n == ck->kill_iter) raise(SIGKILL); /* test only: the coordinator dies here */
        }
        if (tsv)
            fprintf(tsv, "%" PRId64 " %.8g %.6g %.6g %.6g %.6g\n", n, loss, acc[0], acc[1], acc[2],
                    cons > 0 ? cons : 1e-12);
        if (o->progress) {
            fprintf(log,
                    "seed %" PRIu64 " iter %5" PRId64 "  loss %.4f  val %.4f  consensus %.3e  "
                    "%.0f B/iter  %.1f it/s\n",
                    seed, n, loss, acc[1], cons, bpi, ips);
            fflush(log);
        }
        res->test_acc = acc[2];
        res->test_mae = mae[2];
        res->consensus = cons;
        res->bytes_per_iter = bpi;
        res->direct_per_iter = n > 0 ? (double)(halo - relayed) / (double)n : 0.0;
        res->relayed_per_iter = n > 0 ? (double)relayed / (double)n : 0.0;
        res->params_per_iter = n > 0 ? (double)sl->tr.bytes[DGCN_CH_PARAMS] / (double)n : 0.0;
        res->bytes_total = (double)moved;
        res->params_bytes_total = (double)sl->tr.bytes[DGCN_CH_PARAMS];
        if (done + 1 == n_evals) /* the last report: the copies' mean is the run's model */
            DGCN_CHECK(s_save_model(o, ds, a_hat, &cfg.model, mean, np, m, n, seed, ck->plan_id,
                                    &res->model_test_acc));
        t_prev = now;
        it_prev = n;
        free(sl->params);
        sl->params = NULL;
        done++;
    }
    res->train_ms = dgcn_now_ms() - t0;
    DGCN_CHECK(dgcn_session_finish(sess));
fail:
    dgcn_session_destroy(&sess);
    for (int i = 0; slots && i < n_evals; i++) free(slots[i].params);
    free(slots);
    free(mean);
    return rc;
}

static const char s_plot_script[] =
    "set terminal pngcairo size 1200,400\n"
    "set output 'train.png'\n"
    "set multiplot layout 1,3\n"
    "set xlabel 'iteration'\n"
    "set key off\n"
    "set title 'training loss'\n"
    "plot for [i=0:*] 'train.tsv' index i using 1:2 with lines lw 2\n"
    "set title 'accuracy (train, val, test)'\n"
    "set key bottom right\n"
    "plot 'train.tsv' index 0 using 1:3 with lines lw 2 title 'train', "
    "'' index 0 using 1:4 with lines lw 2 title 'val', '' index 0 using 1:5 with lines lw 2 title 'test'\n"
    "set key off\n"
    "set logscale y\n"
    "set title 'consensus error'\n"
    "plot for [i=0:*] 'train.tsv' index i using 1:6 with lines lw 2\n"
    "unset multiplot\n";

/* config.json: the run as resolved, its run configuration (first seed) written from the table. */
static void s_write_config(FILE *f, const dgcn_train_opts *o, const dgcn_dataset *ds,
                           const dgcn_plan *p, const dgcn_run_config *cfg) {
    char desc[512];
    dgcn_data_source_describe(&o->src, desc, sizeof desc);
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_str(&j, "command", "train");
    dgcn_json_str(&j, "data", desc);
    dgcn_json_int(&j, "nodes", ds->n);
    dgcn_json_int(&j, "features", ds->d);
    dgcn_json_int(&j, "classes", ds->c);
    dgcn_json_int(&j, "agents", p->m);
    dgcn_json_str(&j, "partition", o->plan.partition);
    dgcn_json_str(&j, "topology", o->plan.topology);
    dgcn_json_num(&j, "removal", o->plan.removal);
    dgcn_json_int(&j, "topology_links", (long long)dgcn_topo_links(&p->topo));
    dgcn_json_int(&j, "required_links", (long long)dgcn_topo_links(&p->required));
    dgcn_json_str(&j, "cross_edges", dgcn_cross_edges_name(p->cross));
    dgcn_json_int(&j, "dropped_edges", (long long)p->n_dropped);
    dgcn_json_str(&j, "weights", p->weights);
    char id[32];
    snprintf(id, sizeof id, "%016" PRIx64, p->id);
    dgcn_json_str(&j, "plan_id", id);
    dgcn_json_str(&j, "optimizer", o->optimizer);
    dgcn_json_num(&j, "lr", cfg->consensus.step.alpha0);
    dgcn_json_num(&j, "lr_decay", o->lr_decay);
    dgcn_json_num(&j, "lr_power", o->lr_power);
    dgcn_json_int(&j, "hidden", o->hidden);
    dgcn_json_int(&j, "order", o->order);
    dgcn_json_num(&j, "dropout", o->dropout);
    dgcn_json_int(&j, "iterations", o->iters);
    dgcn_json_int(&j, "seeds", o->seeds);
    dgcn_json_u64(&j, "seed", o->plan.seed);
    dgcn_json_str(&j, "transport", dgcn_transport_kind(o->transport));
    dgcn_json_int(&j, "eval_every", o->eval_every);
    dgcn_json_int(&j, "final_mixing", o->final_mixing);
    dgcn_json_int(&j, "gossip_rounds", o->gossip_rounds);
    dgcn_json_num(&j, "gossip_target", o->gossip_target);
    dgcn_json_str(&j, "gossip_accel", o->gossip_accel);
    dgcn_json_num(&j, "gossip_rho", o->gossip_rho);
    dgcn_json_int(&j, "agree_rounds", o->agree_rounds);
    dgcn_json_num(&j, "lr_cooldown", o->lr_cooldown);
    dgcn_json_int(&j, "init_per_agent", o->init_per_agent);
    dgcn_json_int(&j, "dropout_per_agent", o->dropout_per_agent);
    dgcn_json_int(&j, "shard_files", o->shard_files);
    dgcn_json_int(&j, "checkpoint_every", o->checkpoint_every);
    dgcn_json_int(&j, "deadline_ms", o->deadline_ms);
    dgcn_ctl_config ctl;
    dgcn_run_config_to_ctl(cfg, &ctl);
    dgcn_run_config_json_write(&j, &ctl); /* last: dgcn_run_config_json_read finds it */
    dgcn_json_end(&j);
}

/* --resume: the run configuration now must keep the hyper-parameters of RUNDIR/config.json. */
static int s_resume_check(const char *out, const dgcn_run_config *cfg) {
    char path[4200], *text = NULL;
    snprintf(path, sizeof path, "%s/config.json", out);
    int rc = s_slurp(path, 1 << 20, &text, NULL);
    dgcn_ctl_config was, now;
    if (rc == DGCN_OK) rc = dgcn_run_config_json_read(text, path, &was);
    free(text);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "resume: ");
    dgcn_run_config_to_ctl(cfg, &now);
    return dgcn_run_config_resume_check(&was, &now, path);
}

/* The gossip of a run into r (rounds, acceleration, rho) from the plan's SLEM: dgcn_gossip_choose,
 * which turns Chebyshev off when the SLEM is only a lower bound (Lanczos did not converge). */
static int s_gossip_rounds(const dgcn_train_opts *o, const dgcn_plan *p, dgcn_train_opts *r,
                           double *slem, int *exact) {
    dgcn_gossip_accel accel;
    *slem = NAN;
    *exact = 1;
    r->gossip_rho = 0.0;
    int rc = dgcn_gossip_accel_parse(o->gossip_accel, &accel);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "train: --gossip-accel: ");
    if (o->gossip_rounds > DGCN_GOSSIP_MAX || o->gossip_rounds < 0)
        return dgcn_error_set(DGCN_EINVAL, "train: --gossip-rounds %d is not in [0, %d]",
                              o->gossip_rounds, DGCN_GOSSIP_MAX);
    if (!(o->gossip_target > 0.0 && o->gossip_target < 1.0))
        return dgcn_error_set(DGCN_EINVAL, "train: --gossip-target %g is not in (0, 1)",
                              o->gossip_target);
    if (!p->c.m) return DGCN_OK;
    rc = dgcn_mixing_norm_cj(&p->c, slem, exact);
    if (rc != DGCN_OK) return rc;
    int32_t rounds;
    dgcn_gossip_choose(accel, *slem, *exact, o->gossip_target, o->gossip_rounds, &rounds, &accel,
                       &r->gossip_rho);
    if (o->gossip_rounds == 0 && o->gossip_max >= 1 && rounds > o->gossip_max)
        rounds = o->gossip_max;
    r->gossip_rounds = rounds;
    r->gossip_accel = dgcn_gossip_accel_name(accel);
    /* Agreement rounds: with per-agent initializations, the fewest that contract the copies'
     * disagreement to 1e-3, at most one per 4 iterations (a quarter of a message per link and
     * iteration, on messages of P floats). */
    if (o->agree_rounds < -1 || o->agree_rounds > DGCN_GOSSIP_MAX)
        return dgcn_error_set(DGCN_EINVAL, "train: --agree-rounds %d is not in [-1, %d]",
                              o->agree_rounds, DGCN_GOSSIP_MAX);
    if (o->agree_rounds == -1) {
        int32_t cap = o->iters / 4 > 0 ? o->iters / 4 : 1;
        int32_t need = dgcn_gossip_rounds_for(*slem, 1e-3, accel);
        r->agree_rounds = o->init_per_agent ? (need < cap ? need : cap) : 0;
    }
    return DGCN_OK;
}

/* Peak resident memory of this process in bytes (Linux reports ru_maxrss in kilobytes); 0 when
 * getrusage fails. */
static uint64_t s_peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss < 0) return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

/* 1 when the plan's graph is complete with uniform weights (c_kt = 1/M everywhere) and the agents
 * share their initialization: one mixing step is the exact average, so the copies never differ.
 * Not for ed, which mixes with (I + C) / 2: half its own copy stays. O(m + links): a complete
 * graph's rows hold every entry. */
static int s_centralized_by_construction(const dgcn_train_opts *o, const dgcn_plan *p) {
    int32_t m = p->m;
    if (o->init_per_agent || !p->c.m || strcmp(o->optimizer, "ed") == 0) return 0;
    if (dgcn_topo_links(&p->topo) != (int64_t)m * (m - 1) / 2) return 0;
    for (int64_t i = 0; i < p->c.ptr[m]; i++)
        if (fabs(p->c.val[i] - 1.0 / m) > 1e-12) return 0;
    return 1;
}

/* How much one iteration's gossip shrinks the agents' disagreement: SLEM^R for plain rounds,
 * 1 / T_R(1 / rho) for Chebyshev-accelerated ones (nn/consensus.h), and for ed, which mixes with
 * (I + p_R(C)) / 2, (1 + that) / 2; NaN without a mixing matrix. */
static double s_contraction_per_iter(const dgcn_train_opts *o, double slem) {
    dgcn_gossip_accel accel = DGCN_GOSSIP_PLAIN;
    dgcn_gossip_accel_parse(o->gossip_accel, &accel);
    double q = accel == DGCN_GOSSIP_PLAIN
                   ? dgcn_observe_gossip_contraction(slem, o->gossip_rounds)
                   : dgcn_gossip_contraction(o->gossip_rho, o->gossip_rounds, accel);
    if (isnan(slem)) return NAN;
    return strcmp(o->optimizer, "ed") == 0 ? (1 + q) / 2 : q;
}

/* The deadline of every wait (deadline.h) from the planned work of a report interval: its
 * iterations' halo exchanges and gossip rounds, their bytes over the agents sharing the cores,
 * the forward and backward passes; o->deadline_ms > 0 overrides it. */
static void s_deadline(const dgcn_train_opts *o, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                       const dgcn_plan *p, dgcn_deadline *d) {
    dgcn_model_config mc = dgcn_model_defaults(DGCN_MODEL_GCN, ds->d, ds->c);
    mc.dims[1] = o->hidden;
    if (o->order >= 0) mc.kind = DGCN_MODEL_FILTER, mc.order = o->order;
    int32_t widths[DGCN_MAX_LAYERS * DGCN_MAX_ORDER];
    int n_x = dgcn_model_exchange_widths(&mc, widths);
    dgcn_consensus_kind kind = DGCN_CONSENSUS_GT_ADAM;
    dgcn_consensus_kind_parse(o->optimizer, &kind);
    int64_t np = dgcn_model_n_params(&mc);
    int64_t msg = (kind == DGCN_CONSENSUS_GT || kind == DGCN_CONSENSUS_GT_ADAM) ? 2 * np : np;
    int32_t deg_max = 0;
    if (p->c.m) dgcn_topo_degree_stats(&p->topo, NULL, &deg_max, NULL);
    double width_sum = 0;
    for (int i = 0; i < n_x; i++) width_sum += widths[i];
    double forward = 2.0 * ((double)ds->x.nnz * o->hidden + (double)a_hat->nnz * width_sum +
                            (double)ds->n * o->hidden * ds->c);
    int cores = dgcn_deadline_cores();
    if (o->workers > 0 && o->workers < cores &&
        !strcmp(dgcn_transport_kind(o->transport), "inproc"))
        cores = o->workers;
    dgcn_deadline_work w = {
        .agents = p->m,
        .cores = cores,
        .iters_per_report = o->eval_every < o->iters ? o->eval_every : o->iters,
        .halo_exchanges = 2 * n_x * (p->hops_max > 1 ? p->hops_max : 1),
        .gossip_rounds = o->gossip_rounds,
        /* agreement rounds before the first step and averaging rounds before the last report */
        .final_mixing = o->final_mixing + (o->agree_rounds > 0 ? o->agree_rounds : 0),
        .halo_bytes = (double)dgcn_plan_min_bytes(p, widths, n_x, 0),
        .params_bytes = (p->c.m ? 2.0 * (double)dgcn_topo_links(&p->topo) : 0) * msg * 4.0,
        .params_bytes_max = 2.0 * deg_max * msg * 4.0,
        .flops = 4 * forward, /* forward, backward (twice the forward), the evaluation's share */
    };
    dgcn_deadline_choose(&w, o->deadline_ms, d);
}

int dgcn_train_run(const dgcn_train_opts *o, dgcn_train_result *res) {
    int rc = DGCN_OK;
    dgcn_dataset ds;
    dgcn_csr a_hat;
    dgcn_plan p;
    dgcn_ctl_setup *setups = NULL;
    dgcn_ctl_msg *states = NULL; /* resume: the checkpoint's, one per agent */
    dgcn_run_config cfg;         /* the run's, with the first seed's seeds */
    s_ckpt ck;
    int64_t start = 0;
    memset(&ck, 0, sizeof ck);
    memset(&ds, 0, sizeof ds);
    memset(&a_hat, 0, sizeof a_hat);
    memset(&p, 0, sizeof p);
    memset(res, 0, sizeof *res);
    res->central_ms_per_epoch = res->ms_per_iter_median = NAN;
    FILE *metrics = NULL, *tsv = NULL, *f = NULL;
    double *dist = NULL, *central = NULL, *mlp = NULL, *cons = NULL, *intervals = NULL;
    double *central_ms = NULL;
    double *mae = NULL; /* regression: (2, seeds) test MAE of the agents, then of the twin */
    int n_intervals = 0;
    char path[4096];
    FILE *log = o->log ? o->log : stdout;
    double t_start = dgcn_now_ms();
    int curve_cap = 0;
    if (o->checkpoint_every < 0 || ((o->checkpoint_every > 0 || o->resume) && o->seeds != 1))
        return dgcn_error_set(DGCN_EINVAL,
                              "train: checkpoints and --resume need --seeds 1 and "
                              "--checkpoint-every >= 0 (got %d seeds, every %d)",
                              o->seeds, o->checkpoint_every);

    DGCN_CHECK(dgcn_rundir_make(o->out));
    DGCN_CHECK(dgcn_data_source_open_series(&o->src, &ds, &a_hat, &res->generated));
    dgcn_train_opts resolved = *o; /* o with the task's options and the gossip rounds chosen */
    DGCN_CHECK(dgcn__train_resolve(&resolved, &ds));
    if (resolved.iters < 1 || o->seeds < 1 || resolved.eval_every < 1 || o->plan.agents < 1)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "train: --iters, --seeds, --eval-every and "
                                               "--agents must be >= 1"));
    curve_cap = 2 + (resolved.iters + resolved.eval_every - 1) / resolved.eval_every;
    DGCN_CHECK(dgcn_curve_init(&res->curve, curve_cap));
    DGCN_CHECK(dgcn_plan_build(&p, &ds, &a_hat, &o->plan));
    double slem;
    int slem_exact;
    DGCN_CHECK(s_gossip_rounds(o, &p, &resolved, &slem, &slem_exact));
    if (o->progress && resolved.agree_rounds > 0)
        fprintf(log, "%d agreement round(s) before the first step (contraction %.2e)\n",
                resolved.agree_rounds,
                dgcn_gossip_contraction(resolved.gossip_rho > 0 ? resolved.gossip_rho : slem,
                                        resolved.agree_rounds,
                                        strcmp(resolved.gossip_accel, "chebyshev") == 0
                                            ? DGCN_GOSSIP_CHEBYSHEV
                                            : DGCN_GOSSIP_PLAIN));
    if (o->progress)
        fprintf(log, "mixing SLEM %.6f%s, %d gossip round(s) per iteration, acceleration %s%s\n",
                slem, slem_exact ? "" : " (a lower bound: Lanczos did not converge)",
                resolved.gossip_rounds, resolved.gossip_accel,
                strcmp(resolved.gossip_accel, o->gossip_accel) == 0
                    ? ""
                    : " (chebyshev off: its weights need a bound rho >= SLEM, and this SLEM is not "
                      "one)");
    o = &resolved;
    DGCN_CHECK(s_run_config(o, &ds, &cfg));
    dgcn_deadline dl;
    s_deadline(o, &ds, &a_hat, &p, &dl);
    resolved.deadline_ms = dl.deadline_ms;
    if (o->progress && dgcn_deadline_notable(&dl))
        fprintf(log,
                "note: %d gossip round(s) and %.3g GB per iteration planned (%d agents per core): "
                "a report interval of %d iteration(s) is allowed %.0f s; deadline %.0f s, the "
                "agents' %.0f s (%s)%s\n",
                o->gossip_rounds, dl.bytes_per_iter / 1e9, dl.agents_per_core,
                o->eval_every < o->iters ? o->eval_every : o->iters, dl.interval_ms / 1e3,
                dl.deadline_ms / 1e3, dl.agent_deadline_ms / 1e3,
                dl.automatic ? "automatic" : "--deadline-ms",
                !dl.automatic && dl.interval_ms > dl.deadline_ms
                    ? ": the planned work may exceed it, and healthy agents would be named silent"
                    : "");
    res->links = dgcn_topo_links(&p.topo);
    res->required_links = dgcn_topo_links(&p.required);
    res->hops_per_exchange = p.hops_max;
    res->n_params = dgcn_model_n_params(&cfg.model);
    res->dropped_edges = p.n_dropped;
    res->shard_bytes = dgcn_plan_shard_bytes(&p, &res->shard_bytes_max);
    res->centralized_by_construction = s_centralized_by_construction(o, &p);
    res->links_possible = (int64_t)p.m * (p.m - 1) / 2;
    res->contraction_per_iter = s_contraction_per_iter(o, slem);
    res->effectively_centralized = dgcn_observe_centralized(res->links, p.m,
                                                            res->contraction_per_iter,
                                                            res->centralized_reason,
                                                            sizeof res->centralized_reason);
    if (o->progress && res->effectively_centralized)
        fprintf(log, "note: effectively centralized: %s\n", res->centralized_reason);
    if (o->progress && res->centralized_by_construction)
        fprintf(log,
                "note: the communication graph is complete with uniform weights and one shared "
                "initialization, so every copy stays the average: this run is centralized "
                "training by construction, not evidence about distributed optimization\n");

    ck.every = o->checkpoint_every;
    ck.m = p.m;
    ck.iters = o->iters;
    ck.kill_iter = -1;
    snprintf(ck.plan_id, sizeof ck.plan_id, "%016" PRIx64, p.id);
    snprintf(ck.dir, sizeof ck.dir, "%s/checkpoint", o->out);
    {
        const char *e = getenv("DGCN_TEST_KILL_COORDINATOR"); /* test only: docs/running.md */
        if (e && *e) ck.kill_iter = strtoll(e, NULL, 10);
    }
    DGCN_ALLOC(ck.got, o->iters / (ck.every > 0 ? ck.every : 1) + 1);
    if (o->resume) {
        /* the same plan, the manifest's checkpoint, metrics.jsonl cut back to it */
        char plan_id[32];
        uint64_t seed = 0;
        int32_t agents = 0;
        DGCN_CHECK(s_ckpt_manifest(ck.dir, &start, &seed, &agents, plan_id, sizeof plan_id));
        if (strcmp(plan_id, ck.plan_id) != 0 || agents != p.m || seed != o->plan.seed)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "resume: %s/manifest.json is for plan %s, %d agents, seed "
                                      "%" PRIu64 "; the options rebuild plan %s, %d agents, seed "
                                      "%" PRIu64 ": not the same run",
                                      ck.dir, plan_id, (int)agents, seed, ck.plan_id, (int)p.m,
                                      o->plan.seed));
        if (start >= o->iters)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "resume: the checkpoint's iteration %" PRId64
                                      " is not below --iters %d",
                                      start, o->iters));
        DGCN_CHECK(s_resume_check(o->out, &cfg));
        DGCN_CHECK(dgcn_rundir_fopen(o->out, "config.json", "w", &f)); /* the run as it continues */
        s_write_config(f, o, &ds, &p, &cfg);
        DGCN_CHECK(dgcn_rundir_fclose(&f, o->out, "config.json"));
        ck.last = start;
        snprintf(path, sizeof path, "%s/plots", o->out);
        DGCN_CHECK(dgcn_rundir_make(path));
        DGCN_CHECK(dgcn_rundir_fopen(path, "train.tsv", "w", &tsv));
        DGCN_CHECK(s_metrics_cut(o->out, start, tsv, &res->curve, curve_cap,
                                 ds.samples ? s_mse_cols : s_acc_cols));
        DGCN_CHECK(dgcn_rundir_fopen(o->out, "metrics.jsonl", "a", &metrics));
        if (o->progress)
            fprintf(log, "resume: %s from the checkpoint of iteration %" PRId64 "\n", o->out,
                    start);
    } else {
        DGCN_CHECK(dgcn_rundir_fopen(o->out, "config.json", "w", &f));
        s_write_config(f, o, &ds, &p, &cfg);
        DGCN_CHECK(dgcn_rundir_fclose(&f, o->out, "config.json"));
        snprintf(path, sizeof path, "%s/plan", o->out);
        DGCN_CHECK(dgcn_shard_dir_write(path, p.shards, p.m, p.owner, ds.n, o->plan.partition,
                                        o->plan.seed));
        snprintf(path, sizeof path, "%s/topology.edges", o->out);
        DGCN_CHECK(dgcn_topo_write_edges(&p.topo, path));
        snprintf(path, sizeof path, "%s/topology.dot", o->out);
        DGCN_CHECK(dgcn_topo_write_dot(&p.topo, &p.c, path));
        snprintf(path, sizeof path, "%s/plots", o->out);
        DGCN_CHECK(dgcn_rundir_make(path));
        DGCN_CHECK(dgcn_rundir_fopen(path, "train.tsv", "w", &tsv));
        DGCN_CHECK(dgcn_rundir_fopen(o->out, "metrics.jsonl", "w", &metrics));
        if (ck.every > 0) DGCN_CHECK(dgcn_rundir_make(ck.dir));
    }

    DGCN_ALLOC(dist, o->seeds);
    DGCN_ALLOC(central, o->seeds);
    DGCN_ALLOC(mlp, o->seeds);
    DGCN_ALLOC(cons, o->seeds);
    DGCN_ALLOC(mae, 2 * o->seeds);
    DGCN_ALLOC(intervals, (size_t)o->seeds * (size_t)(o->iters + 2));
    if (o->progress)
        fprintf(log,
                "train: %d agents over %s, partition %s, topology %s (%" PRId64 " links, %" PRId64
                " required), optimizer %s, %d iterations x %d seed(s), run dir %s\n",
                p.m, dgcn_transport_kind(o->transport), o->plan.partition, o->plan.topology,
                dgcn_topo_links(&p.topo), dgcn_topo_links(&p.required), o->optimizer, o->iters,
                o->seeds, o->out);
    DGCN_CHECK(dgcn_plan_setups(&p, &cfg, !o->shard_files, &setups)); /* seeds set per seed */
    if (o->resume) {
        DGCN_ALLOC(states, p.m);
        DGCN_CHECK(s_ckpt_states(ck.dir, p.m, start, dgcn_model_n_params(&cfg.model), states));
        DGCN_CHECK(s_ckpt_clean(ck.dir, start));
        for (int32_t k = 0; k < p.m; k++) setups[k].state = &states[k].u.state;
    }
    for (int si = 0; si < o->seeds; si++) {
        s_seed_out so;
        memset(&so, 0, sizeof so);
        if (si) fprintf(tsv, "\n\n");
        DGCN_CHECK(s_run_seed(o, &cfg, &ds, &a_hat, &p, setups, si, metrics, tsv, intervals,
                              &n_intervals, &res->curve, curve_cap, t_start, &ck, start,
                              dl.agent_deadline_ms, &so));
        res->model_test_acc = so.model_test_acc;
        DGCN_CHECK(dgcn_signal_check("training"));
        dist[si] = so.test_acc; /* regression: the test MSE */
        mae[si] = so.test_mae;
        cons[si] = so.consensus;
        res->bytes_per_iter += so.bytes_per_iter / o->seeds;
        res->bytes_per_iter_direct += so.direct_per_iter / o->seeds;
        res->bytes_per_iter_relayed += so.relayed_per_iter / o->seeds;
        res->bytes_per_iter_params += so.params_per_iter / o->seeds;
        res->bytes_total += so.bytes_total / o->seeds;
        res->params_bytes_total += so.params_bytes_total / o->seeds;
    }
    DGCN_CHECK(dgcn_rundir_fclose(&tsv, o->out, "plots/train.tsv"));

    /* The analytic minimum of one training iteration's traffic (all agents, payload bytes): the
     * rows M = H W of each layer (hidden, then classes) and the optimizer's consensus message once
     * per gossip round. */
    {
        dgcn_consensus_kind kind = cfg.consensus.kind;
        int32_t widths[DGCN_MAX_LAYERS * DGCN_MAX_ORDER];
        int n_x = dgcn_model_exchange_widths(&cfg.model, widths);
        for (int x = 0; x < n_x && ds.samples; x++) widths[x] *= o->batch; /* B signals a row */
        int64_t np = dgcn_model_n_params(&cfg.model);
        int64_t msg = (kind == DGCN_CONSENSUS_GT || kind == DGCN_CONSENSUS_GT_ADAM) ? 2 * np : np;
        res->relayed_per_iter_min = 2.0 * (double)dgcn_plan_relay_bytes(&p, widths, n_x);
        res->bytes_per_iter_min = (double)dgcn_plan_min_bytes(&p, widths, n_x,
                                                              msg * o->gossip_rounds);
    }
    DGCN_ALLOC(central_ms, o->seeds);
    for (int si = 0; si < o->seeds && o->baselines; si++) {
        if (ds.samples) { /* regression: the centralized twin, no MLP */
            double mse3[3], mae3[3];
            DGCN_CHECK(dgcn__train_central_regression(o, &ds, &a_hat, o->plan.seed + (uint64_t)si,
                                                      mse3, mae3, &central_ms[si]));
            central[si] = mse3[2];
            mae[o->seeds + si] = mae3[2];
            continue;
        }
        for (int kind = 0; kind < 2; kind++) {
            dgcn_baseline_opts b = dgcn_baseline_defaults(kind ? DGCN_MODEL_MLP : DGCN_MODEL_GCN,
                                                          &ds);
            b.model = cfg.model; /* the run's model; the MLP has no filter */
            if (kind) b.model.kind = DGCN_MODEL_MLP, b.model.order = 1;
            b.epochs = o->iters;
            b.seed = o->plan.seed + (uint64_t)si;
            dgcn_baseline_result br;
            DGCN_CHECK(dgcn_baseline_run(&ds, &a_hat, &b, &br));
            (kind ? mlp : central)[si] = br.test_acc;
            if (!kind) central_ms[si] = br.ms_per_epoch_median;
        }
    }
    dgcn_mean_std(dist, o->seeds, &res->test_acc_mean, &res->test_acc_std);
    double cons_std = 0;
    dgcn_mean_std(cons, o->seeds, &res->consensus_error, &cons_std);
    if (o->baselines) {
        dgcn_mean_std(central, o->seeds, &res->central_test_acc_mean, &res->central_test_acc_std);
        dgcn_mean_std(mlp, o->seeds, &res->mlp_test_acc_mean, &res->mlp_test_acc_std);
        res->central_ms_per_epoch = dgcn_median(central_ms, o->seeds);
    } else {
        res->central_ms_per_epoch = NAN;
        res->central_test_acc_mean = res->mlp_test_acc_mean = NAN;
        res->central_test_acc_std = res->mlp_test_acc_std = NAN;
    }
    res->ms_per_iter_median = n_intervals ? dgcn_median(intervals, n_intervals) : NAN;
    dgcn__train_regression_figures(res, ds.samples != NULL, o->baselines, dist, central, mae,
                                   o->seeds);

    res->peak_rss_bytes = s_peak_rss_bytes();
    DGCN_CHECK(dgcn_signal_check("the run's summary"));
    DGCN_CHECK(dgcn_rundir_fclose(&metrics, o->out, "metrics.jsonl"));
    DGCN_CHECK(dgcn_rundir_fopen_tmp(o->out, "summary.json", &f));
    dgcn_json j;
    dgcn_json_begin(&j, f);
    if (ds.samples) dgcn__train_regression_json(&j, res);
    else {
        dgcn_json_num(&j, "test_acc_mean", res->test_acc_mean);
        dgcn_json_num(&j, "test_acc_std", res->test_acc_std);
        dgcn_json_num(&j, "central_test_acc_mean", res->central_test_acc_mean);
        dgcn_json_num(&j, "central_test_acc_std", res->central_test_acc_std);
        dgcn_json_num(&j, "mlp_test_acc_mean", res->mlp_test_acc_mean);
        dgcn_json_num(&j, "mlp_test_acc_std", res->mlp_test_acc_std);
    }
    dgcn_json_num(&j, "consensus_error", res->consensus_error);
    dgcn_json_int(&j, "iterations", o->iters);
    dgcn_json_int(&j, "agents", p.m);
    dgcn_json_int(&j, "seeds", o->seeds);
    dgcn_json_int(&j, "gossip_rounds", o->gossip_rounds);
    dgcn_json_str(&j, "gossip_accel", o->gossip_accel);
    dgcn_json_num(&j, "gossip_rho", o->gossip_rho);
    dgcn_json_int(&j, "agree_rounds", o->agree_rounds);
    dgcn_json_num(&j, "lr_cooldown", o->lr_cooldown);
    dgcn_json_int(&j, "n_params", (long long)dgcn_model_n_params(&cfg.model));
    /* params messages per link direction per training iteration: R each, plus the agreement and
     * final averaging rounds spread over the run */
    dgcn_json_num(&j, "params_msgs_per_link_iter",
                  (double)((int64_t)o->gossip_rounds * o->iters + o->agree_rounds +
                           o->final_mixing) /
                      (double)o->iters);
    dgcn_json_num(&j, "bytes_per_iter", res->bytes_per_iter);
    dgcn_json_num(&j, "bytes_per_iter_min", res->bytes_per_iter_min);
    dgcn_json_num(&j, "bytes_per_iter_direct", res->bytes_per_iter_direct);
    dgcn_json_num(&j, "bytes_per_iter_relayed", res->bytes_per_iter_relayed);
    dgcn_json_num(&j, "bytes_per_iter_params", res->bytes_per_iter_params);
    dgcn_json_num(&j, "bytes_total", res->bytes_total);
    dgcn_json_num(&j, "params_bytes_total", res->params_bytes_total);
    dgcn_json_int(&j, "hops_per_exchange", res->hops_per_exchange);
    dgcn_json_int(&j, "centralized_by_construction", res->centralized_by_construction);
    dgcn_json_int(&j, "links_used", (long long)res->links);
    dgcn_json_int(&j, "links_possible", (long long)res->links_possible);
    dgcn_json_num(&j, "contraction_per_iter", res->contraction_per_iter);
    dgcn_json_bool(&j, "effectively_centralized", res->effectively_centralized);
    dgcn_json_str(&j, "centralized_reason", res->centralized_reason);
    dgcn_json_num(&j, "ms_per_iter_median", res->ms_per_iter_median);
    dgcn_json_num(&j, "central_ms_per_epoch", res->central_ms_per_epoch);
    dgcn_json_num(&j, "model_test_acc", res->model_test_acc);
    dgcn_json_int(&j, "peak_rss_bytes", (long long)res->peak_rss_bytes);
    dgcn_json_num(&j, "peak_rss_bytes_per_agent", (double)res->peak_rss_bytes / p.m);
    dgcn_json_int(&j, "shard_bytes", (long long)res->shard_bytes);
    dgcn_json_num(&j, "shard_bytes_per_agent", (double)res->shard_bytes / p.m);
    dgcn_json_int(&j, "shard_bytes_max", (long long)res->shard_bytes_max);
    dgcn_json_num_array(&j, ds.samples ? "test_mse" : "test_acc", dist, o->seeds);
    dgcn_json_end(&j);
    DGCN_CHECK(dgcn_rundir_commit(&f, o->out, "summary.json"));
    DGCN_CHECK(dgcn_rundir_plot(o->out, "train", s_plot_script));
    DGCN_CHECK(dgcn_signal_check("the plots"));

    if (ds.samples) dgcn__train_regression_log(log, res, o->seeds, o->baselines);
    else
        fprintf(log, "test accuracy over %d seed(s): distributed %.4f +- %.4f", o->seeds,
                res->test_acc_mean, res->test_acc_std);
    if (o->baselines && !ds.samples)
        fprintf(log, " | centralized GCN %.4f +- %.4f | MLP %.4f +- %.4f",
                res->central_test_acc_mean, res->central_test_acc_std, res->mlp_test_acc_mean,
                res->mlp_test_acc_std);
    fprintf(log,
            "\nconsensus error %.3e, %.0f bytes/iter (halo direct %.0f, relayed %.0f, params "
            "%.0f), %d hop(s) per exchange, %.2f ms/iter (median)\n",
            res->consensus_error, res->bytes_per_iter, res->bytes_per_iter_direct,
            res->bytes_per_iter_relayed, res->bytes_per_iter_params, res->hops_per_exchange,
            res->ms_per_iter_median);
    fprintf(log,
            "memory: peak resident %.1f MB (%.1f kB per agent), shards %.1f kB per agent (largest "
            "%.1f kB)\n",
            res->peak_rss_bytes / 1e6, res->peak_rss_bytes / 1e3 / p.m,
            res->shard_bytes / 1e3 / p.m, res->shard_bytes_max / 1e3);
    fflush(log);
fail:
    dgcn_rundir_discard(&f, o->out, "summary.json"); /* config.json or summary.json.tmp */
    if (tsv) fclose(tsv);
    if (metrics) fclose(metrics);
    free(dist);
    free(central);
    free(mlp);
    free(cons);
    free(intervals);
    free(central_ms);
    free(mae);
    for (int32_t k = 0; setups && k < p.m; k++) setups[k].state = NULL; /* states' */
    for (int32_t k = 0; states && k < p.m; k++) dgcn_ctl_msg_fini(&states[k]);
    free(states);
    free(ck.got);
    dgcn_plan_setups_free(&setups, p.m);
    dgcn_plan_fini(&p);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
    return rc;
}
