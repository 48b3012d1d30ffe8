/* tests/test_e2e.c: the dgcn program end to end: verify on every transport, training runs that agree
 * across transports, failures (a missing required link, a killed agent) that end cleanly, and a
 * usage error's message. */
#include "testproc.h"
#include "testutil.h"

#include "coordinator/ckpt.h"
#include "core/checksum.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_OUT_CAP (1 << 20)
#define S_GEN "--nodes", "300", "--val", "50", "--test", "100"

/* When > 0: the largest file (bytes) processes started by s_start may write, as on a disk that
 * fills up (RLIMIT_FSIZE; writes past it fail with EFBIG instead of raising SIGXFSZ). */
static rlim_t s_child_fsize;

/* Starts argv in its own process group with stdout and stderr on a pipe (tests/testproc.h). */
static pid_t s_start(char *const argv[], int *fd) {
    dgcn_test_child c = {.fsize = s_child_fsize};
    return dgcn_test_start(argv, &c, fd);
}

/* Runs argv to completion within timeout_s (killed otherwise: a failure). Under mpirun, leak
 * detection is off (Open MPI's start-up allocations in dlopen'ed components are never freed, as in
 * the comm_mpi entry); the same code paths are leak-checked over inproc and zmq. */
static int s_run(char *const argv[], char *out, int timeout_s) {
    if (!strcmp(argv[0], "mpirun")) setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    else unsetenv("ASAN_OPTIONS");
    dgcn_test_child c = {.fsize = s_child_fsize};
    return dgcn_test_run_child(argv, &c, out, S_OUT_CAP, timeout_s);
}

/* Pids of live processes whose command line contains "agent" and marker. */
static int s_find_agents(const char *marker, pid_t *pids, int cap) {
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        int has_agent = 0, has_marker = 0;
        for (size_t i = 0; i < k; i += strlen(buf + i) + 1) {
            buf[k] = '\0';
            if (!strcmp(buf + i, "agent")) has_agent = 1;
            if (strstr(buf + i, marker)) has_marker = 1;
        }
        /* a zombie has an empty cmdline: it is gone as far as the run is concerned */
        if (has_agent && has_marker && n < cap) pids[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

/* The number after `label` in out, or NAN. */
static double s_number_after(const char *out, const char *label) {
    const char *p = strstr(out, label);
    return p ? strtod(p + strlen(label), NULL) : NAN;
}

static void s_mkdtemp(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "/tmp/dgcn-e2e-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static void s_rm_rf(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Checks a verify run's output: PASS, both differences <= 1e-5, halo bytes as predicted. */
static void s_check_verify(const char *out, int m) {
    ck_assert_msg(strstr(out, "verify: PASS"), "verify with %d agents failed:\n%s", m, out);
    double dl = s_number_after(out, "logits    max relative difference ");
    double dg = s_number_after(out, "gradient  max relative difference ");
    ck_assert_msg(dl <= 1e-5 && dg <= 1e-5, "differences %g %g:\n%s", dl, dg, out);
    double fwd = s_number_after(out, "halo_fwd ");
    double bwd = s_number_after(out, "halo_bwd ");
    ck_assert_msg(fwd == bwd, "forward and backward halo bytes differ:\n%s", out);
    if (m == 1) ck_assert_msg(fwd == 0, "one agent has no halo but moved %g bytes", fwd);
    else ck_assert_msg(fwd > 0, "%d agents moved no halo bytes:\n%s", m, out);
}

static void s_verify_on(const char *transport) {
    static const char *ms[] = {"1", "2", "3", "5"};
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "v");
    for (int i = 0; i < 4; i++) {
        char *argv[] = {DGCN_BINARY,   "verify",          "--agents", (char *)ms[i],
                        "--transport", (char *)transport, S_GEN,      "--deadline-ms",
                        "10000",       "--out",           dir,        NULL};
        int st = s_run(argv, out, 60);
        ck_assert_msg(st == 0, "verify %s M=%s exited %d:\n%s", transport, ms[i], st, out);
        s_check_verify(out, atoi(ms[i]));
    }
    s_rm_rf(dir);
    free(out);
}

START_TEST(test_verify_inproc) { s_verify_on("inproc"); }
END_TEST

START_TEST(test_verify_zmq) { s_verify_on("zmq"); }
END_TEST

/* 1 when mpirun is in PATH. Without it the MPI cases skip with a message, except in CI (the
 * environment variable CI set and not empty), where a missing mpirun fails them. */
static int s_have_mpirun(void) {
    const char *path = getenv("PATH");
    char dir[4096];
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s/mpirun", (int)n, p);
        if (n && access(dir, X_OK) == 0) return 1;
        p += n + (p[n] == ':');
    }
    const char *ci = getenv("CI");
    ck_assert_msg(
        !ci || !*ci,
        "mpirun is not in PATH and CI=%s: the MPI cases must run in CI (install Open MPI, "
        "or unset CI to skip them)",
        ci);
    return 0;
}

START_TEST(test_verify_mpi) {
    if (!s_have_mpirun()) {
        fprintf(stderr, "SKIP: mpirun not in PATH\n");
        return;
    }
    char *out = malloc(S_OUT_CAP);
    char *argv[] = {"mpirun",
                    "--allow-run-as-root",
                    "--oversubscribe",
                    "-np",
                    "4",
                    DGCN_BINARY,
                    "verify",
                    "--transport",
                    "mpi",
                    S_GEN,
                    "--deadline-ms",
                    "10000",
                    NULL};
    int st = s_run(argv, out, 90);
    ck_assert_msg(st == 0, "mpirun verify exited %d:\n%s", st, out);
    ck_assert_ptr_nonnull(strstr(out, "3 agents over mpi"));
    s_check_verify(out, 3);
    free(out);
}
END_TEST

/* Graph filters of order 1..3 over zmq: exact, and K exchanges per layer each way, each as many
 * bytes as order 1's, all of them in the plan's prediction (verify PASSes only when equal). */
START_TEST(test_verify_filter_orders) {
    static const char *orders[] = {"1", "2", "3"};
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "f");
    double fwd[3];
    for (int i = 0; i < 3; i++) {
        char *argv[] = {DGCN_BINARY,
                        "verify",
                        "--agents",
                        "3",
                        "--transport",
                        "zmq",
                        S_GEN,
                        "--order",
                        (char *)orders[i],
                        "--training",
                        "--deadline-ms",
                        "10000",
                        "--out",
                        dir,
                        NULL};
        int st = s_run(argv, out, 60);
        ck_assert_msg(st == 0, "verify --order %s exited %d:\n%s", orders[i], st, out);
        s_check_verify(out, 3);
        ck_assert_msg(strstr(out, "filter of order"), "not the filter:\n%s", out);
        fwd[i] = s_number_after(out, "halo_fwd ");
    }
    ck_assert_double_eq(fwd[1], 2 * fwd[0]);
    ck_assert_double_eq(fwd[2], 3 * fwd[0]);
    s_rm_rf(dir);
    free(out);
}
END_TEST

START_TEST(test_verify_cora_partitioners) {
    char path[1024];
    if (!dgcn_test_dataset("cora", path, sizeof path)) return;
    static const char *methods[] = {"bfs", "metis", "random", "block"};
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "c");
    for (int i = 0; i < 4; i++) {
        char *argv[] = {DGCN_BINARY,
                        "verify",
                        "--data",
                        path,
                        "--agents",
                        "8",
                        "--transport",
                        "zmq",
                        "--partition",
                        (char *)methods[i],
                        "--deadline-ms",
                        "20000",
                        "--out",
                        dir,
                        NULL};
        int st = s_run(argv, out, 120);
        ck_assert_msg(st == 0, "verify cora %s exited %d:\n%s", methods[i], st, out);
        s_check_verify(out, 8);
    }
    s_rm_rf(dir);
    free(out);
}
END_TEST

START_TEST(test_verify_missing_link) {
    /* A random partition of 5 agents links every pair; a line 0-1-2-3-4 lacks 0-2. */
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "l");
    char *argv[] = {DGCN_BINARY,   "verify", "--agents",   "5",    "--transport", "zmq",
                    "--partition", "random", "--topology", "line", S_GEN,         "--deadline-ms",
                    "5000",        "--out",  dir,          NULL};
    double t0 = dgcn_test_now_ms();
    int st = s_run(argv, out, 60);
    ck_assert_msg(st != 0, "verify with a line topology succeeded:\n%s", out);
    const char *msg = strstr(out, "dgcn verify:");
    ck_assert_msg(msg && strstr(msg, "required link"), "no missing-link error:\n%s", out);
    /* every link named must be one the line lacks (|k - t| >= 2), and there is at least one */
    const char *p = strstr(msg, "not neighbours): ");
    ck_assert_msg(p != NULL, "the error names no link:\n%s", out);
    p += strlen("not neighbours): ");
    int named = 0, k, t, used;
    while (sscanf(p, "%d-%d%n", &k, &t, &used) == 2) {
        ck_assert_msg(abs(k - t) >= 2 && k >= 0 && k < 5 && t >= 0 && t < 5,
                      "link %d-%d is in the line topology:\n%s", k, t, out);
        named++;
        p += used;
        if (strncmp(p, ", ", 2)) break;
        p += 2;
    }
    ck_assert_msg(named > 0, "the error names no link:\n%s", out);
    ck_assert_msg(dgcn_test_now_ms() - t0 < 8000, "the failure took %.0f ms",
                  dgcn_test_now_ms() - t0);
    pid_t left[8];
    ck_assert_int_eq(s_find_agents(dir, left, 8), 0);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* Starts a long training run of 3 zmq agent processes (run directory dir, deadline 3 s) and
 * returns once iteration 40 has been reported; *fd, out and *len continue the output. */
static pid_t s_start_long_train(const char *dir, int *fd, char *out, size_t *len) {
    char *argv[] = {DGCN_BINARY,   "train",
                    "--agents",    "3",
                    "--transport", "zmq",
                    S_GEN,         "--iters",
                    "1000000",     "--eval-every",
                    "20",          "--deadline-ms",
                    "3000",        "--no-baselines",
                    "--out",       (char *)dir,
                    NULL};
    *len = 0;
    out[0] = '\0';
    pid_t pid = s_start(argv, fd);
    int st = dgcn_test_collect(pid, *fd, out, len, S_OUT_CAP, dgcn_test_now_ms() + 60000,
                               "iter    40");
    ck_assert_msg(st == -1, "training ended early (%d):\n%s", st, out);
    return pid;
}

/* After a disruption at t0: the coordinator must exit non-zero within the 3 s deadline + 2 s, its
 * output must contain phrase, and no agent of dir may remain. */
static void s_expect_ended(pid_t pid, int fd, char *out, size_t *len, double t0, const char *dir,
                           const char *phrase) {
    int st = dgcn_test_collect(pid, fd, out, len, S_OUT_CAP, t0 + 3000 + 5000, NULL);
    double took = dgcn_test_now_ms() - t0;
    if (st == -1) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    const char *tail = out + (*len > 2000 ? *len - 2000 : 0);
    ck_assert_msg(st > 0, "coordinator status %d (%.0f ms):\n%s", st, took, tail);
    ck_assert_msg(took < 3000 + 2000, "the coordinator took %.0f ms to end the run", took);
    ck_assert_msg(strstr(out, phrase), "the output does not say '%s':\n%s", phrase, tail);
    pid_t agents[8];
    ck_assert_int_eq(s_find_agents(dir, agents, 8), 0);
}

/* Starts a long training run, SIGKILLs agent 1 once it has reported, and checks the ending. */
/* The same line under --cross-edges relay: the rows of the missing links are forwarded, so verify
 * passes on every transport, with relayed bytes as the plan predicts (checked by verify) and > 0. */
START_TEST(test_verify_relay) {
    static const char *transports[] = {"inproc", "zmq", "mpi"};
    const char *tr = transports[_i];
    if (!strcmp(tr, "mpi") && !s_have_mpirun()) {
        fprintf(stderr, "SKIP: mpirun not in PATH\n");
        return;
    }
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "r");
    char *args[] = {"verify",   "--transport", (char *)tr,      "--partition", "random",
                    "--agents", "5",           S_GEN,           "--topology",  "line",
                    "--out",    dir,           "--cross-edges", "relay",       "--deadline-ms",
                    "10000",    NULL};
    char *argv[32];
    int n = 0;
    if (!strcmp(tr, "mpi")) {
        static char *pre[] = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "6"};
        for (int i = 0; i < 5; i++) argv[n++] = pre[i];
    }
    argv[n++] = DGCN_BINARY;
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    int st = s_run(argv, out, 90);
    ck_assert_msg(st == 0, "verify --cross-edges relay over %s exited %d:\n%s", tr, st, out);
    s_check_verify(out, 5);
    ck_assert_msg(strstr(out, "4 hop(s) per exchange"), "a line of 5: 4 hops:\n%s", out);
    const char *line = strstr(out, "halo_fwd ");
    unsigned long long direct = 0, pred = 0, relayed = 0;
    ck_assert(line && sscanf(line, "halo_fwd %llu %llu %llu", &direct, &pred, &relayed) == 3);
    ck_assert_msg(relayed > 0 && direct == pred, "relayed %llu, direct %llu of %llu:\n%s", relayed,
                  direct, pred, out);
    s_rm_rf(dir);
    free(out);
}
END_TEST

START_TEST(test_kill_agent_mid_train) {
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "k");
    int fd;
    size_t len;
    pid_t pid = s_start_long_train(dir, &fd, out, &len);
    pid_t agents[8];
    int n = s_find_agents(dir, agents, 8);
    ck_assert_msg(n == 3, "found %d agent processes, expected 3", n);
    /* agent 1: the process whose command line has "--agent" "1" */
    pid_t victim = 0;
    for (int i = 0; i < n && !victim; i++) {
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)agents[i]);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = '\0';
        for (size_t j = 0; j < k; j += strlen(buf + j) + 1)
            if (!strcmp(buf + j, "--agent") && j + 8 < k && !strcmp(buf + j + 8, "1"))
                victim = agents[i];
    }
    ck_assert_msg(victim > 0, "agent 1 not found");
    double t0 = dgcn_test_now_ms();
    kill(victim, SIGKILL);
    s_expect_ended(pid, fd, out, &len, t0, dir, "agent 1 was killed by signal 9");
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* The pid of agent k among the n processes in agents (its command line has "--agent" "K"), or 0. */
static pid_t s_agent_pid(const pid_t *agents, int n, int k) {
    char want[16];
    snprintf(want, sizeof want, "%d", k);
    for (int i = 0; i < n; i++) {
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)agents[i]);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        for (size_t j = 0; j < len; j += strlen(buf + j) + 1)
            if (!strcmp(buf + j, "--agent") && j + 8 < len && !strcmp(buf + j + 8, want))
                return agents[i];
    }
    return 0;
}

