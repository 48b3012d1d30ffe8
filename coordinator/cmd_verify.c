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

int dgcn_cmd_verify(int argc, char **argv) {
    dgcn_data_source src;
    dgcn_data_source_defaults(&src);
    int agents = 4, hidden = 16, deadline_ms = 30000, training = 0, order = -1, batch = 32;
    const char *transport = "zmq", *partition = "bfs", *topology = "required", *out = NULL,
               *tcp = NULL, *cross = "strict";
    uint64_t seed = 1;
    const dgcn_arg table[] = {
        DGCN_DATA_SOURCE_ARGS(&src),
        {"agents", DGCN_ARG_INT, &agents, "number of agents M (mpi: the ranks after rank 0)", 1,
         1e6},
        {"transport", DGCN_ARG_STRING, &transport,
         "mpi|zmq|inproc or an address (inproc://NAME, ipc://PATH, tcp://HOST:PORT, mpi://)", 1, 0},
        {"partition", DGCN_ARG_STRING, &partition, "bfs|metis|random|block", 1, 0},
        {"seed", DGCN_ARG_U64, &seed, "seed of the partition, the weights and the dropout masks", 1,
         0},
        {"topology", DGCN_ARG_STRING, &topology,
         "topology spec: required|designed|ring|...|A+B|file:EDGES", 1, 0},
        {"cross-edges", DGCN_ARG_STRING, &cross,
         "strict (as given) | keep (add the required links) | drop", 1, 0},
        {"hidden", DGCN_ARG_INT, &hidden, "hidden width of the 2-layer GCN", 1, 1e6},
        {"order", DGCN_ARG_INT, &order, "graph filter of order K (0..8) instead of the GCN", 0,
         DGCN_MAX_ORDER},
        {"training", DGCN_ARG_FLAG, &training, "compare the training-mode gradient (dropout 0.5)",
         1, 0},
        {"deadline-ms", DGCN_ARG_INT, &deadline_ms, "bound on every wait, ms", 1, 1e9},
        {"out", DGCN_ARG_STRING, &out,
         "folder for the zmq ipc sockets (default /tmp/dgcn-verify-PID)", 1, 0},
        {"tcp", DGCN_ARG_STRING, &tcp, "zmq: tcp endpoints on this host instead of ipc", 1, 0},
        {"batch", DGCN_ARG_INT, &batch, "regression: snapshots in the mini-batch", 1, 1 << 20},
        DGCN_ARGS_END};
    int a = dgcn_args_parse(s_usage, table, argc, argv);
    if (a == 1) return 0;
    if (a) return 2;

    int rc = DGCN_OK, status = 1;
    dgcn_signal_install();
    dgcn_cross_edges policy;
    if (dgcn_transport_lookup(transport, NULL) || dgcn_cross_edges_parse(cross, &policy)) {
        fprintf(stderr, "dgcn verify: %s\n", dgcn_error_msg());
        return 2;
    }
    {
        int is_agent = 0;
        int32_t m = agents;
        rc = dgcn_session_job_enter(transport, &argc, &argv, deadline_ms, 1, &is_agent, &m);
        if (is_agent || rc) {
            if (rc)
                fprintf(stderr, "dgcn verify (%s %s): %s\n", transport,
                        is_agent ? "agent" : "rank 0", dgcn_error_msg());
            return rc ? 1 : 0;
        }
        agents = m;
    }

    dgcn_dataset ds;
    dgcn_csr a_hat;
    memset(&ds, 0, sizeof ds);
    memset(&a_hat, 0, sizeof a_hat);
    int32_t m = agents;
    dgcn_plan plan;
    memset(&plan, 0, sizeof plan);
    dgcn_ctl_setup *setups = NULL;
    dgcn_session *sess = NULL;
    float *theta = NULL, *dist_logits = NULL, *dist_grad = NULL, *central_grad = NULL;
    float *xb = NULL, *yb = NULL; /* regression: the whole graph's mini-batch */
    int32_t *gid_all = NULL, *perm = NULL;
    dgcn_gcn *central = NULL;
    char sockdir[512];
    snprintf(sockdir, sizeof sockdir, "%s", out ? out : "");
    if (!out) snprintf(sockdir, sizeof sockdir, "/tmp/dgcn-verify-%d", (int)getpid());

    DGCN_CHECK(dgcn_data_source_open(&src, &ds, &a_hat));
    dgcn_plan_opts po;
    dgcn_plan_defaults(&po);
    po.agents = m;
    po.partition = partition;
    po.seed = seed;
    po.topology = topology;
    po.cross_edges = cross;
    po.connected = 0; /* one pass needs no consensus */
    DGCN_CHECK(dgcn_plan_build(&plan, &ds, &a_hat, &po));

    dgcn_run_config cfg = dgcn_run_config_defaults(ds.d, ds.c);
    cfg.model.dims[1] = hidden;
    if (order >= 0) {
        cfg.model.kind = DGCN_MODEL_FILTER;
        cfg.model.order = order;
    }
    cfg.model.dropout = training ? 0.5f : 0.0f;
    cfg.training = training;
    cfg.init_seed = seed;
    cfg.dropout_seed = seed;
    const dgcn_traffic_samples *series = ds.samples;
    int32_t nb = 1; /* signals per row */
    if (series) {   /* regression: one filter layer on the first training batch (agent/run.h) */
        if (batch > series->n_train)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "--batch %d exceeds the %d training samples",
                                      batch, (int)series->n_train));
        cfg.task = DGCN_TASK_REGRESSION;
        cfg.batch = nb = batch;
        cfg.batch_seed = seed;
        cfg.model.kind = DGCN_MODEL_FILTER;
        cfg.model.order = order = order >= 0 ? order : 2;
        cfg.model.n_layers = 1;
        cfg.model.dims[1] = ds.c;
        cfg.model.weight_decay = 0.0f;
    }
    DGCN_CHECK(dgcn_model_config_check(&cfg.model));
    DGCN_CHECK(dgcn_plan_setups(&plan, &cfg, 1, &setups));

    dgcn_session_opts so = {transport, m, deadline_ms, sockdir, tcp, NULL, 0, NULL, 0};
    DGCN_CHECK(dgcn_session_start(&sess, &so));
    DGCN_CHECK(dgcn_session_setup(sess, setups));

    int64_t np = dgcn_model_n_params(&cfg.model);
    int32_t c = ds.c * nb; /* logits per row */
    DGCN_ALLOC(dist_logits, (size_t)ds.n * c);
    DGCN_ALLOC(dist_grad, np);
    dgcn_traffic tr;
    memset(&tr, 0, sizeof tr);
    uint64_t relayed[DGCN_CH_COUNT] = {0};
    int got_logits = 0, got_grad = 0;
    while (got_logits < m || got_grad < m) {
        dgcn_ctl_msg msg;
        DGCN_CHECK(dgcn_session_recv(sess, &msg, -1));
        dgcn_ctl_report *r = &msg.u.report;
        const dgcn_shard *sh = &plan.shards[r->agent];
        if (r->iter == DGCN_RUN_REPORT_LOGITS && r->n_params == (int64_t)sh->n_own * c) {
            for (int32_t i = 0; i < sh->n_own; i++)
                memcpy(dist_logits + (size_t)sh->gid[i] * c, r->params + (size_t)i * c,
                       sizeof(float) * (size_t)c);
            got_logits++;
        } else if (r->iter == DGCN_RUN_REPORT_GRADIENT && r->n_params == np) {
            for (int64_t i = 0; i < np; i++) dist_grad[i] += r->params[i];
            for (int ch = 0; ch < DGCN_CH_COUNT; ch++) {
                tr.bytes[ch] += r->traffic.bytes[ch];
                tr.messages[ch] += r->traffic.messages[ch];
                relayed[ch] += r->relayed[ch];
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
    dgcn_session_destroy(&sess);

    /* The same pass centrally. */
    DGCN_ALLOC(theta, np);
    DGCN_ALLOC(central_grad, np);
    DGCN_ALLOC(gid_all, ds.n);
    for (int32_t i = 0; i < ds.n; i++) gid_all[i] = i;
    dgcn_model_init(&cfg.model, theta, cfg.init_seed);
    dgcn_block blk = {.n_own = ds.n,
                      .a = plan.a_hat,
                      .x = &ds.x,
                      .gid = gid_all,
                      .label = ds.label,
                      .split = ds.split,
                      .n_train_global = ds.n_train,
                      .reg_share = 1.0f};
    if (series) {
        DGCN_ALLOC(perm, series->n_train);
        DGCN_ALLOC(xb, (size_t)ds.n * nb * ds.d);
        DGCN_ALLOC(yb, (size_t)ds.n * nb);
        dgcn_traffic_epoch_order(cfg.batch_seed, 0, series->n_train, perm);
        dgcn_traffic_fill(series, perm, nb, gid_all, ds.n, xb, yb);
        blk.x = NULL;
        blk.batch = nb, blk.xd = xb, blk.y = yb;
        blk.n_values_global = (double)ds.n * nb;
    }
    DGCN_CHECK(dgcn_gcn_new(&central, &cfg.model, &blk, NULL, NULL));
    DGCN_CHECK(dgcn_gcn_forward(central, theta, 1, cfg.dropout_seed, 0, NULL));
    DGCN_CHECK(dgcn_gcn_backward(central, theta, central_grad));
    double d_logits = s_rel_diff(dist_logits, dgcn_gcn_logits(central), (int64_t)ds.n * c);
    double d_grad = s_rel_diff(dist_grad, central_grad, np);

    DGCN_CHECK(dgcn_signal_check("verify"));
    int32_t widths[DGCN_MAX_LAYERS * DGCN_MAX_ORDER];
    int n_x = dgcn_model_exchange_widths(&cfg.model, widths);
    for (int x = 0; x < n_x; x++) widths[x] *= nb;
    uint64_t predicted = dgcn_plan_halo_bytes(&plan, widths, n_x);
    uint64_t pred_relay = dgcn_plan_relay_bytes(&plan, widths, n_x);

    char model_name[64] = "gcn";
    if (order >= 0) snprintf(model_name, sizeof model_name, "filter of order %d", order);
    if (series)
        snprintf(model_name, sizeof model_name, "regression filter of order %d on %d signals",
                 order, (int)nb);
    printf("verify: %d agents over %s, partition %s, topology %s, cross edges %s, %d nodes, %s, "
           "%" PRId64 " params, %s gradient, %d hop(s) per exchange\n",
           m, dgcn_transport_kind(transport), partition, topology, dgcn_cross_edges_name(policy),
           ds.n, model_name, np, training ? "training-mode (dropout)" : "dropout-free",
           plan.hops_max);
    printf("  logits    max relative difference %.3e %s\n", d_logits,
           d_logits <= S_TOL ? "ok" : "FAIL");
    printf("  gradient  max relative difference %.3e %s\n", d_grad,
           d_grad <= S_TOL ? "ok" : "FAIL");
    int bytes_ok = 1;
    for (int ch = DGCN_CH_HALO_FWD; ch <= DGCN_CH_HALO_BWD; ch++)
        bytes_ok = bytes_ok && tr.bytes[ch] - relayed[ch] == predicted && relayed[ch] == pred_relay;
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
               dgcn_channel_name(ch), tr.bytes[ch] - relayed[ch], pred, relayed[ch], pred_r,
               tr.messages[ch]);
    }
    bytes_ok = bytes_ok && tr.bytes[DGCN_CH_PARAMS] == 0;
    printf("  halo bytes %s\n", bytes_ok ? "match the plan" : "DIFFER from the plan");
    status = (d_logits <= S_TOL && d_grad <= S_TOL && bytes_ok) ? 0 : 1;
    printf("verify: %s\n", status == 0 ? "PASS" : "FAIL");

fail:
    if (rc) {
        fprintf(stderr, "dgcn verify: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
        status = dgcn_signal_exit_status(rc, 1);
    }
    dgcn_session_destroy(&sess);
    if (!out) rmdir(sockdir);
    dgcn_gcn_destroy(&central);
    free(theta);
    free(central_grad);
    free(dist_logits);
    free(dist_grad);
    free(gid_all);
    free(perm), free(xb), free(yb);
    dgcn_plan_setups_free(&setups, m);
    dgcn_plan_fini(&plan);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
    if (status == 0) dgcn_session_job_leave();
    return status;
}
