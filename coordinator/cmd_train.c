/* coordinator/cmd_train.c: `dgcn train`: fully distributed training of a GCN. */
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/rundir.h"
#include "coordinator/session.h"
#include "coordinator/train.h"
#include "core/error.h"
#include "core/signal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char s_usage[] =
    "usage: dgcn train [--data DIR | generator options] [--agents M] [--partition METHOD]\n"
    "                  [--topology SPEC] [--optimizer dgd|gt|gt-adam] [--iters N] [--seeds S]\n"
    "                  [--transport zmq|mpi|inproc] [--out RUNDIR]\n"
    "\n"
    "Plans the run (coordinator/plan.h): partitions the graph over M agents and connects them by the\n"
    "communication topology SPEC (docs/topologies.md: designed, required, ring, required+ring,\n"
    "file:EDGES, ...; the required links, i.e. agent pairs sharing data edges, are added unless\n"
    "--cross-edges drop removes the data edges the topology does not cover, relay forwards their\n"
    "rows along shortest paths of the topology, or strict refuses it),\n"
    "and trains the GCN with\n"
    "the consensus optimizer. Prints one line per evaluated iteration (global training loss,\n"
    "validation accuracy, consensus error max_k ||theta_k - mean|| / ||mean||, bytes per iteration,\n"
    "iterations per second), then trains the centralized GCN and MLP on the same seeds and compares\n"
    "test accuracies (mean +- std over seeds). RUNDIR receives config.json, plan/, topology.edges,\n"
    "topology.dot, metrics.jsonl, summary.json and plots/. Under mpirun (-np M+1, --transport mpi)\n"
    "rank 0 coordinates. Exit status 0 when the run completed.";

