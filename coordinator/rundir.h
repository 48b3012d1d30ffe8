/* coordinator/rundir.h: the run directory every training command writes.
 *
 * Layout (docs/rundir.md): config.json (the run as resolved), metrics.jsonl (one JSON object per
 * reported iteration or epoch), summary.json (final figures), plots/ (PNG rendered by gnuplot from
 * metrics.jsonl through a script kept beside them, so a user can re-render or edit them). */
#ifndef DGCN_COORDINATOR_RUNDIR_H
#define DGCN_COORDINATOR_RUNDIR_H

#include <stdio.h>

/* mkdir -p path. DGCN_EIO names the component that could not be created. */
int dgcn_rundir_make(const char *path);

/* Opens path/name with fopen mode; DGCN_EIO names the file. */
int dgcn_rundir_fopen(const char *dir, const char *name, const char *mode, FILE **out);

/* A minimal streaming JSON object writer: keys in order, commas handled. */
typedef struct dgcn_json {
    FILE *f;
    int n; /* members written at the current level */
    int depth;
} dgcn_json;

void dgcn_json_begin(dgcn_json *j, FILE *f);                 /* "{" */
void dgcn_json_end(dgcn_json *j);                            /* "}" (and "\n" at depth 0) */
void dgcn_json_num(dgcn_json *j, const char *key, double v); /* NaN/inf written as null */
void dgcn_json_int(dgcn_json *j, const char *key, long long v);
void dgcn_json_str(dgcn_json *j, const char *key, const char *v);
void dgcn_json_num_array(dgcn_json *j, const char *key, const double *v, int n);
void dgcn_json_object(dgcn_json *j, const char *key); /* "key": { ... closed by dgcn_json_end */

/* Writes dir/plots/<name>.gp from the script text and runs gnuplot on it (in dir/plots) when gnuplot
 * is installed; returns DGCN_OK either way and prints a note when it is not. */
int dgcn_rundir_plot(const char *dir, const char *name, const char *script);

/* Mean and sample standard deviation (n - 1; 0 when n < 2) of v[0..n). */
void dgcn_mean_std(const double *v, int n, double *mean, double *std);
/* Median of v[0..n) (v is reordered). */
double dgcn_median(double *v, int n);

#endif
