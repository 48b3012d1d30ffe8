/* tests/test_rundir.c: the run directory as an attacker and an operator see it: gnuplot started
 * without a shell (a --out full of quotes, $() and spaces runs nothing), its failures reported
 * (missing, failing, a full disk: no cut PNG, no summary.json), SIGINT and SIGTERM while it runs
 * honoured (128 + N, no summary.json), and every file and folder that train, baseline and study
 * write private (files 0600, folders 0700). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "testproc.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_OUT_CAP (1 << 16)

/* How the next s_start runs its process: a file size limit (bytes, 0: none) and a PATH (NULL: the
 * test's own). */
static rlim_t s_fsize;
static const char *s_path_env;

/* Starts dgcn with args in its own process group, stdout and stderr on a pipe (*fd). */
static pid_t s_start(const char *const *args, int *fd) {
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)DGCN_BINARY;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = (char *)args[i];
    argv[n] = NULL;
    dgcn_test_child c = {.fsize = s_fsize, .path = s_path_env};
    return dgcn_test_start(argv, &c, fd);
}

/* Collects output into out until the process exits (its status, 128 + N when killed by signal N)
 * or until_ms passes (-1). */
static int s_collect(pid_t pid, int fd, char *out, size_t *len, double until_ms) {
    return dgcn_test_collect(pid, fd, out, len, S_OUT_CAP, until_ms, NULL);
}

/* Runs dgcn args to completion within timeout_s (a failure otherwise); returns its status. */
static int s_run(const char *const *args, char *out, int timeout_s) {
    int fd;
    size_t len = 0;
    out[0] = '\0';
    pid_t pid = s_start(args, &fd);
    int st = s_collect(pid, fd, out, &len, dgcn_test_now_ms() + timeout_s * 1e3);
    if (st == -1) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(fd);
        ck_abort_msg("dgcn %s did not finish within %d s; output:\n%s", args[0], timeout_s, out);
    }
    return st;
}

