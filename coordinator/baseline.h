/* coordinator/baseline.h: centralized training, the yardstick for every distributed run.
 *
 * Kipf and Welling's procedure: full-batch Adam on the training nodes; each epoch is one training
 * step (forward with dropout, backward, update) followed by an evaluation forward without dropout
 * that gives the validation loss and accuracy. Optional early stopping as in their code: stop after
 * epoch `patience` once the validation loss exceeds the mean of the previous `patience` ones.
 * Test accuracy is measured once, with the final weights.
 *
 * Regression (ds->samples set, graph/dataset.h): the same loop on mini-batches of graph signals,
 * the centralized twin of a regression run (agent/run.h): step n trains on batch n of the
 * schedule of graph/traffic.h (dgcn_traffic_epoch_order from batch_seed) with the step
 * lr / (1 + n / lr_decay)^lr_power, and the final weights are evaluated on every full batch of
 * each split: MSE and MAE per split. No early stopping. */
#ifndef DGCN_COORDINATOR_BASELINE_H
#define DGCN_COORDINATOR_BASELINE_H

#include "graph/dataset.h"
#include "nn/consensus.h"
#include "nn/gcn.h"

#include <stdio.h>

typedef struct dgcn_baseline_opts {
    dgcn_model_config model;
    int epochs;         /* 200 */
    double lr;          /* Adam step, 0.01 */
    int patience;       /* early-stopping window; 0 = off */
    uint64_t seed;      /* weights and dropout */
    FILE *metrics;      /* one JSON line per epoch, or NULL */
    int progress;       /* redraw a progress line on stderr */
    const char *label;  /* prefix of the progress line and the "model" field of metrics */
    double *curve_loss; /* (epochs) training loss per epoch, or NULL */
    double *curve_val;  /* (epochs) validation accuracy per epoch, or NULL */
    int reorder;        /* GCN: train on the nodes renumbered in reverse Cuthill-McKee order
                         * (graph/order.h; dropout keyed by the original ids, so only the
                         * summation order changes) [1] */
    /* -- regression: epochs counts mini-batch steps -- */
    int32_t batch;           /* snapshots per mini-batch [32] */
    uint64_t batch_seed;     /* the epochs' sample order [seed] */
    dgcn_step_schedule step; /* regression: the Adam step (alpha0 = lr) */
} dgcn_baseline_opts;

typedef struct dgcn_baseline_result {
    int epochs;                 /* epochs run */
    double train_loss;          /* last epoch's training loss (data term + weight decay) */
    double val_loss, val_acc;   /* with the final weights */
    double test_acc, train_acc; /* with the final weights */
    double train_xent;          /* final weights' training cross-entropy without dropout or weight
                                 * decay: the figure dgcn train reports for the agents */
    double ms_per_epoch_median; /* median wall time of an epoch (step + evaluation) */
    double mse[3], mae[3];      /* regression: per split (train, val, test), final weights */
} dgcn_baseline_result;

/* Kipf and Welling's defaults for ds. */
dgcn_baseline_opts dgcn_baseline_defaults(dgcn_model_kind kind, const dgcn_dataset *ds);

/* Trains one model from scratch on ds (preprocessed) with A_hat a_hat. */
int dgcn_baseline_run(const dgcn_dataset *ds, const dgcn_csr *a_hat, const dgcn_baseline_opts *o,
                      dgcn_baseline_result *r);

#endif
