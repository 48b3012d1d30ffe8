/* graph/dataset.c: strict loader and writer of the dataset folder format (../shared/data/README.md),
 * plus the standard preprocessing and synthetic features for graph-only datasets.
 *
 * Each file is read whole into memory and parsed with pointers; every violation ends in an error
 * whose message names the file, the 1-based line and what was expected versus found. */
#include "graph/dataset.h"

#include "core/error.h"
#include "core/file.h"
#include "core/rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------------------------------------
 * Reading files line by line */

/* Longest file the loader reads: meta.txt in all, the other files per line (a line of labels.txt,
 * edges.txt or a split file; a node's line of features.txt plus each idx:val pair). Generous
 * bounds that reject a huge file before it is read; leading zeros and long decimals still fit. */
#define S_META_MAX (INT64_C(1) << 20)
#define S_LINE_MAX 64
#define S_PAIR_MAX 64
/* num_features and num_classes up to this many need no backing in the files (see s_read_meta). */
#define S_WIDTH_FLOOR 65536

typedef struct s_text {
    char path[4096];
    char *buf; /* (len + 1) file contents, NUL-terminated */
    size_t len;
    size_t pos;   /* start of the next line */
    int64_t line; /* 1-based number of the line last returned */
} s_text;

/* Opens dir/file and reads it whole. A file longer than max_bytes (a bound the counts in meta.txt
 * imply, said in `why`) is rejected before it is read. Errors name the file. */
static int s_text_open(s_text *t, const char *dir, const char *file, int64_t max_bytes,
                       const char *why) {
    int rc = DGCN_OK;
    FILE *f = NULL;
    int64_t sz = 0;
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s/%s", dir, file);
    DGCN_CHECK(dgcn_file_open_read(t->path, INT64_MAX, &f, &sz));
    if (sz > max_bytes) {
        rc = dgcn_error_set(DGCN_EFORMAT, "%s: %lld bytes, more than the %lld allowed by %s",
                            t->path, (long long)sz, (long long)max_bytes, why);
        goto fail;
    }
    t->len = (size_t)sz;
    t->buf = malloc(t->len + 1);
    if (!t->buf) {
        rc = dgcn_error_set(DGCN_ENOMEM, "%s: out of memory reading %zu bytes", t->path, t->len);
        goto fail;
    }
    if (t->len && fread(t->buf, 1, t->len, f) != t->len) {
        rc = dgcn_error_set(DGCN_EIO, "%s: cannot read: %s", t->path,
                            ferror(f) ? strerror(errno) : "shorter than its size (changed?)");
        goto fail;
    }
    t->buf[t->len] = '\0';
    if (t->len >= 3 && !memcmp(t->buf, "\xEF\xBB\xBF", 3)) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s:1: found a UTF-8 byte order mark (BOM) at the start; expected "
                            "plain text without one",
                            t->path);
        goto fail;
    }
    fclose(f);
    return DGCN_OK;
fail:
    if (f) fclose(f);
    free(t->buf);
    t->buf = NULL;
    return rc;
}

/* Frees t and returns rc; an out-of-memory failure while reading t gets t's path in front. */
static int s_text_close(s_text *t, int rc) {
    if (rc == DGCN_ENOMEM && t->path[0] && !strstr(dgcn_error_msg(), t->path))
        dgcn_error_wrap(rc, "%s: ", t->path);
    free(t->buf);
    t->buf = NULL;
    return rc;
}

/* Up to 60 characters of a line, for messages. */
static const char *s_show(const char *b, const char *e, char *out, size_t cap) {
    size_t n = (size_t)(e - b);
    if (n > 60) n = 60;
    size_t j = 0;
    for (size_t i = 0; i < n && j + 4 < cap; i++) {
        unsigned char ch = (unsigned char)b[i];
        if (ch == '\r') {
            out[j++] = '\\';
            out[j++] = 'r';
        } else if (ch < 32 || ch > 126) {
            out[j++] = '?';
        } else {
            out[j++] = (char)ch;
        }
    }
    if ((size_t)(e - b) > n && j + 4 < cap) {
        out[j++] = '.';
        out[j++] = '.';
        out[j++] = '.';
    }
    out[j] = '\0';
    return out;
}

/* Next line [*b, *e) without its '\n'. Returns 1 with a line, 0 at end of file, or a negative
 * value after setting the error for a truncated last line, a '\r' or a blank line. */
