/*
 * redis_srv.c — a private redis-server per test (see redis_srv.h).
 *
 * The server gets a port from harness_free_port, a dir tmpdir/redis-PORT with
 * a generated redis.conf, and logs to stdout, i.e. to its proc log in the temp
 * dir. Between picking the port and redis binding it another process may take
 * it; redis_start then tries again with a new port. A restart reuses port, dir
 * and config, so the AOF written before a kill is what the new server loads;
 * "ready" means PING answers PONG, which redis only does once loading is done.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "harness_int.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/time.h>

#define MAX_REDIS_PER_TEST 16
#define START_ATTEMPTS 3
#define PROBE_TIMEOUT_MS 200
#define CONNECT_TIMEOUT_MS 2000
#define COMMAND_TIMEOUT_MS 10000

struct redis_srv {
    int port;
    char *dir;       /* tmpdir/redis-PORT */
    char *conf_path; /* dir/redis.conf */
    char *url;       /* redis://127.0.0.1:PORT/0 */
    char *sock_path; /* dir/redis.sock, or NULL */
    struct proc *proc;
};

static struct redis_srv *servers[MAX_REDIS_PER_TEST]; /* owned until the test ends */
static size_t nservers;

static struct timeval ms_to_tv(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    va_end(ap);
    return s;
}

static void write_conf(const struct redis_srv *r, const struct redis_opts *opts)
{
    struct hbuf conf = {.max = 1 << 20};
    int ok = hbuf_printf(&conf,
                         "bind 127.0.0.1\nport %d\ndaemonize no\ndir \"%s\"\nlogfile \"\"\n"
                         "save \"\"\nappendonly %s\nappendfsync %s\nprotected-mode no\n"
                         "enable-debug-command local\n",
                         r->port, r->dir, opts->appendonly ? "yes" : "no",
                         opts->appendfsync_always ? "always" : "everysec") == 0;

    if (ok && r->sock_path)
        ok = hbuf_printf(&conf, "unixsocket \"%s\"\nunixsocketperm 700\n", r->sock_path) == 0;
    if (ok && opts->extra_conf)
        ok = hbuf_printf(&conf, "%s\n", opts->extra_conf) == 0;
    if (!ok)
        test_fail(__FILE__, __LINE__, "harness: redis.conf too large");
    harness_write_file(r->conf_path, conf.data);
    hbuf_free(&conf);
}

/* 1 when the server answers PING with PONG (not -LOADING). */
static int answers_pong(int port)
{
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, ms_to_tv(PROBE_TIMEOUT_MS));
    redisReply *reply = NULL;
    int pong = 0;

    if (c && !c->err) {
        redisSetTimeout(c, ms_to_tv(PROBE_TIMEOUT_MS));
        reply = redisCommand(c, "PING");
        pong = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
    }
    if (reply)
        freeReplyObject(reply);
    if (c)
        redisFree(c);
    return pong;
}

/* Starts the process and waits for PONG: 0, or -1 if it exited or timed out. */
static int launch(struct redis_srv *r)
{
    const char *argv[] = {"redis-server", r->conf_path, NULL};
    char log_name[32];
    int64_t deadline = harness_now_ms() + REDIS_READY_TIMEOUT_MS;

    snprintf(log_name, sizeof log_name, "redis-%d", r->port);
    r->proc = proc_start(argv, NULL, log_name);
    for (unsigned i = 0;; i++) {
        if (answers_pong(r->port))
            return 0;
        if (!proc_alive(r->proc) || harness_now_ms() >= deadline)
            return -1;
        harness_backoff(i);
    }
}

static void init_paths(struct redis_srv *r, int port, int unixsocket)
{
    r->port = port;
    r->dir = xasprintf("%s/redis-%d", harness_tmpdir(), port);
    r->conf_path = xasprintf("%s/redis.conf", r->dir);
    r->url = xasprintf("redis://127.0.0.1:%d/0", port);
    r->sock_path = unixsocket ? xasprintf("%s/redis.sock", r->dir) : NULL;
    if (mkdir(r->dir, 0755) != 0 && errno != EEXIST)
        test_fail(__FILE__, __LINE__, "harness: mkdir %s: errno %d", r->dir, errno);
}

static void free_paths(struct redis_srv *r)
{
    free(r->dir);
    free(r->conf_path);
    free(r->url);
    free(r->sock_path);
}

struct redis_srv *redis_start(const struct redis_opts *opts)
{
    static const struct redis_opts defaults;
    struct redis_srv *r = calloc(1, sizeof *r);

    harness_init();
    if (!opts)
        opts = &defaults;
    if (!r || nservers == MAX_REDIS_PER_TEST)
        test_fail(__FILE__, __LINE__, "harness: too many redis servers (max %d)",
                  MAX_REDIS_PER_TEST);
    for (int attempt = 1;; attempt++) {
        init_paths(r, harness_free_port(), opts->unixsocket);
        write_conf(r, opts);
        if (launch(r) == 0)
            break;
        /* Lost the race for the port to another process: try another. */
        int port_taken = proc_log_count(r->proc, "Address already in use") > 0;
        proc_kill(r->proc);
        if (!port_taken || attempt == START_ATTEMPTS)
            test_fail(__FILE__, __LINE__,
                      "redis-server on port %d did not answer PING within %d ms", r->port,
                      REDIS_READY_TIMEOUT_MS);
        free_paths(r);
    }
    servers[nservers++] = r;
    return r;
}

