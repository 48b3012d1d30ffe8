/* tests/test_graph.c: CSR construction and normalization, the strict dataset loader (shipped
 * datasets and a corpus of broken folders), write/load round trips, the CSBM generator and the
 * generate command. */
#include "coordinator/commands.h"
#include "core/error.h"
#include "graph/csr.h"
#include "graph/dataset.h"
#include "graph/generate.h"
#include "graph/order.h"
#include "tests/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * helpers */

static char s_tmp[256];

static void s_mktmp(void) {
    snprintf(s_tmp, sizeof s_tmp, "/tmp/dgcn_test_graph_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_tmp));
}

static void s_rmtree(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void s_write_text(const char *dir, const char *file, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Exact equality of two CSR matrices. */
static void s_assert_csr_eq(const dgcn_csr *a, const dgcn_csr *b) {
    ck_assert_int_eq(a->n_rows, b->n_rows);
    ck_assert_int_eq(a->n_cols, b->n_cols);
    ck_assert_int_eq(a->nnz, b->nnz);
    ck_assert(memcmp(a->rowptr, b->rowptr, ((size_t)a->n_rows + 1) * sizeof *a->rowptr) == 0);
    if (a->nnz) {
        ck_assert(memcmp(a->col, b->col, (size_t)a->nnz * sizeof *a->col) == 0);
        ck_assert(memcmp(a->val, b->val, (size_t)a->nnz * sizeof *a->val) == 0);
    }
}

static void s_assert_dataset_eq(const dgcn_dataset *a, const dgcn_dataset *b) {
    ck_assert_str_eq(a->name, b->name);
    ck_assert_int_eq(a->n, b->n);
    ck_assert_int_eq(a->d, b->d);
    ck_assert_int_eq(a->c, b->c);
    ck_assert_int_eq(a->n_edges, b->n_edges);
    ck_assert_int_eq(a->has_features, b->has_features);
    ck_assert_int_eq(a->count_features, b->count_features);
    ck_assert_int_eq(a->n_train, b->n_train);
    ck_assert_int_eq(a->n_val, b->n_val);
    ck_assert_int_eq(a->n_test, b->n_test);
    s_assert_csr_eq(&a->adj, &b->adj);
    if (a->has_features) s_assert_csr_eq(&a->x, &b->x);
    ck_assert(memcmp(a->label, b->label, (size_t)a->n * sizeof *a->label) == 0);
    ck_assert(memcmp(a->split, b->split, (size_t)a->n) == 0);
}

/* ---------------------------------------------------------------------------------------------
 * csr */

START_TEST(csr_from_edges_small) {
    /* Edges given unsorted and in both orientations: {1,2}, {0,3}, {0,1}. */
    int32_t u[] = {2, 0, 1}, v[] = {1, 3, 0};
    dgcn_csr m;
    ck_assert_int_eq(dgcn_csr_from_edges(&m, 4, u, v, 3), DGCN_OK);
    int64_t rowptr[] = {0, 2, 4, 5, 6};
    int32_t col[] = {1, 3, 0, 2, 1, 0};
    ck_assert_int_eq(m.n_rows, 4);
    ck_assert_int_eq(m.n_cols, 4);
    ck_assert_int_eq(m.nnz, 6);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(m.rowptr[i], rowptr[i]);
    for (int k = 0; k < 6; k++) {
        ck_assert_int_eq(m.col[k], col[k]);
        ck_assert_float_eq(m.val[k], 1.0f);
    }
    dgcn_csr_fini(&m);
    dgcn_csr_fini(&m); /* fini twice is a no-op */
}
END_TEST

START_TEST(csr_from_edges_rejects) {
    dgcn_csr m;
    int32_t u1[] = {0, 1}, v1[] = {1, 1};
    ck_assert_int_eq(dgcn_csr_from_edges(&m, 3, u1, v1, 2), DGCN_EFORMAT);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "self-loop"));
    int32_t u2[] = {0, 2, 1}, v2[] = {1, 1, 0};
    ck_assert_int_eq(dgcn_csr_from_edges(&m, 3, u2, v2, 3), DGCN_EFORMAT);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "duplicate edge (0, 1)"));
    int32_t u3[] = {0}, v3[] = {3};
    ck_assert_int_eq(dgcn_csr_from_edges(&m, 3, u3, v3, 1), DGCN_EFORMAT);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "[0, 3)"));
    int32_t u4[] = {-1}, v4[] = {0};
    ck_assert_int_eq(dgcn_csr_from_edges(&m, 3, u4, v4, 1), DGCN_EFORMAT);
    dgcn_csr_fini(&m);
}
END_TEST

