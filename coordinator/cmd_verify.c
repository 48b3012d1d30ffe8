/* coordinator/cmd_verify.c: `dgcn verify`: one distributed forward and backward against the
 * centralized computation, and the bytes each channel moved against the plan's prediction.
 *
 * Every agent starts from the same Glorot weights (seed --seed); each computes its block's logits
 * and its local gradient g_k once. The coordinator runs the same model on the whole graph
 * (n_halo = 0) and compares: logits matched by global id, and sum_k g_k against the central
 * gradient (the blocks' losses add up to the central loss, nn/gcn.h). The difference printed is
 * max_i |dist_i - central_i| / max_i |central_i| (relative to the vector's largest entry).
 *
 * With --compress-halo the distributed pass runs once per setting listed, its halo rows
 * compressed (nn/halo_codec.h), and each setting's error against the exact computation is
 * reported (max abs and relative) instead of judged; only "off" in the list is held to the
 * exact tolerance. The bytes the compressed rows weigh as float32 must still match the plan. */
#include "agent/run.h"
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/data_source.h"
#include "coordinator/model.h"
#include "coordinator/plan.h"
#include "coordinator/session.h"
#include "core/error.h"
#include "core/signal.h"
#include "nn/gcn.h"
#include "nn/halo_codec.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char s_usage[] =
    "usage: dgcn verify [--data DIR | generator options] --agents M --transport mpi|zmq|inproc\n"
    "                   [--partition bfs|metis|random|block] [--seed S] [--topology SPEC]\n"
    "                   [--cross-edges strict|keep|drop|relay] [--order K]\n"
    "\n"
    "Runs one distributed forward and backward pass (every agent starting from the same random\n"
    "weights) and the same pass centrally on the whole graph, then prints the largest relative\n"
    "difference of the logits (matched by global node id) and of the summed gradients, and the bytes\n"
    "each channel moved beside the plan's prediction. Exit status 0 only when both differences are\n"
    "<= 1e-5 and the halo bytes match exactly. SPEC is the topology grammar of docs/topologies.md\n"
    "(required, designed, ring, required+ring, file:EDGES, ...). By default (--cross-edges strict)\n"
    "the topology is used as given, so one that lacks a required link fails naming it; keep adds\n"
    "the required links, drop drops the data edges across missing links (and the centralized pass\n"
    "runs on the same reduced graph), relay forwards the rows of a missing link along shortest\n"
    "paths of the topology (docs/relay.md; bytes split into direct and relayed). Under mpirun\n"
    "(-np M+1, --transport mpi) rank 0 coordinates and M is the number of other ranks. --order K\n"
    "verifies the graph filter of order K instead of the GCN (K halo exchanges per layer each way;\n"
    "the plan's prediction counts all of them). A traffic folder (docs/traffic.md) verifies the\n"
    "regression filter (order --order, default 2) on the first training mini-batch of --batch\n"
    "snapshots: every agent fills it from its own sensors' series. --compress-halo LIST (comma\n"
    "separated: off, 16 (fp16), bf16, 8, 4, 2 (q8, q4, q2); --halo-rounding for those) runs the\n"
    "distributed pass "
    "once per setting with compressed halo rows and reports each one's error against the exact\n"
    "pass (max abs, relative) instead of failing on it; the rows' float32 bytes must match the plan.\n"
    "--model FILE verifies at the weights of a trained model (a training run's RUNDIR/model, of the\n"
    "same widths) instead of the seed's initial ones.";

#define S_TOL 1e-5

/* max |a - b| / max |b| over n entries; *abs_out (may be NULL): max |a - b|. */
static double s_rel_diff(const float *a, const float *b, int64_t n, double *abs_out) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > num || d != d) num = d != d ? INFINITY : d;
        if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
    }
    if (abs_out) *abs_out = num;
    return den > 0 ? num / den : num;
}

#define S_MAX_SETTINGS 8

