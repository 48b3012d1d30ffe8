/* coordinator/run_config.c: config.json, the resume check and the options of train and study,
 * expanded from comm/run_config.h. */
#include "coordinator/run_config.h"

#include "comm/control.h"
#include "core/error.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- config.json ---- */

void dgcn_run_config_json_write(dgcn_json *j, const dgcn_ctl_config *c) {
    dgcn_json_object(j, "run_config");
#define S_W(name, kind, def, lo, hi, keep, path, cli) S_W_##kind(name);
#define S_W_INT(name) dgcn_json_int(j, #name, (long long)c->name)
#define S_W_I32 S_W_INT
#define S_W_I64 S_W_INT
#define S_W_ENUM S_W_INT
#define S_W_BOOL S_W_INT
#define S_W_U64(name) dgcn_json_u64(j, #name, c->name)
#define S_W_F32(name) dgcn_json_real_f(j, #name, c->name)
#define S_W_F64(name) dgcn_json_real(j, #name, c->name)
#define S_W_DIMS(name)                                                                             \
    do {                                                                                           \
        double w_[DGCN_CTL_MAX_DIMS];                                                              \
        for (int32_t l_ = 0; l_ < c->n_##name && l_ < DGCN_CTL_MAX_DIMS; l_++)                     \
            w_[l_] = c->name[l_];                                                                  \
        dgcn_json_num_array(j, #name, w_, c->n_##name);                                            \
    } while (0)
#define S_W_STR(name) dgcn_json_str(j, #name, c->name)
    DGCN_RUN_CONFIG_FIELDS(S_W)
#undef S_W
#undef S_W_INT
#undef S_W_I32
#undef S_W_I64
#undef S_W_ENUM
#undef S_W_BOOL
#undef S_W_U64
#undef S_W_F32
#undef S_W_F64
#undef S_W_DIMS
#undef S_W_STR
    dgcn_json_end(j);
}

/* The text after "name": in the run_config object at obj, or NULL. */
static const char *s_value(const char *obj, const char *name) {
    char q[96];
    snprintf(q, sizeof q, "\"%s\":", name);
    const char *p = strstr(obj, q);
    return p ? p + strlen(q) : NULL;
}

static int s_read_i64(const char *v, int64_t *x) {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || (*end != ',' && *end != '}')) return 0;
    *x = (int64_t)n;
    return 1;
}

static int s_read_u64(const char *v, uint64_t *x) {
    char *end;
    errno = 0;
    if (*v == '-') return 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || (*end != ',' && *end != '}')) return 0;
    *x = (uint64_t)n;
    return 1;
}

static int s_read_real(const char *v, double *x) {
    char *end;
    double d = strtod(v, &end);
    if (end == v || (*end != ',' && *end != '}')) return 0;
    *x = d;
    return 1;
}

static int s_read_dims(const char *v, int32_t *dims, int32_t *n) {
    *n = 0;
    if (*v++ != '[') return 0;
    while (*v != ']') {
        char *end;
        long w = strtol(v, &end, 10);
        if (end == v || *n >= DGCN_CTL_MAX_DIMS || w < INT32_MIN || w > INT32_MAX) return 0;
        dims[(*n)++] = (int32_t)w;
        v = end;
        if (*v == ',') v++;
        else if (*v != ']') return 0;
    }
    return 1;
}

static int s_read_str(const char *v, char *s, size_t cap) {
    size_t n = 0;
    if (*v++ != '"') return 0;
    for (; *v && *v != '"'; v++) {
        char ch = *v;
        if (ch == '\\') {
            v++;
            if (*v == 'u') {
                unsigned u = 0;
                if (sscanf(v + 1, "%4x", &u) != 1) return 0;
                ch = (char)u;
                v += 4;
            } else if (*v) ch = *v;
            else return 0;
        }
        if (n + 1 >= cap) return 0;
        s[n++] = ch;
    }
    if (*v != '"') return 0;
    s[n] = '\0';
    return 1;
}

