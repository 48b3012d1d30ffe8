/* coordinator/train.c: a distributed run from its plan, in named steps: open the data and plan
 * the run (s_open), settle its configuration and figures (s_prepare), start or resume the run
 * directory, train the seeds (coordinator/seed_loop.h, which gathers the reports with
 * coordinator/gather.h and checkpoints with coordinator/ckpt.h), the centralized baselines, then
 * summary.json (coordinator/train_files.h), the plots and the result lines. */
#define _XOPEN_SOURCE 700 /* realpath */

#include "coordinator/train.h"

#include "agent/run.h"
#include "coordinator/baseline.h"
#include "coordinator/ckpt.h"
#include "coordinator/deadline.h"
#include "coordinator/gather.h"
#include "coordinator/plan.h"
#include "coordinator/rundir.h"
#include "coordinator/seed_loop.h"
#include "coordinator/train_files.h"
#include "coordinator/train_int.h"
#include "core/error.h"
#include "core/signal.h"
#include "core/timer.h"
#include "graph/shard.h"
#include "nn/halo_codec.h"
#include "topologies/graph.h"
#include "topologies/io.h"
#include "topologies/spec.h"
#include "topologies/spectral.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

void dgcn_train_defaults(dgcn_train_opts *o) {
    memset(o, 0, sizeof *o);
    dgcn_data_source_defaults(&o->src);
    dgcn_plan_defaults(&o->plan);
    o->plan.agents = 8;
    o->plan.topology = "auto";
    o->optimizer = "gt-adam";
    o->lr = 0;
    o->lr_decay = 0;
    o->lr_power = 1;
    o->hidden = 16;
    o->order = -1;
    o->dropout = 0.5;
    o->weight_decay = 5e-4;
    o->iters = 200;
    o->seeds = 1;
    o->transport = "zmq";
    o->eval_every = 10;
    o->final_mixing = 0;
    o->gossip_rounds = 0;
    o->gossip_target = 0.02;
    o->gossip_accel = "chebyshev";
    o->gossip_max = 3;
    o->lr_cooldown = 1.0;
    o->agree_rounds = -1;
    o->deadline_ms = 0;
    o->progress = 1;
    o->baselines = 1;
    o->batch = 32;
    o->epochs = 40;
    o->halo_staleness = 4;
    o->on_agent_loss = "abort";
    o->compress_params = "none";
    o->compress_gamma = 0.0;
    o->compress_halo = "off";
    o->halo_rounding = "nearest";
    o->halo_feedback = "none";
}

void dgcn_train_result_fini(dgcn_train_result *r) { dgcn_curve_fini(&r->curve); }

/* The run configuration every agent receives, built once from the options (o->gossip_rounds
 * resolved): seeds o->plan.seed (s_run_seed sets each seed's). */
