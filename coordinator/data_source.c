/* coordinator/data_source.c: load or generate, then preprocess, the graph a command trains on. */
#include "coordinator/data_source.h"

#include "core/error.h"

#include <stdio.h>
#include <string.h>

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

int dgcn_data_source_open(const dgcn_data_source *s, dgcn_dataset *ds, dgcn_csr *a_hat) {
    int rc;
    memset(a_hat, 0, sizeof *a_hat);
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
