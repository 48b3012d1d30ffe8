/* tests/testconfig.h: comparing two run configurations row by row (comm/run_config.h), shared by
 * the suites that check the schema's forms (test_comm: the wire; test_run_config: config.json). */
#ifndef DGCN_TESTS_TESTCONFIG_H
#define DGCN_TESTS_TESTCONFIG_H

#include "comm/control.h"

#include <stdio.h>
#include <string.h>

/* The names of the rows where *a and *b differ, each after a space, into diff ("" when none). */
#define DGCN__TEST_DIFF_SCALAR(a, b, name) ((a)->name != (b)->name)
#define DGCN__TEST_DIFF_I32 DGCN__TEST_DIFF_SCALAR
#define DGCN__TEST_DIFF_I64 DGCN__TEST_DIFF_SCALAR
#define DGCN__TEST_DIFF_U64 DGCN__TEST_DIFF_SCALAR
#define DGCN__TEST_DIFF_F32 DGCN__TEST_DIFF_SCALAR
#define DGCN__TEST_DIFF_F64 DGCN__TEST_DIFF_SCALAR
#define DGCN__TEST_DIFF_ENUM DGCN__TEST_DIFF_SCALAR
#define DGCN__TEST_DIFF_BOOL DGCN__TEST_DIFF_SCALAR
#define DGCN__TEST_DIFF_DIMS(a, b, name)                                                           \
    ((a)->n_##name != (b)->n_##name ||                                                             \
     memcmp((a)->name, (b)->name, (size_t)(a)->n_##name * sizeof *(a)->name))
#define DGCN__TEST_DIFF_STR(a, b, name) strcmp((a)->name, (b)->name)
static inline void dgcn_test_config_diff(const dgcn_ctl_config *a, const dgcn_ctl_config *b,
                                         char *diff, size_t cap) {
    diff[0] = '\0';
#define DGCN__TEST_DIFF(name, kind, def, lo, hi, keep, path, cli)                                  \
    if (DGCN__TEST_DIFF_##kind(a, b, name))                                                        \
        snprintf(diff + strlen(diff), cap - strlen(diff), " %s", #name);
    DGCN_RUN_CONFIG_FIELDS(DGCN__TEST_DIFF)
#undef DGCN__TEST_DIFF
}

#endif
