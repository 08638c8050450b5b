/*
 * store_admin_entries.c — reading stream entries (binary-safe) of a route's
 * streams (the default one and each tenant's), dead letters, the dedupe
 * record of one event, and the replay step; see store_admin.h and
 * store_entry.h.
 *
 * Dead letters are never rewritten: a replayed event's dead letter stays
 * until an operator purges it, so a second replay of the same letters finds
 * the events processed and skips them (SCRIPT_REPLAY decides, atomically).
 * Callers: replay.c, hookctl, the receiver's admin API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "store_admin.h"
#include "store_internal.h"

#define DEAD_FIND_PAGE 200   /* entries per XREVRANGE page when searching */
#define REPLAY_MAX_FIELDS 32 /* field/value pairs of one replayed entry */

/* The key of a route's stream (TENANT NULL or "": the default one) or dead
 * stream; length or -1. */
static int log_key(struct store *st, char *key, size_t cap, const char *route, enum store_log log,
                   const char *tenant)
{
    return log == STORE_LOG_DEAD ? store_key_route(st, key, cap, route, "dead")
                                 : store_key_stream(st, key, cap, route, tenant);
}

/* ---- entries ---- */

const struct store_field *store_entry_get(const struct store_entry *e, const char *name)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (strcmp(e->fields[i].name, name) == 0)
            return &e->fields[i];
    return NULL;
}

const char *store_entry_str(const struct store_entry *e, const char *name)
{
    const struct store_field *f = store_entry_get(e, name);
    return f ? f->value : "";
}

void store_entry_clear(struct store_entry *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nfields; i++) {
        free(e->fields[i].name);
        free(e->fields[i].value);
    }
    free(e->fields);
    memset(e, 0, sizeof *e);
}

void store_entries_free(struct store_entry *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_entry_clear(&v[i]);
    free(v);
}

/* One XRANGE element: [id, [field, value, ...]]. */
static int parse_entry(const redisReply *r, struct store_entry *e)
{
    const redisReply *kv;

    memset(e, 0, sizeof *e);
    if (!store_reply_array(r, 2) || !store_reply_text(r->element[0], e->id, sizeof e->id))
        return HOOKD_EREDIS_REPLY;
    kv = r->element[1];
    if (kv->type == REDIS_REPLY_NIL)
        return 0; /* deleted entry (only in some replies): no fields */
    if (kv->type != REDIS_REPLY_ARRAY || kv->elements % 2)
        return HOOKD_EREDIS_REPLY;
    if (kv->elements && !(e->fields = calloc(kv->elements / 2, sizeof *e->fields)))
        return HOOKD_ENOMEM;
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const redisReply *k = kv->element[i], *v = kv->element[i + 1];
        struct store_field *f = &e->fields[e->nfields];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return HOOKD_EREDIS_REPLY;
        f->name = store_dup_bytes(k->str, k->len);
        f->value = store_dup_bytes(v->str, v->len);
        f->value_len = v->len;
        e->nfields++;
        if (!f->name || !f->value)
            return HOOKD_ENOMEM;
    }
    return 0;
}

static int parse_entries(const redisReply *r, struct store_entry **out, size_t *n)
{
    struct store_entry *v = NULL;
    size_t k = 0;
    int rc = 0;

    *out = NULL, *n = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return HOOKD_EREDIS_REPLY;
    if (r->elements && !(v = calloc(r->elements, sizeof *v)))
        return HOOKD_ENOMEM;
    for (; k < r->elements; k++)
        if ((rc = parse_entry(r->element[k], &v[k])) < 0) {
            store_entries_free(v, k + 1);
            return rc;
        }
    *out = v, *n = k;
    return 0;
}

static int key_len(struct store *st, const char *key, int64_t *out)
{
    const char *argv[2] = {"XLEN", key};
    size_t len[2] = {4, strlen(key)};
    int rc;
    redisReply *r = store_command(st, 2, argv, len, &rc);

    return store_reply_int(r, rc, out);
}

/* XLEN of ROUTE's LOG (TENANT's, for the stream). */
static int log_len(struct store *st, const char *route, enum store_log log, const char *tenant,
                   int64_t *out)
{
    char key[STORE_KEY_MAX];

    if (log_key(st, key, sizeof key, route, log, tenant) < 0)
        return HOOKD_ETOO_LARGE;
    return key_len(st, key, out);
}

