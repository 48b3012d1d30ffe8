/* tests/test_halo_codec.c: nn/halo_codec.h. The error of every codec stays within its bound on
 * rows whose magnitudes differ by 12 orders (a q8 that dropped the per-row scale fails it),
 * stochastic rounding is unbiased, error feedback keeps the summed error of repeated sends within
 * one quantum (and without it the error grows), gathers and scatter-adds land on the right rows,
 * and the encoded size and padding are as documented. */
#include "core/error.h"
#include "core/rng.h"
#include "nn/halo_codec.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

enum { S_N = 6, S_W = 13 }; /* an odd width: the 16-bit and q8 tails are padded */

/* Rows of random values of magnitude 10^(-6 + 2.4 i), a zero row, one with a single value. */
static void s_rows(float *x, uint64_t seed) {
    dgcn_rng r;
    dgcn_rng_seed(&r, seed, DGCN_STREAM_TEST);
    for (int i = 0; i < S_N; i++) {
        const double mag = pow(10.0, -6.0 + 2.4 * i);
        for (int j = 0; j < S_W; j++)
            x[i * S_W + j] = (float)((2 * dgcn_rng_uniform(&r) - 1) * mag);
    }
    memset(x + 2 * S_W, 0, S_W * sizeof *x);
    for (int j = 1; j < S_W; j++) x[3 * S_W + j] = 0.0f;
}

static float s_row_max(const float *x) {
    float m = 0.0f;
    for (int j = 0; j < S_W; j++) m = fmaxf(m, fabsf(x[j]));
    return m;
}

/* bf16: |x - d| <= 2^-8 |x|; fp16 on values in its normal range: <= 2^-11 |x|. */
START_TEST(test_sixteen_bit_bounds) {
    float x[S_N * S_W], d[S_N * S_W];
    uint32_t buf[S_N * S_W];
    s_rows(x, 1);
    dgcn_halo_codec_encode(DGCN_HALO_BF16, DGCN_HALO_NEAREST, x, NULL, S_N, S_W, NULL, 0, buf);
    dgcn_halo_codec_decode(DGCN_HALO_BF16, buf, S_N, S_W, d, NULL);
    for (int i = 0; i < S_N * S_W; i++)
        ck_assert_msg(fabsf(x[i] - d[i]) <= 0x1p-8f * fabsf(x[i]), "bf16 %d: %g -> %g", i, x[i],
                      d[i]);
    dgcn_halo_codec_encode(DGCN_HALO_FP16, DGCN_HALO_NEAREST, x, NULL, S_N, S_W, NULL, 0, buf);
    dgcn_halo_codec_decode(DGCN_HALO_FP16, buf, S_N, S_W, d, NULL);
    int checked = 0;
    for (int i = 0; i < S_N * S_W; i++) {
        if (fabsf(x[i]) < 0x1p-14f || fabsf(x[i]) > 65000.0f) continue; /* outside its range */
        ck_assert_msg(fabsf(x[i] - d[i]) <= 0x1p-11f * fabsf(x[i]), "fp16 %d: %g -> %g", i, x[i],
                      d[i]);
        checked++;
    }
    ck_assert_int_gt(checked, S_W);
    /* fp16's range: 1e-6 keeps few bits (absolute error <= 2^-25), 1e6 saturates at 65504, an
     * infinity stays one */
    float tiny[3] = {1.2345e-6f, -1.0e6f, INFINITY}, out[3];
    dgcn_halo_codec_encode(DGCN_HALO_FP16, DGCN_HALO_NEAREST, tiny, NULL, 1, 3, NULL, 0, buf);
    dgcn_halo_codec_decode(DGCN_HALO_FP16, buf, 1, 3, out, NULL);
    ck_assert(fabsf(out[0] - tiny[0]) > 1e-3f * tiny[0] && fabsf(out[0] - tiny[0]) <= 0x1p-25f);
    ck_assert(out[1] == -65504.0f && isinf(out[2]));
}
END_TEST

/* q8 with nearest rounding: |x - d| <= s / 2 with s = max |row| / 127, row by row. The rows span
 * 12 orders of magnitude, so one scale for all (the scale dropped or shared) fails the bound. */