/* What the steps of one verification share. */
typedef struct s_verify {
    dgcn_data_source src;
    int agents, hidden, deadline_ms, training, order, batch;
    const char *transport, *partition, *topology, *out, *tcp, *cross;
    const char *compress, *rounding; /* --compress-halo LIST, --halo-rounding (NULL: none) */
    const char *model_path;          /* --model: verify at these weights (NULL: the init's) */
    dgcn_model_file model;           /* read from model_path */
    uint64_t seed;
    dgcn_cross_edges policy;
    dgcn_dataset ds;
    dgcn_csr a_hat;
    dgcn_plan plan;
    dgcn_run_config cfg;
    int32_t nb;            /* signals per row (regression: the batch) */
    int32_t c;             /* logits per row */
    int64_t np;            /* parameters */
    float *dist_logits;    /* (n, c) by global id */
    float *dist_grad;      /* (np) sum of the agents' gradients */
    float *central_logits; /* (n, c) */
    float *central_grad;   /* (np) */
    dgcn_traffic tr;       /* the agents' summed traffic */
    uint64_t relayed[DGCN_CH_COUNT];
    uint64_t raw[DGCN_CH_COUNT]; /* float32 bytes of the rows sent compressed */
    double d_logits, d_grad;
    /* --compress-halo: per setting, its codec and errors (max abs, relative) and halo bytes */
    int n_set;
    dgcn_halo_codec codec[S_MAX_SETTINGS];
    double abs_logits[S_MAX_SETTINGS], rel_logits[S_MAX_SETTINGS];
    double abs_grad[S_MAX_SETTINGS], rel_grad[S_MAX_SETTINGS];
    uint64_t halo_sent[S_MAX_SETTINGS], halo_raw[S_MAX_SETTINGS];
    int raw_ok[S_MAX_SETTINGS];
} s_verify;

/* The plan and the run configuration: the GCN or filter of --order, or for a traffic folder the
 * regression filter on the first training batch (agent/run.h). */
static int s_plan(s_verify *v) {
    int rc = DGCN_OK;
    DGCN_CHECK(dgcn_data_source_open(&v->src, &v->ds, &v->a_hat));
    dgcn_plan_opts po;
    dgcn_plan_defaults(&po);
    po.agents = v->agents;
    po.partition = v->partition;
    po.seed = v->seed;
    po.topology = v->topology;
    po.cross_edges = v->cross;
    po.connected = 0; /* one pass needs no consensus */
    DGCN_CHECK(dgcn_plan_build(&v->plan, &v->ds, &v->a_hat, &po));

    dgcn_run_config *cfg = &v->cfg;
    *cfg = dgcn_run_config_defaults(v->ds.d, v->ds.c);
    cfg->model.dims[1] = v->hidden;
    if (v->order >= 0) {
        cfg->model.kind = DGCN_MODEL_FILTER;
        cfg->model.order = v->order;
    }
    cfg->model.dropout = v->training ? 0.5f : 0.0f;
    cfg->training = v->training;
    cfg->init_seed = v->seed;
    cfg->dropout_seed = v->seed;
    const dgcn_traffic_samples *series = v->ds.samples;
    v->nb = 1;
    if (series) {
        if (v->batch > series->n_train)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "--batch %d exceeds the %d training samples",
                                      v->batch, (int)series->n_train));
        cfg->task = DGCN_TASK_REGRESSION;
        cfg->batch = v->nb = v->batch;
        cfg->batch_seed = v->seed;
        cfg->model.kind = DGCN_MODEL_FILTER;
        cfg->model.order = v->order = v->order >= 0 ? v->order : 2;
        cfg->model.n_layers = 1;
        cfg->model.dims[1] = v->ds.c;
        cfg->model.weight_decay = 0.0f;
    }
    DGCN_CHECK(dgcn_model_config_check(&cfg->model));
    v->np = dgcn_model_n_params(&cfg->model);
    v->c = v->ds.c * v->nb;
    if (v->model_path) { /* the weights of a trained model, of the same shape */
        DGCN_CHECK(dgcn_model_file_read(v->model_path, &v->model));
        const dgcn_model_config *mm = &v->model.model;
        int same = mm->kind == cfg->model.kind && mm->n_layers == cfg->model.n_layers &&
                   v->model.n_params == v->np;
        for (int l = 0; same && l <= mm->n_layers; l++) same = mm->dims[l] == cfg->model.dims[l];
        if (!same)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "--model %s: %lld parameters of %d layers (hidden %d) do not "
                                      "fit this verification's %lld (hidden %d; see --hidden, "
                                      "--order)",
                                      v->model_path, (long long)v->model.n_params, mm->n_layers,
                                      mm->n_layers > 1 ? mm->dims[1] : 0, (long long)v->np,
                                      cfg->model.n_layers > 1 ? cfg->model.dims[1] : 0));
    }
