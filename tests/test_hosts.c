/* tests/test_hosts.c: agents that join a run from another host (`dgcn train --wait-for-agents`),
 * tried on this machine with two network namespaces joined by a veth pair: the coordinator and two
 * agents it starts in one, the agent started by hand in the other, CURVE over tcp between them.
 * The namespaces, their link and addresses (10.200.0.1 and 10.200.0.2, /30) are made by each test
 * and exist only there: no traffic leaves them. A guardian process removes them, and stops what
 * runs in them, when the test ends in any way (an assertion, a timeout's SIGKILL); namespaces a
 * killed earlier run left behind are removed at the start. Where `ip netns add` is not permitted
 * (no CAP_NET_ADMIN, no ip) the tests print SKIP and pass. */
#define _GNU_SOURCE /* pipe2 */
#include "testproc.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_OUT_CAP (1 << 16)
#define S_ADDR_A "10.200.0.1"
#define S_ADDR_B "10.200.0.2"
#define S_GEN "--nodes", "300", "--val", "50", "--test", "100"

/* Runs argv (argv[0] looked up in PATH) with its output discarded; its exit status (127: no such
 * program). */
static int s_quiet(char *const argv[]) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* `ip ARGS...`; its exit status. */
static int s_ip(const char *first, ...) {
    char *argv[24] = {"ip", (char *)first};
    int n = 2;
    va_list ap;
    va_start(ap, first);
    const char *a;
    while (n < 23 && (a = va_arg(ap, const char *))) argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return s_quiet(argv);
}

/* Kills every process in network namespace ns (named, under /run/netns). */
static void s_kill_in(const char *ns) {
    char path[300];
    struct stat want, got;
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    if (stat(path, &want) != 0) return;
    DIR *d = opendir("/proc");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
        if (stat(path, &got) == 0 && got.st_ino == want.st_ino && got.st_dev == want.st_dev)
            kill((pid_t)pid, SIGKILL);
    }
    closedir(d);
}

/* Removes namespace ns after killing what runs in it; its veth end goes with it, and the peer
 * with that. */
static void s_remove(const char *ns) {
    s_kill_in(ns);
    s_ip("netns", "del", ns, NULL);
}

/* Namespaces named dgcn-hosts-PID-* whose test process PID is gone (a run killed before its
 * guardian could clean up). */
static void s_remove_stale(void) {
    DIR *d = opendir("/run/netns");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = 0;
        if (sscanf(e->d_name, "dgcn-hosts-%ld-", &pid) != 1 || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        s_remove(e->d_name);
    }
    closedir(d);
}

typedef struct s_net {
    char a[64], b[64]; /* the namespaces: the coordinator's, the hand-started agent's */
    pid_t guardian;
    int guard_fd; /* closing it (or this process ending) makes the guardian clean up */
} s_net;

/* Makes namespaces a and b joined by a veth pair (a: 10.200.0.1/30, b: 10.200.0.2/30) and starts
 * their guardian. 0 when `ip netns add` is not permitted here (SKIP printed). */
static int s_net_up(s_net *n) {
    s_remove_stale();
    snprintf(n->a, sizeof n->a, "dgcn-hosts-%d-a", (int)getpid());
    snprintf(n->b, sizeof n->b, "dgcn-hosts-%d-b", (int)getpid());
    int st = s_ip("netns", "add", n->a, NULL);
    if (st != 0) {
        fprintf(stderr,
                "SKIP: `ip netns add` is not permitted here (%s; needs ip and CAP_NET_ADMIN): "
                "the multi-host tests need two network namespaces\n",
                st == 127 ? "ip not found" : "refused");
        return 0;
    }
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0); /* the programs the test starts do not hold it */
    n->guardian = fork();
    ck_assert_int_ge(n->guardian, 0);
    if (n->guardian == 0) { /* waits for the test to end, however it ends, then cleans up */
        setpgid(0, 0);
        close(p[1]);
        for (;;) {
            char c;
            ssize_t r = read(p[0], &c, 1);
            if (r == 0 || (r < 0 && errno != EINTR)) break;
        }
        s_remove(n->a);
        s_remove(n->b);
        _exit(0);
    }
    close(p[0]);
    n->guard_fd = p[1];
    char va[16], vb[16];
    snprintf(va, sizeof va, "dgh%da", (int)getpid() % 1000000);
    snprintf(vb, sizeof vb, "dgh%db", (int)getpid() % 1000000);
    ck_assert_int_eq(s_ip("netns", "add", n->b, NULL), 0);
    /* both ends are made inside their namespaces: nothing appears in this one */
    ck_assert_int_eq(s_ip("link", "add", va, "netns", n->a, "type", "veth", "peer", "name", vb,
                          "netns", n->b, NULL),
                     0);
    ck_assert_int_eq(s_ip("-n", n->a, "addr", "add", S_ADDR_A "/30", "dev", va, NULL), 0);
    ck_assert_int_eq(s_ip("-n", n->b, "addr", "add", S_ADDR_B "/30", "dev", vb, NULL), 0);
    ck_assert_int_eq(s_ip("-n", n->a, "link", "set", va, "up", NULL), 0);
    ck_assert_int_eq(s_ip("-n", n->b, "link", "set", vb, "up", NULL), 0);
    ck_assert_int_eq(s_ip("-n", n->a, "link", "set", "lo", "up", NULL), 0);
    ck_assert_int_eq(s_ip("-n", n->b, "link", "set", "lo", "up", NULL), 0);
    return 1;
}

