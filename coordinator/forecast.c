/* coordinator/forecast.c: the traffic experiment, centralized and over agents (contract in
 * coordinator/forecast.h).
 *
 * Both trainings see the same batches: the training samples are shuffled once per epoch from
 * (seed, epoch), and step i uses the i-th run of B of them. The agents are threads of this
 * process, each with its own inproc endpoint and its own buffers of its sensors' inputs and
 * targets, refilled before every pass; their exchanges are the ones of a multi-process run. */
#include "coordinator/forecast.h"

#include "agent/agent.h"
#include "comm/hub.h"
#include "comm/transport.h"
#include "coordinator/observe.h"
#include "coordinator/plan.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "graph/dataset.h"
#include "nn/gcn.h"
#include "nn/optim.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dgcn_forecast_opts_defaults(dgcn_forecast_opts *o) {
    memset(o, 0, sizeof *o);
    o->agents = 6;
    o->partition = "bfs";
    o->topology = "ring";
    o->cross_edges = "relay";
    o->hidden = 0;
    o->batch = 32;
    o->epochs = 40;
    o->lr = 0.03;
    o->lr_decay = 0.1;
    o->optimizer = "gt-adam";
    o->final_mixing = 20;
    o->distributed = 1;
    o->deadline_ms = 30000;
}

static dgcn_model_config s_model(const dgcn_traffic_samples *p, int order,
                                 const dgcn_forecast_opts *o) {
    dgcn_model_config cfg = dgcn_model_defaults(DGCN_MODEL_FILTER, p->lags, 1);
    cfg.order = order;
    cfg.dropout = 0.0f;
    cfg.weight_decay = 0.0f;
    if (o->hidden > 0) {
        cfg.n_layers = 2;
        cfg.dims[1] = o->hidden;
        cfg.dims[2] = 1;
    } else {
        cfg.n_layers = 1;
        cfg.dims[1] = 1;
    }
    return cfg;
}

/* What every trainer shares: the batches of every step and of the test evaluation. */
typedef struct s_schedule {
    int32_t b;          /* batch */
    int64_t iterations; /* steps */
    int32_t *train;     /* (iterations, b) first step of each sample of each step */
    int32_t n_test_batches;
    int32_t *test; /* (n_test_batches, b) */
} s_schedule;

static int s_schedule_make(s_schedule *s, const dgcn_traffic_samples *p,
                           const dgcn_forecast_opts *o, uint64_t seed) {
    int rc = DGCN_OK;
    int *perm = NULL;
    memset(s, 0, sizeof *s);
    s->b = o->batch;
    const int32_t per_epoch = p->n_train / o->batch;
    if (per_epoch < 1 || p->n_test < o->batch)
        return dgcn_error_set(DGCN_EINVAL,
                              "traffic: batch %d is larger than the %d training or %d test samples",
                              o->batch, p->n_train, p->n_test);
    s->iterations = (int64_t)per_epoch * o->epochs;
    s->n_test_batches = p->n_test / o->batch;
    DGCN_ALLOC(s->train, (size_t)s->iterations * o->batch);
    DGCN_ALLOC(s->test, (size_t)s->n_test_batches * o->batch);
    DGCN_ALLOC(perm, p->n_train);
    for (int32_t e = 0; e < o->epochs; e++) {
        dgcn_rng rng;
        dgcn_rng_seed(&rng, dgcn_mix64(seed * 1000003u + (uint64_t)e), DGCN_STREAM_GENERATE);
        for (int32_t i = 0; i < p->n_train; i++) perm[i] = i;
        dgcn_rng_shuffle_int(&rng, perm, p->n_train);
        memcpy(s->train + (size_t)e * per_epoch * o->batch, perm,
               (size_t)per_epoch * o->batch * sizeof *perm);
    }
    const int32_t first_test = p->n_train + p->n_val;
    for (int32_t i = 0; i < s->n_test_batches * o->batch; i++) s->test[i] = first_test + i;
    free(perm);
    return DGCN_OK;
fail:
    free(perm);
    return rc;
}

static void s_schedule_fini(s_schedule *s) {
    free(s->train);
    free(s->test);
    memset(s, 0, sizeof *s);
}

