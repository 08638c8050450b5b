/*
 * runner_persistent.c — exec_mode = persistent: one long-lived handler
 * process per worker thread and route, fed one event after another.
 *
 * Protocol, one event at a time per process:
 *
 *   worker ──stdin──▶ {"event_id":…,"type":…,…,"body_length":N}\n  then N body bytes
 *   worker ◀─stdout── CODE[ MESSAGE]\n      CODE: what an exit status means
 *
 * State: each worker thread keeps a list of its processes (struct pproc),
 * keyed by the route's struct handler, under a pthread key whose destructor
 * stops them when the thread ends (SIGTERM drain, SIGHUP re-exec). Nothing
 * is shared between threads: N threads, N processes per route.
 *
 * Life of a process:
 *   none ──first event──▶ spawned (argv and environment rules of runner_exec,
 *     own process group, stdin/stdout pipes, stderr the worker's own)
 *   idle ──next event──▶ checked first: exited, or output outside a reply
 *     (out of step) ──▶ stopped and replaced before the event is sent
 *   busy ──valid reply, body all written──▶ idle (kept)
 *        ──valid reply, body not all written within the timeout──▶ stopped
 *        ──handler_timeout──▶ group TERM, KILL after KILL_GRACE_MS (RUN_TIMEOUT)
 *        ──exit / stdout closed / malformed line──▶ stopped (RUN_NO_REPLY,
 *          or RUN_SIGNALED), never "processed": nothing confirmed the event
 *   thread end ──▶ stdin closed, KILL_GRACE_MS to exit, group KILLed, reaped
 *
 * Why the handler's stderr is not captured: a long-lived process writes
 * stderr between events too, when no one would drain a pipe, and would
 * then block on a full pipe; its lines are also not about one event. So it
 * shares the worker's stderr (the same log stream); the per-event account
 * is the reply's MESSAGE, which becomes the run's output (last_error).
 *
 * Writes never block: our pipe ends are non-blocking and one poll waits on
 * stdin (room to write), stdout (the reply) and a pidfd (exit; a 25 ms tick
 * without one), so a handler that replies or dies before reading its body
 * cannot deadlock us; SIGPIPE is ignored by the worker (main.c): EPIPE.
 * As in runner_exec, exit is seen with WNOWAIT, so the pid, and with it the
 * process group id, stays reserved until we reap: killing -pid never hits
 * a stranger.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "codec.h"
#include "err.h"
#include "log.h"
#include "runner.h"

#define TICK_MS 25                          /* exit check period without a pidfd */
#define REPLY_LINE_MAX (RUN_OUTPUT_MAX + 8) /* "255 " + message + "\n" */
#define REPLY_CODE_MAX 255
#define WRITE_CHUNK (64 * 1024)
#define EV_HANDLER_STARTED "handler_started"
#define EV_HANDLER_STOPPED "handler_stopped"

/* One handler process of this thread. Owned by the thread's list. */
struct pproc {
    const struct handler *h;         /* borrowed: the route's handler, the list key */
    char route[CONFIG_NAME_MAX + 1]; /* for log lines (the event's copy goes with it) */
    pid_t pid;                       /* 0: not running */
    int in_fd, out_fd, pidfd;        /* our ends; -1 when closed / unavailable */
    bool exited;                     /* seen with WNOWAIT, not reaped yet */
    siginfo_t info;                  /* how it ended, once exited */
    char line[REPLY_LINE_MAX];       /* reply bytes read so far */
    size_t line_len;
    struct pproc *next;
};

/* One event's exchange with a process. */
struct exchange {
    struct pproc *p;
    char *head; /* owned: the header line */
    size_t head_len;
    const char *body;
    size_t body_len, off; /* off: bytes of head + body written */
    bool in_broken;       /* EPIPE: it closed its stdin */
    bool out_eof;
    bool replied, malformed, extra; /* extra: bytes after the reply line */
    size_t reply_len;               /* the reply line, without "\n" */
};

