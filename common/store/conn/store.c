/*
 * store.c — the Redis connection behind struct store: URL parsing, lazy
 * (re)connection with a throttle, timeouts on every command, EVALSHA with
 * NOSCRIPT fallback, and where each command goes (main connection, the
 * master Sentinel names, or a cluster node: see the diagram in
 * store_conn.h).
 *
 * Failure model: any connection error or timeout drops the hiredis context
 * (its stream state is unknown after a timeout) and the next call reconnects.
 * A timed-out enqueue may still have been applied by Redis: the caller
 * answers 503, the provider retries, and the dedupe record turns the retry
 * into a 200 duplicate. Never a 2xx without the reply in hand.
 *
 * Failover: a node that stops being a writable master says so with an error
 * reply (-READONLY from a demoted master, -LOADING while it reloads,
 * -MASTERDOWN, -CLUSTERDOWN). The reply goes back to the caller (→ 503) and
 * the connection is dropped, so the next call asks Sentinel again and lands
 * on the new master without a restart.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "err.h"
#include "clock.h"
#include "log.h"
#include "redis_url.h"
#include "store_conn.h"

int64_t store_now_ms(void)
{
    return clock_mono_ms();
}

int64_t store_wall_ms(void)
{
    return clock_wall_ms();
}

/* The URL's parts into the store: redis_url.c is the one parser, the one
 * the config's validation runs too. */
static int parse_url(struct store *st, const char *url, char *err, size_t errlen)
{
    struct redis_url u;

    int rc;

    if ((rc = redis_url_parse(url, &u, err, errlen)) < 0)
        return rc;
    st->host = u.host, st->unix_path = u.unix_path;
    st->port = u.port, st->db = u.db;
    u.host = u.unix_path = NULL;
    if (u.password) { /* the URL's password wins over [redis] password */
        if (st->password)
            OPENSSL_cleanse(st->password, strlen(st->password));
        free(st->password);
        st->password = u.password, u.password = NULL;
    }
    redis_url_free(&u);
    return 0;
}

struct store *store_open(const struct redis_cfg *cfg, char *err, size_t errlen)
{
    struct store_conn *sc = calloc(1, sizeof *sc);
    struct store *st = sc ? &sc->st : NULL;

    if (!st)
        goto nomem;
    sc->last_node = STORE_MAIN_NODE;
    st->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
    st->last_attempt_ms = -STORE_RECONNECT_MIN_MS * 10;
    if (!(st->prefix = strdup(cfg->prefix ? cfg->prefix : "hookd")))
        goto nomem;
    if (cfg->password && !(st->password = strdup(cfg->password)))
        goto nomem;
    if (cfg->master_name && !(st->master_name = strdup(cfg->master_name)))
        goto nomem;
    if (cfg->nsentinels) {
        if (!(st->sentinels = calloc(cfg->nsentinels, sizeof(char *))))
            goto nomem;
        for (size_t i = 0; i < cfg->nsentinels; i++, st->nsentinels++)
            if (!(st->sentinels[i] = strdup(cfg->sentinels[i])))
                goto nomem;
    }
    err[0] = '\0';
    if (parse_url(st, cfg->url ? cfg->url : "redis://127.0.0.1:6379/0", err, errlen) < 0) {
        if (!err[0])
            goto nomem;
        store_close(st);
        return NULL;
    }
    return st;
nomem:
    snprintf(err, errlen, "out of memory");
    store_close(st);
    return NULL;
}

static void drop_connection(struct store *st)
{
    if (st->ctx)
        redisFree(st->ctx);
    st->ctx = NULL;
    st->down = true;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    drop_connection(st);
    store_cluster_free(st);
    free(st->host);
    free(st->unix_path);
    if (st->password) {
        OPENSSL_cleanse(st->password, strlen(st->password));
        free(st->password);
    }
    free(st->prefix);
    for (size_t i = 0; i < st->nsentinels; i++)
        free(st->sentinels[i]);
    free(st->sentinels);
    free(st->master_name);
    free(store_conn(st));
}

bool store_is_down(const struct store *st)
{
    return st->down;
}

