/* agent/run.c: the agent side of the coordinator protocol: hello, set-up, run, report, stop. */
#include "agent/run.h"

#include "agent/agent.h"
#include "core/error.h"
#include "core/timer.h"
#include "graph/shard.h"
#include "graph/traffic.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the run ---- */

/* A per-agent seed: seed and agent mixed by a splitmix64 finalizer, distinct for every agent. */
static uint64_t s_agent_seed(uint64_t seed, int32_t agent) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * ((uint64_t)agent + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct s_run {
    dgcn_transport *t;
    const dgcn_run_agent_opts *o;
    dgcn_run_config cfg;
    dgcn_shard shard;
    dgcn_agent *agent;
    int64_t iter; /* for error messages */
    double eval_ms;
    int64_t start;    /* first iteration to run: 0, or a resumed State's iter */
    float *state_vec; /* (dgcn_agent_state_len) checkpoint space, sized at set-up */
    int64_t
        kill_iter; /* test only (DGCN_TEST_KILL_AGENT, _STOP_AGENT): kill_sig itself there, or -1 */
    int kill_sig;
    /* regression: the own nodes' series and batch buffers, all sized at set-up */
    dgcn_traffic_samples series; /* a view of the shard's series (n = n_own): not owned */
    int32_t *rows;               /* (n_own) 0 .. n_own-1: the series' columns of the own rows */
    int32_t *perm;               /* (n_train) the order of epoch perm_epoch */
    int64_t perm_epoch;          /* -1: none yet */
    int32_t *first;              /* (batch) an evaluation batch's samples */
    float *xb, *yb;              /* (n_own, batch, d), (n_own, batch, 1): refilled per pass */
    const dgcn_eval *split_sums; /* (DGCN_SPLITS) the regression sums s_report sends, or NULL */
} s_run;

/* ---- regression: mini-batches of graph signals ---- */

/* Fills the buffers with training batch n of the schedule (graph/traffic.h). Allocates nothing. */
static void s_fill_train(s_run *r, int64_t n) {
    const int32_t b = r->cfg.batch, n_train = r->series.n_train;
    const int64_t per_epoch = n_train / b, epoch = n / per_epoch;
    if (epoch != r->perm_epoch) {
        dgcn_traffic_epoch_order(r->cfg.batch_seed, (int32_t)epoch, n_train, r->perm);
        r->perm_epoch = epoch;
    }
    dgcn_traffic_fill(&r->series, r->perm + (n % per_epoch) * b, b, r->rows, r->shard.n_own, r->xb,
                      r->yb);
}

/* Evaluation at iteration n over every full batch of each split, in time order: the sums in
 * sums[0..DGCN_SPLITS). Pass p of the evaluation is tagged n * passes + p: consecutive exchanges
 * never share a tag (agent/agent.h), which a transport may rely on to tell them apart. */
static int s_eval_regression(s_run *r, int64_t n, dgcn_eval *sums) {
    const int32_t b = r->cfg.batch;
    int32_t start = 0;
    int64_t passes = 0, p = 0;
    for (int s = 0; s < DGCN_SPLITS; s++) passes += r->shard.n_samples[s] / b;
    if (passes > 0 && n > (INT64_MAX / DGCN_AGENT_TAG_STRIDE - 1) / passes - 1)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: evaluation of %" PRId64 " batches at iteration %" PRId64
                              " exceeds the exchange tags",
                              r->t->self, passes, n);
    memset(sums, 0, DGCN_SPLITS * sizeof *sums);
    for (int s = 0; s < DGCN_SPLITS; s++) {
        for (int32_t j = 0; j < r->shard.n_samples[s] / b; j++) {
            for (int32_t i = 0; i < b; i++) r->first[i] = start + j * b + i;
            dgcn_traffic_fill(&r->series, r->first, b, r->rows, r->shard.n_own, r->xb, r->yb);
            dgcn_eval ev;
            int rc = dgcn_agent_evaluate(r->agent, n * passes + p++, &ev);
            if (rc) return rc;
            sums[s].sq_sum += ev.sq_sum;
            sums[s].abs_sum += ev.abs_sum;
            sums[s].n_values += ev.n_values;
        }
        start += r->shard.n_samples[s];
    }
    return DGCN_OK;
}

