/* nn/compress.h: compression operators for vectors of floats, and their wire form.
 *
 * An operator Q maps x (n floats) to Q(x), sent as bytes (the wire form) and decoded by the
 * receiver into exactly the Q(x) the sender computed:
 *  TOPK  (fraction F in (0, 1]): the k = ceil(F n) entries of largest magnitude, the rest 0 (ties
 *        broken by the lower index). A contraction: ||x - Q(x)||^2 <= (1 - k / n) ||x||^2.
 *        Wire: k uint32 indices (increasing), then the k float values: 8 k bytes.
 *  RANDK (fraction F in (0, 1]): k = ceil(F n) entries drawn uniformly without replacement from a
 *        seed the receiver knows (the key below), so only the values travel: 4 k bytes. Scaled by
 *        n / k it is unbiased (E Q(x) = x); unscaled it is a contraction in expectation,
 *        E ||x - Q(x)||^2 = (1 - k / n) ||x||^2, the form compressed gossip uses (nn/choco.h).
 *  QUANT (B bits per entry, 1..16): blocks of DGCN_QUANT_BLOCK entries, each sent as its minimum
 *        lo and its step h = (max - lo) / (2^B - 1) (two floats) and one B-bit level per entry,
 *        packed little-endian; entry x is rounded to the level below or above at random with
 *        probability given by its distance, so E Q(x) = x and |Q(x) - x| < h.
 *        Wire: per block 8 + ceil(nb B / 8) bytes.
 * The random draws (RANDK's indices, QUANT's rounding) come from a 64-bit key, a pure function
 * of (seed, agent, iteration, round, segment) (dgcn_compress_key), so a run is reproducible and a
 * receiver draws RANDK's indices of the sender's key without receiving them. Multi-byte values are
 * in the machine's order (little-endian on every machine dgcn builds on; NeighborMsg's payload
 * says so).
 *
 * Nothing here allocates except dgcn_compress_scratch_new; encode and decode use the caller's
 * scratch. */
#ifndef DGCN_NN_COMPRESS_H
#define DGCN_NN_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

typedef enum dgcn_compress_kind {
    DGCN_COMPRESS_NONE = 0,
    DGCN_COMPRESS_TOPK = 1,
    DGCN_COMPRESS_RANDK = 2,
    DGCN_COMPRESS_QUANT = 3
} dgcn_compress_kind;

enum { DGCN_QUANT_BLOCK = 256, DGCN_QUANT_MAX_BITS = 16 };

/* A compressed-gossip setting (the run configuration's compress_params, compress_amount,
 * compress_gamma): kind, amount (F for TOPK and RANDK, B for QUANT, 0 for NONE) and the consensus
 * step gamma of nn/choco.h (0: dgcn_compress_gamma_auto). */
typedef struct dgcn_compress_config {
    int32_t kind;
    double amount;
    double gamma;
} dgcn_compress_config;

/* "none", "topk:F", "randk:F", "quant:B" -> kind and amount; DGCN_EINVAL names a bad spec. */
int dgcn_compress_parse(const char *spec, int32_t *kind, double *amount);
/* The spec of (kind, amount) into out (cap bytes), as parse reads it: "topk:0.1", "quant:8". */
void dgcn_compress_format(int32_t kind, double amount, char *out, size_t cap);
const char *dgcn_compress_kind_name(int32_t kind); /* "none", "topk", "randk", "quant" */
/* Checks kind, amount (F in (0, 1], B an integer in [1, 16]) and gamma (in [0, 1]). */
int dgcn_compress_check(const dgcn_compress_config *c);
/* The gamma a run uses when the configuration gives 0: TOPK min(1, 2 F), RANDK F, QUANT 1 for
 * B >= 3 bits, 0.4 for B = 2: about half the largest gamma with which the compressed gossip of
 * tests/test_compress.c (8 agents on a ring) still converged (topk 2.5 F to 3 F, randk about
 * 1.7 F, quant:2 0.5; docs/compression.md). */
double dgcn_compress_gamma_auto(int32_t kind, double amount);

/* Entries kept of a vector of n (TOPK, RANDK: ceil(F n), at least 1; else n). */
int64_t dgcn_compress_k(int32_t kind, double amount, int64_t n);
/* Bytes of the wire form of a vector of n (NONE: 4 n). */
int64_t dgcn_compress_wire_bytes(int32_t kind, double amount, int64_t n);

/* The key of one compressed vector's draws. */
uint64_t dgcn_compress_key(uint64_t seed, int32_t agent, int64_t iter, int32_t round, int32_t seg);

/* Scratch for encode and decode of vectors up to n floats (indices and magnitudes). */
typedef struct dgcn_compress_scratch {
    int64_t cap;
    int32_t *idx;   /* (cap) */
    float *mag;     /* (cap) */
    int32_t *perm;  /* (cap) identity permutation, restored after every RANDK draw */
    int32_t *swaps; /* (cap) */
} dgcn_compress_scratch;
int dgcn_compress_scratch_new(dgcn_compress_scratch *s, int64_t n);
void dgcn_compress_scratch_free(dgcn_compress_scratch *s);

/* Q(x) of x (n floats) into wire (dgcn_compress_wire_bytes bytes) with the draws of key. RANDK
 * values are scaled by n / k when scaled != 0 (the unbiased form; 0: the contraction form). */
int dgcn_compress_encode(int32_t kind, double amount, int scaled, const float *x, int64_t n,
                         uint64_t key, dgcn_compress_scratch *s, unsigned char *wire);
/* dst += w * Q(x) decoded from wire (the same kind, amount, scaled, n and key). Checks TOPK's
 * indices: DGCN_EPROTO for one out of range or not increasing (a corrupt message). */
int dgcn_compress_accumulate(int32_t kind, double amount, int scaled, const unsigned char *wire,
                             int64_t n, uint64_t key, dgcn_compress_scratch *s, double w,
                             float *dst);

#endif
