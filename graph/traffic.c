/* graph/traffic.c: traffic series: the .npz and CSV readers, an .npz writer, the generator and the
 * samples (contract in graph/traffic.h).
 *
 * An .npz is a zip archive of .npy files. The reader walks the local file headers: signature
 * PK\3\4, method 0 (stored) only, sizes from the header or its zip64 extra field (np.savez forces
 * zip64); the member `data.npy` holds "\x93NUMPY", a version, a header length and a Python dict
 * literal {'descr': ..., 'fortran_order': False, 'shape': (...)} padded with spaces, then the
 * array. */
#include "graph/traffic.h"

#include "core/error.h"
#include "core/rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dgcn_traffic_series_fini(dgcn_traffic_series *s) {
    if (!s) return;
    free(s->data);
    memset(s, 0, sizeof *s);
}

void dgcn_traffic_samples_fini(dgcn_traffic_samples *p) {
    if (!p) return;
    free(p->z);
    memset(p, 0, sizeof *p);
}

static uint32_t s_u16(const unsigned char *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8; }
static uint32_t s_u32(const unsigned char *b) { return s_u16(b) | s_u16(b + 2) << 16; }
static uint64_t s_u64(const unsigned char *b) { return s_u32(b) | (uint64_t)s_u32(b + 4) << 32; }

/* Reads the whole file into *buf (malloc'd) and *len. */
static int s_slurp(const char *path, unsigned char **buf, size_t *len) {
    int rc = DGCN_OK;
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return dgcn_error_set(DGCN_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return dgcn_error_set(DGCN_EIO, "%s: cannot seek", path);
    }
    long n = ftell(f);
    rewind(f);
    if (n < 0) {
        fclose(f);
        return dgcn_error_set(DGCN_EIO, "%s: cannot tell its size", path);
    }
    DGCN_ALLOC(*buf, (size_t)n + 1);
    if (fread(*buf, 1, (size_t)n, f) != (size_t)n) {
        rc = dgcn_error_set(DGCN_EIO, "%s: short read", path);
        goto fail;
    }
    fclose(f);
    *len = (size_t)n;
    return DGCN_OK;
fail:
    fclose(f);
    free(*buf);
    *buf = NULL;
    return rc;
}