START_TEST(csr_gcn_norm_dense) {
    enum { N = 6 };
    int32_t u[] = {0, 0, 1, 2, 3, 4, 1}, v[] = {1, 5, 2, 5, 4, 5, 4};
    dgcn_csr a, h;
    ck_assert_int_eq(dgcn_csr_from_edges(&a, N, u, v, 7), DGCN_OK);
    ck_assert_int_eq(dgcn_csr_gcn_norm(&h, &a), DGCN_OK);
    double dense[N][N] = {{0}}, deg[N];
    for (int e = 0; e < 7; e++) dense[u[e]][v[e]] = dense[v[e]][u[e]] = 1.0;
    for (int i = 0; i < N; i++) dense[i][i] = 1.0;
    for (int i = 0; i < N; i++) {
        deg[i] = 0;
        for (int j = 0; j < N; j++) deg[i] += dense[i][j];
    }
    ck_assert_int_eq(h.nnz, 2 * 7 + N);
    double got[N][N] = {{0}};
    for (int i = 0; i < N; i++)
        for (int64_t k = h.rowptr[i]; k < h.rowptr[i + 1]; k++) {
            if (k > h.rowptr[i]) ck_assert_int_lt(h.col[k - 1], h.col[k]); /* sorted, diag inside */
            got[i][h.col[k]] = h.val[k];
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double want = dense[i][j] / sqrt(deg[i] * deg[j]);
            ck_assert_double_eq_tol(got[i][j], want, 1e-6);
        }
    dgcn_csr_fini(&h);
    /* Rejects a diagonal entry in A. */
    dgcn_csr bad;
    ck_assert_int_eq(dgcn_csr_init(&bad, 2, 2, 1), DGCN_OK);
    bad.rowptr[1] = 1;
    bad.rowptr[2] = 1;
    bad.col[0] = 0;
    bad.val[0] = 1;
    ck_assert_int_eq(dgcn_csr_gcn_norm(&h, &bad), DGCN_EINVAL);
    dgcn_csr_fini(&bad);
    dgcn_csr_fini(&a);
    dgcn_csr_fini(&h);
}
END_TEST

START_TEST(csr_row_normalize_binarize) {
    dgcn_csr m;
    ck_assert_int_eq(dgcn_csr_init(&m, 3, 4, 4), DGCN_OK);
    /* row 0: 2 at col 1, 6 at col 3; row 1: empty; row 2: 0.5 at col 0, 1.5 at col 2 */
    int64_t rp[] = {0, 2, 2, 4};
    int32_t col[] = {1, 3, 0, 2};
    float val[] = {2, 6, 0.5f, 1.5f};
    memcpy(m.rowptr, rp, sizeof rp);
    memcpy(m.col, col, sizeof col);
    memcpy(m.val, val, sizeof val);
    dgcn_csr_row_normalize(&m);
    ck_assert_float_eq_tol(m.val[0], 0.25f, 1e-7f);
    ck_assert_float_eq_tol(m.val[1], 0.75f, 1e-7f);
    ck_assert_float_eq_tol(m.val[2], 0.25f, 1e-7f);
    ck_assert_float_eq_tol(m.val[3], 0.75f, 1e-7f);
    ck_assert_int_eq(m.rowptr[2] - m.rowptr[1], 0);
    dgcn_csr_binarize(&m);
    for (int k = 0; k < 4; k++) ck_assert_float_eq(m.val[k], 1.0f);
    dgcn_csr_fini(&m);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * shipped datasets */

typedef struct s_expect {
    const char *name;
    int n, d, c;
    long long edges, feat_nnz;
    int train, val, test, has_features, count, unlabeled;
} s_expect;

static const s_expect s_shipped[] = {
    {"cora", 2708, 1433, 7, 5278, 49216, 140, 500, 1000, 1, 0, 0},
    {"citeseer", 3327, 3703, 6, 4552, 105165, 120, 500, 1000, 1, 0, 15},
    {"pubmed", 19717, 500, 3, 44324, 988031, 60, 500, 1000, 1, 0, 0},
    {"coauthor_physics", 34493, 8415, 5, 247962, 1137311, 100, 150, 34243, 1, 1, 0},
};

START_TEST(load_shipped) {
    const s_expect *x = &s_shipped[_i];
    char buf[512];
    const char *dir = dgcn_test_dataset(x->name, buf, sizeof buf);
    if (!dir) return;
    dgcn_dataset ds;
    int rc = dgcn_dataset_load(&ds, dir);
    ck_assert_msg(rc == DGCN_OK, "%s: %s", x->name, dgcn_error_msg());
    ck_assert_str_eq(ds.name, x->name);
    ck_assert_int_eq(ds.n, x->n);
    ck_assert_int_eq(ds.d, x->d);
    ck_assert_int_eq(ds.c, x->c);
    ck_assert_int_eq(ds.n_edges, x->edges);
    ck_assert_int_eq(ds.adj.nnz, 2 * x->edges);
    ck_assert_int_eq(ds.has_features, x->has_features);
    ck_assert_int_eq(ds.count_features, x->count);
    ck_assert_int_eq(ds.x.nnz, x->feat_nnz);
    ck_assert_int_eq(ds.n_train, x->train);
    ck_assert_int_eq(ds.n_val, x->val);
    ck_assert_int_eq(ds.n_test, x->test);
    int counts[4] = {0}, unlabeled = 0;
    for (int i = 0; i < ds.n; i++) {
        counts[ds.split[i]]++;
        unlabeled += ds.label[i] < 0;
        if (ds.label[i] < 0) ck_assert_int_eq(ds.split[i], DGCN_SPLIT_NONE);
    }
    ck_assert_int_eq(counts[1], x->train);
    ck_assert_int_eq(counts[2], x->val);
    ck_assert_int_eq(counts[3], x->test);
    ck_assert_int_eq(unlabeled, x->unlabeled);
    if (!strcmp(x->name, "cora")) {
        ck_assert_int_eq(ds.label[0], 3);
        ck_assert_int_eq(ds.x.rowptr[1] - ds.x.rowptr[0], 9);
        ck_assert_int_eq(ds.x.col[0], 19);
        ck_assert_int_eq(ds.x.col[8], 1274);
    }
    if (!strcmp(x->name, "citeseer")) {
        ck_assert_int_eq(ds.label[2407], -1);
        ck_assert_int_eq(ds.x.rowptr[2408] - ds.x.rowptr[2407], 0);
    }
    if (!strcmp(x->name, "pubmed")) {
        /* Rebuilt Planetoid TF-IDF features (float32 values): every node has a row, and
         * preprocessing keeps the support and makes each row sum to 1. */
        for (int i = 0; i < ds.n; i += 97) ck_assert_int_gt(ds.x.rowptr[i + 1] - ds.x.rowptr[i], 0);
        ck_assert_int_eq(dgcn_dataset_preprocess(&ds, 0), DGCN_OK);
        ck_assert_int_eq(ds.x.n_rows, ds.n);
        ck_assert_int_eq(ds.x.n_cols, 500);
        ck_assert_int_eq(ds.x.nnz, x->feat_nnz);
        for (int i = 0; i < ds.n; i += 97) {
            double s = 0;
            for (int64_t k = ds.x.rowptr[i]; k < ds.x.rowptr[i + 1]; k++) s += ds.x.val[k];
            ck_assert_double_eq_tol(s, 1.0, 1e-5);
        }
    }
    dgcn_dataset_fini(&ds);
}
END_TEST

START_TEST(load_missing_folder) {
    dgcn_dataset ds;
    ck_assert_int_eq(dgcn_dataset_load(&ds, "/nonexistent/dgcn/folder"), DGCN_EIO);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "/nonexistent/dgcn/folder/meta.txt"));
    dgcn_dataset_fini(&ds);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * a corpus of broken folders, each one mutation of a small valid one */