double store_last_rtt_ms(const struct store *st)
{
    return st->last_rtt_ms;
}

int store_handshake(struct store *st, redisContext *c)
{
    redisReply *r;

    /* Redis's error replies name the user at most, never the password. */
    if (st->password) {
        r = redisCommand(c, "AUTH %s", st->password);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok)
            store_why(st, "auth failed (%.120s)", r && r->type == REDIS_REPLY_ERROR ? r->str
                                                                                   : c->errstr);
        freeReplyObject(r);
        if (!ok)
            return HOOKD_EREDIS_CONN;
    }
    if (st->db) {
        r = redisCommand(c, "SELECT %d", st->db);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok)
            store_why(st, "SELECT %d failed (%.120s)", st->db,
                      r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        freeReplyObject(r);
        if (!ok)
            return HOOKD_EREDIS_CONN;
    }
    return 0;
}

/*
 * True when the peer has closed an idle connection (Redis restarted, an
 * idle timeout, a failover): poll() sees the FIN before we send. Sending a
 * command on such a socket would fail only after the write, when we could
 * no longer tell whether Redis ran it; checking first lets the caller
 * reconnect and send it exactly once.
 */
static bool peer_closed(const redisContext *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};

    /* An idle RESP connection has nothing to read: readable means EOF or
     * an error, never a reply we are owed. */
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

int store_connect(struct store *st)
{
    struct timeval tv = {st->timeout_ms / 1000, (st->timeout_ms % 1000) * 1000};
    int64_t now = store_now_ms();
    const char *host = st->host;
    int port = st->port;
    char *resolved = NULL;

    if (st->ctx && !st->ctx->err && !peer_closed(st->ctx))
        return 0;
    if (st->ctx && !st->ctx->err)
        st->last_attempt_ms = now - STORE_RECONNECT_MIN_MS; /* closed while idle: retry now */
    drop_connection(st);
    if (now - st->last_attempt_ms < STORE_RECONNECT_MIN_MS)
        return HOOKD_EREDIS_CONN;
    st->last_attempt_ms = now;
    if (st->nsentinels) {
        if (store_sentinel_resolve(st, &resolved, &port) < 0)
            return HOOKD_EREDIS_CONN;
        host = resolved;
    }
    st->ctx = st->unix_path && !st->nsentinels ? redisConnectUnixWithTimeout(st->unix_path, tv)
                                               : redisConnectWithTimeout(host, port, tv);
    free(resolved);
    if (!st->ctx || st->ctx->err)
        store_why(st, "%s", st->ctx ? st->ctx->errstr : "out of memory");
    if (!st->ctx || st->ctx->err || redisSetTimeout(st->ctx, tv) != REDIS_OK ||
        store_handshake(st, st->ctx) < 0 || (st->nsentinels && store_sentinel_check_role(st) < 0)) {
        drop_connection(st);
        return HOOKD_EREDIS_CONN;
    }
    if (st->down)
        log_msg(LOG_INFO, EV_REDIS_UP, "connected to Redis");
    st->down = false;
    st->ctx_conn = ++st->conns_opened;
    return 0;
}

/* Error replies after which this connection must not be used again as is:
 * the node is no longer (or not yet) a writable master. */
static bool failover_reply(const redisReply *r)
{
    static const char *const words[] = {"READONLY", "LOADING", "MASTERDOWN", "CLUSTERDOWN"};

    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        if (r->len >= n && memcmp(r->str, words[i], n) == 0 && (r->len == n || r->str[n] == ' '))
            return true;
    }
    return false;
}

/* Closes the connection of node (STORE_MAIN_NODE: the main one). */
static void drop_node(struct store *st, int node)
{
    if (node == STORE_MAIN_NODE)
        drop_connection(st);
    else
        store_cluster_drop(st, node);
    st->down = true;
}

/* After a reply from node: a failover reply closes its connection. */
static void check_failover(struct store *st, const redisReply *r, int node)
{
    if (r->type == REDIS_REPLY_ERROR && failover_reply(r)) {
        store_why(st, "answered %.80s", r->str);
        log_msg(LOG_WARN, EV_REDIS_DOWN, "Redis answered %.40s: reconnecting", r->str);
        drop_node(st, node);
    }
}