static int s_next(s_text *t, const char **b, const char **e, const char *what) {
    if (t->pos >= t->len) return 0;
    const char *start = t->buf + t->pos;
    const char *nl = memchr(start, '\n', t->len - t->pos);
    t->line++;
    char show[80];
    if (!nl) {
        dgcn_error_set(DGCN_EFORMAT,
                       "%s:%lld: expected %s ending with a newline, found '%s' at end "
                       "of file (truncated?)",
                       t->path, (long long)t->line, what,
                       s_show(start, t->buf + t->len, show, sizeof show));
        return -1;
    }
    if (memchr(start, '\r', (size_t)(nl - start))) {
        dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected %s, found a carriage return (\\r) in '%s'",
                       t->path, (long long)t->line, what, s_show(start, nl, show, sizeof show));
        return -1;
    }
    if (nl == start) {
        dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected %s, found a blank line", t->path,
                       (long long)t->line, what);
        return -1;
    }
    *b = start;
    *e = nl;
    t->pos = (size_t)(nl - t->buf) + 1;
    return 1;
}

/* Decimal integer at *p (optional '-', then digits, no leading whitespace or '+'), within
 * [lo, hi]. Advances *p. Returns 0 on success, -1 when not a number, -2 when out of range. */
static int s_int(const char **p, const char *e, int64_t lo, int64_t hi, int64_t *out) {
    const char *s = *p;
    int neg = 0;
    if (s < e && *s == '-') {
        neg = 1;
        s++;
    }
    if (s >= e || *s < '0' || *s > '9') return -1;
    int64_t v = 0;
    int big = 0;
    while (s < e && *s >= '0' && *s <= '9') {
        if (v > (INT64_C(1) << 53)) big = 1;
        else v = v * 10 + (*s - '0');
        s++;
    }
    if (neg) v = -v;
    *p = s;
    if (big || v < lo || v > hi) return -2;
    *out = v;
    return 0;
}

/* The line must end at p (no extra fields). */
static int s_at_end(const char *p, const char *e) { return p == e; }

/* ---------------------------------------------------------------------------------------------
 * meta.txt */

typedef struct s_meta {
    int64_t num_nodes, num_features, num_classes, num_edges, features_available, feature_nnz;
    int64_t num_train, num_val, num_test;
    int feature_kind; /* 0 binary, 1 count, 2 float32 */
    char name[64];
} s_meta;

static const char *const s_meta_int_keys[] = {
    "num_nodes",   "num_features", "num_classes", "num_edges", "features_available",
    "feature_nnz", "num_train",    "num_val",     "num_test"};
enum { S_N_META_INT = 9 };

