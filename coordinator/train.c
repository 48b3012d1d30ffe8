/* coordinator/train.c: planning a distributed run, running it seed by seed, turning the agents'
 * reports into global metrics, and writing the run directory. */
#define _XOPEN_SOURCE 700 /* realpath */

#include "coordinator/train.h"

#include "agent/run.h"
#include "coordinator/baseline.h"
#include "coordinator/rundir.h"
#include "core/error.h"
#include "core/timer.h"
#include "graph/partition.h"
#include "graph/shard.h"
#include "topologies/design.h"
#include "topologies/generate.h"
#include "topologies/graph.h"
#include "topologies/io.h"
#include "topologies/weights.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dgcn_train_defaults(dgcn_train_opts *o) {
    memset(o, 0, sizeof *o);
    dgcn_data_source_defaults(&o->src);
    o->agents = 8;
    o->partition = "bfs";
    o->topology = "designed";
    o->cross_edges = "keep";
    o->weights = "mh";
    o->optimizer = "gt-adam";
    o->lr = 0;
    o->lr_decay = 0;
    o->lr_power = 1;
    o->hidden = 16;
    o->dropout = 0.5;
    o->iters = 200;
    o->seeds = 1;
    o->seed = 1;
    o->backend = DGCN_BACKEND_ZMQ;
    o->eval_every = 10;
    o->final_mixing = 0;
    o->deadline_ms = 30000;
    o->progress = 1;
    o->baselines = 1;
}

/* The plan: everything the agents get, fixed across seeds. */
typedef struct s_plan {
    int32_t m;
    int32_t *owner;      /* (n) */
    dgcn_csr adj_used;   /* (n, n) the data graph the agents see (cross edges maybe dropped) */
    dgcn_csr a_hat_used; /* its normalization */
    int64_t n_dropped;
    dgcn_shard *shards;  /* [m] */
    dgcn_topo required, topo;
    double *c;           /* (m, m) mixing matrix */
    uint8_t **packed;    /* [m] shard bytes */
    size_t *packed_len;
} s_plan;

static void s_plan_fini(s_plan *p) {
    for (int32_t k = 0; p->shards && k < p->m; k++) dgcn_shard_fini(&p->shards[k]);
    for (int32_t k = 0; p->packed && k < p->m; k++) free(p->packed[k]);
    free(p->shards);
    free(p->packed);
    free(p->packed_len);
    free(p->owner);
    free(p->c);
    dgcn_csr_fini(&p->adj_used);
    dgcn_csr_fini(&p->a_hat_used);
    dgcn_topo_fini(&p->required);
    dgcn_topo_fini(&p->topo);
    memset(p, 0, sizeof *p);
}

