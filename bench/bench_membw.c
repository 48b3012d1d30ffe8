/* bench/bench_membw.c: this machine's memory read bandwidth, for the floors of bench/agents.sh.
 *
 * Sums an array of 64-bit integers far larger than the caches (default 1 GiB; integer sums
 * vectorize, so the loads, not the additions, bound the loop) and prints the best of several
 * passes in GB/s (10^9 bytes per second) on one line: "read_gb_per_s X". One thread, as one worker
 * of the in-process engine reads.
 *
 *   bench_membw [--mib N] [--passes P] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double s_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    long mib = 1024, passes = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mib") && i + 1 < argc) mib = atol(argv[++i]);
        else if (!strcmp(argv[i], "--passes") && i + 1 < argc) passes = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_membw [--mib N] [--passes P]\n");
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    if (mib < 64 || passes < 1) {
        fprintf(stderr, "bench_membw: need --mib >= 64 and --passes >= 1\n");
        return 2;
    }
    size_t n = (size_t)mib << 17; /* 8-byte words */
    uint64_t *a = malloc(n * sizeof *a);
    if (!a) {
        fprintf(stderr, "bench_membw: cannot allocate %ld MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++) a[i] = i * 0x9e3779b97f4a7c15u;
    double best = 0;
    uint64_t sink = 0;
    for (long p = 0; p < passes; p++) {
        double t0 = s_now_s();
        uint64_t s = 0;
        for (size_t i = 0; i < n; i++) s += a[i];
        double dt = s_now_s() - t0;
        sink += s;
        double gbs = (double)n * sizeof *a / dt * 1e-9;
        if (gbs > best) best = gbs;
    }
    printf("read_gb_per_s %.2f\n", best);
    fprintf(stderr, "(checksum %llx)\n", (unsigned long long)sink);
    free(a);
    return 0;
}
