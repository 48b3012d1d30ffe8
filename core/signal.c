/* core/signal.c: SIGINT and SIGTERM as a request to stop (see core/signal.h). */
#include "core/signal.h"

#include "core/error.h"

#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t s_flag = 0;
static volatile sig_atomic_t s_depth = 0;  /* uninterruptible sections open */
static const char *volatile s_what = NULL; /* the innermost one's name */

static const char *s_sig_name(int sig) {
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "?";
}

/* Async-signal-safe: writes the message with write(2) and _exits. */
static void s_exit_now(int sig) {
    char msg[256];
    size_t n = 0;
    const char *parts[] = {"dgcn: interrupted by signal ", NULL, " (", s_sig_name(sig), ") during ",
                           s_what ? s_what : "a computation", "\n"};
    char num[12];
    int k = 0, v = sig;
    char rev[12];
    do {
        rev[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && k < 11);
    for (int i = 0; i < k; i++) num[i] = rev[k - 1 - i];
    num[k] = '\0';
    parts[1] = num;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        for (const char *c = parts[i]; *c && n < sizeof msg; c++) msg[n++] = *c;
    ssize_t w = write(2, msg, n);
    (void)w;
    _exit(128 + sig);
}

static void s_on_signal(int sig) {
    s_flag = sig;
    if (s_depth > 0) s_exit_now(sig);
}

void dgcn_signal_uninterruptible_begin(const char *what) {
    s_what = what;
    s_depth = s_depth + 1;
    if (s_flag) s_exit_now((int)s_flag);
}

void dgcn_signal_uninterruptible_end(void) {
    if (s_depth > 0) s_depth = s_depth - 1;
}

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
                          s_sig_name(sig), what);
}

int dgcn_signal_exit_status(int rc, int otherwise) {
    return rc == DGCN_EINTR && s_flag ? 128 + (int)s_flag : otherwise;
}
