/* comm/hub.c: opening the coordinator's endpoint by address, and the bookkeeping shared by the
 * hubs of all backends. */
#include "comm/hub_int.h"

#include "comm/transport_int.h"

#include "core/error.h"
#include "core/timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dgcn_hub_open(const char *address, int32_t n_agents, uint64_t run_id, int deadline_ms,
                  char *actual, size_t cap, dgcn_hub **h) {
    *h = NULL;
    const dgcn__scheme *sc = dgcn__scheme_find(address);
    if (!sc) return DGCN_EINVAL;
    return sc->hub_open(address, n_agents, run_id, deadline_ms, actual, cap, h);
}

int dgcn__hub_init(dgcn_hub *h, const dgcn_hub_ops *ops, int32_t n_agents, uint64_t run_id,
                   int deadline_ms) {
    int rc = DGCN_OK;
    if (n_agents <= 0)
        return dgcn_error_set(DGCN_EINVAL, "hub: number of agents must be positive (got %d)",
                              n_agents);
    if (deadline_ms <= 0)
        return dgcn_error_set(DGCN_EINVAL, "hub: deadline must be positive (got %d ms)",
                              deadline_ms);
    h->ops = ops;
    h->n_agents = n_agents;
    h->run_id = run_id;
    h->deadline_ms = deadline_ms;
    h->curve = NULL;
    memset(&h->traffic, 0, sizeof h->traffic);
    DGCN_ALLOC(h->last_heard_ms, n_agents);
    for (int32_t a = 0; a < n_agents; a++) h->last_heard_ms[a] = -1.0;
    return DGCN_OK;
fail:
    return rc;
}

int dgcn_hub_credentials(const dgcn_hub *h, int32_t agent, dgcn_curve_creds *c, int *has) {
    *has = 0;
    memset(c, 0, sizeof *c);
    int rc = dgcn__hub_check_agent(h, agent);
    if (rc || !h->curve) return rc;
    *c = h->curve[agent];
    *has = 1;
    return DGCN_OK;
}

void dgcn__hub_fini(dgcn_hub *h) {
    if (!h) return;
    free(h->last_heard_ms);
    h->last_heard_ms = NULL;
}

void dgcn__hub_heard(dgcn_hub *h, int32_t a) {
    if (a >= 0 && a < h->n_agents) h->last_heard_ms[a] = dgcn_now_ms();
}

int dgcn__hub_check_agent(const dgcn_hub *h, int32_t agent) {
    if (agent < 0 || agent >= h->n_agents)
        return dgcn_error_set(DGCN_EINVAL, "hub: agent %d is not in [0, %d)", agent, h->n_agents);
    return DGCN_OK;
}

int dgcn__hub_timeout(const dgcn_hub *h, int waited_ms) {
    char never[320], last[320];
    size_t on = 0, ol = 0;
    double now = dgcn_now_ms();
    never[0] = last[0] = '\0';
    for (int32_t a = 0; a < h->n_agents; a++) {
        double t = h->last_heard_ms[a];
        int w;
        if (t < 0) {
            if (on + 24 >= sizeof never) continue;
            w = snprintf(never + on, sizeof never - on, "%s%d", on ? ", " : "", a);
            if (w > 0) on += (size_t)w;
        } else {
            if (ol + 40 >= sizeof last) continue;
            w = snprintf(last + ol, sizeof last - ol, "%s%d (%.0f ms ago)", ol ? ", " : "", a,
                         now - t);
            if (w > 0) ol += (size_t)w;
        }
    }
    return dgcn_error_set(DGCN_ETIMEDOUT,
                          "coordinator: no message from any agent within %d ms (channel control); "
                          "silent agents: never heard: %s; last heard: %s",
                          waited_ms, on ? never : "none", ol ? last : "none");
}
