/* coordinator/cmd_study.c: `dgcn study`: the sparse-connectivity study over topologies and link
 * removal fractions, one training run per configuration, gathered in one table. */
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/run_config.h"
#include "coordinator/study.h"
#include "coordinator/train.h"
#include "core/error.h"
#include "core/signal.h"

#include <stdio.h>

static const char s_usage[] =
    "usage: dgcn study [--data DIR | generator options] [--agents M] [--topologies LIST]\n"
    "                  [--remove LIST] [--link-failures LIST] [--agent-loss K[:ITER]]\n"
    "                  [--seeds S] [--iters N]\n"
    "                  [--optimizer dgd|gt|gt-adam]\n"
    "                  [--transport inproc|zmq] --out DIR\n"
    "\n"
    "For every topology in LIST (the spec grammar of docs/topologies.md: required, designed, a\n"
    "family such as ring, line, complete, er:0.3, a union such as required+ring, file:EDGES) and\n"
    "every removal fraction f in --remove, removes a random fraction f of the topology's links\n"
    "keeping it connected, and trains on it as `dgcn train` would, in this process (--cross-edges\n"
    "drop, the default: data edges between agents without a link are dropped; relay: their rows\n"
    "are forwarded along shortest paths; keep: the required links are added). A configuration\n"
    "that cannot stay connected is listed as disconnected. A schedule (one-peer-exponential,\n"
    "matching[:P], schedule:N:FILES) trains as its schedule and takes no removal; with\n"
    "--link-failures every configuration trains once per probability; with --agent-loss also\n"
    "with K agents killed once they report iteration ITER, their neighbours dropping them\n"
    "(--on-agent-loss continue; needs --transport zmq; accuracy on the remaining nodes). DIR\n"
    "receives study.tsv and study.md (links, agents killed and lost,\n"
    "spectral gap of the mixing matrix, test accuracy mean +- std over seeds, iterations until the\n"
    "seeds' mean training loss is within --tolerance of the centralized GCN's final one, final\n"
    "consensus error, bytes per iteration split into direct, relayed and consensus, hops per\n"
    "halo exchange), plots/study.png, topologies/ and runs/ (one train run\n"
    "directory per configuration, with its progress in train.log). Designed topologies use fastest-mixing\n"
    "weights, the others --weights. Exit status 0 when every configuration trained or was reported\n"
    "disconnected, 1 when a run failed, 2 on a usage error.";

int dgcn_cmd_study(int argc, char **argv) {
    dgcn_study_opts o;
    dgcn_study_defaults(&o);
    int quiet = 0;
    const dgcn_arg own[] = {
        DGCN_DATA_SOURCE_ARGS(&o.src),
        {"agents", DGCN_ARG_INT, &o.agents, "number of agents M", 2, 1e6},
        {"partition", DGCN_ARG_STRING, &o.partition, "bfs|metis|random|block", 1, 0},
        {"topologies", DGCN_ARG_STRING, &o.topologies,
         "comma-separated: required|designed|complete|ring|line|star|torus|hypercube|exponential|"
         "er:P|geometric:R|regular:K, or unions with '+'",
         1, 0},
        {"remove", DGCN_ARG_STRING, &o.removals,
         "comma-separated fractions of links removed, in [0, 1)", 1, 0},
        {"link-failures", DGCN_ARG_STRING, &o.failures,
         "comma-separated link failure probabilities in [0, 1): every configuration with each "
         "(--link-failure)",
         1, 0},
        {"agent-loss", DGCN_ARG_STRING, &o.agent_loss,
         "K[:ITER]: every configuration also with K agents killed at their report of iteration "
         "ITER (default half the run), --on-agent-loss continue (zmq)",
         1, 0},
        {"cross-edges", DGCN_ARG_STRING, &o.cross_edges,
         "drop|relay|keep: data edges across missing links dropped, relayed, or links added", 1, 0},
        {"weights", DGCN_ARG_STRING, &o.weights,
         "mixing rule of non-designed topologies (mh|maxdeg|lazy-mh|...)", 1, 0},
        {"optimizers", DGCN_ARG_STRING, &o.run.optimizer,
         "comma-separated optimizers (e.g. gt-adam,dgd): every configuration with each; the same "
         "as --optimizer",
         1, 0},
        {"transport", DGCN_ARG_STRING, &o.transport, "inproc | zmq", 1, 0},
        {"tolerance", DGCN_ARG_DOUBLE, &o.tolerance,
         "relative margin over the centralized training loss", 0, 10},
        {"timeout", DGCN_ARG_INT, &o.timeout_s, "bound on one configuration's training, seconds", 1,
         1e7},
        {"program", DGCN_ARG_STRING, &o.program,
         "the dgcn executable agent processes run (zmq; default: this one)", 1, 0},
        {"out", DGCN_ARG_STRING, &o.out, "study folder (created)", 1, 0},
        {"force", DGCN_ARG_FLAG, &o.force, "clear a non-empty study folder --out first", 1, 0},
        {"quiet", DGCN_ARG_FLAG, &quiet, "no progress lines", 1, 0},
        DGCN_ARGS_END};
    dgcn_arg table[96]; /* the run configuration's options (coordinator/run_config.h), then own */
    int n = dgcn_run_config_args(&o.run, DGCN_RUN_CONFIG_ARGS_STUDY, table, 0, 96);
    dgcn_args_append(table, n, 96, own);
    int a = dgcn_args_parse(s_usage, table, argc, argv);
    if (a == 1) return 0;
    if (a) return 2;
    if (!o.out) {
        fprintf(stderr, "dgcn study: --out DIR is required\n");
        return 2;
    }
    dgcn_signal_install();
    o.progress = !quiet;
    dgcn_study_result r;
    int rc = dgcn_study_run(&o, &r);
    if (rc) {
        fprintf(stderr, "dgcn study: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
        dgcn_study_result_fini(&r);
        return dgcn_signal_exit_status(rc, rc == DGCN_EINVAL ? 2 : 1);
    }
    int failed = r.n_failed;
    if (failed)
        fprintf(stderr, "dgcn study: %d configuration(s) failed; see %s/study.md\n", failed, o.out);
    dgcn_study_result_fini(&r);
    return failed ? 1 : 0;
}
