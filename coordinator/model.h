/* coordinator/model.h: the trained model a run saves, RUNDIR/model, and centralized inference
 * with it.
 *
 * The file is a sealed file of kind "model" (core/checksum.h: header with the plan id, payload,
 * FNV-1a 64 checksum over both) whose payload is one protobuf Model (coordinator/model.proto;
 * docs/rundir.md, "model"): a format tag,
 * a version, the model's kind, layer widths and filter order, and the parameter vector theta in
 * nn/gcn.h's layout. dgcn train saves the mean of the agents' copies at the last report (the
 * consensus estimate; with consensus error e every copy is within e ||mean|| of it). Reading checks
 * everything before any use: a truncated or foreign file, an unknown version, widths out of range,
 * a parameter count that does not match the widths, a flipped bit anywhere (the file's checksum,
 * and the parameters' own) or a file that predates checksums are DGCN_EIO / DGCN_EFORMAT /
 * DGCN_EINVAL naming the file. A header whose length does not match the file's size is refused
 * before anything proportional to it is read. */
#ifndef DGCN_COORDINATOR_MODEL_H
#define DGCN_COORDINATOR_MODEL_H

#include "graph/csr.h"
#include "graph/dataset.h"
#include "nn/gcn.h"

#include <stdint.h>

#define DGCN_MODEL_FILE_VERSION 1
#define DGCN_MODEL_MAX_BYTES (INT64_C(1) << 34) /* a model file's payload at most */

typedef struct dgcn_model_file {
    dgcn_model_config model; /* kind, n_layers, dims, order (dropout and weight decay 0) */
    int64_t n_params;        /* dgcn_model_n_params(&model) */
    float *theta;            /* (n_params) owned */
    int32_t agents;          /* copies averaged into theta */
    int64_t iterations;      /* training iterations behind theta */
    uint64_t seed;           /* the run's training seed */
    char plan_id[32];        /* the run plan's id (hex), or "" */
} dgcn_model_file;

/* Writes m to dir/name all or nothing (temporary name, fsync, rename: coordinator/rundir.h);
 * DGCN_EIO names the file when a write fails. */
int dgcn_model_file_write(const char *dir, const char *name, const dgcn_model_file *m);

/* Reads path into *m (which then owns theta; release with dgcn_model_file_fini). On error *m is
 * empty and the message names path and what is wrong. */
int dgcn_model_file_read(const char *path, dgcn_model_file *m);
void dgcn_model_file_fini(dgcn_model_file *m);

/* Centralized inference of m on the whole graph of ds (preprocessed) with A_hat a_hat: one forward
 * without dropout. ev receives the per-split sums; pred (n, may be NULL) the argmax class of every
 * node. DGCN_EINVAL names both shapes when the model's widths do not fit the data's features and
 * classes. */
int dgcn_model_file_predict(const dgcn_model_file *m, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                            int32_t *pred /* (n) */, dgcn_eval *ev);

#endif
