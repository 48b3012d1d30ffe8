/* comm/control.c: the coordinator protocol between plain C structs and protobuf-c bytes. */
#include "comm/control.h"

#include "comm/control.pb-c.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* The wire enums of comm/config.proto, as comm/control.h names them. */
#define S_SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(S_SAME(DGCNPB__RUN_CONFIG__MODE__MODE_VERIFY, DGCN_CTL_MODE_VERIFY) &&
                   S_SAME(DGCNPB__RUN_CONFIG__MODE__MODE_TRAIN, DGCN_CTL_MODE_TRAIN),
               "RunConfig.Mode");
_Static_assert(S_SAME(DGCNPB__RUN_CONFIG__MODEL__MODEL_GCN, DGCN_CTL_MODEL_GCN) &&
                   S_SAME(DGCNPB__RUN_CONFIG__MODEL__MODEL_MLP, DGCN_CTL_MODEL_MLP),
               "RunConfig.Model");
_Static_assert(S_SAME(DGCNPB__RUN_CONFIG__TASK__TASK_CLASSIFICATION,
                      DGCN_CTL_TASK_CLASSIFICATION) &&
                   S_SAME(DGCNPB__RUN_CONFIG__TASK__TASK_REGRESSION, DGCN_CTL_TASK_REGRESSION),
               "RunConfig.Task");
_Static_assert(S_SAME(DGCNPB__RUN_CONFIG__OPTIMIZER__OPTIMIZER_DGD, DGCN_CTL_OPT_DGD) &&
                   S_SAME(DGCNPB__RUN_CONFIG__OPTIMIZER__OPTIMIZER_DGD_ATC, DGCN_CTL_OPT_DGD_ATC) &&
                   S_SAME(DGCNPB__RUN_CONFIG__OPTIMIZER__OPTIMIZER_GT, DGCN_CTL_OPT_GT) &&
                   S_SAME(DGCNPB__RUN_CONFIG__OPTIMIZER__OPTIMIZER_GT_ADAM, DGCN_CTL_OPT_GT_ADAM),
               "RunConfig.Optimizer");
_Static_assert(S_SAME(DGCNPB__RUN_CONFIG__COMPRESS__COMPRESS_NONE, DGCN_CTL_COMPRESS_NONE) &&
                   S_SAME(DGCNPB__RUN_CONFIG__COMPRESS__COMPRESS_TOPK, DGCN_CTL_COMPRESS_TOPK) &&
                   S_SAME(DGCNPB__RUN_CONFIG__COMPRESS__COMPRESS_RANDK, DGCN_CTL_COMPRESS_RANDK) &&
                   S_SAME(DGCNPB__RUN_CONFIG__COMPRESS__COMPRESS_QUANT, DGCN_CTL_COMPRESS_QUANT),
               "RunConfig.Compress");
#undef S_SAME

const char *dgcn_ctl_kind_name(int kind) {
    switch (kind) {
    case DGCN_CTL_HELLO: return "hello";
    case DGCN_CTL_SETUP: return "setup";
    case DGCN_CTL_REPORT: return "report";
    case DGCN_CTL_CONTROL: return "control";
    case DGCN_CTL_ERROR: return "error";
    case DGCN_CTL_STATE: return "state";
    default: return "none";
    }
}

const char *dgcn_ctl_config_enum_name(const char *field, int v) {
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(&dgcnpb__run_config__descriptor, field);
    if (!f || f->type != PROTOBUF_C_TYPE_ENUM) return NULL;
    const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
    return e ? e->name : NULL;
}

static char *s_str(const char *s) { return (char *)(uintptr_t)(s ? s : ""); }

/* ---- pack ---- */

static int s_pack_env(const Dgcnpb__ControlEnvelope *env, void **buf, size_t *len) {
    size_t n = dgcnpb__control_envelope__get_packed_size(env);
    if (n > DGCN_COORD_MAX_BYTES)
        return dgcn_error_set(DGCN_EINVAL, "control message of %zu bytes exceeds the %zu-byte cap",
                              n, DGCN_COORD_MAX_BYTES);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return dgcn_error_set(DGCN_ENOMEM, "out of memory packing a %zu-byte control message", n);
    dgcnpb__control_envelope__pack(env, b);
    *buf = b;
    *len = n;
    return DGCN_OK;
}

