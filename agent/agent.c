/* agent/agent.c: one agent: its shard's GCN block, the halo exchange hook over the transport, and
 * the consensus step. See agent/agent.h. */
#include "agent/agent.h"

#include "core/error.h"
#include "core/timer.h"

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
    float *msg;           /* (msg_len) own consensus message */
    float *msg_recv;      /* (n_nb, msg_len) neighbours' consensus messages */
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
    int64_t tag;          /* transport iteration field of the current pass */
    int64_t iter;         /* user iteration of the current pass (error messages) */
    dgcn_agent_timing timing;
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
    dgcn_exchange x = {
        .channel = phase == DGCN_PHASE_FORWARD ? DGCN_CH_HALO_FWD : DGCN_CH_HALO_BWD,
        .iter = a->tag,
        .layer = layer,
        .send = a->x_send,
        .send_len = a->x_send_len,
        .recv = a->x_recv,
        .recv_len = a->x_recv_len,
    };
    int rc = dgcn_transport_exchange(a->t, &x);
    if (rc != DGCN_OK) /* the model adds the iteration and the layer */
        return dgcn_error_wrap(rc, "agent %d, %s pass (tag %lld): ", s->agent, s_purpose_name(a),
                               (long long)a->tag);
    if (phase == DGCN_PHASE_BACKWARD) {
        for (int32_t i = 0; i < a->n_nb; i++) {
            const int32_t p = a->nb_peer[i];
            if (p < 0) continue;
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
        if (!found) {
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

int dgcn_agent_new(dgcn_agent **out, const dgcn_shard *shard, const dgcn_model_config *model,
                   dgcn_transport *t, const double *mix_row, const dgcn_agent_opts *opts) {
    int rc;
    dgcn_agent *a = NULL;
    *out = NULL;
    DGCN_CHECK(s_check_inputs(shard, model, t, mix_row));
    DGCN_ALLOC(a, 1);
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
    DGCN_ALLOC(a->halo_off, a->n_nb);
    int64_t halo_floats = 0;
    for (int32_t i = 0; i < a->n_nb; i++) {
        a->halo_off[i] = halo_floats;
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
        halo_floats += n_send * a->max_width;
    }
    DGCN_ALLOC(a->halo_buf, halo_floats);
    DGCN_ALLOC(a->x_send, a->n_nb);
    DGCN_ALLOC(a->x_recv, a->n_nb);
    DGCN_ALLOC(a->x_send_len, a->n_nb);
    DGCN_ALLOC(a->x_recv_len, a->n_nb);

    a->blk.n_own = shard->n_own;
    a->blk.n_halo = model->kind == DGCN_MODEL_MLP ? 0 : shard->n_halo;
    a->blk.a = model->kind == DGCN_MODEL_MLP ? NULL : &shard->a;
    a->blk.x = &shard->x;
    a->blk.gid = shard->gid;
    a->blk.label = shard->label;
    a->blk.split = shard->split;
    a->blk.n_train_global = shard->n_train_global;
    a->blk.reg_share = 1.0f / (float)shard->n_agents;
    rc = dgcn_gcn_new(&a->gcn, model, &a->blk, s_exchange, a);
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
    DGCN_ALLOC(a->msg, a->msg_len);
    DGCN_ALLOC(a->msg_recv, (int64_t)a->n_nb * a->msg_len);
    DGCN_ALLOC(a->mix_row, a->n_nb + 1);
    memcpy(a->mix_row, mix_row, (size_t)(a->n_nb + 1) * sizeof *a->mix_row);
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
    free(a->msg);
    free(a->msg_recv);
    free(a->mix_row);
    free(a->nb_peer);
    free(a->halo_buf);
    free(a->halo_off);
    free(a->x_send);
    free(a->x_recv);
    free(a->x_send_len);
    free(a->x_recv_len);
    free(a);
    *pa = NULL;
}

int dgcn_agent_set_params(dgcn_agent *a, const float *theta) {
    if (!theta) return dgcn_error_set(DGCN_EINVAL, "agent %d: theta is NULL", a->shard->agent);
    memcpy(a->theta, theta, (size_t)a->n_params * sizeof *theta);
    return DGCN_OK;
}

const float *dgcn_agent_params(const dgcn_agent *a) { return a->theta; }
int64_t dgcn_agent_n_params(const dgcn_agent *a) { return a->n_params; }
const float *dgcn_agent_logits(const dgcn_agent *a) { return dgcn_gcn_logits(a->gcn); }
const float *dgcn_agent_tracker(const dgcn_agent *a) { return dgcn_consensus_tracker(a->cons); }
dgcn_agent_timing dgcn_agent_timings(const dgcn_agent *a) { return a->timing; }
dgcn_traffic dgcn_agent_traffic(const dgcn_agent *a) { return a->t->traffic; }

static int s_begin(dgcn_agent *a, int64_t iter, int purpose) {
    if (iter < 0 || iter > (INT64_MAX / DGCN_AGENT_TAG_STRIDE) - 1)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: iteration %lld out of range", a->shard->agent,
                              (long long)iter);
    a->iter = iter;
    a->tag = iter * DGCN_AGENT_TAG_STRIDE + purpose;
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

/* The params exchange of the current tag: buf (len floats) to every neighbour; neighbour i's
 * message lands in a->x_recv[i]. what names the pass in an error ("iteration", "averaging round"). */
static int s_params_exchange(dgcn_agent *a, const float *buf, int64_t len, const char *what) {
    for (int32_t i = 0; i < a->n_nb; i++) {
        a->x_send[i] = buf;
        a->x_send_len[i] = (int32_t)len;
        a->x_recv[i] = a->msg_recv + (int64_t)i * a->msg_len;
        a->x_recv_len[i] = (int32_t)len;
    }
    dgcn_exchange x = {
        .channel = DGCN_CH_PARAMS,
        .iter = a->tag,
        .layer = 0,
        .send = a->x_send,
        .send_len = a->x_send_len,
        .recv = a->x_recv,
        .recv_len = a->x_recv_len,
    };
    int rc = dgcn_transport_exchange(a->t, &x);
    if (rc != DGCN_OK)
        dgcn_error_wrap(rc, "agent %d, %s %lld, params exchange (tag %lld): ", a->shard->agent,
                        what, (long long)a->iter, (long long)a->tag);
    return rc;
}

int dgcn_agent_mix(dgcn_agent *a, int64_t iter) {
    int rc;
    DGCN_CHECK(s_begin(a, iter, DGCN_AGENT_TAG_MIX));
    double t0 = dgcn_now_ms();
    const int64_t p = a->n_params;
    DGCN_CHECK(s_params_exchange(a, a->theta, p, "averaging round"));
    /* a->msg (msg_len >= P floats) holds the mixture until every neighbour's copy is read */
    for (int64_t k = 0; k < p; k++) {
        double acc = a->mix_row[0] * a->theta[k];
        for (int32_t i = 0; i < a->n_nb; i++) acc += a->mix_row[i + 1] * a->x_recv[i][k];
        a->msg[k] = (float)acc;
    }
    memcpy(a->theta, a->msg, (size_t)p * sizeof *a->theta);
    a->timing.consensus_ms += dgcn_now_ms() - t0;
    return DGCN_OK;
fail:
    return rc;
}

int dgcn_agent_step(dgcn_agent *a, int64_t iter, dgcn_eval *train_ev) {
    int rc;
    DGCN_CHECK(s_begin(a, iter, DGCN_AGENT_TAG_STEP));
    DGCN_CHECK(s_pass(a, 1, 1, train_ev));

    double t0 = dgcn_now_ms();
    DGCN_CHECK(dgcn_consensus_prepare(a->cons, iter, a->theta, a->grad, a->msg));
    DGCN_CHECK(s_params_exchange(a, a->msg, a->msg_len, "iteration"));
    DGCN_CHECK(dgcn_consensus_mix(a->cons, iter, a->grad, a->mix_row, a->n_nb, a->msg,
                                  (const float *const *)a->x_recv, a->theta));
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
