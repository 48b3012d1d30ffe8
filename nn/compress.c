/* nn/compress.c: top-k, random-k and stochastic quantization, encoded to and decoded from their
 * wire form. See nn/compress.h. */
#include "nn/compress.h"

#include "core/error.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_names[] = {"none", "topk", "randk", "quant"};

const char *dgcn_compress_kind_name(int32_t kind) {
    return kind >= 0 && kind <= DGCN_COMPRESS_QUANT ? s_names[kind] : "unknown";
}

int dgcn_compress_parse(const char *spec, int32_t *kind, double *amount) {
    if (!spec) return dgcn_error_set(DGCN_EINVAL, "compression: no spec");
    if (strcmp(spec, "none") == 0) {
        *kind = DGCN_COMPRESS_NONE;
        *amount = 0.0;
        return DGCN_OK;
    }
    for (int32_t k = DGCN_COMPRESS_TOPK; k <= DGCN_COMPRESS_QUANT; k++) {
        size_t len = strlen(s_names[k]);
        if (strncmp(spec, s_names[k], len) != 0 || spec[len] != ':') continue;
        char *end;
        double a = strtod(spec + len + 1, &end);
        dgcn_compress_config c = {.kind = k, .amount = a, .gamma = 0.0};
        if (end == spec + len + 1 || *end != '\0' || dgcn_compress_check(&c) != DGCN_OK) break;
        *kind = k;
        *amount = a;
        return DGCN_OK;
    }
    return dgcn_error_set(DGCN_EINVAL,
                          "compression '%s': none, topk:F or randk:F (F the fraction of entries "
                          "kept, in (0, 1]) or quant:B (B bits per entry, 1 to %d)",
                          spec, DGCN_QUANT_MAX_BITS);
}

void dgcn_compress_format(int32_t kind, double amount, char *out, size_t cap) {
    if (kind == DGCN_COMPRESS_NONE) snprintf(out, cap, "none");
    else snprintf(out, cap, "%s:%g", dgcn_compress_kind_name(kind), amount);
}

int dgcn_compress_check(const dgcn_compress_config *c) {
    if (c->kind < DGCN_COMPRESS_NONE || c->kind > DGCN_COMPRESS_QUANT)
        return dgcn_error_set(DGCN_EINVAL, "compression: kind %d is not none, topk, randk or quant",
                              (int)c->kind);
    if ((c->kind == DGCN_COMPRESS_TOPK || c->kind == DGCN_COMPRESS_RANDK) &&
        !(c->amount > 0.0 && c->amount <= 1.0))
        return dgcn_error_set(DGCN_EINVAL, "compression %s: fraction %g is not in (0, 1]",
                              dgcn_compress_kind_name(c->kind), c->amount);
    if (c->kind == DGCN_COMPRESS_QUANT &&
        !(c->amount >= 1.0 && c->amount <= DGCN_QUANT_MAX_BITS && c->amount == floor(c->amount)))
        return dgcn_error_set(DGCN_EINVAL,
                              "compression quant: %g bits is not an integer in [1, %d]", c->amount,
                              DGCN_QUANT_MAX_BITS);
    if (!(c->gamma >= 0.0 && c->gamma <= 1.0))
        return dgcn_error_set(DGCN_EINVAL, "compression: gamma %g is not in [0, 1] (0: automatic)",
                              c->gamma);
    return DGCN_OK;
}

double dgcn_compress_gamma_auto(int32_t kind, double amount) {
    switch (kind) {
    case DGCN_COMPRESS_TOPK: return amount < 0.5 ? 2.0 * amount : 1.0;
    case DGCN_COMPRESS_RANDK: return amount;
    case DGCN_COMPRESS_QUANT: return amount >= 3 ? 1.0 : 0.4;
    default: return 1.0;
    }
}

