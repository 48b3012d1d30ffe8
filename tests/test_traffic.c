/* tests/test_traffic.c: traffic series (graph/traffic.h) and the traffic experiment command:
 * the .npz reader on archives the tests write and on one np.savez archive held as bytes, its errors,
 * the from,to,cost reader, the samples (windows, 6:2:2 split in time order, z-score from the
 * training part) against an independent numpy reader of the same files (bench/traffic_lstsq.py),
 * the generator, regression through the training library against its centralized twin on a ring
 * of agents with relay, the loss's scale against finite differences and the agents' summed
 * gradients (dgcn verify), and `dgcn traffic` end to end. */
#include "coordinator/commands.h"
#include "coordinator/train.h"
#include "core/error.h"
#include "graph/traffic.h"
#include "nn/gcn.h"
#include "tests/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* np.savez(f, data=np.arange(12.0).reshape(3, 2, 2) * 0.5 - 1) with numpy 1.24 (zip64 extra). */
static const unsigned char s_numpy_npz[] =
    "\x50\x4b\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00\x1e\x05\x3b\x01"
    "\xe0\x00\x00\x00\xe0\x00\x00\x00\x08\x00\x14\x00\x64\x61\x74\x61\x2e\x6e"
    "\x70\x79\x01\x00\x10\x00\xe0\x00\x00\x00\x00\x00\x00\x00\xe0\x00\x00\x00"
    "\x00\x00\x00\x00\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00\x7b\x27\x64\x65"
    "\x73\x63\x72\x27\x3a\x20\x27\x3c\x66\x38\x27\x2c\x20\x27\x66\x6f\x72\x74"
    "\x72\x61\x6e\x5f\x6f\x72\x64\x65\x72\x27\x3a\x20\x46\x61\x6c\x73\x65\x2c"
    "\x20\x27\x73\x68\x61\x70\x65\x27\x3a\x20\x28\x33\x2c\x20\x32\x2c\x20\x32"
    "\x29\x2c\x20\x7d\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20"
    "\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20"
    "\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20"
    "\x20\x20\x20\x20\x20\x0a\x00\x00\x00\x00\x00\x00\xf0\xbf\x00\x00\x00\x00"
    "\x00\x00\xe0\xbf\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\xe0\x3f\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\xf8\x3f"
    "\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x04\x40\x00\x00"
    "\x00\x00\x00\x00\x08\x40\x00\x00\x00\x00\x00\x00\x0c\x40\x00\x00\x00\x00"
    "\x00\x00\x10\x40\x00\x00\x00\x00\x00\x00\x12\x40\x50\x4b\x01\x02\x14\x03"
    "\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00\x1e\x05\x3b\x01\xe0\x00\x00\x00"
    "\xe0\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01"
    "\x00\x00\x00\x00\x64\x61\x74\x61\x2e\x6e\x70\x79\x50\x4b\x05\x06\x00\x00"
    "\x00\x00\x01\x00\x01\x00\x36\x00\x00\x00\x1a\x01\x00\x00\x00\x00";

