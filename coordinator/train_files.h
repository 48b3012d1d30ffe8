/* coordinator/train_files.h: the files of a training run's directory that describe the run
 * (docs/rundir.md): config.json (the run as resolved, with its run configuration), the check that
 * a resumed run keeps config.json's hyper-parameters, and summary.json (the run's figures). The
 * per-interval files are the gatherer's (coordinator/gather.h), the checkpoints the store's
 * (coordinator/ckpt.h). */
#ifndef DGCN_COORDINATOR_TRAIN_FILES_H
#define DGCN_COORDINATOR_TRAIN_FILES_H

#include "comm/run_config.h"
#include "coordinator/train_types.h"

/* Writes o->out/config.json: the options o (resolved) over dataset ds and plan p, then cfg's run
 * configuration (the first seed's) from the table. DGCN_EIO names the file. */
int dgcn_train_files_config_write(const dgcn_train_opts *o, const dgcn_dataset *ds,
                                  const dgcn_plan *p, const dgcn_run_config *cfg);

/* --resume: DGCN_OK when cfg keeps the hyper-parameters of out/config.json, else DGCN_EINVAL naming
 * the first one that changed (coordinator/run_config.h). */
int dgcn_train_files_config_check(const char *out, const dgcn_run_config *cfg);

/* Writes o->out/summary.json all or nothing: r's figures (accuracy, or MSE and MAE when
 * regression), the run's shape (o resolved, m agents, np parameters) and each seed's test figure
 * per_seed[0..o->seeds). */
int dgcn_train_files_summary_write(const dgcn_train_opts *o, int32_t m, int64_t np, int regression,
                                   const dgcn_train_result *r, const double *per_seed);

#endif
