/*
 * store_worker.c — the worker's Redis operations (see store_worker.h): the
 * consumer group, reads and claims, the atomic state steps (Lua scripts in
 * store_scripts.c), due retries and the heartbeat. Called by workers/ only;
 * key names come from store_keys.c.
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
#include "store_internal.h"
#include "store_worker_int.h"

#define HEARTBEAT_SCAN_MAX 1000 /* pending entries of one consumer looked at */
#define HEARTBEAT_MAX_IDS 256
#define MEMBER_MAX (STORE_KEY_MAX + 64)

static void add(const char **argv, size_t *len, int *n, const char *s, size_t slen)
{
    argv[*n] = s;
    len[*n] = slen;
    (*n)++;
}

#define ADD_STR(s) add(argv, len, &n, (s), strlen(s))

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

int store_group_ensure(struct store *st, const char *route)
{
    char key[STORE_KEY_MAX];
    const char *argv[6];
    size_t len[6];
    int n = 0, rc;
    redisReply *r;

    if (store_key_route(st, key, sizeof key, route, "stream") < 0)
        return HOOKD_ETOO_LARGE;
    ADD_STR("XGROUP"), ADD_STR("CREATE"), ADD_STR(key), ADD_STR(STORE_GROUP), ADD_STR("0"),
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

int store_ack(struct store *st, const char *route, const char *stream_id)
{
    char key[STORE_KEY_MAX];
    const char *argv[4];
    size_t len[4];
    int n = 0, rc;
    redisReply *r;

    if (store_key_route(st, key, sizeof key, route, "stream") < 0)
        return HOOKD_ETOO_LARGE;
    ADD_STR("XACK"), ADD_STR(key), ADD_STR(STORE_GROUP), ADD_STR(stream_id);
    if (!(r = command(st, n, argv, len, &rc)))
        return rc;
    freeReplyObject(r);
    return 0;
}

/* Parses a list of entries of ROUTE into out[*n..cap); unparseable entries
 * are acked (they can never be handled, and would be claimed forever). */
static void take_entries(struct store *st, const char *route, const redisReply *list,
                         struct store_event **out, size_t cap, size_t *n)
{
    char id[STORE_STREAM_ID_MAX];

    for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
        struct store_event *ev = store_event_parse(route, list->element[i], id);
        if (ev && store_event_valid(ev) && *n < cap) {
            out[(*n)++] = ev;
            continue;
        }
        store_event_free(ev);
        struct logline l;
        if (log_begin(&l, LOG_ERROR, EV_ENTRY_MALFORMED)) {
            log_str(&l, "route", route);
            log_str(&l, "stream_id", id);
            log_str(&l, "msg", "entry lacks event_id/source or is malformed; acknowledged");
            log_end(&l);
        }
        if (id[0])
            store_ack(st, route, id);
    }
}

int store_read_new(struct store *st, const char *route, const char *consumer, size_t count,
                   int64_t block_ms, struct store_event **out, size_t cap, size_t *n)
{
    char key[STORE_KEY_MAX], cnt[24], blk[24];
    const char *argv[11];
    size_t len[11];
    int argc = 0, rc = 0;
    redisReply *r;

    *n = 0;
    if (store_key_route(st, key, sizeof key, route, "stream") < 0)
        return HOOKD_ETOO_LARGE;
    snprintf(cnt, sizeof cnt, "%zu", count);
    snprintf(blk, sizeof blk, "%lld", (long long)block_ms);
    add(argv, len, &argc, "XREADGROUP", 10), add(argv, len, &argc, "GROUP", 5);
    add(argv, len, &argc, STORE_GROUP, strlen(STORE_GROUP));
    add(argv, len, &argc, consumer, strlen(consumer));
    add(argv, len, &argc, "COUNT", 5), add(argv, len, &argc, cnt, strlen(cnt));
    if (block_ms > 0)
        add(argv, len, &argc, "BLOCK", 5), add(argv, len, &argc, blk, strlen(blk));
    add(argv, len, &argc, "STREAMS", 7), add(argv, len, &argc, key, strlen(key));
    add(argv, len, &argc, ">", 1);
    if (!(r = command(st, argc, argv, len, &rc)))
        return rc;
    /* nil: BLOCK timed out; else [[key, [entries...]]] */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && store_reply_array(r->element[0], 2))
        take_entries(st, route, r->element[0]->element[1], out, cap, n);
    else if (r->type != REDIS_REPLY_NIL)
        rc = HOOKD_EREDIS_REPLY;
    freeReplyObject(r);
    return rc;
}

