/* comm/mpi_transport.c: agents and coordinator over MPI; nothing here waits without a deadline.
 * The communicator constructors (MPI_Comm_split, MPI_Dist_graph_create_adjacent) are blocking
 * collectives, so each is preceded by a gate: an MPI_Ibarrier over the same ranks polled until the
 * deadline. A rank that never arrives then gives DGCN_ETIMEDOUT instead of a hang. What cannot be
 * polled (MPI_Init itself, a constructor that a rank stopped or killed past the gate never joins)
 * is bounded by the watchdog, a thread started before MPI_Init that aborts the job with a message
 * naming this rank and what it waited for. */
#include "comm/mpi_transport.h"

#include "comm/transport_int.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

#ifndef DGCN_HAVE_MPI

int dgcn_mpi_available(void) { return 0; }
static int s_unsupported(void) {
    return dgcn_error_set(DGCN_EUNSUPPORTED,
                          "this build has no MPI (configure with DGCN_WITH_MPI=ON)");
}
void (*dgcn__mpi_after_gate)(int rank);
void (*dgcn__mpi_before_gate)(int rank);
int dgcn_mpi_init(int *argc, char ***argv) { return s_unsupported(); }
int dgcn_mpi_finalize(void) { return s_unsupported(); }
int dgcn_mpi_rank(int *rank, int *size) { return s_unsupported(); }
int dgcn_mpi_hub_open(uint64_t run_id, int deadline_ms, dgcn_hub **h) {
    *h = NULL;
    return s_unsupported();
}
int dgcn_mpi_open(int deadline_ms, dgcn_transport **t) {
    *t = NULL;
    return s_unsupported();
}
int dgcn_mpi_set_neighbors(dgcn_transport *t, const int32_t *neighbors, int32_t n) {
    return s_unsupported();
}
int dgcn_mpi_agent_barrier(dgcn_transport *t) { return s_unsupported(); }

#else

#include "comm/hub_int.h"
#include "comm/transport_int.h"
#include "core/checksum.h"

#include <errno.h>
#include <inttypes.h>
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_TAG_COORD 100
#define S_HDR_BYTES 32
#define S_COORD_HDR 16

typedef struct s_mt {
    dgcn_transport base;
    MPI_Comm agents;      /* all agents, rank = agent id */
    MPI_Comm graph;       /* distributed graph over the topology, or MPI_COMM_NULL */
    unsigned char **sbuf; /* [n_neighbors] header + payload, grown on demand */
    size_t *scap;         /* [n_neighbors] */
    unsigned char **rbuf; /* [n_neighbors] */
    size_t *rcap;         /* [n_neighbors] */
    MPI_Request *req;     /* [2 n_neighbors]: receives, then sends */
    char *got;            /* [n_neighbors] */
    char *sent;           /* [n_neighbors] */
    int keep_bufs; /* a send could not be completed or cancelled: buffers may still be read */
    int gates;     /* gates passed on agents (s_gate) */
} s_mt;

typedef struct s_mhub {
    dgcn_hub base;
    int *ids; /* [2 (n_agents + 1)] each world rank's pid and host hash (rank 0: this process) */
} s_mhub;

static const dgcn_transport_ops s_ops;

static int s_merr(int code, const char *what) {
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    s[0] = '\0';
    MPI_Error_string(code, s, &n);
    return dgcn_error_set(DGCN_ECOMM, "%s failed: %s", what, s);
}

/* Backs off while polling: spins a little, then naps up to 1 ms. */
static void s_backoff(int *spins) {
    if (++*spins < 64) return;
    dgcn__nap(*spins < 256 ? 20 : 500);
}

int dgcn_mpi_available(void) { return 1; }

void (*dgcn__mpi_after_gate)(int rank);
void (*dgcn__mpi_before_gate)(int rank);

static int s_world_gates; /* gates passed on MPI_COMM_WORLD (s_gate) */

/* ---- the watchdog: a thread that ends the job when a blocking MPI call overruns ---- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t tid;
    int started, stop;
    int armed;              /* a blocking call is under way */
    struct timespec due;    /* CLOCK_MONOTONIC */
    int deadline_ms;        /* of the armed call */
    char what[192];         /* what this rank waits for */
    volatile int mpi_ready; /* MPI_Init_thread has returned */
} s_dog = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* This process's world rank as the launcher announced it (also before MPI_Init), or -1. */
static int s_env_rank(void) {
    static const char *names[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) return atoi(v);
    }
    return -1;
}

static int s_env_size(void) {
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    if (!v) v = getenv("PMI_SIZE");
    return v && *v ? atoi(v) : -1;
}

static void *s_dog_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&s_dog.mu);
    while (!s_dog.stop) {
        if (!s_dog.armed) {
            pthread_cond_wait(&s_dog.cv, &s_dog.mu);
            continue;
        }
        int e = pthread_cond_timedwait(&s_dog.cv, &s_dog.mu, &s_dog.due);
        if (e != ETIMEDOUT || !s_dog.armed || s_dog.stop) continue;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec < s_dog.due.tv_sec ||
            (now.tv_sec == s_dog.due.tv_sec && now.tv_nsec < s_dog.due.tv_nsec))
            continue;
        int rank = s_env_rank(), size = s_env_size();
        char role[48];
        if (rank == 0) snprintf(role, sizeof role, "rank 0 (the coordinator)");
        else if (rank > 0) snprintf(role, sizeof role, "rank %d (agent %d)", rank, rank - 1);
        else snprintf(role, sizeof role, "a rank");
        fprintf(stderr,
                "dgcn: MPI watchdog: %s of %d waited %d ms for %s; a rank of the job is missing, "
                "stopped or dead (the ranks that print this are waiting, the missing ones do not): "
                "aborting the job\n",
                role, size, s_dog.deadline_ms, s_dog.what);
        fflush(stderr);
        if (s_dog.mpi_ready) MPI_Abort(MPI_COMM_WORLD, DGCN_MPI_WATCHDOG_STATUS);
        _exit(DGCN_MPI_WATCHDOG_STATUS);
    }
    pthread_mutex_unlock(&s_dog.mu);
    return NULL;
}

