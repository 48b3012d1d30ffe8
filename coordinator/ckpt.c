/* coordinator/ckpt.c: the checkpoint store: state files, the manifest, a resume's reading back. */
#include "coordinator/ckpt.h"

#include "comm/transport.h"
#include "coordinator/rundir.h"
#include "core/checksum.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dgcn_ckpt_init(dgcn_ckpt *c, const char *out, int every, int32_t m, int iters,
                   uint64_t plan_id) {
    int rc = DGCN_OK;
    memset(c, 0, sizeof *c);
    c->every = every;
    c->m = m;
    c->iters = iters;
    c->kill_iter = -1;
    c->plan = plan_id;
    snprintf(c->plan_id, sizeof c->plan_id, "%016" PRIx64, plan_id);
    snprintf(c->dir, sizeof c->dir, "%s/checkpoint", out);
    const char *e = getenv("DGCN_TEST_KILL_COORDINATOR"); /* test only: docs/running.md */
    if (e && *e) c->kill_iter = strtoll(e, NULL, 10);
    DGCN_ALLOC(c->got, iters / (every > 0 ? every : 1) + 1);
fail:
    return rc;
}

void dgcn_ckpt_fini(dgcn_ckpt *c) {
    free(c->got);
    c->got = NULL;
}

static void s_state_name(char *buf, size_t cap, int32_t k, int64_t n) {
    snprintf(buf, cap, "agent-%d.iter-%" PRId64 ".state", (int)k, n);
}

/* The manifest's checksum: FNV-1a 64 of its values in one canonical text, so that a flipped bit in
 * any of them (or in the checksum) is refused. */
static uint64_t s_manifest_sum(int64_t iter, uint64_t seed, int32_t agents, const char *plan_id) {
    char text[128];
    int n = snprintf(text, sizeof text, "%" PRId64 " %" PRIu64 " %d %s", iter, seed, (int)agents,
                     plan_id);
    return dgcn_fnv64(DGCN_FNV64_INIT, text, (size_t)n);
}

/* All M states of boundary n are on disk: the manifest that names it, then the previous
 * boundary's files removed. */
static int s_commit(dgcn_ckpt *c, int64_t n) {
    int rc = DGCN_OK;
    FILE *f = NULL;
    char name[128];
    DGCN_CHECK(dgcn_rundir_sync(c->dir)); /* the state files' names, before the manifest's */
    DGCN_CHECK(dgcn_rundir_fopen_tmp(c->dir, "manifest.json", &f));
    dgcn_json j;
    dgcn_json_begin(&j, f);
    dgcn_json_int(&j, "version", DGCN_CKPT_VERSION);
    dgcn_json_int(&j, "iter", (long long)n);
    dgcn_json_u64(&j, "seed", c->seed);
    dgcn_json_int(&j, "agents", c->m);
    dgcn_json_str(&j, "plan_id", c->plan_id);
    dgcn_json_str(&j, "files", "agent-<k>.iter-<iter>.state");
    char sum[24];
    snprintf(sum, sizeof sum, "%016" PRIx64, s_manifest_sum(n, c->seed, c->m, c->plan_id));
    dgcn_json_str(&j, "checksum", sum);
    dgcn_json_end(&j);
    DGCN_CHECK(dgcn_rundir_commit(&f, c->dir, "manifest.json")); /* removes the .tmp on failure */
    DGCN_CHECK(dgcn_rundir_sync(c->dir));
    for (int32_t k = 0; k < c->m && c->last > 0; k++) {
        char path[4300];
        s_state_name(name, sizeof name, k, c->last);
        snprintf(path, sizeof path, "%s/%s", c->dir, name);
        if (unlink(path) != 0)
            DGCN_CHECK(
                dgcn_error_set(DGCN_EIO, "%s: cannot remove an older checkpoint file", path));
    }
    c->last = n;
fail:
    if (f) fclose(f);
    return rc;
}