/* The step schedule of both trainings (nn/consensus.h's form). */
static dgcn_step_schedule s_steps(const dgcn_forecast_opts *o, int64_t iterations) {
    dgcn_step_schedule st = {.alpha0 = o->lr,
                             .decay = o->lr_decay > 0 ? o->lr_decay * (double)iterations : 0.0,
                             .power = 1.0};
    return st;
}

/* The loss normalizer of a batch of b snapshots: the number of target values in the whole graph's
 * batch, the same for the centralized block and every agent, so that the agents' losses and
 * gradients add up to the centralized ones. */
static double s_n_values(const dgcn_traffic_samples *p, int32_t b) { return (double)p->n * b; }

/* The whole graph as one block (the centralized model) with its batch buffers. */
typedef struct s_whole {
    int32_t *gid; /* (n) 0..n-1 */
    float *x, *y; /* (n, b, lags), (n, b) */
    dgcn_block blk;
    dgcn_gcn *g;
} s_whole;

static void s_whole_close(s_whole *w) {
    dgcn_gcn_destroy(&w->g);
    free(w->gid), free(w->x), free(w->y);
    memset(w, 0, sizeof *w);
}

static int s_whole_open(s_whole *w, const dgcn_traffic_samples *p, const dgcn_csr *a_hat,
                        const dgcn_model_config *cfg, int32_t B) {
    int rc = DGCN_OK;
    const int32_t n = p->n;
    memset(w, 0, sizeof *w);
    DGCN_ALLOC(w->gid, n);
    DGCN_ALLOC(w->x, (size_t)n * B * p->lags);
    DGCN_ALLOC(w->y, (size_t)n * B);
    for (int32_t i = 0; i < n; i++) w->gid[i] = i;
    w->blk = (dgcn_block){.n_own = n,
                          .a = a_hat,
                          .gid = w->gid,
                          .reg_share = 1.0f,
                          .batch = B,
                          .xd = w->x,
                          .y = w->y,
                          .n_values_global = s_n_values(p, B)};
    DGCN_CHECK(dgcn_gcn_new(&w->g, cfg, &w->blk, NULL, NULL));
    return DGCN_OK;
fail:
    s_whole_close(w);
    return rc;
}

static int s_central(const dgcn_traffic_samples *p, const dgcn_csr *a_hat,
                     const dgcn_model_config *cfg, const s_schedule *sc,
                     const dgcn_step_schedule *steps, uint64_t seed, dgcn_forecast_result *res) {
    int rc = DGCN_OK;
    const int32_t n = p->n, B = sc->b;
    float *theta = NULL, *grad = NULL;
    s_whole w;
    dgcn_adam adam;
    memset(&adam, 0, sizeof adam);
    memset(&w, 0, sizeof w);
    const int64_t np = dgcn_model_n_params(cfg);
    DGCN_ALLOC(theta, np);
    DGCN_ALLOC(grad, np);
    DGCN_CHECK(s_whole_open(&w, p, a_hat, cfg, B));
    DGCN_CHECK(dgcn_adam_init(&adam, np));
    dgcn_model_init(cfg, theta, seed);
    double t0 = dgcn_now_ms();
    for (int64_t it = 0; it < sc->iterations; it++) {
        dgcn_traffic_fill(p, sc->train + (size_t)it * B, B, w.gid, n, w.x, w.y);
        DGCN_CHECK(dgcn_gcn_forward(w.g, theta, 1, seed, it, NULL));
        DGCN_CHECK(dgcn_gcn_backward(w.g, theta, grad));
        dgcn_adam_step(&adam, theta, grad, (float)dgcn_step_at(steps, it), 0.9f, 0.999f, 1e-8f);
    }
    res->central_ms = dgcn_now_ms() - t0;
    double sq = 0, ab = 0, cnt = 0;
    for (int32_t b = 0; b < sc->n_test_batches; b++) {
        dgcn_eval ev;
        dgcn_traffic_fill(p, sc->test + (size_t)b * B, B, w.gid, n, w.x, w.y);
        DGCN_CHECK(dgcn_gcn_forward(w.g, theta, 0, seed, 0, &ev));
        sq += ev.sq_sum, ab += ev.abs_sum, cnt += (double)ev.n_values;
    }
    res->central_test_mse = sq / cnt;
    res->central_test_mae = ab / cnt;
    res->n_params = np;
    res->iterations = sc->iterations;
    res->n_test_used = sc->n_test_batches * B;
fail:
    dgcn_adam_fini(&adam);
    s_whole_close(&w);
    free(theta), free(grad);
    return rc;
}

