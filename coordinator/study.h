/* coordinator/study.h: the sparse-connectivity study, many training runs compared in one table.
 *
 * A study runs `dgcn train` once per (topology, removal fraction) configuration. Each topology
 * spec is built over the same partition as train's (same method and seed): "required" (the agent
 * pairs that share data edges), "designed" (the paper's ADMM design on the required links), a
 * family of topologies/generate.h ("ring", "er:0.3", ...), or a union of these written with '+'
 * ("required+ring"). A fraction f of its links is then removed at random, keeping the graph
 * connected (dgcn_topo_remove_links, redrawing first and keeping a spanning tree when redrawing
 * fails); a configuration whose removal cannot stay connected is reported as such and not trained.
 * The resulting graph goes to train as an edge-list file (--topology file:PATH) with the study's
 * cross-edge policy: drop (default: the data edges between agents that lost their link are
 * dropped), relay (their rows are forwarded along shortest paths, the model unchanged) or keep
 * (the required links are added back).
 *
 * With several optimizers (a comma-separated --optimizer) every configuration is trained with
 * each, so methods and topologies can be compared at equal communication; with --link-failures
 * LIST, with each link failure probability (agent/links.h); with --agent-loss K[:ITER], also with
 * K agents (drawn from each seed) killed by the coordinator as soon as their report of iteration
 * ITER or later arrives (--on-agent-loss continue, zmq: their neighbours drop them, the accuracy
 * is the remaining nodes'). A schedule of graphs
 * (topologies/schedule.h: one-peer-exponential, matching, schedule:N:FILES) goes to train as its
 * spec, not as a file of its union, and takes no removal (rows with a removal > 0 are skipped).
 *
 * Output folder: study.tsv and study.md (the table), config.json, topologies/<config>.edges,
 * runs/<config>/ (train's run directories, with train.log), plots/ (accuracy vs removal per
 * topology and consensus error vs iteration per configuration, side by side in study.png;
 * curves.tsv with every trained configuration's seed-mean figures per report against the bytes
 * sent so far, and acc_vs_bytes.png, consensus_vs_bytes.png drawn from it). */
#ifndef DGCN_COORDINATOR_STUDY_H
#define DGCN_COORDINATOR_STUDY_H

#include "coordinator/data_source.h"
#include "coordinator/observe.h"
#include "coordinator/train_types.h"

#include <stdint.h>

typedef struct dgcn_study_opts {
    dgcn_data_source src;
    const char *program;    /* the dgcn executable agent processes run (zmq); NULL: this one */
    int agents;             /* M [10] */
    const char *partition;  /* bfs|metis|random|block [bfs] */
    const char *topologies; /* comma-separated specs [required,designed,complete,ring,line] */
    const char *removals;   /* comma-separated fractions in [0, 1) [0,0.25,0.5,0.75] */
    const char *failures;   /* comma-separated link failure probabilities in [0, 1), every
                             * configuration trained with each (--link-failure; agent/links.h);
                             * NULL: run.link_failure alone [NULL] */
    const char *agent_loss; /* "K[:ITER]": every configuration trained also with K agents killed
                             * once they report iteration ITER (default half the run), with
                             * --on-agent-loss continue; needs transport zmq [NULL] */
    const char *weights; /* mixing rule for non-designed topologies [mh]; designed ones: fastest */
    /* Every run's options as train takes them (coordinator/train_types.h), train's defaults but
     * one exchange per iteration (gossip_rounds 1); run.optimizer may be a comma-separated list
     * (every configuration is trained with each), run.plan.seed seeds the plan, the removal draws
     * and the first training seed. The plan's other fields come from the options below. */
    dgcn_train_opts run;
    const char *transport;   /* zmq|mpi|inproc [inproc] */
    double tolerance;        /* relative margin over the centralized training loss [0.01] */
    int timeout_s;           /* bound on one configuration's training, seconds [3600] */
    const char *out;         /* study folder (created) */
    int force;               /* clear a non-empty study folder out first (dgcn_rundir_prepare) */
    int progress;            /* one line per configuration on stdout [1] */
    const char *cross_edges; /* policy for required links the graph lacks: drop|relay|keep
                              * (coordinator/plan.h) [drop] */
} dgcn_study_opts;

void dgcn_study_defaults(dgcn_study_opts *o);

