/* core/timer.h: monotonic wall-clock time. */
#ifndef DGCN_CORE_TIMER_H
#define DGCN_CORE_TIMER_H

#include <time.h>

/* Milliseconds on a monotonic clock (arbitrary origin). */
static inline double dgcn_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

#endif
