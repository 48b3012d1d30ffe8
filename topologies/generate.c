/* topologies/generate.c: deterministic and random families of communication graphs. */
#include "topologies/generate.h"

#include "core/error.h"
#include "core/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DRAWS 1000

/* Adds k -- t to the graph being generated; on failure frees it and returns the error. */
#define S_LINK(g, k, t)                                                                            \
    do {                                                                                           \
        int rc_ = dgcn_topo_set((g), (k), (t), 1);                                                 \
        if (rc_) {                                                                                 \
            dgcn_topo_fini(g);                                                                     \
            return rc_;                                                                            \
        }                                                                                          \
    } while (0)

int dgcn_topo_gen_complete(dgcn_topo *out, int32_t m) {
    int rc = dgcn_topo_init(out, m);
    if (rc) return rc;
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = k + 1; t < m; t++) S_LINK(out, k, t);
    return DGCN_OK;
}

int dgcn_topo_gen_ring(dgcn_topo *out, int32_t m) {
    int rc = dgcn_topo_init(out, m);
    if (rc) return rc;
    for (int32_t k = 0; k < m && m > 1; k++) S_LINK(out, k, (k + 1) % m);
    return DGCN_OK;
}

int dgcn_topo_gen_line(dgcn_topo *out, int32_t m) {
    int rc = dgcn_topo_init(out, m);
    if (rc) return rc;
    for (int32_t k = 0; k + 1 < m; k++) S_LINK(out, k, k + 1);
    return DGCN_OK;
}

int dgcn_topo_gen_star(dgcn_topo *out, int32_t m) {
    int rc = dgcn_topo_init(out, m);
    if (rc) return rc;
    for (int32_t k = 1; k < m; k++) S_LINK(out, 0, k);
    return DGCN_OK;
}

void dgcn_topo_torus_shape(int32_t m, int32_t *rows, int32_t *cols) {
    int32_t r = 1;
    for (int32_t d = 1; (int64_t)d * d <= m; d++)
        if (m % d == 0) r = d;
    *rows = r;
    *cols = m / r;
}

int dgcn_topo_gen_torus(dgcn_topo *out, int32_t rows, int32_t cols) {
    if (rows < 1 || cols < 1 || (int64_t)rows * cols > DGCN_TOPO_MAX_AGENTS)
        return dgcn_error_set(DGCN_EINVAL, "torus: invalid shape %d x %d", rows, cols);
    int rc = dgcn_topo_init(out, rows * cols);
    if (rc) return rc;
    for (int32_t r = 0; r < rows; r++)
        for (int32_t c = 0; c < cols; c++) {
            int32_t k = r * cols + c;
            int32_t right = r * cols + (c + 1) % cols, down = ((r + 1) % rows) * cols + c;
            if (right != k) S_LINK(out, k, right);
            if (down != k) S_LINK(out, k, down);
        }
    return DGCN_OK;
}

int dgcn_topo_gen_hypercube(dgcn_topo *out, int32_t m) {
    if (m < 1 || (m & (m - 1)))
        return dgcn_error_set(DGCN_EINVAL, "hypercube: %d agents is not a power of 2", m);
    int rc = dgcn_topo_init(out, m);
    if (rc) return rc;
    for (int32_t k = 0; k < m; k++)
        for (int32_t b = 1; b < m; b <<= 1) S_LINK(out, k, k ^ b);
    return DGCN_OK;
}

int dgcn_topo_gen_exponential(dgcn_topo *out, int32_t m) {
    int rc = dgcn_topo_init(out, m);
    if (rc) return rc;
    for (int32_t k = 0; k < m; k++)
        for (int32_t h = 1; h < m; h <<= 1)
            if ((k + h) % m != k) S_LINK(out, k, (k + h) % m);
    return DGCN_OK;
}

/* Draws one sample of a random family into the initialized out. */
typedef int (*s_draw_fn)(dgcn_topo *out, dgcn_rng *rng, const void *param);

