/* coordinator/cmd_traffic.c: `dgcn traffic`: the paper's traffic experiment (docs/traffic.md):
 * graph filters of orders 0 (linear), 1, 2 on a sensor graph, several seeds, centralized and over
 * agents on a ring (road links between agents that are not ring neighbours relayed, or dropped),
 * test MSE and MAE as mean +- std, links used of those possible, bytes per iteration. */
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/forecast.h"
#include "coordinator/plan.h"
#include "core/error.h"
#include "graph/traffic.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char s_usage[] =
    "usage: dgcn traffic (--data DIR | --graph CSV [--steps T] [--gen-seed S])\n"
    "                    [--orders 0,1,2 | --order K] [--seeds 5] [--agents 6] [--topology ring]\n"
    "                    [--cross-edges relay|drop|keep|strict] [--partition bfs] [--out DIR]\n"
    "                    [training options]\n"
    "\n"
    "Graph-signal regression (docs/traffic.md): from the past 12 steps of every sensor, predict the\n"
    "next step, with graph filters of the given orders (0 is the linear model). DIR holds one .npz\n"
    "(member data of shape (T, N, F); feature 0 is used) and one from,to,cost .csv, the layout of\n"
    "PeMSD4/PeMSD8. --graph CSV instead generates traffic-like series on that sensor graph (they\n"
    "are NOT PeMS data, and every output says so). Each model is trained centrally and over the\n"
    "agents from the same weights and batches; the table gives test MSE and MAE (z-score units)\n"
    "as mean +- std over the seeds, the links the agents used and the bytes they moved per\n"
    "iteration. The agents talk over the topology only (default: a ring of 6); rows of road links\n"
    "between agents that are not neighbours are relayed (--cross-edges relay, the model unchanged)\n"
    "or those links dropped (drop, A_hat renormalized); keep adds every required link.";

/* The one file in dir whose name ends with ext, into out. */
static int s_find_one(const char *dir, const char *ext, char *out, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return dgcn_error_set(DGCN_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
    int found = 0;
    struct dirent *e;
    size_t le = strlen(ext);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= le || strcmp(e->d_name + l - le, ext) != 0) continue;
        if (found++) {
            closedir(d);
            return dgcn_error_set(DGCN_EINVAL, "%s: more than one %s file (%s and another)", dir,
                                  ext, e->d_name);
        }
        snprintf(out, cap, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (!found) return dgcn_error_set(DGCN_EIO, "%s: no %s file", dir, ext);
    return DGCN_OK;
}

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

static void s_mean_std(const double *x, int n, double *mean, double *sd) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0.0;
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
    double central_ms, dist_ms;
} s_row;

