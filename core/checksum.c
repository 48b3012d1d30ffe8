/* core/checksum.c: FNV-1a 64 and sealed files (see core/checksum.h). */
#include "core/checksum.h"

#include "core/error.h"
#include "core/file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char s_magic[8] = {'D', 'G', 'C', 'N', 'S', 'U', 'M', '1'};

uint64_t dgcn_fnv64(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}

static void s_put64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t s_get64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

int dgcn_seal_write(FILE *f, const char *path, const char *kind, uint64_t plan_id,
                    const void *payload, size_t len) {
    unsigned char hdr[DGCN_SEAL_HEADER] = {0}, tail[DGCN_SEAL_TRAILER];
    memcpy(hdr, s_magic, 8);
    strncpy((char *)hdr + 8, kind, 8);
    s_put64(hdr + 16, plan_id);
    s_put64(hdr + 24, (uint64_t)len);
    s_put64(tail, dgcn_fnv64(dgcn_fnv64(DGCN_FNV64_INIT, hdr, sizeof hdr), payload, len));
    errno = 0;
    if (fwrite(hdr, 1, sizeof hdr, f) != sizeof hdr || fwrite(payload, 1, len, f) != len ||
        fwrite(tail, 1, sizeof tail, f) != sizeof tail)
        return dgcn_error_set(DGCN_EIO, "%s: write failed: %s", path,
                              errno ? strerror(errno) : "short write");
    return DGCN_OK;
}

int dgcn_seal_read(const char *path, const char *kind, int64_t max_payload, uint64_t *plan_id,
                   void **payload, int64_t *len) {
    int rc = DGCN_OK;
    FILE *f = NULL;
    unsigned char hdr[DGCN_SEAL_HEADER], *buf = NULL;
    int64_t size = 0;
    char want[9] = {0}, got[9] = {0};
    *payload = NULL;
    *len = 0;
    strncpy(want, kind, 8);
    DGCN_CHECK(dgcn_file_open_read(path, INT64_MAX, &f, &size));
    size_t head = size < (int64_t)sizeof hdr ? (size_t)size : sizeof hdr;
    if (fread(hdr, 1, head, f) != head)
        DGCN_CHECK(dgcn_error_set(DGCN_EIO, "%s: read failed", path));
    if (head < 8 || memcmp(hdr, s_magic, 8) != 0)
        DGCN_CHECK(dgcn_error_set(DGCN_EFORMAT,
                                  "%s: no checksum header: a %s file written before dgcn "
                                  "checksummed its files, or not a dgcn %s file at all (refused)",
                                  path, want, want));
    if (size < DGCN_SEAL_HEADER + DGCN_SEAL_TRAILER)
        DGCN_CHECK(dgcn_error_set(DGCN_EFORMAT,
                                  "%s: %lld bytes, truncated (a header and checksum "
                                  "alone take %d)",
                                  path, (long long)size, DGCN_SEAL_HEADER + DGCN_SEAL_TRAILER));
    memcpy(got, hdr + 8, 8);
    if (memcmp(hdr + 8, want, 8) != 0)
        DGCN_CHECK(dgcn_error_set(DGCN_EFORMAT,
                                  "%s: a dgcn '%s' file, not a %s file (or corrupted)", path, got,
                                  want));
    uint64_t n = s_get64(hdr + 24);
    if (n > (uint64_t)max_payload || (int64_t)n != size - DGCN_SEAL_HEADER - DGCN_SEAL_TRAILER)
        DGCN_CHECK(dgcn_error_set(DGCN_EFORMAT,
                                  "%s: the header gives a %llu-byte payload (at most %lld), the "
                                  "file holds %lld bytes: truncated or corrupted (refused unread)",
                                  path, (unsigned long long)n, (long long)max_payload,
                                  (long long)size));
    DGCN_ALLOC(buf, (size_t)n + DGCN_SEAL_TRAILER);
    if (fread(buf, 1, (size_t)n + DGCN_SEAL_TRAILER, f) != (size_t)n + DGCN_SEAL_TRAILER)
        DGCN_CHECK(dgcn_error_set(DGCN_EIO, "%s: read failed", path));
    uint64_t stored = s_get64(buf + n);
    uint64_t h = dgcn_fnv64(dgcn_fnv64(DGCN_FNV64_INIT, hdr, sizeof hdr), buf, (size_t)n);
    if (h != stored)
        DGCN_CHECK(dgcn_error_set(DGCN_EFORMAT,
                                  "%s: checksum mismatch (stored %016llx, computed %016llx): the "
                                  "file is corrupted (refused)",
                                  path, (unsigned long long)stored, (unsigned long long)h));
    *plan_id = s_get64(hdr + 16);
    *payload = buf;
    *len = (int64_t)n;
    buf = NULL;
fail:
    free(buf);
    if (f) fclose(f);
    return rc;
}
