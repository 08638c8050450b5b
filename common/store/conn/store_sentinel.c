/*
 * store_sentinel.c — finding the current master through Redis Sentinel.
 *
 * Asked on every (re)connection: after a failover the old master's
 * connection breaks (or it answers READONLY as a demoted replica), the store
 * drops it, and the next connect asks the sentinels again. Sentinels are
 * tried in order; the first that knows the master name wins.
 *
 * The failover window, seen from here:
 *
 *   master dies ─▶ connect refused / times out ─────────────▶ 503
 *   sentinels agree (down-after-milliseconds), promote a replica
 *     meanwhile they still name the dead master ─▶ refused ──▶ 503
 *     or a node still reporting ROLE replica ─────────────────▶ 503
 *   sentinels name the new master, ROLE says master ─────────▶ 202 again
 *
 * Nothing is answered 2xx in between, and an acknowledged write is on the
 * new master if it had reached a replica (wait_replicas) before the answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_conn.h"

static int split_host_port(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long p;

    if (!colon || (size_t)(colon - s) >= cap)
        return HOOKD_EPARSE;
    p = strtol(colon + 1, &end, 10);
    if (*end || p <= 0 || p > 65535)
        return HOOKD_EPARSE;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return 0;
}

static int ask_one(const struct store *st, const char *sentinel, char **host, int *port)
{
    struct timeval tv = {st->timeout_ms / 1000, (st->timeout_ms % 1000) * 1000};
    char shost[256];
    int sport, rc = HOOKD_EREDIS_CONN;
    redisContext *c;
    redisReply *r = NULL;

    if (split_host_port(sentinel, shost, sizeof shost, &sport) < 0)
        return HOOKD_ECONFIG;
    c = redisConnectWithTimeout(shost, sport, tv);
    if (!c || c->err)
        goto out;
    redisSetTimeout(c, tv);
    r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", st->master_name);
    if (store_reply_array(r, 2) && r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        *port = (int)strtol(r->element[1]->str, NULL, 10);
        *host = strdup(r->element[0]->str);
        rc = *host ? 0 : HOOKD_ENOMEM;
    }
out:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return rc;
}

int store_sentinel_resolve(struct store *st, char **host, int *port)
{
    if (!st->master_name)
        return HOOKD_ECONFIG;
    for (size_t i = 0; i < st->nsentinels; i++)
        if (ask_one(st, st->sentinels[i], host, port) == 0) {
            log_msg(LOG_DEBUG, EV_REDIS_MASTER, "sentinel %s names %s:%d as master of %s",
                    st->sentinels[i], *host, *port, st->master_name);
            return 0;
        }
    store_why(st, "no sentinel answered");
    if (!st->down)
        log_msg(LOG_WARN, EV_REDIS_DOWN, "no sentinel answered for master %s", st->master_name);
    return HOOKD_EREDIS_CONN;
}

/* Right after a failover the sentinels may still name the old master (dead,
 * or restarted and not yet reconfigured), or the promoted replica may not
 * have switched role yet: writing there would be lost. */
int store_sentinel_check_role(struct store *st)
{
    redisReply *r = redisCommand(st->ctx, "ROLE");
    int rc = HOOKD_EREDIS_CONN;

    if (store_reply_array(r, 1) && r->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[0]->str, "master") == 0)
        rc = 0;
    else
        store_why(st, "the master named is not a master (yet)");
    if (rc < 0 && !st->down)
        log_msg(LOG_WARN, EV_REDIS_DOWN, "the master Sentinel names is not a master (yet)");
    if (r)
        freeReplyObject(r);
    return rc;
}