/* Status of one configuration. */
typedef enum dgcn_study_status {
    DGCN_STUDY_OK = 0,           /* trained */
    DGCN_STUDY_DISCONNECTED = 1, /* no connected graph with that many links removed; not trained */
    DGCN_STUDY_FAILED = 2,       /* train failed (see runs/<config>/train.log) */
    DGCN_STUDY_SKIPPED = 3 /* a schedule (topologies/schedule.h) with a removal: not trained */
} dgcn_study_status;

typedef struct dgcn_study_row {
    char optimizer[16];    /* dgd|dgd-atc|gt|gt-adam */
    char topology[128];    /* the spec */
    double removal;        /* fraction of its links removed */
    double link_failure;   /* probability a link's message is lost in one exchange */
    int32_t agents_killed; /* agents killed on purpose (--agent-loss), 0: none */
    int64_t kill_iter;     /* at their report of this iteration or later */
    int32_t agents_lost;   /* agents the run lost (its last seed), as train's summary */
    char name[192];        /* folder-safe configuration name (with several optimizers, the optimizer
                         * first: "dgd_ring_r0") */
    dgcn_study_status status;
    int64_t links;                      /* after removal */
    int64_t links_possible;             /* M(M-1)/2 */
    int effectively_centralized;        /* train's flag (dgcn_observe_centralized) */
    double bytes_total;                 /* every byte the agents sent, one seed's run (mean) */
    double gap;                         /* spectral gap of the mixing matrix (1 - SLEM) */
    double test_acc_mean, test_acc_std; /* over seeds, in [0, 1] */
    int64_t iters_to_central; /* first reported iteration with the seeds' mean training loss within
                                 tolerance of the centralized one; -1 when never */
    double consensus_error;   /* final, mean over seeds */
    double bytes_per_iter;    /* halo + parameter bytes of all agents per iteration */
    double bytes_direct, bytes_relayed, bytes_params; /* its parts per iteration (train.h) */
    int32_t hops;       /* rounds per halo exchange (relay: the diameter over the required
                               * pairs; else 1) */
    double ms_per_iter; /* median */
    dgcn_curve curve;   /* per evaluated iteration: training loss, consensus error, bytes so far,
                       * validation and test accuracy, seed means (owned) */
} dgcn_study_row;

typedef struct dgcn_study_result {
    int n_rows;
    dgcn_study_row *rows;      /* [n_rows], topology-major in the order given */
    double central_train_loss; /* centralized GCN's final training loss (no dropout), seed mean */
    double central_test_acc_mean, central_test_acc_std;
    int n_failed; /* rows with DGCN_STUDY_FAILED */
} dgcn_study_result;

void dgcn_study_result_fini(dgcn_study_result *r);

/* Splits a comma-separated topology list into *specs (malloc'ed array of malloc'ed strings the
 * caller frees with dgcn_study_list_free) after checking every spec over m agents; DGCN_EINVAL
 * names the bad item (empty item, unknown family, malformed parameter, repeated spec). */
int dgcn_study_parse_topologies(const char *list, int32_t m, char ***specs, int *n);
void dgcn_study_list_free(char **specs, int n);
/* Splits a comma-separated optimizer list into *names (as dgcn_study_parse_topologies); DGCN_EINVAL
 * names an unknown or repeated item. */
int dgcn_study_parse_optimizers(const char *list, char ***names, int *n);
/* Parses a comma-separated list of removal fractions in [0, 1) into *fr (malloc'ed); DGCN_EINVAL
 * names the bad item (not a number, out of range, repeated). */
int dgcn_study_parse_removals(const char *list, double **fr, int *n);
/* The same for a list of fractions in [0, 1) given with option `option` (named in errors). */
int dgcn_study_parse_fractions(const char *list, const char *option, double **fr, int *n);
/* Parses --agent-loss "K[:ITER]" for m agents and iters iterations: 1 <= K < m, 1 <= ITER <=
 * iters (default iters / 2, at least 1); DGCN_EINVAL names the bad value. */
int dgcn_study_parse_agent_loss(const char *s, int32_t m, int64_t iters, int32_t *k, int64_t *iter);

/* Runs the whole study (see above). Returns DGCN_OK when every configuration either trained or was
 * reported disconnected; a failed training run is counted in r->n_failed and the study goes on.
 * Errors before any training (bad lists, data, output folder) return their code. */
int dgcn_study_run(const dgcn_study_opts *o, dgcn_study_result *r);

#endif