int64_t dgcn_compress_k(int32_t kind, double amount, int64_t n) {
    if (kind != DGCN_COMPRESS_TOPK && kind != DGCN_COMPRESS_RANDK) return n;
    int64_t k = (int64_t)ceil(amount * (double)n - 1e-9);
    return k < 1 ? (n > 0 ? 1 : 0) : (k > n ? n : k);
}

static int64_t s_quant_block_bytes(int64_t nb, int bits) { return 8 + (nb * bits + 7) / 8; }

int64_t dgcn_compress_wire_bytes(int32_t kind, double amount, int64_t n) {
    switch (kind) {
    case DGCN_COMPRESS_TOPK: return 8 * dgcn_compress_k(kind, amount, n);
    case DGCN_COMPRESS_RANDK: return 4 * dgcn_compress_k(kind, amount, n);
    case DGCN_COMPRESS_QUANT: {
        int bits = (int)amount;
        int64_t full = n / DGCN_QUANT_BLOCK, rest = n % DGCN_QUANT_BLOCK;
        return full * s_quant_block_bytes(DGCN_QUANT_BLOCK, bits) +
               (rest ? s_quant_block_bytes(rest, bits) : 0);
    }
    default: return 4 * n;
    }
}

uint64_t dgcn_compress_key(uint64_t seed, int32_t agent, int64_t iter, int32_t round, int32_t seg) {
    uint64_t k = dgcn_mix64(seed ^ 0x636f6d7072657373ull); /* "compress" */
    k = dgcn_mix64(k ^ (uint64_t)(uint32_t)agent);
    k = dgcn_mix64(k ^ (uint64_t)iter);
    k = dgcn_mix64(k ^ ((uint64_t)(uint32_t)round << 32 | (uint32_t)seg));
    return k;
}

int dgcn_compress_scratch_new(dgcn_compress_scratch *s, int64_t n) {
    int rc = DGCN_OK;
    memset(s, 0, sizeof *s);
    if (n < 1) n = 1;
    s->cap = n;
    DGCN_ALLOC(s->idx, n);
    DGCN_ALLOC(s->mag, n);
    DGCN_ALLOC(s->perm, n);
    DGCN_ALLOC(s->swaps, n);
    for (int64_t i = 0; i < n; i++) s->perm[i] = (int32_t)i;
    return DGCN_OK;
fail:
    dgcn_compress_scratch_free(s);
    return rc;
}

void dgcn_compress_scratch_free(dgcn_compress_scratch *s) {
    free(s->idx);
    free(s->mag);
    free(s->perm);
    free(s->swaps);
    memset(s, 0, sizeof *s);
}

/* The k-th largest of a[0, n) (k in [1, n]), reordering a: quickselect, median of three. */
static float s_kth_largest(float *a, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        float x = a[lo], y = a[mid], z = a[hi];
        float piv = (x > y) ? ((y > z) ? y : (x > z ? z : x)) : ((x > z) ? x : (y > z ? z : y));
        int64_t i = lo, j = hi;
        while (i <= j) { /* descending: >= piv left, <= piv right */
            while (a[i] > piv) i++;
            while (a[j] < piv) j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else return a[want];
    }
    return a[want];
}

/* RANDK's k indices of n from key into s->idx, in draw order: a partial Fisher-Yates shuffle of
 * the identity, undone afterwards (O(k)). */
static void s_randk_indices(int64_t n, int64_t k, uint64_t key, dgcn_compress_scratch *s) {
    dgcn_rng r;
    dgcn_rng_seed(&r, key, DGCN_STREAM_COMPRESS);
    int32_t *p = s->perm;
    for (int64_t j = 0; j < k; j++) {
        int64_t t = j + (int64_t)dgcn_rng_below(&r, (uint64_t)(n - j));
        int32_t v = p[j];
        p[j] = p[t];
        p[t] = v;
        s->swaps[j] = (int32_t)t;
        s->idx[j] = p[j];
    }
    for (int64_t j = k - 1; j >= 0; j--) {
        int32_t t = s->swaps[j], v = p[j];
        p[j] = p[t];
        p[t] = v;
    }
}

