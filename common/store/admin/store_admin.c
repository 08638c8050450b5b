/*
 * store_admin.c — statistics for operators: per-route stream, consumer
 * group and counter figures (summed over the route's own stream and its
 * tenants' streams, with a line per tenant), the paused flag, the summary
 * of the rejected-requests stream, the throttle overrides, and the stats
 * document shared by `hookctl stats --json` and the admin API; see
 * store_admin.h. Read-only: nothing here writes to Redis.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "err.h"
#include "store_admin.h"
#include "store_shared.h"
#include "store_internal.h"

#define SCAN_PAGE 1000            /* entries per XRANGE page */
#define LAG_SCAN_MAX 100000       /* entries counted when Redis cannot tell the lag */
#define REJECTED_SCAN_MAX 1000000 /* the rejected stream is capped far below this */
#define STATS_THROTTLE_MAX 256    /* overrides listed */

static const char *const counter_names[STORE_NCOUNTERS] = {
#define STORE_COUNTER_NAME_(id, name) [STORE_C_##id] = name,
    STORE_COUNTERS(STORE_COUNTER_NAME_)
#undef STORE_COUNTER_NAME_
};

int store_route_backlog(struct store *st, const char *route, int64_t *out)
{
    char key[STORE_KEY_MAX];
    const char *argv[3] = {"HGET", key, "backlog"};
    size_t len[3] = {4, 0, 7};
    int rc;
    redisReply *r;

    if (store_key_route(st, key, sizeof key, route, "counters") < 0)
        return HOOKD_ETOO_LARGE;
    len[1] = strlen(key);
    if (!(r = store_command(st, 3, argv, len, &rc)))
        return rc;
    if (r->type == REDIS_REPLY_NIL)
        *out = 0;
    else if (r->type == REDIS_REPLY_STRING)
        *out = strtoll(r->str, NULL, 10);
    else
        rc = HOOKD_EREDIS_REPLY;
    freeReplyObject(r);
    return rc;
}

/* Runs ARGV (at most 8 words) with argv[KEYPOS] set to KEY; KEY NULL
 * (it did not fit) fails with HOOKD_ETOO_LARGE. */
static redisReply *keyed_cmd(struct store *st, const char *key, int argc, const char **argv,
                             int keypos, int *rc)
{
    size_t len[8];

    if (!key || argc > 8) {
        *rc = HOOKD_ETOO_LARGE;
        return NULL;
    }
    argv[keypos] = key;
    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    return store_command(st, argc, argv, len, rc);
}

/* Runs ARGV with argv[KEYPOS] replaced by the route's WHAT key. */
static redisReply *route_cmd(struct store *st, const char *route, const char *what, int argc,
                             const char **argv, int keypos, int *rc)
{
    char key[STORE_KEY_MAX];
    bool ok = store_key_route(st, key, sizeof key, route, what) >= 0;

    return keyed_cmd(st, ok ? key : NULL, argc, argv, keypos, rc);
}

static int route_int(struct store *st, const char *route, const char *what, const char *cmd,
                     int64_t *out)
{
    const char *argv[2] = {cmd, NULL};
    int rc;
    redisReply *r = route_cmd(st, route, what, 2, argv, 1, &rc);

    return store_reply_int(r, rc, out);
}

/* "verified:SOURCE:VERSION" = N into VERIFIED[SOURCE][VERSION] (added). */
static void add_verified(json_t *verified, const char *field, const char *value)
{
    const char *src = field + strlen("verified:"), *colon = strrchr(src, ':');
    char source[CONFIG_NAME_MAX + 1];
    json_t *by, *old;

    if (!colon || colon == src || (size_t)(colon - src) > CONFIG_NAME_MAX)
        return;
    snprintf(source, sizeof source, "%.*s", (int)(colon - src), src);
    if (!(by = json_object_get(verified, source)) &&
        json_object_set_new(verified, source, by = json_object()) < 0)
        return;
    old = json_object_get(by, colon + 1);
    json_object_set_new(by, colon + 1,
                        json_integer(json_integer_value(old) + strtoll(value, NULL, 10)));
}

