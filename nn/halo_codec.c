/* nn/halo_codec.c: 16- and 8-bit forms of halo rows. See nn/halo_codec.h. */
#include "nn/halo_codec.h"

#include "core/error.h"
#include "core/rng.h"

#include <math.h>
#include <string.h>

static const char *const s_codec_names[] = {"off", "bf16", "fp16", "q8", "q4", "q2"};

int dgcn_halo_codec_parse(const char *name, dgcn_halo_codec *out) {
    if (name && (!strcmp(name, "off") || !strcmp(name, "0"))) *out = DGCN_HALO_OFF;
    else if (name && (!strcmp(name, "16") || !strcmp(name, "fp16"))) *out = DGCN_HALO_FP16;
    else if (name && !strcmp(name, "bf16")) *out = DGCN_HALO_BF16;
    else if (name && (!strcmp(name, "8") || !strcmp(name, "q8"))) *out = DGCN_HALO_Q8;
    else if (name && (!strcmp(name, "4") || !strcmp(name, "q4"))) *out = DGCN_HALO_Q4;
    else if (name && (!strcmp(name, "2") || !strcmp(name, "q2"))) *out = DGCN_HALO_Q2;
    else
        return dgcn_error_set(DGCN_EINVAL,
                              "halo compression '%s': off, 16 (fp16), bf16, 8 (q8: int8 with a "
                              "scale per row), 4 or 2 (q4, q2: 4- or 2-bit codes with a bf16 "
                              "scale per row)",
                              name ? name : "(null)");
    return DGCN_OK;
}

const char *dgcn_halo_codec_name(dgcn_halo_codec c) {
    return c >= DGCN_HALO_OFF && c <= DGCN_HALO_Q2 ? s_codec_names[c] : "?";
}

int dgcn_halo_rounding_parse(const char *name, dgcn_halo_rounding *out) {
    if (name && !strcmp(name, "nearest")) *out = DGCN_HALO_NEAREST;
    else if (name && !strcmp(name, "stochastic")) *out = DGCN_HALO_STOCHASTIC;
    else
        return dgcn_error_set(DGCN_EINVAL, "halo rounding '%s': nearest or stochastic",
                              name ? name : "(null)");
    return DGCN_OK;
}

const char *dgcn_halo_rounding_name(dgcn_halo_rounding r) {
    return r == DGCN_HALO_STOCHASTIC ? "stochastic" : r == DGCN_HALO_NEAREST ? "nearest" : "?";
}

int dgcn_halo_feedback_parse(const char *name, dgcn_halo_feedback *out) {
    if (name && !strcmp(name, "none")) *out = DGCN_HALO_FEEDBACK_NONE;
    else if (name && !strcmp(name, "grad")) *out = DGCN_HALO_FEEDBACK_GRAD;
    else if (name && !strcmp(name, "all")) *out = DGCN_HALO_FEEDBACK_ALL;
    else
        return dgcn_error_set(DGCN_EINVAL,
                              "halo error feedback '%s': none, grad (backward rows) or all",
                              name ? name : "(null)");
    return DGCN_OK;
}

const char *dgcn_halo_feedback_name(dgcn_halo_feedback f) {
    switch (f) {
    case DGCN_HALO_FEEDBACK_NONE: return "none";
    case DGCN_HALO_FEEDBACK_GRAD: return "grad";
    case DGCN_HALO_FEEDBACK_ALL: return "all";
    default: return "?";
    }
}

int64_t dgcn_halo_codec_words(dgcn_halo_codec c, int64_t n, int32_t w) {
    const int64_t v = n * w;
    switch (c) {
    case DGCN_HALO_BF16:
    case DGCN_HALO_FP16: return (v + 1) / 2;
    case DGCN_HALO_Q8: return n + (v + 3) / 4;
    case DGCN_HALO_Q4: return (2 * n + (v + 1) / 2 + 3) / 4;
    case DGCN_HALO_Q2: return (2 * n + (v + 3) / 4 + 3) / 4;
    default: return v;
    }
}

/* ---- 16-bit values ---- */

static uint16_t s_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);                                           /* nearest even */
    return (uint16_t)(u >> 16);
}

static float s_from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint16_t s_fp16(float x) {
    if (isfinite(x) && fabsf(x) > 65504.0f) /* saturate: a finite value stays finite */
        x = x > 0.0f ? 65504.0f : -65504.0f;
    _Float16 h = (_Float16)x; /* round to nearest even, subnormals as IEEE says */
    uint16_t u;
    memcpy(&u, &h, sizeof u);
    return u;
}