/* A stopped agent (SIGSTOP: alive, silent) is named as the straggler: its neighbours report
 * whom they waited for and the coordinator's final error says so, instead of listing every
 * agent as silent. 4 zmq agents, deadline 4 s; the run must end within deadline + margin and a
 * generous allowance for a loaded machine. */
START_TEST(test_stopped_agent_named) {
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "s");
    char *argv[] = {DGCN_BINARY,   "train",
                    "--agents",    "4",
                    "--transport", "zmq",
                    S_GEN,         "--iters",
                    "1000000",     "--eval-every",
                    "20",          "--deadline-ms",
                    "4000",        "--no-baselines",
                    "--out",       (char *)dir,
                    NULL};
    int fd;
    size_t len = 0;
    out[0] = '\0';
    pid_t pid = s_start(argv, &fd);
    int st = dgcn_test_collect(pid, fd, out, &len, S_OUT_CAP, dgcn_test_now_ms() + 60000,
                               "iter    40");
    ck_assert_msg(st == -1, "training ended early (%d):\n%s", st, out);
    pid_t agents[8];
    int n = s_find_agents(dir, agents, 8);
    ck_assert_msg(n == 4, "found %d agent processes, expected 4", n);
    pid_t victim = s_agent_pid(agents, n, 2);
    ck_assert_msg(victim > 0, "agent 2 not found");
    double t0 = dgcn_test_now_ms();
    kill(victim, SIGSTOP);
    st = dgcn_test_collect(pid, fd, out, &len, S_OUT_CAP, t0 + 40000, NULL);
    double took = dgcn_test_now_ms() - t0;
    if (st == -1) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    kill(victim, SIGKILL); /* normally gone already: the session kills what it started */
    const char *tail = out + (len > 3000 ? len - 3000 : 0);
    ck_assert_msg(st > 0, "coordinator status %d after %.0f ms:\n%s", st, took, tail);
    ck_assert_msg(strstr(out, "agent 2 is not responding: agent"),
                  "the straggler is not named:\n%s", tail);
    ck_assert_msg(strstr(out, "waited for it at iteration"), "no iteration given:\n%s", tail);
    ck_assert_msg(!strstr(out, "silent: agent"), "every agent listed as silent:\n%s", tail);
    ck_assert_msg(took < 30000, "the run took %.0f ms to end", took);
    pid_t left[8];
    ck_assert_int_eq(s_find_agents(dir, left, 8), 0);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* The pid of the process whose command line contains marker and whose environment has
 * OMPI_COMM_WORLD_RANK=rank (a rank of an mpirun job), or 0. */
static pid_t s_find_rank(const char *marker, int rank) {
    char want[48];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    pid_t found = 0;
    DIR *d = opendir("/proc");
    if (!d) return 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64];
        static char buf[1 << 16];
        int has_marker = 0, has_rank = 0;
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = '\0';
        for (size_t i = 0; i < k; i += strlen(buf + i) + 1) has_marker |= !!strstr(buf + i, marker);
        snprintf(path, sizeof path, "/proc/%ld/environ", pid);
        f = fopen(path, "r");
        if (!f) continue;
        k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = '\0';
        for (size_t i = 0; i < k; i += strlen(buf + i) + 1) has_rank |= !strcmp(buf + i, want);
        if (has_marker && has_rank) found = (pid_t)pid;
    }
    closedir(d);
    return found;
}

/* An MPI agent killed mid-run (SIGKILL to rank 3, agent 2): mpirun then ends the job with SIGTERM,
 * and the coordinator names the agent whose process is gone instead of only "interrupted by
 * signal 15". Bounded: the job must end within 30 s. */
START_TEST(test_kill_mpi_agent_named) {
    if (!s_have_mpirun()) {
        fprintf(stderr, "SKIP: mpirun not in PATH\n");
        return;
    }
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "m");
    char *argv[] = {"mpirun",
                    "--allow-run-as-root",
                    "--oversubscribe",
                    "-np",
                    "5",
                    DGCN_BINARY,
                    "train",
                    "--transport",
                    "mpi",
                    S_GEN,
                    "--iters",
                    "1000000",
                    "--eval-every",
                    "20",
                    "--no-baselines",
                    "--out",
                    (char *)dir,
                    NULL};
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    int fd;
    size_t len = 0;
    out[0] = '\0';
    pid_t pid = s_start(argv, &fd);
    int st = dgcn_test_collect(pid, fd, out, &len, S_OUT_CAP, dgcn_test_now_ms() + 60000,
                               "iter    40");
    ck_assert_msg(st == -1, "training ended early (%d):\n%s", st, out);
    pid_t victim = s_find_rank(dir, 3);
    ck_assert_msg(victim > 0, "rank 3 not found");
    double t0 = dgcn_test_now_ms();
    kill(victim, SIGKILL);
    st = dgcn_test_collect(pid, fd, out, &len, S_OUT_CAP, t0 + 30000, NULL);
    if (st == -1) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    const char *tail = out + (len > 3000 ? len - 3000 : 0);
    ck_assert_msg(st > 0, "job status %d after %.0f ms:\n%s", st, dgcn_test_now_ms() - t0, tail);
    ck_assert_msg(strstr(out, "agent 2 is gone (MPI rank 3, pid"), "agent 2 is not named:\n%s",
                  tail);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* Ctrl-Z then fg past the deadline (SIGSTOP to the job's process group, the coordinator and its
 * agents, for longer than the coordinator's deadline plus margin, then SIGCONT): the time the
 * job was stopped is nobody's silence, so neither the coordinator nor an agent blames a healthy
 * peer as silent when it resumes. 4 agents (zmq: processes; inproc: threads of one process),
 * deadline 1.5 s, stopped 5 s; then Ctrl-C. */
static const char *const s_stop_transports[] = {"zmq", "inproc"};
START_TEST(test_stopped_job_blames_nobody) {
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "z");
    char *argv[] = {DGCN_BINARY,   "train",
                    "--agents",    "4",
                    "--transport", (char *)s_stop_transports[_i],
                    S_GEN,         "--iters",
                    "1000000",     "--eval-every",
                    "20",          "--deadline-ms",
                    "1500",        "--no-baselines",
                    "--out",       (char *)dir,
                    NULL};
    int fd;
    size_t len = 0;
    out[0] = '\0';
    pid_t pid = s_start(argv, &fd);
    int st = dgcn_test_collect(pid, fd, out, &len, S_OUT_CAP, dgcn_test_now_ms() + 60000,
                               "iter    40");
    ck_assert_msg(st == -1, "training ended early (%d):\n%s", st, out);
    kill(-pid, SIGSTOP);
    struct timespec nap = {5, 0};
    nanosleep(&nap, NULL);
    size_t at_resume = len;
    kill(-pid, SIGCONT);
    /* the run goes on: 4 s to show it, longer than the deadline plus margin */
    st = dgcn_test_collect(pid, fd, out, &len, S_OUT_CAP, dgcn_test_now_ms() + 4000, NULL);
    int went_on = st == -1;
    if (st == -1) {
        kill(-pid, SIGINT);
        st = dgcn_test_collect(pid, fd, out, &len, S_OUT_CAP, dgcn_test_now_ms() + 20000, NULL);
    }
    if (st == -1) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    const char *tail = out + (at_resume > 200 ? at_resume - 200 : 0);
    ck_assert_msg(!strstr(out + at_resume, "no message from"),
                  "%s: a process blamed its peers for the job's stop:\n%s", s_stop_transports[_i],
                  tail);
    ck_assert_msg(went_on, "%s: the run ended after the job's stop (status %d):\n%s",
                  s_stop_transports[_i], st, tail);
    ck_assert_msg(st != -1, "the run did not end after SIGINT:\n%s", tail);
    pid_t left[8];
    ck_assert_int_eq(s_find_agents(dir, left, 8), 0);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* Ctrl-C (SIGINT to the terminal's process group: the coordinator and its agents) stops the run
 * within the deadline with a non-zero status that says it was interrupted, leaving no agent. */
START_TEST(test_interrupt_mid_train) {
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "i");
    int fd;
    size_t len;
    pid_t pid = s_start_long_train(dir, &fd, out, &len);
    pid_t agents[8];
    ck_assert_int_eq(s_find_agents(dir, agents, 8), 3);
    double t0 = dgcn_test_now_ms();
    kill(-pid, SIGINT);
    s_expect_ended(pid, fd, out, &len, t0, dir, "interrupted");
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* The numeric fields of metrics.jsonl that do not depend on timing or on the transport's own
 * control messages, in file order. */
static int s_metric_numbers(const char *path, double *v, int cap) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while ((p = strchr(p, '"'))) {
            char *q = strchr(p + 1, '"');
            if (!q) break;
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(q - p - 1), p + 1);
            p = q + 1;
            if (*p != ':') continue;
            p++;
            if (*p == '{') continue;
            if (!strcmp(key, "dropped_frames")) continue; /* what strangers tried, not training */
            if (!strcmp(key, "elapsed_ms") || !strcmp(key, "control") || !strcmp(key, "forward") ||
                !strcmp(key, "backward") || !strcmp(key, "consensus") || !strcmp(key, "eval"))
                continue;
            char *end;
            double x = strtod(p, &end);
            if (end != p && n < cap) v[n++] = x;
        }
    }
    fclose(f);
    return n;
}

/* metrics.jsonl's bytes_cum, line by line: non-decreasing, at least params_bytes_cum, equal to
 * bytes_per_iter x iter, the last equal to summary.json's bytes_total (one seed). */
static void s_check_bytes_cum(const char *dir, const char *summary) {
    char path[256];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no %s", path);
    static char line[8192];
    double prev = -1, prev_params = -1;
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        double cum = s_number_after(line, "\"bytes_cum\":");
        double params = s_number_after(line, "\"params_bytes_cum\":");
        double bpi = s_number_after(line, "\"bytes_per_iter\":");
        double it = s_number_after(line, "\"iter\":");
        ck_assert_msg(cum >= prev && params >= prev_params && params <= cum,
                      "%s line %d: bytes_cum %g after %g, params %g after %g", path, lines + 1, cum,
                      prev, params, prev_params);
        ck_assert_msg(it == 0 || fabs(bpi * it - cum) <= 1e-6 * cum,
                      "%s line %d: %g bytes/iter x %g != %g", path, lines + 1, bpi, it, cum);
        prev = cum;
        prev_params = params;
        lines++;
    }
    fclose(f);
    ck_assert_int_gt(lines, 1);
    double total = s_number_after(summary, "\"bytes_total\":");
    double params_total = s_number_after(summary, "\"params_bytes_total\":");
    ck_assert_msg(prev > 0 && fabs(prev - total) <= 1e-8 * total,
                  "last bytes_cum %.17g, summary.json bytes_total %.17g", prev, total);
    ck_assert_msg(fabs(prev_params - params_total) <= 1e-8 * params_total,
                  "last params_bytes_cum %.17g, summary.json params_bytes_total %.17g", prev_params,
                  params_total);
}

static void s_check_summary(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no %s", path);
    static char buf[8192];
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[k] = '\0';
    static const char *keys[] = {"test_acc_mean",
                                 "test_acc_std",
                                 "central_test_acc_mean",
                                 "mlp_test_acc_mean",
                                 "consensus_error",
                                 "iterations",
                                 "agents",
                                 "bytes_per_iter",
                                 "ms_per_iter_median"};
    for (int i = 0; i < 9; i++) {
        char q[64];
        snprintf(q, sizeof q, "\"%s\":", keys[i]);
        ck_assert_msg(strstr(buf, q), "summary.json lacks %s: %s", keys[i], buf);
    }
    double acc = s_number_after(buf, "\"test_acc_mean\":");
    ck_assert_msg(acc >= 0 && acc <= 1, "test_acc_mean %g is not a fraction", acc);
    ck_assert_int_eq((int)s_number_after(buf, "\"iterations\":"), 20);
    /* measured traffic = the analytic minimum of 20 iterations + evaluations + averaging rounds */
    double bpi = s_number_after(buf, "\"bytes_per_iter\":");
    double bmin = s_number_after(buf, "\"bytes_per_iter_min\":");
    ck_assert_msg(bmin > 0 && bpi >= bmin && bpi < 2 * bmin, "bytes per iteration %g, minimum %g",
                  bpi, bmin);
    ck_assert_int_eq((int)s_number_after(buf, "\"agents\":"), 3);
    s_check_bytes_cum(dir, buf);
    /* memory: the coordinator's peak holds at least every shard of the plan at once */
    double peak = s_number_after(buf, "\"peak_rss_bytes\":");
    double peak_agent = s_number_after(buf, "\"peak_rss_bytes_per_agent\":");
    double shards = s_number_after(buf, "\"shard_bytes\":");
    double shard_agent = s_number_after(buf, "\"shard_bytes_per_agent\":");
    double shard_max = s_number_after(buf, "\"shard_bytes_max\":");
    ck_assert_msg(shards > 0 && peak >= shards, "peak %g bytes below the shards' %g", peak, shards);
    ck_assert_msg(fabs(peak_agent * 3 - peak) <= 1e-6 * peak, "peak per agent %g of %g", peak_agent,
                  peak);
    ck_assert_msg(fabs(shard_agent * 3 - shards) <= 1e-6 * shards && shard_max >= shard_agent &&
                      shard_max <= shards,
                  "shard bytes per agent %g, largest %g, total %g", shard_agent, shard_max, shards);
    for (const char *name = "config.json"; name;
         name = !strcmp(name, "config.json")      ? "topology.edges"
                : !strcmp(name, "topology.edges") ? "plan/manifest.txt"
                                                  : NULL) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        ck_assert_msg(stat(path, &st) == 0, "run dir lacks %s", name);
    }
}

/* A short inproc train run (5 iterations, one report, --cross-edges drop) with the options extra
 * (NULL-terminated) into a fresh dir (tag names it): asserts it exits 0, leaves its output in out
 * and summary.json in sum (cap bytes). */
static void s_train_summary(const char *tag, const char *const *extra, char *dir, size_t dir_cap,
                            char *out, char *sum, size_t cap) {
    s_mkdtemp(dir, dir_cap, tag);
    char *argv[48] = {DGCN_BINARY,     "train", "--transport",  "inproc", S_GEN,
                      "--iters",       "5",     "--eval-every", "5",      "--no-baselines",
                      "--cross-edges", "drop",  "--out",        dir};
    int n = 0;
    while (argv[n]) n++;
    for (int k = 0; extra[k] && n < 47; k++) argv[n++] = (char *)extra[k];
    argv[n] = NULL;
    int st = s_run(argv, out, 60);
    ck_assert_msg(st == 0, "train exited %d:\n%s", st, out);
    char path[256];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    sum[fread(sum, 1, cap - 1, f)] = '\0';
    fclose(f);
}