/* The deadline of MPI_Init: DGCN_MPI_INIT_DEADLINE_MS, or the environment variable of that name
 * (milliseconds > 0). */
static int s_init_deadline(void) {
    const char *v = getenv("DGCN_MPI_INIT_DEADLINE_MS");
    if (v && *v) {
        char *end = NULL;
        long ms = strtol(v, &end, 10);
        if (*end == '\0' && ms > 0 && ms <= 86400000L) return (int)ms;
    }
    return DGCN_MPI_INIT_DEADLINE_MS;
}

/* Arms the watchdog for a blocking call: `what` must complete within deadline_ms. */
static void s_dog_arm(int deadline_ms, const char *what) {
    pthread_mutex_lock(&s_dog.mu);
    if (s_dog.started) {
        clock_gettime(CLOCK_MONOTONIC, &s_dog.due);
        s_dog.due.tv_sec += deadline_ms / 1000;
        s_dog.due.tv_nsec += (long)(deadline_ms % 1000) * 1000000L;
        if (s_dog.due.tv_nsec >= 1000000000L) {
            s_dog.due.tv_sec++;
            s_dog.due.tv_nsec -= 1000000000L;
        }
        s_dog.deadline_ms = deadline_ms;
        snprintf(s_dog.what, sizeof s_dog.what, "%s", what);
        s_dog.armed = 1;
        pthread_cond_signal(&s_dog.cv);
    }
    pthread_mutex_unlock(&s_dog.mu);
}

static void s_dog_disarm(void) {
    pthread_mutex_lock(&s_dog.mu);
    s_dog.armed = 0;
    pthread_cond_signal(&s_dog.cv);
    pthread_mutex_unlock(&s_dog.mu);
}

static int s_dog_start(void) {
    pthread_mutex_lock(&s_dog.mu);
    int started = s_dog.started;
    pthread_mutex_unlock(&s_dog.mu);
    if (started) return DGCN_OK;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&s_dog.cv);
    pthread_cond_init(&s_dog.cv, &ca);
    pthread_condattr_destroy(&ca);
    s_dog.stop = 0;
    if (pthread_create(&s_dog.tid, NULL, s_dog_main, NULL) != 0)
        return dgcn_error_set(DGCN_ENOMEM, "MPI start-up: cannot start the watchdog thread");
    s_dog.started = 1;
    return DGCN_OK;
}

static void s_dog_stop(void) {
    pthread_mutex_lock(&s_dog.mu);
    int started = s_dog.started;
    s_dog.stop = 1;
    pthread_cond_signal(&s_dog.cv);
    pthread_mutex_unlock(&s_dog.mu);
    if (started) pthread_join(s_dog.tid, NULL);
    s_dog.started = 0;
}

int dgcn_mpi_init(int *argc, char ***argv) {
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        int rc = s_dog_start();
        if (rc) return rc;
        int dl = s_init_deadline();
        char what[96];
        snprintf(what, sizeof what, "MPI_Init (every rank of the job to start; %s=%d)",
                 "DGCN_MPI_INIT_DEADLINE_MS", dl);
        s_dog_arm(dl, what);
        int e = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        s_dog_disarm();
        if (e != MPI_SUCCESS) return dgcn_error_set(DGCN_ECOMM, "MPI_Init_thread failed (%d)", e);
    }
    s_dog.mpi_ready = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return DGCN_OK;
}

int dgcn_mpi_finalize(void) {
    int inited = 0, done = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&done);
    if (inited && !done) {
        /* MPI_Finalize waits for every rank (a fence). Rank 0 (the coordinator) finalises last,
         * after its own work (baselines, plots), when the agents already wait there: its wait is
         * bounded like MPI_Init. An agent's wait lasts as long as the coordinator's work, so it
         * has no bound of its own; the coordinator's abort ends it. */
        int world_rank = -1;
        MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
        int dl = s_init_deadline();
        char what[112];
        snprintf(what, sizeof what, "MPI_Finalize (every rank of the job to finish; %s=%d)",
                 "DGCN_MPI_INIT_DEADLINE_MS", dl);
        s_dog.mpi_ready = 0; /* past its deadline the watchdog only _exits: no MPI_Abort now */
        if (world_rank == 0) s_dog_arm(dl, what);
        int e = MPI_Finalize();
        s_dog_disarm();
        s_dog.mpi_ready = 0;
        s_dog_stop();
        if (e != MPI_SUCCESS) return s_merr(e, "MPI_Finalize");
    }
    s_dog_stop();
    return DGCN_OK;
}

int dgcn_mpi_rank(int *rank, int *size) {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) return dgcn_error_set(DGCN_EINVAL, "MPI is not initialised (dgcn_mpi_init)");
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return DGCN_OK;
}

/* Polls one request until it completes (DGCN_OK) or the deadline passes (DGCN_ETIMEDOUT, the
 * request left as it is: a non-blocking collective cannot be cancelled, and a rank arriving late
 * still completes it). */
static int s_test_until(MPI_Request *r, const struct timespec *dl, MPI_Status *st) {
    int spins = 0;
    for (;;) {
        int flag = 0;
        int e = MPI_Test(r, &flag, st);
        if (e != MPI_SUCCESS) return s_merr(e, "MPI_Test");
        if (flag) return DGCN_OK;
        if (dgcn__ms_left(dl) <= 0) return DGCN_ETIMEDOUT;
        s_backoff(&spins);
    }
}

