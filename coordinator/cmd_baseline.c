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

int dgcn_cmd_baseline(int argc, char **argv) {
    dgcn_data_source src;
    dgcn_data_source_defaults(&src);
    const char *model = "gcn", *out = NULL;
    int seeds = 10, epochs = 200, patience = 0, hidden = 16, quiet = 0, force = 0, order = -1;
    uint64_t seed0 = 0;
    double lr = 0.01, dropout = 0.5, wd = 5e-4;
    const dgcn_arg table[] = {
        DGCN_DATA_SOURCE_ARGS(&src),
        {"model", DGCN_ARG_STRING, &model, "gcn or mlp", 1, 0},
        {"seeds", DGCN_ARG_INT, &seeds, "number of seeds (runs)", 1, 10000},
        {"seed", DGCN_ARG_U64, &seed0, "first seed; runs use seed, seed+1, ...", 1, 0},
        {"epochs", DGCN_ARG_INT, &epochs, "training epochs", 1, 1000000},
        {"lr", DGCN_ARG_DOUBLE, &lr, "Adam learning rate", 0, 10},
        {"hidden", DGCN_ARG_INT, &hidden, "hidden units", 1, 100000},
        {"order", DGCN_ARG_INT, &order, "graph filter of order K (0..8) instead of the GCN", -1, 8},
        {"dropout", DGCN_ARG_DOUBLE, &dropout, "dropout probability", 0, 0.99},
        {"weight-decay", DGCN_ARG_DOUBLE, &wd, "L2 weight decay on the first layer", 0, 1},
        {"early-stop", DGCN_ARG_INT, &patience,
         "early-stopping window on validation loss (0 = off; Kipf: 10)", 0, 1000000},
        {"out", DGCN_ARG_STRING, &out, "run directory (created)", 1, 0},
        {"force", DGCN_ARG_FLAG, &force, "clear a non-empty run directory --out first", 1, 0},
        {"quiet", DGCN_ARG_FLAG, &quiet, "no progress line", 1, 0},
        DGCN_ARGS_END,
    };
    int prc = dgcn_args_parse(s_usage, table, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
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
    dgcn_data_source_describe(&src, desc, sizeof desc);
    double t_load = dgcn_now_ms();
    DGCN_CHECK(dgcn_data_source_open(&src, &ds, &a_hat));
    if (ds.samples)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                  "%s is a traffic folder (regression): `dgcn train --data %s` "
                                  "trains its centralized twin beside the agents "
                                  "(central_test_mse_mean in summary.json)",
                                  src.dir, src.dir));
    fprintf(stderr,
            "dataset %s: %d nodes, %lld edges, %d features, %d classes, %d/%d/%d split (%.0f ms)\n",
            ds.name, ds.n, (long long)ds.n_edges, ds.d, ds.c, ds.n_train, ds.n_val, ds.n_test,
            dgcn_now_ms() - t_load);

    dgcn_baseline_opts o = dgcn_baseline_defaults(kind, &ds);
    o.model.dims[1] = hidden;
    if (order >= 0) {
        if (kind != DGCN_MODEL_GCN) {
            fprintf(stderr, "error: --order applies to --model gcn (it replaces its layers)\n");
            return 2;
        }
        o.model.kind = DGCN_MODEL_FILTER;
        o.model.order = order;
    }
    o.model.dropout = (float)dropout;
    o.model.weight_decay = (float)wd;
    o.epochs = epochs;
    o.lr = lr;
    o.patience = patience;
    o.progress = !quiet && isatty(2);
    if (out) {
        DGCN_CHECK(dgcn_rundir_prepare(out, force));
        DGCN_CHECK(dgcn_rundir_fopen(out, "config.json", "w", &f));
        dgcn_json j;
        dgcn_json_begin(&j, f);
        dgcn_json_str(&j, "command", "baseline");
        dgcn_json_str(&j, "data", desc);
        dgcn_json_str(&j, "model", model);
        dgcn_json_int(&j, "layers", o.model.n_layers);
        dgcn_json_int(&j, "hidden", hidden);
        dgcn_json_int(&j, "order", order);
        dgcn_json_num(&j, "dropout", dropout);
        dgcn_json_num(&j, "weight_decay", wd);
        dgcn_json_num(&j, "lr", lr);
        dgcn_json_int(&j, "epochs", epochs);
        dgcn_json_int(&j, "early_stop", patience);
        dgcn_json_int(&j, "seeds", seeds);
        dgcn_json_int(&j, "seed", (long long)seed0);
        dgcn_json_end(&j);
        DGCN_CHECK(dgcn_rundir_fclose(&f, out, "config.json"));
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
    for (int s = 0; s < seeds; s++) {
        char label[64];
        snprintf(label, sizeof label, "%s seed %d/%d", model, s + 1, seeds);
        o.seed = seed0 + (uint64_t)s;
        o.label = model;
        o.curve_loss = cl + (size_t)s * epochs;
        o.curve_val = cv + (size_t)s * epochs;
        dgcn_baseline_result r;
        if (o.progress) fprintf(stderr, "%s\n", label);
        DGCN_CHECK(dgcn_baseline_run(&ds, &a_hat, &o, &r));
        if (o.progress) fprintf(stderr, "\n");
        test[s] = r.test_acc;
        val[s] = r.val_acc;
        msv[s] = r.ms_per_epoch_median;
        epochs_run = r.epochs > epochs_run ? r.epochs : epochs_run;
        if (!quiet)
            fprintf(stderr, "seed %llu: test acc %.4f  val acc %.4f  (%d epochs, %.3f ms/epoch)\n",
                    (unsigned long long)o.seed, r.test_acc, r.val_acc, r.epochs,
                    r.ms_per_epoch_median);
    }
    double tm, ts, vm, vs;
    dgcn_mean_std(test, seeds, &tm, &ts);
    dgcn_mean_std(val, seeds, &vm, &vs);
    double ms_med = dgcn_median(msv, seeds);
    printf("%s %s: test accuracy %.2f +- %.2f %% over %d seeds (val %.2f %%, %.3f ms/epoch)\n",
           model, ds.name, 100 * tm, 100 * ts, seeds, 100 * vm, ms_med);
    if (out) {
        DGCN_CHECK(dgcn_rundir_fclose(&metrics, out, "metrics.jsonl"));
        DGCN_CHECK(dgcn_rundir_fopen_tmp(out, "summary.json", &f));
        dgcn_json j;
        dgcn_json_begin(&j, f);
        dgcn_json_str(&j, "dataset", ds.name);
        dgcn_json_str(&j, "model", model);
        dgcn_json_num(&j, "test_acc_mean", tm);
        dgcn_json_num(&j, "test_acc_std", ts);
        dgcn_json_num(&j, "val_acc_mean", vm);
        dgcn_json_num(&j, "val_acc_std", vs);
        dgcn_json_int(&j, "seeds", seeds);
        dgcn_json_int(&j, "epochs", epochs_run);
        dgcn_json_num(&j, "ms_per_epoch_median", ms_med);
        dgcn_json_num_array(&j, "test_acc", test, seeds);
        dgcn_json_end(&j);
        DGCN_CHECK(dgcn_rundir_commit(&f, out, "summary.json"));
        DGCN_CHECK(s_write_curves(out, cl, cv, seeds, epochs));
        DGCN_CHECK(dgcn_rundir_plot(out, "baseline", s_plot));
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
