/* coordinator/baseline.c: centralized GCN and MLP training. */
#include "coordinator/baseline.h"

#include "coordinator/rundir.h"
#include "core/error.h"
#include "core/signal.h"
#include "core/timer.h"
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

dgcn_baseline_opts dgcn_baseline_defaults(dgcn_model_kind kind, const dgcn_dataset *ds) {
    dgcn_baseline_opts o;
    memset(&o, 0, sizeof o);
    o.model = dgcn_model_defaults(kind, ds->d, ds->c);
    o.epochs = 200;
    o.lr = 0.01;
    o.patience = 0;
    o.seed = 0;
    o.label = kind == DGCN_MODEL_MLP ? "mlp" : "gcn";
    return o;
}

static double s_sq_norm(const float *w, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)w[i] * w[i];
    return s;
}

static double s_acc(const dgcn_eval *ev, int split) {
    return ev->count[split] ? (double)ev->correct[split] / ev->count[split] : 0.0;
}

int dgcn_baseline_run(const dgcn_dataset *ds, const dgcn_csr *a_hat, const dgcn_baseline_opts *o,
                      dgcn_baseline_result *r) {
    int rc;
    dgcn_gcn *g = NULL;
    dgcn_adam adam = {0};
    int32_t *gid = NULL;
    float *theta = NULL, *grad = NULL;
    double *val_hist = NULL, *ms = NULL;
    memset(r, 0, sizeof *r);

    DGCN_CHECK(dgcn_model_config_check(&o->model));
    if (o->epochs < 1) return dgcn_error_set(DGCN_EINVAL, "epochs must be >= 1, got %d", o->epochs);
    if (ds->n_train < 1)
        return dgcn_error_set(DGCN_EINVAL, "dataset %s has no training nodes", ds->name);
    const int64_t np = dgcn_model_n_params(&o->model);
    const int64_t n0 = (int64_t)(o->model.kind == DGCN_MODEL_FILTER ? o->model.order + 1 : 1) *
                       o->model.dims[0] * o->model.dims[1]; /* the decayed weights of layer 0 */
    DGCN_ALLOC(gid, ds->n);
    DGCN_ALLOC(theta, np);
    DGCN_ALLOC(grad, np);
    DGCN_ALLOC(val_hist, o->epochs);
    DGCN_ALLOC(ms, o->epochs);
    for (int32_t i = 0; i < ds->n; i++) gid[i] = i;

    dgcn_block blk = {
        .n_own = ds->n,
        .n_halo = 0,
        .a = o->model.kind != DGCN_MODEL_MLP ? a_hat : NULL,
        .x = &ds->x,
        .gid = gid,
        .label = ds->label,
        .split = ds->split,
        .n_train_global = ds->n_train,
        .reg_share = 1.0f,
    };
    DGCN_CHECK(dgcn_gcn_new(&g, &o->model, &blk, NULL, NULL));
    DGCN_CHECK(dgcn_adam_init(&adam, np));
    dgcn_model_init(&o->model, theta, o->seed);

    const double wd = o->model.weight_decay;
    dgcn_eval tr, ev;
    int epoch = 0;
    for (; epoch < o->epochs; epoch++) {
        DGCN_CHECK(dgcn_signal_check("the centralized baseline"));
        double t0 = dgcn_now_ms();
        DGCN_CHECK(dgcn_gcn_forward(g, theta, 1, o->seed, epoch, &tr));
        const double reg = 0.5 * wd * s_sq_norm(theta, n0);
        const double train_loss = tr.loss_sum[DGCN_SPLIT_TRAIN] / ds->n_train + reg;
        DGCN_CHECK(dgcn_gcn_backward(g, theta, grad));
        dgcn_adam_step(&adam, theta, grad, (float)o->lr, 0.9f, 0.999f, 1e-8f);
        DGCN_CHECK(dgcn_gcn_forward(g, theta, 0, o->seed, epoch, &ev));
        ms[epoch] = dgcn_now_ms() - t0;

        if (!isfinite(train_loss)) {
            rc = dgcn_error_set(DGCN_ENUMERIC, "%s seed %llu epoch %d: training loss is %g",
                                o->label, (unsigned long long)o->seed, epoch, train_loss);
            goto fail;
        }
        const double val_loss = ev.count[DGCN_SPLIT_VAL]
                                    ? ev.loss_sum[DGCN_SPLIT_VAL] / ev.count[DGCN_SPLIT_VAL]
                                    : 0.0;
        val_hist[epoch] = val_loss;
        r->train_loss = train_loss;
        if (o->curve_loss) o->curve_loss[epoch] = train_loss;
        if (o->curve_val) o->curve_val[epoch] = s_acc(&ev, DGCN_SPLIT_VAL);
        if (o->metrics) {
            dgcn_json j;
            dgcn_json_begin(&j, o->metrics);
            dgcn_json_str(&j, "model", o->label);
            dgcn_json_int(&j, "seed", (long long)o->seed);
            dgcn_json_int(&j, "epoch", epoch);
            dgcn_json_num(&j, "train_loss", train_loss);
            dgcn_json_num(&j, "train_acc", s_acc(&tr, DGCN_SPLIT_TRAIN));
            dgcn_json_num(&j, "val_loss", val_loss);
            dgcn_json_num(&j, "val_acc", s_acc(&ev, DGCN_SPLIT_VAL));
            dgcn_json_num(&j, "ms", ms[epoch]);
            dgcn_json_end(&j);
        }
        if (o->progress && (epoch % 10 == 9 || epoch + 1 == o->epochs))
            fprintf(stderr, "\r%s epoch %4d/%d  loss %.4f  val acc %.4f ", o->label, epoch + 1,
                    o->epochs, train_loss, s_acc(&ev, DGCN_SPLIT_VAL));
        if (o->patience > 0 && epoch > o->patience) {
            double mean = 0;
            for (int k = epoch - o->patience; k < epoch; k++) mean += val_hist[k];
            mean /= o->patience;
            if (val_loss > mean) {
                epoch++;
                break;
            }
        }
    }
    r->epochs = epoch;
    DGCN_CHECK(dgcn_gcn_forward(g, theta, 0, o->seed, epoch, &ev));
    r->val_loss = ev.count[DGCN_SPLIT_VAL] ? ev.loss_sum[DGCN_SPLIT_VAL] / ev.count[DGCN_SPLIT_VAL]
                                           : 0;
    r->val_acc = s_acc(&ev, DGCN_SPLIT_VAL);
    r->test_acc = s_acc(&ev, DGCN_SPLIT_TEST);
    r->train_acc = s_acc(&ev, DGCN_SPLIT_TRAIN);
    r->train_xent = ev.loss_sum[DGCN_SPLIT_TRAIN] / ds->n_train;
    r->ms_per_epoch_median = dgcn_median(ms, epoch);
    rc = DGCN_OK;
fail:
    dgcn_gcn_destroy(&g);
    dgcn_adam_fini(&adam);
    free(gid);
    free(theta);
    free(grad);
    free(val_hist);
    free(ms);
    return rc;
}
