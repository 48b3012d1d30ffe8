/* tests/mpi_conformance.c: the transport conformance pattern over MPI. Run under mpirun with 5
 * ranks: rank 0 is the coordinator, ranks 1..4 are agents 0..3. Each phase opens fresh endpoints,
 * but a message that a failing phase leaves unreceived can still reach the same ranks in a later
 * phase (Open MPI reuses communicator ids). Exits non-zero on any failure; every wait is bounded,
 * set-up included (the last phase leaves one rank out of it). */
#include "comm/hub.h"
#include "comm/mpi_transport.h"
#include "comm/transport.h"
#include "core/error.h"
#include "core/timer.h"
#include "tests/comm_pattern.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define M 4
#define DEADLINE 5000

static int s_fails;
static int s_rank;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            s_fails++;                                                                             \
            fprintf(stderr, "rank %d: FAIL %s:%d: ", s_rank, __FILE__, __LINE__);                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

/* Opens this rank's endpoint for one phase; agents get a ring (0) or complete graph (1). Set-up
 * is bounded by DEADLINE (ranks reach a phase at different times: the previous one may have kept
 * some waiting), everything after by deadline. */
static void s_open(int topo, int deadline, dgcn_hub **h, dgcn_transport **t) {
    *h = NULL;
    *t = NULL;
    if (s_rank == 0) {
        int rc = dgcn_mpi_hub_open(0xabcdef12345ULL, DEADLINE, h);
        CHECK(rc == DGCN_OK, "hub open: %s", dgcn_error_msg());
        if (*h) (*h)->deadline_ms = deadline;
        return;
    }
    int rc = dgcn_mpi_open(DEADLINE, t);
    CHECK(rc == DGCN_OK, "open: %s", dgcn_error_msg());
    if (rc) return;
    CHECK((*t)->run_id == 0xabcdef12345ULL, "run id not broadcast");
    CHECK((*t)->self == s_rank - 1 && (*t)->n_agents == M, "agent %d of %d", (*t)->self,
          (*t)->n_agents);
    int32_t nb[TP_MAXN];
    int n = tp_neighbors(topo, M, (*t)->self, nb);
    rc = dgcn_mpi_set_neighbors(*t, nb, n);
    CHECK(rc == DGCN_OK, "set neighbours: %s", dgcn_error_msg());
    (*t)->deadline_ms = deadline;
}

static void s_pattern(dgcn_transport *t, int64_t iters, int zero_len, int check_counters) {
    tp_result r;
    tp_run(t, iters, zero_len, &r);
    CHECK(r.fails == 0, "agent %d: %d failures (%s)", t->self, r.fails, r.msg);
    if (!check_counters) return;
    for (int ch = 0; ch < DGCN_CH_COUNT; ch++) {
        CHECK(t->traffic.bytes[ch] == r.expect.bytes[ch], "bytes[%d]", ch);
        CHECK(t->traffic.messages[ch] == r.expect.messages[ch], "messages[%d]", ch);
        for (int i = 0; i < t->n_neighbors; i++)
            CHECK(t->per_link[i].bytes[ch] == r.expect_link[i].bytes[ch], "link %d bytes[%d]", i,
                  ch);
    }
}

static void s_phase_exact(int topo) {
    dgcn_hub *h;
    dgcn_transport *t;
    s_open(topo, DEADLINE, &h, &t);
    if (t) {
        s_pattern(t, 50, 0, 1);
        s_pattern(t, 3, TP_ZERO_LEN, 0);
        s_pattern(t, 40, TP_SKIP, 0); /* links left out of exchanges (dgcn_exchange.skip) */
    }
    dgcn_hub_close(&h);
    dgcn_transport_close(&t);
}