int dgcn_run_config_json_read(const char *text, const char *path, dgcn_ctl_config *c) {
    memset(c, 0, sizeof *c);
    const char *obj = strstr(text, "\"run_config\":{");
    if (!obj)
        return dgcn_error_set(DGCN_EINVAL, "%s: no run_config (a run directory of an older dgcn?)",
                              path);
    const char *v;
    int64_t i_;
    double r_;
#define S_R(name, kind, def, lo, hi, keep, path_, cli)                                             \
    if (!(v = s_value(obj, #name)) || !S_R_##kind(name))                                           \
        return dgcn_error_set(DGCN_EINVAL, "%s: run_config lacks %s or it is malformed", path,     \
                              #name);
#define S_R_INT(name) (s_read_i64(v, &i_) && (c->name = i_, c->name == i_))
#define S_R_I32 S_R_INT
#define S_R_I64 S_R_INT
#define S_R_ENUM S_R_INT
#define S_R_BOOL S_R_INT
#define S_R_U64(name) s_read_u64(v, &c->name)
#define S_R_F32(name) (s_read_real(v, &r_) && (c->name = (float)r_, 1))
#define S_R_F64(name) s_read_real(v, &c->name)
#define S_R_DIMS(name) s_read_dims(v, c->name, &c->n_##name)
#define S_R_STR(name) s_read_str(v, c->name, sizeof c->name)
    DGCN_RUN_CONFIG_FIELDS(S_R)
#undef S_R
#undef S_R_INT
#undef S_R_I32
#undef S_R_I64
#undef S_R_ENUM
#undef S_R_BOOL
#undef S_R_U64
#undef S_R_F32
#undef S_R_F64
#undef S_R_DIMS
#undef S_R_STR
    return DGCN_OK;
}

/* ---- the resume check ---- */

/* An enum value as its proto name and number: "OPTIMIZER_GT_ADAM (3)". */
static void s_enum_text(const char *field, int32_t v, char *buf, size_t cap) {
    const char *name = dgcn_ctl_config_enum_name(field, v);
    if (name) snprintf(buf, cap, "%s (%d)", name, (int)v);
    else snprintf(buf, cap, "%d", (int)v);
}

const char *dgcn_run_config_value_text(const dgcn_ctl_config *c, const char *name, char *buf,
                                       size_t cap) {
#define S_T(name_, kind, def, lo, hi, keep, path, cli)                                             \
    if (!strcmp(name, #name_)) {                                                                   \
        S_T_##kind(name_);                                                                         \
        return buf;                                                                                \
    }
#define S_T_INT(f) snprintf(buf, cap, "%lld", (long long)c->f)
#define S_T_I32 S_T_INT
#define S_T_I64 S_T_INT
#define S_T_ENUM(f) s_enum_text(#f, c->f, buf, cap)
#define S_T_BOOL S_T_INT
#define S_T_U64(f) snprintf(buf, cap, "%" PRIu64, c->f)
#define S_T_F32(f) dgcn_json_real_text(c->f, 1, buf, cap)
#define S_T_F64(f) dgcn_json_real_text(c->f, 0, buf, cap)
#define S_T_DIMS(f)                                                                                \
    do {                                                                                           \
        size_t at_ = 0;                                                                            \
        buf[0] = '\0';                                                                             \
        for (int32_t l_ = 0; l_ < c->n_##f && at_ < cap; l_++)                                     \
            at_ += (size_t)snprintf(buf + at_, cap - at_, "%s%d", l_ ? "," : "[", (int)c->f[l_]);  \
        if (at_ < cap) snprintf(buf + at_, cap - at_, "]");                                        \
    } while (0)
#define S_T_STR(f) snprintf(buf, cap, "\"%s\"", c->f)
    DGCN_RUN_CONFIG_FIELDS(S_T)
#undef S_T
#undef S_T_INT
#undef S_T_I32
#undef S_T_I64
#undef S_T_ENUM
#undef S_T_BOOL
#undef S_T_U64
#undef S_T_F32
#undef S_T_F64
#undef S_T_DIMS
#undef S_T_STR
    return NULL;
}

#define S_SAME_SCALAR(a, b, f) ((a)->f == (b)->f)
#define S_SAME_I32 S_SAME_SCALAR
#define S_SAME_I64 S_SAME_SCALAR
#define S_SAME_U64 S_SAME_SCALAR
#define S_SAME_F32 S_SAME_SCALAR
#define S_SAME_F64 S_SAME_SCALAR
#define S_SAME_ENUM S_SAME_SCALAR
#define S_SAME_BOOL S_SAME_SCALAR
#define S_SAME_DIMS(a, b, f)                                                                       \
    ((a)->n_##f == (b)->n_##f && !memcmp((a)->f, (b)->f, (size_t)(a)->n_##f * sizeof *(a)->f))
#define S_SAME_STR(a, b, f) (!strcmp((a)->f, (b)->f))
#define S_KEEP_KEEP 1
#define S_KEEP_FREE 0

int dgcn_run_config_resume_check(const dgcn_ctl_config *was, const dgcn_ctl_config *now,
                                 const char *path) {
    char a[DGCN_CTL_PLAN_MAX + 8], b[DGCN_CTL_PLAN_MAX + 8];
#define S_C(name, kind, def, lo, hi, keep, path_, cli)                                             \
    if (S_KEEP_##keep && !S_SAME_##kind(was, now, name))                                           \
        return dgcn_error_set(DGCN_EINVAL,                                                         \
                              "--resume: %s is %s in %s, not %s (a resumed run keeps its "         \
                              "hyper-parameters)",                                                 \
                              #name, dgcn_run_config_value_text(was, #name, a, sizeof a), path,    \
                              dgcn_run_config_value_text(now, #name, b, sizeof b));
    DGCN_RUN_CONFIG_FIELDS(S_C)
#undef S_C
    return DGCN_OK;
}

/* ---- the options of train and study ---- */

enum { S_SCOPE_BOTH = 0, S_SCOPE_TRAIN = 1 };

typedef struct s_opt {
    int scope;
    dgcn_arg arg;
} s_opt;

int dgcn_run_config_args(dgcn_train_opts *o, int which, dgcn_arg *table, int n, int cap) {
    const s_opt opts[] = {
#define DGCN_RC_CLI(scope, option, member, kind, lo, hi, help)                                     \
    {S_SCOPE_##scope, {option, DGCN_ARG_##kind, &o->member, help, lo, hi}},
#define DGCN_RC_NOCLI
#define S_O(name, kind, def, lo, hi, keep, path, cli) cli
        DGCN_RUN_CONFIG_FIELDS(S_O)
#undef S_O
#undef DGCN_RC_NOCLI
#undef DGCN_RC_CLI
            {S_SCOPE_BOTH,
             {"seeds", DGCN_ARG_INT, &o->seeds,
              "runs with seeds seed, seed+1, ... (study: per "
              "configuration)",
              1, 1e4}},
        {S_SCOPE_TRAIN,
         {"gossip-target", DGCN_ARG_DOUBLE, &o->gossip_target,
          "per-iteration contraction (SLEM^R, or 1/T_R(1/SLEM) with chebyshev) that "
          "--gossip-rounds 0 reaches",
          1e-12, 0.999999}},
        {S_SCOPE_TRAIN,
         {"gossip-max", DGCN_ARG_INT, &o->gossip_max,
          "the most rounds --gossip-rounds 0 chooses (the contraction then falls short of the "
          "target; the cool-down brings the copies together at the end)",
          1, 1024}},
        {S_SCOPE_TRAIN,
         {"wait-for-agents", DGCN_ARG_STRING, &o->wait_for_agents,
          "K,...|all: agents not started here but by hand (another host): the coordinator prints "
          "each one's `dgcn agent` command and waits for its hello (zmq; docs/running.md)",
          1, 0}},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (opts[i].scope == S_SCOPE_TRAIN && which != DGCN_RUN_CONFIG_ARGS_TRAIN) continue;
        assert(n + 1 < cap);
        table[n++] = opts[i].arg;
    }
    table[n] = (dgcn_arg)DGCN_ARGS_END;
    return n;
}