static int s_read_meta(s_meta *m, const char *dir) {
    int rc = DGCN_OK;
    s_text t;
    int64_t *slot[S_N_META_INT] = {
        &m->num_nodes,   &m->num_features, &m->num_classes, &m->num_edges, &m->features_available,
        &m->feature_nnz, &m->num_train,    &m->num_val,     &m->num_test};
    int seen[S_N_META_INT] = {0};
    int seen_values = 0, seen_name = 0;
    memset(m, 0, sizeof *m);
    DGCN_CHECK(s_text_open(&t, dir, "meta.txt", S_META_MAX, "the 1 MiB limit on meta.txt"));
    const char *b, *e;
    int r;
    char show[80];
    while ((r = s_next(&t, &b, &e, "'key value'")) == 1) {
        const char *sp = memchr(b, ' ', (size_t)(e - b));
        if (!sp || sp == b || sp + 1 == e || memchr(sp + 1, ' ', (size_t)(e - sp - 1))) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected 'key value', found '%s'", t.path,
                                (long long)t.line, s_show(b, e, show, sizeof show));
            goto fail;
        }
        size_t kl = (size_t)(sp - b);
        const char *v = sp + 1;
        int known = 0;
        for (int k = 0; k < S_N_META_INT; k++) {
            if (strlen(s_meta_int_keys[k]) != kl || memcmp(b, s_meta_int_keys[k], kl)) continue;
            known = 1;
            if (seen[k]) {
                rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: key '%s' given twice", t.path,
                                    (long long)t.line, s_meta_int_keys[k]);
                goto fail;
            }
            seen[k] = 1;
            const char *p = v;
            int64_t hi = k == 4 ? 1 : (k == 5 || k == 3) ? INT64_C(1) << 40 : INT32_MAX;
            if (s_int(&p, e, 0, hi, slot[k]) != 0 || !s_at_end(p, e)) {
                rc = dgcn_error_set(
                    DGCN_EFORMAT, "%s:%lld: expected %s to be an integer in [0, %lld], found '%s'",
                    t.path, (long long)t.line, s_meta_int_keys[k], (long long)hi,
                    s_show(v, e, show, sizeof show));
                goto fail;
            }
        }
        if (!known && kl == 14 && !memcmp(b, "feature_values", 14)) {
            if (seen_values++) {
                rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: key 'feature_values' given twice",
                                    t.path, (long long)t.line);
                goto fail;
            }
            size_t vl = (size_t)(e - v);
            if (vl == 6 && !memcmp(v, "binary", 6)) m->feature_kind = 0;
            else if (vl == 5 && !memcmp(v, "count", 5)) m->feature_kind = 1;
            else if (vl == 7 && !memcmp(v, "float32", 7)) m->feature_kind = 2;
            else {
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:%lld: expected feature_values binary, count or float32, "
                                    "found '%s'",
                                    t.path, (long long)t.line, s_show(v, e, show, sizeof show));
                goto fail;
            }
        } else if (!known && kl == 4 && !memcmp(b, "name", 4)) {
            if (seen_name++) {
                rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: key 'name' given twice", t.path,
                                    (long long)t.line);
                goto fail;
            }
            size_t vl = (size_t)(e - v);
            if (vl >= sizeof m->name) vl = sizeof m->name - 1;
            memcpy(m->name, v, vl);
            m->name[vl] = '\0';
        }
    }
    if (r < 0) {
        rc = DGCN_EFORMAT;
        goto fail;
    }
    for (int k = 0; k < S_N_META_INT; k++) {
        if (seen[k] || (k == 5 && seen[4] && m->features_available == 0)) continue;
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s:%lld: expected a line '%s <value>', found end of file "
                            "without it",
                            t.path, (long long)t.line + 1, s_meta_int_keys[k]);
        goto fail;
    }
    if (m->features_available && !seen_values) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s:%lld: expected a line 'feature_values <kind>' since "
                            "features_available is 1, found end of file without it",
                            t.path, (long long)t.line + 1);
        goto fail;
    }
    if (m->num_classes < 1 || m->num_features < 1) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s: expected num_classes >= 1 and num_features >= 1, "
                            "found %lld and %lld",
                            t.path, (long long)m->num_classes, (long long)m->num_features);
        goto fail;
    }
    /* Widths the model allocates per row of its weights (num_features) and per node (num_classes)
     * are bounded by what the files can hold: classes by the nodes labels.txt labels, columns by
     * the idx:val pairs features.txt holds (feature_nnz, checked against the file) or, for
     * synthetic features, by their 8 columns a node; a floor of S_WIDTH_FLOOR keeps small
     * datasets free to declare unused columns or classes. */
    int64_t max_c = m->num_nodes > S_WIDTH_FLOOR ? m->num_nodes : S_WIDTH_FLOOR;
    int64_t cols = m->features_available ? m->feature_nnz : 8 * m->num_nodes;
    int64_t max_d = cols > S_WIDTH_FLOOR ? cols : S_WIDTH_FLOOR;
    if (m->num_classes > max_c) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s: num_classes %lld is more than the %lld classes num_nodes %lld can "
                            "label (at most max(num_nodes, %d))",
                            t.path, (long long)m->num_classes, (long long)max_c,
                            (long long)m->num_nodes, S_WIDTH_FLOOR);
        goto fail;
    }
    if (m->num_features > max_d) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s: num_features %lld is more than the %lld columns %s can fill "
                            "(at most max(%s, %d))",
                            t.path, (long long)m->num_features, (long long)max_d,
                            m->features_available ? "features.txt's feature_nnz idx:val pairs"
                                                  : "synthetic features of 8 columns a node",
                            m->features_available ? "feature_nnz" : "8 num_nodes", S_WIDTH_FLOOR);
        goto fail;
    }
    if (m->num_train + m->num_val + m->num_test > m->num_nodes) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s: expected num_train + num_val + num_test <= num_nodes "
                            "(%lld), found %lld",
                            t.path, (long long)m->num_nodes,
                            (long long)(m->num_train + m->num_val + m->num_test));
        goto fail;
    }
    if (!seen_name) {
        const char *slash = strrchr(dir, '/');
        const char *base = slash && slash[1] ? slash + 1 : dir;
        snprintf(m->name, sizeof m->name, "%s", base);
    }
fail:
    return s_text_close(&t, rc);
}

/* Error for a file with a different number of lines than meta.txt says. */
static int s_count_error(const s_text *t, int64_t want, const char *key, int more) {
    if (more)
        return dgcn_error_set(DGCN_EFORMAT,
                              "%s:%lld: expected %lld lines (%s in meta.txt), found "
                              "more",
                              t->path, (long long)t->line, (long long)want, key);
    return dgcn_error_set(DGCN_EFORMAT,
                          "%s:%lld: expected %lld lines (%s in meta.txt), found end of "
                          "file after %lld",
                          t->path, (long long)t->line + 1, (long long)want, key,
                          (long long)t->line);
}

