/* tests/test_stop.c: one stop path. SIGINT or SIGTERM during a long computation (the topology
 * design at 400 agents and inside one 2,708-agent eigendecomposition, the budget design's
 * eigensolves, planning inside train, the centralized baseline's epochs) ends dgcn with 128 + the signal's number within a bound, names the phase it
 * interrupted, and leaves no summary.json (docs/rundir.md). */
#include "testproc.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_OUT_CAP (1 << 16)
/* How long a signalled dgcn may take to exit. One ADMM iteration at 400 agents (a 400 x 400
 * dsyevd and dgemm) takes about 50 ms on one core; the bound leaves room for a sanitizer build
 * and a loaded machine. Without the checks the design ran for minutes. */
#define S_STOP_MS 5000.0

/* Collects output until the process exits (its status, 128 + N when killed by signal N; fd is then
 * closed), `until` appears or until_ms passes (-1, still running). */
static int s_wait(pid_t pid, int fd, char *out, size_t *len, double until_ms, const char *until) {
    return dgcn_test_collect(pid, fd, out, len, S_OUT_CAP, until_ms, until);
}

/* Runs argv, sends sig delay_ms after start (after `marker` appears in the output, when given), and
 * checks: exit status 128 + sig within S_STOP_MS, the output naming the signal and `phase`. */
static void s_signal_run(char *const argv[], int delay_ms, const char *marker, int sig,
                         const char *phase) {
    char *out = calloc(S_OUT_CAP, 1);
    size_t len = 0;
    int fd;
    unsetenv("ASAN_OPTIONS");
    pid_t pid = dgcn_test_start(argv, NULL, &fd);
    int st = -1;
    if (marker) st = s_wait(pid, fd, out, &len, dgcn_test_now_ms() + 60000, marker);
    if (st == -1) st = s_wait(pid, fd, out, &len, dgcn_test_now_ms() + delay_ms, NULL);
    ck_assert_msg(st == -1, "%s %s ended (%d) before the signal:\n%s", argv[1], argv[2], st, out);
    double t0 = dgcn_test_now_ms();
    kill(pid, sig);
    st = s_wait(pid, fd, out, &len, t0 + S_STOP_MS, NULL);
    double took = dgcn_test_now_ms() - t0;
    if (st == -1) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(fd);
    }
    ck_assert_msg(st == 128 + sig, "exit status %d, %.0f ms after signal %d (bound %.0f ms):\n%s",
                  st, took, sig, S_STOP_MS, out);
    char want[128];
    snprintf(want, sizeof want, "interrupted by signal %d (%s) during %s", sig,
             sig == SIGINT ? "SIGINT" : "SIGTERM", phase);
    ck_assert_msg(strstr(out, want), "the output does not say '%s':\n%s", want, out);
    fprintf(stderr, "%s %s: exit %d %.0f ms after signal %d\n", argv[1], argv[2], st, took, sig);
    free(out);
}