/* A number argument as milliseconds; HOOKD_EPARSE when it is not one. */
static int64_t arg_ms(const char *s, size_t n)
{
    int64_t v = 0;

    if (n == 0 || n > 12)
        return HOOKD_EPARSE;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return HOOKD_EPARSE;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* How long the server may legitimately hold this command before answering:
 * WAIT's timeout, or the BLOCK of XREAD/XREADGROUP. The socket timeout is
 * the store's timeout plus this, so a blocking command is not mistaken for a
 * hung server (0 = block forever is capped by the plain timeout: hookd never
 * sends it). */
static int64_t blocking_ms(int argc, const char **argv, const size_t *len)
{
    if (argc == 3 && len[0] == 4 && strncasecmp(argv[0], "WAIT", 4) == 0)
        return arg_ms(argv[2], len[2]);
    if (len[0] >= 5 && strncasecmp(argv[0], "XREAD", 5) == 0)
        for (int i = 1; i + 1 < argc; i++)
            if (len[i] == 5 && strncasecmp(argv[i], "BLOCK", 5) == 0)
                return arg_ms(argv[i + 1], len[i + 1]);
    return 0;
}

static void set_timeout(redisContext *c, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    redisSetTimeout(c, tv);
}

/* One round trip on c, ASKING first when asked to. NULL on an I/O error or
 * a timeout, with *rc set and the event logged; the caller drops c. */
static redisReply *round_trip(struct store *st, redisContext *c, bool asking, int argc,
                              const char **argv, const size_t *argvlen, int *rc)
{
    int64_t start = store_now_ms(), block = blocking_ms(argc, argv, argvlen);
    redisReply *r = asking ? redisCommand(c, "ASKING") : NULL;

    if (asking && !r)
        goto io_error;
    freeReplyObject(r);
    if (block > 0)
        set_timeout(c, st->timeout_ms + block);
    r = NULL;
    if (store_append_argv(c, argc, argv, argvlen) == REDIS_OK &&
        redisGetReply(c, (void **)&r) != REDIS_OK)
        r = NULL;
    if (block > 0) {
        int saved = errno; /* read below to tell a timeout from a reset */
        set_timeout(c, st->timeout_ms);
        errno = saved;
    }
    st->last_rtt_ms = (double)(store_now_ms() - start);
    if (r) {
        *rc = 0;
        return r;
    }
io_error:;
    bool timeout = c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    *rc = timeout ? HOOKD_EREDIS_TIMEOUT : HOOKD_EREDIS_CONN;
    if (timeout)
        store_why(st, "timed out (no answer within %lld ms)", (long long)st->timeout_ms);
    else
        store_why(st, "connection lost (%s)", c->errstr);
    if (!st->down)
        log_msg(LOG_WARN, EV_REDIS_DOWN, "Redis at %s", st->why);
    return NULL;
}

redisReply *store_command(struct store *st, int argc, const char **argv, const size_t *argvlen,
                          int *rc)
{
    int node = store_cluster_route(st, argc, argv, argvlen);
    bool asking = false;

    for (int hop = 0; hop <= STORE_MAX_REDIRECTS; hop++) {
        redisContext *c = node == STORE_MAIN_NODE ? (store_connect(st) == 0 ? st->ctx : NULL)
                                                  : store_cluster_ctx(st, node, rc);
        redisReply *r;

        if (!c) {
            *rc = HOOKD_EREDIS_CONN;
            return NULL;
        }
        if (!(r = round_trip(st, c, asking, argc, argv, argvlen, rc))) {
            drop_node(st, node);
            return NULL;
        }
        store_conn(st)->last_node = node;
        st->last_conn = node == STORE_MAIN_NODE ? st->ctx_conn : store_cluster_conn(st, node);
        if (r->type != REDIS_REPLY_ERROR || store_cluster_redirect(st, r, &node, &asking) != 1) {
            check_failover(st, r, node);
            if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "TRYAGAIN", 8) == 0) {
                /* A slot being migrated: the caller answers 503 until it is done. */
                log_msg(LOG_WARN, EV_REDIS_DOWN, "Redis Cluster slot migration under way: %.60s",
                        r->str);
            }
            return r;
        }
        freeReplyObject(r);
    }
    log_msg(LOG_ERROR, EV_ERROR, "more than %d cluster redirects for %.*s", STORE_MAX_REDIRECTS,
            (int)argvlen[0], argv[0]);
    *rc = HOOKD_EREDIS_REPLY;
    return NULL;
}

