/* comm/curve.h: the keys that authenticate and encrypt tcp:// (ZeroMQ CURVE): an agent's
 * credentials, their text form for a child's environment or a key file, and the per-process store
 * that dgcn_transport_open reads over tcp://.
 *
 * A run's keys are made by the coordinator's hub when it opens on tcp:// (dgcn_hub_credentials):
 * one keypair for the coordinator and one per agent. Agent K learns its own keypair and the
 * coordinator's public key through a private channel: the environment variable DGCN_CURVE_KEYS of
 * the child the coordinator starts, or a 0600 key file named by `dgcn agent --keys FILE`. Its
 * neighbours' public keys travel with their mesh endpoints in the set-up message (docs/comm.md).
 * Keys are Z85 text (40 characters for 32 bytes). */
#ifndef DGCN_COMM_CURVE_H
#define DGCN_COMM_CURVE_H

#include <stddef.h>
#include <stdint.h>

#define DGCN_CURVE_KEY_LEN 40            /* Z85 characters of one key */
#define DGCN_CURVE_ENV "DGCN_CURVE_KEYS" /* the child's environment variable */
#define DGCN_CURVE_TEXT_MAX 256          /* bytes of the text form, NUL included */

/* One agent's credentials: its keypair and the coordinator's public key (Z85, NUL-terminated). */
typedef struct dgcn_curve_creds {
    int32_t agent;                                /* the agent these keys belong to */
    char public_key[DGCN_CURVE_KEY_LEN + 1];      /* the agent's */
    char secret_key[DGCN_CURVE_KEY_LEN + 1];      /* the agent's */
    char coordinator_key[DGCN_CURVE_KEY_LEN + 1]; /* the coordinator's public key */
} dgcn_curve_creds;

/* DGCN_OK when this libzmq supports CURVE (zmq_has("curve")); else DGCN_EUNSUPPORTED naming
 * `where` and saying that libzmq must be built with libsodium. */
int dgcn_curve_check(const char *where);

/* Writes c as one line of text (the form of DGCN_CURVE_ENV and of a key file) to out[cap]. */
int dgcn_curve_creds_format(const dgcn_curve_creds *c, char *out, size_t cap);

/* Parses the text form into *c; DGCN_EFORMAT names `origin` (a variable or file) and what is
 * wrong. */
int dgcn_curve_creds_parse(const char *text, const char *origin, dgcn_curve_creds *c);

/* Writes c to a new file at path, mode 0600 (O_EXCL: an existing file is an error naming it). */
int dgcn_curve_creds_write(const char *path, const dgcn_curve_creds *c);

/* Reads a key file: it must be a regular file of this user with no permission for group or
 * others (0600 or 0400); otherwise DGCN_EINVAL names the file and its mode. */
int dgcn_curve_creds_read(const char *path, dgcn_curve_creds *c);

/* Adds (or replaces) agent c->agent's credentials in this process's store, from which
 * dgcn_transport_open takes them for a tcp:// coordinator. Thread-safe. */
int dgcn_curve_store(const dgcn_curve_creds *c);

/* Agent `agent`'s credentials from the store into *c: DGCN_OK, or DGCN_EINVAL saying that a tcp://
 * run needs keys and how an agent gets them. Thread-safe. */
int dgcn_curve_lookup(int32_t agent, dgcn_curve_creds *c);

/* Empties the store. */
void dgcn_curve_forget_all(void);

#endif
