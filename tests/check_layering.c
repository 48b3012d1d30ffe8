/* tests/check_layering.c: the layering of the sources, checked on the sources themselves.
 *
 * 1. The transport boundary. Outside comm/ no source includes a backend header
 * (comm/zmq_transport.h, comm/mpi_transport.h, comm/inproc.h, zmq.h, mpi.h) or names a backend
 * (DGCN_BACKEND_*, dgcn_zmq_*, dgcn_mpi_*, dgcn_inproc_*): agents and the coordinator reach every
 * transport by address (comm/transport.h, comm/hub.h), so a new transport touches comm/ only. The
 * exceptions are the suites that test the backends themselves: tests/test_comm.c and
 * tests/mpi_conformance.c (and this file).
 *
 * 2. No include cycle between the modules of a folder. A module is a .h/.c pair (x_int.h belongs
 * to x); module A depends on module B of the same folder when A's .c or .h includes B's header
 * (quoted, as "folder/b.h"). That graph must be acyclic, so each folder's modules stack in layers
 * (in topologies/: graph, then mixing, then local and eigen, then the spectra and the designs); a
 * cycle is printed module by module with the FILE:LINE of each include. comm/ and nn/ still hold a
 * cycle each and are not checked (s_cycle_exempt_dirs).
 *
 * 3. No shell. Outside tests/ no source calls system( or popen( (s_check_shell): an external
 * program (gnuplot) is started with an argument vector, so no path a user gives is parsed by a
 * shell (docs/security.md).
 *
 * Walks the C sources git knows under the source directory (argv[1], else DGCN_SOURCE_DIR; tracked
 * and untracked, not ignored) and prints FILE:LINE: TEXT for every offence; exit status 1 if there
 * is any, 2 when the sources cannot be listed. */
#include <ctype.h>
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

/* No shell: outside tests/ no source calls system or popen (matched as a call on any line, comments
 * included), so no path or name from a user is ever parsed by /bin/sh; programs are started with an
 * argument vector (fork and exec, coordinator/rundir.c). Prints every offending line; returns how
 * many. */
static int s_check_shell(const char *root, const char *path) {
    static const char *const calls[] = {"system(", "popen("};
    if (!strncmp(path, "tests/", 6)) return 0;
    char full[8192], line[4096];
    snprintf(full, sizeof full, "%s/%s", root, path);
    FILE *f = fopen(full, "r");
    if (!f) return 0;
    int bad = 0;
    for (long no = 1; fgets(line, sizeof line, f); no++) {
        for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
            for (const char *p = strstr(line, calls[i]); p; p = strstr(p + 1, calls[i])) {
                char before = p > line ? p[-1] : ' ';
                if (isalnum((unsigned char)before) || before == '_') continue; /* dgcn_x_system( */
                line[strcspn(line, "\n")] = '\0';
                printf("%s:%ld: calls %s...) and so runs a shell: start the program with an "
                       "argument vector instead (fork and exec): %s\n",
                       path, no, calls[i], line);
                bad++;
                break;
            }
        }
    }
    fclose(f);
    return bad;
}

#define S_MAX_FILES 4096
#define S_MAX_EDGES 16384

/* Folders whose modules still include each other, not checked for cycles until that is undone. */
static const char *const s_cycle_exempt_dirs[] = {
    "comm/", /* transport_int.h includes hub.h, hub.c includes transport.h */
    "nn/",   /* kernels.h includes gcn.h, gcn.c includes kernels.h */
};

static int s_cycle_exempt(const char *module) {
    for (size_t i = 0; i < sizeof s_cycle_exempt_dirs / sizeof *s_cycle_exempt_dirs; i++)
        if (!strncmp(module, s_cycle_exempt_dirs[i], strlen(s_cycle_exempt_dirs[i]))) return 1;
    return 0;
}

/* The module graph: modules are paths without .c/.h; edge i -> j from FILE:LINE. */
static char *s_mod[S_MAX_FILES];
static int s_nmod;
static struct {
    int from, to;
    char where[160]; /* FILE:LINE of the include */
} s_edge[S_MAX_EDGES];
static int s_nedge;

/* Index of the module of path (without its extension), added when add is set; -1 if absent. */
static int s_module(const char *path, int add) {
    size_t n = strlen(path);
    if (n > 2 && (s_ends_with(path, ".c") || s_ends_with(path, ".h"))) n -= 2;
    if (n > 4 && !strncmp(path + n - 4, "_int", 4)) n -= 4; /* x_int.h is x's own */
    for (int i = 0; i < s_nmod; i++)
        if (strlen(s_mod[i]) == n && !strncmp(s_mod[i], path, n)) return i;
    if (!add || s_nmod == S_MAX_FILES) return -1;
    s_mod[s_nmod] = malloc(n + 1);
    if (!s_mod[s_nmod]) return -1;
    memcpy(s_mod[s_nmod], path, n);
    s_mod[s_nmod][n] = '\0';
    return s_nmod++;
}

/* 1 when a and b sit in the same folder. */
static int s_same_dir(const char *a, const char *b) {
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    return sa && sb && sa - a == sb - b && !strncmp(a, b, (size_t)(sa - a));
}

/* Adds an edge for every quoted include of root/path that names the header of another module in
 * its folder. */