/* Polls one point-to-point request until it completes or the deadline passes (then cancels it). */
static int s_wait_one(MPI_Request *r, const struct timespec *dl, MPI_Status *st) {
    int rc = s_test_until(r, dl, st);
    if (rc != DGCN_ETIMEDOUT) return rc;
    MPI_Cancel(r);
    MPI_Request_free(r);
    return DGCN_ETIMEDOUT;
}

/* Gate tokens: tag S_TAG_GATE + (the gate's number on its communicator mod S_GATE_TAGS), so a
 * token a late rank sends to a gate the others abandoned is never taken for a later gate's. */
#define S_TAG_GATE 200
#define S_GATE_TAGS 64

/* The ranks of comm as people know them: world (agent_of_rank0 = -1: rank 0 is the coordinator,
 * rank r agent r - 1) or the agents' communicator (agent_of_rank0 = 0: rank r is agent r). */
static void s_rank_name(char *buf, size_t cap, int r, int agent_of_rank0) {
    int agent = r + agent_of_rank0;
    if (agent < 0) snprintf(buf, cap, "rank %d (the coordinator)", r);
    else snprintf(buf, cap, "rank %d (agent %d)", agent + 1, agent);
}

/* Takes the tokens that have reached comm's rank 0 for gate tag `tag` (arrived[r] = 1). */
static void s_gate_drain(MPI_Comm comm, int tag, char *arrived, int size) {
    for (;;) {
        int flag = 0, token = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, tag, comm, &flag, &st) != MPI_SUCCESS || !flag) return;
        MPI_Recv(&token, 1, MPI_INT, st.MPI_SOURCE, tag, comm, MPI_STATUS_IGNORE);
        if (st.MPI_SOURCE > 0 && st.MPI_SOURCE < size) arrived[st.MPI_SOURCE] = 1;
    }
}

/* Waits until every rank of comm has reached this point, at most deadline_ms (an MPI_Ibarrier
 * polled with MPI_Test; *seq counts this communicator's gates). Every rank but 0 also sends rank
 * 0 a token as it arrives, so that on DGCN_ETIMEDOUT rank 0 names the ranks that never came;
 * the others name who waited (`who`) and for what (`what`). The barrier's request is then left to
 * the library: a non-blocking collective cannot be cancelled, and a rank arriving late still
 * completes it. */
static int s_gate(MPI_Comm comm, int *seq, int agent_of_rank0, int deadline_ms, const char *who,
                  const char *what) {
    static int token; /* the payload is the tag; its buffer outlives the freed request */
    int rank = 0, size = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    const int tag = S_TAG_GATE + (*seq)++ % S_GATE_TAGS;
    if (rank != 0) {
        MPI_Request tr;
        token = tag;
        int e = MPI_Isend(&token, 1, MPI_INT, 0, tag, comm, &tr);
        if (e != MPI_SUCCESS) return s_merr(e, "MPI_Isend (gate token)");
        MPI_Request_free(&tr);
    }
    MPI_Request r;
    int e = MPI_Ibarrier(comm, &r);
    if (e != MPI_SUCCESS) return s_merr(e, "MPI_Ibarrier");
    struct timespec dl = dgcn__deadline_after(deadline_ms);
    int rc = s_test_until(&r, &dl, MPI_STATUS_IGNORE);
    char *arrived = rank == 0 ? calloc((size_t)size, 1) : NULL;
    if (rank == 0 && rc == DGCN_OK && arrived) {
        /* everyone has sent its token: take them all, so none is left queued */
        struct timespec dl2 = dgcn__deadline_after(deadline_ms);
        int n_in = 0, spins = 0;
        while (n_in < size - 1 && dgcn__ms_left(&dl2) > 0) {
            s_gate_drain(comm, tag, arrived, size);
            n_in = 0;
            for (int k = 1; k < size; k++) n_in += arrived[k];
            if (n_in < size - 1) s_backoff(&spins);
        }
    }
    if (rc != DGCN_ETIMEDOUT) {
        free(arrived);
        return rc;
    }
    char missing[512] = "";
    if (rank == 0 && arrived) {
        s_gate_drain(comm, tag, arrived, size);
        size_t off = 0;
        int n_missing = 0;
        for (int k = 1; k < size; k++) {
            if (arrived[k]) continue;
            char name[48];
            s_rank_name(name, sizeof name, k, agent_of_rank0);
            if (off + sizeof name + 8 < sizeof missing)
                off += (size_t)snprintf(missing + off, sizeof missing - off, "%s%s",
                                        n_missing ? ", " : "; not arrived: ", name);
            n_missing++;
        }
    }
    free(arrived);
    return dgcn_error_set(
        DGCN_ETIMEDOUT,
        "%s: not all %d ranks reached %s within %d ms (a rank is missing, stopped "
        "or not running dgcn)%s",
        who, size, what, deadline_ms, missing);
}

/* Broadcast of the run id from world rank 0, bounded by the deadline. */
static int s_bcast_run_id(uint64_t *run_id, int deadline_ms) {
    MPI_Request r;
    int e = MPI_Ibcast(run_id, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &r);
    if (e != MPI_SUCCESS) return s_merr(e, "MPI_Ibcast");
    struct timespec dl = dgcn__deadline_after(deadline_ms);
    int rc = s_test_until(&r, &dl, MPI_STATUS_IGNORE);
    if (rc != DGCN_ETIMEDOUT) return rc;
    return dgcn_error_set(DGCN_ETIMEDOUT,
                          "MPI start-up: the run id broadcast did not complete within %d ms (is "
                          "every rank running dgcn?)",
                          deadline_ms);
}

/* This rank's pid and a hash of its host name, gathered at world rank 0 (ids[2 size], rank 0
 * only; NULL elsewhere) within the deadline: the coordinator can then tell that an agent's
 * process on its own host is gone. */
