/* bench/bench_plan.c: time the coordinator's planning for many agents and report peak memory.
 *
 * Loads a dataset, builds the run plan of coordinator/plan.h (partition, required links, topology,
 * weights, hops, shards), computes the mixing matrix's SLEM as train does, packs every agent's
 * set-up message, and prints one JSON line with the time of each stage and the peak resident set
 * (getrusage ru_maxrss). Nothing is trained; bench/results/planning-*.txt holds measured runs. */
#include "coordinator/args.h"
#include "coordinator/data_source.h"
#include "coordinator/plan.h"

#include "core/error.h"
#include "core/timer.h"
#include "topologies/spectral.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static const char s_usage[] =
    "usage: bench_plan [--data DIR | generator options] --agents M [--topology SPEC]\n"
    "                  [--partition bfs|metis|random|block] [--cross-edges keep|drop|relay]\n"
    "                  [--disconnected-ok] [--no-slem] [--no-setups]\n"
    "\nBuilds the run plan for M agents and prints one JSON line: milliseconds to load the data,\n"
    "build the plan (partition, required links, topology, weights, hops, shards), compute the SLEM\n"
    "and pack the set-up messages, the links, and the peak resident set in bytes.";

static long long s_peak_rss_bytes(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (long long)ru.ru_maxrss * 1024 : -1;
}

int main(int argc, char **argv) {
    dgcn_data_source src;
    dgcn_data_source_defaults(&src);
    dgcn_plan_opts po;
    dgcn_plan_defaults(&po);
    po.topology = "ring";
    int no_slem = 0, no_setups = 0, disconnected_ok = 0, slem_exact = 1;
    const dgcn_arg table[] = {
        DGCN_DATA_SOURCE_ARGS(&src),
        {"agents", DGCN_ARG_INT, &po.agents, "agents M", 1, 1e8},
        {"topology", DGCN_ARG_STRING, &po.topology, "topology spec (docs/topologies.md)", 1, 0},
        {"partition", DGCN_ARG_STRING, &po.partition, "bfs, metis, random or block", 1, 0},
        {"cross-edges", DGCN_ARG_STRING, &po.cross_edges, "keep, drop, strict or relay", 1, 0},
        {"seed", DGCN_ARG_U64, &po.seed, "plan seed", 0, 0},
        {"disconnected-ok", DGCN_ARG_FLAG, &disconnected_ok,
         "accept a disconnected topology (e.g. 'required' alone; its SLEM is 1)", 0, 0},
        {"no-slem", DGCN_ARG_FLAG, &no_slem, "skip the SLEM", 0, 0},
        {"no-setups", DGCN_ARG_FLAG, &no_setups, "skip packing the set-up messages", 0, 0},
        DGCN_ARGS_END,
    };
    int prc = dgcn_args_parse(s_usage, table, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
    po.connected = !disconnected_ok;
    dgcn_dataset ds = {0};
    dgcn_csr a_hat = {0};
    dgcn_plan p;
    dgcn_ctl_setup *setups = NULL;
    double slem = -1, t0 = dgcn_now_ms(), load_ms, plan_ms, slem_ms = 0, setups_ms = 0;
    int rc = dgcn_data_source_open(&src, &ds, &a_hat);
    load_ms = dgcn_now_ms() - t0;
    if (!rc) {
        t0 = dgcn_now_ms();
        rc = dgcn_plan_build(&p, &ds, &a_hat, &po);
        plan_ms = dgcn_now_ms() - t0;
    }
    if (!rc && !no_slem) {
        t0 = dgcn_now_ms();
        rc = dgcn_mixing_norm_cj(&p.c, &slem, &slem_exact);
        slem_ms = dgcn_now_ms() - t0;
    }
    if (!rc && !no_setups) {
        dgcn_run_config cfg = dgcn_run_config_defaults(ds.d, ds.c);
        t0 = dgcn_now_ms();
        rc = dgcn_plan_setups(&p, &cfg, 1, &setups);
        setups_ms = dgcn_now_ms() - t0;
    }
    if (rc) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return 1;
    }
    uint64_t shard_max = 0, shard_bytes = dgcn_plan_shard_bytes(&p, &shard_max);
    printf(
        "{\"agents\":%d,\"nodes\":%d,\"topology\":\"%s\",\"partition\":\"%s\","
        "\"cross_edges\":\"%s\",\"links\":%" PRId64 ",\"required_links\":%" PRId64
        ",\"hops_max\":%d,\"slem\":%.9f,\"slem_exact\":%d,\"load_ms\":%.1f,\"plan_ms\":%.1f,\"slem_ms\":%.1f,"
        "\"setups_ms\":%.1f,\"shard_bytes\":%" PRIu64 ",\"shard_bytes_max\":%" PRIu64
        ",\"peak_rss_bytes\":%lld}\n",
        p.m, ds.n, po.topology, po.partition, po.cross_edges, dgcn_topo_links(&p.topo),
        dgcn_topo_links(&p.required), p.hops_max, slem, slem_exact, load_ms, plan_ms, slem_ms,
        setups_ms, shard_bytes, shard_max, s_peak_rss_bytes());
    dgcn_plan_setups_free(&setups, p.m);
    dgcn_plan_fini(&p);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
    return 0;
}
