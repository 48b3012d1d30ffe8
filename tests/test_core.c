/* tests/test_core.c: the task pool and wait queues (core/task.h) and the task-local error detail
 * (core/error.h). */
#include "core/checksum.h"
#include "core/error.h"
#include "core/task.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct timespec s_after_ms(int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static double s_ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-6;
}

/* ---- a token ring of many tasks ---- */

#define RING_MAX 4000
typedef struct ring {
    pthread_mutex_t mu;
    dgcn_waitq q[RING_MAX]; /* task k waits in q[k]; with shared, every task waits in q[0] */
    int shared;
    int n, laps;
    long token;        /* incremented by task (token mod n) */
    int order_ok;      /* every task saw the token it expected */
    atomic_int done;   /* tasks that returned */
    atomic_int inside; /* tasks that saw dgcn_task_inside() == 1 */
    int who[RING_MAX]; /* task index of each arg */
    int timeouts;      /* waits that passed their deadline */
} ring;

typedef struct ring_arg {
    ring *r;
    int k;
} ring_arg;

static void s_ring_task(void *arg) {
    ring_arg *a = arg;
    ring *r = a->r;
    if (dgcn_task_inside()) atomic_fetch_add(&r->inside, 1);
    struct timespec dl = s_after_ms(60000);
    pthread_mutex_lock(&r->mu);
    for (int lap = 0; lap < r->laps; lap++) {
        long want = (long)lap * r->n + a->k;
        while (r->token != want) {
            if (r->token > want) r->order_ok = 0;
            if (dgcn_waitq_wait(&r->q[r->shared ? 0 : a->k], &r->mu, &dl) == ETIMEDOUT) {
                r->timeouts++;
                pthread_mutex_unlock(&r->mu);
                atomic_fetch_add(&r->done, 1);
                return;
            }
        }
        r->token++;
        dgcn_waitq_wake_all(&r->q[r->shared ? 0 : (a->k + 1) % r->n]);
    }
    pthread_mutex_unlock(&r->mu);
    atomic_fetch_add(&r->done, 1);
}

/* n tasks on 2 workers pass a token around a ring `laps` times: every task runs, in order, and the
 * pool returns once all have. With one shared queue each pass wakes every waiter, so a woken task
 * that finds its condition false must wait again; with a queue per task only the next one wakes. */
START_TEST(test_task_ring) {
    static const int sizes[][3] = {{1, 50, 1}, {7, 40, 1}, {300, 3, 1}, {RING_MAX, 5, 0}};
    int n = sizes[_i][0], laps = sizes[_i][1];
    static ring r;
    static ring_arg args[RING_MAX];
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.mu, NULL);
    for (int k = 0; k < n; k++) ck_assert_int_eq(dgcn_waitq_init(&r.q[k]), DGCN_OK);
    r.shared = sizes[_i][2];
    r.n = n;
    r.laps = laps;
    r.order_ok = 1;
    dgcn_tasks *p = NULL;
    ck_assert_msg(dgcn_tasks_new(2, 0, &p) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_eq(dgcn_tasks_workers(p), 2);
    for (int k = n - 1; k >= 0; k--) { /* spawned backwards: order comes from the waits alone */
        args[k] = (ring_arg){&r, k};
        ck_assert_msg(dgcn_tasks_spawn(p, s_ring_task, &args[k]) == DGCN_OK, "%s",
                      dgcn_error_msg());
    }
    dgcn_tasks_wait(p);
    ck_assert_int_eq(atomic_load(&r.done), n);
    ck_assert_int_eq(atomic_load(&r.inside), n);
    ck_assert_int_eq(r.timeouts, 0);
    ck_assert(r.order_ok);
    ck_assert_int_eq(r.token, (long)n * laps);
    ck_assert(!dgcn_task_inside());
    dgcn_tasks_destroy(&p);
    ck_assert_ptr_null(p);
    for (int k = 0; k < n; k++) dgcn_waitq_fini(&r.q[k]);
    pthread_mutex_destroy(&r.mu);
}
END_TEST

/* ---- deadlines ---- */

typedef struct sleeper {
    pthread_mutex_t mu;
    dgcn_waitq q;
    int wait_ms;
    int rc;
    double waited_ms;
    int woken; /* set by a waker */
} sleeper;

static void s_sleeper_task(void *arg) {
    sleeper *s = arg;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec dl = s_after_ms(s->wait_ms);
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    while (!s->woken && rc != ETIMEDOUT) rc = dgcn_waitq_wait(&s->q, &s->mu, &dl);
    s->rc = rc;
    pthread_mutex_unlock(&s->mu);
    s->waited_ms = s_ms_since(&t0);
}

