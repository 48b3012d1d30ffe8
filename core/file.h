/* core/file.h: opening input files safely.
 *
 * Every reader of user-supplied files goes through dgcn_file_open_read(): only a regular file is
 * accepted (a directory, FIFO, socket or device is an error naming the path, and opening a FIFO
 * never blocks), and its size is known before anything proportional to it is allocated. Every
 * writer of a run directory's files that does not go through coordinator/rundir.h creates them
 * with dgcn_file_create(), so they are private (0600) from the start. */
#ifndef DGCN_CORE_FILE_H
#define DGCN_CORE_FILE_H

#include <stdint.h>
#include <stdio.h>

/* Opens path for reading ("rb"). On success *out is the open stream (the caller fcloses it) and
 * *size (when not NULL) its size in bytes. Returns DGCN_EIO naming path when it cannot be opened,
 * is not a regular file, or is larger than max_bytes (pass INT64_MAX for no limit); *out is then
 * NULL. Never blocks. */
int dgcn_file_open_read(const char *path, int64_t max_bytes, FILE **out, int64_t *size);

/* Creates path (or truncates it) for writing with fopen mode "w" or "wb"; the file is mode 0600,
 * also when it existed. Returns the stream, or NULL with errno set. */
FILE *dgcn_file_create(const char *path, const char *mode);

#endif