static const char *const s_good_files[][2] = {
    {"meta.txt", "name tiny\nnum_nodes 6\nnum_features 5\nnum_classes 2\nnum_edges 5\n"
                 "features_available 1\nfeature_values binary\nfeature_nnz 8\nnum_train 2\n"
                 "num_val 2\nnum_test 1\nsource somewhere\n"},
    {"labels.txt", "0\n1\n0\n1\n-1\n1\n"},
    {"features.txt", "0 2 0:1 3:1\n1 1 1:1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n"},
    {"edges.txt", "0 1\n0 2\n1 3\n2 5\n3 4\n"},
    {"train.txt", "0\n1\n"},
    {"val.txt", "2\n3\n"},
    {"test.txt", "5\n"},
};
enum { S_N_GOOD = 7 };

static void s_write_good(const char *dir) {
    for (int f = 0; f < S_N_GOOD; f++) s_write_text(dir, s_good_files[f][0], s_good_files[f][1]);
}

/* Content markers: put a directory or a FIFO in the file's place. */
static const char S_A_DIR[] = "(a directory)", S_A_FIFO[] = "(a FIFO)";

typedef struct s_broken {
    const char *file;     /* file to replace */
    const char *content;  /* its new content, NULL to delete it, or S_A_DIR or S_A_FIFO */
    int code;             /* expected error code */
    const char *where;    /* "file:line:" the message must contain */
    const char *fragment; /* part of what was expected / found */
} s_broken;
#define S_GOOD_LABELS "0\n1\n0\n1\n-1\n1\n"

