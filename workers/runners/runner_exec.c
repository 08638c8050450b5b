/*
 * runner_exec.c — runs an exec: handler for one event.
 *
 * The child is started with posix_spawnp (vfork semantics: nothing unsafe
 * runs between fork and exec in this multi-threaded process) in a process
 * group of its own, with an empty signal mask, SIGPIPE back to default, every
 * descriptor but 0-2 closed, the event's body on stdin, stderr to a pipe and
 * stdout shared with the worker. The environment is the worker's minus any
 * inherited HOOKD_* / TRACEPARENT, plus the event's HOOKD_* variables.
 *
 * One poll loop feeds stdin and drains stderr together, so a handler that
 * writes a lot of stderr before reading its stdin cannot deadlock with us;
 * a handler that never reads stdin just gets EPIPE on our side. Child exit is
 * seen through a pidfd (or a 25 ms tick where pidfd_open is missing), and
 * detected with WNOWAIT, so the pid — and with it the process group id —
 * stays reserved until we reap it: killing -pid can never hit a stranger.
 *
 * Past handler_timeout the whole group gets SIGTERM, then SIGKILL after
 * KILL_GRACE_MS. Only the last RUN_OUTPUT_MAX bytes of stderr are kept.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "clock.h"
#include "runner.h"

#define TICK_MS 25 /* exit check period without a pidfd */
#define WRITE_CHUNK (64 * 1024)
#define ENV_OWN_MAX 11     /* variables we add */
#define DRAIN_READS_MAX 64 /* reads of leftover stderr after the child exited */

extern char **environ;

struct child {
    pid_t pid;
    int in_fd;  /* our end of its stdin; -1 once closed */
    int err_fd; /* our end of its stderr; -1 at EOF */
    int pidfd;  /* -1 when unavailable */
    const char *body;
    size_t body_len, body_off;
    bool exited;
    siginfo_t info; /* how it ended, once exited */
    struct run_result *res;
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ---- environment -------------------------------------------------------- */

/* "KEY=VALUE" (malloc'd); the value is cut at a NUL byte. */
static char *env_kv(const char *key, const char *val, size_t len)
{
    char *s = NULL;

    len = val ? strnlen(val, len) : 0;
    if (asprintf(&s, "%s=%.*s", key, (int)(len > INT_MAX ? INT_MAX : len), val ? val : "") < 0)
        return NULL;
    return s;
}

static char *env_kvs(const char *key, const char *val)
{
    return env_kv(key, val, val ? strlen(val) : 0);
}

/* The worker's own variables pass on, except ours (set below) and those
 * the config read secrets from: a handler never sees a signing secret. */
static bool inherited_ok(const char *kv, const struct config *cfg)
{
    size_t name_len = strcspn(kv, "=");

    if (strncmp(kv, "HOOKD_", 6) == 0 || strncmp(kv, "TRACEPARENT=", 12) == 0)
        return false;
    for (size_t i = 0; cfg && i < cfg->nsecret_env; i++)
        if (strlen(cfg->secret_env[i]) == name_len &&
            strncmp(kv, cfg->secret_env[i], name_len) == 0)
            return false;
    return true;
}

char **runner_env_base(const struct config *cfg, size_t room, size_t *n)
{
    size_t total = 0, k = 0;
    char **env;

    for (char **e = environ; e && *e; e++)
        total++;
    if (!(env = calloc(total + room + 1, sizeof *env)))
        return NULL;
    for (char **e = environ; e && *e; e++)
        if (inherited_ok(*e, cfg))
            env[k++] = *e;
    *n = k;
    return env;
}

/* The child's environment (malloc'd array; own[0..*nown) are ours to free). */
static char **build_env(const struct run_input *in, char *own[ENV_OWN_MAX], size_t *nown)
{
    const struct store_event *ev = in->ev;
    char attempt[16], *idem = NULL, **env;
    size_t k = 0;

    if (!(env = runner_env_base(in->cfg, ENV_OWN_MAX, &k)))
        return NULL;
    snprintf(attempt, sizeof attempt, "%d", in->attempt);
    *nown = 0;
    own[(*nown)++] = env_kv("HOOKD_EVENT_ID", ev->event_id, ev->event_id_len);
    own[(*nown)++] = env_kvs("HOOKD_EVENT_TYPE", ev->type);
    own[(*nown)++] = env_kvs("HOOKD_SOURCE", ev->source);
    own[(*nown)++] = env_kvs("HOOKD_ROUTE", in->route);
    own[(*nown)++] = env_kvs("HOOKD_HANDLER", in->handler ? in->handler : "default");
    own[(*nown)++] = env_kvs("HOOKD_ATTEMPT", attempt);
    if (asprintf(&idem, "%s:%.*s", ev->source, (int)strnlen(ev->event_id, ev->event_id_len),
                 ev->event_id) < 0)
        idem = NULL;
    own[(*nown)++] = idem ? env_kvs("HOOKD_IDEMPOTENCY_KEY", idem) : NULL;
    free(idem);
    own[(*nown)++] = env_kvs("HOOKD_REQUEST_ID", ev->request_id);
    if (ev->traceparent)
        own[(*nown)++] = env_kvs("TRACEPARENT", ev->traceparent);
    if (ev->tenant)
        own[(*nown)++] = env_kvs("HOOKD_TENANT", ev->tenant);
    for (size_t i = 0; i < *nown; i++) {
        if (!own[i]) {
            free(env);
            return NULL;
        }
        env[k++] = own[i];
    }
    env[k] = NULL;
    return env;
}

/* ---- spawning ------------------------------------------------------------ */

int runner_spawn(const struct handler *h, char **env, int in_fd, int out_fd, int err_fd, pid_t *pid)
{
    static const int defaulted[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t empty, dflt;
    int rc;

    sigemptyset(&empty);
    sigemptyset(&dflt);
    for (size_t i = 0; i < sizeof defaulted / sizeof defaulted[0]; i++)
        sigaddset(&dflt, defaulted[i]);
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return -rc;
    if ((rc = posix_spawnattr_init(&at)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -rc;
    }
    if (!(rc = posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO)) &&
        (out_fd < 0 || !(rc = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO))) &&
        (err_fd < 0 || !(rc = posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO))) &&
        !(rc = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1)) &&
        !(rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF)) &&
        !(rc = posix_spawnattr_setpgroup(&at, 0)) &&
        !(rc = posix_spawnattr_setsigmask(&at, &empty)) &&
        !(rc = posix_spawnattr_setsigdefault(&at, &dflt)))
        rc = posix_spawnp(pid, h->argv[0], &fa, &at, h->argv, env);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

