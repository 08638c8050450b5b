/*
 * store_worker.c — the worker's Redis operations (see store_worker.h): the
 * consumer groups, due retries and the heartbeat. The atomic state steps
 * are in store_steps.c, reads and claims in store_streams.c.
 * Called by workers/ only; key names come from store_keys.c.
 *
 * Tenants: a route has P:{ROUTE}:stream and one stream per tenant, each
 * with the group hookd-workers. A struct store_event remembers the stream
 * it was read from (stream_tenant), and every step on it names that stream;
 * a retry zset member carries it as a "TENANT:" prefix, so the mover puts
 * the event back where it came from.
 *
 * Visibility and the heartbeat: an entry delivered to a consumer stays in
 * the group's pending list (PEL) until a script XACKs it. Another worker's
 * XAUTOCLAIM takes it over once it has been idle for visibility_timeout.
 * A live worker resets that idle time every visibility_timeout / 3 for the
 * entries whose handlers still run (store_heartbeat), so only a worker that
 * died, hung, or lost Redis for longer than visibility_timeout loses its
 * entries. The owner check and the XCLAIM are two commands: a claim landing
 * between them (possible only once visibility_timeout is already exceeded)
 * is taken back; the BEGIN/FINISH guards keep the counts right either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_shared.h"
#include "store_internal.h"
#include "store_worker_int.h"

#define HEARTBEAT_SCAN_MAX 1000 /* pending entries of one consumer looked at */
#define HEARTBEAT_MAX_IDS 256

/* Runs argv and keeps the reply when it is not an error reply. */
static redisReply *command(struct store *st, int argc, const char **argv, size_t *len, int *rc)
{
    redisReply *r = store_command(st, argc, argv, len, rc);

    if (r && r->type == REDIS_REPLY_ERROR) {
        log_msg(LOG_ERROR, EV_ERROR, "Redis %s: %.200s", argv[0], r->str);
        freeReplyObject(r);
        *rc = HOOKD_EREDIS_REPLY;
        return NULL;
    }
    return r;
}

/* command() for ARGC (at most 8) NUL-terminated arguments. */
static redisReply *command_strs(struct store *st, int argc, const char **argv, int *rc)
{
    size_t len[8];

    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    return command(st, argc, argv, len, rc);
}

/* Where a labelled handler's group starts on the route's shared streams:
 * P:{ROUTE}:h:LABEL:since, set once (NX) to the time its first worker
 * started ("MS-0"), so a handler added to a route runs the events accepted
 * after that, not the streams' history, and a tenant stream that appears
 * later gets its group from the same point. */
static int group_since(struct store *st, const char *route, char since[32])
{
    char key[STORE_KEY_MAX], now[32];
    const char *set[4] = {"SET", key, now, "NX"}, *get[2] = {"GET", key};
    size_t len[4], glen[2];
    int rc;
    redisReply *r;

    if (store_key_route(st, key, sizeof key, route, "since") < 0)
        return HOOKD_ETOO_LARGE;
    snprintf(now, sizeof now, "%lld-0", (long long)store_wall_ms());
    for (int i = 0; i < 4; i++)
        len[i] = strlen(set[i]);
    glen[0] = strlen(get[0]), glen[1] = len[1];
    if (!(r = store_command(st, 4, set, len, &rc)))
        return rc;
    freeReplyObject(r);
    if (!(r = store_command(st, 2, get, glen, &rc)))
        return rc;
    rc = store_reply_text(r, since, 32) ? 0 : HOOKD_EREDIS_REPLY;
    freeReplyObject(r);
    return rc;
}

int store_group_ensure_stream(struct store *st, const char *route, const char *tenant)
{
    char key[STORE_KEY_MAX], gbuf[STORE_GROUP_MAX], since[32] = "0";
    const char *argv[6], *group = store_group(route, gbuf, sizeof gbuf);
    size_t len[6];
    int n = 0, rc;
    redisReply *r;

    if (store_key_stream(st, key, sizeof key, route, tenant) < 0)
        return HOOKD_ETOO_LARGE;
    if (strchr(route, ':') && strcmp(tenant ? tenant : "", STORE_OWN_STREAM) != 0 &&
        (rc = group_since(st, route, since)) < 0)
        return rc;
    ADD_STR("XGROUP"), ADD_STR("CREATE"), ADD_STR(key), ADD_STR(group), ADD_STR(since),
        ADD_STR("MKSTREAM");
    if (!(r = store_command(st, n, argv, len, &rc)))
        return rc;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
        log_msg(LOG_ERROR, EV_ERROR, "Redis XGROUP CREATE %s: %.200s", key, r->str);
        rc = HOOKD_EREDIS_REPLY;
    }
    freeReplyObject(r);
    return rc;
}