static int s_gather_ids(int *ids, int deadline_ms) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    uint64_t hash = dgcn_fnv64(DGCN_FNV64_INIT, host, strlen(host));
    int mine[2] = {(int)getpid(), (int)(hash & 0x7fffffff)};
    MPI_Request r;
    int e = MPI_Igather(mine, 2, MPI_INT, ids, 2, MPI_INT, 0, MPI_COMM_WORLD, &r);
    if (e != MPI_SUCCESS) return s_merr(e, "MPI_Igather");
    struct timespec dl = dgcn__deadline_after(deadline_ms);
    int rc = s_test_until(&r, &dl, MPI_STATUS_IGNORE);
    if (rc != DGCN_ETIMEDOUT) return rc;
    return dgcn_error_set(DGCN_ETIMEDOUT,
                          "MPI start-up: the ranks' process ids did not reach rank 0 within %d ms",
                          deadline_ms);
}

/* ---- agent endpoint ---- */

static void s_put_hdr(unsigned char *b, const dgcn__hdr *h) {
    memcpy(b, &h->run_id, 8);
    memcpy(b + 8, &h->sender, 4);
    memcpy(b + 12, &h->channel, 4);
    memcpy(b + 16, &h->iter, 8);
    memcpy(b + 24, &h->layer, 4);
    memcpy(b + 28, &h->length, 4);
}

static void s_get_hdr(const unsigned char *b, dgcn__hdr *h) {
    memcpy(&h->run_id, b, 8);
    memcpy(&h->sender, b + 8, 4);
    memcpy(&h->channel, b + 12, 4);
    memcpy(&h->iter, b + 16, 8);
    memcpy(&h->layer, b + 24, 4);
    memcpy(&h->length, b + 28, 4);
}

static int s_grow(unsigned char **buf, size_t *cap, size_t need, int self) {
    if (*cap >= need) return DGCN_OK;
    unsigned char *nb = realloc(*buf, need);
    if (!nb) return dgcn_error_set(DGCN_ENOMEM, "agent %d: out of memory (%zu bytes)", self, need);
    *buf = nb;
    *cap = need;
    return DGCN_OK;
}

/* Cancels what is still pending after a failed exchange. */
static void s_abandon(s_mt *p) {
    int n = p->base.n_neighbors;
    for (int k = 0; k < 2 * n; k++) {
        if (p->req[k] == MPI_REQUEST_NULL) continue;
        MPI_Cancel(&p->req[k]);
        struct timespec dl = dgcn__deadline_after(100);
        int flag = 0, spins = 0;
        while (!flag && dgcn__ms_left(&dl) > 0) {
            MPI_Test(&p->req[k], &flag, MPI_STATUS_IGNORE);
            if (!flag) s_backoff(&spins);
        }
        if (!flag) {
            MPI_Request_free(&p->req[k]);
            if (k >= n) p->keep_bufs = 1;
        }
        p->req[k] = MPI_REQUEST_NULL;
    }
}