/* The next of `want` records of t (a count from meta.txt under `key`): [*b, *e) is the line. A
 * truncated or malformed line, or the end of the file before `want` records, is DGCN_EFORMAT. */
static int s_record(s_text *t, int64_t want, const char *key, const char *what, const char **b,
                    const char **e) {
    int r = s_next(t, b, e, what);
    if (r < 0) return DGCN_EFORMAT;
    if (r == 0) return s_count_error(t, want, key, 0);
    return DGCN_OK;
}

/* After `want` records: the file must end here. */
static int s_record_end(s_text *t, int64_t want, const char *key, const char *what) {
    const char *b, *e;
    int r = s_next(t, &b, &e, what);
    if (r < 0) return DGCN_EFORMAT;
    if (r == 1) return s_count_error(t, want, key, 1);
    return DGCN_OK;
}

/* ---------------------------------------------------------------------------------------------
 * labels.txt, features.txt, edges.txt, split files */

/* Reads labels.txt and allocates ds->label and ds->split: a num_nodes larger than labels.txt can
 * hold (a line takes at least 2 bytes) is an error naming meta.txt before anything is allocated. */
static int s_read_labels(dgcn_dataset *ds, const char *dir) {
    int rc = DGCN_OK;
    s_text t;
    DGCN_CHECK(
        s_text_open(&t, dir, "labels.txt", (int64_t)ds->n * S_LINE_MAX, "num_nodes in meta.txt"));
    if ((int64_t)ds->n > (int64_t)(t.len + 1) / 2) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s/meta.txt: num_nodes %d is more than %s (%zu bytes) can hold "
                            "(at most %zu lines)",
                            dir, (int)ds->n, t.path, t.len, (t.len + 1) / 2);
        goto fail;
    }
    ds->label = malloc(((size_t)ds->n + 1) * sizeof *ds->label);
    ds->split = calloc((size_t)ds->n + 1, sizeof *ds->split);
    if (!ds->label || !ds->split) {
        rc = dgcn_error_set(DGCN_ENOMEM, "%s: out of memory for %d nodes (num_nodes in meta.txt)",
                            t.path, (int)ds->n);
        goto fail;
    }
    const char *b, *e;
    char show[80];
    char what[96];
    snprintf(what, sizeof what, "a class in [-1, %d)", (int)ds->c);
    for (int32_t i = 0; i < ds->n; i++) {
        DGCN_CHECK(s_record(&t, ds->n, "num_nodes", what, &b, &e));
        const char *p = b;
        int64_t v;
        if (s_int(&p, e, -1, ds->c - 1, &v) != 0 || !s_at_end(p, e)) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected %s, found '%s'", t.path,
                                (long long)t.line, what, s_show(b, e, show, sizeof show));
            goto fail;
        }
        ds->label[i] = (int32_t)v;
    }
    DGCN_CHECK(s_record_end(&t, ds->n, "num_nodes", what));
fail:
    return s_text_close(&t, rc);
}