int store_log_len(struct store *st, const char *route, enum store_log log, int64_t *out)
{
    return log_len(st, route, log, NULL, out);
}

int store_stream_len(struct store *st, const char *route, const char *tenant, int64_t *out)
{
    return log_len(st, route, STORE_LOG_STREAM, tenant, out);
}

/* XRANGE / XREVRANGE over KEY; see store_log_range. */
static int key_range(struct store *st, const char *key, const char *lo, const char *hi,
                     size_t count, bool newest_first, struct store_entry **out, size_t *n)
{
    char cnt[24];
    const char *argv[6];
    size_t len[6];
    int rc;
    redisReply *r;

    *out = NULL, *n = 0;
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    argv[0] = newest_first ? "XREVRANGE" : "XRANGE";
    argv[1] = key;
    argv[2] = newest_first ? hi : lo;
    argv[3] = newest_first ? lo : hi;
    argv[4] = "COUNT", argv[5] = cnt;
    for (int i = 0; i < 6; i++)
        len[i] = strlen(argv[i]);
    if (!(r = store_command(st, 6, argv, len, &rc)))
        return rc;
    if (r->type == REDIS_REPLY_ERROR)
        rc = HOOKD_EREDIS_REPLY;
    else
        rc = parse_entries(r, out, n);
    freeReplyObject(r);
    return rc;
}

/* key_range over ROUTE's LOG (TENANT's, for the stream). */
static int log_range(struct store *st, const char *route, enum store_log log, const char *tenant,
                     const char *lo, const char *hi, size_t count, bool newest_first,
                     struct store_entry **out, size_t *n)
{
    char key[STORE_KEY_MAX];

    *out = NULL, *n = 0;
    if (log_key(st, key, sizeof key, route, log, tenant) < 0)
        return HOOKD_ETOO_LARGE;
    return key_range(st, key, lo, hi, count, newest_first, out, n);
}

int store_log_range(struct store *st, const char *route, enum store_log log, const char *lo,
                    const char *hi, size_t count, bool newest_first, struct store_entry **out,
                    size_t *n)
{
    return log_range(st, route, log, NULL, lo, hi, count, newest_first, out, n);
}

int store_stream_range(struct store *st, const char *route, const char *tenant, const char *lo,
                       const char *hi, size_t count, bool newest_first, struct store_entry **out,
                       size_t *n)
{
    return log_range(st, route, STORE_LOG_STREAM, tenant, lo, hi, count, newest_first, out, n);
}

int store_rejected_range(struct store *st, const char *lo, const char *hi, size_t count,
                         bool newest_first, struct store_entry **out, size_t *n)
{
    char key[STORE_KEY_MAX];

    *out = NULL, *n = 0;
    if (store_key_global(st, key, sizeof key, "rejected") < 0)
        return HOOKD_ETOO_LARGE;
    return key_range(st, key, lo, hi, count, newest_first, out, n);
}

/* True when the n bytes are valid UTF-8 without NULs (jansson's rule). */
static bool json_safe(const char *p, size_t n)
{
    return !memchr(p, '\0', n) && codec_utf8_valid(p, n);
}

json_t *store_entry_json(const struct store_entry *e, bool with_body)
{
    json_t *o = json_pack("{s:s}", "id", e->id);

    for (size_t i = 0; o && i < e->nfields; i++) {
        const struct store_field *f = &e->fields[i];
        bool big = strcmp(f->name, "body") == 0 || strcmp(f->name, "headers") == 0;
        if (big && !with_body)
            continue;
        if (json_safe(f->value, f->value_len)) {
            json_object_set_new(o, f->name, json_stringn(f->value, f->value_len));
        } else if (strcmp(f->name, "body") == 0) {
            char *b64 = malloc(4 * ((f->value_len + 2) / 3) + 1);
            if (b64) {
                codec_base64_encode((const unsigned char *)f->value, f->value_len, b64);
                json_object_set_new(o, "body", json_string(b64));
                json_object_set_new(o, "body_encoding", json_string("base64"));
            }
            free(b64);
        }
    }
    return o;
}

