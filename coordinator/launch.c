/* coordinator/launch.c: the launchers (tasks, processes, job), one const table each. */
#define _GNU_SOURCE
#include "coordinator/launch.h"

#include "agent/run.h"
#include "comm/curve.h"
#include "comm/transport.h"
#include "core/error.h"
#include "core/task.h"
#include "core/timer.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* OpenBLAS reads OPENBLAS_NUM_THREADS when it loads; a job's agent rank is already running. */
void openblas_set_num_threads(int num_threads);

typedef struct s_agent_task {
    dgcn_launch *l;
    int32_t k;
    int started;
    atomic_int done; /* the agent returned: rc and err are set */
    int rc;
    char err[512];
} s_agent_task;

/* One way of starting agents. */
typedef struct s_launcher {
    const char *name;
    int aborts_by_message;        /* see dgcn_launch_aborts_by_message */
    int (*start)(dgcn_launch *l); /* starts the agents; on error stop still runs */
    int (*ended)(dgcn_launch *l, int32_t k, char *how, size_t cap); /* does not block */
    int (*finish)(dgcn_launch *l, int wait_ms); /* blocks about wait_ms at most (tasks: until
                                                 * they return, which their deadline bounds) */
    void (*stop)(dgcn_launch *l);               /* stops what runs and frees the way's state */
    /* the agent side (job only): see dgcn_launch_enter */
    int (*enter)(const char *address, int *argc, char ***argv, int deadline_ms, int n_runs,
                 volatile sig_atomic_t *stop, int *is_agent, int32_t *n_agents);
} s_launcher;

struct dgcn_launch {
    const s_launcher *way;
    dgcn_launch_opts o; /* o.address and o.program point to the copies below */
    char *address, *program, *keys_dir;
    uint8_t *by_hand;    /* [M] 1: agent k is started by hand (o.by_hand) */
    dgcn_tasks *pool;    /* tasks: the workers */
    s_agent_task *tasks; /* [M] tasks */
    pid_t *pids;         /* [M] processes: > 0 running, -1 reaped, 0 never started */
    int *exit_status;    /* [M] processes: wait status once reaped */
    uint8_t *lost;       /* [M] or NULL: agents lost, whose exit status finish does not check */
};

/* Opens agent k's endpoint at the hub's address, binds the default mesh endpoint and runs the
 * agent protocol; the endpoint is closed on return. */
static int s_run_one(const char *address, int32_t k, int32_t n_agents, uint64_t run_id,
                     int deadline_ms, volatile sig_atomic_t *stop) {
    dgcn_transport *t = NULL;
    char ep[1024];
    int rc = dgcn_transport_open(address, k, n_agents, run_id, deadline_ms, &t);
    if (rc == DGCN_OK) rc = dgcn_transport_bind(t, NULL, ep, sizeof ep);
    if (rc == DGCN_OK) {
        dgcn_run_agent_opts o;
        memset(&o, 0, sizeof o);
        o.endpoint = ep;
        o.setup_deadline_ms = deadline_ms;
        o.stop = stop;
        rc = dgcn_run_agent(t, &o);
    }
    dgcn_transport_close(&t);
    return rc;
}

/* ---- tasks ---- */

static void s_task_main(void *arg) {
    s_agent_task *a = arg;
    const dgcn_launch_opts *o = &a->l->o;
    a->rc = s_run_one(o->address, a->k, o->n_agents, o->run_id, o->deadline_ms, o->stop);
    if (a->rc) snprintf(a->err, sizeof a->err, "%s", dgcn_error_msg());
    atomic_store(&a->done, 1);
}

static int s_tasks_start(dgcn_launch *l) {
    int rc = DGCN_OK;
    DGCN_ALLOC(l->tasks, l->o.n_agents);
    DGCN_CHECK(dgcn_tasks_new(l->o.workers, 0, &l->pool));
    for (int32_t k = 0; k < l->o.n_agents; k++) {
        s_agent_task *a = &l->tasks[k];
        a->l = l;
        a->k = k;
        atomic_init(&a->done, 0);
        DGCN_CHECK(dgcn_tasks_spawn(l->pool, s_task_main, a));
        a->started = 1;
    }
fail:
    return rc;
}

