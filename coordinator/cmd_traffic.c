/* coordinator/cmd_traffic.c: `dgcn traffic`: the paper's traffic experiment (docs/traffic.md):
 * graph filters of orders 0 (linear), 1, 2 on a sensor graph, several seeds, each a regression
 * run of the training library (coordinator/train.h: the agents on a ring, road links between
 * agents that are not ring neighbours relayed or dropped, and the centralized twin from the same
 * weights and batches), gathered into test MSE and MAE as mean +- std, links used of those
 * possible and bytes per iteration. No training code of its own. */
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/data_source.h"
#include "coordinator/plan.h"
#include "coordinator/rundir.h"
#include "coordinator/train.h"
#include "core/error.h"
#include "core/file.h"
#include "nn/consensus.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char s_usage[] =
    "usage: dgcn traffic (--data DIR | --graph CSV [--steps T] [--gen-seed S])\n"
    "                    [--orders 0,1,2 | --order K] [--seeds 5] [--agents 6] [--topology ring]\n"
    "                    [--cross-edges relay|drop|keep|strict] [--partition bfs]\n"
    "                    [--transport inproc] [--out DIR] [training options]\n"
    "\n"
    "Graph-signal regression (docs/traffic.md): from the past 12 steps of every sensor, predict the\n"
    "next step, with graph filters of the given orders (0 is the linear model). DIR holds one .npz\n"
    "(member data of shape (T, N, F); feature 0 is used) and one from,to,cost .csv, the layout of\n"
    "PeMSD4/PeMSD8. --graph CSV instead generates traffic-like series on that sensor graph into\n"
    "OUT/data (they are NOT PeMS data, and every output says so). Each model and seed is one\n"
    "`dgcn train --data DIR` run, in OUT/order-K-seed-S (its log beside it): the agents and the\n"
    "centralized twin from the same weights and batches; the table gives test MSE and MAE (z-score\n"
    "units) as mean +- std over the seeds, the links the agents used and the bytes they moved per\n"
    "iteration. The agents talk over the topology only (default: a ring of 6); rows of road links\n"
    "between agents that are not neighbours are relayed (--cross-edges relay, the model unchanged)\n"
    "or those links dropped (drop, A_hat renormalized); keep adds every required link.";

/* Parses "0,1,2" into orders[0..*n). */
static int s_parse_orders(const char *s, int *orders, int *n) {
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 8 || *n == 9)
            return dgcn_error_set(DGCN_EINVAL,
                                  "--orders '%s': expected orders 0..8 separated by "
                                  "commas",
                                  s);
        orders[(*n)++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return dgcn_error_set(DGCN_EINVAL, "--orders '%s': unexpected '%c'", s, *end);
    }
    if (*n == 0) return dgcn_error_set(DGCN_EINVAL, "--orders is empty");
    return DGCN_OK;
}

enum { S_MAX_SEEDS = 100, S_MAX_ORDERS = 9 };

typedef struct s_row {
    int order;
    int64_t n_params;
    double mse[2], mse_sd[2], mae[2], mae_sd[2]; /* [0] agents, [1] centralized */
    double rel_gap;                              /* max over seeds |mse - central| / central */
    double halo_bytes, params_bytes, gap;        /* bytes per iteration: means over the seeds */
    double relayed_bytes;                        /* of halo_bytes, forwarded rows */
    double links, required, hops, dropped;       /* means over the seeds */
    int64_t possible;                            /* M (M - 1) / 2 */
} s_row;

/* One model and seed: a regression run of the training library into OUT/order-K-seed-S. */
static int s_run_one(const dgcn_train_opts *base, const char *out, int order, uint64_t seed,
                     dgcn_train_result *r) {
    char dir[4200], log_path[4300];
    snprintf(dir, sizeof dir, "%s/order-%d-seed-%llu", out, order, (unsigned long long)seed);
    snprintf(log_path, sizeof log_path, "%s.log", dir);
    dgcn_train_opts o = *base;
    o.order = order;
    o.plan.seed = seed;
    o.seeds = 1;
    o.out = dir;
    memset(r, 0, sizeof *r);
    int rc = dgcn_rundir_prepare(dir, 1);
    if (rc) return rc;
    o.log = dgcn_file_create(log_path, "w");
    if (!o.log) return dgcn_error_set(DGCN_EIO, "%s: cannot create: %s", log_path, strerror(errno));
    rc = dgcn_train_run(&o, r);
    dgcn_train_result_fini(r);
    if (fclose(o.log) != 0 && rc == DGCN_OK)
        rc = dgcn_error_set(DGCN_EIO, "%s: write failed", log_path);
    if (rc)
        return dgcn_error_wrap(rc, "order %d, seed %llu (%s): ", order, (unsigned long long)seed,
                               log_path);
    return DGCN_OK;
}

