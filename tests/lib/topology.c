/* topology.c — see topology.h. */
#define _GNU_SOURCE
#include "topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define PROBE_TIMEOUT_MS 300

/* A short-lived connection to 127.0.0.1:port, or NULL. */
static redisContext *probe_connect(int port)
{
    struct timeval tv = {0, PROBE_TIMEOUT_MS * 1000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

/* Replicas the server on port reports online, or -1 if it does not answer. */
static int replicas_online(int port)
{
    redisContext *c = probe_connect(port);
    redisReply *r = c ? redisCommand(c, "INFO replication") : NULL;
    int n = -1;

    if (r && r->type == REDIS_REPLY_STRING) {
        n = 0;
        for (const char *p = r->str; (p = strstr(p, "state=online")); p++)
            n++;
    }
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return n;
}

/* 1 when a write on the server on port reaches n replicas within 200 ms.
 * "online" alone is not enough: after a full sync the master streams
 * nothing to a replica until its first REPLCONF ACK, up to a second later. */
static int write_replicated(int port, int n)
{
    redisContext *c = probe_connect(port);
    redisReply *r = c ? redisCommand(c, "INCR topology:probe") : NULL;
    int ok = 0;

    if (r && r->type == REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        r = redisCommand(c, "WAIT %d 200", n);
        ok = r && r->type == REDIS_REPLY_INTEGER && r->integer >= n;
    }
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return ok;
}

void topo_wait_replicas(int master_port, int n, int timeout_ms)
{
    WAIT_FOR(replicas_online(master_port) >= n, timeout_ms);
    WAIT_FOR(write_replicated(master_port, n), timeout_ms);
}

void topo_start_pair(struct topo *t, enum topo_fsync fsync)
{
    struct redis_opts opts = {.appendonly = 1,
                              .appendfsync_always = fsync == TOPO_FSYNC_ALWAYS,
                              .extra_conf = TOPO_REDIS_CONF};
    char extra[256];

    memset(t, 0, sizeof *t);
    t->primary = redis_start(&opts);
    snprintf(extra, sizeof extra, "%s\nreplicaof 127.0.0.1 %d", TOPO_REDIS_CONF,
             redis_port(t->primary));
    opts.extra_conf = extra;
    t->replica = redis_start(&opts);
    topo_wait_replicas(redis_port(t->primary), 1, TOPO_SYNC_TIMEOUT_MS);
}

static struct proc *start_sentinel(const struct topo *t, int port, int down_after_ms)
{
    char name[64], conf[1024];
    const char *path, *argv[4];

    snprintf(name, sizeof name, "sentinel-%d", port);
    snprintf(conf, sizeof conf,
             "port %d\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\ndir \"%s\"\n"
             "sentinel monitor %s 127.0.0.1 %d 2\n"
             "sentinel down-after-milliseconds %s %d\n"
             "sentinel failover-timeout %s 10000\n"
             "sentinel parallel-syncs %s 1\n",
             port, harness_path(name), TOPO_MASTER_NAME, redis_port(t->primary),
             TOPO_MASTER_NAME, down_after_ms, TOPO_MASTER_NAME, TOPO_MASTER_NAME);
    snprintf(name, sizeof name, "sentinel-%d/sentinel.conf", port);
    path = harness_write_file(name, conf);
    argv[0] = "redis-server", argv[1] = path, argv[2] = "--sentinel", argv[3] = NULL;
    snprintf(name, sizeof name, "sentinel-%d", port);
    return proc_start(argv, NULL, name);
}

/* A numeric field of SENTINEL MASTER's flat field/value reply, or -1. */
static long long master_field(int sentinel_port, const char *field)
{
    redisContext *c = probe_connect(sentinel_port);
    redisReply *r = c ? redisCommand(c, "SENTINEL MASTER %s", TOPO_MASTER_NAME) : NULL;
    long long v = -1;

    if (r && r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            if (r->element[i]->type == REDIS_REPLY_STRING &&
                strcmp(r->element[i]->str, field) == 0 &&
                r->element[i + 1]->type == REDIS_REPLY_STRING)
                v = strtoll(r->element[i + 1]->str, NULL, 10);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return v;
}

void topo_start_sentinels(struct topo *t, int down_after_ms)
{
    size_t n = 0;

    for (int i = 0; i < TOPO_SENTINELS; i++) {
        t->sentinel_port[i] = harness_free_port();
        t->sentinel[i] = start_sentinel(t, t->sentinel_port[i], down_after_ms);
        n += (size_t)snprintf(t->sentinels + n, sizeof t->sentinels - n, "%s127.0.0.1:%d",
                              i ? "," : "", t->sentinel_port[i]);
    }
    /* Sentinels find each other through hello messages every 2 s. */
    for (int i = 0; i < TOPO_SENTINELS; i++) {
        WAIT_FOR(master_field(t->sentinel_port[i], "num-slaves") >= 1, TOPO_SYNC_TIMEOUT_MS);
        WAIT_FOR(master_field(t->sentinel_port[i], "num-other-sentinels") >= TOPO_SENTINELS - 1,
                 TOPO_SYNC_TIMEOUT_MS);
    }
}

int topo_master_port(const struct topo *t)
{
    for (int i = 0; i < TOPO_SENTINELS; i++) {
        redisContext *c = probe_connect(t->sentinel_port[i]);
        redisReply *r =
            c ? redisCommand(c, "SENTINEL get-master-addr-by-name %s", TOPO_MASTER_NAME) : NULL;
        int port = 0;

        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING)
            port = (int)strtol(r->element[1]->str, NULL, 10);
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
        if (port)
            return port;
    }
    return 0;
}

struct redis_srv *topo_server(const struct topo *t, int port)
{
    if (redis_port(t->primary) == port)
        return t->primary;
    if (redis_port(t->replica) == port)
        return t->replica;
    test_fail(__FILE__, __LINE__, "no server of the topology on port %d", port);
}

char *topo_receiver_conf(const char *redis_extra, const char *handler)
{
    char *text = NULL;

    if (asprintf(&text,
                 "[receiver]\n"
                 "listen = 127.0.0.1:@PORT@\n"
                 "admin_listen = 127.0.0.1:@ADMIN@\n"
                 "admin_token = test-admin-token\n"
                 "threads = 4\n"
                 "retry_after = 1s\n"
                 "trusted_proxies = 127.0.0.1\n"
                 "[redis]\n"
                 "url = @REDIS@\n"
                 "timeout = 500ms\n"
                 "%s\n"
                 "[source github]\n"
                 "scheme = github\n"
                 "secret.v1 = gh-secret-one\n"
                 "[route default]\n"
                 "handler = %s\n",
                 redis_extra ? redis_extra : "", handler ? handler : "exec:/bin/true") < 0)
        test_fail(__FILE__, __LINE__, "out of memory");
    return text;
}