static pthread_key_t procs_key;
static pthread_once_t procs_once = PTHREAD_ONCE_INIT;

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ---- the process ------------------------------------------------------------ */

/* Notes the exit without reaping (WNOWAIT). */
static bool check_exit(struct pproc *p)
{
    siginfo_t info = {0};

    if (!p->exited && waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == p->pid)
        p->exited = true, p->info = info;
    return p->exited;
}

/* Waits for the exit until DEADLINE; true once it exited. */
static bool wait_exit(struct pproc *p, int64_t deadline)
{
    while (!check_exit(p)) {
        int64_t left = deadline - clock_mono_ms();
        struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};

        if (left <= 0)
            return false;
        if (p->pidfd >= 0)
            poll(&pf, 1, (int)(left > INT_MAX ? INT_MAX : left));
        else
            poll(NULL, 0, (int)(left > TICK_MS ? TICK_MS : left));
    }
    return true;
}

/* Ends the process: stdin closed (EOF: a well-behaved handler exits),
 * SIG (0: none) to its group, KILL_GRACE_MS to exit, then KILL to the
 * group (the leader if still there, whatever it left behind), reaped.
 * Fills p->info; true when it exited on its own (not by our KILL). */
static bool pp_stop(struct pproc *p, int sig, const char *why)
{
    bool own_exit;
    int status = 0;

    close_fd(&p->in_fd);
    if (!p->exited && sig)
        kill(-p->pid, sig);
    own_exit = wait_exit(p, clock_mono_ms() + KILL_GRACE_MS);
    kill(-p->pid, SIGKILL);
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!own_exit) {
        p->info.si_code = WIFEXITED(status) ? CLD_EXITED : CLD_KILLED;
        p->info.si_status = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
    }
    struct logline l;
    if (log_begin(&l, LOG_INFO, EV_HANDLER_STOPPED)) {
        log_str(&l, "route", p->route);
        log_int(&l, "pid", p->pid);
        log_str(&l, "reason", why);
        log_end(&l);
    }
    close_fd(&p->out_fd), close_fd(&p->pidfd);
    p->pid = 0, p->exited = false, p->line_len = 0;
    return own_exit;
}

/* 0, or a negative code (the spawn's errno negated). */
static int pp_start(struct pproc *p, const struct run_input *in)
{
    int in_p[2], out_p[2], rc;
    size_t n;
    char **env = runner_env_base(in->cfg, 0, &n);

    if ((rc = runner_pipes(in_p, out_p)) == 0 && !env)
        rc = -ENOMEM;
    if (rc == 0 && (rc = runner_spawn(p->h, env, in_p[0], out_p[1], -1, &p->pid)) == 0) {
        p->in_fd = in_p[1], p->out_fd = out_p[0];
        in_p[1] = out_p[0] = -1;
        p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
        p->exited = false, p->line_len = 0;
        struct logline l;
        if (log_begin(&l, LOG_INFO, EV_HANDLER_STARTED)) {
            log_str(&l, "route", p->route);
            log_str(&l, "handler", p->h->argv[0]);
            log_int(&l, "pid", p->pid);
            log_end(&l);
        }
    } else {
        p->pid = 0;
    }
    close_fd(&in_p[0]), close_fd(&in_p[1]), close_fd(&out_p[0]), close_fd(&out_p[1]);
    free(env);
    return rc;
}

/* An idle process that exited, or wrote anything (bytes or EOF) outside a
 * reply, is out of step: replaced before it is handed an event. */
static void pp_check_idle(struct pproc *p)
{
    struct pollfd pf = {.fd = p->out_fd, .events = POLLIN};

    if (check_exit(p))
        pp_stop(p, 0, "exited between events");
    else if (poll(&pf, 1, 0) > 0)
        pp_stop(p, SIGTERM, "wrote outside a reply");
}

/* ---- the thread's processes --------------------------------------------------- */