static int s_run_config(const dgcn_train_opts *o, const dgcn_dataset *ds, dgcn_run_config *cfg) {
    int rc = DGCN_OK;
    *cfg = dgcn_run_config_defaults(ds->d, ds->c);
    cfg->mode = DGCN_RUN_TRAIN;
    cfg->model = dgcn__train_model(o, ds);
    DGCN_CHECK(dgcn_consensus_kind_parse(o->optimizer, &cfg->consensus.kind));
    cfg->consensus = dgcn_consensus_defaults(cfg->consensus.kind, 1.0);
    cfg->consensus.step = dgcn__train_steps(o);
    cfg->consensus.grad_scale = 0.0;
    if (ds->samples) { /* regression (train_regression.c); batch_seed: each seed's */
        cfg->task = DGCN_TASK_REGRESSION;
        cfg->batch = o->batch;
        cfg->batch_seed = o->plan.seed;
    }
    cfg->iterations = o->iters;
    cfg->eval_every = o->eval_every;
    cfg->final_mixing = o->final_mixing;
    cfg->consensus.gossip_rounds = o->gossip_rounds;
    dgcn_gossip_accel accel = DGCN_GOSSIP_PLAIN;
    DGCN_CHECK(dgcn_gossip_accel_parse(o->gossip_accel, &accel));
    cfg->consensus.gossip_accel = accel;
    cfg->consensus.gossip_rho = o->gossip_rho;
    cfg->consensus.step.cooldown = o->lr_cooldown;
    cfg->agree_rounds = o->agree_rounds;
    cfg->init_seed = o->plan.seed;
    cfg->dropout_seed = o->plan.seed;
    cfg->init_per_agent = o->init_per_agent;
    cfg->dropout_per_agent = o->dropout_per_agent;
    cfg->report_params = 1;
    cfg->checkpoint_every = o->checkpoint_every;
    cfg->link_failure = o->link_failure;
    cfg->halo_staleness = o->halo_staleness;
    if (!o->on_agent_loss || !strcmp(o->on_agent_loss, "abort")) cfg->on_agent_loss = 0;
    else if (!strcmp(o->on_agent_loss, "continue")) cfg->on_agent_loss = 1;
    else
        DGCN_CHECK(
            dgcn_error_set(DGCN_EINVAL, "--on-agent-loss %s: abort or continue", o->on_agent_loss));
    dgcn_halo_codec codec = DGCN_HALO_OFF;
    dgcn_halo_rounding rounding = DGCN_HALO_NEAREST;
    dgcn_halo_feedback feedback = DGCN_HALO_FEEDBACK_NONE;
    DGCN_CHECK(dgcn_halo_codec_parse(o->compress_halo ? o->compress_halo : "off", &codec));
    DGCN_CHECK(
        dgcn_halo_rounding_parse(o->halo_rounding ? o->halo_rounding : "nearest", &rounding));
    DGCN_CHECK(dgcn_halo_feedback_parse(o->halo_feedback ? o->halo_feedback : "none", &feedback));
    cfg->halo_codec = codec;
    cfg->halo_rounding = rounding;
    cfg->halo_feedback = feedback;
    if (o->kill_agents > 0 && (!cfg->on_agent_loss || o->kill_agents >= o->plan.agents))
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                  "%d agents to kill: needs --on-agent-loss continue and fewer "
                                  "than the %d agents",
                                  o->kill_agents, o->plan.agents));
    const char *kind = dgcn_transport_kind(o->transport);
    if (cfg->on_agent_loss && strcmp(kind, "zmq")) /* only zmq's links tell a neighbour's end */
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                  "--on-agent-loss continue: not on transport %s (%s): its agents "
                                  "cannot tell a neighbour's loss; use zmq (ipc or tcp), or abort",
                                  o->transport, kind));
    DGCN_CHECK(dgcn_compress_parse(o->compress_params ? o->compress_params : "none",
                                   &cfg->compress.kind, &cfg->compress.amount));
    cfg->compress.gamma = o->compress_gamma;
    DGCN_CHECK(dgcn_compress_check(&cfg->compress));
    if (cfg->compress.kind != DGCN_COMPRESS_NONE && (o->link_failure > 0.0 || cfg->on_agent_loss))
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                  "--compress-params %s: compressed gossip keeps every neighbour's "
                                  "public copy in step and needs every params message delivered "
                                  "(no --link-failure, no --on-agent-loss continue)",
                                  o->compress_params));
    if (o->shard_files) {
        char abs[4096];
        if (!realpath(o->out, abs))
            DGCN_CHECK(dgcn_error_set(DGCN_EIO, "cannot resolve the run directory %s", o->out));
        if (snprintf(cfg->plan, sizeof cfg->plan, "%s/plan", abs) >= (int)sizeof cfg->plan)
            DGCN_CHECK(
                dgcn_error_set(DGCN_EINVAL, "run directory path too long for a plan: %s", abs));
    }
    DGCN_CHECK(dgcn_model_config_check(&cfg->model));
fail:
    return rc;
}

static const char s_plot_script[] =
    "set terminal pngcairo size 1200,400\n"
    "set output 'train.png'\n"
    "set multiplot layout 1,3\n"
    "set xlabel 'iteration'\n"
    "set key off\n"
    "set title 'training loss'\n"
    "plot for [i=0:*] 'train.tsv' index i using 1:2 with lines lw 2\n"
    "set title 'accuracy (train, val, test)'\n"
    "set key bottom right\n"
    "plot 'train.tsv' index 0 using 1:3 with lines lw 2 title 'train', "
    "'' index 0 using 1:4 with lines lw 2 title 'val', '' index 0 using 1:5 with lines lw 2 title 'test'\n"
    "set key off\n"
    "set logscale y\n"
    "set title 'consensus error'\n"
    "plot for [i=0:*] 'train.tsv' index i using 1:6 with lines lw 2\n"
    "unset multiplot\n";

/* The gossip of a run into r (rounds, acceleration, rho) from the plan's SLEM: dgcn_gossip_choose,
 * which turns Chebyshev off when the SLEM is only a lower bound (Lanczos did not converge). */