static int s_draw_until_connected(dgcn_topo *out, int32_t m, uint64_t seed, int connected,
                                  s_draw_fn draw, const void *param, const char *what) {
    int rc = dgcn_topo_init(out, m);
    if (rc) return rc;
    dgcn_rng rng;
    dgcn_rng_seed(&rng, seed, DGCN_STREAM_TOPOLOGY);
    for (int attempt = 0; attempt < (connected ? S_MAX_DRAWS : 1); attempt++) {
        dgcn_topo_fini(out);
        if ((rc = dgcn_topo_init(out, m))) goto fail;
        rc = draw(out, &rng, param);
        if (rc) goto fail;
        if (!connected || dgcn_topo_connected(out)) return DGCN_OK;
    }
    rc = dgcn_error_set(DGCN_ETOPOLOGY,
                        "%s with %d agents: no connected draw in %d tries (seed %llu)", what, m,
                        S_MAX_DRAWS, (unsigned long long)seed);
fail:
    dgcn_topo_fini(out);
    return rc;
}

static int s_draw_er(dgcn_topo *out, dgcn_rng *rng, const void *param) {
    double p = *(const double *)param;
    for (int32_t k = 0; k < out->m; k++)
        for (int32_t t = k + 1; t < out->m; t++)
            if (dgcn_rng_uniform(rng) < p) {
                int rc = dgcn_topo_set(out, k, t, 1);
                if (rc) return rc;
            }
    return DGCN_OK;
}

int dgcn_topo_gen_erdos_renyi(dgcn_topo *out, int32_t m, double p, uint64_t seed, int connected) {
    memset(out, 0, sizeof *out);
    if (!(p >= 0.0 && p <= 1.0))
        return dgcn_error_set(DGCN_EINVAL, "Erdos-Renyi: probability %g outside [0, 1]", p);
    return s_draw_until_connected(out, m, seed, connected, s_draw_er, &p, "Erdos-Renyi");
}

static int s_draw_geometric(dgcn_topo *out, dgcn_rng *rng, const void *param) {
    double r = *(const double *)param;
    int32_t m = out->m;
    double *xy = malloc((size_t)2 * m * sizeof *xy);
    if (!xy) return dgcn_error_set(DGCN_ENOMEM, "geometric graph: out of memory for %d points", m);
    for (int32_t k = 0; k < 2 * m; k++) xy[k] = dgcn_rng_uniform(rng);
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = k + 1; t < m; t++) {
            double dx = xy[2 * k] - xy[2 * t], dy = xy[2 * k + 1] - xy[2 * t + 1];
            int rc = dx * dx + dy * dy < r * r ? dgcn_topo_set(out, k, t, 1) : DGCN_OK;
            if (rc) {
                free(xy);
                return rc;
            }
        }
    free(xy);
    return DGCN_OK;
}

int dgcn_topo_gen_geometric(dgcn_topo *out, int32_t m, double r, uint64_t seed, int connected) {
    memset(out, 0, sizeof *out);
    if (!(r > 0.0 && r < 1e300))
        return dgcn_error_set(DGCN_EINVAL, "geometric graph: radius %g must be positive", r);
    return s_draw_until_connected(out, m, seed, connected, s_draw_geometric, &r, "geometric graph");
}

/* One k-regular pairing: repeatedly pair two random remaining stubs, rejecting self-loops and
 * repeated links; restart from scratch when no valid pair is found in many tries. */