static int read_counters(struct store *st, const char *route, int64_t *counters,
                         json_t *verified)
{
    const char *argv[2] = {"HGETALL", NULL};
    int rc;
    redisReply *r = route_cmd(st, route, "counters", 2, argv, 1, &rc);

    if (!r)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        freeReplyObject(r);
        return HOOKD_EREDIS_REPLY;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        for (int c = 0; c < STORE_NCOUNTERS; c++)
            if (strcmp(k->str, counter_names[c]) == 0)
                counters[c] = strtoll(v->str, NULL, 10);
        if (strncmp(k->str, "verified:", 9) == 0)
            add_verified(verified, k->str, v->str);
    }
    freeReplyObject(r);
    return 0;
}

/* Value of KEY in a flat [k, v, k, v...] reply, or NULL. Borrowed. */
static const redisReply *flat_get(const redisReply *r, const char *key)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, key) == 0)
            return r->element[i + 1];
    return NULL;
}

static int64_t flat_int(const redisReply *r, const char *key, int64_t dflt)
{
    const redisReply *v = flat_get(r, key);
    return v && v->type == REDIS_REPLY_INTEGER ? v->integer : dflt;
}

/* Runs ARGV with argv[KEYPOS] replaced by the key of the route's stream
 * TENANT ("" is P:{ROUTE}:stream). */
static redisReply *stream_cmd(struct store *st, const char *route, const char *tenant, int argc,
                              const char **argv, int keypos, int *rc)
{
    char key[STORE_KEY_MAX];
    bool ok = store_key_stream(st, key, sizeof key, route, tenant) >= 0;

    return keyed_cmd(st, ok ? key : NULL, argc, argv, keypos, rc);
}

/* Figures of one of the route's streams. */
struct stream_fig {
    int64_t length, pending, lag;
    bool group;
};

/* Entries after LAST (exclusive), when XINFO cannot tell (after XDELs). */
static int count_after(struct store *st, const char *route, const char *tenant, const char *last,
                       int64_t *out)
{
    char lo[STORE_STREAM_ID_MAX + 1];
    struct store_entry *v;
    size_t n;
    int rc;

    *out = 0;
    snprintf(lo, sizeof lo, "(%s", last);
    while (*out < LAG_SCAN_MAX) {
        if ((rc = store_stream_range(st, route, tenant, lo, "+", SCAN_PAGE, false, &v, &n)) < 0)
            return rc;
        *out += (int64_t)n;
        if (n)
            snprintf(lo, sizeof lo, "(%s", v[n - 1].id);
        store_entries_free(v, n);
        if (n < SCAN_PAGE)
            break;
    }
    return 0;
}

/* XINFO GROUPS KEY: pending and lag of the hookd consumer group. A stream
 * or group that does not exist yet is not an error: no worker ran. */
static int read_group(struct store *st, const char *route, const char *tenant, struct stream_fig *f)
{
    const char *argv[3] = {"XINFO", "GROUPS", NULL};
    char last[STORE_STREAM_ID_MAX] = "0-0", gbuf[STORE_GROUP_MAX];
    const char *group = store_group(route, gbuf, sizeof gbuf);
    const redisReply *g = NULL, *lag;
    int rc;
    redisReply *r = stream_cmd(st, route, tenant, 3, argv, 2, &rc);

    f->lag = f->length;
    if (!r)
        return rc;
    if (r->type == REDIS_REPLY_ERROR)
        goto out; /* no such key */
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = HOOKD_EREDIS_REPLY;
        goto out;
    }
    for (size_t i = 0; i < r->elements && !g; i++) {
        const redisReply *name = flat_get(r->element[i], "name");
        if (name && name->type == REDIS_REPLY_STRING && strcmp(name->str, group) == 0)
            g = r->element[i];
    }
    if (!g)
        goto out;
    f->group = true;
    f->pending = flat_int(g, "pending", 0);
    lag = flat_get(g, "lag");
    if (lag && lag->type == REDIS_REPLY_INTEGER) {
        f->lag = lag->integer;
        goto out;
    }
    store_reply_text(flat_get(g, "last-delivered-id"), last, sizeof last);
    rc = count_after(st, route, tenant, last, &f->lag);