/* Parses the .npy bytes of member `data` into s. */
static int s_parse_npy(dgcn_traffic_series *s, const char *path, const unsigned char *b,
                       uint64_t len) {
    int rc;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return dgcn_error_set(DGCN_EFORMAT, "%s: member data.npy does not start with \\x93NUMPY",
                              path);
    uint64_t hlen, hoff;
    if (b[6] == 1) hlen = s_u16(b + 8), hoff = 10;
    else if ((b[6] == 2 || b[6] == 3) && len >= 12) hlen = s_u32(b + 8), hoff = 12;
    else return dgcn_error_set(DGCN_EFORMAT, "%s: data.npy has format version %d", path, b[6]);
    if (hoff + hlen > len)
        return dgcn_error_set(DGCN_EFORMAT, "%s: data.npy header runs past the member", path);
    char hdr[1024];
    if (hlen >= sizeof hdr)
        return dgcn_error_set(DGCN_EFORMAT, "%s: data.npy header of %llu bytes is too long", path,
                              (unsigned long long)hlen);
    memcpy(hdr, b + hoff, hlen);
    hdr[hlen] = '\0';
    const char *d = strstr(hdr, "'descr':");
    const char *fo = strstr(hdr, "'fortran_order':");
    const char *sh = strstr(hdr, "'shape':");
    if (!d || !fo || !sh)
        return dgcn_error_set(DGCN_EFORMAT,
                              "%s: data.npy header lacks descr, fortran_order or "
                              "shape: %s",
                              path, hdr);
    d += strlen("'descr':");
    while (*d == ' ') d++;
    int size = 0, is_float = 0;
    if (!strncmp(d, "'<f4'", 5)) size = 4, is_float = 1;
    else if (!strncmp(d, "'<f8'", 5)) size = 8, is_float = 1;
    else if (!strncmp(d, "'<i4'", 5)) size = 4;
    else if (!strncmp(d, "'<i8'", 5)) size = 8;
    else
        return dgcn_error_set(DGCN_EFORMAT, "%s: data.npy dtype %.8s is not <f4, <f8, <i4 or <i8",
                              path, d);
    fo += strlen("'fortran_order':");
    while (*fo == ' ') fo++;
    if (strncmp(fo, "False", 5) != 0)
        return dgcn_error_set(DGCN_EFORMAT, "%s: data.npy is in Fortran order", path);
    sh += strlen("'shape':");
    while (*sh == ' ') sh++;
    if (*sh != '(') return dgcn_error_set(DGCN_EFORMAT, "%s: data.npy shape is not a tuple", path);
    long long dims[4];
    int nd = 0;
    const char *q = sh + 1;
    while (*q && *q != ')') {
        while (*q == ' ' || *q == ',') q++;
        if (*q == ')') break;
        char *end;
        long long v = strtoll(q, &end, 10);
        if (end == q || v <= 0 || v > INT32_MAX || nd == 4)
            return dgcn_error_set(DGCN_EFORMAT, "%s: data.npy shape %.40s is not (T, N, F)", path,
                                  sh);
        dims[nd++] = v;
        q = end;
    }
    if (nd != 2 && nd != 3)
        return dgcn_error_set(DGCN_EFORMAT, "%s: data.npy has %d dimensions, expected (T, N, F)",
                              path, nd);
    if (nd == 2) dims[2] = 1;
    uint64_t count = (uint64_t)dims[0] * (uint64_t)dims[1] * (uint64_t)dims[2];
    if (len - hoff - hlen != count * (uint64_t)size)
        return dgcn_error_set(DGCN_EFORMAT,
                              "%s: data.npy holds %llu bytes of values, shape (%lld, %lld, %lld) "
                              "needs %llu",
                              path, (unsigned long long)(len - hoff - hlen), dims[0], dims[1],
                              dims[2], (unsigned long long)(count * (uint64_t)size));
    s->t = (int32_t)dims[0], s->n = (int32_t)dims[1], s->f = (int32_t)dims[2];
    DGCN_ALLOC(s->data, count);
    const unsigned char *v = b + hoff + hlen;
    for (uint64_t i = 0; i < count; i++, v += size) {
        double x;
        if (is_float && size == 4) {
            uint32_t u = s_u32(v);
            float f;
            memcpy(&f, &u, 4);
            x = f;
        } else if (is_float) {
            uint64_t u = s_u64(v);
            memcpy(&x, &u, 8);
        } else if (size == 4) {
            x = (double)(int32_t)s_u32(v);
        } else {
            x = (double)(int64_t)s_u64(v);
        }
        if (!isfinite(x))
            return dgcn_error_set(DGCN_EFORMAT, "%s: data.npy value %llu is not finite", path,
                                  (unsigned long long)i);
        s->data[i] = (float)x;
    }
    return DGCN_OK;
fail:
    return rc;
}

int dgcn_traffic_read_npz(dgcn_traffic_series *s, const char *path) {
    int rc = DGCN_OK;
    unsigned char *buf = NULL;
    size_t len = 0;
    memset(s, 0, sizeof *s);
    DGCN_CHECK(s_slurp(path, &buf, &len));
    size_t off = 0;
    int found = 0;
    while (off + 4 <= len && s_u32(buf + off) == 0x04034b50u) {
        if (off + 30 > len) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s: truncated zip header at byte %zu", path, off);
            goto fail;
        }
        const unsigned char *h = buf + off;
        uint32_t flags = s_u16(h + 6), method = s_u16(h + 8);
        uint64_t csize = s_u32(h + 18), usize = s_u32(h + 22);
        uint32_t nlen = s_u16(h + 26), xlen = s_u16(h + 28);
        if (off + 30 + nlen + xlen > len) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s: truncated zip header at byte %zu", path, off);
            goto fail;
        }
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(nlen < 255 ? nlen : 255), (const char *)h + 30);
        /* zip64: sizes of 0xFFFFFFFF live in extra field 0x0001 (uncompressed, then compressed). */
        const unsigned char *x = h + 30 + nlen;
        for (uint32_t e = 0; e + 4 <= xlen;) {
            uint32_t id = s_u16(x + e), sz = s_u16(x + e + 2);
            if (e + 4 + sz > xlen) break;
            if (id == 1) {
                const unsigned char *z = x + e + 4;
                uint32_t used = 0;
                if (usize == 0xFFFFFFFFu && used + 8 <= sz) usize = s_u64(z + used), used += 8;
                if (csize == 0xFFFFFFFFu && used + 8 <= sz) csize = s_u64(z + used), used += 8;
            }
            e += 4 + sz;
        }
        if (flags & 8) {
            rc = dgcn_error_set(DGCN_EFORMAT,
                                "%s: member %s has its sizes after the data (streamed zip); "
                                "re-save it with numpy.savez",
                                path, name);
            goto fail;
        }
        size_t data_off = off + 30 + nlen + xlen;
        if (csize > len - data_off) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s: member %s is truncated (%llu bytes announced)",
                                path, name, (unsigned long long)csize);
            goto fail;
        }
        if (!strcmp(name, "data.npy")) {
            if (method != 0) {
                rc = dgcn_error_set(
                    DGCN_EFORMAT,
                    "%s: member data.npy is compressed (method %u); only stored "
                    "members are read: re-save with numpy.savez, not savez_compressed",
                    path, method);
                goto fail;
            }
            if (csize != usize) {
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s: stored member data.npy has sizes %llu != %llu", path,
                                    (unsigned long long)csize, (unsigned long long)usize);
                goto fail;
            }
            DGCN_CHECK(s_parse_npy(s, path, buf + data_off, csize));
            found = 1;
            break;
        }
        off = data_off + csize;
    }
    if (!found) {
        rc = dgcn_error_set(DGCN_EFORMAT,
                            len >= 4 && s_u32(buf) == 0x04034b50u
                                ? "%s: the archive has no member 'data' (data.npy)"
                                : "%s: not a zip archive (.npz)",
                            path);
        goto fail;
    }
    free(buf);
    return DGCN_OK;
