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

static int s_central(const dgcn_traffic_samples *p, const dgcn_csr *a_hat,
                     const dgcn_model_config *cfg, const s_schedule *sc,
                     const dgcn_step_schedule *steps, uint64_t seed, dgcn_forecast_result *res) {
    int rc = DGCN_OK;
    const int32_t n = p->n, B = sc->b;
    int32_t *gid = NULL;
    float *x = NULL, *y = NULL, *theta = NULL, *grad = NULL;
    dgcn_gcn *g = NULL;
    dgcn_adam adam;
    memset(&adam, 0, sizeof adam);
    const int64_t np = dgcn_model_n_params(cfg);
    DGCN_ALLOC(gid, n);
    DGCN_ALLOC(x, (size_t)n * B * p->lags);
    DGCN_ALLOC(y, (size_t)n * B);
    DGCN_ALLOC(theta, np);
    DGCN_ALLOC(grad, np);
    for (int32_t i = 0; i < n; i++) gid[i] = i;
    dgcn_block blk = {.n_own = n,
                      .a = a_hat,
                      .gid = gid,
                      .reg_share = 1.0f,
                      .batch = B,
                      .xd = x,
                      .y = y,
                      .n_values_global = (double)n * B};
    DGCN_CHECK(dgcn_gcn_new(&g, cfg, &blk, NULL, NULL));
    DGCN_CHECK(dgcn_adam_init(&adam, np));
    dgcn_model_init(cfg, theta, seed);
    double t0 = dgcn_now_ms();
    for (int64_t it = 0; it < sc->iterations; it++) {
        dgcn_traffic_fill(p, sc->train + (size_t)it * B, B, gid, n, x, y);
        DGCN_CHECK(dgcn_gcn_forward(g, theta, 1, seed, it, NULL));
        DGCN_CHECK(dgcn_gcn_backward(g, theta, grad));
        dgcn_adam_step(&adam, theta, grad, (float)dgcn_step_at(steps, it), 0.9f, 0.999f, 1e-8f);
    }
    res->central_ms = dgcn_now_ms() - t0;
    double sq = 0, ab = 0, cnt = 0;
    for (int32_t b = 0; b < sc->n_test_batches; b++) {
        dgcn_eval ev;
        dgcn_traffic_fill(p, sc->test + (size_t)b * B, B, gid, n, x, y);
        DGCN_CHECK(dgcn_gcn_forward(g, theta, 0, seed, 0, &ev));
        sq += ev.sq_sum, ab += ev.abs_sum, cnt += (double)ev.n_values;
    }
    res->central_test_mse = sq / cnt;
    res->central_test_mae = ab / cnt;
    res->n_params = np;
    res->iterations = sc->iterations;
    res->n_test_used = sc->n_test_batches * B;
fail:
    dgcn_adam_fini(&adam);
    dgcn_gcn_destroy(&g);
    free(gid), free(x), free(y), free(theta), free(grad);
    return rc;
}

/* One agent's thread. */
typedef struct s_job {
    dgcn_agent *agent;
    const dgcn_shard *shard;
    const dgcn_traffic_samples *p;
    const s_schedule *sc;
    int32_t final_mixing;
    float *x, *y;       /* (n_own, b, lags), (n_own, b): the block's signals, refilled per pass */
    dgcn_traffic bytes; /* sent during training */
    double sq, ab, cnt;
    int rc;
    char msg[512];
} s_job;

