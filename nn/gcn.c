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
 * The filter of order K (nn/gcn.h) runs Horner's scheme: P = Hd W_K, then K times P <- Hd W_k +
 * A_hat P (a FORWARD exchange before each product), Z = P + b. Its backward walks the same chain:
 * dP_0 = dZ; dW_k += Hd^T dP_k; dHd += dP_k W_k^T; dP_k+1 = A_hat^T dP_k settled by a BACKWARD
 * exchange; db = column sums of dZ.
 * A batch of B graph signals (regression) is B * width columns per node for A_hat and the
 * exchanges, and n_own * B rows for the dense products.
 *
 * Every buffer is carved from one float arena sized in dgcn_gcn_new; forward and backward allocate
 * nothing. */
#include "nn/gcn.h"

#include "core/error.h"
#include "core/rng.h"
#include "graph/dataset.h"
#include "nn/kernels.h"
#include "nn/receptive.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The rows one pass computes: the whole block, or a receptive plan's rows (nn/receptive.h). Layer
 * l reads n[l] computed rows of M_l (plus the halo rows for the whole block) and writes n[l+1] rows
 * of Z_l through a[l]; the loss reads the n[L] rows with label and split. */
typedef struct s_geom {
    const dgcn_csr *a[DGCN_MAX_LAYERS];  /* (n[l+1], n[l] (+ n_halo)) */
    const dgcn_csr *at[DGCN_MAX_LAYERS]; /* transposes */
    const dgcn_csr *x;                   /* (n[0], dims[0]) sparse features (NULL with xd) */
    int32_t n[DGCN_MAX_LAYERS + 1];
    const int32_t *gid[DGCN_MAX_LAYERS + 1]; /* (n[l]) dropout keys of layer l's input rows */
    const int32_t *label;                    /* (n[L]) */
    const uint8_t *split;                    /* (n[L]) */
} s_geom;

#define S_MASKS 16 /* split masks: bits 1 << DGCN_SPLIT_TRAIN .. 1 << DGCN_SPLIT_TEST */

struct dgcn_gcn {
    dgcn_model_config cfg;
    dgcn_block blk;
    dgcn_exchange_fn exchange;
    void *ctx;
    int32_t b;     /* signals per pass (blk.batch, at least 1) */
    int32_t n_m;   /* rows of the M buffers: n_own + n_halo (GCN, filter) or n_own (MLP) */
    int32_t max_w; /* widest of dims[1..L] */
    dgcn_csr at;   /* (n_own + n_halo, n_own) transpose of blk.a (GCN, filter) */
    float *arena;  /* owns every float buffer below */
    float *xd_val; /* (x->nnz) dropped-and-scaled features of the last training forward */
    float *m[DGCN_MAX_LAYERS];        /* (n_m, b, dims[l+1]) M_l, own rows then halo rows */
    float *h[DGCN_MAX_LAYERS];        /* (n_own, b, dims[l]) H_l for l >= 1 */
    float *hd_buf[DGCN_MAX_LAYERS];   /* (n_own, b, dims[l]) dropout(H_l); l = 0 for dense xd */
    const float *hd[DGCN_MAX_LAYERS]; /* the layer inputs of the last forward (hd_buf or h) */
    const float *x_used; /* values of dropout(X) in the last forward (xd_val or x->val) */
    float *logits;       /* (n_own, b, dims[L]) */
    float *dlogits;   /* (n_own, b, dims[L]) gradient of the loss, from the last training forward */
    float *dz[2];     /* (n_own, b, max_w) ping-pong gradients w.r.t. Z */
    float *dm;        /* (n_m, b, max_w) gradient w.r.t. M over own + halo rows */
    float *dhd;       /* (n_own, b, max_w) gradient w.r.t. Hd */
    float *pk[2];     /* (n_m, b, max_w) filter: the Horner terms P_k and their gradients */
    float *tmp;       /* (n_own, b, max_w) filter: Hd W_k */
    float drop_scale; /* 1 / (1 - p) of the last forward, 1 without dropout */
    int trained;      /* the last forward was a training forward */
    int64_t iter;     /* iteration of the last forward (error messages) */
    s_geom whole;     /* the block's own rows at every layer */
    s_geom ge;        /* the rows of the last forward: whole, or a plan's */
    dgcn_receptive *rf[S_MASKS]; /* receptive plans by split mask (dgcn_gcn_prepare_rows) */
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
    cfg.order = 1;
    return cfg;
}

