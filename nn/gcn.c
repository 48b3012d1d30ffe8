/* nn/gcn.c: the GCN and MLP on a block of rows, forward and backward (contract in nn/gcn.h).
 *
 * Layer l, for the block's own rows (PAPER.md, "Distributed inference"):
 *   Hd_l = dropout(H_l)           (H_0 = X sparse: the mask is fused into the product)
 *   M_l  = Hd_l W_l               (own rows; the FORWARD hook fills the halo rows)
 *   Z_l  = A_hat M_l              (GCN; the MLP has Z_l = M_l)
 *   H_l+1 = ReLU(Z_l), or the logits when l = L - 1.
 * Backward, mirrored: dM_l = A_hat^T dZ_l over own + halo rows (a gather through the transpose of the
 * block's A_hat, made once in dgcn_gcn_new), then the BACKWARD hook returns the halo rows to their
 * owners and adds theirs into ours; dW_l = Hd_l^T dM_l; dZ_l-1 = dropout'(ReLU'(dM_l W_l^T)).
 *
 * Every buffer is carved from one float arena sized in dgcn_gcn_new; forward and backward allocate
 * nothing. */
#include "nn/gcn.h"

#include "core/error.h"
#include "core/rng.h"
#include "graph/dataset.h"
#include "nn/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dgcn_gcn {
    dgcn_model_config cfg;
    dgcn_block blk;
    dgcn_exchange_fn exchange;
    void *ctx;
    int32_t n_m;   /* rows of the M buffers: n_own + n_halo (GCN) or n_own (MLP) */
    int32_t max_w; /* widest of dims[1..L] */
    dgcn_csr at;   /* (n_own + n_halo, n_own) transpose of blk.a (GCN only) */
    float *arena;  /* owns every float buffer below */
    float *xd_val; /* (x->nnz) dropped-and-scaled features of the last training forward */
    float *m[DGCN_MAX_LAYERS];        /* (n_m, dims[l+1]) M_l, own rows then halo rows */
    float *h[DGCN_MAX_LAYERS];        /* (n_own, dims[l]) H_l for l >= 1 */
    float *hd_buf[DGCN_MAX_LAYERS];   /* (n_own, dims[l]) dropout(H_l) for l >= 1 */
    const float *hd[DGCN_MAX_LAYERS]; /* the layer inputs of the last forward (hd_buf or h) */
    const float *x_used; /* values of dropout(X) in the last forward (xd_val or x->val) */
    float *logits;       /* (n_own, dims[L]) */
    float *dlogits;      /* (n_own, dims[L]) gradient of the loss, from the last training forward */
    float *dz[2];        /* (n_own, max_w) ping-pong gradients w.r.t. Z */
    float *dm;           /* (n_m, max_w) gradient w.r.t. M over own + halo rows */
    float *dhd;          /* (n_own, max_w) gradient w.r.t. Hd */
    float drop_scale;    /* 1 / (1 - p) of the last forward, 1 without dropout */
    int trained;         /* the last forward was a training forward */
    int64_t iter;        /* iteration of the last forward (error messages) */
};

dgcn_model_config dgcn_model_defaults(dgcn_model_kind kind, int32_t d, int32_t c) {
    dgcn_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = kind;
    cfg.n_layers = 2;
    cfg.dims[0] = d;
    cfg.dims[1] = 16;
    cfg.dims[2] = c;
    cfg.dropout = 0.5f;
    cfg.weight_decay = 5e-4f;
    return cfg;
}