static void s_busy_task(void *arg) { /* never waits: its worker is not idle while it runs */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile double x = 0;
    while (s_ms_since(&t0) < *(int *)arg) x += 1;
}

/* A task nobody wakes returns ETIMEDOUT, not before its deadline, on one worker that is idle and
 * on one that is busy with another task (the worker checks deadlines between tasks); one that is
 * woken returns 0. */
START_TEST(test_task_deadline) {
    static sleeper s[3];
    for (int i = 0; i < 3; i++) {
        memset(&s[i], 0, sizeof s[i]);
        pthread_mutex_init(&s[i].mu, NULL);
        ck_assert_int_eq(dgcn_waitq_init(&s[i].q), DGCN_OK);
        s[i].wait_ms = i == 2 ? 20000 : 150;
    }
    static int busy_ms = 400;
    dgcn_tasks *p = NULL;
    ck_assert_int_eq(dgcn_tasks_new(1, 0, &p), DGCN_OK);
    ck_assert_int_eq(dgcn_tasks_spawn(p, s_sleeper_task, &s[0]), DGCN_OK); /* idle worker */
    ck_assert_int_eq(dgcn_tasks_spawn(p, s_sleeper_task, &s[2]), DGCN_OK); /* woken below */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (s_ms_since(&t0) < 50) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&s[2].mu); /* a plain thread wakes a task */
    s[2].woken = 1;
    dgcn_waitq_wake_all(&s[2].q);
    pthread_mutex_unlock(&s[2].mu);
    ck_assert_int_eq(dgcn_tasks_spawn(p, s_sleeper_task, &s[1]), DGCN_OK);
    ck_assert_int_eq(dgcn_tasks_spawn(p, s_busy_task, &busy_ms), DGCN_OK); /* busy worker */
    dgcn_tasks_wait(p);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(s[i].rc == ETIMEDOUT, "sleeper %d: rc %d", i, s[i].rc);
        ck_assert_msg(s[i].waited_ms >= 149, "sleeper %d returned after %.1f ms", i,
                      s[i].waited_ms);
    }
    ck_assert_msg(s[2].rc == 0 && s[2].waited_ms < 15000, "woken sleeper: rc %d after %.1f ms",
                  s[2].rc, s[2].waited_ms);
    dgcn_tasks_destroy(&p);
    for (int i = 0; i < 3; i++) {
        dgcn_waitq_fini(&s[i].q);
        pthread_mutex_destroy(&s[i].mu);
    }
}
END_TEST

/* ---- the error detail travels with the task ---- */

typedef struct errs {
    pthread_mutex_t mu;
    dgcn_waitq q;
    int phase; /* 0: A sets its detail and waits; 1: B sets its own, A resumes */
    char seen_a[DGCN_ERROR_MSG_MAX], seen_b[DGCN_ERROR_MSG_MAX];
} errs;

static void s_err_a(void *arg) {
    errs *e = arg;
    dgcn_error_set(DGCN_EINVAL, "detail of task A");
    struct timespec dl = s_after_ms(20000);
    pthread_mutex_lock(&e->mu);
    while (e->phase == 0 && dgcn_waitq_wait(&e->q, &e->mu, &dl) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&e->mu);
    snprintf(e->seen_a, sizeof e->seen_a, "%s", dgcn_error_msg());
}

static void s_err_b(void *arg) {
    errs *e = arg;
    dgcn_error_set(DGCN_EIO, "detail of task B");
    pthread_mutex_lock(&e->mu);
    e->phase = 1;
    dgcn_waitq_wake_all(&e->q);
    pthread_mutex_unlock(&e->mu);
    snprintf(e->seen_b, sizeof e->seen_b, "%s", dgcn_error_msg());
}

/* Two tasks on one worker thread set their details in turn: each reads back its own, and the
 * calling thread's detail is untouched. */
START_TEST(test_task_error_detail) {
    static errs e;
    memset(&e, 0, sizeof e);
    pthread_mutex_init(&e.mu, NULL);
    ck_assert_int_eq(dgcn_waitq_init(&e.q), DGCN_OK);
    dgcn_error_set(DGCN_EINVAL, "detail of the main thread");
    dgcn_tasks *p = NULL;
    ck_assert_int_eq(dgcn_tasks_new(1, 0, &p), DGCN_OK);
    ck_assert_int_eq(dgcn_tasks_spawn(p, s_err_a, &e), DGCN_OK);
    ck_assert_int_eq(dgcn_tasks_spawn(p, s_err_b, &e), DGCN_OK);
    dgcn_tasks_wait(p);
    dgcn_tasks_destroy(&p);
    ck_assert_str_eq(e.seen_a, "detail of task A");
    ck_assert_str_eq(e.seen_b, "detail of task B");
    ck_assert_str_eq(dgcn_error_msg(), "detail of the main thread");
    dgcn_waitq_fini(&e.q);
    pthread_mutex_destroy(&e.mu);
}
END_TEST

