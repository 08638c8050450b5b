/*
 * store_steps.c — the worker's atomic state steps (store_worker.h): BEGIN
 * before a handler runs, and the outcomes after them (FINISH, RETRY or
 * DEAD), a batch of them in one EVALSHA of SCRIPT_OUTCOMES (store_scripts_worker.c),
 * with the batch's handler-duration samples summed here into one HINCRBY
 * per histogram field. The call is built as a command first
 * (store_steps_build) so that store_streams.c can send the worker's next
 * read in the same write (store_outcomes_then_read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_internal.h"
#include "store_shared.h"
#include "store_worker_int.h"

static int steps_alloc(struct store_steps *c, size_t n);

/* One answer of BEGIN ({'run', attempts} | {'skip', state}) into OUT. */
static int begin_answer(const redisReply *r, struct store_begin_result *out)
{
    char word[8], num[24];

    memset(out, 0, sizeof *out);
    if (!store_reply_array(r, 2) || !store_reply_text(r->element[0], word, sizeof word))
        return HOOKD_EREDIS_REPLY;
    if (strcmp(word, "skip") == 0) {
        if (!store_reply_text(r->element[1], out->state, sizeof out->state))
            out->state[0] = '\0';
        return 0;
    }
    if (strcmp(word, "run") != 0 || !store_reply_text(r->element[1], num, sizeof num))
        return HOOKD_EREDIS_REPLY;
    out->run = true;
    out->attempts = (int)strtol(num, NULL, 10);
    return out->attempts > 0 && out->attempts <= 1000000 ? 0 : HOOKD_EREDIS_REPLY;
}

/* BEGIN's KEYS (counters, stream, paused, seen...) and ARGV for EV[0..n),
 * all of one stream, into C (argv[0..2] left for store_script). */
static int begin_build(struct store *st, struct store_event *const *ev, size_t n,
                       const char *token, int64_t ttl_s, const char *consumer,
                       struct store_steps *c)
{
    const char *route = ev[0]->route;
    const char *g;
    int rc = steps_alloc(c, n);

    c->argc = 3;
    if (rc < 0)
        return rc;
    if (store_key_route(st, c->keys[0], STORE_KEY_MAX, route, "counters") < 0 ||
        store_key_stream(st, c->keys[1], STORE_KEY_MAX, route, ev[0]->stream_tenant) < 0 ||
        store_key_route(st, c->keys[2], STORE_KEY_MAX, route, "paused") < 0)
        return HOOKD_ETOO_LARGE;
    for (int i = 0; i < 3; i++)
        store_arg_add(c->argv, c->len, &c->argc, c->keys[i], strlen(c->keys[i]));
    for (size_t i = 0; i < n; i++) {
        int kl = store_key_seen(st, c->keys[3 + i], STORE_KEY_MAX, ev[i]->route, ev[i]->source,
                                ev[i]->event_id, ev[i]->event_id_len);
        if (kl < 0 || strcmp(ev[i]->route, route) || strcmp(ev[i]->stream_tenant, ev[0]->stream_tenant))
            return kl < 0 ? HOOKD_ETOO_LARGE : HOOKD_ESTATE; /* one stream per call */
        store_arg_add(c->argv, c->len, &c->argc, c->keys[3 + i], (size_t)kl);
    }
    c->nkeys = c->argc - 3;
    g = store_group(route, c->group, sizeof c->group);
    snprintf(c->nums[0], sizeof c->nums[0], "%lld", (long long)store_wall_ms());
    snprintf(c->nums[1], sizeof c->nums[0], "%lld", (long long)ttl_s);
    const char *args[] = {g, c->nums[0], c->nums[1], token, consumer ? consumer : ""};
    for (size_t i = 0; i < 5; i++)
        store_arg_add(c->argv, c->len, &c->argc, args[i], strlen(args[i]));
    for (size_t i = 0; i < n; i++)
        store_arg_add(c->argv, c->len, &c->argc, ev[i]->stream_id, strlen(ev[i]->stream_id));
    return 0;
}

int store_begin_many(struct store *st, struct store_event *const *ev, size_t n, int64_t ttl_s,
                     const char *token, const char *consumer, struct store_begin_result *out,
                     bool *paused)
{
    struct store_steps c;
    redisReply *r = NULL;
    char word[8];
    int rc;

    *paused = false;
    if (n == 0)
        return 0;
    rc = begin_build(st, ev, n, token, ttl_s, consumer, &c);
    if (rc < 0 || !(r = store_script(st, SCRIPT_BEGIN, c.nkeys, c.argc, c.argv, c.len, &rc)))
        goto out;
    rc = HOOKD_EREDIS_REPLY;
    if (store_reply_array(r, 1) && store_reply_text(r->element[0], word, sizeof word) &&
        strcmp(word, "paused") == 0) {
        *paused = true, rc = 0;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == n) {
        rc = 0;
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = begin_answer(r->element[i], &out[i]);
    }
    if (rc < 0)
        log_msg(LOG_ERROR, EV_ERROR, "Redis BEGIN script: unexpected reply (type %d)%s%.200s",
                r->type, r->type == REDIS_REPLY_ERROR ? ": " : "",
                r->type == REDIS_REPLY_ERROR ? r->str : "");
out:
    freeReplyObject(r);
    store_steps_free(&c);
    return rc;
}