int dgcn_model_config_check(const dgcn_model_config *cfg) {
    if (!cfg) return dgcn_error_set(DGCN_EINVAL, "model config: NULL");
    if (cfg->kind != DGCN_MODEL_GCN && cfg->kind != DGCN_MODEL_MLP &&
        cfg->kind != DGCN_MODEL_FILTER)
        return dgcn_error_set(DGCN_EINVAL,
                              "model config: kind %d is none of gcn (0), mlp (1), filter (2)",
                              (int)cfg->kind);
    if (cfg->kind == DGCN_MODEL_FILTER && (cfg->order < 0 || cfg->order > DGCN_MAX_ORDER))
        return dgcn_error_set(DGCN_EINVAL, "model config: filter order %d is outside [0, %d]",
                              (int)cfg->order, DGCN_MAX_ORDER);
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

/* Weight matrices of a layer: K + 1 for the filter, else 1. */
static int s_terms(const dgcn_model_config *cfg) {
    return cfg->kind == DGCN_MODEL_FILTER ? cfg->order + 1 : 1;
}

/* Floats of layer l: its weight matrices, and the filter's bias. */
static int64_t s_layer_params(const dgcn_model_config *cfg, int l) {
    int64_t w = (int64_t)cfg->dims[l] * (int64_t)cfg->dims[l + 1];
    return s_terms(cfg) * w + (cfg->kind == DGCN_MODEL_FILTER ? cfg->dims[l + 1] : 0);
}

int64_t dgcn_model_param_offset(const dgcn_model_config *cfg, int layer) {
    int64_t off = 0;
    for (int l = 0; l < layer; l++) off += s_layer_params(cfg, l);
    return off;
}

int64_t dgcn_model_n_params(const dgcn_model_config *cfg) {
    return dgcn_model_param_offset(cfg, cfg->n_layers);
}

int dgcn_model_hops(const dgcn_model_config *cfg) {
    switch (cfg->kind) {
    case DGCN_MODEL_MLP: return 0;
    case DGCN_MODEL_FILTER: return cfg->order;
    default: return 1;
    }
}

int dgcn_model_exchange_widths(const dgcn_model_config *cfg, int32_t *widths) {
    int n = 0;
    for (int l = 0; l < cfg->n_layers; l++)
        for (int j = 0; j < dgcn_model_hops(cfg); j++) widths[n++] = cfg->dims[l + 1];
    return n;
}

void dgcn_model_init(const dgcn_model_config *cfg, float *theta, uint64_t seed) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, seed, DGCN_STREAM_INIT);
    for (int l = 0; l < cfg->n_layers; l++) {
        double r = sqrt(6.0 / ((double)cfg->dims[l] + (double)cfg->dims[l + 1]));
        int64_t n = (int64_t)s_terms(cfg) * cfg->dims[l] * cfg->dims[l + 1];
        float *w = theta + dgcn_model_param_offset(cfg, l);
        for (int64_t i = 0; i < n; i++) w[i] = (float)((2.0 * dgcn_rng_uniform(&rng) - 1.0) * r);
        if (cfg->kind == DGCN_MODEL_FILTER) memset(w + n, 0, (size_t)cfg->dims[l + 1] * sizeof *w);
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
    if (blk->batch < 0 || blk->batch > 65536)
        return dgcn_error_set(DGCN_EINVAL, "gcn block: batch %d is outside [0, 65536]",
                              (int)blk->batch);
    if (blk->batch > 1 && !blk->xd)
        return dgcn_error_set(DGCN_EINVAL, "gcn block: a batch of %d signals needs dense input xd",
                              (int)blk->batch);
    if (!blk->xd && (rc = s_check_csr(blk->x, blk->n_own, cfg->dims[0], "features x"))) return rc;
    if (cfg->kind != DGCN_MODEL_MLP) {
        if ((rc = s_check_csr(blk->a, blk->n_own, blk->n_own + blk->n_halo, "a_hat block")))
            return rc;
        if (blk->n_halo > 0 && !exchange)
            return dgcn_error_set(DGCN_EINVAL, "gcn block: %d halo rows but no exchange hook",
                                  (int)blk->n_halo);
    }
    if (blk->n_own > 0 && !blk->gid)
        return dgcn_error_set(DGCN_EINVAL, "gcn block: gid must not be NULL");
    if (blk->y) {
        if (!(blk->n_values_global > 0.0) || !isfinite(blk->n_values_global))
            return dgcn_error_set(DGCN_EINVAL, "gcn block: n_values_global %g must be > 0",
                                  blk->n_values_global);
    } else if (blk->n_own > 0 && (!blk->label || !blk->split)) {
        return dgcn_error_set(DGCN_EINVAL, "gcn block: gid, label and split must not be NULL");
    }
    int32_t c = cfg->dims[cfg->n_layers];
    for (int32_t r = 0; r < blk->n_own; r++) {
        if (blk->gid[r] < 0)
            return dgcn_error_set(DGCN_EINVAL, "gcn block: row %d has global id %d < 0", (int)r,
                                  (int)blk->gid[r]);
        if (blk->y) continue;
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
    const int graph = cfg->kind != DGCN_MODEL_MLP;
    g->exchange = graph ? exchange : NULL;
    g->ctx = ctx;
    g->drop_scale = 1.0f;
    g->b = blk->batch > 1 ? blk->batch : 1;
    const int L = cfg->n_layers;
    const size_t n_own = (size_t)blk->n_own * (size_t)g->b;
    g->n_m = graph ? blk->n_own + blk->n_halo : blk->n_own;
    g->max_w = 1;
    for (int l = 1; l <= L; l++)
        if (cfg->dims[l] > g->max_w) g->max_w = cfg->dims[l];
    const size_t n_m = (size_t)g->n_m * (size_t)g->b, max_w = (size_t)g->max_w;
    const size_t x_nnz = blk->xd ? 0 : (size_t)blk->x->nnz;
    const size_t d0 = blk->xd ? n_own * (size_t)cfg->dims[0] : 0;

    /* The float arena: xd_val, then per layer M_l, H_l and Hd_l, then the output and gradients. */
    size_t total = x_nnz + d0;
    for (int l = 0; l < L; l++) total += n_m * (size_t)cfg->dims[l + 1];
    for (int l = 1; l < L; l++) total += 2 * n_own * (size_t)cfg->dims[l];
    total += 2 * n_own * (size_t)cfg->dims[L] + 4 * n_own * max_w + 3 * n_m * max_w;
    DGCN_ALLOC(g->arena, total);
    float *p = g->arena;
    g->xd_val = p, p += x_nnz;
    g->hd_buf[0] = p, p += d0;
    g->hd[0] = blk->xd;
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
    g->tmp = p, p += n_own * max_w;
    g->dm = p, p += n_m * max_w;
    g->pk[0] = p, p += n_m * max_w;
    g->pk[1] = p, p += n_m * max_w;
    g->x_used = blk->xd ? NULL : blk->x->val;

    if (graph) {
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
    for (int l = 0; l < L; l++) {
        g->whole.a[l] = blk->a;
        g->whole.at[l] = &g->at;
    }
    g->whole.x = blk->xd ? NULL : blk->x;
    for (int l = 0; l <= L; l++) {
        g->whole.n[l] = blk->n_own;
        g->whole.gid[l] = blk->gid;
    }
    g->whole.label = blk->label;
    g->whole.split = blk->split;
    g->ge = g->whole;
    *out = g;
    return DGCN_OK;
fail:
    free(count);
    dgcn_gcn_destroy(&g);
    return rc;
}

void dgcn_gcn_destroy(dgcn_gcn **g) {
    if (!g || !*g) return;
    for (int m = 0; m < S_MASKS; m++) {
        dgcn_receptive_fini((*g)->rf[m]);
        free((*g)->rf[m]);
    }
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

/* out (n_own * b, fo) = Hd_l w: the sparse features with the values of the last forward's dropout
 * (layer 0 without xd), else the dense layer input. */
static void s_input_matmul(const dgcn_gcn *g, int l, const float *w, float *out, int32_t fo) {
    const int32_t rows = g->ge.n[l] * g->b;
    if (l == 0 && !g->blk.xd) {
        dgcn_csr xv = *g->ge.x;
        xv.val = (float *)(uintptr_t)g->x_used;
        dgcn_sparse_dropout_matmul_forward(out, NULL, &xv, w, fo, NULL, 0.0f, 0, 0, 0);
    } else {
        dgcn_matmul_forward(out, g->hd[l], w, rows, g->cfg.dims[l], fo);
    }
}

/* dw += Hd_l^T dy; dhd += dy w^T when dhd is not NULL (never for layer 0). */
static void s_input_matmul_backward(const dgcn_gcn *g, int l, const float *w, float *dw,
                                    const float *dy, float *dhd, int32_t fo) {
    const int32_t rows = g->ge.n[l] * g->b;
    if (l == 0 && !g->blk.xd) dgcn_sparse_matmul_backward(dw, g->ge.x, g->x_used, dy, fo);
    else dgcn_matmul_backward(dhd, dw, dy, g->hd[l], w, rows, g->cfg.dims[l], fo);
}

/* The filter layer l of order K: z (n_own * b, fo) = sum_k A_hat^k Hd W_k + bias, by Horner. */
static int s_filter_forward(dgcn_gcn *g, int l, const float *theta, float *z) {
    int rc;
    const dgcn_model_config *cfg = &g->cfg;
    const int K = cfg->order;
    const int32_t fi = cfg->dims[l], fo = cfg->dims[l + 1], wb = fo * g->b;
    const int64_t rows = (int64_t)g->blk.n_own * g->b;
    const float *w = theta + dgcn_model_param_offset(cfg, l);
    const int64_t wsz = (int64_t)fi * fo;
    float *pcur = K == 0 ? z : g->pk[0];
    s_input_matmul(g, l, w + K * wsz, pcur, fo); /* P_K */
    for (int k = K - 1; k >= 0; k--) {
        DGCN_CHECK(s_exchange(g, l * K + (K - 1 - k), DGCN_PHASE_FORWARD, pcur, wb));
        float *pnext = k == 0 ? z : g->pk[(K - k) & 1];
        dgcn_spmm(pnext, g->blk.a, pcur, wb);
        s_input_matmul(g, l, w + k * wsz, g->tmp, fo);
        dgcn_axpy(pnext, 1.0f, g->tmp, rows * fo);
        pcur = pnext;
    }
    const float *bias = w + (K + 1) * wsz;
    for (int64_t r = 0; r < rows; r++)
        for (int32_t j = 0; j < fo; j++) z[r * fo + j] += bias[j];
    return DGCN_OK;
fail:
    return rc;
}

/* The filter layer's backward from dz (n_own * b, fo): accumulates dW_k and the bias gradient into
 * dw, and dHd into dhd (NULL for layer 0). */
static int s_filter_backward(dgcn_gcn *g, int l, const float *theta, const float *dz, float *dw,
                             float *dhd) {
    int rc;
    const dgcn_model_config *cfg = &g->cfg;
    const int K = cfg->order;
    const int32_t fi = cfg->dims[l], fo = cfg->dims[l + 1], wb = fo * g->b;
    const int64_t rows = (int64_t)g->blk.n_own * g->b;
    const float *w = theta + dgcn_model_param_offset(cfg, l);
    const int64_t wsz = (int64_t)fi * fo;
    float *db = dw + (K + 1) * wsz;
    for (int64_t r = 0; r < rows; r++)
        for (int32_t j = 0; j < fo; j++) db[j] += dz[r * fo + j];
    const float *dp = dz; /* dP_k, own rows */
    for (int k = 0; k <= K; k++) {
        s_input_matmul_backward(g, l, w + k * wsz, dw + k * wsz, dp, dhd, fo);
        if (k == K) break;
        float *full = g->pk[k & 1]; /* A_hat^T dP_k over own + halo rows */
        dgcn_spmm(full, &g->at, dp, wb);
        DGCN_CHECK(s_exchange(g, l * K + (K - 1 - k), DGCN_PHASE_BACKWARD, full, wb));
        dp = full;
    }
    return DGCN_OK;
fail:
    return rc;
}

/* Regression loss of the output z (n, c) against y: fills ev's sums, and dz = 2 (z - y) * scale
 * when dz is not NULL. */
static void s_mse(float *dz, const float *z, const float *y, int64_t n, float scale,
                  dgcn_eval *ev) {
    double sq = 0.0, ab = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float e = z[i] - y[i];
        sq += (double)e * e;
        ab += fabs((double)e);
        if (dz) dz[i] = 2.0f * e * scale;
    }
    if (ev) {
        ev->sq_sum += sq;
        ev->abs_sum += ab;
        ev->n_values += n;
    }
}

/* The forward pass over the rows of ge (the whole block, or a receptive plan's). */
static int s_forward(dgcn_gcn *g, const s_geom *ge, const float *theta, int training, uint64_t seed,
                     int64_t iter, dgcn_eval *ev) {
    int rc;
    const dgcn_model_config *cfg = &g->cfg;
    const dgcn_block *blk = &g->blk;
    const int L = cfg->n_layers;
    const int32_t n = blk->n_own;
    const float p = training ? cfg->dropout : 0.0f;
    const int drop = p > 0.0f;
    g->trained = 0;
    g->iter = iter;
    g->ge = *ge;
    g->drop_scale = drop ? 1.0f / (1.0f - p) : 1.0f;
    if (ev) memset(ev, 0, sizeof *ev);

    /* Layer 0's input: the sparse features' dropped values, or dropout of the dense input. */
    if (blk->xd) {
        g->hd[0] = blk->xd;
        if (drop) {
            dgcn_dropout_forward(g->hd_buf[0], blk->xd, n, g->b * cfg->dims[0], blk->gid, p, seed,
                                 iter, 0);
            g->hd[0] = g->hd_buf[0];
        }
    }
    for (int l = 0; l < L; l++) {
        const int32_t fi = cfg->dims[l], fo = cfg->dims[l + 1];
        const int32_t n_in = ge->n[l] * g->b, n_out = ge->n[l + 1] * g->b;
        const float *w = theta + dgcn_model_param_offset(cfg, l);
        float *m = g->m[l];
        float *z = l == L - 1 ? g->logits : g->h[l + 1];
        if (l == 0 && !blk->xd) {
            /* M_0 = dropout(X) W_0 (the filter's W_0,0), recording dropout(X)'s values. */
            dgcn_sparse_dropout_matmul_forward(m, drop ? g->xd_val : NULL, ge->x, w, fo, ge->gid[0],
                                               p, seed, iter, 0);
            g->x_used = drop ? g->xd_val : ge->x->val;
        } else if (cfg->kind != DGCN_MODEL_FILTER) {
            dgcn_matmul_forward(m, g->hd[l], w, n_in, fi, fo);
        }
        /* Z_l = A_hat M_l (GCN, halo rows from the neighbours), M_l (MLP), or the filter. */
        if (cfg->kind == DGCN_MODEL_FILTER) {
            DGCN_CHECK(s_filter_forward(g, l, theta, z));
        } else if (cfg->kind == DGCN_MODEL_GCN) {
            DGCN_CHECK(s_exchange(g, l, DGCN_PHASE_FORWARD, m, fo * g->b));
            dgcn_spmm(z, ge->a[l], m, fo * g->b);
        } else {
            memcpy(z, m, (size_t)n_out * (size_t)fo * sizeof *z);
        }
        if (l < L - 1) {
            dgcn_relu_forward(z, z, (int64_t)n_out * fo);
            if (drop) {
                dgcn_dropout_forward(g->hd_buf[l + 1], z, ge->n[l + 1], g->b * fo, ge->gid[l + 1],
                                     p, seed, iter, l + 1);
                g->hd[l + 1] = g->hd_buf[l + 1];
            } else {
                g->hd[l + 1] = z;
            }
        }
    }
    if (blk->y) {
        s_mse(training ? g->dlogits : NULL, g->logits, blk->y, (int64_t)n * g->b * cfg->dims[L],
              (float)(1.0 / blk->n_values_global), ev);
    } else {
        const float grad_scale = blk->n_train_global > 0 ? 1.0f / (float)blk->n_train_global : 0.0f;
        dgcn_softmax_xent(training ? g->dlogits : NULL, g->logits, ge->label, ge->split, ge->n[L],
                          cfg->dims[L], grad_scale, ev);
    }
    g->trained = training != 0;
    return DGCN_OK;
fail:
    return rc;
}

int dgcn_gcn_forward(dgcn_gcn *g, const float *theta, int training, uint64_t seed, int64_t iter,
                     dgcn_eval *ev) {
    if (!g || !theta) return dgcn_error_set(DGCN_EINVAL, "dgcn_gcn_forward: NULL model or theta");
    return s_forward(g, &g->whole, theta, training, seed, iter, ev);
}

/* A model whose passes can be restricted: the GCN or MLP on a whole graph (no halo rows), one
 * signal, sparse features, classification. */
static int s_restrictable(const dgcn_gcn *g) {
    return (g->cfg.kind == DGCN_MODEL_GCN || g->cfg.kind == DGCN_MODEL_MLP) && g->blk.n_halo == 0 &&
           g->b == 1 && !g->blk.xd && !g->blk.y;
}

int dgcn_gcn_prepare_rows(dgcn_gcn *g, unsigned mask) {
    int rc;
    uint8_t *want = NULL;
    dgcn_receptive *rf = NULL;
    if (!g || mask >= S_MASKS || (mask & 1u))
        return dgcn_error_set(DGCN_EINVAL, "dgcn_gcn_prepare_rows: bad model or split mask %u",
                              mask);
    if (mask == 0 || !s_restrictable(g) || g->rf[mask]) return DGCN_OK;
    const dgcn_block *blk = &g->blk;
    DGCN_ALLOC(want, blk->n_own);
    for (int32_t r = 0; r < blk->n_own; r++)
        want[r] = blk->label[r] >= 0 && ((mask >> blk->split[r]) & 1u);
    DGCN_ALLOC(rf, 1);
    DGCN_CHECK(dgcn_receptive_build(rf, g->cfg.n_layers,
                                    g->cfg.kind == DGCN_MODEL_GCN ? blk->a : NULL, blk->x, blk->gid,
                                    blk->label, blk->split, want));
    g->rf[mask] = rf;
    rf = NULL;
    rc = DGCN_OK;
fail:
    free(want);
    free(rf);
    return rc;
}

int dgcn_gcn_forward_rows(dgcn_gcn *g, const float *theta, int training, uint64_t seed,
                          int64_t iter, unsigned mask, dgcn_eval *ev) {
    if (!g || !theta)
        return dgcn_error_set(DGCN_EINVAL, "dgcn_gcn_forward_rows: NULL model or theta");
    const dgcn_receptive *rf = mask < S_MASKS ? g->rf[mask] : NULL;
    if (!rf) return s_forward(g, &g->whole, theta, training, seed, iter, ev);
    s_geom ge;
    memset(&ge, 0, sizeof ge);
    for (int l = 0; l < g->cfg.n_layers; l++) {
        ge.a[l] = &rf->a[l];
        ge.at[l] = &rf->at[l];
    }
    ge.x = &rf->x;
    for (int l = 0; l <= g->cfg.n_layers; l++) {
        ge.n[l] = rf->n[l];
        ge.gid[l] = rf->gid[l];
    }
    ge.label = rf->label;
    ge.split = rf->split;
    return s_forward(g, &ge, theta, training, seed, iter, ev);
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
    const s_geom *ge = &g->ge;
    const int L = cfg->n_layers;
    /* The weight decay's term wd * W_0 starts layer 0's gradient (one pass over W_0 instead of a
     * zeroing pass and an axpy pass: the first layer is the widest, 3.9 M floats on NELL); every
     * product then accumulates into it. */
    const float wd = g->blk.reg_share * cfg->weight_decay;
    const int64_t n_decay = wd != 0.0f ? (int64_t)s_terms(cfg) * cfg->dims[0] * cfg->dims[1] : 0;
    if (n_decay > 0) dgcn_scale_copy(grad, wd, theta, n_decay);
    memset(grad + n_decay, 0, (size_t)(dgcn_model_n_params(cfg) - n_decay) * sizeof *grad);

    const float *dz = g->dlogits; /* (nb, dims[l+1]) gradient w.r.t. Z_l */
    for (int l = L - 1; l >= 0; l--) {
        const int32_t fi = cfg->dims[l], fo = cfg->dims[l + 1];
        const int32_t nb = ge->n[l] * g->b; /* rows of layer l's input */
        const float *w = theta + dgcn_model_param_offset(cfg, l);
        float *dw = grad + dgcn_model_param_offset(cfg, l);
        float *dhd = l > 0 ? g->dhd : NULL;
        if (dhd) memset(dhd, 0, (size_t)nb * (size_t)fi * sizeof *dhd);
        if (cfg->kind == DGCN_MODEL_FILTER) {
            DGCN_CHECK(s_filter_backward(g, l, theta, dz, dw, dhd));
        } else if (cfg->kind == DGCN_MODEL_GCN && l == 0 && !g->exchange && !g->blk.xd &&
                   fo <= DGCN_FUSED_MAX_W) {
            /* No hook has to settle halo rows in between: dW_0 = dropout(X)^T (A_hat^T dZ_0) in
             * one pass, dM_0 never stored. */
            dgcn_spmm_sparse_backward(dw, ge->at[0], dz, ge->x, g->x_used, fo);
        } else {
            /* dM_l = A_hat^T dZ_l over own + halo rows; the hook settles the halo rows. */
            const float *dm = dz;
            if (cfg->kind == DGCN_MODEL_GCN) {
                dgcn_spmm(g->dm, ge->at[l], dz, fo * g->b);
                DGCN_CHECK(s_exchange(g, l, DGCN_PHASE_BACKWARD, g->dm, fo * g->b));
                dm = g->dm;
            }
            s_input_matmul_backward(g, l, w, dw, dm, dhd, fo);
        }
        if (l > 0) {
            float *dz_next = g->dz[l & 1];
            dgcn_relu_dropout_backward(dz_next, g->dhd, g->hd[l], g->drop_scale, (int64_t)nb * fi);
            dz = dz_next;
        }
    }
    return DGCN_OK;
fail:
    return rc;
}