fail:
    free(buf);
    dgcn_traffic_series_fini(s);
    return rc;
}

static uint32_t s_crc32(const unsigned char *p, size_t n, uint32_t crc) {
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void s_put16(unsigned char *b, uint32_t v) {
    b[0] = (unsigned char)v, b[1] = (unsigned char)(v >> 8);
}
static void s_put32(unsigned char *b, uint32_t v) {
    s_put16(b, v & 0xFFFF), s_put16(b + 2, v >> 16);
}

int dgcn_traffic_write_npz(const dgcn_traffic_series *s, const char *path) {
    int rc = DGCN_OK;
    unsigned char *npy = NULL;
    FILE *f = NULL;
    char hdr[256];
    int hl = snprintf(hdr, sizeof hdr,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }",
                      (int)s->t, (int)s->n, (int)s->f);
    int total_h = 10 + hl + 1;
    int pad = (64 - total_h % 64) % 64;
    size_t count = (size_t)s->t * (size_t)s->n * (size_t)s->f;
    size_t npy_len = (size_t)total_h + (size_t)pad + 4 * count;
    if (npy_len >= 0xFFFFFFFFu)
        return dgcn_error_set(DGCN_EINVAL, "%s: %zu bytes do not fit a zip without zip64", path,
                              npy_len);
    DGCN_ALLOC(npy, npy_len);
    memcpy(npy, "\x93NUMPY\x01\x00", 8);
    s_put16(npy + 8, (uint32_t)(hl + pad + 1));
    memcpy(npy + 10, hdr, (size_t)hl);
    memset(npy + 10 + hl, ' ', (size_t)pad);
    npy[10 + hl + pad] = '\n';
    unsigned char *v = npy + total_h + pad;
    for (size_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &s->data[i], 4);
        s_put32(v + 4 * i, u);
    }
    uint32_t crc = s_crc32(npy, npy_len, 0);
    const char *name = "data.npy";
    unsigned char lh[30], ch[46], eo[22];
    memset(lh, 0, sizeof lh), memset(ch, 0, sizeof ch), memset(eo, 0, sizeof eo);
    s_put32(lh, 0x04034b50u), s_put16(lh + 4, 20), s_put32(lh + 14, crc);
    s_put32(lh + 18, (uint32_t)npy_len), s_put32(lh + 22, (uint32_t)npy_len);
    s_put16(lh + 26, (uint32_t)strlen(name));
    s_put32(ch, 0x02014b50u), s_put16(ch + 4, 20), s_put16(ch + 6, 20), s_put32(ch + 16, crc);
    s_put32(ch + 20, (uint32_t)npy_len), s_put32(ch + 24, (uint32_t)npy_len);
    s_put16(ch + 28, (uint32_t)strlen(name));
    size_t cd_off = sizeof lh + strlen(name) + npy_len;
    s_put32(eo, 0x06054b50u), s_put16(eo + 8, 1), s_put16(eo + 10, 1);
    s_put32(eo + 12, (uint32_t)(sizeof ch + strlen(name))), s_put32(eo + 16, (uint32_t)cd_off);
    f = fopen(path, "wb");
    if (!f) {
        rc = dgcn_error_set(DGCN_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    if (fwrite(lh, 1, sizeof lh, f) != sizeof lh ||
        fwrite(name, 1, strlen(name), f) != strlen(name) || fwrite(npy, 1, npy_len, f) != npy_len ||
        fwrite(ch, 1, sizeof ch, f) != sizeof ch ||
        fwrite(name, 1, strlen(name), f) != strlen(name) ||
        fwrite(eo, 1, sizeof eo, f) != sizeof eo) {
        rc = dgcn_error_set(DGCN_EIO, "%s: write failed", path);
        goto fail;
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = dgcn_error_set(DGCN_EIO, "%s: write failed", path);
        goto fail;
    }
    free(npy);
    return DGCN_OK;
fail:
    if (f) fclose(f);
    free(npy);
    return rc;
}

static int s_cmp_pair(const void *a, const void *b) {
    const int32_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

int dgcn_traffic_read_graph(dgcn_csr *adj, const char *path, int32_t n) {
    int rc = DGCN_OK;
    int32_t *pairs = NULL, *u = NULL, *v = NULL;
    int64_t n_pairs = 0, cap = 0;
    char line[512];
    memset(adj, 0, sizeof *adj);
    FILE *f = fopen(path, "r");
    if (!f) return dgcn_error_set(DGCN_EIO, "%s: cannot open: %s", path, strerror(errno));
    int64_t lineno = 0;
    int32_t max_id = -1;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t l = strlen(line);
        if (l == sizeof line - 1 && line[l - 1] != '\n') {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: line too long", path, (long long)lineno);
            goto fail;
        }
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = '\0';
        if (lineno == 1) {
            if (strncmp(line, "from,to", 7) != 0) {
                rc = dgcn_error_set(DGCN_EFORMAT,
                                    "%s:1: expected the header 'from,to,cost', got '%.60s'", path,
                                    line);
                goto fail;
            }
            continue;
        }
        if (l == 0) continue;
        char *end;
        errno = 0;
        long a = strtol(line, &end, 10);
        if (end == line || *end != ',') goto bad;
        char *p = end + 1;
        long b = strtol(p, &end, 10);
        if (end == p || *end != ',') goto bad;
        p = end + 1;
        double cost = strtod(p, &end);
        if (end == p || *end != '\0' || errno || !isfinite(cost)) goto bad;
        if (a < 0 || b < 0 || a > INT32_MAX || b > INT32_MAX || (n > 0 && (a >= n || b >= n))) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: sensor id %ld outside [0, %d)", path,
                                (long long)lineno, (a < 0 || (n > 0 && a >= n)) ? a : b, (int)n);
            goto fail;
        }
        if (a == b) {
            rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: link from sensor %ld to itself", path,
                                (long long)lineno, a);
            goto fail;
        }
        if (n_pairs == cap) {
            cap = cap ? 2 * cap : 1024;
            int32_t *np = realloc(pairs, (size_t)cap * 2 * sizeof *pairs);
            if (!np) {
                rc = dgcn_error_set(DGCN_ENOMEM, "%s: out of memory", path);
                goto fail;
            }
            pairs = np;
        }
        pairs[2 * n_pairs] = (int32_t)(a < b ? a : b);
        pairs[2 * n_pairs + 1] = (int32_t)(a < b ? b : a);
        if ((int32_t)a > max_id) max_id = (int32_t)a;
        if ((int32_t)b > max_id) max_id = (int32_t)b;
        n_pairs++;
        continue;
    bad:
        rc = dgcn_error_set(DGCN_EFORMAT, "%s:%lld: expected 'from,to,cost', got '%.60s'", path,
                            (long long)lineno, line);
        goto fail;
    }
    if (lineno == 0) {
        rc = dgcn_error_set(DGCN_EFORMAT, "%s: empty file (expected the header from,to,cost)",
                            path);
        goto fail;
    }
    fclose(f);
    f = NULL;
    if (n <= 0) n = max_id + 1;
    if (n <= 0) {
        rc = dgcn_error_set(DGCN_EFORMAT, "%s: no links", path);
        goto fail;
    }
    qsort(pairs, (size_t)n_pairs, 2 * sizeof *pairs, s_cmp_pair);
    DGCN_ALLOC(u, n_pairs);
    DGCN_ALLOC(v, n_pairs);
    int64_t m = 0;
    for (int64_t i = 0; i < n_pairs; i++) {
        if (m > 0 && u[m - 1] == pairs[2 * i] && v[m - 1] == pairs[2 * i + 1]) continue;
        u[m] = pairs[2 * i], v[m] = pairs[2 * i + 1], m++;
    }
    rc = dgcn_csr_from_edges(adj, n, u, v, m);
    if (rc) rc = dgcn_error_wrap(rc, "%s: ", path);