int redis_port(const struct redis_srv *r)
{
    return r->port;
}

const char *redis_url(const struct redis_srv *r)
{
    return r->url;
}

const char *redis_socket_path(const struct redis_srv *r)
{
    return r->sock_path;
}

const char *redis_dir(const struct redis_srv *r)
{
    return r->dir;
}

struct proc *redis_proc(const struct redis_srv *r)
{
    return r->proc;
}

void redis_kill(struct redis_srv *r)
{
    proc_kill(r->proc);
}

void redis_stop(struct redis_srv *r)
{
    redisContext *c;

    if (!proc_alive(r->proc))
        return;
    proc_signal(r->proc, SIGCONT); /* in case a test paused it */
    c = redisConnectWithTimeout("127.0.0.1", r->port, ms_to_tv(CONNECT_TIMEOUT_MS));
    if (c && !c->err) {
        /* No reply on success: the server closes the connection. */
        redisReply *reply = redisCommand(c, "SHUTDOWN NOSAVE");
        if (reply)
            freeReplyObject(reply);
    }
    if (c)
        redisFree(c);
    if (proc_wait(r->proc, PROC_STOP_TIMEOUT_MS) < 0)
        proc_stop(r->proc);
}

void redis_restart(struct redis_srv *r)
{
    redis_stop(r);
    if (launch(r) < 0)
        test_fail(__FILE__, __LINE__, "redis-server restart on port %d: no PONG within %d ms",
                  r->port, REDIS_READY_TIMEOUT_MS);
}

redisContext *redis_connect(const struct redis_srv *r)
{
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, ms_to_tv(CONNECT_TIMEOUT_MS));

    if (!c || c->err)
        test_fail(__FILE__, __LINE__, "redis_connect 127.0.0.1:%d: %s", r->port,
                  c ? c->errstr : "out of memory");
    redisSetTimeout(c, ms_to_tv(COMMAND_TIMEOUT_MS));
    return c;
}

static redisReply *vcmd(redisContext *c, const char *fmt, va_list ap)
{
    redisReply *reply = redisvCommand(c, fmt, ap);

    if (!reply)
        test_fail(__FILE__, __LINE__, "redis command \"%s\" failed: %s", fmt,
                  c->err ? c->errstr : "no reply");
    return reply;
}

redisReply *redis_cmd(redisContext *c, const char *fmt, ...)
{
    redisReply *reply;
    va_list ap;

    va_start(ap, fmt);
    reply = vcmd(c, fmt, ap);
    va_end(ap);
    return reply;
}

long long redis_int(redisContext *c, const char *fmt, ...)
{
    redisReply *reply;
    long long value;
    va_list ap;

    va_start(ap, fmt);
    reply = vcmd(c, fmt, ap);
    va_end(ap);
    if (reply->type != REDIS_REPLY_INTEGER)
        test_fail(__FILE__, __LINE__, "redis \"%s\": expected an integer, got type %d (%s)", fmt,
                  reply->type, reply->type == REDIS_REPLY_ERROR ? reply->str : "");
    value = reply->integer;
    freeReplyObject(reply);
    return value;
}

char *redis_str(redisContext *c, const char *fmt, ...)
{
    redisReply *reply;
    char *value = NULL;
    va_list ap;

    va_start(ap, fmt);
    reply = vcmd(c, fmt, ap);
    va_end(ap);
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) {
        value = malloc(reply->len + 1);
        if (!value)
            test_fail(__FILE__, __LINE__, "harness: out of memory");
        memcpy(value, reply->str, reply->len);
        value[reply->len] = '\0';
    } else if (reply->type != REDIS_REPLY_NIL) {
        test_fail(__FILE__, __LINE__, "redis \"%s\": expected a string, got type %d (%s)", fmt,
                  reply->type, reply->type == REDIS_REPLY_ERROR ? reply->str : "");
    }
    freeReplyObject(reply);
    return value;
}

void redis_srv_teardown(void)
{
    /* The processes are proc.c's and already stopped. */
    for (size_t i = 0; i < nservers; i++) {
        free_paths(servers[i]);
        free(servers[i]);
    }
    nservers = 0;
}

long long redis_num(redisContext *c, const char *fmt, ...)
{
    redisReply *reply;
    long long value = 0;
    char *end = NULL;
    va_list ap;

    va_start(ap, fmt);
    reply = vcmd(c, fmt, ap);
    va_end(ap);
    if (reply->type == REDIS_REPLY_INTEGER) {
        value = reply->integer;
    } else if (reply->type == REDIS_REPLY_STRING) {
        value = strtoll(reply->str, &end, 10);
        if (reply->len == 0 || *end)
            test_fail(__FILE__, __LINE__, "redis \"%s\": expected a number, got \"%.40s\"", fmt,
                      reply->str);
    } else if (reply->type != REDIS_REPLY_NIL) {
        test_fail(__FILE__, __LINE__, "redis \"%s\": expected a number, got type %d (%s)", fmt,
                  reply->type, reply->type == REDIS_REPLY_ERROR ? reply->str : "");
    }
    freeReplyObject(reply);
    return value;
}