static int s_plan_build(const dgcn_train_opts *o, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                        s_plan *p) {
    int rc = DGCN_OK;
    int32_t m = o->agents;
    uint8_t *links = NULL;
    dgcn_partition_method pm;
    dgcn_mixing_rule rule;
    int drop = !strcmp(o->cross_edges, "drop");
    memset(p, 0, sizeof *p);
    p->m = m;
    if (!drop && strcmp(o->cross_edges, "keep"))
        return dgcn_error_set(DGCN_EINVAL, "--cross-edges %s (keep|drop)", o->cross_edges);
    DGCN_CHECK(dgcn_partition_method_parse(o->partition, &pm));
    DGCN_CHECK(dgcn_topo_weights_parse(o->weights, &rule));
    if (m > ds->n) DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "--agents %d exceeds the %d nodes", m, ds->n));
    DGCN_ALLOC(p->owner, ds->n);
    DGCN_ALLOC(links, (size_t)m * m);
    DGCN_ALLOC(p->c, (size_t)m * m);
    DGCN_CHECK(dgcn_partition(&ds->adj, m, pm, o->seed, p->owner));
    DGCN_CHECK(dgcn_partition_required_links(&ds->adj, p->owner, m, links));
    DGCN_CHECK(dgcn_topo_from_matrix(&p->required, m, links));
    int have_c = 0;
    if (!strcmp(o->topology, "required")) {
        DGCN_CHECK(dgcn_topo_copy(&p->topo, &p->required));
    } else if (!strcmp(o->topology, "designed")) {
        dgcn_design_opts d;
        dgcn_design_defaults(&d);
        DGCN_CHECK(dgcn_topo_design(&p->required, &d, &p->topo, p->c, NULL));
        have_c = 1;
    } else {
        dgcn_topo fam = {0, NULL};
        if (!strncmp(o->topology, "file:", 5)) {
            rc = dgcn_topo_read_edges(&fam, o->topology + 5);
            if (rc == DGCN_OK && fam.m != m)
                rc = dgcn_error_set(DGCN_ETOPOLOGY, "topology file %s has %d agents, expected %d",
                                    o->topology + 5, fam.m, m);
        } else {
            rc = dgcn_topo_generate(&fam, o->topology, m, o->seed);
        }
        if (rc == DGCN_OK && !drop) rc = dgcn_topo_union(&p->topo, &fam, &p->required);
        else if (rc == DGCN_OK) rc = dgcn_topo_copy(&p->topo, &fam);
        dgcn_topo_fini(&fam);
        if (rc) goto fail;
    }
    if (!dgcn_topo_connected(&p->topo))
        DGCN_CHECK(dgcn_error_set(DGCN_ETOPOLOGY, "topology %s over %d agents is disconnected; the "
                                  "agents could not reach consensus (--topology designed always "
                                  "connects them; a family such as ring is joined to the required "
                                  "links)", o->topology, m));
    if (!have_c) DGCN_CHECK(dgcn_topo_weights(&p->topo, rule, p->c));
    if (drop) {
        DGCN_CHECK(dgcn_partition_drop_cross_edges(&p->adj_used, &ds->adj, p->owner, m,
                                                   p->topo.adj, &p->n_dropped));
        DGCN_CHECK(dgcn_csr_gcn_norm(&p->a_hat_used, &p->adj_used));
    }
    DGCN_ALLOC(p->shards, m);
    DGCN_ALLOC(p->packed, m);
    DGCN_ALLOC(p->packed_len, m);
    DGCN_CHECK(dgcn_shard_build_all(ds, drop ? &p->a_hat_used : a_hat, p->owner, m, o->seed,
                                    p->shards));
    for (int32_t k = 0; k < m; k++)
        DGCN_CHECK(dgcn_shard_pack(&p->shards[k], &p->packed[k], &p->packed_len[k]));
fail:
    free(links);
    return rc;
}

/* One evaluated iteration being gathered from the agents. */
typedef struct s_slot {
    int64_t iter;
    int32_t got;
    double loss[DGCN_SPLITS];
    int64_t correct[DGCN_SPLITS], count[DGCN_SPLITS];
    dgcn_traffic tr;
    double phase[DGCN_RUN_N_PHASES]; /* max over agents, cumulative */
    float *params;                   /* (m, np) */
} s_slot;

typedef struct s_seed_out {
    double test_acc, consensus;
    double bytes_per_iter; /* halo + params bytes of all agents per iteration (evaluations included) */
    double train_ms;
} s_seed_out;

static const char *s_phase_names[DGCN_RUN_N_PHASES] = {"forward", "backward", "consensus", "eval"};

static double s_consensus_error(const float *params, int32_t m, int64_t np) {
    double mean_norm = 0, worst = 0;
    for (int64_t i = 0; i < np; i++) {
        double s = 0;
        for (int32_t k = 0; k < m; k++) s += params[(size_t)k * np + i];
        s /= m;
        mean_norm += s * s;
    }
    for (int32_t k = 0; k < m; k++) {
        double d = 0;
        for (int64_t i = 0; i < np; i++) {
            double s = 0;
            for (int32_t t = 0; t < m; t++) s += params[(size_t)t * np + i];
            double x = params[(size_t)k * np + i] - s / m;
            d += x * x;
        }
        if (d > worst) worst = d;
    }
    return mean_norm > 0 ? sqrt(worst / mean_norm) : sqrt(worst);
}

