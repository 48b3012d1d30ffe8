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
 * Dropout masks are counter-based (nn/kernels.h), keyed by (seed, iteration, layer, global node id,
 * column), so a distributed run draws exactly the centralized run's masks.
 *
 * The loss is the cross-entropy summed over the training nodes in the block divided by the GLOBAL
 * training count, plus reg_share * weight_decay / 2 * ||W_0||^2, so the blocks' losses and
 * gradients add up to the centralized ones (reg_share = 1/M for M agents).
 *
 * Parameters are one contiguous vector: W_0 (dims[0], dims[1]) row-major, then W_1, ... No biases
 * (as in Kipf and Welling's reference code). All work memory is allocated by dgcn_gcn_new; forward
 * and backward allocate nothing. */
#ifndef DGCN_NN_GCN_H
#define DGCN_NN_GCN_H

#include "graph/csr.h"

#include <stdint.h>

#define DGCN_MAX_LAYERS 8

typedef enum dgcn_model_kind { DGCN_MODEL_GCN = 0, DGCN_MODEL_MLP = 1 } dgcn_model_kind;

typedef struct dgcn_model_config {
    dgcn_model_kind kind;
    int n_layers;                      /* L >= 1 (default 2) */
    int32_t dims[DGCN_MAX_LAYERS + 1]; /* dims[0] = features, dims[L] = classes */
    float dropout;                     /* drop probability on every layer's input (0.5) */
    float weight_decay;                /* L2 on W_0 (5e-4) */
} dgcn_model_config;

/* Kipf and Welling's setup for d features and c classes: 2 layers, 16 hidden, dropout 0.5, 5e-4. */
dgcn_model_config dgcn_model_defaults(dgcn_model_kind kind, int32_t d, int32_t c);
/* Checks the configuration; DGCN_EINVAL names the bad field. */
int dgcn_model_config_check(const dgcn_model_config *cfg);
/* Number of floats in the parameter vector, and where layer l's W_l starts in it. */
int64_t dgcn_model_n_params(const dgcn_model_config *cfg);
int64_t dgcn_model_param_offset(const dgcn_model_config *cfg, int layer);
/* Glorot-uniform initialization of theta (n_params floats) from (seed, DGCN_STREAM_INIT). */
void dgcn_model_init(const dgcn_model_config *cfg, float *theta, uint64_t seed);

typedef enum dgcn_phase { DGCN_PHASE_FORWARD = 0, DGCN_PHASE_BACKWARD = 1 } dgcn_phase;

/* The exchange hook. rows is (n_own + n_halo, width), row-major.
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
    const dgcn_csr *x;      /* (n_own, dims[0]) features, preprocessed */
    const int32_t *gid;     /* (n_own) global node ids (dropout keys) */
    const int32_t *label;   /* (n_own) class or -1 */
    const uint8_t *split;   /* (n_own) enum dgcn_split */
    int32_t n_train_global; /* training nodes in the whole graph (loss normalizer) */
    float reg_share;        /* this block's share of the weight decay (1 centralized, 1/M) */
} dgcn_block;

/* Per-split sums over the block, indexed by enum dgcn_split (index 0 unused). */
typedef struct dgcn_eval {
    double loss_sum[4]; /* summed cross-entropy (not divided) */
    int32_t correct[4]; /* argmax == label */
    int32_t count[4];   /* labelled nodes */
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

/* Backward pass after a training forward: writes grad (n_params floats, overwritten) = gradient of
 * this block's loss (see above) with respect to theta. */
int dgcn_gcn_backward(dgcn_gcn *g, const float *theta, float *grad);

/* The block's output logits (n_own, dims[L]) from the last forward. */
const float *dgcn_gcn_logits(const dgcn_gcn *g);

#endif
