/* coordinator/train_files.c: config.json, its check on resume, summary.json. */
#include "coordinator/train_files.h"

#include "coordinator/run_config.h"
#include "coordinator/rundir.h"
#include "core/error.h"
#include "topologies/graph.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* config.json: the run as resolved, its run configuration (first seed) written from the table. */
static void s_config(FILE *f, const dgcn_train_opts *o, const dgcn_dataset *ds, const dgcn_plan *p,
                     const dgcn_run_config *cfg) {
    char desc[512];
    dgcn_data_source_describe(&o->src, desc, sizeof desc);
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_str(&j, "command", "train");
    dgcn_json_str(&j, "data", desc);
    dgcn_json_int(&j, "nodes", ds->n);
    dgcn_json_int(&j, "features", ds->d);
    dgcn_json_int(&j, "classes", ds->c);
    dgcn_json_int(&j, "agents", p->m);
    dgcn_json_str(&j, "partition", o->plan.partition);
    dgcn_json_str(&j, "topology", o->plan.topology);
    dgcn_json_num(&j, "removal", o->plan.removal);
    dgcn_json_int(&j, "topology_links", (long long)dgcn_topo_links(&p->topo));
    dgcn_json_int(&j, "required_links", (long long)dgcn_topo_links(&p->required));
    dgcn_json_str(&j, "cross_edges", dgcn_cross_edges_name(p->cross));
    dgcn_json_int(&j, "dropped_edges", (long long)p->n_dropped);
    dgcn_json_str(&j, "weights", p->weights);
    char id[32];
    snprintf(id, sizeof id, "%016" PRIx64, p->id);
    dgcn_json_str(&j, "plan_id", id);
    dgcn_json_str(&j, "optimizer", o->optimizer);
    dgcn_json_num(&j, "lr", cfg->consensus.step.alpha0);
    dgcn_json_num(&j, "lr_decay", o->lr_decay);
    dgcn_json_num(&j, "lr_power", o->lr_power);
    dgcn_json_int(&j, "hidden", o->hidden);
    dgcn_json_int(&j, "order", o->order);
    dgcn_json_num(&j, "dropout", o->dropout);
    dgcn_json_int(&j, "iterations", o->iters);
    dgcn_json_int(&j, "seeds", o->seeds);
    dgcn_json_u64(&j, "seed", o->plan.seed);
    dgcn_json_str(&j, "transport", dgcn_transport_kind(o->transport));
    dgcn_json_int(&j, "eval_every", o->eval_every);
    dgcn_json_int(&j, "final_mixing", o->final_mixing);
    dgcn_json_int(&j, "gossip_rounds", o->gossip_rounds);
    dgcn_json_num(&j, "gossip_target", o->gossip_target);
    dgcn_json_str(&j, "gossip_accel", o->gossip_accel);
    dgcn_json_num(&j, "gossip_rho", o->gossip_rho);
    dgcn_json_int(&j, "agree_rounds", o->agree_rounds);
    dgcn_json_num(&j, "lr_cooldown", o->lr_cooldown);
    dgcn_json_int(&j, "init_per_agent", o->init_per_agent);
    dgcn_json_int(&j, "dropout_per_agent", o->dropout_per_agent);
    dgcn_json_int(&j, "shard_files", o->shard_files);
    dgcn_json_int(&j, "checkpoint_every", o->checkpoint_every);
    dgcn_json_int(&j, "deadline_ms", o->deadline_ms);
    dgcn_ctl_config ctl;
    dgcn_run_config_to_ctl(cfg, &ctl);
    dgcn_run_config_json_write(&j, &ctl); /* last: dgcn_run_config_json_read finds it */
    dgcn_json_end(&j);
}

int dgcn_train_files_config_write(const dgcn_train_opts *o, const dgcn_dataset *ds,
                                  const dgcn_plan *p, const dgcn_run_config *cfg) {
    FILE *f = NULL;
    int rc = dgcn_rundir_fopen(o->out, "config.json", "w", &f);
    if (rc != DGCN_OK) return rc;
    s_config(f, o, ds, p, cfg);
    return dgcn_rundir_fclose(&f, o->out, "config.json");
}

