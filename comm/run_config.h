/* comm/run_config.h: the run configuration's schema, one row per RunConfig field.
 *
 * Every form of the run configuration is expanded from this table: the wire struct
 * dgcn_ctl_config and its pack/unpack (comm/control.c), the agent's dgcn_run_config defaults,
 * conversion and range checks (agent/run_config.c), config.json and the resume check
 * (coordinator/run_config.c), and the command-line options of train and study with their help
 * (the same file). comm/config.proto stays the wire contract: a row's name is its proto field
 * (tests/test_comm.c checks both ways through the protobuf-c descriptor). Adding a field is one
 * line here and one in comm/config.proto (docs/running.md, "Adding a run-configuration field").
 *
 * X(name, kind, def, lo, hi, keep, path, cli)
 *   name  proto field, dgcn_ctl_config member and config.json key
 *   kind  I32, I64, U64 (integers), F32, F64 (reals: NaN refused), BOOL (0 or 1), ENUM (an int32
 *         in [lo, hi]), DIMS (the layer widths) or STR (a path of DGCN_CTL_PLAN_MAX bytes)
 *   def   dgcn_run_config_defaults' value (DIMS: d, 16, c; STR: "")
 *   lo,hi the range an agent accepts, inclusive (I32, I64, ENUM, BOOL; F32 and F64 when lo < hi,
 *         e.g. 0, 0x1.fffffffffffffp-1 for [0, 1); a real is never NaN)
 *   keep  KEEP: a hyper-parameter that --resume must not change; FREE: may change on resume
 *   path  the dgcn_run_config member it sets (agent/run_config.h)
 *   cli   DGCN_RC_CLI(scope, option, member, arg kind, min, max, help): the command-line option
 *         that sets it, a member of dgcn_train_opts (coordinator/train.h), for train and study
 *         (scope BOTH) or train alone (TRAIN); DGCN_RC_NOCLI when no option sets it */
#ifndef DGCN_COMM_RUN_CONFIG_H
#define DGCN_COMM_RUN_CONFIG_H

#include <stdint.h>