/* Every field present; *pb points into c (which must outlive it). */
static void s_pack_config(const dgcn_ctl_config *c, Dgcnpb__RunConfig *pb) {
    dgcnpb__run_config__init(pb);
#define S_PUT(name, kind, def, lo, hi, keep, path, cli) S_PUT_##kind(name);
#define S_PUT_SCALAR(f) (pb->has_##f = 1, pb->f = c->f)
#define S_PUT_I32 S_PUT_SCALAR
#define S_PUT_I64 S_PUT_SCALAR
#define S_PUT_U64 S_PUT_SCALAR
#define S_PUT_F32 S_PUT_SCALAR
#define S_PUT_F64 S_PUT_SCALAR
#define S_PUT_ENUM S_PUT_SCALAR
#define S_PUT_BOOL(f) (pb->has_##f = 1, pb->f = c->f != 0)
#define S_PUT_DIMS(f) (pb->n_##f = (size_t)c->n_##f, pb->f = (int32_t *)(uintptr_t)c->f)
#define S_PUT_STR(f) (pb->f = (char *)(uintptr_t)c->f)
    DGCN_RUN_CONFIG_FIELDS(S_PUT)
#undef S_PUT
#undef S_PUT_SCALAR
#undef S_PUT_I32
#undef S_PUT_I64
#undef S_PUT_U64
#undef S_PUT_F32
#undef S_PUT_F64
#undef S_PUT_ENUM
#undef S_PUT_BOOL
#undef S_PUT_DIMS
#undef S_PUT_STR
}

/* *pb points into st (which must outlive it); DGCN_EINVAL for inconsistent counts. */
static int s_pack_state(const dgcn_ctl_state *st, Dgcnpb__State *pb) {
    dgcnpb__state__init(pb);
    if (st->n_vec < 0 || (st->n_vec > 0 && !st->vec) || st->n_params < 0 ||
        st->n_params > st->n_vec)
        return dgcn_error_set(DGCN_EINVAL,
                              "state of agent %d: %lld floats for %lld parameters, or no vector",
                              st->agent, (long long)st->n_vec, (long long)st->n_params);
    pb->run_id = st->run_id;
    pb->agent = st->agent;
    pb->iter = st->iter;
    pb->n_params = st->n_params;
    pb->n_vec = (size_t)st->n_vec;
    pb->vec = st->vec;
    pb->n_counters = DGCN_CTL_STATE_COUNTERS;
    pb->counters = (int64_t *)(uintptr_t)st->counters;
    pb->n_bytes = DGCN_CH_COUNT;
    pb->bytes = (uint64_t *)(uintptr_t)st->traffic.bytes;
    pb->n_messages = DGCN_CH_COUNT;
    pb->messages = (uint64_t *)(uintptr_t)st->traffic.messages;
    pb->dropped = st->traffic.dropped;
    pb->n_relayed_bytes = DGCN_CH_COUNT;
    pb->relayed_bytes = (uint64_t *)(uintptr_t)st->relayed;
    int raw = 0; /* no compression: left out, so a state is the bytes it was */
    for (int ch = 0; ch < DGCN_CH_COUNT; ch++) raw |= st->halo_raw[ch] != 0;
    pb->n_halo_raw_bytes = raw ? DGCN_CH_COUNT : 0;
    pb->halo_raw_bytes = (uint64_t *)(uintptr_t)st->halo_raw;
    return DGCN_OK;
}

