/* comm/control.h: the coordinator protocol as plain C structs, packed to and from bytes.
 *
 * The bytes travel through dgcn_transport_send_coord / dgcn_hub_send; the wire format is
 * comm/control.proto (one ControlEnvelope per message). Unpacking checks the size first
 * (DGCN_COORD_MAX_BYTES) and rejects anything protobuf-c cannot parse with DGCN_EPROTO. */
#ifndef DGCN_COMM_CONTROL_H
#define DGCN_COMM_CONTROL_H

#include "comm/run_config.h"
#include "comm/transport.h"

#include <stddef.h>
#include <stdint.h>

#define DGCN_SPLITS 3 /* train, val, test */

typedef enum dgcn_ctl_kind {
    DGCN_CTL_NONE = 0,
    DGCN_CTL_HELLO,
    DGCN_CTL_SETUP,
    DGCN_CTL_REPORT,
    DGCN_CTL_CONTROL,
    DGCN_CTL_ERROR,
    DGCN_CTL_STATE
} dgcn_ctl_kind;

typedef enum dgcn_ctl_cmd {
    DGCN_CMD_NONE = 0,
    DGCN_CMD_START = 1,
    DGCN_CMD_STOP = 2,
    DGCN_CMD_ABORT = 3,
    DGCN_CMD_HEARTBEAT = 4
} dgcn_ctl_cmd;

typedef struct dgcn_ctl_hello {
    uint64_t run_id;
    int32_t agent;
    char *endpoint; /* mesh endpoint the agent bound, or NULL */
} dgcn_ctl_hello;

/* RunConfig enums (comm/config.proto), as on the wire. */
enum { DGCN_CTL_MODE_VERIFY = 0, DGCN_CTL_MODE_TRAIN = 1 };
enum { DGCN_CTL_MODEL_GCN = 0, DGCN_CTL_MODEL_MLP = 1, DGCN_CTL_MODEL_FILTER = 2 };
enum { DGCN_CTL_TASK_CLASSIFICATION = 0, DGCN_CTL_TASK_REGRESSION = 1 };
enum {
    DGCN_CTL_OPT_DGD = 0,
    DGCN_CTL_OPT_DGD_ATC = 1,
    DGCN_CTL_OPT_GT = 2,
    DGCN_CTL_OPT_GT_ADAM = 3,
    DGCN_CTL_OPT_ED = 4
};
enum { DGCN_CTL_ACCEL_NONE = 0, DGCN_CTL_ACCEL_CHEBYSHEV = 1 };
enum {
    DGCN_CTL_COMPRESS_NONE = 0,
    DGCN_CTL_COMPRESS_TOPK = 1,
    DGCN_CTL_COMPRESS_RANDK = 2,
    DGCN_CTL_COMPRESS_QUANT = 3
};

/* dgcn_ctl_config, DGCN_CTL_MAX_DIMS and DGCN_CTL_PLAN_MAX: comm/run_config.h. */

#define DGCN_CTL_STATE_COUNTERS 2 /* optimizer counters a State carries */

/* One agent's complete training state at an iteration boundary (docs/rundir.md, "checkpoint/"):
 * what the next iteration reads. Agent -> coordinator at a checkpoint; coordinator -> agent inside
 * Setup on resume. */
typedef struct dgcn_ctl_state {
    uint64_t run_id;
    int32_t agent;
    int64_t iter;     /* the next iteration to run */
    int64_t n_params; /* P: vec starts with theta_k */
    int64_t n_vec;
    float *vec;                                /* [n_vec] theta_k, then the optimizer's vectors */
    int64_t counters[DGCN_CTL_STATE_COUNTERS]; /* the optimizer's counters */
    dgcn_traffic traffic;                      /* the transport's totals so far */
    uint64_t relayed[DGCN_CH_COUNT];           /* of traffic.bytes, forwarded for others */
    uint64_t halo_raw[DGCN_CH_COUNT]; /* float32 bytes of the halo rows sent compressed (0: none) */
} dgcn_ctl_state;

typedef struct dgcn_ctl_setup {
    uint64_t run_id;
    int32_t agent;
    int32_t n_agents;
    int32_t n_neighbors;
    int32_t *neighbors;        /* [n_neighbors] increasing agent ids */
    double *mixing;            /* [n_neighbors + 1]: self weight, then one per neighbour */
    char **neighbor_endpoints; /* [n_neighbors] or NULL */
    dgcn_ctl_config config;    /* by value */
    uint8_t *shard;            /* [shard_len] bytes, or NULL */
    size_t shard_len;
    char *endpoint;         /* where this agent binds, or NULL */
    dgcn_ctl_state *state;  /* resume: the state to continue from, or NULL */
    int32_t n_schedule;     /* phases of the schedule (0: none) */
    double *schedule;       /* [n_schedule * (n_neighbors + 1)] one mixing row per phase, or NULL */
    int32_t schedule_every; /* iterations per phase */
} dgcn_ctl_setup;

