/* topologies/io.c: edge-list, DOT and mixing-matrix files. */
#include "topologies/io.h"

#include "core/error.h"
#include "core/file.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_AGENTS DGCN_TOPO_MAX_AGENTS

/* Parses a non-negative decimal id at *p, advancing past it; -1 when there is none, -2 when it
 * is too large. */
static long s_id(const char **p) {
    const char *s = *p;
    while (*s == ' ' || *s == '\t') s++;
    if (!isdigit((unsigned char)*s)) return -1;
    long v = 0;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (*s - '0');
        if (v > S_MAX_AGENTS) return -2;
        s++;
    }
    *p = s;
    return v;
}

static int s_rest_blank(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    return *s == '\0';
}

/* "# agents M" header: 1 and *m set when line is one, 0 when it is another comment, -1 when
 * malformed. */
static int s_header(const char *line, long *m) {
    const char *s = line + 1;
    while (*s == ' ' || *s == '\t') s++;
    if (strncmp(s, "agents", 6) || (s[6] != ' ' && s[6] != '\t')) return 0;
    s += 6;
    *m = s_id(&s);
    if (*m < 1 || !s_rest_blank(s)) return -1;
    return 1;
}

/* DGCN_EFORMAT naming path:1 when the first line starts with a UTF-8 byte-order mark (an editor's
 * invisible EF BB BF, which would otherwise read as a malformed id), else DGCN_OK. */
static int s_no_bom(const char *path, const char *first) {
    if (strncmp(first, "\xEF\xBB\xBF", 3) != 0) return DGCN_OK;
    return dgcn_error_set(DGCN_EFORMAT,
                          "%s:1: starts with a UTF-8 byte-order mark (bytes EF BB BF): save the "
                          "file as plain UTF-8 or ASCII without it",
                          path);
}

int dgcn_topo_read_edges(dgcn_topo *out, const char *path) {
    int rc = DGCN_OK;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0, n = 0, n_cap = 0;
    int32_t *eu = NULL, *ev = NULL;
    long *elines = NULL;
    long m_header = 0, max_id = -1, lineno = 0;
    memset(out, 0, sizeof *out);
    if ((rc = dgcn_file_open_read(path, INT64_MAX, &f, NULL))) return rc;
    while (getline(&line, &cap, f) != -1) {
        lineno++;
        if (lineno == 1 && (rc = s_no_bom(path, line)) != DGCN_OK) goto fail;
        const char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == '#') {
            long hm;
            int h = s_header(s, &hm);
            if (h < 0) {
                rc = dgcn_error_set(
                    DGCN_EFORMAT,
                    "%s:%ld: malformed header (expected '# agents M' with 1 <= M <= %d)", path,
                    lineno, S_MAX_AGENTS);
                goto fail;
            }
            if (h > 0) {
                if (m_header && m_header != hm) {
                    rc = dgcn_error_set(DGCN_EFORMAT,
                                        "%s:%ld: second '# agents' header (%ld, earlier %ld)", path,
                                        lineno, hm, m_header);
                    goto fail;
                }
                m_header = hm;
            }
            continue;
        }
        if (s_rest_blank(s)) continue;
        long u = s_id(&s), v = u >= 0 ? s_id(&s) : -1;
        if (u == -2 || v == -2) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%ld: agent id larger than %d", path, lineno,
                                S_MAX_AGENTS);
            goto fail;
        }
        if (u < 0 || v < 0 || !s_rest_blank(s)) {
            rc = dgcn_error_set(
                DGCN_EFORMAT, "%s:%ld: expected two non-negative agent ids 'u v' and nothing else",
                path, lineno);
            goto fail;
        }
        if (u == v) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%ld: self-loop %ld -- %ld", path, lineno, u, v);
            goto fail;
        }
        if (n == n_cap) {
            n_cap = n_cap ? 2 * n_cap : 64;
            int32_t *nu = realloc(eu, n_cap * sizeof *eu);
            if (nu) eu = nu;
            int32_t *nv = realloc(ev, n_cap * sizeof *ev);
            if (nv) ev = nv;
            long *nl = realloc(elines, n_cap * sizeof *elines);
            if (nl) elines = nl;
            if (!nu || !nv || !nl) {
                rc = dgcn_error_set(DGCN_ENOMEM, "%s:%ld: out of memory", path, lineno);
                goto fail;
            }
        }
        eu[n] = (int32_t)u;
        ev[n] = (int32_t)v;
        elines[n++] = lineno;
        max_id = u > max_id ? u : max_id;
        max_id = v > max_id ? v : max_id;
    }
    if (ferror(f)) {
        rc = dgcn_error_set(DGCN_EIO, "%s: read error after line %ld", path, lineno);
        goto fail;
    }
    long m = m_header ? m_header : max_id + 1;
    if (m < 1) {
        rc = dgcn_error_set(DGCN_EFORMAT, "%s: no links and no '# agents M' header", path);
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        if (eu[i] >= m || ev[i] >= m) {
            rc = dgcn_error_set(DGCN_EFORMAT,
                                "%s:%ld: agent id %d out of range (header says %ld agents)", path,
                                elines[i], eu[i] >= m ? eu[i] : ev[i], m);
            goto fail;
        }
    DGCN_CHECK(dgcn_topo_init(out, (int32_t)m));
    for (size_t i = 0; i < n; i++) DGCN_CHECK(dgcn_topo_set(out, eu[i], ev[i], 1));
    goto done;
fail:
    dgcn_topo_fini(out);
done:
    free(line);
    free(eu);
    free(ev);
    free(elines);
    if (f) fclose(f);
    return rc;
}

