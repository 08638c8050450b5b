/*
 * store_streams.c — a worker thread's fair reads over a route's streams
 * (see store_streams.h). Key names come from store_keys.c, the read step
 * is SCRIPT_READ in store_scripts_worker.c.
 *
 * Two ways to read a batch (store_read_begin):
 *
 *   several streams (tenants, a labelled handler's own stream): a Lua step,
 *     because XREADGROUP over several streams hands out up to COUNT entries
 *     *per stream*, not round robin; the script passes over the streams one
 *     entry each until it holds the batch, checks P:{ROUTE}:paused and runs
 *     BEGIN on every entry in the same step, and goes out in the same write
 *     as the previous batch's outcome step (store_outcomes_then_read).
 *   one stream (the common case): a plain XREADGROUP COUNT n, then one
 *     BEGIN call over the entries' ids (read_plain). A script's entries
 *     pass through Lua twice (reply to table, table to reply): ~5 us of
 *     Redis CPU per 1 KiB entry, five times the plain read. BEGIN checks
 *     the paused flag as the script does, so a route paused since the last
 *     sample starts nothing; the entries it read are left for the first
 *     claim pass after the resume.
 *
 * Only the idle wait uses a blocking XREADGROUP (scripts cannot block).
 */
#include "store_streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_shared.h"
#include "store_internal.h"
#include "store_worker_int.h"

typedef char tenant_name[STORE_TENANT_MAX + 1];

int store_streams_init(struct store_streams *s, const char *route)
{
    memset(s, 0, sizeof *s);
    if (strlen(route) > STORE_ROUTE_MAX)
        return HOOKD_ETOO_LARGE;
    memcpy(s->route, route, strlen(route) + 1);
    if (!(s->tenants = calloc(1, sizeof *s->tenants)))
        return HOOKD_ENOMEM;
    s->n = 1;
    snprintf(s->claim_cursor, sizeof s->claim_cursor, "0-0");
    return 0;
}

void store_streams_clear(struct store_streams *s)
{
    if (!s)
        return;
    free(s->tenants);
    memset(s, 0, sizeof *s);
}

/* True when NAME is in the sorted tenants [1..n) of S. */
static bool known(const struct store_streams *s, const char *name)
{
    return s->n > 1 && bsearch(name, s->tenants + 1, s->n - 1, sizeof *s->tenants, store_cmp_names);
}

/* Replaces the tenants of S by NAMES (sorted), creating the group on each
 * stream S did not know yet; on an error S keeps its old list. */
static int adopt(struct store *st, struct store_streams *s, tenant_name *names, size_t k)
{
    tenant_name *v = calloc(k + 1, sizeof *v);
    int rc = v ? 0 : HOOKD_ENOMEM;

    for (size_t i = 0; rc == 0 && i < k; i++) {
        if (!known(s, names[i]))
            rc = store_group_ensure_stream(st, s->route, names[i]);
        memcpy(v[i + 1], names[i], sizeof v[i + 1]);
    }
    if (rc < 0) {
        free(v);
        return rc;
    }
    free(s->tenants);
    s->tenants = v;
    s->n = k + 1;
    s->next %= s->n;
    if (s->claim_at >= s->n) {
        s->claim_at = 0;
        snprintf(s->claim_cursor, sizeof s->claim_cursor, "0-0");
    }
    return 0;
}

int store_streams_refresh(struct store *st, struct store_streams *s, bool force)
{
    int64_t now = store_now_ms();
    tenant_name *names = NULL;
    size_t k = 0;
    bool paused = false;
    int rc;

    if (!force && s->checked_ms && now - s->checked_ms < STORE_STREAMS_REFRESH_MS)
        return 0;
    if ((rc = store_route_paused(st, s->route, &paused)) < 0 ||
        (rc = store_route_tenants(st, s->route, &names, &k)) < 0)
        goto out;
    /* The common case, nothing new: keep the list (and its positions). */
    if (k != s->n - 1 || (k && memcmp(names, s->tenants + 1, k * sizeof *names) != 0))
        rc = adopt(st, s, names, k);
    if (rc == 0) {
        s->paused = paused;
        s->checked_ms = now;
    }
out:
    free(names);
    return rc;
}

/* ---- the fair read ---- */

/* One SCRIPT_READ call over the W streams of S from START, built. */
struct read_cmd {
    size_t start, w;
    int argc;
    char (*keys)[STORE_KEY_MAX]; /* owned: paused, counters, the W streams */
    const char **argv;           /* owned */
    size_t *len;                 /* owned */
    char seen[STORE_KEY_MAX], now[24], ttl[24], key_max[16], fields_max[16], count[24];
    char group[STORE_GROUP_MAX];
};