static int ensure_in(struct store *st, const char *route, const char *tenant, void *unused)
{
    return store_group_ensure_stream(st, route, tenant);
}

int store_group_ensure(struct store *st, const char *route)
{
    return store_each_stream(st, route, ensure_in, NULL);
}

int store_ack(struct store *st, const char *route, const char *tenant, const char *stream_id)
{
    char key[STORE_KEY_MAX], gbuf[STORE_GROUP_MAX];
    const char *argv[4], *group = store_group(route, gbuf, sizeof gbuf);
    size_t len[4];
    int n = 0, rc;
    redisReply *r;

    if (store_key_stream(st, key, sizeof key, route, tenant) < 0)
        return HOOKD_ETOO_LARGE;
    ADD_STR("XACK"), ADD_STR(key), ADD_STR(group), ADD_STR(stream_id);
    if (!(r = command(st, n, argv, len, &rc)))
        return rc;
    freeReplyObject(r);
    return 0;
}

void store_take_entries(struct store *st, const char *route, const char *tenant,
                        const redisReply *list, struct store_event **out, size_t cap, size_t *n)
{
    char id[STORE_STREAM_ID_MAX];

    for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
        bool no_memory = false;
        struct store_event *ev = store_event_parse(route, list->element[i], id, &no_memory);
        bool valid = ev && store_event_valid(ev);
        if (no_memory) /* left pending: claimed again after visibility_timeout */
            continue;
        if (valid && *n < cap) {
            snprintf(ev->stream_tenant, sizeof ev->stream_tenant, "%s", tenant ? tenant : "");
            out[(*n)++] = ev;
            continue;
        }
        store_event_free(ev);
        if (valid) /* no room: left pending, claimed after visibility_timeout */
            continue;
        struct logline l;
        if (log_begin(&l, LOG_ERROR, EV_ENTRY_MALFORMED)) {
            log_str(&l, "route", route);
            log_str(&l, "tenant", tenant && tenant[0] ? tenant : NULL);
            log_str(&l, "stream_id", id);
            log_str(&l, "msg", "entry lacks event_id/source or is malformed; acknowledged");
            log_end(&l);
        }
        if (id[0])
            store_ack(st, route, tenant, id);
    }
}

/* ---- due retries ---------------------------------------------------------- */

/* A retry member "[TENANT:]STREAM_ID|SOURCE|EVENT_ID", split. */
struct retry_ref {
    char tenant[STORE_TENANT_MAX + 1];
    char id[STORE_STREAM_ID_MAX];
    char source[128];
    const char *event_id; /* into the member */
    size_t event_id_len;
};

static bool copy_part(char *dst, size_t cap, const char *p, size_t n)
{
    if (n == 0 || n >= cap)
        return false;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return true;
}

static bool parse_member(const char *m, size_t len, struct retry_ref *ref)
{
    const char *end = m + len, *bar1 = memchr(m, '|', len), *bar2, *colon;

    bar2 = bar1 ? memchr(bar1 + 1, '|', (size_t)(end - bar1 - 1)) : NULL;
    if (!bar2)
        return false;
    colon = memchr(m, ':', (size_t)(bar1 - m));
    ref->tenant[0] = '\0';
    if (colon && (!copy_part(ref->tenant, sizeof ref->tenant, m, (size_t)(colon - m)) ||
                  !(store_tenant_name_valid(ref->tenant) ||
                    strcmp(ref->tenant, STORE_OWN_STREAM) == 0)))
        return false;
    if (colon)
        m = colon + 1;
    ref->event_id = bar2 + 1;
    ref->event_id_len = (size_t)(end - bar2 - 1);
    return copy_part(ref->id, sizeof ref->id, m, (size_t)(bar1 - m)) &&
           copy_part(ref->source, sizeof ref->source, bar1 + 1, (size_t)(bar2 - bar1 - 1));
}