int store_claim_stale(struct store *st, const char *route, const char *consumer,
                      int64_t min_idle_ms, char cursor[STORE_STREAM_ID_MAX], size_t count,
                      struct store_event **out, size_t cap, size_t *n)
{
    char key[STORE_KEY_MAX], idle[24], cnt[24];
    const char *argv[9];
    size_t len[9];
    int argc = 0, rc;
    redisReply *r;

    *n = 0;
    if (store_key_route(st, key, sizeof key, route, "stream") < 0)
        return HOOKD_ETOO_LARGE;
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    snprintf(cnt, sizeof cnt, "%zu", count);
    add(argv, len, &argc, "XAUTOCLAIM", 10), add(argv, len, &argc, key, strlen(key));
    add(argv, len, &argc, STORE_GROUP, strlen(STORE_GROUP));
    add(argv, len, &argc, consumer, strlen(consumer));
    add(argv, len, &argc, idle, strlen(idle)), add(argv, len, &argc, cursor, strlen(cursor));
    add(argv, len, &argc, "COUNT", 5), add(argv, len, &argc, cnt, strlen(cnt));
    if (!(r = command(st, argc, argv, len, &rc)))
        return rc;
    /* [next_cursor, [entries...], [deleted ids...] (Redis >= 7)] */
    if (!store_reply_array(r, 2) || !store_reply_text(r->element[0], cursor, STORE_STREAM_ID_MAX)) {
        snprintf(cursor, STORE_STREAM_ID_MAX, "0-0");
        rc = HOOKD_EREDIS_REPLY;
    } else {
        take_entries(st, route, r->element[1], out, cap, n);
    }
    freeReplyObject(r);
    return rc;
}

/* ---- the state steps ---------------------------------------------------- */

/* KEYS seen, stream, counters (+ one more when EXTRA names it). */
static int step_keys(struct store *st, const struct store_event *ev, const char *extra,
                     char keys[4][STORE_KEY_MAX], size_t klen[4])
{
    int sl = store_key_seen(st, keys[0], STORE_KEY_MAX, ev->route, ev->source, ev->event_id,
                            ev->event_id_len);

    if (sl < 0 || store_key_route(st, keys[1], STORE_KEY_MAX, ev->route, "stream") < 0 ||
        store_key_route(st, keys[2], STORE_KEY_MAX, ev->route, "counters") < 0 ||
        (extra && store_key_route(st, keys[3], STORE_KEY_MAX, ev->route, extra) < 0))
        return HOOKD_ETOO_LARGE;
    klen[0] = (size_t)sl, klen[1] = strlen(keys[1]), klen[2] = strlen(keys[2]);
    klen[3] = extra ? strlen(keys[3]) : 0;
    return 0;
}

/* Runs a step script whose reply is an integer; *applied = reply == 1. */
static int run_int_step(struct store *st, enum store_script which, int nkeys, int argc,
                        const char **argv, size_t *len, bool *applied)
{
    int rc;
    redisReply *r = store_script(st, which, nkeys, argc, argv, len, &rc);

    if (!r)
        return rc;
    if (r->type == REDIS_REPLY_INTEGER) {
        if (applied)
            *applied = r->integer == 1;
    } else {
        log_msg(LOG_ERROR, EV_ERROR, "Redis worker script %d: unexpected reply type %d%s%.200s",
                (int)which, r->type, r->type == REDIS_REPLY_ERROR ? ": " : "",
                r->type == REDIS_REPLY_ERROR ? r->str : "");
        rc = HOOKD_EREDIS_REPLY;
    }
    freeReplyObject(r);
    return rc;
}