/* ---- the pump -------------------------------------------------------------- */

/* Keeps the last RUN_OUTPUT_MAX bytes of everything appended. */
static void output_tail(struct run_result *res, const char *p, size_t n)
{
    if (n >= RUN_OUTPUT_MAX) {
        res->output_cut = res->output_cut || res->output_len > 0 || n > RUN_OUTPUT_MAX
                              ? RUN_CUT_HEAD
                              : RUN_CUT_NONE;
        memcpy(res->output, p + n - RUN_OUTPUT_MAX, RUN_OUTPUT_MAX);
        res->output_len = RUN_OUTPUT_MAX;
    } else {
        if (res->output_len + n > RUN_OUTPUT_MAX) {
            size_t drop = res->output_len + n - RUN_OUTPUT_MAX;
            memmove(res->output, res->output + drop, res->output_len - drop);
            res->output_len -= drop;
            res->output_cut = RUN_CUT_HEAD;
        }
        memcpy(res->output + res->output_len, p, n);
        res->output_len += n;
    }
    res->output[res->output_len] = '\0';
}

static void feed_stdin(struct child *c)
{
    size_t left = c->body_len - c->body_off;
    ssize_t w;

    if (left > 0) {
        w = write(c->in_fd, c->body + c->body_off, left < WRITE_CHUNK ? left : WRITE_CHUNK);
        if (w > 0)
            c->body_off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            left = 0; /* EPIPE: the handler does not want (the rest of) its stdin */
        else
            return;
    }
    if (left == 0 || c->body_off == c->body_len)
        close_fd(&c->in_fd); /* EOF for the handler */
}

/* One read of stderr: false when nothing more is available right now. */
static bool drain_stderr(struct child *c)
{
    char buf[4096];
    ssize_t r = read(c->err_fd, buf, sizeof buf);

    if (r > 0) {
        output_tail(c->res, buf, (size_t)r);
        return true;
    }
    if (r == 0 || (errno != EAGAIN && errno != EINTR))
        close_fd(&c->err_fd);
    return false;
}

