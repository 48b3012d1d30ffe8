/* core/task.c: a worker pool that runs tasks as coroutines (ucontext), with wait queues.
 *
 * Locks, outermost first: a wait queue's mutex (the caller's), a task's tmu, the pool's rq_mu. A
 * task that waits is appended to the queue under the caller's mutex and switches to its worker,
 * which releases that mutex only once the task's context is saved, so a waker (who needs the
 * mutex) never readies a task that is still running. A worker's deadline scan holds tmu and only
 * tries the queue's mutex, so it never waits against that order. */
#define _GNU_SOURCE
#include "core/task.h"

#include "core/error.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define S_ASAN 1
#define S_STACK_DEFAULT ((size_t)1 << 20)
#else
#define S_ASAN 0
#define S_STACK_DEFAULT ((size_t)256 << 10)
#endif

#define S_SCAN_NS 10000000L /* deadline scan period of a busy worker, ns */

enum { S_READY = 0, S_WAITING = 1, S_DONE = 2 };

typedef struct s_worker s_worker;

struct dgcn_task {
    s_worker *w;     /* its home worker: lists it for deadline scans */
    s_worker *run_w; /* the worker running it now (any worker may) */
    void (*fn)(void *);
    void *arg;
    ucontext_t ctx;
    unsigned char *map; /* the stack mapping, guard page first */
    size_t map_bytes;
    pthread_mutex_t tmu; /* guards state, wq, wmu, deadline, timed_out */
    atomic_int state;
    dgcn_waitq *wq;       /* the queue it waits in (S_WAITING) */
    pthread_mutex_t *wmu; /* that queue's mutex */
    struct timespec deadline;
    int timed_out;
    dgcn_task *qprev, *qnext; /* in wq */
    dgcn_task *rnext;         /* in the pool's ready queue */
    dgcn_task *next_mine;     /* in its worker's list of tasks */
    pthread_mutex_t *release; /* unlocked by the worker once the task has switched out */
    void *fake_stack;         /* AddressSanitizer's bookkeeping of the task's stack */
    char err[DGCN_ERROR_MSG_MAX];
};

struct s_worker {
    dgcn_tasks *pool;
    pthread_t tid;
    int started;
    pthread_mutex_t mu;  /* guards incoming */
    dgcn_task *incoming; /* spawned, not yet in mine */
    dgcn_task *mine;     /* every task at home here (the worker's thread only) */
    ucontext_t sched;
    void *fake_stack;
    const void *stack_bottom; /* the worker thread's stack, for AddressSanitizer */
    size_t stack_size;
    struct timespec last_scan;
};

struct dgcn_tasks {
    int n_workers;
    s_worker *workers;
    size_t stack_bytes;
    pthread_mutex_t mu; /* guards spawned, finished, next */
    pthread_cond_t cv;
    long spawned, finished;
    long next;
    pthread_mutex_t rq_mu; /* guards the ready queue and stop */
    pthread_cond_t rq_cv;
    dgcn_task *rq_head, *rq_tail;
    int stop;
};

static _Thread_local dgcn_task *s_self; /* the task this thread runs, or NULL */

static struct timespec s_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