static void s_mkdtemp(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "/tmp/dgcn-rundir-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static int s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void s_rm_rf(const char *dir) { nftw(dir, s_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static int s_exists(const char *dir, const char *name) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

/* The text of dir/name (empty when absent), at most cap - 1 bytes. */
static void s_slurp(const char *dir, const char *name, char *buf, size_t cap) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* 1 when dir/name ends with a PNG's IEND chunk. */
static int s_png_complete(const char *dir, const char *name) {
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    char path[4096];
    unsigned char tail[12];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int ok = fseek(f, -12, SEEK_END) == 0 && fread(tail, 1, 12, f) == 12 && !memcmp(tail, iend, 12);
    fclose(f);
    return ok;
}

/* Writes an executable dir/gnuplot with the shell script body, for a PATH of dir only. */
static void s_fake_gnuplot(const char *dir, const char *body) {
    char path[4096];
    snprintf(path, sizeof path, "%s/gnuplot", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/sh\nPATH=/usr/bin:/bin\n%s\n", body);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0700), 0);
}

static int s_have_gnuplot(void) {
    const char *path = getenv("PATH");
    char buf[4096];
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)n, p);
        if (access(buf, X_OK) == 0) return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

#define S_GEN "--nodes", "300", "--val", "50", "--test", "100", "--features", "50"
#define S_BASELINE "baseline", S_GEN, "--seeds", "1", "--epochs", "5", "--quiet"

/* --out with single quotes, $(...) and spaces: no shell ever sees it, so the command substitution
 * creates no file; the run and its plot are written as usual. */
START_TEST(test_out_no_shell) {
    if (!s_have_gnuplot()) {
        printf("rundir: skip out_no_shell: gnuplot not installed\n");
        return;
    }
    char *out = malloc(S_OUT_CAP), base[128], dir[1024], marker[256], plots[1100];
    s_mkdtemp(base, sizeof base, "shell");
    snprintf(marker, sizeof marker, "%s/PWNED", base);
    snprintf(dir, sizeof dir, "%s/a b'$(touch %s)'\"$(touch %s)\" `touch %s` c", base, marker,
             marker, marker);
    const char *args[] = {S_BASELINE, "--out", dir, NULL};
    int st = s_run(args, out, 60);
    ck_assert_msg(st == 0, "baseline exited %d:\n%s", st, out);
    ck_assert_msg(access(marker, F_OK) != 0, "%s exists: --out ran through a shell", marker);
    snprintf(plots, sizeof plots, "%s/plots", dir);
    ck_assert_msg(s_png_complete(plots, "baseline.png"), "no complete %s/baseline.png:\n%s", plots,
                  out);
    ck_assert(s_exists(dir, "summary.json"));
    s_rm_rf(base);
    free(out);
}
END_TEST

/* A gnuplot that fails (exit 3: the script or its data) is a note, on stderr and in gnuplot.log,
 * naming the script, its status and the log; the command succeeds without that PNG. */
START_TEST(test_plot_fails) {
    char *out = malloc(S_OUT_CAP), base[128], dir[256], bin[256], buf[4096];
    s_mkdtemp(base, sizeof base, "fails");
    snprintf(bin, sizeof bin, "%s/bin", base);
    snprintf(dir, sizeof dir, "%s/run", base);
    ck_assert_int_eq(mkdir(bin, 0700), 0);
    s_fake_gnuplot(bin, "echo 'line 1: bad' >&2; : > baseline.png; exit 3");
    s_path_env = bin;
    const char *args[] = {S_BASELINE, "--out", dir, NULL};
    int st = s_run(args, out, 60);
    s_path_env = NULL;
    ck_assert_msg(st == 0, "baseline with a failing gnuplot exited %d:\n%s", st, out);
    ck_assert_msg(strstr(out, "baseline.gp exited with status 3") && strstr(out, "gnuplot.log"),
                  "no note names the script's status and the log:\n%s", out);
    s_slurp(dir, "plots/gnuplot.log", buf, sizeof buf);
    ck_assert_msg(strstr(buf, "line 1: bad") && strstr(buf, "exited with status 3"),
                  "gnuplot.log: '%s'", buf);
    ck_assert_msg(!s_exists(dir, "plots/baseline.png"), "a failed plot's PNG is left");
    ck_assert(s_exists(dir, "summary.json"));
    s_rm_rf(base);
    free(out);
}
END_TEST

/* gnuplot found through a relative PATH folder still runs after the child changes to plots/ (the
 * path is made absolute first), in plots/, and its complete PNG is kept and made private. */
START_TEST(test_plot_relative_path) {
    char *out = malloc(S_OUT_CAP), base[128], dir[256], bin[256], cwd[4096], rel[8192];
    s_mkdtemp(base, sizeof base, "relpath");
    snprintf(bin, sizeof bin, "%s/bin", base);
    snprintf(dir, sizeof dir, "%s/run", base);
    ck_assert_int_eq(mkdir(bin, 0700), 0);
    s_fake_gnuplot(bin, "printf '\\211PNG\\r\\n\\032\\n0123456789\\0\\0\\0\\0IEND\\256B`\\202' > "
                        "baseline.png");
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    size_t n = 0; /* "../" once per component of the working directory, then bin without its / */
    for (const char *p = cwd; *p; p++)
        if (*p == '/' && p[1]) n += (size_t)snprintf(rel + n, sizeof rel - n, "../");
    snprintf(rel + n, sizeof rel - n, "%s", bin + 1);
    s_path_env = rel;
    const char *args[] = {S_BASELINE, "--out", dir, NULL};
    int st = s_run(args, out, 60);
    s_path_env = NULL;
    ck_assert_msg(st == 0, "baseline with gnuplot in PATH folder %s exited %d:\n%s", rel, st, out);
    char plots[300];
    struct stat sb;
    snprintf(plots, sizeof plots, "%s/plots", dir);
    ck_assert_msg(s_png_complete(plots, "baseline.png"), "no baseline.png:\n%s", out);
    snprintf(plots, sizeof plots, "%s/plots/baseline.png", dir);
    ck_assert_int_eq(stat(plots, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 07777, 0600);
    s_rm_rf(base);
    free(out);
}
END_TEST

/* Without gnuplot the command succeeds with a note, on stderr and in gnuplot.log; the script is
 * there to render later. */
START_TEST(test_plot_missing) {
    char *out = malloc(S_OUT_CAP), base[128], dir[256], buf[4096];
    s_mkdtemp(base, sizeof base, "missing");
    snprintf(dir, sizeof dir, "%s/run", base);
    s_path_env = base; /* no gnuplot there */
    const char *args[] = {S_BASELINE, "--out", dir, NULL};
    int st = s_run(args, out, 60);
    s_path_env = NULL;
    ck_assert_msg(st == 0 && strstr(out, "gnuplot not found"), "exited %d:\n%s", st, out);
    s_slurp(dir, "plots/gnuplot.log", buf, sizeof buf);
    ck_assert_msg(strstr(buf, "gnuplot not found"), "gnuplot.log: '%s'", buf);
    ck_assert(s_exists(dir, "plots/baseline.gp"));
    ck_assert(s_exists(dir, "summary.json"));
    s_rm_rf(base);
    free(out);
}
END_TEST

/* A disk that fills up while gnuplot writes the PNG (file size limit 12 kB: the run's other files
 * fit, the ~30 kB PNG does not): status 1 naming the plot, no cut PNG, no summary.json. */
START_TEST(test_plot_disk_full) {
    if (!s_have_gnuplot()) {
        printf("rundir: skip plot_disk_full: gnuplot not installed\n");
        return;
    }
    char *out = malloc(S_OUT_CAP), base[128], dir[256];
    s_mkdtemp(base, sizeof base, "full");
    snprintf(dir, sizeof dir, "%s/run", base);
    const char *args[] = {S_BASELINE, "--out", dir, NULL};
    s_fsize = 12000;
    int st = s_run(args, out, 60);
    s_fsize = 0;
    ck_assert_msg(st == 1, "baseline on a full disk exited %d:\n%s", st, out);
    ck_assert_msg(strstr(out, "baseline.gp") && strstr(out, "gnuplot.log"),
                  "the error names neither the plot nor the log:\n%s", out);
    ck_assert_msg(!s_exists(dir, "plots/baseline.png"), "a cut baseline.png is left:\n%s", out);
    ck_assert_msg(!s_exists(dir, "summary.json"), "summary.json after a failed plot");
    s_rm_rf(base);
    free(out);
}
END_TEST

/* SIGTERM and SIGINT while gnuplot runs (a stand-in that sleeps): dgcn kills it, exits 128 + N
 * within a few seconds and leaves no summary.json and no PNG. */
START_TEST(test_plot_signal) {
    static const int sigs[2] = {SIGTERM, SIGINT};
    char *out = malloc(S_OUT_CAP), base[128], dir[256], bin[256], buf[64];
    for (int i = 0; i < 2; i++) {
        s_mkdtemp(base, sizeof base, "signal");
        snprintf(bin, sizeof bin, "%s/bin", base);
        snprintf(dir, sizeof dir, "%s/run", base);
        ck_assert_int_eq(mkdir(bin, 0700), 0);
        /* started holds the sleeping process's pid (exec keeps it) once it runs */
        s_fake_gnuplot(bin, ": > baseline.png; echo $$ > started.tmp; mv started.tmp started; "
                            "exec sleep 60");
        s_path_env = bin;
        const char *args[] = {S_BASELINE, "--out", dir, NULL};
        int fd;
        size_t len = 0;
        out[0] = '\0';
        pid_t pid = s_start(args, &fd);
        s_path_env = NULL;
        double until = dgcn_test_now_ms() + 30e3;
        while (!s_exists(dir, "plots/started") && dgcn_test_now_ms() < until) {
            int st = 0;
            ck_assert_msg(waitpid(pid, &st, WNOHANG) == 0, "dgcn ended before the plot (%d)", st);
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        }
        ck_assert_msg(s_exists(dir, "plots/started"), "the plot step never started");
        s_slurp(dir, "plots/started", buf, sizeof buf);
        pid_t plot_pid = (pid_t)atoi(buf);
        ck_assert_int_gt(plot_pid, 0);
        kill(pid, sigs[i]);
        int st = s_collect(pid, fd, out, &len, dgcn_test_now_ms() + 10e3);
        if (st == -1) {
            kill(-pid, SIGKILL);
            waitpid(pid, NULL, 0);
            ck_abort_msg("dgcn ignored signal %d during the plot:\n%s", sigs[i], out);
        }
        ck_assert_msg(st == 128 + sigs[i], "signal %d during the plot: exit %d:\n%s", sigs[i], st,
                      out);
        ck_assert_msg(kill(plot_pid, 0) != 0 && errno == ESRCH, "gnuplot %d still runs",
                      (int)plot_pid);
        ck_assert_msg(!s_exists(dir, "summary.json"), "summary.json after signal %d", sigs[i]);
        ck_assert_msg(!s_exists(dir, "plots/baseline.png"), "PNG left after signal %d", sigs[i]);
        s_slurp(dir, "plots/gnuplot.log", out, S_OUT_CAP);
        ck_assert_msg(strstr(out, "stopped"), "gnuplot.log: '%s'", out);
        s_rm_rf(base);
    }
    free(out);
}
END_TEST

/* Walks a tree: every regular file must be 0600 and every folder 0700. */
static char s_bad[8192];
static size_t s_nbad;
static int s_check_mode(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)flag;
    (void)ftw;
    mode_t m = st->st_mode & 07777;
    const char *want = S_ISDIR(st->st_mode) ? "0700" : S_ISREG(st->st_mode) ? "0600" : NULL;
    if (want && m != (S_ISDIR(st->st_mode) ? 0700 : 0600) && s_nbad + 300 < sizeof s_bad)
        s_nbad += (size_t)snprintf(s_bad + s_nbad, sizeof s_bad - s_nbad, "  %04o (want %s) %s\n",
                                   (unsigned)m, want, path);
    return 0;
}

static void s_assert_private(const char *dir, const char *what) {
    s_nbad = 0;
    s_bad[0] = '\0';
    ck_assert_int_eq(nftw(dir, s_check_mode, 16, FTW_PHYS), 0);
    ck_assert_msg(s_nbad == 0, "%s wrote entries that are not private:\n%s", what, s_bad);
}

/* train (with plan/ on disk and checkpoints), baseline and study write nothing readable by others,
 * whatever the umask. */
START_TEST(test_modes_private) {
    char *out = malloc(S_OUT_CAP), base[128], dir[256];
    mode_t old = umask(022);
    s_mkdtemp(base, sizeof base, "modes");
    snprintf(dir, sizeof dir, "%s/train", base);
    const char *train[] = {"train",
                           "--transport",
                           "inproc",
                           S_GEN,
                           "--agents",
                           "2",
                           "--iters",
                           "8",
                           "--eval-every",
                           "4",
                           "--quiet",
                           "--no-baselines",
                           "--shard-files",
                           "--checkpoint-every",
                           "4",
                           "--out",
                           dir,
                           NULL};
    int st = s_run(train, out, 60);
    ck_assert_msg(st == 0, "train exited %d:\n%s", st, out);
    ck_assert(s_exists(dir, "plan/manifest.txt") && s_exists(dir, "checkpoint"));
    s_assert_private(dir, "train");
    snprintf(dir, sizeof dir, "%s/baseline", base);
    const char *baseline[] = {S_BASELINE, "--out", dir, NULL};
    st = s_run(baseline, out, 60);
    ck_assert_msg(st == 0, "baseline exited %d:\n%s", st, out);
    s_assert_private(dir, "baseline");
    snprintf(dir, sizeof dir, "%s/study", base);
    const char *study[] = {
        "study",   S_GEN, "--agents",     "2", "--topologies", "ring", "--remove", "0",
        "--iters", "4",   "--eval-every", "2", "--timeout",    "60",   "--out",    dir,
        NULL};
    st = s_run(study, out, 120);
    ck_assert_msg(st == 0, "study exited %d:\n%s", st, out);
    s_assert_private(dir, "study");
    umask(old);
    s_rm_rf(base);
    free(out);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"out_no_shell", test_out_no_shell, 0, 60},
        {"plot_fails", test_plot_fails, 0, 60},
        {"plot_missing", test_plot_missing, 0, 60},
        {"plot_relative_path", test_plot_relative_path, 0, 60},
        {"plot_disk_full", test_plot_disk_full, 0, 60},
        {"plot_signal", test_plot_signal, 0, 90},
        {"modes_private", test_modes_private, 0, 180},
    };
    return DGCN_TEST_SUITE("rundir", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
