/* agent/run.c: the agent side of the coordinator protocol: hello, set-up, run, report, stop. */
#include "agent/run.h"

#include "agent/agent.h"
#include "comm/mpi_transport.h"
#include "comm/zmq_transport.h"
#include "core/error.h"
#include "core/timer.h"
#include "graph/shard.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration as key/values ---- */

dgcn_run_config dgcn_run_config_defaults(int32_t d, int32_t c) {
    dgcn_run_config r;
    memset(&r, 0, sizeof r);
    r.mode = DGCN_RUN_VERIFY;
    r.model = dgcn_model_defaults(DGCN_MODEL_GCN, d, c);
    r.model.dropout = 0.0f;
    r.consensus = dgcn_consensus_defaults(DGCN_CONSENSUS_DGD, 0.1);
    r.consensus.grad_scale = 0.0;
    r.iterations = 1;
    r.eval_every = 1;
    r.init_seed = 1;
    r.dropout_seed = 1;
    return r;
}

#define S_MAX_KV 24

static int s_kv_add(int32_t *n, char **keys, char **values, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int s_kv_add(int32_t *n, char **keys, char **values, const char *k, const char *fmt, ...) {
    char buf[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    keys[*n] = strdup(k);
    values[*n] = strdup(buf);
    (*n)++;
    if (!keys[*n - 1] || !values[*n - 1])
        return dgcn_error_set(DGCN_ENOMEM, "out of memory building the set-up configuration");
    return DGCN_OK;
}

void dgcn_run_kv_free(int32_t n, char **keys, char **values) {
    for (int32_t i = 0; i < n; i++) {
        if (keys) free(keys[i]);
        if (values) free(values[i]);
    }
    free(keys);
    free(values);
}

int dgcn_run_config_to_kv(const dgcn_run_config *c, int32_t *n, char ***keys, char ***values) {
    int rc = DGCN_OK;
    char **k = NULL, **v = NULL;
    int32_t cnt = 0;
    DGCN_ALLOC(k, S_MAX_KV);
    DGCN_ALLOC(v, S_MAX_KV);
    char dims[256] = "";
    size_t off = 0;
    for (int l = 0; l <= c->model.n_layers && l <= DGCN_MAX_LAYERS; l++)
        off += (size_t)snprintf(dims + off, sizeof dims - off, "%s%d", l ? "," : "",
                                (int)c->model.dims[l]);
    DGCN_CHECK(s_kv_add(&cnt, k, v, "mode", "%s", c->mode == DGCN_RUN_TRAIN ? "train" : "verify"));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "model", "%s", c->model.kind == DGCN_MODEL_MLP ? "mlp" : "gcn"));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "dims", "%s", dims));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "dropout", "%.9g", (double)c->model.dropout));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "weight_decay", "%.9g", (double)c->model.weight_decay));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "optimizer", "%s", dgcn_consensus_kind_name(c->consensus.kind)));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "lr", "%.17g", c->consensus.step.alpha0));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "lr_decay", "%.17g", c->consensus.step.decay));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "lr_power", "%.17g", c->consensus.step.power));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "grad_scale", "%.17g", c->consensus.grad_scale));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "beta1", "%.17g", c->consensus.beta1));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "beta2", "%.17g", c->consensus.beta2));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "eps", "%.17g", c->consensus.eps));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "iterations", "%" PRId64, c->iterations));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "eval_every", "%" PRId64, c->eval_every));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "final_mixing", "%" PRId64, c->final_mixing));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "init_seed", "%" PRIu64, c->init_seed));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "dropout_seed", "%" PRIu64, c->dropout_seed));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "training", "%d", c->training));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "report_params", "%d", c->report_params));
    DGCN_CHECK(s_kv_add(&cnt, k, v, "plan", "%s", c->plan));
    *n = cnt;
    *keys = k;
    *values = v;
    return DGCN_OK;
fail:
    dgcn_run_kv_free(cnt, k, v);
    return rc;
}

static int s_parse_i64(const char *key, const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi)
        return dgcn_error_set(DGCN_EINVAL, "set-up: config %s = '%s' is not an integer in [%" PRId64
                              ", %" PRId64 "]", key, s, lo, hi);
    *out = x;
    return DGCN_OK;
}