static void procs_destroy(void *arg)
{
    for (struct pproc *p = arg, *next; p; p = next) {
        next = p->next;
        if (p->pid)
            pp_stop(p, 0, "worker thread ending");
        free(p);
    }
}

static void procs_key_create(void)
{
    pthread_key_create(&procs_key, procs_destroy);
}

/* This thread's process record for H (created, not started): NULL when
 * out of memory. */
static struct pproc *pp_find(const struct handler *h, const char *route)
{
    struct pproc *head, *p;

    pthread_once(&procs_once, procs_key_create);
    head = pthread_getspecific(procs_key);
    for (p = head; p; p = p->next)
        if (p->h == h)
            return p;
    if (!(p = calloc(1, sizeof *p)))
        return NULL;
    p->h = h;
    snprintf(p->route, sizeof p->route, "%s", route);
    p->in_fd = p->out_fd = p->pidfd = -1;
    p->next = head;
    if (pthread_setspecific(procs_key, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* ---- the header line -------------------------------------------------------------- */

/* A JSON string of P[0..N), cut at a NUL; bytes that are not UTF-8 (the
 * receiver only stores UTF-8, but a stream entry may come from elsewhere)
 * become '?'. New reference, or NULL. */
static json_t *json_text(const char *p, size_t n)
{
    json_t *s;
    char *copy;

    n = p ? strnlen(p, n) : 0;
    if (codec_utf8_valid(p ? p : "", n))
        return json_stringn(p ? p : "", n);
    if (!(copy = malloc(n + 1)))
        return NULL;
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = codec_utf8_seq_len((const unsigned char *)p + i, n - i)))
            copy[i] = '?', k = 1;
        else
            memcpy(copy + i, p + i, k);
    s = json_stringn(copy, n);
    free(copy);
    return s;
}

static int put(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : HOOKD_ENOMEM;
}

/* The header line, '\n'-terminated (malloc'd), or NULL. */
static char *header_line(const struct run_input *in, size_t *len)
{
    const struct store_event *ev = in->ev;
    json_t *o = json_object();
    char *idem = NULL, *text = NULL, *line = NULL;
    int bad = !o;

    if (asprintf(&idem, "%s:%.*s", ev->source ? ev->source : "",
                 (int)strnlen(ev->event_id ? ev->event_id : "", ev->event_id_len),
                 ev->event_id ? ev->event_id : "") < 0)
        idem = NULL;
    bad = bad || !idem;
    bad = bad || put(o, "event_id", json_text(ev->event_id, ev->event_id_len)) < 0;
    bad = bad || put(o, "type", json_text(ev->type, ev->type ? strlen(ev->type) : 0)) < 0;
    bad = bad || put(o, "source", json_text(ev->source, ev->source ? strlen(ev->source) : 0)) < 0;
    bad = bad || put(o, "route", json_text(in->route, strlen(in->route))) < 0;
    if (in->handler) /* HOOKD_HANDLER of a spawned handler */
        bad = bad || put(o, "handler", json_text(in->handler, strlen(in->handler))) < 0;
    bad = bad || put(o, "attempt", json_integer(in->attempt)) < 0;
    bad = bad || put(o, "idempotency_key", json_text(idem, idem ? strlen(idem) : 0)) < 0;
    bad = bad || put(o, "request_id",
                     json_text(ev->request_id, ev->request_id ? strlen(ev->request_id) : 0)) < 0;
    if (ev->traceparent)
        bad = bad || put(o, "traceparent", json_text(ev->traceparent, strlen(ev->traceparent))) < 0;
    if (ev->tenant)
        bad = bad || put(o, "tenant", json_text(ev->tenant, strlen(ev->tenant))) < 0;
    bad = bad || put(o, "body_length", json_integer((json_int_t)ev->body_len)) < 0;
    if (!bad && (text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) &&
        asprintf(&line, "%s\n", text) >= 0)
        *len = strlen(line);
    else
        line = NULL;
    free(text), free(idem);
    json_decref(o);
    return line;
}

/* ---- the exchange ------------------------------------------------------------------ */

static void feed(struct exchange *x)
{
    size_t total = x->head_len + x->body_len;
    const char *src = x->off < x->head_len ? x->head + x->off : x->body + (x->off - x->head_len);
    size_t left = x->off < x->head_len ? x->head_len - x->off : total - x->off;
    ssize_t w = write(x->p->in_fd, src, left < WRITE_CHUNK ? left : WRITE_CHUNK);

    if (w > 0)
        x->off += (size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EINTR)
        x->in_broken = true; /* EPIPE: it closed its stdin or died */
}

/* "CODE" or "CODE MESSAGE": CODE 1 to 3 digits, at most REPLY_CODE_MAX. */
static bool parse_reply(const char *s, size_t n, int *code, size_t *msg_off)
{
    size_t i = 0;
    int v = 0;

    while (i < n && i < 3 && s[i] >= '0' && s[i] <= '9')
        v = v * 10 + (s[i++] - '0');
    if (i == 0 || v > REPLY_CODE_MAX || (i < n && s[i] != ' '))
        return false;
    *code = v;
    *msg_off = i < n ? i + 1 : n;
    return true;
}

/* One read of stdout, looking for the end of the reply line; false when
 * nothing more is there right now. */
static bool take_output(struct exchange *x)
{
    struct pproc *p = x->p;
    size_t room = sizeof p->line - p->line_len;
    ssize_t r = read(p->out_fd, p->line + p->line_len, room);
    char *nl;

    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        x->out_eof = true;
        return false;
    }
    if (r < 0)
        return false;
    nl = memchr(p->line + p->line_len, '\n', (size_t)r);
    p->line_len += (size_t)r;
    if (nl) {
        x->replied = true;
        x->reply_len = (size_t)(nl - p->line);
        x->extra = x->reply_len + 1 < p->line_len;
    } else if (p->line_len == sizeof p->line) {
        x->malformed = true; /* too long */
    }
    return true;
}