static int s_gossip_rounds(const dgcn_train_opts *o, const dgcn_plan *p, dgcn_train_opts *r,
                           double *slem, int *exact) {
    dgcn_gossip_accel accel;
    *slem = NAN;
    *exact = 1;
    r->gossip_rho = 0.0;
    int rc = dgcn_gossip_accel_parse(o->gossip_accel, &accel);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "train: --gossip-accel: ");
    if (o->gossip_rounds > DGCN_GOSSIP_MAX || o->gossip_rounds < 0)
        return dgcn_error_set(DGCN_EINVAL, "train: --gossip-rounds %d is not in [0, %d]",
                              o->gossip_rounds, DGCN_GOSSIP_MAX);
    if (!(o->gossip_target > 0.0 && o->gossip_target < 1.0))
        return dgcn_error_set(DGCN_EINVAL, "train: --gossip-target %g is not in (0, 1)",
                              o->gossip_target);
    if (!p->c.m) return DGCN_OK;
    rc = dgcn_mixing_norm_cj(&p->c, slem, exact);
    if (rc != DGCN_OK) return rc;
    /* Time-varying links (a schedule, link failures): the matrix changes from step to step, so no
     * fixed SLEM bounds its modes and Chebyshev's weights could amplify them: plain gossip. A
     * schedule's phase graph is sparse (a matching mixes in one round): one round by default. */
    const int dynamic = p->sched_period > 0 || o->link_failure > 0.0;
    if (dynamic) accel = DGCN_GOSSIP_PLAIN;
    /* Compressed gossip mixes with (1 - gamma) I + gamma C only approximately, so no bound of
     * C's spectrum gives Chebyshev weights it can use: plain rounds (nn/choco.h). */
    int32_t ckind = DGCN_COMPRESS_NONE;
    double camount = 0.0;
    if (o->compress_params &&
        dgcn_compress_parse(o->compress_params, &ckind, &camount) == DGCN_OK &&
        ckind != DGCN_COMPRESS_NONE)
        accel = DGCN_GOSSIP_PLAIN;
    int32_t rounds;
    dgcn_gossip_choose(accel, *slem, *exact, o->gossip_target, o->gossip_rounds, &rounds, &accel,
                       &r->gossip_rho);
    if (o->gossip_rounds == 0 && o->gossip_max >= 1 && rounds > o->gossip_max)
        rounds = o->gossip_max;
    if (o->gossip_rounds == 0 && p->sched_period > 0) rounds = 1;
    r->gossip_rounds = rounds;
    r->gossip_accel = dgcn_gossip_accel_name(accel);
    /* Agreement rounds: with per-agent initializations, the fewest that contract the copies'
     * disagreement to 1e-3, at most one per 4 iterations (a quarter of a message per link and
     * iteration, on messages of P floats). */
    if (o->agree_rounds < -1 || o->agree_rounds > DGCN_GOSSIP_MAX)
        return dgcn_error_set(DGCN_EINVAL, "train: --agree-rounds %d is not in [-1, %d]",
                              o->agree_rounds, DGCN_GOSSIP_MAX);
    if (o->agree_rounds == -1) {
        int32_t cap = o->iters / 4 > 0 ? o->iters / 4 : 1;
        int32_t need = dgcn_gossip_rounds_for(*slem, 1e-3, accel);
        r->agree_rounds = o->init_per_agent ? (need < cap ? need : cap) : 0;
    }
    return DGCN_OK;
}

/* Peak resident memory of this process in bytes (Linux reports ru_maxrss in kilobytes); 0 when
 * getrusage fails. */
static uint64_t s_peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss < 0) return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

/* 1 when the plan's graph is complete with uniform weights (c_kt = 1/M everywhere) and the agents
 * share their initialization: one mixing step is the exact average, so the copies never differ.
 * Not for ed, which mixes with (I + C) / 2: half its own copy stays. O(m + links): a complete
 * graph's rows hold every entry. */
static int s_centralized_by_construction(const dgcn_train_opts *o, const dgcn_plan *p) {
    int32_t m = p->m;
    if (o->init_per_agent || !p->c.m || strcmp(o->optimizer, "ed") == 0) return 0;
    if (dgcn_topo_links(&p->topo) != (int64_t)m * (m - 1) / 2) return 0;
    for (int64_t i = 0; i < p->c.ptr[m]; i++)
        if (fabs(p->c.val[i] - 1.0 / m) > 1e-12) return 0;
    return 1;
}

/* How much one iteration's gossip shrinks the agents' disagreement: SLEM^R for plain rounds,
 * 1 / T_R(1 / rho) for Chebyshev-accelerated ones (nn/consensus.h), and for ed, which mixes with
 * (I + p_R(C)) / 2, (1 + that) / 2; NaN without a mixing matrix. */
static double s_contraction_per_iter(const dgcn_train_opts *o, double slem) {
    dgcn_gossip_accel accel = DGCN_GOSSIP_PLAIN;
    dgcn_gossip_accel_parse(o->gossip_accel, &accel);
    double q = accel == DGCN_GOSSIP_PLAIN
                   ? dgcn_observe_gossip_contraction(slem, o->gossip_rounds)
                   : dgcn_gossip_contraction(o->gossip_rho, o->gossip_rounds, accel);
    if (isnan(slem)) return NAN;
    return strcmp(o->optimizer, "ed") == 0 ? (1 + q) / 2 : q;
}

/* The deadline of every wait (deadline.h) from the planned work of a report interval: its
 * iterations' halo exchanges and gossip rounds, their bytes over the agents sharing the cores,
 * the forward and backward passes; o->deadline_ms > 0 overrides it. */