/* One agent's thread: training (sc set) or one gradient at theta (first set). */
typedef struct s_job {
    dgcn_agent *agent;
    const dgcn_shard *shard;
    const dgcn_traffic_samples *p;
    int32_t b;            /* snapshots per batch */
    const s_schedule *sc; /* training: the batches */
    int32_t final_mixing; /* training: averaging rounds at the end */
    const int32_t *first; /* gradient: (b) the batch's samples */
    const float *theta;   /* gradient: (n_params) where */
    float *grad;          /* gradient: (n_params) g_k */
    float *x, *y;         /* (n_own, b, lags), (n_own, b): the block's signals, refilled per pass */
    dgcn_traffic bytes;   /* sent during training */
    uint64_t relayed;     /* of the halo bytes, rows forwarded for others */
    double sq, ab, cnt;
    int rc;
    char msg[512];
} s_job;

static void *s_job_train(void *arg) {
    s_job *j = arg;
    const s_schedule *sc = j->sc;
    const int32_t B = j->b, n_own = j->shard->n_own;
    int rc = DGCN_OK;
    for (int64_t it = 0; it < sc->iterations; it++) {
        dgcn_traffic_fill(j->p, sc->train + (size_t)it * B, B, j->shard->gid, n_own, j->x, j->y);
        DGCN_CHECK(dgcn_agent_step(j->agent, it, NULL));
    }
    j->bytes = dgcn_agent_traffic(j->agent);
    j->relayed = dgcn_agent_relayed_bytes(j->agent, DGCN_CH_HALO_FWD) +
                 dgcn_agent_relayed_bytes(j->agent, DGCN_CH_HALO_BWD);
    for (int32_t r = 0; r < j->final_mixing; r++)
        DGCN_CHECK(dgcn_agent_mix(j->agent, sc->iterations + r));
    for (int32_t b = 0; b < sc->n_test_batches; b++) {
        dgcn_eval ev;
        dgcn_traffic_fill(j->p, sc->test + (size_t)b * B, B, j->shard->gid, n_own, j->x, j->y);
        DGCN_CHECK(dgcn_agent_evaluate(j->agent, sc->iterations + j->final_mixing + b, &ev));
        j->sq += ev.sq_sum, j->ab += ev.abs_sum, j->cnt += (double)ev.n_values;
    }
fail:
    j->rc = rc;
    if (rc) snprintf(j->msg, sizeof j->msg, "%s", dgcn_error_msg());
    return NULL;
}

static void *s_job_gradient(void *arg) {
    s_job *j = arg;
    int rc = DGCN_OK;
    dgcn_traffic_fill(j->p, j->first, j->b, j->shard->gid, j->shard->n_own, j->x, j->y);
    DGCN_CHECK(dgcn_agent_set_params(j->agent, j->theta));
    DGCN_CHECK(dgcn_agent_gradient(j->agent, 0, 1, j->grad));
fail:
    j->rc = rc;
    if (rc) snprintf(j->msg, sizeof j->msg, "%s", dgcn_error_msg());
    return NULL;
}

/* The M agents of a run: the plan, the inproc fabric, one transport and agent per agent. */
typedef struct s_fleet {
    int32_t m;
    dgcn_dataset ds; /* the sensor graph with no features or labels: what the plan partitions */
    dgcn_plan plan;
    dgcn_hub *hub; /* holds the inproc fabric the endpoints share */
    dgcn_transport **tr;
    s_job *jobs;
} s_fleet;