static float s_from_fp16(uint16_t u) {
    _Float16 h;
    memcpy(&h, &u, sizeof h);
    return (float)h;
}

/* ---- q8 ---- */

/* A uniform in [0, 1) with 24 bits, a pure function of (key, row, column). */
static float s_unit(uint64_t key, int32_t row, int32_t col) {
    uint64_t z = dgcn_mix64(key ^ dgcn_mix64(((uint64_t)(uint32_t)row << 32) | (uint32_t)col));
    return (float)(z >> 40) * 0x1p-24f;
}

/* One row (w values, residual e or NULL) into its scale and bytes. */
static void s_q8_row(dgcn_halo_rounding r, const float *x, int32_t w, float *e, uint64_t key,
                     int32_t row, float *scale, int8_t *q) {
    float amax = 0.0f;
    for (int32_t j = 0; j < w; j++) {
        float v = fabsf(e ? x[j] + e[j] : x[j]);
        if (v != v) { /* a NaN wins and the scale carries it */
            amax = v;
            break;
        }
        if (v > amax) amax = v;
    }
    if (amax == 0.0f || !isfinite(amax)) { /* zeros; or a NaN / infinity the row passes on */
        *scale = amax;
        for (int32_t j = 0; j < w; j++) {
            q[j] = 0;
            if (e) e[j] = amax == 0.0f ? 0.0f : e[j];
        }
        return;
    }
    const float s = amax / 127.0f, inv = 127.0f / amax;
    *scale = s;
    for (int32_t j = 0; j < w; j++) {
        const float v = e ? x[j] + e[j] : x[j];
        float y = v * inv, k;
        if (r == DGCN_HALO_STOCHASTIC) {
            k = floorf(y);
            if (s_unit(key, row, j) < y - k) k += 1.0f;
        } else {
            k = nearbyintf(y);
        }
        if (k > 127.0f) k = 127.0f;
        if (k < -127.0f) k = -127.0f;
        q[j] = (int8_t)k;
        if (e) e[j] = v - k * s;
    }
}

/* ---- q4, q2 ---- */

static int s_low_bits(dgcn_halo_codec c) { return c == DGCN_HALO_Q4 ? 4 : 2; }

/* One row (w values, residual e or NULL) at value index base of the block: its bf16 scale and
 * its B-bit codes (value + L) into the packed codes q. */
static void s_qlow_row(dgcn_halo_rounding r, int bits, const float *x, int32_t w, float *e,
                       uint64_t key, int32_t row, int64_t base, uint16_t *scale, uint8_t *q) {
    const int L = (1 << (bits - 1)) - 1;
    float amax = 0.0f;
    for (int32_t j = 0; j < w; j++) {
        float v = fabsf(e ? x[j] + e[j] : x[j]);
        if (v != v) {
            amax = v;
            break;
        }
        if (v > amax) amax = v;
    }
    float s = 0.0f;
    if (amax > 0.0f && isfinite(amax)) {
        *scale = s_bf16(amax / (float)L);
        s = s_from_bf16(*scale);
    } else {
        *scale = s_bf16(amax); /* zeros; or a NaN / infinity the row passes on */
    }
    for (int32_t j = 0; j < w; j++) {
        float k = 0.0f;
        if (s > 0.0f) {
            const float v = e ? x[j] + e[j] : x[j];
            const float y = v / s;
            if (r == DGCN_HALO_STOCHASTIC) {
                k = floorf(y);
                if (s_unit(key, row, j) < y - k) k += 1.0f;
            } else {
                k = nearbyintf(y);
            }
            if (k > (float)L) k = (float)L;
            if (k < (float)-L) k = (float)-L;
            if (e) e[j] = v - k * s;
        } else if (e && amax == 0.0f) {
            e[j] = 0.0f;
        }
        const int64_t at = (base + j) * bits;
        q[at / 8] |= (uint8_t)(((unsigned)((int)k + L)) << (at % 8));
    }
}

