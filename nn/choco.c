/* nn/choco.c: compressed gossip with public copies (CHOCO-gossip). See nn/choco.h. */
#include "nn/choco.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

struct dgcn_choco {
    dgcn_compress_config cfg; /* gamma resolved */
    int64_t seg_len, len;     /* floats per segment, per message */
    int32_t n_seg;
    int64_t seg_bytes; /* wire bytes per segment */
    uint64_t seed;
    int feedback;
    float *xhat; /* (len) the public copy of the own message */
    float *s;    /* (len) sum_t c_kt xhat_t, self included */
    float *diff; /* (len) x - xhat */
    dgcn_compress_scratch scratch;
};

int dgcn_choco_new(dgcn_choco **out, const dgcn_compress_config *cfg, int64_t seg_len,
                   int32_t n_seg, uint64_t seed) {
    int rc;
    dgcn_choco *c = NULL;
    *out = NULL;
    DGCN_CHECK(dgcn_compress_check(cfg));
    if (cfg->kind == DGCN_COMPRESS_NONE || seg_len < 1 || n_seg < 1 || seg_len > INT32_MAX / 2)
        return dgcn_error_set(DGCN_EINVAL,
                              "compressed gossip: kind %s with %d segments of %lld floats",
                              dgcn_compress_kind_name(cfg->kind), (int)n_seg, (long long)seg_len);
    if (cfg->kind == DGCN_COMPRESS_QUANT && cfg->amount < 2)
        return dgcn_error_set(DGCN_EINVAL,
                              "compressed gossip: quant:1 is not supported: one bit per entry errs "
                              "by more than the vector's norm (not a contraction), so the public "
                              "copies never catch up; use 2 bits or more");
    DGCN_ALLOC(c, 1);
    c->cfg = *cfg;
    if (c->cfg.gamma == 0.0) c->cfg.gamma = dgcn_compress_gamma_auto(cfg->kind, cfg->amount);
    c->seg_len = seg_len;
    c->n_seg = n_seg;
    c->len = seg_len * n_seg;
    c->seg_bytes = dgcn_compress_wire_bytes(cfg->kind, cfg->amount, seg_len);
    c->seed = seed;
    c->feedback = 1;
    DGCN_ALLOC(c->xhat, c->len);
    DGCN_ALLOC(c->s, c->len);
    DGCN_ALLOC(c->diff, c->len);
    DGCN_CHECK(dgcn_compress_scratch_new(&c->scratch, seg_len));
    *out = c;
    return DGCN_OK;
fail:
    dgcn_choco_destroy(&c);
    return rc;
}

void dgcn_choco_destroy(dgcn_choco **pc) {
    if (!pc || !*pc) return;
    dgcn_choco *c = *pc;
    free(c->xhat);
    free(c->s);
    free(c->diff);
    dgcn_compress_scratch_free(&c->scratch);
    free(c);
    *pc = NULL;
}

int64_t dgcn_choco_wire_bytes(const dgcn_choco *c) { return c->seg_bytes * c->n_seg; }
int64_t dgcn_choco_wire_floats(const dgcn_choco *c) { return (dgcn_choco_wire_bytes(c) + 3) / 4; }
double dgcn_choco_gamma(const dgcn_choco *c) { return c->cfg.gamma; }
void dgcn_choco_set_feedback(dgcn_choco *c, int on) { c->feedback = on != 0; }

int dgcn_choco_send(dgcn_choco *c, int32_t self, int64_t iter, int32_t round, const float *x,
                    double c_self, float *wire) {
    unsigned char *w = (unsigned char *)wire;
    const int32_t kind = c->cfg.kind;
    const double amount = c->cfg.amount;
    if (!c->feedback) {
        memset(c->xhat, 0, (size_t)c->len * sizeof *c->xhat);
        memset(c->s, 0, (size_t)c->len * sizeof *c->s);
    }
    for (int64_t i = 0; i < c->len; i++) c->diff[i] = x[i] - c->xhat[i];
    memset(w + dgcn_choco_wire_bytes(c), 0,
           (size_t)(4 * dgcn_choco_wire_floats(c) - dgcn_choco_wire_bytes(c)));
    for (int32_t g = 0; g < c->n_seg; g++) {
        const int64_t at = g * c->seg_len;
        unsigned char *ws = w + g * c->seg_bytes;
        uint64_t key = dgcn_compress_key(c->seed, self, iter, round, g);
        int rc = dgcn_compress_encode(kind, amount, 0, c->diff + at, c->seg_len, key, &c->scratch,
                                      ws);
        if (rc == DGCN_OK)
            rc = dgcn_compress_accumulate(kind, amount, 0, ws, c->seg_len, key, &c->scratch, 1.0,
                                          c->xhat + at);
        if (rc == DGCN_OK)
            rc = dgcn_compress_accumulate(kind, amount, 0, ws, c->seg_len, key, &c->scratch, c_self,
                                          c->s + at);
        if (rc != DGCN_OK) return rc;
    }
    return DGCN_OK;
}

int dgcn_choco_mix(dgcn_choco *c, int64_t iter, int32_t round, const double *row, int32_t n_nb,
                   const int32_t *nb, const float *const *recv, const float *x, float *out) {
    const int32_t kind = c->cfg.kind;
    const double amount = c->cfg.amount;
    for (int32_t i = 0; i < n_nb; i++) {
        if (row[i + 1] == 0.0) continue;
        const unsigned char *w = (const unsigned char *)recv[i];
        for (int32_t g = 0; g < c->n_seg; g++) {
            uint64_t key = dgcn_compress_key(c->seed, nb[i], iter, round, g);
            int rc = dgcn_compress_accumulate(kind, amount, 0, w + g * c->seg_bytes, c->seg_len,
                                              key, &c->scratch, row[i + 1], c->s + g * c->seg_len);
            if (rc != DGCN_OK)
                return dgcn_error_wrap(rc, "from agent %d, segment %d: ", nb[i], (int)g);
        }
    }
    const double gamma = c->cfg.gamma;
    for (int64_t i = 0; i < c->len; i++)
        out[i] = (float)((double)x[i] + gamma * ((double)c->s[i] - (double)c->xhat[i]));
    return DGCN_OK;
}

int64_t dgcn_choco_state_len(const dgcn_choco *c) { return 2 * c->len; }

void dgcn_choco_state_save(const dgcn_choco *c, float *vec) {
    memcpy(vec, c->xhat, (size_t)c->len * sizeof *vec);
    memcpy(vec + c->len, c->s, (size_t)c->len * sizeof *vec);
}

void dgcn_choco_state_load(dgcn_choco *c, const float *vec) {
    memcpy(c->xhat, vec, (size_t)c->len * sizeof *vec);
    memcpy(c->s, vec + c->len, (size_t)c->len * sizeof *vec);
}