int dgcn_model_config_check(const dgcn_model_config *cfg) {
    if (!cfg) return dgcn_error_set(DGCN_EINVAL, "model config: NULL");
    if (cfg->kind != DGCN_MODEL_GCN && cfg->kind != DGCN_MODEL_MLP)
        return dgcn_error_set(DGCN_EINVAL, "model config: kind %d is neither gcn (0) nor mlp (1)",
                              (int)cfg->kind);
    if (cfg->n_layers < 1 || cfg->n_layers > DGCN_MAX_LAYERS)
        return dgcn_error_set(DGCN_EINVAL, "model config: n_layers %d is outside [1, %d]",
                              cfg->n_layers, DGCN_MAX_LAYERS);
    for (int l = 0; l <= cfg->n_layers; l++)
        if (cfg->dims[l] < 1)
            return dgcn_error_set(DGCN_EINVAL, "model config: dims[%d] = %d must be >= 1", l,
                                  (int)cfg->dims[l]);
    if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f))
        return dgcn_error_set(DGCN_EINVAL, "model config: dropout %g is outside [0, 1)",
                              (double)cfg->dropout);
    if (!(cfg->weight_decay >= 0.0f) || !isfinite(cfg->weight_decay))
        return dgcn_error_set(DGCN_EINVAL, "model config: weight_decay %g must be finite and >= 0",
                              (double)cfg->weight_decay);
    return DGCN_OK;
}

int64_t dgcn_model_param_offset(const dgcn_model_config *cfg, int layer) {
    int64_t off = 0;
    for (int l = 0; l < layer; l++) off += (int64_t)cfg->dims[l] * (int64_t)cfg->dims[l + 1];
    return off;
}

int64_t dgcn_model_n_params(const dgcn_model_config *cfg) {
    return dgcn_model_param_offset(cfg, cfg->n_layers);
}

void dgcn_model_init(const dgcn_model_config *cfg, float *theta, uint64_t seed) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, seed, DGCN_STREAM_INIT);
    for (int l = 0; l < cfg->n_layers; l++) {
        double r = sqrt(6.0 / ((double)cfg->dims[l] + (double)cfg->dims[l + 1]));
        int64_t n = (int64_t)cfg->dims[l] * (int64_t)cfg->dims[l + 1];
        float *w = theta + dgcn_model_param_offset(cfg, l);
        for (int64_t i = 0; i < n; i++) w[i] = (float)((2.0 * dgcn_rng_uniform(&rng) - 1.0) * r);
    }
}

/* Checks that m is a well-formed (n_rows, n_cols) CSR; what names it in the message. */
static int s_check_csr(const dgcn_csr *m, int32_t n_rows, int32_t n_cols, const char *what) {
    if (!m) return dgcn_error_set(DGCN_EINVAL, "gcn block: %s is NULL", what);
    if (m->n_rows != n_rows || m->n_cols != n_cols)
        return dgcn_error_set(DGCN_EINVAL, "gcn block: %s is %d x %d, expected %d x %d", what,
                              (int)m->n_rows, (int)m->n_cols, (int)n_rows, (int)n_cols);
    if (!m->rowptr || (m->nnz > 0 && (!m->col || !m->val)) || m->nnz < 0)
        return dgcn_error_set(DGCN_EINVAL, "gcn block: %s has missing arrays", what);
    if (m->rowptr[0] != 0 || m->rowptr[n_rows] != m->nnz)
        return dgcn_error_set(DGCN_EINVAL,
                              "gcn block: %s rowptr spans [%lld, %lld], expected [0, %lld]", what,
                              (long long)m->rowptr[0], (long long)m->rowptr[n_rows],
                              (long long)m->nnz);
    for (int32_t r = 0; r < n_rows; r++) {
        if (m->rowptr[r + 1] < m->rowptr[r])
            return dgcn_error_set(DGCN_EINVAL, "gcn block: %s rowptr decreases at row %d", what,
                                  (int)r);
        for (int64_t e = m->rowptr[r]; e < m->rowptr[r + 1]; e++)
            if (m->col[e] < 0 || m->col[e] >= n_cols)
                return dgcn_error_set(DGCN_EINVAL,
                                      "gcn block: %s row %d has column %d outside [0, %d)", what,
                                      (int)r, (int)m->col[e], (int)n_cols);
    }
    return DGCN_OK;
}