fail:
    return rc;
}

/* The distributed pass: every agent's logits (by global id) and the sum of their gradients and
 * traffic. */
static int s_distributed(s_verify *v, const char *sockdir) {
    int rc = DGCN_OK;
    int32_t m = v->agents;
    dgcn_ctl_setup *setups = NULL;
    dgcn_session *sess = NULL;
    dgcn_ctl_state *states = NULL;
    DGCN_CHECK(dgcn_plan_setups(&v->plan, &v->cfg, 1, &setups));
    if (v->model.theta) { /* every agent starts from the model's weights (agent/run.h) */
        DGCN_ALLOC(states, m);
        for (int32_t k = 0; k < m; k++) {
            states[k].agent = k;
            states[k].n_params = states[k].n_vec = v->np;
            states[k].vec = v->model.theta;
            setups[k].state = &states[k];
        }
    }
    dgcn_session_opts so = {v->transport, m, v->deadline_ms, sockdir, v->tcp, NULL, 0,
                            NULL,         0, NULL,           0};
    DGCN_CHECK(dgcn_session_start(&sess, &so));
    DGCN_CHECK(dgcn_session_setup(sess, setups));

    const int64_t np = v->np;
    const int32_t c = v->c;
    free(v->dist_logits), free(v->dist_grad);
    v->dist_logits = v->dist_grad = NULL;
    memset(&v->tr, 0, sizeof v->tr);
    memset(v->relayed, 0, sizeof v->relayed);
    memset(v->raw, 0, sizeof v->raw);
    DGCN_ALLOC(v->dist_logits, (size_t)v->ds.n * c);
    DGCN_ALLOC(v->dist_grad, np);
    int got_logits = 0, got_grad = 0;
    while (got_logits < m || got_grad < m) {
        dgcn_ctl_msg msg;
        DGCN_CHECK(dgcn_session_recv(sess, &msg, -1));
        dgcn_ctl_report *r = &msg.u.report;
        const dgcn_shard *sh = &v->plan.shards[r->agent];
        if (r->iter == DGCN_RUN_REPORT_LOGITS && r->n_params == (int64_t)sh->n_own * c) {
            for (int32_t i = 0; i < sh->n_own; i++)
                memcpy(v->dist_logits + (size_t)sh->gid[i] * c, r->params + (size_t)i * c,
                       sizeof(float) * (size_t)c);
            got_logits++;
        } else if (r->iter == DGCN_RUN_REPORT_GRADIENT && r->n_params == np) {
            for (int64_t i = 0; i < np; i++) v->dist_grad[i] += r->params[i];
            for (int ch = 0; ch < DGCN_CH_COUNT; ch++) {
                v->tr.bytes[ch] += r->traffic.bytes[ch];
                v->tr.messages[ch] += r->traffic.messages[ch];
                v->relayed[ch] += r->relayed[ch];
                v->raw[ch] += r->halo_raw[ch];
            }
            got_grad++;
        } else {
            rc = dgcn_error_set(DGCN_EPROTO,
                                "agent %d sent report %" PRId64 " with %" PRId64 " values",
                                r->agent, r->iter, r->n_params);
        }
        dgcn_ctl_msg_fini(&msg);
        if (rc) goto fail;
    }
    DGCN_CHECK(dgcn_session_finish(sess));
fail:
    dgcn_session_destroy(&sess);
    dgcn_plan_setups_free(&setups, m);
    free(states);
    return rc;
}