int store_begin(struct store *st, const struct store_event *ev, int64_t ttl_s, const char *token,
                struct store_begin_result *out)
{
    struct store_event *one = (struct store_event *)ev; /* only read */
    bool paused;

    memset(out, 0, sizeof *out);
    return store_begin_many(st, &one, 1, ttl_s, token, NULL, out, &paused);
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

void store_steps_free(struct store_steps *c)
{
    if (!c)
        return;
    free(c->argv), free(c->len), free(c->keys), free(c->nums), free(c->members);
    free(c->hist);
    memset(c, 0, sizeof *c);
}

/* Adds INC to the summed histogram field NAME of C (at most 2 per event). */
static void hist_add(struct store_steps *c, const char *name, long long inc)
{
    size_t i = 0;

    while (i < c->nhist && strcmp(c->hist[i].field, name) != 0)
        i++;
    if (i == c->nhist)
        snprintf(c->hist[c->nhist++].field, sizeof c->hist[0].field, "%s", name);
    c->hist[i].n += inc;
}

/* The arguments of outcome O (event I of the batch) after the globals:
 * 'f' stream_id | 'r' stream_id due last_error member | 'd' stream_id
 * reason last_error attempts nfields fields... */
static int step_args(struct store_steps *c, const struct store_outcome *o, size_t i)
{
    static const char *const kind[] = {[STORE_FINISH] = "f", [STORE_RETRY] = "r",
                                       [STORE_DEAD] = "d"};
    const struct store_event *ev = o->ev;
    const char **argv = c->argv;
    size_t *len = c->len, nf = 0;
    int n = c->argc, ml = 0;

    ADD_STR(kind[o->kind]), ADD_STR(ev->stream_id);
    if (o->kind == STORE_RETRY) {
        if ((ml = retry_member(ev, c->members[i], STORE_MEMBER_MAX)) < 0)
            return HOOKD_ETOO_LARGE;
        snprintf(c->nums[2 * i], sizeof c->nums[0], "%lld", (long long)o->due_ms);
        ADD_STR(c->nums[2 * i]), ADD_STR(o->last_error ? o->last_error : "");
        store_arg_add(argv, len, &n, c->members[i], (size_t)ml);
    } else if (o->kind == STORE_DEAD) {
        for (size_t f = 0; f < ev->nfields; f++)
            nf += !dead_own_field(ev->names[f]);
        snprintf(c->nums[2 * i], sizeof c->nums[0], "%d", o->attempts);
        snprintf(c->nums[2 * i + 1], sizeof c->nums[0], "%zu", 2 * nf);
        ADD_STR(o->reason), ADD_STR(o->last_error ? o->last_error : "");
        ADD_STR(c->nums[2 * i]), ADD_STR(c->nums[2 * i + 1]);
        for (size_t f = 0; f < ev->nfields; f++) {
            if (dead_own_field(ev->names[f]))
                continue;
            ADD_STR(ev->names[f]);
            store_arg_add(argv, len, &n, ev->values[f], ev->value_lens[f]);
        }
    }
    c->argc = n;
    return 0;
}

/* KEYS counters, handler_hist, retry, dead of ROUTE into c->keys[0..4). */
static int batch_keys(struct store *st, const char *route, struct store_steps *c)
{
    static const char *const what[] = {"counters", STORE_HANDLER_HIST_KEY, "retry", "dead"};

    for (int i = 0; i < 4; i++) {
        if (store_key_route(st, c->keys[i], STORE_KEY_MAX, route, what[i]) < 0)
            return HOOKD_ETOO_LARGE;
        store_arg_add(c->argv, c->len, &c->argc, c->keys[i], strlen(c->keys[i]));
    }
    return 0;
}

static int steps_alloc(struct store_steps *c, size_t n)
{
    size_t cap = 3 + 4 + 2 * n + 4 + 4 * n + n * (6 + 2 * STORE_EVENT_MAX_FIELDS);

    memset(c, 0, sizeof *c);
    c->argv = calloc(cap, sizeof *c->argv);
    c->len = calloc(cap, sizeof *c->len);
    c->keys = malloc((4 + 2 * n) * sizeof *c->keys);
    c->nums = calloc(2 * n + 3, sizeof *c->nums);
    c->members = malloc(n * sizeof *c->members);
    c->hist = calloc(2 * n, sizeof *c->hist);
    return c->argv && c->len && c->keys && c->nums && c->members && c->hist ? 0 : HOOKD_ENOMEM;
}

/* The globals after the keys: group, now, ttl, nhist, (field, n)... */
static void batch_globals(struct store_steps *c, const struct store_outcome *o, size_t n)
{
    char *now = c->nums[2 * n], *ttl = c->nums[2 * n + 1], *nh = c->nums[2 * n + 2];
    const char *g = store_group(o->ev->route, c->group, sizeof c->group);

    snprintf(now, sizeof c->nums[0], "%lld", (long long)store_wall_ms());
    snprintf(ttl, sizeof c->nums[0], "%lld", (long long)o->ttl_s);
    snprintf(nh, sizeof c->nums[0], "%zu", c->nhist);
    store_arg_add(c->argv, c->len, &c->argc, g, strlen(g));
    store_arg_add(c->argv, c->len, &c->argc, now, strlen(now));
    store_arg_add(c->argv, c->len, &c->argc, ttl, strlen(ttl));
    store_arg_add(c->argv, c->len, &c->argc, nh, strlen(nh));
    for (size_t i = 0; i < c->nhist; i++) {
        snprintf(c->hist[i].num, sizeof c->hist[i].num, "%lld", c->hist[i].n);
        store_arg_add(c->argv, c->len, &c->argc, c->hist[i].field, strlen(c->hist[i].field));
        store_arg_add(c->argv, c->len, &c->argc, c->hist[i].num, strlen(c->hist[i].num));
    }
}

int store_steps_build(struct store *st, const struct store_outcome *o, size_t n,
                      struct store_steps *c)
{
    int rc = n > 0 ? steps_alloc(c, n) : HOOKD_ESTATE;