/* The experiment's options and what its steps gather. */
typedef struct s_traffic {
    const char *data, *graph, *orders_s, *out;
    int steps, seeds, order;
    uint64_t seed, gen_seed;
    double lr_decay;
    dgcn_train_opts o; /* every run's, but for order, seed and folder */
    dgcn_consensus_kind opt;
    int orders[S_MAX_ORDERS], n_orders;
    s_row rows[S_MAX_ORDERS];
    int generated; /* the series are generated */
    char def_out[64], gen[4200];
} s_traffic;

/* The options into t (defaults first); 1 after --help, 2 on a usage error, else 0. */
static int s_args(s_traffic *t, int argc, char **argv) {
    dgcn_train_opts *o = &t->o;
    t->orders_s = "0,1,2";
    t->steps = 288 * 14, t->seeds = 5, t->order = -1;
    t->seed = 1, t->gen_seed = 1;
    t->lr_decay = 0.1;
    dgcn_train_defaults_regression(o);
    o->transport = "inproc";
    o->plan.cross_edges = "relay";
    o->progress = 0;
    const dgcn_arg table[] = {
        {"data", DGCN_ARG_STRING, &t->data, "folder with one .npz (member data) and one .csv", 1,
         0},
        {"graph", DGCN_ARG_STRING, &t->graph, "from,to,cost CSV: generate series on it (not PeMS)",
         1, 0},
        {"steps", DGCN_ARG_INT, &t->steps, "generated series: 5-minute steps", 40, 1e7},
        {"gen-seed", DGCN_ARG_U64, &t->gen_seed, "generated series: seed", 1, 0},
        {"orders", DGCN_ARG_STRING, &t->orders_s, "filter orders to compare (0: linear model)", 1,
         0},
        {"order", DGCN_ARG_INT, &t->order, "one filter order K (instead of --orders)", 0, 8},
        {"seeds", DGCN_ARG_INT, &t->seeds, "initializations per model (seeds seed..seed+n-1)", 1,
         S_MAX_SEEDS},
        {"seed", DGCN_ARG_U64, &t->seed, "first seed (weights, batches, partition)", 1, 0},
        {"agents", DGCN_ARG_INT, &o->plan.agents, "agents M", 1, 1e5},
        {"partition", DGCN_ARG_STRING, &o->plan.partition, "bfs|metis|random|block", 1, 0},
        {"topology", DGCN_ARG_STRING, &o->plan.topology, "topology spec", 1, 0},
        {"cross-edges", DGCN_ARG_STRING, &o->plan.cross_edges,
         "road links between agents without a link: relay|drop|keep|strict", 1, 0},
        {"transport", DGCN_ARG_STRING, &o->transport, "inproc | zmq (agent processes)", 1, 0},
        {"hidden", DGCN_ARG_INT, &o->hidden, "0: one filter layer; else a ReLU hidden layer", 0,
         1e5},
        {"batch", DGCN_ARG_INT, &o->batch, "snapshots per mini-batch", 1, 65536},
        {"epochs", DGCN_ARG_INT, &o->epochs, "passes over the training samples", 1, 1e6},
        {"lr", DGCN_ARG_DOUBLE, &o->lr, "step (Adam centrally, the optimizer over agents)", 1e-9,
         10},
        {"lr-decay", DGCN_ARG_DOUBLE, &t->lr_decay,
         "step lr / (1 + i / (lr_decay * iterations)); 0: constant", 0, 1e6},
        {"optimizer", DGCN_ARG_STRING, &o->optimizer, "agents: dgd|dgd-atc|gt|gt-adam", 1, 0},
        {"final-mixing", DGCN_ARG_INT, &o->final_mixing, "agents: averaging rounds at the end", 0,
         1e6},
        {"out", DGCN_ARG_STRING, &t->out, "folder for the runs, summary.json and table.md", 1, 0},
        DGCN_ARGS_END};
    int a = dgcn_args_parse(s_usage, table, argc, argv);
    if (a) return a == 1 ? 1 : 2;
    if (!t->data == !t->graph) {
        fprintf(stderr, "error: give exactly one of --data DIR and --graph CSV (dgcn traffic "
                        "--help)\n");
        return 2;
    }
    o->lr_decay = -t->lr_decay; /* a fraction of the iterations (train.h) */
    dgcn_cross_edges policy;
    if (dgcn_consensus_kind_parse(o->optimizer, &t->opt) ||
        dgcn_cross_edges_parse(o->plan.cross_edges, &policy)) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return 2;
    }
    if (t->order >= 0) {
        t->orders[0] = t->order;
        t->n_orders = 1;
    } else if (s_parse_orders(t->orders_s, t->orders, &t->n_orders)) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return 2;
    }
    if (!t->out) {
        time_t now = time(NULL);
        struct tm tmv;
        localtime_r(&now, &tmv);
        strftime(t->def_out, sizeof t->def_out, "runs/traffic-%Y%m%d-%H%M%S", &tmv);
        t->out = t->def_out;
    }
    return 0;
}