fail:
    if (f) fclose(f);
    free(pairs), free(u), free(v);
    return rc;
}

/* The daily profile at minute-of-day fraction x in [0, 1): night low, morning and evening peaks. */
static double s_daily(double x) {
    double morning = exp(-0.5 * pow((x - 8.0 / 24) / (1.2 / 24), 2));
    double evening = exp(-0.5 * pow((x - 17.5 / 24) / (1.6 / 24), 2));
    double day = 0.5 - 0.5 * cos(6.283185307179586 * x);
    return 0.15 + 0.45 * day + 0.5 * morning + 0.6 * evening;
}

/* y_i = mean of v over the neighbours of i in adj, or v_i for a sensor without neighbours: the
 * random-walk operator P = D^-1 A (an isolated sensor keeps its own value). */
static void s_walk(double *y, const dgcn_csr *adj, const double *v) {
    for (int32_t i = 0; i < adj->n_rows; i++) {
        double a = 0.0;
        for (int64_t k = adj->rowptr[i]; k < adj->rowptr[i + 1]; k++) a += v[adj->col[k]];
        int64_t c = adj->rowptr[i + 1] - adj->rowptr[i];
        y[i] = c > 0 ? a / (double)c : v[i];
    }
}

void dgcn_traffic_generator_params(dgcn_traffic_gen_params *g) {
    g->diffusion = 0.5;
    g->persistence = 0.9;
    g->innovation = 0.3;
    g->incidents_per_week = 2.0;
    g->amplitude = 0.25;
    g->noise = 0.05;
    g->scale = 250.0;
    g->burn_in = 288;
}