static int s_draw_regular(dgcn_topo *out, dgcn_rng *rng, const void *param) {
    int32_t k = *(const int32_t *)param, m = out->m;
    int64_t n_stubs = (int64_t)m * k;
    int32_t *stubs = malloc((size_t)(n_stubs ? n_stubs : 1) * sizeof *stubs);
    if (!stubs) return dgcn_error_set(DGCN_ENOMEM, "regular graph: out of memory");
    for (int restart = 0; restart < S_MAX_DRAWS; restart++) {
        for (int32_t a = 0; a < m; a++) out->deg[a] = 0;
        out->n_links = 0;
        for (int64_t i = 0; i < n_stubs; i++) stubs[i] = (int32_t)(i / k);
        int64_t left = n_stubs;
        while (left > 0) {
            int ok = 0;
            for (int tries = 0; tries < 100 && !ok; tries++) {
                int64_t i = (int64_t)dgcn_rng_below(rng, (uint64_t)left);
                int64_t j = (int64_t)dgcn_rng_below(rng, (uint64_t)left);
                int32_t a = stubs[i], b = stubs[j];
                if (i == j || a == b || dgcn_topo_has(out, a, b)) continue;
                int rc = dgcn_topo_set(out, a, b, 1);
                if (rc) {
                    free(stubs);
                    return rc;
                }
                /* remove stubs i and j by moving the last two into their places */
                int64_t hi = i > j ? i : j, lo = i > j ? j : i;
                stubs[hi] = stubs[--left];
                stubs[lo] = stubs[--left];
                ok = 1;
            }
            if (!ok) break;
        }
        if (left == 0) {
            free(stubs);
            return DGCN_OK;
        }
    }
    free(stubs);
    return dgcn_error_set(DGCN_ETOPOLOGY, "regular graph: no %d-regular pairing of %d agents found",
                          k, m);
}

int dgcn_topo_gen_regular(dgcn_topo *out, int32_t m, int32_t k, uint64_t seed, int connected) {
    memset(out, 0, sizeof *out);
    if (k < 0 || k >= m || ((int64_t)m * k) % 2)
        return dgcn_error_set(DGCN_EINVAL,
                              "regular graph: degree %d with %d agents (need 0 <= k < m, m*k even)",
                              k, m);
    return s_draw_until_connected(out, m, seed, connected, s_draw_regular, &k, "regular graph");
}

static int s_param(const char *spec, const char *name, double *v) {
    size_t n = strlen(name);
    if (strncmp(spec, name, n) || spec[n] != ':') return 0;
    char *end;
    errno = 0;
    *v = strtod(spec + n + 1, &end);
    if (errno || end == spec + n + 1 || *end) return -1;
    return 1;
}

int dgcn_topo_generate(dgcn_topo *out, const char *spec, int32_t m, uint64_t seed) {
    double v = 0;
    int r;
    memset(out, 0, sizeof *out);
    if (!strcmp(spec, "complete")) return dgcn_topo_gen_complete(out, m);
    if (!strcmp(spec, "ring")) return dgcn_topo_gen_ring(out, m);
    if (!strcmp(spec, "line")) return dgcn_topo_gen_line(out, m);
    if (!strcmp(spec, "star")) return dgcn_topo_gen_star(out, m);
    if (!strcmp(spec, "hypercube")) return dgcn_topo_gen_hypercube(out, m);
    if (!strcmp(spec, "exponential")) return dgcn_topo_gen_exponential(out, m);
    if (!strcmp(spec, "torus")) {
        int32_t rows, cols;
        if (m < 1) return dgcn_error_set(DGCN_EINVAL, "torus: %d agents", m);
        dgcn_topo_torus_shape(m, &rows, &cols);
        return dgcn_topo_gen_torus(out, rows, cols);
    }
    if ((r = s_param(spec, "er", &v)) > 0) return dgcn_topo_gen_erdos_renyi(out, m, v, seed, 1);
    if (r == 0 && (r = s_param(spec, "geometric", &v)) > 0)
        return dgcn_topo_gen_geometric(out, m, v, seed, 1);
    if (r == 0 && (r = s_param(spec, "regular", &v)) > 0) {
        if (!(v >= 0 && v <= DGCN_TOPO_MAX_AGENTS) || v != (double)(int32_t)v)
            return dgcn_error_set(DGCN_EINVAL,
                                  "topology kind '%s': degree must be a non-negative integer",
                                  spec);
        return dgcn_topo_gen_regular(out, m, (int32_t)v, seed, 1);
    }
    if (r < 0)
        return dgcn_error_set(DGCN_EINVAL, "topology kind '%s': malformed parameter after ':'",
                              spec);
    return dgcn_error_set(
        DGCN_EINVAL,
        "unknown topology kind '%s' (ring, complete, line, star, torus, hypercube, "
        "exponential, er:P, geometric:R, regular:K)",
        spec);
}
