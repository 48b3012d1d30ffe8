/* coordinator/rundir.c: run directories, JSON output and plots (gnuplot run by fork and exec with
 * an argument vector: no shell ever sees a path). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "coordinator/rundir.h"

#include "core/error.h"
#include "core/file.h"
#include "core/signal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int dgcn_rundir_make(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return dgcn_error_set(DGCN_EINVAL, "run directory path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return dgcn_error_set(DGCN_EIO, "cannot create directory %s: %s", buf,
                                      strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return dgcn_error_set(DGCN_EIO, "%s exists and is not a directory", path);
    return DGCN_OK;
}

/* 1 when dir has an entry other than . and .., 0 when not, -1 with errno when it cannot be read. */
static int s_has_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int any = 0;
    while (!any && (e = readdir(d)))
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return any;
}

/* nftw callback emptying a directory: removes everything below the root (level 0), depth first. */
static int s_clear_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    if (ftw->level == 0) return 0;
    if (remove(path) != 0) {
        dgcn_error_set(DGCN_EIO, "--force: cannot remove %s: %s", path, strerror(errno));
        return 1;
    }
    return 0;
}

int dgcn_rundir_prepare(const char *dir, int force) {
    int rc = DGCN_OK;
    struct stat st;
    if (lstat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return dgcn_error_set(DGCN_EINVAL, "run directory %s exists and is not a directory",
                                  dir);
        int any = s_has_entries(dir);
        if (any < 0) return dgcn_error_set(DGCN_EIO, "cannot read %s: %s", dir, strerror(errno));
        if (any && !force)
            return dgcn_error_set(DGCN_EINVAL,
                                  "run directory %s is not empty (choose another --out, or "
                                  "--force to clear it)",
                                  dir);
        if (any) {
            char cfg[4096];
            snprintf(cfg, sizeof cfg, "%s/config.json", dir);
            if (lstat(cfg, &st) != 0 || !S_ISREG(st.st_mode))
                return dgcn_error_set(DGCN_EINVAL,
                                      "--force: %s has no config.json, so it is not a run "
                                      "directory; not clearing it",
                                      dir);
            dgcn_error_clear();
            if (nftw(dir, s_clear_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
                return dgcn_error_msg()[0]
                           ? DGCN_EIO
                           : dgcn_error_set(DGCN_EIO, "--force: cannot clear %s: %s", dir,
                                            strerror(errno));
        }
    }
    DGCN_CHECK(dgcn_rundir_make(dir));
    if (chmod(dir, 0700) != 0)
        return dgcn_error_set(DGCN_EIO, "cannot make %s private (chmod 0700): %s", dir,
                              strerror(errno));
fail:
    return rc;
}

int dgcn_rundir_fopen(const char *dir, const char *name, const char *mode, FILE **out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode[0] == 'a' ? O_APPEND : O_TRUNC);
    int fd = open(path, flags, 0600);
    *out = fd < 0 ? NULL : fdopen(fd, mode[0] == 'a' ? "a" : "w");
    if (!*out) {
        int e = errno;
        if (fd >= 0) { /* opened (perhaps created) but no stream: leave no file behind */
            close(fd);
            if (mode[0] != 'a') unlink(path);
        }
        return dgcn_error_set(DGCN_EIO, "cannot open %s: %s", path, strerror(e));
    }
    return DGCN_OK;
}

int dgcn_rundir_fflush(FILE *f, const char *dir, const char *name) {
    errno = 0;
    if (fflush(f) != 0 || ferror(f))
        return dgcn_error_set(DGCN_EIO, "%s/%s: write failed: %s", dir, name,
                              errno ? strerror(errno) : "error on an earlier write");
    return DGCN_OK;
}

int dgcn_rundir_fclose(FILE **f, const char *dir, const char *name) {
    if (!*f) return DGCN_OK;
    errno = 0;
    int bad = fflush(*f) != 0 || ferror(*f);
    int e = errno;
    if (fclose(*f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    *f = NULL;
    if (bad)
        return dgcn_error_set(DGCN_EIO, "%s/%s: write failed: %s", dir, name,
                              e ? strerror(e) : "error on an earlier write");
    return DGCN_OK;
}

int dgcn_rundir_fopen_tmp(const char *dir, const char *name, FILE **out) {
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    return dgcn_rundir_fopen(dir, tmp, "w", out);
}

int dgcn_rundir_commit(FILE **f, const char *dir, const char *name) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    errno = 0;
    int bad = fflush(*f) != 0 || ferror(*f) || fsync(fileno(*f)) != 0;
    int e = errno;
    if (fclose(*f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    *f = NULL;
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        return dgcn_error_set(DGCN_EIO, "%s: write failed: %s", path,
                              e ? strerror(e) : "error on an earlier write");
    }
    return DGCN_OK;
}

int dgcn_rundir_sync(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return dgcn_error_set(DGCN_EIO, "%s: cannot sync the directory: %s", dir, strerror(e));
    }
    close(fd);
    return DGCN_OK;
}

void dgcn_rundir_discard(FILE **f, const char *dir, const char *name) {
    char tmp[4200];
    if (*f) fclose(*f);
    *f = NULL;
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    unlink(tmp);
}

static void s_key(dgcn_json *j, const char *key) {
    if (j->n++) fputc(',', j->f);
    if (key) fprintf(j->f, "\"%s\":", key);
}

void dgcn_json_begin(dgcn_json *j, FILE *f) {
    j->f = f;
    j->n = 0;
    j->depth = 0;
    fputc('{', f);
}

void dgcn_json_end(dgcn_json *j) {
    fputc('}', j->f);
    if (j->depth == 0) {
        fputc('\n', j->f);
    } else {
        j->depth--;
        j->n = 1;
    }
}

void dgcn_json_object(dgcn_json *j, const char *key) {
    s_key(j, key);
    fputc('{', j->f);
    j->depth++;
    j->n = 0;
}

void dgcn_json_num(dgcn_json *j, const char *key, double v) {
    s_key(j, key);
    if (isfinite(v)) fprintf(j->f, "%.9g", v);
    else fputs("null", j->f);
}

void dgcn_json_int(dgcn_json *j, const char *key, long long v) {
    s_key(j, key);
    fprintf(j->f, "%lld", v);
}

void dgcn_json_bool(dgcn_json *j, const char *key, int v) {
    s_key(j, key);
    fputs(v ? "true" : "false", j->f);
}

void dgcn_json_u64(dgcn_json *j, const char *key, uint64_t v) {
    s_key(j, key);
    fprintf(j->f, "%" PRIu64, v);
}

void dgcn_json_real_text(double v, int is_float, char *buf, size_t cap) {
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, cap, "%.*g", digits, v);
        double back = strtod(buf, NULL);
        if (is_float ? (float)back == (float)v : back == v) return;
    }
}