static void s_fleet_close(s_fleet *f) {
    for (int32_t k = 0; f->jobs && k < f->m; k++) {
        dgcn_agent_destroy(&f->jobs[k].agent);
        free(f->jobs[k].x), free(f->jobs[k].y);
    }
    for (int32_t k = 0; f->tr && k < f->m; k++) dgcn_transport_close(&f->tr[k]);
    dgcn_hub_close(&f->hub);
    free(f->tr), free(f->jobs);
    dgcn_plan_fini(&f->plan);
    dgcn_csr_fini(&f->ds.x);
    free(f->ds.label), free(f->ds.split);
    memset(f, 0, sizeof *f);
}

/* Plans the agents of o over the sensor graph adj and builds them for batches of B snapshots and
 * a consensus step schedule over `iterations` steps. Fills res's topology fields. */
static int s_fleet_open(s_fleet *f, const dgcn_traffic_samples *p, const dgcn_csr *adj,
                        const dgcn_csr *a_hat, const dgcn_model_config *cfg, int32_t B,
                        int64_t iterations, const dgcn_forecast_opts *o, uint64_t seed,
                        dgcn_forecast_result *res) {
    int rc = DGCN_OK;
    const int32_t m = o->agents, n = p->n;
    char address[128];
    const char **eps = NULL;
    int32_t *nb = NULL;
    double *row = NULL;
    memset(f, 0, sizeof *f);
    f->m = m;
    dgcn_dataset *ds = &f->ds;
    snprintf(ds->name, sizeof ds->name, "traffic");
    ds->n = n, ds->d = p->lags, ds->c = 1;
    ds->n_edges = adj->nnz / 2;
    ds->adj = *adj; /* a view: not freed here */
    DGCN_CHECK(dgcn_csr_init(&ds->x, n, p->lags, 0));
    DGCN_ALLOC(ds->label, n);
    DGCN_ALLOC(ds->split, n);
    for (int32_t i = 0; i < n; i++) ds->label[i] = -1;
    dgcn_plan_opts po;
    dgcn_plan_defaults(&po);
    po.agents = m;
    po.partition = o->partition;
    po.seed = seed;
    po.topology = o->topology;
    po.cross_edges = o->cross_edges;
    DGCN_CHECK(dgcn_plan_build(&f->plan, ds, a_hat, &po));
    res->links = dgcn_topo_links(&f->plan.topo);
    res->possible_links = (int64_t)m * (m - 1) / 2;
    res->required_links = dgcn_topo_links(&f->plan.required);
    res->hops = f->plan.hops_max;
    res->dropped_edges = f->plan.n_dropped;

    dgcn_agent_opts ao = dgcn_agent_opts_defaults();
    dgcn_consensus_kind kind;
    DGCN_CHECK(dgcn_consensus_kind_parse(o->optimizer, &kind));
    ao.consensus = dgcn_consensus_defaults(kind, o->lr);
    ao.consensus.step = s_steps(o, iterations);
    ao.consensus.grad_scale = 0.0; /* M */
    ao.init_seed = seed;
    ao.dropout_seed = seed;
    ao.batch = B;
    ao.n_values_global = s_n_values(p, B);
    DGCN_CHECK(dgcn_transport_address("inproc", NULL, NULL, address, sizeof address));
    DGCN_CHECK(dgcn_hub_open(address, m, seed, o->deadline_ms, NULL, 0, &f->hub));
    DGCN_ALLOC(eps, m);
    for (int32_t k = 0; k < m; k++) eps[k] = ""; /* inproc announces no endpoints */
    DGCN_ALLOC(f->tr, m);
    DGCN_ALLOC(f->jobs, m);
    DGCN_ALLOC(nb, m);
    DGCN_ALLOC(row, m);
    for (int32_t k = 0; k < m; k++) {
        int32_t n_nb = dgcn_plan_neighbors(&f->plan, k, nb, row);
        DGCN_CHECK(dgcn_transport_open(address, k, m, seed, o->deadline_ms, &f->tr[k]));
        DGCN_CHECK(dgcn_transport_connect(f->tr[k], nb, eps, n_nb));
        s_job *j = &f->jobs[k];
        j->shard = &f->plan.shards[k];
        j->p = p;
        j->b = B;
        DGCN_ALLOC(j->x, (size_t)j->shard->n_own * B * p->lags);
        DGCN_ALLOC(j->y, (size_t)j->shard->n_own * B);
        ao.xd = j->x;
        ao.y = j->y;
        DGCN_CHECK(dgcn_agent_new(&j->agent, j->shard, cfg, f->tr[k], row, &ao));
    }
    free(eps), free(nb), free(row);
    return DGCN_OK;
fail:
    free(eps), free(nb), free(row);
    s_fleet_close(f);
    return rc;
}