/* The same pass centrally, kept for the comparisons. */
static int s_central(s_verify *v) {
    int rc = DGCN_OK;
    const dgcn_dataset *ds = &v->ds;
    const dgcn_traffic_samples *series = ds->samples;
    int32_t nb = v->nb;
    int64_t np = v->np;
    float *theta = NULL, *central_grad = NULL;
    float *xb = NULL, *yb = NULL; /* regression: the whole graph's mini-batch */
    int32_t *gid_all = NULL, *perm = NULL;
    dgcn_gcn *central = NULL;
    DGCN_ALLOC(theta, np);
    DGCN_ALLOC(central_grad, np);
    DGCN_ALLOC(gid_all, ds->n);
    for (int32_t i = 0; i < ds->n; i++) gid_all[i] = i;
    dgcn_model_init(&v->cfg.model, theta, v->cfg.init_seed);
    if (v->model.theta) memcpy(theta, v->model.theta, sizeof(float) * (size_t)np);
    dgcn_block blk = {.n_own = ds->n,
                      .a = v->plan.a_hat,
                      .x = &ds->x,
                      .gid = gid_all,
                      .label = ds->label,
                      .split = ds->split,
                      .n_train_global = ds->n_train,
                      .reg_share = 1.0f};
    if (series) {
        DGCN_ALLOC(perm, series->n_train);
        DGCN_ALLOC(xb, (size_t)ds->n * nb * ds->d);
        DGCN_ALLOC(yb, (size_t)ds->n * nb);
        dgcn_traffic_epoch_order(v->cfg.batch_seed, 0, series->n_train, perm);
        dgcn_traffic_fill(series, perm, nb, gid_all, ds->n, xb, yb);
        blk.x = NULL;
        blk.batch = nb, blk.xd = xb, blk.y = yb;
        blk.n_values_global = (double)ds->n * nb;
    }
    DGCN_CHECK(dgcn_gcn_new(&central, &v->cfg.model, &blk, NULL, NULL));
    DGCN_CHECK(dgcn_gcn_forward(central, theta, 1, v->cfg.dropout_seed, 0, NULL));
    DGCN_CHECK(dgcn_gcn_backward(central, theta, central_grad));
    DGCN_ALLOC(v->central_logits, (size_t)ds->n * v->c);
    memcpy(v->central_logits, dgcn_gcn_logits(central), sizeof(float) * (size_t)ds->n * v->c);
    v->central_grad = central_grad;
    central_grad = NULL;
fail:
    dgcn_gcn_destroy(&central);
    free(theta);
    free(central_grad);
    free(gid_all);
    free(perm), free(xb), free(yb);
    return rc;
}

/* The plan's halo bytes per halo channel: direct and relayed. */
static void s_predicted(const s_verify *v, uint64_t *direct, uint64_t *relay) {
    int32_t widths[DGCN_MAX_LAYERS * DGCN_MAX_ORDER];
    int n_x = dgcn_model_exchange_widths(&v->cfg.model, widths);
    for (int x = 0; x < n_x; x++) widths[x] *= v->nb;
    *direct = dgcn_plan_halo_bytes(&v->plan, widths, n_x);
    *relay = dgcn_plan_relay_bytes(&v->plan, widths, n_x);
}

/* The differences of the last distributed pass from the central one. */
static void s_compare(s_verify *v, double *abs_logits, double *abs_grad) {
    v->d_logits = s_rel_diff(v->dist_logits, v->central_logits, (int64_t)v->ds.n * v->c,
                             abs_logits);
    v->d_grad = s_rel_diff(v->dist_grad, v->central_grad, v->np, abs_grad);
}

/* The first line: what was verified. */
static void s_header(const s_verify *v) {
    char model_name[64] = "gcn";
    if (v->order >= 0) snprintf(model_name, sizeof model_name, "filter of order %d", v->order);
    if (v->ds.samples)
        snprintf(model_name, sizeof model_name, "regression filter of order %d on %d signals",
                 v->order, (int)v->nb);
    printf("verify: %d agents over %s, partition %s, topology %s, cross edges %s, %d nodes, %s, "
           "%" PRId64 " params, %s gradient, %d hop(s) per exchange\n",
           v->agents, dgcn_transport_kind(v->transport), v->partition, v->topology,
           dgcn_cross_edges_name(v->policy), v->ds.n, model_name, v->np,
           v->training ? "training-mode (dropout)" : "dropout-free", v->plan.hops_max);
    if (v->model.theta)
        printf("  at the weights of %s (%lld iterations of %d agents)\n", v->model_path,
               (long long)v->model.iterations, (int)v->model.agents);
}

