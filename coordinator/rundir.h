/* coordinator/rundir.h: the run directory every training command writes.
 *
 * Layout (docs/rundir.md): config.json (the run as resolved), metrics.jsonl (one JSON object per
 * reported iteration or epoch), summary.json (final figures), plots/ (PNG rendered by gnuplot from
 * metrics.jsonl through a script kept beside them, so a user can re-render or edit them). */
#ifndef DGCN_COORDINATOR_RUNDIR_H
#define DGCN_COORDINATOR_RUNDIR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* mkdir -p path; components it creates are mode 0700. DGCN_EIO names the component that could not
 * be created. */
int dgcn_rundir_make(const char *path);

/* Makes dir ready for a new run and private (mode 0700): creates it, or accepts it when it exists
 * and is empty. A non-empty dir is refused (DGCN_EINVAL) unless force is set, in which case it is
 * cleared first, but only when it holds config.json (it is a run directory: nothing else is ever
 * deleted). Symbolic links inside are removed, never followed. */
int dgcn_rundir_prepare(const char *dir, int force);

/* Opens dir/name with fopen mode "w" or "a", creating the file with mode 0600; DGCN_EIO names the
 * file. */
int dgcn_rundir_fopen(const char *dir, const char *name, const char *mode, FILE **out);

/* Flushes f; DGCN_EIO naming dir/name when this or any earlier write to f failed (a full disk). */
int dgcn_rundir_fflush(FILE *f, const char *dir, const char *name);

/* Closes *f (NULL afterwards; *f NULL is a no-op); DGCN_EIO naming dir/name when any write to it,
 * the flush or the close failed. */
int dgcn_rundir_fclose(FILE **f, const char *dir, const char *name);

/* A whole-file write that is all or nothing: dgcn_rundir_fopen_tmp opens dir/name.tmp;
 * dgcn_rundir_commit checks every write, fsyncs, closes *f (NULL afterwards) and renames the file to
 * dir/name, so dir/name is the old file or the complete new one, never a part. On failure the
 * temporary file is removed and DGCN_EIO names dir/name. */
int dgcn_rundir_fopen_tmp(const char *dir, const char *name, FILE **out);
int dgcn_rundir_commit(FILE **f, const char *dir, const char *name);
/* Abandons a dgcn_rundir_fopen_tmp write on a failure path: closes *f (NULL afterwards; *f NULL
 * closes nothing) and removes dir/name.tmp, so a failed command leaves no temporary behind. */
void dgcn_rundir_discard(FILE **f, const char *dir, const char *name);

/* fsyncs the directory dir itself, so the names renamed into it are on disk; DGCN_EIO names dir. */
int dgcn_rundir_sync(const char *dir);

/* The whole of the file path, at most max bytes, as a NUL-terminated malloc'd text (*out; NULL on
 * failure) of *size bytes (size may be NULL); DGCN_EIO or DGCN_EINVAL name path. */
int dgcn_rundir_read(const char *path, int64_t max, char **out, int64_t *size);

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
void dgcn_json_bool(dgcn_json *j, const char *key, int v);     /* true / false */
void dgcn_json_u64(dgcn_json *j, const char *key, uint64_t v); /* every uint64 exactly */
void dgcn_json_real(dgcn_json *j, const char *key, double v);  /* the shortest text strtod reads
                                                                * back as v; non-finite: null */
void dgcn_json_real_f(dgcn_json *j, const char *key, float v); /* the same for a float */
/* The shortest text that reads back as v (as a float when is_float): "%.Ng" with N from 6 to 17. */
void dgcn_json_real_text(double v, int is_float, char *buf, size_t cap);
void dgcn_json_str(dgcn_json *j, const char *key, const char *v);
void dgcn_json_num_array(dgcn_json *j, const char *key, const double *v, int n);
void dgcn_json_object(dgcn_json *j, const char *key); /* "key": { ... closed by dgcn_json_end */

/* The number after "key": in a JSON text such as one line of metrics.jsonl, or NaN. */
double dgcn_json_find_num(const char *text, const char *key);

/* Writes dir/plots/<name>.gp from the script text (which must render <name>.png) and runs gnuplot
 * on it in dir/plots, without a shell (fork and exec, the script's name as its argument), its
 * messages appended to dir/plots/gnuplot.log, the PNG private (0600). Returns DGCN_OK when the PNG
 * is complete; when gnuplot is not installed or exits non-zero (the script or its data: no PNG
 * then), with a note on stderr and in gnuplot.log. DGCN_EIO naming the script and gnuplot.log when
 * gnuplot cannot start, is killed or leaves the PNG cut (a full disk), DGCN_EINTR when SIGINT or
 * SIGTERM arrives (core/signal.h: gnuplot is killed); on either the PNG is removed and the reason
 * appended to gnuplot.log. */
int dgcn_rundir_plot(const char *dir, const char *name, const char *script);

/* Mean and sample standard deviation (n - 1; 0 when n < 2) of v[0..n). */
void dgcn_mean_std(const double *v, int n, double *mean, double *std);
/* Median of v[0..n) (v is reordered). */
double dgcn_median(double *v, int n);

#endif