/* Checks the shard against a regression config and sizes the batch buffers; sets the agent
 * options that read them. */
static int s_regression_setup(s_run *r, dgcn_agent_opts *ao) {
    int rc = DGCN_OK;
    const dgcn_shard *sh = &r->shard;
    const int32_t b = r->cfg.batch;
    if (sh->series_t < 1 || sh->c != 1 || r->cfg.model.dims[0] != sh->d ||
        r->cfg.model.dims[r->cfg.model.n_layers] != 1 || b > sh->n_samples[0])
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d: a regression config (batch %d, %d inputs) needs a shard "
                              "with series (this one: %d steps, %d training samples, d=%d, c=%d)",
                              r->t->self, (int)b, (int)r->cfg.model.dims[0], (int)sh->series_t,
                              (int)sh->n_samples[0], (int)sh->d, (int)sh->c);
    r->series.n = sh->n_own;
    r->series.lags = sh->d;
    r->series.n_train = sh->n_samples[0];
    r->series.n_val = sh->n_samples[1];
    r->series.n_test = sh->n_samples[2];
    r->series.n_samples = sh->series_t - sh->d;
    r->series.z = sh->series;
    r->perm_epoch = -1;
    DGCN_ALLOC(r->rows, sh->n_own);
    for (int32_t i = 0; i < sh->n_own; i++) r->rows[i] = i;
    DGCN_ALLOC(r->perm, sh->n_samples[0]);
    DGCN_ALLOC(r->first, b);
    DGCN_ALLOC(r->xb, (size_t)sh->n_own * b * sh->d);
    DGCN_ALLOC(r->yb, (size_t)sh->n_own * b);
    ao->batch = b;
    ao->xd = r->xb;
    ao->y = r->yb;
    ao->n_values_global = (double)sh->n_global * b;
fail:
    return rc;
}

static void s_regression_fini(s_run *r) {
    free(r->rows), free(r->perm), free(r->first), free(r->xb), free(r->yb);
}

static int s_send(s_run *r, const dgcn_ctl_msg *m) {
    void *buf = NULL;
    size_t len = 0;
    int rc = dgcn_ctl_pack(m, &buf, &len);
    if (rc == DGCN_OK) rc = dgcn_transport_send_coord(r->t, buf, len);
    free(buf);
    return rc;
}

/* Receives one control-protocol message; DGCN_ETIMEDOUT after deadline_ms. */
static int s_recv(s_run *r, dgcn_ctl_msg *m, int deadline_ms) {
    void *buf = NULL;
    size_t len = 0;
    int rc = dgcn_transport_recv_coord(r->t, &buf, &len, deadline_ms);
    if (rc == DGCN_OK) rc = dgcn_ctl_unpack(buf, len, m);
    free(buf);
    return rc;
}

static int s_report(s_run *r, int64_t iter, const dgcn_eval *ev, const float *params,
                    int64_t n_params) {
    dgcn_ctl_msg m;
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_REPORT;
    dgcn_ctl_report *p = &m.u.report;
    p->run_id = r->t->run_id;
    p->agent = r->t->self;
    p->iter = iter;
    for (int s = 0; s < DGCN_SPLITS && ev; s++) {
        p->loss_sum[s] = ev->loss_sum[s + 1];
        p->correct[s] = ev->correct[s + 1];
        p->count[s] = ev->count[s + 1];
    }
    for (int s = 0; s < DGCN_SPLITS && r->split_sums; s++) {
        p->loss_sum[s] = r->split_sums[s].sq_sum;
        p->abs_sum[s] = r->split_sums[s].abs_sum;
        p->count[s] = r->split_sums[s].n_values;
    }
    p->n_params = params ? n_params : 0;
    p->params = (float *)(uintptr_t)params;
    p->traffic = r->agent ? dgcn_agent_traffic(r->agent) : r->t->traffic;
    for (int ch = 0; ch < DGCN_CH_COUNT && r->agent; ch++) {
        p->relayed[ch] = dgcn_agent_relayed_bytes(r->agent, ch);
        p->link_failures[ch] = dgcn_agent_link_failures(r->agent, ch);
        p->halo_raw[ch] = dgcn_agent_halo_raw_bytes(r->agent, ch);
    }
    for (int32_t i = 0; r->t->lost && i < r->t->n_neighbors && p->n_lost < DGCN_CTL_LOST_MAX; i++)
        if (r->t->lost[i])
            p->lost[p->n_lost++] = r->t->neighbors[i]; /* the coordinator drops them */
    double ph[DGCN_RUN_N_PHASES] = {0};
    if (r->agent) {
        dgcn_agent_timing tm = dgcn_agent_timings(r->agent);
        ph[DGCN_RUN_PHASE_FORWARD] = tm.forward_ms;
        ph[DGCN_RUN_PHASE_BACKWARD] = tm.backward_ms;
        ph[DGCN_RUN_PHASE_CONSENSUS] = tm.consensus_ms;
    }
    ph[DGCN_RUN_PHASE_EVAL] = r->eval_ms;
    p->n_phases = DGCN_RUN_N_PHASES;
    p->phase_ms = ph;
    return s_send(r, &m);
}