static void drop_member(struct store *st, const char *route, const redisReply *m,
                        const char *retry_key)
{
    const char *zargv[3] = {"ZREM", retry_key, m->str};
    size_t zlen[3] = {4, strlen(retry_key), m->len};
    int rc;

    log_msg(LOG_ERROR, EV_RETRY_LOST, "route %s: malformed retry member \"%.*s\" removed", route,
            (int)(m->len > 200 ? 200 : m->len), m->str);
    freeReplyObject(store_command(st, 3, zargv, zlen, &rc));
}

/* One zset member back into its stream: 1 moved, 0 not by us, < 0 error. */
static int move_one(struct store *st, const char *route, const redisReply *m, const char *now,
                    const char *retry_key)
{
    char seen[STORE_KEY_MAX], stream[STORE_KEY_MAX], target[STORE_KEY_MAX];
    const char *argv[3 + 4 + 3];
    size_t len[3 + 4 + 3];
    struct retry_ref ref;
    int n = 3, sl, rc;
    redisReply *r;

    if (m->type != REDIS_REPLY_STRING)
        return HOOKD_EREDIS_REPLY;
    if (!parse_member(m->str, m->len, &ref) ||
        (sl = store_key_seen(st, seen, sizeof seen, route, ref.source, ref.event_id,
                             ref.event_id_len)) < 0 ||
        store_key_stream(st, stream, sizeof stream, route, ref.tenant) < 0 ||
        /* a labelled handler's retry goes to its own stream (the shared
         * entry belongs to every handler of the route); see SCRIPT_MOVE_DUE */
        store_key_stream(st, target, sizeof target, route,
                         strchr(route, ':') ? STORE_OWN_STREAM : ref.tenant) < 0) {
        drop_member(st, route, m, retry_key);
        return 0;
    }
    store_arg_add(argv, len, &n, seen, (size_t)sl), ADD_STR(stream), ADD_STR(retry_key);
    ADD_STR(target);
    store_arg_add(argv, len, &n, m->str, m->len), ADD_STR(ref.id), ADD_STR(now);
    if (!(r = store_script(st, SCRIPT_MOVE_DUE, 4, n, argv, len, &rc)))
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER ? 0 : HOOKD_EREDIS_REPLY;
    if (rc == 0 && r->integer == -1)
        log_msg(LOG_ERROR, EV_RETRY_LOST,
                "route %s: retry of entry %s dropped, the entry is gone from %s", route, ref.id,
                stream);
    if (rc == 0)
        rc = r->integer == 1;
    freeReplyObject(r);
    return rc;
}

int store_move_due(struct store *st, const char *route, int64_t now_ms, size_t limit, size_t *moved)
{
    char key[STORE_KEY_MAX], now[24], lim[24];
    const char *argv[7];
    size_t len[7];
    int n = 0, rc;
    redisReply *r;

    *moved = 0;
    if (store_key_route(st, key, sizeof key, route, "retry") < 0)
        return HOOKD_ETOO_LARGE;
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(lim, sizeof lim, "%zu", limit);
    ADD_STR("ZRANGEBYSCORE"), ADD_STR(key), ADD_STR("-inf"), ADD_STR(now), ADD_STR("LIMIT");
    ADD_STR("0"), ADD_STR(lim);
    if (!(r = command(st, n, argv, len, &rc)))
        return rc;
    if (r->type != REDIS_REPLY_ARRAY)
        rc = HOOKD_EREDIS_REPLY;
    for (size_t i = 0; rc == 0 && i < r->elements; i++) {
        int m = move_one(st, route, r->element[i], now, key);
        if (m < 0)
            rc = m;
        else
            *moved += (size_t)m;
    }
    freeReplyObject(r);
    return rc;
}

/* ---- heartbeat and retirement ------------------------------------------- */

/* XPENDING stream group - + count consumer: marks owned[i] for ids we own. */
static int pending_of(struct store *st, const char *key, const char *group, const char *consumer,
                      const char *const *ids, size_t nids, bool *owned, size_t *nowned)
{
    const char *argv[7] = {"XPENDING", key, group, "-", "+", NULL, consumer};
    char cnt[24];
    int rc;
    redisReply *r;

    snprintf(cnt, sizeof cnt, "%d", HEARTBEAT_SCAN_MAX);
    argv[5] = cnt;
    *nowned = 0;
    if (!(r = command_strs(st, 7, argv, &rc)))
        return rc;
    if (r->type != REDIS_REPLY_ARRAY)
        rc = HOOKD_EREDIS_REPLY;
    for (size_t i = 0; rc == 0 && i < r->elements; i++) {
        char id[STORE_STREAM_ID_MAX];
        if (!store_reply_array(r->element[i], 1) ||
            !store_reply_text(r->element[i]->element[0], id, sizeof id))
            continue;
        for (size_t k = 0; k < nids; k++)
            if (!owned[k] && strcmp(ids[k], id) == 0)
                owned[k] = true, (*nowned)++;
    }
    freeReplyObject(r);
    return rc;
}

