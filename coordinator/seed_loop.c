/* coordinator/seed_loop.c: each seed a session from set-up to the last report. */
#include "coordinator/seed_loop.h"

#include "coordinator/gather.h"
#include "coordinator/model.h"
#include "coordinator/rundir.h"
#include "coordinator/session.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/signal.h"
#include "core/timer.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* The mean of the copies as RUNDIR/model, and its centralized test accuracy. */
static int s_save_model(const dgcn_train_opts *o, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                        const dgcn_model_config *mc, const double *mean, int64_t np, int32_t m,
                        int64_t iters, uint64_t seed, const char *plan_id, double *test_acc) {
    int rc = DGCN_OK;
    dgcn_model_file mf;
    memset(&mf, 0, sizeof mf);
    mf.model = *mc;
    mf.model.dropout = 0.0f;
    mf.model.weight_decay = 0.0f;
    mf.n_params = np;
    mf.agents = m;
    mf.iterations = iters;
    mf.seed = seed;
    snprintf(mf.plan_id, sizeof mf.plan_id, "%s", plan_id);
    DGCN_ALLOC(mf.theta, np);
    for (int64_t i = 0; i < np; i++) mf.theta[i] = (float)mean[i];
    DGCN_CHECK(dgcn_model_file_write(o->out, "model", &mf));
    *test_acc = NAN;
    if (ds->samples) goto fail; /* regression: the agents' reports give the test error */
    dgcn_eval ev;
    DGCN_CHECK(dgcn_model_file_predict(&mf, ds, a_hat, NULL, &ev));
    int32_t ok = ev.correct[DGCN_SPLIT_TEST], all = ev.count[DGCN_SPLIT_TEST];
    *test_acc = all ? (double)ok / (double)all : 0.0;
    if (o->progress)
        fprintf(o->log ? o->log : stdout,
                "model %s/model (mean of %d copies): test accuracy %.6f (%d/%d)\n", o->out, (int)m,
                *test_acc, (int)ok, (int)all);
fail:
    dgcn_model_file_fini(&mf);
    return rc;
}

/* One seed in flight: its session, gatherer and clock. */
typedef struct s_seed {
    dgcn_seed_loop *l;
    dgcn_run_config cfg; /* this seed's */
    uint64_t seed;
    int64_t np;
    dgcn_session *sess;
    dgcn_gather g;
    double *mean; /* (np) the copies' mean at the last full interval */
    double t0, t_prev;
    int64_t it_prev;
    int done;        /* evaluated iterations complete */
    uint8_t *victim; /* [M] or NULL (o->kill_agents): 1 to kill at o->kill_iter, 2 killed */
} s_seed;

/* The o->kill_agents agents a seed kills (coordinator/study.h, --agent-loss): drawn from the
 * seed, so every configuration of a study loses the same agents. */
static int s_pick_victims(s_seed *s, int32_t m) {
    int rc = DGCN_OK;
    int *ids = NULL;
    const dgcn_train_opts *o = s->l->o;
    if (o->kill_agents <= 0) return DGCN_OK;
    DGCN_ALLOC(s->victim, m);
    DGCN_ALLOC(ids, m);
    for (int32_t k = 0; k < m; k++) ids[k] = k;
    dgcn_rng r;
    dgcn_rng_seed(&r, s->seed, DGCN_STREAM_LOSS);
    dgcn_rng_shuffle_int(&r, ids, m);
    for (int32_t i = 0; i < o->kill_agents && i < m; i++) s->victim[ids[i]] = 1;
fail:
    free(ids);
    return rc;
}

/* A victim whose report of an iteration >= o->kill_iter came in is killed now; its loss then
 * comes back from the session as any other. */
static int s_kill_victim(s_seed *s, const dgcn_ctl_report *rp) {
    int32_t k = rp->agent;
    if (!s->victim || k < 0 || k >= s->l->p->m || s->victim[k] != 1 ||
        rp->iter < s->l->o->kill_iter)
        return DGCN_OK;
    s->victim[k] = 2;
    return dgcn_session_kill(s->sess, k);
}

/* Every agent has reported the iteration of slot sl: its metrics line, curve point, .tsv and
 * progress lines, the seed's figures so far, and at the last report the model. */