int dgcn_train_files_config_check(const char *out, const dgcn_run_config *cfg) {
    char path[4200], *text = NULL;
    snprintf(path, sizeof path, "%s/config.json", out);
    int rc = dgcn_rundir_read(path, 1 << 20, &text, NULL);
    dgcn_ctl_config was, now;
    if (rc == DGCN_OK) rc = dgcn_run_config_json_read(text, path, &was);
    free(text);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "resume: ");
    dgcn_run_config_to_ctl(cfg, &now);
    return dgcn_run_config_resume_check(&was, &now, path);
}

/* summary.json's task figures: accuracy of the agents and the baselines, or regression's. */
static void s_summary_task(dgcn_json *j, int regression, const dgcn_train_result *r) {
    if (!regression) {
        dgcn_json_num(j, "test_acc_mean", r->test_acc_mean);
        dgcn_json_num(j, "test_acc_std", r->test_acc_std);
        dgcn_json_num(j, "central_test_acc_mean", r->central_test_acc_mean);
        dgcn_json_num(j, "central_test_acc_std", r->central_test_acc_std);
        dgcn_json_num(j, "mlp_test_acc_mean", r->mlp_test_acc_mean);
        dgcn_json_num(j, "mlp_test_acc_std", r->mlp_test_acc_std);
        return;
    }
    dgcn_json_str(j, "task", "regression");
    dgcn_json_int(j, "generated", r->generated);
    dgcn_json_str(j, "series_note",
                  r->generated ? "GENERATED traffic-like series, NOT PeMS data"
                               : "series read from file");
    dgcn_json_num(j, "test_mse_mean", r->test_mse_mean);
    dgcn_json_num(j, "test_mse_std", r->test_mse_std);
    dgcn_json_num(j, "test_mae_mean", r->test_mae_mean);
    dgcn_json_num(j, "test_mae_std", r->test_mae_std);
    dgcn_json_num(j, "central_test_mse_mean", r->central_test_mse_mean);
    dgcn_json_num(j, "central_test_mse_std", r->central_test_mse_std);
    dgcn_json_num(j, "central_test_mae_mean", r->central_test_mae_mean);
    dgcn_json_num(j, "central_test_mae_std", r->central_test_mae_std);
}

