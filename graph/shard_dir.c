/* graph/shard_dir.c: a partition plan on disk: dir/manifest.txt, dir/owner.txt and one
 * dir/shard-<k>.pb per agent (graph/shard.proto).
 *
 * manifest.txt is "key value" lines: format, plan_id (16 hex digits), agents, nodes, method, seed,
 * then one "shard <k> <file> <bytes> <fnv1a64 as 16 hex digits>" line per agent. It is written last
 * (through a temporary file and rename), so a plan with a manifest is complete. Reading a shard
 * checks its size and checksum against the manifest and the plan id, agent and sizes inside it.
 * The folder is created 0700 and every file 0600: the shards hold the data. */
#include "graph/shard.h"

#include "core/error.h"
#include "core/file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_FORMAT "dgcn-plan-1"
#define S_MANIFEST_MAX (INT64_C(64) << 20) /* bytes; about 100 per agent */

static uint64_t s_fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int s_write_file(const char *path, const uint8_t *buf, size_t len) {
    FILE *f = dgcn_file_create(path, "wb");
    if (!f)
        return dgcn_error_set(DGCN_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
    size_t w = len ? fwrite(buf, 1, len, f) : 0;
    int bad = w != len;
    if (fclose(f) != 0) bad = 1;
    if (bad) return dgcn_error_set(DGCN_EIO, "%s: write failed: %s", path, strerror(errno));
    return DGCN_OK;
}

int dgcn_shard_dir_write(const char *dir, const dgcn_shard *shards, int32_t m, const int32_t *owner,
                         int32_t n_global, const char *method, uint64_t seed) {
    int rc = DGCN_OK;
    char path[4096], tmp[4096];
    uint8_t *buf = NULL;
    size_t *sizes = NULL;
    uint64_t *sums = NULL;
    FILE *f = NULL;
    if (m < 1) return dgcn_error_set(DGCN_EINVAL, "plan write: %d agents", (int)m);
    for (int32_t k = 0; k < m; k++)
        if (shards[k].agent != k || shards[k].n_agents != m ||
            shards[k].plan_id != shards[0].plan_id || shards[k].n_global != n_global)
            return dgcn_error_set(DGCN_EINVAL,
                                  "plan write: shard %d says agent %d of %d, plan %016" PRIx64
                                  ", %d nodes (expected agent %d of %d, plan %016" PRIx64
                                  ", %d nodes)",
                                  (int)k, (int)shards[k].agent, (int)shards[k].n_agents,
                                  shards[k].plan_id, (int)shards[k].n_global, (int)k, (int)m,
                                  shards[0].plan_id, (int)n_global);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return dgcn_error_set(DGCN_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
    DGCN_ALLOC(sizes, m);
    DGCN_ALLOC(sums, m);
    for (int32_t k = 0; k < m; k++) {
        size_t len = 0;
        DGCN_CHECK(dgcn_shard_pack(&shards[k], &buf, &len));
        snprintf(path, sizeof path, "%s/shard-%d.pb", dir, (int)k);
        DGCN_CHECK(s_write_file(path, buf, len));
        sizes[k] = len;
        sums[k] = s_fnv1a64(buf, len);
        free(buf);
        buf = NULL;
    }
    snprintf(path, sizeof path, "%s/owner.txt", dir);
    if (!(f = dgcn_file_create(path, "w"))) {
        rc = dgcn_error_set(DGCN_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
        goto fail;
    }
    for (int32_t i = 0; i < n_global; i++) fprintf(f, "%d\n", (int)owner[i]);
    if (fclose(f) != 0) {
        f = NULL;
        rc = dgcn_error_set(DGCN_EIO, "%s: write failed", path);
        goto fail;
    }
    snprintf(tmp, sizeof tmp, "%s/manifest.txt.tmp", dir);
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    if (!(f = dgcn_file_create(tmp, "w"))) {
        rc = dgcn_error_set(DGCN_EIO, "%s: cannot open for writing: %s", tmp, strerror(errno));
        goto fail;
    }
    fprintf(f,
            "format %s\nplan_id %016" PRIx64 "\nagents %d\nnodes %d\nmethod %s\nseed %" PRIu64 "\n",
            S_FORMAT, shards[0].plan_id, (int)m, (int)n_global,
            method && *method ? method : "unknown", seed);
    for (int32_t k = 0; k < m; k++)
        fprintf(f, "shard %d shard-%d.pb %zu %016" PRIx64 "\n", (int)k, (int)k, sizes[k], sums[k]);
    int bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = 1;
    f = NULL;
    if (bad || rename(tmp, path) != 0) {
        rc = dgcn_error_set(DGCN_EIO, "%s: write failed: %s", path, strerror(errno));
        goto fail;
    }
fail:
    if (f) fclose(f);
    free(buf);
    free(sizes);
    free(sums);
    return rc;
}

/* What the manifest says about the plan and about one agent's shard. */
typedef struct s_manifest {
    uint64_t plan_id;
    int32_t agents, nodes;
    char file[256];
    int64_t bytes;
    uint64_t sum;
    int have_shard;
} s_manifest;

static int s_read_manifest(const char *dir, int32_t agent, s_manifest *mf) {
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *f = NULL;
    int rc = dgcn_file_open_read(path, S_MANIFEST_MAX, &f, NULL);
    if (rc) return rc;
    memset(mf, 0, sizeof *mf);
    mf->agents = mf->nodes = -1;
    int lineno = 0, have_format = 0, have_id = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%d: line too long or not terminated", path,
                                lineno);
            goto done;
        }
        char key[32], val[256];
        int k, n_used = 0;
        long long bytes;
        if (sscanf(line, "%31s %255s %n", key, val, &n_used) < 2) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%d: expected 'key value'", path, lineno);
            goto done;
        }
        if (!strcmp(key, "format")) {
            if (strcmp(val, S_FORMAT)) {
                rc = dgcn_error_set(DGCN_EFORMAT, "%s:%d: format '%s', expected '%s'", path, lineno,
                                    val, S_FORMAT);
                goto done;
            }
            have_format = 1;
        } else if (!strcmp(key, "plan_id")) {
            char *end;
            mf->plan_id = strtoull(val, &end, 16);
            if (*end || strlen(val) != 16) {
                rc = dgcn_error_set(DGCN_EFORMAT, "%s:%d: plan_id '%s' is not 16 hex digits", path,
                                    lineno, val);
                goto done;
            }
            have_id = 1;
        } else if (!strcmp(key, "agents") || !strcmp(key, "nodes")) {
            char *end;
            long v = strtol(val, &end, 10);
            if (*end || v < 1 || v > INT32_MAX) {
                rc = dgcn_error_set(DGCN_EFORMAT, "%s:%d: %s '%s' is not a positive integer", path,
                                    lineno, key, val);
                goto done;
            }
            if (key[0] == 'a') mf->agents = (int32_t)v;
            else mf->nodes = (int32_t)v;
        } else if (!strcmp(key, "method") || !strcmp(key, "seed")) {
            /* informational */
        } else if (!strcmp(key, "shard")) {
            char file[256], sum[64];
            if (sscanf(line, "shard %d %255s %lld %63s", &k, file, &bytes, sum) != 4 || bytes < 0 ||
                strchr(file, '/') || strlen(sum) != 16) {
                rc = dgcn_error_set(
                    DGCN_EFORMAT,
                    "%s:%d: expected 'shard <agent> <file> <bytes> <16 hex digit checksum>'", path,
                    lineno);
                goto done;
            }
            if (k == agent) {
                char *end;
                mf->sum = strtoull(sum, &end, 16);
                if (*end) {
                    rc = dgcn_error_set(DGCN_EFORMAT, "%s:%d: checksum '%s' is not hex", path,
                                        lineno, sum);
                    goto done;
                }
                snprintf(mf->file, sizeof mf->file, "%s", file);
                mf->bytes = bytes;
                mf->have_shard = 1;
            }
        } else {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%d: unknown key '%s'", path, lineno, key);
            goto done;
        }
    }
    if (!have_format || !have_id || mf->agents < 1 || mf->nodes < 1) {
        rc = dgcn_error_set(DGCN_EFORMAT, "%s: missing format, plan_id, agents or nodes", path);
        goto done;
    }
    if (agent < 0 || agent >= mf->agents) {
        rc = dgcn_error_set(DGCN_EINVAL, "%s: agent %d not in [0, %d)", path, (int)agent,
                            (int)mf->agents);
        goto done;
    }
    if (!mf->have_shard)
        rc = dgcn_error_set(DGCN_EFORMAT, "%s: no shard line for agent %d", path, (int)agent);