static int s_close(FILE *f, const char *path) {
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return dgcn_error_set(DGCN_EIO, "%s: write failed", path);
    return DGCN_OK;
}

int dgcn_topo_write_edges(const dgcn_topo *g, const char *path) {
    FILE *f = dgcn_file_create(path, "w");
    if (!f) return dgcn_error_set(DGCN_EIO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "# agents %d\n# links %lld\n", g->m, (long long)dgcn_topo_links(g));
    for (int32_t k = 0; k < g->m; k++) {
        int32_t deg;
        const int32_t *nb = dgcn_topo_neighbors(g, k, &deg);
        for (int32_t i = 0; i < deg; i++)
            if (nb[i] > k) fprintf(f, "%d %d\n", k, nb[i]);
    }
    return s_close(f, path);
}

int dgcn_topo_write_dot(const dgcn_topo *g, const dgcn_mixing *weights, const char *path) {
    FILE *f = dgcn_file_create(path, "w");
    if (!f) return dgcn_error_set(DGCN_EIO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "graph dgcn {\n  node [shape=circle];\n");
    for (int32_t k = 0; k < g->m; k++) fprintf(f, "  %d;\n", k);
    for (int32_t k = 0; k < g->m; k++) {
        int32_t deg;
        const int32_t *nb = dgcn_topo_neighbors(g, k, &deg);
        for (int32_t i = 0; i < deg; i++) {
            int32_t t = nb[i];
            if (t < k) continue;
            if (weights)
                fprintf(f, "  %d -- %d [label=\"%.3g\"];\n", k, t, dgcn_mixing_get(weights, k, t));
            else fprintf(f, "  %d -- %d;\n", k, t);
        }
    }
    fprintf(f, "}\n");
    return s_close(f, path);
}

int dgcn_topo_write_weights(int32_t m, const double *c, const char *path) {
    FILE *f = dgcn_file_create(path, "w");
    if (!f) return dgcn_error_set(DGCN_EIO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "# agents %d\n", m);
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = 0; t < m; t++)
            fprintf(f, "%.17g%c", c[(int64_t)k * m + t], t + 1 < m ? ' ' : '\n');
    return s_close(f, path);
}

int dgcn_topo_read_weights(const char *path, int32_t *m_out, double **c_out) {
    int rc = DGCN_OK;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0, m = 0, row = 0;
    double *c = NULL;
    *c_out = NULL;
    *m_out = 0;
    FILE *f = NULL;
    int64_t size;
    if ((rc = dgcn_file_open_read(path, INT64_MAX, &f, &size))) return rc;
    while (getline(&line, &cap, f) != -1) {
        lineno++;
        if (lineno == 1 && (rc = s_no_bom(path, line)) != DGCN_OK) goto fail;
        const char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == '#') {
            if (!m && s_header(s, &m) < 0) m = 0;
            if (m && (int64_t)m * m * 2 > size) { /* each entry takes at least 2 bytes */
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:%ld: '# agents %ld' needs %ld x %ld numbers, more than "
                                    "the file's %lld bytes can hold",
                                    path, lineno, m, m, m, (long long)size);
                goto fail;
            }
            if (m && !c && !(c = calloc((size_t)m * m, sizeof *c))) {
                rc = dgcn_error_set(DGCN_ENOMEM, "%s:%ld: out of memory for %ld x %ld weights",
                                    path, lineno, m, m);
                goto fail;
            }
            continue;
        }
        if (s_rest_blank(s)) continue;
        if (!c) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%ld: numbers before the '# agents M' header",
                                path, lineno);
            goto fail;
        }
        if (row >= m) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%ld: more than %ld rows", path, lineno, m);
            goto fail;
        }
        for (long t = 0; t < m; t++) {
            char *end;
            errno = 0;
            double v = strtod(s, &end);
            if (end == s || errno || !isfinite(v)) {
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:%ld: expected %ld finite numbers, entry %ld is not one",
                                    path, lineno, m, t + 1);
                goto fail;
            }
            c[row * m + t] = v;
            s = end;
        }
        if (!s_rest_blank(s)) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%ld: more than %ld numbers on the row", path,
                                lineno, m);
            goto fail;
        }
        row++;
    }
    if (!c || row != m) {
        rc = dgcn_error_set(DGCN_EFORMAT, "%s: %ld rows for %ld agents (or no '# agents M' header)",
                            path, row, m);
        goto fail;
    }
    *c_out = c;
    *m_out = (int32_t)m;
    c = NULL;
fail:
    free(c);
    free(line);
    fclose(f);
    return rc;
}