/* Runs fn on every agent's job, one thread each, and returns the first agent's error. */
static int s_fleet_run(s_fleet *f, void *(*fn)(void *), double *ms) {
    int rc = DGCN_OK;
    pthread_t *th = NULL;
    int32_t started = 0;
    DGCN_ALLOC(th, f->m);
    double t0 = dgcn_now_ms();
    for (; started < f->m; started++)
        if (pthread_create(&th[started], NULL, fn, &f->jobs[started]) != 0) {
            rc = dgcn_error_set(DGCN_ENOMEM, "traffic: cannot start agent thread %d", started);
            break;
        }
    for (int32_t k = 0; k < started; k++) pthread_join(th[k], NULL);
    if (ms) *ms = dgcn_now_ms() - t0;
    if (rc) goto fail;
    for (int32_t k = 0; k < f->m; k++)
        if (f->jobs[k].rc) {
            rc = dgcn_error_set(f->jobs[k].rc, "traffic: agent %d: %s", k, f->jobs[k].msg);
            goto fail;
        }
fail:
    free(th);
    return rc;
}

static int s_distributed(const dgcn_traffic_samples *p, const dgcn_csr *adj, const dgcn_csr *a_hat,
                         const dgcn_model_config *cfg, const s_schedule *sc,
                         const dgcn_forecast_opts *o, uint64_t seed, dgcn_forecast_result *res) {
    int rc = DGCN_OK;
    s_fleet f;
    double *mean = NULL;
    float *copies = NULL;
    DGCN_CHECK(s_fleet_open(&f, p, adj, a_hat, cfg, sc->b, sc->iterations, o, seed, res));
    const int32_t m = f.m;
    for (int32_t k = 0; k < m; k++) {
        f.jobs[k].sc = sc;
        f.jobs[k].final_mixing = o->final_mixing;
    }
    DGCN_CHECK(s_fleet_run(&f, s_job_train, &res->dist_ms));
    double sq = 0, ab = 0, cnt = 0, halo = 0, params = 0, relayed = 0;
    for (int32_t k = 0; k < m; k++) {
        const s_job *j = &f.jobs[k];
        sq += j->sq, ab += j->ab, cnt += j->cnt;
        halo += (double)(j->bytes.bytes[DGCN_CH_HALO_FWD] + j->bytes.bytes[DGCN_CH_HALO_BWD]);
        params += (double)j->bytes.bytes[DGCN_CH_PARAMS];
        relayed += (double)j->relayed;
    }
    res->test_mse = sq / cnt;
    res->test_mae = ab / cnt;
    res->halo_bytes_per_iter = halo / (double)sc->iterations;
    res->params_bytes_per_iter = params / (double)sc->iterations;
    res->relayed_bytes_per_iter = relayed / (double)sc->iterations;
    /* How far the copies are from their mean after the final mixing. */
    const int64_t np = dgcn_model_n_params(cfg);
    DGCN_ALLOC(copies, (size_t)m * (size_t)np);
    DGCN_ALLOC(mean, np);
    for (int32_t k = 0; k < m; k++)
        memcpy(copies + (size_t)k * (size_t)np, dgcn_agent_params(f.jobs[k].agent),
               sizeof(float) * (size_t)np);
    res->consensus_gap = dgcn_observe_consensus_error(copies, m, np, mean);
fail:
    s_fleet_close(&f);
    free(mean), free(copies);
    return rc;
}

static int s_check_graph(const dgcn_traffic_samples *p, const dgcn_csr *adj) {
    if (!adj || adj->n_rows != p->n)
        return dgcn_error_set(DGCN_EINVAL,
                              "traffic: the sensor graph has %d sensors, the series %d",
                              adj ? (int)adj->n_rows : 0, (int)p->n);
    return DGCN_OK;
}

