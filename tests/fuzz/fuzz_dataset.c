/* tests/fuzz/fuzz_dataset.c: libFuzzer target for the dataset loader (graph/dataset.c).
 *
 * The input is a dataset folder in one buffer: up to seven parts separated by a line "%%\n", written
 * in order to meta.txt, labels.txt, features.txt, edges.txt, train.txt, val.txt and test.txt of a
 * private temporary folder (a missing part leaves its file absent); then dgcn_dataset_load. Any
 * outcome but a crash, a sanitizer report or a leak is fine: errors are the loader's answer. */
#include "graph/dataset.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const s_files[] = {"meta.txt",  "labels.txt", "features.txt", "edges.txt",
                                      "train.txt", "val.txt",    "test.txt"};
enum { S_N_FILES = 7 };
static const char s_sep[] = "%%\n";

static char s_dir[64];

/* First occurrence of s_sep in [p, end), or NULL. */
static const uint8_t *s_find_sep(const uint8_t *p, const uint8_t *end) {
    size_t n = sizeof s_sep - 1;
    for (; (size_t)(end - p) >= n; p++)
        if (!memcmp(p, s_sep, n)) return p;
    return NULL;
}

static void s_cleanup(void) {
    char path[128];
    for (int k = 0; k < S_N_FILES; k++) {
        snprintf(path, sizeof path, "%s/%s", s_dir, s_files[k]);
        unlink(path);
    }
    rmdir(s_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!s_dir[0]) {
        snprintf(s_dir, sizeof s_dir, "/tmp/dgcn-fuzz-dataset-XXXXXX");
        if (!mkdtemp(s_dir)) abort();
        atexit(s_cleanup);
    }
    const uint8_t *p = data, *end = data + size;
    char path[128];
    for (int k = 0; k < S_N_FILES; k++) {
        snprintf(path, sizeof path, "%s/%s", s_dir, s_files[k]);
        unlink(path);
        if (!p) continue;
        const uint8_t *q = s_find_sep(p, end);
        size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
        FILE *f = fopen(path, "wb");
        if (!f) abort();
        if (n && fwrite(p, 1, n, f) != n) abort();
        fclose(f);
        p = q ? q + sizeof s_sep - 1 : NULL;
    }
    dgcn_dataset ds;
    dgcn_dataset_load(&ds, s_dir); /* on failure ds is already safe to fini */
    dgcn_dataset_fini(&ds);
    return 0;
}
