/* coordinator/rundir.c: run directories, JSON output and plots. */
#include "coordinator/rundir.h"

#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int dgcn_rundir_make(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return dgcn_error_set(DGCN_EINVAL, "run directory path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
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

int dgcn_rundir_fopen(const char *dir, const char *name, const char *mode, FILE **out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *out = fopen(path, mode);
    if (!*out) return dgcn_error_set(DGCN_EIO, "cannot open %s: %s", path, strerror(errno));
    return DGCN_OK;
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
    fclose(f);
    f = NULL;
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