static void s_tmpdir(char *buf, size_t cap) {
    snprintf(buf, cap, "/tmp/dgcn-traffic-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static void s_rm_rf(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* 1 when /usr/bin/python3 can import numpy; else prints why the check that needs it is skipped. */
static int s_have_numpy(const char *what) {
    if (access("/usr/bin/python3", X_OK) == 0 &&
        system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0)
        return 1;
    fprintf(stderr, "SKIP %s: /usr/bin/python3 with numpy is absent (Debian: python3-numpy)\n",
            what);
    return 0;
}

static void s_write(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

START_TEST(npz_numpy_archive) {
    char dir[64], path[128];
    s_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/pems.npz", dir);
    s_write(path, s_numpy_npz, sizeof s_numpy_npz - 1);
    dgcn_traffic_series s;
    ck_assert_msg(dgcn_traffic_read_npz(&s, path) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_eq(s.t, 3);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.f, 2);
    ck_assert_int_eq(s.generated, 0);
    for (int i = 0; i < 12; i++) ck_assert_float_eq(s.data[i], 0.5f * (float)i - 1.0f);
    dgcn_traffic_series_fini(&s);
    s_rm_rf(dir);
}
END_TEST

START_TEST(npz_roundtrip) {
    char dir[64], path[128];
    s_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/x.npz", dir);
    dgcn_traffic_series a = {.t = 5, .n = 3, .f = 2};
    a.data = calloc(30, sizeof *a.data);
    for (int i = 0; i < 30; i++) a.data[i] = (float)i * 1.25f - 7.0f;
    ck_assert_msg(dgcn_traffic_write_npz(&a, path) == DGCN_OK, "%s", dgcn_error_msg());
    dgcn_traffic_series b;
    ck_assert_msg(dgcn_traffic_read_npz(&b, path) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(b.t == 5 && b.n == 3 && b.f == 2);
    ck_assert_int_eq(memcmp(a.data, b.data, 30 * sizeof *a.data), 0);
    dgcn_traffic_series_fini(&b);
    /* numpy reads what we write: every value, in (T, N, F) order. */
    if (s_have_numpy("npz_roundtrip's numpy check")) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import numpy as np; d = np.load('%s')['data']; "
                 "assert d.shape == (5, 3, 2) and d.dtype == np.float32; "
                 "assert (d.reshape(-1) == np.arange(30) * np.float32(1.25) - 7).all()\"",
                 path);
        ck_assert_msg(system(cmd) == 0, "numpy does not read %s as written", path);
    }
    free(a.data);
    s_rm_rf(dir);
}
END_TEST

/* Writes bytes b[0..n) with one change at offset `at` (when at >= 0) and expects the reader to fail
 * with code naming the path and `want`. */
static void s_expect_bad(const char *dir, const unsigned char *b, size_t n, long at,
                         unsigned char val, int code, const char *want) {
    char path[128];
    snprintf(path, sizeof path, "%s/bad.npz", dir);
    unsigned char *c = malloc(n + 1);
    memcpy(c, b, n);
    if (at >= 0) c[at] = val;
    s_write(path, c, n);
    dgcn_traffic_series s;
    ck_assert_int_eq(dgcn_traffic_read_npz(&s, path), code);
    ck_assert_msg(strstr(dgcn_error_msg(), path), "'%s' does not name the file", dgcn_error_msg());
    ck_assert_msg(strstr(dgcn_error_msg(), want), "'%s' does not say '%s'", dgcn_error_msg(), want);
    free(c);
}

/* The first occurrence of needle[0..k) in b[0..n), or NULL. */
static const unsigned char *s_find(const unsigned char *b, size_t n, const char *needle, size_t k) {
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(b + i, needle, k)) return b + i;
    return NULL;
}

START_TEST(npz_rejects) {
    char dir[64], path[128];
    s_tmpdir(dir, sizeof dir);
    const unsigned char *b = s_numpy_npz;
    const size_t n = sizeof s_numpy_npz - 1;
    s_expect_bad(dir, b, n, 8, 8, DGCN_EFORMAT, "compressed");          /* method 8 (deflate) */
    s_expect_bad(dir, b, n, 30, 'x', DGCN_EFORMAT, "no member 'data'"); /* xata.npy */
    s_expect_bad(dir, b, n, 0, 'Q', DGCN_EFORMAT, "not a zip");
    s_expect_bad(dir, b, n / 2, -1, 0, DGCN_EFORMAT, "truncated");
    const unsigned char *descr = s_find(b, n, "<f8", 3);
    ck_assert_ptr_nonnull(descr);
    s_expect_bad(dir, b, n, descr - b + 1, 'c', DGCN_EFORMAT, "dtype");
    const unsigned char *fo = s_find(b, n, "False", 5);
    s_expect_bad(dir, b, n, fo - b, 'T', DGCN_EFORMAT, "Fortran");
    const unsigned char *shape = s_find(b, n, "(3, 2, 2)", 9);
    s_expect_bad(dir, b, n, shape - b + 1, '4', DGCN_EFORMAT, "needs");
    snprintf(path, sizeof path, "%s/none.npz", dir);
    dgcn_traffic_series s;
    ck_assert_int_eq(dgcn_traffic_read_npz(&s, path), DGCN_EIO);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), path));
    s_rm_rf(dir);
}
END_TEST

static int s_read_csv(const char *dir, const char *text, int32_t n, dgcn_csr *adj, char *path,
                      size_t cap) {
    snprintf(path, cap, "%s/d.csv", dir);
    s_write(path, text, strlen(text));
    return dgcn_traffic_read_graph(adj, path, n);
}