static int s_tasks_ended(dgcn_launch *l, int32_t k, char *how, size_t cap) {
    s_agent_task *a = &l->tasks[k];
    if (!a->started || !atomic_load(&a->done)) return 0;
    if (a->rc) snprintf(how, cap, "ended with an error: %s", a->err);
    else snprintf(how, cap, "ended");
    return 1;
}

static int s_tasks_finish(dgcn_launch *l, int wait_ms) {
    int rc = DGCN_OK;
    (void)wait_ms; /* the agents' own deadlines bound their runs */
    if (l->pool) dgcn_tasks_wait(l->pool);
    for (int32_t k = 0; k < l->o.n_agents; k++)
        if (rc == DGCN_OK && l->tasks[k].rc)
            rc = dgcn_error_set(DGCN_EPEER, "agent %d ended with an error: %s", k, l->tasks[k].err);
    return rc;
}

static void s_tasks_stop(dgcn_launch *l) {
    dgcn_tasks_destroy(&l->pool); /* waits for the tasks, which ABORT or their deadline ends */
    free(l->tasks);
    l->tasks = NULL;
}

/* ---- processes ---- */

/* Agent k's CURVE keys as text into keys[cap] ("" when the hub uses none) and, with a keys_dir,
 * into KEYS_DIR/keys/agent-K.key (0600) for an agent started by hand. */
static int s_agent_keys(dgcn_launch *l, int32_t k, char *keys, size_t cap) {
    dgcn_curve_creds c;
    int has = 0, rc = DGCN_OK;
    keys[0] = '\0';
    if (!l->o.hub) return DGCN_OK;
    DGCN_CHECK(dgcn_hub_credentials(l->o.hub, k, &c, &has));
    if (!has) return DGCN_OK;
    DGCN_CHECK(dgcn_curve_creds_format(&c, keys, cap));
    if (l->keys_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/keys", l->keys_dir);
        if (k == 0 && mkdir(path, 0700) != 0 && errno != EEXIST)
            DGCN_CHECK(dgcn_error_set(DGCN_EIO, "cannot create %s for the agents' keys: %s", path,
                                      strerror(errno)));
        snprintf(path, sizeof path, "%s/keys/agent-%d.key", l->keys_dir, k);
        unlink(path); /* an earlier session's (a run of several seeds) */
        DGCN_CHECK(dgcn_curve_creds_write(path, &c));
    }
fail:
    memset(&c, 0, sizeof c);
    return rc;
}

static int s_spawn(dgcn_launch *l, int32_t k) {
    const char *prog = l->o.program ? l->o.program : "/proc/self/exe";
    char keys[DGCN_CURVE_TEXT_MAX];
    int rc = s_agent_keys(l, k, keys, sizeof keys);
    if (rc) return rc;
    char agent[16], agents[16], run_id[32], deadline[16];
    snprintf(agent, sizeof agent, "%d", k);
    snprintf(agents, sizeof agents, "%d", l->o.n_agents);
    snprintf(run_id, sizeof run_id, "%" PRIu64, l->o.run_id);
    snprintf(deadline, sizeof deadline, "%d", l->o.deadline_ms);
    char *argv[] = {(char *)prog, "agent", "--coordinator", l->address, "--agent",       agent,
                    "--agents",   agents,  "--run-id",      run_id,     "--deadline-ms", deadline,
                    NULL};
    pid_t pid = fork();
    if (pid < 0) {
        memset(keys, 0, sizeof keys);
        return dgcn_error_set(DGCN_ECOMM, "cannot start agent %d: fork: %s", k, strerror(errno));
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the coordinator, which stops the agents */
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        if (keys[0]) setenv(DGCN_CURVE_ENV, keys, 1); /* the environment, not argv: not in ps */
        else unsetenv(DGCN_CURVE_ENV);
        execv(prog, argv);
        fprintf(stderr, "dgcn: cannot exec %s for agent %d: %s\n", prog, k, strerror(errno));
        _exit(127);
    }
    memset(keys, 0, sizeof keys);
    l->pids[k] = pid;
    return DGCN_OK;
}