static int s_read_features(dgcn_dataset *ds, const char *dir, const s_meta *m) {
    int rc = DGCN_OK;
    s_text t;
    DGCN_CHECK(s_text_open(&t, dir, "features.txt",
                           (int64_t)ds->n * S_LINE_MAX + m->feature_nnz * S_PAIR_MAX,
                           "num_nodes and feature_nnz in meta.txt"));
    /* A pair takes at least 4 bytes (" i:v"), so a file of len bytes holds at most len / 4: an
     * inflated feature_nnz cannot force a huge allocation (the count check below reports it). */
    int64_t cap = m->feature_nnz < (int64_t)(t.len / 4) + 1 ? m->feature_nnz
                                                            : (int64_t)(t.len / 4) + 1;
    DGCN_CHECK(dgcn_csr_init(&ds->x, ds->n, ds->d, cap));
    const char *b, *e;
    char show[80];
    const char *what = "'<node_id> <nnz> <idx>:<val> ...'";
    const char *kind = m->feature_kind == 0   ? "1 (binary)"
                       : m->feature_kind == 1 ? "a positive integer (count)"
                                              : "a positive finite float";
    int64_t p_nnz = 0;
    for (int32_t i = 0; i < ds->n; i++) {
        DGCN_CHECK(s_record(&t, ds->n, "num_nodes", what, &b, &e));
        const char *p = b;
        int64_t id, nnz;
        if (s_int(&p, e, INT64_MIN / 2, INT64_MAX / 2, &id) != 0 || p >= e || *p != ' ') goto bad;
        if (id != i) {
            rc = dgcn_error_set(DGCN_EFORMAT,
                                "%s:%lld: expected node_id %d (the 0-based line "
                                "number), found %lld",
                                t.path, (long long)t.line, (int)i, (long long)id);
            goto fail;
        }
        p++;
        if (s_int(&p, e, 0, ds->d, &nnz) != 0) goto bad;
        if (p_nnz + nnz > m->feature_nnz) {
            rc = dgcn_error_set(DGCN_EFORMAT,
                                "%s:%lld: expected %lld idx:val pairs in all "
                                "(feature_nnz in meta.txt), found more",
                                t.path, (long long)t.line, (long long)m->feature_nnz);
            goto fail;
        }
        int64_t prev = -1;
        for (int64_t k = 0; k < nnz; k++) {
            if (p >= e) {
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:%lld: expected %lld idx:val pairs (the nnz "
                                    "field), found %lld",
                                    t.path, (long long)t.line, (long long)nnz, (long long)k);
                goto fail;
            }
            if (*p != ' ') goto bad;
            p++;
            int64_t idx;
            const char *q = p;
            int ri = s_int(&p, e, 0, INT64_MAX / 2, &idx);
            if (ri == -1 || p >= e || *p != ':') goto bad;
            if (ri == -2 || idx >= ds->d) {
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:%lld: expected feature index in [0, %d), "
                                    "found '%s'",
                                    t.path, (long long)t.line, (int)ds->d,
                                    s_show(q, p, show, sizeof show));
                goto fail;
            }
            if (idx <= prev) {
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:%lld: expected feature indices strictly "
                                    "increasing, found %lld after %lld",
                                    t.path, (long long)t.line, (long long)idx, (long long)prev);
                goto fail;
            }
            prev = idx;
            p++;
            const char *vs = p;
            float val = 0.0f;
            int okv = 0;
            const char *z = p; /* decimal text only: no hex, inf or nan */
            while (z < e && *z != ' ' && strchr("0123456789.-+eE", *z)) z++;
            if (p < e && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '.') &&
                (z == e || *z == ' ')) {
                char *end = NULL;
                errno = 0;
                val = strtof(p, &end);
                if (end > p && end <= e && (end == e || *end == ' ')) {
                    okv = 1;
                    p = end;
                }
            }
            if (!okv) {
                z = vs;
                while (z < e && *z != ' ') z++;
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:%lld: expected value %s after '%lld:', "
                                    "found '%s'",
                                    t.path, (long long)t.line, kind, (long long)idx,
                                    s_show(vs, z, show, sizeof show));
                goto fail;
            }
            int good = isfinite(val) && val > 0.0f;
            if (good && m->feature_kind == 0) good = val == 1.0f;
            if (good && m->feature_kind == 1) good = val == floorf(val);
            if (!good) {
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:%lld: expected value %s after '%lld:', "
                                    "found '%s'",
                                    t.path, (long long)t.line, kind, (long long)idx,
                                    s_show(vs, p, show, sizeof show));
                goto fail;
            }
            ds->x.col[p_nnz + k] = (int32_t)idx;
            ds->x.val[p_nnz + k] = val;
        }
        if (!s_at_end(p, e)) {
            if (*p == ' ' && p + 1 < e && p[1] >= '0' && p[1] <= '9')
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:%lld: expected %lld idx:val pairs (the nnz "
                                    "field), found more",
                                    t.path, (long long)t.line, (long long)nnz);
            else goto bad;
            goto fail;
        }
        p_nnz += nnz;
        ds->x.rowptr[i + 1] = p_nnz;
        continue;
    bad:
        rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected %s, found '%s'", t.path,
                            (long long)t.line, what, s_show(b, e, show, sizeof show));
        goto fail;
    }
    DGCN_CHECK(s_record_end(&t, ds->n, "num_nodes", what));
    if (p_nnz != m->feature_nnz) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            "%s:%lld: expected %lld idx:val pairs in all "
                            "(feature_nnz in meta.txt), found %lld",
                            t.path, (long long)t.line, (long long)m->feature_nnz, (long long)p_nnz);
        goto fail;
    }
    ds->x.nnz = p_nnz;
fail:
    return s_text_close(&t, rc);
}