static void read_cmd_free(struct read_cmd *c)
{
    free(c->keys), free(c->argv), free(c->len);
}

/* Builds the call for up to CAP entries; START_ NULL: read only, no BEGIN. */
static int read_cmd_build(struct store *st, const struct store_streams *s, const char *consumer,
                          size_t start, size_t w, const struct store_start *start_, size_t cap,
                          struct read_cmd *c)
{
    size_t nargs = w + 2 + 3 + 9;

    memset(c, 0, sizeof *c);
    c->start = start, c->w = w, c->argc = 3;
    c->keys = malloc((w + 2) * sizeof *c->keys);
    c->argv = calloc(nargs, sizeof *c->argv);
    c->len = calloc(nargs, sizeof *c->len);
    if (!c->keys || !c->argv || !c->len)
        return HOOKD_ENOMEM;
    if (store_key_route(st, c->keys[0], STORE_KEY_MAX, s->route, "paused") < 0 ||
        store_key_route(st, c->keys[1], STORE_KEY_MAX, s->route, "counters") < 0 ||
        (start_ && store_key_seen_prefix(st, c->seen, sizeof c->seen, s->route) < 0))
        return HOOKD_ETOO_LARGE;
    for (size_t i = 0; i < w; i++)
        if (store_key_stream(st, c->keys[i + 2], STORE_KEY_MAX, s->route,
                             s->tenants[(start + i) % s->n]) < 0)
            return HOOKD_ETOO_LARGE;
    for (size_t i = 0; i < w + 2; i++)
        store_arg_add(c->argv, c->len, &c->argc, c->keys[i], strlen(c->keys[i]));
    snprintf(c->now, sizeof c->now, "%lld", (long long)store_wall_ms());
    snprintf(c->ttl, sizeof c->ttl, "%lld", (long long)(start_ ? start_->ttl_s : 0));
    snprintf(c->key_max, sizeof c->key_max, "%d", STORE_KEY_MAX);
    snprintf(c->fields_max, sizeof c->fields_max, "%d", STORE_EVENT_MAX_FIELDS);
    snprintf(c->count, sizeof c->count, "%zu", cap > 0 ? cap : 1);
    const char *args[] = {store_group(s->route, c->group, sizeof c->group), consumer, c->seen,
                          c->now,      c->ttl,       start_ ? start_->token : "",
                          c->key_max,  c->fields_max, c->count};
    for (size_t i = 0; i < 9; i++)
        store_arg_add(c->argv, c->len, &c->argc, args[i], strlen(args[i]));
    return 0;
}

/* BEGIN's answer in the read's reply (R: {'run', n, seen} | {'skip',
 * state, seen} | {'unbegun'}) for EV: *begun false unless it names the
 * dedupe record the C side names too. */
static int take_begin(struct store *st, const redisReply *r, const struct store_event *ev,
                      struct store_taken *out)
{
    char word[16], key[STORE_KEY_MAX];
    int kl =
        store_key_seen(st, key, sizeof key, ev->route, ev->source, ev->event_id, ev->event_id_len);

    memset(&out->b, 0, sizeof out->b);
    out->begun = false;
    if (!store_reply_array(r, 1) || !store_reply_text(r->element[0], word, sizeof word))
        return HOOKD_EREDIS_REPLY;
    if (strcmp(word, "unbegun") == 0)
        return 0;
    if (!store_reply_array(r, 3) || r->element[2]->type != REDIS_REPLY_STRING)
        return HOOKD_EREDIS_REPLY;
    if (kl < 0 || (size_t)kl != r->element[2]->len || memcmp(key, r->element[2]->str, (size_t)kl)) {
        log_msg(LOG_ERROR, EV_ERROR,
                "READ script on route %s began another dedupe record "
                "than entry %s names",
                ev->route, ev->stream_id);
        return 0;
    }
    if (strcmp(word, "skip") == 0) {
        if (!store_reply_text(r->element[1], out->b.state, sizeof out->b.state))
            out->b.state[0] = '\0';
    } else if (strcmp(word, "run") == 0 && r->element[1]->type == REDIS_REPLY_INTEGER &&
               r->element[1]->integer > 0 && r->element[1]->integer <= 1000000) {
        out->b.run = true;
        out->b.attempts = (int)r->element[1]->integer;
    } else {
        return HOOKD_EREDIS_REPLY;
    }
    out->begun = true;
    return 0;
}

/* One {i, [entry], begin} item of the read's reply into OUT[*n] (when it
 * parses: malformed entries are acked and logged); *hit: its stream's
 * index from c->start. */