static int s_check_block(const dgcn_model_config *cfg, const dgcn_block *blk,
                         dgcn_exchange_fn exchange) {
    int rc;
    if (!blk) return dgcn_error_set(DGCN_EINVAL, "gcn block: NULL");
    if (blk->n_own < 0 || blk->n_halo < 0)
        return dgcn_error_set(DGCN_EINVAL, "gcn block: n_own %d / n_halo %d must be >= 0",
                              (int)blk->n_own, (int)blk->n_halo);
    if ((int64_t)blk->n_own + blk->n_halo > INT32_MAX)
        return dgcn_error_set(DGCN_EINVAL, "gcn block: n_own + n_halo overflows");
    if ((rc = s_check_csr(blk->x, blk->n_own, cfg->dims[0], "features x"))) return rc;
    if (cfg->kind == DGCN_MODEL_GCN) {
        if ((rc = s_check_csr(blk->a, blk->n_own, blk->n_own + blk->n_halo, "a_hat block")))
            return rc;
        if (blk->n_halo > 0 && !exchange)
            return dgcn_error_set(DGCN_EINVAL, "gcn block: %d halo rows but no exchange hook",
                                  (int)blk->n_halo);
    }
    if (blk->n_own > 0 && (!blk->gid || !blk->label || !blk->split))
        return dgcn_error_set(DGCN_EINVAL, "gcn block: gid, label and split must not be NULL");
    int32_t c = cfg->dims[cfg->n_layers];
    for (int32_t r = 0; r < blk->n_own; r++) {
        if (blk->gid[r] < 0)
            return dgcn_error_set(DGCN_EINVAL, "gcn block: row %d has global id %d < 0", (int)r,
                                  (int)blk->gid[r]);
        if (blk->label[r] < -1 || blk->label[r] >= c)
            return dgcn_error_set(DGCN_EINVAL,
                                  "gcn block: row %d (node %d) has label %d outside [-1, %d)",
                                  (int)r, (int)blk->gid[r], (int)blk->label[r], (int)c);
        if (blk->split[r] > DGCN_SPLIT_TEST)
            return dgcn_error_set(DGCN_EINVAL,
                                  "gcn block: row %d (node %d) has split %d outside [0, 3]", (int)r,
                                  (int)blk->gid[r], (int)blk->split[r]);
    }
    if (blk->n_train_global < 0)
        return dgcn_error_set(DGCN_EINVAL, "gcn block: n_train_global %d < 0",
                              (int)blk->n_train_global);
    if (!(blk->reg_share >= 0.0f) || !isfinite(blk->reg_share))
        return dgcn_error_set(DGCN_EINVAL, "gcn block: reg_share %g must be finite and >= 0",
                              (double)blk->reg_share);
    return DGCN_OK;
}

