/* tests/testutil.h: small helpers shared by the Check suites. */
#ifndef DGCN_TESTS_TESTUTIL_H
#define DGCN_TESTS_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Path of a shipped dataset folder, or NULL (with a message saying why the test is skipped) when
 * ../shared/data is absent. */
static inline const char *dgcn_test_dataset(const char *name, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", DGCN_DATA_DIR, name);
    struct stat st;
    if (stat(buf, &st) != 0) {
        fprintf(stderr, "SKIP: dataset folder %s not found (../shared/data absent)\n", buf);
        return NULL;
    }
    return buf;
}

/* One row of a suite's table: a test, run as a loop test over _i = 0 .. loops-1 when loops > 0. */
typedef struct dgcn_test_case {
    const char *name;
    const TTest *fn;
    int loops;   /* 0: a plain test */
    int timeout; /* seconds; 0: 60 */
} dgcn_test_case;

/* A suite with one TCase per row of cases[0..n). With DGCN_TEST_SHARD=i/k in the environment
 * (1 <= i <= k), only the rows whose index is i - 1 modulo k: ctest runs a long suite as k entries
 * that share the cores (dgcn_add_suite's SHARDS, tests/CMakeLists.txt). */
static inline Suite *dgcn_test_suite(const char *name, const dgcn_test_case *cases, size_t n) {
    Suite *s = suite_create(name);
    const char *shard = getenv("DGCN_TEST_SHARD");
    unsigned si = 0, sk = 0;
    if (shard && (sscanf(shard, "%u/%u", &si, &sk) != 2 || si < 1 || si > sk)) {
        fprintf(stderr, "DGCN_TEST_SHARD=%s is not i/k with 1 <= i <= k\n", shard);
        exit(EXIT_FAILURE);
    }
    for (size_t i = 0; i < n; i++) {
        if (sk > 0 && i % sk != si - 1) continue;
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, cases[i].timeout > 0 ? cases[i].timeout : 60);
        if (cases[i].loops > 0) tcase_add_loop_test(tc, cases[i].fn, 0, cases[i].loops);
        else tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

#define DGCN_TEST_SUITE(name, cases) dgcn_test_suite(name, cases, sizeof cases / sizeof cases[0])

/* Runs a suite, each test in its own forked child (Check's default; tests/CMakeLists.txt says why),
 * and returns the process exit status. */
static inline int dgcn_test_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