static void s_deadline(const dgcn_train_opts *o, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                       const dgcn_plan *p, dgcn_deadline *d) {
    dgcn_model_config mc = dgcn_model_defaults(DGCN_MODEL_GCN, ds->d, ds->c);
    mc.dims[1] = o->hidden;
    if (o->order >= 0) mc.kind = DGCN_MODEL_FILTER, mc.order = o->order;
    int32_t widths[DGCN_MAX_LAYERS * DGCN_MAX_ORDER];
    int n_x = dgcn_model_exchange_widths(&mc, widths);
    dgcn_consensus_kind kind = DGCN_CONSENSUS_GT_ADAM;
    dgcn_consensus_kind_parse(o->optimizer, &kind);
    int64_t np = dgcn_model_n_params(&mc);
    int64_t msg = (kind == DGCN_CONSENSUS_GT || kind == DGCN_CONSENSUS_GT_ADAM) ? 2 * np : np;
    int32_t deg_max = 0;
    if (p->c.m) dgcn_topo_degree_stats(&p->topo, NULL, &deg_max, NULL);
    double width_sum = 0;
    for (int i = 0; i < n_x; i++) width_sum += widths[i];
    double forward = 2.0 * ((double)ds->x.nnz * o->hidden + (double)a_hat->nnz * width_sum +
                            (double)ds->n * o->hidden * ds->c);
    int cores = dgcn_deadline_cores();
    if (o->workers > 0 && o->workers < cores &&
        !strcmp(dgcn_transport_kind(o->transport), "inproc"))
        cores = o->workers;
    dgcn_deadline_work w = {
        .agents = p->m,
        .cores = cores,
        .iters_per_report = o->eval_every < o->iters ? o->eval_every : o->iters,
        .halo_exchanges = 2 * n_x * (p->hops_max > 1 ? p->hops_max : 1),
        .gossip_rounds = o->gossip_rounds,
        /* agreement rounds before the first step and averaging rounds before the last report */
        .final_mixing = o->final_mixing + (o->agree_rounds > 0 ? o->agree_rounds : 0),
        .halo_bytes = (double)dgcn_plan_min_bytes(p, widths, n_x, 0),
        .params_bytes = (p->c.m ? 2.0 * (double)dgcn_topo_links(&p->topo) : 0) * msg * 4.0,
        .params_bytes_max = 2.0 * deg_max * msg * 4.0,
        .flops = 4 * forward, /* forward, backward (twice the forward), the evaluation's share */
    };
    dgcn_deadline_choose(&w, o->deadline_ms, d);
}

/* A run in progress: what the steps of dgcn_train_run share. */
typedef struct s_run {
    dgcn_train_opts o; /* the caller's, with the task's options and the gossip rounds chosen */
    dgcn_dataset ds;
    dgcn_csr a_hat;
    dgcn_plan p;
    dgcn_run_config cfg; /* the run's, with the first seed's seeds */
    dgcn_deadline dl;
    dgcn_ckpt ck;
    int64_t start;     /* resume: the checkpoint's iteration */
    char topology[32]; /* the spec "auto" stands for (s_auto_topology) */
    dgcn_ctl_setup *setups;
    dgcn_ctl_msg *states; /* resume: the checkpoint's, one per agent */
    FILE *metrics, *tsv;
    int curve_cap;
    double *dist, *central, *mlp, *cons; /* (seeds) test figure of the agents, the centralized
                                          * GCN (or twin) and MLP; consensus error */
    double *mae;                         /* regression: (2, seeds) test MAE of the agents, then of
                                          * the twin */
    double *central_ms, *intervals;      /* (seeds) median epoch; ms per iteration of intervals */
    int n_intervals;
    FILE *log;
    double t_start;
} s_run;

/* Above this many agents, train notes that the dense design of a `designed` topology is slow. */
#define S_DESIGN_NOTE_ABOVE 128

/* --topology auto (train's default): the paper's design up to S_DESIGN_NOTE_ABOVE agents; above,
 * where the design's ADMM takes minutes (docs/topologies.md: 400 agents, 3 minutes), the budget
 * design with M/4 links beyond the required ones (400 agents: 0.6 s, and a smaller SLEM). */
static void s_auto_topology(s_run *r, dgcn_train_opts *o) {
    if (!o->plan.topology || strcmp(o->plan.topology, "auto") != 0) return;
    if (o->plan.agents <= S_DESIGN_NOTE_ABOVE)
        snprintf(r->topology, sizeof r->topology, "designed");
    else snprintf(r->topology, sizeof r->topology, "budget:%d", o->plan.agents / 4);
    o->plan.topology = r->topology;
    if (o->progress && o->plan.agents > S_DESIGN_NOTE_ABOVE)
        fprintf(r->log,
                "note: topology auto is %s above %d agents (the design's ADMM would take "
                "minutes); --topology designed asks for it\n",
                r->topology, S_DESIGN_NOTE_ABOVE);
}

