/* core/rng.h: seeded random numbers with separate streams.
 *
 * dgcn_rng is xoshiro256** seeded through splitmix64 from (seed, stream): the same seed gives the
 * same numbers on every machine, and streams with different ids (initialization, generation,
 * partition, topology) are independent, so adding a draw to one never shifts another.
 *
 * Dropout draws nothing from a stream: its masks are counter-based, a pure function of (seed,
 * iteration, layer, global node id, column) built on dgcn_mix64 by nn/kernels.h (one 64-bit key
 * per row, dgcn_dropout_row_key; one 32-bit hash of the key and the column per element,
 * dgcn_dropout_unit), so an agent that owns a node draws exactly the mask the centralized run draws
 * for that node, with no state to share. */
#ifndef DGCN_CORE_RNG_H
#define DGCN_CORE_RNG_H

#include <stdint.h>

enum dgcn_stream {
    DGCN_STREAM_INIT = 1, /* weight initialization */
    /* 2 is unused: dropout masks are counter-based (nn/kernels.h), not a stream */
    DGCN_STREAM_GENERATE = 3,  /* synthetic graphs */
    DGCN_STREAM_PARTITION = 4, /* partitioners */
    DGCN_STREAM_TOPOLOGY = 5,  /* random topologies and link removal */
    DGCN_STREAM_LINKS = 6,    /* link failures (agent/links.h; counter-based, keyed like dropout) */
    DGCN_STREAM_SCHEDULE = 7, /* random schedules of communication graphs (matchings) */
    DGCN_STREAM_LOSS = 8,     /* the agents a study kills (coordinator/study.h, --agent-loss) */
    DGCN_STREAM_COMPRESS = 9, /* random-k's indices (nn/compress.h; seeded by a per-message key) */
    DGCN_STREAM_TEST = 99     /* tests */
};

typedef struct dgcn_rng {
    uint64_t s[4];
} dgcn_rng;

void dgcn_rng_seed(dgcn_rng *r, uint64_t seed, uint64_t stream);
uint64_t dgcn_rng_u64(dgcn_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double dgcn_rng_uniform(dgcn_rng *r);
/* Uniform integer in [0, n); n > 0; unbiased. */
uint64_t dgcn_rng_below(dgcn_rng *r, uint64_t n);
/* Standard normal (Box-Muller; one value per call). */
double dgcn_rng_normal(dgcn_rng *r);
/* Fisher-Yates shuffle of n ints. */
void dgcn_rng_shuffle_int(dgcn_rng *r, int *a, int n);

/* splitmix64 finalizer: a bijective 64-bit mix. */
static inline uint64_t dgcn_mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#endif
