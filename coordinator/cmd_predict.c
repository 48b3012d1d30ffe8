/* coordinator/cmd_predict.c: `dgcn predict`: a saved model's predictions on a dataset's full graph. */
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/data_source.h"
#include "coordinator/model.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: dgcn predict --model FILE [--data DIR | generator options] [--out FILE]\n"
    "\n"
    "Loads a model saved by `dgcn train` (RUNDIR/model, docs/rundir.md), runs centralized inference\n"
    "(one forward pass without dropout) on the dataset's whole graph, preprocessed as train does,\n"
    "and writes one line per node: node id, predicted class, label (-1 where unknown), after a '#'\n"
    "header; to FILE, or to stdout without --out. Then prints the accuracy on the test split as\n"
    "'test accuracy A (correct/count)'. A model whose widths do not match the data's features and\n"
    "classes is an error naming both. Exit status 0 on success, 1 on an error, 2 on a usage error.";

/* The node lines to f; DGCN_EIO naming path when a write fails. */
static int s_write_lines(FILE *f, const char *path, const dgcn_dataset *ds, const int32_t *pred) {
    errno = 0;
    fprintf(f, "# node predicted label\n");
    for (int32_t i = 0; i < ds->n; i++)
        fprintf(f, "%d %d %d\n", (int)i, (int)pred[i], (int)ds->label[i]);
    if (fflush(f) != 0 || ferror(f))
        return dgcn_error_set(DGCN_EIO, "%s: write failed: %s", path,
                              errno ? strerror(errno) : "error on an earlier write");
    return DGCN_OK;
}

int dgcn_cmd_predict(int argc, char **argv) {
    dgcn_data_source src;
    dgcn_data_source_defaults(&src);
    const char *model = NULL, *out = NULL;
    const dgcn_arg table[] = {
        {"model", DGCN_ARG_STRING, &model, "model file (RUNDIR/model of dgcn train)", 1, 0},
        DGCN_DATA_SOURCE_ARGS(&src),
        {"out", DGCN_ARG_STRING, &out, "file for the per-node lines (default: stdout)", 1, 0},
        DGCN_ARGS_END,
    };
    int prc = dgcn_args_parse(s_usage, table, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
    if (!model) {
        fprintf(stderr, "dgcn predict: --model FILE is required\n");
        return 2;
    }
    int rc = DGCN_OK;
    dgcn_model_file mf;
    dgcn_dataset ds = {0};
    dgcn_csr a_hat = {0};
    int32_t *pred = NULL;
    FILE *f = NULL;
    memset(&mf, 0, sizeof mf);
    DGCN_CHECK(dgcn_model_file_read(model, &mf));
    DGCN_CHECK(dgcn_data_source_open(&src, &ds, &a_hat));
    if (ds.samples)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                  "%s is a traffic folder: predict classifies nodes; a regression "
                                  "run's test errors are in its summary.json",
                                  src.dir));
    DGCN_ALLOC(pred, ds.n);
    dgcn_eval ev;
    rc = dgcn_model_file_predict(&mf, &ds, &a_hat, pred, &ev);
    if (rc != DGCN_OK) DGCN_CHECK(dgcn_error_wrap(rc, "%s: ", model));
    if (out) {
        f = fopen(out, "w");
        if (!f) DGCN_CHECK(dgcn_error_set(DGCN_EIO, "%s: cannot create: %s", out, strerror(errno)));
        DGCN_CHECK(s_write_lines(f, out, &ds, pred));
        int bad = fclose(f) != 0;
        f = NULL;
        if (bad) DGCN_CHECK(dgcn_error_set(DGCN_EIO, "%s: write failed: %s", out, strerror(errno)));
    } else {
        DGCN_CHECK(s_write_lines(stdout, "stdout", &ds, pred));
    }
    int32_t ok = ev.correct[DGCN_SPLIT_TEST], all = ev.count[DGCN_SPLIT_TEST];
    printf("test accuracy %.6f (%d/%d)\n", all ? (double)ok / (double)all : 0.0, (int)ok, (int)all);
fail:
    if (f) fclose(f);
    free(pred);
    dgcn_csr_fini(&a_hat);
    dgcn_dataset_fini(&ds);
    dgcn_model_file_fini(&mf);
    if (rc != DGCN_OK) {
        fprintf(stderr, "dgcn predict: %s: %s\n", dgcn_strerror(rc), dgcn_error_msg());
        return 1;
    }
    return 0;
}
