/* nn/halo_codec.h: compressed halo rows: blocks of float rows (activations forward, gradients
 * backward) in 16-bit or 8-bit form, as the bytes a halo message carries (docs/compression.md).
 *
 *   fp16  IEEE binary16, round-to-nearest-even: 11 significant bits (relative error <= 2^-11 in its
 *         normal range, 6.1e-5 to 65504; below it an absolute error <= 2^-25), saturating: a
 *         finite value beyond 65504 is sent as +-65504, never as an infinity
 *   bf16  each value's upper 16 bits after round-to-nearest-even: 8 exponent bits, so the range
 *         of float, but 8 significant bits (relative error <= 2^-8); measured 7-1000x the error
 *         of fp16 on halo rows (docs/compression.md), kept for comparison
 *   q8    per row a float32 scale s = max_j |x_j| / 127 and one int8 q_j per value, x_j ~ q_j s:
 *         nearest rounding (|error| <= s / 2) or stochastic rounding (|error| < s, unbiased:
 *         E[q_j s] = x_j), its uniform draws a pure function of (key, row, column)
 *   q4,q2 per row a bf16 scale s = max_j |x_j| / L and one B-bit code per value (B = 4: L = 7,
 *         values -7..7; B = 2: L = 1, values -1, 0, 1), rounded as q8; the scale's 8 significant
 *         bits add a relative error <= 2^-8 of the row's maximum
 *
 * A block of n rows of width w is encoded into dgcn_halo_codec_words(codec, n, w) 4-byte words:
 * 16-bit codecs n w values of 2 bytes; q8 the n scales, then the n w bytes; q4 and q2 the n bf16
 * scales, then the n w codes (value + L) packed from the low bits of each byte up; the tail of
 * the last word is zero. Values are little-endian (as the transports' floats). A block is self-contained,
 * so blocks concatenate (relay forwards them as they are). Error feedback: with a residual e
 * (n, w) the encoder encodes v = x + e and leaves e = v - decode(v), so the sum over passes of
 * what was sent tracks the sum of x within one residual. Nothing here allocates. */
#ifndef DGCN_NN_HALO_CODEC_H
#define DGCN_NN_HALO_CODEC_H

#include <stdint.h>

typedef enum dgcn_halo_codec {
    DGCN_HALO_OFF = 0,  /* float32 rows as they are */
    DGCN_HALO_BF16 = 1, /* `--compress-halo bf16`: measured beside fp16 (docs/compression.md) */
    DGCN_HALO_FP16 = 2, /* `--compress-halo 16` */
    DGCN_HALO_Q8 = 3,   /* `--compress-halo 8` */
    DGCN_HALO_Q4 = 4,   /* `--compress-halo 4` */
    DGCN_HALO_Q2 = 5    /* `--compress-halo 2`: ternary */
} dgcn_halo_codec;

typedef enum dgcn_halo_rounding {
    DGCN_HALO_NEAREST = 0,
    DGCN_HALO_STOCHASTIC = 1 /* q8, q4, q2; the 16-bit codecs round to nearest even */
} dgcn_halo_rounding;

/* Where error feedback applies (dgcn agents keep one residual per sent row and exchange). */
typedef enum dgcn_halo_feedback {
    DGCN_HALO_FEEDBACK_NONE = 0,
    DGCN_HALO_FEEDBACK_GRAD = 1, /* the backward (gradient) rows of training steps */
    DGCN_HALO_FEEDBACK_ALL = 2   /* forward rows too */
} dgcn_halo_feedback;

/* "off", "16" or "fp16", "bf16", "8" or "q8", "4" or "q4", "2" or "q2"; DGCN_EINVAL listing
 * them. */
int dgcn_halo_codec_parse(const char *name, dgcn_halo_codec *out);
/* "off", "bf16", "fp16", "q8", "q4", "q2" ("?" for another value). */
const char *dgcn_halo_codec_name(dgcn_halo_codec c);
int dgcn_halo_rounding_parse(const char *name, dgcn_halo_rounding *out); /* nearest|stochastic */
const char *dgcn_halo_rounding_name(dgcn_halo_rounding r);
int dgcn_halo_feedback_parse(const char *name, dgcn_halo_feedback *out); /* none|grad|all */
const char *dgcn_halo_feedback_name(dgcn_halo_feedback f);

/* 4-byte words of n rows of width w (off: n w). */
int64_t dgcn_halo_codec_words(dgcn_halo_codec c, int64_t n, int32_t w);

/* Encodes n rows of width w into out (dgcn_halo_codec_words words): row i is src + idx[i] w, or
 * src + i w when idx is NULL. resid (n, w) or NULL: error feedback (above). key seeds stochastic
 * rounding (distinct per message). c must not be DGCN_HALO_OFF. */
void dgcn_halo_codec_encode(dgcn_halo_codec c, dgcn_halo_rounding r, const float *src /* rows */,
                            const int32_t *idx /* (n) or NULL */, int32_t n, int32_t w,
                            float *resid /* (n, w) or NULL */, uint64_t key, void *out);

/* Decodes n rows of width w from in into dst: row i to dst + idx[i] w (added to what is there:
 * gradient rows of copies accumulate), or, idx NULL, to dst + i w (overwritten). */
void dgcn_halo_codec_decode(dgcn_halo_codec c, const void *in, int32_t n, int32_t w,
                            float *dst /* rows */, const int32_t *idx /* (n) or NULL */);

#endif
