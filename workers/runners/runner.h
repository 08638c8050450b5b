/*
 * runner.h — running one event's handler and judging the result.
 *
 *   handler text ──handler_parse──▶ struct handler ──runner_for──▶ struct runner
 *                                                   (once per route, at start)
 *   event + attempt ──runner->run──▶ struct run_result
 *   run_result ──classify──▶ ok | transient | permanent   (the SPEC's table)
 *
 * Runners never touch Redis and never block past the route's
 * handler_timeout plus the SIGTERM→SIGKILL grace for exec handlers (twice
 * for a persistent one: an idle process found out of step is stopped
 * first, and a process that failed is stopped after).
 */
#ifndef HOOKD_WORKER_RUNNER_H
#define HOOKD_WORKER_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "store_worker.h"

#define HANDLER_MAX_ARGS 32
#define RUN_OUTPUT_MAX 2048 /* stderr tail / response body kept per attempt */
#define RUN_WHAT_MAX 192
#define KILL_GRACE_MS 2000 /* SIGTERM → SIGKILL of a timed-out handler's group */

enum handler_kind { HANDLER_EXEC, HANDLER_HTTP };

struct handler {
    enum handler_kind kind;
    char *argbuf;                     /* owned: the text after "exec:", split in place */
    char *argv[HANDLER_MAX_ARGS + 1]; /* views into argbuf, NULL-terminated */
    char *url;                        /* owned copy (http and https) */
};

/* Parses "exec:PATH [ARGS]" (split on spaces, no shell, no quoting) or an
 * http(s):// URL. 0, or HOOKD_ECONFIG / HOOKD_ENOMEM with a sentence in err. */
int handler_parse(const char *spec, struct handler *h, char *err, size_t errlen);
void handler_free(struct handler *h);

enum run_status {
    RUN_EXITED,       /* code = exit status */
    RUN_SIGNALED,     /* code = signal number */
    RUN_TIMEOUT,      /* handler_timeout exceeded; the process group was killed */
    RUN_SPAWN_FAILED, /* code = errno */
    RUN_HTTP_STATUS,  /* code = HTTP status */
    RUN_HTTP_ERROR,   /* code = CURLcode (connect error, timeout, TLS, ...) */
    RUN_NO_REPLY,     /* persistent handler: exited (code = status), closed its stdout
                         or replied malformed (code = -1) before a valid reply */
};

enum { RUN_CUT_NONE, RUN_CUT_HEAD /* stderr: its tail is kept */, RUN_CUT_TAIL /* body head */ };

struct run_result {
    enum run_status status;
    int code;
    int64_t retry_after_ms; /* from an HTTP Retry-After; -1 when absent */
    int64_t duration_ms;
    char what[RUN_WHAT_MAX];         /* short account: "exit 75", "HTTP 503", ... */
    char output[RUN_OUTPUT_MAX + 1]; /* stderr tail or response body head */
    size_t output_len;
    int output_cut; /* RUN_CUT_*: which end of output was dropped to fit */
};

/* What one run needs to know about the event. */
struct run_input {
    const struct store_event *ev;
    const char *route;
    const char *handler; /* "default", or the handler.LABEL's label (fan-out) */
    int attempt;
    int64_t timeout_ms;
    const struct config *cfg; /* its secret_env names are not passed on */
};

/* A way of running a handler: one row of the table in handler.c (as a
 * signature scheme is one row of scheme.c's registry). A new kind of
 * handler is a runner_KIND.c and one row. */
struct runner {
    const char *name;       /* "exec", "persistent", "http" */
    enum handler_kind kind; /* the handler text it runs */
    enum exec_mode mode;    /* for exec: handlers, the route's exec_mode */
    bool needs_curl;        /* run() gets the thread's CURL handle */
    /* Runs one event; always fills *res. CURL: the thread's handle (kept
     * between calls so connections are reused), NULL unless needs_curl. */
    void (*run)(void *curl, const struct handler *h, const struct run_input *in,
                struct run_result *res);
};

/* The runner of H on a route with exec_mode MODE (borrowed, static). */
const struct runner *runner_for(const struct handler *h, enum exec_mode mode);

/* Runs an exec handler: body on stdin, HOOKD_* environment, own process
 * group, killed (TERM, then KILL after KILL_GRACE_MS) past the timeout.
 * Always fills *res. */
void runner_exec(void *curl, const struct handler *h, const struct run_input *in,
                 struct run_result *res);

/* exec_mode = persistent: hands the event to this thread's long-lived
 * process for H (started here at the thread's first event for H, restarted
 * after a timeout, crash or protocol error): a JSON header line and the
 * body on its stdin, one reply line "CODE[ MESSAGE]" on its stdout. The
 * processes live until the thread ends (a thread-specific destructor stops
 * them). Always fills *res. */
void runner_persistent(void *curl, const struct handler *h, const struct run_input *in,
                       struct run_result *res);

/* runner_exec.c, shared with runner_persistent.c. The worker's environment
 * without HOOKD_*, TRACEPARENT and the variables CFG reads secrets from: a
 * malloc'd array (strings borrowed from environ) with ROOM free slots after
 * the N filled ones, NULL-terminated. */
char **runner_env_base(const struct config *cfg, size_t room, size_t *n);
/* Starts H in a process group of its own, IN_FD as its stdin, OUT_FD /
 * ERR_FD as stdout / stderr (-1: the worker's), every other descriptor
 * closed, signals back to default. 0 or -errno (as runner_pipes). */
int runner_spawn(const struct handler *h, char **env, int in_fd, int out_fd, int err_fd,
                 pid_t *pid);
/* Two close-on-exec pipes for a handler: TO (its stdin) and FROM (its
 * stdout or stderr). Our ends, TO[1] and FROM[0], never block: the runners
 * poll them. 0 or -errno; every fd is -1 or open, the caller's to close. */
int runner_pipes(int to[2], int from[2]);
/* Fills RES for a handler that could not be started (RC: 0 or a negative
 * code, as runner_spawn's): RUN_SPAWN_FAILED, naming argv[0] and the cause. */
void runner_spawn_failed(struct run_result *res, const struct handler *h, int rc);

/* POSTs the event to h->url on CURL (the caller's). Always fills *res. */
void runner_http(void *curl, const struct handler *h, const struct run_input *in,
                 struct run_result *res);

enum verdict { VERDICT_OK, VERDICT_TRANSIENT, VERDICT_PERMANENT };

/* The SPEC's classification of one run for route RT. */
enum verdict classify(const struct route_cfg *rt, const struct run_result *res);
const char *verdict_name(enum verdict v); /* "ok", "transient", "permanent" */

/* last_error as stored in Redis: what, then ": " and the output. Returns
 * the length written into buf (always NUL-terminated). */
size_t run_last_error(const struct run_result *res, char *buf, size_t cap);

#endif