static const s_broken s_corpus[] = {
    /* missing files */
    {"labels.txt", NULL, DGCN_EIO, "labels.txt", "cannot open"},
    {"features.txt", NULL, DGCN_EIO, "features.txt", "cannot open"},
    {"test.txt", NULL, DGCN_EIO, "test.txt", "cannot open"},
    /* meta.txt */
    {"meta.txt",
     "name tiny\nnum_nodes 6\nnum_features 5\nnum_classes 2\nfeatures_available 1\n"
     "feature_values binary\nfeature_nnz 8\nnum_train 2\nnum_val 2\nnum_test 1\n",
     DGCN_EFORMAT, "meta.txt:11:", "num_edges"},
    {"meta.txt", "name tiny\nnum_nodes six\n", DGCN_EFORMAT, "meta.txt:2:", "found 'six'"},
    {"meta.txt", "name tiny\nnum_nodes 6\nnum_nodes 6\n", DGCN_EFORMAT, "meta.txt:3:", "twice"},
    /* counts disagreeing with meta.txt, including absurd ones that must not be allocated */
    {"meta.txt",
     "name tiny\nnum_nodes 6\nnum_features 5\nnum_classes 2\nnum_edges 1000000000000\n"
     "features_available 1\nfeature_values binary\nfeature_nnz 8\nnum_train 2\n"
     "num_val 2\nnum_test 1\n",
     DGCN_EFORMAT, "edges.txt:6:", "expected 1000000000000 lines (num_edges"},
    {"meta.txt",
     "name tiny\nnum_nodes 6\nnum_features 5\nnum_classes 2\nnum_edges 5\n"
     "features_available 1\nfeature_values binary\nfeature_nnz 999999999999\n"
     "num_train 2\nnum_val 2\nnum_test 1\n",
     DGCN_EFORMAT, "features.txt:6:", "expected 999999999999 idx:val pairs in all"},
    {"labels.txt", "0\n1\n0\n1\n-1\n", DGCN_EFORMAT, "labels.txt:6:", "expected 6 lines"},
    {"labels.txt", "0\n1\n0\n1\n-1\n1\n0\n", DGCN_EFORMAT, "labels.txt:7:", "found more"},
    {"edges.txt", "0 1\n0 2\n1 3\n2 5\n", DGCN_EFORMAT, "edges.txt:5:", "expected 5 lines"},
    {"test.txt", "", DGCN_EFORMAT, "test.txt:1:", "expected 1 lines (num_test"},
    {"val.txt", "2\n3\n5\n", DGCN_EFORMAT, "val.txt:3:", "found more"},
    /* malformed lines */
    {"labels.txt", "0\nx\n0\n1\n-1\n1\n", DGCN_EFORMAT, "labels.txt:2:", "found 'x'"},
    {"labels.txt", "0 1\n1\n0\n1\n-1\n1\n", DGCN_EFORMAT, "labels.txt:1:", "found '0 1'"},
    {"labels.txt", "0\n1\n0\n1\n-1\n1", DGCN_EFORMAT, "labels.txt:6:", "truncated"},
    {"labels.txt", "0\r\n1\n0\n1\n-1\n1\n", DGCN_EFORMAT, "labels.txt:1:", "carriage return"},
    {"labels.txt", "0\n1\n\n0\n1\n-1\n1\n", DGCN_EFORMAT, "labels.txt:3:", "blank line"},
    {"edges.txt", "0 1\n0 a\n1 3\n2 5\n3 4\n", DGCN_EFORMAT, "edges.txt:2:", "found '0 a'"},
    {"edges.txt", "0 1\n0 2\n1 3 4\n2 5\n3 4\n", DGCN_EFORMAT, "edges.txt:3:", "found '1 3 4'"},
    {"features.txt", "0  2 0:1 3:1\n1 1 1:1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n",
     DGCN_EFORMAT, "features.txt:1:", "<node_id> <nnz>"},
    {"features.txt", "0 2 0:1 3:1\n1 1 1:abc\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n",
     DGCN_EFORMAT, "features.txt:2:", "found 'abc'"},
    /* node id out of range */
    {"edges.txt", "0 1\n0 2\n1 3\n2 5\n3 6\n", DGCN_EFORMAT, "edges.txt:5:", "0 <= u < v < 6"},
    {"val.txt", "2\n6\n", DGCN_EFORMAT, "val.txt:2:", "node id in [0, 6)"},
    /* features.txt content */
    {"features.txt", "0 2 0:1 3:1\n1 1 1:1\n3 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n", DGCN_EFORMAT,
     "features.txt:3:", "expected node_id 2"},
    {"features.txt", "0 3 0:1 3:1\n1 1 1:1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n", DGCN_EFORMAT,
     "features.txt:1:", "expected 3 idx:val pairs (the nnz field), found 2"},
    {"features.txt", "0 1 0:1 3:1\n1 1 1:1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n", DGCN_EFORMAT,
     "features.txt:1:", "expected 1 idx:val pairs (the nnz field), found more"},
    {"features.txt", "0 2 3:1 0:1\n1 1 1:1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n", DGCN_EFORMAT,
     "features.txt:1:", "strictly increasing, found 0 after 3"},
    {"features.txt", "0 2 3:1 3:1\n1 1 1:1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n", DGCN_EFORMAT,
     "features.txt:1:", "strictly increasing, found 3 after 3"},
    {"features.txt", "0 2 0:1 3:1\n1 1 5:1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n", DGCN_EFORMAT,
     "features.txt:2:", "feature index in [0, 5)"},
    {"features.txt", "0 2 0:1 3:1\n1 1 1:-1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n",
     DGCN_EFORMAT, "features.txt:2:", "expected value 1 (binary)"},
    {"features.txt", "0 2 0:1 3:1\n1 1 1:0\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n", DGCN_EFORMAT,
     "features.txt:2:", "found '0'"},
    {"features.txt", "0 2 0:1 3:1\n1 1 1:inf\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n",
     DGCN_EFORMAT, "features.txt:2:", "found 'inf'"},
    {"features.txt", "0 2 0:1 3:1\n1 1 1:0x1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 2 1:1 4:1\n",
     DGCN_EFORMAT, "features.txt:2:", "found '0x1'"},
    {"features.txt", "0 2 0:1 3:1\n1 1 1:1\n2 2 0:1 2:1\n3 0\n4 1 4:1\n5 1 1:1\n", DGCN_EFORMAT,
     "features.txt:6:", "expected 8 idx:val pairs in all (feature_nnz"},
    /* labels */
    {"labels.txt", "0\n1\n2\n1\n-1\n1\n", DGCN_EFORMAT, "labels.txt:3:", "class in [-1, 2)"},
    /* edges */
    {"edges.txt", "0 1\n0 1\n1 3\n2 5\n3 4\n", DGCN_EFORMAT,
     "edges.txt:2:", "duplicate edge '0 1'"},
    {"edges.txt", "0 1\n2 2\n1 3\n2 5\n3 4\n", DGCN_EFORMAT, "edges.txt:2:", "self-loop '2 2'"},
    {"edges.txt", "1 0\n0 2\n1 3\n2 5\n3 4\n", DGCN_EFORMAT,
     "edges.txt:1:", "u < v < 6, found '1 0'"},
    {"edges.txt", "0 1\n0 2\n2 5\n1 3\n3 4\n", DGCN_EFORMAT, "edges.txt:4:", "sorted by u then v"},
    /* split files */
    {"train.txt", "1\n0\n", DGCN_EFORMAT, "train.txt:2:", "unsorted 0 after 1"},
    {"train.txt", "0\n0\n", DGCN_EFORMAT, "train.txt:2:", "duplicate 0 after 0"},
    {"test.txt", "4\n", DGCN_EFORMAT, "test.txt:1:", "node 4 with label -1"},
    {"test.txt", "1\n", DGCN_EFORMAT, "test.txt:1:", "node 1 already in train.txt"},
    {"val.txt", "2\n5\n", DGCN_EFORMAT, "test.txt:1:", "node 5 already in val.txt"},
    /* not a regular file in a data file's place: an error naming it, never a hang */
    {"edges.txt", S_A_DIR, DGCN_EIO, "edges.txt", "expected a regular file, found a directory"},
    {"labels.txt", S_A_FIFO, DGCN_EIO, "labels.txt", "expected a regular file, found a FIFO"},
    {"meta.txt", S_A_FIFO, DGCN_EIO, "meta.txt", "expected a regular file, found a FIFO"},
    /* a UTF-8 byte order mark is named as such */
    {"meta.txt",
     "\xEF\xBB\xBFname tiny\nnum_nodes 6\nnum_features 5\nnum_classes 2\nnum_edges 5\n"
     "features_available 1\nfeature_values binary\nfeature_nnz 8\nnum_train 2\n"
     "num_val 2\nnum_test 1\n",
     DGCN_EFORMAT, "meta.txt:1:", "byte order mark (BOM)"},
    {"train.txt",
     "\xEF\xBB\xBF"
     "0\n1\n",
     DGCN_EFORMAT, "train.txt:1:", "byte order mark (BOM)"},
    /* counts larger than the files could describe are rejected before they are allocated */
    {"meta.txt",
     "name tiny\nnum_nodes 2000000000\nnum_features 5\nnum_classes 2\nnum_edges 5\n"
     "features_available 1\nfeature_values binary\nfeature_nnz 8\nnum_train 2\n"
     "num_val 2\nnum_test 1\n",
     DGCN_EFORMAT, "meta.txt", "num_nodes 2000000000 is more than"},
    {"meta.txt",
     "name tiny\nnum_nodes 6\nnum_features 1073741824\nnum_classes 2\nnum_edges 5\n"
     "features_available 1\nfeature_values binary\nfeature_nnz 8\nnum_train 2\n"
     "num_val 2\nnum_test 1\n",
     DGCN_EFORMAT, "meta.txt", "num_features 1073741824 is more than the 65536 columns"},
    {"meta.txt",
     "name tiny\nnum_nodes 6\nnum_features 1073741824\nnum_classes 2\nnum_edges 5\n"
     "features_available 0\nnum_train 2\nnum_val 2\nnum_test 1\n",
     DGCN_EFORMAT, "meta.txt", "num_features 1073741824 is more than the 65536 columns"},
    {"meta.txt",
     "name tiny\nnum_nodes 6\nnum_features 5\nnum_classes 1073741824\nnum_edges 5\n"
     "features_available 1\nfeature_values binary\nfeature_nnz 8\nnum_train 2\n"
     "num_val 2\nnum_test 1\n",
     DGCN_EFORMAT, "meta.txt", "num_classes 1073741824 is more than the 65536 classes"},
    /* a file far larger than its counts allow is rejected before it is read */
    {"labels.txt",
     S_GOOD_LABELS "0000000000000000000000000000000000000000000000000000000000000000"
                   "0000000000000000000000000000000000000000000000000000000000000000"
                   "0000000000000000000000000000000000000000000000000000000000000000"
                   "0000000000000000000000000000000000000000000000000000000000000000"
                   "0000000000000000000000000000000000000000000000000000000000000000"
                   "0000000000000000000000000000000000000000000000000000000000000000"
                   "0000000000000000000000000000000000000000000000000000000000000000"
                   "0000000000000000000000000000000000000000000000000000000000000000\n",
     DGCN_EFORMAT, "labels.txt", "more than the 384 allowed by num_nodes in meta.txt"},
    {"val.txt",
     "2\n3\n                                                                "
     "                                                                 \n",
     DGCN_EFORMAT, "val.txt", "more than the 128 allowed by num_val in meta.txt"},
};
enum { S_N_CORPUS = (int)(sizeof s_corpus / sizeof s_corpus[0]) };