static void s_mkdtemp(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "/tmp/dgcn-stop-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* Removes dir and the files directly in it and in its subfolders (one level deep suffices here). */
static void s_rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) s_rm_dir(path);
        else unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int s_exists(const char *dir, const char *name) {
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* SIGTERM while `dgcn topology generate --kind designed` designs the topology of 400 agents
 * (before: the ADMM ran on, dozens of 400 x 400 eigendecompositions a second, for minutes). */
START_TEST(test_design_sigterm) {
    char data[1024];
    if (!dgcn_test_dataset("cora", data, sizeof data)) return;
    char *argv[] = {DGCN_BINARY, "topology", "generate", "--kind", "designed",
                    "--data",    data,       "--agents", "400",    NULL};
    s_signal_run(argv, 1500, NULL, SIGTERM, "the topology design");
}
END_TEST

/* SIGTERM during one 2,708 x 2,708 eigendecomposition of the design (about 10 s each here; a
 * LAPACK call cannot look at the flag, so the process ends inside it, at once: before, the stop
 * waited for the call to return, 13.6 s after the signal in one try). */
START_TEST(test_design_eigensolve_sigterm) {
    char data[1024];
    if (!dgcn_test_dataset("cora", data, sizeof data)) return;
    char *argv[] = {DGCN_BINARY, "topology", "generate", "--kind", "designed",
                    "--data",    data,       "--agents", "2708",   NULL};
    s_signal_run(argv, 4000, NULL, SIGTERM, "the topology design");
}
END_TEST

/* SIGTERM during the budget design of 3,000 agents (one Lanczos eigensolve after another; no
 * dataset needed): the Lanczos steps look at the flag. */
START_TEST(test_budget_sigterm) {
    char *argv[] = {DGCN_BINARY,    "topology", "generate", "--kind",
                    "sparse:20000", "--agents", "3000",     NULL};
    s_signal_run(argv, 1500, NULL, SIGTERM, "");
}
END_TEST

/* The same design inside `dgcn train --topology designed`: SIGTERM while the run is planned
 * exits 143 and leaves no summary.json in the run directory. */
START_TEST(test_train_design_sigterm) {
    char data[1024], dir[128];
    if (!dgcn_test_dataset("cora", data, sizeof data)) return;
    s_mkdtemp(dir, sizeof dir, "train");
    char *argv[] = {DGCN_BINARY, "train",    "--transport", "inproc",     "--data",
                    data,        "--agents", "400",         "--topology", "designed",
                    "--out",     dir,        "--force",     NULL};
    s_signal_run(argv, 2000, NULL, SIGTERM, "the topology design");
    ck_assert_msg(!s_exists(dir, "summary.json"), "summary.json in %s after SIGTERM", dir);
    s_rm_dir(dir);
}
END_TEST

/* train's default topology (auto) at 400 agents is the budget design, not the ADMM design that
 * takes minutes there: planning and one iteration finish well within the bound, and config.json
 * records the spec used. */
START_TEST(test_train_default_topology_scales) {
    char data[1024], dir[128];
    if (!dgcn_test_dataset("cora", data, sizeof data)) return;
    s_mkdtemp(dir, sizeof dir, "auto");
    char *argv[] = {DGCN_BINARY, "train", "--transport",    "inproc", "--data",  data,
                    "--agents",  "400",   "--iters",        "1",      "--quiet", "--force",
                    "--out",     dir,     "--no-baselines", NULL};
    char *out = calloc(S_OUT_CAP, 1);
    size_t len = 0;
    int fd;
    unsetenv("ASAN_OPTIONS");
    pid_t pid = dgcn_test_start(argv, NULL, &fd);
    int st = s_wait(pid, fd, out, &len, dgcn_test_now_ms() + 45000, NULL);
    if (st == -1) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(fd);
    }
    ck_assert_msg(st == 0,
                  "train with the default topology at 400 agents: status %d after 45 s "
                  "(-1: still running, e.g. designing):\n%s",
                  st, out);
    char path[256], cfg[16384];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    cfg[fread(cfg, 1, sizeof cfg - 1, f)] = '\0';
    fclose(f);
    ck_assert_msg(strstr(cfg, "\"topology\":\"budget:100\""), "config.json: %.300s", cfg);
    free(out);
    s_rm_dir(dir);
}
END_TEST

/* SIGINT while `dgcn baseline` trains for many epochs: exit 130 within the bound, no
 * summary.json. */
START_TEST(test_baseline_sigint) {
    char dir[128];
    s_mkdtemp(dir, sizeof dir, "base");
    char *argv[] = {DGCN_BINARY, "baseline", "--nodes", "2000", "--seeds", "1",
                    "--epochs",  "1000000",  "--out",   dir,    "--force", NULL};
    s_signal_run(argv, 1000, "dataset ", SIGINT, "the centralized baseline");
    ck_assert_msg(!s_exists(dir, "summary.json"), "summary.json in %s after SIGINT", dir);
    s_rm_dir(dir);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"design_sigterm", test_design_sigterm, 0, 60},
        {"design_eigensolve_sigterm", test_design_eigensolve_sigterm, 0, 60},
        {"budget_sigterm", test_budget_sigterm, 0, 60},
        {"train_design_sigterm", test_train_design_sigterm, 0, 60},
        {"train_default_topology_scales", test_train_default_topology_scales, 0, 60},
        {"baseline_sigint", test_baseline_sigint, 0, 90},
    };
    return DGCN_TEST_SUITE("stop", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
