/*
 * redis_srv.h — a private redis-server for a test: its own free loopback
 * port, its own dir in the test's temp dir, a generated redis.conf, output in
 * the test's logs. Part of harness.h. A struct redis_srv is owned by the
 * harness until the test ends; the server is stopped then.
 *
 * The server runs `redis-server` from PATH with `enable-debug-command local`,
 * so tests can use DEBUG SLEEP for a slow server, proc_signal(redis_proc(r),
 * SIGSTOP) for a hung one, and redis_kill for a dead one.
 */
#ifndef HOOKD_TEST_REDIS_SRV_H
#define HOOKD_TEST_REDIS_SRV_H

#include <hiredis/hiredis.h>

struct redis_srv;
struct proc;

struct redis_opts {
    int appendonly;         /* 1: AOF persistence (default: none at all) */
    int appendfsync_always; /* with appendonly: fsync each write, so an
                               acknowledged write survives kill -9 */
    int unixsocket;         /* also listen on DIR/redis.sock */
    const char *extra_conf; /* more redis.conf lines, or NULL */
};

#define REDIS_READY_TIMEOUT_MS 10000

/* Starts a server (opts NULL: defaults) and waits until PING answers PONG.
 * Fails the test if it does not come up. */
struct redis_srv *redis_start(const struct redis_opts *opts);

int redis_port(const struct redis_srv *r);
const char *redis_url(const struct redis_srv *r);         /* redis://127.0.0.1:PORT/0 */
const char *redis_socket_path(const struct redis_srv *r); /* NULL without unixsocket */
const char *redis_dir(const struct redis_srv *r);
struct proc *redis_proc(const struct redis_srv *r); /* the current process */

void redis_kill(struct redis_srv *r); /* SIGKILL: no shutdown, no final fsync */
void redis_stop(struct redis_srv *r); /* SHUTDOWN NOSAVE, else SIGTERM / SIGKILL */
/* Stops it if running, starts it again on the same port, dir and config, and
 * waits until it answers PONG (the AOF is loaded by then). Fails the test if
 * it does not come up. */
void redis_restart(struct redis_srv *r);

/* A new connection (2 s connect timeout, 10 s command timeout), the caller's
 * to redisFree. Fails the test if it cannot connect. */
redisContext *redis_connect(const struct redis_srv *r);

/* redisCommand; fails the test on a connection or protocol error (not on an
 * error reply). The reply is the caller's to freeReplyObject. */
redisReply *redis_cmd(redisContext *c, const char *fmt, ...);
/* An integer reply's value; fails the test on any other reply. */
long long redis_int(redisContext *c, const char *fmt, ...);
/* A string or status reply (malloc'd) or NULL for nil; fails the test on
 * any other reply. */
char *redis_str(redisContext *c, const char *fmt, ...);
/* A number however Redis answers it: an integer, a decimal string (a hash
 * field, HGET) or nil, which is 0; fails the test on anything else. */
long long redis_num(redisContext *c, const char *fmt, ...);

#endif