/* ---- dead letters ---- */

int store_dead_list(struct store *st, const char *route, size_t limit, struct store_entry **out,
                    size_t *n)
{
    return store_log_range(st, route, STORE_LOG_DEAD, "-", "+", limit, true, out, n);
}

int store_dead_state(struct store *st, const char *route, const struct store_entry *e,
                     char state[32])
{
    const struct store_field *id = store_entry_get(e, "event_id");
    const char *source = store_entry_str(e, "source");
    struct store_seen seen;
    int rc = id && source[0]
                 ? store_seen_get(st, route, source, id->value, id->value_len, &seen)
                 : HOOKD_ENOT_FOUND;

    snprintf(state, 32, "%s", rc == 0 ? seen.state : "expired");
    return rc == HOOKD_ENOT_FOUND ? 0 : rc;
}

#define RESOLVED_PAGE 200

/* One page of store_dead_purge_resolved: the resolved ids of up to
 * RESOLVED_PAGE letters below *hi, deleted unless DRY_RUN; *last: the page
 * was short. */
static int purge_resolved_page(struct store *st, const char *route, char *hi, size_t hicap,
                               bool dry_run, int64_t *count, bool *last)
{
    char key[STORE_KEY_MAX], state[32];
    const char *argv[RESOLVED_PAGE + 2] = {"XDEL", key};
    size_t len[RESOLVED_PAGE + 2] = {4, 0}, n, k = 2;
    struct store_entry *v;
    redisReply *r;
    int rc;

    if (store_key_route(st, key, sizeof key, route, "dead") < 0)
        return HOOKD_ETOO_LARGE;
    len[1] = strlen(key);
    if ((rc = key_range(st, key, "-", hi, RESOLVED_PAGE, true, &v, &n)) < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((rc = store_dead_state(st, route, &v[i], state)) == 0 && strcmp(state, "processed") == 0)
            argv[k] = v[i].id, len[k] = strlen(v[i].id), k++;
    *count += (int64_t)(k - 2);
    if (rc == 0 && !dry_run && k > 2 && (r = store_command(st, (int)k, argv, len, &rc))) {
        if (r->type != REDIS_REPLY_INTEGER)
            rc = HOOKD_EREDIS_REPLY;
        freeReplyObject(r);
    }
    if (n)
        snprintf(hi, hicap, "(%s", v[n - 1].id);
    *last = n < RESOLVED_PAGE;
    store_entries_free(v, n);
    return rc;
}

int store_dead_purge_resolved(struct store *st, const char *route, bool dry_run, int64_t *count)
{
    char hi[STORE_STREAM_ID_MAX + 2] = "+";
    bool last = false;
    int rc = 0;

    *count = 0;
    while (rc == 0 && !last)
        rc = purge_resolved_page(st, route, hi, sizeof hi, dry_run, count, &last);
    return rc;
}

/* True when ID looks like a stream id: digits, '-', digits. */
static bool is_stream_id(const char *id, size_t n)
{
    size_t i = 0, digits = 0;

    while (i < n && id[i] >= '0' && id[i] <= '9')
        i++, digits++;
    if (!digits || i >= n || id[i++] != '-' || i >= n)
        return false;
    while (i < n && id[i] >= '0' && id[i] <= '9')
        i++;
    return i == n && n < STORE_STREAM_ID_MAX;
}

/* Pages newest first through the dead stream for an event id. */
static int dead_find_event(struct store *st, const char *route, const char *id, size_t id_len,
                           struct store_entry *out)
{
    char hi[STORE_STREAM_ID_MAX + 1] = "+";
    struct store_entry *v;
    size_t n;
    int rc;

    for (;;) {
        if ((rc = store_log_range(st, route, STORE_LOG_DEAD, "-", hi, DEAD_FIND_PAGE, true, &v,
                                  &n)) < 0)
            return rc;
        for (size_t i = 0; i < n; i++) {
            const struct store_field *f = store_entry_get(&v[i], "event_id");
            if (f && f->value_len == id_len && memcmp(f->value, id, id_len) == 0) {
                *out = v[i];
                memset(&v[i], 0, sizeof v[i]);
                store_entries_free(v, n);
                return 0;
            }
        }
        if (n < DEAD_FIND_PAGE) {
            store_entries_free(v, n);
            return HOOKD_ENOT_FOUND;
        }
        snprintf(hi, sizeof hi, "(%s", v[n - 1].id);
        store_entries_free(v, n);
    }
}

int store_dead_find(struct store *st, const char *route, const char *id, size_t id_len,
                    struct store_entry *out)
{
    memset(out, 0, sizeof *out);
    if (is_stream_id(id, id_len)) {
        char sid[STORE_STREAM_ID_MAX];
        struct store_entry *v;
        size_t n;
        int rc;

        memcpy(sid, id, id_len);
        sid[id_len] = '\0';
        if ((rc = store_log_range(st, route, STORE_LOG_DEAD, sid, sid, 1, false, &v, &n)) < 0)
            return rc;
        if (n == 1) {
            *out = v[0];
            free(v);
            return 0;
        }
        store_entries_free(v, n);
    }
    return dead_find_event(st, route, id, id_len, out);
}

static int dead_count_before(struct store *st, const char *route, const char *below, int64_t *count)
{
    char lo[STORE_STREAM_ID_MAX + 1] = "-";
    struct store_entry *v;
    size_t n;
    int rc;

    *count = 0;
    for (;;) {
        if ((rc = store_log_range(st, route, STORE_LOG_DEAD, lo, below, 1000, false, &v, &n)) < 0)
            return rc;
        *count += (int64_t)n;
        if (n < 1000) {
            store_entries_free(v, n);
            return 0;
        }
        snprintf(lo, sizeof lo, "(%s", v[n - 1].id);
        store_entries_free(v, n);
    }
}

int store_dead_purge(struct store *st, const char *route, int64_t before_ms, bool dry_run,
                     int64_t *count)
{
    char key[STORE_KEY_MAX], minid[32], below[40];
    const char *argv[4] = {"XTRIM", key, "MINID", minid};
    size_t len[4] = {5, 0, 5, 0};
    int rc;
    redisReply *r;

    *count = 0;
    if (before_ms <= 0)
        return 0;
    snprintf(minid, sizeof minid, "%lld-0", (long long)before_ms);
    snprintf(below, sizeof below, "(%s", minid);
    if (dry_run)
        return dead_count_before(st, route, below, count);
    if (store_key_route(st, key, sizeof key, route, "dead") < 0)
        return HOOKD_ETOO_LARGE;
    len[1] = strlen(key), len[3] = strlen(minid);
    /* Exact trimming (no "~"): an operator asked for precisely these. */
    r = store_command(st, 4, argv, len, &rc);
    return store_reply_int(r, rc, count);
}

/* ---- dedupe records ---- */

static void seen_field(struct store_seen *out, const redisReply *k, const redisReply *v)
{
    char num[32];

    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(k->str, "state") == 0)
        store_reply_text(v, out->state, sizeof out->state);
    else if (strcmp(k->str, "stream_id") == 0)
        store_reply_text(v, out->stream_id, sizeof out->stream_id);
    else if (strcmp(k->str, "attempts") == 0 && store_reply_text(v, num, sizeof num))
        out->attempts = strtoll(num, NULL, 10);
    else if (strcmp(k->str, "updated_at") == 0 && store_reply_text(v, num, sizeof num))
        out->updated_at_ms = strtoll(num, NULL, 10);
}

