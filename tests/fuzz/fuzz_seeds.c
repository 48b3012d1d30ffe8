/* tests/fuzz/fuzz_seeds.c: writes the seed corpus of the control, config and neighbor targets
 * with the library's own writers (dgcn_ctl_pack, the RunConfig inside a packed Setup, a packed
 * NeighborMsg), so the seeds are valid messages. Usage: fuzz_seeds CORPUS_ROOT (the folder holding
 * control/, config/ and neighbor/). Not a fuzz target; run by hand when the formats change. */
#include "agent/run_config.h"
#include "comm/control.h"
#include "comm/control.pb-c.h"
#include "comm/message.pb-c.h"
#include "core/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_root;

static void s_write(const char *target, const char *name, const void *buf, size_t len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", s_root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f)) {
        fprintf(stderr, "fuzz_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void s_control(const char *name, const dgcn_ctl_msg *m) {
    void *buf = NULL;
    size_t len = 0;
    if (dgcn_ctl_pack(m, &buf, &len)) {
        fprintf(stderr, "fuzz_seeds: %s: %s\n", name, dgcn_error_msg());
        exit(1);
    }
    s_write("control", name, buf, len);
    /* the config target's input is the RunConfig alone */
    if (m->kind == DGCN_CTL_SETUP) {
        Dgcnpb__ControlEnvelope *env = dgcnpb__control_envelope__unpack(NULL, len, buf);
        if (!env || !env->setup || !env->setup->config) exit(1);
        size_t n = dgcnpb__run_config__get_packed_size(env->setup->config);
        uint8_t *cfg = malloc(n + 1);
        dgcnpb__run_config__pack(env->setup->config, cfg);
        s_write("config", name, cfg, n);
        free(cfg);
        dgcnpb__control_envelope__free_unpacked(env, NULL);
    }
    free(buf);
}

/* One neighbour frame with the two leading bytes of fuzz_neighbor.c: routing id `from`, the
 * neighbours already delivered `got_bits`, channel ch and `len` floats owed by each. */
static void s_neighbor(const char *name, int from, int got_bits, int ch, int len, int32_t sender,
                       int64_t iter, int32_t layer, int32_t length) {
    float payload[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    Dgcnpb__NeighborMsg m = DGCNPB__NEIGHBOR_MSG__INIT;
    m.run_id = UINT64_C(0x0123456789abcdef);
    m.sender = sender;
    m.iter = iter;
    m.layer = layer;
    m.channel = ch;
    m.length = length;
    m.payload.len = (size_t)length * sizeof(float);
    m.payload.data = (uint8_t *)payload;
    size_t n = dgcnpb__neighbor_msg__get_packed_size(&m);
    uint8_t *buf = malloc(n + 2);
    buf[0] = (uint8_t)(from | got_bits << 4);
    buf[1] = (uint8_t)(len | ch << 3);
    dgcnpb__neighbor_msg__pack(&m, buf + 2);
    s_write("neighbor", name, buf, n + 2);
    free(buf);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds CORPUS_ROOT\n");
        return 2;
    }
    s_root = argv[1];
    dgcn_ctl_msg m;

    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_HELLO;
    m.u.hello = (dgcn_ctl_hello){.run_id = 7, .agent = 2, .endpoint = "tcp://127.0.0.1:5555"};
    s_control("hello", &m);

    int32_t nb[2] = {0, 2};
    double mix[3] = {0.5, 0.25, 0.25};
    char *eps[2] = {"tcp://127.0.0.1:6000", "tcp://127.0.0.1:6002"};
    uint8_t shard[6] = {8, 1, 16, 1, 24, 3};
    dgcn_run_config rc = dgcn_run_config_defaults(12, 3);
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_SETUP;
    m.u.setup = (dgcn_ctl_setup){.run_id = 7,
                                 .agent = 1,
                                 .n_agents = 3,
                                 .n_neighbors = 2,
                                 .neighbors = nb,
                                 .mixing = mix,
                                 .neighbor_endpoints = eps,
                                 .shard = shard,
                                 .shard_len = sizeof shard,
                                 .endpoint = "tcp://127.0.0.1:6001"};
    dgcn_run_config_to_ctl(&rc, &m.u.setup.config);
    s_control("setup-verify", &m);
    rc.mode = DGCN_RUN_TRAIN;
    rc.iterations = 20;
    rc.eval_every = 5;
    rc.report_params = 1;
    snprintf(rc.plan, sizeof rc.plan, "runs/plan");
    dgcn_run_config_to_ctl(&rc, &m.u.setup.config);
    m.u.setup.shard = NULL;
    m.u.setup.shard_len = 0;
    m.u.setup.neighbor_endpoints = NULL;
    s_control("setup-train", &m);

    float params[4] = {0.5f, -1, 2, 0};
    double phases[4] = {1.5, 2, 0.25, 3};
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_REPORT;
    m.u.report = (dgcn_ctl_report){.run_id = 7,
                                   .agent = 1,
                                   .iter = 10,
                                   .loss_sum = {1.25, 0.5, 0.75},
                                   .correct = {3, 1, 2},
                                   .count = {4, 2, 3},
                                   .n_params = 4,
                                   .params = params,
                                   .relayed = {0, 8, 0, 0},
                                   .n_phases = 4,
                                   .phase_ms = phases};
    m.u.report.traffic.bytes[0] = 64;
    m.u.report.traffic.messages[0] = 2;
    s_control("report", &m);

    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_CONTROL;
    m.u.control = (dgcn_ctl_control){.cmd = DGCN_CMD_START, .iter = 0};
    s_control("control-start", &m);

    int32_t waiting[2] = {0, 2};
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_ERROR;
    m.u.error = (dgcn_ctl_error){.agent = 1,
                                 .iter = 3,
                                 .code = 5,
                                 .message = "agent 1: no message from neighbour(s) 0, 2",
                                 .n_waiting_for = 2,
                                 .waiting_for = waiting,
                                 .waited_ms = 1000};
    s_control("error", &m);

    /* agent 0 expects 2 floats on channel 0 at iteration 5, layer 1 */
    s_neighbor("halo-fwd", 1, 0, 0, 2, 1, 5, 1, 2);
    s_neighbor("params-ahead", 3, 4, 2, 3, 3, 6, 0, 3);
    s_neighbor("empty", 2, 0, 1, 0, 2, 5, 1, 0);
    return 0;
}
