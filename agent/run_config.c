/* agent/run_config.c: the agent's run configuration: defaults, to and from the wire form. */
#include "agent/run_config.h"

#include "comm/run_config.h"
#include "core/error.h"

#include <inttypes.h>
#include <string.h>

/* The widths d, 16, c: Kipf's two layers. */
static void s_default_dims(dgcn_model_config *m, int32_t d, int32_t c) {
    m->n_layers = 2;
    m->dims[0] = d;
    m->dims[1] = 16;
    m->dims[2] = c;
}

dgcn_run_config dgcn_run_config_defaults(int32_t d, int32_t c) {
    dgcn_run_config r;
    memset(&r, 0, sizeof r);
#define S_DEF(name, kind, def, lo, hi, keep, path, cli) S_DEF_##kind(path, def);
#define S_DEF_SCALAR(path, def) r.path = def
#define S_DEF_I32 S_DEF_SCALAR
#define S_DEF_I64 S_DEF_SCALAR
#define S_DEF_U64 S_DEF_SCALAR
#define S_DEF_F32 S_DEF_SCALAR
#define S_DEF_F64 S_DEF_SCALAR
#define S_DEF_BOOL S_DEF_SCALAR
#define S_DEF_ENUM S_DEF_SCALAR
#define S_DEF_DIMS(path, def) s_default_dims(&r.path, d, c)
#define S_DEF_STR(path, def) r.path[0] = '\0'
    DGCN_RUN_CONFIG_FIELDS(S_DEF)
#undef S_DEF
#undef S_DEF_SCALAR
#undef S_DEF_I32
#undef S_DEF_I64
#undef S_DEF_U64
#undef S_DEF_F32
#undef S_DEF_F64
#undef S_DEF_BOOL
#undef S_DEF_ENUM
#undef S_DEF_DIMS
#undef S_DEF_STR
    return r;
}

_Static_assert(DGCN_MAX_LAYERS + 1 <= DGCN_CTL_MAX_DIMS, "dims fit a dgcn_ctl_config");
#define S_SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(S_SAME(DGCN_RUN_VERIFY, DGCN_CTL_MODE_VERIFY) &&
                   S_SAME(DGCN_RUN_TRAIN, DGCN_CTL_MODE_TRAIN),
               "run modes are RunConfig.Mode");
_Static_assert(S_SAME(DGCN_MODEL_GCN, DGCN_CTL_MODEL_GCN) &&
                   S_SAME(DGCN_MODEL_MLP, DGCN_CTL_MODEL_MLP) &&
                   S_SAME(DGCN_MODEL_FILTER, DGCN_CTL_MODEL_FILTER),
               "model kinds are RunConfig.Model");
_Static_assert(S_SAME(DGCN_TASK_CLASSIFICATION, DGCN_CTL_TASK_CLASSIFICATION) &&
                   S_SAME(DGCN_TASK_REGRESSION, DGCN_CTL_TASK_REGRESSION),
               "tasks are RunConfig.Task");
_Static_assert(S_SAME(DGCN_CONSENSUS_DGD, DGCN_CTL_OPT_DGD) &&
                   S_SAME(DGCN_CONSENSUS_DGD_ATC, DGCN_CTL_OPT_DGD_ATC) &&
                   S_SAME(DGCN_CONSENSUS_GT, DGCN_CTL_OPT_GT) &&
                   S_SAME(DGCN_CONSENSUS_GT_ADAM, DGCN_CTL_OPT_GT_ADAM) &&
                   S_SAME(DGCN_CONSENSUS_ED, DGCN_CTL_OPT_ED),
               "optimizers are RunConfig.Optimizer");
_Static_assert(S_SAME(DGCN_GOSSIP_PLAIN, DGCN_CTL_ACCEL_NONE) &&
                   S_SAME(DGCN_GOSSIP_CHEBYSHEV, DGCN_CTL_ACCEL_CHEBYSHEV),
               "gossip accelerations are RunConfig.GossipAccel");
_Static_assert(S_SAME(DGCN_COMPRESS_NONE, DGCN_CTL_COMPRESS_NONE) &&
                   S_SAME(DGCN_COMPRESS_TOPK, DGCN_CTL_COMPRESS_TOPK) &&
                   S_SAME(DGCN_COMPRESS_RANDK, DGCN_CTL_COMPRESS_RANDK) &&
                   S_SAME(DGCN_COMPRESS_QUANT, DGCN_CTL_COMPRESS_QUANT),
               "compression kinds are RunConfig.Compress");
#undef S_SAME

