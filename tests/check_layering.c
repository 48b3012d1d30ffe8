/* tests/check_layering.c: the transport boundary, checked on the sources themselves.
 *
 * Outside comm/ no source includes a backend header (comm/zmq_transport.h, comm/mpi_transport.h,
 * comm/inproc.h, zmq.h, mpi.h) or names a backend (DGCN_BACKEND_*, dgcn_zmq_*, dgcn_mpi_*,
 * dgcn_inproc_*): agents and the coordinator reach every transport by address (comm/transport.h,
 * comm/hub.h), so a new transport touches comm/ only. The exceptions are the suites that test the
 * backends themselves: tests/test_comm.c and tests/mpi_conformance.c (and this file).
 *
 * Walks the C sources git knows under DGCN_SOURCE_DIR (tracked and untracked, not ignored) and
 * prints FILE:LINE: TEXT for every offence; exit status 1 if there is any. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_exempt_dirs[] = {"comm/"};
static const char *const s_exempt_files[] = {"tests/test_comm.c", "tests/mpi_conformance.c",
                                             "tests/check_layering.c" /* the list below */};

/* What may not appear outside comm/ (matched anywhere on a line, comments included). */
static const char *const s_banned[] = {
    "comm/zmq_transport.h",
    "comm/mpi_transport.h",
    "comm/inproc.h",
    "<zmq.h>",
    "<mpi.h>",
    "\"zmq.h\"",
    "\"mpi.h\"",
    "DGCN_BACKEND_",
    "dgcn_zmq_",
    "dgcn_mpi_",
    "dgcn_inproc_",
};

static int s_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static int s_exempt(const char *path) {
    for (size_t i = 0; i < sizeof s_exempt_dirs / sizeof *s_exempt_dirs; i++)
        if (!strncmp(path, s_exempt_dirs[i], strlen(s_exempt_dirs[i]))) return 1;
    for (size_t i = 0; i < sizeof s_exempt_files / sizeof *s_exempt_files; i++)
        if (!strcmp(path, s_exempt_files[i])) return 1;
    return 0;
}

/* Prints every offending line of root/path; returns how many. */
static int s_check_file(const char *root, const char *path) {
    char full[8192], line[4096];
    snprintf(full, sizeof full, "%s/%s", root, path);
    FILE *f = fopen(full, "r");
    if (!f) return 0; /* deleted in the work tree */
    int bad = 0;
    for (long no = 1; fgets(line, sizeof line, f); no++) {
        for (size_t i = 0; i < sizeof s_banned / sizeof *s_banned; i++) {
            if (!strstr(line, s_banned[i])) continue;
            line[strcspn(line, "\n")] = '\0';
            printf("%s:%ld: names a transport backend (%s) outside comm/: %s\n", path, no,
                   s_banned[i], line);
            bad++;
            break;
        }
    }
    fclose(f);
    return bad;
}

int main(void) {
    const char *root = DGCN_SOURCE_DIR;
    char cmd[4200], path[4096];
    snprintf(cmd, sizeof cmd,
             "git -C '%s' ls-files --cached --others --exclude-standard -- '*.c' '*.h'", root);
    FILE *p = popen(cmd, "r");
    if (!p) {
        perror("check_layering: git ls-files");
        return 2;
    }
    int files = 0, bad = 0;
    while (fgets(path, sizeof path, p)) {
        path[strcspn(path, "\n")] = '\0';
        if (!(s_ends_with(path, ".c") || s_ends_with(path, ".h")) || s_exempt(path)) continue;
        files++;
        bad += s_check_file(root, path);
    }
    int st = pclose(p);
    if (st != 0 || files == 0) {
        fprintf(stderr,
                "check_layering: could not list the sources of %s with git (status %d, "
                "%d files)\n",
                root, st, files);
        return 2;
    }
    if (bad) {
        printf("%d line(s) outside comm/ name a transport backend: open transports by address "
               "(comm/transport.h, comm/hub.h) instead\n",
               bad);
        return 1;
    }
    printf("check_layering: %d sources outside comm/ name no transport backend\n", files);
    return 0;
}