/* A run whose graph is complete with uniform weights and a shared initialization is centralized
 * training by construction: train says so on its output and in summary.json; a sparse run does not
 * claim it, nor does one with per-agent initializations. */
START_TEST(test_train_flags_centralized_by_construction) {
    static const char *extra[3][5] = {{"--agents", "3", NULL},
                                      {"--agents", "4", "--topology", "line", NULL},
                                      {"--agents", "3", "--init-per-agent", NULL}};
    static const int want[3] = {1, 0, 0};
    char *out = malloc(S_OUT_CAP), dir[128];
    for (int c = 0; c < 3; c++) {
        char sum[8192], key[64];
        s_train_summary("cbc", extra[c], dir, sizeof dir, out, sum, sizeof sum);
        ck_assert_msg(!strstr(out, "centralized training by construction") == !want[c],
                      "case %d: the note is %s:\n%s", c, want[c] ? "missing" : "wrong", out);
        snprintf(key, sizeof key, "\"centralized_by_construction\":%d", want[c]);
        ck_assert_msg(strstr(sum, key), "case %d: summary.json lacks %s: %s", c, key, sum);
        s_rm_rf(dir);
    }
    free(out);
}
END_TEST

/* A run is flagged effectively centralized when more than 90 % of the agent pairs are linked (a
 * complete graph of 5) or its gossip contracts the disagreement below 1e-3 per iteration (a ring
 * of 20 forced to 400 plain rounds: SLEM 0.967^400 ~ 2e-6, or to 40 Chebyshev rounds: 1 /
 * T_40(1 / 0.967) ~ 6e-5); a ring of 20 with one round, or 40 plain ones (0.967^40 ~ 0.27), is
 * not. The log says so, and summary.json carries the link counts, the contraction, the flag and
 * why. */
START_TEST(test_train_flags_effectively_centralized) {
    static const char *extra[5][9] = {{"--agents", "5", "--topology", "complete", NULL},
                                      {"--agents", "20", "--topology", "ring", "--gossip-rounds",
                                       "1", NULL},
                                      {"--agents", "20", "--topology", "ring", "--gossip-rounds",
                                       "400", "--gossip-accel", "none", NULL},
                                      {"--agents", "20", "--topology", "ring", "--gossip-rounds",
                                       "40", NULL},
                                      {"--agents", "20", "--topology", "ring", "--gossip-rounds",
                                       "40", "--gossip-accel", "none", NULL}};
    static const int want[5] = {1, 0, 1, 1, 0};
    static const char *why[5] = {"10 of 10 agent pairs linked", "", "the disagreement shrinks by",
                                 "the disagreement shrinks by", ""};
    static const long long used[5] = {10, 20, 20, 20, 20}, possible[5] = {10, 190, 190, 190, 190};
    char *out = malloc(S_OUT_CAP), dir[128];
    for (int c = 0; c < 5; c++) {
        char sum[8192], key[300];
        s_train_summary("ecen", extra[c], dir, sizeof dir, out, sum, sizeof sum);
        ck_assert_msg(!strstr(out, "note: effectively centralized") == !want[c],
                      "case %d: the note is %s:\n%s", c, want[c] ? "missing" : "wrong", out);
        snprintf(key, sizeof key, "\"effectively_centralized\":%s", want[c] ? "true" : "false");
        ck_assert_msg(strstr(sum, key), "case %d: summary.json lacks %s: %s", c, key, sum);
        snprintf(key, sizeof key, "\"centralized_reason\":\"%s", why[c]);
        ck_assert_msg(strstr(sum, key), "case %d: summary.json lacks %s: %s", c, key, sum);
        if (c == 0) /* 5 agents completely linked: the pairs alone flag it */
            ck_assert_msg(strstr(out, "10 of 10 agent pairs linked"), "no pairs reason:\n%s", out);
        ck_assert_int_eq((long long)s_number_after(sum, "\"links_used\":"), used[c]);
        ck_assert_int_eq((long long)s_number_after(sum, "\"links_possible\":"), possible[c]);
        double q = s_number_after(sum, "\"contraction_per_iter\":");
        ck_assert_msg(want[c] || q >= 1e-3, "case %d: contraction %g", c, q);
        if (c == 2 || c == 3) ck_assert_msg(q < 1e-3 && q > 0, "forced rounds: contraction %g", q);
        if (c == 4) ck_assert_msg(fabs(q - pow(0.967371, 40)) < 1e-3, "plain: contraction %g", q);
        s_rm_rf(dir);
    }
    free(out);
}
END_TEST

/* The deadline follows the planned work: a ring of 20 agents forced to 400 gossip rounds plans
 * about 1 GB per iteration, so train says so before the agents start and runs with the deadline it
 * chose, above the 30 s floor (config.json); an explicit --deadline-ms below the allowance is used
 * as given, with a warning that healthy agents would be named silent. */
START_TEST(test_train_deadline_follows_work) {
    char *out = malloc(S_OUT_CAP), dir[128];
    for (int c = 0; c < 2; c++) {
        s_mkdtemp(dir, sizeof dir, "dl");
        char *argv[32] = {DGCN_BINARY,
                          "train",
                          "--transport",
                          "inproc",
                          S_GEN,
                          "--iters",
                          "5",
                          "--eval-every",
                          "5",
                          "--no-baselines",
                          "--cross-edges",
                          "drop",
                          "--agents",
                          "20",
                          "--topology",
                          "ring",
                          "--out",
                          dir,
                          "--gossip-rounds",
                          "400",
                          c ? "--deadline-ms" : NULL,
                          "4000",
                          NULL};
        int st = s_run(argv, out, 120);
        /* with the 4 s given, a slow machine (a sanitizer build, a loaded host) may not finish an
         * interval in time: the run then fails as the warning says, naming the deadline */
        ck_assert_msg(st == 0 || (c == 1 && strstr(out, "deadline passed")), "train exited %d:\n%s",
                      st, out);
        const char *note = strstr(out, "note: 400 gossip round(s) and 1.03 GB per iteration");
        ck_assert_msg(note, "case %d: no note on the planned work:\n%s", c, out);
        double allowed = s_number_after(note, "is allowed ");
        double chosen = s_number_after(note, "; deadline ");
        char path[256], cfg[8192];
        snprintf(path, sizeof path, "%s/config.json", dir);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        cfg[fread(cfg, 1, sizeof cfg - 1, f)] = '\0';
        fclose(f);
        double used = s_number_after(cfg, "\"deadline_ms\":");
        if (c == 0) {
            ck_assert_msg(allowed > 30 && chosen == allowed, "allowed %g s, deadline %g s", allowed,
                          chosen);
            ck_assert_msg(used > 30000 && fabs(used / 1e3 - chosen) < 1, "config.json: %g ms",
                          used);
        } else {
            ck_assert_msg(used == 4000, "config.json: %g ms, not the 4000 given", used);
            ck_assert_msg(strstr(note, "healthy agents would be named silent"), "no warning: %s",
                          out);
        }
        s_rm_rf(dir);
    }
    free(out);
}
END_TEST

/* A stranger on the coordinator's port: connects to 127.0.0.1:port again and again until killed,
 * each time as a ZeroMQ client without keys that says it is agent `agent` (a NULL-mechanism
 * greeting, paced as libzmq paces it, a READY naming routing id "a<agent>", then a frame), and
 * writes to fd, per connection that got an answer, how many bytes the server sent. */
static void s_stranger(int port, int agent, int fd) {
    uint8_t msg[256];
    size_t n = 0;
    const uint8_t sig[10] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f};
    memcpy(msg, sig, 10);
    n = 10;
    msg[n++] = 3; /* ZMTP 3.0 */
    msg[n++] = 0;
    memset(msg + n, 0, 52);
    memcpy(msg + n, "NULL", 4);
    n += 52; /* mechanism (20), as-server (1), filler (31) */
    char id[16];
    int idn = snprintf(id, sizeof id, "a%d", agent);
    uint8_t ready[128];
    size_t r = 0;
    ready[r++] = 5;
    memcpy(ready + r, "READY", 5);
    r += 5;
    ready[r++] = 11;
    memcpy(ready + r, "Socket-Type", 11);
    r += 11;
    const uint8_t six[4] = {0, 0, 0, 6}, idlen[4] = {0, 0, 0, (uint8_t)idn};
    memcpy(ready + r, six, 4);
    r += 4;
    memcpy(ready + r, "DEALER", 6);
    r += 6;
    ready[r++] = 8;
    memcpy(ready + r, "Identity", 8);
    r += 8;
    memcpy(ready + r, idlen, 4);
    r += 4;
    memcpy(ready + r, id, (size_t)idn);
    r += (size_t)idn;
    msg[n++] = 0x04; /* a short command */
    msg[n++] = (uint8_t)r;
    memcpy(msg + n, ready, r);
    n += r;
    msg[n++] = 0x00; /* a short message frame: "hello" */
    msg[n++] = 5;
    memcpy(msg + n, "hello", 5);
    n += 5;
    const size_t step[4] = {10, 11, 64, n};
    for (;;) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
            close(s);
            nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
            continue;
        }
        uint32_t got = 0;
        size_t sent = 0;
        uint8_t sink[4096];
        struct pollfd p = {s, POLLIN, 0};
        for (int st = 0; st < 4; st++) {
            if (write(s, msg + sent, step[st] - sent) < 0) break;
            sent = step[st];
            while ((st == 3 || got < step[st]) && poll(&p, 1, 300) == 1) {
                ssize_t k = read(s, sink, sizeof sink);
                if (k <= 0) break;
                got += (uint32_t)k;
            }
        }
        close(s);
        if (got && write(fd, &got, sizeof got) < 0) _exit(1);
    }
}

/* tcp: while `dgcn train` runs, a stranger without keys keeps connecting to the coordinator's port
 * as agent 2 (of 3), from before the agents start to the end. It never gets more than the server's
 * greeting (no set-up, no data); the run ends normally with exactly the metrics of an undisturbed
 * inproc run (timing and dropped_frames aside), and counts the refused handshakes as dropped
 * frames. The agents' key files are 0600; `dgcn agent --keys` refuses a file others may read. */
START_TEST(test_train_tcp_stranger) {
    char *out = malloc(S_OUT_CAP), dirs[2][128], tr[64], path[512];
    static double vals[2][4096];
    int nv[2];
    int ls = socket(AF_INET, SOCK_STREAM, 0); /* a free port for the coordinator */
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
    int port = ntohs(a.sin_port);
    close(ls);
    snprintf(tr, sizeof tr, "tcp://127.0.0.1:%d", port);
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    for (int t = 0; t < 2; t++) {
        s_mkdtemp(dirs[t], sizeof dirs[t], t ? "tcp-stranger" : "inproc");
        pid_t stranger = -1;
        if (t == 1) {
            stranger = fork();
            ck_assert_int_ge(stranger, 0);
            if (stranger == 0) {
                close(pfd[0]);
                s_stranger(port, 2, pfd[1]);
                _exit(0);
            }
        }
        char *argv[] = {DGCN_BINARY, "train",          "--transport", t ? tr : "inproc",
                        S_GEN,       "--iters",        "20",          "--eval-every",
                        "5",         "--seed",         "3",           "--deadline-ms",
                        "10000",     "--final-mixing", "3",           "--quiet",
                        "--out",     dirs[t],          "--agents",    "3",
                        NULL};
        int st = s_run(argv, out, 120);
        if (stranger > 0) {
            kill(stranger, SIGKILL);
            waitpid(stranger, NULL, 0);
        }
        ck_assert_msg(st == 0, "train over %s exited %d:\n%s", argv[3], st, out);
        s_check_summary(dirs[t]);
        snprintf(path, sizeof path, "%s/metrics.jsonl", dirs[t]);
        nv[t] = s_metric_numbers(path, vals[t], 4096);
    }
    close(pfd[1]);
    uint32_t got, most = 0;
    int answered = 0;
    while (read(pfd[0], &got, sizeof got) == (ssize_t)sizeof got) {
        answered++;
        most = got > most ? got : most;
    }
    close(pfd[0]);
    ck_assert_msg(answered > 0, "the stranger never reached the coordinator");
    ck_assert_msg(most <= 64, "a stranger's connection received %u bytes (more than a greeting)",
                  most);
    ck_assert_int_eq(nv[1], nv[0]);
    for (int i = 0; i < nv[0]; i++)
        ck_assert_msg(vals[1][i] == vals[0][i], "field %d: %.17g vs %.17g", i, vals[1][i],
                      vals[0][i]);
    char *metrics = malloc(1 << 16);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    metrics[fread(metrics, 1, (1 << 16) - 1, f)] = '\0';
    fclose(f);
    ck_assert_msg(strstr(metrics, "\"dropped_frames\":"), "no refusal counted: %s", metrics);
    free(metrics);
    /* the agents' key files, and --keys refusing one that others may read */
    struct stat sb;
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/keys/agent-%d.key", dirs[1], k);
        ck_assert_msg(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "%s", path);
    }
    snprintf(path, sizeof path, "%s/keys/agent-1.key", dirs[1]);
    ck_assert_int_eq(chmod(path, 0644), 0);
    char *agent[] = {
        DGCN_BINARY, "agent", "--coordinator", tr,   "--agent",       "1",   "--agents", "3",
        "--run-id",  "7",     "--keys",        path, "--deadline-ms", "500", NULL};
    int st = s_run(agent, out, 60);
    ck_assert_msg(st != 0 && strstr(out, path) && strstr(out, "mode 0644"), "%s", out);
    char *nokeys[] = {DGCN_BINARY, "agent", "--coordinator", tr,    "--agent", "1", "--agents", "3",
                      "--run-id",  "7",     "--deadline-ms", "500", NULL};
    st = s_run(nokeys, out, 60);
    ck_assert_msg(st != 0 && strstr(out, "DGCN_CURVE_KEYS"), "%s", out);
    for (int t = 0; t < 2; t++) s_rm_rf(dirs[t]);
    free(out);
}
END_TEST

