/* core/file.c: opening input files safely (see core/file.h). */
#include "core/file.h"

#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_kind(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    return "not a regular file";
}

int dgcn_file_open_read(const char *path, int64_t max_bytes, FILE **out, int64_t *size) {
    *out = NULL;
    if (size) *size = 0;
    /* O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return dgcn_error_set(DGCN_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dgcn_error_set(DGCN_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return dgcn_error_set(DGCN_EIO, "%s: expected a regular file, found %s", path,
                              s_kind(st.st_mode));
    }
    if ((int64_t)st.st_size > max_bytes) {
        close(fd);
        return dgcn_error_set(DGCN_EIO, "%s: %lld bytes, more than the %lld this file may have",
                              path, (long long)st.st_size, (long long)max_bytes);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return dgcn_error_set(DGCN_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return dgcn_error_set(DGCN_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    *out = f;
    if (size) *size = (int64_t)st.st_size;
    return DGCN_OK;
}

FILE *dgcn_file_create(const char *path, const char *mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return NULL;
    FILE *f = fchmod(fd, 0600) == 0 ? fdopen(fd, mode) : NULL;
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}