redisReply *store_command_on(struct store *st, uint64_t conn, int argc, const char **argv,
                             const size_t *argvlen, int *rc)
{
    int node = STORE_MAIN_NODE;
    redisContext *c = st->ctx && !st->ctx->err && st->ctx_conn == conn
                          ? st->ctx
                          : store_cluster_ctx_of(st, conn, &node);
    redisReply *r;

    if (!c || conn == 0) {
        *rc = HOOKD_EREDIS_CONN;
        return NULL;
    }
    if (!(r = round_trip(st, c, false, argc, argv, argvlen, rc))) {
        drop_node(st, node);
        return NULL;
    }
    check_failover(st, r, node);
    return r;
}

redisReply *store_script(struct store *st, enum store_script which, int nkeys, int argc,
                         const char **argv, size_t *argvlen, int *rc)
{
    /* argv[0..2] are reserved for the command, sha/body and numkeys. */
    char nk[16];
    redisReply *r;

    snprintf(nk, sizeof nk, "%d", nkeys);
    argv[0] = "EVALSHA", argvlen[0] = 7;
    argv[1] = store_script_sha(which), argvlen[1] = strlen(argv[1]);
    argv[2] = nk, argvlen[2] = strlen(nk);
    r = store_command(st, argc, argv, argvlen, rc);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        argv[0] = "EVAL", argvlen[0] = 4;
        argv[1] = store_script_text(which), argvlen[1] = strlen(argv[1]);
        r = store_command(st, argc, argv, argvlen, rc);
    }
    return r;
}

/* Reply words after which the command was not run and can be sent again. */
static bool not_run_reply(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR &&
           (strncmp(r->str, "NOSCRIPT", 8) == 0 || strncmp(r->str, "MOVED ", 6) == 0 ||
            strncmp(r->str, "ASK ", 4) == 0);
}

/* Reads the replies of a pipeline already written; see store_script_many. */
static void read_replies(struct store *st, size_t n, redisReply **replies, int *rcs)
{
    redisContext *c = st->ctx;
    const redisReply *failover = NULL;

    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK || !r) {
            bool timeout = c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
            if (!st->down)
                log_msg(LOG_WARN, EV_REDIS_DOWN, "Redis %s: %s",
                        timeout ? "timed out" : "connection lost", c->errstr);
            for (size_t k = i; k < n; k++)
                replies[k] = NULL, rcs[k] = timeout ? HOOKD_EREDIS_TIMEOUT : HOOKD_EREDIS_CONN;
            drop_connection(st);
            return;
        }
        replies[i] = r, rcs[i] = 0;
        if (!failover && replies[i]->type == REDIS_REPLY_ERROR && failover_reply(replies[i]))
            failover = replies[i];
    }
    if (failover) { /* the replies go back to the callers (503); reconnect next time */
        store_why(st, "answered %.80s", failover->str);
        log_msg(LOG_WARN, EV_REDIS_DOWN, "Redis answered %.40s: reconnecting", failover->str);
        drop_connection(st);
    }
}

/* The pipeline behind store_script_many, store_scripts_pipeline and
 * store_command_many: cmds[i] runs which[i] with nkeys[i] keys, or which[0]
 * / nkeys[0] when SAME; or, with WHICH NULL, is a plain command. */
