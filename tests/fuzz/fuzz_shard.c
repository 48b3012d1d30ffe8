/* tests/fuzz/fuzz_shard.c: libFuzzer target for the shard decoder (graph/shard.c,
 * dgcn_shard_unpack). The input is the bytes of a shard file. A shard that decodes is packed again
 * and the result must decode: whatever unpack accepts, pack can write and unpack read back. */
#include "graph/shard.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dgcn_shard s;
    if (dgcn_shard_unpack(&s, data, size) == 0) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (dgcn_shard_pack(&s, &buf, &len) != 0) abort();
        dgcn_shard t;
        if (dgcn_shard_unpack(&t, buf, len) != 0) abort();
        dgcn_shard_fini(&t);
        free(buf);
    }
    dgcn_shard_fini(&s);
    return 0;
}