static int s_parse_u64(const char *key, const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return dgcn_error_set(DGCN_EINVAL, "set-up: config %s = '%s' is not an unsigned integer",
                              key, s);
    *out = x;
    return DGCN_OK;
}

static int s_parse_f64(const char *key, const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || x != x)
        return dgcn_error_set(DGCN_EINVAL, "set-up: config %s = '%s' is not a number", key, s);
    *out = x;
    return DGCN_OK;
}

int dgcn_run_config_from_kv(dgcn_run_config *c, int32_t n, char *const *keys,
                            char *const *values) {
    int rc = DGCN_OK;
    *c = dgcn_run_config_defaults(1, 1);
    int have_dims = 0;
    for (int32_t i = 0; i < n; i++) {
        const char *k = keys[i] ? keys[i] : "", *v = values[i] ? values[i] : "";
        int64_t x = 0;
        double f = 0;
        if (!strcmp(k, "mode")) {
            if (!strcmp(v, "verify")) c->mode = DGCN_RUN_VERIFY;
            else if (!strcmp(v, "train")) c->mode = DGCN_RUN_TRAIN;
            else return dgcn_error_set(DGCN_EINVAL, "set-up: config mode = '%s' (verify|train)", v);
        } else if (!strcmp(k, "model")) {
            if (!strcmp(v, "gcn")) c->model.kind = DGCN_MODEL_GCN;
            else if (!strcmp(v, "mlp")) c->model.kind = DGCN_MODEL_MLP;
            else return dgcn_error_set(DGCN_EINVAL, "set-up: config model = '%s' (gcn|mlp)", v);
        } else if (!strcmp(k, "dims")) {
            int nd = 0;
            const char *p = v;
            while (*p) {
                char *end = NULL;
                long d = strtol(p, &end, 10);
                if (end == p || d < 1 || d > INT32_MAX || nd > DGCN_MAX_LAYERS ||
                    (*end && *end != ','))
                    return dgcn_error_set(DGCN_EINVAL, "set-up: config dims = '%s' is not a list "
                                          "of 2..%d positive integers", v, DGCN_MAX_LAYERS + 1);
                c->model.dims[nd++] = (int32_t)d;
                p = *end ? end + 1 : end;
            }
            if (nd < 2)
                return dgcn_error_set(DGCN_EINVAL, "set-up: config dims = '%s' needs at least two "
                                      "widths", v);
            c->model.n_layers = nd - 1;
            have_dims = 1;
        } else if (!strcmp(k, "dropout")) {
            DGCN_CHECK(s_parse_f64(k, v, &f));
            c->model.dropout = (float)f;
        } else if (!strcmp(k, "weight_decay")) {
            DGCN_CHECK(s_parse_f64(k, v, &f));
            c->model.weight_decay = (float)f;
        } else if (!strcmp(k, "optimizer")) {
            if (dgcn_consensus_kind_parse(v, &c->consensus.kind) != DGCN_OK)
                return dgcn_error_set(DGCN_EINVAL, "set-up: config optimizer = '%s' is unknown", v);
        } else if (!strcmp(k, "lr")) {
            DGCN_CHECK(s_parse_f64(k, v, &c->consensus.step.alpha0));
        } else if (!strcmp(k, "lr_decay")) {
            DGCN_CHECK(s_parse_f64(k, v, &c->consensus.step.decay));
        } else if (!strcmp(k, "lr_power")) {
            DGCN_CHECK(s_parse_f64(k, v, &c->consensus.step.power));
        } else if (!strcmp(k, "grad_scale")) {
            DGCN_CHECK(s_parse_f64(k, v, &c->consensus.grad_scale));
        } else if (!strcmp(k, "beta1")) {
            DGCN_CHECK(s_parse_f64(k, v, &c->consensus.beta1));
        } else if (!strcmp(k, "beta2")) {
            DGCN_CHECK(s_parse_f64(k, v, &c->consensus.beta2));
        } else if (!strcmp(k, "eps")) {
            DGCN_CHECK(s_parse_f64(k, v, &c->consensus.eps));
        } else if (!strcmp(k, "iterations")) {
            DGCN_CHECK(s_parse_i64(k, v, 0, INT64_C(1) << 40, &c->iterations));
        } else if (!strcmp(k, "eval_every")) {
            DGCN_CHECK(s_parse_i64(k, v, 1, INT64_C(1) << 40, &c->eval_every));
        } else if (!strcmp(k, "final_mixing")) {
            DGCN_CHECK(s_parse_i64(k, v, 0, INT64_C(1) << 20, &c->final_mixing));
        } else if (!strcmp(k, "init_seed")) {
            DGCN_CHECK(s_parse_u64(k, v, &c->init_seed));
        } else if (!strcmp(k, "dropout_seed")) {
            DGCN_CHECK(s_parse_u64(k, v, &c->dropout_seed));
        } else if (!strcmp(k, "training")) {
            DGCN_CHECK(s_parse_i64(k, v, 0, 1, &x));
            c->training = (int)x;
        } else if (!strcmp(k, "report_params")) {
            DGCN_CHECK(s_parse_i64(k, v, 0, 1, &x));
            c->report_params = (int)x;
        } else if (!strcmp(k, "plan")) {
            if (strlen(v) >= sizeof c->plan)
                return dgcn_error_set(DGCN_EINVAL, "set-up: config plan path is too long");
            strcpy(c->plan, v);
        } else {
            return dgcn_error_set(DGCN_EINVAL, "set-up: unknown config key '%s'", k);
        }
    }
    if (!have_dims) return dgcn_error_set(DGCN_EINVAL, "set-up: config has no dims");
    return DGCN_OK;
fail:
    return rc;
}