/* clang-format off */
#define DGCN_RUN_CONFIG_FIELDS(X)                                                                  \
    X(mode, ENUM, 0, 0, 1, KEEP, mode, DGCN_RC_NOCLI)                                              \
    X(model, ENUM, 0, 0, 2, KEEP, model.kind, DGCN_RC_NOCLI)                                       \
    X(dims, DIMS, 0, 0, 0, KEEP, model, DGCN_RC_CLI(BOTH, "hidden", hidden, INT, 0, 1e6,           \
        "hidden width (regression: 0, one filter layer)"))                                         \
    X(dropout, F32, 0.0f, 0, 0, KEEP, model.dropout, DGCN_RC_CLI(BOTH, "dropout", dropout, DOUBLE, \
        0, 0.99, "dropout probability"))                                                           \
    X(weight_decay, F32, 5e-4f, 0, 0, KEEP, model.weight_decay, DGCN_RC_CLI(BOTH, "weight-decay", \
        weight_decay, DOUBLE, 0, 1, "L2 weight decay on the first layer (NELL: 1e-5, "             \
        "docs/datasets.md)"))                                                                      \
    X(optimizer, ENUM, 0, 0, 4, KEEP, consensus.kind, DGCN_RC_CLI(BOTH, "optimizer", optimizer,    \
        STRING, 1, 0, "dgd|dgd-atc|gt|gt-adam|ed"))                                                   \
    X(lr, F64, 0.1, 0, 0, KEEP, consensus.step.alpha0, DGCN_RC_CLI(BOTH, "lr", lr, DOUBLE, 0, 100, \
        "step size (0: 0.05 for gt-adam, 5 for the plain gradient methods)"))                      \
    X(lr_decay, F64, 0.0, 0, 0, KEEP, consensus.step.decay, DGCN_RC_CLI(BOTH, "lr-decay",         \
        lr_decay, DOUBLE, 0, 1e12, "step schedule lr / (1 + n / D)^P over iterations n "           \
        "(0: constant)"))                                                                          \
    X(lr_power, F64, 0.0, 0, 0, KEEP, consensus.step.power, DGCN_RC_CLI(BOTH, "lr-power",         \
        lr_power, DOUBLE, 0, 10, "exponent P of the step schedule"))                               \
    X(grad_scale, F64, 0.0, 0, 0, KEEP, consensus.grad_scale, DGCN_RC_NOCLI)                       \
    X(beta1, F64, 0.9, 0, 0, KEEP, consensus.beta1, DGCN_RC_NOCLI)                                 \
    X(beta2, F64, 0.999, 0, 0, KEEP, consensus.beta2, DGCN_RC_NOCLI)                               \
    X(eps, F64, 1e-8, 0, 0, KEEP, consensus.eps, DGCN_RC_NOCLI)                                    \
    X(iterations, I64, 1, 0, INT64_C(1) << 40, FREE, iterations, DGCN_RC_CLI(BOTH, "iters", iters, \
        INT, 1, 1e9, "training iterations (study: of every run)"))                                 \
    X(eval_every, I64, 1, 1, INT64_C(1) << 40, KEEP, eval_every, DGCN_RC_CLI(BOTH, "eval-every",   \
        eval_every, INT, 1, 1e9, "report interval in iterations"))                                 \
    X(final_mixing, I64, 0, 0, INT64_C(1) << 20, KEEP, final_mixing, DGCN_RC_CLI(TRAIN,            \
        "final-mixing", final_mixing, INT, 0, 1e6, "rounds of pure averaging after the last step " \
        "(the last report follows them)"))                                                         \
    X(init_seed, U64, 1, 0, 0, KEEP, init_seed, DGCN_RC_CLI(BOTH, "seed", plan.seed, U64, 1, 0,    \
        "first seed; also the plan's (partition, study: link removals)"))                          \
    X(dropout_seed, U64, 1, 0, 0, KEEP, dropout_seed, DGCN_RC_NOCLI)                               \
    X(training, BOOL, 0, 0, 1, KEEP, training, DGCN_RC_NOCLI)                                      \
    X(report_params, BOOL, 0, 0, 1, KEEP, report_params, DGCN_RC_NOCLI)                            \
    X(plan, STR, 0, 0, 0, FREE, plan, DGCN_RC_CLI(TRAIN, "shard-files", shard_files, FLAG, 1, 0,   \
        "agents read their shard from RUNDIR/plan (shared file system) instead of the set-up "     \
        "message"))                                                                                \
    X(order, I32, 1, 0, 8, KEEP, model.order, DGCN_RC_CLI(TRAIN, "order", order, INT, -1, 8,       \
        "graph filter of order K (0..8) instead of the GCN (-1); the centralized baseline too"))   \
    X(gossip_rounds, I32, 1, 1, 1024, KEEP, consensus.gossip_rounds, DGCN_RC_CLI(BOTH,            \
        "gossip-rounds", gossip_rounds, INT, 0, 1024, "params exchanges (gossip rounds) per "      \
        "training iteration; 0: the fewest R with contraction <= the gossip target"))                   \
    X(init_per_agent, BOOL, 0, 0, 1, KEEP, init_per_agent, DGCN_RC_CLI(BOTH, "init-per-agent",    \
        init_per_agent, FLAG, 1, 0, "every agent initializes theta from its own seed (default: "   \
        "one shared init)"))                                                                       \
    X(dropout_per_agent, BOOL, 0, 0, 1, KEEP, dropout_per_agent, DGCN_RC_CLI(BOTH,                \
        "dropout-per-agent", dropout_per_agent, FLAG, 1, 0, "every agent draws dropout masks "     \
        "from its own seed (default: one stream)"))                                                \
    X(checkpoint_every, I64, 0, 0, INT64_C(1) << 40, FREE, checkpoint_every, DGCN_RC_CLI(TRAIN,    \
        "checkpoint-every", checkpoint_every, INT, 0, 1e9, "write every agent's state to "         \
        "RUNDIR/checkpoint/ every N iterations (0: never; one seed)"))                             \
    X(gossip_accel, ENUM, 0, 0, 1, KEEP, consensus.gossip_accel, DGCN_RC_CLI(TRAIN, "gossip-accel", gossip_accel, STRING, 1, 0, "none|chebyshev: plain gossip rounds or Chebyshev-accelerated ones (rho = the plan's SLEM; default chebyshev)")) \
    X(gossip_rho, F64, 0.0, 0, 0x1.fffffffffffffp-1, KEEP, consensus.gossip_rho, DGCN_RC_NOCLI)   \
    X(lr_cooldown, F64, 0.0, 0, 1, KEEP, consensus.step.cooldown, DGCN_RC_CLI(BOTH, "lr-cooldown", lr_cooldown, DOUBLE, 0, 1, "fraction f of the iterations at the end over which the step falls to 0 as ((N - n) / (f N))^2 (0: none)")) \
    X(agree_rounds, I32, 0, 0, 1024, KEEP, agree_rounds, DGCN_RC_CLI(BOTH, "agree-rounds", agree_rounds, INT, -1, 1024, "averaging rounds of theta before the first step, bringing per-agent initializations together; -1: with --init-per-agent the fewest whose contraction is <= 1e-3, at most one per 4 iterations, else 0"))  \
    /* -- regression on graph signals (agent/run.h, docs/traffic.md) -- */                        \
    X(task, ENUM, 0, 0, 1, KEEP, task, DGCN_RC_NOCLI)                                              \
    X(batch, I32, 1, 1, 1 << 20, KEEP, batch, DGCN_RC_CLI(TRAIN, "batch", batch, INT, 1, 1 << 20,  \
        "regression: snapshots per mini-batch"))                                                   \
    X(batch_seed, U64, 1, 0, 0, KEEP, batch_seed, DGCN_RC_NOCLI)                                   \
    /* -- time-varying links (agent/links.h, docs/topologies.md "Link failures") -- */            \
    X(link_failure, F64, 0.0, 0, 0x1.fffffffffffffp-1, KEEP, link_failure, DGCN_RC_CLI(BOTH,      \
        "link-failure", link_failure, DOUBLE, 0, 0.99, "probability that a link's params message " \
        "(and, drawn apart, its halo message) is lost in one exchange, from the run's seed (0)"))  \
    X(halo_staleness, I32, 4, 0, 1 << 20, KEEP, halo_staleness, DGCN_RC_CLI(BOTH,                 \
        "halo-staleness", halo_staleness, INT, 0, 1 << 20, "with --link-failure: halo rows of a "  \
        "failed link are the last delivered ones, at most S iterations old (0: halos never fail)"))  \
    X(on_agent_loss, ENUM, 0, 0, 1, KEEP, on_agent_loss, DGCN_RC_CLI(TRAIN, "on-agent-loss",       \
        on_agent_loss, STRING, 1, 0, "abort|continue: a lost agent (its process gone) ends the "   \
        "run, or its neighbours drop it and the run goes on without its nodes (zmq)"))         \
    /* -- compressed gossip (nn/choco.h, docs/compression.md) -- */                              \
    X(compress_params, ENUM, 0, 0, 3, KEEP, compress.kind, DGCN_RC_CLI(BOTH, "compress-params",   \
        compress_params, STRING, 1, 0, "none|topk:F|randk:F|quant:B: params messages compressed " \
        "with error feedback (F the fraction of entries kept, B the bits per entry; plain gossip " \
        "rounds)"))                                                                                \
    X(compress_amount, F64, 0.0, 0, 16, KEEP, compress.amount, DGCN_RC_NOCLI)                     \
    X(compress_gamma, F64, 0.0, 0, 1, KEEP, compress.gamma, DGCN_RC_CLI(BOTH, "compress-gamma",   \
        compress_gamma, DOUBLE, 0, 1, "consensus step gamma of compressed gossip (0: min(1, 2F) "  \
        "for topk, F for randk, 1 for quant with B >= 3 bits, 0.4 with 2)"))                                                                \
    /* -- compressed halo rows (nn/halo_codec.h, docs/compression.md) -- */                       \
    X(compress_halo, ENUM, 0, 0, 5, KEEP, halo_codec, DGCN_RC_CLI(BOTH, "compress-halo",          \
        compress_halo, STRING, 1, 0, "off|16|8|4|2 (also bf16): halo rows (activations and "      \
        "gradients) sent as IEEE half (fp16), as int8 with a float scale per row, or as 4- or "    \
        "2-bit codes with a bf16 scale per row"))                                                  \
    X(halo_rounding, ENUM, 0, 0, 1, KEEP, halo_rounding, DGCN_RC_CLI(BOTH, "halo-rounding",       \
        halo_rounding, STRING, 1, 0, "nearest|stochastic: how --compress-halo 8, 4, 2 round"))      \
    X(halo_feedback, ENUM, 0, 0, 2, KEEP, halo_feedback, DGCN_RC_CLI(BOTH, "halo-feedback",       \
        halo_feedback, STRING, 1, 0, "none|grad|all: error feedback of the compressed halo rows "  \
        "of training steps: none, the gradient rows, or the activation rows too"))
