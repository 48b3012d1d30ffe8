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

/* Runs a suite with Check's default fork mode and returns the process exit status. */
static inline int dgcn_test_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