out:
    freeReplyObject(r);
    return rc;
}

/* Adds one consumer's figures to S, merging by name across streams. */
static int add_consumer(struct store_route_stats *s, const redisReply *c)
{
    struct store_consumer one = {0}, *v;
    size_t i = 0;

    if (!store_reply_text(flat_get(c, "name"), one.name, sizeof one.name))
        return 0;
    one.pending = flat_int(c, "pending", 0);
    one.idle_ms = flat_int(c, "idle", 0);
    while (i < s->nconsumers && strcmp(s->consumers[i].name, one.name) != 0)
        i++;
    if (i < s->nconsumers) {
        s->consumers[i].pending += one.pending;
        if (one.idle_ms < s->consumers[i].idle_ms)
            s->consumers[i].idle_ms = one.idle_ms;
        return 0;
    }
    if (!(v = realloc(s->consumers, (s->nconsumers + 1) * sizeof *v)))
        return HOOKD_ENOMEM;
    s->consumers = v;
    s->consumers[s->nconsumers++] = one;
    return 0;
}

static int read_consumers(struct store *st, const char *route, const char *tenant,
                          struct store_route_stats *s)
{
    char gbuf[STORE_GROUP_MAX];
    const char *argv[4] = {"XINFO", "CONSUMERS", NULL, store_group(route, gbuf, sizeof gbuf)};
    int rc;
    redisReply *r = stream_cmd(st, route, tenant, 4, argv, 2, &rc);

    if (!r)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY)
        rc = r->type == REDIS_REPLY_ERROR ? 0 : HOOKD_EREDIS_REPLY; /* NOGROUP */
    for (size_t i = 0; rc == 0 && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        rc = add_consumer(s, r->element[i]);
    freeReplyObject(r);
    return rc;
}

/* One stream's figures into *F, and added to S's sums. */
static int stream_stats(struct store *st, const char *route, const char *tenant,
                        struct store_route_stats *s, struct stream_fig *f)
{
    int rc;

    memset(f, 0, sizeof *f);
    if ((rc = store_stream_len(st, route, tenant, &f->length)) < 0 ||
        (rc = read_group(st, route, tenant, f)) < 0 ||
        (rc = read_consumers(st, route, tenant, s)) < 0)
        return rc;
    s->stream_length += f->length;
    s->pending += f->pending;
    s->lag += f->lag;
    s->group_exists = s->group_exists || f->group;
    return 0;
}

/* The default stream, then each tenant's. A labelled handler's own stream
 * (STORE_OWN_STREAM, its retries and replays) counts in its sums like the
 * others but is no tenant: it gets no row of its own. */
static int read_streams(struct store *st, const char *route, struct store_route_stats *s)
{
    char(*names)[STORE_TENANT_MAX + 1] = NULL;
    struct stream_fig f;
    size_t n = 0;
    int rc = stream_stats(st, route, "", s, &f);

    if (rc == 0)
        rc = store_route_tenants(st, route, &names, &n);
    if (rc == 0 && n && !(s->tenants = calloc(n, sizeof *s->tenants)))
        rc = HOOKD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((rc = stream_stats(st, route, names[i], s, &f)) < 0 ||
            strcmp(names[i], STORE_OWN_STREAM) == 0)
            continue;
        struct store_tenant_stats *t = &s->tenants[s->ntenants++];
        memcpy(t->name, names[i], sizeof t->name);
        t->stream_length = f.length, t->pending = f.pending, t->lag = f.lag;
    }
    free(names);
    return rc;
}

int store_route_stats(struct store *st, const char *route, struct store_route_stats *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    if (!(out->verified = json_object()))
        return HOOKD_ENOMEM;
    if ((rc = read_streams(st, route, out)) < 0 ||
        (rc = store_log_len(st, route, STORE_LOG_DEAD, &out->dead)) < 0 ||
        (rc = route_int(st, route, "retry", "ZCARD", &out->retry_scheduled)) < 0 ||
        (rc = read_counters(st, route, out->counters, out->verified)) < 0 ||
        (rc = store_route_paused(st, route, &out->paused)) < 0) {
        store_route_stats_free(out);
        return rc;
    }
    return 0;
}