/* ---- mesh hooks ---- */

int dgcn_run_mesh_zmq(void *ctx, dgcn_transport *t, const dgcn_ctl_setup *s) {
    if (s->n_neighbors > 0 && !s->neighbor_endpoints)
        return dgcn_error_set(DGCN_EPROTO, "agent %d: set-up names %d neighbours but no endpoints",
                              t->self, s->n_neighbors);
    return dgcn_zmq_connect_neighbors(t, s->neighbors, (const char *const *)s->neighbor_endpoints,
                                      s->n_neighbors);
}

int dgcn_run_mesh_mpi(void *ctx, dgcn_transport *t, const dgcn_ctl_setup *s) {
    return dgcn_mpi_set_neighbors(t, s->neighbors, s->n_neighbors);
}

int dgcn_run_mesh_fixed(void *ctx, dgcn_transport *t, const dgcn_ctl_setup *s) {
    int same = t->n_neighbors == s->n_neighbors;
    for (int32_t i = 0; same && i < s->n_neighbors; i++) same = t->neighbors[i] == s->neighbors[i];
    if (!same)
        return dgcn_error_set(DGCN_EPROTO, "agent %d: set-up names %d neighbours, the endpoint was "
                              "opened with %d different ones", t->self, s->n_neighbors,
                              t->n_neighbors);
    return DGCN_OK;
}

/* ---- the run ---- */

typedef struct s_run {
    dgcn_transport *t;
    const dgcn_run_agent_opts *o;
    dgcn_run_config cfg;
    dgcn_shard shard;
    dgcn_agent *agent;
    int64_t iter; /* for error messages */
    double eval_ms;
} s_run;

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
    p->n_params = params ? n_params : 0;
    p->params = (float *)(uintptr_t)params;
    p->traffic = r->agent ? dgcn_agent_traffic(r->agent) : r->t->traffic;
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
    else rc = dgcn_error_set(DGCN_EPROTO, "agent %d, iteration %" PRId64 ": unexpected %s message "
                             "from the coordinator during the run", r->t->self, r->iter,
                             dgcn_ctl_kind_name(m.kind));
    dgcn_ctl_msg_fini(&m);
    return rc;
}

static int s_verify(s_run *r) {
    int rc = DGCN_OK;
    int64_t np = dgcn_agent_n_params(r->agent);
    float *grad = NULL;
    DGCN_ALLOC(grad, np);
    r->iter = 0;
    DGCN_CHECK(dgcn_agent_gradient(r->agent, 0, r->cfg.training, grad));
    const float *logits = dgcn_agent_logits(r->agent);
    DGCN_CHECK(s_report(r, DGCN_RUN_REPORT_LOGITS, NULL, logits,
                        (int64_t)r->shard.n_own * r->shard.c));
    DGCN_CHECK(s_report(r, DGCN_RUN_REPORT_GRADIENT, NULL, grad, np));
fail:
    free(grad);
    return rc;
}