int store_begin(struct store *st, const struct store_event *ev, int64_t ttl_s,
                struct store_begin_result *out)
{
    char keys[4][STORE_KEY_MAX], now[24], ttl[24], word[8], num[24];
    size_t klen[4], len[3 + 3 + 4];
    const char *argv[3 + 3 + 4];
    int n = 3, rc;
    redisReply *r;

    memset(out, 0, sizeof *out);
    if ((rc = step_keys(st, ev, NULL, keys, klen)) < 0)
        return rc;
    for (int i = 0; i < 3; i++)
        add(argv, len, &n, keys[i], klen[i]);
    snprintf(now, sizeof now, "%lld", (long long)store_wall_ms());
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_s);
    ADD_STR(ev->stream_id), ADD_STR(STORE_GROUP), ADD_STR(now), ADD_STR(ttl);
    if (!(r = store_script(st, SCRIPT_BEGIN, 3, n, argv, len, &rc)))
        return rc;
    rc = HOOKD_EREDIS_REPLY;
    if (store_reply_array(r, 2) && store_reply_text(r->element[0], word, sizeof word)) {
        if (strcmp(word, "skip") == 0) {
            if (!store_reply_text(r->element[1], out->state, sizeof out->state))
                out->state[0] = '\0';
            rc = 0;
        } else if (strcmp(word, "run") == 0 && store_reply_text(r->element[1], num, sizeof num)) {
            out->run = true;
            out->attempts = (int)strtol(num, NULL, 10);
            rc = out->attempts > 0 ? 0 : HOOKD_EREDIS_REPLY;
        }
    }
    if (rc < 0)
        log_msg(LOG_ERROR, EV_ERROR, "Redis BEGIN script: unexpected reply (type %d)", r->type);
    freeReplyObject(r);
    return rc;
}

int store_finish(struct store *st, const struct store_event *ev, int64_t ttl_s, bool *applied)
{
    char keys[4][STORE_KEY_MAX], now[24], ttl[24];
    size_t klen[4], len[3 + 3 + 4];
    const char *argv[3 + 3 + 4];
    int n = 3, rc;

    if ((rc = step_keys(st, ev, NULL, keys, klen)) < 0)
        return rc;
    for (int i = 0; i < 3; i++)
        add(argv, len, &n, keys[i], klen[i]);
    snprintf(now, sizeof now, "%lld", (long long)store_wall_ms());
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_s);
    ADD_STR(ev->stream_id), ADD_STR(STORE_GROUP), ADD_STR(now), ADD_STR(ttl);
    return run_int_step(st, SCRIPT_FINISH, 3, n, argv, len, applied);
}

/* "STREAM_ID|SOURCE|EVENT_ID" into buf; length or -1. */
static int retry_member(const struct store_event *ev, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s|%s|", ev->stream_id, ev->source);

    if (n < 0 || (size_t)n + ev->event_id_len >= cap)
        return -1;
    memcpy(buf + n, ev->event_id, ev->event_id_len);
    buf[n + ev->event_id_len] = '\0';
    return n + (int)ev->event_id_len;
}

int store_retry(struct store *st, const struct store_event *ev, int64_t due_ms,
                const char *last_error, int64_t ttl_s, bool *applied)
{
    char keys[4][STORE_KEY_MAX], member[MEMBER_MAX], now[24], due[24], ttl[24];
    size_t klen[4], len[3 + 4 + 7];
    const char *argv[3 + 4 + 7];
    int n = 3, rc, ml;

    if ((rc = step_keys(st, ev, "retry", keys, klen)) < 0)
        return rc;
    if ((ml = retry_member(ev, member, sizeof member)) < 0)
        return HOOKD_ETOO_LARGE;
    for (int i = 0; i < 4; i++)
        add(argv, len, &n, keys[i], klen[i]);
    snprintf(now, sizeof now, "%lld", (long long)store_wall_ms());
    snprintf(due, sizeof due, "%lld", (long long)due_ms);
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_s);
    ADD_STR(ev->stream_id), ADD_STR(STORE_GROUP), ADD_STR(now), ADD_STR(due);
    ADD_STR(last_error ? last_error : "");
    add(argv, len, &n, member, (size_t)ml);
    ADD_STR(ttl);
    return run_int_step(st, SCRIPT_RETRY, 4, n, argv, len, applied);
}