static void s_real(dgcn_json *j, const char *key, double v, int is_float) {
    s_key(j, key);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    char buf[40];
    dgcn_json_real_text(v, is_float, buf, sizeof buf);
    fputs(buf, j->f);
}

void dgcn_json_real(dgcn_json *j, const char *key, double v) { s_real(j, key, v, 0); }

void dgcn_json_real_f(dgcn_json *j, const char *key, float v) { s_real(j, key, v, 1); }

void dgcn_json_str(dgcn_json *j, const char *key, const char *v) {
    s_key(j, key);
    fputc('"', j->f);
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(j->f, "\\%c", *p);
        else if ((unsigned char)*p < 0x20) fprintf(j->f, "\\u%04x", *p);
        else fputc(*p, j->f);
    }
    fputc('"', j->f);
}

void dgcn_json_num_array(dgcn_json *j, const char *key, const double *v, int n) {
    s_key(j, key);
    fputc('[', j->f);
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', j->f);
        if (isfinite(v[i])) fprintf(j->f, "%.9g", v[i]);
        else fputs("null", j->f);
    }
    fputc(']', j->f);
}

/* The absolute path of an executable file named prog in one of $PATH's folders (a relative
 * folder is taken from the working directory: the child changes it before exec), into buf; 0 when
 * none. */
static int s_find_in_path(const char *prog, char *buf, size_t cap) {
    const char *path = getenv("PATH");
    char cwd[4096];
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;;) {
        size_t n = strcspn(p, ":");
        struct stat st;
        int rel = p[0] != '/';
        if (n > 0 && (!rel || getcwd(cwd, sizeof cwd)) &&
            snprintf(buf, cap, "%s%s%.*s/%s", rel ? cwd : "", rel ? "/" : "", (int)n, p, prog) <
                (int)cap &&
            stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
            return 1;
        if (!p[n]) return 0;
        p += n + 1;
    }
}