/* Looks for a Control message without waiting: *cmd = DGCN_CMD_NONE when there is none. */
static int s_poll_control(s_run *r, int *cmd) {
    *cmd = DGCN_CMD_NONE;
    void *buf = NULL;
    size_t len = 0;
    int rc = dgcn_transport_recv_coord(r->t, &buf, &len, 0);
    if (rc == DGCN_ETIMEDOUT) {
        dgcn_error_clear();
        return DGCN_OK;
    }
    if (rc) return rc;
    dgcn_ctl_msg m;
    rc = dgcn_ctl_unpack(buf, len, &m);
    free(buf);
    if (rc) return rc;
    if (m.kind == DGCN_CTL_CONTROL) *cmd = m.u.control.cmd;
    else
        rc = dgcn_error_set(DGCN_EPROTO,
                            "agent %d, iteration %" PRId64 ": unexpected %s message "
                            "from the coordinator during the run",
                            r->t->self, r->iter, dgcn_ctl_kind_name(m.kind));
    dgcn_ctl_msg_fini(&m);
    return rc;
}

static int s_verify(s_run *r) {
    int rc = DGCN_OK;
    int64_t np = dgcn_agent_n_params(r->agent);
    float *grad = NULL;
    DGCN_ALLOC(grad, np);
    r->iter = 0;
    const int regression = r->cfg.task == DGCN_TASK_REGRESSION;
    if (regression) s_fill_train(r, 0);
    DGCN_CHECK(dgcn_agent_gradient(r->agent, 0, r->cfg.training, grad));
    const float *logits = dgcn_agent_logits(r->agent);
    DGCN_CHECK(s_report(r, DGCN_RUN_REPORT_LOGITS, NULL, logits,
                        (int64_t)r->shard.n_own * r->shard.c * (regression ? r->cfg.batch : 1)));
    DGCN_CHECK(s_report(r, DGCN_RUN_REPORT_GRADIENT, NULL, grad, np));
fail:
    free(grad);
    return rc;
}

static int s_eval_report(s_run *r, int64_t n) {
    dgcn_eval ev, sums[DGCN_SPLITS];
    double t0 = dgcn_now_ms();
    int regression = r->cfg.task == DGCN_TASK_REGRESSION;
    int rc = regression ? s_eval_regression(r, n, sums) : dgcn_agent_evaluate(r->agent, n, &ev);
    r->eval_ms += dgcn_now_ms() - t0;
    if (rc) return rc;
    r->split_sums = regression ? sums : NULL;
    rc = s_report(r, n, regression ? NULL : &ev,
                  r->cfg.report_params ? dgcn_agent_params(r->agent) : NULL,
                  dgcn_agent_n_params(r->agent));
    r->split_sums = NULL;
    return rc;
}

/* The checkpoint of boundary n: a State with the agent's state, from the buffer sized at set-up.
 * Its own bytes are left out of the transport's totals (docs/rundir.md). */