static int read_item(struct store *st, struct store_streams *s, const struct read_cmd *c,
                     const redisReply *it, struct store_taken *out, size_t *n, size_t *hit)
{
    struct store_taken *t = &out[*n];
    size_t got = 0;
    int rc;

    if (!store_reply_array(it, 3) || it->element[0]->type != REDIS_REPLY_INTEGER ||
        it->element[0]->integer < 1 || (size_t)it->element[0]->integer > c->w)
        return HOOKD_EREDIS_REPLY;
    *hit = (size_t)it->element[0]->integer - 1;
    memset(t, 0, sizeof *t);
    store_take_entries(st, s->route, s->tenants[(c->start + *hit) % s->n], it->element[1], &t->ev,
                       1, &got);
    if (!t->ev)
        return 0;
    if ((rc = take_begin(st, it->element[2], t->ev, t)) < 0) {
        store_event_free(t->ev); /* pending: claimed after visibility_timeout */
        t->ev = NULL;
        return rc;
    }
    (*n)++;
    return 0;
}

/* The reply R (not freed) to call C: up to CAP entries into OUT, *n of
 * them; *hit is the index (from c->start) of the stream of the last one. */
static int read_reply(struct store *st, struct store_streams *s, const struct read_cmd *c,
                      const redisReply *r, struct store_taken *out, size_t cap, size_t *n,
                      size_t *hit)
{
    char word[16];
    int rc = HOOKD_EREDIS_REPLY;

    *n = 0;
    if (!store_reply_array(r, 1) || !store_reply_text(r->element[0], word, sizeof word))
        goto out;
    rc = 0;
    if (strcmp(word, "paused") == 0)
        s->paused = true;
    else if (strcmp(word, "events") == 0)
        for (size_t i = 1; rc == 0 && i < r->elements && *n < cap; i++)
            rc = read_item(st, s, c, r->element[i], out, n, hit);
    else if (strcmp(word, "none") != 0)
        rc = HOOKD_EREDIS_REPLY;
out:
    if (rc == HOOKD_EREDIS_REPLY)
        log_msg(LOG_ERROR, EV_ERROR, "Redis READ script on route %s: %s%.200s", s->route,
                r->type == REDIS_REPLY_ERROR ? "" : "unexpected reply",
                r->type == REDIS_REPLY_ERROR ? r->str : "");
    return rc;
}

/* After a read's answer: the round-robin position moves past the stream
 * that gave the last entry. */
static void advance(struct store_streams *s, const struct read_cmd *c, size_t hit)
{
    s->next = (c->start + hit + 1) % s->n;
    s->paused = false;
}

static int read_window(struct store *st, struct store_streams *s, const char *consumer,
                       size_t start, size_t w, const struct store_start *start_,
                       struct store_taken *out, size_t cap, size_t *n)
{
    struct read_cmd c;
    redisReply *r = NULL;
    size_t hit = 0;
    int rc = read_cmd_build(st, s, consumer, start, w, start_, cap, &c);

    if (rc == 0 && (r = store_script(st, SCRIPT_READ, (int)w + 2, c.argc, c.argv, c.len, &rc)))
        rc = read_reply(st, s, &c, r, out, cap, n, &hit);
    if (*n > 0)
        advance(s, &c, hit);
    freeReplyObject(r);
    read_cmd_free(&c);
    return rc;
}

/* A route with one stream: XREADGROUP COUNT CAP as a plain command, so the
 * entries reach the worker without passing through Lua (a Lua step turns
 * each into a Lua table and back into its reply: ~5 us of Redis CPU per
 * 1 KiB entry, against ~1 us natively), then one BEGIN call over their
 * ids, which checks the paused flag exactly as the read script does. */