/* 1 when path is a whole PNG: it ends with the IEND chunk, which a cut file lacks. */
static int s_png_complete(const char *path) {
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    unsigned char tail[12];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    off_t end = lseek(fd, 0, SEEK_END);
    int ok = end >= 20 && pread(fd, tail, sizeof tail, end - 12) == 12 &&
             !memcmp(tail, iend, sizeof iend);
    close(fd);
    return ok;
}

/* The child's side of s_gnuplot, between fork and exec: only async-signal-safe calls. Private
 * output (umask 077), plots/ as its working directory, the log as stdout and stderr, no signal
 * blocked and SIGXFSZ, SIGPIPE, SIGTERM and SIGINT at their defaults (a file size limit then ends
 * it with SIGXFSZ instead of leaving a cut file).
 * An exec that fails sends errno up the pipe. */
static void s_gnuplot_child(const char *exe, const char *plots, const char *file, int log_fd,
                            int err_fd) {
    umask(077);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGXFSZ, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    int in = open("/dev/null", O_RDONLY);
    if (in < 0 || chdir(plots) != 0 || dup2(in, 0) < 0 || dup2(log_fd, 1) < 0 ||
        dup2(log_fd, 2) < 0) {
        int e = errno;
        if (write(err_fd, &e, sizeof e) < 0) _exit(127);
        _exit(127);
    }
    char *const argv[] = {(char *)"gnuplot", (char *)file, NULL};
    execv(exe, argv);
    int e = errno;
    if (write(err_fd, &e, sizeof e) < 0) _exit(127);
    _exit(127);
}

/* Appends a line to plots/gnuplot.log (best effort: the caller reports the failure itself). */
static void s_log_note(int log_fd, const char *text) {
    if (log_fd >= 0 && write(log_fd, text, strlen(text)) < 0) return;
}