/* The data, the options it resolves, the plan and its gossip; the notes on both. */
static int s_open(s_run *r, const dgcn_train_opts *given, dgcn_train_result *res) {
    int rc = DGCN_OK;
    dgcn_train_opts *o = &r->o;
    DGCN_CHECK(dgcn_rundir_make(given->out));
    DGCN_CHECK(dgcn_data_source_open_series(&given->src, &r->ds, &r->a_hat, &res->generated));
    *o = *given;
    DGCN_CHECK(dgcn__train_resolve(o, &r->ds));
    s_auto_topology(r, o);
    if (o->iters < 1 || o->seeds < 1 || o->eval_every < 1 || o->plan.agents < 1)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "train: --iters, --seeds, --eval-every and "
                                               "--agents must be >= 1"));
    r->curve_cap = 2 + (o->iters + o->eval_every - 1) / o->eval_every;
    DGCN_CHECK(dgcn_curve_init(&res->curve, r->curve_cap));
    dgcn_topo_spec_info si;
    if (o->progress && o->plan.topology && o->plan.agents > S_DESIGN_NOTE_ABOVE &&
        !dgcn_topo_spec_check(o->plan.topology, o->plan.agents, &si) && si.single_design)
        fprintf(r->log,
                "note: designing the topology of %d agents (one %d x %d eigendecomposition per "
                "ADMM iteration; 400 agents took minutes, docs/topologies.md); --topology budget:B "
                "designs sparsely in seconds\n",
                o->plan.agents, o->plan.agents, o->plan.agents);
    dgcn_plan_opts po = given->plan;
    po.topology = o->plan.topology;
    DGCN_CHECK(dgcn_plan_build(&r->p, &r->ds, &r->a_hat, &po));
    double slem;
    int slem_exact;
    DGCN_CHECK(s_gossip_rounds(given, &r->p, o, &slem, &slem_exact));
    if (o->progress && o->agree_rounds > 0)
        fprintf(r->log, "%d agreement round(s) before the first step (contraction %.2e)\n",
                o->agree_rounds,
                dgcn_gossip_contraction(o->gossip_rho > 0 ? o->gossip_rho : slem, o->agree_rounds,
                                        strcmp(o->gossip_accel, "chebyshev") == 0
                                            ? DGCN_GOSSIP_CHEBYSHEV
                                            : DGCN_GOSSIP_PLAIN));
    if (o->progress)
        fprintf(r->log, "mixing SLEM %.6f%s, %d gossip round(s) per iteration, acceleration %s%s\n",
                slem, slem_exact ? "" : " (a lower bound: Lanczos did not converge)",
                o->gossip_rounds, o->gossip_accel,
                strcmp(o->gossip_accel, given->gossip_accel) == 0
                    ? ""
                    : " (chebyshev off: its weights need a bound rho >= SLEM, and this SLEM is not "
                      "one)");
    res->contraction_per_iter = s_contraction_per_iter(o, slem);
fail:
    return rc;
}

/* The run configuration, the deadline, the plan's figures in res and their notes, the checkpoint
 * store. */
static int s_prepare(s_run *r, dgcn_train_result *res) {
    int rc = DGCN_OK;
    dgcn_train_opts *o = &r->o;
    const dgcn_plan *p = &r->p;
    FILE *log = r->log;
    DGCN_CHECK(s_run_config(o, &r->ds, &r->cfg));
    s_deadline(o, &r->ds, &r->a_hat, p, &r->dl);
    o->deadline_ms = r->dl.deadline_ms;
    const dgcn_deadline *dl = &r->dl;
    if (o->progress && dgcn_deadline_notable(dl))
        fprintf(log,
                "note: %d gossip round(s) and %.3g GB per iteration planned (%d agents per core): "
                "a report interval of %d iteration(s) is allowed %.0f s; deadline %.0f s, the "
                "agents' %.0f s (%s)%s\n",
                o->gossip_rounds, dl->bytes_per_iter / 1e9, dl->agents_per_core,
                o->eval_every < o->iters ? o->eval_every : o->iters, dl->interval_ms / 1e3,
                dl->deadline_ms / 1e3, dl->agent_deadline_ms / 1e3,
                dl->automatic ? "automatic" : "--deadline-ms",
                !dl->automatic && dl->interval_ms > dl->deadline_ms
                    ? ": the planned work may exceed it, and healthy agents would be named silent"
                    : "");
    res->links = dgcn_topo_links(&p->topo);
    res->required_links = dgcn_topo_links(&p->required);
    res->hops_per_exchange = p->hops_max;
    res->schedule_period = p->sched_period;
    res->n_params = dgcn_model_n_params(&r->cfg.model);
    res->dropped_edges = p->n_dropped;
    res->shard_bytes = dgcn_plan_shard_bytes(p, &res->shard_bytes_max);
    res->centralized_by_construction = s_centralized_by_construction(o, p);
    res->links_possible = (int64_t)p->m * (p->m - 1) / 2;
    res->effectively_centralized = dgcn_observe_centralized(res->links, p->m,
                                                            res->contraction_per_iter,
                                                            res->centralized_reason,
                                                            sizeof res->centralized_reason);
    if (o->progress && res->effectively_centralized)
        fprintf(log, "note: effectively centralized: %s\n", res->centralized_reason);
    if (o->progress && res->centralized_by_construction)
        fprintf(log,
                "note: the communication graph is complete with uniform weights and one shared "
                "initialization, so every copy stays the average: this run is centralized "
                "training by construction, not evidence about distributed optimization\n");
    DGCN_CHECK(dgcn_ckpt_init(&r->ck, o->out, o->checkpoint_every, p->m, o->iters, p->id));
fail:
    return rc;
}

/* --resume: the same plan, the manifest's checkpoint, config.json rewritten for the run as it
 * continues, metrics.jsonl cut back to the checkpoint and appended to. */