static int read_plain(struct store *st, struct store_streams *s, const char *consumer,
                      const struct store_start *start, struct store_taken *out, size_t cap,
                      size_t *n)
{
    struct store_event *evs[STORE_READ_MAX];
    struct store_begin_result b[STORE_READ_MAX];
    char key[STORE_KEY_MAX], count[24], gbuf[STORE_GROUP_MAX];
    size_t got = 0, len[9];
    bool paused = false;
    redisReply *r;
    int rc;

    if (store_key_stream(st, key, sizeof key, s->route, NULL) < 0)
        return HOOKD_ETOO_LARGE;
    snprintf(count, sizeof count, "%zu", cap < STORE_READ_MAX ? cap : STORE_READ_MAX);
    const char *argv[] = {"XREADGROUP", "GROUP", store_group(s->route, gbuf, sizeof gbuf),
                          consumer, "COUNT", count, "STREAMS", key, ">"};
    for (int i = 0; i < 9; i++)
        len[i] = strlen(argv[i]);
    if (!(r = store_command(st, 9, argv, len, &rc)))
        return rc;
    if (store_reply_array(r, 1) && store_reply_array(r->element[0], 2))
        store_take_entries(st, s->route, "", r->element[0]->element[1], evs, STORE_READ_MAX, &got);
    else if (r->type != REDIS_REPLY_NIL)
        rc = HOOKD_EREDIS_REPLY, log_msg(LOG_ERROR, EV_ERROR, "Redis XREADGROUP on route %s: %.200s",
                                         s->route, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    if (rc == 0 && got > 0 &&
        (rc = store_begin_many(st, evs, got, start->ttl_s, start->token, consumer, b, &paused)) == 0)
        s->paused = paused;
    for (size_t i = 0; i < got; i++) {
        if (rc < 0 || paused) { /* pending: claimed later */
            store_event_free(evs[i]);
            continue;
        }
        out[*n] = (struct store_taken){.ev = evs[i], .begun = true, .b = b[i]};
        (*n)++;
    }
    return rc;
}

int store_read_begin(struct store *st, struct store_streams *s, const char *consumer,
                     const struct store_start *start, struct store_taken *out, size_t cap,
                     size_t *n)
{
    *n = 0;
    if (s->n == 1 && start)
        return read_plain(st, s, consumer, start, out, cap, n);
    for (size_t done = 0; done < s->n; done += STORE_READ_WINDOW) {
        size_t w = s->n - done < STORE_READ_WINDOW ? s->n - done : STORE_READ_WINDOW;
        int rc = read_window(st, s, consumer, (s->next + done) % s->n, w, start, out, cap, n);
        if (rc < 0 || *n > 0 || s->paused)
            return rc;
    }
    return 0;
}

int store_read_fair(struct store *st, struct store_streams *s, const char *consumer,
                    struct store_event **out)
{
    struct store_taken t = {0};
    size_t n = 0;
    int rc = store_read_begin(st, s, consumer, NULL, &t, 1, &n);

    *out = n ? t.ev : NULL;
    return rc;
}

bool store_streams_fresh(const struct store_streams *s)
{
    return s->checked_ms && store_now_ms() - s->checked_ms < STORE_STREAMS_REFRESH_MS;
}

int store_outcomes_then_read(struct store *st, const struct store_outcome *o, size_t no,
                             bool *applied, struct store_streams *s, const char *consumer,
                             const struct store_start *start, struct store_taken *next,
                             size_t cap, size_t *nnext, int *read_rc)
{
    struct store_steps steps;
    struct read_cmd c;
    redisReply *replies[2] = {NULL, NULL};
    int rcs[2], rc;
    size_t hit = 0;

    *nnext = 0;
    if (s->n == 1) { /* read_plain: a plain command, not a script */
        rc = store_outcomes(st, o, no, applied);
        *read_rc = store_read_begin(st, s, consumer, start, next, cap, nnext);
        return rc;
    }
    memset(&c, 0, sizeof c); /* read_cmd_free of it does nothing */
    *read_rc = HOOKD_ETOO_LARGE;
    if (s->n > STORE_READ_WINDOW ||
        (*read_rc = read_cmd_build(st, s, consumer, s->next, s->n, start, cap, &c)) < 0) {
        read_cmd_free(&c);
        return store_outcomes(st, o, no, applied); /* the read is left to the caller */
    }
    if ((rc = store_steps_build(st, o, no, &steps)) == 0) {
        const enum store_script which[2] = {SCRIPT_OUTCOMES, SCRIPT_READ};
        const int nkeys[2] = {steps.nkeys, (int)s->n + 2};
        const struct store_argv cmds[2] = {{steps.argc, steps.argv, steps.len},
                                           {c.argc, c.argv, c.len}};
        store_scripts_pipeline(st, 2, which, nkeys, cmds, replies, rcs, NULL);
        if ((rc = rcs[0]) == 0)
            rc = store_steps_reply(replies[0], no, applied);
        if ((*read_rc = rcs[1]) == 0)
            *read_rc = read_reply(st, s, &c, replies[1], next, cap, nnext, &hit);
        if (*nnext > 0)
            advance(s, &c, hit);
    } else {
        *read_rc = rc;
    }
    store_steps_free(&steps);
    freeReplyObject(replies[0]), freeReplyObject(replies[1]);
    read_cmd_free(&c);
    return rc;
}

/* ---- the idle wait ---- */

/* The tenant of S whose stream key is KEY (NULL if none). */
static const char *tenant_of(const struct store_streams *s, char (*keys)[STORE_KEY_MAX],
                             const redisReply *key)
{
    for (size_t i = 0; key && key->type == REDIS_REPLY_STRING && i < s->n; i++)
        if (strlen(keys[i]) == key->len && memcmp(keys[i], key->str, key->len) == 0)
            return s->tenants[i];
    return NULL;
}

int store_read_wait(struct store *st, struct store_streams *s, const char *consumer,
                    int64_t block_ms, struct store_event **out, size_t cap, size_t *n)
{
    char(*keys)[STORE_KEY_MAX] = malloc(s->n * sizeof *keys);
    const char **argv = calloc(2 * s->n + 9, sizeof *argv);
    size_t *len = calloc(2 * s->n + 9, sizeof *len);
    char blk[24], gbuf[STORE_GROUP_MAX]; /* argv points into both until the call */
    int argc = 0, rc = keys && argv && len ? 0 : HOOKD_ENOMEM;
    redisReply *r = NULL;

    *n = 0;
    for (size_t i = 0; rc == 0 && i < s->n; i++)
        if (store_key_stream(st, keys[i], STORE_KEY_MAX, s->route, s->tenants[i]) < 0)
            rc = HOOKD_ETOO_LARGE;
    if (rc < 0)
        goto out;
    snprintf(blk, sizeof blk, "%lld", (long long)(block_ms > 0 ? block_ms : 1));
    {
        const char *head[] = {"XREADGROUP", "GROUP", store_group(s->route, gbuf, sizeof gbuf),
                              consumer,     "COUNT", "1", "BLOCK", blk, "STREAMS"};
        for (size_t i = 0; i < 9; i++)
            argv[argc] = head[i], len[argc++] = strlen(head[i]);
    }
    for (size_t i = 0; i < s->n; i++)
        argv[argc] = keys[i], len[argc++] = strlen(keys[i]);
    for (size_t i = 0; i < s->n; i++)
        argv[argc] = ">", len[argc++] = 1;
    if (!(r = store_command(st, argc, argv, len, &rc)))
        goto out;
    /* nil: BLOCK timed out; else [[key, [entries...]], ...] */
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            const char *tenant = store_reply_array(r->element[i], 2)
                                     ? tenant_of(s, keys, r->element[i]->element[0])
                                     : NULL;
            if (tenant)
                store_take_entries(st, s->route, tenant, r->element[i]->element[1], out, cap, n);
        }
    } else if (r->type != REDIS_REPLY_NIL) {
        log_msg(LOG_ERROR, EV_ERROR, "Redis XREADGROUP on route %s: %.200s", s->route,
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        rc = HOOKD_EREDIS_REPLY;
    }
out:
    freeReplyObject(r);
    free(keys), free(argv), free(len);
    return rc;
}