/* Kills the child: SIGTERM, then SIGKILL when it has not ended within a second; reaps it. */
static void s_stop_child(pid_t pid) {
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

/* Runs `gnuplot FILE` (exe) in plots/ with its messages appended to plots/gnuplot.log, without a
 * shell, waiting for it while watching the stop flag (core/signal.h): a signal kills it and returns
 * DGCN_EINTR. A gnuplot that exits non-zero (the script or its data: *status, with a note on stderr
 * and in the log) returns DGCN_OK; one that cannot start, is killed or leaves png cut (a full disk)
 * is DGCN_EIO naming the script and the log. The caller removes png unless both are 0. */
static int s_gnuplot(const char *exe, const char *plots, const char *file, const char *png,
                     int *status) {
    char log_path[4200], note[13400];
    snprintf(log_path, sizeof log_path, "%s/gnuplot.log", plots);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0)
        return dgcn_error_set(DGCN_EIO, "cannot open %s: %s", log_path, strerror(errno));
    int err[2] = {-1, -1};
    if (pipe(err) != 0 || fcntl(err[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(err[1], F_SETFD, FD_CLOEXEC) != 0) {
        int e = errno;
        if (err[0] >= 0) close(err[0]);
        if (err[1] >= 0) close(err[1]);
        close(log_fd);
        return dgcn_error_set(DGCN_EIO, "gnuplot: cannot make a pipe: %s", strerror(e));
    }
    pid_t pid = fork();
    if (pid == 0) s_gnuplot_child(exe, plots, file, log_fd, err[1]);
    int fork_errno = errno;
    close(err[1]);
    int rc = DGCN_OK, st = 0, child_errno = 0;
    *status = 0;
    if (pid < 0) {
        rc = dgcn_error_set(DGCN_EIO, "gnuplot: cannot start %s: %s", exe, strerror(fork_errno));
        goto done;
    }
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            rc = dgcn_error_set(DGCN_EIO, "gnuplot: cannot wait for it: %s", strerror(errno));
            goto done;
        }
        if (*dgcn_signal_flag()) {
            s_stop_child(pid);
            rc = dgcn_signal_check("the plot");
            snprintf(note, sizeof note, "dgcn: gnuplot %s stopped: %s\n", file, dgcn_error_msg());
            s_log_note(log_fd, note);
            goto done;
        }
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    if (read(err[0], &child_errno, sizeof child_errno) == (ssize_t)sizeof child_errno) {
        rc = dgcn_error_set(DGCN_EIO, "gnuplot: cannot run %s on %s/%s: %s", exe, plots, file,
                            strerror(child_errno));
    } else if (WIFSIGNALED(st)) {
        rc = dgcn_error_set(DGCN_EIO, "gnuplot on %s/%s was killed by signal %d (%s); see %s",
                            plots, file, WTERMSIG(st), strsignal(WTERMSIG(st)), log_path);
    } else if (WEXITSTATUS(st) != 0) {
        *status = WEXITSTATUS(st); /* the script or its data: a note, the run is not failed */
        snprintf(note, sizeof note,
                 "note: gnuplot on %s/%s exited with status %d, so %s is not drawn; see %s\n",
                 plots, file, *status, png, log_path);
        fputs(note, stderr);
        s_log_note(log_fd, note);
    } else if (!s_png_complete(png)) {
        rc = dgcn_error_set(DGCN_EIO,
                            "gnuplot on %s/%s left %s missing or cut (a full disk?); see %s", plots,
                            file, png, log_path);
    }
    if (rc) {
        snprintf(note, sizeof note, "dgcn: %s\n", dgcn_error_msg());
        s_log_note(log_fd, note);
    }
done:
    close(err[0]);
    close(log_fd);
    return rc;
}

int dgcn_rundir_plot(const char *dir, const char *name, const char *script) {
    int rc;
    char plots[4096], exe[4096], png[4400], note[8600];
    FILE *f = NULL;
    snprintf(plots, sizeof plots, "%s/plots", dir);
    DGCN_CHECK(dgcn_rundir_make(plots));
    char file[300];
    snprintf(file, sizeof file, "%s.gp", name);
    DGCN_CHECK(dgcn_rundir_fopen(plots, file, "w", &f));
    fputs(script, f);
    DGCN_CHECK(dgcn_rundir_fclose(&f, plots, file));
    if (!s_find_in_path("gnuplot", exe, sizeof exe)) {
        snprintf(note, sizeof note,
                 "note: gnuplot not found in PATH; plot script left in %s/%s (run launch/setup.sh, "
                 "then cd to that folder and run gnuplot %s)\n",
                 plots, file, file);
        fputs(note, stderr);
        DGCN_CHECK(dgcn_rundir_fopen(plots, "gnuplot.log", "a", &f));
        fputs(note, f);
        return dgcn_rundir_fclose(&f, plots, "gnuplot.log");
    }
    DGCN_CHECK(dgcn_signal_check("the plots"));
    snprintf(png, sizeof png, "%s/%s.png", plots, name);
    int status = 0;
    rc = s_gnuplot(exe, plots, file, png, &status);
    if (rc || status) {
        unlink(png); /* no cut or partial figure is left behind */
        return rc;   /* DGCN_OK after a non-zero status: noted */
    }
    if (chmod(png, 0600) != 0)
        return dgcn_error_set(DGCN_EIO, "cannot make %s private (chmod 0600): %s", png,
                              strerror(errno));
    return DGCN_OK;
fail:
    if (f) fclose(f);
    return rc;
}

void dgcn_mean_std(const double *v, int n, double *mean, double *std) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += v[i];
    double m = n ? s / n : 0;
    for (int i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *std = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

static int s_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double dgcn_median(double *v, int n) {
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, s_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int dgcn_rundir_read(const char *path, int64_t max, char **out, int64_t *size) {
    int rc = DGCN_OK;
    FILE *f = NULL;
    int64_t n = 0;
    *out = NULL;
    DGCN_CHECK(dgcn_file_open_read(path, max, &f, &n));
    DGCN_ALLOC(*out, n + 1);
    if (n > 0 && fread(*out, 1, (size_t)n, f) != (size_t)n)
        DGCN_CHECK(dgcn_error_set(DGCN_EIO, "%s: read failed", path));
    (*out)[n] = '\0';
    if (size) *size = n;
fail:
    if (f) fclose(f);
    if (rc != DGCN_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

double dgcn_json_find_num(const char *text, const char *key) {
    char q[80];
    snprintf(q, sizeof q, "\"%s\":", key);
    const char *p = strstr(text, q);
    if (!p) return NAN;
    char *end;
    double v = strtod(p + strlen(q), &end);
    return end == p + strlen(q) ? NAN : v;
}
