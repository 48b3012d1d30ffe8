/* topologies/schedule.c: schedules of communication graphs. See topologies/schedule.h. */
#include "topologies/schedule.h"

#include "core/error.h"
#include "core/rng.h"
#include "topologies/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char s_one_peer[] = "one-peer-exponential";

/* The integer after prefix in spec up to stop (or the end): 1 and *v in [lo, hi], -1 after setting
 * the error for a malformed one. *end points past it. */
static int s_int_after(const char *spec, const char *p, long lo, long hi, long *v,
                       const char **end) {
    char *e = NULL;
    errno = 0;
    long x = strtol(p, &e, 10);
    if (e == p || errno || x < lo || x > hi)
        return dgcn_error_set(DGCN_EINVAL, "schedule '%s': expected an integer in [%ld, %ld]", spec,
                              lo, hi),
               -1;
    *v = x;
    *end = e;
    return 1;
}

int dgcn_topo_schedule_is(const char *spec) {
    return spec && (!strcmp(spec, s_one_peer) || !strcmp(spec, "matching") ||
                    !strncmp(spec, "matching:", 9) || !strncmp(spec, "schedule:", 9));
}

/* Parses spec: *kind 0 one-peer, 1 matching, 2 files; *count the matchings (kind 1) or iterations
 * per file (kind 2); *paths the start of the path list (kind 2). */
static int s_parse(const char *spec, int32_t m, int *kind, long *count, const char **paths) {
    const char *e = NULL;
    *paths = NULL;
    *count = 1;
    if (m < 1) return dgcn_error_set(DGCN_EINVAL, "schedule '%s': %d agents", spec, m);
    if (!strcmp(spec, s_one_peer)) {
        *kind = 0;
        return DGCN_OK;
    }
    if (!strcmp(spec, "matching") || !strncmp(spec, "matching:", 9)) {
        *kind = 1;
        *count = DGCN_SCHEDULE_MATCHINGS;
        if (spec[8] == ':' &&
            (s_int_after(spec, spec + 9, 1, DGCN_SCHEDULE_MAX, count, &e) < 0 || *e))
            return dgcn_error_set(DGCN_EINVAL,
                                  "schedule '%s': 'matching:P' takes P matchings in [1, %d]", spec,
                                  DGCN_SCHEDULE_MAX);
        return DGCN_OK;
    }
    if (!strncmp(spec, "schedule:", 9)) {
        *kind = 2;
        if (s_int_after(spec, spec + 9, 1, 1L << 30, count, &e) < 0 || *e != ':' || !e[1])
            return dgcn_error_set(DGCN_EINVAL,
                                  "schedule '%s': expected schedule:N:PATH[,PATH...] (N "
                                  "iterations per graph)",
                                  spec);
        *paths = e + 1;
        return DGCN_OK;
    }
    return dgcn_error_set(DGCN_EINVAL, "'%s' is not a schedule", spec);
}

int dgcn_topo_schedule_check(const char *spec, int32_t m) {
    int kind;
    long count;
    const char *paths;
    return s_parse(spec, m, &kind, &count, &paths);
}

