/* comm/hub_int.h: helpers shared by the hub backends (not public). */
#ifndef DGCN_COMM_HUB_INT_H
#define DGCN_COMM_HUB_INT_H

#include "comm/hub.h"

int dgcn__hub_init(dgcn_hub *h, const dgcn_hub_ops *ops, int32_t n_agents, uint64_t run_id,
                   int deadline_ms);
void dgcn__hub_fini(dgcn_hub *h);

/* Records that agent a was heard from just now. */
void dgcn__hub_heard(dgcn_hub *h, int32_t a);

/* DGCN_ETIMEDOUT after waiting waited_ms, naming the agents silent for at least that long. */
int dgcn__hub_timeout(const dgcn_hub *h, int waited_ms);

/* DGCN_EINVAL unless 0 <= agent < n_agents. */
int dgcn__hub_check_agent(const dgcn_hub *h, int32_t agent);

#endif
