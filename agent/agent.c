/* agent/agent.c: one agent: its shard's GCN block, the halo exchange hook over the transport, and
 * the consensus step. See agent/agent.h. */
#include "agent/agent.h"

#include "agent/links.h"
#include "nn/choco.h"

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "nn/halo_codec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dgcn_agent {
    const dgcn_shard *shard; /* view */
    dgcn_transport *t;       /* view */
    dgcn_model_config model;
    dgcn_agent_opts opts;
    dgcn_block blk;
    dgcn_gcn *gcn;
    dgcn_consensus *cons;
    int64_t n_params;     /* P */
    int64_t msg_len;      /* floats per consensus message */
    float *theta;         /* (P) theta_k */
    float *grad;          /* (P) g_k of the last backward */
    float *msgs[3];       /* (msg_len) each: own consensus messages, in turn, so a buffer sent in
                           * one exchange is rewritten only after the second next has begun, as
                           * an in-place hand-over asks (dgcn_exchange.lend) */
    int msg_next;         /* the one s_msg_take gives next */
    int msgs_lent;        /* msgs come from dgcn_transport_lend_buffer (the transport frees them) */
    float *msg_recv;      /* (n_nb, msg_len) neighbours' messages where the transport copies them;
                           * NULL where it hands them over in place */
    const float **x_lent; /* (n_nb) where neighbour i's consensus message can be read */
    double *mix_row;      /* (n_nb + 1) self weight, then one per neighbour */
    int32_t n_nb;         /* communication neighbours */
    int32_t *nb_peer;     /* (n_nb) index into shard->peer, or -1 when not a data peer */
    int32_t max_width;    /* widest exchanged layer output */
    float *halo_buf;      /* (sum over peers of send rows, max_width) gather / receive space */
    int64_t *halo_off;    /* (n_nb) offset of neighbour i's part of halo_buf */
    const float **x_send; /* (n_nb) exchange send pointers */
    float **x_recv;       /* (n_nb) exchange receive pointers */
    int32_t *x_send_len;  /* (n_nb) */
    int32_t *x_recv_len;  /* (n_nb) */
    float dummy[1];       /* target of zero-length messages */
    /* relay (shard->relay_rounds > 0): see s_relay_plan */
    int32_t rounds;       /* R rounds per exchange, 0 without relay */
    struct s_seg *seg;    /* segments sorted by (direction, round, neighbour, side, flow) */
    int32_t *seg_ptr;     /* (2 * R * n_nb * 2 + 1) offsets into seg */
    int64_t *transit_off; /* (n_transit) offset of each forwarded flow's slot in transit_buf */
    float *transit_buf;   /* (sum of transit rows, max_width) rows in transit */
    int64_t *stage_off;   /* (n_nb) offset of neighbour i's part of send_stage and recv_stage */
    float *send_stage;    /* (sum over neighbours of the largest message, ) one round's sends */
    float *recv_stage;    /* same, one round's receipts */
    uint64_t relayed[DGCN_CH_COUNT]; /* bytes of rows in transit sent, per channel */
    int64_t tag;                     /* transport iteration field of the current pass */
    int64_t iter;                    /* user iteration of the current pass (error messages) */
    dgcn_agent_timing timing;
    /* time-varying links (agent/links.h) */
    dgcn_links links;
    double *sched_rows;             /* (period, n_nb + 1) own copy, or NULL */
    double *step_row;               /* (n_nb + 1) the row of the current params exchange */
    char *skip;                     /* (n_nb) links left out of the current exchange */
    char *need;                     /* (n_nb) 1: the halo exchange carries rows on the link */
    float *zeros;                   /* (msg_len) read for a skipped link (with weight 0) */
    uint64_t failed[DGCN_CH_COUNT]; /* messages not sent for a failed link, per channel */
    /* compressed gossip (opts.compress): the public copies, and the wire messages in turn */
    dgcn_choco *choco; /* NULL: params messages go whole */
    int64_t wire_len;  /* floats of one wire message */
    float *wires[3];   /* (wire_len) each, taken in turn like msgs (the lending argument) */
    int wire_next;
    float *wire_recv; /* (n_nb, wire_len) where the transport copies, or NULL where it lends */
    /* compressed halo rows (nn/halo_codec.h; codec DGCN_HALO_OFF: none of these) */
    dgcn_halo_codec codec;
    float *hstage;       /* (sum over peers of s_cap(halo rows)) words: forward receipts and
                          * backward sends of the direct path */
    int64_t *hstage_off; /* (n_nb) offset of neighbour i's part of hstage */
    float *ef;           /* error feedback residuals, per exchange x: (own send rows, w_x) then
                          * (halo rows, w_x), rows in peer order; NULL without feedback */
    int64_t *ef_off;     /* (n_x + 1) offset of exchange x's residuals in ef */
    int n_x;             /* exchanges per pass (with ef) */
    uint64_t halo_raw[DGCN_CH_COUNT]; /* float32 bytes of the halo rows sent compressed */
};

dgcn_agent_opts dgcn_agent_opts_defaults(void) {
    dgcn_agent_opts o;
    memset(&o, 0, sizeof o);
    o.consensus = dgcn_consensus_defaults(DGCN_CONSENSUS_DGD, 0.1);
    o.consensus.grad_scale = 0.0; /* M */
    o.init_seed = 1;
    o.dropout_seed = 1;
    return o;
}

static const char *s_purpose_name(const dgcn_agent *a) {
    switch (a->tag % DGCN_AGENT_TAG_STRIDE) {
    case DGCN_AGENT_TAG_STEP: return "training step";
    case DGCN_AGENT_TAG_EVAL: return "evaluation";
    default: return "gradient";
    }
}

/* The links whose halo message fails in this exchange (agent/links.h; training steps only), or
 * NULL when none can. Counts them. A failed forward message leaves the halo rows as last
 * delivered (they are received in place), a failed backward one adds nothing. */
static const char *s_halo_skip(dgcn_agent *a, int32_t layer, int ch) {
    if (!(a->links.failure > 0.0) || a->tag % DGCN_AGENT_TAG_STRIDE != DGCN_AGENT_TAG_STEP)
        return NULL;
    int32_t n = dgcn_links_halo(&a->links, a->iter, layer, ch, a->need, a->skip);
    a->failed[ch] += (uint64_t)n;
    return n > 0 ? a->skip : NULL;
}

/* The direct halo exchange of a->x_send/x_recv (set per neighbour by the caller) on channel ch,
 * its error naming the agent and the pass (the model adds the iteration and the layer). */
static int s_halo_transfer(dgcn_agent *a, int ch, int layer, const char *skip) {
    dgcn_exchange x = {
        .channel = ch,
        .iter = a->tag,
        .layer = layer,
        .send = a->x_send,
        .send_len = a->x_send_len,
        .recv = a->x_recv,
        .recv_len = a->x_recv_len,
        .skip = skip,
    };
    int rc = dgcn_transport_exchange(a->t, &x);
    if (rc != DGCN_OK)
        return dgcn_error_wrap(rc, "agent %d, %s pass (tag %lld): ", a->shard->agent,
                               s_purpose_name(a), (long long)a->tag);
    return DGCN_OK;
}

/* Floats a slot of n rows needs in any exchange: n max_width, or the codec's words when more. */
static int64_t s_cap(const dgcn_agent *a, int64_t n) {
    const int64_t w = dgcn_halo_codec_words(a->codec, n, a->max_width);
    return w > n * a->max_width ? w : n * a->max_width;
}

/* The residuals of the rows sent in exchange `layer` on channel ch from row `row` on (own send
 * rows forward, halo rows backward), or NULL when error feedback does not apply: only training
 * steps feed back (an evaluation's or a verification's rows are sent as they are). */
static float *s_resid(const dgcn_agent *a, int layer, int ch, int32_t row, int32_t width) {
    const int32_t fb = a->opts.halo_feedback;
    if (!a->ef || a->tag % DGCN_AGENT_TAG_STRIDE != DGCN_AGENT_TAG_STEP ||
        fb == DGCN_HALO_FEEDBACK_NONE || (fb == DGCN_HALO_FEEDBACK_GRAD && ch != DGCN_CH_HALO_BWD))
        return NULL;
    const int64_t base = a->ef_off[layer];
    const int64_t fwd_rows = a->shard->n_peers > 0 ? a->shard->send_ptr[a->shard->n_peers] : 0;
    return a->ef + base + (ch == DGCN_CH_HALO_BWD ? fwd_rows * width : 0) + (int64_t)row * width;
}