/* A uniform in [0, 1) from (key, i): 24 bits of a counter-based hash. */
static inline float s_unit(uint64_t key, int64_t i) {
    return (float)(dgcn_mix64(key + (uint64_t)i) >> 40) * (1.0f / 16777216.0f);
}

static void s_quant_encode(const float *x, int64_t n, int bits, uint64_t key, unsigned char *w) {
    const uint32_t top = (1u << bits) - 1u;
    for (int64_t b0 = 0; b0 < n; b0 += DGCN_QUANT_BLOCK) {
        const int64_t nb = n - b0 < DGCN_QUANT_BLOCK ? n - b0 : DGCN_QUANT_BLOCK;
        float lo = x[b0], hi = x[b0];
        for (int64_t i = 1; i < nb; i++) {
            if (x[b0 + i] < lo) lo = x[b0 + i];
            if (x[b0 + i] > hi) hi = x[b0 + i];
        }
        float h = (float)(((double)hi - lo) / top);
        memcpy(w, &lo, 4);
        memcpy(w + 4, &h, 4);
        unsigned char *bits_out = w + 8;
        const int64_t nbytes = (nb * bits + 7) / 8;
        memset(bits_out, 0, (size_t)nbytes);
        uint64_t acc = 0;
        int have = 0;
        int64_t o = 0;
        for (int64_t i = 0; i < nb; i++) {
            uint32_t lev = 0;
            if (h > 0.0f) {
                double t = ((double)x[b0 + i] - lo) / h;
                double fl = floor(t);
                lev = (uint32_t)fl + (s_unit(key, b0 + i) < (float)(t - fl) ? 1u : 0u);
                if (!(t >= 0.0)) lev = 0;
                if (lev > top) lev = top;
            }
            acc |= (uint64_t)lev << have;
            have += bits;
            while (have >= 8) {
                bits_out[o++] = (unsigned char)(acc & 0xff);
                acc >>= 8;
                have -= 8;
            }
        }
        if (have > 0) bits_out[o++] = (unsigned char)(acc & 0xff);
        w += 8 + nbytes;
    }
}

static void s_quant_accumulate(const unsigned char *w, int64_t n, int bits, double wt, float *dst) {
    const uint32_t mask = (1u << bits) - 1u;
    for (int64_t b0 = 0; b0 < n; b0 += DGCN_QUANT_BLOCK) {
        const int64_t nb = n - b0 < DGCN_QUANT_BLOCK ? n - b0 : DGCN_QUANT_BLOCK;
        float lo, h;
        memcpy(&lo, w, 4);
        memcpy(&h, w + 4, 4);
        const unsigned char *in = w + 8;
        uint64_t acc = 0;
        int have = 0;
        int64_t o = 0;
        for (int64_t i = 0; i < nb; i++) {
            while (have < bits) {
                acc |= (uint64_t)in[o++] << have;
                have += 8;
            }
            uint32_t lev = (uint32_t)acc & mask;
            acc >>= bits;
            have -= bits;
            float q = (float)((double)lo + (double)lev * h);
            dst[b0 + i] = (float)((double)dst[b0 + i] + wt * q);
        }
        w += 8 + (nb * bits + 7) / 8;
    }
}