int store_seen_get(struct store *st, const char *route, const char *source, const char *event_id,
                   size_t event_id_len, struct store_seen *out)
{
    char key[STORE_KEY_MAX];
    const char *argv[2] = {"HGETALL", key};
    size_t len[2] = {7, 0};
    int rc, kl;
    redisReply *r;

    memset(out, 0, sizeof *out);
    if ((kl = store_key_seen(st, key, sizeof key, route, source, event_id, event_id_len)) < 0)
        return HOOKD_ETOO_LARGE;
    len[1] = (size_t)kl;
    if (!(r = store_command(st, 2, argv, len, &rc)))
        return rc;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 0)
        rc = HOOKD_ENOT_FOUND;
    else if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
        rc = HOOKD_EREDIS_REPLY;
    else
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            seen_field(out, r->element[i], r->element[i + 1]);
    freeReplyObject(r);
    return rc;
}

/* ---- the replay step ---- */

static int parse_replay_reply(const redisReply *r, struct store_replay_result *out)
{
    char word[16];

    if (!store_reply_array(r, 2) || !store_reply_text(r->element[0], word, sizeof word))
        return HOOKD_EREDIS_REPLY;
    if (!store_reply_text(r->element[1], out->detail, sizeof out->detail))
        out->detail[0] = '\0';
    if (strcmp(word, "replayed") == 0)
        out->status = STORE_REPLAYED;
    else if (strcmp(word, "duplicate") == 0)
        out->status = STORE_REPLAY_DUPLICATE;
    else if (strcmp(word, "in_flight") == 0)
        out->status = STORE_REPLAY_IN_FLIGHT;
    else
        return HOOKD_EREDIS_REPLY;
    return 0;
}

