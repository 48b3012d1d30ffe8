/* core/error.c: error names and the thread-local (or task-local) detail message. */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char s_own[DGCN_ERROR_MSG_MAX]; /* the thread's own detail */
static _Thread_local char *s_cur;                    /* a task's detail, or NULL: s_own */

static char *s_buf(void) { return s_cur ? s_cur : s_own; }

char *dgcn_error_switch(char *buf) {
    char *old = s_cur;
    s_cur = buf;
    return old;
}

const char *dgcn_strerror(int code) {
    switch (code) {
    case DGCN_OK: return "success";
    case DGCN_ENOMEM: return "out of memory";
    case DGCN_EIO: return "input/output error";
    case DGCN_EFORMAT: return "malformed input";
    case DGCN_EINVAL: return "invalid argument";
    case DGCN_ETIMEDOUT: return "deadline passed";
    case DGCN_EPROTO: return "protocol error";
    case DGCN_ETOPOLOGY: return "unusable topology";
    case DGCN_ECOMM: return "communication failure";
    case DGCN_EPEER: return "peer failure";
    case DGCN_ENUMERIC: return "numerical failure";
    case DGCN_EINTR: return "interrupted";
    case DGCN_EUNSUPPORTED: return "not supported by this build";
    default: return "unknown error";
    }
}

int dgcn_error_set(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s_buf(), DGCN_ERROR_MSG_MAX, fmt, ap);
    va_end(ap);
    return code;
}

int dgcn_error_wrap(int code, const char *fmt, ...) {
    char prefix[256], old[DGCN_ERROR_MSG_MAX - sizeof prefix];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, s_buf(), sizeof old);
    snprintf(s_buf(), DGCN_ERROR_MSG_MAX, "%s%s", prefix, old[0] ? old : dgcn_strerror(code));
    return code;
}

const char *dgcn_error_msg(void) { return s_buf(); }

void dgcn_error_clear(void) { s_buf()[0] = '\0'; }
