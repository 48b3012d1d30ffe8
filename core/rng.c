/* core/rng.c: xoshiro256** with splitmix64 seeding. */
#include "core/rng.h"

#include <math.h>

static inline uint64_t s_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void dgcn_rng_seed(dgcn_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t z = dgcn_mix64(seed) ^ dgcn_mix64(stream * 0xD1B54A32D192ED03ull + 1);
    for (int i = 0; i < 4; i++) {
        z = dgcn_mix64(z + (uint64_t)i);
        r->s[i] = z;
    }
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

uint64_t dgcn_rng_u64(dgcn_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return out;
}

double dgcn_rng_uniform(dgcn_rng *r) {
    return (double)(dgcn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t dgcn_rng_below(dgcn_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = dgcn_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double dgcn_rng_normal(dgcn_rng *r) {
    double u1 = dgcn_rng_uniform(r), u2 = dgcn_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void dgcn_rng_shuffle_int(dgcn_rng *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)dgcn_rng_below(r, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