#define DGCN_CTL_LOST_MAX 16 /* lost neighbours a report names */

typedef struct dgcn_ctl_report {
    uint64_t run_id;
    int32_t agent;
    int64_t iter;
    double loss_sum[DGCN_SPLITS]; /* summed cross-entropy per split (regression: squared error) */
    double abs_sum[DGCN_SPLITS];  /* regression: summed absolute error per split (0 otherwise) */
    int64_t correct[DGCN_SPLITS]; /* correctly classified nodes per split */
    int64_t count[DGCN_SPLITS];   /* labelled nodes per split (regression: target values) */
    int64_t n_params;
    float *params;                   /* [n_params] or NULL (optional) */
    dgcn_traffic traffic;            /* per channel */
    uint64_t relayed[DGCN_CH_COUNT]; /* of traffic.bytes, bytes forwarded for others (relay) */
    uint64_t link_failures[DGCN_CH_COUNT]; /* messages not sent for failed links (agent/links.h) */
    uint64_t halo_raw[DGCN_CH_COUNT]; /* float32 bytes of the halo rows sent compressed (0: none) */
    /* neighbours this agent found gone (comm/transport.h, watch_loss): the first
     * DGCN_CTL_LOST_MAX, so the coordinator drops an agent that stalled (docs/agent.md) */
    int32_t n_lost;
    int32_t lost[DGCN_CTL_LOST_MAX];
    int32_t n_phases;
    double *phase_ms; /* [n_phases] milliseconds per phase */
} dgcn_ctl_report;

typedef struct dgcn_ctl_control {
    int32_t cmd; /* dgcn_ctl_cmd */
    int64_t iter;
} dgcn_ctl_control;

typedef struct dgcn_ctl_error {
    int32_t agent;
    int64_t iter;
    int32_t code; /* dgcn_err */
    char *message;
    int32_t n_waiting_for;
    int32_t *waiting_for; /* [n_waiting_for] neighbours a timed-out exchange waited for, or NULL */
    int32_t waited_ms;    /* how long it waited, ms */
} dgcn_ctl_error;

/* One coordinator-protocol message. Pointers are owned by whoever filled it: the caller for pack,
 * the message for unpack (release with dgcn_ctl_msg_fini). */
typedef struct dgcn_ctl_msg {
    int kind; /* dgcn_ctl_kind */
    union {
        dgcn_ctl_hello hello;
        dgcn_ctl_setup setup;
        dgcn_ctl_report report;
        dgcn_ctl_control control;
        dgcn_ctl_error error;
        dgcn_ctl_state state;
    } u;
} dgcn_ctl_msg;

/* Packs m into *buf (malloc'd, caller frees) of *len bytes. DGCN_EINVAL for an unknown kind,
 * inconsistent counts (a setup's config.n_dims outside 1..DGCN_CTL_MAX_DIMS, an unterminated
 * config.plan) or a result over DGCN_COORD_MAX_BYTES. */
int dgcn_ctl_pack(const dgcn_ctl_msg *m, void **buf, size_t *len);

/* Unpacks len bytes into *m (which then owns its arrays; dgcn_ctl_msg_fini releases them).
 * DGCN_EPROTO for an oversized, malformed or empty message, and for a setup whose config is
 * absent, lacks a field (the message names it), carries a field number RunConfig does not have
 * (named), more than DGCN_CTL_MAX_DIMS widths or a plan path too long. On error *m is empty. */
int dgcn_ctl_unpack(const void *buf, size_t len, dgcn_ctl_msg *m);

/* Frees what dgcn_ctl_unpack allocated and zeroes *m; accepts an empty message. */
void dgcn_ctl_msg_fini(dgcn_ctl_msg *m);

/* The name comm/config.proto gives value v of RunConfig's enum field `field` ("OPTIMIZER_GT"), or
 * NULL when field is no enum field or v none of its values. */
const char *dgcn_ctl_config_enum_name(const char *field, int v);

/* "hello", "setup", "report", "control", "error", "state" or "none". */
const char *dgcn_ctl_kind_name(int kind);

#endif