/* A plain thread waiting on a queue is woken by a task, and times out on its own. */
typedef struct thread_wait {
    pthread_mutex_t mu;
    dgcn_waitq q;
    int flag;
} thread_wait;

static void s_set_flag(void *arg) {
    thread_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->flag = 1;
    dgcn_waitq_wake_all(&w->q);
    pthread_mutex_unlock(&w->mu);
}

START_TEST(test_thread_waits) {
    static thread_wait w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    ck_assert_int_eq(dgcn_waitq_init(&w.q), DGCN_OK);
    struct timespec dl = s_after_ms(100);
    pthread_mutex_lock(&w.mu);
    ck_assert_int_eq(dgcn_waitq_wait(&w.q, &w.mu, &dl), ETIMEDOUT);
    pthread_mutex_unlock(&w.mu);
    dgcn_tasks *p = NULL;
    ck_assert_int_eq(dgcn_tasks_new(0, 0, &p), DGCN_OK);
    ck_assert_int_ge(dgcn_tasks_workers(p), 1);
    dl = s_after_ms(20000);
    pthread_mutex_lock(&w.mu);
    ck_assert_int_eq(dgcn_tasks_spawn(p, s_set_flag, &w), DGCN_OK);
    int rc = 0;
    while (!w.flag && rc != ETIMEDOUT) rc = dgcn_waitq_wait(&w.q, &w.mu, &dl);
    pthread_mutex_unlock(&w.mu);
    ck_assert_int_eq(w.flag, 1);
    dgcn_tasks_destroy(&p);
    dgcn_waitq_fini(&w.q);
    pthread_mutex_destroy(&w.mu);
}
END_TEST

/* core/checksum.h: a sealed file reads back its payload and plan id; every one of its bits
 * flipped in turn (header, payload, checksum) is refused naming the file; a file of another kind,
 * a bare payload (no header: it predates checksums) and a header whose length disagrees with the
 * file's size are refused with their own messages. */
START_TEST(test_seal_every_bit) {
    char path[64] = "/tmp/dgcn-seal-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    const char payload[] = "twenty-four bytes of it!";
    const size_t n = sizeof payload - 1, total = DGCN_SEAL_HEADER + n + DGCN_SEAL_TRAILER;
    FILE *f = fopen(path, "wb");
    ck_assert_int_eq(dgcn_seal_write(f, path, "state", UINT64_C(0xfeedbeef), payload, n), DGCN_OK);
    fclose(f);
    unsigned char good[128];
    f = fopen(path, "rb");
    ck_assert_uint_eq(fread(good, 1, sizeof good, f), total);
    fclose(f);
    void *got = NULL;
    int64_t len = 0;
    uint64_t plan = 0;
    ck_assert_int_eq(dgcn_seal_read(path, "state", 1 << 20, &plan, &got, &len), DGCN_OK);
    ck_assert(len == (int64_t)n && !memcmp(got, payload, n) && plan == UINT64_C(0xfeedbeef));
    free(got);
    ck_assert_int_eq(dgcn_seal_read(path, "model", 1 << 20, &plan, &got, &len), DGCN_EFORMAT);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "not a model file"));
    for (size_t bit = 0; bit < 8 * total; bit++) {
        good[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        f = fopen(path, "wb");
        ck_assert_uint_eq(fwrite(good, 1, total, f), total);
        fclose(f);
        good[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        got = NULL;
        int rc = dgcn_seal_read(path, "state", 1 << 20, &plan, &got, &len);
        ck_assert_msg(rc == DGCN_EFORMAT && got == NULL && strstr(dgcn_error_msg(), path),
                      "bit %zu of %zu flipped: rc %d, '%s'", bit, 8 * total, rc, dgcn_error_msg());
    }
    f = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(payload, 1, n, f), n);
    fclose(f);
    ck_assert_int_eq(dgcn_seal_read(path, "state", 1 << 20, &plan, &got, &len), DGCN_EFORMAT);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "written before dgcn checksummed its files"));
    f = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(good, 1, total - 5, f), total - 5);
    fclose(f);
    ck_assert_int_eq(dgcn_seal_read(path, "state", 1 << 20, &plan, &got, &len), DGCN_EFORMAT);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "truncated or corrupted"));
    unlink(path);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"task_ring", test_task_ring, 4, 120},
        {"task_deadline", test_task_deadline, 0, 60},
        {"task_error_detail", test_task_error_detail, 0, 30},
        {"thread_waits", test_thread_waits, 0, 30},
        {"seal_every_bit", test_seal_every_bit, 0, 30},
    };
    return DGCN_TEST_SUITE("core", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