static int s_pack_setup(const dgcn_ctl_setup *s, Dgcnpb__ControlEnvelope *env, void **buf,
                        size_t *len) {
    int rc = DGCN_OK;
    Dgcnpb__Setup pb = DGCNPB__SETUP__INIT;
    Dgcnpb__RunConfig cfg;
    Dgcnpb__State state;
    char **eps = NULL;
    const dgcn_ctl_config *c = &s->config;
    if (s->n_neighbors < 0 || (s->n_neighbors > 0 && !s->neighbors) ||
        (s->shard_len > 0 && !s->shard))
        return dgcn_error_set(DGCN_EINVAL, "setup for agent %d: inconsistent counts and arrays",
                              s->agent);
    if (c->n_dims < 1 || c->n_dims > DGCN_CTL_MAX_DIMS)
        return dgcn_error_set(DGCN_EINVAL,
                              "setup for agent %d: config has %d widths in dims "
                              "(1..%d)",
                              s->agent, c->n_dims, DGCN_CTL_MAX_DIMS);
    if (!memchr(c->plan, 0, sizeof c->plan))
        return dgcn_error_set(DGCN_EINVAL,
                              "setup for agent %d: config plan is not terminated "
                              "within %d bytes",
                              s->agent, DGCN_CTL_PLAN_MAX);
    pb.run_id = s->run_id;
    pb.agent = s->agent;
    pb.n_agents = s->n_agents;
    pb.n_neighbors = (size_t)s->n_neighbors;
    pb.neighbors = (int32_t *)(uintptr_t)s->neighbors;
    pb.n_mixing = s->mixing ? (size_t)s->n_neighbors + 1 : 0;
    pb.mixing = (double *)(uintptr_t)s->mixing;
    if (s->neighbor_endpoints && s->n_neighbors > 0) {
        DGCN_ALLOC(eps, s->n_neighbors);
        for (int32_t i = 0; i < s->n_neighbors; i++) eps[i] = s_str(s->neighbor_endpoints[i]);
        pb.n_neighbor_endpoints = (size_t)s->n_neighbors;
        pb.neighbor_endpoints = eps;
    }
    s_pack_config(c, &cfg);
    pb.config = &cfg;
    pb.shard.len = s->shard_len;
    pb.shard.data = (uint8_t *)(uintptr_t)s->shard;
    pb.endpoint = s_str(s->endpoint);
    if (s->n_schedule < 0 || (s->n_schedule > 0 && (!s->schedule || s->schedule_every < 1))) {
        rc = dgcn_error_set(DGCN_EINVAL, "setup for agent %d: a schedule of %d phases every %d",
                            s->agent, s->n_schedule, s->schedule_every);
        goto fail;
    }
    pb.n_schedule = (size_t)s->n_schedule * ((size_t)s->n_neighbors + 1);
    pb.schedule = (double *)(uintptr_t)s->schedule;
    pb.schedule_every = s->n_schedule > 0 ? s->schedule_every : 0;
    if (s->state) {
        DGCN_CHECK(s_pack_state(s->state, &state));
        pb.state = &state;
    }
    env->body_case = DGCNPB__CONTROL_ENVELOPE__BODY_SETUP;
    env->setup = &pb;
    rc = s_pack_env(env, buf, len);
fail:
    free(eps);
    return rc;
}