START_TEST(test_train_transports_agree) {
    /* an address passes through: zmq over tcp, agents bound on the coordinator's host */
    static const char *transports[] = {"inproc", "zmq", "tcp://127.0.0.1:0", "mpi"};
    static const char *labels[] = {"inproc", "zmq", "tcp", "mpi"};
    static const char *kinds[] = {"inproc", "zmq", "zmq", "mpi"}; /* config.json's transport */
    int n_tr = s_have_mpirun() ? 4 : 3;
    char *out = malloc(S_OUT_CAP), dirs[4][128];
    static double vals[4][4096];
    int nv[4];
    for (int t = 0; t < n_tr; t++) {
        s_mkdtemp(dirs[t], sizeof dirs[t], labels[t]);
        char *base[] = {DGCN_BINARY, "train",          "--transport", (char *)transports[t],
                        S_GEN,       "--iters",        "20",          "--eval-every",
                        "5",         "--seed",         "3",           "--deadline-ms",
                        "10000",     "--final-mixing", "3",           "--quiet",
                        "--out",     dirs[t],          "--agents",    "3",
                        NULL};
        char *mpi[] = {"mpirun",
                       "--allow-run-as-root",
                       "--oversubscribe",
                       "-np",
                       "4",
                       DGCN_BINARY,
                       "train",
                       "--transport",
                       "mpi",
                       S_GEN,
                       "--iters",
                       "20",
                       "--eval-every",
                       "5",
                       "--seed",
                       "3",
                       "--deadline-ms",
                       "10000",
                       "--final-mixing",
                       "3",
                       "--quiet",
                       "--out",
                       dirs[t],
                       NULL};
        int st = s_run(t == 3 ? mpi : base, out, 120);
        ck_assert_msg(st == 0, "train over %s exited %d:\n%s", transports[t], st, out);
        s_check_summary(dirs[t]);
        char path[256], cfg[4096], want[64];
        snprintf(path, sizeof path, "%s/config.json", dirs[t]);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        cfg[fread(cfg, 1, sizeof cfg - 1, f)] = '\0';
        fclose(f);
        snprintf(want, sizeof want, "\"transport\":\"%s\"", kinds[t]);
        ck_assert_msg(strstr(cfg, want), "%s lacks %s: %s", path, want, cfg);
        snprintf(path, sizeof path, "%s/metrics.jsonl", dirs[t]);
        nv[t] = s_metric_numbers(path, vals[t], 4096);
        ck_assert_msg(nv[t] == 5 * 13, "%s: %d numeric fields, expected 5 lines x 13", path, nv[t]);
        f = fopen(path, "r"); /* an undisturbed run drops nothing, over tcp no handshake either */
        ck_assert_ptr_nonnull(f);
        static char metrics[1 << 16];
        metrics[fread(metrics, 1, sizeof metrics - 1, f)] = '\0';
        fclose(f);
        ck_assert_msg(!strstr(metrics, "dropped_frames"), "%s: %s", path, metrics);
    }
    for (int t = 1; t < n_tr; t++) {
        ck_assert_int_eq(nv[t], nv[0]);
        for (int i = 0; i < nv[0]; i++)
            ck_assert_msg(vals[t][i] == vals[0][i],
                          "%s differs from inproc at field %d: %.17g vs "
                          "%.17g",
                          transports[t], i, vals[t][i], vals[0][i]);
    }
    for (int t = 0; t < n_tr; t++) s_rm_rf(dirs[t]);
    free(out);
}
END_TEST

/* One short inproc run (3 agents, 2 iterations, every one reported) with an extra flag (or NULL);
 * v receives metrics.jsonl's numbers, 13 per line (consensus_error at 6, train_loss at 2). */
static int s_train_short(const char *flag, const char *agree, double *v, int cap) {
    char dir[128], *out = malloc(S_OUT_CAP);
    s_mkdtemp(dir, sizeof dir, "seeds");
    char *argv[] = {DGCN_BINARY,
                    "train",
                    "--transport",
                    "inproc",
                    S_GEN,
                    "--iters",
                    "2",
                    "--eval-every",
                    "1",
                    "--seed",
                    "3",
                    "--quiet",
                    "--no-baselines",
                    "--out",
                    dir,
                    "--agents",
                    "3",
                    "--gossip-rounds",
                    "1",
                    "--agree-rounds",
                    (char *)agree,
                    (char *)flag,
                    NULL};
    int st = s_run(argv, out, 120);
    ck_assert_msg(st == 0, "train %s exited %d:\n%s", flag ? flag : "", st, out);
    char path[256];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    int n = s_metric_numbers(path, v, cap);
    ck_assert_msg(n == 3 * 13, "%s: %d numeric fields, expected 3 lines x 13", path, n);
    s_rm_rf(dir);
    free(out);
    return n;
}

/* --init-per-agent: the copies start apart (consensus error at iteration 0 > 0, 0 otherwise),
 * unless agreement rounds bring them together first (automatic with --init-per-agent: on this
 * complete graph one round is the exact average).
 * --dropout-per-agent: the same start, a different first step (other masks). */
START_TEST(test_train_per_agent_seeds) {
    static double base[64], init[64], agreed[64], drop[64];
    s_train_short(NULL, "-1", base, 64);
    s_train_short("--init-per-agent", "0", init, 64);
    s_train_short("--init-per-agent", "-1", agreed, 64);
    s_train_short("--dropout-per-agent", "-1", drop, 64);
    ck_assert_msg(base[6] == 0.0, "shared init: consensus error %g at iteration 0", base[6]);
    ck_assert_msg(init[6] > 1e-2, "per-agent init: consensus error %g at iteration 0", init[6]);
    ck_assert_msg(agreed[6] < 1e-6, "per-agent init, agreed: consensus error %g at iteration 0",
                  agreed[6]);
    for (int i = 0; i < 13; i++)
        ck_assert_msg(drop[i] == base[i], "per-agent dropout changed field %d at iteration 0", i);
    ck_assert_msg(drop[13 + 2] != base[13 + 2],
                  "per-agent dropout: the same training loss %.17g after one step", base[13]);
}
END_TEST

/* Agents that read their shards from the run directory's plan (a shared file system) compute what
 * agents that receive them in the set-up message compute, metric for metric. */
START_TEST(test_train_shard_files) {
    char *out = malloc(S_OUT_CAP), dirs[2][128];
    static double vals[2][4096];
    int nv[2];
    for (int t = 0; t < 2; t++) {
        s_mkdtemp(dirs[t], sizeof dirs[t], t ? "sf" : "sb");
        char *argv[] = {DGCN_BINARY,
                        "train",
                        "--transport",
                        "zmq",
                        S_GEN,
                        "--agents",
                        "3",
                        "--iters",
                        "10",
                        "--eval-every",
                        "5",
                        "--deadline-ms",
                        "10000",
                        "--quiet",
                        "--no-baselines",
                        "--out",
                        dirs[t],
                        t ? "--shard-files" : NULL,
                        NULL};
        int st = s_run(argv, out, 120);
        ck_assert_msg(st == 0, "train %s exited %d:\n%s", t ? "--shard-files" : "", st, out);
        char path[256];
        snprintf(path, sizeof path, "%s/metrics.jsonl", dirs[t]);
        nv[t] = s_metric_numbers(path, vals[t], 4096);
        ck_assert_int_gt(nv[t], 0);
    }
    ck_assert_int_eq(nv[0], nv[1]);
    for (int i = 0; i < nv[0]; i++)
        ck_assert_msg(vals[0][i] == vals[1][i], "field %d: %.17g vs %.17g", i, vals[0][i],
                      vals[1][i]);
    for (int t = 0; t < 2; t++) s_rm_rf(dirs[t]);
    free(out);
}
END_TEST

/* The contents of dir/name (NUL-terminated, at most cap - 1 bytes); "" when it does not exist. */
static void s_slurp(const char *dir, const char *name, char *buf, size_t cap) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    buf[fread(buf, 1, cap - 1, f)] = '\0';
    fclose(f);
}

/* A run directory is created private (0700), an existing non-empty one is refused and left as it
 * was, --force clears it (no stale shards of an earlier, larger plan) but only when it is a run
 * directory. */
START_TEST(test_run_dir_guarded) {
    char *out = malloc(S_OUT_CAP), base[128], dir[200], path[300], before[4096], after[4096];
    s_mkdtemp(base, sizeof base, "rd");
    snprintf(dir, sizeof dir, "%s/run", base);
    char *argv[] = {DGCN_BINARY, "train",   "--transport",
                    "inproc",    S_GEN,     "--iters",
                    "5",         "--quiet", "--no-baselines",
                    "--agents",  "4",       "--out",
                    dir,         NULL,      NULL};
    int st = s_run(argv, out, 60);
    ck_assert_msg(st == 0, "train exited %d:\n%s", st, out);
    struct stat sb;
    ck_assert_int_eq(stat(dir, &sb), 0);
    ck_assert_msg((sb.st_mode & 0777) == 0700, "run directory mode %o", sb.st_mode & 0777);
    snprintf(path, sizeof path, "%s/summary.json", dir);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_msg((sb.st_mode & 077) == 0, "summary.json mode %o", sb.st_mode & 0777);
    s_slurp(dir, "summary.json", before, sizeof before);
    ck_assert_msg(strstr(before, "\"agents\":4"), "%s", before);

    /* again into the same directory, now with 2 agents: refused, nothing touched */
    argv[15] = "2";
    st = s_run(argv, out, 60);
    ck_assert_msg(st != 0 && strstr(out, "is not empty") && strstr(out, "--force"),
                  "a second run into %s exited %d:\n%s", dir, st, out);
    s_slurp(dir, "summary.json", after, sizeof after);
    ck_assert_str_eq(before, after);

    /* --force clears it: the 2-agent plan has no shard 2 or 3 left over */
    argv[18] = "--force";
    st = s_run(argv, out, 60);
    ck_assert_msg(st == 0, "train --force exited %d:\n%s", st, out);
    s_slurp(dir, "summary.json", after, sizeof after);
    ck_assert_msg(strstr(after, "\"agents\":2"), "%s", after);
    snprintf(path, sizeof path, "%s/plan/shard-2.pb", dir);
    ck_assert_msg(stat(path, &sb) != 0, "stale %s", path);

    /* --force never clears a directory that is not a run directory */
    snprintf(path, sizeof path, "%s/keep.txt", base);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    argv[17] = base;
    st = s_run(argv, out, 60);
    ck_assert_msg(st != 0 && strstr(out, "not a run directory"), "exited %d:\n%s", st, out);
    ck_assert_int_eq(stat(path, &sb), 0);
    s_rm_rf(base);
    free(out);
}
END_TEST

/* A disk that fills up mid-run (file size limit 40 kB: the plan fits, metrics.jsonl does not) ends
 * the run non-zero naming the file, and leaves no summary.json rather than an empty or cut one. */
