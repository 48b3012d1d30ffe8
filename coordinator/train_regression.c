/* coordinator/train_regression.c: the regression task of the training library (train.h,
 * docs/traffic.md): its defaults, the options a traffic folder resolves, the model and the
 * centralized twin of a seed. The agents' side is agent/run.h's task DGCN_TASK_REGRESSION. */
#include "coordinator/baseline.h"
#include "coordinator/train_int.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

void dgcn_train_defaults_regression(dgcn_train_opts *o) {
    dgcn_train_defaults(o);
    o->plan.agents = 6;
    o->plan.topology = "ring";
    o->hidden = 0;
    o->order = 2;
    o->dropout = 0.0;
    o->iters = 0;
    o->epochs = 40;
    o->eval_every = 0;
    o->lr = 0.03;
    o->lr_decay = -0.1;
    o->final_mixing = 20;
    o->gossip_rounds = 1;
    o->lr_cooldown = 0.0;
    o->gossip_accel = "none";
}

int dgcn__train_resolve(dgcn_train_opts *o, const dgcn_dataset *ds) {
    if (!ds->samples) return DGCN_OK;
    const int32_t n_train = ds->samples->n_train;
    if (o->batch < 1 || o->batch > n_train)
        return dgcn_error_set(DGCN_EINVAL,
                              "train: --batch %d is not in [1, %d] (the training samples)",
                              o->batch, (int)n_train);
    const int per_epoch = n_train / o->batch;
    if (o->iters <= 0) {
        if (o->epochs < 1 || (double)o->epochs * per_epoch > 1e9)
            return dgcn_error_set(DGCN_EINVAL, "train: --epochs %d is not in [1, %d]", o->epochs,
                                  (int)(1e9 / per_epoch));
        o->iters = o->epochs * per_epoch;
    }
    if (o->eval_every <= 0) o->eval_every = per_epoch;
    if (o->lr_decay < 0) o->lr_decay = -o->lr_decay * o->iters;
    return DGCN_OK;
}

dgcn_model_config dgcn__train_model(const dgcn_train_opts *o, const dgcn_dataset *ds) {
    dgcn_model_config mc = dgcn_model_defaults(DGCN_MODEL_GCN, ds->d, ds->c);
    mc.dims[1] = o->hidden;
    mc.dropout = (float)o->dropout;
    mc.weight_decay = (float)o->weight_decay;
    if (o->order >= 0) mc.kind = DGCN_MODEL_FILTER, mc.order = o->order;
    if (ds->samples) {
        mc.weight_decay = 0.0f;
        if (o->hidden <= 0) mc.n_layers = 1, mc.dims[1] = ds->c;
    }
    return mc;
}

dgcn_step_schedule dgcn__train_steps(const dgcn_train_opts *o) {
    dgcn_consensus_kind kind = DGCN_CONSENSUS_GT_ADAM;
    (void)dgcn_consensus_kind_parse(o->optimizer, &kind);
    dgcn_step_schedule st = {o->lr > 0                        ? o->lr
                             : kind == DGCN_CONSENSUS_GT_ADAM ? 0.05
                                                              : 5.0,
                             0.0, 1.0, o->lr_cooldown, o->iters};
    if (o->lr_decay > 0) {
        st.decay = o->lr_decay;
        st.power = o->lr_power;
    }
    return st;
}

int dgcn__train_central_regression(const dgcn_train_opts *o, const dgcn_dataset *ds,
                                   const dgcn_csr *a_hat, uint64_t seed, double mse[3],
                                   double mae[3], double *ms) {
    dgcn_baseline_opts b = dgcn_baseline_defaults(DGCN_MODEL_FILTER, ds);
    b.model = dgcn__train_model(o, ds);
    b.epochs = o->iters;
    b.seed = seed;
    b.batch = o->batch;
    b.batch_seed = seed;
    b.step = dgcn__train_steps(o);
    b.lr = b.step.alpha0;
    b.label = "central";
    dgcn_baseline_result br;
    int rc = dgcn_baseline_run(ds, a_hat, &b, &br);
    if (rc) return rc;
    memcpy(mse, br.mse, sizeof br.mse);
    memcpy(mae, br.mae, sizeof br.mae);
    *ms = br.ms_per_epoch_median;
    return DGCN_OK;
}

void dgcn__train_regression_figures(dgcn_train_result *r, int regression, int baselines,
                                    const double *dist, const double *central, const double *mae,
                                    int seeds) {
    double *f[8] = {&r->test_mse_mean,         &r->test_mse_std,          &r->test_mae_mean,
                    &r->test_mae_std,          &r->central_test_mse_mean, &r->central_test_mse_std,
                    &r->central_test_mae_mean, &r->central_test_mae_std};
    for (int i = 0; i < 8; i++) *f[i] = NAN;
    if (!regression) return;
    dgcn_mean_std(dist, seeds, &r->test_mse_mean, &r->test_mse_std);
    dgcn_mean_std(mae, seeds, &r->test_mae_mean, &r->test_mae_std);
    if (baselines) {
        dgcn_mean_std(central, seeds, &r->central_test_mse_mean, &r->central_test_mse_std);
        dgcn_mean_std(mae + seeds, seeds, &r->central_test_mae_mean, &r->central_test_mae_std);
    }
    r->test_acc_mean = r->test_acc_std = r->central_test_acc_mean = NAN;
    r->central_test_acc_std = r->mlp_test_acc_mean = r->mlp_test_acc_std = NAN;
}

void dgcn__train_regression_log(FILE *log, const dgcn_train_result *r, int seeds, int baselines) {
    fprintf(log, "test MSE over %d seed(s) (z-score units%s): distributed %.4f +- %.4f (MAE %.4f)",
            seeds, r->generated ? ", GENERATED series, not PeMS data" : "", r->test_mse_mean,
            r->test_mse_std, r->test_mae_mean);
    if (baselines)
        fprintf(log, " | centralized %.4f +- %.4f (MAE %.4f), gap %.2f %%",
                r->central_test_mse_mean, r->central_test_mse_std, r->central_test_mae_mean,
                100.0 * fabs(r->test_mse_mean - r->central_test_mse_mean) /
                    r->central_test_mse_mean);
}
