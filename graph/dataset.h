/* graph/dataset.h: a node-classification dataset (graph, features, labels, split).
 *
 * The folder format is ../shared/data/README.md: meta.txt, labels.txt, features.txt (optional),
 * edges.txt, train.txt, val.txt, test.txt. Loading validates strictly: every violation is a
 * DGCN_EFORMAT (or DGCN_EIO for a missing file) whose dgcn_error_msg() names the file, the line and
 * what was expected. Nothing is accepted silently. */
#ifndef DGCN_GRAPH_DATASET_H
#define DGCN_GRAPH_DATASET_H

#include "graph/csr.h"
#include "graph/traffic.h"

#include <stdint.h>

enum dgcn_split {
    DGCN_SPLIT_NONE = 0,
    DGCN_SPLIT_TRAIN = 1,
    DGCN_SPLIT_VAL = 2,
    DGCN_SPLIT_TEST = 3
};

typedef struct dgcn_dataset {
    char name[64];
    int32_t n;          /* nodes */
    int32_t d;          /* feature dimension */
    int32_t c;          /* classes */
    int64_t n_edges;    /* undirected edges (each counted once) */
    int has_features;   /* 0 when the folder has no features.txt */
    int count_features; /* 1 when meta.txt says feature_values count */
    dgcn_csr adj;       /* (n, n) symmetric A, no self-loops, values 1 */
    dgcn_csr x;         /* (n, d) features; raw as loaded until dgcn_dataset_preprocess */
    int32_t *label;     /* (n) class in [0, c), or -1 for no label */
    uint8_t *split;     /* (n) enum dgcn_split */
    int32_t n_train, n_val, n_test;
    /* Regression on graph signals (a traffic folder, coordinator/data_source.h): the z-scored
     * series windows of the n sensors (owned), or NULL for classification; then d = lags, c = 1,
     * x has no entries, every label is -1 and the split is the samples' (in time order). */
    dgcn_traffic_samples *samples;
} dgcn_dataset;

/* Loads and validates the dataset folder dir. On failure ds is safe to fini. */
int dgcn_dataset_load(dgcn_dataset *ds, const char *dir);

/* Writes ds to dir (created if missing) in the same folder format, meta.txt included. */
int dgcn_dataset_write(const dgcn_dataset *ds, const char *dir);

/* Standard preprocessing: binarize count features when binarize != 0, then row-normalize.
 * When the dataset has no features, replaces x with seeded synthetic features: d columns, each
 * row a noisy one-hot of a class-dependent pattern (documented in dgcn_dataset_synth_features),
 * with d = ds->d (500 when 0) and seed 1; has_features stays 0 to record that they are synthetic. */
int dgcn_dataset_preprocess(dgcn_dataset *ds, int binarize);

/* Fills x (n, d) with synthetic sparse features for a graph-only dataset: node i gets k = 8 random
 * active columns, half drawn from a block of d/c columns owned by its class and half uniformly
 * (unlabelled nodes: uniformly), values 1; seeded. Replaces any x present. */
int dgcn_dataset_synth_features(dgcn_dataset *ds, int32_t d, uint64_t seed);

void dgcn_dataset_fini(dgcn_dataset *ds);

#endif