    c->argc = 3;
    if (rc < 0 || (rc = batch_keys(st, o[0].ev->route, c)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char *k = c->keys[4 + 2 * i], *sk = c->keys[5 + 2 * i];
        const struct store_event *ev = o[i].ev;
        int sl = store_key_seen(st, k, STORE_KEY_MAX, ev->route, ev->source, ev->event_id,
                                ev->event_id_len);
        if (strcmp(ev->route, o[0].ev->route) != 0)
            return HOOKD_ESTATE; /* one route per call: one hash slot */
        if (sl < 0 || store_key_stream(st, sk, STORE_KEY_MAX, ev->route, ev->stream_tenant) < 0)
            return HOOKD_ETOO_LARGE;
        store_arg_add(c->argv, c->len, &c->argc, k, (size_t)sl);
        store_arg_add(c->argv, c->len, &c->argc, sk, strlen(sk));
        if (o[i].smp) {
            hist_add(c, o[i].smp->bucket_field, 1);
            hist_add(c, o[i].smp->sum_field, o[i].smp->sum_us);
        }
    }
    c->nkeys = c->argc - 3;
    batch_globals(c, o, n);
    for (size_t i = 0; i < n; i++)
        if ((rc = step_args(c, &o[i], i)) < 0)
            return rc;
    return 0;
}

int store_steps_reply(const redisReply *r, size_t n, bool *applied)
{
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == n;

    for (size_t i = 0; ok && i < n; i++)
        ok = r->element[i]->type == REDIS_REPLY_INTEGER;
    for (size_t i = 0; ok && applied && i < n; i++)
        applied[i] = r->element[i]->integer == 1;
    if (ok)
        return 0;
    log_msg(LOG_ERROR, EV_ERROR, "Redis OUTCOMES script: unexpected reply type %d%s%.200s",
            r->type, r->type == REDIS_REPLY_ERROR ? ": " : "",
            r->type == REDIS_REPLY_ERROR ? r->str : "");
    return HOOKD_EREDIS_REPLY;
}

int store_outcomes(struct store *st, const struct store_outcome *o, size_t n, bool *applied)
{
    struct store_steps c;
    redisReply *r;
    int rc;

    if ((rc = store_steps_build(st, o, n, &c)) == 0 &&
        (r = store_script(st, SCRIPT_OUTCOMES, c.nkeys, c.argc, c.argv, c.len, &rc))) {
        rc = store_steps_reply(r, n, applied);
        freeReplyObject(r);
    }
    store_steps_free(&c);
    return rc;
}

int store_outcome(struct store *st, const struct store_outcome *o, bool *applied)
{
    return store_outcomes(st, o, 1, applied);
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