static int s_read_edges(dgcn_dataset *ds, const char *dir) {
    int rc = DGCN_OK;
    s_text t;
    int32_t *u = NULL, *v = NULL; /* (n_edges) */
    DGCN_CHECK(
        s_text_open(&t, dir, "edges.txt", ds->n_edges * S_LINE_MAX, "num_edges in meta.txt"));
    /* A valid line takes at least 4 bytes ("u v\n"): cap the allocation by the file size. */
    int64_t cap = ds->n_edges < (int64_t)(t.len / 4) + 1 ? ds->n_edges : (int64_t)(t.len / 4) + 1;
    DGCN_ALLOC(u, cap);
    DGCN_ALLOC(v, cap);
    const char *b, *e;
    char show[80];
    char what[96];
    snprintf(what, sizeof what, "'u v' with 0 <= u < v < %d", (int)ds->n);
    for (int64_t i = 0; i < ds->n_edges; i++) {
        DGCN_CHECK(s_record(&t, ds->n_edges, "num_edges", what, &b, &e));
        const char *p = b;
        int64_t a, c;
        if (s_int(&p, e, 0, ds->n - 1, &a) != 0 || p >= e || *p != ' ') goto bad;
        p++;
        if (s_int(&p, e, 0, ds->n - 1, &c) != 0 || !s_at_end(p, e)) goto bad;
        if (a == c) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected %s, found self-loop '%s'", t.path,
                                (long long)t.line, what, s_show(b, e, show, sizeof show));
            goto fail;
        }
        if (a > c) goto bad;
        if (i > 0 && a == u[i - 1] && c == v[i - 1]) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected %s, found duplicate edge '%s'",
                                t.path, (long long)t.line, what, s_show(b, e, show, sizeof show));
            goto fail;
        }
        if (i > 0 && (a < u[i - 1] || (a == u[i - 1] && c < v[i - 1]))) {
            rc = dgcn_error_set(DGCN_EFORMAT,
                                "%s:%lld: expected edges sorted by u then v, found "
                                "'%s' after '%d %d'",
                                t.path, (long long)t.line, s_show(b, e, show, sizeof show),
                                (int)u[i - 1], (int)v[i - 1]);
            goto fail;
        }
        u[i] = (int32_t)a;
        v[i] = (int32_t)c;
        continue;
    bad:
        rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected %s, found '%s'", t.path,
                            (long long)t.line, what, s_show(b, e, show, sizeof show));
        goto fail;
    }
    DGCN_CHECK(s_record_end(&t, ds->n_edges, "num_edges", what));
    rc = dgcn_csr_from_edges(&ds->adj, ds->n, u, v, ds->n_edges);
    if (rc) dgcn_error_wrap(rc, "%s: ", t.path);
fail:
    free(u);
    free(v);
    return s_text_close(&t, rc);
}

static const char *const s_split_files[4] = {"", "train.txt", "val.txt", "test.txt"};
static const char *const s_split_keys[4] = {"", "num_train", "num_val", "num_test"};

static int s_read_split(dgcn_dataset *ds, const char *dir, int which, int64_t want) {
    int rc = DGCN_OK;
    s_text t;
    char why[64];
    snprintf(why, sizeof why, "%s in meta.txt", s_split_keys[which]);
    DGCN_CHECK(s_text_open(&t, dir, s_split_files[which], want * S_LINE_MAX, why));
    const char *b, *e;
    char show[80];
    char what[96];
    snprintf(what, sizeof what, "a node id in [0, %d)", (int)ds->n);
    int64_t prev = -1;
    for (int64_t i = 0; i < want; i++) {
        DGCN_CHECK(s_record(&t, want, s_split_keys[which], what, &b, &e));
        const char *p = b;
        int64_t id;
        if (s_int(&p, e, 0, ds->n - 1, &id) != 0 || !s_at_end(p, e)) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected %s, found '%s'", t.path,
                                (long long)t.line, what, s_show(b, e, show, sizeof show));
            goto fail;
        }
        if (id <= prev) {
            rc = dgcn_error_set(DGCN_EFORMAT,
                                "%s:%lld: expected node ids strictly ascending, "
                                "found %s %lld after %lld",
                                t.path, (long long)t.line, id == prev ? "duplicate" : "unsorted",
                                (long long)id, (long long)prev);
            goto fail;
        }
        prev = id;
        if (ds->label[id] < 0) {
            rc = dgcn_error_set(DGCN_EFORMAT,
                                "%s:%lld: expected a labelled node, found node %lld "
                                "with label -1",
                                t.path, (long long)t.line, (long long)id);
            goto fail;
        }
        if (ds->split[id] != DGCN_SPLIT_NONE) {
            rc = dgcn_error_set(DGCN_EFORMAT,
                                "%s:%lld: expected disjoint splits, found node %lld "
                                "already in %s",
                                t.path, (long long)t.line, (long long)id,
                                s_split_files[ds->split[id]]);
            goto fail;
        }
        ds->split[id] = (uint8_t)which;
    }
    DGCN_CHECK(s_record_end(&t, want, s_split_keys[which], what));
fail:
    return s_text_close(&t, rc);
}