/* Fields the dead-letter step writes itself; a copy from an earlier dead
 * letter (a replayed event) is not carried over twice. */
static bool dead_own_field(const char *name)
{
    static const char *const own[] = {"reason", "last_error", "attempts", "failed_at", NULL};

    for (size_t i = 0; own[i]; i++)
        if (strcmp(name, own[i]) == 0)
            return true;
    return false;
}

int store_dead(struct store *st, const struct store_event *ev, const char *reason,
               const char *last_error, int attempts, int64_t ttl_s, bool *applied)
{
    enum { MAXARGS = 3 + 4 + 7 + 2 * STORE_EVENT_MAX_FIELDS };
    char keys[4][STORE_KEY_MAX], now[24], att[24], ttl[24];
    size_t klen[4], len[MAXARGS];
    const char *argv[MAXARGS];
    int n = 3, rc;

    if ((rc = step_keys(st, ev, "dead", keys, klen)) < 0)
        return rc;
    for (int i = 0; i < 4; i++)
        add(argv, len, &n, keys[i], klen[i]);
    snprintf(now, sizeof now, "%lld", (long long)store_wall_ms());
    snprintf(att, sizeof att, "%d", attempts);
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_s);
    ADD_STR(ev->stream_id), ADD_STR(STORE_GROUP), ADD_STR(now), ADD_STR(reason);
    ADD_STR(last_error ? last_error : ""), ADD_STR(att), ADD_STR(ttl);
    for (size_t i = 0; i < ev->nfields; i++) {
        if (dead_own_field(ev->names[i]))
            continue;
        ADD_STR(ev->names[i]);
        add(argv, len, &n, ev->values[i], ev->value_lens[i]);
    }
    return run_int_step(st, SCRIPT_DEAD, 4, n, argv, len, applied);
}

/* ---- due retries ---------------------------------------------------------- */