START_TEST(test_q8_bounds_per_row) {
    float x[S_N * S_W], d[S_N * S_W];
    uint32_t buf[S_N + S_N * S_W];
    s_rows(x, 2);
    const int64_t words = dgcn_halo_codec_words(DGCN_HALO_Q8, S_N, S_W);
    ck_assert_int_eq(words, S_N + (S_N * S_W + 3) / 4);
    memset(buf, 0xab, sizeof buf);
    dgcn_halo_codec_encode(DGCN_HALO_Q8, DGCN_HALO_NEAREST, x, NULL, S_N, S_W, NULL, 0, buf);
    const unsigned char *tail = (const unsigned char *)buf + S_N * 4 + S_N * S_W;
    for (const unsigned char *p = tail; p < (const unsigned char *)(buf + words); p++)
        ck_assert_int_eq(*p, 0);
    ck_assert_int_eq(((const unsigned char *)buf)[words * 4], 0xab); /* nothing past the end */
    dgcn_halo_codec_decode(DGCN_HALO_Q8, buf, S_N, S_W, d, NULL);
    for (int i = 0; i < S_N; i++) {
        const float s = s_row_max(x + i * S_W) / 127.0f;
        for (int j = 0; j < S_W; j++) {
            const float e = fabsf(x[i * S_W + j] - d[i * S_W + j]);
            ck_assert_msg(e <= 0.5f * s * (1.0f + 1e-5f) + 1e-30f,
                          "row %d col %d: %g -> %g, error %g > s/2 = %g", i, j, x[i * S_W + j],
                          d[i * S_W + j], e, 0.5f * s);
        }
    }
    for (int j = 0; j < S_W; j++) ck_assert(d[2 * S_W + j] == 0.0f); /* the zero row */
    ck_assert(d[3 * S_W] == x[3 * S_W]); /* a row's largest value is exact */
}
END_TEST

/* q4 and q2 with nearest rounding: |x - d| <= s / 2 + max |row| 2^-8 (the bf16 scale), row by
 * row; stochastic: unbiased within 5 standard errors over 4000 draws. The codes are packed: q4
 * takes half a byte per value, q2 a quarter, after a 2-byte scale per row. */
START_TEST(test_low_bit_bounds) {
    static const dgcn_halo_codec codecs[] = {DGCN_HALO_Q4, DGCN_HALO_Q2};
    for (int c = 0; c < 2; c++) {
        const float L = codecs[c] == DGCN_HALO_Q4 ? 7.0f : 1.0f;
        float x[S_N * S_W], d[S_N * S_W];
        uint32_t buf[S_N * S_W];
        s_rows(x, 5);
        const int64_t words = dgcn_halo_codec_words(codecs[c], S_N, S_W);
        const int bits = codecs[c] == DGCN_HALO_Q4 ? 4 : 2;
        ck_assert_int_eq(words, (2 * S_N + (S_N * S_W * bits + 7) / 8 + 3) / 4);
        dgcn_halo_codec_encode(codecs[c], DGCN_HALO_NEAREST, x, NULL, S_N, S_W, NULL, 0, buf);
        dgcn_halo_codec_decode(codecs[c], buf, S_N, S_W, d, NULL);
        for (int i = 0; i < S_N; i++) {
            const float m = s_row_max(x + i * S_W), s = m / L;
            for (int j = 0; j < S_W; j++) {
                const float e = fabsf(x[i * S_W + j] - d[i * S_W + j]);
                ck_assert_msg(e <= 0.5f * s * 1.01f + m * 0x1p-8f + 1e-30f,
                              "%s row %d col %d: %g -> %g (s %g)", dgcn_halo_codec_name(codecs[c]),
                              i, j, x[i * S_W + j], d[i * S_W + j], s);
            }
        }
        enum { T = 4000 };
        double sum[S_W] = {0};
        float row[S_W];
        dgcn_rng r;
        dgcn_rng_seed(&r, 6, DGCN_STREAM_TEST);
        for (int j = 0; j < S_W; j++) row[j] = (float)(2 * dgcn_rng_uniform(&r) - 1);
        row[0] = 1.0f;
        const float s = s_row_max(row) / L;
        for (int t = 0; t < T; t++) {
            dgcn_halo_codec_encode(codecs[c], DGCN_HALO_STOCHASTIC, row, NULL, 1, S_W, NULL,
                                   dgcn_mix64((uint64_t)t + 99), buf);
            dgcn_halo_codec_decode(codecs[c], buf, 1, S_W, d, NULL);
            for (int j = 0; j < S_W; j++) sum[j] += d[j];
        }
        for (int j = 0; j < S_W; j++)
            ck_assert_msg(fabs(sum[j] / T - row[j]) <= 5.0 * 0.5 * s / sqrt((double)T) + 0x1p-8,
                          "%s col %d: mean %.6f, x %.6f", dgcn_halo_codec_name(codecs[c]), j,
                          sum[j] / T, row[j]);
    }
}
END_TEST

/* Stochastic q8: every error below one quantum s, and the mean of 4000 draws (keys) within
 * 5 standard errors of x for every value: unbiased. Nearest rounding's mean error stays at its
 * deterministic error, larger than that tolerance on some value (the test can tell them apart). */