int dgcn_cmd_traffic(int argc, char **argv) {
    const char *data = NULL, *graph = NULL, *orders_s = "0,1,2", *out = NULL;
    int steps = 288 * 14, seeds = 5, order = -1, central_only = 0;
    uint64_t seed = 1, gen_seed = 1;
    dgcn_forecast_opts o;
    dgcn_forecast_opts_defaults(&o);
    const dgcn_arg table[] = {
        {"data", DGCN_ARG_STRING, &data, "folder with one .npz (member data) and one .csv", 1, 0},
        {"graph", DGCN_ARG_STRING, &graph, "from,to,cost CSV: generate series on it (not PeMS)", 1,
         0},
        {"steps", DGCN_ARG_INT, &steps, "generated series: 5-minute steps", 40, 1e7},
        {"gen-seed", DGCN_ARG_U64, &gen_seed, "generated series: seed", 1, 0},
        {"orders", DGCN_ARG_STRING, &orders_s, "filter orders to compare (0: linear model)", 1, 0},
        {"order", DGCN_ARG_INT, &order, "one filter order K (instead of --orders)", 0, 8},
        {"seeds", DGCN_ARG_INT, &seeds, "initializations per model (seeds seed..seed+n-1)", 1,
         S_MAX_SEEDS},
        {"seed", DGCN_ARG_U64, &seed, "first seed (weights, batches, partition)", 1, 0},
        {"agents", DGCN_ARG_INT, &o.agents, "agents M", 1, 1e5},
        {"partition", DGCN_ARG_STRING, &o.partition, "bfs|metis|random|block", 1, 0},
        {"topology", DGCN_ARG_STRING, &o.topology, "topology spec of the agents' links", 1, 0},
        {"cross-edges", DGCN_ARG_STRING, &o.cross_edges,
         "road links between agents without a link: relay|drop|keep|strict", 1, 0},
        {"hidden", DGCN_ARG_INT, &o.hidden, "0: one filter layer; else a ReLU hidden layer", 0,
         1e5},
        {"batch", DGCN_ARG_INT, &o.batch, "snapshots per mini-batch", 1, 65536},
        {"epochs", DGCN_ARG_INT, &o.epochs, "passes over the training samples", 1, 1e6},
        {"lr", DGCN_ARG_DOUBLE, &o.lr, "step (Adam centrally, the optimizer over agents)", 1e-9,
         10},
        {"lr-decay", DGCN_ARG_DOUBLE, &o.lr_decay,
         "step lr / (1 + i / (lr_decay * iterations)); <= 0: constant", -1, 1e6},
        {"optimizer", DGCN_ARG_STRING, &o.optimizer, "agents: dgd|dgd-atc|gt|gt-adam", 1, 0},
        {"final-mixing", DGCN_ARG_INT, &o.final_mixing, "agents: averaging rounds at the end", 0,
         1e6},
        {"central-only", DGCN_ARG_FLAG, &central_only, "skip the agents", 1, 0},
        {"out", DGCN_ARG_STRING, &out, "folder for summary.json and table.md", 1, 0},
        DGCN_ARGS_END};
    int a = dgcn_args_parse(s_usage, table, argc, argv);
    if (a == 1) return 0;
    if (a) return 2;
    if (!data == !graph) {
        fprintf(stderr, "error: give exactly one of --data DIR and --graph CSV (dgcn traffic "
                        "--help)\n");
        return 2;
    }
    o.distributed = !central_only;
    dgcn_cross_edges policy;
    if (dgcn_cross_edges_parse(o.cross_edges, &policy)) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return 2;
    }
    int orders[S_MAX_ORDERS], n_orders = 0;
    if (order >= 0) {
        orders[0] = order;
        n_orders = 1;
    } else if (s_parse_orders(orders_s, orders, &n_orders)) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return 2;
    }

    int rc = DGCN_OK, status = 1;
    dgcn_traffic_series s;
    dgcn_traffic_samples p;
    dgcn_csr adj;
    memset(&s, 0, sizeof s);
    memset(&p, 0, sizeof p);
    memset(&adj, 0, sizeof adj);
    char npz[1024] = "", csv[1024] = "", source[1200];
    s_row rows[S_MAX_ORDERS];
    memset(rows, 0, sizeof rows);
    FILE *f = NULL;
    if (data) {
        DGCN_CHECK(s_find_one(data, ".npz", npz, sizeof npz));
        DGCN_CHECK(s_find_one(data, ".csv", csv, sizeof csv));
        DGCN_CHECK(dgcn_traffic_read_npz(&s, npz));
        DGCN_CHECK(dgcn_traffic_read_graph(&adj, csv, s.n));
        /* A folder from `dgcn generate --kind traffic` says so in GENERATED. */
        char mark[1100];
        snprintf(mark, sizeof mark, "%s/GENERATED", data);
        struct stat st;
        s.generated = stat(mark, &st) == 0;
        snprintf(source, sizeof source, "%s", npz);
    } else {
        DGCN_CHECK(dgcn_traffic_read_graph(&adj, graph, 0));
        DGCN_CHECK(dgcn_traffic_generate(&s, &adj, steps, gen_seed));
        snprintf(csv, sizeof csv, "%s", graph);
        snprintf(source, sizeof source, "generated on %s (seed %llu)", graph,
                 (unsigned long long)gen_seed);
    }
    DGCN_CHECK(dgcn_traffic_prepare(&p, &s, 12));
    const char *kind = s.generated ? "GENERATED traffic-like series, NOT PeMS data"
                                   : "series read from file";
    printf("traffic: %s\n", kind);
    printf("  series %s: %d steps x %d sensors x %d features (feature 0 used), sensor graph %s "
           "(%lld links)\n",
           source, (int)s.t, (int)s.n, (int)s.f, csv, (long long)(adj.nnz / 2));
    printf("  samples: 12 past steps -> next step; train/val/test %d/%d/%d in time order; z-score "
           "mean %.3f std %.3f\n",
           (int)p.n_train, (int)p.n_val, (int)p.n_test, p.mean, p.std);
    printf("  %d agents, %s partition, topology %s, cross edges %s, %s, lr %g, batch %d, %d "
           "epochs, %d seeds\n",
           o.agents, o.partition, o.topology, o.cross_edges, o.optimizer, o.lr, o.batch, o.epochs,
           seeds);
    fflush(stdout);

    for (int r = 0; r < n_orders; r++) {
        double mse[2][S_MAX_SEEDS], mae[2][S_MAX_SEEDS];
        s_row *row = &rows[r];
        row->order = orders[r];
        for (int k = 0; k < seeds; k++) {
            dgcn_forecast_result res;
            DGCN_CHECK(dgcn_forecast_run(&p, &adj, orders[r], &o, seed + (uint64_t)k, &res));
            mse[0][k] = res.test_mse, mse[1][k] = res.central_test_mse;
            mae[0][k] = res.test_mae, mae[1][k] = res.central_test_mae;
            row->n_params = res.n_params;
            row->halo_bytes += res.halo_bytes_per_iter / seeds; /* partitions vary with the seed */
            row->params_bytes += res.params_bytes_per_iter / seeds;
            row->links += (double)res.links / seeds;
            row->required += (double)res.required_links / seeds;
            row->hops += (double)res.hops / seeds;
            row->dropped += (double)res.dropped_edges / seeds;
            row->relayed_bytes += res.relayed_bytes_per_iter / seeds;
            row->possible = res.possible_links;
            if (res.consensus_gap > row->gap) row->gap = res.consensus_gap;
            row->central_ms += res.central_ms / seeds;
            row->dist_ms += res.dist_ms / seeds;
            double g = o.distributed
                           ? fabs(res.test_mse - res.central_test_mse) / res.central_test_mse
                           : 0.0;
            if (g > row->rel_gap) row->rel_gap = g;
            printf("  order %d seed %llu: central MSE %.4f MAE %.4f", orders[r],
                   (unsigned long long)(seed + (uint64_t)k), res.central_test_mse,
                   res.central_test_mae);
            if (o.distributed)
                printf(" | agents MSE %.4f MAE %.4f (links %lld of %lld, required %lld, hops %d, "
                       "dropped road links %lld)",
                       res.test_mse, res.test_mae, (long long)res.links,
                       (long long)res.possible_links, (long long)res.required_links, (int)res.hops,
                       (long long)res.dropped_edges);
            printf("\n");
            fflush(stdout);
        }
        for (int w = 0; w < 2; w++) {
            s_mean_std(mse[w], seeds, &row->mse[w], &row->mse_sd[w]);
            s_mean_std(mae[w], seeds, &row->mae[w], &row->mae_sd[w]);
        }
    }

    char tab[8192];
    size_t used = 0;
    used += (size_t)
        snprintf(tab + used, sizeof tab - used,
                 "| model | params | test MSE, agents | test MSE, centralized | "
                 "max gap | test MAE, agents | test MAE, centralized | halo B/iter | "
                 "relayed B/iter | params B/iter | links used/possible | required | hops |\n"
                 "|---|---:|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (int r = 0; r < n_orders; r++) {
        const s_row *w = &rows[r];
        char name[32];
        if (w->order == 0) snprintf(name, sizeof name, "linear (K=0)");
        else snprintf(name, sizeof name, "filter K=%d", w->order);
        used += (size_t)snprintf(
            tab + used, sizeof tab - used,
            "| %s | %lld | %.4f +- %.4f | %.4f +- %.4f | %.2f %% | %.4f +- %.4f | %.4f +- %.4f | "
            "%.0f | %.0f | %.0f | %.1f/%lld | %.1f | %.1f |\n",
            name, (long long)w->n_params, w->mse[0], w->mse_sd[0], w->mse[1], w->mse_sd[1],
            100.0 * w->rel_gap, w->mae[0], w->mae_sd[0], w->mae[1], w->mae_sd[1], w->halo_bytes,
            w->relayed_bytes, w->params_bytes, w->links, (long long)w->possible, w->required,
            w->hops);
        if (used >= sizeof tab) break;
    }
    printf("\n%s(%s; MSE/MAE in z-score units over the test samples, mean +- sample std over %d "
           "seeds; max gap = largest |agents - centralized| / centralized test MSE over the "
           "seeds; halo bytes per training iteration include the relayed ones; links, required "
           "agent pairs (sharing road links) and hops per exchange are means over the seeds; "
           "cross edges %s)\n",
           tab, kind, seeds, o.distributed ? o.cross_edges : "none: centralized only");

    if (out) {
        char path[1200];
        if (mkdir(out, 0755) != 0 && errno != EEXIST) {
            rc = dgcn_error_set(DGCN_EIO, "%s: cannot create: %s", out, strerror(errno));
            goto fail;
        }
        snprintf(path, sizeof path, "%s/table.md", out);
        f = fopen(path, "w");
        if (!f) {
            rc = dgcn_error_set(DGCN_EIO, "%s: cannot create", path);
            goto fail;
        }
        fprintf(f, "%s\n%s.\n", tab, kind);
        fclose(f);
        snprintf(path, sizeof path, "%s/summary.json", out);
        f = fopen(path, "w");
        if (!f) {
            rc = dgcn_error_set(DGCN_EIO, "%s: cannot create", path);
            goto fail;
        }
        fprintf(f, "{\n  \"task\": \"traffic regression\",\n  \"generated\": %s,\n",
                s.generated ? "true" : "false");
        fprintf(f, "  \"series_note\": \"%s\",\n", kind);
        fprintf(f, "  \"graph\": \"%s\",\n  \"sensors\": %d,\n  \"steps\": %d,\n", csv, (int)s.n,
                (int)s.t);
        fprintf(f,
                "  \"agents\": %d,\n  \"topology\": \"%s\",\n  \"cross_edges\": \"%s\",\n"
                "  \"partition\": \"%s\",\n",
                o.agents, o.topology, o.cross_edges, o.partition);
        fprintf(f, "  \"seeds\": %d,\n  \"epochs\": %d,\n  \"batch\": %d,\n  \"lr\": %g,\n", seeds,
                o.epochs, o.batch, o.lr);
        if (n_orders == 1) {
            const s_row *w = &rows[0];
            fprintf(f,
                    "  \"order\": %d,\n  \"test_mse_mean\": %.6g,\n  \"test_mse_std\": %.6g,\n"
                    "  \"central_test_mse_mean\": %.6g,\n  \"central_test_mse_std\": %.6g,\n"
                    "  \"test_mae_mean\": %.6g,\n  \"central_test_mae_mean\": %.6g,\n",
                    w->order, w->mse[0], w->mse_sd[0], w->mse[1], w->mse_sd[1], w->mae[0],
                    w->mae[1]);
        }
        fprintf(f, "  \"models\": [\n");
        for (int r = 0; r < n_orders; r++) {
            const s_row *w = &rows[r];
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
                    w->order, (long long)w->n_params, w->mse[0], w->mse_sd[0], w->mse[1],
                    w->mse_sd[1], w->mae[0], w->mae_sd[0], w->mae[1], w->mae_sd[1], w->rel_gap,
                    w->halo_bytes, w->params_bytes, w->relayed_bytes, w->links,
                    (long long)w->possible, w->required, w->hops, w->dropped, w->gap,
                    r + 1 < n_orders ? "," : "");
        }
        fprintf(f, "  ]\n}\n");
        if (fclose(f) != 0) {
            f = NULL;
            rc = dgcn_error_set(DGCN_EIO, "%s: write failed", path);
            goto fail;
        }
        f = NULL;
        printf("wrote %s/summary.json and %s/table.md\n", out, out);
    }
    status = 0;
fail:
    if (rc) fprintf(stderr, "dgcn traffic: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
    dgcn_traffic_samples_fini(&p);
    dgcn_traffic_series_fini(&s);
    dgcn_csr_fini(&adj);
    return rc == DGCN_EINVAL ? 2 : status;
}