static int s_exchange(dgcn_transport *t, const dgcn_exchange *x) {
    s_mt *p = (s_mt *)t;
    int rc = dgcn__check_exchange(t, x);
    if (rc) return rc;
    int n = t->n_neighbors;
    if (n == 0) return DGCN_OK;
    if (p->graph == MPI_COMM_NULL)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: exchange before dgcn_mpi_set_neighbors",
                              t->self);
    if (p->keep_bufs)
        return dgcn_error_set(DGCN_ECOMM,
                              "agent %d: endpoint unusable after an earlier send could not be "
                              "completed or cancelled",
                              t->self);
    const char *chn = dgcn_channel_name(x->channel);
    int tag = x->channel + 1;
    int skipped = 0; /* links left out (both requests of each stay MPI_REQUEST_NULL) */
    for (int i = 0; i < n; i++) {
        if (dgcn__skips(t, x, i)) {
            p->req[i] = p->req[n + i] = MPI_REQUEST_NULL;
            skipped++;
            continue;
        }
        size_t need = S_HDR_BYTES + (size_t)x->recv_len[i] * sizeof(float);
        DGCN_CHECK(s_grow(&p->rbuf[i], &p->rcap[i], need, t->self));
        int e = MPI_Irecv(p->rbuf[i], (int)need, MPI_BYTE, t->neighbors[i], tag, p->graph,
                          &p->req[i]);
        if (e != MPI_SUCCESS) {
            rc = s_merr(e, "MPI_Irecv");
            goto fail;
        }
    }
    for (int i = 0; i < n; i++) {
        if (dgcn__skips(t, x, i)) continue;
        size_t pay = (size_t)x->send_len[i] * sizeof(float);
        DGCN_CHECK(s_grow(&p->sbuf[i], &p->scap[i], S_HDR_BYTES + pay, t->self));
        dgcn__hdr h = dgcn__make_hdr(t, x, i);
        s_put_hdr(p->sbuf[i], &h);
        if (pay) memcpy(p->sbuf[i] + S_HDR_BYTES, x->send[i], pay);
        int e = MPI_Isend(p->sbuf[i], (int)(S_HDR_BYTES + pay), MPI_BYTE, t->neighbors[i], tag,
                          p->graph, &p->req[n + i]);
        if (e != MPI_SUCCESS) {
            rc = s_merr(e, "MPI_Isend");
            goto fail;
        }
        dgcn__count_send(t, i, x->channel, x->send_len[i]);
    }
    for (int i = 0; i < n; i++) p->got[i] = p->sent[i] = dgcn__skips(t, x, i);
    struct timespec dl = dgcn__deadline_after(t->deadline_ms);
    unsigned mark = dgcn__continued();
    int done = 2 * skipped, spins = 0;
    while (done < 2 * n) {
        int progressed = 0;
        for (int k = 0; k < 2 * n; k++) {
            if (p->req[k] == MPI_REQUEST_NULL) continue;
            int flag = 0;
            MPI_Status st;
            int e = MPI_Test(&p->req[k], &flag, &st);
            int i = k < n ? k : k - n;
            if (e != MPI_SUCCESS) {
                int cls = 0;
                MPI_Error_class(e, &cls);
                if (k < n && cls == MPI_ERR_TRUNCATE) {
                    p->req[k] = MPI_REQUEST_NULL;
                    rc = dgcn_error_set(DGCN_EPROTO,
                                        "agent %d, iteration %" PRId64 ", layer %d, channel %s: "
                                        "neighbour %d sent more than the %d floats expected",
                                        t->self, x->iter, x->layer, chn, t->neighbors[i],
                                        x->recv_len[i]);
                } else {
                    rc = s_merr(e, k < n ? "MPI_Test (receive)" : "MPI_Test (send)");
                }
                goto fail;
            }
            if (!flag) continue;
            progressed = 1;
            done++;
            if (k >= n) {
                p->sent[i] = 1;
                continue;
            }
            int count = 0;
            MPI_Get_count(&st, MPI_BYTE, &count);
            if (count < S_HDR_BYTES) {
                rc = dgcn_error_set(DGCN_EPROTO,
                                    "agent %d, iteration %" PRId64 ", layer %d, channel %s: "
                                    "message of %d bytes from neighbour %d is shorter than a "
                                    "header",
                                    t->self, x->iter, x->layer, chn, count, t->neighbors[i]);
                goto fail;
            }
            dgcn__hdr h;
            s_get_hdr(p->rbuf[i], &h);
            if (h.sender != t->neighbors[i]) {
                rc = dgcn_error_set(DGCN_EPROTO,
                                    "agent %d, iteration %" PRId64 ": message from rank of "
                                    "neighbour %d claims sender %d",
                                    t->self, x->iter, t->neighbors[i], h.sender);
                goto fail;
            }
            int ahead = 0, slot = -1;
            rc = dgcn__route(t, x, &h, p->rbuf[i] + S_HDR_BYTES, (size_t)count - S_HDR_BYTES,
                             p->got, &ahead, &slot);
            if (rc == DGCN_OK && ahead)
                rc = dgcn_error_set(DGCN_EPROTO, "agent %d: duplicate message from neighbour %d",
                                    t->self, h.sender);
            if (rc) goto fail;
        }
        if (done == 2 * n) break;
        if (dgcn__ms_left(&dl) <= 0 && !dgcn__deadline_renew(&dl, &mark, t->deadline_ms)) {
            int all_got = 1;
            for (int i = 0; i < n; i++) all_got &= p->got[i] != 0;
            if (all_got) {
                char who[256];
                size_t off = 0;
                who[0] = '\0';
                t->stall.n = 0;
                t->stall.iter = x->iter;
                t->stall.waited_ms = t->deadline_ms;
                for (int i = 0; i < n; i++)
                    if (!p->sent[i] && t->stall.n < DGCN_STALL_MAX)
                        t->stall.who[t->stall.n++] = t->neighbors[i];
                for (int i = 0; i < n && off + 16 < sizeof who; i++)
                    if (!p->sent[i]) {
                        int w = snprintf(who + off, sizeof who - off, "%s%d", off ? ", " : "",
                                         t->neighbors[i]);
                        if (w > 0) off += (size_t)w;
                    }
                rc = dgcn_error_set(DGCN_ETIMEDOUT,
                                    "agent %d: send to neighbour(s) %s not completed within %d ms "
                                    "(iteration %" PRId64 ", layer %d, channel %s)",
                                    t->self, who, t->deadline_ms, x->iter, x->layer, chn);
            } else {
                rc = dgcn__timeout(t, x, p->got, t->deadline_ms);
            }
            goto fail;
        }
        if (!progressed) s_backoff(&spins);
        else spins = 0;
    }
    return DGCN_OK;
fail:
    s_abandon(p);
    return rc;
}

static int s_send_bytes(MPI_Comm comm, int dest, uint64_t run_id, int32_t agent, const void *buf,
                        size_t len, int deadline_ms, int *timed_out) {
    *timed_out = 0;
    unsigned char *b = malloc(S_COORD_HDR + len);
    if (!b) return dgcn_error_set(DGCN_ENOMEM, "out of memory (%zu bytes)", S_COORD_HDR + len);
    memset(b, 0, S_COORD_HDR);
    memcpy(b, &run_id, 8);
    memcpy(b + 8, &agent, 4);
    if (len) memcpy(b + S_COORD_HDR, buf, len);
    MPI_Request r;
    int e = MPI_Isend(b, (int)(S_COORD_HDR + len), MPI_BYTE, dest, S_TAG_COORD, comm, &r);
    if (e != MPI_SUCCESS) {
        free(b);
        return s_merr(e, "MPI_Isend");
    }
    struct timespec dl = dgcn__deadline_after(deadline_ms);
    int rc = s_wait_one(&r, &dl, MPI_STATUS_IGNORE);
    if (rc == DGCN_ETIMEDOUT) *timed_out = 1; /* the request was freed; b may still be read */
    else free(b);
    return rc;
}

/* Waits (polling) for a coordinator-tag message from `source` (MPI_ANY_SOURCE allowed); receives
 * it, checks its header and returns the body. *from = world rank. */