int dgcn_train_files_summary_write(const dgcn_train_opts *o, int32_t m, int64_t np, int regression,
                                   const dgcn_train_result *r, const double *per_seed) {
    FILE *f = NULL;
    int rc = dgcn_rundir_fopen_tmp(o->out, "summary.json", &f);
    if (rc != DGCN_OK) return rc;
    dgcn_json j;
    dgcn_json_begin(&j, f);
    s_summary_task(&j, regression, r);
    dgcn_json_num(&j, "consensus_error", r->consensus_error);
    dgcn_json_int(&j, "iterations", o->iters);
    dgcn_json_int(&j, "agents", m);
    dgcn_json_int(&j, "seeds", o->seeds);
    dgcn_json_int(&j, "gossip_rounds", o->gossip_rounds);
    dgcn_json_str(&j, "gossip_accel", o->gossip_accel);
    dgcn_json_num(&j, "gossip_rho", o->gossip_rho);
    dgcn_json_int(&j, "agree_rounds", o->agree_rounds);
    dgcn_json_num(&j, "lr_cooldown", o->lr_cooldown);
    dgcn_json_int(&j, "n_params", (long long)np);
    /* params messages per link direction per training iteration: R each, plus the agreement and
     * final averaging rounds spread over the run */
    dgcn_json_num(&j, "params_msgs_per_link_iter",
                  (double)((int64_t)o->gossip_rounds * o->iters + o->agree_rounds +
                           o->final_mixing) /
                      (double)o->iters);
    dgcn_json_num(&j, "bytes_per_iter", r->bytes_per_iter);
    dgcn_json_num(&j, "bytes_per_iter_min", r->bytes_per_iter_min);
    dgcn_json_num(&j, "bytes_per_iter_direct", r->bytes_per_iter_direct);
    dgcn_json_num(&j, "bytes_per_iter_relayed", r->bytes_per_iter_relayed);
    dgcn_json_num(&j, "bytes_per_iter_params", r->bytes_per_iter_params);
    dgcn_json_num(&j, "bytes_total", r->bytes_total);
    dgcn_json_num(&j, "params_bytes_total", r->params_bytes_total);
    dgcn_json_num(&j, "halo_bytes_total", r->bytes_total - r->params_bytes_total);
    if (strcmp(o->compress_halo ? o->compress_halo : "off", "off")) { /* else as without */
        const double halo = r->bytes_total - r->params_bytes_total;
        dgcn_json_str(&j, "compress_halo", o->compress_halo);
        dgcn_json_str(&j, "halo_rounding", o->halo_rounding ? o->halo_rounding : "nearest");
        dgcn_json_str(&j, "halo_feedback", o->halo_feedback ? o->halo_feedback : "none");
        dgcn_json_num(&j, "halo_bytes_uncompressed", r->halo_raw_bytes_total);
        dgcn_json_num(&j, "halo_bytes_saved", r->halo_raw_bytes_total - halo);
    }
    if (o->link_failure > 0.0 || r->schedule_period > 0) { /* else as without these options */
        dgcn_json_num(&j, "link_failure", o->link_failure);
        dgcn_json_int(&j, "halo_staleness", o->halo_staleness);
        dgcn_json_int(&j, "schedule_period", r->schedule_period);
        dgcn_json_object(&j, "link_failures");
        for (int ch = DGCN_CH_HALO_FWD; ch <= DGCN_CH_PARAMS; ch++)
            dgcn_json_num(&j, dgcn_channel_name(ch), r->link_failures[ch]);
        dgcn_json_end(&j);
    }
    if (strcmp(o->on_agent_loss ? o->on_agent_loss : "abort", "abort")) {
        dgcn_json_str(&j, "on_agent_loss", o->on_agent_loss);
        dgcn_json_int(&j, "agents_lost", r->n_lost); /* the last seed's; accuracy: the rest */
        double ag[16], it[16];
        int n = r->n_lost < 16 ? r->n_lost : 16;
        for (int i = 0; i < n; i++) ag[i] = r->lost_agent[i], it[i] = (double)r->lost_iter[i];
        dgcn_json_num_array(&j, "lost_agents", ag, n);
        dgcn_json_num_array(&j, "lost_last_report", it, n);
    }
    dgcn_json_int(&j, "hops_per_exchange", r->hops_per_exchange);
    dgcn_json_int(&j, "centralized_by_construction", r->centralized_by_construction);
    dgcn_json_int(&j, "links_used", (long long)r->links);
    dgcn_json_int(&j, "links_possible", (long long)r->links_possible);
    dgcn_json_num(&j, "contraction_per_iter", r->contraction_per_iter);
    dgcn_json_bool(&j, "effectively_centralized", r->effectively_centralized);
    dgcn_json_str(&j, "centralized_reason", r->centralized_reason);
    dgcn_json_num(&j, "ms_per_iter_median", r->ms_per_iter_median);
    dgcn_json_num(&j, "central_ms_per_epoch", r->central_ms_per_epoch);
    dgcn_json_num(&j, "model_test_acc", r->model_test_acc);
    dgcn_json_int(&j, "peak_rss_bytes", (long long)r->peak_rss_bytes);
    dgcn_json_num(&j, "peak_rss_bytes_per_agent", (double)r->peak_rss_bytes / m);
    dgcn_json_int(&j, "shard_bytes", (long long)r->shard_bytes);
    dgcn_json_num(&j, "shard_bytes_per_agent", (double)r->shard_bytes / m);
    dgcn_json_int(&j, "shard_bytes_max", (long long)r->shard_bytes_max);
    dgcn_json_num_array(&j, regression ? "test_mse" : "test_acc", per_seed, o->seeds);
    dgcn_json_end(&j);
    return dgcn_rundir_commit(&f, o->out, "summary.json");
}
