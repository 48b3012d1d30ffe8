/* coordinator/train_int.h: what the training library's files share (not public). The regression
 * task's part of a run lives in coordinator/train_regression.c. */
#ifndef DGCN_COORDINATOR_TRAIN_INT_H
#define DGCN_COORDINATOR_TRAIN_INT_H

#include "coordinator/rundir.h"
#include "coordinator/train.h"
#include "graph/dataset.h"
#include "nn/gcn.h"

/* Regression (ds->samples): resolves the options the folder decides (train.h: iters 0, eval_every
 * 0, lr_decay -F); DGCN_EINVAL for a batch larger than the training samples. Classification:
 * nothing. */
int dgcn__train_resolve(dgcn_train_opts *o, const dgcn_dataset *ds);

/* The run's model, as every agent and the centralized twin configure it. */
dgcn_model_config dgcn__train_model(const dgcn_train_opts *o, const dgcn_dataset *ds);

/* The step schedule of the agents' optimizer and of the regression twin. */
dgcn_step_schedule dgcn__train_steps(const dgcn_train_opts *o);

/* The centralized regression twin of seed `seed` (coordinator/baseline.h): same model, initial
 * weights, batches and step schedule as the agents. mse and mae per split; *ms the median step. */
int dgcn__train_central_regression(const dgcn_train_opts *o, const dgcn_dataset *ds,
                                   const dgcn_csr *a_hat, uint64_t seed, double mse[3],
                                   double mae[3], double *ms);

/* Regression: the result's MSE and MAE figures from the seeds' test MSE (dist, central) and MAE
 * (mae: agents, then the twin), and the accuracy figures NaN; classification: the regression
 * figures NaN. */
void dgcn__train_regression_figures(dgcn_train_result *r, int regression, int baselines,
                                    const double *dist, const double *central, const double *mae,
                                    int seeds);
/* The result line of a regression run. */
void dgcn__train_regression_log(FILE *log, const dgcn_train_result *r, int seeds, int baselines);

#endif