static int s_rundir_resume(s_run *r, dgcn_train_result *res) {
    int rc = DGCN_OK;
    const dgcn_train_opts *o = &r->o;
    char path[4096];
    DGCN_CHECK(dgcn_ckpt_resume(&r->ck, o->plan.seed, &r->start));
    DGCN_CHECK(dgcn_train_files_config_check(o->out, &r->cfg));
    DGCN_CHECK(dgcn_train_files_config_write(o, &r->ds, &r->p, &r->cfg));
    snprintf(path, sizeof path, "%s/plots", o->out);
    DGCN_CHECK(dgcn_rundir_make(path));
    DGCN_CHECK(dgcn_rundir_fopen(path, "train.tsv", "w", &r->tsv));
    DGCN_CHECK(dgcn_gather_metrics_cut(o->out, r->start, r->ds.samples != NULL, r->tsv, &res->curve,
                                       r->curve_cap));
    DGCN_CHECK(dgcn_rundir_fopen(o->out, "metrics.jsonl", "a", &r->metrics));
    if (o->progress)
        fprintf(r->log, "resume: %s from the checkpoint of iteration %" PRId64 "\n", o->out,
                r->start);
fail:
    return rc;
}

/* A new run: config.json, plan/, topology.edges and .dot, plots/train.tsv, metrics.jsonl and the
 * checkpoint folder. */
static int s_rundir_fresh(s_run *r) {
    int rc = DGCN_OK;
    const dgcn_train_opts *o = &r->o;
    const dgcn_plan *p = &r->p;
    char path[4096];
    DGCN_CHECK(dgcn_train_files_config_write(o, &r->ds, p, &r->cfg));
    snprintf(path, sizeof path, "%s/plan", o->out);
    DGCN_CHECK(dgcn_shard_dir_write(path, p->shards, p->m, p->owner, r->ds.n, o->plan.partition,
                                    o->plan.seed));
    snprintf(path, sizeof path, "%s/topology.edges", o->out);
    DGCN_CHECK(dgcn_topo_write_edges(&p->topo, path));
    snprintf(path, sizeof path, "%s/topology.dot", o->out);
    DGCN_CHECK(dgcn_topo_write_dot(&p->topo, &p->c, path));
    snprintf(path, sizeof path, "%s/plots", o->out);
    DGCN_CHECK(dgcn_rundir_make(path));
    DGCN_CHECK(dgcn_rundir_fopen(path, "train.tsv", "w", &r->tsv));
    DGCN_CHECK(dgcn_rundir_fopen(o->out, "metrics.jsonl", "w", &r->metrics));
    if (r->ck.every > 0) DGCN_CHECK(dgcn_rundir_make(r->ck.dir));
fail:
    return rc;
}

/* The set-up messages, with the checkpoint's states on resume; the seed loop; the seeds' figures
 * into the per-seed arrays and res. */
static int s_train_seeds(s_run *r, dgcn_train_result *res) {
    int rc = DGCN_OK;
    const dgcn_train_opts *o = &r->o;
    const dgcn_plan *p = &r->p;
    dgcn_seed_out *outs = NULL;
    DGCN_CHECK(dgcn_plan_setups(p, &r->cfg, !o->shard_files, &r->setups)); /* seeds per seed */
    if (o->resume) {
        DGCN_ALLOC(r->states, p->m);
        DGCN_CHECK(
            dgcn_ckpt_states_read(&r->ck, r->start, dgcn_model_n_params(&r->cfg.model), r->states));
        DGCN_CHECK(dgcn_ckpt_clean(&r->ck, r->start));
        for (int32_t k = 0; k < p->m; k++) r->setups[k].state = &r->states[k].u.state;
    }
    DGCN_ALLOC(outs, o->seeds);
    dgcn_seed_loop l = {o,           &r->cfg,      &r->ds,       &r->a_hat,
                        p,           r->setups,    r->metrics,   r->tsv,
                        &res->curve, r->curve_cap, r->intervals, 0,
                        r->t_start,  &r->ck,       r->start,     r->dl.agent_deadline_ms};
    rc = dgcn_seed_loop_run(&l, outs);
    r->n_intervals = l.n_intervals;
    if (rc != DGCN_OK) goto fail;
    for (int si = 0; si < o->seeds; si++) {
        const dgcn_seed_out *so = &outs[si];
        res->model_test_acc = so->model_test_acc;
        r->dist[si] = so->test_acc; /* regression: the test MSE */
        r->mae[si] = so->test_mae;
        r->cons[si] = so->consensus;
        res->bytes_per_iter += so->bytes_per_iter / o->seeds;
        res->bytes_per_iter_direct += so->direct_per_iter / o->seeds;
        res->bytes_per_iter_relayed += so->relayed_per_iter / o->seeds;
        res->bytes_per_iter_params += so->params_per_iter / o->seeds;
        res->bytes_total += so->bytes_total / o->seeds;
        res->params_bytes_total += so->params_bytes_total / o->seeds;
        res->halo_raw_bytes_total += so->halo_raw_total / o->seeds;
        for (int ch = 0; ch < DGCN_CH_COUNT; ch++)
            res->link_failures[ch] += (double)so->link_failures[ch] / o->seeds;
        res->n_lost = so->n_lost; /* the last seed's */
        for (int32_t i = 0; i < so->n_lost && i < DGCN_SEED_LOST_MAX && i < 16; i++) {
            res->lost_agent[i] = so->lost_agent[i];
            res->lost_iter[i] = so->lost_iter[i];
        }
    }
fail:
    free(outs);
    return rc;
}