START_TEST(test_q8_stochastic_unbiased) {
    enum { T = 4000 };
    float x[S_W], d[S_W];
    double sum[S_W] = {0};
    uint32_t buf[1 + S_W];
    dgcn_rng r;
    dgcn_rng_seed(&r, 3, DGCN_STREAM_TEST);
    for (int j = 0; j < S_W; j++) x[j] = (float)(2 * dgcn_rng_uniform(&r) - 1);
    x[0] = 1.0f;
    const float s = s_row_max(x) / 127.0f;
    for (int t = 0; t < T; t++) {
        dgcn_halo_codec_encode(DGCN_HALO_Q8, DGCN_HALO_STOCHASTIC, x, NULL, 1, S_W, NULL,
                               dgcn_mix64((uint64_t)t), buf);
        dgcn_halo_codec_decode(DGCN_HALO_Q8, buf, 1, S_W, d, NULL);
        for (int j = 0; j < S_W; j++) {
            ck_assert_msg(fabsf(d[j] - x[j]) < s * 1.0001f, "draw %d col %d: error %g >= s %g", t,
                          j, fabsf(d[j] - x[j]), s);
            sum[j] += d[j];
        }
    }
    const double tol = 5.0 * 0.5 * s / sqrt((double)T); /* sd of one draw <= s / 2 */
    int nearest_off = 0;
    dgcn_halo_codec_encode(DGCN_HALO_Q8, DGCN_HALO_NEAREST, x, NULL, 1, S_W, NULL, 0, buf);
    dgcn_halo_codec_decode(DGCN_HALO_Q8, buf, 1, S_W, d, NULL);
    for (int j = 0; j < S_W; j++) {
        ck_assert_msg(fabs(sum[j] / T - x[j]) <= tol, "col %d: mean %.8f, x %.8f, tol %.2e", j,
                      sum[j] / T, x[j], tol);
        nearest_off += fabs(d[j] - x[j]) > tol;
    }
    ck_assert_int_gt(nearest_off, 0);
    /* the draws are a pure function of the key: the same key, the same bytes */
    uint32_t again[1 + S_W];
    memset(buf, 0, sizeof buf), memset(again, 0, sizeof again);
    dgcn_halo_codec_encode(DGCN_HALO_Q8, DGCN_HALO_STOCHASTIC, x, NULL, 1, S_W, NULL, 77, buf);
    dgcn_halo_codec_encode(DGCN_HALO_Q8, DGCN_HALO_STOCHASTIC, x, NULL, 1, S_W, NULL, 77, again);
    ck_assert(!memcmp(buf, again, sizeof buf));
}
END_TEST

/* Error feedback: sending the same rows T times with a residual, the sum of what was decoded
 * stays within one quantum of T x (q8: s; bf16: one unit in the last place, <= 2^-7 |x|); without the residual the error of the
 * sum grows with T (nearest rounding repeats its error). */
START_TEST(test_error_feedback) {
    enum { T = 200 };
    static const dgcn_halo_codec codecs[] = {DGCN_HALO_Q8, DGCN_HALO_BF16};
    for (int c = 0; c < 2; c++) {
        float x[S_N * S_W], d[S_N * S_W], e[S_N * S_W] = {0};
        double with[S_N * S_W] = {0}, without[S_N * S_W] = {0};
        uint32_t buf[S_N + S_N * S_W];
        s_rows(x, 4);
        for (int t = 0; t < T; t++) {
            dgcn_halo_codec_encode(codecs[c], DGCN_HALO_NEAREST, x, NULL, S_N, S_W, e, 0, buf);
            dgcn_halo_codec_decode(codecs[c], buf, S_N, S_W, d, NULL);
            for (int i = 0; i < S_N * S_W; i++) with[i] += d[i];
            dgcn_halo_codec_encode(codecs[c], DGCN_HALO_NEAREST, x, NULL, S_N, S_W, NULL, 0, buf);
            dgcn_halo_codec_decode(codecs[c], buf, S_N, S_W, d, NULL);
            for (int i = 0; i < S_N * S_W; i++) without[i] += d[i];
        }
        double worst_with = 0, worst_without = 0;
        for (int i = 0; i < S_N; i++) {
            const double m = s_row_max(x + i * S_W);
            if (m == 0) continue;
            for (int j = 0; j < S_W; j++) {
                const int k = i * S_W + j;
                const double q = codecs[c] == DGCN_HALO_Q8 ? 1.01 * m / 127.0
                                                           : 0x1p-7 * fabs((double)x[k]) * 1.01;
                const double ew = fabs(with[k] - (double)T * x[k]);
                ck_assert_msg(ew <= q + 1e-6 * fabs((double)T * x[k]),
                              "%s row %d col %d: summed error %g > %g",
                              dgcn_halo_codec_name(codecs[c]), i, j, ew, q);
                if (q > 0) {
                    worst_with = fmax(worst_with, ew / q);
                    worst_without = fmax(worst_without, fabs(without[k] - (double)T * x[k]) / q);
                }
            }
        }
        ck_assert_msg(worst_without > 10.0 * worst_with, "%s: without feedback %g, with %g",
                      dgcn_halo_codec_name(codecs[c]), worst_without, worst_with);
    }
}
END_TEST