START_TEST(test_train_disk_full) {
    char *out = malloc(S_OUT_CAP), dir[128], buf[4096];
    s_mkdtemp(dir, sizeof dir, "full");
    char *argv[] = {DGCN_BINARY,
                    "train",
                    "--transport",
                    "inproc",
                    S_GEN,
                    "--iters",
                    "200",
                    "--eval-every",
                    "1",
                    "--quiet",
                    "--no-baselines",
                    "--agents",
                    "2",
                    "--out",
                    dir,
                    NULL};
    s_child_fsize = 40000;
    int st = s_run(argv, out, 60);
    s_child_fsize = 0;
    ck_assert_msg(st == 1, "train on a full disk exited %d:\n%s", st, out);
    ck_assert_msg(strstr(out, "metrics.jsonl: write failed: File too large"),
                  "the error does not name metrics.jsonl:\n%s", out);
    s_slurp(dir, "summary.json", buf, sizeof buf);
    ck_assert_msg(buf[0] == '\0', "summary.json after a failed run: '%s'", buf);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* SIGTERM after training, while the coordinator trains the centralized baselines, is honoured:
 * the run stops within a second or two, says so, exits with 128 + 15 after cleaning up, and writes
 * no summary.json. */
START_TEST(test_sigterm_post_processing) {
    char *out = malloc(S_OUT_CAP), dir[128], buf[4096];
    s_mkdtemp(dir, sizeof dir, "term");
    char *argv[] = {DGCN_BINARY, "train", "--transport", "inproc", "--nodes",
                    "2000",      "--val", "50",          "--test", "100",
                    "--agents",  "2",     "--iters",     "400",    "--eval-every",
                    "100",       "--out", dir,           NULL};
    unsetenv("ASAN_OPTIONS");
    int fd;
    size_t len = 0;
    out[0] = '\0';
    pid_t pid = s_start(argv, &fd);
    int st = dgcn_test_collect(pid, fd, out, &len, S_OUT_CAP, dgcn_test_now_ms() + 60000,
                               "iter   400");
    ck_assert_msg(st == -1, "train ended (%d) before its last iteration:\n%s", st, out);
    double t0 = dgcn_test_now_ms();
    kill(pid, SIGTERM);
    st = dgcn_test_collect(pid, fd, out, &len, S_OUT_CAP, t0 + 10000, NULL);
    if (st == -1) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    ck_assert_msg(st == 128 + SIGTERM, "exit status %d after SIGTERM:\n%s", st, out);
    ck_assert_msg(strstr(out, "interrupted by signal 15 (SIGTERM) during"),
                  "the output does not say the run was interrupted:\n%s", out);
    ck_assert_msg(dgcn_test_now_ms() - t0 < 2000, "%.0f ms to stop", dgcn_test_now_ms() - t0);
    s_slurp(dir, "summary.json", buf, sizeof buf);
    ck_assert_msg(buf[0] == '\0', "summary.json after SIGTERM: '%s'", buf);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* ---- the saved model, checkpoints and resume ---- */

/* The text after label up to the end of its line ("" when label is absent). */
static void s_rest_of_line(const char *out, const char *label, char *buf, size_t cap) {
    const char *p = strstr(out, label);
    buf[0] = '\0';
    if (!p) return;
    p += strlen(label);
    snprintf(buf, cap, "%.*s", (int)strcspn(p, "\n"), p);
}

/* The model a short train run saves gives, under dgcn predict, the test accuracy train reported
 * for it (same correct / count); a truncated or corrupted model file and a model that does not fit
 * the data are errors naming the file and what is wrong. */
START_TEST(test_train_model_predict) {
    char *out = malloc(S_OUT_CAP), dir[128], model[192], pred[192], bad[192];
    s_mkdtemp(dir, sizeof dir, "model");
    char *train[] = {DGCN_BINARY, "train",   "--transport", "inproc",
                     S_GEN,       "--iters", "20",          "--eval-every",
                     "10",        "--seed",  "5",           "--no-baselines",
                     "--agents",  "3",       "--out",       dir,
                     NULL};
    int st = s_run(train, out, 120);
    ck_assert_msg(st == 0, "train exited %d:\n%s", st, out);
    char said[128], got[128];
    s_rest_of_line(out, "(mean of 3 copies): test accuracy ", said, sizeof said);
    ck_assert_msg(said[0], "train does not report the saved model's accuracy:\n%s", out);
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(pred, sizeof pred, "%s/pred.txt", dir);
    char *predict[] = {DGCN_BINARY, "predict", "--model", model, S_GEN, "--out", pred, NULL};
    st = s_run(predict, out, 60);
    ck_assert_msg(st == 0, "predict exited %d:\n%s", st, out);
    s_rest_of_line(out, "test accuracy ", got, sizeof got);
    ck_assert_msg(!strcmp(said, got), "train said %s, predict says %s", said, got);
    FILE *f = fopen(pred, "r");
    ck_assert_ptr_nonnull(f);
    int lines = 0, node, cls, label;
    static char line[256];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%d %d %d", &node, &cls, &label) == 3) {
            ck_assert_int_eq(node, lines++);
            ck_assert(cls >= 0 && label >= -1);
        }
    fclose(f);
    ck_assert_int_eq(lines, 300);
    /* a model that does not fit the data: both shapes named */
    char *wide[] = {DGCN_BINARY, "predict", "--model", model, S_GEN, "--features", "40", NULL};
    st = s_run(wide, out, 60);
    ck_assert_msg(st == 1 && strstr(out, "the model takes 500 features to 5 classes") &&
                      strstr(out, "has 40 features and 5 classes"),
                  "mismatched shapes: exit %d:\n%s", st, out);
    /* truncated to half, and one byte flipped in the parameters */
    FILE *in = fopen(model, "rb");
    ck_assert_ptr_nonnull(in);
    static unsigned char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, in);
    fclose(in);
    ck_assert(n > 1000 && n < sizeof bytes);
    for (int c = 0; c < 2; c++) {
        snprintf(bad, sizeof bad, "%s/bad-model", dir);
        FILE *o = fopen(bad, "wb");
        ck_assert_ptr_nonnull(o);
        if (c == 1) bytes[n / 2] ^= 0x10;
        ck_assert_uint_eq(fwrite(bytes, 1, c ? n : n / 2, o), c ? n : n / 2);
        fclose(o);
        char *p[] = {DGCN_BINARY, "predict", "--model", bad, S_GEN, NULL};
        st = s_run(p, out, 60);
        ck_assert_msg(st == 1 && strstr(out, bad) &&
                          (strstr(out, "truncated or corrupted") ||
                           strstr(out, "checksum mismatch")),
                      "%s model: exit %d:\n%s", c ? "corrupted" : "truncated", st, out);
    }
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* metrics.jsonl without its timing fields ("ms": {...} and elapsed_ms), as one string. */
static void s_metrics_untimed(const char *dir, char *buf, size_t cap) {
    char raw[65536];
    s_slurp(dir, "metrics.jsonl", raw, sizeof raw);
    size_t k = 0;
    for (const char *p = raw; *p && k + 1 < cap;) {
        if (!strncmp(p, "\"ms\":{", 6)) {
            p = strchr(p, '}') + 1;
            continue;
        }
        if (!strncmp(p, "\"elapsed_ms\":", 13)) {
            p += 13;
            while (*p && *p != ',' && *p != '}') p++;
            continue;
        }
        buf[k++] = *p++;
    }
    buf[k] = '\0';
}

static int s_files_equal(const char *a, const char *b) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

/* One train command on transport (inproc, zmq or mpi: under mpirun) into dir, with extra
 * arguments (NULL-terminated); its exit status. */
static int s_train_on(const char *transport, const char *dir, const char *const *extra, char *out) {
    char *argv[64];
    int n = 0;
    if (!strcmp(transport, "mpi")) {
        static char *pre[] = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "4"};
        for (int i = 0; i < 5; i++) argv[n++] = pre[i];
    }
    static char *base[] = {DGCN_BINARY,      "train",         "--quiet",
                           "--no-baselines", "--deadline-ms", "10000"};
    for (int i = 0; i < 6; i++) argv[n++] = base[i];
    argv[n++] = "--transport";
    argv[n++] = (char *)transport;
    if (dir) {
        argv[n++] = "--out";
        argv[n++] = (char *)dir;
    }
    for (int i = 0; extra[i]; i++) argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    return s_run(argv, out, 120);
}

/* Deletes the numbers after "control": in s (the coordinator protocol's bytes, which carry each
 * transport's own endpoint strings). */
static void s_blank_control(char *s) {
    for (char *p = s; (p = strstr(p, "\"control\":")); p += 10) {
        char *q = p + 10;
        while (*q >= '0' && *q <= '9') q++;
        memmove(p + 10, q, strlen(q) + 1);
    }
}

/* Time-varying links (agent/links.h): a one-peer exponential schedule with link failures P = 0.3
 * gives the same metrics (the timings aside) on inproc, zmq and mpi (when mpirun is there), and
 * counts its failures; --link-failure 0 gives the metrics and summary of a run without it, bit for
 * bit. */
START_TEST(test_train_dynamic_links) {
    static const char *transports[] = {"inproc", "zmq", "mpi"};
    int n_tr = s_have_mpirun() ? 3 : 2;
    char *out = malloc(S_OUT_CAP), dirs[3][128];
    static char metrics[3][65536];
    for (int t = 0; t < n_tr; t++) {
        s_mkdtemp(dirs[t], sizeof dirs[t], transports[t]);
        const char *extra[] = {S_GEN,
                               "--iters",
                               "20",
                               "--eval-every",
                               "5",
                               "--seed",
                               "3",
                               "--topology",
                               "one-peer-exponential",
                               "--link-failure",
                               "0.3",
                               "--cross-edges",
                               "relay",
                               t == 2 ? NULL : "--agents",
                               "3",
                               NULL}; /* mpirun -np 4 */
        int st = s_train_on(transports[t], dirs[t], extra, out);
        ck_assert_msg(st == 0, "train over %s exited %d:\n%s", transports[t], st, out);
        s_metrics_untimed(dirs[t], metrics[t], sizeof metrics[t]);
        s_blank_control(metrics[t]);
        ck_assert_msg(strstr(metrics[t], "\"link_failures\":{"), "%s", metrics[t]);
    }
    for (int t = 1; t < n_tr; t++)
        ck_assert_msg(!strcmp(metrics[t], metrics[0]), "%s differs from inproc:\n%s\n%s",
                      transports[t], metrics[t], metrics[0]);
    char sum[2][8192], plain[2][65536];
    for (int v = 0; v < 2; v++) {
        char dir[128];
        s_mkdtemp(dir, sizeof dir, v ? "p0" : "plain");
        const char *extra[] = {S_GEN,  "--iters",  "20", "--eval-every",
                               "5",    "--seed",   "3",  "--topology",
                               "ring", "--agents", "4",  v ? "--link-failure" : NULL,
                               "0",    NULL};
        int st = s_train_on("inproc", dir, extra, out);
        ck_assert_msg(st == 0, "train exited %d:\n%s", st, out);
        s_metrics_untimed(dir, plain[v], sizeof plain[v]);
        s_slurp(dir, "summary.json", sum[v], sizeof sum[v]);
        char *ms = strstr(sum[v], "\"ms_per_iter"); /* timings end the comparison */
        if (ms) *ms = '\0';
        s_rm_rf(dir);
    }
    ck_assert_msg(!strcmp(plain[0], plain[1]), "--link-failure 0 changed the metrics");
    ck_assert_msg(!strcmp(sum[0], sum[1]), "--link-failure 0 changed the summary:\n%s\n%s", sum[0],
                  sum[1]);
    ck_assert_msg(!strstr(plain[1], "link_failures"), "%s", plain[1]);
    for (int t = 0; t < n_tr; t++) s_rm_rf(dirs[t]);
    free(out);
}
END_TEST

/* Compressed halo rows (--compress-halo, nn/halo_codec.h): 8-bit rows with stochastic rounding
 * and error feedback on both channels, forwarded by relay over links that fail with probability
 * 0.2, and 16-bit rows on direct links give
 * the same metrics (the timings aside) on inproc, zmq and mpi (when mpirun is there); the metrics
 * carry the rows' float32 weight and summary.json the bytes saved, and the run differs from the
 * uncompressed one. */
START_TEST(test_train_compress_halo) {
    static const char *transports[] = {"inproc", "zmq", "mpi"};
    int n_tr = s_have_mpirun() ? 3 : 2;
    char *out = malloc(S_OUT_CAP), dir[128];
    static char metrics[3][65536], plain[65536], kept[65536];
    /* setting 0: q8 under relay with link failures; 1: fp16 on direct links; 2: setting 0's run
     * uncompressed */
    static const char *const settings[3][7] = {{"8", "stochastic", "all", "relay", "0.2"},
                                               {"16", "nearest", "none", "keep", "0"},
                                               {"off", "nearest", "none", "relay", "0.2"}};
    for (int c = 0; c < 3; c++) {
        for (int t = 0; t < (c < 2 ? n_tr : 1); t++) {
            s_mkdtemp(dir, sizeof dir, transports[t]);
            const char *extra[] = {S_GEN,
                                   "--iters",
                                   "20",
                                   "--eval-every",
                                   "5",
                                   "--seed",
                                   "3",
                                   "--topology",
                                   "line",
                                   "--partition",
                                   "random",
                                   "--cross-edges",
                                   settings[c][3],
                                   "--compress-halo",
                                   settings[c][0],
                                   "--halo-rounding",
                                   settings[c][1],
                                   "--halo-feedback",
                                   settings[c][2],
                                   "--link-failure",
                                   settings[c][4],
                                   t == 2 ? NULL : "--agents",
                                   "3",
                                   NULL}; /* mpirun -np 4 */
            int st = s_train_on(transports[t], dir, extra, out);
            ck_assert_msg(st == 0, "train %s over %s exited %d:\n%s", settings[c][0], transports[t],
                          st, out);
            char *m = c < 2 ? metrics[t] : plain;
            s_metrics_untimed(dir, m, sizeof plain);
            s_blank_control(m);
            char sum[8192];
            s_slurp(dir, "summary.json", sum, sizeof sum);
            if (c < 2) {
                ck_assert_msg(strstr(m, "\"bytes_uncompressed\":{"), "%s", m);
                ck_assert_msg(c == 1 || strstr(m, "\"link_failures\":{"), "no failure:\n%s", m);
                double saved = s_number_after(sum, "\"halo_bytes_saved\":");
                ck_assert_msg(saved > 0, "no halo bytes saved:\n%s", sum);
            } else {
                ck_assert_msg(!strstr(m, "bytes_uncompressed") && !strstr(sum, "halo_bytes_saved"),
                              "%s\n%s", m, sum);
            }
            s_rm_rf(dir);
        }
        for (int t = 1; c < 2 && t < n_tr; t++)
            ck_assert_msg(!strcmp(metrics[t], metrics[0]), "%s differs from inproc (%s):\n%s\n%s",
                          transports[t], settings[c][0], metrics[t], metrics[0]);
        if (c == 0) memcpy(kept, metrics[0], sizeof kept); /* setting 0's */
    }
    ck_assert_msg(strcmp(plain, kept), "compression changed nothing");
    free(out);
}
END_TEST

/* verify --compress-halo off,16,8,2 (four distributed passes, one per setting; mpi: four
 * sessions of one job) under relay: each compressed setting reports a nonzero error against the
 * exact pass, off stays exact, the rows' float32 bytes match the plan, and the exit status is 0. */
START_TEST(test_verify_compress_halo) {
    static const char *transports[] = {"inproc", "zmq", "mpi"};
    const char *tr = transports[_i];
    if (!strcmp(tr, "mpi") && !s_have_mpirun()) {
        fprintf(stderr, "SKIP: mpirun not in PATH\n");
        return;
    }
    char *out = malloc(S_OUT_CAP), dir[128];
    s_mkdtemp(dir, sizeof dir, "c");
    char *args[] = {"verify",
                    "--transport",
                    (char *)tr,
                    "--partition",
                    "random",
                    "--agents",
                    "5",
                    S_GEN,
                    "--topology",
                    "line",
                    "--out",
                    dir,
                    "--cross-edges",
                    "relay",
                    "--deadline-ms",
                    "10000",
                    "--compress-halo",
                    "off,16,8,2",
                    "--training",
                    NULL};
    char *argv[32];
    int n = 0;
    if (!strcmp(tr, "mpi")) {
        static char *pre[] = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "6"};
        for (int i = 0; i < 5; i++) argv[n++] = pre[i];
    }
    argv[n++] = DGCN_BINARY;
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    int st = s_run(argv, out, 90);
    ck_assert_msg(st == 0, "verify --compress-halo over %s exited %d:\n%s", tr, st, out);
    static const char *const names[] = {"\n  off ", "\n  fp16 ", "\n  q8 ", "\n  q2 "};
    double rel[4][2];
    for (int k = 0; k < 4; k++) {
        const char *line = strstr(out, names[k]);
        double abs_l, abs_g;
        ck_assert_msg(line && sscanf(line + strlen(names[k]), "%lf %lf %lf %lf", &abs_l, &rel[k][0],
                                     &abs_g, &rel[k][1]) == 4,
                      "no line for%s:\n%s", names[k], out);
        const char *eol = strchr(line + 1, '\n');
        ck_assert_msg(eol && eol - line > 4 && !strncmp(eol - 2, "ok", 2), "%s", out);
    }
    ck_assert_msg(rel[0][0] <= 1e-5 && rel[0][1] <= 1e-5, "off is not exact:\n%s", out);
    for (int k = 1; k < 4; k++)
        ck_assert_msg(rel[k][0] > 1e-5 && rel[k][1] > 1e-5 && rel[k][0] < 0.5 && rel[k][1] < 1.0,
                      "%s: errors %g %g:\n%s", names[k] + 3, rel[k][0], rel[k][1], out);
    ck_assert_msg(strstr(out, "verify: PASS"), "%s", out);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* verify --model: the distributed pass at a trained model's weights (the agents receive them in
 * their set-up) equals the centralized pass at the same weights on inproc and zmq (agents left at
 * the seed's initial weights would fail it: the central pass uses the model's); with
 * --compress-halo 8 at those weights the error is reported, nonzero. */