int dgcn_compress_encode(int32_t kind, double amount, int scaled, const float *x, int64_t n,
                         uint64_t key, dgcn_compress_scratch *s, unsigned char *wire) {
    if (n < 0 || n > s->cap)
        return dgcn_error_set(DGCN_EINVAL,
                              "compression: a vector of %lld floats exceeds the "
                              "scratch of %lld",
                              (long long)n, (long long)s->cap);
    const int64_t k = dgcn_compress_k(kind, amount, n);
    switch (kind) {
    case DGCN_COMPRESS_TOPK: {
        for (int64_t i = 0; i < n; i++) s->mag[i] = fabsf(x[i]);
        const float thr = k > 0 ? s_kth_largest(s->mag, n, k) : 0.0f;
        int64_t above = 0;
        for (int64_t i = 0; i < n; i++) above += fabsf(x[i]) > thr;
        int64_t ties = k - above, m = 0; /* ties at thr: the lowest indices */
        for (int64_t i = 0; i < n && m < k; i++) {
            float a = fabsf(x[i]);
            if (a > thr || (a == thr && ties-- > 0)) s->idx[m++] = (int32_t)i;
        }
        for (int64_t j = 0; j < m; j++) {
            uint32_t u = (uint32_t)s->idx[j];
            memcpy(wire + 4 * j, &u, 4);
            memcpy(wire + 4 * k + 4 * j, &x[s->idx[j]], 4);
        }
        for (int64_t j = m; j < k; j++) { /* NaN magnitudes: never above thr; pad with zeros */
            uint32_t u = (uint32_t)(j < n ? j : 0);
            float z = 0.0f;
            memcpy(wire + 4 * j, &u, 4);
            memcpy(wire + 4 * k + 4 * j, &z, 4);
        }
        return DGCN_OK;
    }
    case DGCN_COMPRESS_RANDK: {
        s_randk_indices(n, k, key, s);
        const float sc = scaled ? (float)((double)n / (double)k) : 1.0f;
        for (int64_t j = 0; j < k; j++) {
            float v = x[s->idx[j]] * sc;
            memcpy(wire + 4 * j, &v, 4);
        }
        return DGCN_OK;
    }
    case DGCN_COMPRESS_QUANT: s_quant_encode(x, n, (int)amount, key, wire); return DGCN_OK;
    default: memcpy(wire, x, (size_t)n * sizeof *x); return DGCN_OK;
    }
}

int dgcn_compress_accumulate(int32_t kind, double amount, int scaled, const unsigned char *wire,
                             int64_t n, uint64_t key, dgcn_compress_scratch *s, double w,
                             float *dst) {
    (void)scaled; /* RANDK's scale travels in its values */
    const int64_t k = dgcn_compress_k(kind, amount, n);
    switch (kind) {
    case DGCN_COMPRESS_TOPK: {
        int64_t last = -1;
        for (int64_t j = 0; j < k; j++) {
            uint32_t u;
            float v;
            memcpy(&u, wire + 4 * j, 4);
            memcpy(&v, wire + 4 * k + 4 * j, 4);
            if ((int64_t)u >= n || ((int64_t)u <= last && v != 0.0f))
                return dgcn_error_set(DGCN_EPROTO,
                                      "compression: top-k index %u (entry %lld of %lld) is out of "
                                      "range or not increasing",
                                      u, (long long)j, (long long)k);
            if ((int64_t)u > last) last = (int64_t)u;
            dst[u] = (float)((double)dst[u] + w * v);
        }
        return DGCN_OK;
    }
    case DGCN_COMPRESS_RANDK: {
        if (n > s->cap)
            return dgcn_error_set(DGCN_EINVAL,
                                  "compression: a vector of %lld floats exceeds the "
                                  "scratch of %lld",
                                  (long long)n, (long long)s->cap);
        s_randk_indices(n, k, key, s);
        for (int64_t j = 0; j < k; j++) {
            float v;
            memcpy(&v, wire + 4 * j, 4);
            int32_t i = s->idx[j];
            dst[i] = (float)((double)dst[i] + w * v);
        }
        return DGCN_OK;
    }
    case DGCN_COMPRESS_QUANT: s_quant_accumulate(wire, n, (int)amount, w, dst); return DGCN_OK;
    default:
        for (int64_t i = 0; i < n; i++) {
            float v;
            memcpy(&v, wire + 4 * i, 4);
            dst[i] = (float)((double)dst[i] + w * v);
        }
        return DGCN_OK;
    }
}