/* Removes the namespaces now (the guardian does it) and waits for that. */
static void s_net_down(s_net *n) {
    close(n->guard_fd);
    waitpid(n->guardian, NULL, 0);
    struct stat sb;
    char path[128];
    snprintf(path, sizeof path, "/run/netns/%s", n->a);
    ck_assert_msg(stat(path, &sb) != 0, "%s was not removed", n->a);
    snprintf(path, sizeof path, "/run/netns/%s", n->b);
    ck_assert_msg(stat(path, &sb) != 0, "%s was not removed", n->b);
}

/* Starts argv in its own process group with stdout and stderr on a pipe (tests/testproc.h). */
static pid_t s_start(char *const argv[], int *fd) { return dgcn_test_start(argv, NULL, fd); }

/* Runs argv to completion within timeout_s; its exit status. */
static int s_run(char *const argv[], char *out, int timeout_s) {
    return dgcn_test_run_child(argv, NULL, out, S_OUT_CAP, timeout_s);
}

/* The numeric fields of metrics.jsonl that depend neither on timing nor on the transport's own
 * control messages, in file order (as test_e2e compares transports). */
static int s_metric_numbers(const char *path, double *v, int cap) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while ((p = strchr(p, '"'))) {
            char *q = strchr(p + 1, '"');
            if (!q) break;
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(q - p - 1), p + 1);
            p = q + 1;
            if (*p != ':') continue;
            p++;
            if (*p == '{') continue;
            if (!strcmp(key, "dropped_frames") || !strcmp(key, "elapsed_ms") ||
                !strcmp(key, "control") || !strcmp(key, "forward") || !strcmp(key, "backward") ||
                !strcmp(key, "consensus") || !strcmp(key, "eval"))
                continue;
            char *end;
            double x = strtod(p, &end);
            if (end != p && n < cap) v[n++] = x;
        }
    }
    fclose(f);
    return n;
}