/* The key of q8's stochastic rounding for one block of a message: a pure function of the run's
 * seed, the pass, the exchange, the link and the block, so every transport draws alike. */
static uint64_t s_halo_key(const dgcn_agent *a, int ch, int32_t wire_layer, int32_t nb,
                           int64_t block) {
    uint64_t k = dgcn_mix64(a->opts.halo_seed ^ 0x68616c6fULL);
    k = dgcn_mix64(k ^ (uint64_t)a->tag);
    k = dgcn_mix64(k ^ ((uint64_t)(uint32_t)wire_layer << 8 | (uint64_t)ch));
    k = dgcn_mix64(k ^ ((uint64_t)(uint32_t)a->shard->agent << 32 | (uint32_t)a->t->neighbors[nb]));
    return dgcn_mix64(k ^ (uint64_t)block);
}

/* The direct exchange with compressed rows: as s_exchange, each message one encoded block
 * (nn/halo_codec.h). Forward: own send rows encoded into halo_buf, the neighbour's block received
 * into hstage and decoded into the halo rows. Backward: halo rows encoded into hstage, the
 * neighbour's block received into halo_buf and added into the own rows. A failed or lost link
 * encodes nothing (its residuals stay) and decodes nothing. */
static int s_exchange_coded(dgcn_agent *a, int layer, dgcn_phase phase, float *rows,
                            int32_t width) {
    const dgcn_shard *s = a->shard;
    const int32_t n_own = s->n_own;
    const int fwd = phase == DGCN_PHASE_FORWARD;
    const int ch = fwd ? DGCN_CH_HALO_FWD : DGCN_CH_HALO_BWD;
    const dgcn_halo_rounding rnd = (dgcn_halo_rounding)a->opts.halo_rounding;
    const char *skip = s_halo_skip(a, layer, ch);
    for (int32_t i = 0; i < a->n_nb; i++) {
        const int32_t p = a->nb_peer[i];
        float *buf = a->halo_buf + a->halo_off[i], *stg = a->hstage + a->hstage_off[i];
        if (p < 0) {
            a->x_send[i] = a->dummy;
            a->x_recv[i] = a->dummy;
            a->x_send_len[i] = 0;
            a->x_recv_len[i] = 0;
            continue;
        }
        const int32_t n_send = s->send_ptr[p + 1] - s->send_ptr[p];
        const int32_t n_halo = s->recv_ptr[p + 1] - s->recv_ptr[p];
        const int32_t n_out = fwd ? n_send : n_halo, n_in = fwd ? n_halo : n_send;
        float *out = fwd ? buf : stg;
        a->x_send[i] = out;
        a->x_send_len[i] = (int32_t)dgcn_halo_codec_words(a->codec, n_out, width);
        a->x_recv[i] = fwd ? stg : buf;
        a->x_recv_len[i] = (int32_t)dgcn_halo_codec_words(a->codec, n_in, width);
        if ((skip && skip[i]) || a->t->lost[i]) continue;
        if (fwd)
            dgcn_halo_codec_encode(a->codec, rnd, rows, s->send_idx + s->send_ptr[p], n_send, width,
                                   s_resid(a, layer, ch, s->send_ptr[p], width),
                                   s_halo_key(a, ch, layer, i, 0), out);
        else
            dgcn_halo_codec_encode(a->codec, rnd, rows + (int64_t)(n_own + s->recv_ptr[p]) * width,
                                   NULL, n_halo, width,
                                   s_resid(a, layer, ch, s->recv_ptr[p], width),
                                   s_halo_key(a, ch, layer, i, 0), out);
        a->halo_raw[ch] += (uint64_t)n_out * (uint64_t)width * sizeof(float);
    }
    int rc = s_halo_transfer(a, ch, layer, skip);
    if (rc != DGCN_OK) return rc;
    for (int32_t i = 0; i < a->n_nb; i++) {
        const int32_t p = a->nb_peer[i];
        if (p < 0) continue;
        const int32_t n_halo = s->recv_ptr[p + 1] - s->recv_ptr[p];
        float *halo_rows = rows + (int64_t)(n_own + s->recv_ptr[p]) * width;
        if (a->t->lost[i]) { /* a neighbour gone: its nodes leave the graph */
            if (fwd) memset(halo_rows, 0, (size_t)n_halo * (size_t)width * sizeof *rows);
            continue;
        }
        if (skip && skip[i]) continue; /* halo rows as last delivered, no gradient */
        if (fwd) dgcn_halo_codec_decode(a->codec, a->x_recv[i], n_halo, width, halo_rows, NULL);
        else
            dgcn_halo_codec_decode(a->codec, a->x_recv[i], s->send_ptr[p + 1] - s->send_ptr[p],
                                   width, rows, s->send_idx + s->send_ptr[p]);
    }
    return DGCN_OK;
}

/* Forward: gather own send rows per neighbour, receive the halo rows in place.
 * Backward: send halo rows back, add received rows into own rows in neighbour order. */
static int s_exchange(void *ctx, int layer, dgcn_phase phase, float *rows, int32_t width) {
    dgcn_agent *a = ctx;
    const dgcn_shard *s = a->shard;
    const int32_t n_own = s->n_own;
    if (width <= 0 || width > a->max_width)
        return dgcn_error_set(
            DGCN_EINVAL, "agent %d, iteration %lld, layer %d: exchange width %d outside (0, %d]",
            s->agent, (long long)a->iter, layer, width, a->max_width);
    if (a->codec != DGCN_HALO_OFF) return s_exchange_coded(a, layer, phase, rows, width);
    for (int32_t i = 0; i < a->n_nb; i++) {
        const int32_t p = a->nb_peer[i];
        float *buf = a->halo_buf + a->halo_off[i];
        if (p < 0) {
            a->x_send[i] = a->dummy;
            a->x_recv[i] = a->dummy;
            a->x_send_len[i] = 0;
            a->x_recv_len[i] = 0;
            continue;
        }
        const int32_t n_send = s->send_ptr[p + 1] - s->send_ptr[p];
        const int32_t n_halo = s->recv_ptr[p + 1] - s->recv_ptr[p];
        float *halo_rows = rows + (int64_t)(n_own + s->recv_ptr[p]) * width;
        if (phase == DGCN_PHASE_FORWARD) {
            const int32_t *idx = s->send_idx + s->send_ptr[p];
            for (int32_t r = 0; r < n_send; r++)
                memcpy(buf + (int64_t)r * width, rows + (int64_t)idx[r] * width,
                       (size_t)width * sizeof *buf);
            a->x_send[i] = buf;
            a->x_send_len[i] = n_send * width;
            a->x_recv[i] = halo_rows;
            a->x_recv_len[i] = n_halo * width;
        } else {
            a->x_send[i] = halo_rows;
            a->x_send_len[i] = n_halo * width;
            a->x_recv[i] = buf;
            a->x_recv_len[i] = n_send * width;
        }
    }
    const int ch = phase == DGCN_PHASE_FORWARD ? DGCN_CH_HALO_FWD : DGCN_CH_HALO_BWD;
    const char *skip = s_halo_skip(a, layer, ch);
    int rc = s_halo_transfer(a, ch, layer, skip);
    if (rc != DGCN_OK) return rc;
    for (int32_t i = 0; a->t->n_lost > 0 && phase == DGCN_PHASE_FORWARD && i < a->n_nb; i++) {
        const int32_t p = a->nb_peer[i]; /* a neighbour gone: its nodes leave the graph */
        if (p >= 0 && a->t->lost[i])
            memset(rows + (int64_t)(n_own + s->recv_ptr[p]) * width, 0,
                   (size_t)(s->recv_ptr[p + 1] - s->recv_ptr[p]) * (size_t)width * sizeof *rows);
    }
    if (phase == DGCN_PHASE_BACKWARD) {
        for (int32_t i = 0; i < a->n_nb; i++) {
            const int32_t p = a->nb_peer[i];
            if (p < 0 || (skip && skip[i]) || a->t->lost[i]) continue; /* no gradient rows */
            const int32_t n_send = s->send_ptr[p + 1] - s->send_ptr[p];
            const int32_t *idx = s->send_idx + s->send_ptr[p];
            const float *buf = a->halo_buf + a->halo_off[i];
            for (int32_t r = 0; r < n_send; r++) {
                float *dst = rows + (int64_t)idx[r] * width;
                const float *src = buf + (int64_t)r * width;
                for (int32_t j = 0; j < width; j++) dst[j] += src[j];
            }
        }
    }
    return DGCN_OK;
}

