/*
 * test_cluster.c — hookd on a Redis Cluster of three masters (make
 * test-deploy): routes chosen so that each master owns the slot of at least
 * two of them; one receiver seeded with a single node's URL enqueues into
 * every route's slot (following -MOVED), two workers process everything.
 * Then one route's slot is migrated to another master by hand. While its
 * keys sit on the target and the slot is still "migrating", the source
 * answers -ASK; the receiver follows it (ASKING on the target), where the
 * enqueue step — several keys, the new dedupe record among them — gets
 * -TRYAGAIN, as Redis answers any multi-key command with missing keys in a
 * slot being imported: 503, never a 2xx. Once the slot is handed over the
 * retry follows -MOVED and is queued on the new owner.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy_util.h"
#include "store_conn.h"

#define NODES 3
#define ROUTES_PER_NODE 2
#define NROUTES (NODES * ROUTES_PER_NODE)
#define EVENTS_PER_ROUTE 20
#define CLUSTER_TIMEOUT_MS 20000

struct cluster {
    int port[NODES];
    char id[NODES][48];
    int owner[STORE_CLUSTER_SLOTS]; /* node index owning each slot */
};

struct route {
    char name[16];
    int slot, node;
};

static void start_node(int port)
{
    char name[64], conf[512];
    const char *path;

    snprintf(name, sizeof name, "cluster-%d", port);
    snprintf(conf, sizeof conf,
             "port %d\nbind 127.0.0.1\ndir \"%s\"\nlogfile \"\"\nsave \"\"\nappendonly no\n"
             "protected-mode no\ncluster-enabled yes\ncluster-config-file nodes.conf\n"
             "cluster-node-timeout 2000\ncluster-port %d\n",
             port, harness_path(name), harness_free_port()); /* bus: not port + 10000 */
    snprintf(name, sizeof name, "cluster-%d/redis.conf", port);
    path = harness_write_file(name, conf);
    const char *argv[] = {"redis-server", path, NULL};
    snprintf(name, sizeof name, "cluster-%d", port);
    proc_start(argv, NULL, name);
}

static redisContext *node_connect(int port)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

    if (!c || c->err)
        test_fail(__FILE__, __LINE__, "cannot connect to cluster node %d", port);
    redisSetTimeout(c, tv);
    return c;
}

static int node_answers(int port)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS;

    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return ok;
}

static int cluster_ok(int port)
{
    redisContext *c = node_connect(port);
    char *info = redis_str(c, "CLUSTER INFO");
    int ok = info && strstr(info, "cluster_state:ok") != NULL;

    free(info);
    redisFree(c);
    return ok;
}

/* Node ids and the slot → node map, from CLUSTER SLOTS. */
static void read_layout(struct cluster *cl)
{
    redisContext *c = node_connect(cl->port[0]);
    redisReply *r = redis_cmd(c, "CLUSTER SLOTS");

    ASSERT_INT_EQ(r->type, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *range = r->element[i], *master = range->element[2];
        int port = (int)master->element[1]->integer, node = -1;
        for (int n = 0; n < NODES; n++)
            if (cl->port[n] == port)
                node = n;
        ASSERT(node >= 0);
        snprintf(cl->id[node], sizeof cl->id[node], "%s", master->element[2]->str);
        for (long long s = range->element[0]->integer; s <= range->element[1]->integer; s++)
            cl->owner[s] = node;
    }
    freeReplyObject(r);
    redisFree(c);
}

static void start_cluster(struct cluster *cl)
{
    char addr[NODES][32], *out = NULL;
    const char *argv[6 + NODES + 1] = {"redis-cli", "--cluster", "create"};
    int argc = 3;

    for (int i = 0; i < NODES; i++) {
        cl->port[i] = harness_free_port();
        start_node(cl->port[i]);
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", cl->port[i]);
        argv[argc++] = addr[i];
    }
    for (int i = 0; i < NODES; i++)
        WAIT_FOR(node_answers(cl->port[i]), 10000);
    argv[argc++] = "--cluster-replicas", argv[argc++] = "0", argv[argc++] = "--cluster-yes";
    argv[argc] = NULL;
    if (harness_run(argv, &out, CLUSTER_TIMEOUT_MS) != 0)
        test_fail(__FILE__, __LINE__, "redis-cli --cluster create failed: %s", out ? out : "");
    free(out);
    for (int i = 0; i < NODES; i++)
        WAIT_FOR(cluster_ok(cl->port[i]), CLUSTER_TIMEOUT_MS);
    read_layout(cl);
}

