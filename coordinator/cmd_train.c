/* coordinator/cmd_train.c: `dgcn train`: fully distributed training of a GCN. */
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/deadline.h"
#include "coordinator/run_config.h"
#include "coordinator/rundir.h"
#include "coordinator/session.h"
#include "coordinator/train.h"
#include "core/error.h"
#include "core/file.h"
#include "core/signal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char s_usage[] =
    "usage: dgcn train [--data DIR | generator options] [--agents M] [--partition METHOD]\n"
    "                  [--topology SPEC] [--optimizer dgd|gt|gt-adam|ed] [--iters N] [--seeds S]\n"
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
    "rank 0 coordinates. The model (the mean of the agents' copies at the end) is saved as\n"
    "RUNDIR/model for `dgcn predict`.\n"
    "\n"
    "--checkpoint-every N writes every agent's complete state to RUNDIR/checkpoint/ every N\n"
    "iterations (one seed); `dgcn train --resume RUNDIR` continues such a run from its last complete\n"
    "checkpoint with the options it was started with (options given with --resume are added after\n"
    "them), and refuses when they rebuild a different plan or change a hyper-parameter (--iters may\n"
    "extend the run; docs/running.md). Exit status 0 when the run completed.\n"
    "\n"
    "--wait-for-agents K,...|all (zmq: ipc:// or tcp://) does not start those agents: the\n"
    "coordinator prints, for each, the `dgcn agent` command that starts it on another host (its\n"
    "tcp address, the agent id, RUNDIR/keys/agent-K.key) and waits for its hello within the run's\n"
    "deadline (--deadline-ms), naming the agents that never came (docs/running.md).\n"
    "\n"
    "--data DIR with a .npz (a traffic folder, docs/traffic.md) trains graph-signal regression:\n"
    "from the past 12 steps of every sensor, the next one, with a graph filter of order --order\n"
    "(default 2) on mini-batches of --batch snapshots, every agent holding only its own sensors'\n"
    "series; the defaults change to 6 agents on a ring, one filter layer (--hidden 0), no dropout,\n"
    "--epochs 40, a report every epoch, gt-adam with lr 0.03 decaying over a tenth of the run, one\n"
    "plain gossip round and 20 final mixing rounds. summary.json then holds test_mse_mean,\n"
    "central_test_mse_mean (the centralized twin: same weights, batches and steps) and the MAEs.";

/* Where a run's command line is kept for --resume: one argument per line. */
static const char s_args_name[] = "args";

/* Writes argv[1..argc) but --force and --resume to RUNDIR/checkpoint/args, all or nothing. */
static int s_save_args(const char *out, int argc, char **argv) {
    char dir[4096];
    FILE *f = NULL;
    snprintf(dir, sizeof dir, "%s/checkpoint", out);
    int rc = dgcn_rundir_make(dir);
    if (rc) return rc;
    for (int i = 1; i < argc; i++)
        if (strchr(argv[i], '\n'))
            return dgcn_error_set(DGCN_EINVAL,
                                  "train: argument %d holds a line break; a checkpointed run "
                                  "keeps its arguments one per line",
                                  i);
    rc = dgcn_rundir_fopen_tmp(dir, s_args_name, &f);
    if (rc) return rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) continue;
        fprintf(f, "%s\n", argv[i]);
    }
    return dgcn_rundir_commit(&f, dir, s_args_name);
}

/* With --resume RUNDIR among argv: *out_argv = argv[0], RUNDIR/checkpoint/args, then argv's other
 * arguments (a later option wins), with *dir = RUNDIR; *text keeps the strings (free both).
 * Without it *out_argv is NULL. */
static int s_resume_argv(int argc, char **argv, const char **dir, int *out_argc, char ***out_argv,
                         char **text) {
    int at = -1;
    *dir = NULL;
    *out_argv = NULL;
    *text = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--resume") && i + 1 < argc) {
            *dir = argv[i + 1];
            at = i;
            break;
        }
        if (!strncmp(argv[i], "--resume=", 9)) {
            *dir = argv[i] + 9;
            at = i;
            break;
        }
    }
    if (at < 0) return DGCN_OK;
    int skip = argv[at][8] == '=' ? 1 : 2;
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint/%s", *dir, s_args_name);
    FILE *f = NULL;
    int64_t size = 0;
    int rc = dgcn_file_open_read(path, 1 << 20, &f, &size);
    if (rc) return dgcn_error_wrap(rc, "resume: %s is not a checkpointed run directory: ", *dir);
    *text = malloc((size_t)size + 1);
    int n_lines = 0;
    if (*text && fread(*text, 1, (size_t)size, f) == (size_t)size) {
        (*text)[size] = '\0';
        for (int64_t i = 0; i < size; i++) n_lines += (*text)[i] == '\n';
    } else rc = dgcn_error_set(DGCN_EIO, "%s: read failed", path);
    fclose(f);
    if (rc) return rc;
    *out_argv = calloc((size_t)(n_lines + argc + 1), sizeof **out_argv);
    if (!*out_argv) return dgcn_error_set(DGCN_ENOMEM, "resume: out of memory");
    int n = 0;
    (*out_argv)[n++] = argv[0];
    for (char *p = *text, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = '\0';
        (*out_argv)[n++] = p;
    }
    for (int i = 1; i < argc; i++)
        if (i < at || i >= at + skip) (*out_argv)[n++] = argv[i];
    *out_argc = n;
    return DGCN_OK;
}

static int s_train(dgcn_train_opts *po, const char *resume, int argc, char **argv);

