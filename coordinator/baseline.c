/* coordinator/baseline.c: centralized GCN and MLP training. */
#include "coordinator/baseline.h"

#include "coordinator/rundir.h"
#include "core/error.h"
#include "core/signal.h"
#include "core/timer.h"
#include "graph/order.h"
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
    o.reorder = 1;
    o.batch = 32;
    o.step.alpha0 = o.lr;
    o.step.power = 1.0;
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

/* The regression loop (baseline.h): mini-batch Adam over the schedule, then every full batch of
 * each split. */
static int s_run_regression(const dgcn_dataset *ds, const dgcn_csr *a_hat,
                            const dgcn_baseline_opts *o, dgcn_baseline_result *r) {
    int rc = DGCN_OK;
    const dgcn_traffic_samples *p = ds->samples;
    const int32_t n = ds->n, b = o->batch;
    int32_t *gid = NULL, *perm = NULL, *first = NULL;
    float *x = NULL, *y = NULL, *theta = NULL, *grad = NULL;
    double *ms = NULL;
    dgcn_gcn *g = NULL;
    dgcn_adam adam = {0};
    DGCN_CHECK(dgcn_model_config_check(&o->model));
    if (o->epochs < 1 || b < 1 || b > p->n_train || p->n != n || p->lags != o->model.dims[0])
        return dgcn_error_set(DGCN_EINVAL,
                              "regression baseline: %d steps, batch %d of %d training samples, %d "
                              "inputs for %d lags",
                              o->epochs, (int)b, (int)p->n_train, (int)o->model.dims[0],
                              (int)p->lags);
    const int64_t np = dgcn_model_n_params(&o->model), per_epoch = p->n_train / b;
    DGCN_ALLOC(gid, n);
    DGCN_ALLOC(perm, p->n_train);
    DGCN_ALLOC(first, b);
    DGCN_ALLOC(x, (size_t)n * b * p->lags);
    DGCN_ALLOC(y, (size_t)n * b);
    DGCN_ALLOC(theta, np);
    DGCN_ALLOC(grad, np);
    DGCN_ALLOC(ms, o->epochs);
    for (int32_t i = 0; i < n; i++) gid[i] = i;
    dgcn_block blk = {.n_own = n,
                      .a = o->model.kind != DGCN_MODEL_MLP ? a_hat : NULL,
                      .gid = gid,
                      .reg_share = 1.0f,
                      .batch = b,
                      .xd = x,
                      .y = y,
                      .n_values_global = (double)n * b};
    DGCN_CHECK(dgcn_gcn_new(&g, &o->model, &blk, NULL, NULL));
    DGCN_CHECK(dgcn_adam_init(&adam, np));
    dgcn_model_init(&o->model, theta, o->seed);
    for (int64_t it = 0; it < o->epochs; it++) {
        DGCN_CHECK(dgcn_signal_check("the centralized baseline"));
        double t0 = dgcn_now_ms();
        if (it % per_epoch == 0)
            dgcn_traffic_epoch_order(o->batch_seed, (int32_t)(it / per_epoch), p->n_train, perm);
        dgcn_traffic_fill(p, perm + (it % per_epoch) * b, b, gid, n, x, y);
        DGCN_CHECK(dgcn_gcn_forward(g, theta, 1, o->seed, it, NULL));
        DGCN_CHECK(dgcn_gcn_backward(g, theta, grad));
        dgcn_adam_step(&adam, theta, grad, (float)dgcn_step_at(&o->step, it), 0.9f, 0.999f, 1e-8f);
        ms[it] = dgcn_now_ms() - t0;
    }
    int32_t start = 0, split_n[3] = {p->n_train, p->n_val, p->n_test};
    for (int s = 0; s < 3; s++) {
        double sq = 0, ab = 0, cnt = 0;
        for (int32_t j = 0; j < split_n[s] / b; j++) {
            dgcn_eval ev;
            for (int32_t i = 0; i < b; i++) first[i] = start + j * b + i;
            dgcn_traffic_fill(p, first, b, gid, n, x, y);
            DGCN_CHECK(dgcn_gcn_forward(g, theta, 0, o->seed, 0, &ev));
            sq += ev.sq_sum, ab += ev.abs_sum, cnt += (double)ev.n_values;
        }
        r->mse[s] = cnt > 0 ? sq / cnt : NAN;
        r->mae[s] = cnt > 0 ? ab / cnt : NAN;
        start += split_n[s];
    }
    r->epochs = o->epochs;
    r->train_loss = r->mse[0];
    r->val_loss = r->mse[1];
    r->ms_per_epoch_median = dgcn_median(ms, o->epochs);
    r->test_acc = r->val_acc = r->train_acc = r->train_xent = NAN;
fail:
    dgcn_gcn_destroy(&g);
    dgcn_adam_fini(&adam);
    free(gid), free(perm), free(first), free(x), free(y), free(theta), free(grad), free(ms);
    return rc;
}