static int s_eval_report(s_run *r, int64_t n) {
    dgcn_eval ev;
    double t0 = dgcn_now_ms();
    int rc = dgcn_agent_evaluate(r->agent, n, &ev);
    r->eval_ms += dgcn_now_ms() - t0;
    if (rc) return rc;
    return s_report(r, n, &ev, r->cfg.report_params ? dgcn_agent_params(r->agent) : NULL,
                    dgcn_agent_n_params(r->agent));
}

static int s_train(s_run *r) {
    int rc = DGCN_OK;
    const dgcn_run_config *c = &r->cfg;
    r->iter = 0;
    DGCN_CHECK(s_eval_report(r, 0));
    for (int64_t n = 0; n < c->iterations; n++) {
        int cmd = DGCN_CMD_NONE;
        r->iter = n;
        if (r->o->stop && *r->o->stop)
            return dgcn_error_set(DGCN_EINTR, "agent %d, iteration %" PRId64 ": interrupted",
                                  r->t->self, n);
        DGCN_CHECK(s_poll_control(r, &cmd));
        if (cmd == DGCN_CMD_ABORT)
            return dgcn_error_set(DGCN_EPEER, "agent %d, iteration %" PRId64 ": the coordinator "
                                  "aborted the run", r->t->self, n);
        if (cmd == DGCN_CMD_STOP) break;
        DGCN_CHECK(dgcn_agent_step(r->agent, n, NULL));
        if (n + 1 == c->iterations)
            for (int64_t k = 0; k < c->final_mixing; k++)
                DGCN_CHECK(dgcn_agent_mix(r->agent, c->iterations + k));
        if ((n + 1) % c->eval_every == 0 || n + 1 == c->iterations) {
            r->iter = n + 1;
            DGCN_CHECK(s_eval_report(r, n + 1));
        }
    }
fail:
    return rc;
}

static int s_setup(s_run *r, dgcn_ctl_setup *s, double **mix) {
    int rc = DGCN_OK;
    dgcn_transport *t = r->t;
    if (s->agent != t->self || s->run_id != t->run_id)
        return dgcn_error_set(DGCN_EPROTO, "agent %d: set-up is for agent %d of run %016" PRIx64
                              " (this run is %016" PRIx64 ")", t->self, s->agent, s->run_id,
                              t->run_id);
    if (!s->mixing) /* even without neighbours: the self weight */
        return dgcn_error_set(DGCN_EPROTO, "agent %d: set-up carries no mixing row", t->self);
    DGCN_CHECK(dgcn_run_config_from_kv(&r->cfg, s->n_config, s->config_keys, s->config_values));
    if (r->cfg.plan[0]) DGCN_CHECK(dgcn_plan_read_shard(r->cfg.plan, t->self, &r->shard));
    else if (s->shard && s->shard_len) DGCN_CHECK(dgcn_shard_unpack(&r->shard, s->shard, s->shard_len));
    else return dgcn_error_set(DGCN_EPROTO, "agent %d: set-up carries neither a shard nor a plan",
                               t->self);
    if (r->shard.agent != t->self || r->shard.n_agents != t->n_agents)
        return dgcn_error_set(DGCN_EPROTO, "agent %d: received the shard of agent %d of %d (run "
                              "has %d agents)", t->self, r->shard.agent, r->shard.n_agents,
                              t->n_agents);
    DGCN_CHECK(r->o->mesh(r->o->mesh_ctx, t, s));
    *mix = s->mixing;
    dgcn_agent_opts ao = dgcn_agent_opts_defaults();
    ao.consensus = r->cfg.consensus;
    ao.init_seed = r->cfg.init_seed;
    ao.dropout_seed = r->cfg.dropout_seed;
    DGCN_CHECK(dgcn_agent_new(&r->agent, &r->shard, &r->cfg.model, t, *mix, &ao));
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
        rc = dgcn_error_set(DGCN_EPEER, "agent %d: the coordinator ended the run before set-up "
                            "(control %d)", t->self, setup.u.control.cmd);
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
        int saved = rc;
        (void)s_send(&r, &e);
        rc = dgcn_error_set(saved, "%s", msg);
    }
    dgcn_ctl_msg_fini(&m);
    dgcn_agent_destroy(&r.agent);
    dgcn_shard_fini(&r.shard);
    dgcn_ctl_msg_fini(&setup);
    return rc;
}
