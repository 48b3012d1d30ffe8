/* graph/traffic.h: traffic series on a sensor graph (the paper's traffic experiment, PAPER.md).
 *
 * The standard PeMSD4 / PeMSD8 layout: a .npz archive whose member `data` is an array of shape
 * (T, N, F) (flow, occupancy, speed every 5 minutes), and a CSV `from,to,cost` of directed road
 * links between sensor ids 0..N-1 (treated as undirected). The reader accepts uncompressed
 * (stored) .npz members, as np.savez writes them, including their zip64 size fields, with dtype
 * little-endian float32/float64/int32/int64 in C order. Every error names the file and the problem
 * (and the line, for the CSV).
 *
 * dgcn_traffic_generate makes traffic-like series on a given sensor graph, so the experiment runs
 * where the real series are absent. They are NOT PeMS data: every output that uses them says so.
 *
 * Samples (dgcn_traffic_prepare): sample s has the past `lags` steps s .. s+lags-1 of feature 0 as
 * input and step s+lags as target; samples are split in time order 6:2:2 into train, validation and
 * test; the series is z-scored with the mean and standard deviation of the steps the training
 * samples cover. */
#ifndef DGCN_GRAPH_TRAFFIC_H
#define DGCN_GRAPH_TRAFFIC_H

#include "graph/csr.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dgcn_traffic_series {
    int32_t t, n, f; /* steps, sensors, features per step */
    float *data;     /* (t, n, f) */
    int generated;   /* 1: made by dgcn_traffic_generate, not measured */
} dgcn_traffic_series;

void dgcn_traffic_series_fini(dgcn_traffic_series *s);

/* Reads member `data` of the .npz at path (shape (T, N, F) or (T, N)). DGCN_EIO, DGCN_EFORMAT
 * naming the file and the problem (compressed member, no `data`, bad header, dtype, truncation). */
int dgcn_traffic_read_npz(dgcn_traffic_series *s, const char *path);
/* Writes s as an uncompressed .npz with the one member data.npy (float32, (T, N, F)). */
int dgcn_traffic_write_npz(const dgcn_traffic_series *s, const char *path);

/* Reads the from,to,cost CSV at path (a header line, then one link per line) into the symmetric
 * adjacency *adj of n sensors (values 1); n <= 0: the largest id + 1. Repeated links (either
 * direction) count once. DGCN_EFORMAT naming file:line for a malformed line, an id outside
 * [0, n) or a self-loop. */
int dgcn_traffic_read_graph(dgcn_csr *adj, const char *path, int32_t n);

/* The generator's parameters (fixed; dgcn_traffic_generator_params fills them). Per sensor i a base
 * base_i(t) = level_i x daily profile (night low, morning and evening peaks, phase +- 30 minutes) x
 * 0.75 on weekends, and a disturbance e_i that diffuses on the road graph, one random-walk step per
 * 5-minute step:
 *     e(t+1) = persistence ((1 - diffusion) e(t) + diffusion P e(t)) + innovation N(0, I)
 *              + incidents,                      P = D^-1 A (an isolated sensor: P e_i = e_i)
 *     flow_i(t) = max(0, base_i(t) + scale (amplitude e_i(t) + noise N(0, 1)))
 * No hop distance carries a weight of its own: a disturbance spreads as heat does, one hop per
 * step, fading by the persistence. The noise-free one-step predictor of e is the 1-hop operator
 * persistence ((1 - diffusion) I + diffusion P); docs/traffic.md says what that implies. */
typedef struct dgcn_traffic_gen_params {
    double diffusion;          /* a: share of e exchanged with the neighbours per step [0.5] */
    double persistence;        /* rho: decay of e per step [0.9] */
    double innovation;         /* standard deviation of the new disturbance per step [0.3] */
    double incidents_per_week; /* per sensor; each a drop of 2.5 to 4.5 in e [2] */
    double amplitude;          /* e's weight in the flow, times scale [0.25] */
    double noise;              /* measurement noise standard deviation, times scale [0.05] */
    double scale;              /* flow units of the disturbance terms [250] */
    int32_t burn_in;           /* steps of e run before step 0, not written [288] */
} dgcn_traffic_gen_params;

void dgcn_traffic_generator_params(dgcn_traffic_gen_params *g);
/* One line naming the process and its parameters, into buf (snprintf's return). */
int dgcn_traffic_generator_note(char *buf, size_t cap);

/* Generated series of t steps (5 minutes each) on the sensors of adj (N = adj->n_rows), F = 1 (a
 * flow-like quantity), from seed, by the process above. Deterministic in seed. */
int dgcn_traffic_generate(dgcn_traffic_series *s, const dgcn_csr *adj, int32_t t, uint64_t seed);

/* The z-scored samples of a series (see the banner). */
typedef struct dgcn_traffic_samples {
    int32_t n, lags;                /* sensors, input steps per sample */
    int32_t n_samples;              /* t - lags */
    int32_t n_train, n_val, n_test; /* samples of each split, in time order */
    double mean, std;               /* z-score of feature 0 from the training steps */
    float *z;                       /* (t, n) z-scored feature 0 */
} dgcn_traffic_samples;

/* DGCN_EINVAL when the series is too short for lags and a 6:2:2 split (at least 5 samples). */
int dgcn_traffic_prepare(dgcn_traffic_samples *p, const dgcn_traffic_series *s, int32_t lags);
void dgcn_traffic_samples_fini(dgcn_traffic_samples *p);

/* Fills x (n_rows, b, lags) and y (n_rows, b, 1) with samples first[0..b) for the sensors gid[r]. */
void dgcn_traffic_fill(const dgcn_traffic_samples *p, const int32_t *first /* (b) */, int32_t b,
                       const int32_t *gid /* (n_rows) */, int32_t n_rows, float *x, float *y);

/* The mini-batch schedule of a regression run, the same on every agent and centrally: epoch e
 * takes the n_train training samples in the order perm (a permutation of 0..n_train-1 shuffled
 * from (seed, e)), batch after batch of b; iteration i is batch i mod (n_train / b) of epoch
 * i / (n_train / b), and a partial last batch is skipped. */
void dgcn_traffic_epoch_order(uint64_t seed, int32_t epoch, int32_t n_train, int32_t *perm);

#endif