/* One seed: a session from set-up to the last report. */
static int s_run_seed(const dgcn_train_opts *o, const dgcn_dataset *ds, const s_plan *p, int si,
                      FILE *metrics, FILE *tsv, double *intervals, int *n_intervals,
                      s_seed_out *res) {
    int rc = DGCN_OK;
    int32_t m = p->m;
    dgcn_session *sess = NULL;
    dgcn_ctl_setup *setups = NULL;
    char **keys = NULL, **values = NULL;
    int32_t n_kv = 0;
    s_slot *slots = NULL;
    uint64_t seed = o->seed + (uint64_t)si;

    dgcn_run_config cfg = dgcn_run_config_defaults(ds->d, ds->c);
    cfg.mode = DGCN_RUN_TRAIN;
    cfg.model.dims[1] = o->hidden;
    cfg.model.dropout = (float)o->dropout;
    DGCN_CHECK(dgcn_consensus_kind_parse(o->optimizer, &cfg.consensus.kind));
    cfg.consensus = dgcn_consensus_defaults(cfg.consensus.kind, o->lr > 0 ? o->lr
                                            : cfg.consensus.kind == DGCN_CONSENSUS_GT_ADAM ? 0.01 : 5.0);
    cfg.consensus.grad_scale = 0.0;
    if (o->lr_decay > 0) {
        cfg.consensus.step.decay = o->lr_decay;
        cfg.consensus.step.power = o->lr_power;
    }
    cfg.iterations = o->iters;
    cfg.eval_every = o->eval_every;
    cfg.final_mixing = o->final_mixing;
    cfg.init_seed = seed;
    cfg.dropout_seed = seed;
    cfg.report_params = 1;
    if (o->shard_files) {
        char abs[4096];
        if (!realpath(o->out, abs))
            DGCN_CHECK(dgcn_error_set(DGCN_EIO, "cannot resolve the run directory %s", o->out));
        if (snprintf(cfg.plan, sizeof cfg.plan, "%s/plan", abs) >= (int)sizeof cfg.plan)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "run directory path too long for a plan: %s", abs));
    }
    DGCN_CHECK(dgcn_model_config_check(&cfg.model));
    DGCN_CHECK(dgcn_run_config_to_kv(&cfg, &n_kv, &keys, &values));
    int64_t np = dgcn_model_n_params(&cfg.model);

    DGCN_ALLOC(setups, m);
    for (int32_t k = 0; k < m; k++) {
        dgcn_ctl_setup *s = &setups[k];
        int32_t deg = dgcn_topo_degree(&p->topo, k);
        DGCN_ALLOC(s->neighbors, deg);
        DGCN_ALLOC(s->mixing, deg + 1);
        s->mixing[0] = p->c[(size_t)k * m + k];
        for (int32_t t = 0; t < m; t++)
            if (p->topo.adj[(size_t)k * m + t]) {
                s->neighbors[s->n_neighbors] = t;
                s->mixing[++s->n_neighbors] = p->c[(size_t)k * m + t];
            }
        s->n_config = n_kv;
        s->config_keys = keys;
        s->config_values = values;
        s->shard = o->shard_files ? NULL : p->packed[k];
        s->shard_len = o->shard_files ? 0 : p->packed_len[k];
    }
    int n_evals = 1 + (o->iters + o->eval_every - 1) / o->eval_every;
    DGCN_ALLOC(slots, n_evals);

    char sockdir[4096];
    snprintf(sockdir, sizeof sockdir, "%s", o->out);
    dgcn_session_opts so = {o->backend, m, o->deadline_ms, sockdir, o->tcp_host, NULL};
    DGCN_CHECK(dgcn_session_start(&sess, &so));
    DGCN_CHECK(dgcn_session_setup(sess, setups));
    double t0 = dgcn_now_ms(), t_prev = t0;
    int64_t it_prev = 0;
    int done = 0;
    while (done < n_evals) {
        dgcn_ctl_msg msg;
        DGCN_CHECK(dgcn_session_recv(sess, &msg, -1));
        dgcn_ctl_report *r = &msg.u.report;
        int64_t n = r->iter;
        int idx = n <= 0 ? 0 : (int)((n + o->eval_every - 1) / o->eval_every);
        if (n < 0 || n > o->iters || idx >= n_evals || r->n_params != np) {
            rc = dgcn_error_set(DGCN_EPROTO, "agent %d: report for iteration %" PRId64 " with %"
                                PRId64 " parameters (expected an evaluated iteration <= %d, %"
                                PRId64 " parameters)", r->agent, n, r->n_params, o->iters, np);
            dgcn_ctl_msg_fini(&msg);
            goto fail;
        }
        s_slot *sl = &slots[idx];
        if (!sl->params) {
            sl->params = malloc(sizeof(float) * (size_t)m * (size_t)np);
            if (!sl->params) {
                dgcn_ctl_msg_fini(&msg);
                DGCN_CHECK(dgcn_error_set(DGCN_ENOMEM, "out of memory gathering parameters"));
            }
        }
        sl->iter = n;
        sl->got++;
        for (int s = 0; s < DGCN_SPLITS; s++) {
            sl->loss[s] += r->loss_sum[s];
            sl->correct[s] += r->correct[s];
            sl->count[s] += r->count[s];
        }
        for (int ch = 0; ch < DGCN_CH_COUNT; ch++) {
            sl->tr.bytes[ch] += r->traffic.bytes[ch];
            sl->tr.messages[ch] += r->traffic.messages[ch];
        }
        for (int ph = 0; ph < r->n_phases && ph < DGCN_RUN_N_PHASES; ph++)
            if (r->phase_ms[ph] > sl->phase[ph]) sl->phase[ph] = r->phase_ms[ph];
        memcpy(sl->params + (size_t)r->agent * np, r->params, sizeof(float) * (size_t)np);
        dgcn_ctl_msg_fini(&msg);
        if (sl->got < m) continue;

        /* Every agent has reported iteration n: the global figures. */
        double now = dgcn_now_ms();
        double acc[DGCN_SPLITS];
        for (int s = 0; s < DGCN_SPLITS; s++)
            acc[s] = sl->count[s] ? (double)sl->correct[s] / (double)sl->count[s] : 0.0;
        double loss = sl->count[0] ? sl->loss[0] / (double)sl->count[0] : 0.0;
        double cons = s_consensus_error(sl->params, m, np);
        uint64_t moved = sl->tr.bytes[DGCN_CH_HALO_FWD] + sl->tr.bytes[DGCN_CH_HALO_BWD] +
                         sl->tr.bytes[DGCN_CH_PARAMS];
        double bpi = n > 0 ? (double)moved / (double)n : 0.0;
        double ips = n > it_prev && now > t_prev ? (double)(n - it_prev) * 1e3 / (now - t_prev) : 0;
        if (n > it_prev) intervals[(*n_intervals)++] = (now - t_prev) / (double)(n - it_prev);
        if (metrics) {
            dgcn_json j;
            dgcn_json_begin(&j, metrics);
            dgcn_json_int(&j, "seed", (long long)seed);
            dgcn_json_int(&j, "iter", (long long)n);
            dgcn_json_num(&j, "train_loss", loss);
            dgcn_json_num(&j, "train_acc", acc[0]);
            dgcn_json_num(&j, "val_acc", acc[1]);
            dgcn_json_num(&j, "test_acc", acc[2]);
            dgcn_json_num(&j, "consensus_error", cons);
            dgcn_json_object(&j, "bytes");
            for (int ch = 0; ch < DGCN_CH_COUNT; ch++)
                dgcn_json_int(&j, dgcn_channel_name(ch), (long long)sl->tr.bytes[ch]);
            dgcn_json_end(&j);
            dgcn_json_num(&j, "bytes_per_iter", bpi);
            dgcn_json_object(&j, "ms");
            for (int ph = 0; ph < DGCN_RUN_N_PHASES; ph++)
                dgcn_json_num(&j, s_phase_names[ph], sl->phase[ph]);
            dgcn_json_end(&j);
            dgcn_json_num(&j, "elapsed_ms", now - t0);
            dgcn_json_end(&j);
            fflush(metrics);
        }
        if (tsv)
            fprintf(tsv, "%" PRId64 " %.8g %.6g %.6g %.6g %.6g\n", n, loss, acc[0], acc[1], acc[2],
                    cons > 0 ? cons : 1e-12);
        if (o->progress)
            printf("seed %" PRIu64 " iter %5" PRId64 "  loss %.4f  val %.4f  consensus %.3e  "
                   "%.0f B/iter  %.1f it/s\n", seed, n, loss, acc[1], cons, bpi, ips);
        fflush(stdout);
        res->test_acc = acc[2];
        res->consensus = cons;
        res->bytes_per_iter = bpi;
        t_prev = now;
        it_prev = n;
        free(sl->params);
        sl->params = NULL;
        done++;
    }
    res->train_ms = dgcn_now_ms() - t0;
    DGCN_CHECK(dgcn_session_finish(sess));