void store_route_stats_free(struct store_route_stats *s)
{
    if (!s)
        return;
    free(s->consumers);
    free(s->tenants);
    json_decref(s->verified);
    s->verified = NULL;
    s->consumers = NULL;
    s->tenants = NULL;
    s->nconsumers = s->ntenants = 0;
}

json_t *store_route_stats_json(const struct store_route_stats *s)
{
    json_t *o = json_object(), *cons = json_array(), *cnt = json_object();

    if (!o || !cons || !cnt) {
        json_decref(o), json_decref(cons), json_decref(cnt);
        return NULL;
    }
    json_object_set_new(o, "stream_length", json_integer(s->stream_length));
    /* queued / in_flight are the words used everywhere; pending and lag
     * (Redis's words) stay for scripts written against them */
    json_object_set_new(o, "queued", json_integer(s->lag));
    json_object_set_new(o, "in_flight", json_integer(s->pending));
    json_object_set_new(o, "pending", json_integer(s->pending));
    json_object_set_new(o, "lag", json_integer(s->lag));
    json_object_set_new(o, "retry_scheduled", json_integer(s->retry_scheduled));
    json_object_set_new(o, "dead", json_integer(s->dead));
    json_object_set_new(o, "group_exists", json_boolean(s->group_exists));
    json_object_set_new(o, "paused", json_boolean(s->paused));
    if (s->ntenants) {
        json_t *tn = json_object();
        for (size_t i = 0; tn && i < s->ntenants; i++)
            json_object_set_new(tn, s->tenants[i].name,
                                json_pack("{s:I, s:I, s:I}", "stream_length",
                                          (json_int_t)s->tenants[i].stream_length, "pending",
                                          (json_int_t)s->tenants[i].pending, "lag",
                                          (json_int_t)s->tenants[i].lag));
        json_object_set_new(o, "tenants", tn);
    }
    for (size_t i = 0; i < s->nconsumers; i++)
        json_array_append_new(cons, json_pack("{s:s, s:I, s:I}", "name", s->consumers[i].name,
                                              "pending", (json_int_t)s->consumers[i].pending,
                                              "idle_ms", (json_int_t)s->consumers[i].idle_ms));
    json_object_set_new(o, "consumers", cons);
    for (int c = 0; c < STORE_NCOUNTERS; c++)
        json_object_set_new(cnt, counter_names[c], json_integer(s->counters[c]));
    json_object_set_new(o, "counters", cnt);
    return o;
}

/* ---- the rejected stream ---- */

static void bump(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (v)
        json_integer_set(v, json_integer_value(v) + 1);
    else
        json_object_set_new(obj, key, json_integer(1));
}

/* The summary object of SOURCE in SUM, created on first use. Borrowed. */
static json_t *source_summary(json_t *sum, const char *source)
{
    json_t *s = json_object_get(sum, source);

    if (!s) {
        s = json_pack("{s:I, s:{}, s:{}, s:{}}", "total", (json_int_t)0, "by_reason",
                      "by_version_tried", "verified_by_version");
        if (!s || json_object_set_new(sum, source, s) < 0)
            return NULL;
    }
    return s;
}

/* Counts one rejected entry; "tried" is "v1:1a2b3c4d,v2:9f8e7d6c". */
static void count_rejected(json_t *sum, const struct store_entry *e)
{
    const char *reason = store_entry_str(e, "reason"), *tried = store_entry_str(e, "tried");
    json_t *s = source_summary(sum, e->nfields ? store_entry_str(e, "source") : "");
    char version[CONFIG_NAME_MAX + 1];

    if (!s)
        return;
    bump(s, "total");
    bump(json_object_get(s, "by_reason"), reason[0] ? reason : "unknown");
    while (*tried) {
        size_t n = strcspn(tried, ":,");
        if (n && n < sizeof version) {
            memcpy(version, tried, n);
            version[n] = '\0';
            bump(json_object_get(s, "by_version_tried"), version);
        }
        tried += n;
        tried += strcspn(tried, ",");
        if (*tried == ',')
            tried++;
    }
}

