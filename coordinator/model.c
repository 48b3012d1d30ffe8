/* coordinator/model.c: RUNDIR/model between dgcn_model_file and protobuf bytes, and centralized
 * inference with it. See coordinator/model.h. */
#include "coordinator/model.h"

#include "coordinator/rundir.h"
#include "core/checksum.h"
#include "core/error.h"
#include "core/file.h"
#include "model.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_format[] = "dgcn model";

/* FNV-1a 64 over the parameters' bytes. */
static uint64_t s_hash(const float *theta, int64_t n) {
    return dgcn_fnv64(DGCN_FNV64_INIT, theta, (size_t)n * sizeof *theta);
}

/* The plan id of its hex text ("" or not hex: 0). */
static uint64_t s_plan(const char *hex) {
    char *end = NULL;
    uint64_t v = strtoull(hex, &end, 16);
    return end && *end == '\0' && end != hex ? v : 0;
}

int dgcn_model_file_write(const char *dir, const char *name, const dgcn_model_file *m) {
    int rc = DGCN_OK;
    FILE *f = NULL;
    uint8_t *buf = NULL;
    Dgcnpb__Model pb = DGCNPB__MODEL__INIT;
    pb.format = (char *)(uintptr_t)s_format;
    pb.version = DGCN_MODEL_FILE_VERSION;
    pb.kind = m->model.kind;
    pb.n_dims = (size_t)m->model.n_layers + 1;
    pb.dims = (int32_t *)(uintptr_t)m->model.dims;
    pb.order = m->model.kind == DGCN_MODEL_FILTER ? m->model.order : 0;
    pb.n_params = (size_t)m->n_params;
    pb.params = m->theta;
    pb.agents = m->agents;
    pb.iterations = m->iterations;
    pb.seed = m->seed;
    pb.plan_id = (char *)(uintptr_t)m->plan_id;
    pb.params_hash = s_hash(m->theta, m->n_params);
    size_t n = dgcnpb__model__get_packed_size(&pb);
    DGCN_ALLOC(buf, n ? n : 1);
    dgcnpb__model__pack(&pb, buf);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    DGCN_CHECK(dgcn_rundir_fopen_tmp(dir, name, &f));
    DGCN_CHECK(dgcn_seal_write(f, path, "model", s_plan(m->plan_id), buf, n));
    DGCN_CHECK(dgcn_rundir_commit(&f, dir, name));
fail:
    if (f) {
        char tmp[4200];
        fclose(f);
        snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
        remove(tmp);
    }
    free(buf);
    return rc;
}

void dgcn_model_file_fini(dgcn_model_file *m) {
    if (!m) return;
    free(m->theta);
    memset(m, 0, sizeof *m);
}

/* Checks the unpacked message and fills m (theta still NULL). */
static int s_from_pb(const char *path, const Dgcnpb__Model *pb, dgcn_model_file *m) {
    if (!pb->format || strcmp(pb->format, s_format) != 0)
        return dgcn_error_set(DGCN_EINVAL, "%s: not a dgcn model file (format tag missing)", path);
    if (pb->version != DGCN_MODEL_FILE_VERSION)
        return dgcn_error_set(DGCN_EINVAL, "%s: model file version %u (this dgcn reads %d)", path,
                              pb->version, DGCN_MODEL_FILE_VERSION);
    if (pb->kind < DGCN_MODEL_GCN || pb->kind > DGCN_MODEL_FILTER)
        return dgcn_error_set(DGCN_EINVAL, "%s: model kind %d is unknown", path, pb->kind);
    if (pb->n_dims < 2 || pb->n_dims > DGCN_MAX_LAYERS + 1)
        return dgcn_error_set(DGCN_EINVAL, "%s: %zu layer widths (2..%d)", path, pb->n_dims,
                              DGCN_MAX_LAYERS + 1);
    m->model = dgcn_model_defaults((dgcn_model_kind)pb->kind, pb->dims[0],
                                   pb->dims[pb->n_dims - 1]);
    m->model.n_layers = (int)pb->n_dims - 1;
    for (size_t l = 0; l < pb->n_dims; l++) m->model.dims[l] = pb->dims[l];
    m->model.order = pb->order;
    m->model.dropout = 0.0f;
    m->model.weight_decay = 0.0f;
    int rc = dgcn_model_config_check(&m->model);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "%s: ", path);
    m->n_params = dgcn_model_n_params(&m->model);
    if ((int64_t)pb->n_params != m->n_params)
        return dgcn_error_set(DGCN_EINVAL,
                              "%s: %zu parameters for layer widths that need %lld (truncated?)",
                              path, pb->n_params, (long long)m->n_params);
    m->agents = pb->agents;
    m->iterations = pb->iterations;
    m->seed = pb->seed;
    snprintf(m->plan_id, sizeof m->plan_id, "%s", pb->plan_id ? pb->plan_id : "");
    return DGCN_OK;
}