START_TEST(csv_graph) {
    char dir[64], path[128];
    s_tmpdir(dir, sizeof dir);
    dgcn_csr adj;
    /* repeated links in both directions count once */
    ck_assert_msg(s_read_csv(dir, "from,to,cost\n0,1,10.5\n1,2,3\n1,0,10.5\n0,1,10.5\r\n3,2,1e2\n",
                             0, &adj, path, sizeof path) == DGCN_OK,
                  "%s", dgcn_error_msg());
    ck_assert_int_eq(adj.n_rows, 4);
    ck_assert_int_eq(adj.nnz, 6);
    dgcn_csr_fini(&adj);
    ck_assert_int_eq(s_read_csv(dir, "from,to,cost\n0,1,1\n", 5, &adj, path, sizeof path), DGCN_OK);
    ck_assert_int_eq(adj.n_rows, 5);
    dgcn_csr_fini(&adj);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"a,b,c\n0,1,1\n", ":1: expected the header"},
        {"from,to,cost\n0,1,1\n0;2;1\n", ":3: expected 'from,to,cost'"},
        {"from,to,cost\n0,1\n", ":2: expected"},
        {"from,to,cost\n0,1,x\n", ":2: expected"},
        {"from,to,cost\n0,9,1\n", ":2: sensor id 9 outside [0, 5)"},
        {"from,to,cost\n-1,2,1\n", ":2: sensor id -1"},
        {"from,to,cost\n2,2,1\n", ":2: link from sensor 2 to itself"},
        {"", "empty file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(s_read_csv(dir, bad[i].text, 5, &adj, path, sizeof path), DGCN_EFORMAT);
        ck_assert_msg(strstr(dgcn_error_msg(), path) && strstr(dgcn_error_msg(), bad[i].want),
                      "case %zu: '%s' lacks '%s'", i, dgcn_error_msg(), bad[i].want);
        dgcn_csr_fini(&adj);
    }
    s_rm_rf(dir);
}
END_TEST

START_TEST(samples_windows_split_zscore) {
    dgcn_traffic_series s = {.t = 40, .n = 3, .f = 2};
    s.data = calloc(240, sizeof *s.data);
    for (int t = 0; t < 40; t++)
        for (int i = 0; i < 3; i++) {
            s.data[(t * 3 + i) * 2] = (float)(t * 10 + i); /* feature 0 */
            s.data[(t * 3 + i) * 2 + 1] = -1000.0f;        /* feature 1 is ignored */
        }
    dgcn_traffic_samples p;
    ck_assert_int_eq(dgcn_traffic_prepare(&p, &s, 4), DGCN_OK);
    ck_assert_int_eq(p.n_samples, 36);
    ck_assert_int_eq(p.n_train, 21);
    ck_assert_int_eq(p.n_val, 7);
    ck_assert_int_eq(p.n_test, 8);
    /* mean and std over steps 0 .. n_train + lags - 1 = 24 of feature 0 only */
    double sum = 0, sq = 0;
    for (int t = 0; t < 25; t++)
        for (int i = 0; i < 3; i++) sum += t * 10 + i, sq += (double)(t * 10 + i) * (t * 10 + i);
    double mean = sum / 75, sd = sqrt(sq / 75 - mean * mean);
    ck_assert_double_eq_tol(p.mean, mean, 1e-9);
    ck_assert_double_eq_tol(p.std, sd, 1e-9);
    int32_t first[2] = {0, 30}, gid[2] = {2, 0};
    float x[2 * 2 * 4], y[2 * 2];
    dgcn_traffic_fill(&p, first, 2, gid, 2, x, y);
    /* row 0 = sensor 2, sample 30: steps 30..33 -> target step 34 */
    for (int j = 0; j < 4; j++)
        ck_assert_float_eq_tol(x[1 * 4 + j], (float)(((30 + j) * 10 + 2 - mean) / sd), 1e-5f);
    ck_assert_float_eq_tol(y[1], (float)((34 * 10 + 2 - mean) / sd), 1e-5f);
    ck_assert_float_eq_tol(y[2], (float)((4 * 10 + 0 - mean) / sd), 1e-5f);
    dgcn_traffic_samples_fini(&p);
    s.t = 8;
    ck_assert_int_eq(dgcn_traffic_prepare(&p, &s, 4), DGCN_EINVAL);
    free(s.data);
}
END_TEST

