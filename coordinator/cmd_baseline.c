/* coordinator/cmd_baseline.c: `dgcn baseline`: centralized GCN or MLP over several seeds. */
#include "coordinator/baseline.h"
#include "coordinator/commands.h"
#include "coordinator/data_source.h"
#include "coordinator/rundir.h"

#include "core/error.h"
#include "core/signal.h"
#include "core/timer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char s_usage[] =
    "usage: dgcn baseline [--data DIR | generator options] [--model gcn|mlp] [--seeds N] [--out RUNDIR]\n"
    "\n"
    "Trains the centralized model (Kipf and Welling's setup by default) once per seed and prints the\n"
    "test accuracy as mean +- std over the seeds. RUNDIR receives config.json, metrics.jsonl (one\n"
    "line per epoch and seed), summary.json and plots/.";

static const char s_plot[] = "set terminal pngcairo size 1000,400\n"
                             "set output 'baseline.png'\n"
                             "set multiplot layout 1,2\n"
                             "set xlabel 'epoch'\n"
                             "set key off\n"
                             "set title 'training loss (mean over seeds)'\n"
                             "plot 'baseline.tsv' using 1:2 with lines lw 2\n"
                             "set title 'validation accuracy (mean over seeds)'\n"
                             "plot 'baseline.tsv' using 1:3 with lines lw 2\n"
                             "unset multiplot\n";

/* Writes plots/baseline.tsv: epoch, mean training loss, mean validation accuracy over the seeds
 * that ran that epoch (NaN marks epochs a seed did not run). */
static int s_write_curves(const char *out, const double *loss, const double *val, int seeds,
                          int epochs) {
    char dir[4096];
    FILE *f;
    snprintf(dir, sizeof dir, "%s/plots", out);
    int rc = dgcn_rundir_make(dir);
    if (!rc) rc = dgcn_rundir_fopen(dir, "baseline.tsv", "w", &f);
    if (rc) return rc;
    fprintf(f, "# epoch train_loss val_acc\n");
    for (int e = 0; e < epochs; e++) {
        double sl = 0, sv = 0;
        int k = 0;
        for (int s = 0; s < seeds; s++) {
            double l = loss[(size_t)s * epochs + e];
            if (l != l) continue;
            sl += l;
            sv += val[(size_t)s * epochs + e];
            k++;
        }
        if (k) fprintf(f, "%d %.6g %.6g\n", e + 1, sl / k, sv / k);
    }
    return dgcn_rundir_fclose(&f, dir, "baseline.tsv");
}

/* The command's options. */
typedef struct s_opts {
    dgcn_data_source src;
    const char *model, *out;
    int seeds, epochs, patience, hidden, quiet, force, order;
    uint64_t seed0;
    double lr, dropout, wd;
} s_opts;

/* config.json: the options as given (n_layers: the model's). */
static int s_write_config(const s_opts *a, const char *desc, int n_layers) {
    FILE *f = NULL;
    int rc = dgcn_rundir_fopen(a->out, "config.json", "w", &f);
    if (rc) return rc;
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_str(&j, "command", "baseline");
    dgcn_json_str(&j, "data", desc);
    dgcn_json_str(&j, "model", a->model);
    dgcn_json_int(&j, "layers", n_layers);
    dgcn_json_int(&j, "hidden", a->hidden);
    dgcn_json_int(&j, "order", a->order);
    dgcn_json_num(&j, "dropout", a->dropout);
    dgcn_json_num(&j, "weight_decay", a->wd);
    dgcn_json_num(&j, "lr", a->lr);
    dgcn_json_int(&j, "epochs", a->epochs);
    dgcn_json_int(&j, "early_stop", a->patience);
    dgcn_json_int(&j, "seeds", a->seeds);
    dgcn_json_int(&j, "seed", (long long)a->seed0);
    dgcn_json_end(&j);
    return dgcn_rundir_fclose(&f, a->out, "config.json");
}

/* summary.json's members into f: fig holds the test accuracy's mean and std, the validation
 * accuracy's, and the median ms per epoch; test the seeds' test accuracies. */
static void s_write_summary(FILE *f, const s_opts *a, const char *dataset, const double fig[5],
                            int epochs_run, const double *test) {
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_str(&j, "dataset", dataset);
    dgcn_json_str(&j, "model", a->model);
    dgcn_json_num(&j, "test_acc_mean", fig[0]);
    dgcn_json_num(&j, "test_acc_std", fig[1]);
    dgcn_json_num(&j, "val_acc_mean", fig[2]);
    dgcn_json_num(&j, "val_acc_std", fig[3]);
    dgcn_json_int(&j, "seeds", a->seeds);
    dgcn_json_int(&j, "epochs", epochs_run);
    dgcn_json_num(&j, "ms_per_epoch_median", fig[4]);
    dgcn_json_num_array(&j, "test_acc", test, a->seeds);
    dgcn_json_end(&j);
}

