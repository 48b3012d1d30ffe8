/* nn/optim.h: optimizer steps over the contiguous parameter vector.
 *
 * dgcn_adam is Adam with PyTorch's bias correction (torch.optim.Adam, no weight decay: the model
 * puts its L2 term in the gradient). The state is a plain struct the caller owns: init/fini; a
 * failed init leaves it safe to fini. Steps allocate nothing. */
#ifndef DGCN_NN_OPTIM_H
#define DGCN_NN_OPTIM_H

#include <stdint.h>

typedef struct dgcn_adam {
    int64_t n; /* parameters */
    float *m;  /* (n) first-moment estimate */
    float *v;  /* (n) second-moment estimate */
    int64_t t; /* steps taken */
} dgcn_adam;

/* Zeroed moments for n parameters, t = 0. */
int dgcn_adam_init(dgcn_adam *a, int64_t n);
void dgcn_adam_fini(dgcn_adam *a);
/* Zeroes the moments and t (a fresh run with the same size). */
void dgcn_adam_reset(dgcn_adam *a);

/* One step: t += 1; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * theta -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). Defaults: 0.9, 0.999, 1e-8. */
void dgcn_adam_step(dgcn_adam *a, float *theta /* (n) */, const float *grad /* (n) */, float lr,
                    float beta1, float beta2, float eps);

/* theta -= lr grad */
void dgcn_sgd_step(float *theta /* (n) */, const float *grad /* (n) */, int64_t n, float lr);

#endif