static void s_phase_hub(void) {
    dgcn_hub *h;
    dgcn_transport *t;
    s_open(0, 400, &h, &t);
    char buf[64];
    if (s_rank == 0 && h) {
        int seen[M] = {0};
        for (int r = 0; r < M - 1; r++) { /* agent 3 stays silent */
            int32_t a = -1;
            void *b = NULL;
            size_t len = 0;
            int rc = dgcn_hub_recv_any(h, &a, &b, &len, -1);
            CHECK(rc == DGCN_OK, "hub recv: %s", dgcn_error_msg());
            if (rc) continue;
            snprintf(buf, sizeof buf, "hello from %d", a);
            CHECK(a >= 0 && a < M && len == strlen(buf) + 1 && memcmp(b, buf, len) == 0,
                  "hub got %zu bytes from %d", len, a);
            if (a >= 0 && a < M) seen[a]++;
            free(b);
        }
        CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1, "each agent once");
        int32_t a = -1;
        void *b = NULL;
        size_t len = 0;
        double t0 = dgcn_now_ms();
        int rc = dgcn_hub_recv_any(h, &a, &b, &len, 300);
        double el = dgcn_now_ms() - t0;
        CHECK(rc == DGCN_ETIMEDOUT && el >= 295 && el < 1500, "hub timeout %d after %.0f ms", rc,
              el);
        CHECK(strstr(dgcn_error_msg(), "never heard: 3;"), "%s", dgcn_error_msg());
        for (int k = 0; k < M; k++) {
            snprintf(buf, sizeof buf, "to agent %d", k);
            rc = dgcn_hub_send(h, k, buf, strlen(buf) + 1);
            CHECK(rc == DGCN_OK, "hub send: %s", dgcn_error_msg());
        }
    } else if (t) {
        if (t->self != 3) {
            snprintf(buf, sizeof buf, "hello from %d", t->self);
            int rc = dgcn_transport_send_coord(t, buf, strlen(buf) + 1);
            CHECK(rc == DGCN_OK, "send_coord: %s", dgcn_error_msg());
        }
        void *b = NULL;
        size_t len = 0;
        int rc = dgcn_transport_recv_coord(t, &b, &len, 3000);
        CHECK(rc == DGCN_OK, "recv_coord: %s", dgcn_error_msg());
        snprintf(buf, sizeof buf, "to agent %d", t->self);
        CHECK(rc || (len == strlen(buf) + 1 && memcmp(b, buf, len) == 0), "coordinator message");
        free(b);
        double t0 = dgcn_now_ms();
        rc = dgcn_transport_recv_coord(t, &b, &len, 200);
        double el = dgcn_now_ms() - t0;
        CHECK(rc == DGCN_ETIMEDOUT && el >= 195 && el < 1500, "agent timeout %d after %.0f ms", rc,
              el);
    }
    dgcn_hub_close(&h);
    dgcn_transport_close(&t);
}

/* Agent 1 misbehaves (foreign run id or one float too many); its neighbours 0 and 2 must reject. */
static void s_phase_bad(int foreign) {
    dgcn_hub *h;
    dgcn_transport *t;
    s_open(0, 600, &h, &t);
    if (t) {
        float s[TP_MAXN][4], r[TP_MAXN][5];
        const float *sp[TP_MAXN];
        float *rp[TP_MAXN];
        int32_t sl[TP_MAXN], rl[TP_MAXN];
        for (int i = 0; i < t->n_neighbors; i++) {
            for (int j = 0; j < 4; j++) s[i][j] = (float)(t->self * 10 + j);
            for (int j = 0; j < 5; j++) r[i][j] = -3;
            sp[i] = s[i];
            rp[i] = r[i];
            sl[i] = (t->self == 1 && !foreign) ? 5 : 4;
            if (sl[i] == 5) sp[i] = r[i]; /* 5 floats of anything */
            rl[i] = 4;
        }
        uint64_t keep = t->run_id;
        if (t->self == 1 && foreign) t->run_id ^= 0x100;
        dgcn_exchange x = {DGCN_CH_HALO_FWD, 11, 1, sp, sl, rp, rl, 0, NULL, NULL};
        int rc = dgcn_transport_exchange(t, &x);
        t->run_id = keep;
        if (t->self == 0 || t->self == 2) {
            CHECK(rc == DGCN_EPROTO, "agent %d: expected a protocol error, got %s (%s)", t->self,
                  dgcn_strerror(rc), dgcn_error_msg());
            CHECK(strstr(dgcn_error_msg(), foreign ? "foreign run" : "more than the 4 floats"),
                  "%s", dgcn_error_msg());
            /* in the ring, agent 1 is the first neighbour of agents 0 and 2 */
            for (int j = 0; j < 4; j++) CHECK(r[0][j] == -3, "bad data mixed in");
        }
    }
    dgcn_hub_close(&h);
    dgcn_transport_close(&t);
}