static void s_rm_rf(const char *dir) {
    char *argv[] = {"rm", "-rf", (char *)dir, NULL};
    if (s_quiet(argv) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* The train command shared by the reference and the multi-host run (NULL-terminated into argv). */
static int s_train_argv(char **argv, const char *dir) {
    static char *common[] = {"train",          S_GEN,
                             "--agents",       "3",
                             "--iters",        "20",
                             "--eval-every",   "5",
                             "--seed",         "3",
                             "--final-mixing", "3",
                             "--quiet",        "--no-baselines"};
    int n = 0;
    argv[n++] = DGCN_BINARY;
    for (size_t i = 0; i < sizeof common / sizeof *common; i++) argv[n++] = common[i];
    argv[n++] = "--out";
    argv[n++] = (char *)dir;
    argv[n] = NULL;
    return n;
}

typedef struct s_coord {
    pid_t pid;
    int fd;
    char *out;
    size_t len;
    char *agent_argv[32]; /* the printed `dgcn agent` command, run in namespace b */
    char line[1024];      /* agent_argv's strings */
} s_coord;

/* Starts `dgcn train` in namespace a, over tcp on its veth address, leaving agent 1 to be started
 * by hand; waits for the command it prints for agent 1 and makes agent_argv of it: `ip netns exec
 * B DGCN_BINARY agent ...`. */
static void s_coord_start(s_coord *c, const s_net *n, const char *dir, const char *deadline_ms) {
    char *argv[64] = {"ip", "netns", "exec", (char *)n->a};
    int k = 4 + s_train_argv(argv + 4, dir);
    const char *more[] = {"--transport",       "zmq", "--tcp",         S_ADDR_A,
                          "--wait-for-agents", "1",   "--deadline-ms", deadline_ms};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++) argv[k++] = (char *)more[i];
    argv[k] = NULL;
    c->out = malloc(S_OUT_CAP);
    c->len = 0;
    c->out[0] = '\0';
    c->pid = s_start(argv, &c->fd);
    const char *cmd = NULL, *eol = NULL;
    double until = dgcn_test_now_ms() + 60e3;
    while (!(cmd = strstr(c->out, "  dgcn agent ")) || !(eol = strchr(cmd, '\n'))) {
        int st = dgcn_test_collect(c->pid, c->fd, c->out, &c->len, S_OUT_CAP,
                                   dgcn_test_now_ms() + 100, NULL);
        ck_assert_msg(st == -1, "train exited %d before printing agent 1's command:\n%s", st,
                      c->out);
        ck_assert_msg(dgcn_test_now_ms() < until, "no command for agent 1 within 60 s:\n%s",
                      c->out);
    }
    snprintf(c->line, sizeof c->line, "%.*s", (int)(eol - cmd - 2), cmd + 2);
    int m = 0;
    c->agent_argv[m++] = "ip";
    c->agent_argv[m++] = "netns";
    c->agent_argv[m++] = "exec";
    c->agent_argv[m++] = (char *)n->b;
    for (char *save = NULL, *t = strtok_r(c->line, " ", &save); t && m < 31;
         t = strtok_r(NULL, " ", &save)) {
        c->agent_argv[m] = m == 4 ? DGCN_BINARY : t; /* "dgcn": this build's */
        m++;
    }
    c->agent_argv[m] = NULL;
}

/* The value after option `name` in the agent's command, or "". */
static const char *s_opt(const s_coord *c, const char *name) {
    for (int i = 0; c->agent_argv[i] && c->agent_argv[i + 1]; i++)
        if (!strcmp(c->agent_argv[i], name)) return c->agent_argv[i + 1];
    return "";
}

/* The coordinator in namespace a with two agents of its own, agent 1 started by hand in namespace
 * b from the command the coordinator printed (the coordinator's veth address, the agent's id and
 * its key file): the run completes with exactly the metrics of an all-local inproc run. */
START_TEST(test_agent_from_other_host) {
    s_net n;
    if (!s_net_up(&n)) return;
    char dirs[2][64], *out = malloc(S_OUT_CAP), path[256];
    static double vals[2][4096];
    int nv[2];
    for (int t = 0; t < 2; t++) {
        snprintf(dirs[t], sizeof dirs[t], "/tmp/dgcn-hosts-%s-XXXXXX", t ? "tcp" : "inproc");
        ck_assert_ptr_nonnull(mkdtemp(dirs[t]));
    }
    char *argv[64];
    int k = s_train_argv(argv, dirs[0]);
    argv[k++] = "--transport";
    argv[k++] = "inproc";
    argv[k] = NULL;
    int st = s_run(argv, out, 120);
    ck_assert_msg(st == 0, "the inproc reference exited %d:\n%s", st, out);

    s_coord c;
    s_coord_start(&c, &n, dirs[1], "20000");
    snprintf(path, sizeof path, "%s/keys/agent-1.key", dirs[1]);
    ck_assert_msg(!strncmp(s_opt(&c, "--coordinator"), "tcp://" S_ADDR_A ":", 17) &&
                      !strcmp(s_opt(&c, "--agent"), "1") && !strcmp(s_opt(&c, "--agents"), "3") &&
                      !strcmp(s_opt(&c, "--keys"), path),
                  "the printed command is not agent 1's over tcp to " S_ADDR_A " with %s:\n%s",
                  path, c.out);
    char *agent_out = malloc(S_OUT_CAP);
    st = s_run(c.agent_argv, agent_out, 120);
    int cst = dgcn_test_collect(c.pid, c.fd, c.out, &c.len, S_OUT_CAP, dgcn_test_now_ms() + 120e3,
                                NULL);
    if (cst == -1) {
        kill(-c.pid, SIGKILL);
        waitpid(c.pid, NULL, 0);
    }
    ck_assert_msg(st == 0, "the agent in %s exited %d:\n%s\ncoordinator:\n%s", n.b, st, agent_out,
                  c.out);
    ck_assert_msg(cst == 0, "the coordinator in %s exited %d:\n%s", n.a, cst, c.out);
    for (int t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "%s/metrics.jsonl", dirs[t]);
        nv[t] = s_metric_numbers(path, vals[t], 4096);
    }
    ck_assert_int_gt(nv[0], 0);
    ck_assert_int_eq(nv[1], nv[0]);
    for (int i = 0; i < nv[0]; i++)
        ck_assert_msg(vals[1][i] == vals[0][i],
                      "metrics.jsonl field %d: %.17g over two hosts, "
                      "%.17g inproc",
                      i, vals[1][i], vals[0][i]);
    s_net_down(&n);
    for (int t = 0; t < 2; t++) s_rm_rf(dirs[t]);
    free(agent_out);
    free(c.out);
    free(out);
}
END_TEST