/* Rows gathered through idx on encode and added through idx on decode (halo gradients into own
 * rows), the others untouched. */
START_TEST(test_gather_scatter_add) {
    static const dgcn_halo_codec codecs[] = {DGCN_HALO_BF16, DGCN_HALO_FP16, DGCN_HALO_Q8,
                                             DGCN_HALO_Q4};
    for (int c = 0; c < 4; c++) {
        float src[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, dst[4 * 3];
        const int32_t idx[2] = {3, 1};
        uint32_t buf[16];
        for (int i = 0; i < 12; i++) dst[i] = 100.0f;
        dgcn_halo_codec_encode(codecs[c], DGCN_HALO_NEAREST, src, idx, 2, 3, NULL, 0, buf);
        dgcn_halo_codec_decode(codecs[c], buf, 2, 3, dst, idx);
        for (int j = 0; j < 3; j++) {
            ck_assert(dst[0 * 3 + j] == 100.0f && dst[2 * 3 + j] == 100.0f);
            const float tol = codecs[c] == DGCN_HALO_Q4 ? 12.0f / 7.0f / 2.0f * 1.01f : 0.05f;
            ck_assert_msg(fabsf(dst[3 * 3 + j] - 100.0f - src[3 * 3 + j]) < tol, "%s: %g",
                          dgcn_halo_codec_name(codecs[c]), dst[3 * 3 + j]);
            ck_assert(fabsf(dst[1 * 3 + j] - 100.0f - src[1 * 3 + j]) < tol);
        }
        ck_assert_int_eq(dgcn_halo_codec_words(codecs[c], 2, 3), codecs[c] == DGCN_HALO_Q8   ? 4
                                                                 : codecs[c] == DGCN_HALO_Q4 ? 2
                                                                                             : 3);
    }
    dgcn_halo_codec k;
    ck_assert_int_eq(dgcn_halo_codec_parse("16", &k), DGCN_OK);
    ck_assert_int_eq(k, DGCN_HALO_FP16);
    ck_assert_int_eq(dgcn_halo_codec_parse("bf16", &k), DGCN_OK);
    ck_assert_int_eq(k, DGCN_HALO_BF16);
    ck_assert_int_eq(dgcn_halo_codec_parse("8", &k), DGCN_OK);
    ck_assert_int_eq(k, DGCN_HALO_Q8);
    ck_assert_int_eq(dgcn_halo_codec_parse("2", &k), DGCN_OK);
    ck_assert_int_eq(k, DGCN_HALO_Q2);
    ck_assert_int_eq(dgcn_halo_codec_parse("3", &k), DGCN_EINVAL);
}
END_TEST

/* A NaN or an infinity in a row reaches the receiver as non-finite (no silent finite value). */
START_TEST(test_non_finite_passes) {
    float x[3] = {1.0f, NAN, 2.0f}, d[3];
    uint32_t buf[4];
    dgcn_halo_codec_encode(DGCN_HALO_Q8, DGCN_HALO_NEAREST, x, NULL, 1, 3, NULL, 0, buf);
    dgcn_halo_codec_decode(DGCN_HALO_Q8, buf, 1, 3, d, NULL);
    ck_assert(!isfinite(d[0]) && !isfinite(d[1]) && !isfinite(d[2]));
    dgcn_halo_codec_encode(DGCN_HALO_BF16, DGCN_HALO_NEAREST, x, NULL, 1, 3, NULL, 0, buf);
    dgcn_halo_codec_decode(DGCN_HALO_BF16, buf, 1, 3, d, NULL);
    ck_assert(d[0] == 1.0f && isnan(d[1]) && d[2] == 2.0f);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"sixteen_bit_bounds", test_sixteen_bit_bounds, 0, 0},
        {"q8_bounds_per_row", test_q8_bounds_per_row, 0, 0},
        {"q8_stochastic_unbiased", test_q8_stochastic_unbiased, 0, 0},
        {"low_bit_bounds", test_low_bit_bounds, 0, 0},
        {"error_feedback", test_error_feedback, 0, 0},
        {"gather_scatter_add", test_gather_scatter_add, 0, 0},
        {"non_finite_passes", test_non_finite_passes, 0, 0},
    };
    return DGCN_TEST_SUITE("halo_codec", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