/* Agent 1 of the ring writes sender 3 into its headers (3 is also a neighbour of 0 and 2). The MPI
 * source decides who sent a message, so 0 and 2 reject it naming both and fill no buffer with it.
 * Agent 3 stays silent: a message of its that 0 or 2 had not received when they fail would stay
 * queued and reach their endpoints of a later phase (Open MPI reuses communicator ids). */
static void s_phase_impersonate(void) {
    dgcn_hub *h;
    dgcn_transport *t;
    s_open(0, 600, &h, &t);
    if (t && t->self != 3) {
        float s[TP_MAXN][4], r[TP_MAXN][4];
        const float *sp[TP_MAXN];
        float *rp[TP_MAXN];
        int32_t len[TP_MAXN];
        for (int i = 0; i < t->n_neighbors; i++) {
            for (int j = 0; j < 4; j++) s[i][j] = (float)(t->self * 10 + j);
            for (int j = 0; j < 4; j++) r[i][j] = -3;
            sp[i] = s[i];
            rp[i] = r[i];
            len[i] = 4;
        }
        int32_t keep = t->self;
        if (t->self == 1) t->self = 3;
        dgcn_exchange x = {DGCN_CH_PARAMS, 12, 0, sp, len, rp, len, 0, NULL, NULL};
        int rc = dgcn_transport_exchange(t, &x);
        t->self = keep;
        if (t->self == 0 || t->self == 2) {
            CHECK(rc == DGCN_EPROTO, "agent %d: expected a protocol error, got %s (%s)", t->self,
                  dgcn_strerror(rc), dgcn_error_msg());
            CHECK(strstr(dgcn_error_msg(), "neighbour 1 claims sender 3"), "%s", dgcn_error_msg());
            /* neighbours are {1, 3}: neither buffer is touched */
            for (int j = 0; j < 4; j++)
                CHECK(r[0][j] == -3 && r[1][j] == -3, "agent %d: forged data mixed in", t->self);
        }
    }
    dgcn_hub_close(&h);
    dgcn_transport_close(&t);
}

/* Agent 0 exchanges; nobody answers. */
static void s_phase_timeout(void) {
    dgcn_hub *h;
    dgcn_transport *t;
    s_open(0, 300, &h, &t);
    if (t && t->self == 0) {
        float s[4] = {1, 2, 3, 4}, r0[4], r1[4];
        const float *sp[2] = {s, s};
        float *rp[2] = {r0, r1};
        int32_t len[2] = {4, 4};
        dgcn_exchange x = {DGCN_CH_PARAMS, 42, 0, sp, len, rp, len, 0, NULL, NULL};
        double t0 = dgcn_now_ms();
        int rc = dgcn_transport_exchange(t, &x);
        double el = dgcn_now_ms() - t0;
        CHECK(rc == DGCN_ETIMEDOUT && el >= 295 && el < 1500, "timeout %s after %.0f ms",
              dgcn_strerror(rc), el);
        const char *m = dgcn_error_msg();
        CHECK(strstr(m, "neighbour(s) 1, 3 ") && strstr(m, "iteration 42") &&
                  strstr(m, "layer 0") && strstr(m, "params"),
              "%s", m);
    }
    dgcn_hub_close(&h);
    dgcn_transport_close(&t);
}

