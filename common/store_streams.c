/*
 * store_streams.c — a worker thread's fair reads over a route's streams
 * (see store_streams.h). Key names come from store_keys.c, the read step
 * is SCRIPT_READ in store_scripts.c.
 *
 * Why a Lua step for the read: XREADGROUP over several streams with COUNT 1
 * hands out one entry *per stream*, so a thread would take a batch as wide
 * as the number of tenants and hold the rest unprocessed (and without a
 * heartbeat) while it runs the first. The script stops at the first entry,
 * so a thread holds one event, and it checks P:{ROUTE}:paused in the same
 * round trip. Only the idle wait uses a plain blocking XREADGROUP (scripts
 * cannot block).
 */
#include "store_streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_control.h"
#include "store_entry.h"
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

/* SCRIPT_READ over the W streams from START: *hit is the index (from START)
 * of the stream that gave *out. */
static int read_window(struct store *st, struct store_streams *s, const char *consumer,
                       size_t start, size_t w, struct store_event **out, size_t *hit)
{
    char(*keys)[STORE_KEY_MAX] = malloc((w + 1) * sizeof *keys);
    const char **argv = calloc(w + 6, sizeof *argv);
    size_t *len = calloc(w + 6, sizeof *len), got = 0;
    char word[16];
    int rc = keys && argv && len ? 0 : HOOKD_ENOMEM, argc = 3;
    redisReply *r = NULL;

    if (rc == 0 && store_key_route(st, keys[0], STORE_KEY_MAX, s->route, "paused") < 0)
        rc = HOOKD_ETOO_LARGE;
    for (size_t i = 0; rc == 0 && i < w; i++)
        if (store_key_stream(st, keys[i + 1], STORE_KEY_MAX, s->route,
                             s->tenants[(start + i) % s->n]) < 0)
            rc = HOOKD_ETOO_LARGE;
    if (rc < 0)
        goto out;
    for (size_t i = 0; i <= w; i++)
        argv[argc] = keys[i], len[argc++] = strlen(keys[i]);
    argv[argc] = STORE_GROUP, len[argc++] = strlen(STORE_GROUP);
    argv[argc] = consumer, len[argc++] = strlen(consumer);
    if (!(r = store_script(st, SCRIPT_READ, (int)w + 1, argc, argv, len, &rc)))
        goto out;
    rc = HOOKD_EREDIS_REPLY;
    if (!store_reply_array(r, 1) || !store_reply_text(r->element[0], word, sizeof word))
        goto out;
    rc = 0;
    if (strcmp(word, "paused") == 0)
        s->paused = true;
    else if (strcmp(word, "event") == 0 && store_reply_array(r, 3) &&
             r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer >= 1 &&
             (size_t)r->element[1]->integer <= w) {
        *hit = (size_t)r->element[1]->integer - 1;
        store_take_entries(st, s->route, s->tenants[(start + *hit) % s->n], r->element[2], out, 1,
                           &got);
    } else if (strcmp(word, "none") != 0)
        rc = HOOKD_EREDIS_REPLY;
out:
    if (rc == HOOKD_EREDIS_REPLY)
        log_msg(LOG_ERROR, EV_ERROR, "Redis READ script on route %s: %s%.200s", s->route,
                r && r->type == REDIS_REPLY_ERROR ? "" : "unexpected reply",
                r && r->type == REDIS_REPLY_ERROR ? r->str : "");
    freeReplyObject(r);
    free(keys), free(argv), free(len);
    return rc;
}

int store_read_fair(struct store *st, struct store_streams *s, const char *consumer,
                    struct store_event **out)
{
    *out = NULL;
    for (size_t done = 0; done < s->n; done += STORE_READ_WINDOW) {
        size_t w = s->n - done < STORE_READ_WINDOW ? s->n - done : STORE_READ_WINDOW;
        size_t start = (s->next + done) % s->n, hit = 0;
        int rc = read_window(st, s, consumer, start, w, out, &hit);
        if (rc < 0)
            return rc;
        if (*out) {
            s->next = (start + hit + 1) % s->n;
            s->paused = false;
            return 0;
        }
        if (s->paused)
            return 0;
    }
    return 0;
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
    char blk[24];
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
        const char *head[] = {"XREADGROUP", "GROUP", STORE_GROUP, consumer, "COUNT",
                              "1",          "BLOCK", blk,         "STREAMS"};
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
    char key[STORE_KEY_MAX], idle[24];
    const char *tenant = s->tenants[s->claim_at % s->n];
    size_t got = 0;
    int rc;
    redisReply *r;

    *out = NULL, *pass_done = false;
    if (store_key_stream(st, key, sizeof key, s->route, tenant) < 0)
        return HOOKD_ETOO_LARGE;
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    const char *argv[] = {"XAUTOCLAIM",    key,     STORE_GROUP, consumer, idle,
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