fail:
    dgcn_session_destroy(&sess);
    for (int i = 0; slots && i < n_evals; i++) free(slots[i].params);
    free(slots);
    for (int32_t k = 0; setups && k < m; k++) {
        free(setups[k].neighbors);
        free(setups[k].mixing);
    }
    free(setups);
    dgcn_run_kv_free(n_kv, keys, values);
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

static void s_write_config(FILE *f, const dgcn_train_opts *o, const dgcn_dataset *ds,
                           const s_plan *p) {
    char desc[512];
    dgcn_data_source_describe(&o->src, desc, sizeof desc);
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_str(&j, "command", "train");
    dgcn_json_str(&j, "data", desc);
    dgcn_json_int(&j, "nodes", ds->n);
    dgcn_json_int(&j, "features", ds->d);
    dgcn_json_int(&j, "classes", ds->c);
    dgcn_json_int(&j, "agents", p->m);
    dgcn_json_str(&j, "partition", o->partition);
    dgcn_json_str(&j, "topology", o->topology);
    dgcn_json_int(&j, "topology_links", (long long)dgcn_topo_links(&p->topo));
    dgcn_json_int(&j, "required_links", (long long)dgcn_topo_links(&p->required));
    dgcn_json_str(&j, "cross_edges", o->cross_edges);
    dgcn_json_int(&j, "dropped_edges", (long long)p->n_dropped);
    dgcn_json_str(&j, "weights", o->weights);
    dgcn_json_str(&j, "optimizer", o->optimizer);
    dgcn_consensus_kind k = DGCN_CONSENSUS_DGD;
    dgcn_consensus_kind_parse(o->optimizer, &k);
    dgcn_json_num(&j, "lr", o->lr > 0 ? o->lr : k == DGCN_CONSENSUS_GT_ADAM ? 0.01 : 5.0);
    dgcn_json_num(&j, "lr_decay", o->lr_decay);
    dgcn_json_num(&j, "lr_power", o->lr_power);
    dgcn_json_int(&j, "hidden", o->hidden);
    dgcn_json_num(&j, "dropout", o->dropout);
    dgcn_json_int(&j, "iterations", o->iters);
    dgcn_json_int(&j, "seeds", o->seeds);
    dgcn_json_int(&j, "seed", (long long)o->seed);
    dgcn_json_str(&j, "transport", dgcn_backend_name(o->backend));
    dgcn_json_int(&j, "eval_every", o->eval_every);
    dgcn_json_int(&j, "final_mixing", o->final_mixing);
    dgcn_json_int(&j, "shard_files", o->shard_files);
    dgcn_json_int(&j, "deadline_ms", o->deadline_ms);
    dgcn_json_end(&j);
}