/* Agent 3 never arrives at set-up: the others' dgcn_mpi_set_neighbors must end with a timeout
 * naming the collective within the deadline instead of blocking in MPI_Dist_graph_create_adjacent.
 * Then agent 3 arrives late (told so through the coordinator once the others have failed) and
 * completes the barrier they abandoned, and one more barrier shows the job is whole again, so it
 * ends with MPI_Finalize on every rank. Runs last. */
static void s_phase_missing_rank(void) {
    const int deadline = 1500, relay = 60000;
    if (s_rank == 0) {
        dgcn_hub *h = NULL;
        int rc = dgcn_mpi_hub_open(0xabcdef12345ULL, relay, &h);
        CHECK(rc == DGCN_OK, "hub open: %s", dgcn_error_msg());
        if (rc) return;
        for (int k = 0; k < M - 1; k++) {
            int32_t a = -1;
            void *buf = NULL;
            size_t len = 0;
            rc = dgcn_hub_recv_any(h, &a, &buf, &len, -1);
            CHECK(rc == DGCN_OK && a >= 0 && a < M - 1, "relay: %s", dgcn_error_msg());
            free(buf);
        }
        rc = dgcn_hub_send(h, M - 1, "go", 2);
        CHECK(rc == DGCN_OK, "relay to agent %d: %s", M - 1, dgcn_error_msg());
        dgcn_hub_close(&h);
        return;
    }
    dgcn_transport *t = NULL;
    int rc = dgcn_mpi_open(relay, &t); /* every rank opens: bounded generously */
    CHECK(rc == DGCN_OK, "open: %s", dgcn_error_msg());
    if (rc) return;
    t->deadline_ms = deadline;
    if (t->self < M - 1) {
        int32_t nb[TP_MAXN];
        int n = tp_neighbors(1, M, t->self, nb);
        double t0 = dgcn_now_ms();
        rc = dgcn_mpi_set_neighbors(t, nb, n);
        double el = dgcn_now_ms() - t0;
        CHECK(rc == DGCN_ETIMEDOUT && el >= deadline - 5 && el < deadline + 10000,
              "agent %d: set-up without agent %d: %s after %.0f ms (%s)", t->self, M - 1,
              dgcn_strerror(rc), el, dgcn_error_msg());
        CHECK(strstr(dgcn_error_msg(), "MPI_Dist_graph_create_adjacent") &&
                  strstr(dgcn_error_msg(), "not all 4 ranks"),
              "agent %d: %s", t->self, dgcn_error_msg());
        rc = dgcn_transport_send_coord(t, "timed out", 9);
        CHECK(rc == DGCN_OK, "agent %d: %s", t->self, dgcn_error_msg());
    } else {
        void *buf = NULL;
        size_t len = 0;
        rc = dgcn_transport_recv_coord(t, &buf, &len, relay);
        CHECK(rc == DGCN_OK, "agent %d: no word from the coordinator: %s", t->self,
              dgcn_error_msg());
        free(buf);
        t->deadline_ms = relay;
        rc = dgcn_mpi_agent_barrier(t); /* the gate the others abandoned */
        CHECK(rc == DGCN_OK, "agent %d: late arrival: %s", t->self, dgcn_error_msg());
    }
    t->deadline_ms = relay;
    rc = dgcn_mpi_agent_barrier(t);
    CHECK(rc == DGCN_OK, "agent %d: the job is not whole again: %s", t->self, dgcn_error_msg());
    dgcn_transport_close(&t);
}

/* ---- a rank stopped (DGCN_TEST_STOP=before-init:R, before-gate:R, after-gate:R or
 * before-finalize:R) ---- */

static int s_stop_rank = -1;
static int s_stop_ticks = 100; /* how long a stopped rank lives, in 100 ms ticks */

/* Stops this process (SIGSTOP). A child it leaves behind kills it after s_stop_ticks, should
 * nobody else (the job's abort) have ended it by then, and ends itself when this process is
 * gone. */
