/* tests/fuzz/fuzz_topology.c: libFuzzer target for the topology file parsers (topologies/io.c):
 * the input is written to a private temporary file, read as an edge list (dgcn_topo_read_edges)
 * and as a mixing matrix (dgcn_topo_read_weights). An edge list of at most S_ROUNDTRIP_MAX agents
 * that reads is written back and must read again with the same agent count (larger ones are
 * skipped there: writing and reading m x m pairs would cost seconds per input). */
#include "topologies/io.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { S_ROUNDTRIP_MAX = 1024 };

static char s_dir[64];
static char s_path[96], s_back[96];

static void s_cleanup(void) {
    unlink(s_path);
    unlink(s_back);
    rmdir(s_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!s_dir[0]) {
        snprintf(s_dir, sizeof s_dir, "/tmp/dgcn-fuzz-topology-XXXXXX");
        if (!mkdtemp(s_dir)) abort();
        snprintf(s_path, sizeof s_path, "%s/topology.txt", s_dir);
        snprintf(s_back, sizeof s_back, "%s/again.txt", s_dir);
        atexit(s_cleanup);
    }
    FILE *f = fopen(s_path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    dgcn_topo g;
    if (dgcn_topo_read_edges(&g, s_path) == 0 && g.m <= S_ROUNDTRIP_MAX) {
        dgcn_topo again;
        if (dgcn_topo_write_edges(&g, s_back) != 0) abort();
        if (dgcn_topo_read_edges(&again, s_back) != 0 || again.m != g.m) abort();
        dgcn_topo_fini(&again);
    }
    dgcn_topo_fini(&g);
    int32_t m = 0;
    double *c = NULL;
    dgcn_topo_read_weights(s_path, &m, &c);
    free(c);
    return 0;
}
