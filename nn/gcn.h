/* nn/gcn.h: the GCN (and MLP) model on a block of rows, forward and backward.
 *
 * One code path serves the centralized model and every agent. A model instance computes the rows
 * it owns (n_own nodes); its block of A_hat has n_own rows and n_own + n_halo columns, the halo
 * columns being nodes owned by other agents. Whenever a layer needs halo rows (forward) or has
 * gradient rows that belong to other agents (backward) it calls the exchange hook; the hook is the
 * only place that knows about neighbours and transports. The centralized model is the case
 * n_halo = 0 with no hook.
 *
 * Layer l (PAPER.md): M = dropout(H_l) W_l; Z = A_hat M; H_{l+1} = ReLU(Z) (no ReLU on the output,
 * which feeds softmax cross-entropy). The MLP skips A_hat (Z = M) and never exchanges.
 * The graph filter of order K (kind DGCN_MODEL_FILTER, the paper's traffic model) has
 *   Z = sum_{k=0..K} A_hat^k Hd W_{l,k} + b_l,
 * evaluated as K nested products (Horner): P_K = Hd W_K, P_k = Hd W_k + A_hat P_{k+1}, Z = P_0 + b,
 * so a layer makes K forward and K backward exchanges of width dims[l+1], each exact. K = 0 is a
 * linear (per node) layer; K = 1 with W_{l,0} = 0 and b = 0 is the GCN layer.
 * Dropout masks are counter-based (nn/kernels.h), keyed by (seed, iteration, layer, global node id,
 * column), so a distributed run draws exactly the centralized run's masks.
 *
 * The loss is the cross-entropy summed over the training nodes in the block divided by the GLOBAL
 * training count, plus reg_share * weight_decay / 2 * ||W_0||^2, so the blocks' losses and
 * gradients add up to the centralized ones (reg_share = 1/M for M agents).
 *
 * Parameters are one contiguous vector: W_0 (dims[0], dims[1]) row-major, then W_1, ... No biases
 * (as in Kipf and Welling's reference code). A filter layer l holds W_{l,0} .. W_{l,K}
 * (dims[l], dims[l+1]) each, then its bias b_l (dims[l+1]); weight decay covers layer 0's W_{0,k}. All work memory is allocated by dgcn_gcn_new; forward
 * and backward allocate nothing. */
#ifndef DGCN_NN_GCN_H
#define DGCN_NN_GCN_H

#include "graph/csr.h"

#include <stdint.h>

#define DGCN_MAX_LAYERS 8
#define DGCN_MAX_ORDER 8 /* largest filter order K */

typedef enum dgcn_model_kind {
    DGCN_MODEL_GCN = 0,
    DGCN_MODEL_MLP = 1,
    DGCN_MODEL_FILTER = 2 /* graph filter of order cfg.order, with biases */
} dgcn_model_kind;

typedef struct dgcn_model_config {
    dgcn_model_kind kind;
    int n_layers;                      /* L >= 1 (default 2) */
    int32_t dims[DGCN_MAX_LAYERS + 1]; /* dims[0] = features, dims[L] = classes */
    float dropout;                     /* drop probability on every layer's input (0.5) */
    float weight_decay;                /* L2 on W_0 (5e-4) */
    int32_t order;                     /* filter order K in [0, DGCN_MAX_ORDER] (FILTER only) */
} dgcn_model_config;

/* Kipf and Welling's setup for d features and c classes: 2 layers, 16 hidden, dropout 0.5, 5e-4. */
dgcn_model_config dgcn_model_defaults(dgcn_model_kind kind, int32_t d, int32_t c);
/* Checks the configuration; DGCN_EINVAL names the bad field. */
int dgcn_model_config_check(const dgcn_model_config *cfg);
/* Number of floats in the parameter vector, and where layer l's W_l starts in it. */
int64_t dgcn_model_n_params(const dgcn_model_config *cfg);
int64_t dgcn_model_param_offset(const dgcn_model_config *cfg, int layer);
/* Glorot-uniform initialization of theta (n_params floats) from (seed, DGCN_STREAM_INIT); filter
 * biases start at 0. */
void dgcn_model_init(const dgcn_model_config *cfg, float *theta, uint64_t seed);
/* Halo exchanges per layer: 0 (MLP), 1 (GCN), K (filter of order K). */
int dgcn_model_hops(const dgcn_model_config *cfg);
/* The widths of one pass's forward exchanges in order (as many as n_layers * hops, at most
 * DGCN_MAX_LAYERS * DGCN_MAX_ORDER) into widths; returns their number. The backward pass makes
 * the same exchanges in reverse. */
int dgcn_model_exchange_widths(const dgcn_model_config *cfg, int32_t *widths);

typedef enum dgcn_phase { DGCN_PHASE_FORWARD = 0, DGCN_PHASE_BACKWARD = 1 } dgcn_phase;

