/* coordinator/cmd_generate.c: `dgcn generate`: write a contextual-SBM graph as a dataset folder
 * (the format of ../shared/data/README.md), so generated graphs run through the same loader as
 * the shipped datasets. */
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "coordinator/data_source.h"

#include "core/error.h"
#include "graph/dataset.h"
#include "graph/generate.h"

#include <stdio.h>

static const char s_usage[] =
    "usage: dgcn generate --out DIR [generator options] [--seed S]\n"
    "\n"
    "Writes a contextual stochastic block model graph (graph/generate.h) as a dataset folder that\n"
    "--data DIR loads. The options and their ranges are those of the graph the training commands\n"
    "generate when given no --data, except that the seed is --seed here (--gen-seed there).";

int dgcn_cmd_generate(int argc, char **argv) {
    dgcn_data_source src;
    dgcn_data_source_defaults(&src);
    const char *out = NULL;
    const dgcn_arg table[] = {
        {"out", DGCN_ARG_STRING, &out, "folder to write (required; created if missing)", 1, 0},
        DGCN_CSBM_ARGS(&src),
        {"seed", DGCN_ARG_U64, &src.gen_seed, "random seed", 1, 0},
        DGCN_ARGS_END,
    };
    int prc = dgcn_args_parse(s_usage, table, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
    if (!out || !out[0]) {
        fprintf(stderr, "error: --out DIR is required (dgcn generate --help)\n");
        return 2;
    }
    dgcn_csbm_params p = dgcn_data_source_csbm(&src);
    dgcn_dataset ds;
    int rc = dgcn_generate_csbm(&ds, &p);
    if (rc) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        return rc == DGCN_EINVAL ? 2 : 1;
    }
    rc = dgcn_dataset_write(&ds, out);
    if (rc) {
        fprintf(stderr, "error: %s\n", dgcn_error_msg());
        dgcn_dataset_fini(&ds);
        return 1;
    }
    printf("wrote %s: %d nodes, %lld edges, %d classes, %d features, train/val/test %d/%d/%d\n",
           out, (int)ds.n, (long long)ds.n_edges, (int)ds.c, (int)ds.d, (int)ds.n_train,
           (int)ds.n_val, (int)ds.n_test);
    dgcn_dataset_fini(&ds);
    return 0;
}