static int s_send_state(s_run *r, int64_t n) {
    dgcn_ctl_msg m;
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_STATE;
    dgcn_ctl_state *st = &m.u.state;
    st->run_id = r->t->run_id;
    st->agent = r->t->self;
    st->iter = n;
    st->n_params = dgcn_agent_n_params(r->agent);
    st->n_vec = dgcn_agent_state_len(r->agent);
    st->vec = r->state_vec;
    dgcn_agent_state_save(r->agent, r->state_vec, st->counters, st->relayed, st->halo_raw);
    st->traffic = dgcn_agent_traffic(r->agent);
    int rc = s_send(r, &m);
    r->t->traffic =
        st->traffic; /* checkpoints are not the run's traffic: a resumed run has the same */
    return rc;
}

static int s_train(s_run *r) {
    int rc = DGCN_OK;
    const dgcn_run_config *c = &r->cfg;
    r->iter = r->start;
    if (r->start == 0) DGCN_CHECK(dgcn_agent_agree(r->agent, 0, c->agree_rounds));
    if (r->start == 0) DGCN_CHECK(s_eval_report(r, 0));
    for (int64_t n = r->start; n < c->iterations; n++) {
        int cmd = DGCN_CMD_NONE;
        r->iter = n;
        if (n == r->kill_iter) raise(r->kill_sig); /* test only: a process dying or stalling */
        if (r->o->stop && *r->o->stop)
            return dgcn_error_set(DGCN_EINTR, "agent %d, iteration %" PRId64 ": interrupted",
                                  r->t->self, n);
        DGCN_CHECK(s_poll_control(r, &cmd));
        if (cmd == DGCN_CMD_ABORT)
            return dgcn_error_set(DGCN_EPEER,
                                  "agent %d, iteration %" PRId64 ": the coordinator "
                                  "aborted the run",
                                  r->t->self, n);
        if (cmd == DGCN_CMD_STOP) break;
        if (c->task == DGCN_TASK_REGRESSION) s_fill_train(r, n);
        DGCN_CHECK(dgcn_agent_step(r->agent, n, NULL));
        if (n + 1 == c->iterations)
            for (int64_t k = 0; k < c->final_mixing; k++)
                DGCN_CHECK(dgcn_agent_mix(r->agent, c->iterations + k));
        if ((n + 1) % c->eval_every == 0 || n + 1 == c->iterations) {
            r->iter = n + 1;
            DGCN_CHECK(s_eval_report(r, n + 1));
        }
        if (c->checkpoint_every > 0 && (n + 1) % c->checkpoint_every == 0 && n + 1 < c->iterations)
            DGCN_CHECK(s_send_state(r, n + 1));
    }
fail:
    return rc;
}

/* Continues from a checkpointed State: theta_k, the optimizer, the traffic totals, the iteration. */
static int s_resume(s_run *r, const dgcn_ctl_state *st) {
    dgcn_transport *t = r->t;
    if (st->agent != t->self || st->n_params != dgcn_agent_n_params(r->agent))
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d: set-up carries the state of agent %d with %lld parameters "
                              "(this agent has %lld)",
                              t->self, st->agent, (long long)st->n_params,
                              (long long)dgcn_agent_n_params(r->agent));
    if (r->cfg.mode == DGCN_RUN_VERIFY) { /* dgcn verify --model: the weights to verify at */
        if (st->n_vec != st->n_params)
            return dgcn_error_set(DGCN_EPROTO,
                                  "agent %d: a verification state carries %lld floats, not the "
                                  "%lld parameters",
                                  t->self, (long long)st->n_vec, (long long)st->n_params);
        return dgcn_agent_set_params(r->agent, st->vec);
    }
    if (st->iter < 1 || st->iter >= r->cfg.iterations)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d: set-up resumes at iteration %lld, outside [1, %lld)",
                              t->self, (long long)st->iter, (long long)r->cfg.iterations);
    int rc = dgcn_agent_state_load(r->agent, st->vec, st->n_vec, st->counters, st->relayed,
                                   st->halo_raw);
    if (rc != DGCN_OK) return rc;
    t->traffic = st->traffic;
    r->start = st->iter;
    return DGCN_OK;
}

/* Test only: DGCN_TEST_KILL_AGENT=A:N makes agent A SIGKILL itself at the start of iteration N,
 * DGCN_TEST_STOP_AGENT=A:N SIGSTOP itself there (alive, silent: a stalled process;
 * docs/running.md), so tests can kill or stall a process at a known point. */