/* Route names r0, r1, ... kept while their node still needs routes. */
static void choose_routes(const struct cluster *cl, struct route *routes)
{
    int per_node[NODES] = {0}, n = 0;

    for (int i = 0; n < NROUTES && i < 1000; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        int slot = store_cluster_key_slot(name, strlen(name)), node = cl->owner[slot];
        if (per_node[node] == ROUTES_PER_NODE)
            continue;
        per_node[node]++;
        snprintf(routes[n].name, sizeof routes[n].name, "%s", name);
        routes[n].slot = slot, routes[n].node = node;
        n++;
    }
    ASSERT_INT_EQ(n, NROUTES);
}

static const char *write_config(const struct cluster *cl, const struct route *routes, int port,
                                int admin, const char *handler)
{
    char text[4096];
    size_t n;

    n = (size_t)snprintf(text, sizeof text,
                         "[receiver]\nlisten = 127.0.0.1:%d\nadmin_listen = 127.0.0.1:%d\n"
                         "admin_token = test-admin-token\nthreads = 2\nretry_after = 1s\n"
                         "[redis]\nurl = redis://127.0.0.1:%d/0\ntimeout = 1s\n"
                         "[source github]\nscheme = github\nsecret.v1 = %s\n",
                         port, admin, cl->port[0], DEPLOY_SECRET);
    for (int i = 0; i < NROUTES; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "[route %s]\nmatch = github:t-%s\nhandler = %s\n"
                              "visibility_timeout = 5s\n",
                              routes[i].name, routes[i].name, handler);
    n += (size_t)snprintf(text + n, sizeof text - n, "[route default]\nhandler = %s\n", handler);
    ASSERT(n < sizeof text);
    return harness_write_file("cluster.conf", text);
}

/* A signed GitHub event straight to the receiver; returns the status. */
static int post(int port, int n, const char *type)
{
    char id[32], body[128], sig[SIG_BUF_SIZE], h1[300], h2[64], h3[64];
    struct http_response resp = {0};
    int status;

    snprintf(id, sizeof id, "ev-%d", n);
    snprintf(body, sizeof body, "{\"n\":%d}", n);
    github_signature(DEPLOY_SECRET, body, strlen(body), sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    snprintf(h2, sizeof h2, "X-GitHub-Delivery: %s", id);
    snprintf(h3, sizeof h3, "X-GitHub-Event: %s", type);
    const char *headers[] = {h1, h2, h3, "Content-Type: application/json", NULL};
    status = http_request(port, "POST", "/hooks/github", headers, body, strlen(body), &resp) == 0
                 ? resp.status : 0;
    http_response_free(&resp);
    return status;
}

/* Sends event n until it gets a 2xx (within 10 s); counts the 503s. */
static void deliver(struct deploy_sender *s, int port, int n, const char *route, int *unavailable)
{
    char type[32];
    int64_t deadline = harness_now_ms() + 10000;
    int status;

    snprintf(type, sizeof type, "t-%s", route);
    while ((status = post(port, n, type)) != 202) {
        ASSERT_INT_EQ(status, 503);
        ASSERT_INT_OP(harness_now_ms(), <, deadline);
        (*unavailable)++;
        harness_backoff(5);
    }
    s->acked_flag[n] = 1, s->acked++;
    if (n >= s->next)
        s->next = n + 1;
}

/* XLEN of a route's stream asked of one node: -1 when the node redirects. */
static long long stream_len_on(int port, const char *route)
{
    redisContext *c = node_connect(port);
    redisReply *r = redis_cmd(c, "XLEN hookd:{%s}:stream", route);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    freeReplyObject(r);
    redisFree(c);
    return n;
}

/* calls= of a command in a node's INFO commandstats (0 if never called). */
static long long command_calls(int port, const char *cmd)
{
    redisContext *c = node_connect(port);
    char *info = redis_str(c, "INFO commandstats"), needle[64];
    const char *p;
    long long n = 0;

    snprintf(needle, sizeof needle, "cmdstat_%s:calls=", cmd);
    if (info && (p = strstr(info, needle)))
        n = strtoll(p + strlen(needle), NULL, 10);
    free(info);
    redisFree(c);
    return n;
}

/* Moves every key of slot from node `from` to node `to`, leaving the slot
 * in the migrating/importing state (clients get -ASK) until finish_move. */
static void move_keys(const struct cluster *cl, int slot, int from, int to)
{
    redisContext *src = node_connect(cl->port[from]), *dst = node_connect(cl->port[to]);
    redisReply *keys;

    freeReplyObject(redis_cmd(dst, "CLUSTER SETSLOT %d IMPORTING %s", slot, cl->id[from]));
    freeReplyObject(redis_cmd(src, "CLUSTER SETSLOT %d MIGRATING %s", slot, cl->id[to]));
    keys = redis_cmd(src, "CLUSTER GETKEYSINSLOT %d 1000", slot);
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *m = redis_cmd(src, "MIGRATE 127.0.0.1 %d %b 0 5000", cl->port[to],
                                  keys->element[i]->str, keys->element[i]->len);
        ASSERT_INT_EQ(m->type, REDIS_REPLY_STATUS);
        freeReplyObject(m);
    }
    freeReplyObject(keys);
    redisFree(src);
    redisFree(dst);
}