static int s_interval(s_seed *s, dgcn_gather_slot *sl, dgcn_seed_out *res) {
    int rc = DGCN_OK;
    dgcn_seed_loop *l = s->l;
    const dgcn_train_opts *o = l->o;
    double now = dgcn_now_ms();
    dgcn_gather_point pt;
    dgcn_gather_point_of(&s->g, sl, s->mean, &pt);
    int64_t n = pt.iter;
    dgcn_curve_point cp = dgcn_gather_curve_point(&pt);
    DGCN_CHECK(dgcn_curve_add_point(l->curve, l->curve_cap, &cp));
    double bpi = pt.bytes_per_iter;
    double ips = n > s->it_prev && now > s->t_prev
                     ? (double)(n - s->it_prev) * 1e3 / (now - s->t_prev)
                     : 0;
    if (n > s->it_prev)
        l->intervals[l->n_intervals++] = (now - s->t_prev) / (double)(n - s->it_prev);
    if (l->metrics) {
        dgcn_gather_metrics_line(&s->g, l->metrics, s->seed, sl, &pt,
                                 l->p->cross == DGCN_CROSS_RELAY,
                                 dgcn_session_hub(s->sess)->traffic.dropped, now - s->t0);
        DGCN_CHECK(dgcn_rundir_fflush(l->metrics, o->out, "metrics.jsonl"));
        if (n == l->ck->kill_iter) raise(SIGKILL); /* test only: the coordinator dies here */
    }
    if (l->tsv) dgcn_gather_tsv_line(l->tsv, &pt);
    if (o->progress) {
        FILE *log = o->log ? o->log : stdout;
        fprintf(log,
                "seed %" PRIu64 " iter %5" PRId64 "  loss %.4f  val %.4f  consensus %.3e  "
                "%.0f B/iter  %.1f it/s\n",
                s->seed, n, pt.loss, pt.acc[1], pt.consensus, bpi, ips);
        fflush(log);
    }
    res->test_acc = pt.acc[2];
    res->test_mae = pt.mae[2];
    res->consensus = pt.consensus;
    res->bytes_per_iter = bpi;
    res->direct_per_iter = n > 0 ? (double)(pt.halo - pt.relayed) / (double)n : 0.0;
    res->relayed_per_iter = n > 0 ? (double)pt.relayed / (double)n : 0.0;
    res->params_per_iter = n > 0 ? (double)pt.params / (double)n : 0.0;
    res->bytes_total = (double)pt.moved;
    res->params_bytes_total = (double)pt.params;
    res->halo_raw_total = (double)pt.halo_raw;
    memcpy(res->link_failures, pt.failed, sizeof res->link_failures);
    if (s->done + 1 == s->g.n_evals) /* the last report: the copies' mean is the run's model */
        DGCN_CHECK(s_save_model(o, l->ds, l->a_hat, &s->cfg.model, s->mean, s->np, l->p->m, n,
                                s->seed, l->ck->plan_id, &res->model_test_acc));
    s->t_prev = now;
    s->it_prev = n;
    dgcn_gather_release(sl);
    s->done++;
fail:
    return rc;
}

/* Receives until every evaluated iteration of the seed is in: states go to the checkpoint store,
 * reports to the gatherer. */