START_TEST(load_good_tiny) {
    s_mktmp();
    s_write_good(s_tmp);
    dgcn_dataset ds;
    ck_assert_msg(dgcn_dataset_load(&ds, s_tmp) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_str_eq(ds.name, "tiny");
    ck_assert_int_eq(ds.n, 6);
    ck_assert_int_eq(ds.x.nnz, 8);
    ck_assert_int_eq(ds.adj.nnz, 10);
    ck_assert_int_eq(ds.label[4], -1);
    ck_assert_int_eq(ds.split[5], DGCN_SPLIT_TEST);
    ck_assert_int_eq(ds.split[4], DGCN_SPLIT_NONE);
    dgcn_dataset_fini(&ds);
    s_rmtree(s_tmp);
}
END_TEST

START_TEST(load_rejects_broken) {
    const s_broken *b = &s_corpus[_i];
    s_mktmp();
    s_write_good(s_tmp);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_tmp, b->file);
    if (b->content == S_A_DIR || b->content == S_A_FIFO || !b->content)
        ck_assert_int_eq(unlink(path), 0);
    else s_write_text(s_tmp, b->file, b->content);
    if (b->content == S_A_DIR) ck_assert_int_eq(mkdir(path, 0700), 0);
    if (b->content == S_A_FIFO) ck_assert_int_eq(mkfifo(path, 0600), 0);
    dgcn_dataset ds;
    dgcn_error_clear();
    int rc = dgcn_dataset_load(&ds, s_tmp);
    const char *msg = dgcn_error_msg();
    ck_assert_msg(rc == b->code, "case %d (%s): code %d (%s), expected %d", _i, b->where, rc, msg,
                  b->code);
    char want[600];
    snprintf(want, sizeof want, "%s/%s", s_tmp, b->where);
    ck_assert_msg(strstr(msg, want) != NULL, "case %d: message '%s' does not name '%s'", _i, msg,
                  want);
    ck_assert_msg(strstr(msg, b->fragment) != NULL, "case %d: message '%s' lacks '%s'", _i, msg,
                  b->fragment);
    /* A failed load leaves ds zeroed and safe to fini. */
    ck_assert_ptr_null(ds.label);
    dgcn_dataset_fini(&ds);
    s_rmtree(s_tmp);
}
END_TEST