/* ---- stale entries ---- */

int store_claim_next(struct store *st, struct store_streams *s, const char *consumer,
                     int64_t min_idle_ms, struct store_event **out, bool *pass_done)
{
    char key[STORE_KEY_MAX], idle[24], gbuf[STORE_GROUP_MAX];
    const char *tenant = s->tenants[s->claim_at % s->n];
    size_t got = 0;
    int rc;
    redisReply *r;

    *out = NULL, *pass_done = false;
    if (store_key_stream(st, key, sizeof key, s->route, tenant) < 0)
        return HOOKD_ETOO_LARGE;
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    const char *argv[] = {"XAUTOCLAIM",    key,     store_group(s->route, gbuf, sizeof gbuf),
                          consumer,        idle,
                          s->claim_cursor, "COUNT", "1"};
    size_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = strlen(argv[i]);
    if (!(r = store_command(st, 8, argv, len, &rc)))
        return rc;
    /* [next_cursor, [entries...], [deleted ids...] (Redis >= 7)] */
    if (!store_reply_array(r, 2) ||
        !store_reply_text(r->element[0], s->claim_cursor, sizeof s->claim_cursor)) {
        log_msg(LOG_ERROR, EV_ERROR, "Redis XAUTOCLAIM %s: %.200s", key,
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        snprintf(s->claim_cursor, sizeof s->claim_cursor, "0-0");
        rc = HOOKD_EREDIS_REPLY;
    } else {
        store_take_entries(st, s->route, tenant, r->element[1], out, 1, &got);
        if (strcmp(s->claim_cursor, "0-0") == 0) { /* this stream's pass is over */
            s->claim_at = (s->claim_at + 1) % s->n;
            *pass_done = s->claim_at == 0;
        }
    }
    freeReplyObject(r);
    return rc;
}