/* The exchange hook. rows is (n_own + n_halo, width), row-major. layer numbers the exchange
 * within the pass: l for the GCN, l * K + j for hop j of a filter layer l of order K.
 * FORWARD: rows [0, n_own) hold this block's M; the hook sends the boundary rows each neighbour
 *   needs and fills rows [n_own, n_own + n_halo) with the neighbours' rows.
 * BACKWARD: rows hold this block's partial gradient w.r.t. M over own and halo rows; the hook sends
 *   each halo row to its owner and adds the contributions it receives into the own rows.
 * Returns a dgcn_err; a failure aborts the pass with that code. */
typedef int (*dgcn_exchange_fn)(void *ctx, int layer, dgcn_phase phase, float *rows, int32_t width);

/* The rows a model instance owns. Views: the model does not copy or own them. */
typedef struct dgcn_block {
    int32_t n_own;          /* rows owned */
    int32_t n_halo;         /* halo columns of a (0 when centralized) */
    const dgcn_csr *a;      /* (n_own, n_own + n_halo) rows of A_hat; NULL for the MLP */
    const dgcn_csr *x;      /* (n_own, dims[0]) features, preprocessed; NULL when xd is set */
    const int32_t *gid;     /* (n_own) global node ids (dropout keys) */
    const int32_t *label;   /* (n_own) class or -1; may be NULL for regression */
    const uint8_t *split;   /* (n_own) enum dgcn_split; may be NULL for regression */
    int32_t n_train_global; /* training nodes in the whole graph (loss normalizer) */
    float reg_share;        /* this block's share of the weight decay (1 centralized, 1/M) */
    /* Regression on a batch of graph signals (y != NULL): every pass reads xd and y afresh, so the
     * caller refills them between passes. The loss is sum (Z - y)^2 / n_values_global over the
     * block; every exchange carries the batch (width batch * dims[l+1]). */
    int32_t batch;          /* signals per pass (0 means 1); > 1 needs xd */
    const float *xd;        /* (n_own, batch, dims[0]) dense input, or NULL: x */
    const float *y;         /* (n_own, batch, dims[L]) targets, or NULL: classification */
    double n_values_global; /* regression: target values of the batch in the whole graph */
} dgcn_block;

/* Per-split sums over the block, indexed by enum dgcn_split (index 0 unused); regression fills
 * the last three instead. */
typedef struct dgcn_eval {
    double loss_sum[4]; /* summed cross-entropy (not divided) */
    int32_t correct[4]; /* argmax == label */
    int32_t count[4];   /* labelled nodes */
    double sq_sum;      /* regression: sum of (Z - y)^2 */
    double abs_sum;     /* regression: sum of |Z - y| */
    int64_t n_values;   /* regression: target values summed over */
} dgcn_eval;

typedef struct dgcn_gcn dgcn_gcn;

/* Sizes every work buffer for cfg and blk. exchange may be NULL when n_halo == 0 and no
 * neighbours exist. On success *out owns the workspace; blk's arrays must outlive it. */
int dgcn_gcn_new(dgcn_gcn **out, const dgcn_model_config *cfg, const dgcn_block *blk,
                 dgcn_exchange_fn exchange, void *ctx);
void dgcn_gcn_destroy(dgcn_gcn **g);

/* Forward pass with parameters theta. training != 0 applies dropout keyed by (seed, iter). Fills
 * ev (may be NULL). Keeps what backward needs. */
int dgcn_gcn_forward(dgcn_gcn *g, const float *theta, int training, uint64_t seed, int64_t iter,
                     dgcn_eval *ev);

/* Split masks of dgcn_gcn_forward_rows: bit 1 << s selects the labelled rows of split s. */
#define DGCN_ROWS_SPLIT(s) (1u << (s))

/* Prepares passes restricted to what a loss over the labelled rows of the splits in mask reads:
 * their receptive field (K hops for K layers, nn/receptive.h), built here once (this allocates;
 * the passes do not). A model whose passes cannot be restricted (the filter, halo rows, a batch,
 * dense input, regression) keeps whole passes: the call succeeds and changes nothing. */
int dgcn_gcn_prepare_rows(dgcn_gcn *g, unsigned mask);

/* dgcn_gcn_forward computing only the receptive field of the labelled rows of the splits in mask
 * (prepared with dgcn_gcn_prepare_rows; an unprepared mask runs the whole pass). ev counts only
 * those rows, with the same figures as a whole pass; a dgcn_gcn_backward after it gives the
 * gradient of those rows' loss, which is the whole pass's gradient when mask holds the training
 * split (no other row has a loss term). dgcn_gcn_logits then holds the logits of those rows
 * only, in increasing row order. */
int dgcn_gcn_forward_rows(dgcn_gcn *g, const float *theta, int training, uint64_t seed,
                          int64_t iter, unsigned mask, dgcn_eval *ev);

/* Backward pass after a training forward: writes grad (n_params floats, overwritten) = gradient of
 * this block's loss (see above) with respect to theta. */
int dgcn_gcn_backward(dgcn_gcn *g, const float *theta, float *grad);

/* The block's output logits (n_own, batch, dims[L]) from the last whole forward. */
const float *dgcn_gcn_logits(const dgcn_gcn *g);

#endif