int dgcn_traffic_generator_note(char *buf, size_t cap) {
    dgcn_traffic_gen_params g;
    dgcn_traffic_generator_params(&g);
    int n = snprintf(buf, cap,
                     "flow_i(t) = base_i(t) + %g (%g e_i(t) + %g noise), base: level x daily "
                     "profile (morning and evening peaks, phase +- 30 min) x weekend dip 0.75; "
                     "disturbance e(t+1) = %g ((1 - %g) e(t) + %g P e(t)) + %g N(0, 1) + "
                     "incidents (about %g per sensor and week, a drop of 2.5 to 4.5), "
                     "P = D^-1 A the random walk on the road graph (one diffusion step per "
                     "5-minute step; no hop distance weighted by hand); %d steps of burn-in",
                     g.scale, g.amplitude, g.noise, g.persistence, g.diffusion, g.diffusion,
                     g.innovation, g.incidents_per_week, (int)g.burn_in);
    return n;
}

int dgcn_traffic_generate(dgcn_traffic_series *s, const dgcn_csr *adj, int32_t t, uint64_t seed) {
    int rc = DGCN_OK;
    double *level = NULL, *phase = NULL, *e = NULL, *pe = NULL;
    memset(s, 0, sizeof *s);
    if (!adj || adj->n_rows <= 0 || adj->n_rows != adj->n_cols)
        return dgcn_error_set(DGCN_EINVAL, "traffic generator: needs a square sensor graph");
    if (t < 20) return dgcn_error_set(DGCN_EINVAL, "traffic generator: %d steps (at least 20)", t);
    const int32_t n = adj->n_rows;
    dgcn_traffic_gen_params g;
    dgcn_traffic_generator_params(&g);
    DGCN_ALLOC(s->data, (size_t)t * n);
    DGCN_ALLOC(level, n);
    DGCN_ALLOC(phase, n);
    DGCN_ALLOC(e, n);
    DGCN_ALLOC(pe, n);
    s->t = t, s->n = n, s->f = 1, s->generated = 1;
    dgcn_rng rng;
    dgcn_rng_seed(&rng, seed, DGCN_STREAM_GENERATE);
    for (int32_t i = 0; i < n; i++) {
        level[i] = 150.0 + 250.0 * dgcn_rng_uniform(&rng);
        phase[i] = (dgcn_rng_uniform(&rng) - 0.5) * (1.0 / 24); /* +- 30 minutes */
    }
    const double p_incident = g.incidents_per_week / (288.0 * 7.0);
    for (int32_t step = -g.burn_in; step < t; step++) {
        /* e <- persistence ((1 - a) e + a P e) + innovation + incidents */
        s_walk(pe, adj, e);
        for (int32_t i = 0; i < n; i++) {
            double v = g.persistence * ((1.0 - g.diffusion) * e[i] + g.diffusion * pe[i]);
            v += g.innovation * dgcn_rng_normal(&rng);
            if (dgcn_rng_uniform(&rng) < p_incident) v -= 2.5 + 2.0 * dgcn_rng_uniform(&rng);
            e[i] = v;
        }
        if (step < 0) continue;
        double day = (double)(step % 288) / 288.0;
        int weekday = (step / 288) % 7;
        double week = weekday >= 5 ? 0.75 : 1.0;
        for (int32_t i = 0; i < n; i++) {
            double x = day + phase[i];
            x -= floor(x);
            double base = level[i] * week * s_daily(x);
            double v = base + g.scale * (g.amplitude * e[i] + g.noise * dgcn_rng_normal(&rng));
            s->data[(size_t)step * n + i] = (float)(v > 0.0 ? v : 0.0);
        }
    }
fail:
    free(level), free(phase), free(e), free(pe);
    if (rc) dgcn_traffic_series_fini(s);
    return rc;
}

