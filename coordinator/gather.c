/* coordinator/gather.c: one evaluation interval's reports into metrics lines and curves. */
#include "coordinator/gather.h"

#include "coordinator/rundir.h"
#include "core/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static const char *s_phase_names[DGCN_RUN_N_PHASES] = {"forward", "backward", "consensus", "eval"};

/* The per-split columns of metrics.jsonl and plots/train.tsv. */
static const char *const s_acc_cols[DGCN_SPLITS] = {"train_acc", "val_acc", "test_acc"};
static const char *const s_mse_cols[DGCN_SPLITS] = {"train_mse", "val_mse", "test_mse"};
static const char *const s_mae_cols[DGCN_SPLITS] = {"train_mae", "val_mae", "test_mae"};

int dgcn_gather_init(dgcn_gather *g, int32_t m, int64_t np, int iters, int eval_every,
                     int regression) {
    int rc = DGCN_OK;
    memset(g, 0, sizeof *g);
    g->m = m;
    g->np = np;
    g->iters = iters;
    g->eval_every = eval_every;
    g->n_evals = 1 + (iters + eval_every - 1) / eval_every;
    g->regression = regression;
    DGCN_ALLOC(g->slots, g->n_evals);
    DGCN_ALLOC(g->lost, m);
fail:
    return rc;
}

/* 1 when every agent's report is in or the agent is lost. */
static int s_slot_full(const dgcn_gather *g, const dgcn_gather_slot *sl) {
    if (sl->got == 0 || !sl->from) return 0;
    if (sl->got == g->m) return 1;
    for (int32_t k = 0; k < g->m; k++)
        if (!sl->from[k] && !g->lost[k]) return 0;
    return 1;
}

int dgcn_gather_lose(dgcn_gather *g, int32_t k, dgcn_gather_slot **full) {
    *full = NULL;
    if (k < 0 || k >= g->m) return dgcn_error_set(DGCN_EINVAL, "gather: no agent %d", k);
    if (!g->lost[k]) g->n_lost++;
    g->lost[k] = 1;
    for (int i = 0; i < g->n_evals; i++) {
        dgcn_gather_slot *sl = &g->slots[i];
        if (sl->params && !sl->done && s_slot_full(g, sl)) {
            sl->done = 1;
            *full = sl;
            return DGCN_OK;
        }
    }
    return DGCN_OK;
}

void dgcn_gather_fini(dgcn_gather *g) {
    for (int i = 0; g->slots && i < g->n_evals; i++) {
        free(g->slots[i].params);
        free(g->slots[i].from);
    }
    free(g->slots);
    free(g->lost);
    g->slots = NULL;
    g->lost = NULL;
}

int dgcn_gather_add(dgcn_gather *g, const dgcn_ctl_report *r, dgcn_gather_slot **full) {
    int64_t n = r->iter, np = g->np;
    int idx = n <= 0 ? 0 : (int)((n + g->eval_every - 1) / g->eval_every);
    *full = NULL;
    if (n < 0 || n > g->iters || idx >= g->n_evals || r->n_params != np)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d: report for iteration %" PRId64 " with %" PRId64
                              " parameters (expected an evaluated iteration <= %d, %" PRId64
                              " parameters)",
                              r->agent, n, r->n_params, g->iters, np);
    dgcn_gather_slot *sl = &g->slots[idx];
    if (!sl->params) {
        sl->params = malloc(sizeof(float) * (size_t)g->m * (size_t)np);
        sl->from = calloc((size_t)g->m, 1);
        if (!sl->params || !sl->from)
            return dgcn_error_set(DGCN_ENOMEM, "out of memory gathering parameters");
    }
    if (r->agent >= 0 && r->agent < g->m) sl->from[r->agent] = 1;
    sl->iter = n;
    sl->got++;
    for (int s = 0; s < DGCN_SPLITS; s++) {
        sl->loss[s] += r->loss_sum[s];
        sl->abs[s] += r->abs_sum[s];
        sl->correct[s] += r->correct[s];
        sl->count[s] += r->count[s];
    }
    for (int ch = 0; ch < DGCN_CH_COUNT; ch++) {
        sl->tr.bytes[ch] += r->traffic.bytes[ch];
        sl->tr.messages[ch] += r->traffic.messages[ch];
        sl->relayed[ch] += r->relayed[ch];
        sl->failed[ch] += r->link_failures[ch];
        sl->raw[ch] += r->halo_raw[ch];
    }
    sl->tr.dropped += r->traffic.dropped;
    for (int ph = 0; ph < r->n_phases && ph < DGCN_RUN_N_PHASES; ph++)
        if (r->phase_ms[ph] > sl->phase[ph]) sl->phase[ph] = r->phase_ms[ph];
    memcpy(sl->params + (size_t)r->agent * np, r->params, sizeof(float) * (size_t)np);
    if (!sl->done && s_slot_full(g, sl)) {
        sl->done = 1;
        *full = sl;
    }
    return DGCN_OK;
}