int dgcn_cmd_train(int argc, char **argv) {
    dgcn_train_opts o;
    dgcn_train_defaults(&o);
    const char *transport = "zmq";
    int quiet = 0, no_baselines = 0, force = 0;
    const dgcn_arg table[] = {
        DGCN_DATA_SOURCE_ARGS(&o.src),
        {"agents", DGCN_ARG_INT, &o.plan.agents, "number of agents M (mpi: the ranks after rank 0)",
         1, 1e6},
        {"partition", DGCN_ARG_STRING, &o.plan.partition, "bfs|metis|random|block", 1, 0},
        {"topology", DGCN_ARG_STRING, &o.plan.topology,
         "spec: designed[:G]|required|complete|ring|line|star|torus|hypercube|exponential|er:P|geometric:R|regular:K|A+B|file:EDGES",
         1, 0},
        {"remove", DGCN_ARG_DOUBLE, &o.plan.removal,
         "fraction of the spec's links removed at random, kept connected", 0, 0.99},
        {"cross-edges", DGCN_ARG_STRING, &o.plan.cross_edges,
         "keep (add the required links) | drop (drop uncovered data edges) | relay (forward "
         "their rows along shortest paths) | strict (refuse)",
         1, 0},
        {"weights", DGCN_ARG_STRING, &o.plan.weights,
         "mixing rule: auto|mh|maxdeg|lazy-mh|lazy-maxdeg|uniform|fastest", 1, 0},
        {"optimizer", DGCN_ARG_STRING, &o.optimizer, "dgd|dgd-atc|gt|gt-adam", 1, 0},
        {"lr", DGCN_ARG_DOUBLE, &o.lr,
         "step size (0: 0.01 for gt-adam, 5 for the plain gradient methods)", 0, 100},
        {"lr-decay", DGCN_ARG_DOUBLE, &o.lr_decay,
         "step schedule lr / (1 + n / D)^P over iterations n (0: constant)", 0, 1e12},
        {"lr-power", DGCN_ARG_DOUBLE, &o.lr_power, "exponent P of the step schedule", 0, 10},
        {"hidden", DGCN_ARG_INT, &o.hidden, "hidden width", 1, 1e6},
        {"order", DGCN_ARG_INT, &o.order,
         "graph filter of order K (0..8) instead of the GCN (-1); the centralized baseline too", -1,
         8},
        {"dropout", DGCN_ARG_DOUBLE, &o.dropout, "dropout probability", 0, 0.99},
        {"iters", DGCN_ARG_INT, &o.iters, "training iterations", 1, 1e9},
        {"seeds", DGCN_ARG_INT, &o.seeds, "runs with seeds seed, seed+1, ...", 1, 1e4},
        {"seed", DGCN_ARG_U64, &o.plan.seed, "first seed (also the plan's)", 1, 0},
        {"transport", DGCN_ARG_STRING, &transport,
         "zmq (ipc://) | mpi | inproc, or an address: inproc://NAME, ipc://PATH, tcp://HOST:PORT, mpi://",
         1, 0},
        {"tcp", DGCN_ARG_STRING, &o.tcp_host, "zmq over tcp on this host address instead of ipc", 1,
         0},
        {"workers", DGCN_ARG_INT, &o.workers,
         "inproc: worker threads running the agents as tasks [one per core]", 0, 4096},
        {"eval-every", DGCN_ARG_INT, &o.eval_every, "report interval in iterations", 1, 1e9},
        {"shard-files", DGCN_ARG_FLAG, &o.shard_files,
         "agents read their shard from RUNDIR/plan (shared file system) instead of the set-up message",
         1, 0},
        {"final-mixing", DGCN_ARG_INT, &o.final_mixing,
         "rounds of pure averaging after the last step (the last report follows them)", 0, 1e6},
        {"gossip-rounds", DGCN_ARG_INT, &o.gossip_rounds,
         "params exchanges (gossip rounds) per training iteration; 0: the fewest R with "
         "SLEM^R <= the gossip target",
         0, 1024},
        {"gossip-target", DGCN_ARG_DOUBLE, &o.gossip_target,
         "per-iteration contraction SLEM^R that --gossip-rounds 0 reaches", 1e-12, 0.999999},
        {"init-per-agent", DGCN_ARG_FLAG, &o.init_per_agent,
         "every agent initializes theta from its own seed (default: one shared init)", 1, 0},
        {"dropout-per-agent", DGCN_ARG_FLAG, &o.dropout_per_agent,
         "every agent draws dropout masks from its own seed (default: one stream)", 1, 0},
        {"deadline-ms", DGCN_ARG_INT, &o.deadline_ms, "bound on every wait, ms", 1, 1e9},
        {"out", DGCN_ARG_STRING, &o.out, "run directory (default runs/train-TIMESTAMP)", 1, 0},
        {"force", DGCN_ARG_FLAG, &force, "clear a non-empty run directory --out first", 1, 0},
        {"quiet", DGCN_ARG_FLAG, &quiet, "no progress lines", 1, 0},
        {"no-baselines", DGCN_ARG_FLAG, &no_baselines, "skip the centralized GCN and MLP", 1, 0},
        DGCN_ARGS_END};
    int a = dgcn_args_parse(s_usage, table, argc, argv);
    if (a == 1) return 0;
    if (a) return 2;
    o.transport = transport;
    if (dgcn_transport_lookup(transport, NULL)) {
        fprintf(stderr, "dgcn train: %s\n", dgcn_error_msg());
        return 2;
    }
    dgcn_signal_install();
    o.progress = !quiet;
    o.baselines = !no_baselines;
    {
        int is_agent = 0;
        int32_t m = o.plan.agents;
        int rc = dgcn_session_job_enter(transport, &argc, &argv, o.deadline_ms, o.seeds, &is_agent,
                                        &m);
        if (is_agent || rc) {
            if (rc)
                fprintf(stderr, "dgcn train (%s %s): %s\n", transport,
                        is_agent ? "agent" : "rank 0", dgcn_error_msg());
            return rc ? 1 : 0;
        }
        o.plan.agents = m;
    }
    char def_out[64];
    if (!o.out) {
        time_t now = time(NULL);
        struct tm tmv;
        localtime_r(&now, &tmv);
        strftime(def_out, sizeof def_out, "runs/train-%Y%m%d-%H%M%S", &tmv);
        o.out = def_out;
    }
    dgcn_train_result r;
    memset(&r, 0, sizeof r);
    int rc = dgcn_rundir_prepare(o.out, force);
    if (!rc) rc = dgcn_train_run(&o, &r);
    dgcn_train_result_fini(&r);
    if (rc) {
        fprintf(stderr, "dgcn train: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
        return dgcn_signal_exit_status(rc, 1);
    }
    dgcn_session_job_leave();
    return 0;
}