/* ---- relay ----------------------------------------------------------------------------------
 * Under relay an exchange is R rounds of one transport exchange each; in round r the message to
 * neighbour i is the concatenation of the segments that cross the link in that round, in
 * increasing (src, dst) of their forward flow. A segment is a block of rows: own rows of a peer
 * (send_idx), halo rows of a peer, or a forwarded flow's slot. The layer field of round r is
 * layer + DGCN_AGENT_RELAY_LAYER_STRIDE * r, so rounds are told apart on the wire. */

enum { S_OWN = 0, S_HALO = 1, S_TRANSIT = 2 };

typedef struct s_seg {
    int32_t key[6]; /* direction, round, neighbour, side (0 send, 1 receive), src, dst */
    int32_t kind;   /* S_OWN, S_HALO, S_TRANSIT */
    int32_t index;  /* peer index (S_OWN, S_HALO) or transit entry */
    int32_t rows;
} s_seg;

static int s_cmp_seg(const void *pa, const void *pb) {
    const s_seg *x = pa, *y = pb;
    for (int i = 0; i < 6; i++)
        if (x->key[i] != y->key[i]) return x->key[i] < y->key[i] ? -1 : 1;
    return 0;
}

static int32_t s_seg_slot(const dgcn_agent *a, int dir, int32_t round, int32_t nb, int side) {
    return ((dir * a->rounds + round) * a->n_nb + nb) * 2 + side;
}

/* Neighbour index of agent `who`, or DGCN_ETOPOLOGY naming the route that needs the link. */
static int s_relay_nb(const dgcn_agent *a, int32_t who, int32_t src, int32_t dst, int32_t *out) {
    for (int32_t i = 0; i < a->n_nb; i++)
        if (a->t->neighbors[i] == who) {
            *out = i;
            return DGCN_OK;
        }
    return dgcn_error_set(DGCN_ETOPOLOGY,
                          "agent %d: the relay route of flow %d -> %d goes through agent %d, "
                          "which is not a neighbour",
                          a->shard->agent, src, dst, who);
}

static void s_seg_put(s_seg *g, int dir, int32_t round, int32_t nb, int side, int32_t src,
                      int32_t dst, int32_t kind, int32_t index, int32_t rows) {
    g->key[0] = dir;
    g->key[1] = round;
    g->key[2] = nb;
    g->key[3] = side;
    g->key[4] = src;
    g->key[5] = dst;
    g->kind = kind;
    g->index = index;
    g->rows = rows;
}

/* Lays out every round of both directions from the shard's routes, and sizes the buffers. */
static int s_relay_plan(dgcn_agent *a) {
    int rc = DGCN_OK;
    const dgcn_shard *s = a->shard;
    const int32_t self = s->agent, R = s->relay_rounds;
    const int64_t n_seg = 4 * ((int64_t)s->n_peers + s->n_transit);
    a->rounds = R;
    DGCN_ALLOC(a->seg, n_seg > 0 ? n_seg : 1);
    int64_t g = 0;
    for (int32_t p = 0; p < s->n_peers; p++) {
        int32_t nb = 0, hops = s->peer_hops[p], t = s->peer[p];
        int32_t n_send = s->send_ptr[p + 1] - s->send_ptr[p];
        int32_t n_halo = s->recv_ptr[p + 1] - s->recv_ptr[p];
        DGCN_CHECK(s_relay_nb(a, s->peer_via[p], self, t, &nb));
        s_seg_put(&a->seg[g++], 0, 0, nb, 0, self, t, S_OWN, p, n_send);
        s_seg_put(&a->seg[g++], 0, hops - 1, nb, 1, t, self, S_HALO, p, n_halo);
        s_seg_put(&a->seg[g++], 1, 0, nb, 0, t, self, S_HALO, p, n_halo);
        s_seg_put(&a->seg[g++], 1, hops - 1, nb, 1, self, t, S_OWN, p, n_send);
    }
    DGCN_ALLOC(a->transit_off, s->n_transit > 0 ? s->n_transit : 1);
    int64_t transit_floats = 0;
    for (int32_t e = 0; e < s->n_transit; e++) {
        const int32_t *f = s->transit + (size_t)e * DGCN_SHARD_TRANSIT_FIELDS;
        int32_t prev = 0, next = 0, src = f[DGCN_TRANSIT_SRC], dst = f[DGCN_TRANSIT_DST];
        int32_t pos = f[DGCN_TRANSIT_POS], len = f[DGCN_TRANSIT_LEN], rows = f[DGCN_TRANSIT_ROWS];
        if (len > R)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "agent %d: flow %d -> %d has %d hops, more than %d rounds",
                                      self, src, dst, len, R));
        DGCN_CHECK(s_relay_nb(a, f[DGCN_TRANSIT_PREV], src, dst, &prev));
        DGCN_CHECK(s_relay_nb(a, f[DGCN_TRANSIT_NEXT], src, dst, &next));
        s_seg_put(&a->seg[g++], 0, pos - 1, prev, 1, src, dst, S_TRANSIT, e, rows);
        s_seg_put(&a->seg[g++], 0, pos, next, 0, src, dst, S_TRANSIT, e, rows);
        s_seg_put(&a->seg[g++], 1, len - pos - 1, next, 1, src, dst, S_TRANSIT, e, rows);
        s_seg_put(&a->seg[g++], 1, len - pos, prev, 0, src, dst, S_TRANSIT, e, rows);
        a->transit_off[e] = transit_floats;
        transit_floats += s_cap(a, rows);
    }
    qsort(a->seg, (size_t)g, sizeof *a->seg, s_cmp_seg);
    const int32_t n_slots = 2 * R * a->n_nb * 2;
    DGCN_ALLOC(a->seg_ptr, n_slots + 1);
    for (int64_t i = 0; i < g; i++) {
        const int32_t *k = a->seg[i].key;
        a->seg_ptr[s_seg_slot(a, k[0], k[1], k[2], k[3]) + 1]++;
    }
    for (int32_t i = 0; i < n_slots; i++) a->seg_ptr[i + 1] += a->seg_ptr[i];
    /* staging: per neighbour, the largest message of any round, direction and side */
    DGCN_ALLOC(a->stage_off, a->n_nb);
    int64_t stage_floats = 0;
    for (int32_t i = 0; i < a->n_nb; i++) {
        int64_t most = 0;
        for (int dir = 0; dir < 2; dir++)
            for (int32_t r = 0; r < R; r++)
                for (int side = 0; side < 2; side++) {
                    int32_t sl = s_seg_slot(a, dir, r, i, side);
                    int64_t floats = 0;
                    for (int32_t j = a->seg_ptr[sl]; j < a->seg_ptr[sl + 1]; j++)
                        floats += s_cap(a, a->seg[j].rows);
                    if (floats > most) most = floats;
                }
        if (most > INT32_MAX)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "agent %d: relay message to agent %d exceeds 2^31 floats",
                                      self, a->t->neighbors[i]));
        a->stage_off[i] = stage_floats;
        stage_floats += most;
    }
    DGCN_ALLOC(a->transit_buf, transit_floats > 0 ? transit_floats : 1);
    DGCN_ALLOC(a->send_stage, stage_floats > 0 ? stage_floats : 1);
    DGCN_ALLOC(a->recv_stage, stage_floats > 0 ? stage_floats : 1);
fail:
    return rc;
}

/* The rows of segment g of width `width` in the agent's matrices: own rows are scattered (idx),
 * halo rows and transit slots contiguous. */
static float *s_seg_rows(const dgcn_agent *a, const s_seg *g, float *rows, int32_t width,
                         const int32_t **idx) {
    const dgcn_shard *s = a->shard;
    *idx = NULL;
    switch (g->kind) {
    case S_OWN: *idx = s->send_idx + s->send_ptr[g->index]; return rows;
    case S_HALO: return rows + (int64_t)(s->n_own + s->recv_ptr[g->index]) * width;
    default: return a->transit_buf + a->transit_off[g->index];
    }
}