int dgcn_cmd_train(int argc, char **argv) {
    dgcn_train_opts o;
    dgcn_train_defaults(&o);
    const char *resume = NULL;
    char **resumed = NULL, *resumed_text = NULL;
    if (s_resume_argv(argc, argv, &resume, &argc, &resumed, &resumed_text)) {
        fprintf(stderr, "dgcn train: %s\n", dgcn_error_msg());
        free(resumed);
        free(resumed_text);
        return 1;
    }
    if (resumed) argv = resumed;
    int rc = s_train(&o, resume, argc, argv);
    free(resumed);
    free(resumed_text);
    return rc;
}

/* The command after --resume's arguments are in place (resume: the run directory, or NULL). */
static int s_train(dgcn_train_opts *po, const char *resume, int argc, char **argv) {
    dgcn_train_opts o = *po;
    const char *transport = "zmq";
    int quiet = 0, no_baselines = 0, force = 0;
    const dgcn_arg head[] = {
        DGCN_DATA_SOURCE_ARGS(&o.src),
        {"agents", DGCN_ARG_INT, &o.plan.agents, "number of agents M (mpi: the ranks after rank 0)",
         1, 1e6},
        {"partition", DGCN_ARG_STRING, &o.plan.partition, "bfs|metis|random|block", 1, 0},
        {"topology", DGCN_ARG_STRING, &o.plan.topology,
         "spec: auto (designed up to 128 agents, budget:M/4 above)|designed[:G]|budget:B|sparse:B|required|complete|ring|line|star|torus|hypercube|exponential|er:P|geometric:R|regular:K|A+B|file:EDGES",
         1, 0},
        {"remove", DGCN_ARG_DOUBLE, &o.plan.removal,
         "fraction of the spec's links removed at random, kept connected", 0, 0.99},
        {"cross-edges", DGCN_ARG_STRING, &o.plan.cross_edges,
         "keep (add the required links) | drop (drop uncovered data edges) | relay (forward "
         "their rows along shortest paths) | strict (refuse)",
         1, 0},
        {"weights", DGCN_ARG_STRING, &o.plan.weights,
         "mixing rule: auto|mh|maxdeg|lazy-mh|lazy-maxdeg|uniform|fastest", 1, 0},
        DGCN_ARGS_END};
    const dgcn_arg tail[] = {
        {"transport", DGCN_ARG_STRING, &transport,
         "zmq (ipc://) | mpi | inproc, or an address: inproc://NAME, ipc://PATH, tcp://HOST:PORT, mpi://",
         1, 0},
        {"tcp", DGCN_ARG_STRING, &o.tcp_host, "zmq over tcp on this host address instead of ipc", 1,
         0},
        {"workers", DGCN_ARG_INT, &o.workers,
         "inproc: worker threads running the agents as tasks [one per core]", 0, 4096},
        {"deadline-ms", DGCN_ARG_INT, &o.deadline_ms,
         "bound on every wait, ms (0: from the planned work of a report interval)", 0, 1e9},
        {"out", DGCN_ARG_STRING, &o.out, "run directory (default runs/train-TIMESTAMP)", 1, 0},
        {"force", DGCN_ARG_FLAG, &force, "clear a non-empty run directory --out first", 1, 0},
        {"quiet", DGCN_ARG_FLAG, &quiet, "no progress lines", 1, 0},
        {"no-baselines", DGCN_ARG_FLAG, &no_baselines, "skip the centralized GCN and MLP", 1, 0},
        {"resume", DGCN_ARG_STRING, &resume,
         "continue RUNDIR from its last complete checkpoint, with the options it was started with",
         1, 0},
        /* -- regression on graph signals (a traffic folder; --batch is a run_config row) -- */
        {"epochs", DGCN_ARG_INT, &o.epochs,
         "regression without --iters: passes over the training samples", 1, 1e6},
        DGCN_ARGS_END};
    dgcn_arg
        table[128]; /* head, the run configuration's options (coordinator/run_config.h), tail */
    int n = dgcn_args_append(table, 0, 128, head);
    n = dgcn_run_config_args(&o, DGCN_RUN_CONFIG_ARGS_TRAIN, table, n, 128);
    dgcn_args_append(table, n, 128, tail);
    int a = dgcn_args_parse(s_usage, table, argc, argv);
    if (a == 1) return 0;
    if (a) return 2;
    if (dgcn_data_source_is_series(&o.src)) { /* the task's defaults, then the options again */
        dgcn_train_defaults_regression(&o);
        if (dgcn_args_parse(s_usage, table, argc, argv)) return 2;
    }
    o.transport = transport;
    if ((o.checkpoint_every > 0 || resume) && o.seeds != 1) {
        fprintf(stderr, "dgcn train: --checkpoint-every and --resume need --seeds 1 (got %d)\n",
                o.seeds);
        return 2;
    }
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
        /* an mpi job's agent ranks start before the plan exists: the floor, or the override */
        int agent_ms = o.deadline_ms > 0 ? o.deadline_ms : DGCN_DEADLINE_FLOOR_MS;
        int rc = dgcn_session_job_enter(transport, &argc, &argv, agent_ms, o.seeds, &is_agent, &m);
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
    int rc = DGCN_OK;
    if (resume) {
        o.out = resume; /* the run directory continues, whatever --out it was started with */
        o.resume = 1;
    } else {
        rc = dgcn_rundir_prepare(o.out, force);
        if (!rc && o.checkpoint_every > 0) rc = s_save_args(o.out, argc, argv);
    }
    if (!rc) rc = dgcn_train_run(&o, &r);
    dgcn_train_result_fini(&r);
    if (rc) {
        fprintf(stderr, "dgcn train: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
        return dgcn_signal_exit_status(rc, 1);
    }
    dgcn_session_job_leave();
    return 0;
}
