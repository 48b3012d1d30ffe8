/* core/error.h: the one error vocabulary of dgcn.
 *
 * Functions that can fail return a dgcn_err (0 = success) and deliver results through
 * out-parameters. The code says what kind of failure; the detail for people (file and line,
 * agent, iteration, what was expected) is set with dgcn_error_set() at the point of failure and
 * read with dgcn_error_msg(). The detail is thread-local, and task-local inside a task of
 * core/task.h, so agents running in one process (the inproc transport) keep their own. */
#ifndef DGCN_CORE_ERROR_H
#define DGCN_CORE_ERROR_H

#include <stdarg.h>

typedef enum dgcn_err {
    DGCN_OK = 0,
    DGCN_ENOMEM,      /* an allocation failed */
    DGCN_EIO,         /* a file could not be opened, read or written */
    DGCN_EFORMAT,     /* a file's content is malformed or disagrees with its metadata */
    DGCN_EINVAL,      /* an argument or option is invalid */
    DGCN_ETIMEDOUT,   /* a receive passed its deadline */
    DGCN_EPROTO,      /* a message is malformed, oversized, foreign or out of order */
    DGCN_ETOPOLOGY,   /* a topology is unusable (disconnected, missing required links) */
    DGCN_ECOMM,       /* the transport failed (MPI, ZeroMQ, socket) */
    DGCN_EPEER,       /* a peer died, aborted or reported an error */
    DGCN_ENUMERIC,    /* a numerical method failed (NaN, no convergence, LAPACK error) */
    DGCN_EINTR,       /* interrupted by a signal (Ctrl-C) */
    DGCN_EUNSUPPORTED /* built without the needed component */
} dgcn_err;

/* Human-readable name of a code; never NULL. */
const char *dgcn_strerror(int code);

/* Records the detail of the current thread's last error (printf-style) and returns code, so a
 * failure site reads: return dgcn_error_set(DGCN_EFORMAT, "%s:%d: expected ...", path, line); */
int dgcn_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes context to the current detail ("agent 3, iteration 17: " + old detail). */
int dgcn_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current thread's last detail message ("" when none was set). */
const char *dgcn_error_msg(void);

/* Clears the current thread's detail. */
void dgcn_error_clear(void);

/* Size of a detail buffer, terminating NUL included. */
#define DGCN_ERROR_MSG_MAX 1024

/* Makes buf[DGCN_ERROR_MSG_MAX] this thread's detail from now on (NULL: the thread's own) and
 * returns the previous one; core/task.c switches it with the task it runs. */
char *dgcn_error_switch(char *buf);

/* Propagate a failure to the function's `fail:` label; the function declares `int rc`. */
#define DGCN_CHECK(expr)                                                                           \
    do {                                                                                           \
        rc = (expr);                                                                               \
        if (rc != DGCN_OK) goto fail;                                                              \
    } while (0)

/* Allocation helper for the same pattern: p = calloc(n, sizeof *p) or fail with DGCN_ENOMEM. */
#define DGCN_ALLOC(p, n)                                                                           \
    do {                                                                                           \
        size_t n_ = (size_t)(n);                                                                   \
        (p) = calloc(n_ ? n_ : 1, sizeof *(p));                                                    \
        if (!(p)) {                                                                                \
            rc = dgcn_error_set(DGCN_ENOMEM, "out of memory (%zu x %zu bytes) at %s:%d", n_,       \
                                sizeof *(p), __FILE__, __LINE__);                                  \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

#endif
