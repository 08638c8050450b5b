/*
 * store_cluster.c — Redis Cluster support for struct store: following
 * -MOVED and -ASK redirections with a small slot → node cache.
 *
 * Why by hand: Debian 12 ships hiredis 0.14, which has no cluster client,
 * and no cluster-aware C client is packaged (hiredis-cluster is not). hookd
 * needs little of one: every key of a route carries the hash tag {ROUTE}, so
 * each command and each Lua step touches exactly one slot, and a slot's
 * owner is learnt from the first -MOVED it causes. No CLUSTER SLOTS polling,
 * no pipelines across nodes, no cross-slot commands.
 *
 * Which argument is the key: every key hookd builds starts with "PREFIX:"
 * (store_keys.c) and comes before any value in every command hookd sends
 * (EVALSHA sha numkeys KEY..., XADD KEY ..., XREADGROUP ... STREAMS KEY ...),
 * so the first argument that begins with the prefix is the key. A command
 * without one (PING, WAIT) goes where the previous command went — WAIT must
 * reach the node that took the write it waits for.
 *
 * The node table holds at most STORE_CLUSTER_MAX_NODES addresses; indices
 * are stable for the store's life (a dropped node keeps its entry and only
 * loses its connection and its cached slots).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_conn.h"

struct store_node {
    char *host;        /* owned */
    int port;
    redisContext *ctx; /* owned; NULL while disconnected */
    uint64_t conn;     /* serial of ctx (struct store's conns_opened) */
};

struct store_cluster {
    struct store_node nodes[STORE_CLUSTER_MAX_NODES];
    size_t nnodes;
    unsigned char slot_node[STORE_CLUSTER_SLOTS]; /* node index + 1; 0 = unknown */
};

/* CRC16-CCITT (XMODEM), the checksum the Redis Cluster spec names. */
static unsigned crc16(const char *p, size_t n)
{
    unsigned crc = 0;

    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned)(unsigned char)p[i] << 8;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    return crc;
}

int store_cluster_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);

    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        /* "{}" hashes the whole key, as Redis does. */
        if (close && close > open + 1)
            return (int)(crc16(open + 1, (size_t)(close - open - 1)) % STORE_CLUSTER_SLOTS);
    }
    return (int)(crc16(key, len) % STORE_CLUSTER_SLOTS);
}

/* The slot of the command's first key, or HOOKD_ENOT_FOUND when it has none. */
static int command_slot(const struct store *st, int argc, const char **argv, const size_t *len)
{
    size_t plen = strlen(st->prefix);

    for (int i = 1; i < argc; i++)
        if (len[i] > plen && memcmp(argv[i], st->prefix, plen) == 0 && argv[i][plen] == ':')
            return store_cluster_key_slot(argv[i], len[i]);
    return HOOKD_ENOT_FOUND;
}

int store_cluster_route(struct store *st, int argc, const char **argv, const size_t *argvlen)
{
    struct store_conn *sc = store_conn(st);
    struct store_cluster *cl = sc->cluster;
    int slot;

    if (!cl)
        return STORE_MAIN_NODE;
    slot = command_slot(st, argc, argv, argvlen);
    if (slot < 0)
        return sc->last_node;
    if (cl->slot_node[slot])
        return cl->slot_node[slot] - 1;
    /* Unknown slot: the seed answers with a MOVED. If the seed is down, any
     * node we still talk to does the same. */
    if (!st->ctx)
        for (size_t i = 0; i < cl->nnodes; i++)
            if (cl->nodes[i].ctx)
                return (int)i;
    return STORE_MAIN_NODE;
}

redisContext *store_cluster_ctx(struct store *st, int node, int *rc)
{
    struct store_cluster *cl = store_conn(st)->cluster;
    struct timeval tv = {st->timeout_ms / 1000, (st->timeout_ms % 1000) * 1000};
    struct store_node *n;

    if (!cl || node < 0 || (size_t)node >= cl->nnodes) {
        *rc = HOOKD_EREDIS_CONN;
        return NULL;
    }
    n = &cl->nodes[node];
    if (n->ctx && !n->ctx->err)
        return n->ctx;
    if (n->ctx)
        redisFree(n->ctx);
    n->ctx = redisConnectWithTimeout(n->host, n->port, tv);
    if (!n->ctx || n->ctx->err || redisSetTimeout(n->ctx, tv) != REDIS_OK ||
        store_handshake(st, n->ctx) < 0) {
        if (!st->down)
            log_msg(LOG_WARN, EV_REDIS_DOWN, "cannot connect to cluster node %s:%d", n->host,
                    n->port);
        store_cluster_drop(st, node);
        st->down = true;
        *rc = HOOKD_EREDIS_CONN;
        return NULL;
    }
    n->conn = ++st->conns_opened;
    *rc = 0;
    return n->ctx;
}

uint64_t store_cluster_conn(struct store *st, int node)
{
    struct store_cluster *cl = store_conn(st)->cluster;

    return cl && node >= 0 && (size_t)node < cl->nnodes && cl->nodes[node].ctx
               ? cl->nodes[node].conn
               : 0;
}

