/* agent/links.c: active and failed links per exchange. See agent/links.h. */
#include "agent/links.h"

#include "core/rng.h"

#include <string.h>

int dgcn_links_fails(uint64_t seed, double p, int ch, int64_t iter, int32_t sub, int32_t a,
                     int32_t b) {
    if (!(p > 0.0)) return 0;
    uint64_t lo = (uint64_t)(uint32_t)(a < b ? a : b), hi = (uint64_t)(uint32_t)(a < b ? b : a);
    uint64_t h = dgcn_mix64(seed ^ ((uint64_t)DGCN_STREAM_LINKS << 56));
    h = dgcn_mix64(h ^ (uint64_t)ch);
    h = dgcn_mix64(h ^ (uint64_t)iter);
    h = dgcn_mix64(h ^ (uint64_t)(uint32_t)sub);
    h = dgcn_mix64(h ^ (lo << 32 | hi));
    return (double)(h >> 11) * 0x1.0p-53 < p;
}

int32_t dgcn_links_params(const dgcn_links *l, const double *static_row, int64_t iter,
                          int32_t round, double *row, char *skip) {
    const int32_t n = l->n_nb;
    const double *base = static_row;
    if (l->rows) {
        int64_t phase = (iter / (l->every > 0 ? l->every : 1)) % l->period;
        base = l->rows + phase * (int64_t)(n + 1);
    }
    memcpy(row, base, (size_t)(n + 1) * sizeof *row);
    int32_t failed = 0;
    for (int32_t i = 0; i < n; i++) {
        skip[i] = base[i + 1] == 0.0;
        if (skip[i]) continue;
        if (dgcn_links_fails(l->seed, l->failure, 2, iter, round, l->self, l->nb[i])) {
            skip[i] = 1;
            row[0] += row[i + 1];
            row[i + 1] = 0.0;
            failed++;
        }
    }
    return failed;
}

int32_t dgcn_links_halo(const dgcn_links *l, int64_t iter, int32_t layer, int ch, const char *need,
                        char *skip) {
    int32_t failed = 0;
    const int off = l->staleness <= 0 || !(l->failure > 0.0) ||
                    iter % ((int64_t)l->staleness + 1) == l->staleness;
    for (int32_t i = 0; i < l->n_nb; i++) {
        skip[i] = !off && need[i] &&
                  dgcn_links_fails(l->seed, l->failure, ch, iter, layer, l->self, l->nb[i]);
        failed += skip[i];
    }
    return failed;
}

int dgcn_links_dynamic(const dgcn_links *l) { return l->rows != NULL || l->failure > 0.0; }
