/* tests/fuzz/fuzz_config.c: libFuzzer target for the RunConfig decoder: comm/control.c's handling
 * of comm/config.proto (presence of every field, unknown field numbers, widths, the plan path)
 * and the agent's range checks on the result (agent/run_config.c, dgcn_run_config_from_ctl).
 *
 * The input is the bytes of one RunConfig; the target wraps them in a ControlEnvelope holding a
 * Setup whose field 10 (config) is exactly those bytes, so every input reaches the config decoder,
 * then unpacks the envelope and, when that succeeds, converts the config. */
#include "agent/run_config.h"
#include "comm/control.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Appends v as a protobuf varint at b; returns the bytes written (at most 10). */
static size_t s_varint(uint8_t *b, uint64_t v) {
    size_t n = 0;
    do {
        b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > DGCN_COORD_MAX_BYTES) return 0;
    /* Setup: agent = 0 (field 2), n_agents = 1 (field 3), config (field 10, length-delimited). */
    uint8_t setup_head[16];
    size_t sh = 0;
    setup_head[sh++] = 0x10; /* field 2, varint */
    setup_head[sh++] = 0x00;
    setup_head[sh++] = 0x18; /* field 3, varint */
    setup_head[sh++] = 0x01;
    setup_head[sh++] = 0x52; /* field 10, length-delimited */
    sh += s_varint(setup_head + sh, size);
    size_t setup_len = sh + size;
    uint8_t env_head[16];
    size_t eh = 0;
    env_head[eh++] = 0x12; /* ControlEnvelope field 2 (setup), length-delimited */
    eh += s_varint(env_head + eh, setup_len);
    size_t len = eh + setup_len;
    uint8_t *buf = malloc(len);
    if (!buf) return 0;
    memcpy(buf, env_head, eh);
    memcpy(buf + eh, setup_head, sh);
    if (size) memcpy(buf + eh + sh, data, size);
    dgcn_ctl_msg m;
    if (dgcn_ctl_unpack(buf, len, &m) == 0) {
        if (m.kind != DGCN_CTL_SETUP) abort();
        dgcn_run_config c;
        dgcn_run_config_from_ctl(&c, &m.u.setup.config);
    }
    dgcn_ctl_msg_fini(&m);
    free(buf);
    return 0;
}