int dgcn_dataset_load(dgcn_dataset *ds, const char *dir) {
    int rc = DGCN_OK;
    s_meta m;
    memset(ds, 0, sizeof *ds);
    DGCN_CHECK(s_read_meta(&m, dir));
    snprintf(ds->name, sizeof ds->name, "%s", m.name);
    ds->n = (int32_t)m.num_nodes;
    ds->d = (int32_t)m.num_features;
    ds->c = (int32_t)m.num_classes;
    ds->n_edges = m.num_edges;
    ds->has_features = (int)m.features_available;
    ds->count_features = m.features_available && m.feature_kind == 1;
    DGCN_CHECK(s_read_labels(ds, dir));
    if (ds->has_features) DGCN_CHECK(s_read_features(ds, dir, &m));
    DGCN_CHECK(s_read_edges(ds, dir));
    DGCN_CHECK(s_read_split(ds, dir, DGCN_SPLIT_TRAIN, m.num_train));
    DGCN_CHECK(s_read_split(ds, dir, DGCN_SPLIT_VAL, m.num_val));
    DGCN_CHECK(s_read_split(ds, dir, DGCN_SPLIT_TEST, m.num_test));
    ds->n_train = (int32_t)m.num_train;
    ds->n_val = (int32_t)m.num_val;
    ds->n_test = (int32_t)m.num_test;
    return DGCN_OK;
fail:
    dgcn_dataset_fini(ds);
    return rc;
}

void dgcn_dataset_fini(dgcn_dataset *ds) {
    if (!ds) return;
    dgcn_csr_fini(&ds->adj);
    dgcn_csr_fini(&ds->x);
    free(ds->label);
    free(ds->split);
    if (ds->samples) dgcn_traffic_samples_fini(ds->samples);
    free(ds->samples);
    memset(ds, 0, sizeof *ds);
}

/* ---------------------------------------------------------------------------------------------
 * Writing */

static FILE *s_create(const char *dir, const char *file, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f) dgcn_error_set(DGCN_EIO, "%s: cannot create: %s", path, strerror(errno));
    return f;
}

static int s_close(FILE *f, const char *path) {
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return dgcn_error_set(DGCN_EIO, "%s: write failed: %s", path, strerror(errno));
    return DGCN_OK;
}

/* Shortest "%.*g" text that strtof converts back to v exactly. */
static void s_float_text(float v, char *out, size_t cap) {
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(out, cap, "%.*g", prec, (double)v);
        if (strtof(out, NULL) == v) return;
    }
}

