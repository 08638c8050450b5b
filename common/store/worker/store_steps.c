/*
 * store_steps.c — the worker's atomic state steps (store_worker.h): BEGIN
 * before a handler runs, and the outcome after it (FINISH, RETRY or DEAD),
 * each one EVALSHA of a script in store_scripts.c. An outcome step is built
 * as a command first (store_step_build) so that store_streams.c can send the
 * worker's next read in the same write (store_outcome_then_read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_internal.h"
#include "store_shared.h"
#include "store_worker_int.h"

/* KEYS seen, stream, counters (+ one more when EXTRA names it, and then
 * the handler histogram as a fifth). */
static int step_keys(struct store *st, const struct store_event *ev, const char *extra,
                     char keys[5][STORE_KEY_MAX], size_t klen[5])
{
    int sl = store_key_seen(st, keys[0], STORE_KEY_MAX, ev->route, ev->source, ev->event_id,
                            ev->event_id_len);

    if (sl < 0 || store_key_stream(st, keys[1], STORE_KEY_MAX, ev->route, ev->stream_tenant) < 0 ||
        store_key_route(st, keys[2], STORE_KEY_MAX, ev->route, "counters") < 0 ||
        (extra && store_key_route(st, keys[3], STORE_KEY_MAX, ev->route, extra) < 0) ||
        (extra &&
         store_key_route(st, keys[4], STORE_KEY_MAX, ev->route, STORE_HANDLER_HIST_KEY) < 0))
        return HOOKD_ETOO_LARGE;
    klen[0] = (size_t)sl, klen[1] = strlen(keys[1]), klen[2] = strlen(keys[2]);
    klen[3] = extra ? strlen(keys[3]) : 0;
    klen[4] = extra ? strlen(keys[4]) : 0;
    return 0;
}

/* The three sample arguments of LUA_OBSERVE ("" when SMP is NULL). */
static void add_sample(const char **argv, size_t *len, int *n,
                       const struct store_handler_sample *smp, char *num, size_t cap)
{
    snprintf(num, cap, "%lld", smp ? smp->sum_us : 0LL);
    store_arg_add(argv, len, n, smp ? smp->bucket_field : "", smp ? strlen(smp->bucket_field) : 0);
    store_arg_add(argv, len, n, smp ? smp->sum_field : "", smp ? strlen(smp->sum_field) : 0);
    store_arg_add(argv, len, n, num, strlen(num));
}

int store_begin(struct store *st, const struct store_event *ev, int64_t ttl_s, const char *token,
                struct store_begin_result *out)
{
    char keys[5][STORE_KEY_MAX], now[24], ttl[24], word[8], num[24], group[STORE_GROUP_MAX];
    size_t klen[5], len[3 + 3 + 5];
    const char *argv[3 + 3 + 5];
    int n = 3, rc;
    redisReply *r;

    memset(out, 0, sizeof *out);
    if ((rc = step_keys(st, ev, NULL, keys, klen)) < 0)
        return rc;
    for (int i = 0; i < 3; i++)
        store_arg_add(argv, len, &n, keys[i], klen[i]);
    snprintf(now, sizeof now, "%lld", (long long)store_wall_ms());
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_s);
    ADD_STR(ev->stream_id), ADD_STR(store_group(ev->route, group, sizeof group)), ADD_STR(now),
        ADD_STR(ttl), ADD_STR(token);
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

/* "[TENANT:]STREAM_ID|SOURCE|EVENT_ID" into buf (the tenant names the
 * entry's stream when it is not P:{ROUTE}:stream); length or HOOKD_ETOO_LARGE. */
static int retry_member(const struct store_event *ev, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s%s%s|%s|", ev->stream_tenant, ev->stream_tenant[0] ? ":" : "",
                     ev->stream_id, ev->source);

    if (n < 0 || (size_t)n + ev->event_id_len >= cap)
        return HOOKD_ETOO_LARGE;
    memcpy(buf + n, ev->event_id, ev->event_id_len);
    buf[n + ev->event_id_len] = '\0';
    return n + (int)ev->event_id_len;
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

/* The arguments after the keys: FINISH stream_id, group, now, ttl, sample;
 * RETRY stream_id, group, now, due, last_error, member, ttl, sample; DEAD
 * stream_id, group, now, reason, last_error, attempts, ttl, sample, fields. */
