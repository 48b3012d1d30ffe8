/* tests/fuzz/fuzz_neighbor.c: libFuzzer target for the check of a received neighbour frame
 * (comm/zmq_transport.c dgcn__zmq_frame_decode, then comm/transport.c dgcn__route, the header
 * check every backend shares).
 *
 * Agent 0 of 4 (neighbours 1, 2, 3) waits in an exchange for a few floats from each neighbour.
 * The first two input bytes choose the situation: byte 0 the routing id the frame came from (0..4:
 * itself, its neighbours, an agent outside the run) and which neighbours have already delivered
 * (bits 4..6); byte 1 the channel and how many floats each neighbour owes (0..7). The rest is the
 * frame. A frame that passes is copied into a buffer sized exactly as expected, so any header
 * check that lets a wrong length through is an ASan report. */
#include "comm/message.pb-c.h"
#include "comm/transport_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { S_SELF = 0, S_AGENTS = 4, S_NEIGHBORS = 3 };
#define S_RUN_ID UINT64_C(0x0123456789abcdef)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    static const int32_t neighbors[S_NEIGHBORS] = {1, 2, 3};
    dgcn_transport t;
    memset(&t, 0, sizeof t);
    if (dgcn__transport_init(&t, NULL, S_SELF, S_AGENTS, neighbors, S_NEIGHBORS, S_RUN_ID, 1000))
        abort();
    int32_t id = data[0] % 5;
    char got[S_NEIGHBORS];
    for (int i = 0; i < S_NEIGHBORS; i++) got[i] = (char)((data[0] >> (4 + i)) & 1);
    int32_t len = data[1] & 7;
    int32_t send_len[S_NEIGHBORS], recv_len[S_NEIGHBORS];
    float *send[S_NEIGHBORS], *recv[S_NEIGHBORS];
    for (int i = 0; i < S_NEIGHBORS; i++) {
        send_len[i] = 0;
        send[i] = NULL;
        recv_len[i] = len;
        recv[i] = malloc(len ? (size_t)len * sizeof(float) : 1);
        if (!recv[i]) abort();
    }
    dgcn_exchange x = {.channel = (data[1] >> 3) % 3,
                       .iter = 5,
                       .layer = 1,
                       .send = (const float *const *)send,
                       .send_len = send_len,
                       .recv = recv,
                       .recv_len = recv_len};
    Dgcnpb__NeighborMsg *m = NULL;
    if (dgcn__zmq_frame_decode(&t, &x, id, got, 1 << 16, data + 2, size - 2, &m) == 0) {
        dgcn__hdr h = {m->run_id, m->sender, m->channel, m->iter, m->layer, m->length};
        int ahead = 0, slot = -1;
        dgcn__route(&t, &x, &h, m->payload.data, m->payload.len, got, &ahead, &slot);
        dgcnpb__neighbor_msg__free_unpacked(m, NULL);
    }
    for (int i = 0; i < S_NEIGHBORS; i++) free(recv[i]);
    dgcn__transport_fini(&t);
    return 0;
}