int dgcn_train_run(const dgcn_train_opts *o, dgcn_train_result *res) {
    int rc = DGCN_OK;
    dgcn_dataset ds;
    dgcn_csr a_hat;
    s_plan p;
    memset(&ds, 0, sizeof ds);
    memset(&a_hat, 0, sizeof a_hat);
    memset(&p, 0, sizeof p);
    memset(res, 0, sizeof *res);
    FILE *metrics = NULL, *tsv = NULL, *f = NULL;
    double *dist = NULL, *central = NULL, *mlp = NULL, *cons = NULL, *intervals = NULL;
    double *central_ms = NULL;
    int n_intervals = 0;
    char path[4096];
    if (o->iters < 1 || o->seeds < 1 || o->eval_every < 1 || o->agents < 1)
        return dgcn_error_set(DGCN_EINVAL, "train: --iters, --seeds, --eval-every and --agents must "
                              "be >= 1");

    DGCN_CHECK(dgcn_rundir_make(o->out));
    DGCN_CHECK(dgcn_data_source_open(&o->src, &ds, &a_hat));
    DGCN_CHECK(s_plan_build(o, &ds, &a_hat, &p));

    DGCN_CHECK(dgcn_rundir_fopen(o->out, "config.json", "w", &f));
    s_write_config(f, o, &ds, &p);
    fclose(f);
    f = NULL;
    snprintf(path, sizeof path, "%s/plan", o->out);
    DGCN_CHECK(dgcn_plan_write(path, p.shards, p.m, p.owner, ds.n, o->partition, o->seed));
    snprintf(path, sizeof path, "%s/topology.edges", o->out);
    DGCN_CHECK(dgcn_topo_write_edges(&p.topo, path));
    snprintf(path, sizeof path, "%s/topology.dot", o->out);
    DGCN_CHECK(dgcn_topo_write_dot(&p.topo, p.c, path));
    snprintf(path, sizeof path, "%s/plots", o->out);
    DGCN_CHECK(dgcn_rundir_make(path));
    DGCN_CHECK(dgcn_rundir_fopen(path, "train.tsv", "w", &tsv));
    DGCN_CHECK(dgcn_rundir_fopen(o->out, "metrics.jsonl", "w", &metrics));

    DGCN_ALLOC(dist, o->seeds);
    DGCN_ALLOC(central, o->seeds);
    DGCN_ALLOC(mlp, o->seeds);
    DGCN_ALLOC(cons, o->seeds);
    DGCN_ALLOC(intervals, (size_t)o->seeds * (size_t)(o->iters + 2));
    if (o->progress)
        printf("train: %d agents over %s, partition %s, topology %s (%" PRId64 " links, %" PRId64
               " required), optimizer %s, %d iterations x %d seed(s), run dir %s\n", p.m,
               dgcn_backend_name(o->backend), o->partition, o->topology, dgcn_topo_links(&p.topo),
               dgcn_topo_links(&p.required), o->optimizer, o->iters, o->seeds, o->out);
    for (int si = 0; si < o->seeds; si++) {
        s_seed_out so;
        memset(&so, 0, sizeof so);
        if (si) fprintf(tsv, "\n\n");
        DGCN_CHECK(s_run_seed(o, &ds, &p, si, metrics, tsv, intervals, &n_intervals, &so));
        dist[si] = so.test_acc;
        cons[si] = so.consensus;
        res->bytes_per_iter += so.bytes_per_iter / o->seeds;
    }
    fclose(tsv);
    tsv = NULL;

    /* The analytic minimum of one training iteration's traffic (all agents, payload bytes). */
    {
        int64_t halo = 0, dir_links = 0;
        for (int32_t k = 0; k < p.m; k++) {
            halo += p.shards[k].n_halo;
            dir_links += dgcn_topo_degree(&p.topo, k);
        }
        dgcn_consensus_kind kind = DGCN_CONSENSUS_GT_ADAM;
        dgcn_consensus_kind_parse(o->optimizer, &kind);
        int64_t widths = o->hidden + ds.c; /* M = H W per layer: hidden, then classes */
        int64_t np = (int64_t)ds.d * o->hidden + (int64_t)o->hidden * ds.c;
        int64_t msg = (kind == DGCN_CONSENSUS_GT || kind == DGCN_CONSENSUS_GT_ADAM) ? 2 * np : np;
        res->bytes_per_iter_min = (double)(2 * halo * widths * 4 + dir_links * msg * 4);
    }
    DGCN_ALLOC(central_ms, o->seeds);
    for (int si = 0; si < o->seeds && o->baselines; si++) {
        for (int kind = 0; kind < 2; kind++) {
            dgcn_baseline_opts b = dgcn_baseline_defaults(kind ? DGCN_MODEL_MLP : DGCN_MODEL_GCN, &ds);
            b.model.dims[1] = o->hidden;
            b.model.dropout = (float)o->dropout;
            b.epochs = o->iters;
            b.seed = o->seed + (uint64_t)si;
            dgcn_baseline_result br;
            DGCN_CHECK(dgcn_baseline_run(&ds, &a_hat, &b, &br));
            (kind ? mlp : central)[si] = br.test_acc;
            if (!kind) central_ms[si] = br.ms_per_epoch_median;
        }
    }
    dgcn_mean_std(dist, o->seeds, &res->test_acc_mean, &res->test_acc_std);
    double cons_std = 0;
    dgcn_mean_std(cons, o->seeds, &res->consensus_error, &cons_std);
    if (o->baselines) {
        dgcn_mean_std(central, o->seeds, &res->central_test_acc_mean, &res->central_test_acc_std);
        dgcn_mean_std(mlp, o->seeds, &res->mlp_test_acc_mean, &res->mlp_test_acc_std);
        res->central_ms_per_epoch = dgcn_median(central_ms, o->seeds);
    } else {
        res->central_ms_per_epoch = NAN;
        res->central_test_acc_mean = res->mlp_test_acc_mean = NAN;
        res->central_test_acc_std = res->mlp_test_acc_std = NAN;
    }
    res->ms_per_iter_median = n_intervals ? dgcn_median(intervals, n_intervals) : NAN;

    DGCN_CHECK(dgcn_rundir_fopen(o->out, "summary.json", "w", &f));
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_num(&j, "test_acc_mean", res->test_acc_mean);
    dgcn_json_num(&j, "test_acc_std", res->test_acc_std);
    dgcn_json_num(&j, "central_test_acc_mean", res->central_test_acc_mean);
    dgcn_json_num(&j, "central_test_acc_std", res->central_test_acc_std);
    dgcn_json_num(&j, "mlp_test_acc_mean", res->mlp_test_acc_mean);
    dgcn_json_num(&j, "mlp_test_acc_std", res->mlp_test_acc_std);
    dgcn_json_num(&j, "consensus_error", res->consensus_error);
    dgcn_json_int(&j, "iterations", o->iters);
    dgcn_json_int(&j, "agents", p.m);
    dgcn_json_int(&j, "seeds", o->seeds);
    dgcn_json_num(&j, "bytes_per_iter", res->bytes_per_iter);
    dgcn_json_num(&j, "bytes_per_iter_min", res->bytes_per_iter_min);
    dgcn_json_num(&j, "ms_per_iter_median", res->ms_per_iter_median);
    dgcn_json_num(&j, "central_ms_per_epoch", res->central_ms_per_epoch);
    dgcn_json_num_array(&j, "test_acc", dist, o->seeds);
    dgcn_json_end(&j);
    fclose(f);
    f = NULL;
    dgcn_rundir_plot(o->out, "train", s_plot_script);

    printf("test accuracy over %d seed(s): distributed %.4f +- %.4f", o->seeds, res->test_acc_mean,
           res->test_acc_std);
    if (o->baselines)
        printf(" | centralized GCN %.4f +- %.4f | MLP %.4f +- %.4f", res->central_test_acc_mean,
               res->central_test_acc_std, res->mlp_test_acc_mean, res->mlp_test_acc_std);
    printf("\nconsensus error %.3e, %.0f bytes/iter, %.2f ms/iter (median)\n", res->consensus_error,
           res->bytes_per_iter, res->ms_per_iter_median);
fail:
    if (f) fclose(f);
    if (tsv) fclose(tsv);
    if (metrics) fclose(metrics);
    free(dist);
    free(central);
    free(mlp);
    free(cons);
    free(intervals);
    free(central_ms);
    s_plan_fini(&p);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
    return rc;
}