/* Trains seed seed0 + s for s < seeds with o (its seed, label and curves set here): each seed's
 * test and validation accuracy, median ms per epoch, per-epoch curves (cl, cv: (seeds, epochs));
 * *epochs_run the most epochs any seed ran. */
static int s_train_seeds(const s_opts *a, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                         dgcn_baseline_opts *o, double *cl, double *cv, double *test, double *val,
                         double *msv, int *epochs_run) {
    int rc = DGCN_OK;
    for (int s = 0; s < a->seeds; s++) {
        char label[64];
        snprintf(label, sizeof label, "%s seed %d/%d", a->model, s + 1, a->seeds);
        o->seed = a->seed0 + (uint64_t)s;
        o->label = a->model;
        o->curve_loss = cl + (size_t)s * a->epochs;
        o->curve_val = cv + (size_t)s * a->epochs;
        dgcn_baseline_result r;
        if (o->progress) fprintf(stderr, "%s\n", label);
        DGCN_CHECK(dgcn_baseline_run(ds, a_hat, o, &r));
        if (o->progress) fprintf(stderr, "\n");
        test[s] = r.test_acc;
        val[s] = r.val_acc;
        msv[s] = r.ms_per_epoch_median;
        *epochs_run = r.epochs > *epochs_run ? r.epochs : *epochs_run;
        if (!a->quiet)
            fprintf(stderr, "seed %llu: test acc %.4f  val acc %.4f  (%d epochs, %.3f ms/epoch)\n",
                    (unsigned long long)o->seed, r.test_acc, r.val_acc, r.epochs,
                    r.ms_per_epoch_median);
    }
fail:
    return rc;
}