/* Writes, reads and watches until a reply and the whole body written, a
 * failure, or DEADLINE. A reply that comes before the body was all written
 * (it answers first, reads later) does not stop the writing: the rest goes
 * on, within the timeout, so that its stdin stays in step for the next
 * event. */
static void pump(struct exchange *x, int64_t deadline)
{
    struct pproc *p = x->p;

    for (;;) {
        bool writing = !x->in_broken && x->off < x->head_len + x->body_len;
        bool reading = !x->replied && !x->malformed && !x->out_eof;
        struct pollfd pf[3];
        nfds_t n = 0;
        int64_t left = deadline - clock_mono_ms();

        if (x->malformed || x->extra || (x->out_eof && !x->replied) || (x->replied && !writing) ||
            check_exit(p) || left <= 0)
            break;
        if (writing)
            pf[n++] = (struct pollfd){.fd = p->in_fd, .events = POLLOUT};
        if (reading)
            pf[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
        if (p->pidfd >= 0)
            pf[n++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
        else if (left > TICK_MS)
            left = TICK_MS;
        if (poll(pf, n, (int)(left > INT_MAX ? INT_MAX : left)) < 0 && errno != EINTR)
            break;
        for (nfds_t i = 0; i < n; i++) {
            if (!pf[i].revents)
                continue;
            if (pf[i].fd == p->in_fd && writing)
                feed(x);
            else if (pf[i].fd == p->out_fd && reading)
                take_output(x);
        }
    }
    /* It exited: its last words may still be in the pipe. */
    for (int i = 0; p->exited && i < 64 && !x->replied && !x->malformed && !x->out_eof; i++)
        if (!take_output(x))
            break; /* a grandchild may hold the pipe open: not waited for */
}

/* ---- the result ----------------------------------------------------------------- */

static void set_output(struct run_result *res, const char *p, size_t n)
{
    res->output_cut = n > RUN_OUTPUT_MAX ? RUN_CUT_TAIL : RUN_CUT_NONE;
    res->output_len = n > RUN_OUTPUT_MAX ? RUN_OUTPUT_MAX : n;
    memcpy(res->output, p, res->output_len);
    res->output[res->output_len] = '\0';
}

/* The process ended (or was stopped) without a valid reply. */
static void describe_no_reply(struct run_result *res, const siginfo_t *info, bool own_exit,
                              const char *instead)
{
    const char *name;

    if (own_exit && info->si_code == CLD_EXITED) {
        res->status = RUN_NO_REPLY, res->code = info->si_status;
        snprintf(res->what, sizeof res->what, "exit %d before replying", res->code);
    } else if (own_exit) {
        res->status = RUN_SIGNALED, res->code = info->si_status;
        name = sigabbrev_np(res->code);
        snprintf(res->what, sizeof res->what, "killed by signal %d (SIG%s) before replying",
                 res->code, name ? name : "?");
    } else {
        res->status = RUN_NO_REPLY, res->code = -1;
        snprintf(res->what, sizeof res->what, "%s (process group killed)", instead);
    }
}

/* Judges the exchange, stopping the process unless it can take the next event. */
static void conclude(struct exchange *x, const struct run_input *in, struct run_result *res)
{
    struct pproc *p = x->p;
    bool body_done = x->off == x->head_len + x->body_len;
    size_t msg_off = 0;
    int code = 0;

    if (x->replied && parse_reply(p->line, x->reply_len, &code, &msg_off)) {
        res->status = RUN_EXITED, res->code = code;
        snprintf(res->what, sizeof res->what, "reply %d", code);
        set_output(res, p->line + msg_off, x->reply_len - msg_off);
        if (p->exited)
            pp_stop(p, 0, "exited after replying");
        else if (x->extra)
            pp_stop(p, SIGTERM, "wrote past its reply line");
        else if (!body_done)
            pp_stop(p, SIGTERM, "did not read all of its body");
        else
            p->line_len = 0; /* kept for the next event */
    } else if (x->replied || x->malformed) {
        set_output(res, p->line, x->replied ? x->reply_len : p->line_len);
        pp_stop(p, SIGTERM, "malformed reply");
        res->status = RUN_NO_REPLY, res->code = -1;
        snprintf(res->what, sizeof res->what,
                 "malformed reply (want CODE[ MESSAGE], %d bytes at most)", REPLY_LINE_MAX);
    } else if (p->exited || x->out_eof) {
        bool own = pp_stop(p, 0, "no reply"); /* stdin EOF: no signal of ours in its status */
        describe_no_reply(res, &p->info, own, "closed its stdout without replying");
    } else {
        pp_stop(p, SIGTERM, "timeout");
        res->status = RUN_TIMEOUT;
        snprintf(res->what, sizeof res->what, "timeout after %lld ms (process group killed)",
                 (long long)in->timeout_ms);
    }
}

void runner_persistent(void *curl, const struct handler *h, const struct run_input *in,
                       struct run_result *res)
{
    int64_t start = clock_mono_ms();
    struct exchange x = {.body = in->ev->body, .body_len = in->ev->body_len};
    struct pproc *p = pp_find(h, in->route);
    int rc = 0;

    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    if (!p || !(x.head = header_line(in, &x.head_len))) {
        rc = -ENOMEM;
        goto fail;
    }
    if (p->pid)
        pp_check_idle(p);
    if (!p->pid && (rc = pp_start(p, in)) < 0)
        goto fail;
    x.p = p;
    p->line_len = 0;
    pump(&x, start + in->timeout_ms);
    conclude(&x, in, res);
    goto out;
fail:
    runner_spawn_failed(res, h, rc);
out:
    res->duration_ms = clock_mono_ms() - start;
    free(x.head);
}
