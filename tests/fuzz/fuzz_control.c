/* tests/fuzz/fuzz_control.c: libFuzzer target for the control message decoder (comm/control.c,
 * dgcn_ctl_unpack): every kind it unpacks (hello, setup with its RunConfig, report, control,
 * error). The input is the bytes of one message. A message that decodes is packed again; if that
 * succeeds the bytes must decode to the same kind. */
#include "comm/control.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dgcn_ctl_msg m;
    if (dgcn_ctl_unpack(data, size, &m) == 0) {
        void *buf = NULL;
        size_t len = 0;
        if (dgcn_ctl_pack(&m, &buf, &len) == 0) {
            dgcn_ctl_msg again;
            if (dgcn_ctl_unpack(buf, len, &again) != 0 || again.kind != m.kind) abort();
            dgcn_ctl_msg_fini(&again);
            free(buf);
        }
    }
    dgcn_ctl_msg_fini(&m);
    return 0;
}