static int64_t s_test_kill_iter(int32_t self, int *sig) {
    static const char *const var[2] = {"DGCN_TEST_KILL_AGENT", "DGCN_TEST_STOP_AGENT"};
    static const int sigs[2] = {SIGKILL, SIGSTOP};
    for (int v = 0; v < 2; v++) {
        const char *e = getenv(var[v]);
        long long a = -1, n = -1;
        if (!e || sscanf(e, "%lld:%lld", &a, &n) != 2 || a != self) continue;
        *sig = sigs[v];
        return n;
    }
    return -1;
}

static int s_setup(s_run *r, dgcn_ctl_setup *s, double **mix) {
    int rc = DGCN_OK;
    dgcn_transport *t = r->t;
    if (s->agent != t->self || s->run_id != t->run_id)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d: set-up is for agent %d of run %016" PRIx64
                              " (this run is %016" PRIx64 ")",
                              t->self, s->agent, s->run_id, t->run_id);
    if (!s->mixing) /* even without neighbours: the self weight */
        return dgcn_error_set(DGCN_EPROTO, "agent %d: set-up carries no mixing row", t->self);
    DGCN_CHECK(dgcn_run_config_from_ctl(&r->cfg, &s->config));
    if (r->cfg.plan[0]) DGCN_CHECK(dgcn_shard_dir_read(r->cfg.plan, t->self, &r->shard));
    else if (s->shard && s->shard_len)
        DGCN_CHECK(dgcn_shard_unpack(&r->shard, s->shard, s->shard_len));
    else
        return dgcn_error_set(DGCN_EPROTO, "agent %d: set-up carries neither a shard nor a plan",
                              t->self);
    if (r->shard.agent != t->self || r->shard.n_agents != t->n_agents)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d: received the shard of agent %d of %d (run "
                              "has %d agents)",
                              t->self, r->shard.agent, r->shard.n_agents, t->n_agents);
    if (s->n_neighbors > 0 && !s->neighbor_endpoints)
        return dgcn_error_set(DGCN_EPROTO, "agent %d: set-up names %d neighbours but no endpoints",
                              t->self, s->n_neighbors);
    /* continue: the transport watches for neighbours that are gone (before it connects) */
    t->watch_loss = r->cfg.on_agent_loss == DGCN_ON_LOSS_CONTINUE;
    DGCN_CHECK(dgcn_transport_connect(t, s->neighbors, (const char *const *)s->neighbor_endpoints,
                                      s->n_neighbors));
    *mix = s->mixing;
    dgcn_agent_opts ao = dgcn_agent_opts_defaults();
    ao.consensus = r->cfg.consensus;
    ao.consensus.step.total = r->cfg.iterations; /* the cool-down ends with the run */
    ao.init_seed = r->cfg.init_per_agent ? s_agent_seed(r->cfg.init_seed, t->self)
                                         : r->cfg.init_seed;
    ao.dropout_seed = r->cfg.dropout_per_agent ? s_agent_seed(r->cfg.dropout_seed, t->self)
                                               : r->cfg.dropout_seed;
    ao.link_failure = r->cfg.link_failure;
    ao.halo_staleness = r->cfg.halo_staleness;
    ao.link_seed = r->cfg.init_seed; /* the run's seed, not an agent's: both ends draw alike */
    ao.halo_codec = r->cfg.halo_codec;
    ao.halo_rounding = r->cfg.halo_rounding;
    ao.halo_feedback = r->cfg.halo_feedback;
    ao.halo_seed = r->cfg.init_seed; /* the run's: stochastic rounding alike on every transport */
    ao.sched_rows = s->n_schedule > 0 ? s->schedule : NULL;
    ao.sched_period = s->n_schedule;
    ao.sched_every = s->schedule_every;
    ao.compress = r->cfg.compress;
    ao.compress_seed = r->cfg.init_seed; /* the run's seed: a receiver draws the sender's keys */
    if (r->cfg.task == DGCN_TASK_REGRESSION) DGCN_CHECK(s_regression_setup(r, &ao));
    DGCN_CHECK(dgcn_agent_new(&r->agent, &r->shard, &r->cfg.model, t, *mix, &ao));
    if (r->cfg.checkpoint_every > 0) DGCN_ALLOC(r->state_vec, dgcn_agent_state_len(r->agent));
    if (s->state) DGCN_CHECK(s_resume(r, s->state));