redisContext *store_cluster_ctx_of(struct store *st, uint64_t conn, int *node)
{
    struct store_cluster *cl = store_conn(st)->cluster;

    for (size_t i = 0; cl && i < cl->nnodes; i++)
        if (cl->nodes[i].ctx && !cl->nodes[i].ctx->err && cl->nodes[i].conn == conn) {
            *node = (int)i;
            return cl->nodes[i].ctx;
        }
    return NULL;
}

/* The index of host:port in the table, adding it if new; HOOKD_ETOO_LARGE
 * when full, HOOKD_ENOMEM. */
static int node_index(struct store_cluster *cl, const char *host, size_t hlen, int port)
{
    for (size_t i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i].port == port && strlen(cl->nodes[i].host) == hlen &&
            memcmp(cl->nodes[i].host, host, hlen) == 0)
            return (int)i;
    if (cl->nnodes == STORE_CLUSTER_MAX_NODES)
        return HOOKD_ETOO_LARGE;
    if (!(cl->nodes[cl->nnodes].host = strndup(host, hlen)))
        return HOOKD_ENOMEM;
    cl->nodes[cl->nnodes].port = port;
    return (int)cl->nnodes++;
}

/* Decimal digits at p (before end), value < limit: the first byte after
 * them, or NULL when there are none or the value is too large. */
static const char *parse_uint(const char *p, const char *end, long limit, long *out)
{
    const char *start = p;

    *out = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        if ((*out = *out * 10 + (*p - '0')) >= limit)
            return NULL;
    return p == start ? NULL : p;
}

/* "MOVED 3999 127.0.0.1:6381" (or ASK): slot and address (a view into s);
 * HOOKD_EPARSE if malformed. An empty host or "?" (unknown endpoint) is not followed. */
static int parse_redirect(const char *s, size_t n, int *slot, const char **host, size_t *hlen,
                          int *port)
{
    const char *end = s + n, *sp = memchr(s, ' ', n), *addr, *colon = NULL, *p;
    long v;

    if (!sp || !(p = parse_uint(sp + 1, end, STORE_CLUSTER_SLOTS, &v)) || p == end || *p != ' ')
        return HOOKD_EPARSE;
    *slot = (int)v;
    addr = p + 1;
    for (p = addr; p < end; p++)
        if (*p == ':')
            colon = p;
    if (!colon || colon == addr || *addr == '?')
        return HOOKD_EPARSE;
    if (!(p = parse_uint(colon + 1, end, 65536, &v)) || p != end || v == 0)
        return HOOKD_EPARSE;
    *port = (int)v;
    *host = addr;
    *hlen = (size_t)(colon - addr);
    return 0;
}

int store_cluster_redirect(struct store *st, const redisReply *r, int *node, bool *asking)
{
    struct store_conn *sc = store_conn(st);
    bool moved, ask;
    const char *host;
    size_t hlen;
    int slot, port, idx;

    if (r->type != REDIS_REPLY_ERROR)
        return 0;
    moved = r->len > 6 && memcmp(r->str, "MOVED ", 6) == 0;
    ask = r->len > 4 && memcmp(r->str, "ASK ", 4) == 0;
    if (!moved && !ask)
        return 0;
    if (parse_redirect(r->str, r->len, &slot, &host, &hlen, &port) < 0) {
        log_msg(LOG_ERROR, EV_ERROR, "unparseable cluster redirect: %.80s", r->str);
        return HOOKD_EREDIS_REPLY;
    }
    if (!sc->cluster && !(sc->cluster = calloc(1, sizeof *sc->cluster)))
        return HOOKD_ENOMEM;
    if ((idx = node_index(sc->cluster, host, hlen, port)) < 0) {
        log_msg(LOG_ERROR, EV_ERROR, "cluster redirect to %.*s:%d: node table full",
                (int)hlen, host, port);
        return HOOKD_EREDIS_REPLY;
    }
    if (moved)
        sc->cluster->slot_node[slot] = (unsigned char)(idx + 1);
    *node = idx;
    *asking = ask;
    return 1;
}

void store_cluster_drop(struct store *st, int node)
{
    struct store_conn *sc = store_conn(st);
    struct store_cluster *cl = sc->cluster;

    if (!cl || node < 0 || (size_t)node >= cl->nnodes)
        return;
    if (cl->nodes[node].ctx)
        redisFree(cl->nodes[node].ctx);
    cl->nodes[node].ctx = NULL;
    /* Its slots may have moved (a cluster failover): ask the seed again. */
    for (size_t s = 0; s < STORE_CLUSTER_SLOTS; s++)
        if (cl->slot_node[s] == (unsigned char)(node + 1))
            cl->slot_node[s] = 0;
    if (sc->last_node == node)
        sc->last_node = STORE_MAIN_NODE;
}

void store_cluster_free(struct store *st)
{
    struct store_conn *sc = store_conn(st);

    if (!sc->cluster)
        return;
    for (size_t i = 0; i < sc->cluster->nnodes; i++) {
        if (sc->cluster->nodes[i].ctx)
            redisFree(sc->cluster->nodes[i].ctx);
        free(sc->cluster->nodes[i].host);
    }
    free(sc->cluster);
    sc->cluster = NULL;
}