done:
    fclose(f);
    return rc;
}

int dgcn_shard_dir_read(const char *dir, int32_t agent, dgcn_shard *s) {
    int rc = DGCN_OK;
    s_manifest mf;
    char path[4096];
    uint8_t *buf = NULL;
    FILE *f = NULL;
    memset(s, 0, sizeof *s);
    DGCN_CHECK(s_read_manifest(dir, agent, &mf));
    snprintf(path, sizeof path, "%s/%s", dir, mf.file);
    int64_t size;
    DGCN_CHECK(dgcn_file_open_read(path, INT64_MAX, &f, &size));
    if (size != mf.bytes) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s: %lld bytes, the manifest says %lld (truncated or replaced)", path,
                            (long long)size, (long long)mf.bytes);
        goto fail;
    }
    if (!(buf = malloc((size_t)mf.bytes + 1))) {
        rc = dgcn_error_set(DGCN_ENOMEM, "%s: out of memory reading %lld bytes", path,
                            (long long)mf.bytes);
        goto fail;
    }
    if (mf.bytes > 0 && fread(buf, 1, (size_t)mf.bytes, f) != (size_t)mf.bytes) {
        rc = dgcn_error_set(DGCN_EFORMAT, "%s: short read (expected %lld bytes)", path,
                            (long long)mf.bytes);
        goto fail;
    }
    uint64_t sum = s_fnv1a64(buf, (size_t)mf.bytes);
    if (sum != mf.sum) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s: checksum %016" PRIx64 ", the manifest says %016" PRIx64
                            " (corrupted or from another plan)",
                            path, sum, mf.sum);
        goto fail;
    }
    rc = dgcn_shard_unpack(s, buf, (size_t)mf.bytes);
    if (rc) {
        rc = dgcn_error_wrap(rc, "%s: ", path);
        goto fail;
    }
    if (s->plan_id != mf.plan_id || s->agent != agent || s->n_agents != mf.agents ||
        s->n_global != mf.nodes) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s: shard of plan %016" PRIx64
                            ", agent %d of %d, %d nodes; the manifest wants "
                            "plan %016" PRIx64 ", agent %d of %d, %d nodes",
                            path, s->plan_id, (int)s->agent, (int)s->n_agents, (int)s->n_global,
                            mf.plan_id, (int)agent, (int)mf.agents, (int)mf.nodes);
        goto fail;
    }
fail:
    if (f) fclose(f);
    free(buf);
    if (rc) dgcn_shard_fini(s);
    return rc;
}