/* The verdict: both differences, the bytes per channel beside the plan's prediction; returns the
 * exit status (0: PASS). */
static int s_report(const s_verify *v) {
    uint64_t predicted, pred_relay;
    s_predicted(v, &predicted, &pred_relay);
    const dgcn_traffic *tr = &v->tr;
    const uint64_t *relayed = v->relayed;
    s_header(v);
    printf("  logits    max relative difference %.3e %s\n", v->d_logits,
           v->d_logits <= S_TOL ? "ok" : "FAIL");
    printf("  gradient  max relative difference %.3e %s\n", v->d_grad,
           v->d_grad <= S_TOL ? "ok" : "FAIL");
    int bytes_ok = 1;
    for (int ch = DGCN_CH_HALO_FWD; ch <= DGCN_CH_HALO_BWD; ch++)
        bytes_ok = bytes_ok && tr->bytes[ch] - relayed[ch] == predicted &&
                   relayed[ch] == pred_relay;
    printf("  %-9s %12s %12s %12s %12s %10s\n", "channel", "direct", "predicted", "relayed",
           "predicted", "messages");
    for (int ch = 0; ch < DGCN_CH_COUNT; ch++) {
        char pred[32] = "-", pred_r[32] = "-";
        if (ch == DGCN_CH_HALO_FWD || ch == DGCN_CH_HALO_BWD) {
            snprintf(pred, sizeof pred, "%" PRIu64, predicted);
            snprintf(pred_r, sizeof pred_r, "%" PRIu64, pred_relay);
        }
        if (ch == DGCN_CH_PARAMS) snprintf(pred, sizeof pred, "0");
        printf("  %-9s %12" PRIu64 " %12s %12" PRIu64 " %12s %10" PRIu64 "\n",
               dgcn_channel_name(ch), tr->bytes[ch] - relayed[ch], pred, relayed[ch], pred_r,
               tr->messages[ch]);
    }
    bytes_ok = bytes_ok && tr->bytes[DGCN_CH_PARAMS] == 0;
    printf("  halo bytes %s\n", bytes_ok ? "match the plan" : "DIFFER from the plan");
    int status = (v->d_logits <= S_TOL && v->d_grad <= S_TOL && bytes_ok) ? 0 : 1;
    printf("verify: %s\n", status == 0 ? "PASS" : "FAIL");
    return status;
}

/* --compress-halo: one distributed pass per setting of the list, each compared with the central
 * pass; a table of the errors and bytes. Returns the exit status: 0 when every setting's float32
 * row bytes match the plan and "off" (if listed) is exact. */