int dgcn_traffic_prepare(dgcn_traffic_samples *p, const dgcn_traffic_series *s, int32_t lags) {
    int rc = DGCN_OK;
    memset(p, 0, sizeof *p);
    if (lags < 1 || !s || s->t - lags < 5)
        return dgcn_error_set(DGCN_EINVAL,
                              "traffic samples: %d steps are too few for %d lags and a 6:2:2 split",
                              s ? (int)s->t : 0, (int)lags);
    p->n = s->n, p->lags = lags;
    p->n_samples = s->t - lags;
    p->n_train = (int32_t)(0.6 * p->n_samples);
    p->n_val = (int32_t)(0.2 * p->n_samples);
    p->n_test = p->n_samples - p->n_train - p->n_val;
    /* The training samples cover steps [0, n_train + lags). */
    const int32_t t_train = p->n_train + lags;
    double sum = 0, sq = 0;
    for (int32_t t = 0; t < t_train; t++)
        for (int32_t i = 0; i < s->n; i++) {
            double v = s->data[((size_t)t * s->n + i) * s->f];
            sum += v, sq += v * v;
        }
    double cnt = (double)t_train * s->n;
    p->mean = sum / cnt;
    p->std = sqrt(fmax(sq / cnt - p->mean * p->mean, 0.0));
    if (!(p->std > 0))
        return dgcn_error_set(DGCN_EINVAL, "traffic samples: the training steps are constant");
    DGCN_ALLOC(p->z, (size_t)s->t * s->n);
    for (int32_t t = 0; t < s->t; t++)
        for (int32_t i = 0; i < s->n; i++)
            p->z[(size_t)t * s->n + i] =
                (float)((s->data[((size_t)t * s->n + i) * s->f] - p->mean) / p->std);
    return DGCN_OK;
fail:
    dgcn_traffic_samples_fini(p);
    return rc;
}

void dgcn_traffic_fill(const dgcn_traffic_samples *p, const int32_t *first, int32_t b,
                       const int32_t *gid, int32_t n_rows, float *x, float *y) {
    const int32_t L = p->lags, n = p->n;
    for (int32_t r = 0; r < n_rows; r++)
        for (int32_t k = 0; k < b; k++) {
            float *xr = x + ((size_t)r * b + k) * L;
            for (int32_t j = 0; j < L; j++) xr[j] = p->z[(size_t)(first[k] + j) * n + gid[r]];
            y[(size_t)r * b + k] = p->z[(size_t)(first[k] + L) * n + gid[r]];
        }
}

void dgcn_traffic_epoch_order(uint64_t seed, int32_t epoch, int32_t n_train, int32_t *perm) {
    dgcn_rng rng;
    dgcn_rng_seed(&rng, dgcn_mix64(seed * 1000003u + (uint64_t)epoch), DGCN_STREAM_GENERATE);
    for (int32_t i = 0; i < n_train; i++) perm[i] = i;
    dgcn_rng_shuffle_int(&rng, perm, n_train);
}