int dgcn_gcn_new(dgcn_gcn **out, const dgcn_model_config *cfg, const dgcn_block *blk,
                 dgcn_exchange_fn exchange, void *ctx) {
    int rc;
    dgcn_gcn *g = NULL;
    int64_t *count = NULL;
    if (!out) return dgcn_error_set(DGCN_EINVAL, "dgcn_gcn_new: out is NULL");
    *out = NULL;
    DGCN_CHECK(dgcn_model_config_check(cfg));
    DGCN_CHECK(s_check_block(cfg, blk, exchange));
    DGCN_ALLOC(g, 1);
    g->cfg = *cfg;
    g->blk = *blk;
    g->exchange = cfg->kind == DGCN_MODEL_GCN ? exchange : NULL;
    g->ctx = ctx;
    g->drop_scale = 1.0f;
    const int L = cfg->n_layers;
    const size_t n_own = (size_t)blk->n_own;
    g->n_m = cfg->kind == DGCN_MODEL_GCN ? blk->n_own + blk->n_halo : blk->n_own;
    g->max_w = 1;
    for (int l = 1; l <= L; l++)
        if (cfg->dims[l] > g->max_w) g->max_w = cfg->dims[l];
    const size_t n_m = (size_t)g->n_m, max_w = (size_t)g->max_w;

    /* The float arena: xd_val, then per layer M_l, H_l and Hd_l, then the output and gradients. */
    size_t total = (size_t)blk->x->nnz;
    for (int l = 0; l < L; l++) total += n_m * (size_t)cfg->dims[l + 1];
    for (int l = 1; l < L; l++) total += 2 * n_own * (size_t)cfg->dims[l];
    total += 2 * n_own * (size_t)cfg->dims[L] + 3 * n_own * max_w + n_m * max_w;
    DGCN_ALLOC(g->arena, total);
    float *p = g->arena;
    g->xd_val = p, p += blk->x->nnz;
    for (int l = 0; l < L; l++) g->m[l] = p, p += n_m * (size_t)cfg->dims[l + 1];
    for (int l = 1; l < L; l++) {
        g->h[l] = p, p += n_own * (size_t)cfg->dims[l];
        g->hd_buf[l] = p, p += n_own * (size_t)cfg->dims[l];
        g->hd[l] = g->h[l];
    }
    g->logits = p, p += n_own * (size_t)cfg->dims[L];
    g->dlogits = p, p += n_own * (size_t)cfg->dims[L];
    g->dz[0] = p, p += n_own * max_w;
    g->dz[1] = p, p += n_own * max_w;
    g->dhd = p, p += n_own * max_w;
    g->dm = p, p += n_m * max_w;
    g->x_used = blk->x->val;

    if (cfg->kind == DGCN_MODEL_GCN) {
        const dgcn_csr *a = blk->a;
        g->at.n_rows = a->n_cols;
        g->at.n_cols = a->n_rows;
        g->at.nnz = a->nnz;
        DGCN_ALLOC(g->at.rowptr, (size_t)a->n_cols + 1);
        DGCN_ALLOC(g->at.col, (size_t)a->nnz);
        DGCN_ALLOC(g->at.val, (size_t)a->nnz);
        DGCN_ALLOC(count, (size_t)a->n_cols);
        dgcn_csr_transpose_fill(&g->at, a, count);
        free(count);
        count = NULL;
    }
    *out = g;
    return DGCN_OK;
fail:
    free(count);
    dgcn_gcn_destroy(&g);
    return rc;
}

void dgcn_gcn_destroy(dgcn_gcn **g) {
    if (!g || !*g) return;
    free((*g)->at.rowptr);
    free((*g)->at.col);
    free((*g)->at.val);
    free((*g)->arena);
    free(*g);
    *g = NULL;
}

const float *dgcn_gcn_logits(const dgcn_gcn *g) { return g->logits; }

/* Calls the exchange hook (when there is one) and names the layer and phase on failure. */
static int s_exchange(dgcn_gcn *g, int layer, dgcn_phase phase, float *rows, int32_t width) {
    if (!g->exchange) return DGCN_OK;
    int rc = g->exchange(g->ctx, layer, phase, rows, width);
    if (rc != DGCN_OK)
        return dgcn_error_wrap(rc, "iteration %lld, layer %d, %s exchange: ", (long long)g->iter,
                               layer, phase == DGCN_PHASE_FORWARD ? "forward" : "backward");
    return DGCN_OK;
}