static void finish_move(const struct cluster *cl, int slot, int to)
{
    for (int i = 0; i < NODES; i++) {
        redisContext *c = node_connect(cl->port[i]);
        freeReplyObject(redis_cmd(c, "CLUSTER SETSLOT %d NODE %s", slot, cl->id[to]));
        redisFree(c);
    }
}

TEST_T(deploy_cluster_routes_over_three_masters, 180)
{
    static struct deploy_sender s;
    static struct cluster cl;
    struct route routes[NROUTES];
    int port = harness_free_port(), admin = harness_free_port(), n = 0, unavailable = 0;
    int lost, dups, holding[NODES] = {0};
    const char *conf, *handler;

    deploy_require_tools();
    start_cluster(&cl);
    choose_routes(&cl, routes);
    handler = deploy_counting_handler();
    conf = write_config(&cl, routes, port, admin, handler);
    receiver_start(conf, admin);
    const char *w[] = {harness_bin("hookd-worker"), "-c", conf, NULL};
    proc_start(w, NULL, "worker-1");
    proc_start(w, NULL, "worker-2");

    for (int e = 0; e < EVENTS_PER_ROUTE; e++)
        for (int i = 0; i < NROUTES; i++)
            deliver(&s, port, n++, routes[i].name, &unavailable);
    ASSERT_INT_EQ(unavailable, 0);
    printf("    cluster: %d routes over %d masters, %d events each\n", NROUTES, NODES,
           EVENTS_PER_ROUTE);
    for (int i = 0; i < NROUTES; i++) {
        int owner = routes[i].node;
        for (int k = 0; k < NODES; k++)
            ASSERT_INT_EQ(stream_len_on(cl.port[k], routes[i].name),
                          k == owner ? EVENTS_PER_ROUTE : -1);
        holding[owner]++;
        printf("      route %-3s slot %5d  master 127.0.0.1:%d\n", routes[i].name, routes[i].slot,
               cl.port[owner]);
    }
    for (int k = 0; k < NODES; k++)
        ASSERT_INT_EQ(holding[k], ROUTES_PER_NODE);

    /* Resharding: route 0's slot moves to the next master. */
    int from = routes[0].node, to = (from + 1) % NODES;
    char type[32];
    snprintf(type, sizeof type, "t-%s", routes[0].name);
    move_keys(&cl, routes[0].slot, from, to);
    long long asking = command_calls(cl.port[to], "asking");
    ASSERT_INT_EQ(post(port, n, type), 503); /* -ASK, then -TRYAGAIN */
    ASSERT_INT_OP(command_calls(cl.port[to], "asking"), >, asking);
    finish_move(&cl, routes[0].slot, to);
    deliver(&s, port, n++, routes[0].name, &unavailable); /* -MOVED */
    for (int e = 0; e < EVENTS_PER_ROUTE; e++) /* -MOVED, then the new owner */
        deliver(&s, port, n++, routes[0].name, &unavailable);
    ASSERT_INT_EQ(stream_len_on(cl.port[to], routes[0].name), 2 * EVENTS_PER_ROUTE + 1);
    ASSERT_INT_EQ(stream_len_on(cl.port[from], routes[0].name), -1);

    deploy_check_handled(&s, 60000, &lost, &dups);
    printf("      slot %d moved to 127.0.0.1:%d: mid-move 503 (ASK followed, TRYAGAIN), "
           "after it 202 (MOVED followed); other 503s: %d\n"
           "      events acknowledged %d, lost %d, handled twice %d\n",
           routes[0].slot, cl.port[to], unavailable, s.acked, lost, dups);
    ASSERT_INT_EQ(lost, 0);
    ASSERT_INT_EQ(dups, 0);
}
