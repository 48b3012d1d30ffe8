/* coordinator/rundir.c: run directories, JSON output and plots. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "coordinator/rundir.h"

#include "core/error.h"
#include "core/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int dgcn_rundir_plot(const char *dir, const char *name, const char *script) {
    int rc;
    char plots[4096], cmd[8400];
    FILE *f = NULL;
    snprintf(plots, sizeof plots, "%s/plots", dir);
    DGCN_CHECK(dgcn_rundir_make(plots));
    char file[300];
    snprintf(file, sizeof file, "%s.gp", name);
    DGCN_CHECK(dgcn_rundir_fopen(plots, file, "w", &f));
    fputs(script, f);
    DGCN_CHECK(dgcn_rundir_fclose(&f, plots, file));
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr,
                "note: gnuplot not found; plot script left in %s/%s (run launch/setup.sh)\n", plots,
                file);
        return DGCN_OK;
    }
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot '%s' 2>gnuplot.log", plots, file);
    if (system(cmd) != 0)
        fprintf(stderr, "note: gnuplot failed on %s/%s (see %s/gnuplot.log)\n", plots, file, plots);
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
