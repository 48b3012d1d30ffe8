/* bench/bench_centralized.c: time centralized training per epoch and report peak memory.
 *
 * One dataset per process, so the peak resident set is this dataset's alone. Prints one JSON line
 * (see bench/README.md), the same fields as bench/reference_gcn.py for side-by-side ratios. */
#include "coordinator/args.h"
#include "coordinator/baseline.h"
#include "coordinator/data_source.h"
#include "coordinator/rundir.h"

#include "core/error.h"
#include "core/timer.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* CPU time this process has used, in ms: on a shared machine it counts what the training cost,
 * not the time spent waiting for a core. */
static double s_cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static const char s_usage[] =
    "usage: bench_centralized [--data DIR | generator options] [--seeds N] [--epochs E] [--model gcn|mlp]\n"
    "                         [--hidden H] [--dropout P] [--weight-decay L2] [--lr LR]\n"
    "\nTrains the centralized model once per seed and prints one JSON line: test accuracy mean and\n"
    "std, the median epoch time (training step + validation evaluation), the CPU time per epoch\n"
    "(all runs' CPU time, set-up and final evaluation included, over their epochs: on a loaded\n"
    "machine the figure that does not count waiting) and the peak resident set.";

int main(int argc, char **argv) {
    dgcn_data_source src;
    dgcn_data_source_defaults(&src);
    int seeds = 10, epochs = 200, hidden = 16;
    double dropout = 0.5, wd = 5e-4, lr = 0.01;
    const char *model = "gcn";
    const dgcn_arg table[] = {
        DGCN_DATA_SOURCE_ARGS(&src),
        {"seeds", DGCN_ARG_INT, &seeds, "runs", 1, 1000},
        {"epochs", DGCN_ARG_INT, &epochs, "epochs per run", 1, 100000},
        {"model", DGCN_ARG_STRING, &model, "gcn or mlp", 1, 0},
        {"hidden", DGCN_ARG_INT, &hidden, "hidden units", 1, 100000},
        {"dropout", DGCN_ARG_DOUBLE, &dropout, "dropout probability", 0, 0.99},
        {"weight-decay", DGCN_ARG_DOUBLE, &wd, "L2 weight decay on the first layer", 0, 1},
        {"lr", DGCN_ARG_DOUBLE, &lr, "Adam learning rate", 0, 10},
        DGCN_ARGS_END,
    };
    int prc = dgcn_args_parse(s_usage, table, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
    dgcn_dataset ds = {0};
    dgcn_csr a_hat = {0};
    double t0 = dgcn_now_ms();
    int rc = dgcn_data_source_open(&src, &ds, &a_hat);
    double load_ms = dgcn_now_ms() - t0;
    if (rc) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return 1;
    }
    dgcn_baseline_opts o = dgcn_baseline_defaults(strcmp(model, "mlp") ? DGCN_MODEL_GCN
                                                                       : DGCN_MODEL_MLP,
                                                  &ds);
    o.epochs = epochs;
    o.model.dims[1] = hidden;
    o.model.dropout = (float)dropout;
    o.model.weight_decay = (float)wd;
    o.lr = lr;
    double *acc = calloc((size_t)seeds, sizeof *acc), *ms = calloc((size_t)seeds, sizeof *ms);
    if (!acc || !ms) return 1;
    const double cpu0 = s_cpu_ms();
    for (int s = 0; s < seeds && !rc; s++) {
        dgcn_baseline_result r;
        o.seed = (uint64_t)s;
        rc = dgcn_baseline_run(&ds, &a_hat, &o, &r);
        acc[s] = r.test_acc;
        ms[s] = r.ms_per_epoch_median;
    }
    if (rc) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return 1;
    }
    const double cpu_per_epoch = (s_cpu_ms() - cpu0) / ((double)seeds * epochs);
    double m, sd;
    dgcn_mean_std(acc, seeds, &m, &sd);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\":\"dgcn\",\"dataset\":\"%s\",\"nodes\":%d,\"edges\":%lld,\"model\":\"%s\","
           "\"test_acc_mean\":%.6f,\"test_acc_std\":%.6f,\"ms_per_epoch_median\":%.4f,"
           "\"cpu_ms_per_epoch\":%.4f,"
           "\"peak_mb\":%.1f,\"load_ms\":%.1f,\"seeds\":%d,\"epochs\":%d,\"threads\":1,"
           "\"hidden\":%d,\"dropout\":%g,\"weight_decay\":%g,\"lr\":%g,\"raw_counts\":%d}\n",
           ds.name, ds.n, (long long)ds.n_edges, model, m, sd, dgcn_median(ms, seeds),
           cpu_per_epoch, ru.ru_maxrss / 1024.0, load_ms, seeds, epochs, hidden, dropout, wd, lr,
           src.raw_counts);
    free(acc);
    free(ms);
    dgcn_dataset_fini(&ds);
    dgcn_csr_fini(&a_hat);
    return 0;
}