static int s_exchange_relay(void *ctx, int layer, dgcn_phase phase, float *rows, int32_t width) {
    dgcn_agent *a = ctx;
    const dgcn_shard *s = a->shard;
    const int dir = phase == DGCN_PHASE_FORWARD ? 0 : 1;
    const int ch = dir == 0 ? DGCN_CH_HALO_FWD : DGCN_CH_HALO_BWD;
    if (width <= 0 || width > a->max_width)
        return dgcn_error_set(
            DGCN_EINVAL, "agent %d, iteration %lld, layer %d: exchange width %d outside (0, %d]",
            s->agent, (long long)a->iter, layer, width, a->max_width);
    for (int32_t r = 0; r < a->rounds; r++) {
        const int32_t wire_layer = layer + DGCN_AGENT_RELAY_LAYER_STRIDE * r;
        const char *skip = s_halo_skip(a, wire_layer, ch);
        for (int32_t i = 0; i < a->n_nb; i++) {
            int32_t sl = s_seg_slot(a, dir, r, i, 0);
            float *out = a->send_stage + a->stage_off[i], *o = out;
            const int sends = !(skip && skip[i]) && !a->t->lost[i];
            for (int32_t j = a->seg_ptr[sl]; j < a->seg_ptr[sl + 1]; j++) {
                const s_seg *g = &a->seg[j];
                const int32_t *idx;
                const float *src = s_seg_rows(a, g, rows, width, &idx);
                const int64_t n = (int64_t)g->rows * width;
                if (a->codec != DGCN_HALO_OFF) { /* one encoded block per segment */
                    const int64_t words = dgcn_halo_codec_words(a->codec, g->rows, width);
                    if (sends && g->kind == S_TRANSIT) { /* forwarded as it came */
                        memcpy(o, src, (size_t)words * sizeof *o);
                        a->relayed[ch] += (uint64_t)words * sizeof *o;
                    } else if (sends) {
                        const int32_t first = g->kind == S_OWN ? s->send_ptr[g->index]
                                                               : s->recv_ptr[g->index];
                        dgcn_halo_codec_encode(a->codec, (dgcn_halo_rounding)a->opts.halo_rounding,
                                               src, idx, g->rows, width,
                                               s_resid(a, layer, ch, first, width),
                                               s_halo_key(a, ch, wire_layer, i, j), o);
                    }
                    if (sends) a->halo_raw[ch] += (uint64_t)n * sizeof *o;
                    o += words;
                    continue;
                }
                if (idx)
                    for (int32_t q = 0; q < g->rows; q++)
                        memcpy(o + (int64_t)q * width, src + (int64_t)idx[q] * width,
                               (size_t)width * sizeof *o);
                else memcpy(o, src, (size_t)n * sizeof *o);
                if (g->kind == S_TRANSIT && !(skip && skip[i]))
                    a->relayed[ch] += (uint64_t)n * sizeof *o;
                o += n;
            }
            int64_t in = 0;
            sl = s_seg_slot(a, dir, r, i, 1);
            for (int32_t j = a->seg_ptr[sl]; j < a->seg_ptr[sl + 1]; j++)
                in += dgcn_halo_codec_words(a->codec, a->seg[j].rows, width); /* off: rows w */
            a->x_send[i] = out;
            a->x_send_len[i] = (int32_t)(o - out);
            a->x_recv[i] = a->recv_stage + a->stage_off[i];
            a->x_recv_len[i] = (int32_t)in;
        }
        dgcn_exchange x = {
            .channel = ch,
            .iter = a->tag,
            .layer = wire_layer,
            .send = a->x_send,
            .send_len = a->x_send_len,
            .recv = a->x_recv,
            .recv_len = a->x_recv_len,
            .skip = skip,
        };
        int rc = dgcn_transport_exchange(a->t, &x);
        if (rc != DGCN_OK)
            return dgcn_error_wrap(rc,
                                   "agent %d, %s pass (tag %lld), relay round %d of %d: ", s->agent,
                                   s_purpose_name(a), (long long)a->tag, r + 1, a->rounds);
        for (int32_t i = 0; i < a->n_nb; i++) {
            int32_t sl = s_seg_slot(a, dir, r, i, 1);
            const float *in = a->x_recv[i];
            if ((x.skip && x.skip[i]) || a->t->lost[i]) {
                /* a failed or lost link: halo rows and rows in transit stay as last delivered
                 * (forward); gradients are lost (backward) */
                for (int32_t j = a->seg_ptr[sl]; dir == 1 && j < a->seg_ptr[sl + 1]; j++)
                    if (a->seg[j].kind == S_TRANSIT)
                        memset(a->transit_buf + a->transit_off[a->seg[j].index], 0,
                               (size_t)a->seg[j].rows * (size_t)width * sizeof(float));
                continue;
            }
            for (int32_t j = a->seg_ptr[sl]; j < a->seg_ptr[sl + 1]; j++) {
                const s_seg *g = &a->seg[j];
                const int32_t *idx;
                float *dst = s_seg_rows(a, g, rows, width, &idx);
                const int64_t n = (int64_t)g->rows * width;
                if (a->codec != DGCN_HALO_OFF) { /* transit blocks are kept encoded */
                    const int64_t words = dgcn_halo_codec_words(a->codec, g->rows, width);
                    if (g->kind == S_TRANSIT) memcpy(dst, in, (size_t)words * sizeof *dst);
                    else dgcn_halo_codec_decode(a->codec, in, g->rows, width, dst, idx);
                    in += words;
                    continue;
                }
                if (idx) /* backward: own rows accumulate the gradient of their copies */
                    for (int32_t q = 0; q < g->rows; q++) {
                        float *d = dst + (int64_t)idx[q] * width;
                        const float *v = in + (int64_t)q * width;
                        for (int32_t c = 0; c < width; c++) d[c] += v[c];
                    }
                else memcpy(dst, in, (size_t)n * sizeof *dst);
                in += n;
            }
        }
    }
    return DGCN_OK;
}

/* Checks that every data peer is a communication neighbour and maps neighbours to peers. */
static int s_map_peers(dgcn_agent *a) {
    const dgcn_shard *s = a->shard;
    const dgcn_transport *t = a->t;
    char missing[512];
    size_t used = 0;
    int n_missing = 0;
    missing[0] = '\0';
    for (int32_t i = 0; i < a->n_nb; i++) a->nb_peer[i] = -1;
    for (int32_t p = 0; p < s->n_peers; p++) {
        int found = 0;
        for (int32_t i = 0; i < t->n_neighbors; i++) {
            if (t->neighbors[i] == s->peer[p]) {
                a->nb_peer[i] = p;
                found = 1;
                break;
            }
        }
        if (!found && !s->peer_via) {
            n_missing++;
            if (used < sizeof missing - 32) {
                int w = snprintf(missing + used, sizeof missing - used, "%s%d-%d",
                                 n_missing > 1 ? ", " : "", s->agent, s->peer[p]);
                if (w > 0) used += (size_t)w;
            }
        }
    }
    if (n_missing > 0)
        return dgcn_error_set(DGCN_ETOPOLOGY,
                              "agent %d: %d required link(s) missing from the communication "
                              "topology (data peers that are not neighbours): %s",
                              s->agent, n_missing, missing);
    return DGCN_OK;
}