int dgcn_ckpt_take(dgcn_ckpt *c, const dgcn_ctl_msg *msg, int64_t np) {
    int rc = DGCN_OK;
    const dgcn_ctl_state *st = &msg->u.state;
    FILE *f = NULL;
    void *buf = NULL;
    size_t len = 0;
    char name[128], tmp[4300], path[4300];
    if (c->every <= 0 || st->agent < 0 || st->agent >= c->m || st->iter <= 0 ||
        st->iter >= c->iters || st->iter % c->every != 0 || st->n_params != np)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d: state for iteration %" PRId64 " with %" PRId64
                              " parameters (checkpoints every %d iterations below %d, %" PRId64
                              " parameters)",
                              st->agent, st->iter, st->n_params, c->every, c->iters, np);
    DGCN_CHECK(dgcn_ctl_pack(msg, &buf, &len));
    s_state_name(name, sizeof name, st->agent, st->iter);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", c->dir, name);
    DGCN_CHECK(dgcn_rundir_fopen_tmp(c->dir, name, &f));
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    DGCN_CHECK(dgcn_seal_write(f, path, "state", c->plan, buf, len));
    DGCN_CHECK(dgcn_rundir_commit(&f, c->dir, name));
    if (++c->got[st->iter / c->every] == c->m) DGCN_CHECK(s_commit(c, st->iter));
fail:
    if (f) { /* a failed write: no partial file stays behind */
        fclose(f);
        unlink(tmp);
    }
    free(buf);
    return rc;
}

/* Reads the manifest of the last complete checkpoint. */
static int s_manifest(const char *dir, int64_t *iter, uint64_t *seed, int32_t *agents,
                      char *plan_id, size_t cap) {
    char path[4300], *text = NULL;
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    int rc = dgcn_rundir_read(path, 1 << 16, &text, NULL);
    if (rc != DGCN_OK) return dgcn_error_wrap(rc, "resume: no complete checkpoint: ");
    double it = dgcn_json_find_num(text, "iter"), ag = dgcn_json_find_num(text, "agents");
    double ver = dgcn_json_find_num(text, "version");
    const char *pid = strstr(text, "\"plan_id\":\""), *sd = strstr(text, "\"seed\":");
    const char *sum = strstr(text, "\"checksum\":\"");
    if (ver == 1 && !sum) {
        free(text);
        return dgcn_error_set(DGCN_EFORMAT,
                              "%s: a checkpoint written before dgcn checksummed its checkpoints "
                              "(manifest version 1): refused; start the run afresh",
                              path);
    }
    char *end = NULL;
    if (sd) *seed = strtoull(sd + strlen("\"seed\":"), &end, 10); /* exact: not through a double */
    if (!(it >= 1) || !sd || end == sd + strlen("\"seed\":") || !(ag >= 1) || !pid || !sum ||
        ver != DGCN_CKPT_VERSION) {
        free(text);
        return dgcn_error_set(DGCN_EFORMAT,
                              "%s: lacks version %d, iter, seed, agents, plan_id or checksum "
                              "(corrupted)",
                              path, DGCN_CKPT_VERSION);
    }
    pid += strlen("\"plan_id\":\"");
    size_t n = strcspn(pid, "\"");
    snprintf(plan_id, cap, "%.*s", (int)n, pid);
    *iter = (int64_t)it;
    *agents = (int32_t)ag;
    char want[24];
    snprintf(want, sizeof want, "%016" PRIx64, s_manifest_sum(*iter, *seed, *agents, plan_id));
    sum += strlen("\"checksum\":\"");
    int ok = strlen(sum) > 16 && !strncmp(sum, want, 16) && sum[16] == '"';
    free(text);
    if (!ok)
        return dgcn_error_set(DGCN_EFORMAT,
                              "%s: its values do not match its checksum (corrupted): refused",
                              path);
    return DGCN_OK;
}