void dgcn_run_config_to_ctl(const dgcn_run_config *c, dgcn_ctl_config *out) {
    memset(out, 0, sizeof *out);
#define S_TO(name, kind, def, lo, hi, keep, path, cli) S_TO_##kind(name, path);
#define S_TO_SCALAR(name, path) out->name = c->path
#define S_TO_I32 S_TO_SCALAR
#define S_TO_I64 S_TO_SCALAR
#define S_TO_U64 S_TO_SCALAR
#define S_TO_F32 S_TO_SCALAR
#define S_TO_F64 S_TO_SCALAR
#define S_TO_BOOL S_TO_SCALAR
#define S_TO_ENUM S_TO_SCALAR
#define S_TO_DIMS(name, path)                                                                      \
    for (int l = 0; l <= c->path.n_layers && l <= DGCN_MAX_LAYERS; l++)                            \
    out->name[out->n_##name++] = c->path.dims[l]
#define S_TO_STR(name, path)                                                                       \
    do {                                                                                           \
        memcpy(out->name, c->path, sizeof out->name);                                              \
        out->name[sizeof out->name - 1] = '\0';                                                    \
    } while (0)
    DGCN_RUN_CONFIG_FIELDS(S_TO)
#undef S_TO
#undef S_TO_SCALAR
#undef S_TO_I32
#undef S_TO_I64
#undef S_TO_U64
#undef S_TO_F32
#undef S_TO_F64
#undef S_TO_BOOL
#undef S_TO_ENUM
#undef S_TO_DIMS
#undef S_TO_STR
}

static int s_check_i64(const char *field, int64_t x, int64_t lo, int64_t hi) {
    if (x < lo || x > hi)
        return dgcn_error_set(DGCN_EINVAL,
                              "set-up: config %s = %" PRId64 " is not in [%" PRId64 ", %" PRId64
                              "]",
                              field, x, lo, hi);
    return DGCN_OK;
}

/* NaN is refused; with lo < hi, so is x outside [lo, hi]. */
static int s_check_real(const char *field, double x, double lo, double hi) {
    if (x != x) return dgcn_error_set(DGCN_EINVAL, "set-up: config %s is not a number", field);
    if (lo < hi && (x < lo || x > hi))
        return dgcn_error_set(DGCN_EINVAL, "set-up: config %s = %.17g is not in [%.17g, %.17g]",
                              field, x, lo, hi);
    return DGCN_OK;
}

static int s_check_dims(const char *field, const int32_t *dims, int32_t n) {
    if (n < 2 || n > DGCN_MAX_LAYERS + 1)
        return dgcn_error_set(DGCN_EINVAL, "set-up: config %s has %d widths (2..%d)", field, (int)n,
                              DGCN_MAX_LAYERS + 1);
    for (int32_t l = 0; l < n; l++)
        if (dims[l] < 1)
            return dgcn_error_set(DGCN_EINVAL, "set-up: config %s[%d] = %d is not positive", field,
                                  (int)l, (int)dims[l]);
    return DGCN_OK;
}

static int s_check_str(const char *field, const char *s, size_t cap) {
    if (!memchr(s, 0, cap))
        return dgcn_error_set(DGCN_EINVAL, "set-up: config %s path is too long", field);
    return DGCN_OK;
}

_Static_assert(DGCN_MAX_ORDER == 8 && DGCN_GOSSIP_MAX == 1024,
               "the ranges of order and gossip_rounds in comm/run_config.h");

int dgcn_run_config_from_ctl(dgcn_run_config *c, const dgcn_ctl_config *in) {
    dgcn_run_config r = dgcn_run_config_defaults(1, 1);
#define S_FROM(name, kind, def, lo, hi, keep, path, cli) S_FROM_##kind(name, lo, hi, path);
#define S_FROM_INT(name, lo, hi, path)                                                             \
    do {                                                                                           \
        int rc_ = s_check_i64(#name, in->name, lo, hi);                                            \
        if (rc_ != DGCN_OK) return rc_;                                                            \
        r.path = in->name;                                                                         \
    } while (0)
#define S_FROM_I32 S_FROM_INT
#define S_FROM_I64 S_FROM_INT
#define S_FROM_BOOL S_FROM_INT
#define S_FROM_ENUM S_FROM_INT
#define S_FROM_U64(name, lo, hi, path) r.path = in->name
#define S_FROM_REAL(name, lo, hi, path)                                                            \
    do {                                                                                           \
        int rc_ = s_check_real(#name, in->name, lo, hi);                                           \
        if (rc_ != DGCN_OK) return rc_;                                                            \
        r.path = in->name;                                                                         \
    } while (0)
#define S_FROM_F32 S_FROM_REAL
#define S_FROM_F64 S_FROM_REAL
#define S_FROM_DIMS(name, lo, hi, path)                                                            \
    do {                                                                                           \
        int rc_ = s_check_dims(#name, in->name, in->n_##name);                                     \
        if (rc_ != DGCN_OK) return rc_;                                                            \
        memcpy(r.path.dims, in->name, (size_t)in->n_##name * sizeof *in->name);                    \
        r.path.n_layers = in->n_##name - 1;                                                        \
    } while (0)
#define S_FROM_STR(name, lo, hi, path)                                                             \
    do {                                                                                           \
        int rc_ = s_check_str(#name, in->name, sizeof in->name);                                   \
        if (rc_ != DGCN_OK) return rc_;                                                            \
        memcpy(r.path, in->name, sizeof r.path);                                                   \
    } while (0)
    DGCN_RUN_CONFIG_FIELDS(S_FROM)
#undef S_FROM
#undef S_FROM_INT
#undef S_FROM_I32
#undef S_FROM_I64
#undef S_FROM_BOOL
#undef S_FROM_ENUM
#undef S_FROM_U64
#undef S_FROM_REAL
#undef S_FROM_F32
#undef S_FROM_F64
#undef S_FROM_DIMS
#undef S_FROM_STR
    *c = r;
    return DGCN_OK;
}