static int s_compressed(s_verify *v, const char *sockdir, int *status) {
    int rc = DGCN_OK;
    uint64_t predicted, pred_relay;
    s_predicted(v, &predicted, &pred_relay);
    int ok = 1;
    for (int k = 0; k < v->n_set; k++) {
        v->cfg.halo_codec = v->codec[k];
        DGCN_CHECK(s_distributed(v, sockdir));
        s_compare(v, &v->abs_logits[k], &v->abs_grad[k]);
        v->rel_logits[k] = v->d_logits, v->rel_grad[k] = v->d_grad;
        v->halo_sent[k] = v->tr.bytes[DGCN_CH_HALO_FWD] + v->tr.bytes[DGCN_CH_HALO_BWD];
        v->halo_raw[k] = v->codec[k] == DGCN_HALO_OFF
                             ? v->halo_sent[k]
                             : v->raw[DGCN_CH_HALO_FWD] + v->raw[DGCN_CH_HALO_BWD];
        v->raw_ok[k] = v->halo_raw[k] == 2 * (predicted + pred_relay);
        if (v->codec[k] == DGCN_HALO_OFF)
            v->raw_ok[k] = v->raw_ok[k] && v->d_logits <= S_TOL && v->d_grad <= S_TOL;
        ok = ok && v->raw_ok[k];
    }
    s_header(v);
    printf("  halo rows compressed (q8/q4/q2 rounding %s), each setting against the exact pass:\n",
           dgcn_halo_rounding_name((dgcn_halo_rounding)v->cfg.halo_rounding));
    printf("  %-7s %11s %11s %11s %11s %12s %12s %7s\n", "setting", "logits abs", "logits rel",
           "grad abs", "grad rel", "halo bytes", "as float32", "ratio");
    for (int k = 0; k < v->n_set; k++)
        printf("  %-7s %11.3e %11.3e %11.3e %11.3e %12" PRIu64 " %12" PRIu64 " %7.2f %s\n",
               dgcn_halo_codec_name(v->codec[k]), v->abs_logits[k], v->rel_logits[k],
               v->abs_grad[k], v->rel_grad[k], v->halo_sent[k], v->halo_raw[k],
               v->halo_sent[k] ? (double)v->halo_raw[k] / (double)v->halo_sent[k] : 0.0,
               v->raw_ok[k]                   ? "ok"
               : v->codec[k] == DGCN_HALO_OFF ? "FAIL"
                                              : "DIFFER from the plan");
    printf("  the plan's halo bytes as float32: %" PRIu64 "\n", 2 * (predicted + pred_relay));
    *status = ok ? 0 : 1;
    printf("verify: %s\n", ok ? "PASS (errors reported, not judged)" : "FAIL");
fail:
    return rc;
}

/* The settings of --compress-halo into v. */
static int s_settings(s_verify *v) {
    char buf[256];
    v->n_set = 0;
    if (v->rounding) {
        dgcn_halo_rounding r;
        int rc = dgcn_halo_rounding_parse(v->rounding, &r);
        if (rc != DGCN_OK) return rc;
        v->cfg.halo_rounding = r;
    }
    if (!v->compress) return DGCN_OK;
    snprintf(buf, sizeof buf, "%s", v->compress);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (v->n_set == S_MAX_SETTINGS)
            return dgcn_error_set(DGCN_EINVAL, "--compress-halo: at most %d settings",
                                  S_MAX_SETTINGS);
        int rc = dgcn_halo_codec_parse(t, &v->codec[v->n_set]);
        if (rc != DGCN_OK) return dgcn_error_wrap(rc, "--compress-halo: ");
        v->n_set++;
    }
    return DGCN_OK;
}

/* The options into v; 1 after --help, 2 on a usage error, else 0. */
static int s_args(s_verify *v, int argc, char **argv) {
    const dgcn_arg table[] = {
        DGCN_DATA_SOURCE_ARGS(&v->src),
        {"agents", DGCN_ARG_INT, &v->agents, "number of agents M (mpi: the ranks after rank 0)", 1,
         1e6},
        {"transport", DGCN_ARG_STRING, &v->transport,
         "mpi|zmq|inproc or an address (inproc://NAME, ipc://PATH, tcp://HOST:PORT, mpi://)", 1, 0},
        {"partition", DGCN_ARG_STRING, &v->partition, "bfs|metis|random|block", 1, 0},
        {"seed", DGCN_ARG_U64, &v->seed, "seed of the partition, the weights and the dropout masks",
         1, 0},
        {"topology", DGCN_ARG_STRING, &v->topology,
         "topology spec: required|designed|ring|...|A+B|file:EDGES", 1, 0},
        {"cross-edges", DGCN_ARG_STRING, &v->cross,
         "strict (as given) | keep (add the required links) | drop", 1, 0},
        {"hidden", DGCN_ARG_INT, &v->hidden, "hidden width of the 2-layer GCN", 1, 1e6},
        {"order", DGCN_ARG_INT, &v->order, "graph filter of order K (0..8) instead of the GCN", 0,
         DGCN_MAX_ORDER},
        {"training", DGCN_ARG_FLAG, &v->training,
         "compare the training-mode gradient (dropout 0.5)", 1, 0},
        {"deadline-ms", DGCN_ARG_INT, &v->deadline_ms, "bound on every wait, ms", 1, 1e9},
        {"out", DGCN_ARG_STRING, &v->out,
         "folder for the zmq ipc sockets (default /tmp/dgcn-verify-PID)", 1, 0},
        {"tcp", DGCN_ARG_STRING, &v->tcp, "zmq: tcp endpoints on this host instead of ipc", 1, 0},
        {"batch", DGCN_ARG_INT, &v->batch, "regression: snapshots in the mini-batch", 1, 1 << 20},
        {"compress-halo", DGCN_ARG_STRING, &v->compress,
         "settings to compare with the exact pass, comma separated: off|16|bf16|8|4|2", 1, 0},
        {"model", DGCN_ARG_STRING, &v->model_path,
         "verify at the weights of this model file (a training run's RUNDIR/model) instead of "
         "the seed's initial ones",
         1, 0},
        {"halo-rounding", DGCN_ARG_STRING, &v->rounding,
         "nearest|stochastic: how --compress-halo 8, 4, 2 round", 1, 0},
        DGCN_ARGS_END};
    int a = dgcn_args_parse(s_usage, table, argc, argv);
    return a == 1 ? 1 : a ? 2 : 0;
}