/* The tenant name of an event's fields ("" when it has none). */
static void fields_tenant(const struct store_field *fields, size_t nfields,
                          char name[STORE_TENANT_MAX + 1])
{
    name[0] = '\0';
    for (size_t i = 0; i < nfields; i++)
        if (strcmp(fields[i].name, "tenant") == 0 &&
            store_tenant_name(fields[i].value, fields[i].value_len, name) < 0)
            name[0] = '\0';
}

int store_replay_event(struct store *st, const char *route, const char *source,
                       const char *event_id, size_t event_id_len, const char *old_stream_id,
                       const struct store_field *fields, size_t nfields, int64_t ttl_s,
                       struct store_replay_result *out)
{
    char keys[5][STORE_KEY_MAX], tenant[STORE_TENANT_MAX + 1], now[24], ttl[24];
    const char *argv[3 + 5 + 4 + 2 * REPLAY_MAX_FIELDS];
    size_t len[3 + 5 + 4 + 2 * REPLAY_MAX_FIELDS];
    int n = 3, rc, sl;
    redisReply *r;

    memset(out, 0, sizeof *out);
    if (nfields > REPLAY_MAX_FIELDS)
        return HOOKD_ETOO_LARGE;
    fields_tenant(fields, nfields, tenant);
    /* A labelled handler's replay goes to its own stream alone: only that
     * handler runs it, and the shared entry is never deleted (the tenant
     * argument is then '', so SCRIPT_REPLAY's target is keys[1]). */
    bool own = strchr(route, ':') != NULL;
    if (own)
        tenant[0] = '\0';
    if ((sl = store_key_seen(st, keys[0], STORE_KEY_MAX, route, source, event_id, event_id_len)) <
            0 ||
        store_key_stream(st, keys[1], STORE_KEY_MAX, route, own ? STORE_OWN_STREAM : NULL) < 0 ||
        store_key_route(st, keys[2], STORE_KEY_MAX, route, "counters") < 0 ||
        store_key_stream(st, keys[3], STORE_KEY_MAX, route, own ? STORE_OWN_STREAM : tenant) < 0 ||
        store_key_route(st, keys[4], STORE_KEY_MAX, route, "tenants") < 0)
        return HOOKD_ETOO_LARGE;
    snprintf(now, sizeof now, "%lld", (long long)store_wall_ms());
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_s);
    for (int i = 0; i < 5; i++)
        argv[n] = keys[i], len[n++] = i == 0 ? (size_t)sl : strlen(keys[i]);
    argv[n] = now, len[n++] = strlen(now);
    argv[n] = ttl, len[n++] = strlen(ttl);
    argv[n] = old_stream_id ? old_stream_id : "", len[n] = strlen(argv[n]), n++;
    argv[n] = tenant, len[n++] = strlen(tenant);
    for (size_t i = 0; i < nfields; i++) {
        argv[n] = fields[i].name, len[n++] = strlen(fields[i].name);
        argv[n] = fields[i].value, len[n++] = fields[i].value_len;
    }
    if (!(r = store_script(st, SCRIPT_REPLAY, 5, n, argv, len, &rc)))
        return rc;
    rc = parse_replay_reply(r, out);
    freeReplyObject(r);
    return rc;
}
