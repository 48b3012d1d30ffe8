/* core/checksum.h: checksummed files: a 64-bit FNV-1a hash and the sealed envelope the run
 * directory's binary files (checkpoint states, the model) are written in.
 *
 * A sealed file is a 32-byte header, the payload and an 8-byte trailer (docs/rundir.md,
 * "Checksums"): the magic "DGCNSUM1", a kind tag of 8 bytes ("state", "model", NUL-padded), the
 * plan id (u64), the payload's length in bytes (u64), the payload, then FNV-1a 64 over every byte
 * before the trailer; integers little-endian. Any single flipped bit, in the header, the payload or
 * the trailer, makes the file unreadable: FNV-1a's steps are bijections, so one changed byte
 * always changes the hash. */
#ifndef DGCN_CORE_CHECKSUM_H
#define DGCN_CORE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DGCN_FNV64_INIT UINT64_C(0xcbf29ce484222325)
#define DGCN_SEAL_HEADER 32 /* bytes before the payload */
#define DGCN_SEAL_TRAILER 8 /* bytes after it: the checksum */

/* FNV-1a 64 of p[0..n) continuing from h (DGCN_FNV64_INIT to start). */
uint64_t dgcn_fnv64(uint64_t h, const void *p, size_t n);

/* Writes the sealed file of payload[0..len) of kind (at most 8 characters) and plan id to f; the
 * caller commits or discards f. DGCN_EIO naming path when a write fails. */
int dgcn_seal_write(FILE *f, const char *path, const char *kind, uint64_t plan_id,
                    const void *payload, size_t len);

/* Reads the sealed file path of kind: checks the header against the file's size before reading
 * the payload (a header that does not match the size, or a payload over max_payload bytes, is
 * refused unread), then the checksum. On success *payload (malloc'd, the caller frees it) holds
 * *len bytes and *plan_id the header's plan id. DGCN_EFORMAT names path and what is wrong: no
 * header (a file that predates checksums), another kind, a size the header does not describe, a
 * checksum mismatch; DGCN_EIO when it cannot be read. */
int dgcn_seal_read(const char *path, const char *kind, int64_t max_payload, uint64_t *plan_id,
                   void **payload, int64_t *len);

#endif