void dgcn_gather_point_of(const dgcn_gather *g, const dgcn_gather_slot *sl, double *mean,
                          dgcn_gather_point *pt) {
    int64_t n = sl->iter;
    memset(pt, 0, sizeof *pt);
    pt->iter = n;
    for (int s = 0; s < DGCN_SPLITS; s++) {
        double cnt = (double)sl->count[s];
        pt->acc[s] = !sl->count[s] ? 0.0 : g->regression ? sl->loss[s] / cnt : sl->correct[s] / cnt;
        pt->mae[s] = sl->count[s] ? sl->abs[s] / cnt : 0.0;
    }
    pt->loss = sl->count[0] ? sl->loss[0] / (double)sl->count[0] : 0.0;
    int32_t alive = g->m;
    if (g->n_lost > 0) { /* the copies of the agents not lost, packed in agent order */
        alive = 0;
        for (int32_t k = 0; k < g->m; k++) {
            if (!sl->from[k] || g->lost[k]) continue;
            if (alive != k)
                memmove(sl->params + (size_t)alive * (size_t)g->np,
                        sl->params + (size_t)k * (size_t)g->np, sizeof(float) * (size_t)g->np);
            alive++;
        }
    }
    pt->consensus = dgcn_observe_consensus_error(sl->params, alive, g->np, mean);
    pt->halo = sl->tr.bytes[DGCN_CH_HALO_FWD] + sl->tr.bytes[DGCN_CH_HALO_BWD];
    pt->params = sl->tr.bytes[DGCN_CH_PARAMS];
    pt->moved = pt->halo + pt->params;
    pt->relayed = sl->relayed[DGCN_CH_HALO_FWD] + sl->relayed[DGCN_CH_HALO_BWD];
    pt->bytes_per_iter = n > 0 ? (double)pt->moved / (double)n : 0.0;
    memcpy(pt->failed, sl->failed, sizeof pt->failed);
    pt->halo_raw = sl->raw[DGCN_CH_HALO_FWD] + sl->raw[DGCN_CH_HALO_BWD];
}

void dgcn_gather_release(dgcn_gather_slot *sl) {
    free(sl->params);
    free(sl->from);
    sl->params = NULL;
    sl->from = NULL;
}