int dgcn_forecast_run(const dgcn_traffic_samples *p, const dgcn_csr *adj, int order,
                      const dgcn_forecast_opts *o, uint64_t seed, dgcn_forecast_result *res) {
    int rc = DGCN_OK;
    dgcn_csr a_hat;
    s_schedule sc;
    memset(&a_hat, 0, sizeof a_hat);
    memset(&sc, 0, sizeof sc);
    memset(res, 0, sizeof *res);
    DGCN_CHECK(s_check_graph(p, adj));
    dgcn_model_config cfg = s_model(p, order, o);
    DGCN_CHECK(dgcn_model_config_check(&cfg));
    DGCN_CHECK(dgcn_csr_gcn_norm(&a_hat, adj));
    DGCN_CHECK(s_schedule_make(&sc, p, o, seed));
    dgcn_step_schedule steps = s_steps(o, sc.iterations);
    DGCN_CHECK(s_central(p, &a_hat, &cfg, &sc, &steps, seed, res));
    if (o->distributed) DGCN_CHECK(s_distributed(p, adj, &a_hat, &cfg, &sc, o, seed, res));
fail:
    s_schedule_fini(&sc);
    dgcn_csr_fini(&a_hat);
    return rc;
}

int64_t dgcn_forecast_n_params(const dgcn_traffic_samples *p, int order,
                               const dgcn_forecast_opts *o) {
    dgcn_model_config cfg = s_model(p, order, o);
    return dgcn_model_n_params(&cfg);
}

int dgcn_forecast_gradient(const dgcn_traffic_samples *p, const dgcn_csr *adj, int order,
                           const dgcn_forecast_opts *o, uint64_t seed, const int32_t *first,
                           const float *theta, double *sq, float *central, float *agents,
                           dgcn_forecast_result *res) {
    int rc = DGCN_OK;
    dgcn_csr a_hat;
    s_whole w;
    s_fleet f;
    float *g = NULL;
    memset(&a_hat, 0, sizeof a_hat);
    memset(&w, 0, sizeof w);
    memset(&f, 0, sizeof f);
    memset(res, 0, sizeof *res);
    DGCN_CHECK(s_check_graph(p, adj));
    dgcn_model_config cfg = s_model(p, order, o);
    DGCN_CHECK(dgcn_model_config_check(&cfg));
    const int64_t np = dgcn_model_n_params(&cfg);
    const int32_t B = o->batch;
    for (int32_t k = 0; k < B; k++)
        if (first[k] < 0 || first[k] >= p->n_samples)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "traffic: sample %d outside [0, %d)",
                                      (int)first[k], (int)p->n_samples));
    DGCN_CHECK(dgcn_csr_gcn_norm(&a_hat, adj));
    DGCN_CHECK(s_whole_open(&w, p, &a_hat, &cfg, B));
    dgcn_traffic_fill(p, first, B, w.gid, p->n, w.x, w.y);
    dgcn_eval ev;
    DGCN_CHECK(dgcn_gcn_forward(w.g, theta, 1, seed, 0, &ev));
    *sq = ev.sq_sum;
    if (central) DGCN_CHECK(dgcn_gcn_backward(w.g, theta, central));
    if (agents) {
        DGCN_CHECK(s_fleet_open(&f, p, adj, &a_hat, &cfg, B, 1, o, seed, res));
        DGCN_ALLOC(g, (size_t)f.m * (size_t)np);
        for (int32_t k = 0; k < f.m; k++) {
            f.jobs[k].first = first;
            f.jobs[k].theta = theta;
            f.jobs[k].grad = g + (size_t)k * (size_t)np;
        }
        DGCN_CHECK(s_fleet_run(&f, s_job_gradient, NULL));
        for (int64_t i = 0; i < np; i++) {
            double v = 0;
            for (int32_t k = 0; k < f.m; k++) v += g[(size_t)k * (size_t)np + (size_t)i];
            agents[i] = (float)v;
        }
        res->n_params = np;
    }
fail:
    s_fleet_close(&f);
    s_whole_close(&w);
    dgcn_csr_fini(&a_hat);
    free(g);
    return rc;
}