/* The halo maps index the row matrix directly, so they are checked before any exchange. */
static int s_check_shard(const dgcn_shard *s) {
    if (s->n_own <= 0 || s->n_halo < 0 || s->n_peers < 0 || s->n_peers >= s->n_agents)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: shard sizes invalid (n_own %d, n_halo %d, "
                              "%d peers of %d agents)",
                              s->agent, s->n_own, s->n_halo, s->n_peers, s->n_agents);
    if (s->a.n_rows != s->n_own || s->a.n_cols != s->n_own + s->n_halo || s->x.n_rows != s->n_own)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: shard A_hat (%d x %d) or X (%d rows) does not "
                              "match %d own + %d halo rows",
                              s->agent, s->a.n_rows, s->a.n_cols, s->x.n_rows, s->n_own, s->n_halo);
    if (s->n_peers > 0 && (!s->peer || !s->send_ptr || !s->send_idx || !s->recv_ptr))
        return dgcn_error_set(DGCN_EINVAL, "agent %d: shard halo maps missing", s->agent);
    if (s->n_peers > 0 &&
        (s->send_ptr[0] != 0 || s->recv_ptr[0] != 0 || s->recv_ptr[s->n_peers] != s->n_halo))
        return dgcn_error_set(DGCN_EINVAL, "agent %d: shard halo offsets do not cover %d halo rows",
                              s->agent, s->n_halo);
    if (s->n_peers == 0 && s->n_halo != 0)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: shard has %d halo rows but no peers",
                              s->agent, s->n_halo);
    for (int32_t p = 0; p < s->n_peers; p++) {
        if (s->peer[p] < 0 || s->peer[p] >= s->n_agents || s->peer[p] == s->agent ||
            (p > 0 && s->peer[p] <= s->peer[p - 1]))
            return dgcn_error_set(DGCN_EINVAL, "agent %d: shard peer %d = %d invalid", s->agent, p,
                                  s->peer[p]);
        if (s->send_ptr[p + 1] < s->send_ptr[p] || s->recv_ptr[p + 1] < s->recv_ptr[p])
            return dgcn_error_set(DGCN_EINVAL, "agent %d: shard offsets for peer %d decrease",
                                  s->agent, s->peer[p]);
        for (int32_t r = s->send_ptr[p]; r < s->send_ptr[p + 1]; r++)
            if (s->send_idx[r] < 0 || s->send_idx[r] >= s->n_own)
                return dgcn_error_set(DGCN_EINVAL,
                                      "agent %d: shard send row %d for peer %d is %d, "
                                      "outside [0, %d)",
                                      s->agent, r, s->peer[p], s->send_idx[r], s->n_own);
    }
    return DGCN_OK;
}

static int s_check_inputs(const dgcn_shard *s, const dgcn_model_config *model,
                          const dgcn_transport *t, const double *mix_row) {
    if (!s || !model || !t || !mix_row)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent: shard, model, transport and mix_row are required");
    if (s->agent != t->self || s->n_agents != t->n_agents)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent: shard of agent %d/%d given to transport endpoint %d/%d",
                              s->agent, s->n_agents, t->self, t->n_agents);
    int rc = s_check_shard(s);
    if (rc != DGCN_OK) return rc;
    rc = dgcn_model_config_check(model);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "agent %d: ", s->agent);
    const int L = model->n_layers;
    if (model->dims[0] != s->d || model->dims[L] != s->c)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: model dims %d -> %d do not match the shard's %d features "
                              "and %d classes",
                              s->agent, model->dims[0], model->dims[L], s->d, s->c);
    double sum = 0.0;
    for (int32_t i = 0; i <= t->n_neighbors; i++) {
        if (!isfinite(mix_row[i]) || mix_row[i] < 0.0)
            return dgcn_error_set(DGCN_EINVAL,
                                  "agent %d: mixing weight %d = %g must be finite and "
                                  ">= 0",
                                  s->agent, i, mix_row[i]);
        sum += mix_row[i];
    }
    if (fabs(sum - 1.0) > 1e-6)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: mixing row sums to %.9g, not 1", s->agent,
                              sum);
    return DGCN_OK;
}

/* The error feedback residuals (zero): per exchange of a pass, one per own send row and one per
 * halo row at the exchange's width. */
static int s_ef_init(dgcn_agent *a, const dgcn_model_config *model) {
    int rc = DGCN_OK;
    int32_t widths[DGCN_MAX_LAYERS * DGCN_MAX_ORDER];
    const int n_x = dgcn_model_exchange_widths(model, widths);
    const dgcn_shard *s = a->shard;
    const int64_t rows = (s->n_peers > 0 ? s->send_ptr[s->n_peers] : 0) + s->n_halo;
    const int32_t nb = a->opts.batch > 1 ? a->opts.batch : 1;
    a->n_x = n_x;
    DGCN_ALLOC(a->ef_off, n_x + 1);
    for (int x = 0; x < n_x; x++) a->ef_off[x + 1] = a->ef_off[x] + rows * widths[x] * nb;
    DGCN_ALLOC(a->ef, a->ef_off[n_x] > 0 ? a->ef_off[n_x] : 1);
fail:
    return rc;
}

/* The time-varying links of opts (agent/links.h): the schedule's rows checked and copied, the
 * scratch of one exchange. */
static int s_links_init(dgcn_agent *a) {
    int rc = DGCN_OK;
    const dgcn_agent_opts *o = &a->opts;
    const int32_t n = a->n_nb, self = a->shard->agent;
    if (!(o->link_failure >= 0.0 && o->link_failure < 1.0) || o->halo_staleness < 0 ||
        (o->sched_rows && (o->sched_period < 1 || o->sched_every < 1)))
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: link failure %g outside [0, 1), staleness %d < 0 or a "
                              "schedule of %d phases of %d iterations",
                              self, o->link_failure, o->halo_staleness, o->sched_period,
                              o->sched_every);
    a->links.self = self;
    a->links.n_nb = n;
    a->links.nb = a->t->neighbors;
    a->links.failure = o->link_failure;
    a->links.staleness = o->halo_staleness;
    a->links.seed = o->link_seed;
    a->links.every = o->sched_every > 0 ? o->sched_every : 1;
    if (o->sched_rows) {
        const int64_t len = (int64_t)o->sched_period * (n + 1);
        for (int64_t q = 0; q < o->sched_period; q++) {
            double sum = 0.0;
            for (int32_t i = 0; i <= n; i++) {
                double w = o->sched_rows[q * (n + 1) + i];
                if (!isfinite(w) || w < 0.0)
                    return dgcn_error_set(DGCN_EINVAL,
                                          "agent %d: schedule phase %lld: weight %d = %g must be "
                                          "finite and >= 0",
                                          self, (long long)q, i, w);
                sum += w;
            }
            if (fabs(sum - 1.0) > 1e-6)
                return dgcn_error_set(DGCN_EINVAL,
                                      "agent %d: schedule phase %lld: row sums to %.9g, not 1",
                                      self, (long long)q, sum);
        }
        DGCN_ALLOC(a->sched_rows, len);
        memcpy(a->sched_rows, o->sched_rows, (size_t)len * sizeof *a->sched_rows);
        a->links.rows = a->sched_rows;
        a->links.period = o->sched_period;
    }
    a->opts.sched_rows = NULL; /* the caller's: not kept */
    DGCN_ALLOC(a->step_row, n + 1);
    DGCN_ALLOC(a->skip, n > 0 ? n : 1);
    DGCN_ALLOC(a->need, n > 0 ? n : 1);
    DGCN_ALLOC(a->zeros, a->msg_len > a->n_params ? a->msg_len : a->n_params);
    for (int32_t i = 0; i < n; i++) a->need[i] = a->rounds > 0 || a->nb_peer[i] >= 0;
fail:
    return rc;
}

/* Compressed gossip (opts.compress): the public copies and the wire buffers, after refusing what
 * it cannot run with. */
static int s_compress_init(dgcn_agent *a) {
    int rc = DGCN_OK;
    const dgcn_agent_opts *o = &a->opts;
    const int32_t self = a->shard->agent;
    if (o->compress.kind == DGCN_COMPRESS_NONE) return DGCN_OK;
    if (o->consensus.gossip_accel != DGCN_GOSSIP_PLAIN && o->consensus.gossip_rounds > 1)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: compressed gossip runs plain gossip rounds: Chebyshev "
                              "acceleration's weights assume exact mixing (use --gossip-accel "
                              "none or --gossip-rounds 1)",
                              self);
    if (o->sched_rows || o->link_failure > 0.0 || a->t->watch_loss)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: compressed gossip needs a static topology with every "
                              "params message delivered (no schedule, link failure or lost agent): "
                              "each agent keeps the sum of its neighbours' public copies",
                              self);
    const int32_t n_seg = (int32_t)(a->msg_len / a->n_params);
    rc = dgcn_choco_new(&a->choco, &o->compress, a->n_params, n_seg, o->compress_seed);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "agent %d: ", self);
    a->wire_len = dgcn_choco_wire_floats(a->choco);
    if (a->wire_len > INT32_MAX)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: a compressed message exceeds 2^31 floats",
                              self);
    for (int i = 0; i < 3; i++) {
        if (a->msgs_lent) a->wires[i] = dgcn_transport_lend_buffer(a->t, (size_t)a->wire_len);
        else a->wires[i] = calloc((size_t)a->wire_len, sizeof *a->wires[i]);
        if (!a->wires[i])
            return dgcn_error_set(DGCN_ENOMEM, "agent %d: out of memory for compressed messages",
                                  self);
    }
    if (!a->msgs_lent) DGCN_ALLOC(a->wire_recv, (int64_t)a->n_nb * a->wire_len);