static void s_stop_self(void) {
    pid_t me = getpid();
    pid_t c = fork();
    if (c == 0) {
        for (int fd = 0; fd < 3; fd++) close(fd);
        for (int k = 0; k < s_stop_ticks && getppid() == me; k++)
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
        if (getppid() == me) kill(me, SIGKILL);
        _exit(0);
    }
    fprintf(stderr, "rank %d: stopping itself (SIGSTOP)\n", s_stop_rank);
    raise(SIGSTOP);
}

static void s_after_gate(int rank) {
    if (rank == s_stop_rank) s_stop_self();
}

/* The ranks other than the stopped one open their endpoints: the job must never get past it.
 * Stopped past the gate, the watchdog aborts the job (exit status DGCN_MPI_WATCHDOG_STATUS);
 * stopped before it, the gate times out and rank 0 names the stopped rank. */
static int s_stopped_job(int before_gate) {
    if (before_gate) dgcn__mpi_before_gate = s_after_gate;
    else dgcn__mpi_after_gate = s_after_gate;
    dgcn_hub *h = NULL;
    dgcn_transport *t = NULL;
    int rc = s_rank == 0 ? dgcn_mpi_hub_open(0xabcdef12345ULL, 3000, &h) : dgcn_mpi_open(3000, &t);
    if (rc) fprintf(stderr, "rank %d: %s\n", s_rank, dgcn_error_msg());
    else fprintf(stderr, "rank %d: FAIL: start-up went on without rank %d\n", s_rank, s_stop_rank);
    dgcn_hub_close(&h);
    dgcn_transport_close(&t);
    dgcn_mpi_finalize();
    return 1;
}

int main(int argc, char **argv) {
    const char *stop = getenv("DGCN_TEST_STOP");
    int stop_before_init = 0;
    if (stop && *stop) {
        const char *colon = strchr(stop, ':');
        s_stop_rank = colon ? atoi(colon + 1) : -1;
        stop_before_init = !strncmp(stop, "before-init:", 12);
        const char *r = getenv("OMPI_COMM_WORLD_RANK");
        if (stop_before_init && r && atoi(r) == s_stop_rank) s_stop_self();
    }
    if (dgcn_mpi_init(&argc, &argv) != DGCN_OK) {
        fprintf(stderr, "%s\n", dgcn_error_msg());
        return 1;
    }
    int size = 0;
    dgcn_mpi_rank(&s_rank, &size);
    if (size != M + 1) {
        if (s_rank == 0) fprintf(stderr, "run with %d ranks (got %d)\n", M + 1, size);
        dgcn_mpi_finalize();
        return 1;
    }
    if (s_stop_rank >= 0 && !strncmp(stop, "before-finalize:", 16)) {
        /* the others' MPI_Finalize waits for the stopped rank: the coordinator's watchdog ends
         * the job (its deadline, DGCN_MPI_INIT_DEADLINE_MS, is shorter than the 20 s the stopped
         * rank lives) */
        s_stop_ticks = 200;
        if (s_rank == s_stop_rank) s_stop_self();
        dgcn_mpi_finalize();
        fprintf(stderr, "rank %d: FAIL: MPI_Finalize completed without rank %d\n", s_rank,
                s_stop_rank);
        return 1;
    }
    if (s_stop_rank >= 0) return s_stopped_job(!strncmp(stop, "before-gate:", 12));
    s_phase_exact(0);
    s_phase_exact(1);
    s_phase_hub();
    s_phase_bad(1);
    s_phase_bad(0);
    s_phase_impersonate();
    s_phase_timeout();
    s_phase_missing_rank();
    dgcn_mpi_finalize();
    if (s_rank == 0 || s_fails)
        printf("rank %d: %s (%d failures)\n", s_rank, s_fails ? "FAIL" : "ok", s_fails);
    return s_fails ? 1 : 0;
}