START_TEST(test_verify_trained_model) {
    char *out = malloc(S_OUT_CAP), dir[128], model[256];
    s_mkdtemp(dir, sizeof dir, "vm");
    const char *train[] = {S_GEN, "--iters", "20", "--seed", "3", "--agents", "3", NULL};
    int st = s_train_on("inproc", dir, train, out);
    ck_assert_msg(st == 0, "train exited %d:\n%s", st, out);
    snprintf(model, sizeof model, "%s/model", dir);
    static const char *transports[] = {"inproc", "zmq"};
    for (int t = 0; t < 2; t++) {
        char *argv[] = {DGCN_BINARY, "verify",      "--agents",
                        "3",         "--transport", (char *)transports[t],
                        S_GEN,       "--seed",      "3",
                        "--model",   model,         "--training",
                        "--out",     dir,           "--deadline-ms",
                        "10000",     NULL};
        st = s_run(argv, out, 60);
        ck_assert_msg(st == 0, "verify --model over %s exited %d:\n%s", transports[t], st, out);
        s_check_verify(out, 3);
        ck_assert_msg(strstr(out, "at the weights of"), "%s", out);
    }
    char *coded[] = {DGCN_BINARY,       "verify", "--agents", "3",   "--transport", "inproc", S_GEN,
                     "--seed",          "3",      "--model",  model, "--training",  "--out",  dir,
                     "--compress-halo", "off,8",  NULL};
    st = s_run(coded, out, 60);
    ck_assert_msg(st == 0, "verify --model --compress-halo exited %d:\n%s", st, out);
    const char *q8 = strstr(out, "\n  q8 ");
    double abs_l = 0, rel_l = 0;
    ck_assert_msg(q8 && sscanf(q8 + 6, "%lf %lf", &abs_l, &rel_l) == 2 && rel_l > 1e-5, "%s", out);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* --on-agent-loss continue on a transport that cannot tell a neighbour's loss (inproc, mpi) is
 * refused before training, naming the transport, not accepted and then ignored. */
START_TEST(test_train_agent_loss_refused) {
    char *out = malloc(S_OUT_CAP), dir[128];
    static const char *const transports[] = {"inproc", "mpi"};
    for (int t = 0; t < 2; t++) {
        s_mkdtemp(dir, sizeof dir, "refused");
        const char *extra[] = {S_GEN, "--iters", "4", "--on-agent-loss", "continue", NULL};
        int st = s_train_on(transports[t], dir, extra, out);
        ck_assert_msg(st != 0, "%s accepted --on-agent-loss continue:\n%s", transports[t], out);
        char want[64];
        snprintf(want, sizeof want, "not on transport %s", transports[t]);
        ck_assert_msg(strstr(out, want), "%s", out);
        ck_assert_msg(!strstr(out, "iteration 4"), "%s trained:\n%s", transports[t], out);
        s_rm_rf(dir);
    }
    free(out);
}
END_TEST

/* An agent that stalls at iteration 10 of 20 (DGCN_TEST_STOP_AGENT: SIGSTOP, alive and silent)
 * on zmq: with --on-agent-loss continue its neighbours' heartbeats to it time out, they drop it
 * and name it in their reports, the coordinator treats it as lost and the run completes, its
 * summary naming it; with the default (abort) the deadline ends the run, naming it. */
START_TEST(test_train_agent_stall_continue) {
    char *out = malloc(S_OUT_CAP), dir[2][128], sum[8192], metrics[65536];
    ck_assert_int_eq(setenv("DGCN_TEST_STOP_AGENT", "2:10", 1), 0);
    for (int v = 0; v < 2; v++) {
        s_mkdtemp(dir[v], sizeof dir[v], v ? "abort" : "continue");
        const char *extra[] = {S_GEN,      "--iters",
                               "20",       "--eval-every",
                               "5",        "--seed",
                               "3",        "--agents",
                               "5",        "--topology",
                               "ring",     "--cross-edges",
                               "relay",    v ? NULL : "--on-agent-loss",
                               "continue", NULL};
        int st = s_train_on("zmq", dir[v], extra, out);
        if (v) {
            ck_assert_msg(st != 0, "the default run went on without agent 2:\n%s", out);
            ck_assert_msg(strstr(out, "agent 2"), "%s", out);
            continue;
        }
        ck_assert_msg(st == 0, "train exited %d:\n%s", st, out);
        s_slurp(dir[v], "summary.json", sum, sizeof sum);
        /* its last report: iteration 10, or 5 when the stop came before its I/O thread sent 10 */
        ck_assert_msg(strstr(sum, "\"agents_lost\":1") && strstr(sum, "\"lost_agents\":[2]") &&
                          (strstr(sum, "\"lost_last_report\":[10]") ||
                           strstr(sum, "\"lost_last_report\":[5]")),
                      "%s", sum);
        const char *at = strstr(sum, "\"test_acc_mean\":");
        double acc = at ? strtod(at + 16, NULL) : -1;
        ck_assert_msg(acc > 0.3 && acc <= 1.0, "test accuracy %g on the remaining nodes", acc);
        s_slurp(dir[v], "metrics.jsonl", metrics, sizeof metrics);
        ck_assert_msg(strstr(metrics, "\"iter\":20,"), "%s", metrics);
    }
    unsetenv("DGCN_TEST_STOP_AGENT");
    for (int v = 0; v < 2; v++) s_rm_rf(dir[v]);
    free(out);
}
END_TEST

/* An agent killed at iteration 10 of 20 (DGCN_TEST_KILL_AGENT) on zmq: with --on-agent-loss
 * continue its neighbours drop it and the run completes, its summary naming the lost agent and its
 * last report, every interval reported; with the default (abort) the same run ends, naming it. */
START_TEST(test_train_agent_loss_continue) {
    char *out = malloc(S_OUT_CAP), dir[2][128], sum[8192], metrics[65536];
    ck_assert_int_eq(setenv("DGCN_TEST_KILL_AGENT", "2:10", 1), 0);
    for (int v = 0; v < 2; v++) {
        s_mkdtemp(dir[v], sizeof dir[v], v ? "abort" : "continue");
        const char *extra[] = {S_GEN,      "--iters",
                               "20",       "--eval-every",
                               "5",        "--seed",
                               "3",        "--agents",
                               "5",        "--topology",
                               "ring",     "--cross-edges",
                               "relay",    v ? NULL : "--on-agent-loss",
                               "continue", NULL};
        int st = s_train_on("zmq", dir[v], extra, out);
        if (v) {
            ck_assert_msg(st != 0, "the default run went on without agent 2:\n%s", out);
            ck_assert_msg(strstr(out, "agent 2"), "%s", out);
            continue;
        }
        ck_assert_msg(st == 0, "train exited %d:\n%s", st, out);
        s_slurp(dir[v], "summary.json", sum, sizeof sum);
        ck_assert_msg(strstr(sum, "\"agents_lost\":1") && strstr(sum, "\"lost_agents\":[2]"), "%s",
                      sum);
        const char *at = strstr(sum, "\"test_acc_mean\":");
        double acc = at ? strtod(at + 16, NULL) : -1;
        ck_assert_msg(acc > 0.3 && acc <= 1.0, "test accuracy %g on the remaining nodes", acc);
        s_slurp(dir[v], "metrics.jsonl", metrics, sizeof metrics);
        ck_assert_msg(strstr(metrics, "\"iter\":20,"), "%s", metrics);
    }
    unsetenv("DGCN_TEST_KILL_AGENT");
    for (int v = 0; v < 2; v++) s_rm_rf(dir[v]);
    free(out);
}
END_TEST

/* dir/checkpoint holds args, manifest.json and the 3 agents' states of iteration 16, nothing else:
 * older checkpoints and temporary files are gone. */
static void s_check_last_checkpoint(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n_files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        int k = -1;
        ck_assert_msg(!strcmp(e->d_name, "manifest.json") || !strcmp(e->d_name, "args") ||
                          (sscanf(e->d_name, "agent-%d.iter-16.state", &k) == 1 && k >= 0 &&
                           k < 3 && !strstr(e->d_name, "tmp")),
                      "%s holds %s", path, e->d_name);
        n_files++;
    }
    closedir(d);
    ck_assert_int_eq(n_files, 5);
}

/* Checkpoint every 4 iterations of 20 on transport: the run never interrupted, and each resumed
 * one, keeps only the last complete checkpoint (iteration 16; leftovers of an interrupted removal
 * or write are cleared on resume); a run whose coordinator, and one whose agent 1, is killed
 * with SIGKILL mid-run (test-only variables, docs/running.md), resumed with --resume, ends with
 * the same metrics.jsonl, timing fields stripped, and the same model, byte for byte. A resume
 * whose options rebuild a different plan is refused. */
static void s_resume_on(const char *transport, const char *series, const char *const *more_args) {
    if (!strcmp(transport, "mpi") && !s_have_mpirun()) {
        fprintf(stderr, "SKIP: mpirun not in PATH\n");
        return;
    }
    static const char *gen[] = {S_GEN, NULL};
    /* regression: three agents on a ring are a complete graph, so the copies start apart */
    const char *regression[] = {"--data", series, "--batch", "8", "--init-per-agent", NULL};
    static const char *run[] = {
        "--iters", "20", "--eval-every", "2", "--seed", "3", "--checkpoint-every", "4", "--agents",
        "3",       NULL};
    const char *args[32];
    int n_args = 0;
    for (const char *const *a = series ? regression : gen; *a; a++) args[n_args++] = *a;
    for (int i = 0; run[i]; i++)
        if (strcmp(transport, "mpi") || i < 8) args[n_args++] = run[i]; /* mpi: M from -np */
    for (int i = 0; more_args && more_args[i]; i++) args[n_args++] = more_args[i];
    args[n_args] = NULL;
    char *out = malloc(S_OUT_CAP), ref[128], dir[128], path[256];
    static char want[65536], got[65536];
    s_mkdtemp(ref, sizeof ref, "ckref"); /* equal lengths: zmq endpoints lie in the run dir */
    int st = s_train_on(transport, ref, args, out);
    ck_assert_msg(st == 0, "train over %s exited %d:\n%s", transport, st, out);
    s_check_last_checkpoint(ref);
    s_metrics_untimed(ref, want, sizeof want);
    snprintf(path, sizeof path, "%s/model", ref);

    /* inproc agents are threads of the coordinator's process: killing one is killing both */
    for (int who = 0; who < (strcmp(transport, "inproc") ? 2 : 1); who++) {
        s_mkdtemp(dir, sizeof dir, who ? "ckagt" : "ckcrd");
        if (who) setenv("DGCN_TEST_KILL_AGENT", "1:18", 1);
        else setenv("DGCN_TEST_KILL_COORDINATOR", "14", 1);
        st = s_train_on(transport, dir, args, out);
        unsetenv("DGCN_TEST_KILL_AGENT");
        unsetenv("DGCN_TEST_KILL_COORDINATOR");
        ck_assert_msg(st != 0, "the killed run over %s exited 0:\n%s", transport, out);
        char buf[4096];
        s_slurp(dir, "checkpoint/manifest.json", buf, sizeof buf);
        ck_assert_msg(strstr(buf, "\"iter\":"), "no manifest after the %s kill:\n%.2000s",
                      who ? "agent" : "coordinator", out);
        if (!who) { /* lines past the checkpoint were written: resume must cut them */
            s_slurp(dir, "metrics.jsonl", got, sizeof got);
            ck_assert_msg(strstr(got, "\"iter\":14,") && strstr(buf, "\"iter\":12,"),
                          "coordinator killed elsewhere: manifest %s", buf);
        }
        /* what a kill between two file operations leaves: an older state, a temporary file */
        for (int i = 0; i < 2; i++) {
            char junk[256];
            snprintf(junk, sizeof junk, "%s/checkpoint/%s", dir,
                     i ? "agent-1.iter-16.state.tmp" : "agent-0.iter-4.state");
            FILE *j = fopen(junk, "w");
            ck_assert_ptr_nonnull(j);
            fputs("partial", j);
            fclose(j);
        }
        static const char *other[] = {"--partition", "random", NULL};
        static const char *same[] = {NULL};
        const char *const *more[2] = {other, same};
        for (int k = 0; k < 2; k++) {
            const char *extra[8] = {"--resume", dir};
            for (int i = 0; more[k][i]; i++) extra[2 + i] = more[k][i];
            st = s_train_on(transport, NULL, extra, out);
            if (k == 0)
                ck_assert_msg(st != 0 && strstr(out, "not the same run"),
                              "a resume with another plan over %s: exit %d:\n%.2000s", transport,
                              st, out);
            else ck_assert_msg(st == 0, "resume over %s exited %d:\n%.2000s", transport, st, out);
        }
        s_metrics_untimed(dir, got, sizeof got);
        size_t at = 0;
        while (want[at] && want[at] == got[at]) at++;
        ck_assert_msg(!want[at] && !got[at],
                      "%s, %s killed: metrics.jsonl differs at byte %zu: '%.80s' vs '%.80s'",
                      transport, who ? "agent" : "coordinator", at, want + at, got + at);
        char model[256];
        snprintf(model, sizeof model, "%s/model", dir);
        ck_assert_msg(s_files_equal(path, model), "%s: the resumed model differs", transport);
        s_check_last_checkpoint(dir);
        s_rm_rf(dir);
    }
    s_rm_rf(ref);
    free(out);
}

/* --resume keeps the run's hyper-parameters: a changed --lr or --dropout is refused, naming the
 * value config.json holds and the new one; --iters may extend the run, and config.json then says
 * so. Seeds cross config.json, the manifest and metrics.jsonl exactly over the whole uint64 range
 * (2^53 + 1 does not survive a double; 2^64 - 1 is no long long). */