static int step_args(const struct store_outcome *o, struct store_step *c, int ml)
{
    const struct store_event *ev = o->ev;
    const char **argv = c->argv;
    size_t *len = c->len;
    int n = c->argc;

    ADD_STR(ev->stream_id), ADD_STR(store_group(ev->route, c->group, sizeof c->group)),
        ADD_STR(c->now);
    if (o->kind == STORE_RETRY) {
        ADD_STR(c->due), ADD_STR(o->last_error ? o->last_error : "");
        store_arg_add(argv, len, &n, c->member, (size_t)ml);
    } else if (o->kind == STORE_DEAD) {
        ADD_STR(o->reason), ADD_STR(o->last_error ? o->last_error : ""), ADD_STR(c->att);
    }
    ADD_STR(c->ttl);
    add_sample(argv, len, &n, o->smp, c->us, sizeof c->us);
    for (size_t i = 0; o->kind == STORE_DEAD && i < ev->nfields; i++) {
        if (dead_own_field(ev->names[i]))
            continue;
        ADD_STR(ev->names[i]);
        store_arg_add(argv, len, &n, ev->values[i], ev->value_lens[i]);
    }
    return n;
}

int store_step_build(struct store *st, const struct store_outcome *o, struct store_step *c)
{
    static const enum store_script which[] = {
        [STORE_FINISH] = SCRIPT_FINISH, [STORE_RETRY] = SCRIPT_RETRY, [STORE_DEAD] = SCRIPT_DEAD};
    size_t klen[5];
    int rc, ml = 0;

    c->which = which[o->kind];
    c->nkeys = 5, c->argc = 3;
    if ((rc = step_keys(st, o->ev, o->kind == STORE_RETRY ? "retry" : "dead", c->keys, klen)) < 0)
        return rc;
    if (o->kind == STORE_RETRY && (ml = retry_member(o->ev, c->member, sizeof c->member)) < 0)
        return HOOKD_ETOO_LARGE;
    for (int i = 0; i < 5; i++)
        store_arg_add(c->argv, c->len, &c->argc, c->keys[i], klen[i]);
    snprintf(c->now, sizeof c->now, "%lld", (long long)store_wall_ms());
    snprintf(c->due, sizeof c->due, "%lld", (long long)o->due_ms);
    snprintf(c->att, sizeof c->att, "%d", o->attempts);
    snprintf(c->ttl, sizeof c->ttl, "%lld", (long long)o->ttl_s);
    c->argc = step_args(o, c, ml);
    return 0;
}

int store_step_reply(enum store_script which, const redisReply *r, bool *applied)
{
    if (r->type == REDIS_REPLY_INTEGER) {
        if (applied)
            *applied = r->integer == 1;
        return 0;
    }
    log_msg(LOG_ERROR, EV_ERROR, "Redis worker script %d: unexpected reply type %d%s%.200s",
            (int)which, r->type, r->type == REDIS_REPLY_ERROR ? ": " : "",
            r->type == REDIS_REPLY_ERROR ? r->str : "");
    return HOOKD_EREDIS_REPLY;
}

int store_outcome(struct store *st, const struct store_outcome *o, bool *applied)
{
    struct store_step c;
    redisReply *r;
    int rc;

    if ((rc = store_step_build(st, o, &c)) == 0 &&
        (r = store_script(st, c.which, c.nkeys, c.argc, c.argv, c.len, &rc))) {
        rc = store_step_reply(c.which, r, applied);
        freeReplyObject(r);
    }
    return rc;
}

int store_finish(struct store *st, const struct store_event *ev, int64_t ttl_s,
                 const struct store_handler_sample *smp, bool *applied)
{
    struct store_outcome o = {.kind = STORE_FINISH, .ev = ev, .ttl_s = ttl_s, .smp = smp};

    return store_outcome(st, &o, applied);
}

int store_retry(struct store *st, const struct store_event *ev, int64_t due_ms,
                const char *last_error, int64_t ttl_s, const struct store_handler_sample *smp,
                bool *applied)
{
    struct store_outcome o = {.kind = STORE_RETRY,
                              .ev = ev,
                              .ttl_s = ttl_s,
                              .smp = smp,
                              .due_ms = due_ms,
                              .last_error = last_error};

    return store_outcome(st, &o, applied);
}

int store_dead(struct store *st, const struct store_event *ev, const char *reason,
               const char *last_error, int attempts, int64_t ttl_s,
               const struct store_handler_sample *smp, bool *applied)
{
    struct store_outcome o = {.kind = STORE_DEAD,
                              .ev = ev,
                              .ttl_s = ttl_s,
                              .smp = smp,
                              .reason = reason,
                              .last_error = last_error,
                              .attempts = attempts};

    return store_outcome(st, &o, applied);
}