static int s_receive(s_seed *s, dgcn_seed_out *res) {
    int rc = DGCN_OK;
    const dgcn_train_opts *o = s->l->o;
    while (s->done < s->g.n_evals) {
        dgcn_ctl_msg msg;
        if (o->max_ms > 0 && dgcn_now_ms() - s->l->t_start > o->max_ms)
            return dgcn_error_set(DGCN_ETIMEDOUT,
                                  "train: not finished within %.0f s (seed %" PRIu64
                                  ", %d of %d evaluations)",
                                  o->max_ms / 1e3, s->seed, s->done, s->g.n_evals);
        DGCN_CHECK(dgcn_session_recv(s->sess, &msg, -1));
        dgcn_gather_slot *full = NULL;
        if (msg.kind == DGCN_CTL_ERROR) { /* an agent lost; the run goes on without it */
            int32_t k = msg.u.error.agent;
            if (res->n_lost < DGCN_SEED_LOST_MAX) {
                res->lost_agent[res->n_lost] = k;
                res->lost_iter[res->n_lost] = msg.u.error.iter;
            }
            res->n_lost++;
            if (o->progress)
                fprintf(o->log ? o->log : stdout,
                        "seed %" PRIu64 ": agent %d %s (last report: iteration %" PRId64
                        "); its neighbours drop it and the run goes on without its nodes\n",
                        s->seed, (int)k, msg.u.error.message ? msg.u.error.message : "is gone",
                        msg.u.error.iter);
            dgcn_ctl_msg_fini(&msg);
            for (;;) { /* the intervals that waited only for it */
                DGCN_CHECK(dgcn_gather_lose(&s->g, k, &full));
                if (!full) break;
                DGCN_CHECK(s_interval(s, full, res));
            }
            continue;
        }
        if (msg.kind == DGCN_CTL_STATE) rc = dgcn_ckpt_take(s->l->ck, &msg, s->np);
        else if ((rc = s_kill_victim(s, &msg.u.report)) == DGCN_OK)
            rc = dgcn_gather_add(&s->g, &msg.u.report, &full);
        dgcn_ctl_msg_fini(&msg);
        if (rc != DGCN_OK) goto fail;
        if (full) DGCN_CHECK(s_interval(s, full, res));
    }
fail:
    return rc;
}

/* One seed: a session from set-up to the last report. The plan's set-up messages (the shards
 * packed once for all seeds) receive this seed's run configuration. */
static int s_run_seed(dgcn_seed_loop *l, int si, dgcn_seed_out *res) {
    int rc = DGCN_OK;
    const dgcn_train_opts *o = l->o;
    int32_t m = l->p->m;
    s_seed s;
    memset(&s, 0, sizeof s);
    s.l = l;
    s.seed = o->plan.seed + (uint64_t)si;
    s.cfg = *l->cfg;
    const int regression = s.cfg.task == DGCN_TASK_REGRESSION;
    s.cfg.init_seed = s.seed;
    s.cfg.dropout_seed = s.seed;
    if (regression) s.cfg.batch_seed = s.seed;
    s.np = dgcn_model_n_params(&s.cfg.model);
    for (int32_t k = 0; k < m; k++) dgcn_run_config_to_ctl(&s.cfg, &l->setups[k].config);
    DGCN_ALLOC(s.mean, s.np);
    DGCN_CHECK(dgcn_gather_init(&s.g, m, s.np, o->iters, o->eval_every, regression));
    DGCN_CHECK(s_pick_victims(&s, m));

    char sockdir[4096];
    snprintf(sockdir, sizeof sockdir, "%s", o->out);
    dgcn_session_opts so = {o->transport,
                            m,
                            o->deadline_ms,
                            sockdir,
                            o->tcp_host,
                            o->program,
                            o->workers,
                            o->out,
                            l->agent_deadline_ms,
                            o->wait_for_agents,
                            s.cfg.on_agent_loss == DGCN_ON_LOSS_CONTINUE};
    DGCN_CHECK(dgcn_session_start(&s.sess, &so));
    DGCN_CHECK(dgcn_session_setup(s.sess, l->setups));
    s.t0 = s.t_prev = dgcn_now_ms();
    s.it_prev = l->start; /* a resumed run: its checkpoint */
    s.done = l->start > 0 ? (int)(l->start / o->eval_every) + 1 : 0; /* evaluations up to start */
    l->ck->seed = s.seed;
    DGCN_CHECK(s_receive(&s, res));
    res->train_ms = dgcn_now_ms() - s.t0;
    DGCN_CHECK(dgcn_session_finish(s.sess));
fail:
    dgcn_session_destroy(&s.sess);
    dgcn_gather_fini(&s.g);
    free(s.mean);
    free(s.victim);
    return rc;
}

int dgcn_seed_loop_run(dgcn_seed_loop *l, dgcn_seed_out *out) {
    int rc = DGCN_OK;
    for (int si = 0; si < l->o->seeds; si++) {
        memset(&out[si], 0, sizeof out[si]);
        if (si) fprintf(l->tsv, "\n\n");
        DGCN_CHECK(s_run_seed(l, si, &out[si]));
        DGCN_CHECK(dgcn_signal_check("training"));
    }
fail:
    return rc;
}
