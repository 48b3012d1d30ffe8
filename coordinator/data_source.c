/* coordinator/data_source.c: load or generate, then preprocess, the graph a command trains on. */
#include "coordinator/data_source.h"

#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void dgcn_data_source_defaults(dgcn_data_source *s) {
    dgcn_csbm_params p = dgcn_csbm_defaults();
    memset(s, 0, sizeof *s);
    s->nodes = p.n;
    s->classes = p.c;
    s->features = p.d;
    s->feature_nnz = p.feat_nnz;
    s->train_per_class = p.train_per_class;
    s->val = p.n_val;
    s->test = p.n_test;
    s->degree = p.avg_degree;
    s->homophily = p.homophily;
    s->signal = p.signal;
    s->gen_seed = p.seed;
}

dgcn_csbm_params dgcn_data_source_csbm(const dgcn_data_source *s) {
    dgcn_csbm_params p = dgcn_csbm_defaults();
    p.n = s->nodes;
    p.c = s->classes;
    p.d = s->features;
    p.feat_nnz = s->feature_nnz;
    p.train_per_class = s->train_per_class;
    p.n_val = s->val;
    p.n_test = s->test;
    p.avg_degree = s->degree;
    p.homophily = s->homophily;
    p.signal = s->signal;
    p.seed = s->gen_seed;
    return p;
}

/* How many files in dir end with ext; the last one's path into out. */
static int s_find(const char *dir, const char *ext, char *out, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    size_t le = strlen(ext);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= le || strcmp(e->d_name + l - le, ext) != 0) continue;
        found++;
        if (out) snprintf(out, cap, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return found;
}

int dgcn_data_source_is_series(const dgcn_data_source *s) {
    return s->dir && s_find(s->dir, ".npz", NULL, 0) > 0;
}

/* The traffic folder s->dir as a dataset of the sensor graph with the series' samples. */
static int s_open_series(const char *dir, dgcn_dataset *ds, int *generated) {
    int rc = DGCN_OK;
    char npz[4200], csv[4200];
    dgcn_traffic_series ser;
    memset(&ser, 0, sizeof ser);
    memset(ds, 0, sizeof *ds);
    const char *exts[2] = {".npz", ".csv"};
    char *paths[2] = {npz, csv};
    for (int i = 0; i < 2; i++) {
        int n = s_find(dir, exts[i], paths[i], sizeof npz);
        if (n != 1)
            return dgcn_error_set(n ? DGCN_EINVAL : DGCN_EIO,
                                  "%s: a traffic folder holds one %s file (found %d)", dir, exts[i],
                                  n);
    }
    DGCN_CHECK(dgcn_traffic_read_npz(&ser, npz));
    DGCN_CHECK(dgcn_traffic_read_graph(&ds->adj, csv, ser.n));
    DGCN_ALLOC(ds->samples, 1);
    DGCN_CHECK(dgcn_traffic_prepare(ds->samples, &ser, DGCN_DATA_LAGS));
    char mark[4200];
    struct stat st;
    snprintf(mark, sizeof mark, "%s/GENERATED", dir);
    if (generated) *generated = stat(mark, &st) == 0;
    snprintf(ds->name, sizeof ds->name, "traffic");
    ds->n = ser.n;
    ds->d = DGCN_DATA_LAGS;
    ds->c = 1;
    ds->n_edges = ds->adj.nnz / 2;
    DGCN_CHECK(dgcn_csr_init(&ds->x, ds->n, ds->d, 0));
    DGCN_ALLOC(ds->label, ds->n);
    DGCN_ALLOC(ds->split, ds->n);
    for (int32_t i = 0; i < ds->n; i++) ds->label[i] = -1;
fail:
    dgcn_traffic_series_fini(&ser);
    return rc;
}

int dgcn_data_source_open(const dgcn_data_source *s, dgcn_dataset *ds, dgcn_csr *a_hat) {
    return dgcn_data_source_open_series(s, ds, a_hat, NULL);
}

int dgcn_data_source_open_series(const dgcn_data_source *s, dgcn_dataset *ds, dgcn_csr *a_hat,
                                 int *generated) {
    int rc;
    memset(a_hat, 0, sizeof *a_hat);
    if (generated) *generated = 0;
    if (dgcn_data_source_is_series(s)) {
        DGCN_CHECK(s_open_series(s->dir, ds, generated));
        DGCN_CHECK(dgcn_csr_gcn_norm(a_hat, &ds->adj));
        return DGCN_OK;
    }
    if (s->dir) {
        DGCN_CHECK(dgcn_dataset_load(ds, s->dir));
    } else {
        dgcn_csbm_params p = dgcn_data_source_csbm(s);
        DGCN_CHECK(dgcn_generate_csbm(ds, &p));
    }
    DGCN_CHECK(dgcn_dataset_preprocess(ds, ds->count_features && !s->raw_counts));
    DGCN_CHECK(dgcn_csr_gcn_norm(a_hat, &ds->adj));
    return DGCN_OK;
fail:
    return rc;
}

void dgcn_data_source_describe(const dgcn_data_source *s, char *buf, size_t cap) {
    if (s->dir) {
        snprintf(buf, cap, "%s", s->dir);
        return;
    }
    snprintf(buf, cap,
             "csbm(nodes=%d,classes=%d,degree=%g,homophily=%g,features=%d,signal=%g,seed=%llu)",
             s->nodes, s->classes, s->degree, s->homophily, s->features, s->signal,
             (unsigned long long)s->gen_seed);
}