/* clang-format on */

#define DGCN_CTL_MAX_DIMS 16   /* layer widths a config can carry */
#define DGCN_CTL_PLAN_MAX 1024 /* bytes of the plan path, NUL included */

/* The C type a kind is held in by dgcn_ctl_config. */
#define DGCN__RC_CTYPE_I32 int32_t
#define DGCN__RC_CTYPE_I64 int64_t
#define DGCN__RC_CTYPE_U64 uint64_t
#define DGCN__RC_CTYPE_F32 float
#define DGCN__RC_CTYPE_F64 double
#define DGCN__RC_CTYPE_BOOL int
#define DGCN__RC_CTYPE_ENUM int32_t

/* One dgcn_ctl_config member per row. */
#define DGCN__RC_MEMBER(name, kind, def, lo, hi, keep, path, cli) DGCN__RC_MEMBER_##kind(name)
#define DGCN__RC_MEMBER_I32(name) int32_t name;
#define DGCN__RC_MEMBER_I64(name) int64_t name;
#define DGCN__RC_MEMBER_U64(name) uint64_t name;
#define DGCN__RC_MEMBER_F32(name) float name;
#define DGCN__RC_MEMBER_F64(name) double name;
#define DGCN__RC_MEMBER_BOOL(name) int name;
#define DGCN__RC_MEMBER_ENUM(name) int32_t name;
#define DGCN__RC_MEMBER_DIMS(name)                                                                 \
    int32_t n_##name;                                                                              \
    int32_t name[DGCN_CTL_MAX_DIMS];
#define DGCN__RC_MEMBER_STR(name) char name[DGCN_CTL_PLAN_MAX];

/* The run configuration on the wire, one member per row above (meanings in docs/running.md;
 * DIMS rows are n_<name> widths in <name>[], STR rows NUL-terminated). Owns nothing: a plain
 * value, copied freely. Unpacking fills every member or fails; ranges are the receiver's to check
 * (dgcn_run_config_from_ctl). */
typedef struct dgcn_ctl_config {
    DGCN_RUN_CONFIG_FIELDS(DGCN__RC_MEMBER)
} dgcn_ctl_config;

/* The number of rows. */
#define DGCN__RC_ONE(name, kind, def, lo, hi, keep, path, cli) +1
enum { DGCN_RUN_CONFIG_N_FIELDS = 0 DGCN_RUN_CONFIG_FIELDS(DGCN__RC_ONE) };

#endif