fail:
    return rc;
}

int dgcn_agent_new(dgcn_agent **out, const dgcn_shard *shard, const dgcn_model_config *model,
                   dgcn_transport *t, const double *mix_row, const dgcn_agent_opts *opts) {
    int rc;
    dgcn_agent *a = NULL;
    *out = NULL;
    DGCN_CHECK(s_check_inputs(shard, model, t, mix_row));
    DGCN_ALLOC(a, 1);
    a->tag = -1; /* no pass yet */
    a->shard = shard;
    a->t = t;
    a->model = *model;
    a->opts = opts ? *opts : dgcn_agent_opts_defaults();
    if (a->opts.consensus.grad_scale == 0.0) a->opts.consensus.grad_scale = (double)shard->n_agents;
    a->n_nb = t->n_neighbors;
    a->n_params = dgcn_model_n_params(model);

    DGCN_ALLOC(a->nb_peer, a->n_nb);
    DGCN_CHECK(s_map_peers(a));

    a->max_width = 1;
    for (int l = 1; l <= model->n_layers; l++)
        if (model->dims[l] > a->max_width) a->max_width = model->dims[l];
    if (a->opts.batch > 1) a->max_width *= a->opts.batch;
    a->codec = (dgcn_halo_codec)a->opts.halo_codec;
    if (a->codec < DGCN_HALO_OFF || a->codec > DGCN_HALO_Q2 || a->opts.halo_rounding < 0 ||
        a->opts.halo_rounding > DGCN_HALO_STOCHASTIC || a->opts.halo_feedback < 0 ||
        a->opts.halo_feedback > DGCN_HALO_FEEDBACK_ALL) {
        rc = dgcn_error_set(DGCN_EINVAL,
                            "agent %d: halo codec %d, rounding %d or feedback %d unknown",
                            shard->agent, a->opts.halo_codec, a->opts.halo_rounding,
                            a->opts.halo_feedback);
        goto fail;
    }
    DGCN_ALLOC(a->halo_off, a->n_nb);
    DGCN_ALLOC(a->hstage_off, a->n_nb);
    int64_t halo_floats = 0, stage_floats = 0;
    for (int32_t i = 0; i < a->n_nb; i++) {
        a->halo_off[i] = halo_floats;
        a->hstage_off[i] = stage_floats;
        int32_t p = a->nb_peer[i];
        if (p < 0) continue;
        int64_t n_send = shard->send_ptr[p + 1] - shard->send_ptr[p];
        int64_t n_halo = shard->recv_ptr[p + 1] - shard->recv_ptr[p];
        if ((n_send > n_halo ? n_send : n_halo) * a->max_width > INT32_MAX) {
            rc = dgcn_error_set(DGCN_EINVAL,
                                "agent %d: halo message to agent %d exceeds 2^31 floats",
                                shard->agent, shard->peer[p]);
            goto fail;
        }
        halo_floats += s_cap(a, n_send);
        if (a->codec != DGCN_HALO_OFF) stage_floats += s_cap(a, n_halo);
    }
    DGCN_ALLOC(a->halo_buf, halo_floats);
    if (a->codec != DGCN_HALO_OFF) {
        DGCN_ALLOC(a->hstage, stage_floats > 0 ? stage_floats : 1);
        if (a->opts.halo_feedback != DGCN_HALO_FEEDBACK_NONE) DGCN_CHECK(s_ef_init(a, model));
    }
    DGCN_ALLOC(a->x_send, a->n_nb);
    DGCN_ALLOC(a->x_recv, a->n_nb);
    DGCN_ALLOC(a->x_send_len, a->n_nb);
    DGCN_ALLOC(a->x_recv_len, a->n_nb);
    if (shard->relay_rounds > 0) DGCN_CHECK(s_relay_plan(a));

    a->blk.n_own = shard->n_own;
    a->blk.n_halo = model->kind == DGCN_MODEL_MLP ? 0 : shard->n_halo;
    a->blk.a = model->kind == DGCN_MODEL_MLP ? NULL : &shard->a;
    a->blk.x = &shard->x;
    a->blk.gid = shard->gid;
    a->blk.label = shard->label;
    a->blk.split = shard->split;
    a->blk.n_train_global = shard->n_train_global;
    a->blk.reg_share = 1.0f / (float)shard->n_agents;
    a->blk.batch = a->opts.batch;
    a->blk.xd = a->opts.xd;
    a->blk.y = a->opts.y;
    a->blk.n_values_global = a->opts.n_values_global;
    if (a->opts.xd) a->blk.x = NULL;
    rc = dgcn_gcn_new(&a->gcn, model, &a->blk, a->rounds > 0 ? s_exchange_relay : s_exchange, a);
    if (rc != DGCN_OK) {
        dgcn_error_wrap(rc, "agent %d: ", shard->agent);
        goto fail;
    }

    rc = dgcn_consensus_new(&a->cons, &a->opts.consensus, a->n_params);
    if (rc != DGCN_OK) {
        dgcn_error_wrap(rc, "agent %d: ", shard->agent);
        goto fail;
    }
    a->msg_len = dgcn_consensus_msg_len(a->cons);
    DGCN_ALLOC(a->theta, a->n_params);
    DGCN_ALLOC(a->grad, a->n_params);
    DGCN_ALLOC(a->x_lent, a->n_nb);
    a->msgs_lent = dgcn_transport_lends(t);
    for (int i = 0; i < 3; i++) {
        if (a->msgs_lent) a->msgs[i] = dgcn_transport_lend_buffer(t, (size_t)a->msg_len);
        else a->msgs[i] = calloc((size_t)a->msg_len, sizeof *a->msgs[i]);
        if (!a->msgs[i]) {
            rc = dgcn_error_set(DGCN_ENOMEM, "agent %d: out of memory for consensus messages",
                                shard->agent);
            goto fail;
        }
    }
    if (!a->msgs_lent) DGCN_ALLOC(a->msg_recv, (int64_t)a->n_nb * a->msg_len);
    DGCN_ALLOC(a->mix_row, a->n_nb + 1);
    memcpy(a->mix_row, mix_row, (size_t)(a->n_nb + 1) * sizeof *a->mix_row);
    DGCN_CHECK(s_links_init(a));
    DGCN_CHECK(s_compress_init(a));
    dgcn_model_init(model, a->theta, a->opts.init_seed);
    *out = a;
    return DGCN_OK;
fail:
    dgcn_agent_destroy(&a);
    return rc;
}

void dgcn_agent_destroy(dgcn_agent **pa) {
    if (!pa || !*pa) return;
    dgcn_agent *a = *pa;
    dgcn_gcn_destroy(&a->gcn);
    dgcn_consensus_destroy(&a->cons);
    free(a->theta);
    free(a->grad);
    for (int i = 0; i < 3 && !a->msgs_lent; i++) free(a->msgs[i]);
    for (int i = 0; i < 3 && !a->msgs_lent; i++) free(a->wires[i]);
    free(a->wire_recv);
    dgcn_choco_destroy(&a->choco);
    free(a->msg_recv);
    free(a->x_lent);
    free(a->mix_row);
    free(a->sched_rows);
    free(a->step_row);
    free(a->skip);
    free(a->need);
    free(a->zeros);
    free(a->nb_peer);
    free(a->halo_buf);
    free(a->halo_off);
    free(a->hstage);
    free(a->hstage_off);
    free(a->ef);
    free(a->ef_off);
    free(a->x_send);
    free(a->x_recv);
    free(a->x_send_len);
    free(a->x_recv_len);
    free(a->seg);
    free(a->seg_ptr);
    free(a->transit_off);
    free(a->transit_buf);
    free(a->stage_off);
    free(a->send_stage);
    free(a->recv_stage);
    free(a);
    *pa = NULL;
}

int dgcn_agent_set_params(dgcn_agent *a, const float *theta) {
    if (!theta) return dgcn_error_set(DGCN_EINVAL, "agent %d: theta is NULL", a->shard->agent);
    memcpy(a->theta, theta, (size_t)a->n_params * sizeof *theta);
    return DGCN_OK;
}

/* Floats of the halo error feedback residuals (0 without feedback). */
static int64_t s_ef_len(const dgcn_agent *a) { return a->ef ? a->ef_off[a->n_x] : 0; }

