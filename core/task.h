/* core/task.h: many tasks on a few worker threads.
 *
 * A task is a function run on a stack of its own (a coroutine) by one worker thread of a pool;
 * the pool has as many workers as cores by default, so thousands of tasks (the agents of an
 * in-process simulation) share a few threads instead of each owning one. A task runs until it
 * waits (dgcn_waitq_wait) or returns; its worker then takes the next ready task from the pool's
 * one ready queue, so no worker idles while a task is ready. A task may resume on another worker
 * after a wait: code in tasks keeps no thread-local address across a wait (the error detail of
 * core/error.h is switched with the task, so every task keeps its own).
 *
 * A wait queue (dgcn_waitq) works for tasks and plain threads alike, under the caller's mutex,
 * like a condition variable: a task that waits gives its worker to other tasks, a thread blocks.
 * Waits take an absolute CLOCK_MONOTONIC deadline; a worker checks its tasks' deadlines whenever it
 * is idle and at least every 10 ms of work. A task must not block in anything but
 * dgcn_waitq_wait (a blocking system call stalls its worker's other tasks). */
#ifndef DGCN_CORE_TASK_H
#define DGCN_CORE_TASK_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

typedef struct dgcn_task dgcn_task;
typedef struct dgcn_tasks dgcn_tasks;

/* Starts a pool of `workers` threads (<= 0: one per online core) whose tasks get stacks of
 * stack_bytes (0: 256 KiB; 1 MiB under AddressSanitizer); each stack has a guard page below it.
 * DGCN_ENOMEM or DGCN_EINVAL with a detail on failure. */
int dgcn_tasks_new(int workers, size_t stack_bytes, dgcn_tasks **out);

/* The pool's worker count. */
int dgcn_tasks_workers(const dgcn_tasks *p);

/* Adds a task that runs fn(arg) and makes it ready; worker i mod W checks the i-th task's
 * deadlines. Safe from any thread but not from a task. */
int dgcn_tasks_spawn(dgcn_tasks *p, void (*fn)(void *arg), void *arg);

/* Blocks the calling thread (not a task) until every task spawned so far has returned. */
void dgcn_tasks_wait(dgcn_tasks *p);

/* Waits for every task to return, stops the workers and frees everything. Accepts NULL and sets
 * *p to NULL. */
void dgcn_tasks_destroy(dgcn_tasks **p);

/* 1 when the caller runs inside a task, else 0. */
int dgcn_task_inside(void);

/* Tasks and threads waiting for a condition guarded by a mutex. */
typedef struct dgcn_waitq {
    dgcn_task *head, *tail; /* waiting tasks, under the caller's mutex */
    pthread_cond_t cv;      /* waiting threads (CLOCK_MONOTONIC) */
} dgcn_waitq;

int dgcn_waitq_init(dgcn_waitq *q);
void dgcn_waitq_fini(dgcn_waitq *q);

/* Called with mu held, like pthread_cond_timedwait: waits until dgcn_waitq_wake_all or the
 * absolute CLOCK_MONOTONIC deadline, holding mu again on return. Returns 0 when woken (possibly
 * spuriously: recheck the condition) and ETIMEDOUT when the deadline passed (at once, without
 * waiting, when it had passed already: a poll). */
int dgcn_waitq_wait(dgcn_waitq *q, pthread_mutex_t *mu, const struct timespec *deadline);

/* Called with the waiters' mutex held: makes every waiting task ready and wakes every waiting
 * thread. */
void dgcn_waitq_wake_all(dgcn_waitq *q);

#endif
