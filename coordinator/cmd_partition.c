/* coordinator/cmd_partition.c: `dgcn partition`: split a dataset among M agents and write the plan
 * (one shard file per agent plus a manifest) that agents on a shared file system load. */
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/data_source.h"
#include "coordinator/plan.h"

#include "core/error.h"
#include "core/timer.h"
#include "graph/dataset.h"
#include "graph/partition.h"
#include "graph/shard.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: dgcn partition --data DIR --agents M [--method bfs|metis|random|block] [--seed S]\n"
    "                      [--hidden H] --out PLAN\n"
    "\n"
    "Loads and preprocesses the dataset, builds A_hat, assigns its nodes to M agents and writes the\n"
    "plan PLAN/: manifest.txt, owner.txt and shard-<k>.pb per agent (docs/partitioning.md). Prints\n"
    "nodes per agent, edge cut, halo fraction, required links and the predicted halo bytes per\n"
    "iteration of a 2-layer GCN with H hidden units.";

int dgcn_cmd_partition(int argc, char **argv) {
    const char *data = NULL, *method_name = "bfs", *out = NULL;
    int agents = 0, hidden = 16;
    uint64_t seed = 0;
    const dgcn_arg table[] = {
        {"data", DGCN_ARG_STRING, &data, "dataset folder (required; format: docs/datasets.md)", 1,
         0},
        {"agents", DGCN_ARG_INT, &agents, "number of agents M (required)", 1, 1e7},
        {"method", DGCN_ARG_STRING, &method_name, "bfs (the paper's), metis, random or block", 1,
         0},
        {"seed", DGCN_ARG_U64, &seed, "partition seed", 1, 0},
        {"hidden", DGCN_ARG_INT, &hidden, "hidden units, for the predicted bytes per iteration", 1,
         1e6},
        {"out", DGCN_ARG_STRING, &out, "plan directory to write (required)", 1, 0},
        DGCN_ARGS_END,
    };
    int prc = dgcn_args_parse(s_usage, table, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
    if (!data || !out || agents < 1) {
        fprintf(stderr, "error: --data, --agents and --out are required (dgcn partition --help)\n");
        return 2;
    }
    dgcn_partition_method method;
    if (dgcn_partition_method_parse(method_name, &method) != DGCN_OK) { /* a usage error: exit 2 */
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return 2;
    }

    int rc;
    dgcn_dataset ds = {0};
    dgcn_csr a_hat = {0};
    dgcn_plan plan;
    memset(&plan, 0, sizeof plan);
    int32_t m = agents;
    double t0 = dgcn_now_ms();
    dgcn_data_source src; /* a dataset folder, or a traffic folder (the shards carry the series) */
    dgcn_data_source_defaults(&src);
    src.dir = data;
    DGCN_CHECK(dgcn_data_source_open(&src, &ds, &a_hat));
    fprintf(stderr, "dataset %s: %d nodes, %lld edges, %d features, %d classes (%.0f ms)\n",
            ds.name, ds.n, (long long)ds.n_edges, ds.d, ds.c, dgcn_now_ms() - t0);
    if (m > ds.n) {
        rc = dgcn_error_set(DGCN_EINVAL, "--agents %d exceeds the %d nodes of %s", (int)m,
                            (int)ds.n, data);
        goto fail;
    }
    double t1 = dgcn_now_ms();
    dgcn_plan_opts po;
    dgcn_plan_defaults(&po);
    po.agents = m;
    po.partition = method_name;
    po.seed = seed;
    po.topology = NULL; /* partition, required links and shards only */
    DGCN_CHECK(dgcn_plan_build(&plan, &ds, &a_hat, &po));
    double t_plan = dgcn_now_ms() - t1;
    int32_t widths[2] = {hidden, ds.c};
    dgcn_partition_stats st;
    DGCN_CHECK(dgcn_partition_stats_compute(&ds.adj, plan.owner, m, widths, 2, &st));
    t1 = dgcn_now_ms();
    DGCN_CHECK(dgcn_shard_dir_write(out, plan.shards, m, plan.owner, ds.n, method_name, seed));
    double t_write = dgcn_now_ms() - t1;
    uint64_t plan_id = plan.id;

    int64_t max_pairs = (int64_t)m * (m - 1) / 2;
    printf("plan %016" PRIx64 ": %s, %d agents, method %s, seed %" PRIu64 "\n", plan_id, ds.name,
           (int)m, method_name, seed);
    printf("  nodes per agent   min %d  mean %.1f  max %d\n", (int)st.min_nodes, st.mean_nodes,
           (int)st.max_nodes);
    printf("  edge cut          %lld of %lld edges (%.1f %%)\n", (long long)st.edge_cut,
           (long long)ds.n_edges,
           ds.n_edges ? 100.0 * (double)st.edge_cut / (double)ds.n_edges : 0.0);
    printf("  halo rows         %lld (halo fraction %.3f)\n", (long long)st.halo_total,
           st.halo_fraction);
    printf("  required links    %d of %lld agent pairs\n", (int)st.required_links,
           (long long)max_pairs);
    printf("  halo bytes/iter   %lld (widths %d and %d, forward and backward)\n",
           (long long)st.halo_bytes_per_iter, hidden, ds.c);
    printf("  time              plan (partition and shards) %.1f ms, write %.1f ms\n", t_plan,
           t_write);
    printf("  written           %s/manifest.txt, %s/owner.txt, %s/shard-<0..%d>.pb\n", out, out,
           out, (int)m - 1);
    rc = DGCN_OK;
fail:
    if (rc)
        fprintf(stderr, "error: %s\n", dgcn_error_msg()[0] ? dgcn_error_msg() : dgcn_strerror(rc));
    dgcn_plan_fini(&plan);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
    return rc ? 1 : 0;
}
