/* coordinator/data_source.h: where a command's graph comes from: a dataset folder (--data DIR) or
 * the embedded default, a generated contextual SBM (generator options). Shared by every command
 * that trains, so they all accept the same options and preprocess the same way.
 *
 * A folder holding a .npz is a traffic folder (docs/traffic.md: one .npz with member data, one
 * from,to,cost .csv; a GENERATED file marks generated series): the task is regression on graph
 * signals, and the dataset carries the series' samples (graph/dataset.h) of DGCN_DATA_LAGS lags. */
#ifndef DGCN_COORDINATOR_DATA_SOURCE_H
#define DGCN_COORDINATOR_DATA_SOURCE_H

#include "coordinator/args.h"
#include "graph/dataset.h"
#include "graph/generate.h"

typedef struct dgcn_data_source {
    const char *dir; /* dataset folder, or NULL for the generated graph */
    int nodes, classes, features, feature_nnz, train_per_class, val, test;
    double degree, homophily, signal;
    uint64_t gen_seed;
    int raw_counts; /* keep count features as counts (default: binarize them) */
} dgcn_data_source;

/* The option-table rows of the generator's parameters, except its seed, for a dgcn_data_source *s.
 * `dgcn generate` uses them too, so both accept the same names and ranges. */
#define DGCN_CSBM_ARGS(s)                                                                          \
    {"nodes", DGCN_ARG_INT, &(s)->nodes, "generated graph: nodes", 2, 1e8},                        \
        {"classes", DGCN_ARG_INT, &(s)->classes, "generated graph: classes", 2, 1000},             \
        {"degree", DGCN_ARG_DOUBLE, &(s)->degree, "generated graph: average degree", 0.1, 1e4},    \
        {"homophily",                                                                              \
         DGCN_ARG_DOUBLE,                                                                          \
         &(s)->homophily,                                                                          \
         "generated graph: fraction of intra-class edges",                                         \
         0,                                                                                        \
         1},                                                                                       \
        {"features", DGCN_ARG_INT, &(s)->features, "generated graph: feature dimension", 1, 1e7},  \
        {"feature-nnz",                                                                            \
         DGCN_ARG_INT,                                                                             \
         &(s)->feature_nnz,                                                                        \
         "generated graph: active features per node",                                              \
         1,                                                                                        \
         1e6},                                                                                     \
        {"signal",                                                                                 \
         DGCN_ARG_DOUBLE,                                                                          \
         &(s)->signal,                                                                             \
         "generated graph: fraction of class-block features",                                      \
         0,                                                                                        \
         1},                                                                                       \
        {"train-per-class",                                                                        \
         DGCN_ARG_INT,                                                                             \
         &(s)->train_per_class,                                                                    \
         "generated graph: training nodes per class",                                              \
         1,                                                                                        \
         1e6},                                                                                     \
        {"val", DGCN_ARG_INT, &(s)->val, "generated graph: validation nodes", 0, 1e8}, {           \
        "test", DGCN_ARG_INT, &(s)->test, "generated graph: test nodes", 0, 1e8                    \
    }

/* The option-table rows for a dgcn_data_source *s (put them inside a dgcn_arg table). */
#define DGCN_DATA_SOURCE_ARGS(s)                                                                   \
    {"data",    DGCN_ARG_STRING,                                                                   \
     &(s)->dir, "dataset folder (format: docs/datasets.md); default: a generated graph",           \
     1,         0},                                                                                \
        DGCN_CSBM_ARGS(s),                                                                         \
        {"gen-seed", DGCN_ARG_U64, &(s)->gen_seed, "generated graph: seed", 1, 0}, {               \
        "raw-counts", DGCN_ARG_FLAG, &(s)->raw_counts,                                             \
            "keep count features as counts instead of binarizing", 1, 0                            \
    }

#define DGCN_DATA_LAGS 12 /* input steps of a traffic sample */

void dgcn_data_source_defaults(dgcn_data_source *s);

/* 1 when s names a traffic folder (regression), else 0. */
int dgcn_data_source_is_series(const dgcn_data_source *s);

/* The generator's parameters as set in s (used when s->dir is NULL). */
dgcn_csbm_params dgcn_data_source_csbm(const dgcn_data_source *s);

/* Loads (or generates) the dataset, preprocesses its features and builds A_hat; a traffic folder
 * gives the sensor graph with ds->samples set and *generated (may be NULL) = 1 when it holds
 * generated series. On failure both outputs are safe to fini and dgcn_error_msg() says what went
 * wrong. */
int dgcn_data_source_open(const dgcn_data_source *s, dgcn_dataset *ds, dgcn_csr *a_hat);
int dgcn_data_source_open_series(const dgcn_data_source *s, dgcn_dataset *ds, dgcn_csr *a_hat,
                                 int *generated);

/* A short description for logs and config files: the folder, or "csbm(n=...,c=...,seed=...)". */
void dgcn_data_source_describe(const dgcn_data_source *s, char *buf, size_t cap);

#endif