int dgcn_cmd_verify(int argc, char **argv) {
    s_verify *v = calloc(1, sizeof *v);
    if (!v) {
        fprintf(stderr, "dgcn verify: out of memory\n");
        return 1;
    }
    dgcn_data_source_defaults(&v->src);
    v->agents = 4, v->hidden = 16, v->deadline_ms = 30000, v->training = 0, v->order = -1;
    v->batch = 32;
    v->transport = "zmq", v->partition = "bfs", v->topology = "required", v->out = NULL;
    v->tcp = NULL, v->cross = "strict";
    v->seed = 1;
    int a = s_args(v, argc, argv);
    if (a) {
        free(v);
        return a == 1 ? 0 : 2;
    }

    int rc = DGCN_OK, status = 1;
    dgcn_signal_install();
    if (dgcn_transport_lookup(v->transport, NULL) || dgcn_cross_edges_parse(v->cross, &v->policy)) {
        fprintf(stderr, "dgcn verify: %s\n", dgcn_error_msg());
        free(v);
        return 2;
    }
    {
        int is_agent = 0;
        int32_t m = v->agents;
        int runs = 1; /* mpi: the agent ranks run one session per --compress-halo setting */
        for (const char *c = v->compress; c && *c; c++) runs += *c == ',';
        rc = dgcn_session_job_enter(v->transport, &argc, &argv, v->deadline_ms, runs, &is_agent,
                                    &m);
        if (is_agent || rc) {
            if (rc)
                fprintf(stderr, "dgcn verify (%s %s): %s\n", v->transport,
                        is_agent ? "agent" : "rank 0", dgcn_error_msg());
            free(v);
            return rc ? 1 : 0;
        }
        v->agents = m;
    }
    char sockdir[512];
    snprintf(sockdir, sizeof sockdir, "%s", v->out ? v->out : "");
    if (!v->out) snprintf(sockdir, sizeof sockdir, "/tmp/dgcn-verify-%d", (int)getpid());

    DGCN_CHECK(s_plan(v));
    DGCN_CHECK(s_settings(v));
    DGCN_CHECK(s_central(v));
    if (v->n_set > 0) {
        DGCN_CHECK(s_compressed(v, sockdir, &status));
    } else {
        DGCN_CHECK(s_distributed(v, sockdir));
        s_compare(v, NULL, NULL);
        DGCN_CHECK(dgcn_signal_check("verify"));
        status = s_report(v);
    }

fail:
    if (rc) {
        fprintf(stderr, "dgcn verify: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
        status = dgcn_signal_exit_status(rc, 1);
    }
    if (!v->out) rmdir(sockdir);
    free(v->dist_logits);
    free(v->dist_grad);
    free(v->central_logits);
    free(v->central_grad);
    dgcn_model_file_fini(&v->model);
    dgcn_plan_fini(&v->plan);
    dgcn_csr_fini(&v->a_hat);
    dgcn_dataset_fini(&v->ds);
    free(v);
    if (status == 0) dgcn_session_job_leave();
    return status;
}