/* Every single-byte substitution of the tiny folder loads or fails cleanly (never crashes, never
 * fails without naming the folder). */
START_TEST(load_survives_byte_mutations) {
    static const char subst[] = {'0', '7', '-', ' ', '\n', 'x', ':', '\r'};
    s_mktmp();
    int failures = 0, tried = 0;
    for (int f = 0; f < S_N_GOOD; f++) {
        const char *good = s_good_files[f][1];
        size_t len = strlen(good);
        char *text = malloc(len + 1);
        ck_assert_ptr_nonnull(text);
        for (size_t pos = 0; pos < len; pos++)
            for (size_t q = 0; q < sizeof subst; q++) {
                if (good[pos] == subst[q]) continue;
                s_write_good(s_tmp);
                memcpy(text, good, len + 1);
                text[pos] = subst[q];
                s_write_text(s_tmp, s_good_files[f][0], text);
                dgcn_dataset ds;
                int rc = dgcn_dataset_load(&ds, s_tmp);
                tried++;
                if (rc != DGCN_OK) {
                    failures++;
                    ck_assert_int_eq(rc, DGCN_EFORMAT);
                    ck_assert_msg(strstr(dgcn_error_msg(), s_tmp) != NULL, "%s", dgcn_error_msg());
                }
                dgcn_dataset_fini(&ds);
            }
        free(text);
    }
    /* Most substitutions must be caught (a few, e.g. a different valid label, are legal). */
    ck_assert_int_gt(failures, tried * 3 / 4);
    s_rmtree(s_tmp);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * write / load round trip */

START_TEST(roundtrip_generated) {
    dgcn_csbm_params p = dgcn_csbm_defaults();
    p.n = 600;
    p.n_val = 100;
    p.n_test = 200;
    dgcn_dataset a, b;
    ck_assert_int_eq(dgcn_generate_csbm(&a, &p), DGCN_OK);
    a.label[7] = -1; /* an unlabelled node outside the split */
    a.split[7] = DGCN_SPLIT_NONE;
    int counts[4] = {0};
    for (int i = 0; i < a.n; i++) counts[a.split[i]]++;
    a.n_train = counts[DGCN_SPLIT_TRAIN];
    a.n_val = counts[DGCN_SPLIT_VAL];
    a.n_test = counts[DGCN_SPLIT_TEST];
    s_mktmp();
    /* raw binary features */
    ck_assert_msg(dgcn_dataset_write(&a, s_tmp) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_msg(dgcn_dataset_load(&b, s_tmp) == DGCN_OK, "%s", dgcn_error_msg());
    s_assert_dataset_eq(&a, &b);
    dgcn_dataset_fini(&b);
    /* float features after row normalization survive bit for bit */
    ck_assert_int_eq(dgcn_dataset_preprocess(&a, 0), DGCN_OK);
    ck_assert_msg(dgcn_dataset_write(&a, s_tmp) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_msg(dgcn_dataset_load(&b, s_tmp) == DGCN_OK, "%s", dgcn_error_msg());
    s_assert_dataset_eq(&a, &b);
    dgcn_dataset_fini(&b);
    dgcn_dataset_fini(&a);
    s_rmtree(s_tmp);
}
END_TEST

START_TEST(roundtrip_shipped) {
    char buf[512];
    const char *dir = dgcn_test_dataset(_i ? "pubmed" : "citeseer", buf, sizeof buf);
    if (!dir) return;
    dgcn_dataset a, b;
    ck_assert_msg(dgcn_dataset_load(&a, dir) == DGCN_OK, "%s", dgcn_error_msg());
    s_mktmp();
    ck_assert_msg(dgcn_dataset_write(&a, s_tmp) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_msg(dgcn_dataset_load(&b, s_tmp) == DGCN_OK, "%s", dgcn_error_msg());
    s_assert_dataset_eq(&a, &b);
    dgcn_dataset_fini(&a);
    dgcn_dataset_fini(&b);
    s_rmtree(s_tmp);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * generator */

static double s_homophily(const dgcn_dataset *ds) {
    int64_t intra = 0;
    for (int i = 0; i < ds->n; i++)
        for (int64_t k = ds->adj.rowptr[i]; k < ds->adj.rowptr[i + 1]; k++)
            intra += ds->label[i] == ds->label[ds->adj.col[k]];
    return (double)intra / (double)ds->adj.nnz;
}

START_TEST(generate_deterministic) {
    dgcn_csbm_params p = dgcn_csbm_defaults();
    dgcn_dataset a, b, c;
    ck_assert_int_eq(dgcn_generate_csbm(&a, &p), DGCN_OK);
    ck_assert_int_eq(dgcn_generate_csbm(&b, &p), DGCN_OK);
    s_assert_dataset_eq(&a, &b);
    p.seed = 2;
    ck_assert_int_eq(dgcn_generate_csbm(&c, &p), DGCN_OK);
    ck_assert_int_eq(c.adj.nnz, a.adj.nnz);
    int same_labels = memcmp(a.label, c.label, (size_t)a.n * sizeof *a.label) == 0;
    int same_cols = memcmp(a.adj.col, c.adj.col, (size_t)a.adj.nnz * sizeof *a.adj.col) == 0;
    ck_assert(!same_labels && !same_cols);
    dgcn_dataset_fini(&a);
    dgcn_dataset_fini(&b);
    dgcn_dataset_fini(&c);
}
END_TEST

START_TEST(generate_counts_and_structure) {
    dgcn_csbm_params p = dgcn_csbm_defaults();
    p.n = 3001;
    p.c = 7;
    p.avg_degree = 10.5;
    p.d = 300;
    p.feat_nnz = 12;
    p.signal = 0.5;
    p.train_per_class = 15;
    p.n_val = 400;
    p.n_test = 900;
    dgcn_dataset ds;
    ck_assert_msg(dgcn_generate_csbm(&ds, &p) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_eq(ds.n, 3001);
    ck_assert_int_eq(ds.c, 7);
    ck_assert_int_eq(ds.d, 300);
    ck_assert_int_eq(ds.n_edges, llround(10.5 * 3001 / 2.0));
    ck_assert_int_eq(ds.adj.nnz, 2 * ds.n_edges);
    ck_assert_int_eq(ds.x.nnz, 3001LL * 12);
    int per_class_train[7] = {0}, class_size[7] = {0}, counts[4] = {0};
    for (int i = 0; i < ds.n; i++) {
        ck_assert(ds.label[i] >= 0 && ds.label[i] < 7);
        class_size[ds.label[i]]++;
        counts[ds.split[i]]++;
        if (ds.split[i] == DGCN_SPLIT_TRAIN) per_class_train[ds.label[i]]++;
        for (int64_t k = ds.adj.rowptr[i]; k < ds.adj.rowptr[i + 1]; k++) {
            ck_assert_int_ne(ds.adj.col[k], i); /* no self-loop */
            if (k > ds.adj.rowptr[i])
                ck_assert_int_lt(ds.adj.col[k - 1], ds.adj.col[k]); /* no dup */
        }
        ck_assert_int_eq(ds.x.rowptr[i + 1] - ds.x.rowptr[i], 12);
        int in_block = 0;
        for (int64_t k = ds.x.rowptr[i]; k < ds.x.rowptr[i + 1]; k++) {
            if (k > ds.x.rowptr[i]) ck_assert_int_lt(ds.x.col[k - 1], ds.x.col[k]);
            in_block += ds.x.col[k] / (300 / 7) == ds.label[i];
        }
        ck_assert_int_ge(in_block, 6); /* round(0.5 * 12) from the class block */
    }
    for (int k = 0; k < 7; k++) {
        ck_assert_int_eq(per_class_train[k], 15);
        ck_assert(class_size[k] == 3001 / 7 || class_size[k] == 3001 / 7 + 1);
    }
    ck_assert_int_eq(counts[1], 105);
    ck_assert_int_eq(counts[2], 400);
    ck_assert_int_eq(counts[3], 900);
    ck_assert_int_eq(ds.n_train, 105);
    ck_assert_int_eq(ds.n_val, 400);
    ck_assert_int_eq(ds.n_test, 900);
    dgcn_dataset_fini(&ds);
}
END_TEST

static const double s_homophilies[] = {0.1, 0.5, 0.7, 0.95};

START_TEST(generate_homophily) {
    dgcn_csbm_params p = dgcn_csbm_defaults();
    p.homophily = s_homophilies[_i];
    p.n = 5000;
    dgcn_dataset ds;
    ck_assert_int_eq(dgcn_generate_csbm(&ds, &p), DGCN_OK);
    double h = s_homophily(&ds);
    ck_assert_msg(fabs(h - p.homophily) <= 0.03, "requested %g, measured %g", p.homophily, h);
    dgcn_dataset_fini(&ds);
}
END_TEST

START_TEST(generate_rejects_bad_params) {
    dgcn_dataset ds;
    dgcn_csbm_params p = dgcn_csbm_defaults();
    p.homophily = 1.5;
    ck_assert_int_eq(dgcn_generate_csbm(&ds, &p), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "homophily"));
    p = dgcn_csbm_defaults();
    p.n_test = 1900;
    ck_assert_int_eq(dgcn_generate_csbm(&ds, &p), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "n_test"));
    p = dgcn_csbm_defaults();
    p.feat_nnz = 501;
    ck_assert_int_eq(dgcn_generate_csbm(&ds, &p), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "feat_nnz"));
    p = dgcn_csbm_defaults();
    p.avg_degree = 1e6;
    ck_assert_int_eq(dgcn_generate_csbm(&ds, &p), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "avg_degree"));
    dgcn_dataset_fini(&ds);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * dgcn generate */

START_TEST(cmd_generate_writes_loadable) {
    s_mktmp();
    char out[512];
    snprintf(out, sizeof out, "%s/g", s_tmp);
    char *argv[] = {"generate", "--out", out,   "--nodes", "800", "--classes", "4", "--degree",
                    "6",        "--val", "100", "--test",  "200", "--seed",    "9"};
    ck_assert_int_eq(dgcn_cmd_generate((int)(sizeof argv / sizeof *argv), argv), 0);
    dgcn_dataset a, b;
    ck_assert_msg(dgcn_dataset_load(&a, out) == DGCN_OK, "%s", dgcn_error_msg());
    dgcn_csbm_params p = dgcn_csbm_defaults();
    p.n = 800;
    p.c = 4;
    p.avg_degree = 6;
    p.n_val = 100;
    p.n_test = 200;
    p.seed = 9;
    ck_assert_int_eq(dgcn_generate_csbm(&b, &p), DGCN_OK);
    s_assert_dataset_eq(&a, &b);
    dgcn_dataset_fini(&a);
    dgcn_dataset_fini(&b);
    s_rmtree(s_tmp);
}
END_TEST

START_TEST(cmd_generate_usage_errors) {
    char *a1[] = {"generate", "--nodes", "100"}; /* no --out */
    ck_assert_int_eq(dgcn_cmd_generate(3, a1), 2);
    char *a2[] = {"generate", "--out", "/tmp/x", "--homophily", "2"};
    ck_assert_int_eq(dgcn_cmd_generate(5, a2), 2);
    char *a3[] = {"generate", "--out", "/tmp/x", "--nodes", "12abc"};
    ck_assert_int_eq(dgcn_cmd_generate(5, a3), 2);
    char *a4[] = {"generate", "--out", "/tmp/x", "--bogus", "1"};
    ck_assert_int_eq(dgcn_cmd_generate(5, a4), 2);
    char *a5[] = {"generate", "--out"};
    ck_assert_int_eq(dgcn_cmd_generate(2, a5), 2);
    char *a6[] = {"generate", "--out", "/tmp/x", "--test", "5000"}; /* exceeds n */
    ck_assert_int_eq(dgcn_cmd_generate(5, a6), 2);
    char *a7[] = {"generate", "--help"};
    ck_assert_int_eq(dgcn_cmd_generate(2, a7), 0);
}
END_TEST

/* Reverse Cuthill-McKee: a permutation; a path whose nodes are numbered at random gets back
 * bandwidth 1 (from 60-odd); two components are both ordered; dgcn_csr_reorder moves entry
 * (order[k], order[j]) to (k, j) with sorted columns, and rows only with cols = 0. */
START_TEST(order_rcm) {
    enum { N = 90 };
    int32_t lab[N], u[N], v[N], order[N], pos[N];
    for (int32_t i = 0; i < N; i++) lab[i] = i;
    uint64_t st = 12345;
    for (int32_t i = N - 1; i > 0; i--) { /* a seeded shuffle of the labels */
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        int32_t j = (int32_t)((st >> 33) % (uint64_t)(i + 1)), t = lab[i];
        lab[i] = lab[j];
        lab[j] = t;
    }
    /* a path over 0..59 and a path over 60..89, both numbered by lab */
    int64_t ne = 0;
    for (int32_t i = 0; i + 1 < N; i++)
        if (i != 59) u[ne] = lab[i], v[ne] = lab[i + 1], ne++;
    dgcn_csr a, b;
    ck_assert_int_eq(dgcn_csr_from_edges(&a, N, u, v, ne), DGCN_OK);
    ck_assert_int_eq(dgcn_order_rcm(&a, order), DGCN_OK);
    for (int32_t k = 0; k < N; k++) pos[k] = -1;
    for (int32_t k = 0; k < N; k++) {
        ck_assert(order[k] >= 0 && order[k] < N && pos[order[k]] < 0);
        pos[order[k]] = k;
    }
    ck_assert_int_gt(dgcn_order_bandwidth(&a, NULL), 10);
    ck_assert_int_eq(dgcn_order_bandwidth(&a, order), 1);
    /* weighted entries: reorder keeps each value with its (row, column) pair */
    for (int64_t e = 0; e < a.nnz; e++) a.val[e] = (float)(a.col[e] + 1000 * (e % 7));
    ck_assert_int_eq(dgcn_csr_reorder(&b, &a, order, 1), DGCN_OK);
    ck_assert_int_eq(b.nnz, a.nnz);
    for (int32_t k = 0; k < N; k++) {
        const int32_t r = order[k];
        ck_assert_int_eq(b.rowptr[k + 1] - b.rowptr[k], a.rowptr[r + 1] - a.rowptr[r]);
        for (int64_t e = b.rowptr[k]; e < b.rowptr[k + 1]; e++) {
            if (e > b.rowptr[k]) ck_assert_int_gt(b.col[e], b.col[e - 1]);
            const int32_t c = order[b.col[e]];
            int found = 0;
            for (int64_t f = a.rowptr[r]; f < a.rowptr[r + 1]; f++)
                if (a.col[f] == c) found = 1, ck_assert(a.val[f] == b.val[e]);
            ck_assert(found);
        }
    }
    dgcn_csr_fini(&b);
    ck_assert_int_eq(dgcn_csr_reorder(&b, &a, order, 0), DGCN_OK);
    for (int32_t k = 0; k < N; k++)
        for (int64_t e = b.rowptr[k], f = a.rowptr[order[k]]; e < b.rowptr[k + 1]; e++, f++) {
            ck_assert_int_eq(b.col[e], a.col[f]);
            ck_assert(b.val[e] == a.val[f]);
        }
    dgcn_csr_fini(&b);
    dgcn_csr_fini(&a);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"csr_from_edges", csr_from_edges_small, 0, 0},
        {"csr_from_edges_rejects", csr_from_edges_rejects, 0, 0},
        {"csr_gcn_norm", csr_gcn_norm_dense, 0, 0},
        {"order_rcm", order_rcm, 0, 0},
        {"csr_row_normalize", csr_row_normalize_binarize, 0, 0},
        {"load_shipped", load_shipped, 4, 60},
        {"load_missing_folder", load_missing_folder, 0, 0},
        {"load_good_tiny", load_good_tiny, 0, 0},
        {"load_rejects_broken", load_rejects_broken, S_N_CORPUS, 4},
        {"load_survives_byte_mutations", load_survives_byte_mutations, 0, 0},
        {"roundtrip_generated", roundtrip_generated, 0, 0},
        {"roundtrip_shipped", roundtrip_shipped, 2, 60},
        {"generate_deterministic", generate_deterministic, 0, 0},
        {"generate_counts", generate_counts_and_structure, 0, 0},
        {"generate_homophily", generate_homophily, 4, 4},
        {"generate_rejects", generate_rejects_bad_params, 0, 0},
        {"cmd_generate", cmd_generate_writes_loadable, 0, 0},
        {"cmd_generate_usage", cmd_generate_usage_errors, 0, 0},
    };
    return DGCN_TEST_SUITE("graph", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
