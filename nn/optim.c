/* nn/optim.c: Adam and SGD steps (contracts in nn/optim.h). */
#include "nn/optim.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dgcn_adam_init(dgcn_adam *a, int64_t n) {
    int rc;
    memset(a, 0, sizeof *a);
    if (n < 0) return dgcn_error_set(DGCN_EINVAL, "dgcn_adam_init: %lld parameters", (long long)n);
    DGCN_ALLOC(a->m, n);
    DGCN_ALLOC(a->v, n);
    a->n = n;
    return DGCN_OK;
fail:
    dgcn_adam_fini(a);
    return rc;
}

void dgcn_adam_fini(dgcn_adam *a) {
    if (!a) return;
    free(a->m);
    free(a->v);
    memset(a, 0, sizeof *a);
}

void dgcn_adam_reset(dgcn_adam *a) {
    if (a->n > 0) {
        memset(a->m, 0, (size_t)a->n * sizeof *a->m);
        memset(a->v, 0, (size_t)a->n * sizeof *a->v);
    }
    a->t = 0;
}

void dgcn_adam_step(dgcn_adam *a, float *restrict theta, const float *restrict grad, float lr,
                    float beta1, float beta2, float eps) {
    a->t++;
    const double bc1 = 1.0 - pow((double)beta1, (double)a->t);
    const double bc2 = 1.0 - pow((double)beta2, (double)a->t);
    const float step = (float)((double)lr / bc1);
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    float *restrict m = a->m, *restrict v = a->v;
    /* Chunks of constant length 8 vectorize at -O2; the tail runs one by one. */
    const int64_t n = a->n;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float *restrict mc = m + i, *restrict vc = v + i, *restrict tc = theta + i;
        const float *restrict gc = grad + i;
        for (int t = 0; t < 8; t++) {
            mc[t] = beta1 * mc[t] + c1 * gc[t];
            vc[t] = beta2 * vc[t] + c2 * gc[t] * gc[t];
            tc[t] -= step * mc[t] / (sqrtf(vc[t]) * inv_sqrt_bc2 + eps);
        }
    }
    for (; i < n; i++) {
        const float g = grad[i];
        m[i] = beta1 * m[i] + c1 * g;
        v[i] = beta2 * v[i] + c2 * g * g;
        theta[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
}

void dgcn_sgd_step(float *restrict theta, const float *restrict grad, int64_t n, float lr) {
    for (int64_t i = 0; i < n; i++) theta[i] -= lr * grad[i];
}