int store_heartbeat(struct store *st, const char *route, const char *tenant, const char *consumer,
                    const char *const *ids, size_t n, bool *owned)
{
    char key[STORE_KEY_MAX], gbuf[STORE_GROUP_MAX];
    const char *group = store_group(route, gbuf, sizeof gbuf);
    const char *argv[6 + HEARTBEAT_MAX_IDS];
    size_t len[6 + HEARTBEAT_MAX_IDS], nowned = 0;
    int argc = 0, rc;
    redisReply *r;

    memset(owned, 0, n * sizeof *owned);
    if (n == 0)
        return 0;
    if (n > HEARTBEAT_MAX_IDS)
        return HOOKD_ETOO_LARGE;
    if (store_key_stream(st, key, sizeof key, route, tenant) < 0)
        return HOOKD_ETOO_LARGE;
    if ((rc = pending_of(st, key, group, consumer, ids, n, owned, &nowned)) < 0 || nowned == 0)
        return rc;
    store_arg_add(argv, len, &argc, "XCLAIM", 6), store_arg_add(argv, len, &argc, key, strlen(key));
    store_arg_add(argv, len, &argc, group, strlen(group));
    store_arg_add(argv, len, &argc, consumer, strlen(consumer)), store_arg_add(argv, len, &argc, "0", 1);
    for (size_t i = 0; i < n; i++)
        if (owned[i])
            store_arg_add(argv, len, &argc, ids[i], strlen(ids[i]));
    store_arg_add(argv, len, &argc, "JUSTID", 6);
    if (!(r = command(st, argc, argv, len, &rc)))
        return rc;
    rc = r->type == REDIS_REPLY_ARRAY ? 0 : HOOKD_EREDIS_REPLY;
    freeReplyObject(r);
    return rc;
}

/* Removes CONSUMER from the group of one stream if nothing is pending. */
/* ARG: the consumer's name. */
static int retire_from(struct store *st, const char *route, const char *tenant, void *arg)
{
    const char *consumer = arg;
    char key[STORE_KEY_MAX], gbuf[STORE_GROUP_MAX];
    const char *group = store_group(route, gbuf, sizeof gbuf);
    const char *argv[7] = {"XPENDING", key, group, "-", "+", "1", consumer};
    int rc;
    bool empty;
    redisReply *r;

    if (store_key_stream(st, key, sizeof key, route, tenant) < 0)
        return HOOKD_ETOO_LARGE;
    if (!(r = command_strs(st, 7, argv, &rc)))
        return rc;
    empty = r->type == REDIS_REPLY_ARRAY && r->elements == 0;
    freeReplyObject(r);
    if (!empty)
        return 0; /* entries still pending: keep them visible as ours */
    argv[0] = "XGROUP", argv[1] = "DELCONSUMER", argv[2] = key, argv[3] = group;
    argv[4] = consumer;
    if (!(r = command_strs(st, 5, argv, &rc)))
        return rc;
    freeReplyObject(r);
    return 0;
}

int store_consumer_retire(struct store *st, const char *route, const char *consumer)
{
    return store_each_stream(st, route, retire_from, (void *)consumer);
}

/* ARG: the consumer's name. */
static int join_in(struct store *st, const char *route, const char *tenant, void *arg)
{
    char key[STORE_KEY_MAX], gbuf[STORE_GROUP_MAX];
    const char *argv[5] = {"XGROUP", "CREATECONSUMER", key, store_group(route, gbuf, sizeof gbuf),
                           arg};
    int rc;
    redisReply *r;

    if (store_key_stream(st, key, sizeof key, route, tenant) < 0)
        return HOOKD_ETOO_LARGE;
    if (!(r = command_strs(st, 5, argv, &rc)))
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER ? 0 : HOOKD_EREDIS_REPLY;
    freeReplyObject(r);
    return rc;
}

int store_consumer_join(struct store *st, const char *route, const char *consumer)
{
    return store_each_stream(st, route, join_in, (void *)consumer);
}