int64_t dgcn_agent_state_len(const dgcn_agent *a) {
    return a->n_params + dgcn_consensus_state_len(a->cons) +
           (a->choco ? dgcn_choco_state_len(a->choco) : 0) + s_ef_len(a);
}

void dgcn_agent_state_save(const dgcn_agent *a, float *vec, int64_t counters[2],
                           uint64_t relayed[DGCN_CH_COUNT], uint64_t halo_raw[DGCN_CH_COUNT]) {
    memcpy(vec, a->theta, (size_t)a->n_params * sizeof *vec);
    dgcn_consensus_state_save(a->cons, vec + a->n_params, counters);
    if (a->choco)
        dgcn_choco_state_save(a->choco, vec + a->n_params + dgcn_consensus_state_len(a->cons));
    if (a->ef) /* last: the halo residuals */
        memcpy(vec + dgcn_agent_state_len(a) - s_ef_len(a), a->ef,
               (size_t)s_ef_len(a) * sizeof *vec);
    memcpy(relayed, a->relayed, sizeof a->relayed);
    if (halo_raw) memcpy(halo_raw, a->halo_raw, sizeof a->halo_raw);
}

int dgcn_agent_state_load(dgcn_agent *a, const float *vec, int64_t len, const int64_t counters[2],
                          const uint64_t relayed[DGCN_CH_COUNT],
                          const uint64_t halo_raw[DGCN_CH_COUNT]) {
    if (len < a->n_params)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: a state of %lld floats lacks the %lld parameters",
                              a->shard->agent, (long long)len, (long long)a->n_params);
    const int64_t ef = s_ef_len(a);
    if (len < a->n_params + ef)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: a state of %lld floats lacks the %lld halo error feedback "
                              "residuals",
                              a->shard->agent, (long long)len, (long long)ef);
    len -= ef;
    const int64_t ch = a->choco ? dgcn_choco_state_len(a->choco) : 0;
    if (len < a->n_params + ch)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: a state of %lld floats lacks the compressed gossip's %lld",
                              a->shard->agent, (long long)len, (long long)ch);
    int rc = dgcn_consensus_state_load(a->cons, vec + a->n_params, len - a->n_params - ch,
                                       counters);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "agent %d: ", a->shard->agent);
    if (a->choco) dgcn_choco_state_load(a->choco, vec + len - ch);
    if (a->ef) memcpy(a->ef, vec + len, (size_t)ef * sizeof *vec);
    memcpy(a->theta, vec, (size_t)a->n_params * sizeof *vec);
    if (relayed) memcpy(a->relayed, relayed, sizeof a->relayed);
    if (halo_raw) memcpy(a->halo_raw, halo_raw, sizeof a->halo_raw);
    return DGCN_OK;
}

const float *dgcn_agent_params(const dgcn_agent *a) { return a->theta; }
int64_t dgcn_agent_n_params(const dgcn_agent *a) { return a->n_params; }
const float *dgcn_agent_logits(const dgcn_agent *a) { return dgcn_gcn_logits(a->gcn); }
const float *dgcn_agent_tracker(const dgcn_agent *a) { return dgcn_consensus_tracker(a->cons); }
dgcn_agent_timing dgcn_agent_timings(const dgcn_agent *a) { return a->timing; }
dgcn_traffic dgcn_agent_traffic(const dgcn_agent *a) { return a->t->traffic; }
uint64_t dgcn_agent_relayed_bytes(const dgcn_agent *a, int channel) {
    return channel >= 0 && channel < DGCN_CH_COUNT ? a->relayed[channel] : 0;
}
int32_t dgcn_agent_rounds(const dgcn_agent *a) { return a->rounds > 0 ? a->rounds : 1; }
uint64_t dgcn_agent_halo_raw_bytes(const dgcn_agent *a, int channel) {
    return channel >= 0 && channel < DGCN_CH_COUNT ? a->halo_raw[channel] : 0;
}
uint64_t dgcn_agent_link_failures(const dgcn_agent *a, int channel) {
    return channel >= 0 && channel < DGCN_CH_COUNT ? a->failed[channel] : 0;
}

static int s_begin(dgcn_agent *a, int64_t iter, int purpose) {
    if (iter < 0 || iter > (INT64_MAX / DGCN_AGENT_TAG_STRIDE) - 1)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: iteration %lld out of range", a->shard->agent,
                              (long long)iter);
    int64_t tag = iter * DGCN_AGENT_TAG_STRIDE + purpose;
    if (tag == a->tag)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: a second %s pass in a row with tag %lld (iteration %lld): "
                              "consecutive passes must differ in their tags (agent/agent.h)",
                              a->shard->agent, s_purpose_name(a), (long long)tag, (long long)iter);
    a->iter = iter;
    a->tag = tag;
    return DGCN_OK;
}

/* Forward (+ backward into a->grad when backward != 0), timed. */
static int s_pass(dgcn_agent *a, int training, int backward, dgcn_eval *ev) {
    int rc;
    double t0 = dgcn_now_ms();
    rc = dgcn_gcn_forward(a->gcn, a->theta, training, a->opts.dropout_seed, a->iter, ev);
    double t1 = dgcn_now_ms();
    a->timing.forward_ms += t1 - t0;
    if (rc != DGCN_OK || !backward) return rc;
    rc = dgcn_gcn_backward(a->gcn, a->theta, a->grad);
    a->timing.backward_ms += dgcn_now_ms() - t1;
    return rc;
}

/* The next of the three consensus message buffers, taken in turn: one taken now was last taken
 * three takes ago, before at least two params exchanges that followed its own. Every take is
 * sent in exactly one exchange before the next take, so take j goes out in params exchange j and
 * take j + 3 comes after exchange j + 2 has begun: the lend promise (docs/comm.md). A Chebyshev
 * gossip round j + 1 reads takes j + 1 (own x_r) and j (x_{r-1}) and writes take j + 2: three
 * distinct buffers, the two read unchanged since they were sent. */
static float *s_msg_take(dgcn_agent *a) {
    float *m = a->msgs[a->msg_next];
    a->msg_next = (a->msg_next + 1) % 3;
    return m;
}

/* The params exchange of the current tag and gossip round (the layer field): buf (len floats, a
 * buffer from s_msg_take) to every neighbour, handed over in place where the transport can;
 * neighbour i's message is then readable at a->x_lent[i] until the next exchange. Where the
 * transport copies, neighbour i's message lands at recv + i len (recv: n_nb slots; NULL where it
 * lends). what names the pass in an error ("iteration", "averaging round"). */
static int s_params_exchange(dgcn_agent *a, const float *buf, int64_t len, float *recv,
                             int32_t round, const char *skip, const char *what) {
    for (int32_t i = 0; i < a->n_nb; i++) {
        a->x_send[i] = buf;
        a->x_send_len[i] = (int32_t)len;
        a->x_recv[i] = recv ? recv + (int64_t)i * len : NULL;
        a->x_recv_len[i] = (int32_t)len;
    }
    dgcn_exchange x = {
        .channel = DGCN_CH_PARAMS,
        .iter = a->tag,
        .layer = round,
        .send = a->x_send,
        .send_len = a->x_send_len,
        .recv = a->x_recv,
        .recv_len = a->x_recv_len,
        .lend = 1,
        .lent = a->x_lent,
        .skip = skip,
    };
    int rc = dgcn_transport_exchange(a->t, &x);
    if (rc != DGCN_OK)
        dgcn_error_wrap(rc, "agent %d, %s %lld, params exchange %d (tag %lld): ", a->shard->agent,
                        what, (long long)a->iter, (int)round, (long long)a->tag);
    for (int32_t i = 0; skip && rc == DGCN_OK && i < a->n_nb; i++)
        if (skip[i]) a->x_lent[i] = a->zeros; /* weight 0 times a finite 0 */
    return rc;
}

/* row, with the weight of every lost neighbour (comm/transport.h) moved to the self weight, in
 * a->step_row (row may be it); their messages read as zeros. A neighbour lost during an exchange
 * is dropped from that exchange's combination too. */
static const double *s_drop_lost(dgcn_agent *a, const double *row) {
    if (a->t->n_lost == 0) return row;
    if (row != a->step_row) memcpy(a->step_row, row, (size_t)(a->n_nb + 1) * sizeof *row);
    for (int32_t i = 0; i < a->n_nb; i++)
        if (a->t->lost[i]) {
            a->step_row[0] += a->step_row[i + 1];
            a->step_row[i + 1] = 0.0;
            a->x_lent[i] = a->zeros;
        }
    return a->step_row;
}