int dgcn_ckpt_resume(dgcn_ckpt *c, uint64_t seed, int64_t *start) {
    char plan_id[32];
    uint64_t was_seed = 0;
    int32_t agents = 0;
    int rc = s_manifest(c->dir, start, &was_seed, &agents, plan_id, sizeof plan_id);
    if (rc != DGCN_OK) return rc;
    if (strcmp(plan_id, c->plan_id) != 0 || agents != c->m || was_seed != seed)
        return dgcn_error_set(DGCN_EINVAL,
                              "resume: %s/manifest.json is for plan %s, %d agents, seed "
                              "%" PRIu64 "; the options rebuild plan %s, %d agents, seed "
                              "%" PRIu64 ": not the same run",
                              c->dir, plan_id, (int)agents, was_seed, c->plan_id, (int)c->m, seed);
    if (*start >= c->iters)
        return dgcn_error_set(DGCN_EINVAL,
                              "resume: the checkpoint's iteration %" PRId64
                              " is not below --iters %d",
                              *start, c->iters);
    c->last = *start;
    return DGCN_OK;
}

int dgcn_ckpt_states_read(const dgcn_ckpt *c, int64_t iter, int64_t np, dgcn_ctl_msg *msgs) {
    int rc = DGCN_OK;
    char name[128], path[4300], *buf = NULL;
    for (int32_t k = 0; k < c->m; k++) {
        int64_t len = 0;
        uint64_t plan = 0;
        void *payload = NULL;
        s_state_name(name, sizeof name, k, iter);
        snprintf(path, sizeof path, "%s/%s", c->dir, name);
        if (access(path, F_OK) != 0)
            DGCN_CHECK(dgcn_error_set(DGCN_EFORMAT,
                                      "resume: the checkpoint of iteration %" PRId64
                                      " lacks agent %d's state (%s: %s): an incomplete "
                                      "checkpoint, refused",
                                      iter, (int)k, path, strerror(errno)));
        DGCN_CHECK(
            dgcn_seal_read(path, "state", (int64_t)DGCN_COORD_MAX_BYTES, &plan, &payload, &len));
        buf = payload;
        if (plan != c->plan) {
            free(buf);
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "%s: a state of plan %016" PRIx64 ", not of this run's plan "
                                      "%s: refused",
                                      path, plan, c->plan_id));
        }
        rc = dgcn_ctl_unpack(buf, (size_t)len, &msgs[k]);
        free(buf);
        buf = NULL;
        if (rc != DGCN_OK) DGCN_CHECK(dgcn_error_wrap(rc, "%s: ", path));
        const dgcn_ctl_state *st = &msgs[k].u.state;
        if (msgs[k].kind != DGCN_CTL_STATE || st->agent != k || st->iter != iter ||
            st->n_params != np)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "%s: not the state of agent %d at iteration %" PRId64
                                      " with %" PRId64 " parameters",
                                      path, (int)k, iter, np));
    }
fail:
    return rc;
}

int dgcn_ckpt_clean(const dgcn_ckpt *c, int64_t n) {
    DIR *d = opendir(c->dir);
    if (!d) return dgcn_error_set(DGCN_EIO, "%s: cannot list: %s", c->dir, strerror(errno));
    int rc = DGCN_OK;
    for (struct dirent *e; rc == DGCN_OK && (e = readdir(d));) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        int k = 0;
        long long it = 0;
        char tail[16] = "";
        int tmp = len > 4 && !strcmp(name + len - 4, ".tmp");
        int state = sscanf(name, "agent-%d.iter-%lld.%15s", &k, &it, tail) == 3 &&
                    !strcmp(tail, "state") && it != n;
        if (!tmp && !state) continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", c->dir, name);
        if (unlink(path) != 0)
            rc = dgcn_error_set(DGCN_EIO, "%s: cannot remove: %s", path, strerror(errno));
    }
    closedir(d);
    return rc;
}
