/* core/signal.c: SIGINT and SIGTERM as a request to stop (see core/signal.h). */
#include "core/signal.h"

#include "core/error.h"

#include <string.h>

static volatile sig_atomic_t s_flag = 0;

static void s_on_signal(int sig) { s_flag = sig; }

void dgcn_signal_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

volatile sig_atomic_t *dgcn_signal_flag(void) { return &s_flag; }

int dgcn_signal_check(const char *what) {
    int sig = (int)s_flag;
    if (!sig) return DGCN_OK;
    return dgcn_error_set(DGCN_EINTR, "interrupted by signal %d (%s) during %s", sig,
                          sig == SIGINT    ? "SIGINT"
                          : sig == SIGTERM ? "SIGTERM"
                                           : "?",
                          what);
}

int dgcn_signal_exit_status(int rc, int otherwise) {
    return rc == DGCN_EINTR && s_flag ? 128 + (int)s_flag : otherwise;
}
