/* coordinator/cmd_generate.c: `dgcn generate`: write a contextual-SBM graph as a dataset folder
 * (the format of ../shared/data/README.md), so generated graphs run through the same loader as
 * the shipped datasets. */
#include "coordinator/commands.h"

#include "core/error.h"
#include "graph/dataset.h"
#include "graph/generate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_usage(FILE *f, const dgcn_csbm_params *d) {
    fprintf(f,
            "usage: dgcn generate --out DIR [options]\n\n"
            "Writes a contextual stochastic block model graph as a dataset folder.\n\n"
            "options (default in brackets):\n"
            "  --out DIR              folder to write (created if missing) [required]\n"
            "  --nodes N              number of nodes [%d]\n"
            "  --classes C            number of classes [%d]\n"
            "  --degree D             mean degree [%g]\n"
            "  --homophily H          fraction of intra-class edges, in [0, 1] [%g]\n"
            "  --features F           feature dimension [%d]\n"
            "  --feature-nnz K        active features per node [%d]\n"
            "  --signal S             fraction of active features from the class block [%g]\n"
            "  --train-per-class T    training nodes per class [%d]\n"
            "  --val V                validation nodes [%d]\n"
            "  --test T               test nodes [%d]\n"
            "  --seed S               random seed [%" PRIu64 "]\n"
            "  --help                 print this help\n",
            (int)d->n, (int)d->c, d->avg_degree, d->homophily, (int)d->d, (int)d->feat_nnz,
            d->signal, (int)d->train_per_class, (int)d->n_val, (int)d->n_test, d->seed);
}

static int s_int_arg(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "dgcn generate: %s: expected an integer in [%lld, %lld], found '%s'\n", opt,
                (long long)lo, (long long)hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

static int s_real_arg(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "dgcn generate: %s: expected a number in [%g, %g], found '%s'\n", opt, lo,
                hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

int dgcn_cmd_generate(int argc, char **argv) {
    dgcn_csbm_params p = dgcn_csbm_defaults();
    const dgcn_csbm_params defaults = p;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            s_usage(stdout, &defaults);
            return 0;
        }
        if (strncmp(opt, "--", 2) != 0) {
            fprintf(stderr, "dgcn generate: unexpected argument '%s' (see --help)\n", opt);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "dgcn generate: %s needs a value (see --help)\n", opt);
            return 2;
        }
        const char *val = argv[++i];
        int64_t iv = 0;
        int ok = 1;
        if (!strcmp(opt, "--out")) out = val;
        else if (!strcmp(opt, "--nodes")) ok = s_int_arg(opt, val, 2, INT32_MAX, &iv) && (p.n = (int32_t)iv, 1);
        else if (!strcmp(opt, "--classes")) ok = s_int_arg(opt, val, 1, INT32_MAX, &iv) && (p.c = (int32_t)iv, 1);
        else if (!strcmp(opt, "--degree")) ok = s_real_arg(opt, val, 0.0, 1e9, &p.avg_degree);
        else if (!strcmp(opt, "--homophily")) ok = s_real_arg(opt, val, 0.0, 1.0, &p.homophily);
        else if (!strcmp(opt, "--features")) ok = s_int_arg(opt, val, 1, INT32_MAX, &iv) && (p.d = (int32_t)iv, 1);
        else if (!strcmp(opt, "--feature-nnz")) ok = s_int_arg(opt, val, 0, INT32_MAX, &iv) && (p.feat_nnz = (int32_t)iv, 1);
        else if (!strcmp(opt, "--signal")) ok = s_real_arg(opt, val, 0.0, 1.0, &p.signal);
        else if (!strcmp(opt, "--train-per-class")) ok = s_int_arg(opt, val, 0, INT32_MAX, &iv) && (p.train_per_class = (int32_t)iv, 1);
        else if (!strcmp(opt, "--val")) ok = s_int_arg(opt, val, 0, INT32_MAX, &iv) && (p.n_val = (int32_t)iv, 1);
        else if (!strcmp(opt, "--test")) ok = s_int_arg(opt, val, 0, INT32_MAX, &iv) && (p.n_test = (int32_t)iv, 1);
        else if (!strcmp(opt, "--seed")) ok = s_int_arg(opt, val, 0, INT64_MAX, &iv) && (p.seed = (uint64_t)iv, 1);
        else {
            fprintf(stderr, "dgcn generate: unknown option '%s' (see --help)\n", opt);
            return 2;
        }
        if (!ok) return 2;
    }
    if (!out || !out[0]) {
        fprintf(stderr, "dgcn generate: --out DIR is required (see --help)\n");
        return 2;
    }
    dgcn_dataset ds;
    int rc = dgcn_generate_csbm(&ds, &p);
    if (rc) {
        fprintf(stderr, "dgcn generate: %s\n", dgcn_error_msg());
        return rc == DGCN_EINVAL ? 2 : 1;
    }
    rc = dgcn_dataset_write(&ds, out);
    if (rc) {
        fprintf(stderr, "dgcn generate: %s\n", dgcn_error_msg());
        dgcn_dataset_fini(&ds);
        return 1;
    }
    printf("wrote %s: %d nodes, %lld edges, %d classes, %d features, train/val/test %d/%d/%d\n",
           out, (int)ds.n, (long long)ds.n_edges, (int)ds.c, (int)ds.d, (int)ds.n_train,
           (int)ds.n_val, (int)ds.n_test);
    dgcn_dataset_fini(&ds);
    return 0;
}