static void *s_job_main(void *arg) {
    s_job *j = arg;
    const s_schedule *sc = j->sc;
    const int32_t B = sc->b, n_own = j->shard->n_own;
    int rc = DGCN_OK;
    for (int64_t it = 0; it < sc->iterations; it++) {
        dgcn_traffic_fill(j->p, sc->train + (size_t)it * B, B, j->shard->gid, n_own, j->x, j->y);
        DGCN_CHECK(dgcn_agent_step(j->agent, it, NULL));
    }
    j->bytes = dgcn_agent_traffic(j->agent);
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

static int s_distributed(const dgcn_traffic_samples *p, const dgcn_csr *adj, const dgcn_csr *a_hat,
                         const dgcn_model_config *cfg, const s_schedule *sc,
                         const dgcn_forecast_opts *o, uint64_t seed, dgcn_forecast_result *res) {
    int rc = DGCN_OK;
    const int32_t m = o->agents, n = p->n, B = sc->b;
    dgcn_dataset ds;
    dgcn_plan plan;
    memset(&ds, 0, sizeof ds);
    memset(&plan, 0, sizeof plan);
    dgcn_hub *hub = NULL; /* holds the inproc fabric the endpoints share */
    char address[128];
    const char **eps = NULL;
    dgcn_transport **tr = NULL;
    s_job *jobs = NULL;
    pthread_t *th = NULL;
    int32_t *nb = NULL;
    double *row = NULL, *mean = NULL;
    float *copies = NULL;
    int32_t started = 0;

    /* The sensor graph as a dataset with no features or labels: what the plan partitions. */
    snprintf(ds.name, sizeof ds.name, "traffic");
    ds.n = n, ds.d = p->lags, ds.c = 1;
    ds.n_edges = adj->nnz / 2;
    ds.adj = *adj; /* a view: not freed here */
    DGCN_CHECK(dgcn_csr_init(&ds.x, n, p->lags, 0));
    DGCN_ALLOC(ds.label, n);
    DGCN_ALLOC(ds.split, n);
    for (int32_t i = 0; i < n; i++) ds.label[i] = -1;
    dgcn_plan_opts po;
    dgcn_plan_defaults(&po);
    po.agents = m;
    po.partition = o->partition;
    po.seed = seed;
    po.topology = o->topology;
    po.cross_edges = "keep";
    DGCN_CHECK(dgcn_plan_build(&plan, &ds, a_hat, &po));
    res->links = dgcn_topo_links(&plan.topo);
    res->required_links = dgcn_topo_links(&plan.required);

    dgcn_agent_opts ao = dgcn_agent_opts_defaults();
    dgcn_consensus_kind kind;
    DGCN_CHECK(dgcn_consensus_kind_parse(o->optimizer, &kind));
    ao.consensus = dgcn_consensus_defaults(kind, o->lr);
    ao.consensus.step = s_steps(o, sc->iterations);
    ao.consensus.grad_scale = 0.0; /* M */
    ao.init_seed = seed;
    ao.dropout_seed = seed;
    ao.batch = B;
    ao.n_values_global = (double)n * B;
    DGCN_CHECK(dgcn_transport_address("inproc", NULL, NULL, address, sizeof address));
    DGCN_CHECK(dgcn_hub_open(address, m, seed, o->deadline_ms, NULL, 0, &hub));
    DGCN_ALLOC(eps, m);
    for (int32_t k = 0; k < m; k++) eps[k] = ""; /* inproc announces no endpoints */
    DGCN_ALLOC(tr, m);
    DGCN_ALLOC(jobs, m);
    DGCN_ALLOC(th, m);
    DGCN_ALLOC(nb, m);
    DGCN_ALLOC(row, m);
    for (int32_t k = 0; k < m; k++) {
        int32_t n_nb = dgcn_plan_neighbors(&plan, k, nb, row);
        DGCN_CHECK(dgcn_transport_open(address, k, m, seed, o->deadline_ms, &tr[k]));
        DGCN_CHECK(dgcn_transport_connect(tr[k], nb, eps, n_nb));
        s_job *j = &jobs[k];
        j->shard = &plan.shards[k];
        j->p = p;
        j->sc = sc;
        j->final_mixing = o->final_mixing;
        DGCN_ALLOC(j->x, (size_t)j->shard->n_own * B * p->lags);
        DGCN_ALLOC(j->y, (size_t)j->shard->n_own * B);
        ao.xd = j->x;
        ao.y = j->y;
        DGCN_CHECK(dgcn_agent_new(&j->agent, j->shard, cfg, tr[k], row, &ao));
    }
    double t0 = dgcn_now_ms();
    for (; started < m; started++)
        if (pthread_create(&th[started], NULL, s_job_main, &jobs[started]) != 0) {
            rc = dgcn_error_set(DGCN_ENOMEM, "traffic: cannot start agent thread %d", started);
            break;
        }
    for (int32_t k = 0; k < started; k++) pthread_join(th[k], NULL);
    res->dist_ms = dgcn_now_ms() - t0;
    if (rc) goto fail;
    for (int32_t k = 0; k < m; k++)
        if (jobs[k].rc) {
            rc = dgcn_error_set(jobs[k].rc, "traffic: agent %d: %s", k, jobs[k].msg);
            goto fail;
        }
    double sq = 0, ab = 0, cnt = 0, halo = 0, params = 0;
    for (int32_t k = 0; k < m; k++) {
        sq += jobs[k].sq, ab += jobs[k].ab, cnt += jobs[k].cnt;
        halo += (double)(jobs[k].bytes.bytes[DGCN_CH_HALO_FWD] +
                         jobs[k].bytes.bytes[DGCN_CH_HALO_BWD]);
        params += (double)jobs[k].bytes.bytes[DGCN_CH_PARAMS];
    }
    res->test_mse = sq / cnt;
    res->test_mae = ab / cnt;
    res->halo_bytes_per_iter = halo / (double)sc->iterations;
    res->params_bytes_per_iter = params / (double)sc->iterations;
    /* How far the copies are from their mean after the final mixing. */
    const int64_t np = dgcn_model_n_params(cfg);
    DGCN_ALLOC(copies, (size_t)m * (size_t)np);
    DGCN_ALLOC(mean, np);
    for (int32_t k = 0; k < m; k++)
        memcpy(copies + (size_t)k * (size_t)np, dgcn_agent_params(jobs[k].agent),
               sizeof(float) * (size_t)np);
    double gap = dgcn_observe_consensus_error(copies, m, np, mean);
    res->consensus_gap = gap;
fail:
    for (int32_t k = 0; jobs && k < m; k++) {
        dgcn_agent_destroy(&jobs[k].agent);
        free(jobs[k].x), free(jobs[k].y);
    }
    for (int32_t k = 0; tr && k < m; k++) dgcn_transport_close(&tr[k]);
    dgcn_hub_close(&hub);
    free(eps);
    free(tr), free(jobs), free(th), free(nb), free(row), free(mean), free(copies);
    dgcn_plan_fini(&plan);
    dgcn_csr_fini(&ds.x);
    free(ds.label), free(ds.split);
    return rc;
}

int dgcn_forecast_run(const dgcn_traffic_samples *p, const dgcn_csr *adj, int order,
                      const dgcn_forecast_opts *o, uint64_t seed, dgcn_forecast_result *res) {
    int rc = DGCN_OK;
    dgcn_csr a_hat;
    s_schedule sc;
    memset(&a_hat, 0, sizeof a_hat);
    memset(&sc, 0, sizeof sc);
    memset(res, 0, sizeof *res);
    if (!adj || adj->n_rows != p->n)
        return dgcn_error_set(DGCN_EINVAL,
                              "traffic: the sensor graph has %d sensors, the series %d",
                              adj ? (int)adj->n_rows : 0, (int)p->n);
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
