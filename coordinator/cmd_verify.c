/* coordinator/cmd_verify.c: `dgcn verify`: one distributed forward and backward against the
 * centralized computation, and the bytes each channel moved against the plan's prediction.
 *
 * Every agent starts from the same Glorot weights (seed --seed); each computes its block's logits
 * and its local gradient g_k once. The coordinator runs the same model on the whole graph
 * (n_halo = 0) and compares: logits matched by global id, and sum_k g_k against the central
 * gradient (the blocks' losses add up to the central loss, nn/gcn.h). The difference printed is
 * max_i |dist_i - central_i| / max_i |central_i| (relative to the vector's largest entry). */
#include "agent/run.h"
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/data_source.h"
#include "coordinator/plan.h"
#include "coordinator/session.h"
#include "core/error.h"
#include "core/signal.h"
#include "nn/gcn.h"

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
    "snapshots: every agent fills it from its own sensors' series.";

#define S_TOL 1e-5

/* max |a - b| / max |b| over n entries. */
static double s_rel_diff(const float *a, const float *b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > num || d != d) num = d != d ? INFINITY : d;
        if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
    }
    return den > 0 ? num / den : num;
}

/* What the steps of one verification share. */
typedef struct s_verify {
    dgcn_data_source src;
    int agents, hidden, deadline_ms, training, order, batch;
    const char *transport, *partition, *topology, *out, *tcp, *cross;
    uint64_t seed;
    dgcn_cross_edges policy;
    dgcn_dataset ds;
    dgcn_csr a_hat;
    dgcn_plan plan;
    dgcn_run_config cfg;
    int32_t nb;         /* signals per row (regression: the batch) */
    int32_t c;          /* logits per row */
    int64_t np;         /* parameters */
    float *dist_logits; /* (n, c) by global id */
    float *dist_grad;   /* (np) sum of the agents' gradients */
    dgcn_traffic tr;    /* the agents' summed traffic */
    uint64_t relayed[DGCN_CH_COUNT];
    double d_logits, d_grad;
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
    DGCN_CHECK(dgcn_plan_setups(&v->plan, &v->cfg, 1, &setups));
    dgcn_session_opts so = {v->transport, m, v->deadline_ms, sockdir, v->tcp, NULL, 0,
                            NULL,         0, NULL,           0};
    DGCN_CHECK(dgcn_session_start(&sess, &so));
    DGCN_CHECK(dgcn_session_setup(sess, setups));

    int64_t np = v->np = dgcn_model_n_params(&v->cfg.model);
    int32_t c = v->c = v->ds.c * v->nb;
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
    return rc;
}

/* The same pass centrally, and the differences. */
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
    v->d_logits = s_rel_diff(v->dist_logits, dgcn_gcn_logits(central), (int64_t)ds->n * v->c);
    v->d_grad = s_rel_diff(v->dist_grad, central_grad, np);
fail:
    dgcn_gcn_destroy(&central);
    free(theta);
    free(central_grad);
    free(gid_all);
    free(perm), free(xb), free(yb);
    return rc;
}

/* The verdict: both differences, the bytes per channel beside the plan's prediction; returns the
 * exit status (0: PASS). */
static int s_report(const s_verify *v) {
    int32_t widths[DGCN_MAX_LAYERS * DGCN_MAX_ORDER];
    int n_x = dgcn_model_exchange_widths(&v->cfg.model, widths);
    for (int x = 0; x < n_x; x++) widths[x] *= v->nb;
    uint64_t predicted = dgcn_plan_halo_bytes(&v->plan, widths, n_x);
    uint64_t pred_relay = dgcn_plan_relay_bytes(&v->plan, widths, n_x);
    const dgcn_traffic *tr = &v->tr;
    const uint64_t *relayed = v->relayed;

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
        rc = dgcn_session_job_enter(v->transport, &argc, &argv, v->deadline_ms, 1, &is_agent, &m);
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
    DGCN_CHECK(s_distributed(v, sockdir));
    DGCN_CHECK(s_central(v));
    DGCN_CHECK(dgcn_signal_check("verify"));
    status = s_report(v);

fail:
    if (rc) {
        fprintf(stderr, "dgcn verify: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
        status = dgcn_signal_exit_status(rc, 1);
    }
    if (!v->out) rmdir(sockdir);
    free(v->dist_logits);
    free(v->dist_grad);
    dgcn_plan_fini(&v->plan);
    dgcn_csr_fini(&v->a_hat);
    dgcn_dataset_fini(&v->ds);
    free(v);
    if (status == 0) dgcn_session_job_leave();
    return status;
}