/* One zset member back into the stream: 1 moved, 0 not by us, < 0 error. */
static int move_one(struct store *st, const char *route, const redisReply *m, const char *now,
                    const char *retry_key)
{
    char seen[STORE_KEY_MAX], stream[STORE_KEY_MAX], id[STORE_STREAM_ID_MAX], source[128];
    const char *argv[3 + 3 + 3];
    size_t len[3 + 3 + 3];
    const char *bar1, *bar2, *end;
    int n = 3, sl, rc;
    bool moved = false;

    if (m->type != REDIS_REPLY_STRING)
        return HOOKD_EREDIS_REPLY;
    end = m->str + m->len;
    bar1 = memchr(m->str, '|', m->len);
    bar2 = bar1 ? memchr(bar1 + 1, '|', (size_t)(end - bar1 - 1)) : NULL;
    if (!bar2 || (size_t)(bar1 - m->str) >= sizeof id || (size_t)(bar2 - bar1 - 1) >= 128)
        goto malformed;
    memcpy(id, m->str, (size_t)(bar1 - m->str)), id[bar1 - m->str] = '\0';
    memcpy(source, bar1 + 1, (size_t)(bar2 - bar1 - 1)), source[bar2 - bar1 - 1] = '\0';
    if ((sl = store_key_seen(st, seen, sizeof seen, route, source, bar2 + 1,
                             (size_t)(end - bar2 - 1))) < 0 ||
        store_key_route(st, stream, sizeof stream, route, "stream") < 0)
        goto malformed;
    add(argv, len, &n, seen, (size_t)sl), ADD_STR(stream), ADD_STR(retry_key);
    add(argv, len, &n, m->str, m->len), ADD_STR(id), ADD_STR(now);
    {
        int rcs;
        redisReply *r = store_script(st, SCRIPT_MOVE_DUE, 3, n, argv, len, &rcs);
        if (!r)
            return rcs;
        rc = r->type == REDIS_REPLY_INTEGER ? 0 : HOOKD_EREDIS_REPLY;
        if (rc == 0 && r->integer == -1)
            log_msg(LOG_ERROR, EV_RETRY_LOST,
                    "route %s: retry of entry %s dropped, the entry is gone from the stream", route,
                    id);
        moved = rc == 0 && r->integer == 1;
        freeReplyObject(r);
    }
    return rc < 0 ? rc : moved;
malformed:
    log_msg(LOG_ERROR, EV_RETRY_LOST, "route %s: malformed retry member \"%.*s\" removed", route,
            (int)(m->len > 200 ? 200 : m->len), m->str);
    {
        const char *zargv[3] = {"ZREM", retry_key, m->str};
        size_t zlen[3] = {4, strlen(retry_key), m->len};
        redisReply *z = store_command(st, 3, zargv, zlen, &rc);
        freeReplyObject(z);
    }
    return 0;
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
static int pending_of(struct store *st, const char *key, const char *consumer,
                      const char *const *ids, size_t nids, bool *owned, size_t *nowned)
{
    const char *argv[7] = {"XPENDING", key, STORE_GROUP, "-", "+", NULL, consumer};
    size_t len[7];
    char cnt[24];
    int rc;
    redisReply *r;

    snprintf(cnt, sizeof cnt, "%d", HEARTBEAT_SCAN_MAX);
    argv[5] = cnt;
    for (int i = 0; i < 7; i++)
        len[i] = strlen(argv[i]);
    *nowned = 0;
    if (!(r = command(st, 7, argv, len, &rc)))
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

int store_heartbeat(struct store *st, const char *route, const char *consumer,
                    const char *const *ids, size_t n, bool *owned)
{
    char key[STORE_KEY_MAX];
    const char *argv[6 + HEARTBEAT_MAX_IDS];
    size_t len[6 + HEARTBEAT_MAX_IDS], nowned = 0;
    int argc = 0, rc;
    redisReply *r;

    memset(owned, 0, n * sizeof *owned);
    if (n == 0)
        return 0;
    if (n > HEARTBEAT_MAX_IDS)
        return HOOKD_ETOO_LARGE;
    if (store_key_route(st, key, sizeof key, route, "stream") < 0)
        return HOOKD_ETOO_LARGE;
    if ((rc = pending_of(st, key, consumer, ids, n, owned, &nowned)) < 0 || nowned == 0)
        return rc;
    add(argv, len, &argc, "XCLAIM", 6), add(argv, len, &argc, key, strlen(key));
    add(argv, len, &argc, STORE_GROUP, strlen(STORE_GROUP));
    add(argv, len, &argc, consumer, strlen(consumer)), add(argv, len, &argc, "0", 1);
    for (size_t i = 0; i < n; i++)
        if (owned[i])
            add(argv, len, &argc, ids[i], strlen(ids[i]));
    add(argv, len, &argc, "JUSTID", 6);
    if (!(r = command(st, argc, argv, len, &rc)))
        return rc;
    rc = r->type == REDIS_REPLY_ARRAY ? 0 : HOOKD_EREDIS_REPLY;
    freeReplyObject(r);
    return rc;
}

int store_consumer_retire(struct store *st, const char *route, const char *consumer)
{
    char key[STORE_KEY_MAX];
    const char *argv[7] = {"XPENDING", key, STORE_GROUP, "-", "+", "1", consumer};
    size_t len[7];
    int rc;
    bool empty;
    redisReply *r;

    if (store_key_route(st, key, sizeof key, route, "stream") < 0)
        return HOOKD_ETOO_LARGE;
    for (int i = 0; i < 7; i++)
        len[i] = strlen(argv[i]);
    if (!(r = command(st, 7, argv, len, &rc)))
        return rc;
    empty = r->type == REDIS_REPLY_ARRAY && r->elements == 0;
    freeReplyObject(r);
    if (!empty)
        return 0; /* entries still pending: keep them visible as ours */
    argv[0] = "XGROUP", argv[1] = "DELCONSUMER", argv[2] = key, argv[3] = STORE_GROUP;
    argv[4] = consumer;
    for (int i = 0; i < 5; i++)
        len[i] = strlen(argv[i]);
    if (!(r = command(st, 5, argv, len, &rc)))
        return rc;
    freeReplyObject(r);
    return 0;
}