static int s_recv_bytes(MPI_Comm comm, int source, uint64_t run_id, int deadline_ms, int *from,
                        int32_t *agent, void **out, size_t *len, const char *who) {
    *out = NULL;
    *len = 0;
    struct timespec dl = dgcn__deadline_after(deadline_ms);
    unsigned mark = dgcn__continued();
    MPI_Message msg;
    MPI_Status st;
    int flag = 0, spins = 0;
    for (;;) {
        int e = MPI_Improbe(source, S_TAG_COORD, comm, &flag, &msg, &st);
        if (e != MPI_SUCCESS) return s_merr(e, "MPI_Improbe");
        if (flag) break;
        if (dgcn__ms_left(&dl) <= 0 && !dgcn__deadline_renew(&dl, &mark, deadline_ms))
            return DGCN_ETIMEDOUT;
        s_backoff(&spins);
    }
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    *from = st.MPI_SOURCE;
    if (count < S_COORD_HDR || (size_t)count > DGCN_COORD_MAX_BYTES + S_COORD_HDR) {
        char dummy[1];
        MPI_Mrecv(dummy, 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE); /* drops it (truncated) */
        return dgcn_error_set(DGCN_EPROTO,
                              "%s: message of %d bytes from rank %d has an invalid size", who,
                              count, st.MPI_SOURCE);
    }
    unsigned char *b = malloc((size_t)count);
    if (!b) {
        char dummy[1];
        MPI_Mrecv(dummy, 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
        return dgcn_error_set(DGCN_ENOMEM, "%s: out of memory (%d bytes)", who, count);
    }
    int e = MPI_Mrecv(b, count, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
    if (e != MPI_SUCCESS) {
        free(b);
        return s_merr(e, "MPI_Mrecv");
    }
    uint64_t rid;
    memcpy(&rid, b, 8);
    memcpy(agent, b + 8, 4);
    if (rid != run_id) {
        free(b);
        return dgcn_error_set(DGCN_EPROTO,
                              "%s: message from rank %d belongs to run %016" PRIx64
                              " (expected %016" PRIx64 ")",
                              who, *from, rid, run_id);
    }
    size_t n = (size_t)count - S_COORD_HDR;
    memmove(b, b + S_COORD_HDR, n);
    *out = b;
    *len = n;
    return DGCN_OK;
}

static int s_send_coord(dgcn_transport *t, const void *buf, size_t len) {
    if (len > DGCN_COORD_MAX_BYTES)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: coordinator message of %zu bytes exceeds %zu",
                              t->self, len, DGCN_COORD_MAX_BYTES);
    int to = 0;
    int rc = s_send_bytes(MPI_COMM_WORLD, 0, t->run_id, t->self, buf, len, t->deadline_ms, &to);
    if (rc == DGCN_ETIMEDOUT)
        return dgcn_error_set(DGCN_ETIMEDOUT,
                              "agent %d: the coordinator did not take a message within %d ms "
                              "(channel control)",
                              t->self, t->deadline_ms);
    if (rc) return rc;
    dgcn__count_send(t, -1, DGCN_CH_CONTROL, (int32_t)((len + 3) / 4));
    return DGCN_OK;
}

static int s_recv_coord(dgcn_transport *t, void **buf, size_t *len, int deadline_ms) {
    if (deadline_ms < 0) deadline_ms = t->deadline_ms;
    char who[32];
    snprintf(who, sizeof who, "agent %d", t->self);
    int from = -1;
    int32_t agent = -1;
    int rc = s_recv_bytes(MPI_COMM_WORLD, 0, t->run_id, deadline_ms, &from, &agent, buf, len, who);
    if (rc == DGCN_ETIMEDOUT)
        return dgcn_error_set(DGCN_ETIMEDOUT,
                              "agent %d: no message from the coordinator within %d ms (channel "
                              "control)",
                              t->self, deadline_ms);
    if (rc == DGCN_OK && agent != t->self) {
        free(*buf);
        *buf = NULL;
        *len = 0;
        return dgcn_error_set(DGCN_EPROTO, "agent %d: coordinator message addressed to agent %d",
                              t->self, agent);
    }
    return rc;
}

static void s_close(dgcn_transport **tp) {
    if (!tp || !*tp) return;
    s_mt *p = (s_mt *)*tp;
    int n = p->base.n_neighbors;
    if (!p->keep_bufs) {
        for (int i = 0; i < n; i++) {
            if (p->sbuf) free(p->sbuf[i]);
            if (p->rbuf) free(p->rbuf[i]);
        }
        free(p->sbuf);
        free(p->rbuf);
    }
    free(p->scap);
    free(p->rcap);
    free(p->req);
    free(p->got);
    free(p->sent);
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) {
        if (p->graph != MPI_COMM_NULL) MPI_Comm_free(&p->graph);
        if (p->agents != MPI_COMM_NULL) MPI_Comm_free(&p->agents);
    }
    dgcn__transport_fini(&p->base);
    free(p);
    *tp = NULL;
}

static int s_connect(dgcn_transport *t, const int32_t *neighbors, const char *const *addresses,
                     int32_t n) {
    return dgcn_mpi_set_neighbors(t, neighbors, n);
}

static const dgcn_transport_ops s_ops = {
    .name = "mpi",
    .bind = dgcn__bind_none,
    .connect = s_connect,
    .exchange = s_exchange,
    .send_coord = s_send_coord,
    .recv_coord = s_recv_coord,
    .close = s_close,
};

int dgcn_mpi_open(int deadline_ms, dgcn_transport **out) {
    int rc = DGCN_OK;
    s_mt *p = NULL;
    int rank = 0, size = 0;
    *out = NULL;
    DGCN_CHECK(dgcn_mpi_rank(&rank, &size));
    if (rank == 0)
        return dgcn_error_set(DGCN_EINVAL, "MPI rank 0 is the coordinator, not an agent");
    DGCN_ALLOC(p, 1);
    p->agents = MPI_COMM_NULL;
    p->graph = MPI_COMM_NULL;
    p->base.ops = &s_ops;
    char who[64];
    snprintf(who, sizeof who, "MPI start-up, agent %d (rank %d)", rank - 1, rank);
    if (dgcn__mpi_before_gate) dgcn__mpi_before_gate(rank);
    DGCN_CHECK(s_gate(MPI_COMM_WORLD, &s_world_gates, -1, deadline_ms, who,
                      "the agents' communicator creation (MPI_Comm_split of the world)"));
    if (dgcn__mpi_after_gate) dgcn__mpi_after_gate(rank);
    s_dog_arm(deadline_ms, "MPI_Comm_split of the world (the agents' communicator), past the "
                           "start-up gate every rank had reached");
    int e = MPI_Comm_split(MPI_COMM_WORLD, 0, rank, &p->agents);
    s_dog_disarm();
    if (e != MPI_SUCCESS) {
        rc = s_merr(e, "MPI_Comm_split");
        goto fail;
    }
    MPI_Comm_set_errhandler(p->agents, MPI_ERRORS_RETURN);
    uint64_t run_id = 0;
    DGCN_CHECK(s_bcast_run_id(&run_id, deadline_ms));
    DGCN_CHECK(s_gather_ids(NULL, deadline_ms));
    DGCN_CHECK(
        dgcn__transport_init(&p->base, &s_ops, rank - 1, size - 1, NULL, 0, run_id, deadline_ms));
    *out = &p->base;
    return DGCN_OK;
fail:
    if (p) {
        dgcn_transport *t = &p->base;
        s_close(&t);
    }
    return rc;
}