int dgcn_baseline_run(const dgcn_dataset *ds, const dgcn_csr *a_hat, const dgcn_baseline_opts *o,
                      dgcn_baseline_result *r) {
    int rc;
    memset(r, 0, sizeof *r);
    if (ds->samples) return s_run_regression(ds, a_hat, o, r);
    dgcn_gcn *g = NULL;
    dgcn_adam adam = {0};
    int32_t *gid = NULL, *label = NULL;
    uint8_t *split = NULL;
    dgcn_csr a_ord = {0}, x_ord = {0};
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
    const dgcn_csr *a_used = a_hat, *x_used = &ds->x;
    const int32_t *label_used = ds->label;
    const uint8_t *split_used = ds->split;
    if (o->reorder && o->model.kind == DGCN_MODEL_GCN) {
        /* Row k is node gid[k] of the dataset: its features, label and split, A_hat renumbered. */
        DGCN_ALLOC(label, ds->n);
        DGCN_ALLOC(split, ds->n);
        DGCN_CHECK(dgcn_order_rcm(a_hat, gid));
        DGCN_CHECK(dgcn_csr_reorder(&a_ord, a_hat, gid, 1));
        DGCN_CHECK(dgcn_csr_reorder(&x_ord, &ds->x, gid, 0));
        for (int32_t k = 0; k < ds->n; k++) {
            label[k] = ds->label[gid[k]];
            split[k] = ds->split[gid[k]];
        }
        a_used = &a_ord, x_used = &x_ord, label_used = label, split_used = split;
    }

    dgcn_block blk = {
        .n_own = ds->n,
        .n_halo = 0,
        .a = o->model.kind != DGCN_MODEL_MLP ? a_used : NULL,
        .x = x_used,
        .gid = gid,
        .label = label_used,
        .split = split_used,
        .n_train_global = ds->n_train,
        .reg_share = 1.0f,
    };
    DGCN_CHECK(dgcn_gcn_new(&g, &o->model, &blk, NULL, NULL));
    /* An epoch computes only what it reads: the training step the training rows' receptive field,
     * the evaluation the validation rows'; the final evaluation is a whole pass. */
    const unsigned rows_train = DGCN_ROWS_SPLIT(DGCN_SPLIT_TRAIN),
                   rows_val = DGCN_ROWS_SPLIT(DGCN_SPLIT_VAL);
    DGCN_CHECK(dgcn_gcn_prepare_rows(g, rows_train));
    DGCN_CHECK(dgcn_gcn_prepare_rows(g, rows_val));
    DGCN_CHECK(dgcn_adam_init(&adam, np));
    dgcn_model_init(&o->model, theta, o->seed);

    const double wd = o->model.weight_decay;
    dgcn_eval tr, ev;
    int epoch = 0;
    for (; epoch < o->epochs; epoch++) {
        DGCN_CHECK(dgcn_signal_check("the centralized baseline"));
        double t0 = dgcn_now_ms();
        DGCN_CHECK(dgcn_gcn_forward_rows(g, theta, 1, o->seed, epoch, rows_train, &tr));
        /* The decay term of the loss (a pass over W_0) only where a figure reports it. */
        const int report = o->metrics || o->curve_loss || o->progress || epoch + 1 == o->epochs ||
                           o->patience > 0;
        const double reg = report ? 0.5 * wd * s_sq_norm(theta, n0) : 0.0;
        const double train_loss = tr.loss_sum[DGCN_SPLIT_TRAIN] / ds->n_train + reg;
        DGCN_CHECK(dgcn_gcn_backward(g, theta, grad));
        dgcn_adam_step(&adam, theta, grad, (float)o->lr, 0.9f, 0.999f, 1e-8f);
        DGCN_CHECK(dgcn_gcn_forward_rows(g, theta, 0, o->seed, epoch, rows_val, &ev));
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
    dgcn_csr_fini(&a_ord);
    dgcn_csr_fini(&x_ord);
    free(gid);
    free(label);
    free(split);
    free(theta);
    free(grad);
    free(val_hist);
    free(ms);
    return rc;
}