START_TEST(test_resume_options) {
    static const char *seeds[] = {"9007199254740993", "18446744073709551615"};
    char *out = malloc(S_OUT_CAP), dir[128], buf[65536], want[128];
    for (int si = 0; si < 2; si++) {
        const char *run[] = {S_GEN,     "--iters",  "8", "--eval-every",       "2", "--seed",
                             seeds[si], "--agents", "3", "--checkpoint-every", "2", NULL};
        s_mkdtemp(dir, sizeof dir, "ckopt");
        int st = s_train_on("inproc", dir, run, out);
        ck_assert_msg(st == 0, "train with seed %s exited %d:\n%s", seeds[si], st, out);
        snprintf(want, sizeof want, "\"seed\":%s,", seeds[si]);
        s_slurp(dir, "checkpoint/manifest.json", buf, sizeof buf);
        ck_assert_msg(strstr(buf, want), "manifest.json lacks %s: %s", want, buf);
        s_slurp(dir, "config.json", buf, sizeof buf);
        ck_assert_msg(strstr(buf, want), "config.json lacks %s: %s", want, buf);
        snprintf(want, sizeof want, "\"init_seed\":%s,", seeds[si]);
        ck_assert_msg(strstr(buf, want), "config.json lacks %s: %s", want, buf);

        static const char *lr[] = {"--lr", "0.5", NULL}, *dropout[] = {"--dropout", "0.25", NULL};
        static const char *longer[] = {"--iters", "10", NULL};
        const char *const *more[3] = {lr, dropout, longer};
        const char *refusal[2] = {"--resume: lr is 0.05 in %s/config.json, not 0.5",
                                  "--resume: dropout is 0.5 in %s/config.json, not 0.25"};
        for (int k = 0; k < 3; k++) {
            const char *extra[8] = {"--resume", dir};
            for (int i = 0; more[k][i]; i++) extra[2 + i] = more[k][i];
            st = s_train_on("inproc", NULL, extra, out);
            if (k < 2) {
                char msg[256];
                snprintf(msg, sizeof msg, refusal[k], dir);
                ck_assert_msg(st != 0 && strstr(out, msg),
                              "resume with %s %s: exit %d, not '%s':\n%.2000s", more[k][0],
                              more[k][1], st, msg, out);
            } else
                ck_assert_msg(st == 0, "resume with --iters 10 (seed %s) exited %d:\n%.2000s",
                              seeds[si], st, out);
        }
        s_slurp(dir, "config.json", buf, sizeof buf);
        ck_assert_msg(strstr(buf, "\"iterations\":10,"), "config.json after --iters 10: %s", buf);
        s_slurp(dir, "metrics.jsonl", buf, sizeof buf);
        snprintf(want, sizeof want, "{\"seed\":%s,\"iter\":10,", seeds[si]);
        ck_assert_msg(strstr(buf, want), "metrics.jsonl lacks %s:\n%s", want, buf);
        s_rm_rf(dir);
    }
    free(out);
}
END_TEST

/* Compressed gossip (nn/choco.h): checkpoints carry the public copies, so a run resumed after a
 * kill ends as the one never interrupted, on every transport (random-k: its draws are keyed by
 * the iteration, nothing to restore). */
static const char *const s_resume_compressed[] = {"--compress-params", "randk:0.3",
                                                  "--gossip-rounds", "2", NULL};
START_TEST(test_resume_compressed) {
    static const char *transports[] = {"inproc", "zmq", "mpi"};
    s_resume_on(transports[_i], NULL, s_resume_compressed);
}
END_TEST

/* Compressed gossip gives the same metrics (the timings aside) on inproc, zmq, tcp and mpi (when
 * mpirun is there) for each operator, with the params bytes of the wire form counted: fewer than
 * the uncompressed run's by the operator's ratio. */
START_TEST(test_train_compressed_transports) {
    static const char *specs[] = {"topk:0.2", "randk:0.3", "quant:4"};
    static const char *transports[] = {"inproc", "zmq", "tcp://127.0.0.1:0", "mpi"};
    int n_tr = s_have_mpirun() ? 4 : 3;
    char *out = malloc(S_OUT_CAP), dirs[4][128];
    static char metrics[4][65536];
    char sum[8192];
    double params[2] = {0, 0};
    for (int t = 0; t < n_tr + 1; t++) {
        const int plain = t == n_tr; /* the uncompressed run, inproc */
        const char *tr = plain ? "inproc" : transports[t];
        s_mkdtemp(dirs[plain ? 0 : t], sizeof dirs[0], plain ? "plain" : "cmp");
        const char *extra[] = {S_GEN,
                               "--iters",
                               "12",
                               "--eval-every",
                               "4",
                               "--seed",
                               "5",
                               "--topology",
                               "ring",
                               "--gossip-rounds",
                               "2",
                               "--gossip-accel",
                               "none",
                               "--compress-params",
                               plain ? "none" : specs[_i],
                               t == 3 ? NULL : "--agents",
                               "4",
                               NULL}; /* mpirun -np 5 is 4 agents */
        char *argv[64];
        int n = 0;
        if (!strcmp(tr, "mpi")) {
            static char *pre[] = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "5"};
            for (int i = 0; i < 5; i++) argv[n++] = pre[i];
        }
        static char *base[] = {DGCN_BINARY,      "train",         "--quiet",
                               "--no-baselines", "--deadline-ms", "10000"};
        for (int i = 0; i < 6; i++) argv[n++] = base[i];
        argv[n++] = "--transport";
        argv[n++] = (char *)tr;
        argv[n++] = "--out";
        argv[n++] = dirs[plain ? 0 : t];
        for (int i = 0; extra[i]; i++) argv[n++] = (char *)extra[i];
        argv[n] = NULL;
        int st = s_run(argv, out, 120);
        ck_assert_msg(st == 0, "%s over %s exited %d:\n%s", plain ? "none" : specs[_i], tr, st,
                      out);
        if (plain || t == 0) {
            s_slurp(dirs[0], "summary.json", sum, sizeof sum);
            const char *p = strstr(sum, "\"params_bytes_total\":");
            ck_assert_ptr_nonnull(p);
            params[plain] = atof(p + strlen("\"params_bytes_total\":"));
        }
        if (plain) {
            s_rm_rf(dirs[0]);
            break;
        }
        s_metrics_untimed(dirs[t], metrics[t], sizeof metrics[t]);
        s_blank_control(metrics[t]);
    }
    for (int t = 1; t < n_tr; t++)
        ck_assert_msg(!strcmp(metrics[t], metrics[0]), "%s: %s differs from inproc:\n%s\n%s",
                      specs[_i], transports[t], metrics[t], metrics[0]);
    /* wire bytes per float sent: topk 0.2 x 8, randk 0.3 x 4, quant 4 bits and 8 per block */
    const double ratio[] = {0.2 * 2, 0.3, (4.0 / 32) + 8.0 / (4 * 256)};
    ck_assert_msg(params[0] < params[1] * ratio[_i] * 1.05 &&
                      params[0] > params[1] * ratio[_i] * 0.8,
                  "%s: params bytes %g against %g uncompressed (ratio %g)", specs[_i], params[0],
                  params[1], ratio[_i]);
    for (int t = 0; t < n_tr; t++) s_rm_rf(dirs[t]);
    free(out);
}
END_TEST

START_TEST(test_resume_inproc) { s_resume_on("inproc", NULL, NULL); }
END_TEST

START_TEST(test_resume_zmq) { s_resume_on("zmq", NULL, NULL); }
END_TEST

START_TEST(test_resume_mpi) { s_resume_on("mpi", NULL, NULL); }
END_TEST

/* A run with compressed halo rows and error feedback on both channels resumes bit for bit: the
 * residuals travel in the checkpoint (after the optimizer's state) and the float32 weight of the
 * rows sent so far with the traffic counters, so metrics.jsonl (bytes_uncompressed included)
 * matches the uninterrupted run's. */
START_TEST(test_resume_compress_halo) {
    static const char *more[] = {
        "--compress-halo", "8", "--halo-rounding", "stochastic", "--halo-feedback", "all", NULL};
    s_resume_on("zmq", NULL, more);
}
END_TEST

/* ---- regression on graph signals (a traffic folder, docs/traffic.md) ---- */

/* A generated traffic folder in base/gen (a ring of 30 sensors with a chord every 5, 400 steps):
 * its path into gen. */
static void s_traffic_folder(const char *base, char *gen, size_t cap) {
    char csv[256], *out = malloc(S_OUT_CAP);
    snprintf(csv, sizeof csv, "%s/ring.csv", base);
    snprintf(gen, cap, "%s/gen", base);
    FILE *f = fopen(csv, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "from,to,cost\n");
    for (int i = 0; i < 30; i++) {
        fprintf(f, "%d,%d,1\n", i, (i + 1) % 30);
        if (i % 5 == 0) fprintf(f, "%d,%d,2\n", i, (i + 12) % 30);
    }
    fclose(f);
    char *argv[] = {DGCN_BINARY, "generate", "--kind",  "traffic", "--graph", csv,
                    "--out",     gen,        "--steps", "400",     NULL};
    int st = s_run(argv, out, 60);
    ck_assert_msg(st == 0, "generate --kind traffic exited %d:\n%s", st, out);
    free(out);
}

/* The number after "key": in a JSON text, or NaN. */
static double s_json_after(const char *text, const char *key) {
    char q[80];
    snprintf(q, sizeof q, "\"%s\":", key);
    const char *p = strstr(text, q);
    return p ? strtod(p + strlen(q), NULL) : NAN;
}

/* Filter order K = _i on a traffic folder, 5 agents on a ring with relayed cross edges: the same
 * metrics.jsonl (timing and control bytes aside) and test MSE over inproc, zmq and mpi, per-split
 * MSE and MAE in every line, and the agents' test MSE within 2 % of the centralized twin's. */
START_TEST(test_regression_transports) {
    static const char *transports[] = {"inproc", "zmq", "mpi"};
    char order[8], *out = malloc(S_OUT_CAP), base[128], gen[200], dirs[3][128];
    snprintf(order, sizeof order, "%d", _i);
    s_mkdtemp(base, sizeof base, "rg");
    s_traffic_folder(base, gen, sizeof gen);
    static double vals[3][8192];
    int nv[3] = {0}, n_tr = s_have_mpirun() ? 3 : 2;
    double mse[3] = {0};
    for (int t = 0; t < n_tr; t++) {
        s_mkdtemp(dirs[t], sizeof dirs[t], "rgt");
        char *args[] = {"train",
                        "--quiet",
                        "--deadline-ms",
                        "10000",
                        "--transport",
                        (char *)transports[t],
                        "--out",
                        dirs[t],
                        "--data",
                        gen,
                        "--topology",
                        "ring",
                        "--cross-edges",
                        "relay",
                        "--order",
                        order,
                        "--epochs",
                        "2",
                        "--batch",
                        "8",
                        "--seed",
                        "2",
                        NULL};
        char *argv[48];
        int n = 0;
        if (t == 2) {
            static char *pre[] = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "6"};
            for (int i = 0; i < 5; i++) argv[n++] = pre[i];
        }
        argv[n++] = DGCN_BINARY;
        for (int i = 0; args[i]; i++) argv[n++] = args[i];
        if (t != 2) argv[n++] = "--agents", argv[n++] = "5";
        argv[n] = NULL;
        int st = s_run(argv, out, 120);
        ck_assert_msg(st == 0, "order %s over %s exited %d:\n%s", order, transports[t], st, out);
        char path[256], summary[8192], metrics[65536];
        snprintf(path, sizeof path, "%s/metrics.jsonl", dirs[t]);
        nv[t] = s_metric_numbers(path, vals[t], 8192);
        s_slurp(dirs[t], "metrics.jsonl", metrics, sizeof metrics);
        static const char *keys[] = {"train_mse", "val_mse", "test_mse",
                                     "train_mae", "val_mae", "test_mae"};
        for (int k = 0; k < 6; k++)
            ck_assert_msg(s_json_after(metrics, keys[k]) > 0, "metrics.jsonl lacks %s:\n%.500s",
                          keys[k], metrics);
        s_slurp(dirs[t], "summary.json", summary, sizeof summary);
        mse[t] = s_json_after(summary, "test_mse_mean");
        double central = s_json_after(summary, "central_test_mse_mean");
        double mae = s_json_after(summary, "test_mae_mean");
        double cmae = s_json_after(summary, "central_test_mae_mean");
        ck_assert_msg(mse[t] > 0 && mse[t] < 1 && mae > 0 && cmae > 0,
                      "order %s over %s: summary %s", order, transports[t], summary);
        ck_assert_msg(fabs(mse[t] - central) <= 0.02 * central,
                      "order %s over %s: test MSE %g, centralized %g", order, transports[t], mse[t],
                      central);
    }
    for (int t = 1; t < n_tr; t++) {
        ck_assert_msg(mse[t] == mse[0], "order %s: test MSE %.17g over %s, %.17g over inproc",
                      order, mse[t], transports[t], mse[0]);
        ck_assert_int_eq(nv[t], nv[0]);
        for (int i = 0; i < nv[0]; i++)
            ck_assert_msg(vals[t][i] == vals[0][i], "order %s, %s: field %d: %.17g vs %.17g", order,
                          transports[t], i, vals[t][i], vals[0][i]);
    }
    for (int t = 0; t < n_tr; t++) s_rm_rf(dirs[t]);
    s_rm_rf(base);
    free(out);
}
END_TEST

/* dgcn verify on a traffic folder over every transport: the regression filter of order 2 on the
 * first mini-batch, 4 agents on a line with relayed cross edges: PASS. */
START_TEST(test_verify_regression) {
    static const char *transports[] = {"inproc", "zmq", "mpi"};
    const char *tr = transports[_i];
    if (!strcmp(tr, "mpi") && !s_have_mpirun()) {
        fprintf(stderr, "SKIP: mpirun not in PATH\n");
        return;
    }
    char *out = malloc(S_OUT_CAP), base[128], gen[200];
    s_mkdtemp(base, sizeof base, "vr");
    s_traffic_folder(base, gen, sizeof gen);
    char *args[] = {"verify", "--transport",   (char *)tr, "--data",
                    gen,      "--topology",    "line",     "--out",
                    base,     "--cross-edges", "relay",    "--batch",
                    "8",      "--deadline-ms", "10000",    NULL};
    char *argv[32];
    int n = 0;
    if (!strcmp(tr, "mpi")) {
        static char *pre[] = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "5"};
        for (int i = 0; i < 5; i++) argv[n++] = pre[i];
    }
    argv[n++] = DGCN_BINARY;
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    if (strcmp(tr, "mpi")) argv[n++] = "--agents", argv[n++] = "4";
    argv[n] = NULL;
    int st = s_run(argv, out, 90);
    ck_assert_msg(st == 0, "verify on a traffic folder over %s exited %d:\n%s", tr, st, out);
    s_check_verify(out, 4);
    ck_assert_msg(strstr(out, "regression filter of order 2 on 8 signals"), "%s", out);
    s_rm_rf(base);
    free(out);
}
END_TEST

/* s_resume_on for regression: the coordinator (and, in processes, agent 1) killed mid-run, the
 * resumed run's metrics.jsonl and model equal the uninterrupted run's. */
static void s_resume_regression(const char *transport) {
    char base[128], gen[200];
    s_mkdtemp(base, sizeof base, "rr");
    s_traffic_folder(base, gen, sizeof gen);
    s_resume_on(transport, gen, NULL);
    s_rm_rf(base);
}

START_TEST(test_resume_regression_inproc) { s_resume_regression("inproc"); }
END_TEST

START_TEST(test_resume_regression_zmq) { s_resume_regression("zmq"); }
END_TEST