void dgcn_halo_codec_encode(dgcn_halo_codec c, dgcn_halo_rounding r, const float *src,
                            const int32_t *idx, int32_t n, int32_t w, float *resid, uint64_t key,
                            void *out) {
    unsigned char *o = out;
    const int64_t words = dgcn_halo_codec_words(c, n, w);
    if (c == DGCN_HALO_Q4 || c == DGCN_HALO_Q2) {
        const int bits = s_low_bits(c);
        uint8_t *qb = o + (size_t)n * 2;
        memset(qb, 0, (size_t)(o + words * 4 - qb)); /* codes are or-ed in; the tail stays 0 */
        for (int32_t i = 0; i < n; i++) {
            uint16_t sc;
            s_qlow_row(r, bits, src + (int64_t)(idx ? idx[i] : i) * w, w,
                       resid ? resid + (int64_t)i * w : NULL, key, i, (int64_t)i * w, &sc, qb);
            memcpy(o + (size_t)i * 2, &sc, sizeof sc);
        }
        return;
    }
    if (c == DGCN_HALO_Q8) {
        unsigned char *qb = o + (size_t)n * sizeof(float);
        for (int32_t i = 0; i < n; i++) {
            const float *x = src + (int64_t)(idx ? idx[i] : i) * w;
            float s;
            s_q8_row(r, x, w, resid ? resid + (int64_t)i * w : NULL, key, i, &s,
                     (int8_t *)(qb + (int64_t)i * w));
            memcpy(o + (size_t)i * sizeof s, &s, sizeof s);
        }
        unsigned char *end = qb + (int64_t)n * w;
        memset(end, 0, (size_t)(o + words * 4 - end));
        return;
    }
    const int bf = c == DGCN_HALO_BF16;
    for (int32_t i = 0; i < n; i++) {
        const float *x = src + (int64_t)(idx ? idx[i] : i) * w;
        float *e = resid ? resid + (int64_t)i * w : NULL;
        unsigned char *ro = o + (int64_t)i * w * 2;
        for (int32_t j = 0; j < w; j++) {
            const float v = e ? x[j] + e[j] : x[j];
            const uint16_t h = bf ? s_bf16(v) : s_fp16(v);
            memcpy(ro + (size_t)j * 2, &h, sizeof h);
            if (e) {
                const float d = bf ? s_from_bf16(h) : s_from_fp16(h);
                e[j] = isfinite(d) && isfinite(v) ? v - d : 0.0f; /* non-finite: no feedback */
            }
        }
    }
    unsigned char *end = o + (int64_t)n * w * 2;
    memset(end, 0, (size_t)(o + words * 4 - end));
}

void dgcn_halo_codec_decode(dgcn_halo_codec c, const void *in, int32_t n, int32_t w, float *dst,
                            const int32_t *idx) {
    const unsigned char *p = in;
    if (c == DGCN_HALO_Q4 || c == DGCN_HALO_Q2) {
        const int bits = s_low_bits(c), L = (1 << (bits - 1)) - 1;
        const unsigned mask = (1u << bits) - 1u;
        const uint8_t *qb = p + (size_t)n * 2;
        for (int32_t i = 0; i < n; i++) {
            uint16_t sc;
            memcpy(&sc, p + (size_t)i * 2, sizeof sc);
            const float s = s_from_bf16(sc);
            float *d = dst + (int64_t)(idx ? idx[i] : i) * w;
            for (int32_t j = 0; j < w; j++) {
                const int64_t at = ((int64_t)i * w + j) * bits;
                const int k = (int)((qb[at / 8] >> (at % 8)) & mask) - L;
                const float v = isfinite(s) ? (float)k * s : s;
                d[j] = idx ? d[j] + v : v;
            }
        }
        return;
    }
    if (c == DGCN_HALO_Q8) {
        const int8_t *qb = (const int8_t *)(p + (size_t)n * sizeof(float));
        for (int32_t i = 0; i < n; i++) {
            float s;
            memcpy(&s, p + (size_t)i * sizeof s, sizeof s);
            const int8_t *q = qb + (int64_t)i * w;
            float *d = dst + (int64_t)(idx ? idx[i] : i) * w;
            if (!isfinite(s)) { /* the row held a NaN or an infinity: it stays non-finite */
                for (int32_t j = 0; j < w; j++) d[j] = idx ? d[j] + s : s;
                continue;
            }
            if (idx)
                for (int32_t j = 0; j < w; j++) d[j] += (float)q[j] * s;
            else
                for (int32_t j = 0; j < w; j++) d[j] = (float)q[j] * s;
        }
        return;
    }
    const int bf = c == DGCN_HALO_BF16;
    for (int32_t i = 0; i < n; i++) {
        const unsigned char *rp = p + (int64_t)i * w * 2;
        float *d = dst + (int64_t)(idx ? idx[i] : i) * w;
        for (int32_t j = 0; j < w; j++) {
            uint16_t h;
            memcpy(&h, rp + (size_t)j * 2, sizeof h);
            const float v = bf ? s_from_bf16(h) : s_from_fp16(h);
            d[j] = idx ? d[j] + v : v;
        }
    }
}
