/* coordinator/ckpt.h: the checkpoint store of a run directory (train.h, docs/rundir.md,
 * "checkpoint/").
 *
 * At every iteration boundary N, 2N, ... below the last, every agent sends its State; the store
 * writes each to checkpoint/agent-<k>.iter-<n>.state (a sealed file of kind "state" with the plan id:
 * core/checksum.h; temporary name, fsync, rename) and, once all M are on disk,
 * checkpoint/manifest.json {version, iter, seed, agents, plan_id, checksum} the same way, then removes the
 * previous boundary's files: the manifest always names a complete checkpoint. A resumed run reads
 * the manifest, the M states it names, and clears whatever else a killed run left behind. */
#ifndef DGCN_COORDINATOR_CKPT_H
#define DGCN_COORDINATOR_CKPT_H

#include "comm/control.h"

#include <stdint.h>

#define DGCN_CKPT_VERSION 2 /* manifest.json's version: 2 has a checksum, states are sealed */

typedef struct dgcn_ckpt {
    char dir[4096];    /* RUNDIR/checkpoint */
    int every;         /* N, 0: no checkpoints */
    int32_t m;         /* agents */
    int iters;         /* the run's iterations; boundaries lie below */
    int32_t *got;      /* (iters / every + 1) states on disk per boundary */
    int64_t last;      /* boundary the manifest names, 0 for none */
    uint64_t seed;     /* the seed being trained */
    uint64_t plan;     /* the plan's id */
    char plan_id[32];  /* the same in 16 hex digits */
    int64_t kill_iter; /* test only (DGCN_TEST_KILL_COORDINATOR, docs/running.md): the metrics line
                        * of that iteration is the coordinator's last (SIGKILL); -1: none */
} dgcn_ckpt;

/* The store of run directory out for a run of m agents and iters iterations, a checkpoint every
 * `every` iterations (0: none), of the plan plan_id. Creates no file. On failure c is safe to fini. */
int dgcn_ckpt_init(dgcn_ckpt *c, const char *out, int every, int32_t m, int iters,
                   uint64_t plan_id);
void dgcn_ckpt_fini(dgcn_ckpt *c);

/* Takes one agent's State message (borrowed): writes its file, and the boundary's M-th commits the
 * checkpoint. DGCN_EPROTO for a state of no boundary or of another model size (np floats). */
int dgcn_ckpt_take(dgcn_ckpt *c, const dgcn_ctl_msg *msg, int64_t np);

/* Resume: reads the manifest of the last complete checkpoint into *start (its iteration, which
 * becomes c->last); DGCN_EFORMAT when its checksum does not match its values or it predates
 * checksums (version 1); DGCN_EINVAL when it is of another plan, agent count or seed than c and
 * `seed`, or not below c->iters. */
int dgcn_ckpt_resume(dgcn_ckpt *c, uint64_t seed, int64_t *start);

/* Reads the M states of boundary iter into msgs[0..m) (each then owns its arrays: fini them).
 * Refuses, naming the file: a missing state (naming the agent), a flipped bit or a file without
 * a checksum (DGCN_EFORMAT), a state of another plan or not agent k's at iter with np parameters
 * (DGCN_EINVAL). */
int dgcn_ckpt_states_read(const dgcn_ckpt *c, int64_t iter, int64_t np, dgcn_ctl_msg *msgs);

/* Removes what a killed run may have left beside boundary n: temporary files, and state files of
 * other boundaries (an older one whose removal the kill interrupted, or a newer one never
 * completed). */
int dgcn_ckpt_clean(const dgcn_ckpt *c, int64_t n);

#endif