static int s_le(const struct timespec *a, const struct timespec *b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

static long s_ns_between(const struct timespec *a, const struct timespec *b) {
    return (long)(b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

static int s_cond_init(pthread_cond_t *cv) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int e = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return e;
}

/* ---- switching ---- */

/* From the worker's scheduler into task t (the worker's thread). */
static void s_enter(s_worker *w, dgcn_task *t) {
    s_self = t;
    t->run_w = w;
    char *old = dgcn_error_switch(t->err);
#if S_ASAN
    __sanitizer_start_switch_fiber(&w->fake_stack, t->map + getpagesize(),
                                   t->map_bytes - (size_t)getpagesize());
#endif
    swapcontext(&w->sched, &t->ctx);
#if S_ASAN
    __sanitizer_finish_switch_fiber(w->fake_stack, NULL, NULL);
#endif
    dgcn_error_switch(old);
    s_self = NULL;
}

/* From task t back to its worker's scheduler; returns when the worker runs t again. */
static void s_leave(dgcn_task *t, int final) {
    s_worker *w = t->run_w;
#if S_ASAN
    __sanitizer_start_switch_fiber(final ? NULL : &t->fake_stack, w->stack_bottom, w->stack_size);
#else
    (void) final;
#endif
    swapcontext(&t->ctx, &w->sched);
    w = t->run_w; /* resumed, perhaps by another worker */
#if S_ASAN
    __sanitizer_finish_switch_fiber(t->fake_stack, &w->stack_bottom, &w->stack_size);
#else
    (void)w;
#endif
}

static void s_trampoline(void) {
    dgcn_task *t = s_self;
#if S_ASAN
    __sanitizer_finish_switch_fiber(NULL, &t->run_w->stack_bottom, &t->run_w->stack_size);
#endif
    t->fn(t->arg);
    atomic_store(&t->state, S_DONE);
    s_leave(t, 1);
    abort(); /* a finished task is never resumed */
}

/* ---- the ready queue (one per pool: an idle worker takes any ready task) ---- */

static void s_push_ready(dgcn_task *t) {
    dgcn_tasks *p = t->w->pool;
    t->rnext = NULL;
    pthread_mutex_lock(&p->rq_mu);
    if (p->rq_tail) p->rq_tail->rnext = t;
    else p->rq_head = t;
    p->rq_tail = t;
    pthread_cond_signal(&p->rq_cv);
    pthread_mutex_unlock(&p->rq_mu);
}

/* Under p->rq_mu. */
static dgcn_task *s_pop_ready(dgcn_tasks *p) {
    dgcn_task *t = p->rq_head;
    if (t) {
        p->rq_head = t->rnext;
        if (!p->rq_head) p->rq_tail = NULL;
    }
    return t;
}

/* Under the queue's mutex. */
static void s_unlink(dgcn_waitq *q, dgcn_task *t) {
    if (t->qprev) t->qprev->qnext = t->qnext;
    else q->head = t->qnext;
    if (t->qnext) t->qnext->qprev = t->qprev;
    else q->tail = t->qprev;
    t->qprev = t->qnext = NULL;
}

/* Readies the worker's tasks whose deadlines have passed (worker thread, no lock held). */
static void s_scan(s_worker *w) {
    pthread_mutex_lock(&w->mu);
    while (w->incoming) { /* adopt the tasks spawned since the last scan */
        dgcn_task *t = w->incoming;
        w->incoming = t->next_mine;
        t->next_mine = w->mine;
        w->mine = t;
    }
    pthread_mutex_unlock(&w->mu);
    struct timespec now = s_now();
    w->last_scan = now;
    for (dgcn_task *t = w->mine; t; t = t->next_mine) {
        if (atomic_load_explicit(&t->state, memory_order_relaxed) != S_WAITING) continue;
        int fire = 0;
        pthread_mutex_lock(&t->tmu);
        if (atomic_load(&t->state) == S_WAITING && s_le(&t->deadline, &now) &&
            pthread_mutex_trylock(t->wmu) == 0) {
            s_unlink(t->wq, t);
            pthread_mutex_unlock(t->wmu);
            t->wq = NULL;
            t->wmu = NULL;
            t->timed_out = 1;
            atomic_store(&t->state, S_READY);
            fire = 1;
        }
        pthread_mutex_unlock(&t->tmu);
        if (fire) s_push_ready(t);
    }
}

static void s_free_stack(dgcn_task *t) {
    if (t->map) munmap(t->map, t->map_bytes);
    t->map = NULL;
}

static void *s_worker_main(void *arg) {
    s_worker *w = arg;
    dgcn_tasks *p = w->pool;
    w->last_scan = s_now();
    for (;;) {
        pthread_mutex_lock(&p->rq_mu);
        dgcn_task *t = s_pop_ready(p);
        if (!t) {
            if (p->stop) {
                pthread_mutex_unlock(&p->rq_mu);
                break;
            }
            struct timespec until = s_now();
            until.tv_nsec += S_SCAN_NS;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->rq_cv, &p->rq_mu, &until);
            pthread_mutex_unlock(&p->rq_mu);
            s_scan(w);
            continue;
        }
        pthread_mutex_unlock(&p->rq_mu);
        s_enter(w, t);
        if (t->release) { /* it waits: once its mutex is free, anyone may ready it again */
            pthread_mutex_t *mu = t->release;
            t->release = NULL;
            pthread_mutex_unlock(mu);
        } else if (atomic_load(&t->state) == S_DONE) {
            s_free_stack(t);
            pthread_mutex_lock(&p->mu);
            p->finished++;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
        }
        struct timespec now = s_now();
        if (s_ns_between(&w->last_scan, &now) >= S_SCAN_NS) s_scan(w);
    }
    return NULL;
}

/* ---- the pool ---- */

int dgcn_tasks_new(int workers, size_t stack_bytes, dgcn_tasks **out) {
    int rc = DGCN_OK;
    dgcn_tasks *p = NULL;
    *out = NULL;
    if (workers <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        workers = n > 0 ? (int)n : 1;
    }
    if (workers > 1024)
        return dgcn_error_set(DGCN_EINVAL, "task pool: %d workers (at most 1024)", workers);
    size_t page = (size_t)getpagesize();
    if (!stack_bytes) stack_bytes = S_STACK_DEFAULT;
    stack_bytes = (stack_bytes + page - 1) / page * page;
    DGCN_ALLOC(p, 1);
    p->stack_bytes = stack_bytes;
    pthread_mutex_init(&p->mu, NULL);
    s_cond_init(&p->cv);
    pthread_mutex_init(&p->rq_mu, NULL);
    s_cond_init(&p->rq_cv);
    DGCN_ALLOC(p->workers, workers);
    for (int i = 0; i < workers; i++) {
        s_worker *w = &p->workers[i];
        w->pool = p;
        pthread_mutex_init(&w->mu, NULL);
        p->n_workers = i + 1;
        if (pthread_create(&w->tid, NULL, s_worker_main, w) != 0) {
            rc = dgcn_error_set(DGCN_ENOMEM, "task pool: cannot start worker %d of %d", i, workers);
            goto fail;
        }
        w->started = 1;
    }
    *out = p;
    return DGCN_OK;
fail:
    dgcn_tasks_destroy(&p);
    return rc;
}

int dgcn_tasks_workers(const dgcn_tasks *p) { return p->n_workers; }

int dgcn_tasks_spawn(dgcn_tasks *p, void (*fn)(void *arg), void *arg) {
    int rc = DGCN_OK;
    dgcn_task *t = NULL;
    size_t page = (size_t)getpagesize();
    DGCN_ALLOC(t, 1);
    t->fn = fn;
    t->arg = arg;
    t->map_bytes = p->stack_bytes + page;
    t->map = mmap(NULL, t->map_bytes, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (t->map == MAP_FAILED) {
        t->map = NULL;
        rc = dgcn_error_set(DGCN_ENOMEM, "task pool: cannot map a %zu-byte stack for task %ld (%s)",
                            t->map_bytes, p->spawned, strerror(errno));
        goto fail;
    }
    if (mprotect(t->map, page, PROT_NONE) != 0) {
        rc = dgcn_error_set(DGCN_ENOMEM, "task pool: cannot protect a stack guard page (%s)",
                            strerror(errno));
        goto fail;
    }
    if (getcontext(&t->ctx) != 0) {
        rc = dgcn_error_set(DGCN_ENOMEM, "task pool: getcontext failed (%s)", strerror(errno));
        goto fail;
    }
    t->ctx.uc_stack.ss_sp = t->map + page;
    t->ctx.uc_stack.ss_size = p->stack_bytes;
    t->ctx.uc_link = NULL;
    makecontext(&t->ctx, s_trampoline, 0);
    pthread_mutex_init(&t->tmu, NULL);
    atomic_init(&t->state, S_READY);
    pthread_mutex_lock(&p->mu);
    t->w = &p->workers[p->next++ % p->n_workers];
    p->spawned++;
    pthread_mutex_unlock(&p->mu);
    s_worker *w = t->w;
    pthread_mutex_lock(&w->mu);
    t->next_mine = w->incoming;
    w->incoming = t;
    pthread_mutex_unlock(&w->mu);
    s_push_ready(t);
    return DGCN_OK;
fail:
    if (t) {
        s_free_stack(t);
        free(t);
    }
    return rc;
}

void dgcn_tasks_wait(dgcn_tasks *p) {
    pthread_mutex_lock(&p->mu);
    while (p->finished < p->spawned) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void dgcn_tasks_destroy(dgcn_tasks **pp) {
    if (!pp || !*pp) return;
    dgcn_tasks *p = *pp;
    dgcn_tasks_wait(p);
    pthread_mutex_lock(&p->rq_mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->rq_cv);
    pthread_mutex_unlock(&p->rq_mu);
    for (int i = 0; i < p->n_workers; i++) {
        s_worker *w = &p->workers[i];
        if (w->started) pthread_join(w->tid, NULL);
        dgcn_task *lists[2] = {w->mine, w->incoming};
        for (int l = 0; l < 2; l++)
            for (dgcn_task *t = lists[l], *next; t; t = next) {
                next = t->next_mine;
                s_free_stack(t);
                pthread_mutex_destroy(&t->tmu);
                free(t);
            }
        pthread_mutex_destroy(&w->mu);
    }
    free(p->workers);
    pthread_cond_destroy(&p->rq_cv);
    pthread_mutex_destroy(&p->rq_mu);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    *pp = NULL;
}

int dgcn_task_inside(void) { return s_self != NULL; }

/* ---- wait queues ---- */

int dgcn_waitq_init(dgcn_waitq *q) {
    q->head = q->tail = NULL;
    return s_cond_init(&q->cv) == 0 ? DGCN_OK
                                    : dgcn_error_set(DGCN_ENOMEM, "cannot create a wait queue");
}

void dgcn_waitq_fini(dgcn_waitq *q) { pthread_cond_destroy(&q->cv); }

int dgcn_waitq_wait(dgcn_waitq *q, pthread_mutex_t *mu, const struct timespec *deadline) {
    dgcn_task *t = s_self;
    if (!t) return pthread_cond_timedwait(&q->cv, mu, deadline) == ETIMEDOUT ? ETIMEDOUT : 0;
    struct timespec now = s_now();
    if (s_le(deadline, &now)) return ETIMEDOUT; /* a poll: no need to leave the worker */
    pthread_mutex_lock(&t->tmu);
    t->wq = q;
    t->wmu = mu;
    t->deadline = *deadline;
    t->timed_out = 0;
    t->qnext = NULL;
    t->qprev = q->tail;
    if (q->tail) q->tail->qnext = t;
    else q->head = t;
    q->tail = t;
    atomic_store(&t->state, S_WAITING);
    pthread_mutex_unlock(&t->tmu);
    t->release = mu;
    s_leave(t, 0);
    pthread_mutex_lock(mu);
    return t->timed_out ? ETIMEDOUT : 0;
}

void dgcn_waitq_wake_all(dgcn_waitq *q) {
    dgcn_task *t;
    while ((t = q->head)) {
        s_unlink(q, t);
        pthread_mutex_lock(&t->tmu);
        t->wq = NULL;
        t->wmu = NULL;
        atomic_store(&t->state, S_READY);
        pthread_mutex_unlock(&t->tmu);
        s_push_ready(t);
    }
    pthread_cond_broadcast(&q->cv);
}