/* Adds every entry of the rejected stream to SUM. */
static int count_rejected_stream(struct store *st, json_t *sum)
{
    char lo[STORE_STREAM_ID_MAX + 1] = "-";
    struct store_entry *v;
    size_t n, seen = 0;
    int rc;

    do {
        if ((rc = store_rejected_range(st, lo, "+", SCAN_PAGE, false, &v, &n)) < 0)
            return rc;
        for (size_t i = 0; i < n; i++)
            count_rejected(sum, &v[i]);
        if (n)
            snprintf(lo, sizeof lo, "(%s", v[n - 1].id);
        store_entries_free(v, n);
        seen += n;
    } while (n == SCAN_PAGE && seen < REJECTED_SCAN_MAX);
    return 0;
}

int store_rejected_summary(struct store *st, json_t **out)
{
    int rc;

    if (!(*out = json_object()))
        return HOOKD_ENOMEM;
    if ((rc = count_rejected_stream(st, *out)) < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- the whole document ---- */

static void iso8601_utc(int64_t epoch_s, char *buf, size_t cap)
{
    time_t t = (time_t)epoch_s;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* {SOURCE: RATE} of the operators' run-time overrides (hookctl throttle). */
static int throttle_json(struct store *st, json_t *doc)
{
    struct store_throttle t[STATS_THROTTLE_MAX];
    json_t *o = json_object();
    size_t n = 0;
    int rc = o ? store_throttle_list(st, t, STATS_THROTTLE_MAX, &n) : HOOKD_ENOMEM;

    for (size_t i = 0; rc == 0 && i < n; i++)
        json_object_set_new(o, t[i].source, json_real(t[i].rate));
    if (rc == 0)
        return json_object_set_new(doc, "throttle", o) < 0 ? HOOKD_ENOMEM : 0;
    json_decref(o);
    return rc;
}

/* A route's verified requests into each source's verified_by_version. */
static void sum_verified(json_t *sources, json_t *verified)
{
    const char *source, *version;
    json_t *by, *n;

    json_object_foreach(verified, source, by)
    {
        json_t *s = source_summary(sources, source);
        json_t *dst = json_object_get(s, "verified_by_version");
        json_object_foreach(by, version, n)
        {
            json_int_t was = json_integer_value(json_object_get(dst, version));
            json_object_set_new(dst, version, json_integer(was + json_integer_value(n)));
        }
    }
}

int store_stats_json(struct store *st, const struct config *cfg, json_t **out)
{
    json_t *doc = NULL, *routes, *sources;
    char now[32];
    int rc = HOOKD_ENOMEM;

    iso8601_utc(store_wall_ms() / 1000, now, sizeof now);
    doc = json_pack("{s:s, s:s, s:{}, s:{}}", "generated_at", now, "prefix",
                    cfg->redis.prefix ? cfg->redis.prefix : "hookd", "routes", "sources");
    if (!doc)
        goto out;
    routes = json_object_get(doc, "routes");
    sources = json_object_get(doc, "sources");
    for (size_t i = 0; i < cfg->nroutes; i++)
        for (size_t k = 0; k <= cfg->routes[i].nhandlers; k++) { /* ROUTE, then ROUTE:LABEL */
            struct store_route_stats s;
            char name[STORE_KEY_MAX];
            config_handler_name(&cfg->routes[i], k, name, sizeof name);
            if ((rc = store_route_stats(st, name, &s)) < 0)
                goto out;
            json_object_set_new(routes, name, store_route_stats_json(&s));
            if (k == 0) /* verified: counted by the receiver, once per route */
                sum_verified(sources, s.verified);
            store_route_stats_free(&s);
        }
    for (size_t i = 0; i < cfg->nsources; i++) /* every configured source, zero or not */
        source_summary(sources, cfg->sources[i].name);
    if ((rc = count_rejected_stream(st, sources)) == 0)
        rc = throttle_json(st, doc);
out:
    if (rc < 0) {
        json_decref(doc);
        doc = NULL;
    }
    *out = doc;
    return rc;
}