int dgcn_model_file_read(const char *path, dgcn_model_file *m) {
    int rc = DGCN_OK;
    void *buf = NULL;
    int64_t size = 0;
    uint64_t plan = 0;
    Dgcnpb__Model *pb = NULL;
    memset(m, 0, sizeof *m);
    /* the header is checked against the file's size before the payload is read */
    DGCN_CHECK(dgcn_seal_read(path, "model", DGCN_MODEL_MAX_BYTES, &plan, &buf, &size));
    pb = dgcnpb__model__unpack(NULL, (size_t)size, buf);
    if (!pb)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                  "%s: not a dgcn model file (%lld bytes that do not parse: "
                                  "truncated or corrupted)",
                                  path, (long long)size));
    DGCN_CHECK(s_from_pb(path, pb, m));
    if (plan != s_plan(m->plan_id))
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "%s: sealed for plan %016llx, names plan '%s'", path,
                                  (unsigned long long)plan, m->plan_id));
    if (s_hash(pb->params, m->n_params) != pb->params_hash)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                  "%s: the parameters do not match their checksum (corrupted)",
                                  path));
    DGCN_ALLOC(m->theta, m->n_params);
    memcpy(m->theta, pb->params, (size_t)m->n_params * sizeof *m->theta);
    for (int64_t i = 0; i < m->n_params; i++)
        if (m->theta[i] != m->theta[i] || m->theta[i] - m->theta[i] != 0.0f)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "%s: parameter %lld is not finite", path,
                                      (long long)i));
fail:
    if (pb) dgcnpb__model__free_unpacked(pb, NULL);
    free(buf);
    if (rc != DGCN_OK) dgcn_model_file_fini(m);
    return rc;
}

int dgcn_model_file_predict(const dgcn_model_file *m, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                            int32_t *pred, dgcn_eval *ev) {
    int rc = DGCN_OK;
    dgcn_gcn *g = NULL;
    int32_t *gid = NULL;
    const int L = m->model.n_layers;
    if (m->model.dims[0] != ds->d || m->model.dims[L] != ds->c)
        return dgcn_error_set(DGCN_EINVAL,
                              "the model takes %d features to %d classes; the dataset %s has %d "
                              "features and %d classes",
                              m->model.dims[0], m->model.dims[L], ds->name, ds->d, ds->c);
    DGCN_ALLOC(gid, ds->n);
    for (int32_t i = 0; i < ds->n; i++) gid[i] = i;
    dgcn_block blk = {
        .n_own = ds->n,
        .n_halo = 0,
        .a = m->model.kind != DGCN_MODEL_MLP ? a_hat : NULL,
        .x = &ds->x,
        .gid = gid,
        .label = ds->label,
        .split = ds->split,
        .n_train_global = ds->n_train > 0 ? ds->n_train : 1,
        .reg_share = 1.0f,
    };
    DGCN_CHECK(dgcn_gcn_new(&g, &m->model, &blk, NULL, NULL));
    DGCN_CHECK(dgcn_gcn_forward(g, m->theta, 0, 0, 0, ev));
    if (pred) {
        const float *z = dgcn_gcn_logits(g); /* (n, c) */
        for (int32_t i = 0; i < ds->n; i++) {
            const float *row = z + (int64_t)i * ds->c;
            int32_t best = 0;
            for (int32_t k = 1; k < ds->c; k++)
                if (row[k] > row[best]) best = k;
            pred[i] = best;
        }
    }
fail:
    dgcn_gcn_destroy(&g);
    free(gid);
    return rc;
}