/* The series: --data checked to be a traffic folder, or --graph's generated into OUT/data. */
static int s_series(s_traffic *t) {
    int rc = DGCN_OK;
    t->o.src.dir = t->data;
    if (t->data && !dgcn_data_source_is_series(&t->o.src))
        return dgcn_error_set(DGCN_EIO,
                              "%s: no .npz file (a traffic folder holds one .npz and one "
                              ".csv; docs/traffic.md)",
                              t->data);
    DGCN_CHECK(dgcn_rundir_make(t->out));
    if (t->graph) { /* the generated series as a traffic folder OUT/data */
        char steps_s[32], seed_s[32];
        snprintf(t->gen, sizeof t->gen, "%s/data", t->out);
        snprintf(steps_s, sizeof steps_s, "%d", t->steps);
        snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)t->gen_seed);
        char *ga[] = {"generate", "--kind",  "traffic", "--graph", (char *)t->graph, "--out",
                      t->gen,     "--steps", steps_s,   "--seed",  seed_s,           NULL};
        if (dgcn_cmd_generate(11, ga) != 0)
            return dgcn_error_set(DGCN_EIO, "traffic: cannot generate series on %s", t->graph);
        t->data = t->o.src.dir = t->gen;
    }
fail:
    return rc;
}

/* Every seed of order orders[r], one run each, into rows[r] and a line each. */
static int s_run_order(s_traffic *t, int r) {
    int rc = DGCN_OK;
    const dgcn_train_opts *o = &t->o;
    int seeds = t->seeds;
    double mse[2][S_MAX_SEEDS], mae[2][S_MAX_SEEDS];
    s_row *row = &t->rows[r];
    row->order = t->orders[r];
    for (int k = 0; k < seeds; k++) {
        dgcn_train_result res;
        DGCN_CHECK(s_run_one(o, t->out, t->orders[r], t->seed + (uint64_t)k, &res));
        t->generated = res.generated;
        mse[0][k] = res.test_mse_mean, mse[1][k] = res.central_test_mse_mean;
        mae[0][k] = res.test_mae_mean, mae[1][k] = res.central_test_mae_mean;
        row->n_params = res.n_params;
        /* One training iteration, as the plan counts it (dgcn verify matches it byte for byte):
         * one consensus message per link direction (2 vectors for tracking), the rest halo rows.
         * Partitions vary with the seed: means. */
        double params = (t->opt == DGCN_CONSENSUS_GT || t->opt == DGCN_CONSENSUS_GT_ADAM ? 2 : 1) *
                        (double)res.n_params * 4.0 * 2.0 * (double)res.links;
        row->halo_bytes += (res.bytes_per_iter_min - params) / seeds;
        row->relayed_bytes += res.relayed_per_iter_min / seeds;
        row->params_bytes += params / seeds;
        row->links += (double)res.links / seeds;
        row->required += (double)res.required_links / seeds;
        row->hops += (double)res.hops_per_exchange / seeds;
        row->dropped += (double)res.dropped_edges / seeds;
        row->possible = (int64_t)o->plan.agents * (o->plan.agents - 1) / 2;
        if (res.consensus_error > row->gap) row->gap = res.consensus_error;
        double g = fabs(mse[0][k] - mse[1][k]) / mse[1][k];
        if (g > row->rel_gap) row->rel_gap = g;
        printf("  order %d seed %llu: central MSE %.4f MAE %.4f | agents MSE %.4f MAE %.4f "
               "(links %lld of %lld, required %lld, hops %d, dropped road links %lld)%s\n",
               t->orders[r], (unsigned long long)(t->seed + (uint64_t)k), mse[1][k], mae[1][k],
               mse[0][k], mae[0][k], (long long)res.links, (long long)row->possible,
               (long long)res.required_links, (int)res.hops_per_exchange,
               (long long)res.dropped_edges, t->generated ? " GENERATED series" : "");
        fflush(stdout);
    }
    for (int w = 0; w < 2; w++) {
        dgcn_mean_std(mse[w], seeds, &row->mse[w], &row->mse_sd[w]);
        dgcn_mean_std(mae[w], seeds, &row->mae[w], &row->mae_sd[w]);
    }
fail:
    return rc;
}