fail:
    return rc;
}

int dgcn_run_agent(dgcn_transport *t, const dgcn_run_agent_opts *o) {
    int rc = DGCN_OK;
    s_run r;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.o = o;
    r.iter = -1;
    r.kill_iter = s_test_kill_iter(t->self, &r.kill_sig);
    dgcn_ctl_msg setup, m;
    memset(&setup, 0, sizeof setup);
    memset(&m, 0, sizeof m);
    int link_ok = 1;

    dgcn_ctl_msg hello;
    memset(&hello, 0, sizeof hello);
    hello.kind = DGCN_CTL_HELLO;
    hello.u.hello.run_id = t->run_id;
    hello.u.hello.agent = t->self;
    hello.u.hello.endpoint = (char *)(uintptr_t)o->endpoint;
    rc = s_send(&r, &hello);
    if (rc) {
        link_ok = 0;
        goto fail;
    }
    rc = s_recv(&r, &setup, o->setup_deadline_ms > 0 ? o->setup_deadline_ms : -1);
    if (rc == DGCN_OK && setup.kind == DGCN_CTL_CONTROL)
        rc = dgcn_error_set(DGCN_EPEER,
                            "agent %d: the coordinator ended the run before set-up "
                            "(control %d)",
                            t->self, setup.u.control.cmd);
    else if (rc == DGCN_OK && setup.kind != DGCN_CTL_SETUP)
        rc = dgcn_error_set(DGCN_EPROTO, "agent %d: expected a set-up message, got %s", t->self,
                            dgcn_ctl_kind_name(setup.kind));
    if (rc) goto fail;
    double *mix = NULL;
    DGCN_CHECK(s_setup(&r, &setup.u.setup, &mix));
    if (r.cfg.mode == DGCN_RUN_VERIFY) DGCN_CHECK(s_verify(&r));
    else DGCN_CHECK(s_train(&r));
    /* Wait for the coordinator's STOP so that nothing queued is lost on close. */
    rc = s_recv(&r, &m, o->setup_deadline_ms > 0 ? o->setup_deadline_ms : -1);
    if (rc == DGCN_OK && (m.kind != DGCN_CTL_CONTROL ||
                          (m.u.control.cmd != DGCN_CMD_STOP && m.u.control.cmd != DGCN_CMD_ABORT)))
        rc = dgcn_error_set(DGCN_EPROTO, "agent %d: expected STOP after the last report, got %s",
                            t->self, dgcn_ctl_kind_name(m.kind));
    if (rc) {
        link_ok = 0; /* the coordinator is gone or confused: nobody to tell */
        goto fail;
    }
    dgcn_ctl_msg_fini(&m);
    dgcn_agent_destroy(&r.agent);
    free(r.state_vec);
    s_regression_fini(&r);
    dgcn_shard_fini(&r.shard);
    dgcn_ctl_msg_fini(&setup);
    return DGCN_OK;
fail:
    if (link_ok) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", dgcn_error_msg()[0] ? dgcn_error_msg() : dgcn_strerror(rc));
        dgcn_ctl_msg e;
        memset(&e, 0, sizeof e);
        e.kind = DGCN_CTL_ERROR;
        e.u.error.agent = t->self;
        e.u.error.iter = r.iter;
        e.u.error.code = rc;
        e.u.error.message = msg;
        if (rc == DGCN_ETIMEDOUT && t->stall.n > 0) { /* the coordinator names the straggler */
            e.u.error.n_waiting_for = t->stall.n;
            e.u.error.waiting_for = t->stall.who;
            e.u.error.waited_ms = t->stall.waited_ms;
        }
        int saved = rc;
        (void)s_send(&r, &e);
        rc = dgcn_error_set(saved, "%s", msg);
    }
    dgcn_ctl_msg_fini(&m);
    dgcn_agent_destroy(&r.agent);
    free(r.state_vec);
    s_regression_fini(&r);
    dgcn_shard_fini(&r.shard);
    dgcn_ctl_msg_fini(&setup);
    return rc;
}