/* Agent k joins by hand: its key file (tcp) and, on stderr, the command that starts it on its own
 * host. The agent is never started, so never seen to end: the session waits for its Hello. */
static int s_by_hand(dgcn_launch *l, int32_t k) {
    char keys[DGCN_CURVE_TEXT_MAX], file[4096] = "";
    int rc = s_agent_keys(l, k, keys, sizeof keys);
    int has_keys = keys[0] != '\0';
    memset(keys, 0, sizeof keys);
    if (rc) return rc;
    if (has_keys && !l->keys_dir)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d is to be started by hand over tcp, but this command "
                              "writes no key files (a run directory holds them)",
                              k);
    if (has_keys) {
        char path[4096];
        snprintf(path, sizeof path, "%s/keys/agent-%d.key", l->keys_dir, k);
        if (!realpath(path, file)) snprintf(file, sizeof file, "%s", path);
    }
    fprintf(stderr,
            "dgcn: waiting up to %d ms for agent %d (--wait-for-agents); on its host run:\n"
            "  dgcn agent --coordinator %s --agent %d --agents %d --run-id %" PRIu64
            "%s%s --deadline-ms %d\n",
            l->o.deadline_ms, k, l->address, k, l->o.n_agents, l->o.run_id,
            has_keys ? " --keys " : "", file, l->o.deadline_ms);
    if (!strncmp(l->address, "tcp://0.0.0.0:", 14) || !strncmp(l->address, "tcp://*:", 8))
        fprintf(stderr,
                "  (the coordinator listens on every interface: replace %.*s with an "
                "address of this host that agent %d reaches)\n",
                (int)(strrchr(l->address, ':') - l->address - 6), l->address + 6, k);
    fflush(stderr);
    return DGCN_OK;
}

static int s_processes_start(dgcn_launch *l) {
    int rc = DGCN_OK;
    DGCN_ALLOC(l->pids, l->o.n_agents);
    DGCN_ALLOC(l->exit_status, l->o.n_agents);
    for (int32_t k = 0; k < l->o.n_agents; k++)
        DGCN_CHECK(l->by_hand && l->by_hand[k] ? s_by_hand(l, k) : s_spawn(l, k));
fail:
    return rc;
}

/* Reaps every child that has exited, without waiting. */
static void s_reap(dgcn_launch *l) {
    for (int32_t k = 0; l->pids && k < l->o.n_agents; k++) {
        if (l->pids[k] <= 0) continue;
        int st = 0;
        if (waitpid(l->pids[k], &st, WNOHANG) == l->pids[k]) {
            l->pids[k] = -1;
            l->exit_status[k] = st;
        }
    }
}

static int s_processes_ended(dgcn_launch *l, int32_t k, char *how, size_t cap) {
    s_reap(l);
    if (l->pids[k] != -1) return 0;
    int st = l->exit_status[k];
    if (WIFSIGNALED(st)) snprintf(how, cap, "was killed by signal %d", WTERMSIG(st));
    else snprintf(how, cap, "exited with status %d", WEXITSTATUS(st));
    return 1;
}

/* Waits up to wait_ms for the children, then SIGTERM (term_first) and 1 s later SIGKILL; always
 * reaps. */