/* The table of the rows, markdown, into tab (cap bytes). */
static void s_table(const s_traffic *t, char *tab, size_t cap) {
    size_t used = 0;
    used += (size_t)snprintf(tab + used, cap - used,
                             "| model | params | test MSE, agents | test MSE, centralized | "
                             "max gap | test MAE, agents | test MAE, centralized | halo B/iter | "
                             "relayed B/iter | params B/iter | links used/possible | required | "
                             "hops |\n"
                             "|---|---:|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (int r = 0; r < t->n_orders; r++) {
        const s_row *w = &t->rows[r];
        char name[32];
        if (w->order == 0) snprintf(name, sizeof name, "linear (K=0)");
        else snprintf(name, sizeof name, "filter K=%d", w->order);
        used += (size_t)snprintf(
            tab + used, cap - used,
            "| %s | %lld | %.4f +- %.4f | %.4f +- %.4f | %.2f %% | %.4f +- %.4f | %.4f +- %.4f | "
            "%.0f | %.0f | %.0f | %.1f/%lld | %.1f | %.1f |\n",
            name, (long long)w->n_params, w->mse[0], w->mse_sd[0], w->mse[1], w->mse_sd[1],
            100.0 * w->rel_gap, w->mae[0], w->mae_sd[0], w->mae[1], w->mae_sd[1], w->halo_bytes,
            w->relayed_bytes, w->params_bytes, w->links, (long long)w->possible, w->required,
            w->hops);
        if (used >= cap) break;
    }
}