int dgcn_gcn_forward(dgcn_gcn *g, const float *theta, int training, uint64_t seed, int64_t iter,
                     dgcn_eval *ev) {
    int rc;
    if (!g || !theta) return dgcn_error_set(DGCN_EINVAL, "dgcn_gcn_forward: NULL model or theta");
    const dgcn_model_config *cfg = &g->cfg;
    const dgcn_block *blk = &g->blk;
    const int L = cfg->n_layers;
    const int32_t n = blk->n_own;
    const float p = training ? cfg->dropout : 0.0f;
    const int drop = p > 0.0f;
    g->trained = 0;
    g->iter = iter;
    g->drop_scale = drop ? 1.0f / (1.0f - p) : 1.0f;
    if (ev) memset(ev, 0, sizeof *ev);

    for (int l = 0; l < L; l++) {
        const int32_t fi = cfg->dims[l], fo = cfg->dims[l + 1];
        const float *w = theta + dgcn_model_param_offset(cfg, l);
        float *m = g->m[l];
        /* M_l = dropout(H_l) W_l over the own rows. */
        if (l == 0) {
            dgcn_sparse_dropout_matmul_forward(m, drop ? g->xd_val : NULL, blk->x, w, fo, blk->gid,
                                               p, seed, iter, 0);
            g->x_used = drop ? g->xd_val : blk->x->val;
        } else {
            dgcn_matmul_forward(m, g->hd[l], w, n, fi, fo);
        }
        /* Z_l = A_hat M_l (GCN, halo rows from the neighbours) or M_l (MLP). */
        float *z = l == L - 1 ? g->logits : g->h[l + 1];
        if (cfg->kind == DGCN_MODEL_GCN) {
            DGCN_CHECK(s_exchange(g, l, DGCN_PHASE_FORWARD, m, fo));
            dgcn_spmm(z, blk->a, m, fo);
        } else {
            memcpy(z, m, (size_t)n * (size_t)fo * sizeof *z);
        }
        if (l < L - 1) {
            dgcn_relu_forward(z, z, (int64_t)n * fo);
            if (drop) {
                dgcn_dropout_forward(g->hd_buf[l + 1], z, n, fo, blk->gid, p, seed, iter, l + 1);
                g->hd[l + 1] = g->hd_buf[l + 1];
            } else {
                g->hd[l + 1] = z;
            }
        }
    }
    const float grad_scale = blk->n_train_global > 0 ? 1.0f / (float)blk->n_train_global : 0.0f;
    dgcn_softmax_xent(training ? g->dlogits : NULL, g->logits, blk->label, blk->split, n,
                      cfg->dims[L], grad_scale, ev);
    g->trained = training != 0;
    return DGCN_OK;
fail:
    return rc;
}

int dgcn_gcn_backward(dgcn_gcn *g, const float *theta, float *grad) {
    int rc;
    if (!g || !theta || !grad)
        return dgcn_error_set(DGCN_EINVAL, "dgcn_gcn_backward: NULL argument");
    if (!g->trained)
        return dgcn_error_set(DGCN_EINVAL,
                              "dgcn_gcn_backward: iteration %lld: no training forward "
                              "to differentiate",
                              (long long)g->iter);
    const dgcn_model_config *cfg = &g->cfg;
    const dgcn_block *blk = &g->blk;
    const int L = cfg->n_layers;
    const int32_t n = blk->n_own;
    memset(grad, 0, (size_t)dgcn_model_n_params(cfg) * sizeof *grad);

    const float *dz = g->dlogits; /* (n, dims[l+1]) gradient w.r.t. Z_l */
    for (int l = L - 1; l >= 0; l--) {
        const int32_t fi = cfg->dims[l], fo = cfg->dims[l + 1];
        const float *w = theta + dgcn_model_param_offset(cfg, l);
        float *dw = grad + dgcn_model_param_offset(cfg, l);
        /* dM_l = A_hat^T dZ_l over own + halo rows; the hook settles the halo rows. */
        const float *dm = dz;
        if (cfg->kind == DGCN_MODEL_GCN) {
            dgcn_spmm(g->dm, &g->at, dz, fo);
            DGCN_CHECK(s_exchange(g, l, DGCN_PHASE_BACKWARD, g->dm, fo));
            dm = g->dm;
        }
        if (l == 0) {
            dgcn_sparse_matmul_backward(dw, blk->x, g->x_used, dm, fo);
        } else {
            memset(g->dhd, 0, (size_t)n * (size_t)fi * sizeof *g->dhd);
            dgcn_matmul_backward(g->dhd, dw, dm, g->hd[l], w, n, fi, fo);
            float *dz_next = g->dz[l & 1];
            dgcn_relu_dropout_backward(dz_next, g->dhd, g->hd[l], g->drop_scale, (int64_t)n * fi);
            dz = dz_next;
        }
    }
    const float wd = blk->reg_share * cfg->weight_decay;
    if (wd != 0.0f) dgcn_axpy(grad, wd, theta, (int64_t)cfg->dims[0] * cfg->dims[1]);
    return DGCN_OK;
fail:
    return rc;
}
