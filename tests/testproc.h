/* tests/testproc.h: running a program under test as a child process, shared by the suites that
 * start dgcn (e2e, hosts, rundir, stop): start it in its own process group with stdout and stderr
 * on a pipe, collect its output with a deadline, run it to completion. */
#ifndef DGCN_TESTS_TESTPROC_H
#define DGCN_TESTS_TESTPROC_H

#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double dgcn_test_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* How a child runs: a file size limit (bytes, 0: none; writes past it fail with EFBIG) and a PATH
 * (NULL: the test's own). */
typedef struct dgcn_test_child {
    rlim_t fsize;
    const char *path;
} dgcn_test_child;

/* Starts argv (argv[0] a path, or a name looked up in PATH) in its own process group with stdout
 * and stderr on a pipe (*fd); c may be NULL. */
static inline pid_t dgcn_test_start(char *const argv[], const dgcn_test_child *c, int *fd) {
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        if (c && c->fsize) {
            struct rlimit rl = {c->fsize, c->fsize};
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
        }
        if (c && c->path) setenv("PATH", c->path, 1);
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

/* Appends what fd has to out (NUL-terminated, at most cap bytes) until the process exits (its
 * exit status, 128 + N when killed by signal N; fd is then closed), `until` (may be NULL)
 * appears (-1) or until_ms passes (-1, also while the child keeps writing). */
static inline int dgcn_test_collect(pid_t pid, int fd, char *out, size_t *len, size_t cap,
                                    double until_ms, const char *until) {
    char buf[4096];
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 50) > 0) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n > 0) {
                size_t k = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;
                memcpy(out + *len, buf, k);
                *len += k;
                out[*len] = '\0';
                if (until && strstr(out, until)) return -1;
                if (dgcn_test_now_ms() > until_ms) return -1;
                continue;
            }
        }
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            ssize_t n;
            while ((n = read(fd, buf, sizeof buf)) > 0) {
                size_t k = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;
                memcpy(out + *len, buf, k);
                *len += k;
                out[*len] = '\0';
            }
            close(fd);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (dgcn_test_now_ms() > until_ms) return -1;
    }
}

/* Runs argv to completion within timeout_s (killed with its process group and a test failure
 * otherwise); returns its exit status, its output in out (cap bytes). */
static inline int dgcn_test_run_child(char *const argv[], const dgcn_test_child *c, char *out,
                                      size_t cap, int timeout_s) {
    int fd;
    size_t len = 0;
    out[0] = '\0';
    pid_t pid = dgcn_test_start(argv, c, &fd);
    int st = dgcn_test_collect(pid, fd, out, &len, cap, dgcn_test_now_ms() + timeout_s * 1e3, NULL);
    if (st == -1) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(fd);
        ck_abort_msg("%s %s did not finish within %d s; output:\n%s", argv[0],
                     argv[1] ? argv[1] : "", timeout_s, out);
    }
    return st;
}

#endif