/* A ring of n sensors; with chords, also links i -- i+3 and i -- i+7. */
static void s_ring_graph_chords(dgcn_csr *adj, int32_t n, int chords);

/* The C reader and samples against an independent reader of the same files: numpy and the csv
 * module in bench/traffic_lstsq.py --check. A (T, N, 3) series (T != N; features 1 and 2 are not
 * flow) and a CSV with repeated and reversed links; the shape, the split, the z-score, the number
 * of links and every window and target of three samples (first, middle, last) must agree. A
 * reader that transposes the series, takes another feature or shifts the lags fails here. */
START_TEST(reader_matches_numpy) {
    if (!s_have_numpy("reader_matches_numpy")) return;
    char dir[64], npz[128], csv[128], cmd[1024];
    s_tmpdir(dir, sizeof dir);
    snprintf(npz, sizeof npz, "%s/data.npz", dir);
    snprintf(csv, sizeof csv, "%s/distance.csv", dir);
    const int32_t T = 400, N = 17;
    dgcn_csr ring;
    s_ring_graph_chords(&ring, N, 1);
    dgcn_traffic_series g, s3 = {.t = T, .n = N, .f = 3};
    ck_assert_int_eq(dgcn_traffic_generate(&g, &ring, T, 11), DGCN_OK);
    s3.data = calloc((size_t)T * N * 3, sizeof *s3.data);
    for (int32_t i = 0; i < T * N; i++) {
        s3.data[3 * i] = g.data[i];
        s3.data[3 * i + 1] = 0.1f * (float)(i % 97); /* occupancy-like */
        s3.data[3 * i + 2] = 60.0f - (float)(i % 13);
    }
    ck_assert_int_eq(dgcn_traffic_write_npz(&s3, npz), DGCN_OK);
    FILE *f = fopen(csv, "w");
    fprintf(f, "from,to,cost\n");
    for (int32_t i = 0; i < ring.n_rows; i++)
        for (int64_t k = ring.rowptr[i]; k < ring.rowptr[i + 1]; k++)
            fprintf(f, "%d,%d,%d.25\n", (int)i, (int)ring.col[k], (int)(i + k)); /* both ways */
    fclose(f);
    dgcn_traffic_series s;
    dgcn_traffic_samples p;
    dgcn_csr adj;
    ck_assert_msg(dgcn_traffic_read_npz(&s, npz) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_msg(dgcn_traffic_read_graph(&adj, csv, s.n) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_eq(dgcn_traffic_prepare(&p, &s, 12), DGCN_OK);
    const int32_t samples[3] = {0, p.n_samples / 2, p.n_samples - 1};
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/bench/traffic_lstsq.py' '%s' --check %d,%d,%d",
             DGCN_SOURCE_DIR, dir, (int)samples[0], (int)samples[1], (int)samples[2]);
    FILE *py = popen(cmd, "r");
    ck_assert_ptr_nonnull(py);
    int st[3], lines = 0;
    double mean, sd;
    long links;
    ck_assert_int_eq(fscanf(py, "shape %d %d %d ", &st[0], &st[1], &st[2]), 3);
    ck_assert_msg(st[0] == s.t && st[1] == s.n && st[2] == s.f,
                  "numpy shape (%d, %d, %d), C (%d, %d, %d)", st[0], st[1], st[2], (int)s.t,
                  (int)s.n, (int)s.f);
    ck_assert_int_eq(fscanf(py, "split %d %d %d ", &st[0], &st[1], &st[2]), 3);
    ck_assert(st[0] == p.n_train && st[1] == p.n_val && st[2] == p.n_test);
    ck_assert_int_eq(fscanf(py, "zscore %lf %lf ", &mean, &sd), 2);
    ck_assert_msg(fabs(mean - p.mean) <= 1e-6 * fabs(mean) && fabs(sd - p.std) <= 1e-6 * sd,
                  "z-score: numpy mean %g std %g, C %g %g", mean, sd, p.mean, p.std);
    ck_assert_int_eq(fscanf(py, "graph %ld ", &links), 1);
    ck_assert_int_eq(links, adj.nnz / 2);
    float x[12], y;
    for (;;) {
        int smp, sensor;
        double want[13];
        if (fscanf(py, "%d %d", &smp, &sensor) != 2) break;
        for (int j = 0; j < 13; j++) ck_assert_int_eq(fscanf(py, "%lf", &want[j]), 1);
        dgcn_traffic_fill(&p, &smp, 1, &sensor, 1, x, &y);
        for (int j = 0; j < 13; j++) {
            double got = j < 12 ? x[j] : y;
            ck_assert_msg(fabs(got - want[j]) <= 1e-5 * (1.0 + fabs(want[j])),
                          "sample %d sensor %d %s %d: C %.7g, numpy %.7g", smp, sensor,
                          j < 12 ? "lag" : "target", j, got, want[j]);
        }
        lines++;
    }
    ck_assert_int_eq(pclose(py), 0);
    ck_assert_int_eq(lines, 3 * N);
    dgcn_traffic_samples_fini(&p);
    dgcn_traffic_series_fini(&s);
    dgcn_traffic_series_fini(&g);
    free(s3.data);
    dgcn_csr_fini(&adj);
    dgcn_csr_fini(&ring);
    s_rm_rf(dir);
}
END_TEST

static void s_ring_graph_chords(dgcn_csr *adj, int32_t n, int chords) {
    int32_t u[256], v[256], m = 0;
    for (int32_t i = 0; i < n; i++) u[m] = i, v[m] = (i + 1) % n, m++;
    for (int32_t i = 0; i < n && chords; i++) {
        u[m] = i, v[m] = (i + 3) % n, m++;
        u[m] = i, v[m] = (i + 7) % n, m++;
    }
    ck_assert_int_eq(dgcn_csr_from_edges(adj, n, u, v, m), DGCN_OK);
}

static void s_ring_graph(dgcn_csr *adj, int32_t n) { s_ring_graph_chords(adj, n, 0); }

START_TEST(generator_cycles) {
    dgcn_csr adj;
    s_ring_graph(&adj, 12);
    dgcn_traffic_series a, b, c;
    const int32_t T = 288 * 8;
    ck_assert_int_eq(dgcn_traffic_generate(&a, &adj, T, 5), DGCN_OK);
    ck_assert_int_eq(dgcn_traffic_generate(&b, &adj, T, 5), DGCN_OK);
    ck_assert_int_eq(dgcn_traffic_generate(&c, &adj, T, 6), DGCN_OK);
    ck_assert(a.generated == 1 && a.t == T && a.n == 12 && a.f == 1);
    ck_assert_int_eq(memcmp(a.data, b.data, (size_t)T * 12 * sizeof *a.data), 0);
    ck_assert_int_ne(memcmp(a.data, c.data, (size_t)T * 12 * sizeof *a.data), 0);
    /* daily cycle: a day apart is much closer than half a day apart (weekdays 0..3) */
    double d_day = 0, d_half = 0, lo = INFINITY;
    for (int32_t t = 0; t < 288 * 3; t++)
        for (int32_t i = 0; i < 12; i++) {
            d_day += fabs(a.data[(size_t)t * 12 + i] - a.data[(size_t)(t + 288) * 12 + i]);
            d_half += fabs(a.data[(size_t)t * 12 + i] - a.data[(size_t)(t + 144) * 12 + i]);
            lo = fmin(lo, a.data[(size_t)t * 12 + i]);
        }
    ck_assert_double_lt(d_day, 0.6 * d_half);
    ck_assert_double_ge(lo, 0.0);
    /* weekly cycle: the weekend (days 5, 6) carries less than the weekdays */
    double wk = 0, we = 0;
    for (int32_t t = 0; t < 288 * 7; t++)
        for (int32_t i = 0; i < 12; i++) *(t / 288 >= 5 ? &we : &wk) += a.data[(size_t)t * 12 + i];
    ck_assert_double_lt(we / 2, 0.9 * wk / 5);
    dgcn_traffic_series_fini(&a), dgcn_traffic_series_fini(&b), dgcn_traffic_series_fini(&c);
    ck_assert_int_eq(dgcn_traffic_generate(&a, &adj, 5, 1), DGCN_EINVAL);
    dgcn_csr_fini(&adj);
}
END_TEST

/* A traffic folder in dir (data.npz, graph.csv) of generated series of t steps on adj. */
static void s_traffic_dir(const char *dir, const dgcn_csr *adj, int32_t t, uint64_t seed) {
    dgcn_traffic_series s;
    char path[128];
    ck_assert_int_eq(dgcn_traffic_generate(&s, adj, t, seed), DGCN_OK);
    snprintf(path, sizeof path, "%s/data.npz", dir);
    ck_assert_int_eq(dgcn_traffic_write_npz(&s, path), DGCN_OK);
    snprintf(path, sizeof path, "%s/graph.csv", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "from,to,cost\n");
    for (int32_t i = 0; i < adj->n_rows; i++)
        for (int64_t e = adj->rowptr[i]; e < adj->rowptr[i + 1]; e++)
            if (adj->col[e] > i) fprintf(f, "%d,%d,1\n", (int)i, (int)adj->col[e]);
    fclose(f);
    dgcn_traffic_series_fini(&s);
}

/* Regression through the training library (coordinator/train.h) on a traffic folder: 4 agents on a
 * ring of 4 links, a random partition of a ring of sensors with chords, so every agent pair shares
 * road links and the pairs 0-2 and 1-3 are relayed through a neighbour; inproc. For filter orders
 * 0..2 the agents' test MSE and MAE within 2 % of the centralized twin's, halo bytes K times order
 * 1's with relayed rows among them, consensus bytes two P-float vectors per directed link per
 * iteration (gt-adam, one gossip round) and one per final averaging round. */
START_TEST(train_agents_match_central) {
    dgcn_csr adj;
    s_ring_graph_chords(&adj, 30, 1);
    char dir[64], run[128];
    s_tmpdir(dir, sizeof dir);
    s_traffic_dir(dir, &adj, 288 * 3, 3);
    snprintf(run, sizeof run, "%s/run", dir);
    dgcn_train_opts o;
    dgcn_train_defaults_regression(&o);
    o.src.dir = dir;
    o.plan.agents = 4;
    o.plan.partition = "random";
    o.plan.cross_edges = "relay";
    o.plan.seed = 7;
    o.batch = 16;
    o.epochs = 10;
    o.transport = "inproc";
    o.progress = 0;
    o.out = run;
    double halo[3];
    for (int k = 0; k <= 2; k++) {
        dgcn_train_result r;
        o.order = k;
        ck_assert_msg(dgcn_train_run(&o, &r) == DGCN_OK, "%s", dgcn_error_msg());
        ck_assert_double_gt(r.central_test_mse_mean, 0.0);
        ck_assert_double_lt(r.central_test_mse_mean, 1.0); /* learned something (z-score units) */
        ck_assert_msg(fabs(r.test_mse_mean - r.central_test_mse_mean) <=
                          0.02 * r.central_test_mse_mean,
                      "order %d: agents %g vs centralized %g", k, r.test_mse_mean,
                      r.central_test_mse_mean);
        ck_assert_double_le(fabs(r.test_mae_mean - r.central_test_mae_mean),
                            0.02 * r.central_test_mae_mean);
        ck_assert_int_eq(r.links, 4);          /* the ring only */
        ck_assert_int_eq(r.required_links, 6); /* every pair shares a sensor link */
        ck_assert_int_eq(r.hops_per_exchange, 2);
        ck_assert(k == 0 ? r.bytes_per_iter_relayed == 0.0 : r.bytes_per_iter_relayed > 0.0);
        ck_assert_int_eq(r.n_params, (k + 1) * 12 + 1);
        const double iters = (int)(0.6 * (288 * 3 - 12)) / 16 * 10; /* training samples / B x 10 */
        ck_assert_double_eq_tol(r.bytes_per_iter_params,
                                (2.0 * iters + o.final_mixing) * r.n_params * 4 * 2 * r.links /
                                    iters,
                                1e-6);
        halo[k] = r.bytes_per_iter_direct + r.bytes_per_iter_relayed;
        dgcn_train_result_fini(&r);
    }
    ck_assert_double_eq(halo[0], 0.0);
    ck_assert_double_gt(halo[1], 0.0);
    ck_assert_double_eq_tol(halo[2], 2 * halo[1], 1e-6);
    s_rm_rf(dir);
    dgcn_csr_fini(&adj);
}
END_TEST

/* sum_i a_i b_i */
static double s_dot(const float *a, const float *b, int64_t n) {
    double v = 0;
    for (int64_t i = 0; i < n; i++) v += (double)a[i] * b[i];
    return v;
}

/* The loss regression differentiates, for orders 0..2: the centralized gradient at a random theta
 * on one batch is the derivative of (sum of squared errors) / (N x B), checked along a random
 * direction by central differences of the squared errors (the filter is linear in theta, so they
 * are exact but for rounding); a loss scaled by N or by the agents' count fails it. And the agents'
 * gradients add up to it: dgcn verify on the traffic folder, 4 agents on a ring of 4 with the
 * pairs 0-2 and 1-3 relayed (logits and summed gradients within 1e-5, halo bytes as planned). */
START_TEST(regression_gradient_scale) {
    dgcn_csr adj, a_hat;
    s_ring_graph_chords(&adj, 30, 1);
    ck_assert_int_eq(dgcn_csr_gcn_norm(&a_hat, &adj), DGCN_OK);
    dgcn_traffic_series s;
    dgcn_traffic_samples p;
    ck_assert_int_eq(dgcn_traffic_generate(&s, &adj, 288 * 2, 4), DGCN_OK);
    ck_assert_int_eq(dgcn_traffic_prepare(&p, &s, 12), DGCN_OK);
    enum { B = 8, N = 30 };
    const int32_t first[B] = {3, 40, 41, 99, 150, 200, 310, 333};
    int32_t gid[N];
    for (int32_t i = 0; i < N; i++) gid[i] = i;
    float x[N * B * 12], y[N * B];
    dgcn_traffic_fill(&p, first, B, gid, N, x, y);
    dgcn_block blk = {.n_own = N,
                      .a = &a_hat,
                      .gid = gid,
                      .reg_share = 1.0f,
                      .batch = B,
                      .xd = x,
                      .y = y,
                      .n_values_global = (double)N * B};
    char dir[64], order_s[8];
    s_tmpdir(dir, sizeof dir);
    s_traffic_dir(dir, &adj, 288 * 2, 4);
    for (int k = 0; k <= 2; k++) {
        dgcn_model_config cfg = dgcn_model_defaults(DGCN_MODEL_FILTER, 12, 1);
        cfg.order = k, cfg.n_layers = 1, cfg.dims[1] = 1, cfg.dropout = 0.0f;
        cfg.weight_decay = 0.0f;
        const int64_t np = dgcn_model_n_params(&cfg);
        float *theta = malloc(sizeof(float) * np), *u = malloc(sizeof(float) * np);
        float *g = malloc(sizeof(float) * np), *tp = malloc(sizeof(float) * np);
        float *tm = malloc(sizeof(float) * np);
        srand(17 + k);
        for (int64_t i = 0; i < np; i++) {
            theta[i] = (float)rand() / RAND_MAX - 0.5f;
            u[i] = (float)rand() / RAND_MAX - 0.5f;
        }
        dgcn_gcn *net = NULL;
        ck_assert_int_eq(dgcn_gcn_new(&net, &cfg, &blk, NULL, NULL), DGCN_OK);
        dgcn_eval ev, ev_p, ev_m;
        ck_assert_int_eq(dgcn_gcn_forward(net, theta, 1, 7, 0, &ev), DGCN_OK);
        ck_assert_int_eq(dgcn_gcn_backward(net, theta, g), DGCN_OK);
        const float h = 0.01f;
        for (int64_t i = 0; i < np; i++) tp[i] = theta[i] + h * u[i], tm[i] = theta[i] - h * u[i];
        ck_assert_int_eq(dgcn_gcn_forward(net, tp, 0, 7, 0, &ev_p), DGCN_OK);
        ck_assert_int_eq(dgcn_gcn_forward(net, tm, 0, 7, 0, &ev_m), DGCN_OK);
        const double fd = (ev_p.sq_sum - ev_m.sq_sum) / (2.0 * h) / ((double)N * B);
        const double an = s_dot(g, u, np);
        ck_assert_msg(fabs(fd - an) <= 1e-3 * fabs(fd) + 1e-7,
                      "order %d: gradient along u %.6g, finite difference of the loss %.6g "
                      "(ratio %.4g)",
                      k, an, fd, an / fd);
        ck_assert_double_gt(ev.sq_sum, 0.0);
        dgcn_gcn_destroy(&net);
        free(theta), free(u), free(g), free(tp), free(tm);
        snprintf(order_s, sizeof order_s, "%d", k);
        char *va[] = {"verify", "--data",      dir,      "--agents",   "4",    "--partition",
                      "random", "--seed",      "7",      "--topology", "ring", "--cross-edges",
                      "relay",  "--transport", "inproc", "--batch",    "8",    "--order",
                      order_s,  NULL};
        ck_assert_msg(dgcn_cmd_verify(19, va) == 0, "verify on the traffic folder, order %d: %s", k,
                      dgcn_error_msg());
    }
    s_rm_rf(dir);
    dgcn_traffic_samples_fini(&p);
    dgcn_traffic_series_fini(&s);
    dgcn_csr_fini(&a_hat);
    dgcn_csr_fini(&adj);
}
END_TEST

static char *s_slurp_text(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s missing", path);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* dgcn generate --kind traffic, then dgcn traffic --data on its folder: summary.json keys and the
 * "not PeMS" notice; a folder without a .npz is refused naming it. */
START_TEST(cmd_generate_and_traffic) {
    char dir[64], csv[128], gen[128], run[128], path[160];
    s_tmpdir(dir, sizeof dir);
    snprintf(csv, sizeof csv, "%s/ring.csv", dir);
    FILE *f = fopen(csv, "w");
    fprintf(f, "from,to,cost\n");
    for (int i = 0; i < 20; i++) fprintf(f, "%d,%d,%d.5\n", i, (i + 1) % 20, i);
    fclose(f);
    snprintf(gen, sizeof gen, "%s/gen", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    char *ga[] = {"generate", "--kind", "traffic", "--graph", csv,
                  "--out",    gen,      "--steps", "700",     NULL};
    ck_assert_int_eq(dgcn_cmd_generate(9, ga), 0);
    char *ta[] = {"traffic", "--data",   gen, "--order", "1",  "--seeds", "2", "--epochs",
                  "1",       "--agents", "2", "--batch", "16", "--out",   run, NULL};
    ck_assert_int_eq(dgcn_cmd_traffic(15, ta), 0);
    snprintf(path, sizeof path, "%s/summary.json", run);
    const char *js = s_slurp_text(path);
    static const char *keys[] = {
        "\"test_mse_mean\":", "\"test_mse_std\":", "\"central_test_mse_mean\":",
        "\"test_mae_mean\":", "\n  \"test_mse_mean\":" /* top level, not only per model */,
        "\"generated\": true", "NOT PeMS", "\"order\": 1", "\"cross_edges\": \"relay\"",
        /* gt-adam: two vectors of 25 floats per link direction */
        "\"params_bytes_per_iter\": 400,", "\"relayed_bytes_per_iter\": 0,",
        "\"links\": 1.0, \"possible_links\": 1,"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        ck_assert_msg(strstr(js, keys[i]), "summary.json lacks %s:\n%s", keys[i], js);
    /* a folder with no .npz */
    char *bad[] = {"traffic", "--data", dir, "--seeds", "1", NULL};
    ck_assert_int_ne(dgcn_cmd_traffic(5, bad), 0);
    ck_assert_msg(strstr(dgcn_error_msg(), dir) && strstr(dgcn_error_msg(), ".npz"), "%s",
                  dgcn_error_msg());
    s_rm_rf(dir);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"npz_numpy_archive", npz_numpy_archive, 0, 0},
        {"npz_roundtrip", npz_roundtrip, 0, 0},
        {"npz_rejects", npz_rejects, 0, 0},
        {"csv_graph", csv_graph, 0, 0},
        {"samples_windows_split_zscore", samples_windows_split_zscore, 0, 0},
        {"reader_matches_numpy", reader_matches_numpy, 0, 60},
        {"generator_cycles", generator_cycles, 0, 0},
        {"train_agents_match_central", train_agents_match_central, 0, 120},
        {"regression_gradient_scale", regression_gradient_scale, 0, 60},
        {"cmd_generate_and_traffic", cmd_generate_and_traffic, 0, 120},
    };
    return DGCN_TEST_SUITE("traffic", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