/* The mixing row of params exchange (n, round) and the links it leaves out (*skip, NULL: none):
 * the static row unless links vary (agent/links.h). ch_key separates the failure draws of
 * training steps (DGCN_CH_PARAMS) and averaging rounds. */
static const double *s_params_row(dgcn_agent *a, int64_t n, int32_t round, int ch_key,
                                  const char **skip) {
    *skip = NULL;
    if (!dgcn_links_dynamic(&a->links) && a->t->n_lost == 0) return a->mix_row;
    dgcn_links l = a->links;
    if (ch_key != DGCN_CH_PARAMS) l.seed = ~l.seed; /* a stream apart from the steps' */
    a->failed[DGCN_CH_PARAMS] += (uint64_t)dgcn_links_params(&l, a->mix_row, n, round, a->step_row,
                                                             a->skip);
    *skip = a->skip;
    return s_drop_lost(a, a->step_row);
}

/* One round is the plain average (the first weight of the recursion is 1). */
int dgcn_agent_mix(dgcn_agent *a, int64_t iter) { return dgcn_agent_agree(a, iter, 1); }

int dgcn_agent_agree(dgcn_agent *a, int64_t iter, int32_t rounds) {
    int rc;
    if (rounds < 1) return DGCN_OK;
    DGCN_CHECK(s_begin(a, iter, DGCN_AGENT_TAG_MIX));
    double t0 = dgcn_now_ms();
    const int64_t p = a->n_params;
    const dgcn_consensus_config *cc = &a->opts.consensus;
    const double rho = cc->gossip_accel == DGCN_GOSSIP_CHEBYSHEV ? cc->gossip_rho : 0.0;
    /* x_0 = theta; round r sends x_r and forms x_{r+1} = w (C x_r) + (1 - w) x_{r-1} into the
     * next rotating buffer (the lending argument at s_msg_take), the last one into theta. */
    float *msg = s_msg_take(a), *prev = NULL;
    memcpy(msg, a->theta, (size_t)p * sizeof *msg);
    for (int32_t r = 0; r < rounds; r++) {
        /* under a schedule, round r of the averaging uses the phase of iteration iter + r */
        const char *skip;
        const double *row = s_params_row(a, iter + r, r, DGCN_CH_CONTROL, &skip);
        DGCN_CHECK(s_params_exchange(a, msg, p, a->msg_recv, r, skip, "averaging round"));
        row = s_drop_lost(a, row);
        const double w = rho > 0.0 ? dgcn_gossip_weight(rho, r) : 1.0;
        float *next = r + 1 < rounds ? s_msg_take(a) : a->theta;
        for (int64_t k = 0; k < p; k++) {
            double acc = row[0] * msg[k];
            for (int32_t i = 0; i < a->n_nb; i++) acc += row[i + 1] * a->x_lent[i][k];
            next[k] = (float)(prev && w != 1.0 ? w * acc + (1.0 - w) * prev[k] : acc);
        }
        prev = msg;
        msg = next;
    }
    a->timing.consensus_ms += dgcn_now_ms() - t0;
    return DGCN_OK;
fail:
    return rc;
}

/* The consensus step with compressed gossip (nn/choco.h): the optimizer's message, R rounds of
 * x <- x + gamma (s - xhat) each after one exchange of Q(x - xhat), then the optimizer's update
 * on the result as if it were the exactly mixed message (a mixing row of the self weight 1). */
static int s_step_compressed(dgcn_agent *a, int64_t iter) {
    static const double one[1] = {1.0};
    float *msg = s_msg_take(a);
    int rc = dgcn_consensus_prepare(a->cons, iter, a->theta, a->grad, msg);
    const int32_t rounds = a->opts.consensus.gossip_rounds;
    for (int32_t r = 0; rc == DGCN_OK && r < rounds; r++) {
        float *wire = a->wires[a->wire_next];
        a->wire_next = (a->wire_next + 1) % 3;
        rc = dgcn_choco_send(a->choco, a->shard->agent, iter, r, msg, a->mix_row[0], wire);
        if (rc != DGCN_OK) break;
        /* names the exchange itself */
        DGCN_CHECK(s_params_exchange(a, wire, a->wire_len, a->wire_recv, r, NULL,
                                     "compressed gossip, iteration"));
        rc = dgcn_choco_mix(a->choco, iter, r, a->mix_row, a->n_nb, a->t->neighbors, a->x_lent, msg,
                            msg);
    }
    if (rc != DGCN_OK)
        return dgcn_error_wrap(rc, "agent %d, iteration %lld, compressed gossip: ", a->shard->agent,
                               (long long)iter);
    return dgcn_consensus_mix_round(a->cons, iter, rounds - 1, a->grad, one, 0, msg, NULL, NULL,
                                    a->theta);
fail:
    return rc;
}

int dgcn_agent_step(dgcn_agent *a, int64_t iter, dgcn_eval *train_ev) {
    int rc;
    DGCN_CHECK(s_begin(a, iter, DGCN_AGENT_TAG_STEP));
    DGCN_CHECK(s_pass(a, 1, 1, train_ev));
    if (a->choco) {
        double t0 = dgcn_now_ms();
        DGCN_CHECK(s_step_compressed(a, iter));
        a->timing.consensus_ms += dgcn_now_ms() - t0;
        a->timing.steps++;
        return DGCN_OK;
    }

    double t0 = dgcn_now_ms();
    /* x_0 = msg; gossip round r sends x_r and forms x_{r+1} from the neighbours' x_r and the
     * agent's own x_{r-1} (prev, Chebyshev). msg, prev and next are the three rotating buffers,
     * distinct: prev and msg are read as sent, next was last sent two exchanges ago (the lending
     * argument at s_msg_take). */
    float *msg = s_msg_take(a), *prev = NULL;
    DGCN_CHECK(dgcn_consensus_prepare(a->cons, iter, a->theta, a->grad, msg));
    const float *const *recv = a->x_lent;
    const int32_t rounds = a->opts.consensus.gossip_rounds;
    const char *skip;
    const double *row;
    for (int32_t r = 0; r + 1 < rounds; r++) {
        row = s_params_row(a, iter, r, DGCN_CH_PARAMS, &skip);
        DGCN_CHECK(s_params_exchange(a, msg, a->msg_len, a->msg_recv, r, skip, "iteration"));
        row = s_drop_lost(a, row);
        float *next = s_msg_take(a);
        DGCN_CHECK(dgcn_consensus_combine(a->cons, r, row, a->n_nb, msg, prev, recv, next));
        prev = msg;
        msg = next;
    }
    row = s_params_row(a, iter, rounds - 1, DGCN_CH_PARAMS, &skip);
    DGCN_CHECK(s_params_exchange(a, msg, a->msg_len, a->msg_recv, rounds - 1, skip, "iteration"));
    row = s_drop_lost(a, row);
    DGCN_CHECK(dgcn_consensus_mix_round(a->cons, iter, rounds - 1, a->grad, row, a->n_nb, msg, prev,
                                        recv, a->theta));
    a->timing.consensus_ms += dgcn_now_ms() - t0;
    a->timing.steps++;
    return DGCN_OK;
fail:
    return rc;
}

int dgcn_agent_evaluate(dgcn_agent *a, int64_t iter, dgcn_eval *ev) {
    int rc;
    DGCN_CHECK(s_begin(a, iter, DGCN_AGENT_TAG_EVAL));
    DGCN_CHECK(s_pass(a, 0, 0, ev));
    return DGCN_OK;
fail:
    return rc;
}

int dgcn_agent_gradient(dgcn_agent *a, int64_t iter, int training, float *grad_out) {
    int rc;
    if (!training && a->model.dropout > 0.0f)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: a dropout-free gradient needs a model without "
                              "dropout (this one has %g)",
                              a->shard->agent, a->model.dropout);
    DGCN_CHECK(s_begin(a, iter, DGCN_AGENT_TAG_GRADIENT));
    DGCN_CHECK(s_pass(a, 1, 1, NULL)); /* backward needs a training forward; p = 0 is exact */
    if (grad_out) memcpy(grad_out, a->grad, (size_t)a->n_params * sizeof *grad_out);
    return DGCN_OK;
fail:
    return rc;
}