int dgcn_dataset_write(const dgcn_dataset *ds, const char *dir) {
    char path[4096];
    FILE *f = NULL;
    int rc;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return dgcn_error_set(DGCN_EIO, "%s: cannot create folder: %s", dir, strerror(errno));
    /* The value kind the loader will check. */
    int kind = 0;
    int64_t feature_nnz = 0, empty_rows = 0, unlabeled = 0;
    if (ds->has_features) {
        feature_nnz = ds->x.nnz;
        for (int64_t k = 0; k < ds->x.nnz; k++) {
            float v = ds->x.val[k];
            if (!(isfinite(v) && v > 0.0f))
                return dgcn_error_set(DGCN_EINVAL,
                                      "dataset_write: feature value %g at entry %lld "
                                      "is not positive and finite",
                                      (double)v, (long long)k);
            if (v != 1.0f) kind = kind == 2 || v != floorf(v) ? 2 : 1;
        }
        if (ds->count_features && kind == 0) kind = 1;
        for (int32_t i = 0; i < ds->n; i++) empty_rows += ds->x.rowptr[i + 1] == ds->x.rowptr[i];
    }
    for (int32_t i = 0; i < ds->n; i++) unlabeled += ds->label[i] < 0;

    if (!(f = s_create(dir, "meta.txt", path, sizeof path))) return DGCN_EIO;
    fprintf(f,
            "name %s\nnum_nodes %d\nnum_features %d\nnum_classes %d\nnum_edges %lld\n"
            "features_available %d\n",
            ds->name[0] ? ds->name : "dataset", (int)ds->n, (int)ds->d, (int)ds->c,
            (long long)(ds->adj.nnz / 2), ds->has_features ? 1 : 0);
    if (ds->has_features)
        fprintf(f, "feature_values %s\nfeature_nnz %lld\nnodes_without_features %lld\n",
                kind == 0   ? "binary"
                : kind == 1 ? "count"
                            : "float32",
                (long long)feature_nnz, (long long)empty_rows);
    fprintf(f, "num_train %d\nnum_val %d\nnum_test %d\nnum_unlabeled %lld\n", (int)ds->n_train,
            (int)ds->n_val, (int)ds->n_test, (long long)unlabeled);
    if ((rc = s_close(f, path))) return rc;

    if (!(f = s_create(dir, "labels.txt", path, sizeof path))) return DGCN_EIO;
    for (int32_t i = 0; i < ds->n; i++) fprintf(f, "%d\n", (int)ds->label[i]);
    if ((rc = s_close(f, path))) return rc;

    if (ds->has_features) {
        if (!(f = s_create(dir, "features.txt", path, sizeof path))) return DGCN_EIO;
        char num[32];
        for (int32_t i = 0; i < ds->n; i++) {
            fprintf(f, "%d %lld", (int)i, (long long)(ds->x.rowptr[i + 1] - ds->x.rowptr[i]));
            for (int64_t k = ds->x.rowptr[i]; k < ds->x.rowptr[i + 1]; k++) {
                s_float_text(ds->x.val[k], num, sizeof num);
                fprintf(f, " %d:%s", (int)ds->x.col[k], num);
            }
            fputc('\n', f);
        }
        if ((rc = s_close(f, path))) return rc;
    }

    if (!(f = s_create(dir, "edges.txt", path, sizeof path))) return DGCN_EIO;
    for (int32_t i = 0; i < ds->adj.n_rows; i++)
        for (int64_t k = ds->adj.rowptr[i]; k < ds->adj.rowptr[i + 1]; k++)
            if (ds->adj.col[k] > i) fprintf(f, "%d %d\n", (int)i, (int)ds->adj.col[k]);
    if ((rc = s_close(f, path))) return rc;

    for (int which = DGCN_SPLIT_TRAIN; which <= DGCN_SPLIT_TEST; which++) {
        if (!(f = s_create(dir, s_split_files[which], path, sizeof path))) return DGCN_EIO;
        for (int32_t i = 0; i < ds->n; i++)
            if (ds->split[i] == which) fprintf(f, "%d\n", (int)i);
        if ((rc = s_close(f, path))) return rc;
    }
    return DGCN_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Preprocessing */

int dgcn_dataset_synth_features(dgcn_dataset *ds, int32_t d, uint64_t seed) {
    int rc = DGCN_OK;
    dgcn_csr x = {0};
    if (d < 1 || ds->c < 1)
        return dgcn_error_set(DGCN_EINVAL, "synth_features: d = %d and c = %d must be >= 1", (int)d,
                              (int)ds->c);
    int32_t k = d < 8 ? d : 8;
    int32_t block = d / ds->c; /* columns owned by each class */
    DGCN_CHECK(dgcn_csr_init(&x, ds->n, d, (int64_t)ds->n * k));
    dgcn_rng r;
    dgcn_rng_seed(&r, seed, DGCN_STREAM_GENERATE);
    for (int32_t i = 0; i < ds->n; i++) {
        int32_t *cols = x.col + (int64_t)i * k;
        int32_t from_block = ds->label[i] >= 0 && block > 0 ? (block < k / 2 ? block : k / 2) : 0;
        for (int32_t j = 0; j < k; j++) {
            int32_t cnd;
            int dup;
            do {
                cnd = j < from_block
                          ? ds->label[i] * block + (int32_t)dgcn_rng_below(&r, (uint64_t)block)
                          : (int32_t)dgcn_rng_below(&r, (uint64_t)d);
                dup = 0;
                for (int32_t q = 0; q < j; q++) dup |= cols[q] == cnd;
            } while (dup);
            cols[j] = cnd;
        }
        for (int32_t j = 1; j < k; j++) /* insertion sort of k <= 8 columns */
            for (int32_t q = j; q > 0 && cols[q - 1] > cols[q]; q--) {
                int32_t tmp = cols[q];
                cols[q] = cols[q - 1];
                cols[q - 1] = tmp;
            }
        x.rowptr[i + 1] = x.rowptr[i] + k;
    }
    for (int64_t q = 0; q < x.nnz; q++) x.val[q] = 1.0f;
    dgcn_csr_fini(&ds->x);
    ds->x = x;
    ds->d = d;
    return DGCN_OK;
fail:
    dgcn_csr_fini(&x);
    return rc;
}

/* Graph-only datasets get synthetic features of dimension ds->d (500 when d is 0), seed 1; the
 * flag has_features stays 0 so callers can tell the features are synthetic. */
int dgcn_dataset_preprocess(dgcn_dataset *ds, int binarize) {
    int rc = DGCN_OK;
    if (!ds->has_features) DGCN_CHECK(dgcn_dataset_synth_features(ds, ds->d > 0 ? ds->d : 500, 1));
    if (binarize) dgcn_csr_binarize(&ds->x);
    dgcn_csr_row_normalize(&ds->x);
    return DGCN_OK;
fail:
    return rc;
}