/* Agent 1 started by hand with a key file that is not the run's (its public key changed): CURVE
 * refuses it, it never gets a message, and the coordinator ends the run naming agent 1 as the one
 * that never said hello and counting the refused handshakes. */
START_TEST(test_agent_wrong_keys_refused) {
    s_net n;
    if (!s_net_up(&n)) return;
    char dir[64], *agent_out = malloc(S_OUT_CAP), path[256], bad[256];
    snprintf(dir, sizeof dir, "/tmp/dgcn-hosts-badkey-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    s_coord c;
    s_coord_start(&c, &n, dir, "3000");
    /* a copy of the run's key file for agent 1, its public key's first character changed */
    snprintf(path, sizeof path, "%s/keys/agent-1.key", dir);
    snprintf(bad, sizeof bad, "%s/other-run.key", dir);
    char text[512] = "";
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    char *pub = strstr(text, " public ");
    ck_assert_ptr_nonnull(pub);
    pub += 8;
    *pub = *pub == 'a' ? 'b' : 'a';
    int fd = open(bad, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    memset(text, 0, sizeof text);
    for (int i = 0; c.agent_argv[i]; i++)
        if (!strcmp(c.agent_argv[i], "--keys")) c.agent_argv[i + 1] = bad;
    int st = s_run(c.agent_argv, agent_out, 120);
    int cst = dgcn_test_collect(c.pid, c.fd, c.out, &c.len, S_OUT_CAP, dgcn_test_now_ms() + 120e3,
                                NULL);
    if (cst == -1) {
        kill(-c.pid, SIGKILL);
        waitpid(c.pid, NULL, 0);
    }
    ck_assert_msg(st != 0 && strstr(agent_out, "no message from the coordinator"),
                  "the agent with a wrong key exited %d:\n%s", st, agent_out);
    ck_assert_msg(cst == 1 && strstr(c.out, "no hello from agent(s) 1 ") &&
                      strstr(c.out, "refused meanwhile"),
                  "the coordinator exited %d:\n%s", cst, c.out);
    struct stat sb;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    ck_assert_msg(stat(path, &sb) != 0, "a failed run left %s", path);
    s_net_down(&n);
    s_rm_rf(dir);
    free(agent_out);
    free(c.out);
}
END_TEST

/* Agents that never come end the run when the deadline passes, named; an agent id outside the
 * run and a launcher that starts no processes (inproc) are refused before anything starts. No
 * namespaces needed: the coordinator listens on 127.0.0.1. */
START_TEST(test_wait_for_agents_named) {
    char dir[64], *out = malloc(S_OUT_CAP), *argv[64];
    snprintf(dir, sizeof dir, "/tmp/dgcn-hosts-never-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    static const char *cases[][3] = {
        /* transport, --wait-for-agents, what the error says */
        {"tcp://127.0.0.1:0", "0,2", "no hello from agent(s) 0 and 2 "},
        {"tcp://127.0.0.1:0", "1,3", "agent 3 is not one of the run's agents 0..2"},
        {"tcp://127.0.0.1:0", "1,x", "expected agent ids K,... or all"},
        {"inproc", "all", "the tasks launcher starts no agent processes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int k = s_train_argv(argv, dir);
        const char *more[] = {"--force", "--transport",       cases[i][0], "--deadline-ms",
                              "2000",    "--wait-for-agents", cases[i][1]};
        for (size_t j = 0; j < sizeof more / sizeof *more; j++) argv[k++] = (char *)more[j];
        argv[k] = NULL;
        double t0 = dgcn_test_now_ms();
        int st = s_run(argv, out, 60);
        ck_assert_msg(st == 1 && strstr(out, cases[i][2]),
                      "--wait-for-agents %s over %s: exit %d:\n%s", cases[i][1], cases[i][0], st,
                      out);
        if (i == 0)
            ck_assert_msg(strstr(out, "--agent 0 ") && strstr(out, "--agent 2 ") &&
                              !strstr(out, "--agent 1 "),
                          "the commands printed are not agent 0's and 2's:\n%s", out);
        else ck_assert_msg(!strstr(out, "dgcn agent"), "a command was printed:\n%s", out);
        ck_assert_msg(dgcn_test_now_ms() - t0 < 30e3, "took %.0f ms", dgcn_test_now_ms() - t0);
    }
    s_rm_rf(dir);
    free(out);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"agent_from_other_host", test_agent_from_other_host, 0, 180},
        {"agent_wrong_keys_refused", test_agent_wrong_keys_refused, 0, 120},
        {"wait_for_agents_named", test_wait_for_agents_named, 0, 120},
    };
    return DGCN_TEST_SUITE("hosts", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