/* The analytic minimum of one training iteration's traffic (all agents, payload bytes): the rows
 * M = H W of each layer (hidden, then classes) and the optimizer's consensus message once per
 * gossip round. */
static void s_min_bytes(const s_run *r, dgcn_train_result *res) {
    const dgcn_run_config *cfg = &r->cfg;
    dgcn_consensus_kind kind = cfg->consensus.kind;
    int32_t widths[DGCN_MAX_LAYERS * DGCN_MAX_ORDER];
    int n_x = dgcn_model_exchange_widths(&cfg->model, widths);
    for (int x = 0; x < n_x && r->ds.samples; x++) widths[x] *= r->o.batch; /* B signals a row */
    int64_t np = dgcn_model_n_params(&cfg->model);
    int64_t msg = (kind == DGCN_CONSENSUS_GT || kind == DGCN_CONSENSUS_GT_ADAM) ? 2 * np : np;
    if (cfg->compress.kind != DGCN_COMPRESS_NONE) /* the wire form, per segment of P (nn/choco.h) */
        msg = (msg / np * dgcn_compress_wire_bytes(cfg->compress.kind, cfg->compress.amount, np) +
               3) /
              4;
    res->relayed_per_iter_min = 2.0 * (double)dgcn_plan_relay_bytes(&r->p, widths, n_x);
    res->bytes_per_iter_min = (double)dgcn_plan_min_bytes(&r->p, widths, n_x,
                                                          msg * r->o.gossip_rounds);
}

/* The centralized baselines of every seed: the GCN and the MLP on the run's model, or for
 * regression the twin. */
static int s_baselines(s_run *r) {
    int rc = DGCN_OK;
    const dgcn_train_opts *o = &r->o;
    for (int si = 0; si < o->seeds && o->baselines; si++) {
        if (r->ds.samples) { /* regression: the centralized twin, no MLP */
            double mse3[3], mae3[3];
            DGCN_CHECK(dgcn__train_central_regression(o, &r->ds, &r->a_hat,
                                                      o->plan.seed + (uint64_t)si, mse3, mae3,
                                                      &r->central_ms[si]));
            r->central[si] = mse3[2];
            r->mae[o->seeds + si] = mae3[2];
            continue;
        }
        for (int kind = 0; kind < 2; kind++) {
            dgcn_baseline_opts b = dgcn_baseline_defaults(kind ? DGCN_MODEL_MLP : DGCN_MODEL_GCN,
                                                          &r->ds);
            b.model = r->cfg.model; /* the run's model; the MLP has no filter */
            if (kind) b.model.kind = DGCN_MODEL_MLP, b.model.order = 1;
            b.epochs = o->iters;
            b.seed = o->plan.seed + (uint64_t)si;
            dgcn_baseline_result br;
            DGCN_CHECK(dgcn_baseline_run(&r->ds, &r->a_hat, &b, &br));
            (kind ? r->mlp : r->central)[si] = br.test_acc;
            if (!kind) r->central_ms[si] = br.ms_per_epoch_median;
        }
    }
fail:
    return rc;
}

/* The figures over the seeds into res. */
static void s_figures(s_run *r, dgcn_train_result *res) {
    const dgcn_train_opts *o = &r->o;
    dgcn_mean_std(r->dist, o->seeds, &res->test_acc_mean, &res->test_acc_std);
    double cons_std = 0;
    dgcn_mean_std(r->cons, o->seeds, &res->consensus_error, &cons_std);
    if (o->baselines) {
        dgcn_mean_std(r->central, o->seeds, &res->central_test_acc_mean,
                      &res->central_test_acc_std);
        dgcn_mean_std(r->mlp, o->seeds, &res->mlp_test_acc_mean, &res->mlp_test_acc_std);
        res->central_ms_per_epoch = dgcn_median(r->central_ms, o->seeds);
    } else {
        res->central_ms_per_epoch = NAN;
        res->central_test_acc_mean = res->mlp_test_acc_mean = NAN;
        res->central_test_acc_std = res->mlp_test_acc_std = NAN;
    }
    res->ms_per_iter_median = r->n_intervals ? dgcn_median(r->intervals, r->n_intervals) : NAN;
    dgcn__train_regression_figures(res, r->ds.samples != NULL, o->baselines, r->dist, r->central,
                                   r->mae, o->seeds);
}