/* OUT/summary.json: the experiment and one object per model (f: open, written whole). */
static void s_summary(const s_traffic *t, FILE *f, const char *kind) {
    const dgcn_train_opts *o = &t->o;
    fprintf(f, "{\n  \"task\": \"traffic regression\",\n  \"generated\": %s,\n",
            t->generated ? "true" : "false");
    fprintf(f, "  \"series_note\": \"%s\",\n  \"data\": \"%s\",\n", kind, t->data);
    fprintf(f,
            "  \"agents\": %d,\n  \"topology\": \"%s\",\n  \"cross_edges\": \"%s\",\n"
            "  \"partition\": \"%s\",\n",
            o->plan.agents, o->plan.topology, o->plan.cross_edges, o->plan.partition);
    fprintf(f, "  \"seeds\": %d,\n  \"epochs\": %d,\n  \"batch\": %d,\n  \"lr\": %g,\n", t->seeds,
            o->epochs, o->batch, o->lr);
    if (t->n_orders == 1) {
        const s_row *w = &t->rows[0];
        fprintf(f,
                "  \"order\": %d,\n  \"test_mse_mean\": %.6g,\n  \"test_mse_std\": %.6g,\n"
                "  \"central_test_mse_mean\": %.6g,\n  \"central_test_mse_std\": %.6g,\n"
                "  \"test_mae_mean\": %.6g,\n  \"central_test_mae_mean\": %.6g,\n",
                w->order, w->mse[0], w->mse_sd[0], w->mse[1], w->mse_sd[1], w->mae[0], w->mae[1]);
    }
    fprintf(f, "  \"models\": [\n");
    for (int r = 0; r < t->n_orders; r++) {
        const s_row *w = &t->rows[r];
        fprintf(f,
                "    {\"order\": %d, \"params\": %lld, \"test_mse_mean\": %.6g, "
                "\"test_mse_std\": %.6g, \"central_test_mse_mean\": %.6g, "
                "\"central_test_mse_std\": %.6g, \"test_mae_mean\": %.6g, "
                "\"test_mae_std\": %.6g, \"central_test_mae_mean\": %.6g, "
                "\"central_test_mae_std\": %.6g, \"max_rel_gap\": %.6g, "
                "\"halo_bytes_per_iter\": %.0f, \"params_bytes_per_iter\": %.0f, "
                "\"relayed_bytes_per_iter\": %.0f, \"links\": %.1f, \"possible_links\": %lld, "
                "\"required_links\": %.1f, \"hops_per_exchange\": %.1f, "
                "\"dropped_road_links\": %.1f, \"consensus_gap\": %.3g}%s\n",
                w->order, (long long)w->n_params, w->mse[0], w->mse_sd[0], w->mse[1], w->mse_sd[1],
                w->mae[0], w->mae_sd[0], w->mae[1], w->mae_sd[1], w->rel_gap, w->halo_bytes,
                w->params_bytes, w->relayed_bytes, w->links, (long long)w->possible, w->required,
                w->hops, w->dropped, w->gap, r + 1 < t->n_orders ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
}

int dgcn_cmd_traffic(int argc, char **argv) {
    s_traffic *t = calloc(1, sizeof *t);
    if (!t) {
        fprintf(stderr, "dgcn traffic: out of memory\n");
        return 1;
    }
    int a = s_args(t, argc, argv);
    if (a) {
        free(t);
        return a == 1 ? 0 : 2;
    }
    const dgcn_train_opts *o = &t->o;
    const char *out = t->out;
    int rc = DGCN_OK, status = 1;
    FILE *f = NULL;
    const char *f_name = "summary.json"; /* the file f writes */
    DGCN_CHECK(s_series(t));
    printf("traffic: %d agents over %s, %s partition, topology %s, cross edges %s, %s, lr %g, "
           "batch %d, %d epochs, %d seeds; runs in %s\n",
           o->plan.agents, o->transport, o->plan.partition, o->plan.topology, o->plan.cross_edges,
           o->optimizer, o->lr, o->batch, o->epochs, t->seeds, out);
    fflush(stdout);
    for (int r = 0; r < t->n_orders; r++) DGCN_CHECK(s_run_order(t, r));

    const char *kind = t->generated ? "GENERATED traffic-like series, NOT PeMS data"
                                    : "series read from file";
    char tab[8192];
    s_table(t, tab, sizeof tab);
    printf("\n%s(%s; MSE/MAE in z-score units over the test samples, mean +- sample std over %d "
           "seeds; max gap = largest |agents - centralized| / centralized test MSE over the "
           "seeds; halo bytes per training iteration include the relayed ones; links, required "
           "agent pairs (sharing road links) and hops per exchange are means over the seeds; "
           "cross edges %s)\n",
           tab, kind, t->seeds, o->plan.cross_edges);

    f_name = "table.md";
    DGCN_CHECK(dgcn_rundir_fopen_tmp(out, f_name, &f));
    fprintf(f, "%s\n%s.\n", tab, kind);
    DGCN_CHECK(dgcn_rundir_commit(&f, out, "table.md"));
    f_name = "summary.json";
    DGCN_CHECK(dgcn_rundir_fopen_tmp(out, f_name, &f));
    s_summary(t, f, kind);
    DGCN_CHECK(dgcn_rundir_commit(&f, out, "summary.json"));
    printf("wrote %s/summary.json and %s/table.md\n", out, out);
    status = 0;
fail:
    dgcn_rundir_discard(&f, out, f_name);
    if (rc) fprintf(stderr, "dgcn traffic: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
    free(t);
    return rc == DGCN_EINVAL ? 2 : status;
}