void dgcn_gather_metrics_line(const dgcn_gather *g, FILE *f, uint64_t seed,
                              const dgcn_gather_slot *sl, const dgcn_gather_point *pt, int relay,
                              uint64_t dropped, double elapsed_ms) {
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_u64(&j, "seed", seed);
    dgcn_json_int(&j, "iter", (long long)pt->iter);
    dgcn_json_num(&j, "train_loss", pt->loss);
    for (int s = 0; s < DGCN_SPLITS; s++)
        dgcn_json_num(&j, (g->regression ? s_mse_cols : s_acc_cols)[s], pt->acc[s]);
    for (int s = 0; s < DGCN_SPLITS && g->regression; s++)
        dgcn_json_num(&j, s_mae_cols[s], pt->mae[s]);
    dgcn_json_num(&j, "consensus_error", pt->consensus);
    dgcn_json_object(&j, "bytes");
    for (int ch = 0; ch < DGCN_CH_COUNT; ch++)
        dgcn_json_int(&j, dgcn_channel_name(ch), (long long)sl->tr.bytes[ch]);
    dgcn_json_end(&j);
    if (relay) {
        dgcn_json_object(&j, "bytes_relayed");
        for (int ch = DGCN_CH_HALO_FWD; ch <= DGCN_CH_HALO_BWD; ch++)
            dgcn_json_int(&j, dgcn_channel_name(ch), (long long)sl->relayed[ch]);
        dgcn_json_end(&j);
    }
    if (sl->failed[DGCN_CH_HALO_FWD] + sl->failed[DGCN_CH_HALO_BWD] + sl->failed[DGCN_CH_PARAMS]) {
        dgcn_json_object(&j, "link_failures"); /* only when links fail: else as without */
        for (int ch = DGCN_CH_HALO_FWD; ch <= DGCN_CH_PARAMS; ch++)
            dgcn_json_int(&j, dgcn_channel_name(ch), (long long)sl->failed[ch]);
        dgcn_json_end(&j);
    }
    if (pt->halo_raw) { /* only with --compress-halo: else as without */
        dgcn_json_object(&j, "bytes_uncompressed");
        for (int ch = DGCN_CH_HALO_FWD; ch <= DGCN_CH_HALO_BWD; ch++)
            dgcn_json_int(&j, dgcn_channel_name(ch), (long long)sl->raw[ch]);
        dgcn_json_end(&j);
    }
    dgcn_json_num(&j, "bytes_per_iter", pt->bytes_per_iter);
    dgcn_json_int(&j, "bytes_cum", (long long)pt->moved);
    dgcn_json_int(&j, "params_bytes_cum", (long long)pt->params);
    dgcn_json_object(&j, "ms");
    for (int ph = 0; ph < DGCN_RUN_N_PHASES; ph++)
        dgcn_json_num(&j, s_phase_names[ph], sl->phase[ph]);
    dgcn_json_end(&j);
    dropped += sl->tr.dropped;
    if (dropped) dgcn_json_int(&j, "dropped_frames", (long long)dropped);
    dgcn_json_num(&j, "elapsed_ms", elapsed_ms);
    dgcn_json_end(&j);
}

/* The .tsv line of one point; the consensus error floored for the log scale. */
static void s_tsv_line(FILE *tsv, int64_t n, double loss, double a0, double a1, double a2,
                       double cons) {
    fprintf(tsv, "%" PRId64 " %.8g %.6g %.6g %.6g %.6g\n", n, loss, a0, a1, a2,
            cons > 0 ? cons : 1e-12);
}

void dgcn_gather_tsv_line(FILE *tsv, const dgcn_gather_point *pt) {
    s_tsv_line(tsv, pt->iter, pt->loss, pt->acc[0], pt->acc[1], pt->acc[2], pt->consensus);
}

dgcn_curve_point dgcn_gather_curve_point(const dgcn_gather_point *pt) {
    dgcn_curve_point c = {pt->iter,          pt->loss,   pt->consensus,
                          (double)pt->moved, pt->acc[1], pt->acc[2]};
    return c;
}

int dgcn_gather_metrics_cut(const char *out, int64_t iter, int regression, FILE *tsv,
                            dgcn_curve *curve, int cap) {
    int rc = DGCN_OK;
    const char *const *cols = regression ? s_mse_cols : s_acc_cols;
    char path[4300], *text = NULL;
    int64_t size = 0, keep = 0, seen = -1;
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    DGCN_CHECK(dgcn_rundir_read(path, INT64_C(1) << 32, &text, &size));
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl) break; /* a line cut by the kill */
        *nl = '\0';
        double n = dgcn_json_find_num(line, "iter");
        if (!(n <= (double)iter)) break;
        double loss = dgcn_json_find_num(line, "train_loss"),
               cons = dgcn_json_find_num(line, "consensus_error");
        dgcn_curve_point pt = {(int64_t)n,
                               loss,
                               cons,
                               dgcn_json_find_num(line, "bytes_cum"),
                               dgcn_json_find_num(line, "val_acc"),
                               dgcn_json_find_num(line, "test_acc")};
        DGCN_CHECK(dgcn_curve_add_point(curve, cap, &pt));
        s_tsv_line(tsv, (int64_t)n, loss, dgcn_json_find_num(line, cols[0]),
                   dgcn_json_find_num(line, cols[1]), dgcn_json_find_num(line, cols[2]), cons);
        seen = (int64_t)n;
        keep = nl + 1 - text;
        line = nl + 1;
    }
    if (seen < 0)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "%s: no line up to iteration %" PRId64, path, iter));
    if (truncate(path, (off_t)keep) != 0)
        DGCN_CHECK(
            dgcn_error_set(DGCN_EIO, "%s: cannot cut back to %" PRId64 " bytes", path, keep));
fail:
    free(text);
    return rc;
}