static void pipeline(struct store *st, size_t n, const enum store_script *which, const int *nkeys,
                     bool same, const struct store_argv *cmds, redisReply **replies, int *rcs,
                     uint64_t *conns)
{
    char nk[16]; /* rewritten per command: store_append_argv copies it */
    int64_t start = store_now_ms();
    size_t sent = 0;
    int rc;

    for (size_t i = 0; which && i < n; i++) {
        const char *sha = store_script_sha(same ? which[0] : which[i]);
        cmds[i].argv[0] = "EVALSHA", cmds[i].argvlen[0] = 7;
        cmds[i].argv[1] = sha, cmds[i].argvlen[1] = strlen(sha);
    }
    if (n > 1 && !store_conn(st)->cluster && (rc = store_connect(st)) == 0) {
        uint64_t conn = st->ctx_conn; /* read_replies may drop it */
        store_conn(st)->last_node = STORE_MAIN_NODE;
        for (; sent < n; sent++) {
            if (which) {
                snprintf(nk, sizeof nk, "%d", same ? nkeys[0] : nkeys[sent]);
                cmds[sent].argv[2] = nk, cmds[sent].argvlen[2] = strlen(nk);
            }
            if (store_append_argv(st->ctx, cmds[sent].argc, cmds[sent].argv,
                                  cmds[sent].argvlen) != REDIS_OK)
                break;
        }
        read_replies(st, sent, replies, rcs);
        st->last_rtt_ms = (double)(store_now_ms() - start);
        st->last_conn = conn;
        for (size_t i = 0; conns && i < sent; i++)
            conns[i] = conn;
    } else if (n > 1 && !store_conn(st)->cluster) {
        for (size_t i = 0; i < n; i++)
            replies[i] = NULL, rcs[i] = rc;
        return;
    }
    /* one by one: what did not fit the pipeline, and what Redis did not run */
    for (size_t i = 0; i < n; i++) {
        if (i < sent && !(replies[i] && not_run_reply(replies[i])))
            continue;
        if (i < sent)
            freeReplyObject(replies[i]);
        replies[i] = !which ? store_command(st, cmds[i].argc, cmds[i].argv, cmds[i].argvlen, &rcs[i])
                     : store_script(st, same ? which[0] : which[i], same ? nkeys[0] : nkeys[i],
                                    cmds[i].argc, cmds[i].argv, cmds[i].argvlen, &rcs[i]);
        if (conns)
            conns[i] = st->last_conn;
    }
}

void store_command_many(struct store *st, size_t n, const struct store_argv *cmds,
                        redisReply **replies, int *rcs)
{
    pipeline(st, n, NULL, NULL, false, cmds, replies, rcs, NULL);
}

void store_script_many(struct store *st, enum store_script which, int nkeys, size_t n,
                       const struct store_argv *cmds, redisReply **replies, int *rcs,
                       uint64_t *conns)
{
    pipeline(st, n, &which, &nkeys, true, cmds, replies, rcs, conns);
}

void store_scripts_pipeline(struct store *st, size_t n, const enum store_script *which,
                            const int *nkeys, const struct store_argv *cmds, redisReply **replies,
                            int *rcs, uint64_t *conns)
{
    pipeline(st, n, which, nkeys, false, cmds, replies, rcs, conns);
}

int store_ping(struct store *st)
{
    const char *argv[] = {"PING"};
    size_t len[] = {4};
    int rc;
    redisReply *r = store_command(st, 1, argv, len, &rc);

    if (!r)
        return rc;
    rc = r->type == REDIS_REPLY_STATUS ? 0 : HOOKD_EREDIS_REPLY;
    freeReplyObject(r);
    return rc;
}

bool store_reply_array(const redisReply *r, size_t n)
{
    return r && r->type == REDIS_REPLY_ARRAY && r->elements >= n;
}

int store_reply_int(redisReply *r, int rc, int64_t *out)
{
    if (!r)
        return rc;
    if (r->type == REDIS_REPLY_INTEGER)
        *out = r->integer;
    else
        rc = HOOKD_EREDIS_REPLY;
    freeReplyObject(r);
    return rc;
}

bool store_reply_text(const redisReply *r, char *buf, size_t cap)
{
    if (!r || cap == 0)
        return false;
    if (r->type == REDIS_REPLY_INTEGER) {
        snprintf(buf, cap, "%lld", r->integer);
        return true;
    }
    if ((r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) || r->len >= cap)
        return false;
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    return true;
}

char *store_dup_bytes(const char *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

int store_cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}