static void s_stop_children(dgcn_launch *l, int wait_ms, int term_first) {
    if (!l->pids) return;
    double end = dgcn_now_ms() + wait_ms;
    int pass = 0;
    for (;;) {
        int alive = 0;
        s_reap(l);
        for (int32_t k = 0; k < l->o.n_agents; k++) alive += l->pids[k] > 0;
        if (!alive) return;
        if (dgcn_now_ms() >= end) {
            if (pass == 0 && term_first) {
                for (int32_t k = 0; k < l->o.n_agents; k++)
                    if (l->pids[k] > 0) kill(l->pids[k], SIGTERM);
                end = dgcn_now_ms() + 1000;
                pass = 1;
                continue;
            }
            for (int32_t k = 0; k < l->o.n_agents; k++)
                if (l->pids[k] > 0) {
                    kill(l->pids[k], SIGKILL);
                    int st = 0;
                    waitpid(l->pids[k], &st, 0);
                    l->pids[k] = -1;
                    l->exit_status[k] = st;
                }
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int s_processes_finish(dgcn_launch *l, int wait_ms) {
    int rc = DGCN_OK;
    s_stop_children(l, wait_ms, 1);
    for (int32_t k = 0; k < l->o.n_agents; k++) {
        int st = l->exit_status[k];
        if (l->lost && l->lost[k]) continue;
        if (rc == DGCN_OK && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
            rc = dgcn_error_set(DGCN_EPEER,
                                "agent %d did not exit cleanly after the run "
                                "(status 0x%x)",
                                k, st);
    }
    return rc;
}

static void s_processes_stop(dgcn_launch *l) {
    s_stop_children(l, 0, 1);
    free(l->pids);
    free(l->exit_status);
    l->pids = NULL;
    l->exit_status = NULL;
}

/* ---- job ---- */

static int s_job_start(dgcn_launch *l) { return DGCN_OK; }
static int s_job_ended(dgcn_launch *l, int32_t k, char *how, size_t cap) { return 0; }
static int s_job_finish(dgcn_launch *l, int wait_ms) { return DGCN_OK; }
static void s_job_stop(dgcn_launch *l) {}

static int s_job_enter(const char *address, int *argc, char ***argv, int deadline_ms, int n_runs,
                       volatile sig_atomic_t *stop, int *is_agent, int32_t *n_agents) {
    int rc = DGCN_OK, rank = 0, size = 0;
    DGCN_CHECK(dgcn_transport_job_join(address, argc, argv, &rank, &size));
    if (size < 2)
        return dgcn_error_set(DGCN_EINVAL,
                              "--transport %s needs a job of M+1 processes (M >= 1 "
                              "agents, e.g. mpirun -np M+1); this job has %d",
                              address, size);
    *n_agents = size - 1;
    if (rank == 0) return DGCN_OK;
    *is_agent = 1;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    openblas_set_num_threads(1);
    for (int run = 0; run < n_runs && rc == DGCN_OK; run++)
        rc = s_run_one(address, -1, size - 1, 0, deadline_ms, stop);
    if (rc == DGCN_OK) dgcn_transport_job_leave();
fail:
    return rc;
}

/* ---- the table ---- */

static const s_launcher s_launchers[] = {
    {"tasks", 1, s_tasks_start, s_tasks_ended, s_tasks_finish, s_tasks_stop, NULL},
    {"processes", 0, s_processes_start, s_processes_ended, s_processes_finish, s_processes_stop,
     NULL},
    {"job", 1, s_job_start, s_job_ended, s_job_finish, s_job_stop, s_job_enter},
};

static const s_launcher *s_find(const char *name) {
    for (size_t i = 0; i < sizeof s_launchers / sizeof s_launchers[0]; i++)
        if (name && !strcmp(name, s_launchers[i].name)) return &s_launchers[i];
    dgcn_error_set(DGCN_EINVAL, "unknown launcher '%s' (tasks, processes, job)",
                   name ? name : "(null)");
    return NULL;
}

/* The agents of text ("K,..." or "all") marked in by_hand[m]; DGCN_EINVAL naming what is wrong. */
static int s_parse_by_hand(const char *text, int32_t m, uint8_t *by_hand) {
    if (!strcmp(text, "all")) {
        memset(by_hand, 1, (size_t)m);
        return DGCN_OK;
    }
    for (const char *p = text;;) {
        char *end = NULL;
        errno = 0;
        long k = strtol(p, &end, 10);
        if (end == p || errno || (*end && *end != ','))
            return dgcn_error_set(DGCN_EINVAL,
                                  "--wait-for-agents '%s': expected agent ids K,... or all", text);
        if (k < 0 || k >= m)
            return dgcn_error_set(DGCN_EINVAL,
                                  "--wait-for-agents '%s': agent %ld is not one of the run's "
                                  "agents 0..%d",
                                  text, k, (int)m - 1);
        by_hand[k] = 1;
        if (!*end) return DGCN_OK;
        p = end + 1;
    }
}

int dgcn_launch_start(const char *launcher, const dgcn_launch_opts *o, dgcn_launch **out) {
    int rc = DGCN_OK;
    dgcn_launch *l = NULL;
    *out = NULL;
    const s_launcher *way = s_find(launcher);
    if (!way) return DGCN_EINVAL;
    DGCN_ALLOC(l, 1);
    l->way = way;
    l->o = *o;
    l->address = strdup(o->address ? o->address : "");
    l->program = o->program ? strdup(o->program) : NULL;
    l->keys_dir = o->keys_dir ? strdup(o->keys_dir) : NULL;
    if (!l->address || (o->program && !l->program) || (o->keys_dir && !l->keys_dir))
        DGCN_CHECK(dgcn_error_set(DGCN_ENOMEM, "out of memory"));
    l->o.address = l->address;
    l->o.program = l->program;
    l->o.keys_dir = l->keys_dir;
    l->o.by_hand = NULL;
    if (o->by_hand && o->by_hand[0]) {
        if (strcmp(way->name, "processes"))
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                      "--wait-for-agents: the %s launcher starts no agent "
                                      "processes to leave out; use --transport zmq, ipc:// or "
                                      "tcp://",
                                      way->name));
        DGCN_ALLOC(l->by_hand, o->n_agents);
        DGCN_CHECK(s_parse_by_hand(o->by_hand, o->n_agents, l->by_hand));
    }
    DGCN_CHECK(way->start(l));
    *out = l;
    return DGCN_OK;
fail:
    dgcn_launch_destroy(&l);
    return rc;
}

int dgcn_launch_aborts_by_message(const dgcn_launch *l) { return l->way->aborts_by_message; }

int dgcn_launch_ended(dgcn_launch *l, int32_t k, char *how, size_t cap) {
    return l->way->ended(l, k, how, cap);
}

int dgcn_launch_finish(dgcn_launch *l, int wait_ms) { return l->way->finish(l, wait_ms); }

void dgcn_launch_lose(dgcn_launch *l, int32_t k) {
    if (!l || k < 0 || k >= l->o.n_agents) return;
    if (!l->lost) l->lost = calloc((size_t)l->o.n_agents, 1);
    if (l->lost) l->lost[k] = 1;
}

int dgcn_launch_kill(dgcn_launch *l, int32_t k) {
    if (!l || k < 0 || k >= l->o.n_agents || !l->pids || l->pids[k] <= 0)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: no running process of this coordinator to kill (agent "
                              "processes are those of the zmq transport)",
                              k);
    if (kill(l->pids[k], SIGKILL) != 0)
        return dgcn_error_set(DGCN_ECOMM, "agent %d: kill: %s", k, strerror(errno));
    return DGCN_OK;
}

void dgcn_launch_destroy(dgcn_launch **lp) {
    if (!lp || !*lp) return;
    dgcn_launch *l = *lp;
    l->way->stop(l);
    free(l->address);
    free(l->program);
    free(l->keys_dir);
    free(l->by_hand);
    free(l->lost);
    free(l);
    *lp = NULL;
}

int dgcn_launch_enter(const char *transport, int *argc, char ***argv, int deadline_ms, int n_runs,
                      volatile sig_atomic_t *stop, int *is_agent, int32_t *n_agents) {
    dgcn_transport_info info;
    char address[1024];
    *is_agent = 0;
    int rc = dgcn_transport_lookup(transport, &info);
    if (rc) return rc;
    const s_launcher *way = s_find(info.launcher);
    if (!way) return DGCN_EINVAL;
    if (!way->enter) return DGCN_OK;
    rc = dgcn_transport_address(transport, NULL, NULL, address, sizeof address);
    if (rc) return rc;
    return way->enter(address, argc, argv, deadline_ms, n_runs, stop, is_agent, n_agents);
}