static s_mt *s_cast(dgcn_transport *t) { return t && t->ops == &s_ops ? (s_mt *)t : NULL; }

int dgcn_mpi_set_neighbors(dgcn_transport *t, const int32_t *neighbors, int32_t n) {
    int rc = DGCN_OK;
    s_mt *p = s_cast(t);
    if (!p) return dgcn_error_set(DGCN_EINVAL, "dgcn_mpi_set_neighbors: not an MPI endpoint");
    if (p->graph != MPI_COMM_NULL)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: neighbours already set", t->self);
    DGCN_CHECK(dgcn__transport_set_neighbors(t, neighbors, n));
    DGCN_ALLOC(p->sbuf, n);
    DGCN_ALLOC(p->rbuf, n);
    DGCN_ALLOC(p->scap, n);
    DGCN_ALLOC(p->rcap, n);
    DGCN_ALLOC(p->req, 2 * (size_t)n);
    DGCN_ALLOC(p->got, n);
    DGCN_ALLOC(p->sent, n);
    for (int k = 0; k < 2 * n; k++) p->req[k] = MPI_REQUEST_NULL;
    int *nb = NULL;
    DGCN_ALLOC(nb, (size_t)n + 1);
    for (int i = 0; i < n; i++) nb[i] = neighbors[i];
    char who[64];
    snprintf(who, sizeof who, "MPI set-up, agent %d", t->self);
    rc = s_gate(p->agents, &p->gates, 0, t->deadline_ms, who,
                "the neighbour graph's creation (MPI_Dist_graph_create_adjacent over the agents)");
    if (rc) {
        free(nb);
        return rc;
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread" /* MPI_UNWEIGHTED is a sentinel address */
    s_dog_arm(t->deadline_ms, "MPI_Dist_graph_create_adjacent over the agents (the neighbour "
                              "graph), past the gate every agent had reached");
    int e = MPI_Dist_graph_create_adjacent(p->agents, n, nb, MPI_UNWEIGHTED, n, nb, MPI_UNWEIGHTED,
                                           MPI_INFO_NULL, 0, &p->graph);
    s_dog_disarm();
#pragma GCC diagnostic pop
    free(nb);
    if (e != MPI_SUCCESS) return s_merr(e, "MPI_Dist_graph_create_adjacent");
    MPI_Comm_set_errhandler(p->graph, MPI_ERRORS_RETURN);
    return DGCN_OK;
fail:
    return rc; /* arrays allocated so far are released by close */
}

int dgcn_mpi_agent_barrier(dgcn_transport *t) {
    s_mt *p = s_cast(t);
    if (!p) return dgcn_error_set(DGCN_EINVAL, "dgcn_mpi_agent_barrier: not an MPI endpoint");
    char who[64];
    snprintf(who, sizeof who, "agent %d", t->self);
    return s_gate(p->agents, &p->gates, 0, t->deadline_ms, who, "the agents' barrier");
}

/* ---- coordinator endpoint ---- */

static int s_hub_send(dgcn_hub *h, int32_t agent, const void *buf, size_t len) {
    int rc = dgcn__hub_check_agent(h, agent);
    if (rc) return rc;
    if (len > DGCN_COORD_MAX_BYTES)
        return dgcn_error_set(DGCN_EINVAL, "hub: message of %zu bytes to agent %d exceeds %zu", len,
                              agent, DGCN_COORD_MAX_BYTES);
    int to = 0;
    rc = s_send_bytes(MPI_COMM_WORLD, agent + 1, h->run_id, agent, buf, len, h->deadline_ms, &to);
    if (rc == DGCN_ETIMEDOUT)
        return dgcn_error_set(DGCN_ETIMEDOUT,
                              "coordinator: agent %d did not take a message within %d ms (channel "
                              "control)",
                              agent, h->deadline_ms);
    if (rc) return rc;
    h->traffic.bytes[DGCN_CH_CONTROL] += len;
    h->traffic.messages[DGCN_CH_CONTROL] += 1;
    return DGCN_OK;
}

static int s_hub_recv_any(dgcn_hub *h, int32_t *agent, void **buf, size_t *len, int deadline_ms) {
    if (deadline_ms < 0) deadline_ms = h->deadline_ms;
    int from = -1;
    int32_t claimed = -1;
    *agent = -1;
    int rc = s_recv_bytes(MPI_COMM_WORLD, MPI_ANY_SOURCE, h->run_id, deadline_ms, &from, &claimed,
                          buf, len, "coordinator");
    if (rc == DGCN_ETIMEDOUT) return dgcn__hub_timeout(h, deadline_ms);
    if (rc) return rc;
    if (from < 1 || from > h->n_agents || claimed != from - 1) {
        free(*buf);
        *buf = NULL;
        *len = 0;
        return dgcn_error_set(DGCN_EPROTO, "coordinator: message from rank %d claims agent %d",
                              from, claimed);
    }
    *agent = claimed;
    dgcn__hub_heard(h, claimed);
    return DGCN_OK;
}

static void s_hub_close(dgcn_hub **hp) {
    if (!hp || !*hp) return;
    s_mhub *p = (s_mhub *)*hp;
    dgcn__hub_fini(&p->base);
    free(p->ids);
    free(p);
    *hp = NULL;
}

/* Agent k's process is gone when it ran on this host and its pid no longer exists (mpirun reaps
 * a rank that exits or is killed at once). */
static int s_hub_ended(dgcn_hub *h, int32_t agent, char *how, size_t cap) {
    s_mhub *p = (s_mhub *)h;
    if (!p->ids || agent < 0 || agent >= h->n_agents) return 0;
    int pid = p->ids[2 * (agent + 1)], host = p->ids[2 * (agent + 1) + 1];
    if (host != p->ids[1] || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) return 0;
    snprintf(how, cap, "is gone (MPI rank %d, pid %d on this host: killed or exited)", agent + 1,
             pid);
    return 1;
}

static const dgcn_hub_ops s_hub_ops = {"mpi", s_hub_send, s_hub_recv_any, s_hub_close, s_hub_ended};

int dgcn_mpi_hub_open(uint64_t run_id, int deadline_ms, dgcn_hub **out) {
    int rc = DGCN_OK;
    s_mhub *p = NULL;
    int rank = 0, size = 0;
    *out = NULL;
    DGCN_CHECK(dgcn_mpi_rank(&rank, &size));
    if (rank != 0)
        return dgcn_error_set(DGCN_EINVAL, "MPI rank %d is an agent; rank 0 is the coordinator",
                              rank);
    if (size < 2)
        return dgcn_error_set(DGCN_EINVAL, "MPI world of %d rank(s) has no agents (need >= 2)",
                              size);
    MPI_Comm none = MPI_COMM_NULL;
    if (dgcn__mpi_before_gate) dgcn__mpi_before_gate(rank);
    DGCN_CHECK(s_gate(MPI_COMM_WORLD, &s_world_gates, -1, deadline_ms,
                      "MPI start-up, the coordinator (rank 0)",
                      "the agents' communicator creation (MPI_Comm_split of the world)"));
    if (dgcn__mpi_after_gate) dgcn__mpi_after_gate(rank);
    s_dog_arm(deadline_ms, "MPI_Comm_split of the world (the agents' communicator), past the "
                           "start-up gate every rank had reached");
    int e = MPI_Comm_split(MPI_COMM_WORLD, MPI_UNDEFINED, 0, &none);
    s_dog_disarm();
    if (e != MPI_SUCCESS) return s_merr(e, "MPI_Comm_split");
    DGCN_CHECK(s_bcast_run_id(&run_id, deadline_ms));
    DGCN_ALLOC(p, 1);
    DGCN_ALLOC(p->ids, 2 * (size_t)size);
    DGCN_CHECK(s_gather_ids(p->ids, deadline_ms));
    DGCN_CHECK(dgcn__hub_init(&p->base, &s_hub_ops, size - 1, run_id, deadline_ms));
    *out = &p->base;
    return DGCN_OK;
fail:
    if (p) {
        dgcn__hub_fini(&p->base);
        free(p->ids);
        free(p);
    }
    return rc;
}

#endif

/* ---- the mpi:// scheme (in either build: without MPI every call is DGCN_EUNSUPPORTED) ---- */

static int s_check_address(const char *address) {
    if (strcmp(address, "mpi://"))
        return dgcn_error_set(DGCN_EINVAL, "mpi: the address is mpi:// (got '%s')", address);
    return DGCN_OK;
}

static int s_scheme_open(const char *address, int32_t agent, int32_t n_agents, uint64_t run_id,
                         int deadline_ms, dgcn_transport **t) {
    *t = NULL;
    int rc = s_check_address(address);
    if (rc == DGCN_OK) rc = dgcn_mpi_open(deadline_ms, t);
    if (rc) return rc;
    if ((agent >= 0 && agent != (*t)->self) || (n_agents > 0 && n_agents != (*t)->n_agents)) {
        rc = dgcn_error_set(DGCN_EINVAL, "mpi: this rank is agent %d of %d, not agent %d of %d",
                            (*t)->self, (*t)->n_agents, agent, n_agents);
        dgcn_transport_close(t);
    }
    return rc;
}

static int s_scheme_hub_open(const char *address, int32_t n_agents, uint64_t run_id,
                             int deadline_ms, char *actual, size_t cap, dgcn_hub **h) {
    *h = NULL;
    int rank = 0, size = 0;
    int rc = s_check_address(address);
    if (rc == DGCN_OK) rc = dgcn_mpi_rank(&rank, &size);
    if (rc) return rc;
    if (rank != 0 || size - 1 != n_agents)
        return dgcn_error_set(DGCN_EINVAL,
                              "mpi: the coordinator must be rank 0 of M+1 ranks "
                              "(rank %d of %d, M = %d)",
                              rank, size, n_agents);
    rc = dgcn_mpi_hub_open(run_id, deadline_ms, h);
    if (rc == DGCN_OK && actual && cap) snprintf(actual, cap, "%s", address);
    return rc;
}

static int s_job_join(int *argc, char ***argv, int *rank, int *size) {
    int rc = dgcn_mpi_init(argc, argv);
    return rc ? rc : dgcn_mpi_rank(rank, size);
}

static int s_job_leave(void) { return dgcn_mpi_finalize(); }

static int s_name_address(const char *rundir, const char *tcp_host, char *out, size_t cap) {
    snprintf(out, cap, "mpi://");
    return DGCN_OK;
}

const dgcn__scheme dgcn__scheme_mpi = {
    .scheme = "mpi",
    .form = "mpi://",
    .kind = "mpi",
    .launcher = "job",
    .name_address = s_name_address,
    .open = s_scheme_open,
    .hub_open = s_scheme_hub_open,
    .job_join = s_job_join,
    .job_leave = s_job_leave,
};