START_TEST(test_resume_regression_mpi) { s_resume_regression("mpi"); }
END_TEST

/* A disk that fills up while a checkpoint is written (file size limit 100 kB: the plan and
 * metrics fit, an agent's state does not) ends the run non-zero naming the state file, and leaves
 * no manifest naming an incomplete checkpoint. */
START_TEST(test_checkpoint_disk_full) {
    char *out = malloc(S_OUT_CAP), dir[128], buf[4096];
    s_mkdtemp(dir, sizeof dir, "ckfull");
    static const char *args[] = {S_GEN, "--iters", "20", "--agents", "3", "--checkpoint-every",
                                 "4",   NULL};
    s_child_fsize = 100000;
    int st = s_train_on("inproc", dir, args, out);
    s_child_fsize = 0;
    ck_assert_msg(st == 1, "train on a full disk exited %d:\n%s", st, out);
    ck_assert_msg(strstr(out, "/checkpoint/agent-") && strstr(out, ".iter-4.state") &&
                      strstr(out, "write failed: File too large"),
                  "the error does not name the state file:\n%s", out);
    s_slurp(dir, "checkpoint/manifest.json", buf, sizeof buf);
    ck_assert_msg(buf[0] == '\0', "a manifest after a failed checkpoint: '%s'", buf);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* path's bytes into a malloc'd buffer (*n of them). */
static unsigned char *s_read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)size + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return b;
}

static void s_write_all(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: cannot create", path);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* Runs cmd (which reads `path`) on copies of the sealed file `orig` with one bit flipped in the
 * magic, the plan id, the length, the payload and the checksum, and on the payload alone (a file
 * that predates checksums): each run exits 1 naming path and why; orig is put back after. */
static void s_flip_refused(char *const cmd[], const char *path, const char *orig, char *out) {
    size_t n = 0;
    unsigned char *b = s_read_all(orig, &n);
    ck_assert(n > DGCN_SEAL_HEADER + DGCN_SEAL_TRAILER + 16);
    struct {
        size_t at;
        const char *why;
    } flips[] = {
        {3, "no checksum header"},                              /* magic */
        {17, "checksum mismatch"},                              /* plan id */
        {25, "truncated or corrupted"},                         /* payload length */
        {DGCN_SEAL_HEADER + (n - 40) / 2, "checksum mismatch"}, /* payload */
        {n - 3, "checksum mismatch"},                           /* the checksum itself */
    };
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        b[flips[i].at] ^= 0x08;
        s_write_all(path, b, n);
        b[flips[i].at] ^= 0x08;
        int st = s_run(cmd, out, 60);
        ck_assert_msg(st == 1 && strstr(out, path) && strstr(out, flips[i].why),
                      "%s with a bit flipped at byte %zu of %zu: exit %d, not '%s':\n%.2000s", path,
                      flips[i].at, n, st, flips[i].why, out);
    }
    s_write_all(path, b + DGCN_SEAL_HEADER, n - DGCN_SEAL_HEADER - DGCN_SEAL_TRAILER);
    int st = s_run(cmd, out, 60);
    ck_assert_msg(st == 1 && strstr(out, path) && strstr(out, "before dgcn checksummed"),
                  "%s without its checksum: exit %d:\n%.2000s", path, st, out);
    s_write_all(path, b, n);
    free(b);
}

/* Checkpoints and the model are sealed (core/checksum.h): one flipped bit in the header, the
 * payload or the checksum of a state file makes --resume refuse it, and of the model makes predict
 * refuse it, naming the file; a file that predates checksums, a manifest whose values do not
 * match its checksum, a state of another plan and a checkpoint missing one agent's state are
 * refused too, naming what is wrong. */
START_TEST(test_sealed_files) {
    char *out = malloc(S_OUT_CAP), dir[128], model[192], state[256], keep[256], path[300];
    s_mkdtemp(dir, sizeof dir, "seal");
    static const char *args[] = {S_GEN, "--iters", "20", "--agents", "3", "--checkpoint-every",
                                 "4",   "--seed",  "3",  NULL};
    int st = s_train_on("inproc", dir, args, out);
    ck_assert_msg(st == 0, "train exited %d:\n%s", st, out);
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(keep, sizeof keep, "%s/model.orig", dir);
    rename(model, keep);
    char *predict[] = {DGCN_BINARY, "predict", "--model", model, S_GEN, NULL};
    s_flip_refused(predict, model, keep, out);
    snprintf(state, sizeof state, "%s/checkpoint/agent-1.iter-16.state", dir);
    snprintf(keep, sizeof keep, "%s/agent-1.iter-16.state.orig", dir);
    rename(state, keep);
    char *resume[] = {DGCN_BINARY, "train",    "--quiet", "--transport",
                      "inproc",    "--resume", dir,       NULL};
    s_flip_refused(resume, state, keep, out);
    /* the untouched checkpoint resumes */
    st = s_run(resume, out, 120);
    ck_assert_msg(st == 0, "resume of the intact checkpoint exited %d:\n%.2000s", st, out);
    /* a state of another plan, correctly sealed */
    size_t n = 0;
    unsigned char *b = s_read_all(state, &n);
    uint64_t plan = 0;
    for (int i = 0; i < 8; i++) plan |= (uint64_t)b[16 + i] << (8 * i);
    snprintf(path, sizeof path, "%s.tmp", state);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(dgcn_seal_write(f, path, "state", plan ^ 1, b + DGCN_SEAL_HEADER,
                                     n - DGCN_SEAL_HEADER - DGCN_SEAL_TRAILER),
                     0);
    fclose(f);
    rename(path, state);
    st = s_run(resume, out, 60);
    ck_assert_msg(st == 1 && strstr(out, state) && strstr(out, "not of this run's plan"),
                  "a state of another plan: exit %d:\n%.2000s", st, out);
    s_write_all(state, b, n);
    free(b);
    /* the manifest: iter 16 -> 17 without its checksum following */
    snprintf(path, sizeof path, "%s/checkpoint/manifest.json", dir);
    b = s_read_all(path, &n);
    char *it = strstr((char *)b, "\"iter\":16");
    ck_assert_ptr_nonnull(it);
    it[strlen("\"iter\":1")] ^= 0x01;
    s_write_all(path, b, n);
    st = s_run(resume, out, 60);
    ck_assert_msg(st == 1 && strstr(out, path) && strstr(out, "do not match its checksum"),
                  "a manifest with a flipped bit: exit %d:\n%.2000s", st, out);
    it[strlen("\"iter\":1")] ^= 0x01;
    s_write_all(path, b, n);
    free(b);
    /* M-1 of M states: agent 2's is missing */
    snprintf(path, sizeof path, "%s/checkpoint/agent-2.iter-16.state", dir);
    ck_assert_int_eq(unlink(path), 0);
    st = s_run(resume, out, 60);
    ck_assert_msg(st == 1 && strstr(out, "lacks agent 2's state") && strstr(out, path),
                  "a checkpoint without agent 2's state: exit %d:\n%.2000s", st, out);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* The checkpoint store commits a boundary's manifest with its M-th state and not before: after
 * M-1 of M states there is no manifest (a resume would find none), after the M-th there is, and
 * it reads back with all M states. */
START_TEST(test_ckpt_manifest_waits_for_all) {
    char dir[128], path[256];
    s_mkdtemp(dir, sizeof dir, "ckm");
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    dgcn_ckpt c;
    ck_assert_int_eq(dgcn_ckpt_init(&c, dir, 2, 3, 10, UINT64_C(0x1234)), 0);
    c.seed = 7;
    float vec[4] = {1, 2, 3, 4};
    snprintf(path, sizeof path, "%s/checkpoint/manifest.json", dir);
    for (int32_t k = 0; k < 3; k++) {
        dgcn_ctl_msg m = {.kind = DGCN_CTL_STATE};
        m.u.state.agent = k;
        m.u.state.iter = 2;
        m.u.state.n_params = 4;
        m.u.state.n_vec = 4;
        m.u.state.vec = vec;
        ck_assert_int_eq(dgcn_ckpt_take(&c, &m, 4), 0);
        struct stat sb;
        int there = stat(path, &sb) == 0;
        ck_assert_msg(there == (k == 2), "after %d of 3 states the manifest is %s", (int)k + 1,
                      there ? "written" : "missing");
    }
    int64_t start = 0;
    ck_assert_int_eq(dgcn_ckpt_resume(&c, 7, &start), 0);
    ck_assert_int_eq(start, 2);
    dgcn_ctl_msg msgs[3];
    memset(msgs, 0, sizeof msgs);
    ck_assert_int_eq(dgcn_ckpt_states_read(&c, 2, 4, msgs), 0);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(msgs[k].u.state.agent, k);
        ck_assert(msgs[k].u.state.n_vec == 4 && msgs[k].u.state.vec[3] == 4.0f);
        dgcn_ctl_msg_fini(&msgs[k]);
    }
    dgcn_ckpt_fini(&c);
    s_rm_rf(dir);
}
END_TEST

/* A 2 GiB model file (sparse: no such model exists) is refused from its header, without reading
 * it into memory: the child's peak resident size stays far below the file's size. */
START_TEST(test_predict_huge_model) {
    char *out = malloc(S_OUT_CAP), dir[128], model[192];
    s_mkdtemp(dir, sizeof dir, "huge");
    snprintf(model, sizeof model, "%s/model", dir);
    int fd = open(model, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, INT64_C(2) << 30), 0);
    close(fd);
    char *predict[] = {DGCN_BINARY, "predict", "--model", model, S_GEN, NULL};
    int st = s_run(predict, out, 60);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    ck_assert_msg(st == 1 && strstr(out, model), "a 2 GiB model: exit %d:\n%.2000s", st, out);
    ck_assert_msg(ru.ru_maxrss < 512 * 1024, "predict of a 2 GiB model peaked at %ld kB resident",
                  ru.ru_maxrss);
    s_rm_rf(dir);
    free(out);
}
END_TEST

/* A bad option value is a usage error (exit 2) whose message names the option, its range and the
 * value, and nothing is written. */
START_TEST(test_generate_bad_value) {
    char *out = malloc(S_OUT_CAP), dir[128], path[160];
    s_mkdtemp(dir, sizeof dir, "gen");
    snprintf(path, sizeof path, "%s/g", dir);
    char *range[] = {DGCN_BINARY, "generate", "--out", path, "--homophily", "2", NULL};
    int st = s_run(range, out, 30);
    ck_assert_msg(st == 2, "generate --homophily 2 exited %d:\n%s", st, out);
    ck_assert_msg(strstr(out, "--homophily must be in [0, 1], got 2"), "message:\n%s", out);
    char *type[] = {DGCN_BINARY, "generate", "--out", path, "--nodes=12abc", NULL};
    st = s_run(type, out, 30);
    ck_assert_msg(st == 2, "generate --nodes=12abc exited %d:\n%s", st, out);
    ck_assert_msg(strstr(out, "--nodes expects an integer, got '12abc'"), "message:\n%s", out);
    struct stat sb;
    ck_assert_msg(stat(path, &sb) != 0, "%s was created", path);
    s_rm_rf(dir);
    free(out);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"verify_inproc", test_verify_inproc, 0, 120},
        {"verify_zmq", test_verify_zmq, 0, 120},
        {"verify_mpi", test_verify_mpi, 0, 120},
        {"stopped_job_blames_nobody", test_stopped_job_blames_nobody, 2, 60},
        {"kill_mpi_agent_named", test_kill_mpi_agent_named, 0, 90},
        {"verify_cora_partitioners", test_verify_cora_partitioners, 0, 240},
        {"verify_filter_orders", test_verify_filter_orders, 0, 120},
        {"verify_missing_link", test_verify_missing_link, 0, 60},
        {"verify_relay", test_verify_relay, 3, 120},
        {"kill_agent_mid_train", test_kill_agent_mid_train, 0, 90},
        {"interrupt_mid_train", test_interrupt_mid_train, 0, 90},
        {"stopped_agent_named", test_stopped_agent_named, 0, 150},
        {"train_flags_centralized_by_construction", test_train_flags_centralized_by_construction, 0,
         120},
        {"train_flags_effectively_centralized", test_train_flags_effectively_centralized, 0, 120},
        {"train_deadline_follows_work", test_train_deadline_follows_work, 0, 120},
        {"train_transports_agree", test_train_transports_agree, 0, 240},
        {"train_dynamic_links", test_train_dynamic_links, 0, 240},
        {"train_compress_halo", test_train_compress_halo, 0, 240},
        {"verify_compress_halo", test_verify_compress_halo, 3, 120},
        {"verify_trained_model", test_verify_trained_model, 0, 120},
        {"train_agent_loss_continue", test_train_agent_loss_continue, 0, 240},
        {"train_agent_stall_continue", test_train_agent_stall_continue, 0, 240},
        {"train_agent_loss_refused", test_train_agent_loss_refused, 0, 120},
        {"train_tcp_stranger", test_train_tcp_stranger, 0, 240},
        {"train_shard_files", test_train_shard_files, 0, 120},
        {"train_per_agent_seeds", test_train_per_agent_seeds, 0, 120},
        {"generate_bad_value", test_generate_bad_value, 0, 30},
        {"run_dir_guarded", test_run_dir_guarded, 0, 120},
        {"train_disk_full", test_train_disk_full, 0, 60},
        {"sigterm_post_processing", test_sigterm_post_processing, 0, 90},
        {"train_model_predict", test_train_model_predict, 0, 120},
        {"resume_inproc", test_resume_inproc, 0, 240},
        {"resume_compressed", test_resume_compressed, 3, 300},
        {"train_compressed_transports", test_train_compressed_transports, 3, 300},
        {"resume_options", test_resume_options, 0, 240},
        {"resume_zmq", test_resume_zmq, 0, 240},
        {"resume_mpi", test_resume_mpi, 0, 240},
        {"resume_compress_halo", test_resume_compress_halo, 0, 240},
        {"regression_transports", test_regression_transports, 3, 240},
        {"verify_regression", test_verify_regression, 3, 120},
        {"resume_regression_inproc", test_resume_regression_inproc, 0, 240},
        {"resume_regression_zmq", test_resume_regression_zmq, 0, 240},
        {"resume_regression_mpi", test_resume_regression_mpi, 0, 240},
        {"checkpoint_disk_full", test_checkpoint_disk_full, 0, 60},
        {"sealed_files", test_sealed_files, 0, 240},
        {"predict_huge_model", test_predict_huge_model, 0, 60},
        {"ckpt_manifest_waits_for_all", test_ckpt_manifest_waits_for_all, 0, 30},
    };
    return DGCN_TEST_SUITE("e2e", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
