/* coordinator/deadline.c: deadlines from the planned work of a run (deadline.h). */
#include "coordinator/deadline.h"

#include <math.h>
#include <unistd.h>

int dgcn_deadline_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1 << 20 ? 1 << 20 : (int)n;
}

/* Allowance of one exchange that moves `bytes` over all agents, `max_agent` of them through the
 * busiest agent: the agents sharing a core take turns, the busiest one cannot be split. */
static double s_exchange_ms(const dgcn_deadline_work *w, int share, double bytes,
                            double max_agent) {
    double cores = w->cores < 1 ? 1 : w->cores;
    double spread = bytes / cores, alone = max_agent;
    return DGCN_DEADLINE_EXCHANGE_MS + share * DGCN_DEADLINE_AGENT_MS +
           (spread > alone ? spread : alone) / DGCN_DEADLINE_BYTES_PER_MS;
}

/* ms rounded up into [DGCN_DEADLINE_FLOOR_MS, DGCN_DEADLINE_MAX_MS] (a NaN: the floor). */
static int s_clamp(double ms) {
    ms = ceil(ms);
    if (!(ms >= DGCN_DEADLINE_FLOOR_MS)) ms = DGCN_DEADLINE_FLOOR_MS;
    return ms > DGCN_DEADLINE_MAX_MS ? DGCN_DEADLINE_MAX_MS : (int)ms;
}

void dgcn_deadline_choose(const dgcn_deadline_work *w, int override_ms, dgcn_deadline *d) {
    int cores = w->cores < 1 ? 1 : w->cores;
    int32_t m = w->agents < 1 ? 1 : w->agents;
    int share = (int)((m + cores - 1) / cores);
    int halo = w->halo_exchanges < 0 ? 0 : w->halo_exchanges;
    int rounds = w->gossip_rounds < 0 ? 0 : w->gossip_rounds;
    double per_halo = halo ? w->halo_bytes / halo : 0;
    double halo_ms = halo ? s_exchange_ms(w, share, per_halo, 2.0 * per_halo / m) : 0;
    double round_ms = s_exchange_ms(w, share, w->params_bytes, w->params_bytes_max);
    double compute_ms = w->flops / cores / DGCN_DEADLINE_FLOPS_PER_MS;
    double iter_ms = halo * halo_ms + rounds * round_ms + compute_ms;
    int64_t per_report = w->iters_per_report < 1 ? 1 : w->iters_per_report;
    /* the costliest interval: its iterations, the evaluation (a forward pass), the averaging */
    double interval = (double)per_report * iter_ms + halo_ms * (halo + 1) / 2 + compute_ms +
                      (w->final_mixing > 0 ? w->final_mixing * round_ms : 0);
    d->agents_per_core = share;
    d->exchange_ms = halo + rounds ? (halo * halo_ms + rounds * round_ms) / (halo + rounds) : 0;
    d->interval_ms = interval;
    d->bytes_per_iter = w->halo_bytes + rounds * w->params_bytes;
    if (override_ms > 0) {
        d->deadline_ms = d->agent_deadline_ms = override_ms;
        d->automatic = 0;
        return;
    }
    d->deadline_ms = s_clamp(interval);
    d->agent_deadline_ms = s_clamp(iter_ms + halo_ms * (halo + 1) / 2 + compute_ms);
    d->automatic = 1;
}

int dgcn_deadline_notable(const dgcn_deadline *d) {
    return d->interval_ms > d->deadline_ms || d->interval_ms > DGCN_DEADLINE_FLOOR_MS ||
           d->bytes_per_iter > 1e9;
}