/* Notes the child's exit without reaping it (WNOWAIT). */
static void check_exit(struct child *c)
{
    memset(&c->info, 0, sizeof c->info);
    if (waitid(P_PID, (id_t)c->pid, &c->info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        c->info.si_pid == c->pid)
        c->exited = true;
}

/* Feeds, drains and watches until the child exits or DEADLINE passes. */
static void pump(struct child *c, int64_t deadline)
{
    while (!c->exited) {
        struct pollfd p[3];
        nfds_t n = 0;
        int64_t left = deadline - clock_mono_ms();

        if (left <= 0)
            return;
        if (c->in_fd >= 0)
            p[n++] = (struct pollfd){.fd = c->in_fd, .events = POLLOUT};
        if (c->err_fd >= 0)
            p[n++] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
        if (c->pidfd >= 0)
            p[n++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
        if (c->pidfd < 0 && left > TICK_MS)
            left = TICK_MS;
        if (poll(p, n, (int)(left > INT_MAX ? INT_MAX : left)) < 0 && errno != EINTR)
            return;
        for (nfds_t i = 0; i < n; i++) {
            if (!p[i].revents)
                continue;
            if (p[i].fd == c->in_fd)
                feed_stdin(c);
            else if (p[i].fd == c->err_fd)
                drain_stderr(c);
        }
        check_exit(c);
    }
}

/* ---- the run ---------------------------------------------------------------- */

static void describe_end(struct child *c, bool timed_out, int64_t timeout_ms)
{
    struct run_result *res = c->res;
    const char *name;

    if (timed_out) {
        res->status = RUN_TIMEOUT;
        snprintf(res->what, sizeof res->what, "timeout after %lld ms (process group killed)",
                 (long long)timeout_ms);
    } else if (c->info.si_code == CLD_EXITED) {
        res->status = RUN_EXITED;
        res->code = c->info.si_status;
        snprintf(res->what, sizeof res->what, "exit %d", res->code);
    } else {
        res->status = RUN_SIGNALED;
        res->code = c->info.si_status;
        name = sigabbrev_np(res->code);
        snprintf(res->what, sizeof res->what, "killed by signal %d (SIG%s)", res->code,
                 name ? name : "?");
    }
}

/* Past the timeout: TERM the group, give it KILL_GRACE_MS, then KILL. */
static void kill_group(struct child *c)
{
    kill(-c->pid, SIGTERM);
    pump(c, clock_mono_ms() + KILL_GRACE_MS);
    kill(-c->pid, SIGKILL);
    if (!c->exited) {
        memset(&c->info, 0, sizeof c->info);
        if (waitid(P_PID, (id_t)c->pid, &c->info, WEXITED | WNOWAIT) == 0)
            c->exited = true;
    }
}

static void supervise(struct child *c, const struct run_input *in)
{
    int64_t start = clock_mono_ms();
    bool timed_out = false;

    if (c->body_len == 0)
        close_fd(&c->in_fd);
    pump(c, start + in->timeout_ms);
    if (!c->exited) {
        timed_out = true;
        kill_group(c);
    }
    for (int i = 0; c->err_fd >= 0 && i < DRAIN_READS_MAX && drain_stderr(c); i++)
        ; /* what it wrote just before exiting; a grandchild holding the pipe is not waited for */
    describe_end(c, timed_out, in->timeout_ms);
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

int runner_pipes(int to[2], int from[2])
{
    to[0] = to[1] = from[0] = from[1] = -1;
    if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0)
        return -errno;
    if (fcntl(to[1], F_SETFL, O_NONBLOCK) < 0 || fcntl(from[0], F_SETFL, O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

void runner_spawn_failed(struct run_result *res, const struct handler *h, int rc)
{
    res->status = RUN_SPAWN_FAILED;
    res->code = -rc;
    snprintf(res->what, sizeof res->what, "cannot run %s: %s", h->argv[0], hookd_strerror(rc));
}

void runner_exec(void *curl, const struct handler *h, const struct run_input *in,
                 struct run_result *res)
{
    struct child c = {.in_fd = -1, .err_fd = -1, .pidfd = -1, .res = res};
    int in_p[2], err_p[2], rc;
    char *own[ENV_OWN_MAX] = {0}, **env = NULL;
    size_t nown = 0;
    int64_t start = clock_mono_ms();

    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    c.body = in->ev->body, c.body_len = in->ev->body_len;
    if ((rc = runner_pipes(in_p, err_p)) < 0)
        goto fail;
    if (!(env = build_env(in, own, &nown))) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = runner_spawn(h, env, in_p[0], -1, err_p[1], &c.pid)) < 0)
        goto fail;
    close_fd(&in_p[0]), close_fd(&err_p[1]);
    c.in_fd = in_p[1], c.err_fd = err_p[0];
    in_p[1] = err_p[0] = -1;
    c.pidfd = (int)syscall(SYS_pidfd_open, c.pid, 0);
    supervise(&c, in);
    goto out;
fail:
    runner_spawn_failed(res, h, rc);
out:
    res->duration_ms = clock_mono_ms() - start;
    close_fd(&c.in_fd), close_fd(&c.err_fd), close_fd(&c.pidfd);
    close_fd(&in_p[0]), close_fd(&in_p[1]), close_fd(&err_p[0]), close_fd(&err_p[1]);
    for (size_t i = 0; i < nown; i++)
        free(own[i]);
    free(env);
}