int dgcn_cmd_baseline(int argc, char **argv) {
    s_opts a = {.model = "gcn",
                .seeds = 10,
                .epochs = 200,
                .hidden = 16,
                .order = -1,
                .lr = 0.01,
                .dropout = 0.5,
                .wd = 5e-4};
    dgcn_data_source_defaults(&a.src);
    const dgcn_arg table[] = {
        DGCN_DATA_SOURCE_ARGS(&a.src),
        {"model", DGCN_ARG_STRING, &a.model, "gcn or mlp", 1, 0},
        {"seeds", DGCN_ARG_INT, &a.seeds, "number of seeds (runs)", 1, 10000},
        {"seed", DGCN_ARG_U64, &a.seed0, "first seed; runs use seed, seed+1, ...", 1, 0},
        {"epochs", DGCN_ARG_INT, &a.epochs, "training epochs", 1, 1000000},
        {"lr", DGCN_ARG_DOUBLE, &a.lr, "Adam learning rate", 0, 10},
        {"hidden", DGCN_ARG_INT, &a.hidden, "hidden units", 1, 100000},
        {"order", DGCN_ARG_INT, &a.order, "graph filter of order K (0..8) instead of the GCN", -1,
         8},
        {"dropout", DGCN_ARG_DOUBLE, &a.dropout, "dropout probability", 0, 0.99},
        {"weight-decay", DGCN_ARG_DOUBLE, &a.wd, "L2 weight decay on the first layer", 0, 1},
        {"early-stop", DGCN_ARG_INT, &a.patience,
         "early-stopping window on validation loss (0 = off; Kipf: 10)", 0, 1000000},
        {"out", DGCN_ARG_STRING, &a.out, "run directory (created)", 1, 0},
        {"force", DGCN_ARG_FLAG, &a.force, "clear a non-empty run directory --out first", 1, 0},
        {"quiet", DGCN_ARG_FLAG, &a.quiet, "no progress line", 1, 0},
        DGCN_ARGS_END,
    };
    int prc = dgcn_args_parse(s_usage, table, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
    const char *model = a.model, *out = a.out;
    const int seeds = a.seeds, epochs = a.epochs, order = a.order;
    dgcn_signal_install();
    dgcn_model_kind kind;
    if (!strcmp(model, "gcn")) {
        kind = DGCN_MODEL_GCN;
    } else if (!strcmp(model, "mlp")) {
        kind = DGCN_MODEL_MLP;
    } else {
        fprintf(stderr, "error: --model must be gcn or mlp, got '%s'\n", model);
        return 2;
    }

    int rc;
    dgcn_dataset ds = {0};
    dgcn_csr a_hat = {0};
    FILE *metrics = NULL, *f = NULL;
    double *test = NULL, *val = NULL, *msv = NULL, *cl = NULL, *cv = NULL;
    char desc[512];
    dgcn_data_source_describe(&a.src, desc, sizeof desc);
    double t_load = dgcn_now_ms();
    DGCN_CHECK(dgcn_data_source_open(&a.src, &ds, &a_hat));
    if (ds.samples)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                  "%s is a traffic folder (regression): `dgcn train --data %s` "
                                  "trains its centralized twin beside the agents "
                                  "(central_test_mse_mean in summary.json)",
                                  a.src.dir, a.src.dir));
    fprintf(stderr,
            "dataset %s: %d nodes, %lld edges, %d features, %d classes, %d/%d/%d split (%.0f ms)\n",
            ds.name, ds.n, (long long)ds.n_edges, ds.d, ds.c, ds.n_train, ds.n_val, ds.n_test,
            dgcn_now_ms() - t_load);

    dgcn_baseline_opts o = dgcn_baseline_defaults(kind, &ds);
    o.model.dims[1] = a.hidden;
    if (order >= 0) {
        if (kind != DGCN_MODEL_GCN) {
            fprintf(stderr, "error: --order applies to --model gcn (it replaces its layers)\n");
            return 2;
        }
        o.model.kind = DGCN_MODEL_FILTER;
        o.model.order = order;
    }
    o.model.dropout = (float)a.dropout;
    o.model.weight_decay = (float)a.wd;
    o.epochs = epochs;
    o.lr = a.lr;
    o.patience = a.patience;
    o.progress = !a.quiet && isatty(2);
    if (out) {
        DGCN_CHECK(dgcn_rundir_prepare(out, a.force));
        DGCN_CHECK(s_write_config(&a, desc, o.model.n_layers));
        DGCN_CHECK(dgcn_rundir_fopen(out, "metrics.jsonl", "w", &metrics));
    }
    o.metrics = metrics;
    DGCN_ALLOC(test, seeds);
    DGCN_ALLOC(val, seeds);
    DGCN_ALLOC(msv, seeds);
    DGCN_ALLOC(cl, (size_t)seeds * epochs);
    DGCN_ALLOC(cv, (size_t)seeds * epochs);
    for (size_t i = 0; i < (size_t)seeds * epochs; i++) cl[i] = cv[i] = NAN;
    int epochs_run = 0;
    DGCN_CHECK(s_train_seeds(&a, &ds, &a_hat, &o, cl, cv, test, val, msv, &epochs_run));
    double tm, ts, vm, vs;
    dgcn_mean_std(test, seeds, &tm, &ts);
    dgcn_mean_std(val, seeds, &vm, &vs);
    double ms_med = dgcn_median(msv, seeds);
    printf("%s %s: test accuracy %.2f +- %.2f %% over %d seeds (val %.2f %%, %.3f ms/epoch)\n",
           model, ds.name, 100 * tm, 100 * ts, seeds, 100 * vm, ms_med);
    if (out) {
        DGCN_CHECK(dgcn_rundir_fclose(&metrics, out, "metrics.jsonl"));
        /* summary.json last: it exists only for a run whose every output, the plot too, is whole */
        DGCN_CHECK(s_write_curves(out, cl, cv, seeds, epochs));
        DGCN_CHECK(dgcn_rundir_plot(out, "baseline", s_plot));
        DGCN_CHECK(dgcn_signal_check("the plots"));
        DGCN_CHECK(dgcn_rundir_fopen_tmp(out, "summary.json", &f));
        const double fig[5] = {tm, ts, vm, vs, ms_med};
        s_write_summary(f, &a, ds.name, fig, epochs_run, test);
        DGCN_CHECK(dgcn_rundir_commit(&f, out, "summary.json"));
        fprintf(stderr, "run directory: %s\n", out);
    }
    rc = DGCN_OK;
fail:
    if (rc)
        fprintf(stderr, "error: %s\n", dgcn_error_msg()[0] ? dgcn_error_msg() : dgcn_strerror(rc));
    if (out) dgcn_rundir_discard(&f, out, "summary.json"); /* summary.json.tmp */
    if (metrics) fclose(metrics);
    free(test);
    free(val);
    free(msv);
    free(cl);
    free(cv);
    dgcn_dataset_fini(&ds);
    dgcn_csr_fini(&a_hat);
    return rc ? dgcn_signal_exit_status(rc, 1) : 0;
}