/* The result lines of the log. */
static void s_log_result(const s_run *r, const dgcn_train_result *res) {
    const dgcn_train_opts *o = &r->o;
    FILE *log = r->log;
    int32_t m = r->p.m;
    if (r->ds.samples) dgcn__train_regression_log(log, res, o->seeds, o->baselines);
    else
        fprintf(log, "test accuracy over %d seed(s): distributed %.4f +- %.4f", o->seeds,
                res->test_acc_mean, res->test_acc_std);
    if (o->baselines && !r->ds.samples)
        fprintf(log, " | centralized GCN %.4f +- %.4f | MLP %.4f +- %.4f",
                res->central_test_acc_mean, res->central_test_acc_std, res->mlp_test_acc_mean,
                res->mlp_test_acc_std);
    fprintf(log,
            "\nconsensus error %.3e, %.0f bytes/iter (halo direct %.0f, relayed %.0f, params "
            "%.0f), %d hop(s) per exchange, %.2f ms/iter (median)\n",
            res->consensus_error, res->bytes_per_iter, res->bytes_per_iter_direct,
            res->bytes_per_iter_relayed, res->bytes_per_iter_params, res->hops_per_exchange,
            res->ms_per_iter_median);
    fprintf(
        log,
        "bytes_total %.0f (params %.0f, halo %.0f): every byte the agents sent in a seed's run\n",
        res->bytes_total, res->params_bytes_total, res->bytes_total - res->params_bytes_total);
    fprintf(log,
            "memory: peak resident %.1f MB (%.1f kB per agent), shards %.1f kB per agent (largest "
            "%.1f kB)\n",
            res->peak_rss_bytes / 1e6, res->peak_rss_bytes / 1e3 / m, res->shard_bytes / 1e3 / m,
            res->shard_bytes_max / 1e3);
    fflush(log);
}

static void s_run_fini(s_run *r) {
    if (r->tsv) fclose(r->tsv);
    if (r->metrics) fclose(r->metrics);
    free(r->dist);
    free(r->central);
    free(r->mlp);
    free(r->cons);
    free(r->intervals);
    free(r->central_ms);
    free(r->mae);
    for (int32_t k = 0; r->setups && k < r->p.m; k++) r->setups[k].state = NULL; /* states' */
    for (int32_t k = 0; r->states && k < r->p.m; k++) dgcn_ctl_msg_fini(&r->states[k]);
    free(r->states);
    dgcn_ckpt_fini(&r->ck);
    dgcn_plan_setups_free(&r->setups, r->p.m);
    dgcn_plan_fini(&r->p);
    dgcn_csr_fini(&r->a_hat);
    dgcn_dataset_fini(&r->ds);
}

int dgcn_train_run(const dgcn_train_opts *given, dgcn_train_result *res) {
    int rc = DGCN_OK;
    memset(res, 0, sizeof *res);
    res->central_ms_per_epoch = res->ms_per_iter_median = NAN;
    if (given->checkpoint_every < 0 ||
        ((given->checkpoint_every > 0 || given->resume) && given->seeds != 1))
        return dgcn_error_set(DGCN_EINVAL,
                              "train: checkpoints and --resume need --seeds 1 and "
                              "--checkpoint-every >= 0 (got %d seeds, every %d)",
                              given->seeds, given->checkpoint_every);
    s_run *r = calloc(1, sizeof *r);
    if (!r) return dgcn_error_set(DGCN_ENOMEM, "train: out of memory");
    r->log = given->log ? given->log : stdout;
    r->t_start = dgcn_now_ms();
    const dgcn_train_opts *o = &r->o;
    DGCN_CHECK(s_open(r, given, res));
    DGCN_CHECK(s_prepare(r, res));
    if (o->resume) DGCN_CHECK(s_rundir_resume(r, res));
    else DGCN_CHECK(s_rundir_fresh(r));

    DGCN_ALLOC(r->dist, o->seeds);
    DGCN_ALLOC(r->central, o->seeds);
    DGCN_ALLOC(r->mlp, o->seeds);
    DGCN_ALLOC(r->cons, o->seeds);
    DGCN_ALLOC(r->mae, 2 * o->seeds);
    DGCN_ALLOC(r->intervals, (size_t)o->seeds * (size_t)(o->iters + 2));
    if (o->progress)
        fprintf(r->log,
                "train: %d agents over %s, partition %s, topology %s (%" PRId64 " links, %" PRId64
                " required), optimizer %s, %d iterations x %d seed(s), run dir %s\n",
                r->p.m, dgcn_transport_kind(o->transport), o->plan.partition, o->plan.topology,
                dgcn_topo_links(&r->p.topo), dgcn_topo_links(&r->p.required), o->optimizer,
                o->iters, o->seeds, o->out);
    DGCN_CHECK(s_train_seeds(r, res));
    DGCN_CHECK(dgcn_rundir_fclose(&r->tsv, o->out, "plots/train.tsv"));
    s_min_bytes(r, res);
    DGCN_ALLOC(r->central_ms, o->seeds);
    DGCN_CHECK(s_baselines(r));
    s_figures(r, res);

    res->peak_rss_bytes = s_peak_rss_bytes();
    DGCN_CHECK(dgcn_signal_check("the run's summary"));
    DGCN_CHECK(dgcn_rundir_fclose(&r->metrics, o->out, "metrics.jsonl"));
    /* summary.json last: it exists only for a run whose every output, the plot too, is complete */
    DGCN_CHECK(dgcn_rundir_plot(o->out, "train", s_plot_script));
    DGCN_CHECK(dgcn_signal_check("the plots"));
    DGCN_CHECK(dgcn_train_files_summary_write(o, r->p.m, dgcn_model_n_params(&r->cfg.model),
                                              r->ds.samples != NULL, res, r->dist));
    s_log_result(r, res);
fail:
    s_run_fini(r);
    free(r);
    return rc;
}