static void s_scan_includes(const char *root, const char *path) {
    char full[8192], line[4096];
    snprintf(full, sizeof full, "%s/%s", root, path);
    FILE *f = fopen(full, "r");
    if (!f) return;
    int from = s_module(path, 0);
    for (long no = 1; fgets(line, sizeof line, f); no++) {
        char *p = line + strspn(line, " \t");
        if (strncmp(p, "#include", 8)) continue;
        p += 8 + strspn(p + 8, " \t");
        char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (!end) continue; /* <system.h> */
        *end = '\0';
        if (!s_ends_with(p + 1, ".h")) continue;
        int to = s_module(p + 1, 0);
        if (to < 0 || to == from || !s_same_dir(path, p + 1) || s_nedge == S_MAX_EDGES) continue;
        s_edge[s_nedge].from = from;
        s_edge[s_nedge].to = to;
        snprintf(s_edge[s_nedge].where, sizeof s_edge[s_nedge].where, "%s:%ld", path, no);
        s_nedge++;
    }
    fclose(f);
}

/* Depth-first search from module v (state: 0 new, 1 on the stack, 2 done); stack holds the edges
 * from the root. Prints the first cycle met and returns 1. */
static int s_dfs(int v, int *state, int *stack, int depth) {
    state[v] = 1;
    for (int e = 0; e < s_nedge; e++) {
        if (s_edge[e].from != v) continue;
        int w = s_edge[e].to;
        stack[depth] = e;
        if (state[w] == 1) {
            int start = depth;
            while (start > 0 && s_edge[stack[start]].from != w) start--;
            printf("include cycle: %s", s_mod[w]);
            for (int i = start; i <= depth; i++)
                printf(" -> %s (%s)", s_mod[s_edge[stack[i]].to], s_edge[stack[i]].where);
            printf("\n");
            return 1;
        }
        if (state[w] == 0 && s_dfs(w, state, stack, depth + 1)) return 1;
    }
    state[v] = 2;
    return 0;
}

/* Prints a cycle for each search that meets one and returns how many were printed (0: the module
 * graph is acyclic). O(modules * edges). */
static int s_check_cycles(void) {
    int *state = calloc((size_t)s_nmod + 1, sizeof *state);
    int *stack = calloc((size_t)s_nmod + 1, sizeof *stack);
    int cycles = 0;
    for (int v = 0; state && stack && v < s_nmod; v++) {
        if (state[v] || s_cycle_exempt(s_mod[v])) continue;
        if (s_dfs(v, state, stack, 0)) {
            cycles++;
            for (int i = 0; i < s_nmod; i++) /* the cycle's modules stay visited */
                if (state[i] == 1) state[i] = 2;
        }
    }
    free(state);
    free(stack);
    return cycles;
}

static char *s_path[S_MAX_FILES];

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : DGCN_SOURCE_DIR;
    char cmd[4200], path[4096];
    snprintf(cmd, sizeof cmd,
             "git -C '%s' ls-files --cached --others --exclude-standard -- '*.c' '*.h'", root);
    FILE *p = popen(cmd, "r");
    if (!p) {
        perror("check_layering: git ls-files");
        return 2;
    }
    int n = 0, files = 0, bad = 0;
    while (fgets(path, sizeof path, p) && n < S_MAX_FILES) {
        path[strcspn(path, "\n")] = '\0';
        if (!(s_ends_with(path, ".c") || s_ends_with(path, ".h"))) continue;
        s_path[n] = strdup(path);
        if (!s_path[n] || s_module(path, 1) < 0) {
            fprintf(stderr, "check_layering: out of memory\n");
            return 2;
        }
        n++;
    }
    int st = pclose(p);
    if (st != 0 || n == 0) {
        fprintf(stderr,
                "check_layering: could not list the sources of %s with git (status %d, "
                "%d files)\n",
                root, st, n);
        return 2;
    }
    int shell = 0;
    for (int i = 0; i < n; i++) shell += s_check_shell(root, s_path[i]);
    if (shell) printf("%d line(s) outside tests/ call system or popen\n", shell);
    else printf("check_layering: no source outside tests/ calls system or popen\n");
    for (int i = 0; i < n; i++) {
        s_scan_includes(root, s_path[i]);
        if (s_exempt(s_path[i])) continue;
        files++;
        bad += s_check_file(root, s_path[i]);
    }
    if (bad)
        printf("%d line(s) outside comm/ name a transport backend: open transports by address "
               "(comm/transport.h, comm/hub.h) instead\n",
               bad);
    else printf("check_layering: %d sources outside comm/ name no transport backend\n", files);
    int cycles = s_check_cycles();
    if (cycles)
        printf("%d include cycle(s) between modules: move what both sides need into a module "
               "below them\n",
               cycles);
    int checked = 0;
    for (int i = 0; i < s_nmod; i++) checked += !s_cycle_exempt(s_mod[i]);
    if (!cycles)
        printf("check_layering: the includes between %d modules form no cycle (%d modules in "
               "exempt folders not checked)\n",
               checked, s_nmod - checked);
    for (int i = 0; i < n; i++) free(s_path[i]);
    for (int i = 0; i < s_nmod; i++) free(s_mod[i]);
    return bad || cycles || shell ? 1 : 0;
}
