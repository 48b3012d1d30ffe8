/* core/signal.h: SIGINT and SIGTERM as a request to stop.
 *
 * A command that runs for long (train, study, verify, baseline) calls dgcn_signal_install() first;
 * from then on SIGINT and SIGTERM only set a flag, which waits (coordinator/session.c) and the
 * phases after training (baselines, summary, plots) look at through dgcn_signal_check(). The command
 * cleans up and exits with 128 + the signal's number (dgcn_signal_exit_status). */
#ifndef DGCN_CORE_SIGNAL_H
#define DGCN_CORE_SIGNAL_H

#include <signal.h>

/* Routes SIGINT and SIGTERM to the flag (idempotent). */
void dgcn_signal_install(void);

/* The flag itself (0, or the number of the signal received), for waits that poll it. */
volatile sig_atomic_t *dgcn_signal_flag(void);

/* Sections that cannot look at the flag (one LAPACK or BLAS call that runs for seconds): between
 * begin and end, a stop signal ends the process at once, printing "dgcn: interrupted by signal N
 * (NAME) during WHAT" and exiting 128 + N, as the command would after cleaning up. Only for pure
 * computations holding nothing that needs cleaning: no file being written, no child to stop.
 * Nested sections are allowed (the innermost `what` is printed); a signal received before begin
 * ends the process at begin. what must be a string literal (or live for the whole section). */
void dgcn_signal_uninterruptible_begin(const char *what);
void dgcn_signal_uninterruptible_end(void);

/* DGCN_OK, or DGCN_EINTR with a detail naming the signal and `what` (the phase interrupted). */
int dgcn_signal_check(const char *what);

/* The exit status for a command that ended with rc: 128 + the signal's number when rc is
 * DGCN_EINTR and a signal was received, else `otherwise`. */
int dgcn_signal_exit_status(int rc, int otherwise);

#endif