int dgcn_ctl_pack(const dgcn_ctl_msg *m, void **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    if (!m) return dgcn_error_set(DGCN_EINVAL, "dgcn_ctl_pack: NULL message");
    Dgcnpb__ControlEnvelope env = DGCNPB__CONTROL_ENVELOPE__INIT;
    switch (m->kind) {
    case DGCN_CTL_HELLO: {
        Dgcnpb__Hello pb = DGCNPB__HELLO__INIT;
        pb.run_id = m->u.hello.run_id;
        pb.agent = m->u.hello.agent;
        pb.endpoint = s_str(m->u.hello.endpoint);
        env.body_case = DGCNPB__CONTROL_ENVELOPE__BODY_HELLO;
        env.hello = &pb;
        return s_pack_env(&env, buf, len);
    }
    case DGCN_CTL_SETUP: return s_pack_setup(&m->u.setup, &env, buf, len);
    case DGCN_CTL_REPORT: {
        const dgcn_ctl_report *r = &m->u.report;
        if (r->n_params < 0 || (r->n_params > 0 && !r->params) || r->n_phases < 0 ||
            (r->n_phases > 0 && !r->phase_ms))
            return dgcn_error_set(DGCN_EINVAL, "report of agent %d: inconsistent counts and arrays",
                                  r->agent);
        Dgcnpb__Report pb = DGCNPB__REPORT__INIT;
        pb.run_id = r->run_id;
        pb.agent = r->agent;
        pb.iter = r->iter;
        pb.n_loss_sum = DGCN_SPLITS;
        pb.loss_sum = (double *)(uintptr_t)r->loss_sum;
        pb.n_correct = DGCN_SPLITS;
        pb.correct = (int64_t *)(uintptr_t)r->correct;
        pb.n_count = DGCN_SPLITS;
        pb.count = (int64_t *)(uintptr_t)r->count;
        pb.n_params = (size_t)r->n_params;
        pb.params = (float *)(uintptr_t)r->params;
        pb.n_bytes = DGCN_CH_COUNT;
        pb.bytes = (uint64_t *)(uintptr_t)r->traffic.bytes;
        pb.n_messages = DGCN_CH_COUNT;
        pb.messages = (uint64_t *)(uintptr_t)r->traffic.messages;
        pb.n_phase_ms = (size_t)r->n_phases;
        pb.phase_ms = (double *)(uintptr_t)r->phase_ms;
        pb.dropped = r->traffic.dropped;
        pb.n_relayed_bytes = DGCN_CH_COUNT;
        pb.relayed_bytes = (uint64_t *)(uintptr_t)r->relayed;
        pb.n_abs_sum = DGCN_SPLITS;
        pb.abs_sum = (double *)(uintptr_t)r->abs_sum;
        int failed = 0; /* none: the field is left out, so a report is the bytes it was */
        for (int ch = 0; ch < DGCN_CH_COUNT; ch++) failed |= r->link_failures[ch] != 0;
        pb.n_link_failures = failed ? DGCN_CH_COUNT : 0;
        pb.link_failures = (uint64_t *)(uintptr_t)r->link_failures;
        int raw = 0; /* no compression: left out, as above */
        for (int ch = 0; ch < DGCN_CH_COUNT; ch++) raw |= r->halo_raw[ch] != 0;
        pb.n_halo_raw_bytes = raw ? DGCN_CH_COUNT : 0;
        pb.halo_raw_bytes = (uint64_t *)(uintptr_t)r->halo_raw;
        pb.n_lost = (size_t)(r->n_lost > 0 ? r->n_lost : 0); /* none: left out, as above */
        pb.lost = (int32_t *)(uintptr_t)r->lost;
        env.body_case = DGCNPB__CONTROL_ENVELOPE__BODY_REPORT;
        env.report = &pb;
        return s_pack_env(&env, buf, len);
    }
    case DGCN_CTL_CONTROL: {
        if (m->u.control.cmd < DGCN_CMD_START || m->u.control.cmd > DGCN_CMD_HEARTBEAT)
            return dgcn_error_set(DGCN_EINVAL, "control message with unknown command %d",
                                  m->u.control.cmd);
        Dgcnpb__Control pb = DGCNPB__CONTROL__INIT;
        pb.kind = (Dgcnpb__Control__Kind)m->u.control.cmd;
        pb.iter = m->u.control.iter;
        env.body_case = DGCNPB__CONTROL_ENVELOPE__BODY_CONTROL;
        env.control = &pb;
        return s_pack_env(&env, buf, len);
    }
    case DGCN_CTL_ERROR: {
        Dgcnpb__Error pb = DGCNPB__ERROR__INIT;
        pb.agent = m->u.error.agent;
        pb.iter = m->u.error.iter;
        pb.code = m->u.error.code;
        pb.message = s_str(m->u.error.message);
        if (m->u.error.n_waiting_for < 0 ||
            (m->u.error.n_waiting_for > 0 && !m->u.error.waiting_for))
            return dgcn_error_set(DGCN_EINVAL, "error of agent %d: inconsistent waiting_for",
                                  m->u.error.agent);
        pb.n_waiting_for = (size_t)m->u.error.n_waiting_for;
        pb.waiting_for = m->u.error.waiting_for;
        pb.waited_ms = m->u.error.waited_ms;
        env.body_case = DGCNPB__CONTROL_ENVELOPE__BODY_ERROR;
        env.error = &pb;
        return s_pack_env(&env, buf, len);
    }
    case DGCN_CTL_STATE: {
        Dgcnpb__State pb;
        int rc = s_pack_state(&m->u.state, &pb);
        if (rc != DGCN_OK) return rc;
        env.body_case = DGCNPB__CONTROL_ENVELOPE__BODY_STATE;
        env.state = &pb;
        return s_pack_env(&env, buf, len);
    }
    default: return dgcn_error_set(DGCN_EINVAL, "dgcn_ctl_pack: unknown message kind %d", m->kind);
    }
}