static int32_t s_gcd(int32_t a, int32_t b) {
    while (b) {
        int32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Phase of the one-peer exponential schedule with hop d and half h (schedule.h). */
static int s_one_peer_phase(dgcn_topo *g, int32_t m, int32_t d, int h) {
    int rc = DGCN_OK;
    DGCN_CHECK(dgcn_topo_init(g, m));
    const int32_t n_cycles = s_gcd(m, d), len = m / n_cycles;
    for (int32_t c = 0; c < n_cycles; c++) {
        if (len < 2) continue;
        if (len == 2) {
            DGCN_CHECK(dgcn_topo_set(g, c, (c + d) % m, 1));
            continue;
        }
        int32_t v = c;
        for (int32_t j = 0; j < len; j++) {
            int32_t w = (int32_t)(((int64_t)v + d) % m);
            if (j % 2 == h && !(len % 2 == 1 && j == len - 1))
                DGCN_CHECK(dgcn_topo_set(g, v, w, 1));
            v = w;
        }
    }
fail:
    return rc;
}

static int s_matching_phase(dgcn_topo *g, int32_t m, dgcn_rng *r, int *perm) {
    int rc = DGCN_OK;
    DGCN_CHECK(dgcn_topo_init(g, m));
    for (int32_t i = 0; i < m; i++) perm[i] = i;
    dgcn_rng_shuffle_int(r, perm, m);
    for (int32_t i = 0; i + 1 < m; i += 2) DGCN_CHECK(dgcn_topo_set(g, perm[i], perm[i + 1], 1));
fail:
    return rc;
}

int dgcn_topo_schedule_build(dgcn_topo_schedule *s, const char *spec, int32_t m, uint64_t seed) {
    int rc = DGCN_OK;
    int kind;
    long count;
    const char *paths;
    int *perm = NULL;
    dgcn_topo uni = {0};
    char *list = NULL;
    memset(s, 0, sizeof *s);
    s->m = m;
    s->every = 1;
    DGCN_CHECK(s_parse(spec, m, &kind, &count, &paths));
    if (kind == 0) {
        int32_t hops = 0;
        while (hops < 31 && ((int32_t)1 << hops) < m) hops++;
        if (hops == 0) hops = 1; /* one agent: one empty phase */
        s->period = 2 * hops;
        DGCN_ALLOC(s->phases, s->period);
        for (int32_t q = 0; q < s->period; q++)
            DGCN_CHECK(s_one_peer_phase(&s->phases[q], m, m > 1 ? (int32_t)1 << (q % hops) : 1,
                                        (q / hops) % 2));
    } else if (kind == 1) {
        dgcn_rng r;
        dgcn_rng_seed(&r, seed, DGCN_STREAM_SCHEDULE);
        s->period = (int32_t)count;
        DGCN_ALLOC(s->phases, s->period);
        DGCN_ALLOC(perm, m);
        for (int32_t q = 0; q < s->period; q++)
            DGCN_CHECK(s_matching_phase(&s->phases[q], m, &r, perm));
    } else {
        s->every = (int32_t)count;
        size_t n = strlen(paths);
        DGCN_ALLOC(list, n + 1);
        memcpy(list, paths, n + 1);
        int32_t files = 1;
        for (size_t i = 0; i < n; i++) files += list[i] == ',';
        if (files > DGCN_SCHEDULE_MAX)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "schedule '%s': more than %d graphs", spec,
                                      DGCN_SCHEDULE_MAX));
        DGCN_ALLOC(s->phases, files);
        char *p = list;
        for (int32_t q = 0; q < files; q++) {
            char *comma = strchr(p, ',');
            if (comma) *comma = '\0';
            if (!*p) DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "schedule '%s': an empty path", spec));
            s->period = q + 1; /* phases read so far, for fini */
            rc = dgcn_topo_read_edges(&s->phases[q], p);
            if (rc != DGCN_OK) {
                dgcn_error_wrap(rc, "schedule '%s', graph %d: ", spec, q + 1);
                goto fail;
            }
            if (s->phases[q].m != m)
                DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                          "schedule '%s': %s has %d agents, the run %d", spec, p,
                                          s->phases[q].m, m));
            p = comma ? comma + 1 : p + strlen(p);
        }
    }
    DGCN_CHECK(dgcn_topo_schedule_union(s, &uni));
    if (m > 1 && !dgcn_topo_connected(&uni))
        DGCN_CHECK(dgcn_error_set(DGCN_ETOPOLOGY,
                                  "schedule '%s' over %d agents: the union of its %d graphs is "
                                  "disconnected, so the agents cannot reach consensus%s",
                                  spec, m, s->period,
                                  kind == 1 ? " (more matchings: matching:P)" : ""));
fail:
    dgcn_topo_fini(&uni);
    free(perm);
    free(list);
    if (rc != DGCN_OK) dgcn_topo_schedule_fini(s);
    return rc;
}

void dgcn_topo_schedule_fini(dgcn_topo_schedule *s) {
    if (!s) return;
    for (int32_t q = 0; s->phases && q < s->period; q++) dgcn_topo_fini(&s->phases[q]);
    free(s->phases);
    memset(s, 0, sizeof *s);
}

int dgcn_topo_schedule_union(const dgcn_topo_schedule *s, dgcn_topo *out) {
    int rc = DGCN_OK;
    dgcn_topo acc = {0}, next = {0};
    memset(out, 0, sizeof *out);
    DGCN_CHECK(dgcn_topo_init(&acc, s->m));
    for (int32_t q = 0; q < s->period; q++) {
        DGCN_CHECK(dgcn_topo_union(&next, &acc, &s->phases[q]));
        dgcn_topo_fini(&acc);
        acc = next;
        memset(&next, 0, sizeof next);
    }
    *out = acc;
    return DGCN_OK;
fail:
    dgcn_topo_fini(&acc);
    dgcn_topo_fini(&next);
    return rc;
}