/* ---- unpack ---- */

static char *s_dup(const char *s) {
    if (!s || !*s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Copies n elements of size sz into *dst (NULL when n == 0). */
static int s_copy(void **dst, const void *src, size_t n, size_t sz) {
    *dst = NULL;
    if (n == 0) return DGCN_OK;
    *dst = malloc(n * sz);
    if (!*dst) return dgcn_error_set(DGCN_ENOMEM, "out of memory (%zu x %zu bytes)", n, sz);
    memcpy(*dst, src, n * sz);
    return DGCN_OK;
}

#define S_NEED_DUP(dst, src)                                                                       \
    do {                                                                                           \
        (dst) = s_dup(src);                                                                        \
        if ((src) && *(src) && !(dst)) {                                                           \
            rc = dgcn_error_set(DGCN_ENOMEM, "out of memory copying a string");                    \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* Every RunConfig field must be present, and no other: a missing one is named, an unknown one
 * is named by its number. */
static int s_unpack_config(const Dgcnpb__RunConfig *pb, int32_t agent, dgcn_ctl_config *c) {
    if (!pb) return dgcn_error_set(DGCN_EPROTO, "setup for agent %d: no config", agent);
    if (pb->base.n_unknown_fields > 0)
        return dgcn_error_set(DGCN_EPROTO, "setup for agent %d: config carries unknown field %u",
                              agent, (unsigned)pb->base.unknown_fields[0].tag);
#define S_TAKE(name, kind, def, lo, hi, keep, path, cli) S_TAKE_##kind(name);
#define S_TAKE_SCALAR(f)                                                                           \
    do {                                                                                           \
        if (!pb->has_##f)                                                                          \
            return dgcn_error_set(DGCN_EPROTO, "setup for agent %d: config lacks field '%s'",      \
                                  agent, #f);                                                      \
        c->f = pb->f;                                                                              \
    } while (0)
#define S_TAKE_I32 S_TAKE_SCALAR
#define S_TAKE_I64 S_TAKE_SCALAR
#define S_TAKE_U64 S_TAKE_SCALAR
#define S_TAKE_F32 S_TAKE_SCALAR
#define S_TAKE_F64 S_TAKE_SCALAR
#define S_TAKE_ENUM S_TAKE_SCALAR
#define S_TAKE_BOOL S_TAKE_SCALAR
#define S_TAKE_DIMS(f)                                                                             \
    do {                                                                                           \
        if (pb->n_##f == 0)                                                                        \
            return dgcn_error_set(DGCN_EPROTO, "setup for agent %d: config lacks field '%s'",      \
                                  agent, #f);                                                      \
        if (pb->n_##f > DGCN_CTL_MAX_DIMS)                                                         \
            return dgcn_error_set(DGCN_EPROTO,                                                     \
                                  "setup for agent %d: config field '%s' has %zu widths "          \
                                  "(at most %d)",                                                  \
                                  agent, #f, pb->n_##f, DGCN_CTL_MAX_DIMS);                        \
        c->n_##f = (int32_t)pb->n_##f;                                                             \
        memcpy(c->f, pb->f, pb->n_##f * sizeof *c->f);                                             \
    } while (0)
#define S_TAKE_STR(f)                                                                              \
    do {                                                                                           \
        if (!pb->f)                                                                                \
            return dgcn_error_set(DGCN_EPROTO, "setup for agent %d: config lacks field '%s'",      \
                                  agent, #f);                                                      \
        if (strlen(pb->f) >= sizeof c->f)                                                          \
            return dgcn_error_set(DGCN_EPROTO,                                                     \
                                  "setup for agent %d: config field '%s' is longer than "          \
                                  "%d bytes",                                                      \
                                  agent, #f, (int)sizeof c->f - 1);                                \
        strcpy(c->f, pb->f);                                                                       \
    } while (0)
    DGCN_RUN_CONFIG_FIELDS(S_TAKE)
#undef S_TAKE
#undef S_TAKE_SCALAR
#undef S_TAKE_I32
#undef S_TAKE_I64
#undef S_TAKE_U64
#undef S_TAKE_F32
#undef S_TAKE_F64
#undef S_TAKE_ENUM
#undef S_TAKE_BOOL
#undef S_TAKE_DIMS
#undef S_TAKE_STR
    return DGCN_OK;
}

static int s_unpack_state(const Dgcnpb__State *pb, dgcn_ctl_state *st) {
    if (pb->n_counters != DGCN_CTL_STATE_COUNTERS || pb->n_bytes != DGCN_CH_COUNT ||
        pb->n_messages != DGCN_CH_COUNT || pb->n_relayed_bytes != DGCN_CH_COUNT ||
        (pb->n_halo_raw_bytes != 0 && pb->n_halo_raw_bytes != DGCN_CH_COUNT) || pb->n_params < 0 ||
        (uint64_t)pb->n_params > pb->n_vec || pb->n_vec > INT32_MAX)
        return dgcn_error_set(DGCN_EPROTO,
                              "state of agent %d, iteration %lld: expected %d counters, %d values "
                              "per channel and at least n_params = %lld floats (got %zu)",
                              pb->agent, (long long)pb->iter, DGCN_CTL_STATE_COUNTERS,
                              DGCN_CH_COUNT, (long long)pb->n_params, pb->n_vec);
    st->run_id = pb->run_id;
    st->agent = pb->agent;
    st->iter = pb->iter;
    st->n_params = pb->n_params;
    st->n_vec = (int64_t)pb->n_vec;
    memcpy(st->counters, pb->counters, sizeof st->counters);
    memcpy(st->traffic.bytes, pb->bytes, sizeof st->traffic.bytes);
    memcpy(st->traffic.messages, pb->messages, sizeof st->traffic.messages);
    st->traffic.dropped = pb->dropped;
    memcpy(st->relayed, pb->relayed_bytes, sizeof st->relayed);
    if (pb->n_halo_raw_bytes) memcpy(st->halo_raw, pb->halo_raw_bytes, sizeof st->halo_raw);
    return s_copy((void **)&st->vec, pb->vec, pb->n_vec, sizeof(float));
}

static int s_unpack_setup(const Dgcnpb__Setup *pb, dgcn_ctl_setup *s) {
    int rc = DGCN_OK;
    size_t n = pb->n_neighbors;
    if (n > INT32_MAX) return dgcn_error_set(DGCN_EPROTO, "setup: too many neighbours");
    if (pb->n_mixing != 0 && pb->n_mixing != n + 1)
        return dgcn_error_set(DGCN_EPROTO,
                              "setup for agent %d: %zu mixing weights for %zu neighbours "
                              "(expected %zu)",
                              pb->agent, pb->n_mixing, n, n + 1);
    if (pb->n_neighbor_endpoints != 0 && pb->n_neighbor_endpoints != n)
        return dgcn_error_set(DGCN_EPROTO,
                              "setup for agent %d: %zu neighbour endpoints for %zu neighbours",
                              pb->agent, pb->n_neighbor_endpoints, n);
    if (pb->n_schedule % (n + 1) != 0 || pb->n_schedule / (n + 1) > INT32_MAX ||
        (pb->n_schedule > 0 && pb->schedule_every < 1))
        return dgcn_error_set(DGCN_EPROTO,
                              "setup for agent %d: a schedule of %zu weights for %zu neighbours "
                              "(a multiple of %zu), phases of %d iterations",
                              pb->agent, pb->n_schedule, n, n + 1, pb->schedule_every);
    DGCN_CHECK(s_unpack_config(pb->config, pb->agent, &s->config));
    s->run_id = pb->run_id;
    s->n_schedule = (int32_t)(pb->n_schedule / (n + 1));
    s->schedule_every = pb->schedule_every;
    DGCN_CHECK(s_copy((void **)&s->schedule, pb->schedule, pb->n_schedule, sizeof(double)));
    s->agent = pb->agent;
    s->n_agents = pb->n_agents;
    s->n_neighbors = (int32_t)n;
    DGCN_CHECK(s_copy((void **)&s->neighbors, pb->neighbors, n, sizeof(int32_t)));
    DGCN_CHECK(s_copy((void **)&s->mixing, pb->mixing, pb->n_mixing, sizeof(double)));
    if (pb->n_neighbor_endpoints) {
        DGCN_ALLOC(s->neighbor_endpoints, n);
        for (size_t i = 0; i < n; i++)
            S_NEED_DUP(s->neighbor_endpoints[i], pb->neighbor_endpoints[i]);
    }
    DGCN_CHECK(s_copy((void **)&s->shard, pb->shard.data, pb->shard.len, 1));
    s->shard_len = pb->shard.len;
    S_NEED_DUP(s->endpoint, pb->endpoint);
    if (pb->state) {
        DGCN_ALLOC(s->state, 1);
        DGCN_CHECK(s_unpack_state(pb->state, s->state));
    }
    return DGCN_OK;
fail:
    return rc; /* the caller's fini releases what was copied */
}

static int s_unpack_report(const Dgcnpb__Report *pb, dgcn_ctl_report *r) {
    int rc = DGCN_OK;
    if (pb->n_loss_sum != DGCN_SPLITS || pb->n_correct != DGCN_SPLITS ||
        pb->n_count != DGCN_SPLITS || pb->n_bytes != DGCN_CH_COUNT ||
        pb->n_messages != DGCN_CH_COUNT || pb->n_phase_ms > INT32_MAX ||
        (pb->n_relayed_bytes != 0 && pb->n_relayed_bytes != DGCN_CH_COUNT) ||
        (pb->n_abs_sum != 0 && pb->n_abs_sum != DGCN_SPLITS) ||
        (pb->n_link_failures != 0 && pb->n_link_failures != DGCN_CH_COUNT) ||
        (pb->n_halo_raw_bytes != 0 && pb->n_halo_raw_bytes != DGCN_CH_COUNT) ||
        pb->n_lost > DGCN_CTL_LOST_MAX)
        return dgcn_error_set(DGCN_EPROTO,
                              "report of agent %d, iteration %lld: expected %d values per split "
                              "and %d per channel",
                              pb->agent, (long long)pb->iter, DGCN_SPLITS, DGCN_CH_COUNT);
    r->run_id = pb->run_id;
    r->agent = pb->agent;
    r->iter = pb->iter;
    memcpy(r->loss_sum, pb->loss_sum, sizeof r->loss_sum);
    memcpy(r->correct, pb->correct, sizeof r->correct);
    memcpy(r->count, pb->count, sizeof r->count);
    if (pb->n_abs_sum) memcpy(r->abs_sum, pb->abs_sum, sizeof r->abs_sum);
    memcpy(r->traffic.bytes, pb->bytes, sizeof r->traffic.bytes);
    memcpy(r->traffic.messages, pb->messages, sizeof r->traffic.messages);
    r->traffic.dropped = pb->dropped;
    if (pb->n_relayed_bytes) memcpy(r->relayed, pb->relayed_bytes, sizeof r->relayed);
    if (pb->n_link_failures) memcpy(r->link_failures, pb->link_failures, sizeof r->link_failures);
    if (pb->n_halo_raw_bytes) memcpy(r->halo_raw, pb->halo_raw_bytes, sizeof r->halo_raw);
    r->n_lost = (int32_t)pb->n_lost;
    if (pb->n_lost) memcpy(r->lost, pb->lost, pb->n_lost * sizeof *r->lost);
    r->n_params = (int64_t)pb->n_params;
    DGCN_CHECK(s_copy((void **)&r->params, pb->params, pb->n_params, sizeof(float)));
    r->n_phases = (int32_t)pb->n_phase_ms;
    DGCN_CHECK(s_copy((void **)&r->phase_ms, pb->phase_ms, pb->n_phase_ms, sizeof(double)));
    return DGCN_OK;
fail:
    return rc;
}

int dgcn_ctl_unpack(const void *buf, size_t len, dgcn_ctl_msg *m) {
    int rc = DGCN_OK;
    memset(m, 0, sizeof *m);
    if (len > DGCN_COORD_MAX_BYTES)
        return dgcn_error_set(DGCN_EPROTO, "control message of %zu bytes exceeds the %zu-byte cap",
                              len, DGCN_COORD_MAX_BYTES);
    if (len > 0 && !buf) return dgcn_error_set(DGCN_EINVAL, "dgcn_ctl_unpack: NULL buffer");
    Dgcnpb__ControlEnvelope *env = dgcnpb__control_envelope__unpack(NULL, len, buf);
    if (!env)
        return dgcn_error_set(DGCN_EPROTO, "control message of %zu bytes is malformed or truncated",
                              len);
    switch (env->body_case) {
    case DGCNPB__CONTROL_ENVELOPE__BODY_HELLO:
        m->kind = DGCN_CTL_HELLO;
        m->u.hello.run_id = env->hello->run_id;
        m->u.hello.agent = env->hello->agent;
        S_NEED_DUP(m->u.hello.endpoint, env->hello->endpoint);
        break;
    case DGCNPB__CONTROL_ENVELOPE__BODY_SETUP:
        m->kind = DGCN_CTL_SETUP;
        DGCN_CHECK(s_unpack_setup(env->setup, &m->u.setup));
        break;
    case DGCNPB__CONTROL_ENVELOPE__BODY_REPORT:
        m->kind = DGCN_CTL_REPORT;
        DGCN_CHECK(s_unpack_report(env->report, &m->u.report));
        break;
    case DGCNPB__CONTROL_ENVELOPE__BODY_CONTROL:
        m->kind = DGCN_CTL_CONTROL;
        m->u.control.cmd = (int32_t)env->control->kind;
        m->u.control.iter = env->control->iter;
        if (m->u.control.cmd < DGCN_CMD_START || m->u.control.cmd > DGCN_CMD_HEARTBEAT) {
            rc = dgcn_error_set(DGCN_EPROTO, "control message with unknown command %d",
                                m->u.control.cmd);
            goto fail;
        }
        break;
    case DGCNPB__CONTROL_ENVELOPE__BODY_ERROR:
        m->kind = DGCN_CTL_ERROR;
        m->u.error.agent = env->error->agent;
        m->u.error.iter = env->error->iter;
        m->u.error.code = env->error->code;
        S_NEED_DUP(m->u.error.message, env->error->message);
        if (env->error->n_waiting_for > INT32_MAX) {
            rc = dgcn_error_set(DGCN_EPROTO, "error of agent %d waits for too many neighbours",
                                m->u.error.agent);
            goto fail;
        }
        DGCN_CHECK(s_copy((void **)&m->u.error.waiting_for, env->error->waiting_for,
                          env->error->n_waiting_for, sizeof(int32_t)));
        m->u.error.n_waiting_for = (int32_t)env->error->n_waiting_for;
        m->u.error.waited_ms = env->error->waited_ms;
        break;
    case DGCNPB__CONTROL_ENVELOPE__BODY_STATE:
        m->kind = DGCN_CTL_STATE;
        DGCN_CHECK(s_unpack_state(env->state, &m->u.state));
        break;
    default:
        rc = dgcn_error_set(DGCN_EPROTO, "control message of %zu bytes carries no known body", len);
        goto fail;
    }
    dgcnpb__control_envelope__free_unpacked(env, NULL);
    return DGCN_OK;
fail:
    dgcnpb__control_envelope__free_unpacked(env, NULL);
    dgcn_ctl_msg_fini(m);
    return rc;
}

void dgcn_ctl_msg_fini(dgcn_ctl_msg *m) {
    if (!m) return;
    switch (m->kind) {
    case DGCN_CTL_HELLO: free(m->u.hello.endpoint); break;
    case DGCN_CTL_SETUP: {
        dgcn_ctl_setup *s = &m->u.setup;
        if (s->neighbor_endpoints)
            for (int32_t i = 0; i < s->n_neighbors; i++) free(s->neighbor_endpoints[i]);
        free(s->neighbor_endpoints);
        free(s->neighbors);
        free(s->mixing);
        free(s->schedule);
        free(s->shard);
        free(s->endpoint);
        if (s->state) free(s->state->vec);
        free(s->state);
        break;
    }
    case DGCN_CTL_STATE: free(m->u.state.vec); break;
    case DGCN_CTL_REPORT:
        free(m->u.report.params);
        free(m->u.report.phase_ms);
        break;
    case DGCN_CTL_ERROR:
        free(m->u.error.message);
        free(m->u.error.waiting_for);
        break;
    default: break;
    }
    memset(m, 0, sizeof *m);
}
